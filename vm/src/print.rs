//! How `print` and `str()` show a value: clox's `printValue`, extended to
//! lists and maps (strings quoted inside containers; a container met again
//! while it is being printed shows as `[...]` / `{...}`).
//!
//! **Iterative, no depth limit.** Containers may nest arbitrarily deep (a
//! loop can build a list 10^6 levels deep), so the printer never recurses:
//! each container being printed is a [`Frame`] on an explicit work stack
//! (a cursor into a list, or a map's pairs), and the whole value is always
//! printed in full. Memory is O(depth), on the heap, not the Rust stack.
//!
//! **Cycle check.** A container is shown as `[...]` / `{...}` only if it
//! is on the *path* (the containers currently open around the value), so
//! `[a, a]` prints `a` twice. Up to [`PATH_SCAN_LIMIT`] open containers
//! the path is scanned linearly (cheap, no allocation); past that a
//! `HashSet` mirrors it, making the check O(1) per level instead of
//! O(depth), i.e. O(depth) rather than O(depth²) for a deep chain.

use std::collections::HashSet;

use crate::error::RuntimeError;
use crate::mutator::Mutator;
use crate::object::{FunctionObj, Gc, ListObj, ObjRef, View};
use crate::value::Value;
use std::io::Write;

/// Open containers up to which the path is searched linearly; deeper, a
/// hash set is used.
const PATH_SCAN_LIMIT: usize = 32;

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

/// The containers open around the value being printed.
#[derive(Default)]
struct Path {
    open: Vec<ObjRef>,
    /// Mirrors `open` once it has grown past [`PATH_SCAN_LIMIT`].
    set: Option<HashSet<ObjRef>>,
}

impl Path {
    fn contains(&self, o: ObjRef) -> bool {
        match &self.set {
            Some(set) => set.contains(&o),
            None => self.open.contains(&o),
        }
    }

    fn push(&mut self, o: ObjRef) {
        self.open.push(o);
        if let Some(set) = &mut self.set {
            set.insert(o);
        } else if self.open.len() > PATH_SCAN_LIMIT {
            self.set = Some(self.open.iter().copied().collect());
        }
    }

    fn pop(&mut self) {
        if let (Some(o), Some(set)) = (self.open.pop(), &mut self.set) {
            // `open` never holds an object twice (a container already on
            // the path is printed as `[...]`, not reopened).
            set.remove(&o);
        }
    }
}

/// A container being printed: what is left of it.
enum Frame {
    /// `next` is the index of the next element.
    List { list: Gc<ListObj>, next: usize },
    /// `next` counts halves: pair `next / 2`, its key when even, its value
    /// when odd.
    Map {
        pairs: Vec<(Value, Value)>,
        next: usize,
    },
}

/// Appends the text `print` shows for `v`.
pub fn format_value(out: &mut Vec<u8>, v: Value) {
    let mut path = Path::default();
    let mut frames: Vec<Frame> = Vec::new();
    write_value(out, v, false, &mut path, &mut frames);
    while let Some(frame) = frames.last_mut() {
        match frame {
            Frame::List { list, next } => match list.get(*next) {
                Some(item) => {
                    if *next > 0 {
                        out.extend_from_slice(b", ");
                    }
                    *next += 1;
                    write_value(out, item, true, &mut path, &mut frames);
                }
                None => {
                    out.push(b']');
                    frames.pop();
                    path.pop();
                }
            },
            Frame::Map { pairs, next } => match pairs.get(*next / 2) {
                Some(&(k, v)) => {
                    let item = if *next % 2 == 0 {
                        if *next > 0 {
                            out.extend_from_slice(b", ");
                        }
                        k
                    } else {
                        out.extend_from_slice(b": ");
                        v
                    };
                    *next += 1;
                    write_value(out, item, true, &mut path, &mut frames);
                }
                None => {
                    out.push(b'}');
                    frames.pop();
                    path.pop();
                }
            },
        }
    }
}

/// Writes `v`, or, for a container not on `path`, its opening bracket,
/// pushing a [`Frame`] for [`format_value`] to continue with. `quoted` is
/// true inside a container.
fn write_value(
    out: &mut Vec<u8>,
    v: Value,
    quoted: bool,
    path: &mut Path,
    frames: &mut Vec<Frame>,
) {
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
    match o.view() {
        View::String(s) => {
            let bytes = s.as_bytes();
            if quoted {
                out.push(b'"');
                out.extend_from_slice(bytes);
                out.push(b'"');
            } else {
                out.extend_from_slice(bytes);
            }
        }
        View::Function(f) => function_name(out, f),
        View::Closure(c) => function_name(out, c.function),
        View::BoundMethod(b) => function_name(out, b.method.function),
        View::Class(c) => out.extend_from_slice(c.name.as_bytes()),
        View::Instance(i) => {
            out.extend_from_slice(i.class.name.as_bytes());
            out.extend_from_slice(b" instance");
        }
        View::Native(_) | View::BoundNative(_) => out.extend_from_slice(b"<native fn>"),
        View::Upvalue(_) => out.extend_from_slice(b"upvalue"),
        View::List(list) => {
            if path.contains(o) {
                out.extend_from_slice(b"[...]");
                return;
            }
            path.push(o);
            out.push(b'[');
            frames.push(Frame::List { list, next: 0 });
        }
        View::Map(map) => {
            if path.contains(o) {
                out.extend_from_slice(b"{...}");
                return;
            }
            path.push(o);
            out.push(b'{');
            frames.push(Frame::Map {
                pairs: crate::collections::map_pairs(map),
                next: 0,
            });
        }
        View::Coroutine(_) => out.extend_from_slice(b"<coroutine>"),
        View::Channel(_) => out.extend_from_slice(b"<channel>"),
        View::Bytes(_)
        | View::ValueArray(_)
        | View::Entries(_)
        | View::StackSlab(_)
        | View::FrameSlab(_)
        | View::Finalizer(_) => out.extend_from_slice(b"<internal>"),
    }
}

/// `print v`, charged to `--max-instructions` by the bytes it writes.
pub(crate) fn print_value(
    mu: &mut Mutator,
    out: &mut dyn Write,
    v: Value,
) -> Result<(), RuntimeError> {
    let mut buf = Vec::with_capacity(32);
    format_value(&mut buf, v);
    buf.push(b'\n');
    mu.charge_bytes(buf.len())?;
    // A closed stdout (e.g. `| head`) is not a Lox error; clox ignores
    // printf's result too.
    let _ = out.write_all(&buf);
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::tests::run;

    #[test]
    fn ordinary_nesting_and_cycles() {
        assert_eq!(
            run(r#"print [1, "a", [nil, true, []], [[2.5]]];"#),
            "[1, \"a\", [nil, true, []], [[2.5]]]\n"
        );
        // Only a container on the path is elided, not one seen before.
        assert_eq!(
            run("var a = [1, nil]; a[1] = a; print a; print [a, a];"),
            "[1, [...]]\n[[1, [...]], [1, [...]]]\n"
        );
    }

    /// 200,000 levels on the test thread's small stack: a recursive
    /// printer would overflow it.
    #[test]
    fn deep_nesting_is_iterative() {
        let n = 200_000;
        let text = run(&format!(
            "var a = []; for (var i = 0; i < {n}; i = i + 1) a = [a]; print a;"
        ));
        let want = format!("{}{}\n", "[".repeat(n + 1), "]".repeat(n + 1));
        assert_eq!(text, want);
    }

    /// A cycle closing past `PATH_SCAN_LIMIT`: the hash set sees it, and a
    /// sibling printed after the deep branch is not mistaken for one.
    #[test]
    fn deep_cycle_uses_the_set() {
        let got = run("var root = [0, nil]; var a = root; \
             for (var i = 1; i < 100; i = i + 1) { var b = [i, nil]; a[1] = b; a = b; } \
             a[1] = root; print root; print [root, root];");
        // The deepest list ends in `[...]` (root again), then every level
        // closes.
        let mut want = String::new();
        for i in 0..100 {
            want.push_str(&format!("[{i}, "));
        }
        want.push_str("[...]");
        want.push_str(&"]".repeat(100));
        assert_eq!(got, format!("{want}\n[{want}, {want}]\n"));
    }
}
