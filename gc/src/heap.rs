//! The heap value the mutator owns ([`Heap`]), the state it shares with
//! the background sweeper ([`HeapShared`]), and the mutator's API beside
//! allocation (`malloc.rs`) and collection (`mgc.rs`): statistics, pacing,
//! configuration, tracing and finalizer registration.

use crate::bgsweep::BgSweeper;
use crate::finalizer::{self, FinalizerError, Finq};
use crate::mark::MarkView;
use crate::mcache::MCache;
use crate::mgcmark::{Barrier, MarkWorker, PhaseWord, Tracer as MarkTracer, WorkQueue};
use crate::mheap::{self, MHeap};
use crate::pacer::{self, Pacer};
use crate::pausehist::PauseHist;
use crate::profile::{self, HeapProfile};
use crate::sweep::{SweepState, Sweeper};
use crate::sync::Arc;
use crate::trace;
use crate::tracer::{SharedTrace, TraceClock, TraceEvent, TraceTime, TraceTrack, Tracer};
use crate::{GcConfig, GcStats, ObjPtr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{
    AtomicU64 as StdAtomicU64, AtomicUsize as StdAtomicUsize, Ordering as StdOrdering,
};
use std::time::Instant;

/// Counters written by every sweeper. Statistics only (never used to order
/// memory), so plain `std` atomics even under loom.
#[derive(Debug, Default)]
pub(crate) struct SharedStats {
    pub(crate) freed_bytes: StdAtomicU64,
    pub(crate) freed_objects: StdAtomicU64,
    pub(crate) swept_bg: StdAtomicU64,
    pub(crate) swept_lazy: StdAtomicU64,
    pub(crate) pages_swept: StdAtomicU64,
    pub(crate) finalizers_queued: StdAtomicU64,
}

impl SharedStats {
    pub(crate) fn note_freed(&self, objects: u64, bytes: u64) {
        self.freed_objects.fetch_add(objects, StdOrdering::Relaxed);
        self.freed_bytes.fetch_add(bytes, StdOrdering::Relaxed);
    }
    pub(crate) fn note_swept(&self, who: Sweeper) {
        match who {
            Sweeper::Background => &self.swept_bg,
            Sweeper::Lazy => &self.swept_lazy,
        }
        .fetch_add(1, StdOrdering::Relaxed);
    }
    pub(crate) fn note_pages_swept(&self, pages: u64) {
        self.pages_swept.fetch_add(pages, StdOrdering::Relaxed);
    }
}

/// Everything the background sweeper shares with the mutator.
pub(crate) struct HeapShared {
    pub(crate) mheap: MHeap,
    pub(crate) sweep: SweepState,
    pub(crate) stats: SharedStats,
    pub(crate) poison: bool,
    pub(crate) verify: bool,
    /// The background sweeper's trace buffer (`GcConfig::trace_file`).
    pub(crate) trace: Option<SharedTrace>,
    /// The finalizer queue (`finalizer.rs`, `FINQ_WAKE`).
    pub(crate) finq: Finq,
    /// Finalizer specials in all spans; marking skips the span walk when 0.
    /// Changed by the mutator and by sweepers; read by the STW marker after
    /// sweep termination has waited for every sweeper.
    pub(crate) nspecials: StdAtomicUsize,
    /// A background sweeper runs (`GcConfig::concurrent_sweep`): while it
    /// has not drained the snapshot, `cache_span` sweeps only a few spans
    /// lazily before taking fresh pages.
    pub(crate) concurrent_sweep: bool,
    /// Go's `gcphase` (`mgcmark.rs`).
    pub(crate) phase: PhaseWord,
    /// The grey queue and the mark worker's jobs.
    pub(crate) work: WorkQueue,
    /// The number of the cycle being (or last) marked: `num_gc + 1` from
    /// its start. Written by the mutator at mark start, before the phase.
    pub(crate) cycle: crate::sync::AtomicU64,
}

impl HeapShared {
    pub(crate) fn new(reserve: usize, poison: bool, verify: bool) -> HeapShared {
        HeapShared {
            mheap: MHeap::new(reserve),
            sweep: SweepState::new(),
            stats: SharedStats::default(),
            poison,
            verify,
            trace: None,
            finq: Finq::new(),
            nspecials: StdAtomicUsize::new(0),
            concurrent_sweep: false,
            phase: PhaseWord::new(),
            work: WorkQueue::new(),
            cycle: crate::sync::AtomicU64::new(0),
        }
    }
}

/// The heap. Owned by the single mutator thread; `Send`, so it may be moved
/// to another thread before use.
pub struct Heap {
    pub(crate) shared: Arc<HeapShared>,
    pub(crate) mcache: MCache,
    pub(crate) config: GcConfig,
    /// Cumulative bytes / objects allocated by the mutator (plain fields:
    /// only the mutator allocates). `heap_alloc` subtracts the sweepers'
    /// `freed_*` counters.
    pub(crate) alloc_bytes: u64,
    pub(crate) alloc_objects: u64,
    pub(crate) pacer: Pacer,
    pub(crate) num_gc: u64,
    pub(crate) pause_total_ns: u64,
    pub(crate) max_pause_ns: u64,
    pub(crate) pauses: PauseHist,
    pub(crate) gray: Vec<ObjPtr>,
    pub(crate) bg: Option<BgSweeper>,
    pub(crate) start: Instant,
    /// Background / lazy swept-span counters at the last cycle's line.
    pub(crate) traced_bg: u64,
    pub(crate) traced_lazy: u64,
    /// The last cycle's gctrace figures (kept even without `--gc-trace`,
    /// for [`Heap::last_gctrace`]).
    pub(crate) last_line: Option<trace::TraceLine>,
    /// Trace-event recorder (`GcConfig::trace_file`); `None` when off or
    /// once written.
    pub(crate) tracer: Option<Tracer>,
    /// Finalizer specials copied out for marking (reused across cycles).
    pub(crate) fin_scratch: Vec<(usize, usize)>,
    /// Pairs removed by `pop_finalizer` (only the mutator pops).
    pub(crate) finalizers_taken: u64,
    /// `finalizers_queued` at the last gctrace line.
    pub(crate) traced_fin: u64,
    /// The embedder's tracer for concurrent marking (`set_tracer`); with
    /// it and `GcConfig::concurrent_mark`, the mark worker runs.
    pub(crate) mark_tracer: Option<std::sync::Arc<dyn MarkTracer>>,
    pub(crate) worker: Option<MarkWorker>,
    /// `barrier()` was called (there is one barrier per heap).
    pub(crate) barrier_made: bool,
    /// A cycle marks concurrently (mirror of `phase == Mark`, for the
    /// allocator's black allocation), and its bookkeeping.
    pub(crate) marking: bool,
    pub(crate) cycle_state: Option<crate::mgc::CycleState>,
    /// The mutator calls `poll` when `alloc_bytes` reaches this.
    pub(crate) next_poll: u64,
    /// Cumulative time in assists and in each stop-the-world phase.
    pub(crate) mark_assist_ns: u64,
    pub(crate) stw_sweep_term_ns: u64,
    pub(crate) stw_mark_term_ns: u64,
}

impl Heap {
    /// A new, empty heap (reserves address space; commits memory lazily).
    pub fn new(config: GcConfig) -> Heap {
        Self::with_reserve(config, mheap::DEFAULT_RESERVE)
    }

    pub(crate) fn with_reserve(config: GcConfig, reserve: usize) -> Heap {
        let mut hs = HeapShared::new(reserve, config.poison, config.verify);
        let clock = TraceClock::new();
        let tracer = (config.trace_file.is_some() || config.record.is_some())
            .then(|| Tracer::new(config.trace_file.clone(), config.record.clone(), clock));
        if tracer.is_some() {
            hs.trace = Some(SharedTrace::new(clock));
        }
        hs.concurrent_sweep = config.concurrent_sweep;
        let shared = Arc::new(hs);
        let bg = config
            .concurrent_sweep
            .then(|| BgSweeper::start(shared.clone()));
        Heap {
            pacer: Pacer::new(config.gc_percent, config.min_trigger as u64),
            shared,
            mcache: MCache::new(),
            config,
            alloc_bytes: 0,
            alloc_objects: 0,
            num_gc: 0,
            pause_total_ns: 0,
            max_pause_ns: 0,
            pauses: PauseHist::new(),
            gray: Vec::new(),
            bg,
            start: Instant::now(),
            traced_bg: 0,
            traced_lazy: 0,
            last_line: None,
            tracer,
            fin_scratch: Vec::new(),
            finalizers_taken: 0,
            traced_fin: 0,
            mark_tracer: None,
            worker: None,
            barrier_made: false,
            marking: false,
            cycle_state: None,
            next_poll: 0,
            mark_assist_ns: 0,
            stw_sweep_term_ns: 0,
            stw_mark_term_ns: 0,
        }
        .with_poll()
    }

    fn with_poll(mut self) -> Heap {
        self.set_next_poll();
        self
    }

    /// The embedder's tracer: from now on, with
    /// `GcConfig::concurrent_mark`, cycles mark concurrently on the mark
    /// worker thread (started here) and the embedder drives them
    /// (`start_mark`, `mark_assist`, `finish_mark`). Call once, before the
    /// first cycle.
    pub fn set_tracer(&mut self, tracer: std::sync::Arc<dyn MarkTracer>) {
        if self.config.concurrent_mark && self.worker.is_none() {
            self.worker = Some(MarkWorker::start(self.shared.clone(), tracer.clone()));
            self.pacer.set_trigger(true);
            self.set_next_poll();
        }
        self.mark_tracer = Some(tracer);
    }

    /// Cycles mark concurrently (a tracer is set and
    /// `GcConfig::concurrent_mark`).
    #[inline]
    pub fn concurrent_mark(&self) -> bool {
        self.worker.is_some()
    }

    /// The heap's write barrier, for the embedder's one store path. There
    /// is one per heap: a second call throws `MARK_PHASE`.
    pub fn barrier(&mut self) -> Barrier {
        if self.barrier_made {
            gc_throw!(MarkPhase, "a second write barrier for one heap");
        }
        self.barrier_made = true;
        Barrier::new(self.shared.clone())
    }
    /// Whether an automatic cycle is due: `heap_live` reached the trigger
    /// (the goal itself when marking stops the world; earlier for a
    /// concurrent mark, so that it ends by the goal), or always in stress
    /// mode. False while a cycle marks.
    #[inline]
    pub fn should_collect(&self) -> bool {
        !self.marking
            && (self.config.stress
                || (self.config.gc_percent >= 0
                    && self.pacer.heap_live(self.alloc_bytes) >= self.pacer.trigger))
    }

    /// Whether the mutator should call into the collector at this
    /// safepoint: one comparison on the allocation path. True when a cycle
    /// may be due, and every `ASSIST_CHUNK` bytes while one marks.
    #[inline(always)]
    pub fn poll_due(&self) -> bool {
        self.alloc_bytes >= self.next_poll
    }

    /// When the mutator polls next (after any change of phase or pacing;
    /// the embedder calls it after a poll that found nothing to do).
    pub fn set_next_poll(&mut self) {
        self.next_poll = if self.config.stress {
            0
        } else if self.marking {
            self.alloc_bytes + crate::mgc::ASSIST_CHUNK
        } else if self.config.gc_percent < 0 {
            u64::MAX
        } else {
            // heap_live = last_live + alloc_bytes - alloc_at_mark reaches
            // the trigger at this alloc_bytes.
            (self.pacer.trigger.saturating_sub(self.pacer.last_live))
                .saturating_add(self.pacer.alloc_at_mark)
        };
    }

    /// A cycle is marking concurrently (between `start_mark` and
    /// `finish_mark`).
    #[inline]
    pub fn is_marking(&self) -> bool {
        self.marking
    }

    /// While a cycle marks concurrently, whether `obj` (an allocated
    /// object) is marked yet; `None` when no cycle marks. Marks only grow
    /// during a mark, and nothing is swept while one runs
    /// (SWEEP_BEFORE_MARK), so `Some(true)` holds until this cycle's mark
    /// termination; `Some(false)` may still turn true. Lets the embedder
    /// settle weak references before the world stops (the vm's intern set).
    pub fn marked_so_far(&self, obj: ObjPtr) -> Option<bool> {
        self.marking.then(|| {
            MarkView {
                heap: &self.shared.mheap,
                verify: false,
            }
            .is_marked(obj)
        })
    }

    /// The number of the cycle being marked (or the next one): what
    /// stack claims are made for (`stackscan`).
    #[inline]
    pub fn mark_cycle(&self) -> u64 {
        self.num_gc + 1
    }

    /// Tests only: while held, the mark worker takes no job, so a test
    /// decides when marking progresses (assists, `mark_drain`, mark
    /// termination still mark). Not a switch a user can reach.
    #[cfg(any(test, feature = "seed-bugs"))]
    pub fn hold_mark_worker(&self, held: bool) {
        self.shared.work.hold(held);
    }

    /// Bytes in allocated objects now (what `--max-heap` limits).
    pub fn heap_alloc(&self) -> u64 {
        self.alloc_bytes - self.shared.stats.freed_bytes.load(StdOrdering::Relaxed)
    }

    pub(crate) fn heap_objects(&self) -> u64 {
        self.alloc_objects - self.shared.stats.freed_objects.load(StdOrdering::Relaxed)
    }

    /// Current statistics.
    pub fn stats(&self) -> GcStats {
        let s = &self.shared.stats;
        GcStats {
            num_gc: self.num_gc,
            heap_alloc: self.heap_alloc(),
            heap_objects: self.heap_objects(),
            heap_sys: self.shared.mheap.sys_bytes.load(StdOrdering::Relaxed),
            next_gc: self.pacer.next_gc,
            pause_total_ns: self.pause_total_ns,
            max_pause_ns: self.max_pause_ns,
            pause_p50_ns: self.pauses.quantile(0.50),
            pause_p99_ns: self.pauses.quantile(0.99),
            swept_background: s.swept_bg.load(StdOrdering::Relaxed),
            swept_lazy: s.swept_lazy.load(StdOrdering::Relaxed),
            last_live: self.pacer.last_live,
            finalizers_queued: s.finalizers_queued.load(StdOrdering::Relaxed),
            finalizers_taken: self.finalizers_taken,
            mark_assist_ns: self.mark_assist_ns,
            mark_worker_ns: self
                .shared
                .work
                .worker_ns
                .load(crate::sync::Ordering::Relaxed),
            stw_sweep_term_ns: self.stw_sweep_term_ns,
            stw_mark_term_ns: self.stw_mark_term_ns,
        }
    }

    /// Set GOGC; returns the previous value. The goal is recomputed from the
    /// last live heap.
    pub fn set_gc_percent(&mut self, percent: i64) -> i64 {
        let prev = self.config.gc_percent;
        self.config.gc_percent = percent;
        self.pacer.next_gc = pacer::goal(
            self.pacer.last_live,
            percent,
            self.config.min_trigger as u64,
        );
        self.pacer.set_trigger(self.concurrent_mark());
        self.set_next_poll();
        prev
    }

    /// The configuration in force.
    pub fn config(&self) -> &GcConfig {
        &self.config
    }

    /// The last cycle's gctrace line (the format of `--gc-trace`, see
    /// `trace.rs`), whether or not `--gc-trace` is on; `None` before the
    /// first cycle.
    pub fn last_gctrace(&self) -> Option<String> {
        self.last_line.as_ref().map(trace::TraceLine::format)
    }

    /// The most recent stop-the-world pauses in nanoseconds, oldest first:
    /// the last `min(num_gc, 256)` (Go's `MemStats.PauseNs`).
    pub fn recent_pauses_ns(&self) -> Vec<u64> {
        self.pauses.recent()
    }

    /// Per size class: in-use spans, pages, objects in the swept spans and
    /// the spans in each sweepgen state. Read-only; safe while the
    /// background sweeper runs (it walks the span list under the heap lock
    /// and reads span data only where the mutator may: see `profile.rs`).
    pub fn heap_profile(&self) -> HeapProfile {
        profile::heap_profile(&self.shared, &self.mcache)
    }

    // ------------------------------------------------------------ tracing

    /// Whether trace events are being recorded (`GcConfig::trace_file`, and
    /// [`finish_trace`](Self::finish_trace) not called yet).
    #[inline]
    pub fn is_tracing(&self) -> bool {
        self.tracer.is_some()
    }

    /// Now, on the trace clock (`TraceTime(0)` when not tracing). Embedders
    /// take a start time here and record a slice when it ends.
    #[inline]
    pub fn trace_now(&self) -> TraceTime {
        self.tracer.as_ref().map_or(TraceTime(0), |t| t.clock.now())
    }

    /// Records an embedder event; a no-op when not tracing. For the VM: a
    /// run slice per coroutine, e.g.
    /// `TraceEvent::slice(TraceTrack::Mutator, "run co 3", start, heap.trace_now())`
    /// when a coroutine yields (slices on one track must nest or be
    /// disjoint, and the collector's own slices on the mutator track lie
    /// inside whatever the mutator was running), or events on an
    /// `Embedder(n)` track named once with [`TraceEvent::track_name`].
    /// `TraceTrack::BgSweeper` and `TraceTrack::MarkWorker` are the
    /// collector's; events for them are dropped.
    pub fn trace_event(&mut self, event: TraceEvent) {
        if matches!(event.track, TraceTrack::BgSweeper | TraceTrack::MarkWorker) {
            return;
        }
        if let Some(t) = self.tracer.as_mut() {
            t.push(event);
        }
    }

    /// Writes the trace file now and stops recording; returns its path
    /// (`Ok(None)` when not tracing, already written, or recording only for
    /// [`GcConfig::record`]). Hands the recorder its [`GcRecording`]. The
    /// binary calls it before exit; otherwise dropping the heap does it
    /// (errors then go to stderr).
    ///
    /// [`GcRecording`]: crate::GcRecording
    pub fn finish_trace(&mut self) -> std::io::Result<Option<PathBuf>> {
        let Some(mut t) = self.tracer.take() else {
            return Ok(None);
        };
        t.heap_counter(t.clock.now(), self.heap_alloc(), self.pacer.next_gc);
        t.finish(self.shared.trace.as_ref())
    }

    // --------------------------------------------------------- finalizers

    /// Registers `finalizer` (an object the collector then keeps alive and
    /// marks) for `obj` (the start of a live object). A special record
    /// (object offset, finalizer) goes on obj's span under the span's
    /// specials lock (rank `Specials`). When `obj` becomes unreachable, a
    /// sweep removes the record, keeps `obj` (and what it reaches) alive and
    /// queues `(obj, finalizer)` (see [`pop_finalizer`](Self::pop_finalizer)).
    /// Throws `MARK_BAD_POINTER` if either pointer is not the start of an
    /// object of an in-use span. As in Go, a finalizer that reaches `obj`
    /// (say, a closure capturing it) keeps `obj` alive for good: it is then
    /// never finalized.
    pub fn set_finalizer(&mut self, obj: ObjPtr, finalizer: ObjPtr) -> Result<(), FinalizerError> {
        let _ = finalizer::special_target(&self.shared, finalizer, "set_finalizer (finalizer)");
        let (span, off) = finalizer::special_target(&self.shared, obj, "set_finalizer");
        finalizer::add_special(&self.shared, span, off, finalizer)
    }

    /// Removes obj's finalizer special; returns whether there was one.
    pub fn remove_finalizer(&mut self, obj: ObjPtr) -> bool {
        let (span, off) = finalizer::special_target(&self.shared, obj, "remove_finalizer");
        finalizer::remove_special(&self.shared, span, off)
    }

    /// The oldest queued (object, finalizer) pair without removing it (it
    /// stays a root while queued).
    pub fn peek_finalizer(&self) -> Option<(ObjPtr, ObjPtr)> {
        self.shared.finq.peek()
    }

    /// Removes the oldest queued pair (after the embedder has rooted it:
    /// from here on only the embedder's roots keep it alive); counts it in
    /// [`GcStats::finalizers_taken`].
    pub fn pop_finalizer(&mut self) -> Option<(ObjPtr, ObjPtr)> {
        let p = self.shared.finq.pop();
        if p.is_some() {
            self.finalizers_taken += 1;
        }
        p
    }

    /// Queued pairs not yet popped.
    pub fn finalizers_pending(&self) -> usize {
        self.shared.finq.len()
    }

    /// `FINQ_WAKE`, the finalizer coroutine's half: under the finq lock, if
    /// the queue is empty set `fingwait` and return true (the coroutine
    /// parks); else false (it should pop and run the next one).
    pub fn fin_park(&self) -> bool {
        self.shared.finq.park(self.config.verify)
    }

    /// `FINQ_WAKE`, the scheduler's half, called every time it picks the
    /// next coroutine: under the finq lock, if `fingwait && fingwake`, clear
    /// both and return true (ready the finalizer coroutine). `fingwake` is
    /// set by whoever queues a finalizer (any sweeper), never by "the
    /// background sweeper finished" (seed 000). Lock-free (one acquire
    /// load) when there is nothing to do. Verify mode always takes the lock
    /// and checks the invariant (parked with a non-empty queue implies
    /// `fingwake`).
    pub fn fin_should_wake(&self) -> bool {
        self.shared.finq.should_wake(self.config.verify)
    }

    /// Re-introduce a historical race in this heap (tests only).
    #[cfg(any(test, loom, feature = "seed-bugs"))]
    pub fn set_seed_bug(&mut self, bug: crate::SeedBug, race_window_us: u32) {
        self.shared.mheap.set_seed(bug, race_window_us);
    }
}

impl Drop for Heap {
    fn drop(&mut self) {
        // Join the mark worker and the sweeper before the shared heap (and
        // its memory) goes. A cycle still marking just stops: the worker
        // finishes the job in hand (it reads objects the heap still holds).
        if let Some(mut w) = self.worker.take() {
            w.shutdown();
        }
        if let Some(mut bg) = self.bg.take() {
            bg.shutdown();
        }
        if let Some(path) = self.tracer.as_ref().map(|t| t.path().map(Path::to_owned)) {
            if let Err(e) = self.finish_trace() {
                let path = path.unwrap_or_default();
                eprintln!("gc: cannot write trace {}: {e}", path.display());
            }
        }
    }
}
