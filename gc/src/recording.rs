//! A record of the collector's work, for a report drawn after the program
//! (the binary's `--gc-report`): every cycle with its named phases and
//! heap figures, the heap counter samples, and the sweeping done by the
//! background sweeper and by allocating code.
//!
//! It rides on the trace-event recorder (`tracer.rs`): asking for a
//! recording ([`GcConfig::record`](crate::GcConfig::record)) switches
//! event recording on even without a trace file. Per cycle the heap adds
//! one [`CycleRecord`] (`Heap::trace_cycle`); heap samples and sweep
//! slices are read back from the events when the recording is handed over
//! ([`Heap::finish_trace`](crate::Heap::finish_trace)), so this module adds
//! nothing to the collector's paths besides that one push per cycle.
//!
//! A cycle is a list of named phases, each stop-the-world or concurrent,
//! not a fixed three: a reader derives pauses from the phases marked
//! stop-the-world, so the record keeps its shape when the phases change.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use crate::tracer::{TraceEvent, TraceKind, TraceTime, TraceTrack};

/// Names of the events read back here; `tracer.rs`, `bgsweep.rs` and
/// `Heap` record them under these names.
pub(crate) const HEAP_COUNTER: &str = "heap";
pub(crate) const BG_SWEEP: &str = "sweep";
pub(crate) const LAZY_SWEEP: &str = "lazy sweep";
pub(crate) const FULL_SWEEP: &str = "sweep (full)";

/// Where a finished [`GcRecording`] is delivered. Put a clone in
/// [`GcConfig::record`](crate::GcConfig::record) and keep one: after
/// [`Heap::finish_trace`](crate::Heap::finish_trace) (or the heap's drop),
/// [`GcRecorder::recording`] returns it.
#[derive(Clone, Debug, Default)]
pub struct GcRecorder {
    slot: Arc<OnceLock<GcRecording>>,
}

impl GcRecorder {
    pub fn new() -> GcRecorder {
        GcRecorder::default()
    }

    /// The recording, once the heap has handed it over.
    pub fn recording(&self) -> Option<&GcRecording> {
        self.slot.get()
    }

    /// First delivery wins: a heap delivers once, when its tracer stops.
    pub(crate) fn deliver(&self, recording: GcRecording) {
        let _ = self.slot.set(recording);
    }
}

/// One phase of one cycle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhaseRecord {
    /// As in the trace (`sweep termination`, `mark`, `mark termination`).
    pub name: Cow<'static, str>,
    pub start: TraceTime,
    pub end: TraceTime,
    /// The mutator was stopped for this phase: it counts in the pause.
    pub stop_the_world: bool,
}

impl PhaseRecord {
    pub fn duration_ns(&self) -> u64 {
        self.end.0.saturating_sub(self.start.0)
    }
}

/// One collection cycle (the figures of its gctrace line, with times).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CycleRecord {
    /// 1 for the first cycle.
    pub num_gc: u64,
    /// In order; consecutive phases may leave gaps (none today).
    pub phases: Vec<PhaseRecord>,
    /// `heapAlloc` when the cycle started.
    pub heap_start: u64,
    /// `heapAlloc` after sweep termination finished the last cycle's sweep.
    pub heap_after_sweep: u64,
    /// Bytes marked live.
    pub live: u64,
    /// The goal that triggered the cycle, and the goal it set (`u64::MAX`:
    /// automatic collection off).
    pub goal_before: u64,
    pub goal_after: u64,
    /// Spans in the snapshot the cycle's sweep covers.
    pub spans: usize,
    /// Spans swept since the previous cycle, by the background sweeper and
    /// by the mutator (lazily or finishing a sweep): the previous cycle's
    /// sweep work.
    pub swept_background: u64,
    pub swept_lazy: u64,
    /// Finalizers queued by sweeping since the previous cycle.
    pub finalizers_queued: u64,
}

impl CycleRecord {
    pub fn start(&self) -> TraceTime {
        self.phases.first().map_or(TraceTime(0), |p| p.start)
    }

    pub fn end(&self) -> TraceTime {
        self.phases.last().map_or(TraceTime(0), |p| p.end)
    }

    /// Time the mutator was stopped: the stop-the-world phases' sum. Equal
    /// to what `GcStats::pause_total_ns` added for this cycle.
    pub fn pause_ns(&self) -> u64 {
        self.phases
            .iter()
            .filter(|p| p.stop_the_world)
            .map(PhaseRecord::duration_ns)
            .sum()
    }
}

/// A sample of the heap counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeapSample {
    pub at: TraceTime,
    pub heap_alloc: u64,
    /// The goal then; `None` while automatic collection is off.
    pub next_gc: Option<u64>,
}

/// Who swept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SweepBy {
    /// The background sweeper thread, one record per batch.
    Background,
    /// An allocation's slow path, sweeping before it takes a span.
    Lazy,
    /// The mutator finishing the sweep after a full collection (`gc()`).
    Full,
}

/// A stretch of sweeping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SweepRecord {
    pub by: SweepBy,
    pub start: TraceTime,
    pub end: TraceTime,
    /// Spans swept, where recorded (not for [`SweepBy::Full`]).
    pub spans: Option<u64>,
}

/// Everything recorded, in time order. Times are nanoseconds on the
/// heap's trace clock (0 = the heap's creation).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GcRecording {
    pub cycles: Vec<CycleRecord>,
    pub heap: Vec<HeapSample>,
    pub sweeps: Vec<SweepRecord>,
    /// When the recording stopped.
    pub end: TraceTime,
}

impl GcRecording {
    /// Builds the recording from the tracer's events (any order) and the
    /// cycles `Heap::trace_cycle` kept.
    pub(crate) fn from_events(
        events: &[TraceEvent],
        cycles: Vec<CycleRecord>,
        end: TraceTime,
    ) -> GcRecording {
        let arg = |e: &TraceEvent, key: &str| {
            e.args
                .iter()
                .find(|(k, _)| k == key)
                .and_then(|(_, v)| match v {
                    crate::TraceArg::U64(n) => Some(*n),
                    _ => None,
                })
        };
        let mut heap = Vec::new();
        let mut sweeps = Vec::new();
        for e in events {
            match (&e.kind, e.track) {
                (TraceKind::Counter(at), _) if e.name == HEAP_COUNTER => {
                    if let Some(heap_alloc) = arg(e, "heapAlloc") {
                        heap.push(HeapSample {
                            at: *at,
                            heap_alloc,
                            next_gc: arg(e, "nextGC"),
                        });
                    }
                }
                (TraceKind::Slice { start, end }, track) => {
                    let by = match (track, e.name.as_ref()) {
                        (TraceTrack::BgSweeper, BG_SWEEP) => SweepBy::Background,
                        (TraceTrack::Mutator, LAZY_SWEEP) => SweepBy::Lazy,
                        (TraceTrack::Mutator, FULL_SWEEP) => SweepBy::Full,
                        _ => continue,
                    };
                    sweeps.push(SweepRecord {
                        by,
                        start: *start,
                        end: *end,
                        spans: arg(e, "spans"),
                    });
                }
                _ => {}
            }
        }
        heap.sort_by_key(|s| s.at);
        sweeps.sort_by_key(|s| (s.start, s.end));
        GcRecording {
            cycles,
            heap,
            sweeps,
            end,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_become_samples_and_sweeps() {
        let t = TraceTime;
        let events = vec![
            TraceEvent::slice(TraceTrack::BgSweeper, BG_SWEEP, t(50), t(60)).arg("spans", 8u64),
            TraceEvent::counter(HEAP_COUNTER, t(40))
                .arg("heapAlloc", 10u64)
                .arg("nextGC", 20u64),
            TraceEvent::counter(HEAP_COUNTER, t(10)).arg("heapAlloc", 5u64),
            TraceEvent::slice(TraceTrack::Mutator, LAZY_SWEEP, t(30), t(35)).arg("spans", 2u64),
            TraceEvent::slice(TraceTrack::Mutator, "run script", t(0), t(100)),
            TraceEvent::slice(TraceTrack::Mutator, FULL_SWEEP, t(70), t(80)),
        ];
        let r = GcRecording::from_events(&events, Vec::new(), t(100));
        assert_eq!(
            r.heap,
            [
                HeapSample {
                    at: t(10),
                    heap_alloc: 5,
                    next_gc: None
                },
                HeapSample {
                    at: t(40),
                    heap_alloc: 10,
                    next_gc: Some(20)
                },
            ]
        );
        let by: Vec<(SweepBy, Option<u64>)> = r.sweeps.iter().map(|s| (s.by, s.spans)).collect();
        assert_eq!(
            by,
            [
                (SweepBy::Lazy, Some(2)),
                (SweepBy::Background, Some(8)),
                (SweepBy::Full, None)
            ]
        );
    }

    #[test]
    fn pause_counts_only_stop_the_world_phases() {
        let phase = |name: &'static str, s, e, stw| PhaseRecord {
            name: name.into(),
            start: TraceTime(s),
            end: TraceTime(e),
            stop_the_world: stw,
        };
        let c = CycleRecord {
            num_gc: 1,
            phases: vec![
                phase("sweep termination", 10, 12, true),
                phase("concurrent mark", 12, 40, false),
                phase("mark termination", 40, 45, true),
            ],
            heap_start: 0,
            heap_after_sweep: 0,
            live: 0,
            goal_before: 0,
            goal_after: 0,
            spans: 0,
            swept_background: 0,
            swept_lazy: 0,
            finalizers_queued: 0,
        };
        assert_eq!(c.pause_ns(), 7);
        assert_eq!((c.start(), c.end()), (TraceTime(10), TraceTime(45)));
    }
}
