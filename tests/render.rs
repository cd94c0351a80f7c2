//! Error rendering (`src/render.rs`): the rich form that a terminal gets
//! (`--color=always` forces it into a pipe, so it can be snapshotted with
//! its escape sequences), and clox's exact text everywhere else.

mod common;

use std::path::Path;
use std::process::Command;

use common::{escape, loam_bin, run_command, RunOutput};

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn loam(args: &[&str], env: &[(&str, &str)]) -> RunOutput {
    let mut cmd = Command::new(loam_bin());
    cmd.args(args)
        .current_dir(repo_root())
        .env_remove("NO_COLOR")
        .env_remove("LOAMDEBUG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    run_command(cmd, common::timeout())
}

/// stdout, stderr (escapes shown as `\x1b`) and the exit code.
fn shown(out: &RunOutput) -> String {
    format!(
        "## stdout\n{}## stderr\n{}## exit\n{:?}\n",
        escape(&out.stdout),
        escape(&out.stderr),
        out.code
    )
}

const COMPILE: &str = "tests/render/compile_errors.lox";
const RUNTIME: &str = "tests/render/runtime_error.lox";

#[test]
fn compile_errors_in_colour() {
    let out = loam(&["--color=always", COMPILE], &[]);
    assert_eq!(out.code, Some(65));
    // Each error's message, its line, and a caret under its token.
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("compile_errors.lox:4:16"), "{text}");
    insta::assert_snapshot!(shown(&out));
}

#[test]
fn runtime_error_in_colour() {
    let out = loam(&["--color=always", RUNTIME], &[]);
    assert_eq!(out.code, Some(70));
    // NO_COLOR does not override an explicit --color=always.
    let again = loam(&["--color=always", RUNTIME], &[("NO_COLOR", "1")]);
    assert_eq!(again.stderr, out.stderr);
    insta::assert_snapshot!(shown(&out));
}

#[test]
fn off_a_terminal_errors_are_clox_text() {
    for script in [COMPILE, RUNTIME] {
        let auto = loam(&[script], &[]);
        let never = loam(&["--color=never", script], &[]);
        assert_eq!(auto.stderr, never.stderr, "{script}");
        assert_eq!(auto.stdout, never.stdout, "{script}");
        assert_eq!(auto.code, never.code, "{script}");
        assert!(
            !auto.stderr.contains(&0x1b),
            "{script}: escape in plain text"
        );
    }
    let compile = loam(&[COMPILE], &[]);
    assert_eq!(
        String::from_utf8_lossy(&compile.stderr),
        "[line 4] Error at 'greeting': Expect ';' after value.\n\
         [line 6] Error at end: Expect expression.\n"
    );
    let runtime = loam(&[RUNTIME], &[]);
    assert_eq!(
        String::from_utf8_lossy(&runtime.stderr),
        "Operands must be numbers.\n\
         [line 6] in area()\n\
         [line 10] in describe()\n\
         [line 18] in script\n"
    );
    // The same bytes clox writes, when a clox binary is at hand.
    if let Some(clox) = std::env::var_os("CLOX_BIN").filter(|c| !c.is_empty()) {
        for (script, ours) in [(COMPILE, &compile), (RUNTIME, &runtime)] {
            let mut cmd = Command::new(&clox);
            cmd.arg(script).current_dir(repo_root());
            let theirs = run_command(cmd, common::timeout());
            assert_eq!(ours.stderr, theirs.stderr, "{script}");
            assert_eq!(ours.code, theirs.code, "{script}");
        }
    }
}

#[test]
fn eval_and_stdin_are_named() {
    let out = loam(&["--color=always", "-e", "print 1 +;"], &[]);
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("<eval>:1:10"), "{text}");
    assert!(text.contains("print 1 +\x1b[0m\x1b[31m;"), "{text}");
}

#[test]
fn a_bad_color_value_is_a_usage_error() {
    let out = loam(&["--color=sometimes", COMPILE], &[]);
    assert_eq!(out.code, Some(64));
}
