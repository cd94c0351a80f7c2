//! `--trace FILE`: runs the real binary on examples/binary_trees.lox and
//! validates the Chrome trace-event JSON it writes, the way a viewer
//! (Perfetto, chrome://tracing) reads it: required fields, per-track
//! nesting, the background sweeper on its own track running while the
//! mutator runs, and the heap counter. Also `LOAMDEBUG=trace=FILE`,
//! `--gc-summary`, and an unwritable trace path.

mod common;

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("loam-trace-{}-{name}", std::process::id()))
}

fn run(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(common::loam_bin());
    cmd.args(args).env_remove("LOAMDEBUG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run loam")
}

#[derive(Clone, Debug)]
struct Slice {
    name: String,
    start: f64,
    end: f64,
}

/// Tolerance for `ts + dur` sums: times are microseconds with three exact
/// decimals, summed in f64.
const EPS: f64 = 0.002;

/// Every event has the fields viewers need; returns the complete (`X`)
/// slices per tid, the counter samples, and the thread names.
#[allow(clippy::type_complexity)]
fn check_fields(
    trace: &Value,
) -> (
    BTreeMap<u64, Vec<Slice>>,
    Vec<(f64, BTreeMap<String, f64>)>,
    BTreeMap<u64, String>,
) {
    let events = trace["traceEvents"].as_array().expect("traceEvents array");
    assert!(!events.is_empty());
    let mut slices: BTreeMap<u64, Vec<Slice>> = BTreeMap::new();
    let mut counters = Vec::new();
    let mut names = BTreeMap::new();
    for e in events {
        let name = e["name"].as_str().unwrap_or_else(|| panic!("name: {e}"));
        let ph = e["ph"].as_str().unwrap_or_else(|| panic!("ph: {e}"));
        let ts = e["ts"].as_f64().unwrap_or_else(|| panic!("ts: {e}"));
        assert!(e["pid"].is_u64(), "pid: {e}");
        let tid = e["tid"].as_u64().unwrap_or_else(|| panic!("tid: {e}"));
        assert!(ts >= 0.0, "{e}");
        match ph {
            "X" => {
                let dur = e["dur"].as_f64().unwrap_or_else(|| panic!("dur: {e}"));
                assert!(dur >= 0.0, "{e}");
                slices.entry(tid).or_default().push(Slice {
                    name: name.to_string(),
                    start: ts,
                    end: ts + dur,
                });
            }
            "C" => {
                let args = e["args"].as_object().unwrap_or_else(|| panic!("args: {e}"));
                assert!(!args.is_empty(), "{e}");
                let series = args
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_f64().expect("numeric counter")))
                    .collect();
                counters.push((ts, series));
            }
            "M" => {
                if name == "thread_name" {
                    let n = e["args"]["name"].as_str().expect("thread name");
                    names.insert(tid, n.to_string());
                }
            }
            "i" => {}
            other => panic!("unexpected phase {other}: {e}"),
        }
    }
    (slices, counters, names)
}

/// Slices on one track nest or are disjoint (never partially overlap);
/// returns the deepest nesting.
fn check_nesting(tid: u64, slices: &[Slice]) -> usize {
    let mut sorted = slices.to_vec();
    sorted.sort_by(|a, b| a.start.total_cmp(&b.start).then(b.end.total_cmp(&a.end)));
    let mut stack: Vec<Slice> = Vec::new();
    let mut depth = 0;
    for s in sorted {
        while stack.last().is_some_and(|top| top.end <= s.start + EPS) {
            stack.pop();
        }
        if let Some(top) = stack.last() {
            assert!(
                s.end <= top.end + EPS,
                "tid {tid}: {s:?} overlaps {top:?} without nesting in it"
            );
        }
        stack.push(s);
        depth = depth.max(stack.len());
    }
    depth
}

fn summary(stderr: &[u8]) -> BTreeMap<String, u64> {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("gc-summary: "))
        .unwrap_or_else(|| panic!("no gc-summary line in {text}"));
    line.split(' ')
        .map(|kv| {
            let (k, v) = kv.split_once('=').expect("key=value");
            (k.to_string(), v.parse().expect("number"))
        })
        .collect()
}

/// The trace of binary_trees under the stop-the-world mark
/// (`concurrent` false: one pause per cycle holding its three phases) or
/// the concurrent one (two pauses per cycle, sweep termination and mark
/// termination, and the mark between them on the mark worker's track).
fn check_binary_trees_trace(concurrent: bool) {
    let path = temp(if concurrent {
        "binary_trees_cm.json"
    } else {
        "binary_trees_stw.json"
    });
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/binary_trees.lox");
    let mut args = vec![
        "--trace",
        path.to_str().expect("utf-8 temp path"),
        "--gc-summary",
        example.to_str().expect("utf-8 path"),
    ];
    if !concurrent {
        args.insert(0, "--no-concurrent-mark");
    }
    // On a loaded machine the program's one cycle can end with the
    // allocator having swept everything before the sweeper thread was
    // scheduled: then the run says nothing about concurrent sweeping, and
    // is tried again (three times at most).
    let mut attempts = 0;
    let (stats, trace) = loop {
        attempts += 1;
        let out = run(&args, &[]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("long lived tree"));
        let stats = summary(&out.stderr);
        let text = std::fs::read_to_string(&path).expect("trace file written");
        let _ = std::fs::remove_file(&path);
        let trace: Value = serde_json::from_str(&text).expect("valid JSON");
        if stats["swept_background"] > 0 || attempts == 3 {
            break (stats, trace);
        }
    };
    assert!(
        stats["swept_background"] > 0,
        "the background sweeper swept nothing in {attempts} runs"
    );

    let (slices, counters, names) = check_fields(&trace);
    assert_eq!(names.get(&1).map(String::as_str), Some("mutator"));
    assert_eq!(names.get(&2).map(String::as_str), Some("gc-bgsweep"));

    let mutator = &slices[&1];
    assert!(check_nesting(1, mutator) >= 3, "run > pause > phase");
    let sweeper = slices.get(&2).expect("background sweeper slices");
    assert_eq!(
        check_nesting(2, sweeper),
        1,
        "sweeper batches are sequential"
    );
    assert!(sweeper.iter().all(|s| s.name == "sweep"));

    let pauses: Vec<&Slice> = mutator.iter().filter(|s| s.name == "GC pause").collect();
    assert!(!pauses.is_empty());
    let inside = |phase: &str| {
        mutator
            .iter()
            .filter(|s| s.name == phase)
            .filter(|s| {
                pauses
                    .iter()
                    .any(|p| p.start <= s.start + EPS && s.end <= p.end + EPS)
            })
            .count() as u64
    };
    let cycles = stats["num_gc"];
    if concurrent {
        // Two pauses per finished cycle (a cycle still marking at exit is
        // traced when it ends, so not at all).
        assert_eq!(
            pauses.len() as u64,
            2 * cycles,
            "pauses for {cycles} cycles"
        );
        assert_eq!(inside("sweep termination"), cycles);
        assert_eq!(inside("mark termination"), cycles);
        assert_eq!(inside("mark"), 0, "the mark is not a pause");
        assert_eq!(names.get(&3).map(String::as_str), Some("gc-mark"));
        let marks = slices.get(&3).expect("mark slices on the worker's track");
        assert_eq!(
            marks.iter().filter(|s| s.name == "mark").count() as u64,
            cycles
        );
    } else {
        // One pause per cycle, each holding its three phases.
        assert_eq!(pauses.len() as u64, cycles);
        for phase in ["sweep termination", "mark", "mark termination"] {
            assert_eq!(inside(phase), cycles, "{phase} nested in every pause");
        }
    }

    // Concurrency: some sweep batch ran while the mutator was running the
    // script and not paused for GC.
    let run = mutator
        .iter()
        .find(|s| s.name == "run script")
        .expect("run slice");
    let concurrent = sweeper.iter().any(|s| {
        let (a, b) = (s.start.max(run.start), s.end.min(run.end));
        b > a
            && !pauses
                .iter()
                .any(|p| p.start <= a + EPS && b <= p.end + EPS)
    });
    assert!(concurrent, "no sweep batch overlaps the running mutator");

    // The heap counter: sampled at every pause, with both series.
    assert!(counters.len() >= 2 * pauses.len());
    assert!(counters
        .iter()
        .all(|(_, c)| c.contains_key("heapAlloc") && c.contains_key("nextGC")));
    assert!(counters.iter().any(|(_, c)| c["heapAlloc"] > 1e6));
}

#[test]
fn trace_of_binary_trees_is_valid_and_shows_concurrent_sweeping() {
    check_binary_trees_trace(false);
}

#[test]
fn trace_of_a_concurrent_mark_shows_two_short_pauses_per_cycle() {
    check_binary_trees_trace(true);
}

#[test]
fn loamdebug_trace_and_bad_trace_path() {
    let path = temp("loamdebug.json");
    let spec = PathBuf::from(format!("trace={}", path.display()));
    let out = run(
        &[
            "-e",
            "var s = \"\"; for (var i = 0; i < 2000; i = i + 1) s = s + \"x\"; gc(); print s == s;",
        ],
        &[("LOAMDEBUG", &spec)],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&path).expect("trace file written");
    let _ = std::fs::remove_file(&path);
    let trace: Value = serde_json::from_str(&text).expect("valid JSON");
    let (slices, _, _) = check_fields(&trace);
    assert!(
        slices[&1].iter().any(|s| s.name == "GC pause"),
        "gc() traced"
    );
    assert!(slices[&1].iter().any(|s| s.name == "sweep (full)"));

    let out = run(
        &["--trace", "/nonexistent-dir/t.json", "-e", "print 1;"],
        &[],
    );
    assert_eq!(out.status.code(), Some(74));
    assert!(out.stdout.is_empty(), "nothing ran");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Could not open trace file \"/nonexistent-dir/t.json\".\n"
    );
}
