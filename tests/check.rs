//! `loam check`, end to end with the built binary: a snapshot of its
//! report on each program of `tests/check/` (one per lint, named after
//! it, plus `clean.lox`), the exit codes, `--deny`/`--allow`, compile
//! errors, and a snapshot of what it finds in the official suite.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::{collect_lox, escape, loam_bin, run_command, suite_dir, timeout, RunOutput};

const LINTS: [(&str, &str); 6] = [
    ("W01", "unused-variable"),
    ("W02", "unused-parameter"),
    ("W03", "unreachable-code"),
    ("W04", "undeclared-global"),
    ("W05", "finalizer-captures-object"),
    ("W06", "unjoined-coroutine"),
];

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn check(args: &[&str], cwd: &Path) -> RunOutput {
    let mut command = Command::new(loam_bin());
    command.arg("check").args(args).current_dir(cwd);
    run_command(command, timeout())
}

/// The codes reported in `stderr` (`warning[W01]`, `error[W01]`), in order.
fn codes(stderr: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(stderr);
    text.lines()
        .filter_map(|l| {
            let rest = l
                .strip_prefix("warning[")
                .or_else(|| l.strip_prefix("error["))?;
            rest.split(']').next().map(str::to_owned)
        })
        .collect()
}

#[test]
fn each_lint_fires_on_its_program() {
    let dir = repo_root().join("tests/check");
    for (code, name) in LINTS {
        let file = format!("tests/check/{}.lox", name.replace('-', "_"));
        let out = check(&[&file], repo_root());
        let found = codes(&out.stderr);
        assert!(
            found.iter().any(|c| c == code),
            "{file}: {code} did not fire: {}",
            escape(&out.stderr)
        );
        assert_eq!(out.code, Some(1), "{file}");
    }
    let clean = check(&["tests/check/clean.lox"], repo_root());
    assert_eq!(
        (clean.code, escape(&clean.stderr)),
        (Some(0), String::new())
    );

    let mut files = Vec::new();
    collect_lox(&dir, None, &mut files);
    for path in files {
        let rel = path.strip_prefix(repo_root()).expect("in repo");
        let rel_text = rel.to_string_lossy().into_owned();
        let out = check(&[&rel_text], repo_root());
        let text = format!(
            "## stderr\n{}## exit\n{}\n",
            escape(&out.stderr),
            out.status_text()
        );
        let name = rel
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        insta::with_settings!({ snapshot_suffix => name, input_file => &path }, {
            insta::assert_snapshot!("report", text);
        });
    }
}

#[test]
fn deny_and_allow() {
    let file = "tests/check/unused_variable.lox";
    let out = check(&["--deny", "warnings", file], repo_root());
    assert_eq!(out.code, Some(2));
    assert_eq!(codes(&out.stderr), ["W01", "W01", "W01"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("error[W01]"));

    let out = check(&["-D", "W02", file], repo_root());
    assert_eq!(out.code, Some(1), "W02 does not fire there");

    let out = check(&["--allow", "unused-variable", file], repo_root());
    assert_eq!((out.code, escape(&out.stderr)), (Some(0), String::new()));

    let out = check(&["--deny", "no-such-lint", file], repo_root());
    assert_eq!(out.code, Some(64));
}

#[test]
fn compile_errors_are_claxs() {
    let file = "lang/tests/errors/several_errors.lox";
    let out = check(&[file], repo_root());
    let mut run = Command::new(loam_bin());
    run.arg(file).current_dir(repo_root());
    let ran = run_command(run, timeout());
    assert_eq!(out.code, Some(65));
    assert_eq!(ran.code, Some(65));
    assert_eq!(escape(&out.stderr), escape(&ran.stderr));
    assert!(out.stdout.is_empty());

    let out = check(&["no/such/file.lox"], repo_root());
    assert_eq!(out.code, Some(74));
}

/// What `loam check` reports on the official suite, every `.lox` file of
/// it (`benchmark/`, `scanning/` and `expressions/` included: the tool
/// only reads them), as a snapshot: each file with findings and its codes.
/// The suite is plain Lox (no `spawn`, no `setFinalizer`), so W05 and W06
/// must not appear. Every finding is a real instance of its defect, there
/// on purpose: W01, locals a test declares to occupy a slot or a scope and
/// never reads (`limit/stack_overflow.lox`, `for/scope.lox`, …); W02,
/// parameters of functions that exist to be called with the wrong arity
/// (`*/missing_arguments.lox`); W03, `print "bad"` after a `return` that
/// must skip it (`return/*.lox`, `constructor/*early_return.lox`); W04,
/// `assignment/undefined.lox`, which expects `Undefined variable`.
#[test]
fn findings_on_the_suite() {
    let suite = suite_dir();
    if !suite.is_dir() {
        if std::env::var("LOAM_ALLOW_NO_SUITE").as_deref() == Ok("1") {
            return;
        }
        panic!(
            "lox-test suite not found at {} (set LOX_TEST_DIR)",
            suite.display()
        );
    }
    let mut files = Vec::new();
    collect_lox(&suite, None, &mut files);
    assert_eq!(files.len(), 265);
    let mut report = String::new();
    let mut totals: BTreeMap<String, usize> = BTreeMap::new();
    let mut flagged = 0;
    let mut compile_errors = 0;
    for path in &files {
        let rel = path.strip_prefix(&suite).expect("in suite");
        let out = check(&[&rel.to_string_lossy()], &suite);
        match out.code {
            Some(0) => {}
            Some(65) => compile_errors += 1,
            Some(1) => {
                flagged += 1;
                let found = codes(&out.stderr);
                for c in &found {
                    *totals.entry(c.clone()).or_default() += 1;
                }
                report.push_str(&format!("{}: {}\n", rel.display(), found.join(" ")));
            }
            _ => panic!(
                "{}: exit {}: {}",
                rel.display(),
                out.status_text(),
                escape(&out.stderr)
            ),
        }
    }
    let totals: Vec<String> = totals.iter().map(|(c, n)| format!("{c}×{n}")).collect();
    let summary = format!(
        "{} files: {} clean, {} with findings, {} with compile errors\ntotals: {}\n\n{report}",
        files.len(),
        files.len() - flagged - compile_errors,
        flagged,
        compile_errors,
        totals.join(" ")
    );
    assert!(
        !summary.contains("W05") && !summary.contains("W06"),
        "{summary}"
    );
    insta::assert_snapshot!("suite_findings", summary);
}
