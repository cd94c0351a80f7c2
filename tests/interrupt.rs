//! Ctrl-C on a script (issue #9): SIGINT stops `loam FILE` at the VM's next
//! safepoint; it flushes what the program printed and exits 130. (The REPL
//! side is in `tests/repl.rs`.)

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long loam may take to exit after SIGINT.
const EXIT_WITHIN: Duration = Duration::from_secs(5);

/// Runs `program` as a script, sends SIGINT once it has had time to start
/// (and install its handler), and returns (exit code, stdout, seconds from
/// the signal to the exit).
fn interrupt(name: &str, program: &str) -> (Option<i32>, String, f64) {
    let dir = std::env::temp_dir().join(format!("loam-interrupt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("{name}.lox"));
    std::fs::write(&path, program).expect("write script");
    let mut child = Command::new(common::loam_bin())
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("LOAMDEBUG")
        .spawn()
        .expect("spawn loam");
    // Long enough to be in the loop: a signal before the handler is
    // installed would kill loam (no exit code), which the test reports.
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        child.try_wait().expect("wait").is_none(),
        "loam exited before the signal"
    );
    let sent = Instant::now();
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(kill.success(), "kill -INT failed");
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if sent.elapsed() > EXIT_WITHIN {
            let _ = child.kill();
            let _ = child.wait();
            panic!("loam did not exit within {EXIT_WITHIN:?} of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let took = sent.elapsed().as_secs_f64();
    let mut out = String::new();
    let _ = child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out);
    let mut err = String::new();
    let _ = child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err);
    assert!(err.is_empty(), "nothing on stderr: {err}");
    let _ = std::fs::remove_file(&path);
    (status.code(), out, took)
}

#[test]
fn sigint_stops_an_infinite_loop_with_exit_130() {
    let (code, out, took) = interrupt(
        "loop",
        "print \"started\"; var i = 0; while (true) { i = i + 1; }",
    );
    assert_eq!(code, Some(130), "stdout: {out}");
    // Output buffered before the signal is flushed, not lost.
    assert_eq!(out, "started\n");
    assert!(took < 2.0, "took {took:.2} s");
}

#[test]
fn sigint_stops_a_sleeping_program() {
    // Every coroutine asleep: the VM thread waits in the scheduler, which
    // must still notice the signal (a blocking point).
    let (code, out, took) = interrupt(
        "sleep",
        "fun nap() { sleep(1000); } var c = spawn nap(); print \"zz\"; sleep(1000); c.join();",
    );
    assert_eq!(code, Some(130), "stdout: {out}");
    assert_eq!(out, "zz\n");
    assert!(took < 2.0, "took {took:.2} s");
}
