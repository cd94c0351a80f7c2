//! The one place errors become bytes on stderr.
//!
//! Two forms. **Plain** is clox's exact text (`[line 1] Error at ';':
//! ...`, a runtime message and its `[line N] in f()` trace): it is what
//! loam writes whenever stderr is not a terminal, so every comparison with
//! clox holds byte for byte. **Rich** is for a person at a terminal: the
//! message, the source line with a caret under the token (compile errors)
//! or under the line (runtime errors: the trace has lines, not columns),
//! and the clox trace as a note, coloured unless `NO_COLOR` is set. Which
//! one is decided once per process ([`ErrorStyle::decide`], from
//! `--color`, whether stderr is a terminal, and `NO_COLOR`).

use std::io::Write;
use std::ops::Range;
use std::sync::OnceLock;

use codespan_reporting::diagnostic::{Diagnostic, Label};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, termcolor};
use vm::{Failed, InterpretError, RuntimeError};

/// `--color`: when errors (and the REPL's input) may be coloured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorWhen {
    /// Rich errors when stderr is a terminal, coloured unless `NO_COLOR`
    /// is set; clox's plain text otherwise.
    #[default]
    Auto,
    /// Rich, coloured errors wherever stderr goes.
    Always,
    /// clox's plain text, even on a terminal.
    Never,
}

/// How errors are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorStyle {
    /// clox's exact bytes.
    Plain,
    /// Source line and caret; ANSI colour if `colour`.
    Rich { colour: bool },
}

impl ErrorStyle {
    /// `NO_COLOR` counts when set and non-empty (no-color.org); it takes
    /// the colour away, not the source line. An explicit `--color=always`
    /// wins over it.
    pub fn decide(when: ColorWhen, stderr_is_terminal: bool, no_color: bool) -> ErrorStyle {
        match when {
            ColorWhen::Never => ErrorStyle::Plain,
            ColorWhen::Always => ErrorStyle::Rich { colour: true },
            ColorWhen::Auto if stderr_is_terminal => ErrorStyle::Rich { colour: !no_color },
            ColorWhen::Auto => ErrorStyle::Plain,
        }
    }
}

/// Whether `NO_COLOR` asks for no colour.
pub fn no_color_env() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

static STYLE: OnceLock<ErrorStyle> = OnceLock::new();

/// Fixes the style for the rest of the process (the binary calls it once,
/// before anything can fail). Unset, errors are plain.
pub fn set_style(style: ErrorStyle) {
    let _ = STYLE.set(style);
}

fn style() -> ErrorStyle {
    STYLE.get().copied().unwrap_or(ErrorStyle::Plain)
}

/// The program text an error refers to.
pub struct SourceText<'a> {
    /// Shown in the location line: the script's path, `<eval>`, `<stdin>`
    /// or `<repl>`.
    pub name: &'a str,
    pub bytes: &'a [u8],
    /// Every frame of a runtime error runs code from this text (a script).
    /// False for a REPL input: functions defined by earlier inputs have
    /// line numbers of *their* input, so only `in script` frames can be
    /// shown against this text.
    pub whole_program: bool,
}

/// Writes `err` in the process's style and returns the exit code.
pub fn report(err: &InterpretError, source: &SourceText<'_>) -> i32 {
    let bytes = match (style(), err) {
        // Ctrl-C in a script: silent, like a process killed by SIGINT; the
        // exit code (130) says what happened. The REPL prints its own line.
        (_, InterpretError::Interrupted) => Vec::new(),
        (ErrorStyle::Plain, e) => plain(e),
        (ErrorStyle::Rich { colour }, e) => rich(e, source, colour),
    };
    let stderr = std::io::stderr();
    let mut e = stderr.lock();
    let _ = e.write_all(&bytes);
    let _ = e.flush();
    err.exit_code()
}

/// Compile errors only (`--disassemble`, the REPL's own parse).
pub fn report_compile(errors: &[lang::CompileError], source: &SourceText<'_>) -> i32 {
    report(&InterpretError::Compile(errors.to_vec()), source)
}

/// A runtime error that ended a coroutine (or one finalizer) of a REPL
/// session while it ran in the background, as the bytes to show. Plain:
/// `coroutine 3 error: ` (or `finalizer error: `, as a script prints a
/// finalizer's) and clox's message and trace; rich: the message with the
/// coroutine as its code (`error[coroutine 3]: ...`) and the trace as a
/// note. There is no source line to show: the coroutine runs code of
/// earlier inputs.
pub fn background(what: Failed, rt: &RuntimeError) -> Vec<u8> {
    let who = match what {
        Failed::Coroutine(id) => format!("coroutine {id}"),
        Failed::Finalizer => "finalizer".to_string(),
    };
    let colour = match style() {
        ErrorStyle::Plain => return format!("{who} error: {rt}").into_bytes(),
        ErrorStyle::Rich { colour } => colour,
    };
    let none = SourceText {
        name: "<repl>",
        bytes: b"",
        whole_program: false,
    };
    let text = LossyText::new(none.bytes);
    let file = SimpleFile::new(none.name, text.text.as_str());
    let d = runtime(rt, &none, &text).with_code(who.as_str());
    let mut buf = if colour {
        termcolor::Buffer::ansi()
    } else {
        termcolor::Buffer::no_color()
    };
    if term::emit_to_write_style(&mut buf, &term::Config::default(), &file, &d).is_err() {
        return format!("{who} error: {rt}").into_bytes();
    }
    buf.into_inner()
}

/// clox's text: exactly what clox writes to stderr.
fn plain(err: &InterpretError) -> Vec<u8> {
    let mut out = Vec::new();
    match err {
        InterpretError::Compile(errors) => {
            for ce in errors {
                out.extend_from_slice(&ce.to_bytes());
                out.push(b'\n');
            }
        }
        InterpretError::Runtime(rt) => out.extend_from_slice(rt.to_string().as_bytes()),
        InterpretError::Interrupted => {}
    }
    out
}

/// The rich form. Falls back to the plain text should the renderer fail
/// (it cannot for spans inside the text, but nothing may be lost).
fn rich(err: &InterpretError, source: &SourceText<'_>, colour: bool) -> Vec<u8> {
    let text = LossyText::new(source.bytes);
    let file = SimpleFile::new(source.name, text.text.as_str());
    let diagnostics: Vec<Diagnostic<()>> = match err {
        InterpretError::Compile(errors) => errors.iter().map(|e| compile(e, &text)).collect(),
        InterpretError::Runtime(rt) => vec![runtime(rt, source, &text)],
        InterpretError::Interrupted => Vec::new(),
    };
    let config = term::Config::default();
    let mut buf = if colour {
        termcolor::Buffer::ansi()
    } else {
        termcolor::Buffer::no_color()
    };
    for d in &diagnostics {
        if term::emit_to_write_style(&mut buf, &config, &file, d).is_err() {
            return plain(err);
        }
    }
    buf.into_inner()
}

fn compile(e: &lang::CompileError, text: &LossyText) -> Diagnostic<()> {
    let label = Label::primary((), text.span(e.span.clone()));
    let label = match e.at {
        lang::ErrorAt::End => label.with_message("at end"),
        _ => label,
    };
    Diagnostic::error()
        .with_message(e.message())
        .with_label(label)
}

fn runtime(rt: &RuntimeError, source: &SourceText<'_>, text: &LossyText) -> Diagnostic<()> {
    let trace: Vec<String> = rt.to_string().lines().skip(1).map(str::to_owned).collect();
    let mut d = Diagnostic::error().with_message(&rt.message);
    // The innermost frame we can place in this text: the error's own line
    // for a script; for a REPL input, the first `in script` frame.
    let shown = rt
        .trace
        .iter()
        .enumerate()
        .find(|(_, t)| source.whole_program || t.function.is_none());
    if let Some((depth, frame)) = shown {
        if let Some(range) = text.line(frame.line) {
            d = d.with_label(if depth == 0 {
                let here = match &frame.function {
                    Some(name) => format!("in {name}()"),
                    None => "in script".to_string(),
                };
                Label::primary((), range).with_message(here)
            } else {
                Label::secondary((), range).with_message("called from here")
            });
        }
    }
    if !trace.is_empty() {
        d = d.with_note(trace.join("\n"));
    }
    d
}

/// The source as UTF-8 for the renderer, with a map from byte offsets in
/// the raw source to offsets in the text: an invalid byte sequence becomes
/// one U+FFFD, and offsets inside it map to its start.
struct LossyText {
    text: String,
    /// `map[i]`: offset in `text` of raw byte `i`; one entry more than the
    /// raw source, for its end.
    map: Vec<usize>,
}

impl LossyText {
    fn new(raw: &[u8]) -> LossyText {
        let mut text = String::with_capacity(raw.len());
        let mut map = Vec::with_capacity(raw.len() + 1);
        for chunk in raw.utf8_chunks() {
            let base = text.len();
            map.extend((0..chunk.valid().len()).map(|i| base + i));
            text.push_str(chunk.valid());
            if !chunk.invalid().is_empty() {
                let at = text.len();
                map.resize(map.len() + chunk.invalid().len(), at);
                text.push(char::REPLACEMENT_CHARACTER);
            }
        }
        map.push(text.len());
        LossyText { text, map }
    }

    /// `raw` mapped into the text, clamped to it and to char boundaries.
    fn span(&self, raw: Range<usize>) -> Range<usize> {
        let at = |i: usize| {
            let mut p = self
                .map
                .get(i)
                .copied()
                .unwrap_or(self.text.len())
                .min(self.text.len());
            while !self.text.is_char_boundary(p) {
                p -= 1;
            }
            p
        };
        let start = at(raw.start);
        start..at(raw.end).max(start)
    }

    /// Line `n` (1-based, counting `\n` as clox does) without its leading
    /// and trailing blanks; `None` past the end or for a blank line.
    fn line(&self, n: u32) -> Option<Range<usize>> {
        let index = usize::try_from(n.checked_sub(1)?).ok()?;
        let mut start = 0;
        for (i, line) in self.text.split('\n').enumerate() {
            if i == index {
                let trimmed = line.trim_start();
                let lead = line.len() - trimmed.len();
                let body = trimmed.trim_end();
                if body.is_empty() {
                    return None;
                }
                let s = start + lead;
                return Some(s..s + body.len());
            }
            start += line.len() + 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn style_follows_flag_terminal_and_no_color() {
        use ColorWhen::*;
        use ErrorStyle::*;
        assert_eq!(ErrorStyle::decide(Auto, false, false), Plain);
        assert_eq!(ErrorStyle::decide(Auto, true, false), Rich { colour: true });
        assert_eq!(ErrorStyle::decide(Auto, true, true), Rich { colour: false });
        assert_eq!(ErrorStyle::decide(Never, true, false), Plain);
        assert_eq!(
            ErrorStyle::decide(Always, false, true),
            Rich { colour: true }
        );
    }

    #[test]
    fn lossy_text_maps_offsets() {
        let t = LossyText::new(b"a\xffb\xc3\xa9c\xc3");
        assert_eq!(t.text, "a\u{fffd}b\u{e9}c\u{fffd}");
        // `b` is raw byte 2, text offset 4 (after a 3-byte U+FFFD).
        assert_eq!(t.span(2..3), 4..5);
        // Inside the invalid byte and past the end stay in bounds.
        assert_eq!(t.span(1..2), 1..4);
        assert_eq!(t.span(8..8), t.text.len()..t.text.len());
        assert_eq!(t.span(100..200), t.text.len()..t.text.len());
    }

    #[test]
    fn lines_are_trimmed_and_counted_from_one() {
        let t = LossyText::new(b"var a;\n  print a + b;  \n\n");
        assert_eq!(t.line(1), Some(0..6));
        assert_eq!(&t.text[t.line(2).unwrap_or(0..0)], "print a + b;");
        assert_eq!(t.line(3), None);
        assert_eq!(t.line(0), None);
        assert_eq!(t.line(9), None);
    }

    #[test]
    fn a_background_error_names_its_coroutine() {
        let rt = RuntimeError {
            message: "Operands must be numbers.".to_string(),
            trace: vec![vm::TraceLine {
                line: 2,
                function: Some("worker".to_string()),
            }],
            unwind: vm::Unwind::Error,
        };
        // The process's style is unset in unit tests: plain.
        assert_eq!(
            String::from_utf8_lossy(&background(Failed::Coroutine(3), &rt)),
            "coroutine 3 error: Operands must be numbers.\n[line 2] in worker()\n"
        );
        assert_eq!(
            String::from_utf8_lossy(&background(Failed::Finalizer, &rt)),
            "finalizer error: Operands must be numbers.\n[line 2] in worker()\n"
        );
    }

    #[test]
    fn rich_compile_error_shows_line_and_caret() {
        let source = SourceText {
            name: "t.lox",
            bytes: b"var x = 1;\nprint x +;\n",
            whole_program: true,
        };
        let errors = lang::compile(source.bytes).err().unwrap_or_default();
        let out = rich(&InterpretError::Compile(errors), &source, false);
        let out = String::from_utf8_lossy(&out);
        assert!(out.starts_with("error: Expect expression.\n"), "{out}");
        assert!(out.contains("t.lox:2:10"), "{out}");
        assert!(out.contains("2 │ print x +;\n"), "{out}");
        assert!(out.contains("│          ^\n"), "{out}");
    }
}
