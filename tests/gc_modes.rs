//! The collector must be invisible: every program of the `.lox` corpus
//! prints byte-identical stdout and stderr, and exits with the same code,
//! under these configurations (DESIGN.md "Debug modes"):
//!
//! - `default`: concurrent background sweep;
//! - `no-concurrent-sweep`: `--no-concurrent-sweep` (all sweeping lazy);
//! - `stress`: `--gc-stress --gc-verify --gc-poison` (a collection at every
//!   allocation, heap verification, freed objects poisoned);
//! - `no-quicken`: `--no-quicken`, the bytecode exactly as compiled, without
//!   the VM's superinstructions (QUICKEN_EQUIV, `vm/src/quicken.rs`): not a
//!   collector mode, but the same whole-corpus comparison;
//! - `no-concurrent-mark`: `--no-concurrent-mark`, the stop-the-world mark
//!   (no mark worker, no barrier) the concurrent mark must agree with;
//! - `verify`: `--gc-verify` at normal pacing, so cycles mark concurrently
//!   while the program runs and each ends with the checkmark re-mark
//!   (`CHECKMARK`) and the SCAN_ONCE checks.
//!
//! Corpus: every `.lox` under `tests/lox/` and `examples/` (run from the
//! repository root by relative path, like the snapshot harness, honouring an
//! optional first line `// args: ...`; a mode flag the file already gives
//! is not repeated), plus the official suite at `$LOX_TEST_DIR` (default
//! `<repo>/../shared/lox-test`, run from the suite directory) without
//! `benchmark/`, `scanning/`, `expressions/` and files containing
//! `// nontest`, exactly as `tests/conformance.rs` selects them.
//! A missing suite fails the test unless `LOAM_ALLOW_NO_SUITE=1`.
//!
//! Stress mode collects at every allocation, so its cost grows with (live
//! heap) x (allocations). Files that take more than about 5 s under stress,
//! or whose output legitimately depends on the number of collections, are
//! listed in [`STRESS_EXCLUDED`] with the reason and the smaller stand-in
//! under `tests/lox/gcmodes/` that covers the same code under stress
//! instead (the stand-ins are ordinary corpus files, so they run in all
//! three modes). The excluded files still run in the other two modes. The
//! list is printed on every run.
//!
//! `LOAMDEBUG` is removed from the children's environment so that only the
//! flags above select the mode. Knobs: `GC_MODES_FILTER=substr` (only
//! matching paths; the suite-size check is then skipped), `GC_MODES_JOBS`
//! (default 2), `GC_MODES_TIMEOUT` (seconds per run in the first two modes,
//! default 60), `GC_MODES_STRESS_TIMEOUT` (seconds per stress run, default
//! 60), `GC_MODES_SLOW` (seconds; stress runs slower than this are reported
//! as candidates for [`STRESS_EXCLUDED`], default 5).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{collect_lox, escape, run_command, split_lines, suite_dir};

/// Writes a line to the process's stderr directly: libtest captures
/// `print!`/`eprint!` of a passing test, but the stress skip list and the
/// counts must show on every run.
macro_rules! report {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

/// The collector configurations: name and flags.
const MODES: [(&str, &[&str]); 6] = [
    ("default", &[]),
    ("no-concurrent-sweep", &["--no-concurrent-sweep"]),
    ("stress", &["--gc-stress", "--gc-verify", "--gc-poison"]),
    ("no-quicken", &["--no-quicken"]),
    ("no-concurrent-mark", &["--no-concurrent-mark"]),
    ("verify", &["--gc-verify"]),
];

/// Index of the mode that runs the code as compiled (QUICKEN_EQUIV).
const NO_QUICKEN: usize = 3;

/// Index of the stress mode in [`MODES`].
const STRESS: usize = 2;

/// Files not run in stress mode: (path from the repository root, stand-in
/// run instead, why). Times are `--gc-stress --gc-verify --gc-poison` in
/// the `test` profile on a 2-core machine.
const STRESS_EXCLUDED: &[(&str, &str, &str)] = &[
    (
        "examples/binary_trees.lox",
        "tests/lox/gcmodes/binary_trees.lox",
        "> 60 s: every allocation marks the 8191-node long-lived tree; stand-in: depth 8",
    ),
    (
        "examples/gc_percent.lox",
        "tests/lox/gcmodes/gc_percent.lox",
        "> 60 s (3 x 300000 allocations over a 4 MiB live set), and it compares cycle \
         counts across setGCPercent values, which stress decides; stand-in: \
         setGCPercent's results, 2000 allocations per setting",
    ),
    (
        "examples/gc_stats.lox",
        "tests/lox/gcmodes/gc_stats.lox",
        "> 60 s: every allocation marks the 100000 kept lists; stand-in: the \
         comparisons that hold in every mode, over 2000 lists",
    ),
    (
        "tests/lox/coroutines/gc_under_coroutines.lox",
        "tests/lox/gcmodes/gc_under_coroutines.lox",
        "~30 s: 20 coroutines x 500 lists, one cycle each; stand-in: 6 x 200",
    ),
    (
        "tests/lox/finalizers/lazy_sweep.lox",
        "tests/lox/gcmodes/lazy_sweep.lox",
        "~8 s (100000 allocations, one cycle each); stand-in: 10000",
    ),
    (
        "tests/lox/gc/api.lox",
        "tests/lox/gcmodes/api.lox",
        "expects gc() to run exactly 1 cycle (17 under stress) and takes ~8 s; \
         stand-in: >= 1 cycle, 2000 garbage lists",
    ),
    (
        "tests/lox/gc/max_heap.lox",
        "tests/lox/gcmodes/max_heap.lox",
        "> 60 s: pushes one-element lists until 4 MB are live, each push collects \
         and scans them; stand-in: 2000 garbage lists, a doubling string",
    ),
    (
        "tests/lox/gc/churn.lox",
        "tests/lox/gcmodes/churn.lox",
        "~45 s (100000 allocations, one cycle each); stand-in: 2 rounds of 2000",
    ),
    (
        "tests/lox/hostile/deep_nesting_print.lox",
        "tests/lox/gcmodes/deep_nesting_print.lox",
        "> 90 s: chains 10^5 and 10^6 deep, every allocation marks the chain; \
         stand-in: 100 deep",
    ),
    (
        "tests/lox/hostile/list_million.lox",
        "tests/lox/gcmodes/list_million.lox",
        "> 60 s: 2 x 10^6 pushes, each collects and scans the list; stand-in: 4000",
    ),
    (
        "tests/lox/hostile/map_large.lox",
        "tests/lox/gcmodes/map_large.lox",
        "> 90 s: each of 5 x 10^5 inserts collects and scans the map; stand-in: 4000",
    ),
    (
        "tests/lox/hostile/nesting_list_literal_10000.lox",
        "tests/lox/gcmodes/nesting_list_literal.lox",
        "~18 s: each of 10^4 nested literals marks the chain so far; stand-in: 2000",
    ),
    (
        "tests/lox/hostile/nesting_list_literal_60000.lox",
        "tests/lox/gcmodes/nesting_list_literal.lox",
        "> 60 s: as nesting_list_literal_10000.lox, 6 x 10^4 deep; stand-in: 2000",
    ),
    (
        "tests/lox/lists/big.lox",
        "tests/lox/gcmodes/lists_big.lox",
        "> 60 s: each of 10^6 pushes collects and scans the list; stand-in: 8000",
    ),
    (
        "tests/lox/maps/many_keys.lox",
        "tests/lox/gcmodes/maps_many_keys.lox",
        "> 60 s: each of 10^6 inserts collects and scans the map; stand-in: 8000",
    ),
];

/// Number of suite files clox runs (same count as `tests/conformance.rs`).
const EXPECTED_SUITE_FILES: usize = 246;

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn env_secs(name: &str, default: f64) -> Duration {
    let secs = std::env::var(name)
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .unwrap_or(default);
    Duration::from_secs_f64(secs)
}

/// One program of the corpus.
struct Program {
    /// Path as shown in reports and passed to loam (relative to `cwd`).
    rel: PathBuf,
    /// Working directory of the run.
    cwd: PathBuf,
    /// Arguments from a first line `// args: ...`.
    args: Vec<String>,
    /// Whether stress mode runs it (not in [`STRESS_EXCLUDED`]).
    stress: bool,
    /// Label: `tests/lox/...`, `examples/...` or `suite/...`.
    label: String,
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Arguments from an optional first line `// args: ...` (as snapshots.rs).
fn args_of(source: &[u8]) -> Vec<String> {
    let first = split_lines(source).into_iter().next().unwrap_or_default();
    match String::from_utf8_lossy(first)
        .trim()
        .strip_prefix("// args:")
    {
        Some(rest) => rest.split_whitespace().map(str::to_owned).collect(),
        None => Vec::new(),
    }
}

/// The corpus and the number of suite files in it (0 if the suite is
/// absent and `LOAM_ALLOW_NO_SUITE=1`).
fn corpus() -> (Vec<Program>, usize) {
    let root = repo_root();
    let mut programs = Vec::new();

    let mut own = Vec::new();
    collect_lox(&root.join("tests/lox"), None, &mut own);
    collect_lox(&root.join("examples"), None, &mut own);
    for path in own {
        let rel = path.strip_prefix(root).expect("under root").to_path_buf();
        let source = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", rel.display()));
        let label = rel.display().to_string();
        let stress = !STRESS_EXCLUDED.iter().any(|(f, _, _)| *f == label);
        programs.push(Program {
            args: args_of(&source),
            cwd: root.to_path_buf(),
            rel,
            stress,
            label,
        });
    }

    let suite = suite_dir();
    let mut suite_files = 0;
    if !suite.is_dir() {
        let msg = format!(
            "lox-test suite not found at {}; set LOX_TEST_DIR (or LOAM_ALLOW_NO_SUITE=1 \
             to run only tests/lox and examples)",
            suite.display()
        );
        if std::env::var("LOAM_ALLOW_NO_SUITE").as_deref() == Ok("1") {
            report!("gc modes: {msg}");
        } else {
            panic!("{msg}");
        }
    } else {
        let mut files = Vec::new();
        collect_lox(&suite, Some(&suite), &mut files);
        for path in files {
            let source = std::fs::read(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            if contains(&source, b"// nontest") {
                continue;
            }
            let rel = path
                .strip_prefix(&suite)
                .expect("under suite")
                .to_path_buf();
            suite_files += 1;
            programs.push(Program {
                args: args_of(&source),
                cwd: suite.clone(),
                label: format!("suite/{}", rel.display()),
                rel,
                stress: true,
            });
        }
    }
    (programs, suite_files)
}

/// The observable behaviour of one run.
#[derive(PartialEq, Eq)]
struct Outcome {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    /// Exit code, or `signal N`, or `timeout`.
    status: String,
}

/// Runs `loam flags... args... rel` in `cwd` with empty stdin and without
/// `LOAMDEBUG`, killing its process group after `limit`.
fn run(bin: &Path, flags: &[&str], p: &Program, limit: Duration) -> (Outcome, Duration) {
    let start = Instant::now();
    let mut command = Command::new(bin);
    command
        .args(flags)
        .args(&p.args)
        .arg(&p.rel)
        .current_dir(&p.cwd)
        .env_remove("LOAMDEBUG");
    let out = run_command(command, limit);
    let elapsed = start.elapsed();
    let status = match (out.timed_out, out.code, out.signal) {
        (true, _, _) => format!("timeout after {limit:?}"),
        (false, Some(c), _) => c.to_string(),
        (false, None, Some(s)) => format!("signal {s}"),
        (false, None, None) => "unknown".to_owned(),
    };
    let outcome = Outcome {
        stdout: out.stdout,
        stderr: out.stderr,
        status,
    };
    (outcome, elapsed)
}

/// First difference of one stream: line number and both renderings.
fn first_difference(name: &str, want: &[u8], got: &[u8]) -> Option<String> {
    if want == got {
        return None;
    }
    let (w, g) = (split_lines(want), split_lines(got));
    let i = (0..w.len().max(g.len()))
        .find(|&i| w.get(i) != g.get(i))
        .unwrap_or(w.len().min(g.len()));
    let show = |l: Option<&&[u8]>| match l {
        Some(l) if l.len() > 100 => format!("'{}'... ({} bytes)", escape(&l[..100]), l.len()),
        Some(l) => format!("'{}'", escape(l)),
        None => "(end)".to_owned(),
    };
    Some(format!(
        "{name} line {}: default {} vs {}",
        i + 1,
        show(w.get(i)),
        show(g.get(i))
    ))
}

#[test]
fn corpus_identical_under_gc_modes() {
    // The oracle of QUICKEN_EQUIV, the code as compiled, is one of the
    // modes every file is compared under.
    assert_eq!(MODES[NO_QUICKEN], ("no-quicken", &["--no-quicken"][..]));
    let root = repo_root();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_loam"));
    let filter = std::env::var("GC_MODES_FILTER")
        .ok()
        .filter(|f| !f.is_empty());
    let jobs = std::env::var("GC_MODES_JOBS")
        .ok()
        .and_then(|j| j.parse::<usize>().ok())
        .filter(|&j| j > 0)
        .unwrap_or(2);
    let limit = env_secs("GC_MODES_TIMEOUT", 60.0);
    let stress_limit = env_secs("GC_MODES_STRESS_TIMEOUT", 60.0);
    let slow = env_secs("GC_MODES_SLOW", 5.0);

    let (mut programs, suite_files) = corpus();
    let labels: Vec<&str> = programs.iter().map(|p| p.label.as_str()).collect();
    for &(file, stand_in, _) in STRESS_EXCLUDED {
        assert!(
            labels.contains(&file),
            "STRESS_EXCLUDED names {file}, which is not in the corpus: update the list"
        );
        assert!(
            labels.contains(&stand_in),
            "STRESS_EXCLUDED stand-in {stand_in} (for {file}) is missing"
        );
    }
    if filter.is_none() && suite_files > 0 {
        assert_eq!(
            suite_files, EXPECTED_SUITE_FILES,
            "the suite selection changed: expected {EXPECTED_SUITE_FILES} files"
        );
    }
    if let Some(f) = &filter {
        programs.retain(|p| p.label.contains(f.as_str()));
    }

    report!(
        "gc modes: stress mode skips {} files (they run in the other modes):",
        STRESS_EXCLUDED.len()
    );
    for &(file, stand_in, why) in STRESS_EXCLUDED {
        report!("    {file} -> {stand_in}: {why}");
    }

    // One job per (program, mode); the slowest kind (stress) first so the
    // two workers finish together.
    let mut work: Vec<(usize, usize)> = Vec::new();
    let order = std::iter::once(STRESS).chain((0..MODES.len()).filter(|&m| m != STRESS));
    for mode in order {
        for (i, p) in programs.iter().enumerate() {
            if mode != STRESS || p.stress {
                work.push((i, mode));
            }
        }
    }
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<(Outcome, Duration)>>> = Mutex::new(
        std::iter::repeat_with(|| None)
            .take(programs.len() * MODES.len())
            .collect(),
    );
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| {
                while let Some(&(i, mode)) = work.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let lim = if mode == STRESS { stress_limit } else { limit };
                    // A flag the file's `// args:` already gives is not
                    // repeated (clap rejects duplicates).
                    let p = &programs[i];
                    let flags: Vec<&str> = MODES[mode]
                        .1
                        .iter()
                        .copied()
                        .filter(|f| !p.args.iter().any(|a| a == f))
                        .collect();
                    let r = run(&bin, &flags, p, lim);
                    results.lock().unwrap()[i * MODES.len() + mode] = Some(r);
                }
            });
        }
    });
    let results = results.into_inner().unwrap();

    let mut failures = Vec::new();
    let mut slow_runs = Vec::new();
    let mut identical = [0usize; MODES.len()];
    let mut all_modes = 0;
    for (i, p) in programs.iter().enumerate() {
        let get = |m: usize| results[i * MODES.len() + m].as_ref();
        let (base, _) = get(0).expect("default run");
        let mut same_everywhere = true;
        let mut problems = Vec::new();
        for (m, (name, _)) in MODES.iter().enumerate() {
            let Some((out, took)) = get(m) else {
                same_everywhere = false;
                continue;
            };
            if m == STRESS && *took > slow {
                slow_runs.push(format!("    {} took {:.1} s", p.label, took.as_secs_f64()));
            }
            if out.status.starts_with("timeout") || out.status.starts_with("signal") {
                problems.push(format!("{name}: {}", out.status));
            }
            if out == base {
                identical[m] += 1;
                continue;
            }
            same_everywhere = false;
            if m == 0 {
                continue;
            }
            let mut diffs: Vec<String> = [
                first_difference("stdout", &base.stdout, &out.stdout),
                first_difference("stderr", &base.stderr, &out.stderr),
            ]
            .into_iter()
            .flatten()
            .collect();
            if out.status != base.status {
                diffs.push(format!("exit: default {} vs {}", base.status, out.status));
            }
            problems.push(format!("{name} differs: {}", diffs.join("; ")));
        }
        if same_everywhere && problems.is_empty() {
            all_modes += 1;
        }
        if !problems.is_empty() {
            failures.push(format!("FAIL {}\n    {}", p.label, problems.join("\n    ")));
        }
    }

    for f in &failures {
        report!("{f}");
    }
    if !slow_runs.is_empty() {
        report!(
            "gc modes: stress runs slower than {:?} (consider STRESS_EXCLUDED with a stand-in):",
            slow
        );
        for s in &slow_runs {
            report!("{s}");
        }
    }
    let stress_total = programs.iter().filter(|p| p.stress).count();
    let per_mode: Vec<String> = MODES
        .iter()
        .enumerate()
        .skip(1)
        .map(|(m, (name, _))| {
            if m == STRESS {
                format!(
                    "{}/{stress_total} {name} ({} excluded)",
                    identical[m],
                    programs.len() - stress_total
                )
            } else {
                format!("{} {name}", identical[m])
            }
        })
        .collect();
    report!(
        "gc modes: {} files ({} own, {} suite); identical to default: {}; {:.1} s with {jobs} jobs",
        programs.len(),
        programs.len() - programs.iter().filter(|p| p.cwd != root).count(),
        programs.iter().filter(|p| p.cwd != root).count(),
        per_mode.join(", "),
        started.elapsed().as_secs_f64()
    );
    // Every mode ran every file (stress: every file not excluded): a mode
    // left out of the work list would otherwise compare nothing.
    for (m, (name, _)) in MODES.iter().enumerate() {
        let ran = (0..programs.len())
            .filter(|i| results[i * MODES.len() + m].is_some())
            .count();
        let want = if m == STRESS {
            stress_total
        } else {
            programs.len()
        };
        assert_eq!(ran, want, "mode {name} ran {ran} of {want} files");
    }
    report!(
        "gc modes: {all_modes} files identical under all {} modes",
        MODES.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} files behave differently across GC modes (see above)",
        failures.len(),
        programs.len()
    );
}
