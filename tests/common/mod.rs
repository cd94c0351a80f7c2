//! Shared by the integration tests: where the suite is and which of its
//! files clox runs, the expectation
//! rules of the book's test runner (`tool/bin/test.dart` in
//! craftinginterpreters, as summarised in the lox-test README), a process
//! runner with a timeout, and a byte-exact text rendering of output.
//!
//! Everything works on bytes: Lox source is bytes and so is what loam prints,
//! so no rule here may depend on the input being valid UTF-8.

// Each integration test uses a different subset of this module.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The official Lox suite: `$LOX_TEST_DIR`, else `../shared/lox-test`
/// beside the repository.
pub fn suite_dir() -> PathBuf {
    match std::env::var_os("LOX_TEST_DIR") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/lox-test"),
    }
}

/// Top-level suite folders the book's runner skips for clox.
pub const SKIPPED_SUITE_DIRS: [&str; 3] = ["scanning", "expressions", "benchmark"];

/// `.lox` files under `dir`, sorted by path; at the top level of
/// `skip_root` (the suite's folder), folders in [`SKIPPED_SUITE_DIRS`] are
/// left out.
pub fn collect_lox(dir: &Path, skip_root: Option<&Path>, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            if let Some(root) = skip_root.filter(|r| *r == dir) {
                let top = path.strip_prefix(root).expect("under root");
                if SKIPPED_SUITE_DIRS.iter().any(|s| top == Path::new(s)) {
                    continue;
                }
            }
            collect_lox(&path, skip_root, out);
        } else if path.extension().is_some_and(|e| e == "lox") {
            out.push(path);
        }
    }
}

/// The interpreter under test: `$LOAM_BIN` if set (e.g. `/tmp/clox`, to
/// validate the harness itself), else the `loam` binary Cargo built.
pub fn loam_bin() -> PathBuf {
    match std::env::var_os("LOAM_BIN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_loam")),
    }
}

/// Per-program wall-clock limit: `$LOX_TEST_TIMEOUT` seconds, default 60.
pub fn timeout() -> Duration {
    let secs = std::env::var("LOX_TEST_TIMEOUT")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .unwrap_or(60.0);
    Duration::from_secs_f64(secs)
}

/// Splits like Dart's `LineSplitter`: terminators are `\r\n`, `\r` or `\n`,
/// and a terminator at the very end does not start another (empty) line.
pub fn split_lines(bytes: &[u8]) -> Vec<&[u8]> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                lines.push(&bytes[start..i]);
                i += 1;
                start = i;
            }
            b'\r' => {
                lines.push(&bytes[start..i]);
                i += if bytes.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                start = i;
            }
            _ => i += 1,
        }
    }
    if start < bytes.len() {
        lines.push(&bytes[start..]);
    }
    lines
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    find_from(hay, needle, 0)
}

fn find_from(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from > hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Parses `DIGITS` at the start of `s`; returns the number and the rest.
fn digits(s: &[u8]) -> Option<(usize, &[u8])> {
    let n = s.iter().take_while(|b| b.is_ascii_digit()).count();
    if n == 0 {
        return None;
    }
    let value = std::str::from_utf8(&s[..n]).ok()?.parse().ok()?;
    Some((value, &s[n..]))
}

/// What a test file expects, per the book's runner.
#[derive(Debug, Default, Clone)]
pub struct Expectations {
    /// `// expect: TEXT` lines in order, with their source line numbers.
    pub output: Vec<(usize, Vec<u8>)>,
    /// Expected compile errors, normalised to `[N] Error...`.
    pub errors: BTreeSet<Vec<u8>>,
    /// `// expect runtime error: MSG`: (line, MSG).
    pub runtime_error: Option<(usize, Vec<u8>)>,
    /// loam's `// expect stderr: TEXT`: lines a program that does not fail
    /// writes to stderr (finalizer errors), in order.
    pub stderr: Vec<Vec<u8>>,
    pub exit_code: i32,
    /// Number of expectation comments (0: the file asserts nothing).
    pub count: usize,
}

#[derive(Debug)]
pub enum Parsed {
    /// The file contains `// nontest`.
    NonTest,
    /// The file expects both compile and runtime errors.
    Invalid(String),
    Test(Expectations),
}

/// Parses a test file's expectations exactly as `test.dart` does for the
/// `c` suite (lines tagged `[java line N]` are ignored).
pub fn parse_expectations(source: &[u8]) -> Parsed {
    let mut exp = Expectations::default();
    for (index, line) in split_lines(source).into_iter().enumerate() {
        let line_num = index + 1;
        if find(line, b"// nontest").is_some() {
            return Parsed::NonTest;
        }
        // loam only: `// expect stderr: (.*)`
        if let Some(p) = find(line, b"// expect stderr: ") {
            exp.stderr
                .push(line[p + b"// expect stderr: ".len()..].to_vec());
            exp.count += 1;
            continue;
        }
        // `// expect: ?(.*)`
        if let Some(p) = find(line, b"// expect:") {
            let mut rest = &line[p + b"// expect:".len()..];
            if rest.first() == Some(&b' ') {
                rest = &rest[1..];
            }
            exp.output.push((line_num, rest.to_vec()));
            exp.count += 1;
            continue;
        }
        // `// (Error.*)`
        if let Some(p) = find(line, b"// Error") {
            let mut e = format!("[{line_num}] ").into_bytes();
            e.extend_from_slice(&line[p + 3..]);
            exp.errors.insert(e);
            exp.exit_code = 65;
            exp.count += 1;
            continue;
        }
        // `// \[((java|c) )?line (\d+)\] (Error.*)`
        if let Some((language, n, error)) = error_line_comment(line) {
            if language.is_none() || language == Some(&b"c"[..]) {
                let mut e = format!("[{n}] ").into_bytes();
                e.extend_from_slice(error);
                exp.errors.insert(e);
                exp.exit_code = 65;
                exp.count += 1;
            }
            continue;
        }
        // `// expect runtime error: (.+)`
        if let Some(p) = find(line, b"// expect runtime error: ") {
            let msg = &line[p + b"// expect runtime error: ".len()..];
            if !msg.is_empty() {
                exp.runtime_error = Some((line_num, msg.to_vec()));
                exp.exit_code = 70;
                exp.count += 1;
            }
        }
    }
    if !exp.errors.is_empty() && exp.runtime_error.is_some() {
        return Parsed::Invalid("Cannot expect both compile and runtime errors.".into());
    }
    Parsed::Test(exp)
}

/// A `// [LANG line N] Error...` comment: (LANG if any, N, `Error...`).
type ErrorLineComment<'a> = (Option<&'a [u8]>, usize, &'a [u8]);

/// Matches `// \[((java|c) )?line (\d+)\] (Error.*)` anywhere in `line`.
fn error_line_comment(line: &[u8]) -> Option<ErrorLineComment<'_>> {
    let mut from = 0;
    while let Some(p) = find_from(line, b"// [", from) {
        from = p + 1;
        let mut rest = &line[p + 4..];
        let mut language = None;
        for lang in [&b"java"[..], &b"c"[..]] {
            if rest.starts_with(lang) && rest.get(lang.len()) == Some(&b' ') {
                language = Some(lang);
                rest = &rest[lang.len() + 1..];
                break;
            }
        }
        let Some(rest) = rest.strip_prefix(b"line ") else {
            continue;
        };
        let Some((n, rest)) = digits(rest) else {
            continue;
        };
        let Some(rest) = rest.strip_prefix(b"] ") else {
            continue;
        };
        if rest.starts_with(b"Error") {
            return Some((language, n, rest));
        }
    }
    None
}

/// Matches the runner's `\[.*line (\d+)\] (Error.+)` on a stderr line and
/// returns the normalised `[N] Error...`.
fn syntax_error(line: &[u8]) -> Option<Vec<u8>> {
    let open = line.iter().position(|&b| b == b'[')?;
    // `.*` is greedy: the last `line N] Error.` after the first `[` wins.
    let mut end = line.len();
    while let Some(p) = line[open + 1..end]
        .windows(5)
        .rposition(|w| w == b"line ")
        .map(|p| p + open + 1)
    {
        end = p + 4;
        let Some((n, rest)) = digits(&line[p + 5..]) else {
            continue;
        };
        let Some(rest) = rest.strip_prefix(b"] ") else {
            continue;
        };
        if rest.starts_with(b"Error") && rest.len() > b"Error".len() {
            let mut e = format!("[{n}] ").into_bytes();
            e.extend_from_slice(rest);
            return Some(e);
        }
    }
    None
}

/// Matches the runner's `\[line (\d+)\]` (first occurrence).
fn stack_trace_line(line: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(p) = find_from(line, b"[line ", from) {
        from = p + 1;
        if let Some((n, rest)) = digits(&line[p + 6..]) {
            if rest.first() == Some(&b']') {
                return Some(n);
            }
        }
    }
    None
}

/// Checks one run against `exp` with the book runner's rules; returns the
/// failures (empty: pass).
pub fn check(exp: &Expectations, out: &RunOutput) -> Vec<String> {
    let mut failures = Vec::new();
    if out.timed_out {
        failures.push(format!("timed out after {:?}", timeout()));
    }
    let error_lines = split_lines(&out.stderr);

    if let Some((line, msg)) = &exp.runtime_error {
        if error_lines.len() < 2 {
            failures.push(format!(
                "expected runtime error '{}' and got stderr: {}",
                escape(msg),
                one_line(&out.stderr)
            ));
        } else {
            if error_lines[0] != msg.as_slice() {
                failures.push(format!(
                    "expected runtime error '{}' and got '{}'",
                    escape(msg),
                    escape(error_lines[0])
                ));
            }
            match error_lines[1..].iter().find_map(|l| stack_trace_line(l)) {
                None => failures.push(format!(
                    "expected a stack trace and got: {}",
                    one_line(&out.stderr)
                )),
                Some(n) if n != *line => failures.push(format!(
                    "expected runtime error on line {line} but was on line {n}"
                )),
                Some(_) => {}
            }
        }
    } else {
        let mut found = BTreeSet::new();
        let mut unexpected = 0;
        // Expected stderr lines are taken out first, in order.
        let mut wanted = exp.stderr.iter().peekable();
        let mut rest = Vec::new();
        for l in &error_lines {
            if wanted.peek().is_some_and(|w| w.as_slice() == *l) {
                wanted.next();
            } else {
                rest.push(*l);
            }
        }
        if let Some(w) = wanted.next() {
            failures.push(format!("missing expected stderr line '{}'", escape(w)));
        }
        for l in &rest {
            let bad = match syntax_error(l) {
                Some(e) if exp.errors.contains(&e) => {
                    found.insert(e);
                    None
                }
                Some(_) => Some("unexpected error"),
                None if !l.is_empty() => Some("unexpected output on stderr"),
                None => None,
            };
            if let Some(what) = bad {
                if unexpected < 10 {
                    failures.push(format!("{what}: {}", escape(l)));
                }
                unexpected += 1;
            }
        }
        if unexpected > 10 {
            failures.push(format!("({} more)", unexpected - 10));
        }
        for missing in exp.errors.difference(&found) {
            failures.push(format!("missing expected error: {}", escape(missing)));
        }
    }

    match out.code {
        Some(c) if c == exp.exit_code => {}
        Some(c) => failures.push(format!("expected exit {} and got {c}", exp.exit_code)),
        None => failures.push(format!(
            "expected exit {} and got {}",
            exp.exit_code,
            out.status_text()
        )),
    }

    let lines = split_lines(&out.stdout);
    for (i, got) in lines.iter().enumerate() {
        match exp.output.get(i) {
            None => failures.push(format!(
                "got output '{}' when none was expected",
                escape(got)
            )),
            Some((n, want)) if want.as_slice() != *got => failures.push(format!(
                "expected output '{}' on line {n} and got '{}'",
                escape(want),
                escape(got)
            )),
            Some(_) => {}
        }
    }
    for (n, want) in exp.output.iter().skip(lines.len()) {
        failures.push(format!(
            "missing expected output '{}' on line {n}",
            escape(want)
        ));
    }
    failures
}

/// The result of running the interpreter once.
#[derive(Debug, Clone)]
pub struct RunOutput {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Exit code; `None` if killed by a signal (or by the timeout).
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub timed_out: bool,
}

impl RunOutput {
    pub fn status_text(&self) -> String {
        match (self.code, self.signal) {
            (Some(c), _) => c.to_string(),
            (None, Some(s)) if self.timed_out => format!("killed by signal {s} (timeout)"),
            (None, Some(s)) => format!("killed by signal {s}"),
            (None, None) => "unknown status".into(),
        }
    }
}

/// Runs `bin args... script` in `cwd` with empty stdin, killing it after
/// [`timeout()`].
pub fn run(bin: &Path, args: &[String], script: &Path, cwd: &Path) -> RunOutput {
    let mut command = Command::new(bin);
    command.args(args).arg(script).current_dir(cwd);
    run_command(command, timeout())
}

/// Runs `command` (program, arguments, directory and environment already
/// set) with empty stdin, collecting both output streams, and kills its
/// whole process group once `limit` has passed.
pub fn run_command(mut command: Command, limit: Duration) -> RunOutput {
    use std::os::unix::process::{CommandExt, ExitStatusExt};

    // Its own process group, so a timeout also kills any grandchildren
    // (which would otherwise hold the pipes open).
    let mut child = command
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", command.get_program()));

    let mut stdout_pipe = child.stdout.take().expect("piped stdout");
    let mut stderr_pipe = child.stderr.take().expect("piped stderr");
    let stderr_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr_pipe.read_to_end(&mut buf);
        buf
    });
    let stdout_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout_pipe.read_to_end(&mut buf);
        buf
    });

    let deadline = Instant::now() + limit;
    let mut nap = Duration::from_micros(50);
    let mut timed_out = false;
    let status = loop {
        match child.try_wait().expect("wait for child") {
            Some(status) => break status,
            None if Instant::now() >= deadline => {
                timed_out = true;
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{}", child.id())])
                    .stderr(Stdio::null())
                    .status();
                let _ = child.kill();
                break child.wait().expect("wait for killed child");
            }
            None => {
                std::thread::sleep(nap);
                nap = (nap * 2).min(Duration::from_millis(5));
            }
        }
    };
    RunOutput {
        stdout: stdout_reader.join().expect("stdout reader"),
        stderr: stderr_reader.join().expect("stderr reader"),
        code: status.code(),
        signal: status.signal(),
        timed_out,
    }
}

/// Renders bytes as text, byte for byte: printable ASCII, newlines and
/// valid UTF-8 stay as they are; `\` is `\\`, tab and CR are `\t` and `\r`,
/// every other byte is `\xNN`. A space ending a line is `\x20`, so editors
/// and insta's whitespace trimming cannot change a snapshot's meaning.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        let (valid, invalid) = match std::str::from_utf8(rest) {
            Ok(s) => (s, &[][..]),
            Err(e) => {
                let (v, i) = rest.split_at(e.valid_up_to());
                (std::str::from_utf8(v).expect("valid prefix"), i)
            }
        };
        let chars: Vec<char> = valid.chars().collect();
        for (i, &c) in chars.iter().enumerate() {
            let line_ends = match chars.get(i + 1) {
                None => invalid.is_empty(),
                Some(&next) => next == '\n',
            };
            match c {
                '\\' => out.push_str("\\\\"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                '\n' => out.push('\n'),
                ' ' if line_ends => out.push_str("\\x20"),
                c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                    out.push_str(&format!("\\x{:02x}", c as u32))
                }
                // C1 controls and line/paragraph separators would be
                // invisible or break lines: show their bytes.
                c if ('\u{80}'..='\u{9f}').contains(&c) || c == '\u{2028}' || c == '\u{2029}' => {
                    let mut buf = [0u8; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        out.push_str(&format!("\\x{b:02x}"));
                    }
                }
                c => out.push(c),
            }
        }
        if let Some((&b, tail)) = invalid.split_first() {
            out.push_str(&format!("\\x{b:02x}"));
            rest = tail;
        } else {
            rest = &[];
        }
    }
    out
}

/// A short single-line rendering for failure messages.
fn one_line(bytes: &[u8]) -> String {
    let s = escape(bytes).replace('\n', "⏎");
    if s.chars().count() > 200 {
        s.chars().take(200).collect::<String>() + "…"
    } else {
        s
    }
}
