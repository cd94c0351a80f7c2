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
use crate::mspan::{MSpan, MSpanState, SpanGeom};
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
    /// The world is stopped: the marker owns every span's data (verify
    /// mode then also checks that a marked slot is allocated).
    pub(crate) stw: bool,
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

/// Verify mode: `obj` must be the start of an object of an in-use span,
/// and, when the caller owns every span's data (`stw`), of an allocated
/// slot.
#[cold]
fn check_mark_target(span: &MSpan, g: &SpanGeom, addr: usize, idx: usize, stw: bool) {
    if span.state() != MSpanState::InUse {
        gc_throw!(
            MarkBadPointer,
            span = span,
            "{addr:#x} points into a span that is not in use"
        );
    }
    let off = addr - g.start;
    if idx >= g.nelems || idx * g.elemsize != off {
        gc_throw!(
            MarkBadPointer,
            span = span,
            "{addr:#x} is not the start of an object (offset {off}, elemsize {})",
            g.elemsize
        );
    }
    // SAFETY: with the world stopped after sweep termination, no sweeper
    // holds a span and the mutator is here: we own every span's data
    // (mspan.rs table, STW row).
    if stw && !unsafe { span.with_data(|d| d.is_allocated(idx)) } {
        gc_throw!(
            MarkBadPointer,
            span = span,
            "{addr:#x} is a free slot (index {idx})"
        );
    }
}

/// The span of `obj`, its geometry and its slot index, checked in verify
/// mode.
#[inline(always)]
fn locate(heap: &MHeap, obj: ObjPtr, verify: bool, stw: bool) -> (&MSpan, SpanGeom, usize) {
    let addr = obj.as_ptr() as usize;
    let span = span_for(heap, addr);
    // SAFETY: `obj` is a live object (the Embedder contract): its span is
    // in use and cannot be freed while anyone marks (no sweeping during
    // marking, SWEEP_BEFORE_MARK).
    let g = unsafe { span.geom() };
    let idx = g.obj_index(addr - g.start);
    if verify {
        check_mark_target(span, &g, addr, idx, stw);
    }
    (span, g, idx)
}

impl Marker<'_> {
    /// Mark `obj` (a pointer `Heap::alloc` returned, still reachable): set
    /// its mark bit and, if it was not marked yet, push it on the gray stack
    /// so the heap calls `Embedder::trace` on it exactly once this cycle.
    #[inline]
    pub fn mark(&mut self, obj: ObjPtr) {
        let (span, g, idx) = locate(self.heap, obj, self.verify, self.stw);
        // SAFETY: as in `locate`: the span is in use while we mark.
        if unsafe { span.gcmark.set(idx, self.stw) } {
            self.marked_bytes += g.elemsize as u64;
            self.marked_objects += 1;
            self.gray.push(obj);
        }
    }
}

impl MarkView<'_> {
    /// Whether `obj` was marked this cycle (it survives the sweep).
    #[inline]
    pub fn is_marked(&self, obj: ObjPtr) -> bool {
        let (span, _, idx) = locate(self.heap, obj, self.verify, true);
        // SAFETY: as in `locate`.
        unsafe { span.gcmark.get(idx) }
    }
}
