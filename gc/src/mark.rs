//! Marking: mark bits in per-span bitmaps, an explicit gray stack (so deep
//! object graphs never recurse on the Rust stack), and the views handed to
//! the embedder.
//!
//! Marking runs after sweep termination, either stop-the-world inside
//! `Heap::collect` or concurrently with the mutator (`mgcmark.rs`): no
//! sweeper holds a span (`SWEEP_BEFORE_MARK`) and no span holding a live
//! object is freed, so a marker reads span geometry and sets mark bits
//! without locks; only a stop-the-world marker may also read span data
//! (mspan.rs ownership table).
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
    /// One line naming `obj` for a collector error (`CHECKMARK`): its kind
    /// and whatever identifies it.
    fn describe(&self, obj: ObjPtr) -> String {
        format!("object {obj:p}")
    }
}

/// Which marking a [`Marker`] does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkMode {
    /// The world is stopped and this marker is the only one
    /// (`Heap::collect`, `--no-concurrent-mark`): a failed stack claim is
    /// a double scan.
    StopTheWorld,
    /// A cycle marks concurrently (`mgcmark.rs`): other markers set bits
    /// at once, a stack may be claimed by someone else or be running.
    Concurrent,
    /// `--gc-verify`'s re-mark at mark termination, world stopped, into
    /// the second bitmap (`verify::checkmark`): stacks are read without
    /// claims.
    Checkmark,
}

/// Handed to `Embedder::mark_roots`, `Embedder::trace` and
/// `Tracer::trace`.
pub struct Marker<'a> {
    pub(crate) heap: &'a MHeap,
    pub(crate) gray: &'a mut Vec<ObjPtr>,
    pub(crate) marked_bytes: u64,
    pub(crate) marked_objects: u64,
    pub(crate) verify: bool,
    pub(crate) mode: MarkMode,
    /// The cycle being marked (`num_gc` after it).
    pub(crate) cycle: u64,
    /// Concurrent root marking: roots left for the mark worker to mark
    /// ([`Marker::mark_later`]).
    pub(crate) later: Option<&'a mut Vec<usize>>,
    /// Checkmark: the object being traced (`None` for roots), and the
    /// first reachable object found unmarked with its referrer.
    pub(crate) parent: Option<ObjPtr>,
    pub(crate) missed: Option<(ObjPtr, Option<ObjPtr>)>,
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
/// mode (`stw`: the caller owns every span's data).
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

impl<'a> Marker<'a> {
    pub(crate) fn new(
        heap: &'a MHeap,
        gray: &'a mut Vec<ObjPtr>,
        mode: MarkMode,
        cycle: u64,
        verify: bool,
    ) -> Marker<'a> {
        Marker {
            heap,
            gray,
            marked_bytes: 0,
            marked_objects: 0,
            verify,
            mode,
            cycle,
            later: None,
            parent: None,
            missed: None,
        }
    }

    /// A marker of the concurrent mark of `shared`'s current cycle.
    pub(crate) fn concurrent(shared: &'a crate::HeapShared, gray: &'a mut Vec<ObjPtr>) -> Self {
        let cycle = shared.cycle.load(crate::sync::Ordering::Acquire);
        Marker::new(
            &shared.mheap,
            gray,
            MarkMode::Concurrent,
            cycle,
            shared.verify,
        )
    }

    /// What kind of marking this is.
    #[inline]
    pub fn mode(&self) -> MarkMode {
        self.mode
    }

    /// The number of the cycle being marked (≥ 1), for stack claims.
    #[inline]
    pub fn cycle(&self) -> u64 {
        self.cycle
    }

    /// Mark `obj` (a pointer `Heap::alloc` returned, still reachable): set
    /// its mark bit and, if it was not marked yet, push it on the gray stack
    /// so that `trace` is called on it exactly once this cycle.
    #[inline]
    pub fn mark(&mut self, obj: ObjPtr) {
        let stw = self.mode != MarkMode::Concurrent;
        let (span, g, idx) = locate(self.heap, obj, self.verify, stw);
        let newly = match self.mode {
            // SAFETY: as in `locate`: the span is in use while we mark.
            MarkMode::StopTheWorld => unsafe { span.gcmark.set(idx, true) },
            // SAFETY: as above; other markers may set bits of the word.
            MarkMode::Concurrent => unsafe { span.gcmark.set(idx, false) },
            MarkMode::Checkmark => {
                // SAFETY: as above; the world is stopped and the checkmark
                // bits were sized for every in-use span.
                let newly = unsafe { span.checkmark.set(idx, true) };
                // SAFETY: as above.
                if newly && self.missed.is_none() && !unsafe { span.gcmark.get(idx) } {
                    self.missed = Some((obj, self.parent));
                }
                newly
            }
        };
        if newly {
            self.marked_bytes += g.elemsize as u64;
            self.marked_objects += 1;
            self.gray.push(obj);
        }
    }

    /// Mark a root now or, at the start of a concurrent cycle, leave it to
    /// the mark worker (so the stop-the-world start does not grow with,
    /// say, a million parked coroutines: it copies a pointer each).
    #[inline]
    pub fn mark_later(&mut self, obj: ObjPtr) {
        match self.later.as_deref_mut() {
            Some(later) => later.push(obj.as_ptr() as usize),
            None => self.mark(obj),
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
