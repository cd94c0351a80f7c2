//! The embedder side of the collector: roots, edges and weak references.

use super::{blacken, Gc, ObjRef, StringObj, TableLoc, UpvalueObj};
use crate::frame::CallFrame;
use crate::intern::InternSet;
use crate::value::Value;
use gc::{Embedder, MarkView, Marker, ObjPtr};

/// Borrowed views of everything the VM holds outside the heap.
pub struct Roots<'a> {
    pub stack: &'a [Value],
    pub frames: &'a [CallFrame],
    pub open_upvalues: &'a [Gc<UpvalueObj>],
    pub globals: TableLoc,
    pub method_tables: [TableLoc; 2],
    pub temp_roots: &'a [Value],
    pub pinned: &'a [Gc<StringObj>],
    pub strings: &'a mut InternSet,
    pub verify: bool,
}

fn mark_value(m: &mut Marker<'_>, v: Value) {
    if let Some(o) = v.as_obj() {
        m.mark(o.ptr());
    }
}

// SAFETY: (1) every pointer passed to `mark` comes from a `Value` or handle
// the VM holds under ROOTED, i.e. from `Heap::alloc` of this heap and not
// yet freed (it was reachable at the previous mark, or allocated since);
// `blacken` follows only fields written by `init_*` (INIT). (2) `trace`
// reads only the object it is given.
unsafe impl Embedder for Roots<'_> {
    fn mark_roots(&mut self, m: &mut Marker<'_>) {
        for &v in self.stack {
            mark_value(m, v);
        }
        for f in self.frames {
            m.mark(f.closure.as_ref().ptr());
        }
        for u in self.open_upvalues {
            m.mark(u.as_ref().ptr());
        }
        self.globals.mark_entries(m);
        for t in &self.method_tables {
            t.mark_entries(m);
        }
        for &v in self.temp_roots {
            mark_value(m, v);
        }
        for s in self.pinned {
            m.mark(s.as_ref().ptr());
        }
    }

    fn trace(&mut self, obj: ObjPtr, m: &mut Marker<'_>) {
        let r = ObjRef::from_ptr(obj);
        if self.verify && r.kind_checked().is_none() {
            eprintln!(
                "loam: gc verify: object {:p} has no valid kind byte (BAD_OBJECT_HEADER)",
                obj
            );
            std::process::abort();
        }
        blacken(r, m);
    }

    fn sweep_weak(&mut self, marks: &MarkView<'_>) {
        self.strings.sweep_weak(marks);
    }
}
