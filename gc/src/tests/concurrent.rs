//! Concurrent mark on synthetic graphs, no VM: a mutator that changes the
//! graph through the barrier while the mark worker and its own assists
//! mark keeps everything reachable (the checkmark re-mark agrees), a
//! missing barrier is caught by `CHECKMARK`, and the phase calls out of
//! order throw `MARK_PHASE`.
//!
//! Object layout (`u64` words): `[n_children, tag, child_0 .. child_{n-1}]`.
//! The header is written before the object is published; child words are
//! read by markers with acquire loads and written with release stores
//! (the VM's `load_shared` / `WriteBarrier::write` in miniature).
#![allow(unsafe_code)]

use super::{assert_child_throws, child_scenario};
use crate::invariant::Invariant;
use crate::{Barrier, Embedder, GcConfig, Heap, MarkView, Marker, ObjPtr, Tracer};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

const HDR: usize = 2;

fn word(obj: ObjPtr, i: usize) -> &'static AtomicU64 {
    // SAFETY: callers pass live objects built by `new_node` with more than
    // `i` words; a word of a live object is an aligned u64 accessed only
    // atomically after publication.
    unsafe { AtomicU64::from_ptr(obj.as_ptr().cast::<u64>().add(i)) }
}

fn new_node(heap: &mut Heap, n: usize, tag: u64) -> ObjPtr {
    let p = heap.alloc((HDR + n) * 8).expect("alloc");
    word(p, 0).store(n as u64, Ordering::Relaxed);
    word(p, 1).store(tag, Ordering::Relaxed);
    for i in 0..n {
        word(p, HDR + i).store(0, Ordering::Relaxed);
    }
    p
}

fn n_children(obj: ObjPtr) -> usize {
    word(obj, 0).load(Ordering::Relaxed) as usize
}

fn child(obj: ObjPtr, i: usize) -> Option<ObjPtr> {
    ObjPtr::new(word(obj, HDR + i).load(Ordering::Acquire) as *mut u8)
}

/// A store into a heap object through the hybrid barrier (`shade`:
/// whether to shade the overwritten pointer, off only for the seed).
fn store(b: &mut Barrier, obj: ObjPtr, i: usize, new: Option<ObjPtr>, shade_old: bool) {
    if b.marking() {
        if let (true, Some(old)) = (shade_old, child(obj, i)) {
            b.shade(old);
        }
        if let Some(n) = new {
            b.shade(n);
        }
    }
    word(obj, HDR + i).store(new.map_or(0, |p| p.as_ptr() as u64), Ordering::Release);
}

fn trace_node(obj: ObjPtr, m: &mut Marker<'_>) {
    for i in 0..n_children(obj) {
        if let Some(c) = child(obj, i) {
            m.mark(c);
        }
    }
}

struct NodeTracer;

// SAFETY: (1) children are live nodes of this heap (the tests store only
// reachable or fresh nodes); (2) child words are read atomically and the
// header is fixed before publication; nodes have no stacks.
unsafe impl Tracer for NodeTracer {
    fn trace(&self, obj: ObjPtr, m: &mut Marker<'_>) {
        trace_node(obj, m);
    }
}

/// The roots are the mutator's "stack": scanned once at mark start,
/// written without a barrier afterwards.
#[derive(Default)]
struct Roots {
    roots: Vec<ObjPtr>,
}

// SAFETY: as for `NodeTracer`; the roots are live nodes.
unsafe impl Embedder for Roots {
    fn mark_roots(&mut self, m: &mut Marker<'_>) {
        for &r in &self.roots {
            m.mark(r);
        }
    }
    fn trace(&mut self, obj: ObjPtr, m: &mut Marker<'_>) {
        trace_node(obj, m);
    }
    fn sweep_weak(&mut self, _marks: &MarkView<'_>) {}
    fn describe(&self, obj: ObjPtr) -> String {
        format!("node {} at {obj:p}", word(obj, 1).load(Ordering::Relaxed))
    }
}

fn reachable(roots: &[ObjPtr]) -> HashSet<usize> {
    let mut seen = HashSet::new();
    let mut stack = roots.to_vec();
    while let Some(o) = stack.pop() {
        if seen.insert(o.as_ptr() as usize) {
            stack.extend((0..n_children(o)).filter_map(|i| child(o, i)));
        }
    }
    seen
}

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// A random node reachable now: a walk down from a random root.
fn walk(rng: &mut Rng, roots: &[ObjPtr]) -> Option<ObjPtr> {
    let mut x = *roots.get(rng.below(roots.len().max(1)))?;
    for _ in 0..rng.below(12) {
        let n = n_children(x);
        match (n > 0).then(|| child(x, rng.below(n))).flatten() {
            Some(c) => x = c,
            None => break,
        }
    }
    Some(x)
}

fn concurrent_heap(verify: bool, stress: bool) -> Heap {
    let mut heap = Heap::new(GcConfig {
        verify,
        poison: verify,
        stress,
        min_trigger: 256 << 10,
        ..GcConfig::default()
    });
    heap.set_tracer(Arc::new(NodeTracer));
    assert!(heap.concurrent_mark());
    heap
}

/// Builds a random graph of `n` nodes reachable from a few roots.
fn build(heap: &mut Heap, rng: &mut Rng, n: usize, b: &mut Barrier) -> Roots {
    let mut g = Roots::default();
    for t in 0..n as u64 {
        let o = new_node(heap, 3, t);
        match walk(rng, &g.roots) {
            Some(p) if g.roots.len() >= 4 => store(b, p, rng.below(3), Some(o), true),
            _ => g.roots.push(o),
        }
    }
    g
}

/// One mutation of a running program, through the barrier.
fn mutate(
    heap: &mut Heap,
    rng: &mut Rng,
    g: &mut Roots,
    b: &mut Barrier,
    tag: u64,
    shade_old: bool,
) {
    let Some(x) = walk(rng, &g.roots) else {
        g.roots.push(new_node(heap, 3, tag));
        return;
    };
    match rng.below(6) {
        // A fresh node (black while marking) hung below a reachable one.
        0 | 1 => {
            let o = new_node(heap, 3, tag);
            store(b, x, rng.below(3), Some(o), shade_old);
        }
        // An edge cut.
        2 => store(b, x, rng.below(3), None, shade_old),
        // A pointer moved from the heap to the stack, its edge cut: only
        // the deletion barrier keeps it.
        3 => {
            let i = rng.below(3);
            if let Some(z) = child(x, i) {
                g.roots.push(z);
                store(b, x, i, None, shade_old);
            }
        }
        // A pointer moved between objects.
        4 => {
            if let Some(y) = walk(rng, &g.roots) {
                let z = child(y, rng.below(3));
                store(b, x, rng.below(3), z, shade_old);
            }
        }
        // A root dropped (a stack slot overwritten: no barrier).
        _ => {
            if g.roots.len() > 2 {
                let i = rng.below(g.roots.len());
                g.roots.swap_remove(i);
            }
        }
    }
}

/// Cycles that mark while the graph changes; `full` checks at the end of
/// each: what is reachable survived (the checkmark agreed, in verify mode,
/// that it was all marked), and a stop-the-world cycle then leaves exactly
/// the reachable nodes.
fn run_program(verify: bool, stress: bool, shade_old: bool, hold_worker: bool) {
    let mut heap = concurrent_heap(verify, stress);
    let mut b = heap.barrier();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut g = build(&mut heap, &mut rng, 20_000, &mut b);
    heap.hold_mark_worker(hold_worker);
    let mut tag = 1 << 32;
    let mut cycles = 0;
    for _ in 0..60_000 {
        tag += 1;
        mutate(&mut heap, &mut rng, &mut g, &mut b, tag, shade_old);
        if heap.poll_due() {
            if heap.is_marking() {
                if heap.mark_assist(&mut b) {
                    heap.finish_mark(&mut b, &mut g, false);
                    cycles += 1;
                }
            } else if heap.should_collect() {
                heap.start_mark(&mut b, &mut g);
            } else {
                heap.set_next_poll();
            }
        }
    }
    if heap.is_marking() {
        heap.mark_drain(&mut b);
        heap.finish_mark(&mut b, &mut g, true);
        cycles += 1;
    }
    assert!(cycles >= 3, "only {cycles} concurrent cycles ran");
    // Floating garbage (allocated black, dropped during the mark) may
    // survive a concurrent cycle; a stop-the-world one leaves exactly the
    // reachable nodes.
    heap.collect(&mut g, true);
    let live = reachable(&g.roots);
    assert_eq!(heap.stats().heap_objects, live.len() as u64);
    if hold_worker {
        assert_eq!(heap.stats().mark_worker_ns, 0, "a held worker marked");
    }
}

#[test]
fn concurrent_mark_keeps_a_changing_graph_reachable() {
    run_program(false, false, true, false);
}

#[test]
fn concurrent_mark_verify_and_poison_agree_with_checkmark() {
    run_program(true, false, true, false);
}

#[test]
fn concurrent_mark_with_assists_only() {
    run_program(true, false, true, true);
}

#[test]
fn concurrent_mark_in_stress_mode() {
    run_program(true, true, true, false);
}

/// A node `x` moved from the heap to the (already scanned) stack while a
/// cycle marks, its edge from `a` cut with the deletion barrier's shade of
/// the overwritten pointer (`shade_old`) or without it; then the mark
/// ends, with the checkmark re-mark. Returns the objects left.
fn move_to_the_stack(shade_old: bool) -> u64 {
    let mut heap = concurrent_heap(true, false);
    let mut b = heap.barrier();
    let a = new_node(&mut heap, 1, 1);
    let x = new_node(&mut heap, 1, 2);
    store(&mut b, a, 0, Some(x), true);
    let mut g = Roots { roots: vec![a] };
    heap.hold_mark_worker(true);
    heap.start_mark(&mut b, &mut g);
    // The stack was scanned: `a` is grey, `x` white.
    g.roots.push(x);
    store(&mut b, a, 0, None, shade_old);
    heap.mark_drain(&mut b);
    heap.finish_mark(&mut b, &mut g, true);
    heap.stats().heap_objects
}

/// Without the deletion barrier's shade of the overwritten pointer, the
/// node moved to the stack stays white: the checkmark re-mark finds it
/// reachable and throws.
#[test]
fn checkmark_catches_a_white_object() {
    if child_scenario().is_some() {
        move_to_the_stack(false);
        return;
    }
    assert_child_throws(
        "tests::concurrent::checkmark_catches_a_white_object",
        "x",
        Invariant::Checkmark,
    );
}

/// The same program with the barrier intact runs clean (the scenario
/// above fails because of the missing shade, nothing else).
#[test]
fn checkmark_passes_with_the_barrier() {
    assert_eq!(move_to_the_stack(true), 2);
}
