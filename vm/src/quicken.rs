//! Quickening: superinstructions for the commonest instruction sequences,
//! installed in the VM's copy of a function's code when it is loaded.
//!
//! `lang` emits exactly clox's bytecode (its disassembly is compared with
//! clox's), so fusion happens here. A site is quickened by rewriting only
//! its *first* opcode byte to one of the [`qop`] opcodes; the operand bytes
//! of the whole sequence, and the opcode bytes after the first, stay as
//! they were. That makes a quickened function behave as the original by
//! construction (**QUICKEN_EQUIV**):
//! - a fused instruction's fast path does what the whole sequence does and
//!   continues after it; its slow path (an operand of another type, an
//!   index out of range) does what the first instruction alone does and
//!   continues at the second, which is still there: errors, their messages
//!   and their lines come from the original instructions;
//! - a jump into the middle of a sequence lands on an original instruction
//!   (or on another quickened site, which is equivalent in turn);
//! - no offset moves, so saved ips, jump offsets and the line table are
//!   unchanged;
//! - a fast path charges the preemption budget for every instruction it
//!   stands for, so a coroutine is preempted at the same points, and
//!   coroutine interleavings (LANGUAGE.md §5) are the same, as without it.
//!
//! A fused instruction reads only *operand* bytes of its sequence, never
//! the opcode bytes after its own, because those may have been quickened
//! themselves (sites may overlap: `SET_LOCAL; POP` inside a longer match).
//! The exceptions are the instruction right after a sequence, which
//! some fast paths look at to take an unconditional `JUMP` or `LOOP` at
//! once, and the target of a fused condition's `JUMP_IF_FALSE`, whose
//! `POP` a false condition takes at once: `JUMP`, `LOOP` and `POP` are
//! never quickened (no sequence starts with them), so the byte is either
//! really that instruction or something else, and it is a verified
//! instruction start (the sequences end in `POP`, which falls through to
//! it; a jump target is verified).
//! Sites are matched on the original code, only at instruction starts the
//! verifier reached (so every operand read is VERIFIED), and only where
//! the fast path's stack accesses stay below the height the verifier found
//! (the `< h` conditions below).
//!
//! `VmOptions::no_quicken` (`--no-quicken`) runs the code as compiled.

use lang::{Constant, OpCode};

/// Declares the superinstructions, in the order the quickener tries them
/// at a site: each one's name, the instruction sequence it stands for
/// (operands it reads named in capitals) and the predicate that must hold
/// beyond the sequence's shape. From it come the fused opcodes' numbers
/// ([`qop`], dense right after `lang`'s), each sequence's layout
/// ([`layout`]: operand offsets as the interpreter's `ip.at(k)` reads
/// them, the length to skip, the instruction count the budget charges)
/// and the [`TABLE`] the quickener matches. The handlers are in
/// `fused.rs`.
macro_rules! superinstructions {
    (@operands $shape:ident, $i:expr, $op:ident ($operand:ident) $(, $($rest:tt)*)?) => {
        pub const $operand: usize = super::super::operand_offset($shape, $i);
        $( superinstructions!(@operands $shape, $i + 1, $($rest)*); )?
    };
    (@operands $shape:ident, $i:expr, $op:ident $(, $($rest:tt)*)?) => {
        $( superinstructions!(@operands $shape, $i + 1, $($rest)*); )?
    };
    ($( $(#[$doc:meta])* $name:ident = [$($seq:tt)+] when $when:ident; )*) => {
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        #[repr(u8)]
        enum Index {
            $($name,)*
        }

        /// The fused opcodes: the bytes right after `lang`'s last opcode.
        ///
        /// They are numbered densely on purpose: with them at 0xC0 and up
        /// (a sparse `match` in the interpreter), code that fuses nothing
        /// ran about 40% slower (equality.lox: 0.61 s against 0.42 s,
        /// median of 7), though it executed the same instructions.
        pub mod qop {
            /// The first byte after `lang`'s opcodes.
            pub const FIRST: u8 = lang::OpCode::ALL.len() as u8;
            $( $(#[$doc])* pub const $name: u8 = FIRST + super::Index::$name as u8; )*
            /// Every fused opcode, in table order.
            #[cfg_attr(not(test), allow(dead_code))]
            pub const ALL: &[u8] = &[$($name),*];
        }

        /// Each sequence's layout: `SHAPE` (the instructions), `LEN` (bytes
        /// after its first opcode: what a fast path skips), `COUNT` (the
        /// instructions a fast path charges to the budget), and each named
        /// operand's offset from the byte after the opcode (`ip.at(X)`).
        #[allow(non_snake_case, dead_code)]
        pub mod layout {
            $(
                pub mod $name {
                    use lang::OpCode;
                    pub const SHAPE: &[OpCode] = superinstructions!(@shape $($seq)+);
                    pub const LEN: usize = super::super::sequence_len(SHAPE) - 1;
                    pub const COUNT: i64 = SHAPE.len() as i64;
                    superinstructions!(@operands SHAPE, 0, $($seq)+);
                }
            )*
        }

        /// The fused sequences in the order the quickener tries them.
        pub(crate) const TABLE: &[Fused] = &[$(
            Fused {
                opcode: qop::$name,
                name: stringify!($name),
                shape: layout::$name::SHAPE,
                when: $when,
            },
        )*];
    };
    (@shape $($op:ident $(($operand:ident))?),+) => {
        &[$(OpCode::$op),+]
    };
}

/// One row of the superinstruction table.
pub(crate) struct Fused {
    pub(crate) opcode: u8,
    /// For diagnostics (the tests print it).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) name: &'static str,
    /// The instructions it stands for, in order.
    pub(crate) shape: &'static [OpCode],
    /// What must hold at a site (entered at stack height `h`) beyond the
    /// shape: the stack accesses of the fast path stay below the height
    /// the verifier found, constants are numbers, and so on.
    pub(crate) when: fn(&Verified<'_>, usize, usize) -> bool,
}

/// Bytes of one instruction with fixed operands (every fused sequence's).
const fn instruction_len(op: OpCode) -> usize {
    match op.operands().fixed_len() {
        Some(n) => 1 + n,
        None => panic!("a fused sequence holds only fixed-length instructions"),
    }
}

/// Bytes of a whole sequence.
const fn sequence_len(shape: &[OpCode]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < shape.len() {
        n += instruction_len(shape[i]);
        i += 1;
    }
    n
}

/// The offset of instruction `i`'s first operand from the byte after the
/// sequence's first opcode (where the interpreter's `ip` stands when it
/// runs the fused opcode): the bytes of the instructions before it.
const fn operand_offset(shape: &[OpCode], i: usize) -> usize {
    sequence_len(shape.split_at(i).0)
}

superinstructions! {
    /// `x = a + b;` with locals: `GET_LOCAL a; GET_LOCAL b; ADD; SET_LOCAL
    /// c; POP`.
    LOCAL_ADD_LOCAL_SET = [GetLocal(A), GetLocal(B), Add, SetLocal(C), Pop]
        when local_add_local_set;
    /// `total = total + xs[i];`, the reduction over a list that Lox
    /// (without iterators) writes with an index.
    LOCAL_ADD_INDEX_SET = [GetLocal(A), GetLocal(XS), GetLocal(I), GetIndex, Add, SetLocal(C), Pop]
        when local_add_index_set;
    /// `a < b` and its conditional jump, with locals.
    LOCAL_LESS_LOCAL_JUMP = [GetLocal(A), GetLocal(B), Less, JumpIfFalse(JUMP), Pop]
        when local_local_compare_jump;
    /// As above with `GREATER`.
    LOCAL_GREATER_LOCAL_JUMP = [GetLocal(A), GetLocal(B), Greater, JumpIfFalse(JUMP), Pop]
        when local_local_compare_jump;
    /// `xs[i]` with locals.
    LOCAL_INDEX_LOCAL = [GetLocal(A), GetLocal(B), GetIndex]
        when local_index_local;
    /// `a.name` for a local `a`: `this.field` in a method.
    LOCAL_GET_PROPERTY = [GetLocal(A), GetProperty(NAME)]
        when always;
    /// Two locals pushed at once.
    GET_LOCAL_2 = [GetLocal(A), GetLocal(B)]
        when get_local_2;
    /// `a < k` and its conditional jump, for a number `k`.
    LOCAL_LESS_CONST_JUMP = [GetLocal(A), Constant(K), Less, JumpIfFalse(JUMP), Pop]
        when local_number_compare_jump;
    /// As above with `GREATER`.
    LOCAL_GREATER_CONST_JUMP = [GetLocal(A), Constant(K), Greater, JumpIfFalse(JUMP), Pop]
        when local_number_compare_jump;
    /// A `for` loop's step, Lua's FORLOOP: the increment clause `i = i + k;`
    /// and its `LOOP`, whose target is the condition `i < y` (`y` a number
    /// constant) and its jump, run as one instruction. The condition's
    /// operands are read where the condition is (its opcode bytes are not
    /// read: they may be quickened), with `LOCAL_LESS_CONST_JUMP`'s layout.
    FOR_ADD_LESS_CONST = [GetLocal(A), Constant(K), Add, SetLocal(C), Pop, Loop(BACK)]
        when for_less_const;
    /// As above, `y` a local.
    FOR_ADD_LESS_LOCAL = [GetLocal(A), Constant(K), Add, SetLocal(C), Pop, Loop(BACK)]
        when for_less_local;
    /// As above, `i > y`, `y` a number constant.
    FOR_ADD_GREATER_CONST = [GetLocal(A), Constant(K), Add, SetLocal(C), Pop, Loop(BACK)]
        when for_greater_const;
    /// As above, `y` a local.
    FOR_ADD_GREATER_LOCAL = [GetLocal(A), Constant(K), Add, SetLocal(C), Pop, Loop(BACK)]
        when for_greater_local;
    /// `i = i - k` stepping to `i < y`, `y` a number constant.
    FOR_SUB_LESS_CONST = [GetLocal(A), Constant(K), Subtract, SetLocal(C), Pop, Loop(BACK)]
        when for_less_const;
    /// As above, `y` a local.
    FOR_SUB_LESS_LOCAL = [GetLocal(A), Constant(K), Subtract, SetLocal(C), Pop, Loop(BACK)]
        when for_less_local;
    /// As above, `i > y`, `y` a number constant.
    FOR_SUB_GREATER_CONST = [GetLocal(A), Constant(K), Subtract, SetLocal(C), Pop, Loop(BACK)]
        when for_greater_const;
    /// As above, `y` a local.
    FOR_SUB_GREATER_LOCAL = [GetLocal(A), Constant(K), Subtract, SetLocal(C), Pop, Loop(BACK)]
        when for_greater_local;
    /// `a = a + k;` for a number `k`.
    LOCAL_ADD_CONST_SET = [GetLocal(A), Constant(K), Add, SetLocal(C), Pop]
        when local_number_set;
    /// `a = a - k;` for a number `k`.
    LOCAL_SUB_CONST_SET = [GetLocal(A), Constant(K), Subtract, SetLocal(C), Pop]
        when local_number_set;
    /// `a + k` for a number `k`.
    LOCAL_ADD_CONST = [GetLocal(A), Constant(K), Add]
        when local_number;
    /// `a - k` for a number `k`.
    LOCAL_SUB_CONST = [GetLocal(A), Constant(K), Subtract]
        when local_number;
    /// The end of `x = a + b;` once `a + b` is on the stack.
    ADD_SET_LOCAL_POP = [Add, SetLocal(C), Pop]
        when add_set_local_pop;
    /// The end of an assignment statement.
    SET_LOCAL_POP = [SetLocal(C), Pop]
        when set_local_pop;
    /// Every function that falls off its end.
    NIL_RETURN = [Nil, Return]
        when always;
    /// A constant as a whole statement (`1;`): nothing to do but charge
    /// the two instructions.
    DISCARD_CONSTANT = [Constant(K), Pop]
        when always;
    /// `nil;` as a statement.
    DISCARD_NIL = [Nil, Pop]
        when always;
    /// `true;` as a statement.
    DISCARD_TRUE = [True, Pop]
        when always;
    /// `false;` as a statement.
    DISCARD_FALSE = [False, Pop]
        when always;
    /// `x == k;` as a statement once `x` is on the stack: equality neither
    /// fails nor has an effect, so the fast path only pops `x`.
    EQUAL_CONST_POP = [Constant(K), Equal, Pop]
        when always;
    /// `x == nil;` as a statement.
    EQUAL_NIL_POP = [Nil, Equal, Pop]
        when always;
    /// `x == true;` as a statement.
    EQUAL_TRUE_POP = [True, Equal, Pop]
        when always;
    /// `x == false;` as a statement.
    EQUAL_FALSE_POP = [False, Equal, Pop]
        when always;
    /// `x == nil` once `x` is on the stack (and `x != nil`, whose `NOT`
    /// follows).
    EQUAL_NIL = [Nil, Equal]
        when always;
    /// `x == true`.
    EQUAL_TRUE = [True, Equal]
        when always;
    /// `x == false`.
    EQUAL_FALSE = [False, Equal]
        when always;
    /// `x == k` once `x` is on the stack, for a constant `k` (`n == 0`,
    /// `s == "str"`; `x == nil` is `NIL; EQUAL`, above): equality never
    /// fails, so there is no slow path.
    EQUAL_CONST = [Constant(K), Equal]
        when always;
    /// `return x;` for a local `x`.
    RETURN_LOCAL = [GetLocal(A), Return]
        when return_local;
    /// `g < k` and its conditional jump, `g` a global and `k` a number: a
    /// top-level `while` loop's condition.
    GLOBAL_LESS_CONST_JUMP = [GetGlobal(A), Constant(K), Less, JumpIfFalse(JUMP), Pop]
        when global_number;
    /// `g = g + k;` for a global `g` (the names may differ: the fast path
    /// reads one slot and stores the other) and a number `k`.
    GLOBAL_ADD_CONST_SET = [GetGlobal(A), Constant(K), Add, SetGlobal(C), Pop]
        when global_number;
    /// A global read by its slot (`FunctionObj::global_slots`, given at
    /// load), not by hashing its name.
    GET_GLOBAL_SLOT = [GetGlobal(K)]
        when always;
    /// A global assigned by its slot.
    SET_GLOBAL_SLOT = [SetGlobal(K)]
        when always;
    /// A global defined by its slot.
    DEFINE_GLOBAL_SLOT = [DefineGlobal(K)]
        when always;
}

/// Rewrites the first byte of every matched site in `code` (a copy of
/// `original`, the verified code, whose stack heights are `heights`).
pub fn quicken(
    code: &mut [u8],
    original: &[u8],
    heights: &[Option<usize>],
    constants: &[Constant],
) {
    debug_assert_eq!(code.len(), original.len());
    let verified = Verified {
        code: original,
        heights,
        constants,
    };
    for (p, byte) in code.iter_mut().enumerate() {
        let Some(h) = verified.height(p) else {
            continue;
        };
        if let Some(fused) = verified.match_site(p, h) {
            *byte = fused;
        }
    }
}

/// The original code of a function with what the verifier found, which
/// the matcher reads.
pub(crate) struct Verified<'a> {
    code: &'a [u8],
    heights: &'a [Option<usize>],
    constants: &'a [Constant],
}

impl Verified<'_> {
    /// The stack height on entry to the instruction at `q`, if the
    /// verifier reached one there.
    fn height(&self, q: usize) -> Option<usize> {
        self.heights.get(q).copied().flatten()
    }

    /// `op` starts a reached instruction at `q`: then every byte of the
    /// straight-line sequence before it is an instruction or operand the
    /// verifier checked.
    fn at(&self, q: usize, op: OpCode) -> bool {
        self.height(q).is_some() && self.code.get(q) == Some(&(op as u8))
    }

    fn operand(&self, q: usize) -> usize {
        self.code.get(q).map_or(usize::MAX, |&b| b as usize)
    }

    /// The constant operand at `q` is a number.
    fn number(&self, q: usize) -> bool {
        matches!(
            self.constants.get(self.operand(q)),
            Some(Constant::Number(_))
        )
    }

    /// `LESS/GREATER; JUMP_IF_FALSE; POP` at `q`: `Some(true)` for `LESS`.
    fn compare_jump(&self, q: usize) -> Option<bool> {
        let less = self.at(q, OpCode::Less);
        ((less || self.at(q, OpCode::Greater))
            && self.at(q + 1, OpCode::JumpIfFalse)
            && self.at(q + 4, OpCode::Pop))
        .then_some(less)
    }

    /// The instructions of `shape` one after another from `p`, each at an
    /// instruction start the verifier reached.
    fn shape_at(&self, p: usize, shape: &[OpCode]) -> bool {
        let mut q = p;
        for &op in shape {
            if !self.at(q, op) {
                return false;
            }
            q += instruction_len(op);
        }
        true
    }

    /// The fused opcode for the sequence starting at instruction `p`
    /// (entered at stack height `h`): the first row of [`TABLE`] whose
    /// shape is there and whose predicate holds.
    fn match_site(&self, p: usize, h: usize) -> Option<u8> {
        TABLE
            .iter()
            .find(|f| self.shape_at(p, f.shape) && (f.when)(self, p, h))
            .map(|f| f.opcode)
    }

    /// The operand byte `offset` (a `layout` offset) of the sequence at `p`.
    fn arg(&self, p: usize, offset: usize) -> usize {
        self.operand(p + 1 + offset)
    }

    /// The condition a `for` step at `p` loops back to, when it has a fused
    /// shape entered at the step's height `h`: (`LESS`?, `y` a constant?).
    fn for_condition(&self, p: usize, h: usize) -> Option<(bool, bool)> {
        use layout::FOR_ADD_LESS_CONST as step;
        let back = (self.arg(p, step::BACK) << 8) | self.arg(p, step::BACK + 1);
        let t = (p + step::LEN + 1).checked_sub(back)?;
        if self.height(t) != Some(h) || !self.at(t, OpCode::GetLocal) {
            return None;
        }
        let y_const = if self.at(t + 2, OpCode::Constant) && self.number(t + 3) {
            true
        } else if self.at(t + 2, OpCode::GetLocal) && self.operand(t + 3) < h {
            false
        } else {
            return None;
        };
        Some((self.compare_jump(t + 4)?, y_const))
    }
}

// The predicates of the table's rows: what must hold beyond the shape.
// `h` is the stack height on entry; a fast path that reads a slot before
// pushing anything needs a slot that existed already (`< h`), and one that
// stores after popping must store below what it popped.

fn local_add_local_set(v: &Verified<'_>, p: usize, h: usize) -> bool {
    use layout::LOCAL_ADD_LOCAL_SET as l;
    v.arg(p, l::B) < h && v.arg(p, l::C) < h
}

fn local_add_index_set(v: &Verified<'_>, p: usize, h: usize) -> bool {
    use layout::LOCAL_ADD_INDEX_SET as l;
    v.arg(p, l::XS) < h && v.arg(p, l::I) < h && v.arg(p, l::C) < h
}

fn local_local_compare_jump(v: &Verified<'_>, p: usize, h: usize) -> bool {
    v.arg(p, layout::LOCAL_LESS_LOCAL_JUMP::B) < h
}

fn local_index_local(v: &Verified<'_>, p: usize, h: usize) -> bool {
    v.arg(p, layout::LOCAL_INDEX_LOCAL::B) < h
}

/// Not when the second `GET_LOCAL` starts a longer fusion: the fast path
/// would skip over it.
fn get_local_2(v: &Verified<'_>, p: usize, h: usize) -> bool {
    matches!(v.match_site(p + 2, h + 1), Some(qop::GET_LOCAL_2) | None)
}

fn local_number(v: &Verified<'_>, p: usize, _h: usize) -> bool {
    v.number(p + 1 + layout::LOCAL_ADD_CONST::K)
}

fn local_number_compare_jump(v: &Verified<'_>, p: usize, h: usize) -> bool {
    local_number(v, p, h)
}

/// `SET_LOCAL c`, verified at `h + 1`, writes below `h`: not the temporary
/// the fast path never pushes.
fn local_number_set(v: &Verified<'_>, p: usize, h: usize) -> bool {
    local_number(v, p, h) && v.arg(p, layout::LOCAL_ADD_CONST_SET::C) < h
}

fn for_step(v: &Verified<'_>, p: usize, h: usize, less: bool, y_const: bool) -> bool {
    local_number_set(v, p, h) && v.for_condition(p, h) == Some((less, y_const))
}

fn for_less_const(v: &Verified<'_>, p: usize, h: usize) -> bool {
    for_step(v, p, h, true, true)
}

fn for_less_local(v: &Verified<'_>, p: usize, h: usize) -> bool {
    for_step(v, p, h, true, false)
}

fn for_greater_const(v: &Verified<'_>, p: usize, h: usize) -> bool {
    for_step(v, p, h, false, true)
}

fn for_greater_local(v: &Verified<'_>, p: usize, h: usize) -> bool {
    for_step(v, p, h, false, false)
}

/// `ADD` at `h` pops two; `SET_LOCAL c` must write below both operands.
fn add_set_local_pop(v: &Verified<'_>, p: usize, h: usize) -> bool {
    v.arg(p, layout::ADD_SET_LOCAL_POP::C) + 2 < h
}

/// The fast path pops first: `c` must be below the popped value.
fn set_local_pop(v: &Verified<'_>, p: usize, h: usize) -> bool {
    v.arg(p, layout::SET_LOCAL_POP::C) + 1 < h
}

fn global_number(v: &Verified<'_>, p: usize, _h: usize) -> bool {
    v.number(p + 1 + layout::GLOBAL_ADD_CONST_SET::K)
}

/// The local is below the height: not the value `GET_LOCAL` pushes.
fn return_local(v: &Verified<'_>, p: usize, h: usize) -> bool {
    v.arg(p, layout::RETURN_LOCAL::A) < h
}

fn always(_: &Verified<'_>, _: usize, _: usize) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `source`'s first function (or its script when there is none).
    fn first_function(source: &str) -> lang::Proto {
        let proto = lang::compile(source.as_bytes()).unwrap();
        proto
            .chunk
            .constants
            .iter()
            .find_map(|c| match c {
                Constant::Function(f) => Some((**f).clone()),
                _ => None,
            })
            .unwrap_or(proto)
    }

    /// The code of `source`'s first function, and its quickened copy.
    fn quickened(source: &str) -> (Vec<u8>, Vec<u8>) {
        quickened_proto(first_function(source))
    }

    /// `proto`'s code, and its quickened copy.
    fn quickened_proto(proto: lang::Proto) -> (Vec<u8>, Vec<u8>) {
        let verified = crate::verify::verify(&proto).unwrap();
        let mut code = proto.chunk.code.clone();
        quicken(
            &mut code,
            &proto.chunk.code,
            &verified.heights,
            &proto.chunk.constants,
        );
        (proto.chunk.code, code)
    }

    fn fused(source: &str) -> Vec<u8> {
        let (original, code) = quickened(source);
        original
            .iter()
            .zip(&code)
            .filter(|(o, q)| o != q)
            .map(|(_, &q)| q)
            .collect()
    }

    /// Dense after `lang`'s opcodes (see [`qop`]), and none taken twice.
    #[test]
    fn fused_opcodes_follow_the_lang_opcodes_densely() {
        let all = qop::ALL;
        let mut sorted = all.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), all.len(), "a fused opcode taken twice");
        assert!(OpCode::from_u8(qop::FIRST - 1).is_some());
        for &b in all {
            assert!(OpCode::from_u8(b).is_none(), "{b:#x} is a lang opcode");
        }
        let last = *sorted.last().unwrap();
        assert_eq!(
            usize::from(last - qop::FIRST) + 1,
            all.len(),
            "fused opcodes spread out: {sorted:x?}"
        );
    }

    /// The layouts the table derives, against the sequences' bytes as
    /// `lang` emits them (the interpreter's handlers read these offsets).
    #[test]
    fn layouts_match_the_compiled_sequences() {
        use layout::*;
        assert_eq!(
            (GET_LOCAL_2::A, GET_LOCAL_2::B, GET_LOCAL_2::LEN),
            (0, 2, 3)
        );
        assert_eq!(
            (LOCAL_LESS_CONST_JUMP::K, LOCAL_LESS_CONST_JUMP::JUMP),
            (2, 5)
        );
        assert_eq!(LOCAL_LESS_CONST_JUMP::LEN, 8);
        assert_eq!(
            (
                LOCAL_ADD_INDEX_SET::XS,
                LOCAL_ADD_INDEX_SET::I,
                LOCAL_ADD_INDEX_SET::C
            ),
            (2, 4, 8)
        );
        assert_eq!(
            (LOCAL_ADD_INDEX_SET::LEN, LOCAL_ADD_INDEX_SET::COUNT),
            (10, 7)
        );
        assert_eq!(
            (FOR_SUB_GREATER_LOCAL::C, FOR_SUB_GREATER_LOCAL::BACK),
            (5, 8)
        );
        assert_eq!(
            (FOR_ADD_LESS_CONST::LEN, FOR_ADD_LESS_CONST::COUNT),
            (10, 6)
        );
        assert_eq!((ADD_SET_LOCAL_POP::C, SET_LOCAL_POP::C), (1, 0));
        for f in TABLE {
            let bytes: usize = f.shape.iter().map(|&op| instruction_len(op)).sum();
            assert!(bytes >= 2, "{}: a fusion of one byte", f.name);
        }
    }

    #[test]
    fn only_first_bytes_change_and_only_to_fused_opcodes() {
        let (original, code) = quickened(
            "fun f(xs, n) { var s = 0; for (var i = 0; i < n; i = i + 1) s = s + xs[i]; return s; }",
        );
        assert_eq!(original.len(), code.len());
        for (o, q) in original.iter().zip(&code) {
            if o != q {
                assert!(OpCode::from_u8(*q).is_none(), "{q:#x} is a lang opcode");
            }
        }
    }

    #[test]
    fn a_counting_loop_is_fused() {
        let f = fused(
            "fun f(xs, n) { var s = 0; for (var i = 0; i < n; i = i + 1) s = s + xs[i]; return s; }",
        );
        assert!(f.contains(&qop::LOCAL_LESS_LOCAL_JUMP), "{f:x?}");
        assert!(f.contains(&qop::FOR_ADD_LESS_LOCAL), "{f:x?}");
        assert!(f.contains(&qop::LOCAL_ADD_INDEX_SET), "{f:x?}");
        // Inside it, for a jump into the middle (and its slow path):
        assert!(f.contains(&qop::LOCAL_INDEX_LOCAL), "{f:x?}");
        assert!(f.contains(&qop::ADD_SET_LOCAL_POP), "{f:x?}");
        let f = fused("fun f(a, b) { a = a + b; return a; }");
        assert!(f.contains(&qop::LOCAL_ADD_LOCAL_SET), "{f:x?}");
        let f = fused("fun f() { for (var i = 0; i > 10; i = i - 1) {} }");
        assert!(f.contains(&qop::LOCAL_GREATER_CONST_JUMP), "{f:x?}");
        assert!(f.contains(&qop::FOR_SUB_GREATER_CONST), "{f:x?}");
        // An increment that is not a loop's step stays a plain fused set.
        let f = fused("fun f(a) { a = a - 1; return a; }");
        assert!(f.contains(&qop::LOCAL_SUB_CONST_SET), "{f:x?}");
        // A step whose condition is not a fused shape (a call) is not a
        // FOR_*, only a fused set.
        let f = fused("fun f(xs) { for (var i = 0; i < xs.len(); i = i + 1) {} }");
        assert!(f.contains(&qop::LOCAL_ADD_CONST_SET), "{f:x?}");
        assert!(
            !f.iter()
                .any(|&b| (qop::FOR_ADD_LESS_CONST..=qop::FOR_SUB_GREATER_LOCAL).contains(&b)),
            "{f:x?}"
        );
        assert!(f.contains(&qop::NIL_RETURN), "{f:x?}");
    }

    /// Fast paths look at the byte after a sequence, or at a condition's
    /// jump target, for these: they must never be quickened.
    #[test]
    fn jumps_loops_and_pops_are_never_quickened() {
        for f in TABLE {
            assert!(
                ![OpCode::Jump, OpCode::Loop, OpCode::Pop].contains(&f.shape[0]),
                "{} starts with {:?}",
                f.name,
                f.shape[0]
            );
        }
    }

    #[test]
    fn a_field_of_this_is_fused() {
        let proto = lang::compile(b"class A { f() { return this.x; } }").unwrap();
        let class_body = proto.chunk.constants.iter().find_map(|c| match c {
            Constant::Function(f) => Some((**f).clone()),
            _ => None,
        });
        let f = class_body.expect("the method");
        let verified = crate::verify::verify(&f).unwrap();
        let mut code = f.chunk.code.clone();
        quicken(
            &mut code,
            &f.chunk.code,
            &verified.heights,
            &f.chunk.constants,
        );
        assert_eq!(code[0], qop::LOCAL_GET_PROPERTY, "{code:x?}");
    }

    #[test]
    fn an_equality_with_a_constant_is_fused() {
        let f = fused("fun f(x) { return x == 0; }");
        assert!(f.contains(&qop::EQUAL_CONST), "{f:x?}");
    }

    /// Literals and comparisons whose value a statement discards, and a
    /// comparison with a literal that is kept.
    #[test]
    fn discarded_literals_and_comparisons_are_fused() {
        let f = fused("fun f(x) { 1; nil; true; false; x == 2; x == nil; x == true; x == false; }");
        for op in [
            qop::DISCARD_CONSTANT,
            qop::DISCARD_NIL,
            qop::DISCARD_TRUE,
            qop::DISCARD_FALSE,
            qop::EQUAL_CONST_POP,
            qop::EQUAL_NIL_POP,
            qop::EQUAL_TRUE_POP,
            qop::EQUAL_FALSE_POP,
        ] {
            assert!(f.contains(&op), "{op:#x} in {f:x?}");
        }
        assert!(!f.contains(&qop::EQUAL_CONST), "{f:x?}");
        let f = fused("fun f(x) { return [x != nil, x == true, x == false]; }");
        for op in [qop::EQUAL_NIL, qop::EQUAL_TRUE, qop::EQUAL_FALSE] {
            assert!(f.contains(&op), "{op:#x} in {f:x?}");
        }
    }

    #[test]
    fn a_returned_local_is_fused() {
        let f = fused("fun f(n) { if (n < 2) return n; return 0; }");
        assert!(f.contains(&qop::RETURN_LOCAL), "{f:x?}");
    }

    /// The script's code, and its quickened copy.
    fn quickened_script(source: &str) -> (Vec<u8>, Vec<u8>) {
        quickened_proto(lang::compile(source.as_bytes()).unwrap())
    }

    #[test]
    fn a_global_loop_is_fused() {
        let (original, code) = quickened_script("var i = 0; while (i < 10) i = i + 1;");
        let f: Vec<u8> = original
            .iter()
            .zip(&code)
            .filter(|(o, q)| o != q)
            .map(|(_, &q)| q)
            .collect();
        assert!(f.contains(&qop::GLOBAL_LESS_CONST_JUMP), "{f:x?}");
        assert!(f.contains(&qop::GLOBAL_ADD_CONST_SET), "{f:x?}");
    }

    #[test]
    fn every_global_instruction_is_quickened() {
        let proto = lang::compile(b"var a = 1; a = 2; print a;").unwrap();
        let verified = crate::verify::verify(&proto).unwrap();
        let mut code = proto.chunk.code.clone();
        quicken(
            &mut code,
            &proto.chunk.code,
            &verified.heights,
            &proto.chunk.constants,
        );
        let mut seen = Vec::new();
        for (p, h) in verified.heights.iter().enumerate() {
            let Some(&b) = proto.chunk.code.get(p) else {
                continue;
            };
            let want = match OpCode::from_u8(b) {
                Some(OpCode::GetGlobal) => qop::GET_GLOBAL_SLOT,
                Some(OpCode::SetGlobal) => qop::SET_GLOBAL_SLOT,
                Some(OpCode::DefineGlobal) => qop::DEFINE_GLOBAL_SLOT,
                _ => continue,
            };
            if h.is_some() {
                assert_eq!(code[p], want, "at {p}: {code:x?}");
                seen.push(want);
            }
        }
        seen.sort_unstable();
        let mut expected = vec![
            qop::DEFINE_GLOBAL_SLOT,
            qop::GET_GLOBAL_SLOT,
            qop::SET_GLOBAL_SLOT,
        ];
        expected.sort_unstable();
        assert_eq!(seen, expected);
    }

    #[test]
    fn string_constants_are_not_fused_as_numbers() {
        let f = fused("fun f(a) { return a + \"x\"; }");
        assert!(!f.contains(&qop::LOCAL_ADD_CONST), "{f:x?}");
        let f = fused("fun f(a) { return a + 1; }");
        assert!(f.contains(&qop::LOCAL_ADD_CONST), "{f:x?}");
    }

    #[test]
    fn a_store_into_a_temporary_slot_is_not_fused() {
        // Hand-made: SET_LOCAL onto the value it then pops (slot 2 at
        // height 3) would write above the stack after the fused pop.
        let mut f = first_function("fun f(a) { a = a; }");
        let set = f
            .chunk
            .code
            .iter()
            .position(|&b| b == OpCode::SetLocal as u8)
            .unwrap();
        f.chunk.code[set + 1] = 2;
        let mut heights = vec![None; f.chunk.code.len()];
        heights[set] = Some(3);
        heights[set + 2] = Some(3);
        let mut code = f.chunk.code.clone();
        quicken(&mut code, &f.chunk.code, &heights, &f.chunk.constants);
        assert_eq!(code[set], OpCode::SetLocal as u8);
        heights[set] = Some(4);
        quicken(&mut code, &f.chunk.code, &heights, &f.chunk.constants);
        assert_eq!(code[set], qop::SET_LOCAL_POP);
    }

    #[test]
    fn unreached_code_is_not_fused() {
        let (original, _) = quickened("fun f(a) { a = a; }");
        let heights = vec![None; original.len()];
        let mut code = original.clone();
        quicken(&mut code, &original, &heights, &[]);
        assert_eq!(code, original);
    }
}
