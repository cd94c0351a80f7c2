//! One regression test per seed: each re-introduces the historical race
//! with its switch (`crate::seed`) in a child process and shows that the
//! named check aborts it; the same scenario without the switch runs clean.

use super::{assert_child_ok, assert_child_throws, child_scenario, Leaves};
use crate::invariant::Invariant;
use crate::seed::SeedBug;
use crate::{GcConfig, Heap};

/// Seed 000's scenario: all sweeping lazy (`concurrent_sweep: false`, so
/// there is no background sweeper). The finalizer coroutine parks on an
/// empty queue; allocation then lazily sweeps the span of an unreachable
/// finalizable object and queues it; the scheduler checks
/// `fin_should_wake` at each of many later picks. Returns whether it ever
/// readied the coroutine.
fn seed_000_scenario(bug: SeedBug, verify: bool) -> bool {
    let mut heap = Heap::new(GcConfig {
        concurrent_sweep: false,
        verify,
        ..GcConfig::default()
    });
    heap.set_seed_bug(bug, 0);
    let mut g = Leaves::default();
    let fin = heap.alloc(64).unwrap();
    g.roots.push(fin);
    let obj = heap.alloc(48).unwrap();
    heap.set_finalizer(obj, fin).unwrap();
    // Fill a few spans of obj's class so the sweep of its span is left to
    // the allocator.
    for _ in 0..2000 {
        g.roots.push(heap.alloc(48).unwrap());
    }
    heap.collect(&mut g, false);
    assert_eq!(heap.peek_finalizer(), None, "nothing swept yet");
    assert!(
        heap.fin_park(),
        "the finalizer coroutine parks: queue empty"
    );
    // The mutator allocates (lazy sweeping) until the finalizer is queued.
    let mut n = 0;
    while heap.peek_finalizer().is_none() {
        g.roots.push(heap.alloc(48).unwrap());
        n += 1;
        assert!(n < 1_000_000, "lazy sweeping never queued the finalizer");
    }
    let st = heap.stats();
    assert_eq!(st.finalizers_queued, 1);
    assert!(st.swept_lazy > 0 && st.swept_background == 0);
    // The scheduler picks coroutines many times; the mutator goes on
    // allocating (and sweeping) in between.
    for _ in 0..10_000 {
        if heap.fin_should_wake() {
            assert_eq!(heap.peek_finalizer(), Some((obj, fin)));
            return true;
        }
        g.roots.push(heap.alloc(48).unwrap());
    }
    false
}

/// Seed 000 (`FINQ_WAKE`): whoever queues a finalizer sets `fingwake`.
/// With the switch, only the background sweeper sets it, when it has
/// drained the snapshot; with all sweeping lazy nothing ever does, and the
/// finalizer coroutine, parked, is never readied. Direct assertions for
/// the outcome, and a child process for the verify-mode check, which
/// aborts with `FINQ_WAKE` as soon as the scheduler looks.
#[test]
fn seed_000_finq_wake_lazy_sweep() {
    if let Some(s) = child_scenario() {
        let bug = if s == "bug" {
            SeedBug::FingwakeAtBgSweepEnd
        } else {
            SeedBug::None
        };
        assert!(seed_000_scenario(bug, true), "FINQ_WAKE: never woken");
        return;
    }
    assert!(
        seed_000_scenario(SeedBug::None, false),
        "FINQ_WAKE: a finalizer queued by lazy sweeping must wake the parked coroutine"
    );
    assert!(
        !seed_000_scenario(SeedBug::FingwakeAtBgSweepEnd, false),
        "with seed 000 re-introduced the coroutine is never woken"
    );
    let name = "tests::seeds::seed_000_finq_wake_lazy_sweep";
    assert_child_throws(name, "bug", Invariant::FinqWake);
    assert_child_ok(name, "control");
}

/// Seed 001: marking must not start while a sweeper is inside a span. The
/// background sweeper holds each span for 2 ms; without the wait in sweep
/// termination, the next collection starts marking while it holds one.
#[test]
fn seed_001_mark_during_sweep() {
    if let Some(s) = child_scenario() {
        let mut heap = Heap::new(GcConfig::default());
        let bug = if s == "bug" {
            SeedBug::MarkDuringSweep
        } else {
            SeedBug::None
        };
        heap.set_seed_bug(bug, 2000);
        let mut g = Leaves::default();
        for _ in 0..100 {
            for _ in 0..20_000 {
                heap.alloc(64).unwrap();
            }
            heap.collect(&mut g, false);
        }
        return;
    }
    let name = "tests::seeds::seed_001_mark_during_sweep";
    assert_child_throws(name, "bug", Invariant::SweepBeforeMark);
    assert_child_ok(name, "control");
}

/// Seed 002: sweepers must read the span snapshot, never the live span
/// array that growth reallocates. With the switch, the background sweeper
/// reads the live array (holding it for 2 ms) while the mutator creates
/// spans, and reads a slot of an array that growth has freed.
#[test]
fn seed_002_allspans_growth() {
    if let Some(s) = child_scenario() {
        let mut heap = Heap::new(GcConfig::default());
        let bug = if s == "bug" {
            SeedBug::AllspansRealloc
        } else {
            SeedBug::None
        };
        heap.set_seed_bug(bug, 2000);
        let mut g = Leaves::default();
        for _ in 0..150 {
            // Live data only: every span stays, so new spans are created
            // (not recycled) and every cycle has spans to sweep.
            for _ in 0..4 {
                g.roots.push(heap.alloc(40 * 1024).unwrap());
            }
            for _ in 0..300 {
                g.roots.push(heap.alloc(48).unwrap());
            }
            heap.collect(&mut g, false);
        }
        return;
    }
    let name = "tests::seeds::seed_002_allspans_growth";
    assert_child_throws(name, "bug", Invariant::SpanListSnapshot);
    assert_child_ok(name, "control");
}

/// Seed 004: a dead large span must not go back to the page heap before
/// its sweep has published sweepgen. Deterministic: the check at the
/// serialization point finds the span already dead.
#[test]
fn seed_004_free_before_publish() {
    if let Some(s) = child_scenario() {
        let mut heap = Heap::new(GcConfig {
            concurrent_sweep: false,
            ..GcConfig::default()
        });
        let bug = if s == "bug" {
            SeedBug::FreeBeforePublish
        } else {
            SeedBug::None
        };
        heap.set_seed_bug(bug, 0);
        let mut g = Leaves::default();
        g.roots.push(heap.alloc(100_000).unwrap());
        heap.alloc(100_000).unwrap(); // dies
        heap.collect(&mut g, true);
        heap.collect(&mut g, true);
        assert_eq!(heap.stats().heap_objects, 1);
        return;
    }
    let name = "tests::seeds::seed_004_free_before_publish";
    assert_child_throws(name, "bug", Invariant::FreeAfterSweep);
    assert_child_ok(name, "control");
}
