//! Marking: mark bits in per-span bitmaps, an explicit gray stack (so deep
//! object graphs never recurse on the Rust stack), and the views handed to
//! the embedder.
//!
//! Marking runs stop-the-world inside `Heap::collect`, after sweep
//! termination: no sweeper holds a span (`SWEEP_BEFORE_MARK`), no span is
//! created or freed, so the page table and every span's data may be read
//! and the mark bits written without locks (mspan.rs ownership table, row
//! "stop-the-world collector").
#![allow(unsafe_code)]

use crate::mheap::MHeap;
use crate::mspan::{MSpan, MSpanState, SpanData};
use crate::ObjPtr;

/// Roots and tracing, supplied by the embedder. **API Boundary.**
///
/// # Safety
/// 1. `mark_roots` and `trace` pass to [`Marker::mark`] only pointers that
///    `Heap::alloc` of this heap returned and that have been reachable since
///    (so not yet freed). An object with a finalizer (and everything it
///    reaches) counts as reachable until the embedder drops it after
///    [`Heap::pop_finalizer`].
/// 2. `trace(obj)` reads only the object `obj` (and may call `mark` for each
///    object pointer it holds).
pub unsafe trait Embedder {
    /// Mark every root.
    fn mark_roots(&mut self, m: &mut Marker<'_>);
    /// Mark the objects `obj` references. Called once per marked object per
    /// cycle, and in addition once per object with a finalizer
    /// ([`Heap::set_finalizer`]), **even if that object is not marked**
    /// (what a finalizable object reaches must survive, but not the object
    /// itself, or it would never be finalized): such an object may be
    /// traced twice in one cycle when it is also marked.
    fn trace(&mut self, obj: ObjPtr, m: &mut Marker<'_>);
    /// After marking, before sweeping: drop weak references to objects with
    /// `!marks.is_marked(p)` (the VM's interned-string table). An
    /// unreachable object with a finalizer reads as unmarked here even
    /// though the sweep then keeps it alive and queues it.
    fn sweep_weak(&mut self, marks: &MarkView<'_>);
}

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
        None => gc_throw!(MarkBadPointer, "{addr:#x} is not in any span of this heap"),
    }
}

/// Verify mode: `obj` must be the start of an allocated slot of an in-use
/// span.
#[cold]
fn check_mark_target(span: &MSpan, d: &SpanData, addr: usize, idx: usize) {
    if span.state() != MSpanState::InUse {
        gc_throw!(
            MarkBadPointer,
            span = span,
            "{addr:#x} points into a span that is not in use"
        );
    }
    let off = addr - d.start;
    if idx >= d.nelems || idx * d.elemsize != off {
        gc_throw!(
            MarkBadPointer,
            span = span,
            "{addr:#x} is not the start of an object (offset {off}, elemsize {})",
            d.elemsize
        );
    }
    if !d.is_allocated(idx) {
        gc_throw!(
            MarkBadPointer,
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
