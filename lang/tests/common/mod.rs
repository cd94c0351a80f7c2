//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod generate;

use std::path::{Path, PathBuf};
use std::process::Command;

/// Set to `1` to run without a clox to compare with: the comparisons are
/// then skipped, and each test says so. Without it a missing clox fails.
const ALLOW_NO_CLOX: &str = "LOAM_ALLOW_NO_CLOX";
/// Set to `1` to run without the lox-test suite (as the root tests).
const ALLOW_NO_SUITE: &str = "LOAM_ALLOW_NO_SUITE";

fn allowed(var: &str) -> bool {
    std::env::var(var).as_deref() == Ok("1")
}

/// The clox sources: `$CLOX_SRC`, else `../shared/peers/clox` next to the
/// repository.
fn clox_src() -> PathBuf {
    std::env::var_os("CLOX_SRC").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/peers/clox"),
        PathBuf::from,
    )
}

/// Builds clox from its sources into the test scratch directory (once per
/// process; `dis` adds `DEBUG_PRINT_CODE`). Concurrent test processes each
/// build into their own file and rename it into place.
fn build_clox(dis: bool) -> Result<PathBuf, String> {
    let src = clox_src();
    let name = if dis { "clox-dis" } else { "clox" };
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("clox-build");
    let out = out_dir.join(name);
    let sources: Vec<PathBuf> = std::fs::read_dir(&src)
        .map_err(|e| format!("no clox sources at {} ({e}); set CLOX_SRC", src.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "c" || x == "h"))
        .collect();
    let work = out_dir.join(format!("{name}-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    for f in &sources {
        let Some(file_name) = f.file_name() else {
            continue;
        };
        let mut text = std::fs::read(f).map_err(|e| e.to_string())?;
        if dis && file_name == "common.h" {
            let s = String::from_utf8_lossy(&text).replace("#undef DEBUG_PRINT_CODE", "");
            text = s.into_bytes();
        }
        std::fs::write(work.join(file_name), text).map_err(|e| e.to_string())?;
    }
    let c_files: Vec<PathBuf> = sources
        .iter()
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .filter_map(|p| p.file_name().map(|n| work.join(n)))
        .collect();
    let exe = work.join(name);
    let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".to_string()))
        .args(["-O2", "-w"])
        .args(&c_files)
        .arg("-o")
        .arg(&exe)
        .status()
        .map_err(|e| format!("cannot run a C compiler to build clox: {e}"))?;
    if !status.success() {
        return Err(format!("building clox from {} failed", src.display()));
    }
    std::fs::rename(&exe, &out).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(&work);
    Ok(out)
}

/// The clox to compare with: `$CLOX_BIN` (`$CLOX_DIS_BIN` for the
/// `DEBUG_PRINT_CODE` build), else one built from its sources. `None` only
/// when `LOAM_ALLOW_NO_CLOX=1` says a missing clox is expected; otherwise a
/// clox that cannot be found or built fails the test, saying why.
fn clox_binary(dis: bool) -> Option<PathBuf> {
    static PLAIN: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    static DIS: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    let var = if dis { "CLOX_DIS_BIN" } else { "CLOX_BIN" };
    let found = (if dis { &DIS } else { &PLAIN }).get_or_init(|| match std::env::var_os(var) {
        Some(p) if Path::new(&p).is_file() => Ok(PathBuf::from(p)),
        Some(p) => Err(format!("{var}={} is not a file", Path::new(&p).display())),
        None => build_clox(dis),
    });
    match found {
        Ok(p) => Some(p.clone()),
        Err(why) if allowed(ALLOW_NO_CLOX) => {
            println!("NOTE: no clox ({why}); comparison with clox skipped ({ALLOW_NO_CLOX}=1)");
            None
        }
        Err(why) => panic!(
            "no clox to compare with: {why}. Set {var}, or {ALLOW_NO_CLOX}=1 to skip the \
             comparison knowingly."
        ),
    }
}

/// The clox binary (see [`clox_binary`]).
pub fn clox() -> Option<PathBuf> {
    clox_binary(false)
}

/// A clox built with `DEBUG_PRINT_CODE` (see [`clox_binary`]).
pub fn clox_dis() -> Option<PathBuf> {
    clox_binary(true)
}

/// The official suite: `$LOX_TEST_DIR`, else `../shared/lox-test`. `None`
/// only with `LOAM_ALLOW_NO_SUITE=1`; otherwise a missing suite fails the
/// test, saying where it looked.
pub fn suite_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("LOX_TEST_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/lox-test"),
        PathBuf::from,
    );
    if dir.is_dir() {
        return Some(dir);
    }
    if allowed(ALLOW_NO_SUITE) {
        println!(
            "NOTE: Lox test suite not found at {}; skipped ({ALLOW_NO_SUITE}=1)",
            dir.display()
        );
        return None;
    }
    panic!(
        "Lox test suite not found at {}: set LOX_TEST_DIR, or {ALLOW_NO_SUITE}=1 to skip it \
         knowingly",
        dir.display()
    );
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
pub fn run_clox(clox: &Path, path: &Path) -> (Vec<Vec<u8>>, i32) {
    let output = Command::new(clox)
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
