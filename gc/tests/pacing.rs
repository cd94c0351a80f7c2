//! Statistics and pacing: GOGC rules, and background sweeping.
#![allow(clippy::field_reassign_with_default)]

mod common;

use common::*;
use gc::{GcConfig, Heap, ObjPtr};
use std::time::{Duration, Instant};

const MIB: u64 = 1 << 20;

#[test]
fn first_trigger_at_min_trigger() {
    let mut heap = Heap::new(GcConfig::default());
    assert_eq!(heap.stats().next_gc, 4 * MIB);
    let mut n = 0u64;
    while !heap.should_collect() {
        heap.alloc(64).unwrap();
        n += 1;
    }
    let st = heap.stats();
    assert_eq!(st.heap_alloc, 4 * MIB);
    assert_eq!(n * 64, 4 * MIB);
    assert_eq!(st.heap_objects, n);
    assert!(st.heap_sys >= 4 * MIB);
}

/// Root a list of `bytes` worth of 64-byte objects (charged 64 each).
fn live_list(heap: &mut Heap, bytes: u64) -> ObjPtr {
    let mut head = None;
    for i in 0..bytes / 64 {
        let o = new_obj(heap, 1, i, 64 - 32);
        set_child(o, 0, head);
        head = Some(o);
    }
    head.unwrap()
}

#[test]
fn next_gc_is_max_of_min_trigger_and_twice_live() {
    for concurrent in [true, false] {
        let mut heap = Heap::new(GcConfig {
            concurrent_sweep: concurrent,
            ..GcConfig::default()
        });
        let mut g = Graph::default();
        // 3 MiB live -> goal 6 MiB.
        g.roots = vec![live_list(&mut heap, 3 * MIB)];
        for _ in 0..10_000 {
            heap.alloc(48).unwrap(); // garbage
        }
        heap.collect(&mut g, false);
        let st = heap.stats();
        assert_eq!(st.num_gc, 1);
        assert_eq!(st.last_live, 3 * MIB);
        assert_eq!(st.next_gc, 6 * MIB);
        assert!(!heap.should_collect());
        // heap_live grows by what we allocate: due again at 6 MiB.
        let mut n = 0;
        while !heap.should_collect() {
            heap.alloc(1024).unwrap();
            n += 1;
        }
        assert_eq!(n * 1024, 3 * MIB);
        // Small live heap -> the 4 MiB floor.
        g.roots.clear();
        g.roots.push(live_list(&mut heap, MIB));
        heap.collect(&mut g, true);
        let st = heap.stats();
        assert_eq!(st.last_live, MIB);
        assert_eq!(st.next_gc, 4 * MIB);
        assert_eq!(st.heap_alloc, MIB);
        assert!(st.pause_total_ns >= st.max_pause_ns && st.max_pause_ns > 0);
    }
}

#[test]
fn gc_percent_50_and_200() {
    let mut heap = Heap::new(GcConfig {
        gc_percent: 200,
        ..GcConfig::default()
    });
    let mut g = Graph::default();
    g.roots = vec![live_list(&mut heap, 2 * MIB)];
    heap.collect(&mut g, true);
    assert_eq!(heap.stats().next_gc, 6 * MIB);
    assert_eq!(heap.set_gc_percent(50), 200);
    assert_eq!(heap.stats().next_gc, 4 * MIB); // max(4, 3)
    assert_eq!(heap.set_gc_percent(100), 50);
    assert_eq!(heap.stats().next_gc, 4 * MIB);
}

#[test]
fn negative_percent_disables_automatic_collection() {
    let mut heap = Heap::new(GcConfig::default());
    assert_eq!(heap.set_gc_percent(-1), 100);
    for _ in 0..(10 * MIB / 256) {
        heap.alloc(256).unwrap();
    }
    assert!(!heap.should_collect());
    assert_eq!(heap.config().gc_percent, -1);
    // Manual collection still works.
    let mut g = Graph::default();
    heap.collect(&mut g, true);
    assert_eq!(heap.stats().heap_alloc, 0);
    assert!(!heap.should_collect());
    assert_eq!(heap.set_gc_percent(100), -1);
    assert!(!heap.should_collect());

    let heap = Heap::new(GcConfig {
        gc_percent: -5,
        ..GcConfig::default()
    });
    assert!(!heap.should_collect());
}

#[test]
fn stress_always_collects() {
    let mut heap = Heap::new(GcConfig {
        stress: true,
        ..GcConfig::default()
    });
    assert!(heap.should_collect());
    heap.alloc(8).unwrap();
    assert!(heap.should_collect());
}

#[test]
fn background_sweeper_sweeps() {
    let mut heap = Heap::new(GcConfig::default());
    let mut g = Graph::default();
    // ~16 MiB of garbage in ~2000 spans, then one cycle.
    for _ in 0..(16 * MIB / 128) {
        heap.alloc(128).unwrap();
    }
    heap.collect(&mut g, false);
    let deadline = Instant::now() + Duration::from_secs(10);
    while heap.stats().swept_background == 0 {
        assert!(Instant::now() < deadline, "background sweeper never swept");
        std::thread::sleep(Duration::from_millis(1));
    }
    // And it eventually sweeps (and frees) everything on its own.
    while heap.stats().heap_alloc > 0 {
        assert!(Instant::now() < deadline, "background sweep did not finish");
        std::thread::sleep(Duration::from_millis(1));
    }
    let st = heap.stats();
    assert!(st.swept_background > 0);
    assert_eq!(st.heap_objects, 0);
}

#[test]
fn lazy_mode_never_sweeps_in_background() {
    let mut heap = Heap::new(GcConfig {
        concurrent_sweep: false,
        ..GcConfig::default()
    });
    let mut g = Graph::default();
    for _ in 0..(8 * MIB / 128) {
        heap.alloc(128).unwrap();
    }
    heap.collect(&mut g, false);
    for _ in 0..(8 * MIB / 128) {
        heap.alloc(128).unwrap();
    }
    heap.collect(&mut g, true);
    let st = heap.stats();
    assert_eq!(st.swept_background, 0);
    assert!(st.swept_lazy > 0);
    assert_eq!(st.heap_alloc, 0);
}

#[test]
fn trace_line_does_not_disturb() {
    let mut heap = Heap::new(GcConfig {
        trace: true,
        ..GcConfig::default()
    });
    let mut g = Graph::default();
    g.roots = vec![live_list(&mut heap, MIB)];
    heap.collect(&mut g, false);
    heap.collect(&mut g, true);
    assert_eq!(heap.stats().num_gc, 2);
}
