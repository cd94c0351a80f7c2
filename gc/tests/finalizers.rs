//! Finalizers on synthetic graphs, no VM (DESIGN.md "Finalizers",
//! LANGUAGE.md §6): an unreachable finalizable object survives its cycle
//! with everything it reaches and is queued exactly once; order across
//! cycles (A reaching B: A first, B a cycle later); cycles through a
//! finalizable object are never collected; `fin_park`/`fin_should_wake`
//! (`FINQ_WAKE`) in every sweep mode. Every test runs in the configurations
//! of `common::configs` (concurrent, lazy-only, stress+verify+poison,
//! lazy+verify+poison).
#![allow(unsafe_code, clippy::field_reassign_with_default)]

mod common;

use common::*;
use gc::{FinalizerError, GcConfig, Heap, ObjPtr};
use std::time::{Duration, Instant};

fn each_config(f: impl Fn(&str, GcConfig)) {
    for (name, cfg) in configs() {
        f(name, cfg);
    }
}

/// Pop every queued pair, checking each object and all it reaches intact.
fn drain(heap: &mut Heap) -> Vec<(ObjPtr, ObjPtr)> {
    let mut out = Vec::new();
    while let Some((o, f)) = heap.peek_finalizer() {
        reachable(&[o, f]);
        assert_eq!(heap.pop_finalizer(), Some((o, f)));
        out.push((o, f));
    }
    out
}

#[test]
fn unreachable_finalizable_survives_is_queued_once_then_freed() {
    each_config(|name, cfg| {
        let mut heap = Heap::new(cfg);
        let mut g = Graph::default();
        let a = new_obj(&mut heap, 1, 1, 40);
        let c = new_obj(&mut heap, 0, 2, 24);
        set_child(a, 0, Some(c));
        let f = new_obj(&mut heap, 0, 3, 8);
        heap.set_finalizer(a, f).unwrap();
        // A rooted finalizable object is not queued.
        g.roots = vec![a];
        heap.collect(&mut g, true);
        assert_eq!(heap.peek_finalizer(), None, "{name}");
        assert_eq!(
            heap.stats().heap_objects,
            3,
            "{name}: f kept by the special"
        );
        g.roots.clear();
        heap.collect(&mut g, true);
        assert_eq!(heap.peek_finalizer(), Some((a, f)), "{name}");
        let st = heap.stats();
        assert_eq!((st.finalizers_queued, st.heap_objects), (1, 3), "{name}");
        reachable(&[a, f]);
        // While queued it is a root: further cycles neither free nor requeue.
        for _ in 0..3 {
            heap.collect(&mut g, true);
            reachable(&[a, f]);
        }
        let st = heap.stats();
        assert_eq!((st.finalizers_queued, st.heap_objects), (1, 3), "{name}");
        assert_eq!(heap.finalizers_pending(), 1);
        // The embedder runs it and drops it: the next cycle frees all three.
        assert_eq!(drain(&mut heap), vec![(a, f)]);
        assert_eq!(heap.stats().finalizers_taken, 1);
        heap.collect(&mut g, true);
        let st = heap.stats();
        assert_eq!((st.heap_objects, st.heap_alloc), (0, 0), "{name}");
        assert_eq!(heap.peek_finalizer(), None);
    });
}

#[test]
fn resurrection_keeps_it_and_it_is_not_finalized_again() {
    each_config(|name, cfg| {
        let mut heap = Heap::new(cfg);
        let mut g = Graph::default();
        let a = new_obj(&mut heap, 1, 1, 0);
        let c = new_obj(&mut heap, 0, 2, 0);
        set_child(a, 0, Some(c));
        let f = new_obj(&mut heap, 0, 3, 0);
        heap.set_finalizer(a, f).unwrap();
        heap.collect(&mut g, true);
        let (o, _) = heap.peek_finalizer().expect("queued");
        // The finalizer stores its argument somewhere: resurrected.
        g.roots.push(o);
        heap.pop_finalizer();
        for _ in 0..3 {
            collect_and_check(&mut heap, &mut g);
        }
        assert_eq!(heap.stats().finalizers_queued, 1, "{name}: not again");
        assert_eq!(heap.stats().heap_objects, 2, "{name}: a and c; f is gone");
        // A finalizer set again runs again.
        let f2 = new_obj(&mut heap, 0, 4, 0);
        heap.set_finalizer(a, f2).unwrap();
        g.roots.clear();
        heap.collect(&mut g, true);
        assert_eq!(drain(&mut heap), vec![(a, f2)], "{name}");
        heap.collect(&mut g, true);
        assert_eq!(heap.stats().heap_objects, 0, "{name}");
    });
}

#[test]
fn set_twice_is_already_set_and_remove_prevents_queueing() {
    each_config(|name, cfg| {
        let mut heap = Heap::new(cfg);
        let mut g = Graph::default();
        let a = new_obj(&mut heap, 0, 1, 0);
        let f = new_obj(&mut heap, 0, 2, 0);
        heap.set_finalizer(a, f).unwrap();
        assert_eq!(heap.set_finalizer(a, f), Err(FinalizerError::AlreadySet));
        assert_eq!(heap.set_finalizer(a, a), Err(FinalizerError::AlreadySet));
        assert!(heap.remove_finalizer(a));
        assert!(!heap.remove_finalizer(a));
        heap.collect(&mut g, true);
        assert_eq!(heap.peek_finalizer(), None, "{name}");
        assert_eq!(heap.stats().finalizers_queued, 0, "{name}");
        assert_eq!(heap.stats().heap_objects, 0, "{name}: a and f freed");
    });
}

#[test]
fn a_reaching_b_runs_a_first_and_b_a_cycle_later() {
    each_config(|name, cfg| {
        let mut heap = Heap::new(cfg);
        let mut g = Graph::default();
        let a = new_obj(&mut heap, 1, 1, 0);
        let b = new_obj(&mut heap, 1, 2, 0);
        let d = new_obj(&mut heap, 0, 5, 0);
        set_child(a, 0, Some(b));
        set_child(b, 0, Some(d));
        let fa = new_obj(&mut heap, 0, 3, 0);
        let fb = new_obj(&mut heap, 0, 4, 0);
        heap.set_finalizer(b, fb).unwrap();
        heap.set_finalizer(a, fa).unwrap();
        heap.collect(&mut g, true);
        assert_eq!(drain(&mut heap), vec![(a, fa)], "{name}: only A");
        assert_eq!(heap.stats().heap_objects, 5, "{name}");
        // A dropped after its finalizer ran: now B's turn.
        heap.collect(&mut g, true);
        assert_eq!(drain(&mut heap), vec![(b, fb)], "{name}: then B");
        assert_eq!(heap.stats().heap_objects, 3, "{name}: b, d, fb");
        heap.collect(&mut g, true);
        assert_eq!(heap.stats().heap_objects, 0, "{name}");
        assert_eq!(heap.stats().finalizers_queued, 2, "{name}");
    });
}

#[test]
fn cycles_through_finalizable_objects_are_never_collected() {
    each_config(|name, cfg| {
        let mut heap = Heap::new(cfg);
        let mut g = Graph::default();
        // A -> A.
        let a = new_obj(&mut heap, 1, 1, 0);
        set_child(a, 0, Some(a));
        // X -> C -> X.
        let x = new_obj(&mut heap, 1, 2, 0);
        let c = new_obj(&mut heap, 1, 3, 0);
        set_child(x, 0, Some(c));
        set_child(c, 0, Some(x));
        let f = new_obj(&mut heap, 0, 4, 0);
        heap.set_finalizer(a, f).unwrap();
        heap.set_finalizer(x, f).unwrap();
        // A plain cycle beside them is collected.
        let p = new_obj(&mut heap, 1, 5, 0);
        let q = new_obj(&mut heap, 1, 6, 0);
        set_child(p, 0, Some(q));
        set_child(q, 0, Some(p));
        for _ in 0..4 {
            heap.collect(&mut g, true);
            assert_eq!(heap.peek_finalizer(), None, "{name}");
            reachable(&[a, x, f]);
        }
        assert_eq!(
            heap.stats().heap_objects,
            4,
            "{name}: a, x, c, f leak (as in Go)"
        );
        assert_eq!(heap.stats().finalizers_queued, 0, "{name}");
    });
}

#[test]
fn large_objects_with_finalizers() {
    each_config(|name, cfg| {
        let mut heap = Heap::new(cfg);
        let mut g = Graph::default();
        let mut expect = Vec::new();
        for i in 0..12u64 {
            let big = new_obj(&mut heap, 2, i, 33 * 1024 + i as usize * 5000);
            let small = new_obj(&mut heap, 0, 100 + i, 16);
            let bigchild = new_obj(&mut heap, 0, 200 + i, 40 * 1024);
            set_child(big, 0, Some(small));
            set_child(big, 1, Some(bigchild));
            let fin = if i % 2 == 0 {
                new_obj(&mut heap, 0, 300 + i, 64 * 1024)
            } else {
                new_obj(&mut heap, 0, 300 + i, 8)
            };
            heap.set_finalizer(big, fin).unwrap();
            expect.push((big, fin));
        }
        // Dead large spans around them are still freed and reused.
        for i in 0..20u64 {
            new_obj(&mut heap, 0, 1000 + i, 50 * 1024);
        }
        heap.collect(&mut g, true);
        assert_eq!(heap.stats().heap_objects, 12 * 4, "{name}");
        let mut got = drain(&mut heap);
        got.sort();
        expect.sort();
        assert_eq!(got, expect, "{name}");
        heap.collect(&mut g, true);
        let st = heap.stats();
        assert_eq!((st.heap_objects, st.heap_alloc), (0, 0), "{name}");
    });
}

#[test]
fn many_finalizers_random_graphs_each_queued_exactly_once() {
    each_config(|name, cfg| {
        let stress = cfg.stress;
        let mut heap = Heap::new(cfg);
        let mut g = Graph::default();
        let mut rng = Rng(0xF1A1);
        let shared_fin = new_obj(&mut heap, 0, 0, 0);
        g.roots.push(shared_fin);
        let mut finalizable = std::collections::HashSet::new();
        // Tags (addresses are reused once an object is freed).
        let mut finalized = std::collections::HashSet::new();
        let mut live: Vec<ObjPtr> = Vec::new();
        let mut tag = 1;
        let mut nset = 0;
        let rounds = if stress { 6 } else { 20 };
        for _ in 0..rounds {
            for _ in 0..2000 {
                let n = rng.below(3) as usize;
                let extra = if rng.below(300) == 0 { 40 * 1024 } else { 8 };
                let o = new_obj(&mut heap, n, tag, extra);
                tag += 1;
                for i in 0..n {
                    if !live.is_empty() {
                        let c = live[rng.below(live.len() as u64) as usize];
                        set_child(o, i, Some(c));
                    }
                }
                if rng.below(4) == 0 {
                    heap.set_finalizer(o, shared_fin).unwrap();
                    finalizable.insert(o.as_ptr() as usize);
                    nset += 1;
                }
                live.push(o);
            }
            let keep = rng.below(20) as usize;
            g.roots = vec![shared_fin];
            g.roots
                .extend((0..keep).map(|_| live[rng.below(live.len() as u64) as usize]));
            heap.collect(&mut g, rng.below(2) == 0);
            heap.collect(&mut g, true);
            for (o, f) in drain(&mut heap) {
                assert_eq!(f, shared_fin);
                let k = o.as_ptr() as usize;
                assert!(finalizable.remove(&k), "{name}: queued without a finalizer");
                assert!(finalized.insert(common::tag(o)), "{name}: queued twice");
            }
            // Still-valid objects: reachable from roots, or a finalizable
            // object (alive until queued) and what it reaches.
            let mut valid: Vec<ObjPtr> = g.roots.clone();
            valid.extend(
                finalizable
                    .iter()
                    .map(|&k| ObjPtr::new(k as *mut u8).unwrap()),
            );
            let (_, _, set) = reachable(&valid);
            live.retain(|o| set.contains(&(o.as_ptr() as usize)));
        }
        // Drop everything: all remaining finalizable objects get queued,
        // possibly over several cycles (chains of finalizable objects).
        g.roots = vec![shared_fin];
        for _ in 0..200 {
            if finalizable.is_empty() {
                break;
            }
            heap.collect(&mut g, true);
            for (o, _) in drain(&mut heap) {
                let k = o.as_ptr() as usize;
                assert!(finalizable.remove(&k), "{name}");
                assert!(finalized.insert(common::tag(o)), "{name}: queued twice");
            }
        }
        // Cycles through finalizable objects stay (never collected); all
        // other finalizable objects have run.
        let leftover: Vec<ObjPtr> = finalizable
            .iter()
            .map(|&k| ObjPtr::new(k as *mut u8).unwrap())
            .collect();
        for &o in &leftover {
            // Each survivor must reach itself (be on a cycle).
            let mut children = Vec::new();
            for i in 0..n_children(o) {
                children.extend(child(o, i));
            }
            let (_, _, set) = reachable(&children);
            assert!(
                set.contains(&(o.as_ptr() as usize)),
                "{name}: not on a cycle but never finalized"
            );
        }
        let st = heap.stats();
        assert_eq!(st.finalizers_queued, st.finalizers_taken, "{name}");
        assert_eq!(st.finalizers_queued as usize, finalized.len(), "{name}");
        assert_eq!(finalized.len() + leftover.len(), nset, "{name}");
        assert!(nset > 1000 && finalized.len() > nset / 2, "{name}: {nset}");
    });
}

/// `FINQ_WAKE`: the coroutine parks on an empty queue; a finalizer queued
/// by whichever sweeper (background, lazy allocation, `gc()`) makes the
/// scheduler's check ready it.
#[test]
fn fin_park_then_wake_in_every_mode() {
    each_config(|name, cfg| {
        let concurrent = cfg.concurrent_sweep;
        let mut heap = Heap::new(cfg);
        let mut g = Graph::default();
        assert!(heap.fin_park(), "{name}: empty queue parks");
        assert!(!heap.fin_should_wake(), "{name}: nothing queued");
        let f = new_obj(&mut heap, 0, 1, 0);
        g.roots = vec![f];
        for i in 0..50 {
            let o = new_obj(&mut heap, 0, 10 + i, 0);
            heap.set_finalizer(o, f).unwrap();
        }
        heap.collect(&mut g, false);
        // Sweep without `gc()`: the background sweeper, or lazy sweeping by
        // allocation (allocations of the finalizable objects' class).
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut woke = false;
        while Instant::now() < deadline {
            if heap.fin_should_wake() {
                woke = true;
                break;
            }
            if concurrent {
                std::thread::yield_now();
            } else {
                let o = new_obj(&mut heap, 0, 0, 0);
                g.roots.push(o);
            }
        }
        assert!(woke, "{name}: finalizer coroutine never woken (FINQ_WAKE)");
        assert!(heap.peek_finalizer().is_some(), "{name}");
        assert!(!heap.fin_should_wake(), "{name}: woken once");
        // Woken: it runs what is queued, then parks again.
        assert!(!heap.fin_park(), "{name}: queue not empty");
        drain(&mut heap);
        heap.collect(&mut g, true);
        drain(&mut heap);
        assert!(heap.fin_park(), "{name}");
        assert_eq!(heap.stats().finalizers_queued, 50, "{name}");
    });
}

#[test]
fn gctrace_counts_queued_finalizers() {
    let mut heap = Heap::new(GcConfig {
        concurrent_sweep: false,
        ..GcConfig::default()
    });
    let mut g = Graph::default();
    let f = new_obj(&mut heap, 0, 1, 0);
    g.roots = vec![f];
    for i in 0..3 {
        let o = new_obj(&mut heap, 0, 10 + i, 0);
        heap.set_finalizer(o, f).unwrap();
    }
    heap.collect(&mut g, true);
    let line = heap.last_gctrace().unwrap();
    assert!(line.ends_with(" lazy swept, 1 P"), "{line}");
    // Queued by the sweep after that line: reported by the next one.
    heap.collect(&mut g, true);
    let line = heap.last_gctrace().unwrap();
    assert!(line.ends_with(" lazy swept, 3 fin queued, 1 P"), "{line}");
}
