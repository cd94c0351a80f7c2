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
