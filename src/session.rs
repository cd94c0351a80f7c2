//! The REPL, the VM thread's side: runs what the line editor (`repl.rs`)
//! sends, the `:` commands that look at the VM (`:gc`, `:stats`, `:heap`,
//! `:coroutines`, `:time`, `:load`), and, while the user edits a line, the
//! coroutines earlier inputs left running (`vm::Vm::run_background`).
//!
//! Output while a line is being edited goes through rustyline's external
//! printer (`screen.rs`): it prints above the prompt and redraws the
//! line, so the input stays intact. A runtime error of such a coroutine (or of
//! a finalizer) is shown the same way (`render::background`), that
//! coroutine ends, and the session goes on; an input's own error,
//! deadlock included, is reported against what was typed, as before.

use std::cell::RefCell;
use std::io::Write;
use std::path::Path;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use vm::{ChannelInfo, CoroutineInfo, CoroutineState, Failed, Idle, InterpretError, Vm};

use crate::render;
use crate::repl::{classify, typed, Outcome, COMMANDS, HELP};
use crate::screen::{Printer, Screen, ScreenOut, Stream};

/// What the line editor asks of the VM thread.
pub(crate) enum Request {
    /// Run `source` (echo global `_` afterwards if `echo`); errors are
    /// shown against `typed`, what the user typed.
    Run {
        source: Vec<u8>,
        echo: bool,
        typed: String,
    },
    /// A `:` command line other than `:quit`.
    Command(String),
    /// Nothing to run: just the globals (the first completion list).
    Globals,
    /// The session ends (`:quit`, Ctrl-D, the editor failed): coroutines
    /// still waiting are abandoned.
    Quit,
}

/// A request was served: the globals now, for completion.
pub(crate) struct Done {
    pub(crate) globals: Vec<String>,
}

/// Serves the editor until it quits (or is gone), running the background
/// coroutines whenever it has nothing to ask. `attention` is the VM's
/// flag: the editor raises it before it sends a request, so a coroutine
/// running in the background yields within a budget.
pub(crate) fn serve(
    vm: &mut Vm,
    printer: Option<Printer>,
    requests: &Receiver<Request>,
    replies: &Sender<Done>,
    attention: &Arc<AtomicBool>,
) {
    let screen = Rc::new(RefCell::new(Screen::new(printer, attention.clone())));
    vm.set_output(Box::new(ScreenOut {
        screen: screen.clone(),
        pending: Vec::new(),
    }));
    let shown = screen.clone();
    vm.start_session(Box::new(move |what: Failed, e: &vm::RuntimeError| {
        shown
            .borrow_mut()
            .show(&render::background(what, e), Stream::Err);
    }));
    loop {
        let idle = vm.run_background();
        let request = if attention.load(Ordering::Acquire) {
            // Raised before the request was sent: it is on its way.
            requests.recv().ok()
        } else {
            match idle {
                Idle::Asked => match requests.try_recv() {
                    Ok(r) => Some(r),
                    Err(TryRecvError::Empty) => continue,
                    Err(TryRecvError::Disconnected) => None,
                },
                Idle::Until(t) => {
                    match requests.recv_timeout(t.saturating_duration_since(Instant::now())) {
                        Ok(r) => Some(r),
                        Err(RecvTimeoutError::Timeout) => continue,
                        Err(RecvTimeoutError::Disconnected) => None,
                    }
                }
                Idle::Blocked => requests.recv().ok(),
            }
        };
        // No line is being edited until the reply: output goes straight
        // out, after what still waits for the printer.
        screen.borrow_mut().set_serving(true);
        // Lowered only once the request is taken: the editor sends the
        // next one only after this one's reply.
        attention.store(false, Ordering::Release);
        match request {
            None | Some(Request::Quit) => return,
            Some(Request::Run {
                source,
                echo,
                typed: text,
            }) => run_source(vm, &source, echo, &typed("<repl>", text.as_bytes())),
            Some(Request::Command(line)) => command(vm, &line),
            Some(Request::Globals) => {}
        }
        let _ = std::io::stdout().flush();
        if replies
            .send(Done {
                globals: vm.global_names(),
            })
            .is_err()
        {
            return;
        }
        screen.borrow_mut().set_serving(false);
    }
}

/// Runs `source` and echoes global `_` if `echo`; errors are reported
/// against `shown` and the session goes on.
fn run_source(vm: &mut Vm, source: &[u8], echo: bool, shown: &render::SourceText<'_>) {
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
        // Ctrl-C during the evaluation: the input has stopped (unwound as
        // after a runtime error); globals and the other coroutines stay.
        Err(InterpretError::Interrupted) => {
            let _ = vm.output().flush();
            eprintln!("Interrupted.");
        }
        Err(e) => {
            render::report(&e, shown);
        }
    }
    let _ = vm.output().flush();
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn ns_ms(ns: u64) -> String {
    ms(Duration::from_nanos(ns))
}

/// `:time CODE`.
fn time_code(vm: &mut Vm, code: &str) {
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
    run_source(vm, &source, echo, &typed("<repl>", code.as_bytes()));
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
fn load_file(vm: &mut Vm, path: &str) {
    if path.is_empty() {
        eprintln!(":load needs a file name (:load FILE)");
        return;
    }
    match std::fs::read(Path::new(path)) {
        Ok(source) => run_source(vm, &source, false, &typed(path, &source)),
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

/// `:coroutines`: one line per live coroutine.
fn print_coroutines(vm: &mut Vm) {
    let all = vm.coroutines();
    if all.is_empty() {
        println!("no coroutines");
    }
    for c in &all {
        println!("{}", describe(c));
    }
}

/// One `:coroutines` line: who, what it does, where.
fn describe(c: &CoroutineInfo) -> String {
    let who = match c.id {
        Some(id) => format!("coroutine {id}"),
        None => "finalizers".to_string(),
    };
    let state = match &c.state {
        CoroutineState::Runnable if !c.has_frame => "runnable, not started".to_string(),
        CoroutineState::Runnable => "runnable".to_string(),
        CoroutineState::Sleeping { wakes_in } => {
            format!("sleeping, wakes in {:.1} s", wakes_in.as_secs_f64())
        }
        CoroutineState::Receiving(ch) => format!("blocked receiving on {}", channel(ch)),
        CoroutineState::Sending(ch) => format!("blocked sending on {}", channel(ch)),
        CoroutineState::Joining(id) => format!("blocked joining coroutine {id}"),
        CoroutineState::WaitingForFinalizers => "waiting for finalizers to run".to_string(),
    };
    let at = match &c.at {
        Some(t) => {
            let function = match &t.function {
                Some(name) => format!("{name}()"),
                None => "script".to_string(),
            };
            let how = if c.has_frame { "in" } else { "spawned in" };
            format!(" ({how} {function}, line {})", t.line)
        }
        None => String::new(),
    };
    format!("{who}: {state}{at}")
}

/// A channel as `:coroutines` names it: by the globals that hold it.
fn channel(ch: &ChannelInfo) -> String {
    let name = if ch.globals.is_empty() {
        "a channel no global holds".to_string()
    } else {
        format!("channel {}", ch.globals.join(" = "))
    };
    if ch.capacity == 0 {
        format!("{name} (unbuffered)")
    } else {
        format!("{name} ({} of {} buffered)", ch.buffered, ch.capacity)
    }
}

/// Runs a `:` command line (`:quit` never gets here).
fn command(vm: &mut Vm, line: &str) {
    let (cmd, arg) = match line.split_once(char::is_whitespace) {
        Some((c, a)) => (c, a.trim()),
        None => (line, ""),
    };
    match cmd {
        ":help" | ":h" | ":?" => print!("{HELP}"),
        ":gc" => {
            vm.collect_now();
            match vm.last_gctrace() {
                Some(l) => println!("{l}"),
                None => println!("(no collection ran)"),
            }
        }
        ":stats" => print_stats(vm),
        ":heap" => print_heap(vm),
        ":coroutines" | ":co" => print_coroutines(vm),
        ":time" if arg.is_empty() => eprintln!(":time needs code to run (:time CODE)"),
        ":time" => time_code(vm, arg),
        ":load" => load_file(vm, arg),
        _ => eprintln!(
            "Unknown command '{cmd}'. Commands: {}; :help explains them.",
            COMMANDS.join(" ")
        ),
    }
    let _ = std::io::stdout().flush();
}

#[cfg(test)]
mod tests {
    use super::*;
    use vm::TraceLine;

    #[test]
    fn coroutine_lines_say_state_and_place() {
        let at = |function: Option<&str>, line| {
            Some(TraceLine {
                line,
                function: function.map(str::to_string),
            })
        };
        let ch = ChannelInfo {
            globals: vec!["jobs".to_string()],
            capacity: 0,
            buffered: 0,
        };
        let lines = [
            CoroutineInfo {
                id: Some(1),
                state: CoroutineState::Receiving(ch),
                at: at(Some("worker"), 3),
                has_frame: true,
            },
            CoroutineInfo {
                id: Some(2),
                state: CoroutineState::Runnable,
                at: at(None, 7),
                has_frame: false,
            },
            CoroutineInfo {
                id: Some(3),
                state: CoroutineState::Sending(ChannelInfo {
                    globals: Vec::new(),
                    capacity: 4,
                    buffered: 4,
                }),
                at: None,
                has_frame: false,
            },
            CoroutineInfo {
                id: None,
                state: CoroutineState::WaitingForFinalizers,
                at: None,
                has_frame: false,
            },
        ];
        let shown: Vec<String> = lines.iter().map(describe).collect();
        assert_eq!(
            shown,
            [
                "coroutine 1: blocked receiving on channel jobs (unbuffered) (in worker(), line 3)",
                "coroutine 2: runnable, not started (spawned in script, line 7)",
                "coroutine 3: blocked sending on a channel no global holds (4 of 4 buffered)",
                "finalizers: waiting for finalizers to run",
            ]
        );
    }
}
