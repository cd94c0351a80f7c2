//! The interactive REPL, the line editor's side: line editing and history
//! (rustyline), multi-line input while the parse is unfinished, echo of
//! bare expressions, completion of keywords and globals, input colouring.
//!
//! Two threads. The editor runs here, on a thread of its own, and sends
//! what the user typed to the VM thread (`session.rs`), which runs inputs
//! and `:` commands and, while a line is being edited, the coroutines
//! that earlier inputs left running. Their output reaches the terminal
//! through rustyline's external printer, which prints it above the prompt
//! and redraws the line being edited.

use std::borrow::Cow;
use std::cell::RefCell;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;

use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};

use crate::highlight;
use crate::render::{self, SourceText};
use crate::screen::Printer;
use crate::session::{self, Request};
use vm::Vm;

const KEYWORDS: &[&str] = &[
    "and", "class", "else", "false", "for", "fun", "if", "nil", "or", "print", "return", "super",
    "this", "true", "var", "while",
];

pub(crate) const HELP: &str = "\
Type Lox declarations and statements; a bare expression prints its value
(and is kept in the global `_`). Input continues on `...` lines while
braces or parentheses are open. Coroutines an input spawns keep running
after it (their output appears above the prompt).
  :help        this text
  :gc          run a full collection and print its gctrace line
  :stats       the collector's statistics (as gcStats())
  :heap        in-use spans per size class, objects, sweep states
  :coroutines  the live coroutines: runnable, sleeping, or blocked on what
  :time CODE   run CODE (an expression or statements); report wall time,
               GC cycles and pauses during it
  :load FILE   run FILE in this session (its globals stay defined)
  :quit        leave (or Ctrl-D), even with coroutines still waiting;
               Ctrl-C clears the current input or stops a running
               evaluation (globals and other coroutines stay)
";

/// The `:` commands, for the unknown-command hint.
pub(crate) const COMMANDS: &[&str] = &[
    ":help",
    ":gc",
    ":stats",
    ":heap",
    ":coroutines",
    ":time",
    ":load",
    ":quit",
];

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
pub(crate) enum Outcome {
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
pub(crate) fn classify(input: &str) -> Outcome {
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

/// The text errors are shown against: what the user typed (the source run
/// may wrap it, `var _ = (...);`, on the same lines).
pub(crate) fn typed<'a>(name: &'a str, bytes: &'a [u8]) -> SourceText<'a> {
    SourceText {
        name,
        bytes,
        whole_program: false,
    }
}

/// The session, from the VM thread (where `vm` lives): starts the line
/// editor on its own thread, then serves it until it quits; `colour`
/// colours the input as it is typed.
pub fn run(vm: &mut Vm, colour: bool) -> i32 {
    let (requests, from_editor) = channel();
    let (to_editor, replies) = channel();
    let (started, editor_ready) = channel();
    let attention = vm.attention_flag();
    let editor = LineEditor {
        colour,
        requests,
        replies,
        attention: attention.clone(),
    };
    // The editor compiles what is typed to classify it (`classify`), so
    // it gets the compiler's stack too.
    let thread = std::thread::Builder::new()
        .name("loam-editor".into())
        .stack_size(lang::COMPILE_STACK_SIZE)
        .spawn(move || editor.run(started));
    let thread = match thread {
        Ok(t) => t,
        Err(e) => {
            eprintln!("loam: cannot start the line editor: {e}");
            return 74;
        }
    };
    let code = match editor_ready.recv() {
        Ok(Ok(printer)) => {
            session::serve(vm, printer, &from_editor, &to_editor, &attention);
            0
        }
        Ok(Err(code)) => code,
        Err(_) => 70,
    };
    // The editor has sent its last request (or failed); it saves the
    // history before it returns.
    drop(to_editor);
    match thread.join() {
        Ok(()) => code,
        Err(_) => 70,
    }
}

/// The line editor's end of the session.
struct LineEditor {
    colour: bool,
    requests: Sender<Request>,
    replies: Receiver<session::Done>,
    attention: Arc<AtomicBool>,
}

impl LineEditor {
    /// Sends `request` to the VM thread. The attention flag goes up first,
    /// so a VM thread that sees it knows a request is on its way (and
    /// preempts whatever coroutine runs in the background).
    fn send(&self, request: Request) -> bool {
        self.attention.store(true, Ordering::Release);
        self.requests.send(request).is_ok()
    }

    /// Sends `request` and waits until the VM thread has served it: the
    /// names of the globals then, for completion.
    fn ask(&self, request: Request) -> Option<Vec<String>> {
        if !self.send(request) {
            return None;
        }
        self.replies.recv().ok().map(|d| d.globals)
    }

    /// Reads and sends lines until the user quits. Tells the VM thread
    /// through `started` whether the editor could start, with the external
    /// printer when the terminal has one.
    fn run(self, started: Sender<Result<Option<Printer>, i32>>) {
        let interactive = std::io::stdin().is_terminal();
        let config = rustyline::Config::builder()
            .color_mode(if self.colour {
                rustyline::ColorMode::Enabled
            } else {
                rustyline::ColorMode::Disabled
            })
            .build();
        let mut rl: Editor<LoamHelper, DefaultHistory> = match Editor::with_config(config) {
            Ok(rl) => rl,
            Err(e) => {
                eprintln!("loam: cannot start the line editor: {e}");
                let _ = started.send(Err(74));
                return;
            }
        };
        // None off a terminal: then nothing is edited while coroutines
        // print, and they print straight to stdout.
        let printer: Option<Printer> = rl
            .create_external_printer()
            .ok()
            .map(|p| Box::new(p) as Printer);
        let Some(globals) = self.ask_started(&started, printer) else {
            return;
        };
        let globals = Rc::new(RefCell::new(globals));
        rl.set_helper(Some(LoamHelper {
            globals: globals.clone(),
            colour: self.colour,
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
        self.read_lines(&mut rl, &globals);
        // Whatever coroutines still wait are abandoned with the session.
        self.send(Request::Quit);
        if let Some(h) = &history {
            if let Some(dir) = h.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = rl.save_history(h);
        }
    }

    /// Hands the printer over and asks for the globals (the first
    /// completion list); None if the VM thread is gone.
    fn ask_started(
        &self,
        started: &Sender<Result<Option<Printer>, i32>>,
        printer: Option<Printer>,
    ) -> Option<Vec<String>> {
        started.send(Ok(printer)).ok()?;
        self.ask(Request::Globals)
    }

    fn read_lines(
        &self,
        rl: &mut Editor<LoamHelper, DefaultHistory>,
        globals: &RefCell<Vec<String>>,
    ) {
        let mut pending = String::new();
        loop {
            let prompt = if pending.is_empty() { "> " } else { "... " };
            let line = match rl.readline(prompt) {
                Ok(l) => l,
                Err(ReadlineError::Interrupted) => {
                    pending.clear();
                    continue;
                }
                Err(ReadlineError::Eof) => return,
                Err(e) => {
                    eprintln!("loam: {e}");
                    return;
                }
            };
            let request = if pending.is_empty() && line.trim().starts_with(':') {
                // No Lox statement starts with `:`, so this never hides
                // code.
                let trimmed = line.trim();
                let _ = rl.add_history_entry(trimmed);
                let cmd = trimmed.split_whitespace().next().unwrap_or("");
                if matches!(cmd, ":quit" | ":q" | ":exit") {
                    return;
                }
                Request::Command(trimmed.to_string())
            } else {
                if pending.is_empty() && line.trim().is_empty() {
                    continue;
                }
                if !pending.is_empty() {
                    pending.push('\n');
                }
                pending.push_str(&line);
                let request = match classify(&pending) {
                    Outcome::More => continue,
                    Outcome::Errors(errors) => {
                        render::report_compile(&errors, &typed("<repl>", pending.as_bytes()));
                        None
                    }
                    Outcome::Run { source, echo } => Some(Request::Run {
                        source,
                        echo,
                        typed: pending.clone(),
                    }),
                };
                let _ = rl.add_history_entry(pending.as_str());
                pending.clear();
                match request {
                    Some(r) => r,
                    None => continue,
                }
            };
            match self.ask(request) {
                Some(names) => *globals.borrow_mut() = names,
                None => return,
            }
        }
    }
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
