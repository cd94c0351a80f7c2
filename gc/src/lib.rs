//! `gc`: loam's heap. Pages, spans, size classes, allocation, mark bits,
//! concurrent marking with a mark worker thread (and the stop-the-world
//! mark it replaces by default), concurrent sweeping with a background
//! sweeper thread, pacing, statistics, gctrace and verify/poison debug
//! modes, all modelled on the Go runtime and named after it (see DESIGN.md
//! "The heap"). Objects are untyped blocks: the embedder (the VM) supplies
//! roots and tracing through [`Embedder`] and, for the mark worker,
//! [`Tracer`] (**API Boundaries**), and this crate knows nothing about Lox
//! values (an **Architecture Invariant**).
//!
//! # A concurrent cycle (`mgc.rs`, `mgcmark.rs`)
//!
//! The tri-colour invariant, in the words Lua's `lgc.c` uses for its own:
//! a black object (marked, its edges traced) never points to a white one
//! (unmarked) that no grey object (marked, not yet traced) reaches. The
//! write barrier keeps it while the program runs; so at mark termination
//! what is white is garbage (CHECKMARK verifies it).
//!
//! 0. **Trigger.** An allocation finds `heap_live >= trigger` (`pacer.rs`:
//!    before the goal, by a ratio learnt from the last cycle's mark); the
//!    allocator first sweeps what the last cycle left unswept (none, if
//!    the proportional sweep kept pace), outside any pause.
//! 1. **Sweep termination** ([`Heap::start_mark`], world stopped). Flush
//!    the mcache into the mcentrals; wait until no sweeper is inside a
//!    span (SWEEP_BEFORE_MARK); snapshot the span list; mark the
//!    embedder's roots into the mutator's [`Barrier`] buffer (parked
//!    coroutines and the finalizer specials are left to the worker:
//!    `Marker::mark_later`); phase `Mark`, barrier on, allocation black.
//! 2. **Concurrent mark.** The mark worker thread drains the grey queue
//!    through [`Tracer`]; the mutator shades on every pointer store
//!    ([`Barrier::shade`]), scans its own running stack at a safepoint
//!    (`stackscan`: the same claim the worker takes, SCAN_ONCE), and
//!    assists ([`Heap::mark_assist`]) in proportion to what it allocates,
//!    so the mark ends by the goal. Nobody sweeps.
//! 3. **Mark termination** ([`Heap::finish_mark`], world stopped). The
//!    barrier is flushed, marking is done (queue empty and no marker busy,
//!    under the queue lock), the phase ends; in verify mode the checkmark
//!    re-marks from the roots into a second bitmap (CHECKMARK);
//!    `Embedder::sweep_weak`; `sweepgen += 2`, a fresh sweep cursor over
//!    the snapshot, the next goal (`max(min_trigger, live * (1 +
//!    gc_percent/100))`) and trigger, the proportional-sweep ratio, pauses
//!    and stats, one gctrace line (`0.05+40+0.005 ms clock`: the two
//!    pauses around the concurrent mark).
//! 4. **Sweep.** Wake the background sweeper (or, without
//!    `concurrent_sweep`, leave spans to lazy sweeping by the allocator);
//!    with `full`, the mutator finishes the sweep before returning. While
//!    the background sweeper has not drained the snapshot, the allocator
//!    sweeps only a few partial spans lazily and otherwise takes pages from
//!    the page heap, within a per-cycle growth allowance
//!    (`mcentral::cache_span`).
//!    Whoever sweeps a span first queues (and keeps alive) each unmarked
//!    object with a finalizer special, setting `fingwake` (`finalizer.rs`).
//!
//! [`Heap::collect`] is the stop-the-world cycle (`concurrent_mark: false`,
//! `--no-concurrent-mark`): steps 1-3 in one pause, marking with
//! `Embedder::mark_roots` and `Embedder::trace` on the mutator's thread.
//!
//! # Invariants and locks
//!
//! Every invariant the collector checks is a variant of [`Invariant`]
//! (`invariant.rs`: one paragraph each with the rule, the seed it
//! prevents, its check and its test). Violations go through `gc_throw!`,
//! which takes a variant, prints its name and the offending span, and
//! aborts: collector bugs are never `Result`s. The locks are `parking_lot`
//! mutexes ranked by [`LockRank`] (each variant says what its lock
//! guards); a thread acquires them only in increasing rank (checked in
//! debug builds). No lock is held while an embedder callback runs, and the
//! mutator never waits for a sweeper while holding a lock
//! (`SweepState::wait_for_sweepers`).
//!
//! # Threads
//!
//! The mutator owns [`Heap`] (allocation, the mcache, collection). The
//! background sweeper thread shares `HeapShared` (mheap, mcentrals, sweep
//! state, counters) and only ever sweeps spans it claimed. The mark worker
//! thread (`gc-mark`) shares it too and marks only in `Phase::Mark`, when
//! nobody sweeps. Under
//! `cfg(loom)` every atomic and lock comes from loom (`sync.rs`); the models
//! in `tests/loom_sweep.rs` run with
//! `RUSTFLAGS="--cfg loom" cargo test -p gc --release --test loom_sweep`
//! (exhaustive, about 20 s; `LOOM_MAX_PREEMPTIONS=2` for a quicker run),
//! the `FINQ_WAKE` model in `tests/loom_finq.rs` with
//! `RUSTFLAGS="--cfg loom" cargo test -p gc --release --test loom_finq`,
//! and the concurrent mark's (barrier vs worker, termination vs a busy
//! worker; the stack claim vs the self-scan) in `tests/loom_mark.rs` and
//! `tests/loom_stackscan.rs`, exhaustively, printing their interleaving
//! counts with `-- --nocapture`.
//! ThreadSanitizer (nightly; std is not instrumented, hence the
//! suppressions for its channels):
//! `RUSTFLAGS="-Zsanitizer=thread -Cunsafe-allow-abi-mismatch=sanitizer"
//! TSAN_OPTIONS="suppressions=$PWD/gc/tsan.supp" cargo +nightly test -p gc
//! --target x86_64-unknown-linux-gnu --test graphs --test pacing`.
//!
//! # Code map
//!
//! `heap` (the [`Heap`] the mutator owns, `HeapShared`, statistics and the
//! mutator's API), `malloc` (allocation: mcache fast path, refill,
//! proportional sweep, large spans), `mgc` (a collection cycle: both
//! marks, mark termination), `mgcmark` (the concurrent mark: `Phase`, the
//! grey `WorkQueue`, the mark worker, assists' `help`, [`Barrier`],
//! [`Tracer`]),
//! `sizeclasses` (class table), `mspan` (span metadata, `SweepGen`,
//! state), `mheap` (arena, page table, page allocator, `allspans`),
//! `mcentral` (per-class span lists, `cache_span`), `mcache` (mutator's
//! current spans), `mark` (`Embedder`, `Marker`, `MarkView`,
//! `MarkMode`), `sweep`
//! (`SweepLocked`, cursor, active count), `bgsweep` (background sweeper),
//! `finalizer` (specials, `finq`, `fingwait`/`fingwake`), `stackscan`
//! (`ScanState`, the `_Gscan` claim), `pacer`, `pausehist` (pause
//! histogram and recent pauses), `profile` (`Heap::heap_profile`),
//! `verify`, `trace` (gctrace), `tracer` (Chrome trace events, `--trace`),
//! `recording` (cycles, heap samples and sweeps for `--gc-report`),
//! `sync` (loom facade, [`LockRank`]), `invariant` ([`Invariant`]),
//! `throw` (`gc_throw!`), `seed` (the injection points of the historical
//! races; their switches exist only in tests and under the `seed-bugs`
//! feature).
//!
//! `unsafe` is denied at the crate root (the workspace lint) and allowed
//! only in the modules that need it: `malloc`, `mheap`, `mspan`,
//! `mcentral`, `mark`, `mgcmark`, `sweep`, `finalizer`, `profile`, `verify`, `sync`,
//! `seed`, and the loom and test support.

#[macro_use]
mod throw;

mod bgsweep;
mod finalizer;
mod heap;
mod invariant;
mod malloc;
mod mark;
mod mcache;
mod mcentral;
mod mgc;
mod mgcmark;
mod mheap;
mod mspan;
mod pacer;
mod pausehist;
mod profile;
mod recording;
mod seed;
pub mod sizeclasses;
pub mod stackscan;
mod sweep;
pub(crate) mod sync;
mod trace;
mod tracer;
mod verify;

#[cfg(loom)]
#[doc(hidden)]
pub mod loom_support;

#[cfg(test)]
mod tests;

pub use finalizer::FinalizerError;
pub use heap::Heap;
pub(crate) use heap::HeapShared;
pub use invariant::Invariant;
pub use mark::{Embedder, MarkMode, MarkView, Marker};
pub use mgcmark::{Barrier, Phase, Tracer};
pub use profile::{ClassProfile, HeapProfile};
pub use recording::{
    CycleRecord, GcRecorder, GcRecording, HeapSample, PhaseRecord, SweepBy, SweepRecord,
};
#[cfg(any(test, loom, feature = "seed-bugs"))]
pub use seed::SeedBug;
pub use sync::LockRank;
pub use throw::throw;
pub use tracer::{TraceArg, TraceEvent, TraceKind, TraceTime, TraceTrack};

use core::ptr::NonNull;
use std::path::PathBuf;

/// Start of an object block returned by [`Heap::alloc`].
pub type ObjPtr = NonNull<u8>;

/// Byte written over freed objects in poison mode.
pub const POISON_BYTE: u8 = 0xDB;

/// Collector configuration.
#[derive(Clone, Debug)]
pub struct GcConfig {
    /// GOGC: the heap may grow by this percentage of the live heap before
    /// the next cycle. Default 100; negative disables automatic collection.
    pub gc_percent: i64,
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
    /// Mark concurrently on the mark worker thread once the embedder has
    /// set a tracer (default); `false` (`--no-concurrent-mark`): every
    /// cycle marks with the world stopped.
    pub concurrent_mark: bool,
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
            concurrent_mark: true,
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
    /// Time the mutator spent marking: assists, and finishing a mark it
    /// had to wait for (cumulative, Go's `gcAssistTime`).
    pub mark_assist_ns: u64,
    /// Time the mark worker thread spent marking (cumulative).
    pub mark_worker_ns: u64,
    /// Time in the stop-the-world sweep-termination phase (cumulative).
    pub stw_sweep_term_ns: u64,
    /// Time in the stop-the-world mark-termination phase (cumulative).
    pub stw_mark_term_ns: u64,
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
