//! The named checks fire: each scenario runs in a child process and must
//! abort with the invariant's name.
#![allow(unsafe_code)]

use super::{assert_child_throws, child_scenario, Leaves};
use crate::invariant::Invariant;
use crate::{GcConfig, Heap, ObjPtr};

fn verify_heap() -> Heap {
    Heap::new(GcConfig {
        verify: true,
        concurrent_sweep: false,
        ..GcConfig::default()
    })
}

#[test]
fn bad_pointer_interior() {
    if child_scenario().is_some() {
        let mut heap = verify_heap();
        let p = heap.alloc(64).unwrap();
        let mut g = Leaves::default();
        g.roots.push(p);
        heap.collect(&mut g, true);
        // SAFETY: p + 8 stays inside the 64-byte object (never dereferenced).
        g.bogus
            .push(unsafe { ObjPtr::new_unchecked(p.as_ptr().add(8)) });
        heap.collect(&mut g, true);
        return;
    }
    assert_child_throws(
        "tests::checks::bad_pointer_interior",
        "x",
        Invariant::MarkBadPointer,
    );
}

#[test]
fn bad_pointer_free_slot() {
    if child_scenario().is_some() {
        let mut heap = verify_heap();
        let keep = heap.alloc(64).unwrap();
        let dead = heap.alloc(64).unwrap();
        let mut g = Leaves::default();
        g.roots.push(keep);
        heap.collect(&mut g, true);
        g.bogus.push(dead); // freed by the first cycle
        heap.collect(&mut g, true);
        return;
    }
    assert_child_throws(
        "tests::checks::bad_pointer_free_slot",
        "x",
        Invariant::MarkBadPointer,
    );
}

#[test]
fn bad_pointer_outside_heap() {
    // Checked even without verify mode: one range compare.
    if child_scenario().is_some() {
        let mut heap = Heap::new(GcConfig::default());
        let mut local = 0u64;
        let mut g = Leaves::default();
        g.bogus.push(core::ptr::NonNull::from(&mut local).cast());
        heap.collect(&mut g, true);
        return;
    }
    assert_child_throws(
        "tests::checks::bad_pointer_outside_heap",
        "x",
        Invariant::MarkBadPointer,
    );
}

#[test]
fn span_accounting_detects_miscount() {
    if child_scenario().is_some() {
        let mut heap = verify_heap();
        let mut g = Leaves::default();
        g.roots.push(heap.alloc(64).unwrap());
        let span = heap.mcache.alloc[crate::sizeclasses::size_to_class(64)].unwrap();
        // SAFETY: the span is in our mcache: the mutator owns its data.
        // Corrupt it the way a lost allocation-count update would.
        unsafe { span.as_ref().with_data(|d| d.alloc_count += 1) };
        heap.collect(&mut g, true);
        return;
    }
    assert_child_throws(
        "tests::checks::span_accounting_detects_miscount",
        "x",
        Invariant::SpanAccounting,
    );
}

#[test]
fn sweep_ownership_detects_stolen_span() {
    if child_scenario().is_some() {
        let mut heap = verify_heap();
        let mut g = Leaves::default();
        heap.alloc(64).unwrap();
        heap.collect(&mut g, false); // the span now needs sweeping (sg-2)
        let shared = heap.shared.clone();
        let sg = shared.sweep.sg();
        let span = shared.mheap.allspans.get(0);
        let _active = crate::sweep::ActiveSweeper::enter(&shared.sweep);
        let locked = crate::sweep::try_acquire(span, sg, &shared.sweep).expect("claim");
        // Someone else publishes the span we own.
        span.sweepgen.publish(sg);
        locked.sweep_span(
            &shared,
            crate::sweep::SweepMode::ToLists,
            crate::sweep::Sweeper::Lazy,
        );
        return;
    }
    assert_child_throws(
        "tests::checks::sweep_ownership_detects_stolen_span",
        "x",
        Invariant::SweepOwnership,
    );
}

#[test]
fn lock_rank_detects_inversion() {
    // Debug builds only (the rank check compiles away in release).
    if !cfg!(debug_assertions) {
        return;
    }
    if child_scenario().is_some() {
        let heap = Heap::new(GcConfig::default());
        let _c = heap.shared.mheap.central[1].lock.lock();
        let _h = heap.shared.mheap.lock.lock(); // MHeap after MCentral: wrong
        return;
    }
    assert_child_throws(
        "tests::checks::lock_rank_detects_inversion",
        "x",
        Invariant::LockRank,
    );
}

#[test]
fn specials_keep_alive_detects_freed_finalizable_object() {
    // A span must never go back to the page heap while it holds a finalizer
    // special. The sweep makes this impossible (it marks and queues every
    // unmarked object with a special before the bitmaps turn over), so the
    // scenario forges the free of a large span whose object has one.
    if child_scenario().is_some() {
        let mut heap = verify_heap();
        let obj = heap.alloc(100_000).unwrap();
        let fin = heap.alloc(64).unwrap();
        heap.set_finalizer(obj, fin).unwrap();
        let span = heap.shared.mheap.span_of(obj.as_ptr() as usize).unwrap();
        heap.shared
            .mheap
            .free_span(crate::sweep::FreedSpan::forge_for_test(
                core::ptr::NonNull::from(span),
            ));
        return;
    }
    assert_child_throws(
        "tests::checks::specials_keep_alive_detects_freed_finalizable_object",
        "x",
        Invariant::SpecialsKeepAlive,
    );
}

/// The phase calls of a concurrent cycle out of order throw `MARK_PHASE`:
/// a stop-the-world cycle while a cycle marks.
#[test]
fn mark_phase_out_of_order() {
    if let Some(s) = child_scenario() {
        struct NoEdges;
        // SAFETY: traces nothing.
        unsafe impl crate::Tracer for NoEdges {
            fn trace(&self, _obj: ObjPtr, _m: &mut crate::Marker<'_>) {}
        }
        let mut heap = verify_heap();
        heap.set_tracer(std::sync::Arc::new(NoEdges));
        let mut b = heap.barrier();
        let mut g = Leaves::default();
        if s == "finish" {
            heap.finish_mark(&mut b, &mut g, false); // no cycle marks
        } else {
            heap.start_mark(&mut b, &mut g);
            heap.collect(&mut g, false); // a STW cycle inside a concurrent one
        }
        return;
    }
    for s in ["finish", "collect"] {
        assert_child_throws(
            "tests::checks::mark_phase_out_of_order",
            s,
            Invariant::MarkPhase,
        );
    }
}
