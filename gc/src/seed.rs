//! Test switches that re-introduce four historical Go runtime races (see
//! `shared/seeds/`), so tests can show that the named checks and the loom
//! models catch them.
//!
//! Every injection point in the collector is one named call of a hooks
//! type below ([`SeedHooks`] for the heap, [`Seed002`] inside `AllSpans`).
//! The switches themselves exist only under `cfg(test)`, `cfg(loom)` or
//! the `seed-bugs` feature; without them each hook is an empty
//! `#[inline(always)]` function returning "no bug", so a release build
//! carries no switch and no way to turn one on.
#![allow(unsafe_code)]
//!
//! | switch | seed | injection point | what it breaks | caught by |
//! | --- | --- | --- | --- | --- |
//! | `FingwakeAtBgSweepEnd` | 000 | `Finq::queue` ([`SeedHooks::queue_sets_fingwake`]), `bgsweep::on_drained` ([`SeedHooks::wake_finalizers_at_drain`]) | queuing a finalizer does not set `fingwake`; only the background sweeper, when it has drained a cycle's snapshot, sets it if the queue is non-empty then, so finalizers queued later by lazy sweeping never wake the finalizer coroutine | `FINQ_WAKE` in `fin_park`/`fin_should_wake` (verify); `tests::seeds::seed_000_finq_wake_lazy_sweep`; loom `loom_finq` |
//! | `MarkDuringSweep` | 001 | `sweep::finish_sweep` ([`SeedHooks::waits_for_sweepers`]) | sweep termination does not wait for in-flight sweepers | `SWEEP_BEFORE_MARK` at mark start; loom model (a) |
//! | `AllspansRealloc` | 002 | `AllSpans::push` ([`Seed002::after_push`]) and `AllSpans::get` ([`Seed002::read_window`]) | the production span list moves the chunk it appends to and "frees" (poisons) the old one, as Go's `allspans` array was reallocated under its readers | `SPAN_LIST_SNAPSHOT` in `AllSpans::get`; loom model (b) |
//! | `FreeBeforePublish` | 004 | `SweepLocked::sweep_span` ([`SeedHooks::free_before_publish`]) | a dead span goes back to the page heap before its sweep publishes sweepgen | `FREE_AFTER_SWEEP` at the serialization point; loom model (c) |

use crate::mspan::MSpan;
use crate::sweep::Sweeper;
use crate::sync::AtomicPtr;

/// The value a "freed" `allspans` chunk's slots read as (Go's `SysFree`
/// handed the memory back; the seed poisons it instead, so the stale read
/// is detectable and memory-safe).
pub(crate) const FREED_SLOT: usize = 0xDBDB_DBDB_DBDB_DBD8;

#[cfg(any(test, loom, feature = "seed-bugs"))]
mod switches {
    use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};

    /// A historical bug to re-introduce.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    #[repr(u8)]
    pub enum SeedBug {
        /// No bug (default).
        None = 0,
        /// Seed 000: `fingwake` is set only when the background sweeper has
        /// drained the snapshot, not by whoever queues a finalizer.
        /// (Discriminant 10: 0 is `None`.)
        FingwakeAtBgSweepEnd = 10,
        /// Seed 001: start marking without waiting for active sweepers.
        MarkDuringSweep = 1,
        /// Seed 002: growing `allspans` moves and frees the chunk readers use.
        AllspansRealloc = 2,
        /// Seed 004: release a dead span before publishing its sweepgen.
        FreeBeforePublish = 4,
    }

    /// One heap's switch.
    #[derive(Debug, Default)]
    pub(crate) struct Switch {
        bug: AtomicU8,
        /// Microseconds a race window is held open (real-thread tests; 0
        /// under loom, which explores the interleavings instead).
        window_us: AtomicU32,
    }

    impl Switch {
        pub(crate) fn set(&self, bug: SeedBug, window_us: u32) {
            self.bug.store(bug as u8, Ordering::SeqCst);
            self.window_us.store(window_us, Ordering::SeqCst);
        }

        #[inline]
        pub(crate) fn active(&self, bug: SeedBug) -> bool {
            self.bug.load(Ordering::Relaxed) == bug as u8
        }

        pub(crate) fn window(&self) {
            let us = self.window_us.load(Ordering::Relaxed);
            if us > 0 {
                #[cfg(not(loom))]
                std::thread::sleep(std::time::Duration::from_micros(us as u64));
            }
        }
    }
}

#[cfg(any(test, loom, feature = "seed-bugs"))]
pub use switches::SeedBug;

/// The heap's seed switches and the injection points of seeds 000, 001 and
/// 004 (seed 002's are in [`Seed002`]).
#[derive(Debug, Default)]
pub(crate) struct SeedHooks {
    #[cfg(any(test, loom, feature = "seed-bugs"))]
    switch: switches::Switch,
}

#[cfg(any(test, loom, feature = "seed-bugs"))]
impl SeedHooks {
    pub(crate) fn set(&self, bug: SeedBug, window_us: u32) {
        self.switch.set(bug, window_us);
    }

    /// Seed 000, in `Finq::queue`: whether queuing a finalizer sets
    /// `fingwake` (always, unless seed 000 is re-introduced).
    #[inline(always)]
    pub(crate) fn queue_sets_fingwake(&self) -> bool {
        !self.switch.active(SeedBug::FingwakeAtBgSweepEnd)
    }

    /// Seed 000, in `bgsweep::on_drained`: whether the pre-fix `bgsweep`
    /// wake-up happens here (only when seed 000 is re-introduced).
    #[inline(always)]
    pub(crate) fn wake_finalizers_at_drain(&self) -> bool {
        self.switch.active(SeedBug::FingwakeAtBgSweepEnd)
    }

    /// Seed 001, in `finish_sweep`: whether sweep termination waits for
    /// in-flight sweepers (always, unless seed 001 is re-introduced).
    #[inline(always)]
    pub(crate) fn waits_for_sweepers(&self) -> bool {
        !self.switch.active(SeedBug::MarkDuringSweep)
    }

    /// In `sweep_span`, right after the claim: holds the background
    /// sweeper inside its span for the race window (seed 001's test).
    #[inline(always)]
    pub(crate) fn span_claimed(&self, who: Sweeper) {
        if who == Sweeper::Background {
            self.switch.window();
        }
    }

    /// Seed 004, in `sweep_span` before the ownership check: with the
    /// switch on, a dead span is freed (`free`) before its sweep publishes.
    /// Returns whether it was.
    #[inline(always)]
    pub(crate) fn free_before_publish(&self, dead: bool, free: impl FnOnce()) -> bool {
        if dead && self.switch.active(SeedBug::FreeBeforePublish) {
            free();
            return true;
        }
        false
    }
}

#[cfg(not(any(test, loom, feature = "seed-bugs")))]
impl SeedHooks {
    #[inline(always)]
    pub(crate) fn queue_sets_fingwake(&self) -> bool {
        true
    }
    #[inline(always)]
    pub(crate) fn wake_finalizers_at_drain(&self) -> bool {
        false
    }
    #[inline(always)]
    pub(crate) fn waits_for_sweepers(&self) -> bool {
        true
    }
    #[inline(always)]
    pub(crate) fn span_claimed(&self, _who: Sweeper) {}
    #[inline(always)]
    pub(crate) fn free_before_publish(&self, _dead: bool, _free: impl FnOnce()) -> bool {
        false
    }
}

/// Seed 002's injection points, inside the production `AllSpans`.
#[derive(Debug, Default)]
pub(crate) struct Seed002 {
    #[cfg(any(test, loom, feature = "seed-bugs"))]
    switch: switches::Switch,
    /// Chunks the seed "freed": poisoned, kept so stale reads stay
    /// memory-safe, dropped with the list.
    #[cfg(any(test, loom, feature = "seed-bugs"))]
    graveyard: std::sync::Mutex<Vec<(usize, usize)>>,
}

#[cfg(any(test, loom, feature = "seed-bugs"))]
impl Seed002 {
    pub(crate) fn set(&self, bug: SeedBug, window_us: u32) {
        self.switch.set(bug, window_us);
    }

    /// After an append, under the heap lock: with the switch on, every
    /// published chunk (`chunks[k]` holds `first << k` slots) moves to a
    /// fresh array and the old one is poisoned, as Go's `RecordSpan`
    /// reallocated the whole `allspans` array and freed the old one while
    /// the marker and sweepers still read it.
    #[inline(always)]
    pub(crate) fn after_push(&self, chunks: &[AtomicPtr<AtomicPtr<MSpan>>], first: usize) {
        use crate::sync::Ordering;
        if !self.switch.active(SeedBug::AllspansRealloc) {
            return;
        }
        for (k, chunk) in chunks.iter().enumerate() {
            let old = chunk.load(Ordering::Relaxed);
            if old.is_null() {
                break;
            }
            let n = first << k;
            let fresh: Box<[AtomicPtr<MSpan>]> = (0..n)
                .map(|i| {
                    // SAFETY: `old` is the live chunk k of n slots (we hold
                    // the heap lock, the only writer).
                    let v = unsafe { &*old.add(i) }.load(Ordering::Relaxed);
                    AtomicPtr::new(v)
                })
                .collect();
            chunk.store(
                Box::into_raw(fresh) as *mut AtomicPtr<MSpan>,
                Ordering::Release,
            );
            for i in 0..n {
                // SAFETY: as above; `old` stays allocated (graveyard).
                unsafe { &*old.add(i) }.store(FREED_SLOT as *mut MSpan, Ordering::Release);
            }
            self.graveyard
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((old as usize, n));
        }
    }

    /// In `AllSpans::get`, between loading a chunk pointer and reading the
    /// slot: the window in which growth may move the chunk.
    #[inline(always)]
    pub(crate) fn read_window(&self) {
        if self.switch.active(SeedBug::AllspansRealloc) {
            self.switch.window();
        }
    }
}

#[cfg(any(test, loom, feature = "seed-bugs"))]
impl Drop for Seed002 {
    fn drop(&mut self) {
        let graves = std::mem::take(self.graveyard.get_mut().unwrap_or_else(|e| e.into_inner()));
        for (p, n) in graves {
            // SAFETY: each grave came from `Box::into_raw` of a boxed slice
            // of exactly n slots (a chunk allocated by `AllSpans::push` or by
            // `after_push`); nobody reads it any more (the list is dropping).
            drop(unsafe {
                Box::from_raw(core::ptr::slice_from_raw_parts_mut(
                    p as *mut AtomicPtr<MSpan>,
                    n,
                ))
            });
        }
    }
}

#[cfg(not(any(test, loom, feature = "seed-bugs")))]
impl Seed002 {
    #[inline(always)]
    pub(crate) fn after_push(&self, _chunks: &[AtomicPtr<AtomicPtr<MSpan>>], _first: usize) {}
    #[inline(always)]
    pub(crate) fn read_window(&self) {}
}
