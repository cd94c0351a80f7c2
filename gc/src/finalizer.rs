//! Finalizers (DESIGN.md "Finalizers"; Go's `addfinalizer`,
//! `removefinalizer`, `markrootSpans`, `queuefinalizer`, `runfinq`,
//! `wakefing`).
//!
//! * **Specials.** Each span has a list of (object offset, finalizer)
//!   records under its own lock (rank `Specials`). The mutator adds and
//!   removes them ([`add_special`], [`remove_special`]); a sweeper removes
//!   the record of an object it finds unmarked ([`queue_unmarked`]).
//! * **Mark.** For every special of every in-use span, the finalizer is
//!   marked and what the object reaches is marked, *not the object itself*
//!   (`Embedder::trace` on the unmarked object), so an unreachable
//!   finalizable object stays unmarked and everything it needs survives.
//!   Consequences (LANGUAGE.md §6): if finalizable A reaches finalizable B,
//!   B is marked through A's special and only A is queued this cycle; a
//!   cycle through a finalizable object marks the object itself, so it is
//!   never queued nor collected. Every queued pair is a root.
//! * **Sweep.** Before the bitmaps turn over, each special whose object is
//!   unmarked is removed, the object's mark bit is set (it survives this
//!   cycle, with its referents, which the special scan marked), and the
//!   pair goes on `finq` (`SPECIALS_KEEP_ALIVE`). An object with a finalizer
//!   is therefore never freed by the sweep that finds it dead, and a span
//!   returned to the page heap has no specials (checked in
//!   `MHeap::free_span`).
//! * **FINQ_WAKE** (seed 000). Whoever queues (background sweeper, lazy
//!   sweep in the allocator, `gc()`'s full sweep) sets `fingwake` under the
//!   queue lock. The finalizer coroutine, finding the queue empty, sets
//!   `fingwait` and parks ([`Finq::park`]); the scheduler, every time it
//!   picks the next coroutine, readies it iff `fingwait && fingwake`
//!   ([`Finq::should_wake`], which clears both). Waking is never tied to
//!   "the background sweeper finished": lazy sweeping queues finalizers
//!   after that, and with `concurrent_sweep: false` there is no background
//!   sweeper at all. In every finq critical section `fingwait &&
//!   !queue.is_empty()` implies `fingwake` (checked in verify mode).
#![allow(unsafe_code)]

use crate::mspan::{MSpan, SpanData};
use crate::sizeclasses::{class_info, PAGE_SIZE};
use crate::sync::{AtomicBool, LockRank, Mutex, Ordering};
use crate::{HeapShared, Marker, ObjPtr};
use core::ptr::NonNull;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool as StdAtomicBool, Ordering as StdOrdering};

/// [`Heap::set_finalizer`](crate::Heap::set_finalizer) failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinalizerError {
    /// The object already has a finalizer (remove it first).
    AlreadySet,
}

impl core::fmt::Display for FinalizerError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FinalizerError::AlreadySet => f.write_str("object already has a finalizer"),
        }
    }
}

impl std::error::Error for FinalizerError {}

// ---------------------------------------------------------------------------
// Specials

/// A finalizer special: the object at byte `offset` of the span has
/// finalizer object `finalizer` (an address of this heap).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Special {
    pub(crate) offset: usize,
    pub(crate) finalizer: usize,
}

/// A span's specials.
#[derive(Debug)]
pub(crate) struct Specials {
    /// The records; guarded by their own lock, rank `Specials` (taken after
    /// `MHeap`/`MCentral`, before `Finq`).
    list: Mutex<Vec<Special>>,
    /// `!list.is_empty()`, written under the lock. A hint read without the
    /// lock by sweepers (a sweeper only needs the records of objects that
    /// are unmarked, which the mutator cannot touch, so a stale `false` for
    /// a record added concurrently to a live object is harmless) and by the
    /// stop-the-world marker (no writer runs then).
    any: StdAtomicBool,
}

impl Specials {
    pub(crate) fn new() -> Specials {
        Specials {
            list: Mutex::new(LockRank::Specials, Vec::new()),
            any: StdAtomicBool::new(false),
        }
    }

    #[inline]
    pub(crate) fn maybe_any(&self) -> bool {
        self.any.load(StdOrdering::Acquire)
    }

    /// Records held (takes the lock).
    pub(crate) fn len(&self) -> usize {
        self.list.lock().len()
    }
}

/// Object address to (span, byte offset), for an object the embedder holds
/// (so its span is in use and cannot be freed or reinitialized under us).
/// Reads only the page table and the span's diagnostic identity (atomics),
/// never its data, which a sweeper may own right now. Throws
/// `MARK_BAD_POINTER` unless `obj` is the start of a slot of an in-use span.
pub(crate) fn special_target<'h>(
    heap: &'h HeapShared,
    obj: ObjPtr,
    what: &str,
) -> (&'h MSpan, usize) {
    let addr = obj.as_ptr() as usize;
    let Some(span) = heap.mheap.span_of(addr) else {
        gc_throw!(
            MarkBadPointer,
            "{what}: {addr:#x} is not in any span of this heap"
        );
    };
    if span.state() != crate::mspan::MSpanState::InUse {
        gc_throw!(
            MarkBadPointer,
            span = span,
            "{what}: {addr:#x} points into a span that is not in use"
        );
    }
    let (start, npages, class) = span.diag();
    let (elemsize, nelems) = if class == 0 {
        (npages * PAGE_SIZE, 1)
    } else {
        let ci = class_info(class);
        (ci.size as usize, ci.nelems as usize)
    };
    let off = addr - start;
    if !off.is_multiple_of(elemsize) || off / elemsize >= nelems {
        gc_throw!(
            MarkBadPointer,
            span = span,
            "{what}: {addr:#x} is not the start of an object (offset {off}, elemsize {elemsize})"
        );
    }
    (span, off)
}

/// `addfinalizer`: record `finalizer` for the object at `offset` of `span`.
pub(crate) fn add_special(
    heap: &HeapShared,
    span: &MSpan,
    offset: usize,
    finalizer: ObjPtr,
) -> Result<(), FinalizerError> {
    let mut l = span.specials.list.lock();
    if l.iter().any(|s| s.offset == offset) {
        return Err(FinalizerError::AlreadySet);
    }
    l.push(Special {
        offset,
        finalizer: finalizer.as_ptr() as usize,
    });
    span.specials.any.store(true, StdOrdering::Release);
    heap.nspecials.fetch_add(1, StdOrdering::Relaxed);
    Ok(())
}

/// `removefinalizer`: whether there was a record for `offset`.
pub(crate) fn remove_special(heap: &HeapShared, span: &MSpan, offset: usize) -> bool {
    let mut l = span.specials.list.lock();
    let Some(i) = l.iter().position(|s| s.offset == offset) else {
        return false;
    };
    l.swap_remove(i);
    span.specials.any.store(!l.is_empty(), StdOrdering::Release);
    heap.nspecials.fetch_sub(1, StdOrdering::Relaxed);
    true
}

/// Mark phase (the stop-the-world marker, or the mark worker's first job):
/// append `(object, finalizer)` for every special of the first
/// `snapshot_len` spans to `out` (copied out so that no lock is held while
/// the embedder traces). Each span's list is read under its lock, so the
/// mutator may add and remove specials meanwhile (an object given a
/// finalizer during the mark is reachable, so marked, anyway).
pub(crate) fn collect_specials(
    heap: &HeapShared,
    snapshot_len: usize,
    out: &mut Vec<(usize, usize)>,
) {
    if heap.nspecials.load(StdOrdering::Acquire) == 0 {
        return;
    }
    for i in 0..snapshot_len {
        let s = heap.mheap.allspans.get(i);
        if !s.specials.maybe_any() || s.state() != crate::mspan::MSpanState::InUse {
            continue;
        }
        let start = s.diag().0;
        let l = s.specials.list.lock();
        out.extend(l.iter().map(|sp| (start + sp.offset, sp.finalizer)));
    }
}

/// Marks the finalizer specials `pairs` (from [`collect_specials`]) as
/// roots: each finalizer, and what each object reaches, through `trace` on
/// the object itself, which stays unmarked (or it would never be
/// finalized).
pub(crate) fn mark_special_pairs(
    pairs: &[(usize, usize)],
    m: &mut Marker<'_>,
    trace: &dyn Fn(ObjPtr, &mut Marker<'_>),
) {
    for &(obj, fin) in pairs {
        // Both are object addresses recorded by `set_finalizer`.
        let (Some(obj), Some(fin)) = (NonNull::new(obj as *mut u8), NonNull::new(fin as *mut u8))
        else {
            gc_throw!(MarkBadPointer, "a finalizer special holds a null pointer");
        };
        m.mark(fin);
        trace(obj, m);
    }
}

/// Sweep, before the bitmaps turn over: every special whose object is
/// unmarked is removed, the object is marked (it survives this cycle) and
/// the pair is queued on `finq` (which sets `fingwake`: `FINQ_WAKE`).
/// Returns how many were queued. The caller owns `d` (`sweepgen == sg-1`)
/// and holds no lock.
pub(crate) fn queue_unmarked(heap: &HeapShared, span: &MSpan, d: &mut SpanData) -> usize {
    let mut l = span.specials.list.lock();
    let mut queued = 0;
    l.retain(|sp| {
        let idx = d.obj_index(sp.offset);
        // SAFETY: the caller owns the span (sweepgen == sg-1), which is in
        // use; no marker runs during a sweep.
        if !unsafe { span.gcmark.set(idx, true) } {
            return true;
        }
        heap.finq.queue(
            heap,
            FinPair {
                obj: d.start + sp.offset,
                fin: sp.finalizer,
            },
        );
        queued += 1;
        false
    });
    span.specials.any.store(!l.is_empty(), StdOrdering::Release);
    if queued > 0 {
        heap.nspecials.fetch_sub(queued, StdOrdering::Relaxed);
    }
    queued
}

/// `SPECIALS_KEEP_ALIVE` at `MHeap::free_span` (heap lock held): a span
/// going back to the page heap has no specials.
pub(crate) fn check_no_specials(span: &MSpan) {
    let n = span.specials.len();
    if n != 0 {
        gc_throw!(
            SpecialsKeepAlive,
            span = span,
            "span freed while it holds {n} finalizer special(s): an object with a finalizer was freed"
        );
    }
}

// ---------------------------------------------------------------------------
// The finalizer queue

/// A queued (object, finalizer) pair, as addresses (so `HeapShared` stays
/// `Send + Sync`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FinPair {
    pub(crate) obj: usize,
    pub(crate) fin: usize,
}

impl FinPair {
    fn ptrs(self) -> (ObjPtr, ObjPtr) {
        // SAFETY: both were heap object addresses (never null) when queued.
        unsafe {
            (
                NonNull::new_unchecked(self.obj as *mut u8),
                NonNull::new_unchecked(self.fin as *mut u8),
            )
        }
    }
}

/// State under the finq lock.
#[derive(Debug, Default)]
struct FinqState {
    /// Pairs to run, oldest first. A root while queued.
    queue: VecDeque<FinPair>,
    /// The finalizer coroutine found the queue empty and parked.
    fingwait: bool,
    /// Something was queued since the coroutine was last readied.
    fingwake: bool,
}

/// `finq` with its lock (rank `Finq`) and the `fingwait`/`fingwake` flags.
#[derive(Debug)]
pub(crate) struct Finq {
    lock: Mutex<FinqState>,
    /// `fingwait && fingwake`, stored (release) in every critical section
    /// that changes either flag: the scheduler's lock-free fast path (Go's
    /// unlocked `fingwait && fingwake` test before `wakefing`). A stale
    /// `false` only delays the wake to a later pick; the scheduler checks
    /// at every pick, and once it has synchronized with the queuer (e.g.
    /// sweep termination waiting for sweepers) it reads the fresh value.
    wake_hint: AtomicBool,
}

impl Finq {
    pub(crate) fn new() -> Finq {
        Finq {
            lock: Mutex::new(LockRank::Finq, FinqState::default()),
            wake_hint: AtomicBool::new(false),
        }
    }

    /// `queuefinalizer`, by any sweeper: push and set `fingwake` under the
    /// lock (`FINQ_WAKE`: whoever queues wakes).
    pub(crate) fn queue(&self, heap: &HeapShared, pair: FinPair) {
        let mut q = self.lock.lock();
        q.queue.push_back(pair);
        if heap.mheap.seeds.queue_sets_fingwake() {
            q.fingwake = true;
            self.publish_hint(&q);
        }
        heap.stats
            .finalizers_queued
            .fetch_add(1, StdOrdering::Relaxed);
    }

    /// Seed 000's pre-fix wake-up (reached only through
    /// `SeedHooks::wake_finalizers_at_drain`): the background sweeper,
    /// having drained the snapshot, wakes the coroutine if something is
    /// queued *now* (`bgsweep` -> `wakefing`). Finalizers queued later by
    /// lazy sweeping are never announced.
    pub(crate) fn seed_bg_sweep_done(&self) {
        let mut q = self.lock.lock();
        if !q.queue.is_empty() {
            q.fingwake = true;
            self.publish_hint(&q);
        }
    }

    fn publish_hint(&self, q: &FinqState) {
        self.wake_hint
            .store(q.fingwait && q.fingwake, Ordering::Release);
    }

    /// Mark phase: every queued pair is a root.
    pub(crate) fn mark_roots(&self, m: &mut Marker<'_>) {
        let q = self.lock.lock();
        for p in &q.queue {
            let (obj, fin) = p.ptrs();
            m.mark(obj);
            m.mark(fin);
        }
    }

    pub(crate) fn peek(&self) -> Option<(ObjPtr, ObjPtr)> {
        self.lock.lock().queue.front().map(|p| p.ptrs())
    }

    pub(crate) fn pop(&self) -> Option<(ObjPtr, ObjPtr)> {
        self.lock.lock().queue.pop_front().map(|p| p.ptrs())
    }

    pub(crate) fn len(&self) -> usize {
        self.lock.lock().queue.len()
    }

    /// The coroutine's half: park iff the queue is empty.
    pub(crate) fn park(&self, verify: bool) -> bool {
        let mut q = self.lock.lock();
        if verify {
            check_wake(&q);
        }
        if q.queue.is_empty() {
            q.fingwait = true;
            self.publish_hint(&q);
            true
        } else {
            false
        }
    }

    /// The scheduler's half (Go's `wakefing`): ready the coroutine iff it
    /// parked and something was queued since; clears both flags.
    pub(crate) fn should_wake(&self, verify: bool) -> bool {
        if !verify && !self.wake_hint.load(Ordering::Acquire) {
            return false;
        }
        let mut q = self.lock.lock();
        if verify {
            check_wake(&q);
        }
        if q.fingwait && q.fingwake {
            q.fingwait = false;
            q.fingwake = false;
            self.publish_hint(&q);
            true
        } else {
            false
        }
    }
}

/// `FINQ_WAKE`: with the coroutine parked and something queued, `fingwake`
/// must be set, or nothing will ever ready the coroutine.
fn check_wake(q: &FinqState) {
    if q.fingwait && !q.queue.is_empty() && !q.fingwake {
        gc_throw!(
            FinqWake,
            "{} finalizer(s) queued while the finalizer coroutine is parked, but fingwake is not set: it would never be woken",
            q.queue.len()
        );
    }
}
