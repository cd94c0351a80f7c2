//! The stack-scan claim (`SCAN_ONCE`): Go's `_Gscan` bit and the
//! `_Grunning` status it excludes, for one coroutine (DESIGN.md
//! "Coroutines and safepoints").
//!
//! Every coroutine has one [`ScanState`]: an atomic word that records the
//! last collection cycle in which its stack was scanned, a "being scanned"
//! bit and a "running" bit, plus a witness word. Whoever wants to scan the
//! stack for cycle `c` first claims it; only the winner scans, and it
//! publishes with [`ScanClaim::finish`]. Two parties race for the claim
//! while a cycle marks concurrently:
//! - the **mark worker** (or an assist) that reaches a coroutine object
//!   through the grey queue: [`ScanState::try_claim`], which fails while
//!   the coroutine runs (its stack is changing under the interpreter with
//!   no barrier) or is scanned or being scanned;
//! - the **coroutine itself** at a safepoint (made running at mark start,
//!   or resumed during the mark): [`ScanState::set_running`] first (waits
//!   while the worker holds the claim, so a stack is never read while it
//!   runs), then [`ScanState::try_claim_running`] scans it unless the
//!   worker already did.
//!
//! So a stack is scanned exactly once per cycle however the two race: the
//! fix of seed 003 (Go's `gcworkdone` was a plain flag tested and set
//! around the scan, so the collector and the goroutine both scanned, or a
//! scan was lost; Go 1.5 made `gcscandone` "protected by the `_Gscan`
//! bit"). Go keeps both bits in the goroutine's status word so that one
//! CAS decides; here too, the running bit and the scan bit share the word.
//! The coroutine's *run state* (`CoState` in the VM) is still the VM
//! thread's alone: the running bit says only "the interpreter may be
//! changing this stack now".
//!
//! # States and legal transitions
//!
//! The word is `last << 2 | running << 1 | scanning`, with `last` the last
//! cycle whose scan finished (0: never scanned; cycles are numbered from 1).
//! With `c` the cycle being marked (cycles only grow):
//!
//! | word | meaning | who may change it, to what |
//! | --- | --- | --- |
//! | `last << 2`, `last < c` | parked, not yet scanned in `c` | the worker, `-> \| SCANNING` by the CAS in `try_claim(c)`; the mutator, `-> \| RUNNING` by the CAS in `set_running` |
//! | `last << 2 \| RUNNING` | running (the mutator's current coroutine) | the mutator: `-> \| SCANNING` (`try_claim_running`, its self-scan) or `-> last << 2` (`clear_running`) |
//! | `... \| SCANNING` | being scanned: the [`ScanClaim`] holder owns the stack for reading; `set_running` waits | only that holder: `-> c << 2` (keeping `RUNNING` for a self-scan) by the release store in `finish`, or back to the word before the claim if it drops the claim unfinished |
//! | `c << 2` (`\| RUNNING`) | scanned in cycle `c` | no claim in cycle `c` succeeds; the running bit still comes and goes |
//! | `last << 2`, `last > c` | a scan from the future: cycle numbers went backwards | never; a claim throws `SCAN_ONCE` |
//!
//! A failed claim means the stack is already scanned for `c`
//! ([`ScanState::scanned_in`]), someone else is scanning it, or (for
//! `try_claim`) it is running and will scan itself; in every case the
//! loser must not touch the stack. For the stop-the-world marker, which is
//! the only party, a failed claim is a double scan (`SCAN_ONCE`,
//! `vm/src/object/roots.rs`).
//!
//! The witness word records the last cycle anyone *scanned* the stack
//! (claim or not): [`ScanState::note_scan`], called by every stack scan,
//! throws `SCAN_ONCE` when a stack is scanned twice in one cycle. It never
//! fires under the claim; it is how a broken claim (seed 003 re-injected)
//! fails loudly instead of silently.
//!
//! Ordering: claims are acquire CASes (the claimer sees everything the
//! previous scan and the last run wrote: `clear_running` is a release),
//! `finish` a release store (whoever later sees `scanned_in(c)` — an
//! acquire load — sees the scan's work, e.g. the marks it set).

use crate::sync::{AtomicU64, Ordering};

/// Bit 0 of the word: someone holds a [`ScanClaim`].
const SCANNING: u64 = 1;
/// Bit 1: the coroutine is the mutator's running one (set only while a
/// cycle marks concurrently).
const RUNNING: u64 = 2;
const SHIFT: u32 = 2;

/// A coroutine's scan status (see the module docs for the states).
#[derive(Debug)]
pub struct ScanState {
    word: AtomicU64,
    witness: AtomicU64,
}

impl Default for ScanState {
    fn default() -> Self {
        ScanState::new()
    }
}

impl ScanState {
    /// Never scanned, not being scanned, not running.
    pub fn new() -> ScanState {
        ScanState {
            word: AtomicU64::new(0),
            witness: AtomicU64::new(0),
        }
    }

    /// A coroutine created while cycle `cycle` marks: its stack holds only
    /// values from the (already scanned) stack of its creator, so it counts
    /// as scanned in `cycle` (Go: goroutines created during mark start
    /// black).
    pub fn new_scanned(cycle: u64) -> ScanState {
        ScanState {
            word: AtomicU64::new(cycle << SHIFT),
            witness: AtomicU64::new(cycle),
        }
    }

    /// The mark worker's claim: the stack of a coroutine that is not
    /// running, for `cycle` (≥ 1). `None` if it has already been scanned
    /// in `cycle`, someone else is scanning it, or it is running (it scans
    /// itself); the caller must then leave the stack alone.
    pub fn try_claim(&self, cycle: u64) -> Option<ScanClaim<'_>> {
        self.claim(cycle, false)
    }

    /// The running coroutine's self-scan at a safepoint: like
    /// [`try_claim`](Self::try_claim), but the caller is the mutator and
    /// has set the running bit ([`set_running`](Self::set_running)).
    pub fn try_claim_running(&self, cycle: u64) -> Option<ScanClaim<'_>> {
        self.claim(cycle, true)
    }

    fn claim(&self, cycle: u64, own: bool) -> Option<ScanClaim<'_>> {
        debug_assert!(cycle > 0 && cycle < (1 << 61), "cycle out of range");
        let mut w = self.word.load(Ordering::Acquire);
        loop {
            if w & SCANNING != 0 {
                return None; // someone else is scanning
            }
            if (w & RUNNING != 0) != own {
                if own {
                    gc_throw!(ScanOnce, "self-scan of a coroutine that is not running");
                }
                return None; // running: it scans itself at its safepoint
            }
            let last = w >> SHIFT;
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
                .word
                .compare_exchange(w, w | SCANNING, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    return Some(ScanClaim {
                        state: self,
                        cycle,
                        before: w,
                    })
                }
                // Someone moved the word (claimed, finished a scan, started
                // or stopped running): decide again on what is there now.
                Err(now) => w = now,
            }
        }
    }

    /// The mutator is about to run this coroutine: sets the running bit,
    /// first waiting while someone scans the stack (Go: a goroutine is not
    /// resumed while `_Gscan` is set). Acquire: the mutator sees what the
    /// scan read the stack as; the scanner never sees it change.
    pub fn set_running(&self) {
        let mut w = self.word.load(Ordering::Acquire);
        loop {
            if w & SCANNING != 0 {
                // A scan is short (one stack); the worker never waits for
                // the mutator while holding a claim.
                crate::sync::yield_now();
                w = self.word.load(Ordering::Acquire);
                continue;
            }
            match self
                .word
                .compare_exchange(w, w | RUNNING, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return,
                Err(now) => w = now,
            }
        }
    }

    /// The coroutine stopped running: the worker may claim it. Release:
    /// the stack height and frames the mutator wrote back are visible to
    /// the claimer.
    pub fn clear_running(&self) {
        self.word.fetch_and(!RUNNING, Ordering::AcqRel);
    }

    /// Whether the running bit is set.
    pub fn is_running(&self) -> bool {
        self.word.load(Ordering::Acquire) & RUNNING != 0
    }

    /// The stack's scan for `cycle` has finished (acquire: the scan's work
    /// is visible to the caller).
    pub fn scanned_in(&self, cycle: u64) -> bool {
        self.word.load(Ordering::Acquire) >> SHIFT == cycle
            && self.word.load(Ordering::Acquire) & SCANNING == 0
    }

    /// Someone holds the claim right now.
    pub fn being_scanned(&self) -> bool {
        self.word.load(Ordering::Acquire) & SCANNING != 0
    }

    /// The last cycle whose scan finished (0: never), for diagnostics.
    pub fn last_scanned(&self) -> u64 {
        self.word.load(Ordering::Acquire) >> SHIFT
    }

    /// Every stack scan calls this first: throws `SCAN_ONCE` if the stack
    /// was already scanned in `cycle` (the claim makes that impossible;
    /// see the module docs).
    pub fn note_scan(&self, cycle: u64) {
        let prev = self.witness.swap(cycle, Ordering::AcqRel);
        if prev == cycle {
            gc_throw!(ScanOnce, "stack scanned twice in cycle {cycle}");
        }
    }

    /// Seed 003 re-introduced, for the loom model only: the pre-fix "check
    /// a flag, then set it" with no atomic read-modify-write, so two parties
    /// can both see "not scanned" and both scan. Never use outside tests.
    #[cfg(any(test, loom, feature = "seed-bugs"))]
    pub fn seed_003_try_claim_check_then_set(&self, cycle: u64) -> Option<ScanClaim<'_>> {
        let w = self.word.load(Ordering::Acquire);
        if w & SCANNING != 0 || w >> SHIFT == cycle {
            return None;
        }
        self.word.store(w | SCANNING, Ordering::Release);
        Some(ScanClaim {
            state: self,
            cycle,
            before: w,
        })
    }
}

/// The right to scan one coroutine's stack in one cycle: exists only as the
/// result of a successful claim (the `_Gscan` bit is set while it lives).
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

    /// The scan is done: publishes `cycle` and clears the scan bit in one
    /// release store (keeping the running bit of a self-scan), so the
    /// scan's work happens-before any observer of `scanned_in(cycle)` and
    /// any later claim. Nobody else changes the word while the bit is set.
    pub fn finish(self) {
        self.state.word.store(
            self.cycle << SHIFT | (self.before & RUNNING),
            Ordering::Release,
        );
        std::mem::forget(self);
    }
}

impl Drop for ScanClaim<'_> {
    /// Dropped without `finish` (the scan was abandoned, e.g. by a panic):
    /// the stack counts as not scanned, so another party can claim it and
    /// verify mode still sees the miss.
    fn drop(&mut self) {
        self.state.word.store(self.before, Ordering::Release);
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

    #[test]
    fn running_excludes_the_worker_not_the_self_scan() {
        let s = ScanState::new();
        s.set_running();
        assert!(s.is_running());
        assert!(s.try_claim(1).is_none(), "worker claimed a running stack");
        let c = s.try_claim_running(1).expect("self-scan");
        c.finish();
        assert!(
            s.scanned_in(1) && s.is_running(),
            "finish kept the running bit"
        );
        assert!(s.try_claim_running(1).is_none(), "scanned twice");
        s.clear_running();
        assert!(!s.is_running() && s.scanned_in(1));
        assert!(
            s.try_claim(2).is_some(),
            "parked again: the worker may claim"
        );
    }

    #[test]
    fn born_scanned() {
        let s = ScanState::new_scanned(4);
        assert!(s.scanned_in(4));
        assert!(s.try_claim(4).is_none());
        assert!(s.try_claim(5).is_some());
    }

    #[test]
    fn witness_catches_a_second_scan() {
        use crate::tests::{assert_child_throws, child_scenario};
        if child_scenario().is_some() {
            let s = ScanState::new();
            s.note_scan(1);
            s.note_scan(2);
            s.note_scan(2);
            return;
        }
        assert_child_throws(
            "stackscan::tests::witness_catches_a_second_scan",
            "x",
            crate::Invariant::ScanOnce,
        );
    }
}
