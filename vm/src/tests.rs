//! Unit-test helpers shared by the VM's modules (no stdlib here: it
//! depends on `vm`), and tests of the VM as a whole.

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

use crate::{Vm, VmOptions};

/// A `Write` whose bytes the test can read after the VM has run.
#[derive(Clone, Default)]
pub(crate) struct Shared(Rc<RefCell<Vec<u8>>>);

impl Shared {
    pub(crate) fn take(&self) -> String {
        let bytes = std::mem::take(&mut *self.0.borrow_mut());
        String::from_utf8(bytes).expect("utf-8 output")
    }
}

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A VM printing into a buffer the test reads.
pub(crate) fn vm_with_output() -> (Vm, Shared) {
    let out = Shared::default();
    (Vm::new(VmOptions::default(), Box::new(out.clone())), out)
}

/// Runs `source` as a script; its stdout.
pub(crate) fn run(source: &str) -> String {
    let (mut vm, out) = vm_with_output();
    vm.interpret(source.as_bytes()).expect("program runs");
    out.take()
}

/// After a runtime error the REPL reuses the failed input's stack slots:
/// a closure that captured one of them (and escaped into a global) keeps
/// the value it saw, as if its frame had returned.
#[test]
fn a_failed_input_closes_its_upvalues() {
    let (mut vm, out) = vm_with_output();
    let failed =
        vm.interpret(b"var g; { var a = \"kept\"; fun f() { return a; } g = f; nil.boom; }");
    assert!(failed.is_err());
    vm.interpret(b"{ var b = \"next input's local\"; print g(); }")
        .expect("second input runs");
    assert_eq!(out.take(), "kept\n");
}

/// A native that allocates many times while it holds every earlier result
/// (strings, and lists of them) keeps them all: each handle is rooted in
/// the call's scope. Under `--gc-stress --gc-verify --gc-poison` every
/// allocation collects, so an unrooted string would be freed and poisoned
/// before the check at the end reads it.
fn hoard<'s>(ctx: &mut crate::NativeCtx<'s>) -> crate::NativeResult<'s> {
    let n = ctx.arg(0).as_number().unwrap_or(0.0) as usize;
    let mut strings = Vec::new();
    let mut lists = Vec::new();
    for i in 0..n {
        strings.push(ctx.string(format!("item {i}").as_bytes())?);
        let tail = &strings[strings.len().saturating_sub(3)..];
        lists.push(ctx.new_list(tail)?);
    }
    for (i, s) in strings.iter().enumerate() {
        if s.as_bytes() != Some(format!("item {i}").as_bytes()) {
            return Err(format!("hoard: string {i} was lost").into());
        }
    }
    for (i, &l) in lists.iter().enumerate() {
        if ctx.list_len(l)? != (i + 1).min(3) {
            return Err(format!("hoard: list {i} was lost").into());
        }
    }
    ctx.new_list(&lists)
}

/// Under both marks. With the world stopped, stress mode completes a
/// collection at every allocation; under the concurrent mark a cycle ends
/// at the first poll that finds the mark done, so there are fewer (but
/// still many: the native's allocations are polls, with the barrier and
/// allocate-black in play). How many depends on when the OS runs the mark
/// worker (3 in 2 of 100 runs of this binary on a busy 2-core machine), so
/// the count is asserted with the worker held, where the mutator's assists
/// mark every cycle; with the worker free the program must only come out
/// right after at least one cycle.
#[test]
fn a_native_holding_its_results_across_collections_keeps_them() {
    for (concurrent_mark, hold_worker, min_cycles) in
        [(false, false, 300), (true, true, 10), (true, false, 0)]
    {
        let (mut vm, out) = test_vm(gc::GcConfig {
            stress: true,
            verify: true,
            poison: true,
            concurrent_mark,
            ..Default::default()
        });
        vm.mu.heap.hold_mark_worker(hold_worker);
        vm.define_native("hoard", 1, hoard);
        vm.interpret(b"var xs = hoard(300); print xs[0]; print xs[299];")
            .expect("hoard runs");
        assert_eq!(
            out.take(),
            "[\"item 0\"]\n[\"item 297\", \"item 298\", \"item 299\"]\n"
        );
        let cycles = vm.gc_stats().num_gc;
        assert!(
            cycles > min_cycles,
            "stress mode (concurrent mark {concurrent_mark}, worker held {hold_worker}) collected only {cycles} times"
        );
    }
}

/// A VM under `gc` whose output the test reads back.
fn test_vm(gc: gc::GcConfig) -> (Vm, Shared) {
    let out = Shared::default();
    let vm = Vm::new(
        VmOptions {
            gc,
            ..VmOptions::default()
        },
        Box::new(out.clone()),
    );
    (vm, out)
}

// ------------------------------------------------------------- seed 003

/// The scenario a child test process runs (`SEED_003_SCENARIO`), if it is
/// one: the parent re-executes this test binary on one test, and asserts
/// on how it died (an invariant throw aborts the process).
const SCENARIO: &str = "SEED_003_SCENARIO";

/// Coroutines parked with live stacks while collections run (stress mode
/// collects at every allocation), and for the whole of one (`gc()` while
/// both are parked: only the marker can scan them then, whatever the
/// timing of the mark worker). The natives are the test's own: the VM
/// crate cannot use stdlib.
const SEED_003_PROGRAM: &[u8] = b"fun f(n) { var xs = [n]; yield(); return xs; } \
    var a = spawn f(1); var b = spawn f(2); yield(); gc(); \
    print a.join()[0] + b.join()[0];";

fn test_yield<'s>(ctx: &mut crate::NativeCtx<'s>) -> crate::NativeResult<'s> {
    ctx.yield_now();
    Ok(crate::Handle::nil())
}

fn test_join<'s>(ctx: &mut crate::NativeCtx<'s>) -> crate::NativeResult<'s> {
    ctx.coroutine_join(ctx.receiver())
}

/// Runs the program under `--gc-stress --gc-verify` with `bug`, marking
/// concurrently or (`--no-concurrent-mark`) with the world stopped.
fn run_seed_003(bug: crate::VmSeed, concurrent: bool) -> String {
    let (mut vm, out) = test_vm(gc::GcConfig {
        stress: true,
        verify: true,
        concurrent_mark: concurrent,
        ..Default::default()
    });
    vm.define_native("yield", 0, test_yield);
    vm.define_native("gc", 0, test_gc);
    vm.define_method(crate::MethodReceiver::Coroutine, "join", 0, test_join);
    vm.set_seed_bug(bug);
    vm.interpret(SEED_003_PROGRAM).expect("program runs");
    out.take()
}

/// In a child process, runs this test's scenario `run`; in the parent,
/// runs the child and returns (exited successfully, stderr).
fn child(test: &str, scenario: &str, run: impl FnOnce() -> String) -> Option<(bool, String)> {
    match std::env::var(SCENARIO) {
        Ok(s) if s == scenario => {
            print!("{}", run());
            return None;
        }
        // A child for another scenario of the same test.
        Ok(_) => return None,
        Err(_) => {}
    }
    let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            &format!("tests::{test}"),
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(SCENARIO, scenario)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("spawn the child test");
    Some((
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// In a child process (for `scenario` of `test`), runs `run`, which must
/// die with a `fatal` line (`fatal error: <gc|vm>: <INVARIANT>:`) that
/// names `what`.
fn assert_child_dies(
    test: &str,
    scenario: &str,
    run: impl FnOnce() -> String,
    fatal: &str,
    what: &str,
) {
    let Some((ok, stderr)) = child(test, scenario, run) else {
        // This process is a child, for this scenario or another one.
        return;
    };
    assert!(!ok, "{scenario} went unnoticed: {stderr}");
    assert!(
        stderr.contains(fatal) && stderr.contains(what),
        "{scenario}: {stderr}"
    );
}

/// Runs seed `bug` in a child under both marks (or the concurrent one
/// only) and asserts each died of `invariant` with `what` in the message.
fn assert_seed_caught(test: &str, bug: crate::VmSeed, modes: &[bool], invariant: &str, what: &str) {
    for &concurrent in modes {
        assert_child_dies(
            test,
            &format!("{test}/{concurrent}"),
            || run_seed_003(bug, concurrent),
            &format!("fatal error: gc: {invariant}:"),
            what,
        );
    }
}

#[test]
fn seed_003_clean_run_scans_every_stack_once() {
    assert_eq!(run_seed_003(crate::VmSeed::None, true), "3\n");
    assert_eq!(run_seed_003(crate::VmSeed::None, false), "3\n");
}

#[test]
fn seed_003_missed_scan_is_caught() {
    assert_seed_caught(
        "seed_003_missed_scan_is_caught",
        crate::VmSeed::SkipScan,
        &[true, false],
        "SCAN_ONCE",
        "not scanned in this cycle",
    );
}

#[test]
fn seed_003_double_scan_is_caught() {
    assert_seed_caught(
        "seed_003_double_scan_is_caught",
        crate::VmSeed::DoubleScan,
        &[true, false],
        "SCAN_ONCE",
        "scanned twice",
    );
}

/// The phase check that lets a stack be skipped: the running coroutine
/// does not scan itself, and the worker may not scan a running stack.
#[test]
fn seed_003_skipped_self_scan_is_caught() {
    assert_seed_caught(
        "seed_003_skipped_self_scan_is_caught",
        crate::VmSeed::PhaseSkip,
        &[true],
        "SCAN_ONCE",
        "runs but was not scanned in this cycle",
    );
}

// ------------------------------------------------- the write barrier

/// Defines `a.xs = [item]`; then, inside a concurrent mark held still
/// (the worker held: only the program's own steps mark), moves the item
/// from the list to a local and overwrites the list slot: only the
/// deletion barrier's shade of the overwritten value keeps the item,
/// which `gc()` (finishing the mark, with the checkmark re-mark) then
/// proves.
fn test_gc<'s>(ctx: &mut crate::NativeCtx<'s>) -> crate::NativeResult<'s> {
    ctx.collect_garbage()?;
    Ok(crate::Handle::nil())
}

fn run_barrier_scenario(bug: crate::VmSeed) -> String {
    let (mut vm, out) = test_vm(gc::GcConfig {
        verify: true,
        poison: true,
        ..Default::default()
    });
    vm.define_native("gc", 0, test_gc);
    vm.set_seed_bug(bug);
    vm.interpret(b"class Box {} var a = Box(); a.xs = [Box()]; a.xs[0].name = \"kept\";")
        .expect("setup runs");
    vm.start_cycle_for_test(true);
    vm.interpret(b"{ var k = a.xs[0]; a.xs[0] = nil; gc(); print k.name; }")
        .expect("program runs");
    out.take()
}

#[test]
fn barrier_keeps_a_value_moved_to_the_stack() {
    assert_eq!(run_barrier_scenario(crate::VmSeed::None), "kept\n");
}

#[test]
fn missing_barrier_is_caught_by_checkmark() {
    let test = "missing_barrier_is_caught_by_checkmark";
    assert_child_dies(
        test,
        test,
        || run_barrier_scenario(crate::VmSeed::NoItemBarrier),
        "fatal error: gc: CHECKMARK:",
        "instance of \"Box\"",
    );
}

/// INTERN_SETTLED fires: a string settled during the mark (here by a mark
/// query that lied) but found unmarked at mark termination stops the
/// process in verify mode, naming the string, instead of leaving a string
/// the sweep will free in the intern set.
#[test]
fn a_settled_string_found_unmarked_is_caught() {
    let test = "a_settled_string_found_unmarked_is_caught";
    let run = || {
        let (mut vm, _) = vm_with_output();
        let s = vm.mu.intern(b"settled too soon").expect("interned");
        let mut set = crate::intern::InternSet::new();
        set.insert(s);
        set.begin_mark();
        set.settle(usize::MAX, |_| Some(true));
        set.sweep_weak_with(|_| false, true);
        "the sweep returned".to_string()
    };
    assert_child_dies(
        test,
        test,
        run,
        "fatal error: vm: INTERN_SETTLED:",
        "settled too soon",
    );
}
