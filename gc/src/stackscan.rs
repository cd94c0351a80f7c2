//! The stack-scan claim (`SCAN_ONCE`): Go's `_Gscan` bit, for one
//! coroutine (DESIGN.md "Coroutines and safepoints").
//!
//! Every coroutine has one [`ScanState`], a single atomic word that records
//! the last collection cycle in which its stack was scanned, plus a "being
//! scanned" bit. Whoever wants to scan the stack for cycle `c` — the
//! collector scanning a parked coroutine, or the running coroutine scanning
//! itself at its next safepoint — first calls [`ScanState::try_claim`]; only
//! the winner scans, and it publishes with [`ScanClaim::finish`]. So a stack
//! is scanned exactly once per cycle however many parties race for it: the
//! fix of seed 003 (Go's `gcworkdone` was a plain flag tested and set
//! around the scan, so the collector and the goroutine both scanned, or a
//! scan was lost; Go 1.5 made `gcscandone` "protected by the `_Gscan` bit").
//!
//! The stop-the-world marker of this version is the only scanner today, but
//! it goes through the same claim, so the concurrent-mark version only adds
//! parties, not a protocol.
//!
//! Unlike Go, where `_Gscan` is a bit of the goroutine's run status
//! (`_Gscanrunnable`, ...), the word holds only the scan state: a
//! coroutine's run state (`CoState` in the VM) is changed by the VM thread
//! alone. The concurrent-mark version must therefore add one rule where the
//! scheduler resumes a coroutine: not while [`ScanState::being_scanned`]
//! (the parked stack is being read), which Go gets from the CAS on the
//! combined word.
//!
//! # States and legal transitions
//!
//! The word is `last << 1 | scanning`, with `last` the last cycle whose scan
//! finished (0: never scanned; cycles are numbered from 1) and `scanning`
//! bit 0. With `c` the cycle being marked (cycles only grow):
//!
//! | word | meaning | who may change it, to what |
//! | --- | --- | --- |
//! | `last << 1`, `last < c` | not yet scanned in cycle `c` (idle) | any scanner, `-> last << 1 \| 1`, only by the CAS in `try_claim(c)` |
//! | `last << 1 \| 1` | being scanned: the [`ScanClaim`] holder owns the stack for reading; the coroutine must not run (its stack must not change) until the bit clears | only that holder: `-> c << 1` by the release store in `finish` (or back to `last << 1` if it drops the claim unfinished) |
//! | `c << 1` | scanned in cycle `c` | nobody in cycle `c`; the next cycle's `try_claim(c + 1)` claims it again |
//! | `last << 1`, `last > c` | a scan from the future: cycle numbers went backwards | never; `try_claim` throws `SCAN_ONCE` |
//!
//! A failed `try_claim(c)` means either the stack is already scanned for
//! `c` ([`ScanState::scanned_in`]) or another party is scanning it right
//! now; in both cases the loser must not touch the stack. For the
//! stop-the-world marker, which is the only party, a failed claim is a
//! double scan (`SCAN_ONCE`, `vm/src/object/roots.rs`).
//!
//! Ordering: the claim is an acquire CAS (the claimer sees everything the
//! previous scan wrote), `finish` a release store (whoever later sees
//! `scanned_in(c)` — an acquire load — sees the scan's work, e.g. the
//! marks it set).

use crate::sync::{AtomicU64, Ordering};

/// Bit 0 of the word: someone holds a [`ScanClaim`].
const SCANNING: u64 = 1;

/// A coroutine's scan status word (see the module docs for the states).
#[derive(Debug)]
#[repr(transparent)]
pub struct ScanState(AtomicU64);

impl Default for ScanState {
    fn default() -> Self {
        ScanState::new()
    }
}

impl ScanState {
    /// Never scanned, not being scanned.
    pub fn new() -> ScanState {
        ScanState(AtomicU64::new(0))
    }

    /// Claims the stack for scanning in `cycle` (≥ 1). `None` if it has
    /// already been scanned in `cycle` or someone else is scanning it; the
    /// caller must then leave the stack alone.
    pub fn try_claim(&self, cycle: u64) -> Option<ScanClaim<'_>> {
        debug_assert!(cycle > 0 && cycle < (1 << 63), "cycle out of range");
        let mut w = self.0.load(Ordering::Acquire);
        loop {
            if w & SCANNING != 0 {
                return None; // someone else is scanning
            }
            let last = w >> 1;
            if last == cycle {
                return None; // already scanned in this cycle
            }
            if last > cycle {
                gc_throw!(
                    ScanOnce,
                    "stack scanned in cycle {last}, now claimed for earlier cycle {cycle}"
                );
            }
            match self
                .0
                .compare_exchange(w, w | SCANNING, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    return Some(ScanClaim {
                        state: self,
                        cycle,
                        before: w,
                    })
                }
                // Someone moved the word (claimed, or finished a scan):
                // decide again on what is there now.
                Err(now) => w = now,
            }
        }
    }

    /// The stack's scan for `cycle` has finished (acquire: the scan's work
    /// is visible to the caller).
    pub fn scanned_in(&self, cycle: u64) -> bool {
        self.0.load(Ordering::Acquire) == cycle << 1
    }

    /// Someone holds the claim right now.
    pub fn being_scanned(&self) -> bool {
        self.0.load(Ordering::Acquire) & SCANNING != 0
    }

    /// The last cycle whose scan finished (0: never), for diagnostics.
    pub fn last_scanned(&self) -> u64 {
        self.0.load(Ordering::Acquire) >> 1
    }

    /// Seed 003 re-introduced, for the loom model only: the pre-fix "check
    /// a flag, then set it" with no atomic read-modify-write, so two parties
    /// can both see "not scanned" and both scan. Never use outside tests.
    #[cfg(any(test, loom, feature = "seed-bugs"))]
    pub fn seed_003_try_claim_check_then_set(&self, cycle: u64) -> Option<ScanClaim<'_>> {
        let w = self.0.load(Ordering::Acquire);
        if w & SCANNING != 0 || w >> 1 == cycle {
            return None;
        }
        self.0.store(w | SCANNING, Ordering::Release);
        Some(ScanClaim {
            state: self,
            cycle,
            before: w,
        })
    }
}

/// The right to scan one coroutine's stack in one cycle: exists only as the
/// result of a successful [`ScanState::try_claim`] (the `_Gscan` bit is set
/// while it lives).
#[must_use = "a claim that is not finished leaves the stack unscanned"]
#[derive(Debug)]
pub struct ScanClaim<'a> {
    state: &'a ScanState,
    cycle: u64,
    /// The word before the claim, restored if the claim is dropped
    /// unfinished.
    before: u64,
}

impl ScanClaim<'_> {
    /// The cycle this claim scans for.
    pub fn cycle(&self) -> u64 {
        self.cycle
    }

    /// The scan is done: publishes `cycle` and clears the bit in one
    /// release store, so the scan's work happens-before any observer of
    /// `scanned_in(cycle)` and any later claim.
    pub fn finish(self) {
        self.state.0.store(self.cycle << 1, Ordering::Release);
        std::mem::forget(self);
    }
}

impl Drop for ScanClaim<'_> {
    /// Dropped without `finish` (the scan was abandoned, e.g. by a panic):
    /// the stack counts as not scanned, so another party can claim it and
    /// verify mode still sees the miss.
    fn drop(&mut self) {
        self.state.0.store(self.before, Ordering::Release);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::ScanState;

    #[test]
    fn claim_once_per_cycle() {
        let s = ScanState::new();
        assert!(!s.scanned_in(1));
        let c = s.try_claim(1).expect("first claim");
        assert!(s.being_scanned());
        assert!(s.try_claim(1).is_none(), "held");
        c.finish();
        assert!(s.scanned_in(1) && !s.being_scanned());
        assert!(s.try_claim(1).is_none(), "already scanned");
        // A cycle may be skipped (a coroutine created between cycles).
        s.try_claim(3).expect("next cycle").finish();
        assert!(s.scanned_in(3) && !s.scanned_in(1));
        assert_eq!(s.last_scanned(), 3);
    }

    #[test]
    fn dropped_claim_is_not_a_scan() {
        let s = ScanState::new();
        s.try_claim(1).unwrap().finish();
        drop(s.try_claim(2).unwrap());
        assert!(!s.being_scanned() && !s.scanned_in(2) && s.scanned_in(1));
        assert!(s.try_claim(2).is_some());
    }
}
