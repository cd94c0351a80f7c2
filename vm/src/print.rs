//! How `print` shows a value: clox's `printValue`.

use crate::object::{
    BoundMethodObj, ClassObj, ClosureObj, FunctionObj, Gc, InstanceObj, ObjKind, StringObj,
};
use crate::value::Value;
use crate::vm::Vm;

fn function_name(out: &mut Vec<u8>, f: Gc<FunctionObj>) {
    match f.name {
        Some(n) => {
            out.extend_from_slice(b"<fn ");
            out.extend_from_slice(n.as_bytes());
            out.push(b'>');
        }
        None => out.extend_from_slice(b"<script>"),
    }
}

/// Appends the text `print` shows for `v`.
pub fn format_value(out: &mut Vec<u8>, v: Value) {
    if v.is_number() {
        lang::write_number(out, v.as_number());
        return;
    }
    if v.is_nil() {
        out.extend_from_slice(b"nil");
        return;
    }
    if v.is_bool() {
        out.extend_from_slice(if v == Value::TRUE { b"true" } else { b"false" });
        return;
    }
    let Some(o) = v.as_obj() else {
        return;
    };
    match o.kind() {
        ObjKind::String => out.extend_from_slice(Gc::<StringObj>::from_ref_unchecked(o).as_bytes()),
        ObjKind::Function => function_name(out, Gc::from_ref_unchecked(o)),
        ObjKind::Closure => function_name(out, Gc::<ClosureObj>::from_ref_unchecked(o).function),
        ObjKind::BoundMethod => function_name(
            out,
            Gc::<BoundMethodObj>::from_ref_unchecked(o).method.function,
        ),
        ObjKind::Class => {
            out.extend_from_slice(Gc::<ClassObj>::from_ref_unchecked(o).name.as_bytes())
        }
        ObjKind::Instance => {
            let i: Gc<InstanceObj> = Gc::from_ref_unchecked(o);
            out.extend_from_slice(i.class.name.as_bytes());
            out.extend_from_slice(b" instance");
        }
        ObjKind::Native => out.extend_from_slice(b"<native fn>"),
        ObjKind::Upvalue => out.extend_from_slice(b"upvalue"),
        ObjKind::Bytes | ObjKind::ValueArray | ObjKind::Entries => {
            out.extend_from_slice(b"<internal>")
        }
    }
}

impl Vm {
    pub(crate) fn print_value(&mut self, v: Value) {
        let mut buf = Vec::with_capacity(32);
        format_value(&mut buf, v);
        buf.push(b'\n');
        // A closed stdout (e.g. `| head`) is not a Lox error; clox ignores
        // printf's result too.
        let _ = self.out.write_all(&buf);
    }
}

use std::io::Write as _;
