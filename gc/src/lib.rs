//! `gc`: loam's heap. Pages, spans, size classes, allocation, mark bits,
//! stop-the-world marking, concurrent sweeping with a background sweeper
//! thread, pacing, statistics, gctrace and verify/poison debug modes, all
//! modelled on the Go runtime and named after it (see DESIGN.md "The
//! heap"). Objects are untyped blocks: the embedder (the VM) supplies roots
//! and tracing through [`Embedder`] (an **API Boundary**), and this crate
//! knows nothing about Lox values (an **Architecture Invariant**).
//!
//! # A collection cycle ([`Heap::collect`])
//!
//! 1. **Sweep termination.** Flush the mcache into the mcentrals; the
//!    mutator sweeps what is left of the previous cycle's snapshot, then
//!    waits until no sweeper is inside a span (`SweepState::active`, raised
//!    before a claim and lowered after the publish). Marking never starts
//!    while any span is being swept: checked at mark start
//!    (`SweepState::holding == 0`, and in verify mode every span at `sg`).
//! 2. **Snapshot the span list** (its length, under the heap lock). Spans
//!    created later are swept by construction and not garbage this cycle.
//! 3. **Mark**, stop-the-world: `Embedder::mark_roots`; the finalizer
//!    roots (every queued `finq` pair; for every finalizer special, its
//!    finalizer and, through `Embedder::trace` on the *unmarked* object,
//!    what the object reaches); then drain the gray stack calling
//!    `Embedder::trace` once per newly marked object; then
//!    `Embedder::sweep_weak` with the final mark bits.
//! 4. **Mark termination.** `sweepgen += 2` (every span of the snapshot now
//!    needs sweeping), a fresh sweep cursor over the snapshot, the next goal
//!    (`max(min_trigger, live * (1 + gc_percent/100))`), pause and stats,
//!    one gctrace line.
//! 5. **Sweep.** Wake the background sweeper (or, without
//!    `concurrent_sweep`, leave spans to lazy sweeping by the allocator);
//!    with `full`, the mutator finishes the sweep before returning. While
//!    the background sweeper has not drained the snapshot, the allocator
//!    sweeps only a few partial spans lazily and otherwise takes pages from
//!    the page heap, within a per-cycle growth allowance
//!    (`mcentral::cache_span`).
//!    Whoever sweeps a span first queues (and keeps alive) each unmarked
//!    object with a finalizer special, setting `fingwake` (`finalizer.rs`).
//!
//! # Invariants
//!
//! | name | rule | seed it prevents | check | test |
//! | --- | --- | --- | --- | --- |
//! | `SWEEP_BEFORE_MARK` | marking starts only after every span is swept and no sweeper holds a span; no sweep straddles a sweepgen bump | 001 (a span swept with preemption enabled: a GC started mid-sweep) | `verify::check_sweep_before_mark` at mark start (`SweepState::holding == 0` always; every in-use span at `sg` in verify mode); `SweepLocked::check_ownership` (heap `sg` unchanged at publish) | `tests::seeds::seed_001_mark_during_sweep`; loom `loom_a_sweep_termination_vs_sweeper`, `loom_a_seed_001_mark_during_sweep` |
//! | `SPAN_LIST_SNAPSHOT` | sweepers walk the snapshot (a length fixed before marking); no array a reader may hold is moved or freed while the heap lives | 002 (`allspans` grown and freed under the marker and sweeper) | `AllSpans` is append-only chunked storage; `AllSpans::get` throws on an unpublished entry; the seed-002 reader throws when it reads a freed array | `tests::seeds::seed_002_allspans_growth`; loom `loom_b_snapshot_reader_vs_span_creation`, `loom_b_seed_002_allspans_growth` |
//! | `FREE_AFTER_SWEEP` | a span goes back to the page heap only after its sweep has published `sweepgen` | 004 (a large span freed before its sweep cleared its mark bit) | `MHeap::free_span` takes a `FreedSpan` that only `sweep_span` makes, after the serialization point; `check_ownership` throws if the span is no longer in use | `tests::seeds::seed_004_free_before_publish`; loom `loom_c_large_free_vs_sweep`, `loom_c_seed_004_free_before_publish` |
//! | `SWEEP_OWNERSHIP` | a span is swept only by the winner of `CAS(sg-2 -> sg-1)`, which owns it until it stores `sg` | 001 (ownership checked before and after the sweep) | `SweepLocked` exists only via `try_acquire`; `check_ownership` asserts `InUse` and `sg-1` right before the publish | `tests::checks::sweep_ownership_detects_stolen_span`; all loom models |
//! | `MARK_BAD_POINTER` | every pointer given to `Marker::mark` is the start of an allocated slot of an in-use span | — (embedder bugs) | `mark.rs::check_mark_target` in verify mode; addresses outside the arena always | `tests::checks::bad_pointer_{interior,free_slot,outside_heap}` |
//! | `SPAN_ACCOUNTING` | after sweeping, bitmaps, `alloc_count`, mcentral lists and `heap_alloc`/`heap_objects` agree; marks are a subset of allocations | — | `verify::check_span_accounting` at sweep termination and after `collect(full)` (verify); `sweep_bits` | `tests::checks::span_accounting_detects_miscount`; every verify-mode test in `tests/graphs.rs` |
//! | `SPAN_STATE` | span state changes only along `Dead <-> InUse` | — | `MSpan::transition` | every span alloc/free |
//! | `LOCK_RANK` | locks are taken in increasing rank (debug builds) | — | `sync::Mutex::lock` | `tests::checks::lock_rank_detects_inversion` |
//! | `SCAN_ONCE` | each unfinished coroutine's stack is scanned exactly once per cycle, by whoever wins its `_Gscan`-style claim | 003 (the collector and the goroutine raced on a plain `gcworkdone` flag: stacks scanned twice or not at all) | `stackscan::ScanState::try_claim` (one CAS per coroutine per cycle; throws on a cycle going backwards); the VM's `trace` aborts on a failed claim for a stack already scanned, and verify mode on a coroutine not `scanned_in` the cycle (`vm/src/object/roots.rs`) | `stackscan::tests`; loom `loom_stackscan_collector_vs_safepoint`, `loom_stackscan_seed_003_check_then_set`; `tests/seed_003.rs` (both halves, via `LOAM_SEED_BUG`) |
//! | `FINQ_WAKE` | whoever queues a finalizer (background sweeper, lazy sweep, full sweep) sets `fingwake` under the queue lock; the scheduler readies the parked coroutine on `fingwait && fingwake`; waking is never tied to the background sweeper finishing | 000 (the finalizer goroutine was woken only when `bgsweep` finished, so finalizers queued later by lazy sweeping waited forever) | `Finq::queue` sets `fingwake` in the push's critical section; in verify mode `fin_park`/`fin_should_wake` throw if the coroutine is parked with a non-empty queue and no `fingwake` (`finalizer::check_wake`) | `tests::seeds::seed_000_finq_wake_lazy_sweep`; `tests/finalizers.rs::fin_park_then_wake_in_every_mode`; loom `loom_finq_no_lost_wakeup`, `loom_finq_seed_000_lost_wakeup`, `loom_finq_seed_000_named_check` |
//! | `SPECIALS_KEEP_ALIVE` | an object with a finalizer special is never freed: the sweep marks and queues it before the bitmaps turn over, so a span returned to the page heap has no specials | — | `finalizer::check_no_specials` in `MHeap::free_span` | `tests::checks::specials_keep_alive_detects_freed_finalizable_object`; `tests/finalizers.rs` (all modes, large objects) |
//!
//! Violations go through `gc_throw!`, which prints the invariant name and
//! the offending span and aborts: collector bugs are never `Result`s.
//!
//! # Locks
//!
//! `parking_lot` mutexes with a debug-checked rank ([`sync::LockRank`]); a
//! thread acquires locks only in increasing rank:
//!
//! | rank | lock | guards |
//! | --- | --- | --- |
//! | 1 | `MHeap::lock` | free page runs, committed pages, span-struct pool, `allspans` appends, page-table writes |
//! | 2 | `MCentral::lock` (per class) | partial/full × swept/unswept lists and the links of listed spans |
//! | 3 | `MSpan::specials` (one per span) | finalizer specials of that span (taken by the mutator in `set_finalizer`/`remove_finalizer`, by sweepers in `sweep_span`, by the STW marker, and in `MHeap::free_span`'s check) |
//! | 4 | `Finq::lock` | finalizer queue, `fingwait`, `fingwake` (taken inside a span's specials lock when a sweeper queues) |
//! | 5 | background sweeper park lock | `work`/`parked` flags |
//! | 6 | trace buffer (`tracer::SharedTrace`, leaf) | the background sweeper's trace events |
//!
//! No lock is held while an embedder callback runs, and the mutator never
//! waits for a sweeper while holding a lock (`SweepState::wait_for_sweepers`).
//!
//! # Threads
//!
//! The mutator owns [`Heap`] (allocation, the mcache, collection). The
//! background sweeper thread shares `HeapShared` (mheap, mcentrals, sweep
//! state, counters) and only ever sweeps spans it claimed. Under
//! `cfg(loom)` every atomic and lock comes from loom (`sync.rs`); the models
//! in `tests/loom_sweep.rs` run with
//! `RUSTFLAGS="--cfg loom" cargo test -p gc --release --test loom_sweep`
//! (exhaustive, about 20 s; `LOOM_MAX_PREEMPTIONS=2` for a quicker run),
//! and the `FINQ_WAKE` model in `tests/loom_finq.rs` with
//! `RUSTFLAGS="--cfg loom" cargo test -p gc --release --test loom_finq`.
//! ThreadSanitizer (nightly; std is not instrumented, hence the
//! suppressions for its channels):
//! `RUSTFLAGS="-Zsanitizer=thread -Cunsafe-allow-abi-mismatch=sanitizer"
//! TSAN_OPTIONS="suppressions=$PWD/gc/tsan.supp" cargo +nightly test -p gc
//! --target x86_64-unknown-linux-gnu --test graphs --test pacing`.
//!
//! # Code map
//!
//! `sizeclasses` (class table), `mspan` (span metadata, `SweepGen`, state),
//! `mheap` (arena, page table, page allocator, `allspans`), `mcentral`
//! (per-class span lists, `cache_span`), `mcache` (mutator's current spans),
//! `mark` (`Marker`, `MarkView`), `sweep` (`SweepLocked`, cursor, active
//! count), `bgsweep` (background sweeper), `finalizer` (specials, `finq`,
//! `fingwait`/`fingwake`), `pacer`, `pausehist` (pause
//! histogram and recent pauses), `profile` (`Heap::heap_profile`),
//! `verify`, `trace` (gctrace), `tracer` (Chrome trace events, `--trace`),
//! `recording` (cycles, heap samples and sweeps for `--gc-report`),
//! `sync` (loom facade, lock ranks), `throw` (`gc_throw!`), `seed` (test
//! switches re-introducing historical races).

#![allow(unsafe_code)]

#[macro_use]
mod throw;

mod bgsweep;
mod finalizer;
mod mark;
mod mcache;
mod mcentral;
mod mheap;
mod mspan;
mod pacer;
mod pausehist;
mod profile;
mod recording;
pub mod sizeclasses;
pub mod stackscan;
mod sweep;
pub(crate) mod sync;
mod trace;
mod tracer;
mod verify;

#[cfg(any(test, loom, feature = "seed-bugs"))]
pub mod seed;

#[cfg(loom)]
#[doc(hidden)]
pub mod loom_support;

#[cfg(test)]
mod tests;

pub use finalizer::FinalizerError;
pub use mark::{MarkView, Marker};
pub use profile::{ClassProfile, HeapProfile};
pub use recording::{
    CycleRecord, GcRecorder, GcRecording, HeapSample, PhaseRecord, SweepBy, SweepRecord,
};
pub use tracer::{TraceArg, TraceEvent, TraceKind, TraceTime, TraceTrack};

use crate::bgsweep::BgSweeper;
use crate::finalizer::Finq;
use crate::mcache::MCache;
use crate::mheap::MHeap;
use crate::pacer::Pacer;
use crate::pausehist::PauseHist;
use crate::sizeclasses::{size_to_class, MAX_SMALL_SIZE, PAGE_SIZE};
use crate::sweep::{SweepState, Sweeper};
use crate::sync::Arc;
use crate::tracer::{SharedTrace, TraceClock, Tracer};
use core::ptr::NonNull;
use std::path::{Path, PathBuf};
use std::sync::atomic::{
    AtomicU64 as StdAtomicU64, AtomicUsize as StdAtomicUsize, Ordering as StdOrdering,
};
use std::time::Instant;

/// Start of an object block returned by [`Heap::alloc`].
pub type ObjPtr = NonNull<u8>;

/// Byte written over freed objects in poison mode.
pub const POISON_BYTE: u8 = 0xDB;

/// Collector configuration.
#[derive(Clone, Debug)]
pub struct GcConfig {
    /// GOGC: the heap may grow by this percentage of the live heap before
    /// the next cycle. Default 100; negative disables automatic collection.
    pub gc_percent: i32,
    /// Floor of the goal: the first cycle is due at `heap_live >= min_trigger`
    /// (default 4 MiB), later ones at `max(min_trigger, live*(1+gc_percent/100))`.
    pub min_trigger: usize,
    /// `should_collect()` is true at every allocation.
    pub stress: bool,
    /// Run the named invariant checks (`--gc-verify`).
    pub verify: bool,
    /// Fill freed objects with [`POISON_BYTE`] (`--gc-poison`).
    pub poison: bool,
    /// Sweep on a background thread (default); `false`: only the mutator
    /// sweeps, lazily.
    pub concurrent_sweep: bool,
    /// Print one gctrace line per cycle to stderr (`--gc-trace`).
    pub trace: bool,
    /// Record trace events and write them to this file as Chrome
    /// trace-event JSON (`--trace FILE`; see [`Heap::finish_trace`]).
    pub trace_file: Option<PathBuf>,
    /// Record every cycle, heap sample and sweep, and deliver them to this
    /// recorder at [`Heap::finish_trace`] (`--gc-report`; costs what
    /// `trace_file` costs, with or without a file).
    pub record: Option<GcRecorder>,
}

impl Default for GcConfig {
    fn default() -> Self {
        GcConfig {
            gc_percent: 100,
            min_trigger: 4 << 20,
            stress: false,
            verify: false,
            poison: false,
            concurrent_sweep: true,
            trace: false,
            trace_file: None,
            record: None,
        }
    }
}

/// Heap statistics (Go's `MemStats` subset).
#[derive(Clone, Debug, Default)]
pub struct GcStats {
    /// Completed cycles.
    pub num_gc: u64,
    /// Bytes in allocated objects (size-class size each), including
    /// unreachable objects not swept yet.
    pub heap_alloc: u64,
    /// Allocated objects, likewise.
    pub heap_objects: u64,
    /// Bytes obtained (committed) from the OS.
    pub heap_sys: u64,
    /// Goal of the next automatic cycle (`u64::MAX` when disabled).
    pub next_gc: u64,
    /// Sum of stop-the-world pauses (sweep termination to mark termination).
    pub pause_total_ns: u64,
    /// Longest pause.
    pub max_pause_ns: u64,
    /// Median pause (nearest rank, from a log-linear histogram of every
    /// pause: at most 1/16 above the true value, never above the maximum).
    pub pause_p50_ns: u64,
    /// 99th-percentile pause, likewise.
    pub pause_p99_ns: u64,
    /// Spans swept by the background sweeper (cumulative).
    pub swept_background: u64,
    /// Spans swept by the mutator (cumulative).
    pub swept_lazy: u64,
    /// Bytes marked live by the last cycle.
    pub last_live: u64,
    /// (object, finalizer) pairs queued by sweeping (cumulative). The VM
    /// counts the finalizers it has run itself.
    pub finalizers_queued: u64,
    /// Pairs removed by [`Heap::pop_finalizer`] (cumulative);
    /// `finalizers_queued - finalizers_taken` are still queued.
    pub finalizers_taken: u64,
}

/// The OS refused memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllocError {
    /// Bytes requested from the page heap when it failed.
    pub size: usize,
}

impl core::fmt::Display for AllocError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "out of memory allocating {} bytes", self.size)
    }
}

impl std::error::Error for AllocError {}

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
        }
    }
}

/// The heap. Owned by the single mutator thread; `Send`, so it may be moved
/// to another thread before use.
pub struct Heap {
    shared: Arc<HeapShared>,
    mcache: MCache,
    config: GcConfig,
    /// Cumulative bytes / objects allocated by the mutator (plain fields:
    /// only the mutator allocates). `heap_alloc` subtracts the sweepers'
    /// `freed_*` counters.
    alloc_bytes: u64,
    alloc_objects: u64,
    pacer: Pacer,
    num_gc: u64,
    pause_total_ns: u64,
    max_pause_ns: u64,
    pauses: PauseHist,
    gray: Vec<ObjPtr>,
    bg: Option<BgSweeper>,
    start: Instant,
    /// Background / lazy swept-span counters at the last cycle's line.
    traced_bg: u64,
    traced_lazy: u64,
    /// The last cycle's gctrace figures (kept even without `--gc-trace`,
    /// for [`Heap::last_gctrace`]).
    last_line: Option<trace::TraceLine>,
    /// Trace-event recorder (`GcConfig::trace_file`); `None` when off or
    /// once written.
    tracer: Option<Tracer>,
    /// Finalizer specials copied out for marking (reused across cycles).
    fin_scratch: Vec<(usize, usize)>,
    /// Pairs removed by `pop_finalizer` (only the mutator pops).
    finalizers_taken: u64,
    /// `finalizers_queued` at the last gctrace line.
    traced_fin: u64,
}

// SAFETY: the only non-Send fields are the mcache's span pointers (span
// structs live as long as `shared`, which the heap keeps alive) and the gray
// stack's object pointers (empty outside `collect`). Moving the heap moves
// the mutator role with it; the background sweeper never touches the mcache.
unsafe impl Send for Heap {}

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
        }
    }

    /// `size` bytes, 8-byte aligned, contents uninitialized. Sizes above
    /// 32 KiB get a large span of their own. Never starts a collection; may
    /// sweep spans lazily. Fails only when the OS refuses memory.
    #[inline]
    pub fn alloc(&mut self, size: usize) -> Result<ObjPtr, AllocError> {
        if size <= MAX_SMALL_SIZE {
            let class = size_to_class(size);
            if let Some(span) = self.mcache.alloc[class] {
                // SAFETY: the span is in our mcache, so the mutator owns its
                // data (mspan.rs ownership table); it is swept (sg) and no
                // sweeper touches it.
                let hit = unsafe {
                    span.as_ref().with_data(|d| {
                        d.next_free_fast()
                            .map(|i| (d.start + i * d.elemsize, d.elemsize))
                    })
                };
                if let Some((p, size)) = hit {
                    self.alloc_bytes += size as u64;
                    self.alloc_objects += 1;
                    // SAFETY: p is inside a committed span, never null.
                    return Ok(unsafe { NonNull::new_unchecked(p as *mut u8) });
                }
            }
            self.alloc_small_slow(class)
        } else {
            self.alloc_large(size)
        }
    }

    #[cold]
    fn alloc_small_slow(&mut self, class: usize) -> Result<ObjPtr, AllocError> {
        let take = |span: NonNull<mspan::MSpan>| {
            // SAFETY: as in `alloc`: the span is in our mcache (or was just
            // put there by `refill`), owned by the mutator.
            unsafe {
                span.as_ref().with_data(|d| {
                    d.next_free_index()
                        .map(|i| (d.start + i * d.elemsize, d.elemsize))
                })
            }
        };
        let hit = match self.mcache.alloc[class] {
            Some(span) => take(span),
            None => None,
        };
        let (p, size) = match hit {
            Some(hit) => hit,
            None => {
                let mark = self.trace_mark();
                self.sweep_credit();
                let refilled = self.mcache.refill(&self.shared, class);
                if let Some(mark) = mark {
                    self.trace_lazy_sweep(mark);
                }
                let span = refilled?;
                match take(span) {
                    Some(hit) => hit,
                    None => gc_throw!(
                        SPAN_ACCOUNTING,
                        // SAFETY: span structs live as long as the heap.
                        span = unsafe { span.as_ref() },
                        "cache_span returned a span with no free slot"
                    ),
                }
            }
        };
        self.alloc_bytes += size as u64;
        self.alloc_objects += 1;
        // SAFETY: p is inside a committed span, never null.
        Ok(unsafe { NonNull::new_unchecked(p as *mut u8) })
    }

    #[cold]
    fn alloc_large(&mut self, size: usize) -> Result<ObjPtr, AllocError> {
        if size > isize::MAX as usize / 2 {
            return Err(AllocError { size });
        }
        let npages = size.div_ceil(PAGE_SIZE);
        let mark = self.trace_mark();
        self.sweep_credit();
        // Go's `reclaim`: sweep about as many pages as we are about to take,
        // so dead large spans are reused before the heap grows.
        let mut swept = 0;
        while swept < npages && !self.shared.sweep.drained() {
            match sweep::sweep_one(&self.shared, Sweeper::Lazy) {
                Some(n) => swept += n,
                None => break,
            }
        }
        let span = self
            .shared
            .mheap
            .alloc_span(npages, 0, self.shared.sweep.sg());
        if let Some(mark) = mark {
            self.trace_lazy_sweep(mark);
        }
        let span = span?;
        // SAFETY: span structs live as long as the heap; the fresh large
        // span is at sg and on no list, so only we (its allocator) and the
        // STW collector ever read its data.
        let start = unsafe { span.as_ref().with_data(|d| d.start) };
        self.alloc_bytes += (npages * PAGE_SIZE) as u64;
        self.alloc_objects += 1;
        // SAFETY: the span start is inside the arena, never null.
        Ok(unsafe { NonNull::new_unchecked(start as *mut u8) })
    }

    /// Start of a possible `lazy sweep` slice: the time and the lazy-swept
    /// span count. `None` (one test) when not tracing.
    #[inline]
    fn trace_mark(&self) -> Option<(TraceTime, u64)> {
        let t = self.tracer.as_ref()?;
        Some((
            t.clock.now(),
            self.shared.stats.swept_lazy.load(StdOrdering::Relaxed),
        ))
    }

    /// End of an allocation slow path while tracing: a `lazy sweep` slice if
    /// it swept spans (only the mutator sweeps lazily, so the counter's
    /// growth is ours), and a periodic heap counter sample.
    #[cold]
    fn trace_lazy_sweep(&mut self, (start, lazy_before): (TraceTime, u64)) {
        let swept = self.shared.stats.swept_lazy.load(StdOrdering::Relaxed) - lazy_before;
        let heap_alloc = self.heap_alloc();
        let next_gc = self.pacer.next_gc;
        let Some(t) = self.tracer.as_mut() else {
            return;
        };
        let now = t.clock.now();
        if swept > 0 {
            t.push(
                TraceEvent::slice(TraceTrack::Mutator, recording::LAZY_SWEEP, start, now)
                    .arg("spans", swept),
            );
        }
        if now.0.saturating_sub(t.last_counter.0) >= tracer::COUNTER_PERIOD_NS {
            t.heap_counter(now, heap_alloc, next_gc);
        }
    }

    /// Proportional sweep (Go's `deductSweepCredit`): before taking a new
    /// span, sweep so that the sweep finishes before the next goal even
    /// without the background sweeper.
    fn sweep_credit(&mut self) {
        let st = &self.shared.sweep;
        if st.drained() {
            return;
        }
        let allocated = (self.alloc_bytes - self.pacer.alloc_at_mark) as f64;
        let target =
            self.pacer.pages_swept_at_mark + (allocated * self.pacer.sweep_pages_per_byte) as u64;
        while self.shared.stats.pages_swept.load(StdOrdering::Relaxed) < target {
            if sweep::sweep_one(&self.shared, Sweeper::Lazy).is_none() {
                break;
            }
        }
    }

    /// Whether an automatic cycle is due (`heap_live >= next_gc` with
    /// `gc_percent >= 0`), or always in stress mode.
    #[inline]
    pub fn should_collect(&self) -> bool {
        self.config.stress
            || (self.config.gc_percent >= 0
                && self.pacer.heap_live(self.alloc_bytes) >= self.pacer.next_gc)
    }

    /// Bytes in allocated objects now (what `--max-heap` limits).
    pub fn heap_alloc(&self) -> u64 {
        self.alloc_bytes - self.shared.stats.freed_bytes.load(StdOrdering::Relaxed)
    }

    fn heap_objects(&self) -> u64 {
        self.alloc_objects - self.shared.stats.freed_objects.load(StdOrdering::Relaxed)
    }

    /// One full stop-the-world collection (see the crate docs for the
    /// steps). With `full`, sweeping is finished before returning.
    pub fn collect<E: Embedder>(&mut self, embedder: &mut E, full: bool) {
        let t0 = Instant::now();
        let shared = self.shared.clone();
        let heap_start = self.heap_alloc();
        let goal_before = self.pacer.next_gc;
        let verify = self.config.verify;

        // 1. Sweep termination.
        self.mcache.release_all(&shared);
        sweep::finish_sweep(&shared);
        verify::check_sweep_before_mark(&shared, shared.mheap.allspans.len(), verify);
        if verify {
            verify::check_span_accounting(&shared, self.heap_alloc(), self.heap_objects());
        }
        let heap_after_sweep = self.heap_alloc();

        // 2. Snapshot the span list.
        let snapshot_len = {
            let _h = shared.mheap.lock.lock();
            shared.mheap.allspans.len()
        };
        let t1 = Instant::now();

        // 3. Mark.
        let mut gray = core::mem::take(&mut self.gray);
        let mut m = Marker {
            heap: &shared.mheap,
            gray: &mut gray,
            marked_bytes: 0,
            marked_objects: 0,
            verify,
        };
        embedder.mark_roots(&mut m);
        // Finalizer roots: every queued pair, and for every special the
        // finalizer and what the object reaches, not the object itself
        // (finalizer.rs).
        shared.finq.mark_roots(&mut m);
        if shared.nspecials.load(StdOrdering::Acquire) > 0 {
            let mut specials = core::mem::take(&mut self.fin_scratch);
            finalizer::collect_specials(&shared, snapshot_len, &mut specials);
            for &(obj, fin) in &specials {
                // Both are object addresses recorded by `set_finalizer`.
                let (obj, fin) = (
                    NonNull::new(obj as *mut u8).expect("special object"),
                    NonNull::new(fin as *mut u8).expect("special finalizer"),
                );
                m.mark(fin);
                embedder.trace(obj, &mut m);
            }
            specials.clear();
            self.fin_scratch = specials;
        }
        while let Some(obj) = m.gray.pop() {
            embedder.trace(obj, &mut m);
        }
        let live = m.marked_bytes;
        self.gray = gray;
        embedder.sweep_weak(&MarkView {
            heap: &shared.mheap,
            verify,
        });
        let t2 = Instant::now();

        // 4. Mark termination.
        let pages_to_sweep = shared.mheap.pages_in_use() as u64;
        shared.sweep.start_cycle(snapshot_len);
        self.mcache.fresh_pages = if self.config.concurrent_sweep {
            pages_to_sweep as usize / mcentral::FRESH_PAGES_DIV
        } else {
            0
        };
        self.pacer.mark_done(
            live,
            self.alloc_bytes,
            self.config.gc_percent,
            self.config.min_trigger as u64,
            pages_to_sweep,
            shared.stats.pages_swept.load(StdOrdering::Relaxed),
        );
        self.num_gc += 1;
        let t3 = Instant::now();
        let pause = (t3 - t0).as_nanos() as u64;
        self.pause_total_ns += pause;
        self.max_pause_ns = self.max_pause_ns.max(pause);
        self.pauses.record(pause);
        {
            let bg = shared.stats.swept_bg.load(StdOrdering::Relaxed);
            let lazy = shared.stats.swept_lazy.load(StdOrdering::Relaxed);
            let fin = shared.stats.finalizers_queued.load(StdOrdering::Relaxed);
            let line = trace::TraceLine {
                num_gc: self.num_gc,
                since_start_s: (t0 - self.start).as_secs_f64(),
                sweep_term_ns: (t1 - t0).as_nanos() as u64,
                mark_ns: (t2 - t1).as_nanos() as u64,
                mark_term_ns: (t3 - t2).as_nanos() as u64,
                heap_start,
                heap_after_sweep,
                live,
                goal: self.pacer.next_gc,
                nspans: snapshot_len,
                swept_bg: bg - self.traced_bg,
                swept_lazy: lazy - self.traced_lazy,
                fin_queued: fin - self.traced_fin,
            };
            self.traced_bg = bg;
            self.traced_lazy = lazy;
            self.traced_fin = fin;
            if self.config.trace {
                eprintln!("{}", line.format());
            }
            self.last_line = Some(line);
        }
        if self.tracer.is_some() {
            self.trace_cycle(heap_start, goal_before, live, [t0, t1, t2, t3]);
        }

        // 5. Sweep.
        if let Some(bg) = &self.bg {
            bg.wake();
        }
        if full {
            let start = self.tracer.as_ref().map(|t| t.clock.now());
            sweep::finish_sweep(&shared);
            if verify {
                verify::check_span_accounting(&shared, self.heap_alloc(), self.heap_objects());
            }
            if let Some(start) = start {
                let (heap_alloc, next_gc) = (self.heap_alloc(), self.pacer.next_gc);
                if let Some(t) = self.tracer.as_mut() {
                    let now = t.clock.now();
                    t.push(TraceEvent::slice(
                        TraceTrack::Mutator,
                        recording::FULL_SWEEP,
                        start,
                        now,
                    ));
                    t.heap_counter(now, heap_alloc, next_gc);
                }
            }
        }
    }

    /// A cycle's trace events: the pause, its phases nested in it, and
    /// heap counter samples at its start and end; and, for a recorder, the
    /// cycle's record (the same phases, with the gctrace figures).
    #[cold]
    fn trace_cycle(
        &mut self,
        heap_start: u64,
        goal_before: u64,
        live: u64,
        [t0, t1, t2, t3]: [Instant; 4],
    ) {
        let num_gc = self.num_gc;
        let (heap_alloc, next_gc) = (self.heap_alloc(), self.pacer.next_gc);
        let line = self.last_line.clone();
        let Some(t) = self.tracer.as_mut() else {
            return;
        };
        let [a, b, c, d] = [t0, t1, t2, t3].map(|i| t.clock.at(i));
        // Every phase stops the world today (the mark is not concurrent).
        let phases = [
            ("sweep termination", a, b),
            ("mark", b, c),
            ("mark termination", c, d),
        ];
        t.heap_counter(a, heap_start, goal_before);
        t.push(
            TraceEvent::slice(TraceTrack::Mutator, "GC pause", a, d)
                .arg("gc", num_gc)
                .arg("heapStart", heap_start)
                .arg("live", live),
        );
        for (name, start, end) in phases {
            t.push(TraceEvent::slice(TraceTrack::Mutator, name, start, end));
        }
        t.heap_counter(d, heap_alloc, next_gc);
        if let (true, Some(line)) = (t.records_cycles(), line) {
            t.cycles.push(recording::CycleRecord {
                num_gc,
                phases: phases
                    .iter()
                    .map(|&(name, start, end)| recording::PhaseRecord {
                        name: name.into(),
                        start,
                        end,
                        stop_the_world: true,
                    })
                    .collect(),
                heap_start,
                heap_after_sweep: line.heap_after_sweep,
                live,
                goal_before,
                goal_after: next_gc,
                spans: line.nspans,
                swept_background: line.swept_bg,
                swept_lazy: line.swept_lazy,
                finalizers_queued: line.fin_queued,
            });
        }
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
        }
    }

    /// Set GOGC; returns the previous value. The goal is recomputed from the
    /// last live heap.
    pub fn set_gc_percent(&mut self, percent: i32) -> i32 {
        let prev = self.config.gc_percent;
        self.config.gc_percent = percent;
        self.pacer.next_gc = pacer::goal(
            self.pacer.last_live,
            percent,
            self.config.min_trigger as u64,
        );
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
    /// `TraceTrack::BgSweeper` is the collector's; events for it are
    /// dropped.
    pub fn trace_event(&mut self, event: TraceEvent) {
        if event.track == TraceTrack::BgSweeper {
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
    pub fn set_seed_bug(&mut self, bug: seed::SeedBug, race_window_us: u32) {
        self.shared.mheap.seed.set(bug, race_window_us);
    }
}

impl Drop for Heap {
    fn drop(&mut self) {
        // Join the sweeper before the shared heap (and its memory) goes.
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
