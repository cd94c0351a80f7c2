//! One regression test per seed: each re-introduces the historical race
//! with its switch (`crate::seed`) in a child process and shows that the
//! named check aborts it; the same scenario without the switch runs clean.

use super::{assert_child_ok, assert_child_throws, child_scenario, Leaves};
use crate::seed::SeedBug;
use crate::{GcConfig, Heap};

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
    assert_child_throws(name, "bug", "SWEEP_BEFORE_MARK");
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
    assert_child_throws(name, "bug", "SPAN_LIST_SNAPSHOT");
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
    assert_child_throws(name, "bug", "FREE_AFTER_SWEEP");
    assert_child_ok(name, "control");
}
