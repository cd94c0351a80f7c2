//! Test switches that re-introduce four historical Go runtime races (see
//! `shared/seeds/`), so tests can show that the named checks and the loom
//! models catch them. Compiled only under `cfg(test)`, `cfg(loom)` or the
//! `seed-bugs` feature; each switch is per heap, off by default.
//!
//! | switch | seed | what it breaks | caught by |
//! | --- | --- | --- | --- |
//! | `FingwakeAtBgSweepEnd` | 000 | queuing a finalizer does not set `fingwake`; only the background sweeper, when it has drained a cycle's snapshot, sets it if the queue is non-empty then, so finalizers queued later by lazy sweeping (or with no background sweeper) never wake the finalizer coroutine | `FINQ_WAKE` in `fin_park`/`fin_should_wake` (verify); `tests::seeds::seed_000_finq_wake_lazy_sweep`; loom `loom_finq` |
//! | `MarkDuringSweep` | 001 | sweep termination does not wait for in-flight sweepers | `SWEEP_BEFORE_MARK` at mark start; loom model (a) |
//! | `AllspansRealloc` | 002 | sweepers read the live, reallocating span array without the lock instead of the snapshot | loom model (b) (causality violation) |
//! | `FreeBeforePublish` | 004 | a dead span goes back to the page heap before its sweep publishes sweepgen | `FREE_AFTER_SWEEP` at the serialization point; loom model (c) |

use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};

use crate::sweep::Sweeper;

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
    /// Seed 002: readers iterate the live, reallocating span list.
    AllspansRealloc = 2,
    /// Seed 004: release a dead span before publishing its sweepgen.
    FreeBeforePublish = 4,
}

/// Per-heap switch state (in `MHeap`).
#[derive(Debug, Default)]
pub(crate) struct SeedSwitch {
    bug: AtomicU8,
    /// Microseconds a sweeper sleeps right after claiming a span: widens the
    /// seed-001 race window so the test fires reliably.
    race_window_us: AtomicU32,
}

impl SeedSwitch {
    pub(crate) fn set(&self, bug: SeedBug, race_window_us: u32) {
        self.bug.store(bug as u8, Ordering::SeqCst);
        self.race_window_us.store(race_window_us, Ordering::SeqCst);
    }

    #[inline]
    pub(crate) fn active(&self, bug: SeedBug) -> bool {
        self.bug.load(Ordering::Relaxed) == bug as u8
    }

    /// Widen a race window (background sweeper only, so the mutator's own
    /// sweeping stays fast).
    #[inline]
    pub(crate) fn race_window(&self, who: Sweeper) {
        if who != Sweeper::Background {
            return;
        }
        let us = self.race_window_us.load(Ordering::Relaxed);
        if us > 0 {
            #[cfg(not(loom))]
            std::thread::sleep(std::time::Duration::from_micros(us as u64));
        }
    }
}

// ---------------------------------------------------------------------------
// Seed 002's data structure.

use crate::mspan::MSpan;
use crate::sync::{AtomicPtr, AtomicUsize};

/// What a "freed" array slot reads as (Go's `SysFree` handed the memory
/// back; we poison it instead, so the stale read is detectable).
const FREED: usize = 0xDBDB_DBDB_DBDB_DBDB;

struct SeedArr {
    slots: Box<[AtomicUsize]>,
}

/// Go's `allspans` before the seed-002 fix: one array, reallocated on
/// growth with the old one freed, read by sweepers without the heap lock.
/// Maintained (under the heap lock) only while the `AllspansRealloc` switch
/// is on; the correct code never reads it.
pub(crate) struct SeedLiveList {
    arr: AtomicPtr<SeedArr>,
    len: AtomicUsize,
    /// Old arrays, poisoned, kept so the stale reads stay memory-safe.
    graveyard: std::sync::Mutex<Vec<*mut SeedArr>>,
}

// SAFETY: the raw pointers are arrays owned by this list until drop; slots
// are atomics, so concurrent (buggy) readers race only logically.
unsafe impl Send for SeedLiveList {}
// SAFETY: as above.
unsafe impl Sync for SeedLiveList {}

impl SeedLiveList {
    pub(crate) fn new() -> SeedLiveList {
        SeedLiveList {
            arr: AtomicPtr::new(core::ptr::null_mut()),
            len: AtomicUsize::new(0),
            graveyard: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Live length (the buggy readers' bound).
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// Append; the caller holds the heap lock.
    pub(crate) fn push(&self, span: *const MSpan) {
        let len = self.len.load(Ordering::Relaxed);
        let mut a = self.arr.load(Ordering::Relaxed);
        // SAFETY: arrays are freed only in drop; writers are serialized.
        let cap = unsafe { a.as_ref() }.map_or(0, |a| a.slots.len());
        if len == cap {
            // Go's RecordSpan grew the array by 1.5x; reallocating on every
            // append makes every span creation a chance to catch a stale
            // reader.
            let new = Box::into_raw(Box::new(SeedArr {
                slots: (0..cap + 1).map(|_| AtomicUsize::new(0)).collect(),
            }));
            // SAFETY: `new` is fresh; `a` (if any) is the current array.
            unsafe {
                if let Some(old) = a.as_ref() {
                    for i in 0..len {
                        (*new).slots[i]
                            .store(old.slots[i].load(Ordering::Relaxed), Ordering::Relaxed);
                    }
                }
                self.arr.store(new, Ordering::Release);
                if let Some(old) = a.as_ref() {
                    // "SysFree" the old array.
                    for s in old.slots.iter() {
                        s.store(FREED, Ordering::Release);
                    }
                    self.graveyard.lock().expect("graveyard").push(a);
                }
            }
            a = new;
        }
        // SAFETY: a is the current array with cap > len.
        unsafe { (*a).slots[len].store(span as usize, Ordering::Release) };
        self.len.store(len + 1, Ordering::Release);
    }

    /// The buggy read of entry `idx`: no lock, whatever array is current.
    /// A read from an array that growth has "freed" is what crashed Go; here
    /// it throws `SPAN_LIST_SNAPSHOT`.
    pub(crate) fn read(&self, idx: usize, window: impl FnOnce()) -> Option<&MSpan> {
        let a = self.arr.load(Ordering::Acquire);
        if idx >= self.len() {
            return None;
        }
        window();
        // SAFETY: arrays are never deallocated before drop (graveyard).
        let slots = &unsafe { &*a }.slots;
        let v = match slots.get(idx) {
            Some(s) => s.load(Ordering::Acquire),
            None => FREED,
        };
        if v == FREED || v == 0 {
            gc_throw!(
                SPAN_LIST_SNAPSHOT,
                "sweeper read allspans[{idx}] from an array that growth reallocated and freed under it"
            );
        }
        // SAFETY: span structs live as long as the heap.
        Some(unsafe { &*(v as *const MSpan) })
    }
}

impl Drop for SeedLiveList {
    fn drop(&mut self) {
        let a = self.arr.load(Ordering::Relaxed);
        if !a.is_null() {
            // SAFETY: allocated by `Box::into_raw` in push; last user.
            drop(unsafe { Box::from_raw(a) });
        }
        for &g in self.graveyard.lock().expect("graveyard").iter() {
            // SAFETY: as above.
            drop(unsafe { Box::from_raw(g) });
        }
    }
}
