//! A VM session (the REPL's, `Vm::start_session`) with the real library:
//! coroutines outlive the input that spawned them, run between inputs
//! (`Vm::run_background`), fail alone, and an input stopped while it waits
//! leaves the queue it waited in. The terminal side is `tests/repl.rs`.

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use vm::{
    CoroutineInfo, CoroutineState, Failed, Idle, InterpretError, RuntimeError, Vm, VmOptions,
};

/// A `Write` the test reads back.
#[derive(Clone, Default)]
struct Output(Rc<RefCell<Vec<u8>>>);

impl Output {
    fn take(&self) -> String {
        String::from_utf8(std::mem::take(&mut *self.0.borrow_mut())).expect("utf-8 output")
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

type Failures = Rc<RefCell<Vec<(Failed, RuntimeError)>>>;

/// A session VM with the library, its output, and the background errors
/// it reported.
fn session() -> (Vm, Output, Failures) {
    session_with(VmOptions::default())
}

fn session_with(options: VmOptions) -> (Vm, Output, Failures) {
    let out = Output::default();
    let mut vm = Vm::new(options, Box::new(out.clone()));
    stdlib::install(&mut vm);
    let failures: Failures = Rc::default();
    let seen = failures.clone();
    vm.start_session(Box::new(move |what, e| {
        seen.borrow_mut().push((what, e.clone()))
    }));
    (vm, out, failures)
}

fn run(vm: &mut Vm, source: &str) {
    if let Err(e) = vm.interpret(source.as_bytes()) {
        panic!("{source}: {e:?}");
    }
}

/// Runs the background until nothing more can run before `limit`.
fn settle(vm: &mut Vm, limit: Duration) -> Idle {
    let end = Instant::now() + limit;
    loop {
        match vm.run_background() {
            Idle::Until(t) if t < end => {
                std::thread::sleep(t.saturating_duration_since(Instant::now()))
            }
            Idle::Asked => {}
            idle => return idle,
        }
    }
}

fn states(vm: &mut Vm) -> Vec<(Option<u64>, CoroutineState)> {
    vm.coroutines()
        .into_iter()
        .map(|c: CoroutineInfo| (c.id, c.state))
        .collect()
}

#[test]
fn coroutines_outlive_their_input_and_run_between_inputs() {
    let (mut vm, out, failures) = session();
    run(
        &mut vm,
        "var ch = Channel(); fun worker() { print \"got \" + str(ch.recv()); print \"done\"; }",
    );
    run(&mut vm, "spawn worker(); print \"input ends\";");
    // The input ended before the worker ran; it is still there.
    assert_eq!(out.take(), "input ends\n");
    assert_eq!(states(&mut vm), [(Some(1), CoroutineState::Runnable)]);
    // Between inputs it runs until it blocks on the channel.
    assert_eq!(vm.run_background(), Idle::Blocked);
    let listed = vm.coroutines();
    assert_eq!(listed.len(), 1);
    match &listed[0].state {
        CoroutineState::Receiving(ch) => {
            assert_eq!(ch.globals, ["ch"]);
            assert_eq!(ch.capacity, 0);
        }
        other => panic!("worker should wait in recv, is {other:?}"),
    }
    let at = listed[0].at.clone().expect("a frame");
    assert_eq!(
        (at.function.as_deref(), at.line, listed[0].has_frame),
        (Some("worker"), 1, true)
    );
    // The next input wakes it; it runs, after that input, in the background.
    run(&mut vm, "ch.send(42);");
    assert_eq!(vm.run_background(), Idle::Blocked);
    assert_eq!(out.take(), "got 42\ndone\n");
    assert!(vm.coroutines().is_empty());
    assert!(failures.borrow().is_empty());
}

#[test]
fn a_sleeper_says_when_to_call_again() {
    let (mut vm, out, _) = session();
    let before = Instant::now();
    run(
        &mut vm,
        "fun nap() { sleep(0.2); print \"awake\"; } spawn nap();",
    );
    match vm.run_background() {
        Idle::Until(t) => assert!(
            t >= before + Duration::from_millis(150)
                && t <= Instant::now() + Duration::from_millis(250),
            "wake time off: {:?} after the input",
            t - before
        ),
        other => panic!("a sleeper should give its wake time, got {other:?}"),
    }
    match &states(&mut vm)[..] {
        [(Some(1), CoroutineState::Sleeping { wakes_in })] => {
            assert!(*wakes_in <= Duration::from_millis(200))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(out.take(), "");
    assert_eq!(settle(&mut vm, Duration::from_secs(5)), Idle::Blocked);
    assert_eq!(out.take(), "awake\n");
}

#[test]
fn a_background_error_ends_only_its_coroutine() {
    let (mut vm, out, failures) = session();
    run(
        &mut vm,
        "fun bad() { return nil + 1; } var co = spawn bad(); var ok = spawn co.join();",
    );
    assert_eq!(vm.run_background(), Idle::Blocked);
    {
        let failures = failures.borrow();
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert_eq!(failures[0].0, Failed::Coroutine(1));
        assert_eq!(
            failures[0].1.message,
            "Operands must be two numbers or two strings."
        );
        assert_eq!(failures[0].1.trace[0].function.as_deref(), Some("bad"));
    }
    // Whoever joined it got nil; the session goes on.
    run(&mut vm, "print co.done(); print ok.join();");
    assert_eq!(out.take(), "true\nnil\n");
    // During an input too: the input goes on.
    run(
        &mut vm,
        "fun bad2() { nil.x; } spawn bad2(); yield(); print \"input goes on\";",
    );
    assert_eq!(out.take(), "input goes on\n");
    assert_eq!(failures.borrow().len(), 2);
    assert_eq!(
        failures.borrow()[1].1.message,
        "Only instances have properties."
    );
}

#[test]
fn an_input_deadlock_is_its_error_and_others_stay_parked() {
    let (mut vm, _out, failures) = session();
    run(
        &mut vm,
        "var a = Channel(); var b = Channel(); spawn a.recv();",
    );
    assert_eq!(vm.run_background(), Idle::Blocked);
    match vm.interpret(b"b.recv();") {
        Err(InterpretError::Runtime(e)) => {
            assert_eq!(e.message, "Deadlock: all coroutines are blocked.");
            assert_eq!(e.trace.len(), 1);
            assert_eq!(e.trace[0].function, None);
        }
        other => panic!("expected the deadlock, got {other:?}"),
    }
    assert!(failures.borrow().is_empty());
    // The parked coroutine is untouched, and the failed input left b's
    // queue: a send on b now blocks instead of reaching a dead receiver.
    run(&mut vm, "spawn b.send(1);");
    assert_eq!(vm.run_background(), Idle::Blocked);
    let mut listed = states(&mut vm);
    listed.sort_by_key(|(id, _)| *id);
    match &listed[..] {
        [(Some(1), CoroutineState::Receiving(a)), (Some(2), CoroutineState::Sending(b))] => {
            assert_eq!(a.globals, ["a"]);
            assert_eq!(b.globals, ["b"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_interrupt_stops_a_waiting_input_and_nothing_else() {
    let (mut vm, out, failures) = session();
    // A sleeper, so that the input's recv waits instead of deadlocking.
    run(
        &mut vm,
        "fun nap() { sleep(60); } spawn nap(); var ch = Channel(); var kept = 1;",
    );
    let flag = vm.interrupt_flag();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        flag.store(true, Ordering::Relaxed);
    });
    let r = vm.interpret(b"{ var local = 2; fun f() { return local; } kept = f; } ch.recv();");
    let _ = stopper.join();
    assert!(matches!(r, Err(InterpretError::Interrupted)), "{r:?}");
    // The sleeper sleeps on; the input is no longer in ch's queue.
    run(&mut vm, "spawn ch.send(\"for nobody\");");
    assert!(matches!(vm.run_background(), Idle::Until(_)));
    let listed = states(&mut vm);
    assert!(
        matches!(listed[0], (Some(1), CoroutineState::Sleeping { .. })),
        "{listed:?}"
    );
    assert!(
        matches!(listed[1], (Some(2), CoroutineState::Sending(_))),
        "{listed:?}"
    );
    // The next input can take the value; a closure the stopped input
    // made kept its captured value.
    run(&mut vm, "print ch.recv(); print kept();");
    assert_eq!(out.take(), "for nobody\n2\n");
    assert!(failures.borrow().is_empty());
}

/// Ctrl-C while the input waits and another coroutine runs: the
/// interrupt is seen at that coroutine's budget check; it is preempted, not
/// stopped, and only the input ends.
#[test]
fn an_interrupt_seen_by_a_running_coroutine_stops_only_the_input() {
    let (mut vm, out, failures) = session();
    run(
        &mut vm,
        "var n = 0; fun spin() { while (true) n = n + 1; } spawn spin(); var ch = Channel();",
    );
    let flag = vm.interrupt_flag();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        flag.store(true, Ordering::Relaxed);
    });
    let r = vm.interpret(b"ch.recv();");
    let _ = stopper.join();
    assert!(matches!(r, Err(InterpretError::Interrupted)), "{r:?}");
    assert_eq!(states(&mut vm), [(Some(1), CoroutineState::Runnable)]);
    run(
        &mut vm,
        "var seen = n; yield(); print seen > 0 and n > seen;",
    );
    assert_eq!(out.take(), "true\n");
    assert!(failures.borrow().is_empty());
}

#[test]
fn the_attention_flag_takes_control_back_from_a_busy_coroutine() {
    let (mut vm, out, _) = session();
    run(
        &mut vm,
        "var n = 0; fun spin() { while (true) { n = n + 1; } } spawn spin();",
    );
    let attention = vm.attention_flag();
    let raiser = {
        let attention = attention.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            attention.store(true, Ordering::Release);
        })
    };
    assert_eq!(vm.run_background(), Idle::Asked);
    let _ = raiser.join();
    attention.store(false, Ordering::Release);
    // The spinner was preempted, not stopped: it ran, and it still runs
    // alongside the next input.
    run(
        &mut vm,
        "var seen = n; yield(); print n > seen and seen > 0;",
    );
    assert_eq!(out.take(), "true\n");
    assert_eq!(states(&mut vm), [(Some(1), CoroutineState::Runnable)]);
}

#[test]
fn finalizer_errors_go_to_the_session() {
    let (mut vm, _out, failures) = session();
    run(
        &mut vm,
        "class R {} fun boom(r) { r.missing(); } { var r = R(); setFinalizer(r, boom); } gc();",
    );
    // The finalizer runs once a collection queued it: between inputs,
    // the scheduler looks at the queue.
    let end = Instant::now() + Duration::from_secs(5);
    while failures.borrow().is_empty() && Instant::now() < end {
        run(&mut vm, "gc();");
        let _ = vm.run_background();
    }
    let failures = failures.borrow();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0].0, Failed::Finalizer);
    assert_eq!(failures[0].1.message, "Undefined property 'missing'.");
}

/// Blocked coroutines record the channel or coroutine they wait on
/// (`blocked_target`): with a collection at every allocation, verified and
/// poisoned, nothing they wait on is freed while they wait, and a stopped
/// input leaves its queue cleanly.
#[test]
fn parked_coroutines_survive_collections() {
    let options = VmOptions {
        gc: gc::GcConfig {
            stress: true,
            verify: true,
            poison: true,
            ..gc::GcConfig::default()
        },
        ..VmOptions::default()
    };
    let (mut vm, out, failures) = session_with(options);
    // Once blocked, nothing but the waiting coroutine refers to these
    // channels (the receiver's call has left its stack) and to the
    // joined coroutine.
    run(
        &mut vm,
        "fun lost() { print \"waiting\"; Channel(2).recv(); } spawn lost();",
    );
    run(
        &mut vm,
        "{ var c = Channel(); var sender = spawn c.send([1, 2, 3]); spawn sender.join(); }",
    );
    assert_eq!(vm.run_background(), Idle::Blocked);
    for _ in 0..3 {
        run(
            &mut vm,
            "var garbage = []; for (var i = 0; i < 50; i = i + 1) garbage.push(str(i));",
        );
        assert_eq!(vm.run_background(), Idle::Blocked);
    }
    let listed = states(&mut vm);
    assert_eq!(listed.len(), 3, "{listed:?}");
    assert!(
        matches!(&listed[0].1, CoroutineState::Receiving(ch) if ch.capacity == 2),
        "{listed:?}"
    );
    assert!(matches!(&listed[1].1, CoroutineState::Sending(_)));
    assert_eq!(listed[2].1, CoroutineState::Joining(2));
    // A deadlocked input leaves its queue under stress too.
    run(&mut vm, "var d = Channel();");
    assert!(vm.interpret(b"d.recv();").is_err());
    run(&mut vm, "spawn d.send(\"kept\"); print \"next\";");
    assert_eq!(vm.run_background(), Idle::Blocked);
    run(&mut vm, "print d.recv();");
    assert_eq!(out.take(), "waiting\nnext\nkept\n");
    assert!(failures.borrow().is_empty());
}
