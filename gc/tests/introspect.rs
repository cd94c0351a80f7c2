//! Introspection: the heap profile while the background sweeper runs, the
//! pause percentiles and recent pauses, the last gctrace line, and the
//! trace-event file (`GcConfig::trace_file`).
#![allow(unsafe_code)]

mod common;

use common::*;
use gc::{GcConfig, Heap, ObjPtr, TraceEvent, TraceTrack};

/// Builds `n` objects of mixed sizes (some large) reachable from one list
/// head, and as many unreachable ones.
fn churn(heap: &mut Heap, g: &mut Graph, n: u64) {
    let mut head: Option<ObjPtr> = None;
    for i in 0..n {
        let extra = if i % 997 == 0 {
            40_000
        } else {
            8 * (i as usize % 9)
        };
        let o = new_obj(heap, 1, i, extra);
        set_child(o, 0, head);
        head = Some(o);
        new_obj(heap, 0, i, extra);
    }
    g.roots = vec![head.expect("n > 0")];
}

#[test]
fn heap_profile_is_consistent_while_the_sweeper_runs() {
    let mut heap = Heap::new(GcConfig::default());
    let mut g = Graph::default();
    churn(&mut heap, &mut g, 50_000);
    heap.collect(&mut g, false);
    // The background sweeper is sweeping now: every snapshot must add up.
    let mut saw_unswept = false;
    for _ in 0..200 {
        let p = heap.heap_profile();
        assert!(!p.classes.is_empty());
        for c in &p.classes {
            assert_eq!(c.spans, c.needs_sweep + c.being_swept + c.swept, "{c:?}");
            assert!(c.objects <= c.slots, "{c:?}");
            saw_unswept |= c.needs_sweep + c.being_swept > 0;
        }
    }
    let _ = saw_unswept; // timing-dependent: not asserted
    heap.collect(&mut g, true);
    let p = heap.heap_profile();
    let objects: usize = p.classes.iter().map(|c| c.objects).sum();
    assert_eq!(objects as u64, heap.stats().heap_objects);
    for c in &p.classes {
        assert_eq!((c.needs_sweep, c.being_swept), (0, 0), "{c:?}");
        assert_eq!(c.swept, c.spans);
    }
    assert_eq!(p.classes[0].class, 0, "large spans come first");
    assert!(p.classes[0].objects > 0);
}

#[test]
fn pause_percentiles_recent_pauses_and_gctrace_line() {
    let mut heap = Heap::new(GcConfig::default());
    assert_eq!(heap.last_gctrace(), None);
    let st = heap.stats();
    assert_eq!(
        (st.pause_p50_ns, st.pause_p99_ns, st.max_pause_ns),
        (0, 0, 0)
    );
    let mut g = Graph::default();
    for round in 0..5 {
        churn(&mut heap, &mut g, 2_000 * (round + 1));
        heap.collect(&mut g, round % 2 == 0);
    }
    let st = heap.stats();
    assert_eq!(st.num_gc, 5);
    assert!(st.pause_p50_ns > 0);
    assert!(st.pause_p50_ns <= st.pause_p99_ns && st.pause_p99_ns <= st.max_pause_ns);
    let recent = heap.recent_pauses_ns();
    assert_eq!(recent.len(), 5);
    assert_eq!(recent.iter().sum::<u64>(), st.pause_total_ns);
    assert_eq!(recent.iter().copied().max(), Some(st.max_pause_ns));
    let line = heap.last_gctrace().expect("a cycle ran");
    assert!(line.starts_with("gc 5 @"), "{line}");
    assert!(line.ends_with(" swept, 1 P"), "{line}");
}

#[test]
fn trace_file_has_pauses_phases_sweeps_and_counters() {
    let path = std::env::temp_dir().join(format!("gc-trace-test-{}.json", std::process::id()));
    let mut heap = Heap::new(GcConfig {
        trace_file: Some(path.clone()),
        min_trigger: 1 << 20,
        ..GcConfig::default()
    });
    assert!(heap.is_tracing());
    let start = heap.trace_now();
    heap.trace_event(TraceEvent::track_name(TraceTrack::Embedder(1), "embedder"));
    let mut g = Graph::default();
    for _ in 0..4 {
        churn(&mut heap, &mut g, 20_000);
        heap.collect(&mut g, false);
    }
    heap.collect(&mut g, true);
    let end = heap.trace_now();
    heap.trace_event(
        TraceEvent::slice(TraceTrack::Embedder(1), "run", start, end).arg("what", "test"),
    );
    let written = heap.finish_trace().expect("trace written");
    assert_eq!(written.as_deref(), Some(path.as_path()));
    assert!(!heap.is_tracing());
    assert_eq!(heap.finish_trace().expect("no-op"), None);
    let text = std::fs::read_to_string(&path).expect("trace file");
    let _ = std::fs::remove_file(&path);
    assert!(text.starts_with("{\"displayTimeUnit\":\"ms\",\"traceEvents\":["));
    assert!(text.trim_end().ends_with("]}"));
    let count = |needle: &str| text.matches(needle).count();
    assert_eq!(count("\"name\":\"GC pause\""), 5);
    assert_eq!(count("\"name\":\"mark\""), 5);
    assert_eq!(count("\"name\":\"sweep termination\""), 5);
    assert_eq!(count("\"name\":\"mark termination\""), 5);
    assert_eq!(count("\"name\":\"sweep (full)\""), 1);
    assert!(count("\"name\":\"sweep\",\"cat\":\"gc\",\"ph\":\"X\"") > 0);
    assert!(count("\"ph\":\"C\"") >= 10, "counters at each pause");
    assert!(text.contains("\"tid\":2,\"args\":{\"spans\":"));
    assert!(text.contains("\"args\":{\"name\":\"gc-bgsweep\"}"));
    assert!(text.contains("\"tid\":101,\"args\":{\"what\":\"test\"}"));
    assert!(text.contains("\"tid\":101,\"args\":{\"name\":\"embedder\"}"));
}

#[test]
fn recording_has_every_cycle_its_phases_and_the_sweeping() {
    let recorder = gc::GcRecorder::new();
    let mut heap = Heap::new(GcConfig {
        record: Some(recorder.clone()),
        min_trigger: 1 << 20,
        ..GcConfig::default()
    });
    // Recording needs no trace file.
    assert!(heap.is_tracing());
    let mut g = Graph::default();
    for _ in 0..4 {
        churn(&mut heap, &mut g, 20_000);
        heap.collect(&mut g, false);
    }
    heap.collect(&mut g, true);
    assert!(recorder.recording().is_none(), "delivered only at the end");
    assert_eq!(heap.finish_trace().expect("nothing to write"), None);
    let st = heap.stats();
    let r = recorder.recording().expect("delivered");
    assert_eq!(r.cycles.len() as u64, st.num_gc);
    for (i, c) in r.cycles.iter().enumerate() {
        assert_eq!(c.num_gc, i as u64 + 1);
        let names: Vec<&str> = c.phases.iter().map(|p| p.name.as_ref()).collect();
        assert_eq!(names, ["sweep termination", "mark", "mark termination"]);
        assert!(c.phases.windows(2).all(|w| w[0].end <= w[1].start));
        assert!(c.live <= c.heap_start, "{c:?}");
        assert!(c.end() <= r.end);
    }
    // The pauses add up to the statistics, to the nanosecond.
    let total: u64 = r.cycles.iter().map(gc::CycleRecord::pause_ns).sum();
    assert_eq!(total, st.pause_total_ns);
    let max = r.cycles.iter().map(gc::CycleRecord::pause_ns).max();
    assert_eq!(max, Some(st.max_pause_ns));
    // Heap samples at each pause's start and end, in time order.
    assert!(r.heap.len() >= 2 * r.cycles.len());
    assert!(r.heap.windows(2).all(|w| w[0].at <= w[1].at));
    // The background sweeper swept, and `collect(full)` finished a sweep.
    let by = |b: gc::SweepBy| r.sweeps.iter().filter(|s| s.by == b).count();
    assert!(by(gc::SweepBy::Background) > 0);
    assert_eq!(by(gc::SweepBy::Full), 1);
    let bg_spans: u64 = r
        .sweeps
        .iter()
        .filter(|s| s.by == gc::SweepBy::Background)
        .filter_map(|s| s.spans)
        .sum();
    // (A batch the sweeper was finishing as the recording stopped may be
    // counted but not yet recorded.)
    assert!(bg_spans > 0 && bg_spans <= st.swept_background);
}
