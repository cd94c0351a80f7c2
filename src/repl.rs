//! The interactive REPL: line editing and history (rustyline), multi-line
//! input while the parse is unfinished, echo of bare expressions,
//! completion of keywords and globals, and `:` commands that look at the
//! collector (`:gc`, `:stats`, `:heap`, `:time`) or load a file (`:load`).

use std::borrow::Cow;
use std::cell::RefCell;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};

use crate::highlight;
use crate::render::{self, SourceText};
use vm::{InterpretError, Vm};

const KEYWORDS: &[&str] = &[
    "and", "class", "else", "false", "for", "fun", "if", "nil", "or", "print", "return", "super",
    "this", "true", "var", "while",
];

const HELP: &str = "\
Type Lox declarations and statements; a bare expression prints its value
(and is kept in the global `_`). Input continues on `...` lines while
braces or parentheses are open.
  :help        this text
  :gc          run a full collection and print its gctrace line
  :stats       the collector's statistics (as gcStats())
  :heap        in-use spans per size class, objects, sweep states
  :time CODE   run CODE (an expression or statements); report wall time,
               GC cycles and pauses during it
  :load FILE   run FILE in this session (its globals stay defined)
  :quit        leave (or Ctrl-D); Ctrl-C clears the current input or
               stops a running evaluation (globals stay)
";

/// The `:` commands, for the unknown-command hint.
const COMMANDS: &[&str] = &[":help", ":gc", ":stats", ":heap", ":time", ":load", ":quit"];

struct LoamHelper {
    globals: Rc<RefCell<Vec<String>>>,
    /// Colour the input as it is typed (`highlight::enabled`).
    colour: bool,
}

impl Completer for LoamHelper {
    type Candidate = String;
    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let start = line[..pos]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        let word = &line[start..pos];
        if word.is_empty() {
            return Ok((pos, Vec::new()));
        }
        let mut found: Vec<String> = KEYWORDS
            .iter()
            .map(|k| k.to_string())
            .chain(self.globals.borrow().iter().cloned())
            .filter(|c| c.starts_with(word))
            .collect();
        found.sort();
        found.dedup();
        Ok((start, found))
    }
}
impl Hinter for LoamHelper {
    type Hint = String;
}
impl Highlighter for LoamHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if self.colour {
            Cow::Owned(highlight::colour_line(line))
        } else {
            Cow::Borrowed(line)
        }
    }

    fn highlight_char(&self, _line: &str, _pos: usize, kind: CmdKind) -> bool {
        // Any typed key may change a token's class (`va` -> `var`, an
        // opening quote); moving the cursor changes none.
        self.colour && kind != CmdKind::MoveCursor
    }
}
impl Validator for LoamHelper {}
impl Helper for LoamHelper {}

fn history_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(base.join("loam").join("history"))
}

/// What to do with the input gathered so far.
enum Outcome {
    /// Run this source; echo global `_` afterwards if `echo`.
    Run { source: Vec<u8>, echo: bool },
    /// The parse ran into the end of input: read another line.
    More,
    /// Report these errors.
    Errors(Vec<lang::CompileError>),
}

/// Decides how to treat `input` (see HELP): an expression is evaluated into
/// `_`; complete code runs as is; a missing final `;` is forgiven; errors
/// at the end of input ask for more.
fn classify(input: &str) -> Outcome {
    let trimmed = input.trim().trim_end_matches(';');
    if !trimmed.is_empty() {
        let expr = format!("var _ = ({trimmed});");
        if lang::compile(expr.as_bytes()).is_ok() {
            return Outcome::Run {
                source: expr.into_bytes(),
                echo: true,
            };
        }
    }
    match lang::compile(input.as_bytes()) {
        Ok(_) => Outcome::Run {
            source: input.as_bytes().to_vec(),
            echo: false,
        },
        Err(errors) => {
            let with_semi = format!("{input};");
            if lang::compile(with_semi.as_bytes()).is_ok() {
                return Outcome::Run {
                    source: with_semi.into_bytes(),
                    echo: false,
                };
            }
            let unfinished = errors
                .iter()
                .any(|e| e.at == lang::ErrorAt::End || e.message() == "Unterminated string.");
            if unfinished {
                Outcome::More
            } else {
                Outcome::Errors(errors)
            }
        }
    }
}

/// What the loop does after a `:` command.
enum Next {
    Continue,
    Quit,
}

/// The text errors are shown against: what the user typed (the source run
/// may wrap it, `var _ = (...);`, on the same lines).
fn typed<'a>(name: &'a str, bytes: &'a [u8]) -> SourceText<'a> {
    SourceText {
        name,
        bytes,
        whole_program: false,
    }
}

/// Runs `source` and echoes global `_` if `echo`; errors are reported
/// against `shown` and the session goes on. Refreshes the completion list.
fn run_source(
    vm: &mut Vm,
    source: &[u8],
    echo: bool,
    shown: &SourceText<'_>,
    globals: &RefCell<Vec<String>>,
) {
    // A Ctrl-C that no evaluation consumed (pressed during a `:` command)
    // must not stop this one.
    vm.clear_interrupt();
    match vm.interpret(source) {
        Ok(()) => {
            if echo {
                if let Some(v) = vm.global_text("_") {
                    let _ = vm.output().write_all(&v);
                    let _ = vm.output().write_all(b"\n");
                }
            }
        }
        // Ctrl-C during the evaluation: the VM has reset its stacks as
        // after a runtime error; globals persist. Back to the prompt.
        Err(InterpretError::Interrupted) => {
            let _ = vm.output().flush();
            eprintln!("Interrupted.");
        }
        Err(e) => {
            render::report(&e, shown);
        }
    }
    let _ = vm.output().flush();
    *globals.borrow_mut() = vm.global_names();
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn ns_ms(ns: u64) -> String {
    ms(Duration::from_nanos(ns))
}

/// `:time CODE`.
fn time_code(vm: &mut Vm, code: &str, globals: &RefCell<Vec<String>>) {
    let (source, echo) = match classify(code) {
        Outcome::Run { source, echo } => (source, echo),
        Outcome::More => {
            eprintln!(":time: the code is incomplete (it must fit on one line)");
            return;
        }
        Outcome::Errors(errors) => {
            render::report_compile(&errors, &typed("<repl>", code.as_bytes()));
            return;
        }
    };
    let before = vm.gc_stats();
    let start = Instant::now();
    run_source(
        vm,
        &source,
        echo,
        &typed("<repl>", code.as_bytes()),
        globals,
    );
    let wall = start.elapsed();
    let after = vm.gc_stats();
    let cycles = after.num_gc - before.num_gc;
    let pause = after.pause_total_ns - before.pause_total_ns;
    let recent = vm.recent_pauses_ns();
    let window = (cycles as usize).min(recent.len());
    let max = recent[recent.len() - window..]
        .iter()
        .copied()
        .max()
        .unwrap_or(0);
    let of_last = if window < cycles as usize {
        format!(" (max of the last {window})")
    } else {
        String::new()
    };
    println!(
        "time: {} wall, {cycles} GC cycle{}, pauses {} total, {} max{of_last}",
        ms(wall),
        if cycles == 1 { "" } else { "s" },
        ns_ms(pause),
        ns_ms(max),
    );
}

/// `:load FILE`.
fn load_file(vm: &mut Vm, path: &str, globals: &RefCell<Vec<String>>) {
    if path.is_empty() {
        eprintln!(":load needs a file name (:load FILE)");
        return;
    }
    match std::fs::read(Path::new(path)) {
        Ok(source) => run_source(vm, &source, false, &typed(path, &source), globals),
        Err(e) => eprintln!("Could not open file \"{path}\": {e}."),
    }
}

fn print_stats(vm: &Vm) {
    for (k, v) in crate::gc_stats_fields(&vm.gc_stats()) {
        if k == "next_gc" && v == u64::MAX {
            println!("{k:<17} off");
        } else {
            println!("{k:<17} {v}");
        }
    }
}

fn print_heap(vm: &Vm) {
    let p = vm.heap_profile();
    println!(
        "sweepgen {}; objects are counted in swept spans only",
        p.sweepgen
    );
    println!(
        "{:>5} {:>6} {:>6} {:>6} {:>15} {:>11} {:>11} {:>6}",
        "class", "size", "spans", "pages", "objects/slots", "needs-sweep", "being-swept", "swept"
    );
    let mut total = gc::ClassProfile::default();
    for c in &p.classes {
        let (class, size) = if c.class == 0 {
            ("large".to_string(), "-".to_string())
        } else {
            (c.class.to_string(), c.size.to_string())
        };
        println!(
            "{class:>5} {size:>6} {:>6} {:>6} {:>15} {:>11} {:>11} {:>6}",
            c.spans,
            c.pages,
            format!("{}/{}", c.objects, c.slots),
            c.needs_sweep,
            c.being_swept,
            c.swept
        );
        total.spans += c.spans;
        total.pages += c.pages;
        total.objects += c.objects;
        total.slots += c.slots;
        total.needs_sweep += c.needs_sweep;
        total.being_swept += c.being_swept;
        total.swept += c.swept;
    }
    println!(
        "{:>5} {:>6} {:>6} {:>6} {:>15} {:>11} {:>11} {:>6}",
        "total",
        "",
        total.spans,
        total.pages,
        format!("{}/{}", total.objects, total.slots),
        total.needs_sweep,
        total.being_swept,
        total.swept
    );
}

/// Runs a `:` command line.
fn command(vm: &mut Vm, line: &str, globals: &RefCell<Vec<String>>) -> Next {
    let (cmd, arg) = match line.split_once(char::is_whitespace) {
        Some((c, a)) => (c, a.trim()),
        None => (line, ""),
    };
    match cmd {
        ":help" | ":h" | ":?" => print!("{HELP}"),
        ":quit" | ":q" | ":exit" => return Next::Quit,
        ":gc" => {
            vm.collect_now();
            match vm.last_gctrace() {
                Some(l) => println!("{l}"),
                None => println!("(no collection ran)"),
            }
        }
        ":stats" => print_stats(vm),
        ":heap" => print_heap(vm),
        ":time" if arg.is_empty() => eprintln!(":time needs code to run (:time CODE)"),
        ":time" => time_code(vm, arg, globals),
        ":load" => load_file(vm, arg, globals),
        _ => eprintln!(
            "Unknown command '{cmd}'. Commands: {}; :help explains them.",
            COMMANDS.join(" ")
        ),
    }
    let _ = std::io::stdout().flush();
    Next::Continue
}

/// The session; `colour` colours the input as it is typed.
pub fn run(vm: &mut Vm, colour: bool) -> i32 {
    let interactive = std::io::stdin().is_terminal();
    let globals = Rc::new(RefCell::new(vm.global_names()));
    let config = rustyline::Config::builder()
        .color_mode(if colour {
            rustyline::ColorMode::Enabled
        } else {
            rustyline::ColorMode::Disabled
        })
        .build();
    let mut rl: Editor<LoamHelper, DefaultHistory> = match Editor::with_config(config) {
        Ok(rl) => rl,
        Err(e) => {
            eprintln!("loam: cannot start the line editor: {e}");
            return 74;
        }
    };
    rl.set_helper(Some(LoamHelper {
        globals: globals.clone(),
        colour,
    }));
    let history = history_path();
    if let Some(h) = &history {
        let _ = rl.load_history(h);
    }
    if interactive {
        println!(
            "loam {} (Lox with a concurrent-sweep collector). :help for help, Ctrl-D to exit.",
            env!("CARGO_PKG_VERSION")
        );
    }
    let mut pending = String::new();
    loop {
        let prompt = if pending.is_empty() { "> " } else { "... " };
        let line = match rl.readline(prompt) {
            Ok(l) => l,
            Err(ReadlineError::Interrupted) => {
                pending.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("loam: {e}");
                break;
            }
        };
        if pending.is_empty() {
            let trimmed = line.trim();
            if trimmed.is_empty() {
                continue;
            }
            // No Lox statement starts with `:`, so this never hides code.
            if trimmed.starts_with(':') {
                let _ = rl.add_history_entry(trimmed);
                match command(vm, trimmed, &globals) {
                    Next::Continue => continue,
                    Next::Quit => break,
                }
            }
        }
        if !pending.is_empty() {
            pending.push('\n');
        }
        pending.push_str(&line);
        match classify(&pending) {
            Outcome::More => continue,
            Outcome::Errors(errors) => {
                render::report_compile(&errors, &typed("<repl>", pending.as_bytes()));
            }
            Outcome::Run { source, echo } => run_source(
                vm,
                &source,
                echo,
                &typed("<repl>", pending.as_bytes()),
                &globals,
            ),
        }
        let _ = rl.add_history_entry(pending.as_str());
        pending.clear();
    }
    if let Some(h) = &history {
        if let Some(dir) = h.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = rl.save_history(h);
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_expressions_statements_and_unfinished_input() {
        assert!(matches!(classify("1 + 2"), Outcome::Run { echo: true, .. }));
        assert!(matches!(
            classify("1 + 2;"),
            Outcome::Run { echo: true, .. }
        ));
        assert!(matches!(
            classify("print 1;"),
            Outcome::Run { echo: false, .. }
        ));
        assert!(matches!(
            classify("print 1"),
            Outcome::Run { echo: false, .. }
        ));
        assert!(matches!(classify("fun f() {"), Outcome::More));
        assert!(matches!(classify("print \"abc"), Outcome::More));
        assert!(matches!(classify("print );"), Outcome::Errors(_)));
    }
}
