//! How `print` and `str()` show a value: clox's `printValue`, extended to
//! lists and maps (strings quoted inside containers; a container met again
//! while it is being printed shows as `[...]` / `{...}`).

use crate::object::{
    BoundMethodObj, ClassObj, ClosureObj, FunctionObj, Gc, InstanceObj, ListObj, MapObj, ObjKind,
    ObjRef, StringObj,
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
    let mut path = Vec::new();
    write_value(out, v, false, &mut path);
}

/// `path` holds the containers being printed around this value; `quoted`
/// is true inside a container.
fn write_value(out: &mut Vec<u8>, v: Value, quoted: bool, path: &mut Vec<ObjRef>) {
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
        ObjKind::String => {
            let bytes = Gc::<StringObj>::from_ref_unchecked(o).as_bytes();
            if quoted {
                out.push(b'"');
                out.extend_from_slice(bytes);
                out.push(b'"');
            } else {
                out.extend_from_slice(bytes);
            }
        }
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
        ObjKind::Native | ObjKind::BoundNative => out.extend_from_slice(b"<native fn>"),
        ObjKind::Upvalue => out.extend_from_slice(b"upvalue"),
        ObjKind::List => {
            if path.contains(&o) {
                out.extend_from_slice(b"[...]");
                return;
            }
            path.push(o);
            let list: Gc<ListObj> = Gc::from_ref_unchecked(o);
            out.push(b'[');
            for i in 0..list.count() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                write_value(out, list.get(i).unwrap_or(Value::NIL), true, path);
            }
            out.push(b']');
            path.pop();
        }
        ObjKind::Map => {
            if path.contains(&o) {
                out.extend_from_slice(b"{...}");
                return;
            }
            path.push(o);
            out.push(b'{');
            for (i, (k, v)) in Vm::map_pairs(Gc::<MapObj>::from_ref_unchecked(o))
                .into_iter()
                .enumerate()
            {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                write_value(out, k, true, path);
                out.extend_from_slice(b": ");
                write_value(out, v, true, path);
            }
            out.push(b'}');
            path.pop();
        }
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
