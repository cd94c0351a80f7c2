//! loom model of `SCAN_ONCE` (seed 003), on the real claim word
//! (`gc::stackscan::ScanState`, loom's atomics under `cfg(loom)`):
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test -p gc --release --test loom_stackscan
//! ```
//!
//! (exhaustive, well under a second.)
//!
//! Threads: a collector thread scanning the parked coroutines and the
//! coroutine itself, which reaches a safepoint and scans its own stack;
//! both try to scan the same coroutine for the same cycle. A scan is the
//! claim winner writing the coroutine's scan record (a loom `UnsafeCell`,
//! so two overlapping scans are also a causality violation) and counting
//! itself in an atomic. The loser, if it finds the scan done, reads the
//! record (checks the release/acquire pairing of `finish` with the claim
//! and `scanned_in`: with a relaxed `finish`, loom reports a causality
//! violation here).
//!
//! Properties: exactly one scan; the word ends as scanned for the cycle
//! with the bit clear; the cycle cannot be claimed again, the next one can.
//! With the seed-003 switch (a test-only check-then-set claim, the pre-fix
//! `gcworkdone` pattern) loom finds the interleaving where both see "not
//! scanned" and both scan.
#![cfg(loom)]
// The scan record is a loom `UnsafeCell`, so its two accesses are `unsafe`.
#![allow(unsafe_code)]

use gc::stackscan::ScanState;
use loom::cell::UnsafeCell;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;

const CYCLE: u64 = 1;

/// One coroutine: its scan word and what a scan of its stack writes.
struct Coroutine {
    scan: ScanState,
    /// The scanner's record of the stack it read (stands in for the
    /// stack and the marks a scan sets). Written only by a claim holder.
    record: UnsafeCell<u64>,
    scans: AtomicUsize,
}

/// Tries to scan `co` for `cycle`, through the real claim or, with `racy`,
/// through the seed-003 check-then-set. Returns whether it scanned.
fn scan(co: &Coroutine, cycle: u64, racy: bool) -> bool {
    let claim = if racy {
        co.scan.seed_003_try_claim_check_then_set(cycle)
    } else {
        co.scan.try_claim(cycle)
    };
    let Some(claim) = claim else {
        // Scanned, or someone else is scanning: hands off the stack. A
        // loser that finds the scan done relies on its work (the collector
        // goes on to mark termination): the release store of `finish` and
        // the acquire of the claim/`scanned_in` make it visible.
        if co.scan.scanned_in(cycle) {
            // SAFETY: ordered after the winner's write by `finish`'s release
            // store and this acquire load; nobody writes it again this
            // cycle.
            assert_eq!(co.record.with(|p| unsafe { *p }), cycle);
        }
        return false;
    };
    let n = co.scans.fetch_add(1, Ordering::Relaxed) + 1;
    assert_eq!(n, 1, "SCAN_ONCE: stack scanned twice in cycle {cycle}");
    // SAFETY: the claim holder owns the stack (and its record) for reading
    // and writing until `finish`; loom reports any overlap.
    co.record.with_mut(|p| unsafe { *p = cycle });
    claim.finish();
    true
}

fn collector_vs_safepoint(racy: bool) {
    loom::model(move || {
        let co = Arc::new(Coroutine {
            scan: ScanState::new(),
            record: UnsafeCell::new(0),
            scans: AtomicUsize::new(0),
        });
        // The collector thread scans every parked coroutine.
        let c1 = co.clone();
        let collector = thread::spawn(move || scan(&c1, CYCLE, racy));
        // The coroutine reaches a safepoint and scans its own stack.
        let c2 = co.clone();
        let safepoint = thread::spawn(move || scan(&c2, CYCLE, racy));
        let a = collector.join().unwrap();
        let b = safepoint.join().unwrap();
        assert!(
            a ^ b,
            "exactly one party scans (collector {a}, safepoint {b})"
        );
        assert_eq!(co.scans.load(Ordering::Relaxed), 1);
        assert!(co.scan.scanned_in(CYCLE) && !co.scan.being_scanned());
        assert!(co.scan.try_claim(CYCLE).is_none(), "cycle claimed twice");
        // The next cycle scans again.
        co.scans.store(0, Ordering::Relaxed);
        assert!(scan(&co, CYCLE + 1, false), "next cycle not claimable");
        assert!(co.scan.scanned_in(CYCLE + 1));
    });
}

#[test]
fn loom_stackscan_collector_vs_safepoint() {
    collector_vs_safepoint(false);
}

/// The model catches a broken protocol: with a check-then-set claim both
/// parties can scan.
#[test]
#[should_panic(expected = "SCAN_ONCE: stack scanned twice")]
fn loom_stackscan_seed_003_check_then_set() {
    collector_vs_safepoint(true);
}
