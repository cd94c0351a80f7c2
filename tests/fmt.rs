//! `loam fmt`, end to end with the built binary.
//!
//! The main test formats a copy of every `.lox` file of the official suite
//! (`$LOX_TEST_DIR` or `../shared/lox-test`; the test fails without it
//! unless `LOAM_ALLOW_NO_SUITE=1`) and of the repository with one `loam fmt
//! DIR` run, then checks:
//!
//! - a file that does not compile is left byte for byte as it was, and
//!   `loam fmt` printed exactly clox's errors for it (exit 65);
//! - a second run (`loam fmt --check`) lists nothing: formatting is
//!   idempotent;
//! - every program that changed prints the same stdout, the same stderr
//!   and exits the same, formatted or not, run by `loam` with the
//!   arguments of its `// args:` line; in stderr, `[line N]` is compared
//!   without N (a runtime error's trace names lines, and lines move).
//!   The suite's `benchmark/` and the repository's `bench/` (they print
//!   timings and run for seconds), and the suite's `scanning/` and
//!   `expressions/` (not run by clox's runner) are formatted and checked
//!   but not run.
//!
//! The others check the command's contract: `--check` lists and changes
//! nothing, standard input to standard output, the examples are already
//! formatted, and snapshots of the layout on `tests/fmt/*.lox` (written
//! badly on purpose) and `examples/*.lox`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{collect_lox, escape, loam_bin, run_command, suite_dir, timeout, RunOutput};

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// An empty scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("fmt-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch directory");
    dir
}

fn loam(args: &[&str], cwd: &Path) -> RunOutput {
    let mut command = Command::new(loam_bin());
    command.args(args).current_dir(cwd);
    run_command(command, timeout())
}

/// Every `.lox` file of the repository (not under `target/`, hidden
/// directories, or what `scripts/fuzz.sh` writes under `fuzz/`: copies of
/// the suite's files and generated inputs, not ours), relative to its
/// root.
fn repository_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![repo_root().to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read repository").flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if path.is_dir() {
                let fuzz_output = dir.ends_with("fuzz")
                    && matches!(&*name, "seeds" | "corpus" | "artifacts" | "logs");
                if name != "target" && !name.starts_with('.') && !fuzz_output {
                    dirs.push(path);
                }
            } else if name.ends_with(".lox") {
                out.push(
                    path.strip_prefix(repo_root())
                        .expect("in repo")
                        .to_path_buf(),
                );
            }
        }
    }
    out.sort();
    out
}

/// Arguments from an optional first line `// args: ...` (as in
/// `tests/snapshots.rs`).
fn args_of(source: &[u8]) -> Vec<String> {
    let first = common::split_lines(source)
        .into_iter()
        .next()
        .unwrap_or_default();
    match String::from_utf8_lossy(first)
        .trim()
        .strip_prefix("// args:")
    {
        Some(rest) => rest.split_whitespace().map(str::to_owned).collect(),
        None => Vec::new(),
    }
}

/// `stderr` with the number of every `[line N]` removed.
fn without_line_numbers(stderr: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(stderr.len());
    let mut rest = stderr;
    while let Some(at) = rest.windows(6).position(|w| w == b"[line ") {
        out.extend_from_slice(&rest[..at + 6]);
        rest = &rest[at + 6..];
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if rest.get(digits) == Some(&b']') {
            rest = &rest[digits..];
        }
    }
    out.extend_from_slice(rest);
    out
}

/// clox's compile errors for `source`, as `loam` prints them; `None` if it
/// compiles. On a thread with the compiler's stack (the nesting tests).
fn compile_errors(source: Vec<u8>) -> Option<Vec<u8>> {
    std::thread::Builder::new()
        .stack_size(lang::COMPILE_STACK_SIZE)
        .spawn(move || {
            lang::compile(&source).err().map(|errors| {
                let mut out = Vec::new();
                for e in errors {
                    out.extend_from_slice(&e.to_bytes());
                    out.push(b'\n');
                }
                out
            })
        })
        .expect("spawn")
        .join()
        .expect("compile thread")
}

/// The error lines `loam fmt` printed under each "does not compile"
/// header, by file (as printed).
fn error_blocks(stderr: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut blocks: Vec<(String, Vec<u8>)> = Vec::new();
    let mut in_block = false;
    for line in stderr.split_inclusive(|&b| b == b'\n') {
        let text = String::from_utf8_lossy(line);
        if let Some(note) = text.strip_prefix("loam fmt: ") {
            in_block = false;
            if let Some(path) = note.strip_suffix(" does not compile; left unchanged:\n") {
                blocks.push((path.to_string(), Vec::new()));
                in_block = true;
            }
        } else if let Some(block) = blocks.last_mut().filter(|_| in_block) {
            block.1.extend_from_slice(line);
        }
    }
    blocks
}

struct Case {
    /// The original file.
    original: PathBuf,
    /// Its copy in the scratch tree, which `loam fmt` rewrites.
    copy: PathBuf,
    /// Where the program runs (`None`: formatted but not run).
    cwd: Option<PathBuf>,
}

#[test]
fn formatting_keeps_what_programs_do() {
    let started = Instant::now();
    let root = scratch("corpus");
    let mut cases = Vec::new();

    let suite = suite_dir();
    if suite.is_dir() {
        let mut all = Vec::new();
        collect_lox(&suite, None, &mut all);
        let mut run = Vec::new();
        collect_lox(&suite, Some(&suite), &mut run);
        assert!(all.len() > 250, "only {} suite files", all.len());
        for original in all {
            let rel = original.strip_prefix(&suite).expect("in suite");
            let cwd = run.contains(&original).then(|| suite.clone());
            cases.push(Case {
                copy: root.join("suite").join(rel),
                original,
                cwd,
            });
        }
    } else if std::env::var("LOAM_ALLOW_NO_SUITE").as_deref() == Ok("1") {
        println!(
            "lox-test suite not found at {}; formatting the repository only",
            suite.display()
        );
    } else {
        panic!(
            "lox-test suite not found at {} (set LOX_TEST_DIR)",
            suite.display()
        );
    }
    let repo = repository_files();
    assert!(repo.len() > 150, "only {} repository files", repo.len());
    for rel in repo {
        let benchmark = rel.starts_with("bench");
        cases.push(Case {
            copy: root.join("repo").join(&rel),
            original: repo_root().join(&rel),
            cwd: (!benchmark).then(|| repo_root().to_path_buf()),
        });
    }
    for case in &cases {
        std::fs::create_dir_all(case.copy.parent().expect("parent")).expect("mkdir");
        std::fs::copy(&case.original, &case.copy).expect("copy");
    }

    let root_arg = root.to_string_lossy().into_owned();
    let first = loam(&["fmt", &root_arg], &root);
    let mut failures = Vec::new();
    if !first.stdout.is_empty() {
        failures.push(format!(
            "loam fmt wrote to stdout: {}",
            escape(&first.stdout)
        ));
    }
    let blocks = error_blocks(&first.stderr);

    // Compile errors: untouched, and clox's exact errors.
    let mut untouched = 0;
    let mut changed = Vec::new();
    for case in &cases {
        let before = std::fs::read(&case.original).expect("read original");
        let after = std::fs::read(&case.copy).expect("read copy");
        let name = case.copy.display().to_string();
        match compile_errors(before.clone()) {
            Some(errors) => {
                untouched += 1;
                if after != before {
                    failures.push(format!("{name}: does not compile but was changed"));
                }
                match blocks.iter().find(|(path, _)| *path == name) {
                    Some((_, printed)) if *printed == errors => {}
                    Some((_, printed)) => failures.push(format!(
                        "{name}: printed\n{}\ninstead of clox's errors\n{}",
                        escape(printed),
                        escape(&errors)
                    )),
                    None => failures.push(format!("{name}: its compile errors were not printed")),
                }
            }
            None if before.contains(&0) && after != before => {
                failures.push(format!("{name}: has a NUL byte but was changed"));
            }
            None if after != before && !before.contains(&0) => changed.push(case),
            None => {}
        }
    }
    let expected_code = if untouched > 0 { 65 } else { 0 };
    if first.code != Some(expected_code) {
        failures.push(format!(
            "loam fmt exited {}, expected {expected_code}",
            first.status_text()
        ));
    }

    // Idempotence: nothing left to change.
    let second = loam(&["fmt", "--check", &root_arg], &root);
    if !second.stdout.is_empty() {
        failures.push(format!(
            "not idempotent: a second run would change\n{}",
            escape(&second.stdout)
        ));
    }

    // Meaning: run both versions of every changed program (two at a time).
    let runnable: Vec<&&Case> = changed.iter().filter(|c| c.cwd.is_some()).collect();
    let next = AtomicUsize::new(0);
    let run_failures = Mutex::new(Vec::new());
    let slowest = Mutex::new((Duration::ZERO, String::new()));
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(case) = runnable.get(i) else { break };
                let t = Instant::now();
                if let Some(problem) = compare_runs(case) {
                    run_failures.lock().expect("lock").push(problem);
                }
                let mut slow = slowest.lock().expect("lock");
                if t.elapsed() > slow.0 {
                    *slow = (t.elapsed(), case.original.display().to_string());
                }
            });
        }
    });
    failures.extend(run_failures.into_inner().expect("lock"));
    let slowest = slowest.into_inner().expect("lock");
    println!(
        "loam fmt: {} files, {} changed ({} run twice and compared), {} left untouched \
         (compile errors), in {:.1?} (slowest pair: {} in {:.1?})",
        cases.len(),
        changed.len(),
        runnable.len(),
        untouched,
        started.elapsed(),
        slowest.1,
        slowest.0
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        changed.len() > 50 && runnable.len() > 50,
        "too little was formatted"
    );
}

/// Runs the original and the formatted copy; `Some(problem)` if they differ.
fn compare_runs(case: &Case) -> Option<String> {
    let cwd = case.cwd.as_deref()?;
    let source = std::fs::read(&case.original).ok()?;
    let args = args_of(&source);
    let run = |path: &Path| {
        let mut command = Command::new(loam_bin());
        command.args(&args).arg(path).current_dir(cwd);
        run_command(command, timeout())
    };
    let before = run(&case.original);
    let after = run(&case.copy);
    let mut problems = Vec::new();
    if before.stdout != after.stdout {
        problems.push(format!(
            "stdout differs:\n{}\n--- formatted:\n{}",
            escape(&before.stdout),
            escape(&after.stdout)
        ));
    }
    if without_line_numbers(&before.stderr) != without_line_numbers(&after.stderr) {
        problems.push(format!(
            "stderr differs:\n{}\n--- formatted:\n{}",
            escape(&before.stderr),
            escape(&after.stderr)
        ));
    }
    if before.code != after.code || before.timed_out || after.timed_out {
        problems.push(format!(
            "exit {} became {}",
            before.status_text(),
            after.status_text()
        ));
    }
    (!problems.is_empty()).then(|| format!("{}: {}", case.original.display(), problems.join("\n")))
}

#[test]
fn line_numbers_are_what_may_differ() {
    assert_eq!(
        without_line_numbers(b"Oops.\n[line 12] in f()\n[line 3] in script\n[line x]"),
        b"Oops.\n[line ] in f()\n[line ] in script\n[line x]"
    );
}

#[test]
fn check_lists_and_changes_nothing() {
    let dir = scratch("check");
    let messy = dir.join("messy.lox");
    let tidy = dir.join("tidy.lox");
    let broken = dir.join("broken.lox");
    std::fs::write(&messy, "print   1 ;\n").expect("write");
    std::fs::write(&tidy, "print 1;\n").expect("write");
    std::fs::write(&broken, "print 1 +;\n").expect("write");

    let out = loam(&["fmt", "--check", "messy.lox", "tidy.lox"], &dir);
    assert_eq!(out.code, Some(1), "{}", escape(&out.stderr));
    assert_eq!(out.stdout, b"messy.lox\n");
    assert_eq!(std::fs::read(&messy).expect("read"), b"print   1 ;\n");

    let out = loam(&["fmt", "--check", "tidy.lox"], &dir);
    assert_eq!((out.code, out.stdout.len()), (Some(0), 0));

    // A compile error wins over a file to change; the file stays as it is.
    let out = loam(&["fmt", "broken.lox", "messy.lox"], &dir);
    assert_eq!(out.code, Some(65));
    assert_eq!(
        out.stderr,
        b"loam fmt: broken.lox does not compile; left unchanged:\n\
          [line 1] Error at ';': Expect expression.\n"
    );
    assert_eq!(std::fs::read(&broken).expect("read"), b"print 1 +;\n");
    assert_eq!(std::fs::read(&messy).expect("read"), b"print 1;\n");

    // Nothing but the programs is left in the directory (the temporary
    // file was renamed over the original).
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["broken.lox", "messy.lox", "tidy.lox"]);

    let out = loam(&["fmt", "missing.lox"], &dir);
    assert_eq!(out.code, Some(74));
}

#[test]
fn standard_input_to_standard_output() {
    let dir = scratch("stdin");
    std::fs::write(dir.join("in.lox"), "var x=1;if(x)print x;").expect("write");
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!("{} fmt < in.lox", loam_bin().display()))
        .current_dir(&dir);
    let out = run_command(command, timeout());
    assert_eq!(out.code, Some(0), "{}", escape(&out.stderr));
    assert_eq!(out.stdout, b"var x = 1;\nif (x) print x;\n");
}

#[test]
fn the_examples_are_formatted() {
    let out = loam(&["fmt", "--check", "examples"], repo_root());
    assert_eq!(
        (out.code, escape(&out.stdout)),
        (Some(0), String::new()),
        "run `loam fmt examples`"
    );
}

/// The layout, as snapshots: each input of `tests/fmt/` (written badly on
/// purpose) and each example, formatted.
#[test]
fn layout_snapshots() {
    let mut inputs = Vec::new();
    collect_lox(&repo_root().join("tests/fmt"), None, &mut inputs);
    collect_lox(&repo_root().join("examples"), None, &mut inputs);
    assert!(inputs.len() >= 4);
    for path in inputs {
        let rel = path.strip_prefix(repo_root()).expect("in repo");
        let rel_text = rel.to_string_lossy().into_owned();
        let out = {
            let mut command = Command::new("sh");
            command
                .arg("-c")
                .arg(format!("{} fmt < '{}'", loam_bin().display(), rel_text))
                .current_dir(repo_root());
            run_command(command, timeout())
        };
        assert_eq!(out.code, Some(0), "{rel_text}: {}", escape(&out.stderr));
        let name = rel_text.replace('/', "__");
        insta::with_settings!({ snapshot_suffix => name, input_file => &path }, {
            insta::assert_snapshot!("layout", escape(&out.stdout));
        });
    }
}
