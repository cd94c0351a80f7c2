//! Hooks for the loom models in `tests/loom_sweep.rs`, `tests/loom_finq.rs`
//! and `tests/loom_mark.rs` (`cfg(loom)` only): drive the real sweep
//! machinery (`HeapShared`, `MHeap`, `MCentral`, `sweep_one`,
//! `finish_sweep`, the verify checks) and the real concurrent mark (the
//! grey `WorkQueue`, the mark worker's loop, `Barrier`, the mutator's
//! `help` and mark termination) one cycle step at a time, from loom
//! threads. Not an API.
#![allow(unsafe_code)]

use crate::mgcmark::{self, Barrier, Tracer};
use crate::mspan::{MSpanState, SpanPtr};
use crate::seed::SeedBug;
use crate::sizeclasses::class_info;
use crate::sweep::{self, Sweeper};
use crate::sync::Arc;
use crate::{finalizer, verify, HeapShared, ObjPtr};
use core::ptr::NonNull;

/// A heap without a mutator `Heap` around it.
#[derive(Clone)]
pub struct Model {
    shared: Arc<HeapShared>,
}

/// A span created by the model.
#[derive(Clone, Copy, Debug)]
pub struct SpanRef(SpanPtr);

// SAFETY: span structs live as long as the heap (Model keeps it alive);
// the model's accessors follow the span ownership table.
unsafe impl Send for SpanRef {}
// SAFETY: as for `Send`: a `SpanRef` is only an address; what it points to
// is reached through the model's accessors.
unsafe impl Sync for SpanRef {}

impl Default for Model {
    fn default() -> Self {
        Self::new()
    }
}

impl Model {
    /// A verify-mode heap with a small (64 MiB) arena.
    pub fn new() -> Model {
        Self::with_verify(true)
    }

    /// A heap with a small (64 MiB) arena, in verify mode or not.
    pub fn with_verify(verify: bool) -> Model {
        Model {
            shared: Arc::new(HeapShared::new(64 << 20, false, verify)),
        }
    }

    pub fn set_seed_bug(&self, bug: SeedBug) {
        self.shared.mheap.set_seed(bug, 0);
    }

    /// The heap's sweepgen.
    pub fn sg(&self) -> u32 {
        self.shared.sweep.sg()
    }

    /// A span of `class` with its first `nobjs` slots allocated, handed to
    /// its mcentral as the mutator's mcache would leave it.
    pub fn small_span(&self, class: usize, nobjs: usize) -> SpanRef {
        let sg = self.sg();
        let npages = class_info(class).npages as usize;
        let s = self
            .shared
            .mheap
            .alloc_span(npages, class, sg)
            .expect("model arena");
        // SAFETY: fresh span on no list: the allocating mutator owns it.
        unsafe {
            s.as_ref().with_data(|d| {
                for _ in 0..nobjs {
                    d.next_free_index().expect("room");
                }
            })
        };
        self.shared.mheap.central[class].uncache_span(s, sg);
        SpanRef(s)
    }

    /// A large span of `npages` (its object allocated), as `alloc_large`
    /// leaves it, then written by its new owner.
    pub fn large_span(&self, npages: usize) -> SpanRef {
        let s = self
            .shared
            .mheap
            .alloc_span(npages, 0, self.sg())
            .expect("model arena");
        // SAFETY: fresh large span at sg on no list: the allocating mutator
        // owns its data until the next cycle's sweeper claims it.
        unsafe {
            s.as_ref().with_data(|d| {
                assert_eq!((d.freeindex, d.alloc_count, d.nelems), (1, 1, 1));
                d.alloc_bits[0] = 0;
            })
        };
        SpanRef(s)
    }

    /// Mark slot `idx` of `s` (stop-the-world marking).
    pub fn mark(&self, s: SpanRef, idx: usize) {
        // SAFETY: called only between sweep termination and mark
        // termination with no sweeper holding a span (the models' setup).
        unsafe {
            s.0.as_ref().gcmark.set(idx, true);
        }
    }

    /// Cycle steps 2 and 4: snapshot the span list, `sg += 2`, new cursor.
    pub fn mark_termination(&self) -> u32 {
        let len = {
            let _h = self.shared.mheap.lock.lock();
            self.shared.mheap.allspans.len()
        };
        self.shared.sweep.start_cycle(len)
    }

    /// One step of the background sweeper; false once drained.
    pub fn sweep_one_background(&self) -> bool {
        sweep::sweep_one(&self.shared, Sweeper::Background).is_some()
    }

    /// Cycle step 1 as `Heap::collect` runs it: finish the sweep, wait for
    /// in-flight sweepers, check `SWEEP_BEFORE_MARK` (verify mode).
    pub fn sweep_termination(&self) {
        sweep::finish_sweep(&self.shared);
        verify::check_sweep_before_mark(&self.shared, self.shared.mheap.allspans.len(), true);
    }

    /// The span's sweepgen.
    pub fn sweepgen(&self, s: SpanRef) -> u32 {
        // SAFETY: span structs live as long as the heap.
        unsafe { s.0.as_ref() }.sweepgen.load()
    }

    /// Whether the span struct is in use.
    pub fn in_use(&self, s: SpanRef) -> bool {
        // SAFETY: span structs live as long as the heap.
        unsafe { s.0.as_ref() }.state() == MSpanState::InUse
    }

    /// Same span struct?
    pub fn same(&self, a: SpanRef, b: SpanRef) -> bool {
        a.0 == b.0
    }

    /// Spans recorded in `allspans`.
    pub fn nspans(&self) -> usize {
        self.shared.mheap.allspans.len()
    }

    /// (freeindex, alloc_count, first alloc-bits word, first mark word) of
    /// a span nobody else can touch (call after joining the sweepers).
    pub fn span_bits(&self, s: SpanRef) -> (usize, usize, u64, u64) {
        // SAFETY: the caller has joined every other thread.
        unsafe {
            let s = s.0.as_ref();
            let mark = s.gcmark.word(0);
            s.with_data(|d| (d.freeindex, d.alloc_count, d.alloc_bits[0], mark))
        }
    }

    // ----------------------------------------------------------- finalizers

    /// A span of `class` with two objects: slot 0 has a finalizer special
    /// whose finalizer is slot 1; only slot 1 is marked (slot 0 is
    /// unreachable). Call before `mark_termination`.
    pub fn finalizable_span(&self, class: usize) -> SpanRef {
        let s = self.small_span(class, 2);
        // SAFETY: span structs live as long as the heap; setup runs before
        // any other thread exists.
        let span = unsafe { s.0.as_ref() };
        let start = span.diag().0;
        let elemsize = class_info(class).size as usize;
        let fin = NonNull::new((start + elemsize) as *mut u8).expect("heap address");
        finalizer::add_special(&self.shared, span, 0, fin).expect("first finalizer");
        self.mark(s, 1);
        s
    }

    /// One lazy sweep step (the allocator's); false once drained.
    pub fn sweep_one_lazy(&self) -> bool {
        sweep::sweep_one(&self.shared, Sweeper::Lazy).is_some()
    }

    /// What the background sweeper does when it has drained the snapshot.
    pub fn bg_drained(&self) {
        crate::bgsweep::on_drained(&self.shared);
    }

    /// `Heap::fin_park`.
    pub fn fin_park(&self) -> bool {
        self.shared.finq.park(self.shared.verify)
    }

    /// `Heap::fin_should_wake`.
    pub fn fin_should_wake(&self) -> bool {
        self.shared.finq.should_wake(self.shared.verify)
    }

    /// `Heap::pop_finalizer`, as addresses.
    pub fn pop_finalizer(&self) -> Option<(usize, usize)> {
        self.shared
            .finq
            .pop()
            .map(|(o, f)| (o.as_ptr() as usize, f.as_ptr() as usize))
    }

    /// Queued pairs.
    pub fn finq_len(&self) -> usize {
        self.shared.finq.len()
    }

    // ------------------------------------------------------ concurrent mark

    /// The address of slot `idx` of `s`.
    pub fn object(&self, s: SpanRef, idx: usize) -> ObjPtr {
        // SAFETY: span structs live as long as the heap.
        let (start, _, class) = unsafe { s.0.as_ref() }.diag();
        let elemsize = class_info(class).size as usize;
        NonNull::new((start + idx * elemsize) as *mut u8).expect("heap address")
    }

    /// The mutator's write barrier over this heap.
    pub fn barrier(&self) -> Barrier {
        Barrier::new(self.shared.clone())
    }

    /// `Heap::start_mark` without the sweep termination: cycle 1 begins,
    /// `roots` are marked into the barrier's buffer (as the stop-the-world
    /// start marks globals and the running stack), the phase becomes
    /// `Mark` and the buffer goes to the queue.
    pub fn start_concurrent_mark(&self, barrier: &mut Barrier, roots: &[ObjPtr]) {
        self.shared.cycle.store(1, crate::sync::Ordering::Release);
        barrier.with_marker(|m| {
            for &r in roots {
                m.mark(r);
            }
        });
        barrier.set_marking(true);
        self.shared.work.start_cycle(&self.shared, 0, Vec::new());
        barrier.flush_quietly();
        self.shared.work.wake_worker();
    }

    /// The mark worker thread's loop (`mgcmark::worker`), until
    /// [`stop_mark_worker`](Self::stop_mark_worker).
    pub fn run_mark_worker(&self, tracer: &dyn Tracer) {
        mgcmark::worker(&self.shared, tracer);
    }

    /// Tells the worker's loop to return.
    pub fn stop_mark_worker(&self) {
        self.shared.work.shutdown();
    }

    /// Mark termination as `Heap::mark_drain` + `finish_mark` run it: flush
    /// the barrier, trace until marking is done (waiting for a busy
    /// worker), end the phase under the queue lock.
    pub fn finish_concurrent_mark(&self, barrier: &mut Barrier, tracer: &dyn Tracer) {
        barrier.flush();
        let mut gray = Vec::new();
        loop {
            mgcmark::help(&self.shared, &mut gray, tracer, u64::MAX, true);
            if self.shared.work.try_end(&self.shared) {
                break;
            }
        }
        barrier.set_marking(false);
    }

    /// The broken mark termination (the seed of `loom_mark_termination_*`):
    /// drain what the queue holds, then end the phase as soon as the queue
    /// is empty, without waiting for a marker that holds a job.
    pub fn finish_concurrent_mark_queue_only(&self, barrier: &mut Barrier, tracer: &dyn Tracer) {
        barrier.flush();
        let mut gray = Vec::new();
        loop {
            mgcmark::help(&self.shared, &mut gray, tracer, u64::MAX, false);
            if self.shared.work.seed_end_if_queue_empty(&self.shared) {
                break;
            }
        }
        barrier.set_marking(false);
    }

    /// Whether slot `idx` of `s` is marked (an atomic load of its mark
    /// word: safe while markers run).
    pub fn is_marked(&self, s: SpanRef, idx: usize) -> bool {
        // SAFETY: span structs live as long as the heap; the span is in
        // use and nobody sweeps during the model's mark.
        unsafe { s.0.as_ref().gcmark.get(idx) }
    }

    /// Whether a cycle is marking (`Phase::Mark`).
    pub fn marking(&self) -> bool {
        self.shared.phase.get() == mgcmark::Phase::Mark
    }
}
