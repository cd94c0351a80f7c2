//! The official Lox suite: loam reports exactly the expected compile
//! errors, and exactly clox's stderr when clox fails to compile a file.

mod common;

use common::*;

#[test]
fn suite_expected_compile_errors() {
    let Some(dir) = suite_dir() else { return };
    let files = suite_files(&dir);
    assert!(files.len() > 200, "only {} suite files found", files.len());
    let mut failures = Vec::new();
    for path in &files {
        let source = std::fs::read(path).expect("read");
        let mut expected = expected_errors(&source);
        let got = on_compile_stack({
            let source = source.clone();
            move || loam_errors(&source)
        });
        let mut got_sorted = got.clone();
        expected.sort();
        got_sorted.sort();
        if expected != got_sorted {
            failures.push(format!(
                "{}:\n expected:\n{}\n got:\n{}",
                path.display(),
                show(&expected),
                show(&got)
            ));
        }
    }
    println!("checked {} suite files", files.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn suite_matches_clox_stderr() {
    let Some(dir) = suite_dir() else { return };
    let Some(clox) = clox() else {
        return;
    };
    let mut failures = Vec::new();
    let mut compared = 0;
    let files = suite_files(&dir);
    for path in &files {
        let source = std::fs::read(path).expect("read");
        let got = loam_errors(&source);
        let (stderr, code) = run_clox(&clox, path);
        if code == 65 {
            compared += 1;
            if got != stderr {
                failures.push(format!(
                    "{}:\n clox:\n{}\n loam:\n{}",
                    path.display(),
                    show(&stderr),
                    show(&got)
                ));
            }
        } else if !got.is_empty() {
            failures.push(format!(
                "{}: clox compiled it (exit {code}) but loam reported:\n{}",
                path.display(),
                show(&got)
            ));
        }
    }
    println!(
        "compared {compared} compile-error files of {} with clox",
        files.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// With a clox built with `DEBUG_PRINT_CODE` at /tmp/clox-dis (copy
/// clox's sources, delete the `#undef DEBUG_PRINT_CODE` line in common.h,
/// `gcc -O1 -w *.c -o /tmp/clox-dis`), every suite program that compiles
/// must disassemble identically, which pins the bytecode byte for byte.
#[test]
fn suite_bytecode_matches_debug_clox() {
    let Some(dir) = suite_dir() else { return };
    let Some(clox_dis) = common::clox_dis() else {
        return;
    };
    let mut compared = 0;
    let mut failures = Vec::new();
    for path in suite_files(&dir) {
        let source = std::fs::read(&path).expect("read");
        let Ok(proto) = lang::compile(&source) else {
            continue;
        };
        let listing = lang::disassemble(&proto);
        let output = std::process::Command::new(&clox_dis)
            .arg(&path)
            .output()
            .expect("run clox-dis");
        // Compilation finishes before the program runs, so the listing
        // is a prefix of stdout.
        let stdout = String::from_utf8_lossy(&output.stdout);
        compared += 1;
        if !stdout.starts_with(&listing) {
            failures.push(path.display().to_string());
        }
    }
    println!("compared bytecode of {compared} suite programs");
    assert!(failures.is_empty(), "listing differs: {failures:?}");
}
