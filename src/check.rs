//! `loam check FILE`: the lints of `lang::syntax::lint` (W01-W06), shown
//! with codespan-reporting: code, message, the source line and a caret,
//! in colour when stderr is a terminal and as plain text otherwise.
//!
//! A program that does not compile gets clox's exact errors instead
//! (through `render.rs`) and exit 65. Otherwise: 0 when nothing is
//! reported, 1 when warnings are, 2 when a lint made an error with
//! `--deny` fired (`--deny warnings` denies them all, for CI). These
//! diagnostics are rendered here rather than in `render.rs`, which is the
//! one place for *errors* with clox's bytes; a lint is not one of those.

use std::collections::HashSet;
use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use clap::Parser;
use codespan_reporting::diagnostic::{Diagnostic, Label, Severity};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, termcolor};
use lang::syntax::lint::{lint, Lint, Warning};

use crate::render;

/// The globals the runtime defines (stdlib's natives): assigning one needs
/// no declaration (lint W04). A test keeps this list equal to stdlib's.
pub const NATIVES: [&str; 10] = [
    "clock",
    "gc",
    "setGCPercent",
    "str",
    "Map",
    "gcStats",
    "setFinalizer",
    "Channel",
    "yield",
    "sleep",
];

/// Report likely mistakes in a Lox program.
///
/// Lints: W01 unused-variable, W02 unused-parameter, W03
/// unreachable-code, W04 undeclared-global, W05 finalizer-captures-object,
/// W06 unjoined-coroutine. Exit 0 clean, 1 warnings, 2 denied lints, 65
/// compile errors.
#[derive(Parser, Debug)]
#[command(name = "check", bin_name = "loam check")]
pub struct CheckArgs {
    /// Make LINT (a code, a name, or `warnings` for all) an error: exit 2
    /// when it fires.
    #[arg(short = 'D', long = "deny", value_name = "LINT")]
    pub deny: Vec<String>,

    /// Do not report LINT (a code, a name, or `warnings` for all).
    #[arg(short = 'A', long = "allow", value_name = "LINT")]
    pub allow: Vec<String>,

    /// The script to check (`-` for standard input).
    pub file: PathBuf,
}

/// `names` as lints (`warnings`: all of them).
fn lints(names: &[String]) -> Result<HashSet<Lint>, String> {
    let mut set = HashSet::new();
    for name in names {
        if name == "warnings" {
            set.extend(Lint::ALL);
        } else {
            let lint = Lint::parse(name).ok_or_else(|| {
                let known: Vec<String> = Lint::ALL
                    .iter()
                    .map(|l| format!("{} {}", l.code(), l.name()))
                    .collect();
                format!(
                    "unknown lint '{name}'; the lints are: {}, and `warnings` for all",
                    known.join(", ")
                )
            })?;
            set.insert(lint);
        }
    }
    Ok(set)
}

pub fn run(args: CheckArgs) -> i32 {
    let (deny, allow) = match (lints(&args.deny), lints(&args.allow)) {
        (Ok(d), Ok(a)) => (d, a),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("loam check: {e}");
            return 64;
        }
    };
    let (name, source) = if args.file.as_os_str() == "-" {
        let mut buf = Vec::new();
        if std::io::stdin().read_to_end(&mut buf).is_err() {
            eprintln!("Could not read standard input.");
            return 74;
        }
        ("<stdin>".to_string(), buf)
    } else {
        match crate::read_script(&args.file) {
            Ok(s) => (args.file.display().to_string(), s),
            Err(code) => return code,
        }
    };
    if let Err(errors) = lang::compile(&source) {
        let text = render::SourceText {
            name: &name,
            bytes: &source,
            whole_program: true,
        };
        return render::report_compile(&errors, &text);
    }
    let parsed = match lang::syntax::parse(&source) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("loam check: internal error: the grammar rejects a program the compiler accepts ({e})");
            return 70;
        }
    };
    let warnings: Vec<Warning> = lint(&parsed, &NATIVES)
        .into_iter()
        .filter(|w| !allow.contains(&w.lint) || deny.contains(&w.lint))
        .collect();
    let file = SimpleFile::new(name, same_offsets_text(parsed.source));
    let mut denied = 0;
    for warning in &warnings {
        let severity = if deny.contains(&warning.lint) {
            denied += 1;
            Severity::Error
        } else {
            Severity::Warning
        };
        emit(&file, &diagnostic(warning, severity));
    }
    let warned = warnings.len() - denied;
    let summary = match (denied, warned) {
        (0, 0) => return 0,
        (0, w) => format!("{w} warning{}", plural(w)),
        (d, 0) => format!("{d} error{}", plural(d)),
        (d, w) => format!("{d} error{}, {w} warning{}", plural(d), plural(w)),
    };
    eprintln!("loam check: {summary}");
    if denied > 0 {
        2
    } else {
        1
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn diagnostic(w: &Warning, severity: Severity) -> Diagnostic<()> {
    let mut labels = vec![Label::primary((), w.span.start..w.span.end)];
    labels.extend(
        w.labels
            .iter()
            .map(|(span, text)| Label::secondary((), span.start..span.end).with_message(text)),
    );
    let mut d = Diagnostic::new(severity)
        .with_code(w.lint.code())
        .with_message(format!("{} [{}]", w.message, w.lint.name()))
        .with_labels(labels);
    if let Some(note) = &w.note {
        d = d.with_note(note);
    }
    d
}

fn emit(file: &SimpleFile<String, String>, d: &Diagnostic<()>) {
    let config = term::Config::default();
    let stderr = std::io::stderr();
    // Errors writing to stderr have nowhere to be reported.
    let _ = if stderr.is_terminal() {
        let writer = termcolor::StandardStream::stderr(termcolor::ColorChoice::Auto);
        let mut lock = writer.lock();
        term::emit_to_write_style(&mut lock, &config, file, d)
    } else {
        term::emit_to_io_write(&mut stderr.lock(), &config, file, d)
    };
}

/// The source as text with the same byte offsets: valid UTF-8 is kept,
/// each byte of an invalid sequence becomes one `?` (codespan needs a
/// `str`, and the tree's spans are byte offsets).
fn same_offsets_text(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                out.push_str(valid);
                break;
            }
            Err(e) => {
                let (valid, invalid) = rest.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                let bad = e.error_len().unwrap_or(invalid.len());
                for _ in 0..bad {
                    out.push('?');
                }
                rest = invalid.get(bad..).unwrap_or_default();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natives_are_stdlibs() {
        let stdlib = include_str!("../stdlib/src/lib.rs");
        let mut defined: Vec<&str> = stdlib
            .split("define_native(\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect();
        let mut listed = NATIVES.to_vec();
        defined.sort_unstable();
        listed.sort_unstable();
        assert_eq!(listed, defined);
    }

    #[test]
    fn offsets_survive_invalid_utf8() {
        let bytes = b"a\xff\xfeb\xc3\xa9c";
        let text = same_offsets_text(bytes);
        assert_eq!(text.len(), bytes.len());
        assert_eq!(text, "a??b\u{e9}c");
    }

    #[test]
    fn lint_names() {
        assert_eq!(lints(&["warnings".into()]).map(|s| s.len()), Ok(6));
        assert!(lints(&["W03".into(), "unused-parameter".into()]).is_ok());
        assert!(lints(&["nope".into()]).is_err());
    }
}
