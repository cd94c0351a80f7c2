//! Synthetic object graphs, no VM: reachable objects survive intact,
//! unreachable ones are freed, in every sweep mode and with
//! stress+verify+poison.
#![allow(unsafe_code, clippy::field_reassign_with_default)]

mod common;

use common::*;
use gc::{GcConfig, Heap, ObjPtr, POISON_BYTE};

fn each_config(f: impl Fn(&str, GcConfig)) {
    for (name, cfg) in configs() {
        f(name, cfg);
    }
}

#[test]
fn linked_list_lives_then_dies() {
    each_config(|name, cfg| {
        let mut heap = Heap::new(cfg);
        let mut g = Graph {
            check_trace_once: true,
            ..Graph::default()
        };
        let mut head: Option<ObjPtr> = None;
        for i in 0..20_000u64 {
            let o = new_obj(&mut heap, 1, i, 8 * (i as usize % 5));
            set_child(o, 0, head);
            head = Some(o);
        }
        g.roots = vec![head.unwrap()];
        collect_and_check(&mut heap, &mut g);
        assert_eq!(heap.stats().heap_objects, 20_000, "{name}");
        g.roots.clear();
        collect_and_check(&mut heap, &mut g);
        let st = heap.stats();
        assert_eq!((st.heap_objects, st.heap_alloc), (0, 0), "{name}");
    });
}

#[test]
fn deep_list_does_not_recurse() {
    // A million-long chain: marking must use the gray stack, not recursion.
    let mut heap = Heap::new(GcConfig::default());
    let mut g = Graph::default();
    let mut head: Option<ObjPtr> = None;
    for i in 0..1_000_000u64 {
        let o = new_obj(&mut heap, 1, i, 0);
        set_child(o, 0, head);
        head = Some(o);
    }
    g.roots = vec![head.unwrap()];
    heap.collect(&mut g, true);
    assert_eq!(heap.stats().heap_objects, 1_000_000);
}

fn build_tree(heap: &mut Heap, depth: u32, tag: &mut u64) -> ObjPtr {
    let o = new_obj(heap, 2, *tag, 0);
    *tag += 1;
    if depth > 0 {
        let l = build_tree(heap, depth - 1, tag);
        let r = build_tree(heap, depth - 1, tag);
        set_child(o, 0, Some(l));
        set_child(o, 1, Some(r));
    }
    o
}

#[test]
fn tree_prune_half() {
    each_config(|name, cfg| {
        let mut heap = Heap::new(cfg);
        let mut g = Graph::default();
        let mut tag = 0;
        let root = build_tree(&mut heap, 13, &mut tag);
        g.roots = vec![root];
        collect_and_check(&mut heap, &mut g);
        assert_eq!(heap.stats().heap_objects, (1 << 14) - 1, "{name}");
        set_child(root, 1, None);
        collect_and_check(&mut heap, &mut g);
        assert_eq!(heap.stats().heap_objects, 1 << 13, "{name}");
    });
}

#[test]
fn cycles_are_collected() {
    each_config(|name, cfg| {
        let mut heap = Heap::new(cfg);
        let mut g = Graph::default();
        let mut rings = Vec::new();
        for r in 0..50u64 {
            let first = new_obj(&mut heap, 1, r * 1000, 0);
            let mut prev = first;
            for i in 1..100 {
                let o = new_obj(&mut heap, 1, r * 1000 + i, 16);
                set_child(prev, 0, Some(o));
                prev = o;
            }
            set_child(prev, 0, Some(first));
            rings.push(first);
        }
        g.roots = rings.iter().step_by(2).copied().collect();
        collect_and_check(&mut heap, &mut g);
        assert_eq!(heap.stats().heap_objects, 25 * 100, "{name}");
    });
}

#[test]
fn large_objects() {
    each_config(|name, cfg| {
        let mut heap = Heap::new(cfg);
        let mut g = Graph::default();
        let mut keep = Vec::new();
        for i in 0..60u64 {
            // 33 KiB .. ~300 KiB, with small children hanging off them.
            let big = new_obj(
                &mut heap,
                4,
                i,
                33 * 1024 + (i as usize * 4099) % (256 * 1024),
            );
            for c in 0..4 {
                let small = new_obj(&mut heap, 0, 10_000 + i * 4 + c, 40);
                set_child(big, c as usize, Some(small));
            }
            if i % 3 == 0 {
                keep.push(big);
            }
        }
        g.roots = keep;
        collect_and_check(&mut heap, &mut g);
        assert_eq!(heap.stats().heap_objects, 20 * 5, "{name}");
        // Freed large spans are reused: the heap does not grow for a second
        // round of the same allocations.
        let sys = heap.stats().heap_sys;
        for i in 0..40u64 {
            let _ = new_obj(
                &mut heap,
                0,
                i,
                33 * 1024 + (i as usize * 4099) % (256 * 1024),
            );
        }
        assert!(
            heap.stats().heap_sys <= sys + (1 << 20),
            "{name}: heap grew instead of reusing"
        );
        collect_and_check(&mut heap, &mut g);
    });
}

#[test]
fn random_dags_many_cycles() {
    each_config(|name, cfg| {
        let stress = cfg.stress;
        let mut heap = Heap::new(cfg);
        let mut g = Graph::default();
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut live: Vec<ObjPtr> = Vec::new();
        let mut tag = 0u64;
        let rounds = if stress { 12 } else { 40 };
        for round in 0..rounds {
            // Allocate a batch, linking each new object to earlier ones
            // (a DAG), sometimes large.
            for _ in 0..3000 {
                let n = rng.below(4) as usize;
                let extra = if rng.below(500) == 0 {
                    40 * 1024
                } else {
                    (rng.below(12) * 8) as usize
                };
                let o = new_obj(&mut heap, n, tag, extra);
                tag += 1;
                for i in 0..n {
                    if !live.is_empty() {
                        let c = live[rng.below(live.len() as u64) as usize];
                        set_child(o, i, Some(c));
                    }
                }
                live.push(o);
                if stress && heap.should_collect() && rng.below(300) == 0 {
                    g.roots = live.clone();
                    heap.collect(&mut g, false);
                }
            }
            // Keep a random subset as roots; only what they reach stays valid.
            let keep = 1 + rng.below(40) as usize;
            g.roots = (0..keep)
                .map(|_| live[rng.below(live.len() as u64) as usize])
                .collect();
            if round % 3 == 0 {
                // Incremental-ish: collect without finishing the sweep, then
                // check after a full one.
                heap.collect(&mut g, false);
            }
            collect_and_check(&mut heap, &mut g);
            let (_, _, set) = reachable(&g.roots);
            live.retain(|o| set.contains(&(o.as_ptr() as usize)));
        }
        assert!(heap.stats().num_gc as usize >= rounds, "{name}");
    });
}

#[test]
fn weak_refs_are_pruned() {
    let mut heap = Heap::new(GcConfig::default());
    let mut g = Graph::default();
    let a = new_obj(&mut heap, 0, 1, 0);
    let b = new_obj(&mut heap, 0, 2, 0);
    g.roots = vec![a];
    g.weak = vec![a, b];
    heap.collect(&mut g, true);
    assert_eq!(g.weak, vec![a]);
}

#[test]
fn poison_fills_freed_objects() {
    let mut heap = Heap::new(GcConfig {
        poison: true,
        concurrent_sweep: false,
        ..GcConfig::default()
    });
    let mut g = Graph::default();
    let keep = new_obj(&mut heap, 0, 1, 64);
    let dead = new_obj(&mut heap, 0, 2, 64);
    g.roots = vec![keep];
    heap.collect(&mut g, true);
    check_intact(keep);
    let sz = charged(size(keep)) as usize;
    for i in 0..sz {
        // SAFETY: the freed slot stays inside a committed, in-use span (its
        // neighbour `keep` is live) and no sweeper runs after a full collect.
        let b = unsafe { *dead.as_ptr().add(i) };
        assert_eq!(b, POISON_BYTE, "byte {i} of a freed object");
    }
}

#[test]
fn interleaved_alloc_and_lazy_sweep_reuse_memory() {
    // Steady state: the same live size and lots of garbage per cycle must
    // not grow the heap without bound, in either sweep mode.
    for concurrent in [true, false] {
        let mut heap = Heap::new(GcConfig {
            concurrent_sweep: concurrent,
            ..GcConfig::default()
        });
        let mut g = Graph::default();
        let mut tag = 0;
        for _ in 0..30 {
            let mut head = None;
            for _ in 0..20_000 {
                let o = new_obj(&mut heap, 1, tag, 24);
                tag += 1;
                set_child(o, 0, head);
                head = Some(o);
            }
            g.roots = vec![head.unwrap()];
            heap.collect(&mut g, false);
        }
        assert!(
            heap.stats().heap_sys < 16 << 20,
            "heap_sys {} (concurrent={concurrent})",
            heap.stats().heap_sys
        );
        collect_and_check(&mut heap, &mut g);
    }
}

#[test]
fn heap_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<Heap>();
    let mut heap = Heap::new(GcConfig::default());
    let _ = heap.alloc(100).unwrap();
    std::thread::spawn(move || {
        let mut g = Graph::default();
        heap.collect(&mut g, true);
        assert_eq!(heap.stats().heap_objects, 0);
    })
    .join()
    .unwrap();
}

#[test]
fn concurrent_sweep_races_allocation() {
    // The background sweeper sweeps while the mutator allocates (small and
    // large) and lazily sweeps; verify mode checks the accounting at every
    // sweep termination and poison shows any premature reuse.
    let mut heap = Heap::new(GcConfig {
        verify: true,
        poison: true,
        ..GcConfig::default()
    });
    let mut g = Graph::default();
    let mut rng = Rng(42);
    let mut tag = 0u64;
    let mut live: Vec<ObjPtr> = Vec::new();
    for _ in 0..300 {
        for _ in 0..5000 {
            let extra = if rng.below(200) == 0 {
                34 * 1024
            } else {
                (rng.below(40) * 8) as usize
            };
            let n = rng.below(3) as usize;
            let o = new_obj(&mut heap, n, tag, extra);
            tag += 1;
            for i in 0..n {
                if !live.is_empty() {
                    set_child(o, i, Some(live[rng.below(live.len() as u64) as usize]));
                }
            }
            live.push(o);
        }
        g.roots = (0..20)
            .map(|_| live[rng.below(live.len() as u64) as usize])
            .collect();
        heap.collect(&mut g, false);
        let (_, _, set) = reachable(&g.roots);
        live.retain(|o| set.contains(&(o.as_ptr() as usize)));
    }
    collect_and_check(&mut heap, &mut g);
}

#[test]
fn large_span_churn_with_background_sweeper() {
    // Dead large spans are freed by whichever sweeper gets them while the
    // mutator allocates large objects of other sizes (the page heap splits
    // and coalesces runs); survivors must stay intact.
    let mut heap = Heap::new(GcConfig {
        verify: true,
        poison: true,
        ..GcConfig::default()
    });
    let mut g = Graph::default();
    let mut rng = Rng(7);
    let mut keep: Vec<ObjPtr> = Vec::new();
    for round in 0..400u64 {
        for i in 0..8 {
            let extra = 33 * 1024 + (rng.below(20) as usize) * 8192 + (rng.below(100) as usize) * 8;
            let o = new_obj(&mut heap, 0, round * 100 + i, extra);
            if rng.below(6) == 0 {
                keep.push(o);
            }
        }
        if keep.len() > 30 {
            let drop_at = rng.below(keep.len() as u64) as usize;
            keep.swap_remove(drop_at);
        }
        g.roots = keep.clone();
        heap.collect(&mut g, false);
        for &o in &keep {
            check_intact(o);
        }
    }
    collect_and_check(&mut heap, &mut g);
    assert!(heap.stats().heap_sys < 64 << 20, "large spans are reused");
}
