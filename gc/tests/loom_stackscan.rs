//! loom model of `SCAN_ONCE` (seed 003) under a concurrent mark, on the
//! real claim word (`gc::stackscan::ScanState`, loom's atomics under
//! `cfg(loom)`):
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test -p gc --release --test loom_stackscan -- --nocapture
//! ```
//!
//! Each model prints how many interleavings it explored.
//!
//! Threads: the **mark worker**, which reached a parked coroutine through
//! the grey queue and tries to claim its stack (`try_claim`), and the
//! **mutator**, which resumes that coroutine during the mark: it sets the
//! running bit (`set_running`, waiting while a scan holds the claim),
//! scans the stack itself at the safepoint unless the worker already did
//! (`try_claim_running`), runs it (writes its stack), parks it
//! (`clear_running`), resumes it once more (a second safepoint in the same
//! cycle: no second scan) and runs it again. A scan is the claim holder
//! reading the stack (a loom `UnsafeCell`, so a scan overlapping a run
//! is a causality violation too) and counting itself.
//!
//! Properties: exactly one scan; the worker never holds a claim while the
//! interpreter writes the stack; the word ends scanned for the cycle with
//! the scan bit clear; the next cycle can be claimed. With the seed-003
//! switch (a check-then-set claim, the pre-fix `gcworkdone` pattern, used
//! by both parties) the worker can claim between the mutator's check and
//! its store, or while the coroutine runs; and even when the two threads
//! take turns, the worker's plain load may read the word from before the
//! self-scan's store (nothing orders the two: no read-modify-write), so
//! both scan. loom finds that on its first schedule, which takes turns:
//! unlike `loom_mark`'s seeds, this one needs no preemption, only the
//! unsynchronized pair of accesses.
#![cfg(loom)]
// The stack is a loom `UnsafeCell`, so its accesses are `unsafe`.
#![allow(unsafe_code)]

use gc::stackscan::{ScanClaim, ScanState};
use loom::cell::UnsafeCell;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;

mod loom_common;

const CYCLE: u64 = 1;

/// One coroutine: its scan word, its stack, and the model's witnesses.
struct Coroutine {
    scan: ScanState,
    /// The stack: written by the interpreter while the coroutine runs,
    /// read by whoever holds the claim.
    stack: UnsafeCell<u64>,
    scans: AtomicUsize,
    /// The interpreter is writing the stack right now.
    running_code: AtomicBool,
}

impl Coroutine {
    fn claim(&self, own: bool, racy: bool) -> Option<ScanClaim<'_>> {
        if racy {
            self.scan.seed_003_try_claim_check_then_set(CYCLE)
        } else if own {
            self.scan.try_claim_running(CYCLE)
        } else {
            self.scan.try_claim(CYCLE)
        }
    }

    /// Scans the stack under `claim` (the worker's, or the self-scan's).
    fn scan_stack(&self, claim: ScanClaim<'_>, racy: bool) {
        assert!(
            !self.running_code.load(Ordering::SeqCst),
            "SCAN_ONCE: a stack scanned while its coroutine runs"
        );
        let n = self.scans.fetch_add(1, Ordering::SeqCst) + 1;
        assert_eq!(n, 1, "SCAN_ONCE: stack scanned twice in cycle {CYCLE}");
        if !racy {
            // SAFETY: the claim holder owns the stack for reading until
            // `finish`; the interpreter writes it only while the running
            // bit is set, which `set_running` does not set while a claim
            // is held (loom reports any overlap).
            let _ = self.stack.with(|p| unsafe { *p });
        }
        claim.finish();
    }

    /// The interpreter runs the coroutine: it changes its stack.
    fn run(&self, racy: bool, v: u64) {
        self.running_code.store(true, Ordering::SeqCst);
        if !racy {
            // SAFETY: the running bit is set (by `set_running`, which
            // waited for any scan to finish); no claim succeeds while it is.
            self.stack.with_mut(|p| unsafe { *p = v });
        }
        self.running_code.store(false, Ordering::SeqCst);
    }
}

/// Exhaustive, whatever LOOM_MAX_PREEMPTIONS says (well under a second).
fn exhaustive() -> loom::model::Builder {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = None;
    b
}

fn worker_vs_self_scan(builder: loom::model::Builder, racy: bool) {
    loom_common::explore(builder, move || {
        let co = Arc::new(Coroutine {
            scan: ScanState::new(),
            stack: UnsafeCell::new(0),
            scans: AtomicUsize::new(0),
            running_code: AtomicBool::new(false),
        });
        // The mark worker found the parked coroutine in the grey queue.
        let c1 = co.clone();
        let worker = thread::spawn(move || {
            if let Some(claim) = c1.claim(false, racy) {
                c1.scan_stack(claim, racy);
            }
        });
        // The mutator switches to it: a safepoint, then it runs.
        for v in 1..=2 {
            co.scan.set_running();
            if let Some(claim) = co.claim(true, racy) {
                co.scan_stack(claim, racy);
            }
            co.run(racy, v);
            co.scan.clear_running();
        }
        worker.join().expect("worker");

        assert_eq!(co.scans.load(Ordering::SeqCst), 1, "stack never scanned");
        assert!(co.scan.scanned_in(CYCLE) && !co.scan.being_scanned());
        assert!(!co.scan.is_running());
        assert!(co.scan.try_claim(CYCLE).is_none(), "cycle claimed twice");
        // The next cycle scans again.
        let next = co.scan.try_claim(CYCLE + 1).expect("next cycle claimable");
        next.finish();
        assert!(co.scan.scanned_in(CYCLE + 1));
    });
}

#[test]
fn loom_stackscan_worker_vs_self_scan() {
    worker_vs_self_scan(exhaustive(), false);
}

/// The model catches a broken protocol: with a check-then-set claim the
/// worker and the self-scan can both scan, or the worker can scan a
/// running stack.
#[test]
#[should_panic(expected = "SCAN_ONCE: ")]
fn loom_stackscan_seed_003_check_then_set() {
    worker_vs_self_scan(exhaustive(), true);
}
