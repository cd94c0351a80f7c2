//! Verify mode (`GcConfig::verify`, `--gc-verify`): named whole-heap checks
//! run stop-the-world. Each failure is a `gc_throw!` naming the invariant.
//! (`MARK_BAD_POINTER` is checked per pointer in `mark.rs`, and sweeping
//! checks that marks are a subset of allocations in `sweep.rs`.)
#![allow(unsafe_code)]

use crate::mcentral::{swept_idx, unswept_idx};
use crate::mspan::{ListId, MSpanState};
use crate::HeapShared;

/// `SWEEP_BEFORE_MARK`: at mark start no sweeper holds a span (always
/// checked: one atomic load) and, in verify mode, every in-use span is swept
/// for the current `sg`.
pub(crate) fn check_sweep_before_mark(heap: &HeapShared, snapshot_len: usize, verify: bool) {
    let holding = heap.sweep.holding.load(crate::sync::Ordering::Acquire);
    if holding != 0 {
        gc_throw!(
            SweepBeforeMark,
            "marking would start while {holding} sweeper(s) hold a span"
        );
    }
    if !verify {
        return;
    }
    let sg = heap.sweep.sg();
    for i in 0..snapshot_len {
        let s = heap.mheap.allspans.get(i);
        if s.state() == MSpanState::InUse && !s.sweepgen.is_swept(sg) {
            gc_throw!(
                SweepBeforeMark,
                span = s,
                "unswept span at mark start (sg={sg})"
            );
        }
    }
}

/// `SPAN_ACCOUNTING`: with the sweep finished, the mcache flushed and the
/// world stopped, per-span bitmaps and counts agree with each other, with
/// the mcentral lists, and with the heap's `heap_alloc`/`heap_objects`.
pub(crate) fn check_span_accounting(heap: &HeapShared, heap_alloc: u64, heap_objects: u64) {
    let sg = heap.sweep.sg();
    let (mut bytes, mut objects) = (0u64, 0u64);
    let n = heap.mheap.allspans.len();
    for i in 0..n {
        let s = heap.mheap.allspans.get(i);
        if s.state() != MSpanState::InUse {
            continue;
        }
        if !s.sweepgen.is_swept(sg) {
            gc_throw!(
                SpanAccounting,
                span = s,
                "unswept span after sweep termination"
            );
        }
        // SAFETY: stop-the-world with no sweeper active (sweep termination
        // just waited for them): the collector owns every span's data.
        let (class, count, elemsize, nelems, counted, list) = unsafe {
            let (class, count, elemsize, nelems, counted) = s.with_data(|d| {
                let counted = (0..d.nelems).filter(|&i| d.is_allocated(i)).count();
                (d.spanclass, d.alloc_count, d.elemsize, d.nelems, counted)
            });
            (
                class,
                count,
                elemsize,
                nelems,
                counted,
                s.with_links(|l| l.list),
            )
        };
        if counted != count {
            gc_throw!(
                SpanAccounting,
                span = s,
                "bitmap says {counted} allocated, alloc_count says {count}"
            );
        }
        if class != 0 {
            let sw = swept_idx(sg);
            let want = if count == nelems {
                ListId::Full(sw)
            } else {
                ListId::Partial(sw)
            };
            if list != want {
                gc_throw!(
                    SpanAccounting,
                    span = s,
                    "span with {count}/{nelems} objects is on {list:?}, expected {want:?}"
                );
            }
        }
        bytes += (count * elemsize) as u64;
        objects += count as u64;
    }
    if bytes != heap_alloc || objects != heap_objects {
        gc_throw!(
            SpanAccounting,
            "spans hold {bytes} bytes in {objects} objects, stats say {heap_alloc} bytes in {heap_objects}"
        );
    }
    for c in heap.mheap.central.iter().skip(1) {
        let mut l = c.lock.lock();
        let us = unswept_idx(sg);
        if l.len(ListId::Partial(us)) != 0 || l.len(ListId::Full(us)) != 0 {
            gc_throw!(
                SpanAccounting,
                "an unswept mcentral list is not empty after sweep termination"
            );
        }
    }
}

/// `CHECKMARK` (Go's `gcMarkRootCheck`/checkmark mode), at the end of a
/// concurrent mark with the world stopped and the phase `Off`: re-marks
/// everything reachable from the roots (the embedder's, the finalizer
/// queue, the specials) into each span's second bitmap and throws, naming
/// the object and its referrer, on the first reachable object whose mark
/// bit the concurrent mark left clear: a black→white edge the barrier, a
/// stack scan or an assist missed.
pub(crate) fn checkmark<E: crate::Embedder>(heap: &HeapShared, cycle: u64, embedder: &mut E) {
    use crate::mark::{MarkMode, Marker};
    let n = heap.mheap.allspans.len();
    for i in 0..n {
        let s = heap.mheap.allspans.get(i);
        if s.state() == MSpanState::InUse {
            // SAFETY: the world is stopped with no sweeper in any span and
            // the mark over (phase Off, no marker holds a job): nobody
            // touches the checkmark words; the span is in use.
            unsafe { s.checkmark.reset_stopped(s.geom().nelems.div_ceil(64)) };
        }
    }
    let mut gray = Vec::new();
    let mut m = Marker::new(&heap.mheap, &mut gray, MarkMode::Checkmark, cycle, true);
    embedder.mark_roots(&mut m);
    heap.finq.mark_roots(&mut m);
    let mut specials = Vec::new();
    crate::finalizer::collect_specials(heap, n, &mut specials);
    for (obj, fin) in specials {
        let (Some(obj), Some(fin)) = (
            core::ptr::NonNull::new(obj as *mut u8),
            core::ptr::NonNull::new(fin as *mut u8),
        ) else {
            gc_throw!(MarkBadPointer, "a finalizer special holds a null pointer");
        };
        m.parent = None;
        m.mark(fin);
        m.parent = Some(obj);
        embedder.trace(obj, &mut m);
    }
    while let Some(obj) = m.gray.pop() {
        m.parent = Some(obj);
        embedder.trace(obj, &mut m);
    }
    if let Some((obj, parent)) = m.missed {
        let from = match parent {
            Some(p) => format!("referenced by {}", embedder.describe(p)),
            None => "a root".to_string(),
        };
        gc_throw!(
            Checkmark,
            "{} is reachable ({from}) but was not marked in cycle {cycle}",
            embedder.describe(obj)
        );
    }
}
