//! Trace events (`--trace FILE`, `LOAMDEBUG=trace=FILE`): a Chrome
//! trace-event JSON file that Perfetto (ui.perfetto.dev) and
//! `chrome://tracing` open. DESIGN.md gives this crate the trace events, so
//! the collector records its own activity; the embedder adds its own slices
//! through [`Heap::trace_event`](crate::Heap::trace_event).
//!
//! # What is recorded
//!
//! | track (tid) | events |
//! | --- | --- |
//! | mutator (1) | `GC pause` slices: with a stop-the-world mark, one per cycle with nested `sweep termination`, `mark`, `mark termination` slices; with a concurrent mark, two per cycle, one around `sweep termination` and one around `mark termination`; `lazy sweep` slices (allocation slow paths that swept spans); `sweep (full)` after a full collection; embedder slices (the VM's run slices) |
//! | background sweeper (2) | one `sweep` slice per batch of spans (args: spans, pages) |
//! | mark (3) | one `mark` slice per concurrent cycle (args: markedWorker, markedAssist, markedBarrier bytes) |
//! | embedder tracks (100 + n) | whatever the embedder records there (e.g. one track per coroutine) |
//! | process counter `heap` | `heapAlloc` and `nextGC` bytes, at the start and end of every pause and at most every millisecond from the allocation slow path |
//!
//! Slices are complete events (`ph: "X"`, with `dur`), written when they
//! end, so a slice never needs matching; on one track slices either nest
//! (a phase inside its pause) or are disjoint. The sweeper's batches are
//! sequential by construction (one thread).
//!
//! # Cost
//!
//! Off (the default): one `Option` test in each allocation slow path and in
//! `collect`. On: the mutator appends to a `Vec` it owns (no lock); the
//! background sweeper appends one event per batch (8 spans) to its own
//! buffer behind a leaf mutex (`LockRank::Trace`) that only the mutator's
//! final flush contends for. Timestamps are nanoseconds since one
//! `Instant` epoch shared by both threads, written as microseconds with
//! three decimals. Nothing is written until [`Heap::finish_trace`]
//! (the binary calls it before exit) or the heap is dropped.
//!
//! [`Heap::finish_trace`]: crate::Heap::finish_trace

use crate::recording::{self, CycleRecord, GcRecorder, GcRecording};
use crate::sync::{LockRank, Mutex};
use std::borrow::Cow;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The trace's only process id.
const PID: u32 = 1;

/// Least time between two periodic heap counter samples (ns).
pub(crate) const COUNTER_PERIOD_NS: u64 = 1_000_000;

/// A track of the trace (a "thread" in the Chrome format).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TraceTrack {
    /// The mutator thread: GC pauses and their phases, lazy sweeping, and
    /// the embedder's slices for code running on it.
    Mutator,
    /// The background sweeper thread; recorded by the collector only.
    BgSweeper,
    /// The concurrent mark: one `mark` slice per cycle, from the end of
    /// sweep termination to the start of mark termination, while the mark
    /// worker, assists and the barrier mark (the mutator runs meanwhile,
    /// so the slice cannot be on its track); recorded by the collector
    /// only.
    MarkWorker,
    /// An embedder-defined track, `tid = 100 + n` (name it with
    /// [`TraceEvent::track_name`]).
    Embedder(u32),
}

impl TraceTrack {
    /// The Chrome `tid` of this track.
    pub fn tid(self) -> u64 {
        match self {
            TraceTrack::Mutator => 1,
            TraceTrack::BgSweeper => 2,
            TraceTrack::MarkWorker => 3,
            TraceTrack::Embedder(n) => 100 + u64::from(n),
        }
    }
}

/// A point on the trace clock: nanoseconds since the heap's trace epoch
/// (see [`Heap::trace_now`](crate::Heap::trace_now)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TraceTime(pub u64);

/// An argument value of a trace event.
#[derive(Clone, Debug, PartialEq)]
pub enum TraceArg {
    U64(u64),
    I64(i64),
    F64(f64),
    Str(Cow<'static, str>),
}

impl From<u64> for TraceArg {
    fn from(v: u64) -> Self {
        TraceArg::U64(v)
    }
}
impl From<usize> for TraceArg {
    fn from(v: usize) -> Self {
        TraceArg::U64(v as u64)
    }
}
impl From<i64> for TraceArg {
    fn from(v: i64) -> Self {
        TraceArg::I64(v)
    }
}
impl From<f64> for TraceArg {
    fn from(v: f64) -> Self {
        TraceArg::F64(v)
    }
}
impl From<&'static str> for TraceArg {
    fn from(v: &'static str) -> Self {
        TraceArg::Str(Cow::Borrowed(v))
    }
}
impl From<String> for TraceArg {
    fn from(v: String) -> Self {
        TraceArg::Str(Cow::Owned(v))
    }
}

/// What kind of event (Chrome `ph`).
#[derive(Clone, Debug, PartialEq)]
pub enum TraceKind {
    /// A complete slice (`ph: "X"`) from `start` to `end`. Slices on one
    /// track must nest or be disjoint.
    Slice { start: TraceTime, end: TraceTime },
    /// An instant on the track (`ph: "i"`, thread scope).
    Instant(TraceTime),
    /// A counter sample (`ph: "C"`): each numeric arg is one series of the
    /// counter named by the event. The track is ignored (counters belong to
    /// the process).
    Counter(TraceTime),
    /// Names the track (`ph: "M"`, `thread_name`); the event's name is the
    /// track's name.
    TrackName,
}

/// One trace event, recorded with [`Heap::trace_event`](crate::Heap::trace_event).
#[derive(Clone, Debug, PartialEq)]
pub struct TraceEvent {
    pub track: TraceTrack,
    pub name: Cow<'static, str>,
    pub kind: TraceKind,
    pub args: Vec<(Cow<'static, str>, TraceArg)>,
}

impl TraceEvent {
    /// A slice `[start, end]` named `name` on `track`.
    pub fn slice(
        track: TraceTrack,
        name: impl Into<Cow<'static, str>>,
        start: TraceTime,
        end: TraceTime,
    ) -> TraceEvent {
        TraceEvent {
            track,
            name: name.into(),
            kind: TraceKind::Slice {
                start,
                end: end.max(start),
            },
            args: Vec::new(),
        }
    }

    /// An instant named `name` on `track` at `at`.
    pub fn instant(
        track: TraceTrack,
        name: impl Into<Cow<'static, str>>,
        at: TraceTime,
    ) -> TraceEvent {
        TraceEvent {
            track,
            name: name.into(),
            kind: TraceKind::Instant(at),
            args: Vec::new(),
        }
    }

    /// A sample of counter `name` at `at`; add one [`arg`](Self::arg) per
    /// series.
    pub fn counter(name: impl Into<Cow<'static, str>>, at: TraceTime) -> TraceEvent {
        TraceEvent {
            track: TraceTrack::Mutator,
            name: name.into(),
            kind: TraceKind::Counter(at),
            args: Vec::new(),
        }
    }

    /// Names `track` in the viewer.
    pub fn track_name(track: TraceTrack, name: impl Into<Cow<'static, str>>) -> TraceEvent {
        TraceEvent {
            track,
            name: name.into(),
            kind: TraceKind::TrackName,
            args: Vec::new(),
        }
    }

    /// Adds an argument (shown in the viewer's details pane).
    pub fn arg(mut self, key: impl Into<Cow<'static, str>>, value: impl Into<TraceArg>) -> Self {
        self.args.push((key.into(), value.into()));
        self
    }

    fn ts(&self) -> u64 {
        match self.kind {
            TraceKind::Slice { start, .. } => start.0,
            TraceKind::Instant(t) | TraceKind::Counter(t) => t.0,
            TraceKind::TrackName => 0,
        }
    }

    fn dur(&self) -> u64 {
        match self.kind {
            TraceKind::Slice { start, end } => end.0.saturating_sub(start.0),
            _ => 0,
        }
    }
}

/// The clock every recorder of one heap shares.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TraceClock {
    epoch: Instant,
}

impl TraceClock {
    pub(crate) fn new() -> TraceClock {
        TraceClock {
            epoch: Instant::now(),
        }
    }

    #[inline]
    pub(crate) fn now(&self) -> TraceTime {
        TraceTime(self.epoch.elapsed().as_nanos() as u64)
    }

    pub(crate) fn at(&self, t: Instant) -> TraceTime {
        TraceTime(t.saturating_duration_since(self.epoch).as_nanos() as u64)
    }
}

/// The background sweeper's buffer (in `HeapShared`). `None` inside once
/// the trace has been written: later events are dropped.
pub(crate) struct SharedTrace {
    pub(crate) clock: TraceClock,
    // guarded by its own leaf lock (rank Trace): the sweeper takes it once
    // per batch, the mutator once at the final flush.
    buf: Mutex<Option<Vec<TraceEvent>>>,
}

impl SharedTrace {
    pub(crate) fn new(clock: TraceClock) -> SharedTrace {
        SharedTrace {
            clock,
            buf: Mutex::new(LockRank::Trace, Some(Vec::new())),
        }
    }

    pub(crate) fn push(&self, ev: TraceEvent) {
        if let Some(b) = self.buf.lock().as_mut() {
            b.push(ev);
        }
    }

    fn take(&self) -> Vec<TraceEvent> {
        self.buf.lock().take().unwrap_or_default()
    }
}

/// The mutator's recorder (in `Heap`).
pub(crate) struct Tracer {
    /// The `--trace` file; `None` when recording only for a [`GcRecorder`].
    path: Option<PathBuf>,
    pub(crate) clock: TraceClock,
    events: Vec<TraceEvent>,
    /// When the last periodic heap counter was sampled.
    pub(crate) last_counter: TraceTime,
    /// Where the recording goes at the end (`GcConfig::record`).
    recorder: Option<GcRecorder>,
    /// One per cycle, kept only for a recorder (`Heap::trace_cycle`).
    pub(crate) cycles: Vec<CycleRecord>,
}

impl Tracer {
    pub(crate) fn new(
        path: Option<PathBuf>,
        recorder: Option<GcRecorder>,
        clock: TraceClock,
    ) -> Tracer {
        let mut events = vec![
            TraceEvent::track_name(TraceTrack::Mutator, "mutator"),
            TraceEvent::track_name(TraceTrack::BgSweeper, "gc-bgsweep"),
            TraceEvent::track_name(TraceTrack::MarkWorker, "gc-mark"),
        ];
        events.reserve(1024);
        Tracer {
            path,
            clock,
            events,
            last_counter: TraceTime(0),
            recorder,
            cycles: Vec::new(),
        }
    }

    /// Whether cycles are kept for a recorder.
    pub(crate) fn records_cycles(&self) -> bool {
        self.recorder.is_some()
    }

    #[inline]
    pub(crate) fn push(&mut self, ev: TraceEvent) {
        self.events.push(ev);
    }

    /// Heap counter sample.
    pub(crate) fn heap_counter(&mut self, at: TraceTime, heap_alloc: u64, next_gc: u64) {
        let mut ev = TraceEvent::counter(recording::HEAP_COUNTER, at).arg("heapAlloc", heap_alloc);
        if next_gc != u64::MAX {
            ev = ev.arg("nextGC", next_gc);
        }
        self.last_counter = at;
        self.events.push(ev);
    }

    /// Merge the sweeper's events with ours, hand the recorder its
    /// recording, and write the file if there is one (its path).
    pub(crate) fn finish(mut self, shared: Option<&SharedTrace>) -> io::Result<Option<PathBuf>> {
        if let Some(s) = shared {
            self.events.extend(s.take());
        }
        if let Some(r) = &self.recorder {
            let cycles = std::mem::take(&mut self.cycles);
            r.deliver(GcRecording::from_events(
                &self.events,
                cycles,
                self.clock.now(),
            ));
        }
        let Some(path) = self.path else {
            return Ok(None);
        };
        let file = std::fs::File::create(&path)?;
        let mut w = io::BufWriter::new(file);
        write_json(&mut w, &mut self.events)?;
        w.flush()?;
        Ok(Some(path))
    }

    pub(crate) fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

/// Writes `events` as a Chrome trace-event JSON object. Sorted by start,
/// longer slices first at equal starts, so a parent precedes the children
/// that begin with it (viewers that do not re-sort nest them correctly).
fn write_json(w: &mut impl Write, events: &mut [TraceEvent]) -> io::Result<()> {
    events.sort_by_key(|e| (e.ts(), core::cmp::Reverse(e.dur())));
    let process = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "gc".into());
    w.write_all(b"{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n")?;
    write!(
        w,
        "{{\"name\":\"process_name\",\"ph\":\"M\",\"ts\":0,\"pid\":{PID},\"tid\":1,\"args\":{{\"name\":"
    )?;
    write_str(w, &process)?;
    w.write_all(b"}}")?;
    for e in events.iter() {
        w.write_all(b",\n")?;
        write_event(w, e)?;
    }
    w.write_all(b"\n]}\n")
}

fn write_event(w: &mut impl Write, e: &TraceEvent) -> io::Result<()> {
    let tid = e.track.tid();
    match &e.kind {
        TraceKind::TrackName => {
            write!(
                w,
                "{{\"name\":\"thread_name\",\"ph\":\"M\",\"ts\":0,\"pid\":{PID},\"tid\":{tid},\"args\":{{\"name\":"
            )?;
            write_str(w, &e.name)?;
            return w.write_all(b"}}");
        }
        TraceKind::Slice { start, .. } => {
            w.write_all(b"{\"name\":")?;
            write_str(w, &e.name)?;
            write!(w, ",\"cat\":\"gc\",\"ph\":\"X\",\"ts\":")?;
            write_us(w, start.0)?;
            w.write_all(b",\"dur\":")?;
            write_us(w, e.dur())?;
        }
        TraceKind::Instant(t) => {
            w.write_all(b"{\"name\":")?;
            write_str(w, &e.name)?;
            write!(w, ",\"cat\":\"gc\",\"ph\":\"i\",\"s\":\"t\",\"ts\":")?;
            write_us(w, t.0)?;
        }
        TraceKind::Counter(t) => {
            w.write_all(b"{\"name\":")?;
            write_str(w, &e.name)?;
            write!(w, ",\"cat\":\"gc\",\"ph\":\"C\",\"ts\":")?;
            write_us(w, t.0)?;
        }
    }
    write!(w, ",\"pid\":{PID},\"tid\":{tid}")?;
    if !e.args.is_empty() {
        w.write_all(b",\"args\":{")?;
        for (i, (k, v)) in e.args.iter().enumerate() {
            if i > 0 {
                w.write_all(b",")?;
            }
            write_str(w, k)?;
            w.write_all(b":")?;
            match v {
                TraceArg::U64(n) => write!(w, "{n}")?,
                TraceArg::I64(n) => write!(w, "{n}")?,
                TraceArg::F64(x) if x.is_finite() => write!(w, "{x}")?,
                TraceArg::F64(_) => w.write_all(b"null")?,
                TraceArg::Str(s) => write_str(w, s)?,
            }
        }
        w.write_all(b"}")?;
    }
    w.write_all(b"}")
}

/// Nanoseconds as microseconds with three decimals (exact, no float).
fn write_us(w: &mut impl Write, ns: u64) -> io::Result<()> {
    write!(w, "{}.{:03}", ns / 1000, ns % 1000)
}

/// A JSON string literal.
fn write_str(w: &mut impl Write, s: &str) -> io::Result<()> {
    w.write_all(b"\"")?;
    let mut run = 0;
    let bytes = s.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        let esc: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0..=0x1f => None,
            _ => {
                continue;
            }
        };
        w.write_all(&bytes[run..i])?;
        match esc {
            Some(e) => w.write_all(e)?,
            None => write!(w, "\\u{b:04x}")?,
        }
        run = i + 1;
    }
    w.write_all(&bytes[run..])?;
    w.write_all(b"\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(events: &mut [TraceEvent]) -> String {
        let mut out = Vec::new();
        write_json(&mut out, events).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn events_serialize_in_chrome_format() {
        let mut evs = vec![
            TraceEvent::slice(
                TraceTrack::Mutator,
                "mark",
                TraceTime(1_500),
                TraceTime(2_000),
            ),
            TraceEvent::slice(
                TraceTrack::Mutator,
                "GC pause",
                TraceTime(1_500),
                TraceTime(3_250),
            )
            .arg("gc", 1u64),
            TraceEvent::counter("heap", TraceTime(42)).arg("heapAlloc", 4096u64),
            TraceEvent::track_name(TraceTrack::Embedder(3), "co \"3\"\n"),
        ];
        let s = json(&mut evs);
        assert!(s.starts_with("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n"));
        assert!(s.contains(
            "{\"name\":\"GC pause\",\"cat\":\"gc\",\"ph\":\"X\",\"ts\":1.500,\"dur\":1.750,\"pid\":1,\"tid\":1,\"args\":{\"gc\":1}}"
        ));
        assert!(s.contains(
            "\"ph\":\"C\",\"ts\":0.042,\"pid\":1,\"tid\":1,\"args\":{\"heapAlloc\":4096}"
        ));
        assert!(s.contains("\"tid\":103,\"args\":{\"name\":\"co \\\"3\\\"\\n\"}"));
        // The parent precedes the child that starts with it.
        assert!(s.find("GC pause").unwrap() < s.find("\"mark\"").unwrap());
    }

    #[test]
    fn control_characters_are_escaped() {
        let mut out = Vec::new();
        write_str(&mut out, "a\u{1}b\\").unwrap();
        assert_eq!(out, b"\"a\\u0001b\\\\\"");
    }
}
