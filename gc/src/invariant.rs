//! The collector's invariants, one variant each: the only names
//! [`gc_throw!`](crate::throw) accepts, and the names ARCHITECTURE.md's
//! table must use (a test in the root package reads that table and fails
//! on a name that is not a variant here, or a variant it does not list).
//!
//! Each paragraph gives the rule, the historical Go runtime race it
//! prevents (`../shared/seeds/`), the check that fails loudly when the rule
//! breaks, and the test that has seen that check fire.

macro_rules! invariants {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, )*) => {
        /// A named collector invariant (see the module docs).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Invariant {
            $( $(#[$doc])* $variant, )*
        }

        impl Invariant {
            /// Every invariant, in the order of this file.
            pub const ALL: &'static [Invariant] = &[$(Invariant::$variant),*];

            /// The stable name printed by `gc_throw!` and used in the docs.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Invariant::$variant => $name,)*
                }
            }
        }
    };
}

invariants! {
    /// **SWEEP_BEFORE_MARK**: marking starts only after every span of the
    /// last cycle is swept and no sweeper holds a claimed span, and no sweep
    /// straddles a `sweepgen` bump. Seed 001 (a span swept with preemption
    /// enabled: a collection started in the middle of a sweep). Check:
    /// `verify::check_sweep_before_mark` at mark start (`SweepState::holding
    /// == 0` always; every in-use span at `sg` in verify mode) and
    /// `SweepLocked::check_ownership` (the heap's `sg` unchanged at the
    /// publish). Tests: `tests::seeds::seed_001_mark_during_sweep`; loom
    /// `loom_a_sweep_termination_vs_sweeper`, `loom_a_seed_001_mark_during_sweep`.
    SweepBeforeMark = "SWEEP_BEFORE_MARK",
    /// **SPAN_LIST_SNAPSHOT**: marker and sweepers read the span list
    /// through a snapshot (a length fixed before marking) and nothing a
    /// reader may hold is moved or freed while the heap lives. Seed 002
    /// (`allspans` reallocated and freed under the marker and sweeper when
    /// stack allocation grew it). Check: `AllSpans::get` throws on an entry
    /// read from a chunk that growth moved (only the seed switch ever moves
    /// one) or that was never published. Tests:
    /// `tests::seeds::seed_002_allspans_growth`; loom
    /// `loom_b_snapshot_reader_vs_span_creation`,
    /// `loom_b_seed_002_allspans_growth`.
    SpanListSnapshot = "SPAN_LIST_SNAPSHOT",
    /// **FREE_AFTER_SWEEP**: a span goes back to the page heap only after
    /// its sweep has published `sweepgen`. Seed 004 (a large span freed
    /// before its sweep cleared its mark bit; the next owner's bitmap was
    /// clobbered). Check: `MHeap::free_span` takes a `FreedSpan` that only
    /// `sweep_span` makes after the serialization point, and
    /// `check_ownership` throws if the span is no longer in use at the
    /// publish. Tests: `tests::seeds::seed_004_free_before_publish`; loom
    /// `loom_c_large_free_vs_sweep`, `loom_c_seed_004_free_before_publish`.
    FreeAfterSweep = "FREE_AFTER_SWEEP",
    /// **SWEEP_OWNERSHIP**: a span is swept only by the winner of `CAS(sg-2
    /// -> sg-1)`, which owns it until it stores `sg`. Seed 001 (ownership
    /// checked before and after the sweep). Check: a `SweepLocked` exists
    /// only via `try_acquire`; `check_ownership` asserts `InUse` and
    /// `sg-1` right before the publish; the mcentral and the profiler
    /// throw on a span in a state they may not see. Tests:
    /// `tests::checks::sweep_ownership_detects_stolen_span`; every loom
    /// model.
    SweepOwnership = "SWEEP_OWNERSHIP",
    /// **MARK_BAD_POINTER**: every pointer given to `Marker::mark` (or to
    /// `set_finalizer`) is the start of an allocated slot of an in-use
    /// span. No seed: it catches embedder bugs (a stale handle, a pointer
    /// into an object). Check: `mark.rs::check_mark_target` in verify
    /// mode; an address outside every span always. Tests:
    /// `tests::checks::bad_pointer_{interior,free_slot,outside_heap}`.
    MarkBadPointer = "MARK_BAD_POINTER",
    /// **SPAN_ACCOUNTING**: after sweeping, bitmaps, `alloc_count`, the
    /// mcentral lists and `heap_alloc`/`heap_objects` agree, and the mark
    /// bits are a subset of the allocation bits. No seed. Check:
    /// `verify::check_span_accounting` at sweep termination and after a
    /// full collection (verify mode); `sweep_bits` always. Tests:
    /// `tests::checks::span_accounting_detects_miscount`; every verify-mode
    /// test in `tests/graphs.rs`.
    SpanAccounting = "SPAN_ACCOUNTING",
    /// **SPAN_STATE**: a span's state changes only along `Dead <-> InUse`
    /// (`MSpanState`'s table). No seed. Check: `MSpan::transition`. Tests:
    /// every span allocation and free; `tests::checks` through the other
    /// checks that corrupt state.
    SpanState = "SPAN_STATE",
    /// **MCENTRAL_LISTS**: a span is on at most one mcentral list at a
    /// time, and only on a list that exists. No seed. Check:
    /// `MCentralLocked::push`/`list_mut`. Tests: every allocation path;
    /// `tests/graphs.rs` in verify mode through `SPAN_ACCOUNTING`.
    McentralLists = "MCENTRAL_LISTS",
    /// **LOCK_RANK**: locks are taken in increasing [`LockRank`] order
    /// (debug builds). No seed. Check: `sync::Mutex::lock`. Test:
    /// `tests::checks::lock_rank_detects_inversion`.
    ///
    /// [`LockRank`]: crate::LockRank
    LockRank = "LOCK_RANK",
    /// **SCAN_ONCE**: each unfinished coroutine's stack is scanned exactly
    /// once per cycle, by whoever wins its `_Gscan`-style claim. Seed 003
    /// (the collector and the goroutine raced on a plain `gcworkdone` flag:
    /// stacks were scanned twice or not at all). Check:
    /// `stackscan::ScanState::try_claim` (one CAS per coroutine per cycle;
    /// throws on a cycle going backwards); the VM throws on a failed claim
    /// for a stack already scanned, and in verify mode on a coroutine not
    /// `scanned_in` the cycle (`vm/src/object/roots.rs`). Tests:
    /// `stackscan::tests`; loom `loom_stackscan_worker_vs_self_scan`,
    /// `loom_stackscan_seed_003_check_then_set`; the VM's seed-003 tests.
    ScanOnce = "SCAN_ONCE",
    /// **FINQ_WAKE**: whoever queues a finalizer (background sweeper, lazy
    /// sweep, full sweep) sets `fingwake` under the queue lock, and the
    /// scheduler readies the parked finalizer coroutine on `fingwait &&
    /// fingwake`; waking is never tied to the background sweeper finishing.
    /// Seed 000 (the finalizer goroutine was woken only when `bgsweep`
    /// finished, so finalizers queued later by lazy sweeping waited
    /// forever). Check: `Finq::queue` sets `fingwake` in the push's
    /// critical section; in verify mode `fin_park`/`fin_should_wake` throw
    /// if the coroutine is parked with a non-empty queue and no `fingwake`.
    /// Tests: `tests::seeds::seed_000_finq_wake_lazy_sweep`;
    /// `tests/finalizers.rs::fin_park_then_wake_in_every_mode`; loom
    /// `loom_finq_no_lost_wakeup`, `loom_finq_seed_000_lost_wakeup`,
    /// `loom_finq_seed_000_named_check`.
    FinqWake = "FINQ_WAKE",
    /// **SPECIALS_KEEP_ALIVE**: an object with a finalizer special is never
    /// freed: the sweep marks and queues it before the bitmaps turn over, so
    /// a span returned to the page heap has no specials. No seed. Check:
    /// `finalizer::check_no_specials` in `MHeap::free_span`. Tests:
    /// `tests::checks::specials_keep_alive_detects_freed_finalizable_object`;
    /// `tests/finalizers.rs` (all modes, large objects).
    SpecialsKeepAlive = "SPECIALS_KEEP_ALIVE",
    /// **BGSWEEP**: the background sweeper thread ends only when the heap
    /// shuts it down. No seed. Check: `BgSweeper::shutdown` throws if the
    /// thread panicked (a collector bug on that thread must not be
    /// swallowed). Test: none can make the thread panic without a bug; the
    /// check exists so one would not pass silently.
    BgSweep = "BGSWEEP",
    /// **CHECKMARK**: at mark termination no object reachable from the
    /// roots is white: the concurrent mark (worker, assists, barrier,
    /// self-scans, allocate-black) left no black→white edge. Seed 003 in
    /// its concurrent form (a stack skipped), and any store kind the
    /// barrier misses. Check: `verify::checkmark` in verify mode re-marks
    /// from the roots, world stopped, into the second bitmap and throws
    /// naming the first reachable object with a clear mark bit and its
    /// referrer. Tests: `tests::concurrent::checkmark_catches_a_white_object`
    /// (a store with the barrier switched off);
    /// the VM's `tests::missing_barrier_is_caught_by_checkmark` (list
    /// element stores without the barrier, `VmSeed::NoItemBarrier`); the
    /// loom models `loom_mark_barrier_*` and `loom_mark_termination_*`
    /// (the same property, asserted under every interleaving).
    Checkmark = "CHECKMARK",
    /// **MARK_PHASE**: a cycle's steps run in order (`Off -> start_mark ->
    /// Mark -> finish_mark -> Off`), a stop-the-world cycle never starts
    /// while a concurrent one marks, and the mark worker ends only when
    /// the heap shuts it down. Check: `Heap::collect`, `start_mark` and
    /// `finish_mark` throw on a step out of order; `MarkWorker::shutdown`
    /// on a panicked thread. Test: `tests::checks::mark_phase_out_of_order`.
    MarkPhase = "MARK_PHASE",
}

#[cfg(test)]
mod tests {
    use super::Invariant;

    #[test]
    fn names_are_unique_and_screaming_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for inv in Invariant::ALL {
            let n = inv.name();
            assert!(seen.insert(n), "{n} twice");
            assert!(n.chars().all(|c| c.is_ascii_uppercase() || c == '_'), "{n}");
        }
    }
}
