//! loom models of the sweep protocol, run on the real code (`HeapShared`,
//! `sweep_one`, `finish_sweep`, `MHeap`, the verify checks) with loom's
//! atomics, locks and cells (`sync.rs`):
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test -p gc --release --test loom_sweep
//! ```
//!
//! (a) claim/publish vs sweep termination (`SWEEP_BEFORE_MARK`, seed 001);
//! (b) a sweeper reading the span snapshot vs span creation
//!     (`SPAN_LIST_SNAPSHOT`, seed 002);
//! (c) freeing a large span vs its sweep (`FREE_AFTER_SWEEP`, seed 004).
//!
//! Each model also runs with its seed switch on and must then fail with the
//! invariant's name (`gc_throw!` panics under loom).
#![cfg(loom)]

use gc::loom_support::Model;
use gc::SeedBug;
use loom::thread;

mod loom_common;

fn builder() -> loom::model::Builder {
    // Exhaustive by default (the models are small: 2 threads, 1-3 spans;
    // about 20 s in release). LOOM_MAX_PREEMPTIONS=2 bounds it.
    loom::model::Builder::new()
}

/// (a) A background sweeper claims and publishes spans while the mutator
/// finishes the sweep and starts marking: marking never observes a span at
/// sg-1 or a sweeper holding one.
fn sweep_termination_vs_sweeper(bug: SeedBug) {
    loom_common::explore(builder(), move || {
        let m = Model::new();
        m.set_seed_bug(bug);
        let live = m.small_span(1, 2);
        let dead = m.large_span(1);
        m.mark(live, 0);
        let sg = m.mark_termination();
        let bg = m.clone();
        let t = thread::spawn(move || while bg.sweep_one_background() {});
        m.sweep_termination();
        // Marking may start: everything is swept for sg.
        assert_eq!(m.sweepgen(live), sg);
        assert!(!m.in_use(dead) || m.sweepgen(dead) == sg);
        t.join().unwrap();
        assert_eq!(m.span_bits(live).1, 1, "one survivor");
        assert!(!m.in_use(dead), "dead large span freed");
    });
}

#[test]
fn loom_a_sweep_termination_vs_sweeper() {
    sweep_termination_vs_sweeper(SeedBug::None);
}

#[test]
#[should_panic(expected = "SWEEP_BEFORE_MARK")]
fn loom_a_seed_001_mark_during_sweep() {
    sweep_termination_vs_sweeper(SeedBug::MarkDuringSweep);
}

/// (b) The background sweeper walks the snapshot while the mutator creates
/// spans (and `allspans` grows new chunks): the sweeper reads only
/// published entries of the snapshot, sweeps every snapshot span, and never
/// claims a span created after the snapshot.
fn snapshot_reader_vs_span_creation(bug: SeedBug) {
    loom_common::explore(builder(), move || {
        let m = Model::new();
        m.set_seed_bug(bug);
        let old = m.small_span(1, 1);
        m.mark(old, 0);
        let sg = m.mark_termination();
        let bg = m.clone();
        let t = thread::spawn(move || while bg.sweep_one_background() {});
        // Allocation goes on while the sweeper works.
        let new1 = m.large_span(1);
        // Same class as `old`: shares its mcentral lock with the sweeper.
        let new2 = m.small_span(1, 1);
        t.join().unwrap();
        assert_eq!(m.nspans(), 3);
        // New spans were created swept and never claimed.
        assert_eq!(m.sweepgen(new1), sg);
        assert_eq!(m.sweepgen(new2), sg);
        assert_eq!(m.span_bits(new2).1, 1);
        // The snapshot span is swept by the sweeper or at termination.
        m.sweep_termination();
        assert_eq!(m.sweepgen(old), sg);
    });
}

#[test]
fn loom_b_snapshot_reader_vs_span_creation() {
    snapshot_reader_vs_span_creation(SeedBug::None);
}

#[test]
#[should_panic(expected = "SPAN_LIST_SNAPSHOT")]
fn loom_b_seed_002_allspans_growth() {
    snapshot_reader_vs_span_creation(SeedBug::AllspansRealloc);
}

/// (c) The sweeper frees a dead large span while the mutator allocates a
/// large span (possibly the very same pages and struct) and initializes
/// it: the new owner's metadata is never touched by the old sweep.
fn large_free_vs_sweep(bug: SeedBug) {
    loom_common::explore(builder(), move || {
        let m = Model::new();
        m.set_seed_bug(bug);
        let dead = m.large_span(1);
        let sg = m.mark_termination();
        let bg = m.clone();
        let t = thread::spawn(move || while bg.sweep_one_background() {});
        let fresh = m.large_span(1);
        t.join().unwrap();
        assert!(m.in_use(fresh));
        assert_eq!(m.sweepgen(fresh), sg);
        assert_eq!(
            m.span_bits(fresh),
            (1, 1, 0, 0),
            "new owner's metadata intact"
        );
        if !m.same(dead, fresh) {
            assert!(!m.in_use(dead));
        }
    });
}

#[test]
fn loom_c_large_free_vs_sweep() {
    large_free_vs_sweep(SeedBug::None);
}

#[test]
#[should_panic(expected = "FREE_AFTER_SWEEP")]
fn loom_c_seed_004_free_before_publish() {
    large_free_vs_sweep(SeedBug::FreeBeforePublish);
}
