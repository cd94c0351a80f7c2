//! The interactive REPL: line editing and history (rustyline), multi-line
//! input while the parse is unfinished, echo of bare expressions, and
//! completion of keywords and globals.

use std::cell::RefCell;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::rc::Rc;

use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};

use vm::{InterpretError, Vm};

const KEYWORDS: &[&str] = &[
    "and", "class", "else", "false", "for", "fun", "if", "nil", "or", "print", "return", "super",
    "this", "true", "var", "while",
];

const HELP: &str = "\
Type Lox declarations and statements; a bare expression prints its value
(and is kept in the global `_`). Input continues on `...` lines while
braces or parentheses are open.
  :help   this text
  :quit   leave (or Ctrl-D); Ctrl-C clears the current input
";

struct LoamHelper {
    globals: Rc<RefCell<Vec<String>>>,
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
impl Highlighter for LoamHelper {}
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

pub fn run(mut vm: Vm) -> i32 {
    let interactive = std::io::stdin().is_terminal();
    let globals = Rc::new(RefCell::new(vm.global_names()));
    let mut rl: Editor<LoamHelper, DefaultHistory> = match Editor::new() {
        Ok(rl) => rl,
        Err(e) => {
            eprintln!("loam: cannot start the line editor: {e}");
            return 74;
        }
    };
    rl.set_helper(Some(LoamHelper {
        globals: globals.clone(),
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
            match line.trim() {
                "" => continue,
                ":help" => {
                    print!("{HELP}");
                    continue;
                }
                ":quit" | ":q" | ":exit" => break,
                _ => {}
            }
        }
        if !pending.is_empty() {
            pending.push('\n');
        }
        pending.push_str(&line);
        match classify(&pending) {
            Outcome::More => continue,
            Outcome::Errors(errors) => {
                crate::render::report(&InterpretError::Compile(errors));
            }
            Outcome::Run { source, echo } => {
                match vm.interpret(&source) {
                    Ok(()) => {
                        if echo {
                            if let Some(v) = vm.global_text("_") {
                                let _ = vm.output().write_all(&v);
                                let _ = vm.output().write_all(b"\n");
                            }
                        }
                    }
                    Err(e) => {
                        crate::render::report(&e);
                    }
                }
                let _ = vm.output().flush();
                *globals.borrow_mut() = vm.global_names();
            }
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
