//! Marking: mark bits in per-span bitmaps, an explicit gray stack (so deep
//! object graphs never recurse on the Rust stack), and the views handed to
//! the embedder.
//!
//! Marking runs stop-the-world inside `Heap::collect`, after sweep
//! termination: no sweeper holds a span (`SWEEP_BEFORE_MARK`), no span is
//! created or freed, so the page table and every span's data may be read
//! and the mark bits written without locks (mspan.rs ownership table, row
//! "stop-the-world collector").

use crate::mheap::MHeap;
use crate::mspan::{MSpan, MSpanState, SpanData};
use crate::ObjPtr;

/// Handed to `Embedder::mark_roots` and `Embedder::trace`.
pub struct Marker<'a> {
    pub(crate) heap: &'a MHeap,
    pub(crate) gray: &'a mut Vec<ObjPtr>,
    pub(crate) marked_bytes: u64,
    pub(crate) marked_objects: u64,
    pub(crate) verify: bool,
}

/// Read-only view of this cycle's mark bits, for `Embedder::sweep_weak`.
pub struct MarkView<'a> {
    pub(crate) heap: &'a MHeap,
    pub(crate) verify: bool,
}

/// The span holding `addr`, or `MARK_BAD_POINTER` (not a heap address).
#[inline(always)]
fn span_for(heap: &MHeap, addr: usize) -> &MSpan {
    match heap.span_of(addr) {
        Some(s) => s,
        None => gc_throw!(
            MARK_BAD_POINTER,
            "{addr:#x} is not in any span of this heap"
        ),
    }
}

/// Verify mode: `obj` must be the start of an allocated slot of an in-use
/// span.
#[cold]
fn check_mark_target(span: &MSpan, d: &SpanData, addr: usize, idx: usize) {
    if span.state() != MSpanState::InUse {
        gc_throw!(
            MARK_BAD_POINTER,
            span = span,
            "{addr:#x} points into a span that is not in use"
        );
    }
    let off = addr - d.start;
    if idx >= d.nelems || idx * d.elemsize != off {
        gc_throw!(
            MARK_BAD_POINTER,
            span = span,
            "{addr:#x} is not the start of an object (offset {off}, elemsize {})",
            d.elemsize
        );
    }
    if !d.is_allocated(idx) {
        gc_throw!(
            MARK_BAD_POINTER,
            span = span,
            "{addr:#x} is a free slot (index {idx})"
        );
    }
}

impl Marker<'_> {
    /// Mark `obj` (a pointer `Heap::alloc` returned, still reachable): set
    /// its mark bit and, if it was not marked yet, push it on the gray stack
    /// so the heap calls `Embedder::trace` on it exactly once this cycle.
    #[inline]
    pub fn mark(&mut self, obj: ObjPtr) {
        let addr = obj.as_ptr() as usize;
        let span = span_for(self.heap, addr);
        let verify = self.verify;
        // SAFETY: stop-the-world marking, after sweep termination: no
        // sweeper holds a span (SWEEP_BEFORE_MARK, checked in `collect`) and
        // the mutator is here, so we own every span's data (mspan.rs table,
        // STW row).
        let newly = unsafe {
            span.with_data(|d| {
                let idx = d.obj_index(addr - d.start);
                if verify {
                    check_mark_target(span, d, addr, idx);
                }
                let w = &mut d.gcmark_bits[idx / 64];
                let m = 1u64 << (idx % 64);
                if *w & m == 0 {
                    *w |= m;
                    Some(d.elemsize)
                } else {
                    None
                }
            })
        };
        if let Some(size) = newly {
            self.marked_bytes += size as u64;
            self.marked_objects += 1;
            self.gray.push(obj);
        }
    }
}

impl MarkView<'_> {
    /// Whether `obj` was marked this cycle (it survives the sweep).
    #[inline]
    pub fn is_marked(&self, obj: ObjPtr) -> bool {
        let addr = obj.as_ptr() as usize;
        let span = span_for(self.heap, addr);
        let verify = self.verify;
        // SAFETY: as in `Marker::mark`: still stop-the-world, before mark
        // termination, so no sweeper holds a span.
        unsafe {
            span.with_data(|d| {
                let idx = d.obj_index(addr - d.start);
                if verify {
                    check_mark_target(span, d, addr, idx);
                }
                d.is_marked(idx)
            })
        }
    }
}
