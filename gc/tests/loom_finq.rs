//! loom model of `FINQ_WAKE` (seed 000), on the real code: the sweep
//! (`sweep_one`, whose `sweep_span` queues the finalizer of an unmarked
//! object), the background sweeper's drained hook, `Finq::park` and
//! `Finq::should_wake`, with loom's atomics and locks (`sync.rs`):
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test -p gc --release --test loom_finq
//! ```
//!
//! With four threads the exhaustive search is long (about 10 minutes on 2
//! cores; it passes), so by default the model bounds
//! preemptions at 4 (about 15 s; the seed-000 interleaving needs 2);
//! `LOOM_MAX_PREEMPTIONS=1000` runs it exhaustively.
//!
//! Threads: a lazy sweeper (the allocator) and the background sweeper race
//! for the one span of the snapshot, whose unreachable object has a
//! finalizer, so exactly one of them queues it; the background sweeper then
//! runs its "drained" hook. The finalizer coroutine calls `fin_park` (it
//! parks iff it finds the queue empty, else it pops the item). The
//! scheduler (the main thread) calls `fin_should_wake` once while the
//! others run, and once more after they have finished (its "check every
//! time it picks", from then on).
//!
//! Property (no lost wake-up): if the coroutine parked, some
//! `fin_should_wake` call returns true; if it did not park, none does.
//! With the seed-000 switch (`fingwake` set only by the background sweeper
//! when it has drained the snapshot, not by whoever queues) loom finds the
//! interleaving where the background sweeper drains first, the lazy
//! sweeper queues, and the parked coroutine is never readied; in verify
//! mode the named check in `fin_should_wake` throws `FINQ_WAKE` there.
#![cfg(loom)]

use gc::loom_support::Model;
use gc::SeedBug;
use loom::thread;

mod loom_common;

fn finq_wake(bug: SeedBug, verify: bool) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(4);
    }
    loom_common::explore(builder, move || {
        let m = Model::with_verify(verify);
        m.set_seed_bug(bug);
        m.finalizable_span(1);
        m.mark_termination();

        let lazy = m.clone();
        let q = thread::spawn(move || {
            lazy.sweep_one_lazy();
        });
        let bg = m.clone();
        let b = thread::spawn(move || {
            while bg.sweep_one_background() {}
            bg.bg_drained();
        });
        let co = m.clone();
        let c = thread::spawn(move || {
            if co.fin_park() {
                true
            } else {
                assert!(co.pop_finalizer().is_some(), "not parked: runs it");
                false
            }
        });
        // The scheduler picks a coroutine while the others run...
        let mut woke = m.fin_should_wake();
        q.join().unwrap();
        b.join().unwrap();
        let parked = c.join().unwrap();
        // ... and every time after.
        woke |= m.fin_should_wake();

        assert!(
            !parked || m.finq_len() == 1,
            "parked with the item still queued"
        );
        if parked {
            assert!(
                woke,
                "FINQ_WAKE: lost wake-up: a finalizer is queued and the coroutine parked, but no scheduler check readies it"
            );
        } else {
            assert!(!woke, "FINQ_WAKE: readied a coroutine that never parked");
        }
    });
}

/// Without verify mode `fin_should_wake` takes its lock-free fast path.
#[test]
fn loom_finq_no_lost_wakeup() {
    finq_wake(SeedBug::None, false);
}

/// Verify mode: the named check runs in every `fin_park`/`fin_should_wake`
/// and never fires on the correct code.
#[test]
fn loom_finq_no_lost_wakeup_verify() {
    finq_wake(SeedBug::None, true);
}

#[test]
#[should_panic(expected = "FINQ_WAKE: lost wake-up")]
fn loom_finq_seed_000_lost_wakeup() {
    finq_wake(SeedBug::FingwakeAtBgSweepEnd, false);
}

#[test]
#[should_panic(expected = "fatal error: gc: FINQ_WAKE")]
fn loom_finq_seed_000_named_check() {
    finq_wake(SeedBug::FingwakeAtBgSweepEnd, true);
}
