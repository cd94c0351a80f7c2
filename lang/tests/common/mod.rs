//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod generate;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The clox binary to compare with: `$CLOX_BIN`, else /tmp/clox. `.ci/run`
/// builds one from ../shared/peers/clox and sets `CLOX_BIN`.
pub fn clox() -> String {
    std::env::var("CLOX_BIN").unwrap_or_else(|_| "/tmp/clox".to_string())
}

/// A clox built with `DEBUG_PRINT_CODE`: `$CLOX_DIS_BIN`, else /tmp/clox-dis.
pub fn clox_dis() -> String {
    std::env::var("CLOX_DIS_BIN").unwrap_or_else(|_| "/tmp/clox-dis".to_string())
}

/// The official suite, or `None` (after saying so) when it is absent.
pub fn suite_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("LOX_TEST_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/lox-test"),
        PathBuf::from,
    );
    if dir.is_dir() {
        Some(dir)
    } else {
        println!(
            "NOTE: Lox test suite not found at {} (set LOX_TEST_DIR); skipping",
            dir.display()
        );
        None
    }
}

pub fn clox_available() -> bool {
    let clox = clox();
    let ok = Path::new(&clox).is_file();
    if !ok {
        println!("NOTE: {clox} not found (set CLOX_BIN); skipping comparison with clox");
    }
    ok
}

/// All `.lox` files under `dir`, sorted, recursively.
pub fn lox_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "lox") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Suite files clox runs: not under scanning/, expressions/, benchmark/,
/// and not marked `// nontest`.
pub fn suite_files(dir: &Path) -> Vec<PathBuf> {
    lox_files(dir)
        .into_iter()
        .filter(|p| {
            let rel = p.strip_prefix(dir).unwrap_or(p);
            let first = rel.components().next();
            let skipped = first.is_some_and(|c| {
                let c = c.as_os_str();
                c == "scanning" || c == "expressions" || c == "benchmark"
            });
            !skipped
                && !std::fs::read(p)
                    .map(|b| contains(&b, b"// nontest"))
                    .unwrap_or(true)
        })
        .collect()
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    find(hay, needle).is_some()
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Splits on `\r\n`, `\r` or `\n`, like the book's test runner.
pub fn split_lines(bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                out.push(&bytes[start..i]);
                start = i + 1;
            }
            b'\r' => {
                out.push(&bytes[start..i]);
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < bytes.len() {
        out.push(&bytes[start..]);
    }
    out
}

/// Expected compile-error lines written in the suite's comment syntax.
pub fn expected_errors(source: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (i, line) in split_lines(source).into_iter().enumerate() {
        if let Some(at) = find(line, b"// Error") {
            let mut e = format!("[line {}] ", i + 1).into_bytes();
            e.extend_from_slice(&line[at + 3..]);
            out.push(e);
        } else if let Some(at) = find(line, b"// [line ") {
            out.push(line[at + 3..].to_vec());
        } else if let Some(at) = find(line, b"// [c line ") {
            let mut e = b"[".to_vec();
            e.extend_from_slice(&line[at + 6..]);
            out.push(e);
        }
    }
    out
}

/// clox's stderr lines and exit code for `path`.
pub fn run_clox(path: &Path) -> (Vec<Vec<u8>>, i32) {
    let output = Command::new(clox())
        .arg(path)
        .output()
        .expect("failed to run clox");
    let lines = split_lines(&output.stderr)
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect();
    (lines, output.status.code().unwrap_or(-1))
}

/// loam's compile errors as clox would print them.
pub fn loam_errors(source: &[u8]) -> Vec<Vec<u8>> {
    match lang::compile(source) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.iter().map(lang::CompileError::to_bytes).collect(),
    }
}

pub fn show(lines: &[Vec<u8>]) -> String {
    lines
        .iter()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs `f` on a thread with the stack the VM gives the compiler.
pub fn on_compile_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(lang::COMPILE_STACK_SIZE)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("compile thread panicked")
}
