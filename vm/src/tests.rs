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

#[test]
fn a_native_holding_its_results_across_collections_keeps_them() {
    let out = Shared::default();
    let mut gc = gc::GcConfig::default();
    gc.stress = true;
    gc.verify = true;
    gc.poison = true;
    let mut vm = Vm::new(
        VmOptions {
            gc,
            ..VmOptions::default()
        },
        Box::new(out.clone()),
    );
    vm.define_native("hoard", 1, hoard);
    vm.interpret(b"var xs = hoard(300); print xs[0]; print xs[299];")
        .expect("hoard runs");
    assert_eq!(
        out.take(),
        "[\"item 0\"]\n[\"item 297\", \"item 298\", \"item 299\"]\n"
    );
    assert!(
        vm.gc_stats().num_gc > 300,
        "stress mode collected at every allocation"
    );
}
