//! The REPL as a user meets it: the real `loam` binary in a
//! pseudo-terminal (rustyline in raw mode, with echo and redraws), typed
//! at line by line; assertions on what the terminal shows (the text it
//! received, and for redraws the screen a terminal would show,
//! `screen_lines`).

mod common;

use nix::pty::{openpty, Winsize};
use std::fs::File;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How long any one expected output may take.
const WAIT: Duration = Duration::from_secs(20);

struct Term {
    child: Child,
    input: File,
    output: Receiver<Vec<u8>>,
    /// Everything shown so far, escape sequences and `\r` removed.
    screen: String,
    /// Everything shown so far, byte for byte (escape sequences kept).
    raw: Vec<u8>,
    /// Bytes of `raw` already matched by `expect_raw`.
    raw_seen: usize,
    /// Bytes of `screen` already matched by `expect`.
    seen: usize,
    home: PathBuf,
}

impl Term {
    fn start() -> Term {
        Term::spawn(false, &[])
    }

    /// Like `start`, with extra environment variables.
    fn start_env(env: &[(&str, &str)]) -> Term {
        Term::spawn(false, env)
    }

    /// Like `start`, but loam leads a new session whose controlling
    /// terminal is the pty (`setsid --ctty`), as in a real terminal: a
    /// Ctrl-C typed while rustyline is not reading (an evaluation runs, the
    /// terminal is in cooked mode) makes the line discipline send SIGINT.
    fn start_with_ctty() -> Term {
        Term::spawn(true, &[])
    }

    fn spawn(ctty: bool, env: &[(&str, &str)]) -> Term {
        let home = std::env::temp_dir().join(format!(
            "loam-repl-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::create_dir_all(&home);
        let size = Winsize {
            ws_row: 50,
            ws_col: 200,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = openpty(&size, None).expect("openpty");
        let fd = |f: &std::os::fd::OwnedFd| Stdio::from(f.try_clone().expect("dup pty"));
        // setsid does not fork here (the child is not a process-group
        // leader), so the child is loam itself.
        let mut cmd = if ctty {
            let mut c = Command::new("setsid");
            c.arg("--ctty").arg(common::loam_bin());
            c
        } else {
            Command::new(common::loam_bin())
        };
        cmd.stdin(fd(&pty.slave))
            .stdout(fd(&pty.slave))
            .stderr(fd(&pty.slave))
            .env("TERM", "xterm")
            .env("XDG_DATA_HOME", &home)
            .env_remove("LOAMDEBUG")
            .env_remove("NO_COLOR");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn loam");
        drop(pty.slave);
        let input = File::from(pty.master);
        let mut reader = input.try_clone().expect("dup master");
        let mut answer = input.try_clone().expect("dup master");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            let mut tail: Vec<u8> = Vec::new();
            // Ends with EIO once the child has exited and closed the pty.
            while let Ok(n @ 1..) = reader.read(&mut buf) {
                // rustyline asks where the cursor is (`ESC [ 6 n`) before
                // each prompt; answer like a terminal would: column 1.
                tail.extend_from_slice(&buf[..n]);
                let queries = tail.windows(4).filter(|w| w == b"\x1b[6n").count();
                for _ in 0..queries {
                    let _ = answer.write_all(b"\x1b[1;1R");
                }
                let keep = tail.len().saturating_sub(3);
                tail.drain(..keep);
                if tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Term {
            child,
            input,
            output: rx,
            screen: String::new(),
            seen: 0,
            raw: Vec::new(),
            raw_seen: 0,
            home,
        }
    }

    fn send(&mut self, keys: &str) {
        self.input.write_all(keys.as_bytes()).expect("type");
    }

    /// Types `line` and Enter.
    fn line(&mut self, line: &str) {
        self.send(line);
        self.send("\r");
    }

    /// Waits until `needle` appears after what was matched before; returns
    /// the text up to and including it.
    fn expect(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(i) = self.screen[self.seen..].find(needle) {
                let end = self.seen + i + needle.len();
                let got = self.screen[self.seen..end].to_string();
                self.seen = end;
                return got;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.output.recv_timeout(left) {
                Ok(bytes) => self.take(bytes),
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => panic!(
                    "waited for {needle:?}; the terminal shows after the last match:\n{}",
                    &self.screen[self.seen..]
                ),
            }
        }
    }

    fn take(&mut self, bytes: Vec<u8>) {
        self.screen.push_str(&strip(&bytes));
        self.raw.extend_from_slice(&bytes);
    }

    /// Waits until the exact bytes `needle` (escape sequences included)
    /// are written after what `expect_raw` matched before.
    fn expect_raw(&mut self, needle: &[u8]) {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(i) = self.raw[self.raw_seen..]
                .windows(needle.len())
                .position(|w| w == needle)
            {
                self.raw_seen += i + needle.len();
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.output.recv_timeout(left) {
                Ok(bytes) => self.take(bytes),
                Err(_) => panic!(
                    "waited for {:?}; the terminal got after the last match:\n{:?}",
                    String::from_utf8_lossy(needle),
                    String::from_utf8_lossy(&self.raw[self.raw_seen..])
                ),
            }
        }
    }

    /// Like `expect`, but gives up after `wait` and says whether it saw
    /// `needle`.
    fn saw_within(&mut self, needle: &str, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(i) = self.screen[self.seen..].find(needle) {
                self.seen += i + needle.len();
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.output.recv_timeout(left) {
                Ok(bytes) => self.take(bytes),
                Err(_) => return false,
            }
        }
    }

    /// Expects `text` as a whole output line.
    fn expect_line(&mut self, text: &str) -> String {
        self.expect(&format!("\n{text}\n"))
    }

    /// The prompt at the start of a line: rustyline's redraws while a line
    /// is typed also show `> ` (each redraw repeats the prompt), so a
    /// prompt in the middle of a line is not the next one.
    fn prompt(&mut self) {
        let deadline = Instant::now() + WAIT;
        loop {
            let rest = &self.screen[self.seen..];
            let found = rest.match_indices("> ").map(|(i, _)| i).find(|&i| {
                let at = self.seen + i;
                at == 0 || self.screen[..at].ends_with('\n')
            });
            if let Some(i) = found {
                self.seen += i + 2;
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.output.recv_timeout(left) {
                Ok(bytes) => self.take(bytes),
                Err(_) => panic!(
                    "waited for a prompt at the start of a line; the terminal shows after \
                     the last match:\n{}",
                    &self.screen[self.seen..]
                ),
            }
        }
    }

    fn wait_exit(&mut self) -> i32 {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code().unwrap_or(-1);
            }
            assert!(Instant::now() < deadline, "loam did not exit");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

/// What a terminal shows after `raw`, line by line: printed text where the
/// cursor put it, after carriage returns, erases to the end of the line
/// and cursor moves (what rustyline redraws with); colours and modes
/// dropped. Enough of a terminal to see whether a redraw left the line
/// being edited intact.
fn screen_lines(raw: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(raw);
    let mut lines: Vec<Vec<char>> = vec![Vec::new()];
    let (mut row, mut col) = (0usize, 0usize);
    let mut it = text.chars();
    while let Some(c) = it.next() {
        match c {
            '\x1b' => match it.next() {
                Some('[') => {
                    let mut params = String::new();
                    let mut end = None;
                    for c in it.by_ref() {
                        if ('@'..='~').contains(&c) {
                            end = Some(c);
                            break;
                        }
                        params.push(c);
                    }
                    let n = params.parse::<usize>().unwrap_or(1).max(1);
                    match end {
                        Some('K') if params == "2" => lines[row].clear(),
                        Some('K') => lines[row].truncate(col),
                        Some('J') => {
                            lines[row].truncate(col);
                            lines.truncate(row + 1);
                        }
                        Some('C') => col += n,
                        Some('D') => col = col.saturating_sub(n),
                        Some('A') => row = row.saturating_sub(n),
                        Some('B') => row += n,
                        // Colours, modes, cursor queries.
                        _ => {}
                    }
                }
                Some(']') => {
                    for c in it.by_ref() {
                        if c == '\x07' {
                            break;
                        }
                    }
                }
                _ => {}
            },
            '\r' => col = 0,
            '\n' => row += 1,
            '\x07' => {}
            c => {
                let line = &mut lines[row];
                if line.len() <= col {
                    line.resize(col + 1, ' ');
                }
                line[col] = c;
                col += 1;
            }
        }
        if lines.len() <= row {
            lines.resize(row + 1, Vec::new());
        }
    }
    lines
        .into_iter()
        .map(|l| l.into_iter().collect::<String>().trim_end().to_string())
        .collect()
}

#[test]
fn the_screen_model_follows_redraws() {
    let raw = b"> v\r\x1b[3C\r\x1b[K> \x1b[1;35mvar\x1b[0m x\r\x1b[7C\r\x1b[Kwoke up\r\n> var x";
    assert_eq!(screen_lines(raw), ["woke up", "> var x"]);
    assert_eq!(
        screen_lines(b"abc\r\x1b[1Cz\x1b[Kq\r\nnext"),
        ["azq", "next"]
    );
}

/// Terminal output as text: ANSI escape sequences and `\r` removed (the
/// line discipline turns `\n` into `\r\n`).
fn strip(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let mut out = String::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\x1b' => match it.next() {
                Some('[') => {
                    for c in it.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
                Some(']') => {
                    while let Some(c) = it.next() {
                        if c == '\x07' || (c == '\x1b' && it.next() == Some('\\')) {
                            break;
                        }
                    }
                }
                _ => {}
            },
            '\r' | '\x07' => {}
            c => out.push(c),
        }
    }
    out
}

#[test]
fn a_session_as_a_user_types_it() {
    let mut t = Term::start();
    t.expect(":help for help, Ctrl-D to exit.");
    t.prompt();

    // Expressions echo their value.
    t.line("1 + 2");
    t.expect_line("3");
    t.prompt();

    // A multi-line function definition continues on `...` lines.
    t.line("fun twice(x) {");
    t.expect("... ");
    t.line("  return x * 2;");
    t.expect("... ");
    t.line("}");
    t.prompt();
    t.line("twice(21)");
    t.expect_line("42");
    t.prompt();

    // Errors are reported and the session goes on, globals intact.
    t.line("var greeting = \"hi\";");
    t.prompt();
    // On a terminal they show the input's line, and the token the parser
    // stopped at.
    t.line("nil + 1;");
    t.expect("error: Operands must be two numbers or two strings.\n");
    t.expect("<repl>:1:1\n");
    t.expect("1 │ nil + 1;\n");
    t.expect("│ ^^^^^^^^ in script\n");
    t.expect("= [line 1] in script\n");
    t.prompt();
    t.line("print );");
    t.expect("error: Expect expression.\n");
    t.expect("<repl>:1:7\n");
    t.expect("│       ^\n");
    t.prompt();
    t.line("greeting + \"!\"");
    t.expect_line("hi!");
    t.prompt();

    // :gc runs a cycle and shows its gctrace line.
    t.line(":gc");
    let shown = t.expect(" ms clock, ");
    assert!(shown.contains("\ngc 1 @"), "{shown}");
    t.expect(" swept, 1 P\n");
    t.prompt();

    // :stats lists every figure.
    t.line(":stats");
    for key in [
        "num_gc",
        "heap_alloc",
        "heap_objects",
        "heap_sys",
        "next_gc",
        "last_live",
        "pause_total_ns",
        "max_pause_ns",
        "pause_p50_ns",
        "pause_p99_ns",
        "swept_background",
        "swept_lazy",
    ] {
        t.expect(&format!("\n{key} "));
    }
    t.prompt();

    // :heap shows the size classes and sweep states.
    t.line(":heap");
    t.expect("objects/slots needs-sweep being-swept  swept\n");
    t.expect("\ntotal ");
    t.prompt();

    // :time runs code and reports time and GC work during it.
    t.line(":time for (var i = 0; i < 300000; i = i + 1) { var t = [i, i, i]; }");
    let shown = t.expect(" max\n");
    assert!(shown.contains("\ntime: "), "{shown}");
    assert!(shown.contains(" ms wall, "), "{shown}");
    assert!(
        !shown.contains(" 0 GC cycles"),
        "the loop collects: {shown}"
    );
    t.prompt();
    t.line(":time twice(2)");
    t.expect_line("4");
    // (A cycle may or may not fall in so short a run: only the shape.)
    let shown = t.expect(" max\n");
    assert!(
        shown.contains("time: ") && shown.contains(" GC cycle"),
        "{shown}"
    );
    t.prompt();

    // :load runs a file in the session: its globals stay.
    let file = t.home.join("lib.lox");
    std::fs::write(
        &file,
        "var loaded = 7;\nfun square(x) { return x * x; }\nprint \"loaded!\";\n",
    )
    .expect("write lib.lox");
    t.line(&format!(":load {}", file.display()));
    t.expect_line("loaded!");
    t.prompt();
    t.line("square(loaded) + twice(1)");
    t.expect_line("51");
    t.prompt();
    t.line(":load /nonexistent/x.lox");
    t.expect("Could not open file \"/nonexistent/x.lox\"");
    t.prompt();

    // Unknown commands say what exists.
    t.line(":frobnicate");
    t.expect(
        "Unknown command ':frobnicate'. Commands: :help :gc :stats :heap :coroutines :time :load :quit",
    );
    t.prompt();
    t.line(":help");
    t.expect(":load FILE   run FILE in this session");
    t.prompt();

    // Ctrl-D on an empty line ends the session.
    t.send("\x04");
    assert_eq!(t.wait_exit(), 0);
}

#[test]
fn quit_command_ends_the_session() {
    let mut t = Term::start();
    t.prompt();
    t.line("var x = 1;");
    t.prompt();
    t.line(":quit");
    assert_eq!(t.wait_exit(), 0);
}

#[test]
fn ctrl_c_stops_an_evaluation_and_keeps_globals() {
    let mut t = Term::start_with_ctty();
    t.expect(":help for help, Ctrl-D to exit.");
    t.prompt();
    t.line("var kept = 40;");
    t.prompt();
    t.line("while (true) {}");
    // rustyline echoes the line and leaves raw mode before the loop runs; a
    // Ctrl-C typed before that would reach rustyline as a key, so repeat it
    // until the loop is stopped.
    t.expect("while (true) {}\n");
    let deadline = Instant::now() + WAIT;
    loop {
        std::thread::sleep(Duration::from_millis(200));
        t.send("\x03");
        if t.saw_within("Interrupted.\n", Duration::from_millis(500)) {
            break;
        }
        assert!(Instant::now() < deadline, "Ctrl-C did not stop the loop");
    }
    t.prompt();
    t.line("print 1 + 1;");
    t.expect_line("2");
    t.prompt();
    t.line("kept + 2");
    t.expect_line("42");
    t.prompt();
    t.send("\x04");
    assert_eq!(t.wait_exit(), 0);
}

/// The CSI sequences ending in `m` (SGR: colours and attributes) in `raw`.
fn sgr_sequences(raw: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut i = 0;
    while let Some(start) = raw[i..].windows(2).position(|w| w == b"\x1b[") {
        let body = i + start + 2;
        let end = raw[body..]
            .iter()
            .position(|b| (0x40..=0x7e).contains(b))
            .map_or(raw.len(), |e| body + e);
        if raw.get(end) == Some(&b'm') {
            found.push(String::from_utf8_lossy(&raw[i + start..=end]).into_owned());
        }
        i = end.min(raw.len() - 1) + 1;
        if i >= raw.len() {
            break;
        }
    }
    found
}

#[test]
fn input_is_coloured_as_it_is_typed() {
    let mut t = Term::start();
    t.prompt();
    // A keyword is coloured while the line is still being edited.
    t.send("var");
    t.expect_raw(b"\x1b[1;35mvar\x1b[0m");
    t.send(" s = \"hi\" + str(12); // note");
    t.expect_raw(b"\x1b[32m\"hi\"\x1b[0m");
    t.expect_raw(b"\x1b[33m12\x1b[0m");
    t.expect_raw(b"\x1b[90m// note\x1b[0m");
    t.send("\r");
    // The next prompt, on a line of its own (the redrawn input line also
    // shows a `> `).
    t.expect("\n> ");
    t.send("true");
    t.expect_raw(b"\x1b[36mtrue\x1b[0m");
    t.send("\r");
    t.expect_line("true");
    t.prompt();
    // Errors are coloured too.
    t.line("1 + nil");
    t.expect("error: Operands must be two numbers or two strings.\n");
    // The caret line is red (waited for: the terminal may deliver the
    // error in more than one read).
    t.expect_raw(b"\x1b[31m");
    t.prompt();
    t.send("\x04");
    assert_eq!(t.wait_exit(), 0);
}

#[test]
fn no_color_turns_colour_off() {
    let mut t = Term::start_env(&[("NO_COLOR", "1")]);
    t.prompt();
    t.line("var n = 12; // twelve");
    t.prompt();
    t.line("n + 1");
    t.expect_line("13");
    t.prompt();
    // Errors keep their source line and caret, without colour.
    t.line("n + nil");
    t.expect("error: Operands must be two numbers or two strings.\n");
    t.expect("1 │ n + nil\n");
    t.prompt();
    t.send("\x04");
    assert_eq!(t.wait_exit(), 0);
    let sgr = sgr_sequences(&t.raw);
    assert!(sgr.is_empty(), "colour escapes under NO_COLOR: {sgr:?}");
}

/// Types Ctrl-C until `Interrupted.` shows: rustyline echoes the line and
/// leaves raw mode before the evaluation runs, and a Ctrl-C typed before
/// that reaches rustyline as a key.
fn interrupt_evaluation(t: &mut Term) {
    let deadline = Instant::now() + WAIT;
    loop {
        std::thread::sleep(Duration::from_millis(200));
        t.send("\x03");
        if t.saw_within("Interrupted.\n", Duration::from_millis(500)) {
            return;
        }
        assert!(Instant::now() < deadline, "Ctrl-C did not stop the input");
    }
}

#[test]
fn a_coroutine_prints_above_the_line_being_edited() {
    let mut t = Term::start();
    t.prompt();
    t.line("fun later() { sleep(1.5); print \"woke up\"; }");
    t.prompt();
    t.line("spawn later();");
    t.expect_line("<coroutine>");
    t.prompt();
    // The next input is half typed when the coroutine wakes up.
    t.send("var x");
    t.expect("> var x");
    t.expect("woke up");
    t.expect("> var x");
    // On the screen: the coroutine's line above the prompt, which still
    // shows the unfinished input, not mixed into it.
    let screen = screen_lines(&t.raw);
    let at = screen
        .iter()
        .rposition(|l| l == "woke up")
        .unwrap_or_else(|| panic!("no line of its own for the output: {screen:#?}"));
    assert_eq!(
        screen.get(at + 1).map(String::as_str),
        Some("> var x"),
        "{screen:#?}"
    );
    // The input goes on where it was.
    t.send(" = 41;\r");
    t.prompt();
    t.line("x + 1");
    t.expect_line("42");
    t.prompt();
    t.send("\x04");
    assert_eq!(t.wait_exit(), 0);
}

#[test]
fn coroutines_command_lists_what_each_waits_for() {
    let mut t = Term::start();
    t.prompt();
    t.line("var jobs = Channel();");
    t.prompt();
    t.line("fun worker() { print \"worker got \" + str(jobs.recv()); }");
    t.prompt();
    t.line("spawn worker();");
    t.prompt();
    t.line("fun napper() { sleep(60); }");
    t.prompt();
    t.line("var nap = spawn napper();");
    t.prompt();
    t.line("spawn nap.join();");
    t.prompt();
    t.line("var out = Channel(1); out.send(1); spawn out.send(2);");
    t.prompt();
    // Lines may be typed faster than the coroutines get to run between
    // inputs: an input that yields lets every runnable one run first.
    t.line("yield();");
    t.prompt();
    t.line(":coroutines");
    t.expect(
        "\ncoroutine 1: blocked receiving on channel jobs (unbuffered) (in worker(), line 1)\n",
    );
    t.expect("coroutine 2: sleeping, wakes in ");
    t.expect(" s (in napper(), line 1)\n");
    t.expect("coroutine 3: blocked joining coroutine 2 (spawned in script, line 1)\n");
    t.expect(
        "coroutine 4: blocked sending on channel out (1 of 1 buffered) (spawned in script, line 1)\n",
    );
    t.prompt();
    // A send wakes the worker, which prints and ends.
    t.line("jobs.send(7);");
    t.expect("worker got 7\n");
    t.prompt();
    t.line(":coroutines");
    t.expect(":coroutines\ncoroutine 2: sleeping");
    t.prompt();
    t.send("\x04");
    assert_eq!(t.wait_exit(), 0);
}

#[test]
fn ctrl_c_stops_the_input_and_keeps_the_parked_coroutines() {
    let mut t = Term::start_with_ctty();
    t.prompt();
    t.line("var jobs = Channel(); var reply = Channel();");
    t.prompt();
    t.line("fun worker() { while (true) print \"job \" + str(jobs.recv()); }");
    t.prompt();
    t.line("spawn worker();");
    t.prompt();
    // A sleeper: an input waiting on a channel is then not a deadlock.
    t.line("fun napper() { sleep(60); } spawn napper(); yield();");
    t.prompt();

    // Ctrl-C while the input waits in a receive.
    t.line("reply.recv();");
    t.expect("reply.recv();\n");
    interrupt_evaluation(&mut t);
    t.prompt();
    t.line(":coroutines");
    t.expect(
        "\ncoroutine 1: blocked receiving on channel jobs (unbuffered) (in worker(), line 1)\n",
    );
    t.expect("coroutine 2: sleeping");
    t.prompt();
    // The stopped input left reply's queue: this sender waits for a real
    // receiver instead of handing its value to the stopped input.
    t.line("spawn reply.send(\"late\"); yield();");
    t.prompt();
    t.line(":coroutines");
    t.expect("\ncoroutine 3: blocked sending on channel reply (unbuffered)");
    t.prompt();

    // Ctrl-C while the input runs.
    t.line("while (true) {}");
    t.expect("while (true) {}\n");
    interrupt_evaluation(&mut t);
    t.prompt();
    t.line("jobs.send(1);");
    t.expect("job 1\n");
    t.prompt();
    t.line("reply.recv()");
    t.expect_line("late");
    t.prompt();
    t.send("\x04");
    assert_eq!(t.wait_exit(), 0);
}

#[test]
fn errors_of_coroutines_and_deadlocks_leave_the_session_going() {
    let mut t = Term::start();
    t.prompt();
    t.line("var never = Channel(); spawn never.recv();");
    t.prompt();
    // A coroutine's runtime error shows above the prompt; only it ends.
    t.line("fun fail() { sleep(0.2); print nil + 1; } spawn fail();");
    t.expect("error[coroutine 2]: Operands must be two numbers or two strings.\n");
    t.expect("[line 1] in fail()");
    t.line("1 + 2");
    t.expect_line("3");
    t.prompt();
    // The input blocked with everyone else: its deadlock is its error.
    t.line("never.send(1); never.send(2);");
    t.expect("error: Deadlock: all coroutines are blocked.\n");
    t.prompt();
    t.line(":coroutines");
    t.expect(":coroutines\nno coroutines\n");
    t.prompt();
    t.send("\x04");
    assert_eq!(t.wait_exit(), 0);
}

/// `:quit` and Ctrl-D end the session at once, whatever coroutines still
/// wait, sleep, or run in the background; the prompt answers while one
/// spins.
#[test]
fn quit_and_ctrl_d_end_a_session_with_live_coroutines() {
    for (quit, name) in [(":quit\r", ":quit"), ("\x04", "Ctrl-D")] {
        let mut t = Term::start();
        t.prompt();
        t.line("var ch = Channel(); spawn ch.recv();");
        t.prompt();
        t.line("fun napper() { sleep(60); } spawn napper();");
        t.prompt();
        t.line("var n = 0; fun spin() { while (true) n = n + 1; } spawn spin();");
        t.prompt();
        t.line("yield(); print n > 0;");
        t.expect_line("true");
        t.prompt();
        t.send(quit);
        let start = Instant::now();
        assert_eq!(t.wait_exit(), 0, "{name}");
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{name} took {:?}",
            start.elapsed()
        );
    }
}

/// A coroutine that prints without pause fills rustyline's printer; ending
/// a line then must not wait for the printer, which only the next prompt
/// empties (`src/screen.rs`).
#[test]
fn a_chatty_coroutine_never_holds_up_the_prompt() {
    let mut t = Term::start();
    t.prompt();
    t.line("fun chat() { for (var i = 0; i < 1000000; i = i + 1) print \"chat \" + str(i); }");
    t.prompt();
    t.line("spawn chat();");
    t.expect("chat 1\n");
    for (a, b) in [(1, 2), (3, 4), (5, 6)] {
        std::thread::sleep(Duration::from_millis(100));
        t.line(&format!("print \"sum \" + str({a} + {b});"));
        t.expect(&format!("\nsum {}\n", a + b));
    }
    t.line(":quit");
    assert_eq!(t.wait_exit(), 0);
}

#[test]
fn a_finalizer_prints_above_the_prompt() {
    let mut t = Term::start();
    t.prompt();
    t.line("class Handle {}");
    t.prompt();
    // The collection queues the finalizer; it runs after the input, while
    // the next line is edited.
    t.line(
        "{ var h = Handle(); setFinalizer(h, fun (x) { print \"released \" + str(x); }); } gc();",
    );
    t.expect("released Handle instance\n");
    t.send("var after");
    t.expect("> var after");
    let screen = screen_lines(&t.raw);
    let at = screen
        .iter()
        .rposition(|l| l == "released Handle instance")
        .unwrap_or_else(|| panic!("no line of its own for the output: {screen:#?}"));
    assert_eq!(
        screen.get(at + 1).map(String::as_str),
        Some("> var after"),
        "{screen:#?}"
    );
    t.send(" = 1;\r");
    t.prompt();
    t.line("after + 1");
    t.expect_line("2");
    t.prompt();
    t.send("\x04");
    assert_eq!(t.wait_exit(), 0);
}
