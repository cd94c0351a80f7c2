//! `loam fmt`'s layout (`lang::syntax::format`) on every program the
//! compiler accepts in the official suite and the repository, and on
//! generated programs: the output re-scans to the same tokens and
//! comments, compiles to the same bytecode and constants (only the line
//! table may differ), and formatting it again changes nothing.
//!
//! `tests/fmt.rs` (in the root package) runs the formatted programs with
//! the `loam` binary and compares what they print.

mod common;

use std::path::{Path, PathBuf};

use common::generate::{render, Gen, Rng};
use common::{lox_files, on_compile_stack};
use lang::syntax::format::{check_equivalent, format};
use lang::{Constant, Proto};

/// `proto` with every line table emptied, recursively.
fn without_lines(mut proto: Proto) -> Proto {
    proto.chunk.lines.clear();
    proto.chunk.constants = proto
        .chunk
        .constants
        .into_iter()
        .map(|c| match c {
            Constant::Function(f) => Constant::Function(Box::new(without_lines(*f))),
            other => other,
        })
        .collect();
    proto
}

/// What compiling a program gives, line numbers left out: the bytecode
/// and constants, or the errors' messages and lexemes.
fn compiled(source: &[u8]) -> Result<Proto, Vec<(lang::ErrorAt, String)>> {
    match lang::compile(source) {
        Ok(proto) => Ok(without_lines(proto)),
        Err(errors) => Err(errors
            .into_iter()
            .map(|e| (e.at.clone(), e.message().to_string()))
            .collect()),
    }
}

/// Checks one program the grammar accepts (`None` for any other, or one
/// with a NUL byte, which `loam fmt` leaves alone): returns whether
/// formatting changed it. Programs with semantic errors are formatted too
/// (`loam fmt` leaves them alone, but the layout must not care): their
/// errors must stay the same.
fn check(source: &[u8]) -> Option<Result<bool, String>> {
    if source.contains(&0) {
        return None;
    }
    let parsed = lang::syntax::parse(source).ok()?;
    Some((|| {
        let once = format(&parsed);
        check_equivalent(&parsed, &once)?;
        if compiled(&once) != compiled(source) {
            return Err("the bytecode or the compile errors changed".into());
        }
        let reparsed = lang::syntax::parse(&once).map_err(|e| format!("reparse: {e}"))?;
        let twice = format(&reparsed);
        if twice != once {
            return Err(format!(
                "not idempotent:\n--- once\n{}\n--- twice\n{}",
                String::from_utf8_lossy(&once),
                String::from_utf8_lossy(&twice)
            ));
        }
        Ok(once != source)
    })())
}

fn check_files(files: Vec<PathBuf>) -> (usize, usize, Vec<String>) {
    on_compile_stack(move || {
        let (mut formatted, mut changed, mut failures) = (0, 0, Vec::new());
        for path in &files {
            let source = std::fs::read(path).expect("read");
            match check(&source) {
                None => {}
                Some(Ok(c)) => {
                    formatted += 1;
                    changed += usize::from(c);
                }
                Some(Err(e)) => failures.push(format!("{}: {e}", path.display())),
            }
        }
        (formatted, changed, failures)
    })
}

#[test]
fn formatting_the_suite_keeps_the_program() {
    let Some(dir) = common::suite_dir() else {
        if std::env::var("LOAM_ALLOW_NO_SUITE").as_deref() == Ok("1") {
            return;
        }
        panic!("lox-test suite not found (set LOX_TEST_DIR, or LOAM_ALLOW_NO_SUITE=1)");
    };
    let (formatted, changed, failures) = check_files(lox_files(&dir));
    println!("suite: {formatted} programs formatted, {changed} changed");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(formatted > 200);
}

#[test]
fn formatting_the_repository_keeps_the_program() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let files = lox_files(&root)
        .into_iter()
        .filter(|p| !p.components().any(|c| c.as_os_str() == "target"))
        .collect();
    let (formatted, changed, failures) = check_files(files);
    println!("repository: {formatted} programs formatted, {changed} changed");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(formatted > 100);
}

#[test]
fn formatting_generated_programs_keeps_the_program() {
    let (formatted, failures) = on_compile_stack(|| {
        let mut rng = Rng::new(0x0066_6d74);
        let (mut formatted, mut failures) = (0, Vec::new());
        for i in 0..3_000 {
            let mut tokens = Gen::new(&mut rng, 80, 0).program();
            // Comments anywhere between tokens: inside argument lists,
            // before `else`, after `return`, ...
            for at in (0..=tokens.len()).rev() {
                if rng.chance(4) {
                    tokens.insert(at, format!("// c{at}\n"));
                }
            }
            let source = render(&mut rng, &tokens);
            match check(&source) {
                None => {}
                Some(Ok(_)) => formatted += 1,
                Some(Err(e)) if failures.len() < 5 => failures.push(format!(
                    "program #{i}: {e}\n  source: {}",
                    String::from_utf8_lossy(&source)
                )),
                Some(Err(_)) => {}
            }
        }
        (formatted, failures)
    });
    println!("generated: {formatted} programs formatted");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        formatted > 2_000,
        "only {formatted} generated programs parsed"
    );
}
