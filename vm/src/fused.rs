//! The handlers of the fused opcodes (the superinstructions declared in
//! `quicken.rs`), called from the interpreter's dispatch, one line each.
//!
//! QUICKEN_EQUIV, the handlers' half: a fast path does what its whole
//! sequence does, continues after it (`layout::X::LEN`), and charges the
//! budget for every instruction it stands for (`layout::X::COUNT`, less the
//! one the dispatch charged); a slow path (an operand of another type, an
//! index out of range) does what the sequence's first instruction alone
//! does and continues at the second, which is still there, so errors,
//! messages and lines are the original instructions'. Offsets come only
//! from the table's layouts, never written by hand.

use lang::op;

use crate::interp::Regs;
use crate::object::{Gc, InstanceObj, StringObj};
use crate::quicken::layout::{
    ADD_SET_LOCAL_POP, DISCARD_FALSE, DISCARD_NIL, DISCARD_TRUE, EQUAL_CONST, EQUAL_FALSE,
    EQUAL_FALSE_POP, EQUAL_NIL, EQUAL_NIL_POP, EQUAL_TRUE, EQUAL_TRUE_POP, FOR_ADD_LESS_CONST,
    GET_LOCAL_2, GLOBAL_ADD_CONST_SET, GLOBAL_LESS_CONST_JUMP, LOCAL_ADD_CONST,
    LOCAL_ADD_CONST_SET, LOCAL_ADD_INDEX_SET, LOCAL_ADD_LOCAL_SET, LOCAL_GET_PROPERTY,
    LOCAL_INDEX_LOCAL, LOCAL_LESS_CONST_JUMP, LOCAL_LESS_LOCAL_JUMP, SET_LOCAL_POP,
};
use crate::value::Value;
use crate::vm::Vm;

/// What the loop does after a handler.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Dispatch the next instruction.
    Next,
    /// The handler took a `LOOP` (a back edge): the loop's safepoint runs
    /// before the next dispatch, as after the `LOOP` itself.
    Safepoint,
}

/// The comparison of a fused condition.
#[derive(Clone, Copy)]
pub(crate) enum Cmp {
    Less,
    Greater,
}

impl Cmp {
    #[inline(always)]
    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Cmp::Less => a < b,
            Cmp::Greater => a > b,
        }
    }
}

/// The arithmetic of a fused increment.
#[derive(Clone, Copy)]
pub(crate) enum Arith {
    Add,
    Sub,
}

impl Arith {
    #[inline(always)]
    fn apply(self, a: f64, b: f64) -> f64 {
        match self {
            Arith::Add => a + b,
            Arith::Sub => a - b,
        }
    }
}

/// Where a fused sequence's second operand comes from.
#[derive(Clone, Copy)]
pub(crate) enum Operand {
    Constant,
    Local,
}

/// Bytes of an unconditional jump (`JUMP` or `LOOP` and its u16 operand).
const JUMP_LEN: usize = 3;
/// Bytes of a jump's operand.
const U16: usize = 2;

// The layouts the handlers share: a constant `K` and a local `B` sit at
// the same offset, so one handler serves both forms (the table's layout
// test pins these).
const _: () = assert!(LOCAL_LESS_CONST_JUMP::K == LOCAL_LESS_LOCAL_JUMP::B);
const _: () = assert!(LOCAL_LESS_CONST_JUMP::JUMP == LOCAL_LESS_LOCAL_JUMP::JUMP);
const _: () = assert!(LOCAL_ADD_CONST_SET::K == LOCAL_ADD_LOCAL_SET::B);
const _: () = assert!(LOCAL_ADD_CONST_SET::C == LOCAL_ADD_LOCAL_SET::C);
const _: () = assert!(LOCAL_ADD_CONST_SET::LEN == LOCAL_ADD_LOCAL_SET::LEN);
// A global's and a local's instructions are both two bytes: the fused
// condition of a global has the local one's layout.
const _: () = assert!(GLOBAL_LESS_CONST_JUMP::K == LOCAL_LESS_CONST_JUMP::K);
const _: () = assert!(GLOBAL_LESS_CONST_JUMP::JUMP == LOCAL_LESS_CONST_JUMP::JUMP);
const _: () = assert!(GLOBAL_LESS_CONST_JUMP::LEN == LOCAL_LESS_CONST_JUMP::LEN);
const _: () = assert!(GLOBAL_LESS_CONST_JUMP::COUNT == LOCAL_LESS_CONST_JUMP::COUNT);
// The literals `nil`, `true` and `false` are one-byte instructions: their
// discards and comparisons share one layout each.
const _: () =
    assert!(DISCARD_TRUE::LEN == DISCARD_NIL::LEN && DISCARD_FALSE::LEN == DISCARD_NIL::LEN);
const _: () = assert!(DISCARD_TRUE::COUNT == DISCARD_NIL::COUNT);
const _: () = assert!(DISCARD_FALSE::COUNT == DISCARD_NIL::COUNT);
const _: () = assert!(EQUAL_TRUE::LEN == EQUAL_NIL::LEN && EQUAL_FALSE::LEN == EQUAL_NIL::LEN);
const _: () = assert!(EQUAL_TRUE::COUNT == EQUAL_NIL::COUNT);
const _: () = assert!(EQUAL_FALSE::COUNT == EQUAL_NIL::COUNT);
const _: () = assert!(EQUAL_TRUE_POP::LEN == EQUAL_NIL_POP::LEN);
const _: () = assert!(EQUAL_FALSE_POP::LEN == EQUAL_NIL_POP::LEN);
const _: () = assert!(EQUAL_TRUE_POP::COUNT == EQUAL_NIL_POP::COUNT);
const _: () = assert!(EQUAL_FALSE_POP::COUNT == EQUAL_NIL_POP::COUNT);

/// Local slot `offset`'s operand names.
#[inline(always)]
fn local(vm: &Vm, r: &Regs, offset: usize) -> Value {
    vm.mu.stack.get(r.base + r.ip.at(offset) as usize)
}

#[inline(always)]
fn set_local(vm: &mut Vm, r: &Regs, offset: usize, v: Value) {
    vm.mu.stack.set(r.base + r.ip.at(offset) as usize, v);
}

#[inline(always)]
fn operand(vm: &Vm, r: &Regs, kind: Operand, offset: usize) -> Value {
    match kind {
        Operand::Constant => r.constants.constant(r.ip.at(offset) as usize),
        Operand::Local => local(vm, r, offset),
    }
}

/// `v`, read as an operand of `kind`, is a number. A constant operand of
/// a fused arithmetic or comparison is one by construction: the
/// quickener fuses only where the constant is a number (`quicken.rs`'s
/// predicates), and constants never change; only a local needs the test.
#[inline(always)]
fn number_operand(v: Value, kind: Operand) -> bool {
    match kind {
        Operand::Constant => {
            debug_assert!(
                v.is_number(),
                "QUICKEN_EQUIV: a fused constant that is not a number"
            );
            true
        }
        Operand::Local => v.is_number(),
    }
}

/// A u16 jump operand at `offset`.
#[inline(always)]
fn u16_at(r: &Regs, offset: usize) -> usize {
    ((r.ip.at(offset) as usize) << 8) | r.ip.at(offset + 1) as usize
}

/// After a fused sequence that ends in `POP`: a loop body or a `for`
/// increment clause that ends there is followed by its `LOOP`, which is
/// never quickened; take it at once (its safepoint is the caller's).
#[inline(always)]
fn follow_loop(r: &mut Regs) -> Flow {
    if r.ip.at(0) == op::Loop {
        let off = u16_at(r, 1);
        r.ip.forward(JUMP_LEN);
        r.ip.back(off);
        r.budget -= 1;
        return Flow::Safepoint;
    }
    Flow::Next
}

/// `GET_LOCAL_2`.
#[inline(always)]
pub(crate) fn get_local_2(vm: &mut Vm, r: &mut Regs) {
    use GET_LOCAL_2 as l;
    let a = local(vm, r, l::A);
    vm.mu.stack.push(a);
    let b = local(vm, r, l::B);
    vm.mu.stack.push(b);
    r.ip.forward(l::LEN);
    r.budget -= l::COUNT - 1;
}

/// `LOCAL_<cmp>_<b>_JUMP`: `a <cmp> b` and its conditional jump.
#[inline(always)]
pub(crate) fn compare_jump(vm: &mut Vm, r: &mut Regs, cmp: Cmp, b: Operand) {
    use LOCAL_LESS_CONST_JUMP as l;
    let a = local(vm, r, l::A);
    let y = operand(vm, r, b, l::K);
    compare_jump_values(vm, r, cmp, a, y, b);
}

/// The fast path of a fused condition (`GET a; GET/CONSTANT b; LESS/GREATER;
/// JUMP_IF_FALSE; POP`), its operands read: true skips all five, false
/// jumps and takes the `POP` at the jump's target too (or, were the target
/// something else, leaves `false` for it, as the sequence does).
#[inline(always)]
fn compare_jump_values(vm: &mut Vm, r: &mut Regs, cmp: Cmp, a: Value, b: Value, kind: Operand) {
    use LOCAL_LESS_CONST_JUMP as l;
    if !(a.is_number() && number_operand(b, kind)) {
        vm.mu.stack.push(a);
        r.ip.forward(1);
        return;
    }
    if cmp.holds(a.as_number(), b.as_number()) {
        r.ip.forward(l::LEN);
        r.budget -= l::COUNT - 1;
        // A `for` loop's condition is followed by the jump over its
        // increment clause: take it now.
        if r.ip.at(0) == op::Jump {
            let off = u16_at(r, 1);
            r.ip.forward(JUMP_LEN + off);
            r.budget -= 1;
        }
    } else {
        let off = u16_at(r, l::JUMP);
        r.ip.forward(l::JUMP + U16 + off);
        // Every instruction through the JUMP_IF_FALSE.
        r.budget -= l::COUNT - 2;
        // Its target is the `POP` of the condition (an `if`'s else branch,
        // a loop's exit), never quickened: take it too, without pushing
        // the `false` it would pop.
        if r.ip.at(0) == op::Pop {
            r.ip.forward(1);
            r.budget -= 1;
        } else {
            vm.mu.stack.push(Value::FALSE);
        }
    }
}

/// The global whose slot the function recorded for the constant operand
/// at `offset` (`Value::UNDEF`: not defined).
#[inline(always)]
fn global(vm: &Vm, r: &Regs, offset: usize) -> Value {
    vm.mu
        .global(r.closure.function.global_slot(r.ip.at(offset) as usize))
}

/// `GLOBAL_LESS_CONST_JUMP`: `g < k` and its conditional jump. `false`
/// (nothing done) when `g` is not defined: the `GET_GLOBAL`'s error.
#[inline(always)]
pub(crate) fn global_compare_jump(vm: &mut Vm, r: &mut Regs, cmp: Cmp) -> bool {
    use GLOBAL_LESS_CONST_JUMP as l;
    let a = global(vm, r, l::A);
    if a == Value::UNDEF {
        return false;
    }
    let b = operand(vm, r, Operand::Constant, l::K);
    compare_jump_values(vm, r, cmp, a, b, Operand::Constant);
    true
}

/// `GLOBAL_ADD_CONST_SET`: `c = a + k;` over globals. `None` (nothing
/// done) when `a` is not defined: the `GET_GLOBAL`'s error.
#[inline(always)]
pub(crate) fn global_add_const_set(vm: &mut Vm, r: &mut Regs) -> Option<Flow> {
    use GLOBAL_ADD_CONST_SET as l;
    let a = global(vm, r, l::A);
    if a == Value::UNDEF {
        return None;
    }
    let k = operand(vm, r, Operand::Constant, l::K);
    let c = r.closure.function.global_slot(r.ip.at(l::C) as usize);
    // An undefined `c` is the `SET_GLOBAL`'s error: the slow path gets
    // there instruction by instruction.
    if a.is_number() && number_operand(k, Operand::Constant) && vm.mu.global(c) != Value::UNDEF {
        vm.mu
            .set_global(c, Value::number(a.as_number() + k.as_number()));
        r.ip.forward(l::LEN);
        r.budget -= l::COUNT - 1;
        return Some(follow_loop(r));
    }
    vm.mu.stack.push(a);
    r.ip.forward(1);
    Some(Flow::Next)
}

/// `LOCAL_<op>_CONST_SET` / `LOCAL_ADD_LOCAL_SET`: `c = a <op> b;`.
#[inline(always)]
pub(crate) fn local_arith_set(vm: &mut Vm, r: &mut Regs, arith: Arith, b: Operand) -> Flow {
    use LOCAL_ADD_CONST_SET as l;
    let a = local(vm, r, l::A);
    let k = operand(vm, r, b, l::K);
    if a.is_number() && number_operand(k, b) {
        set_local(
            vm,
            r,
            l::C,
            Value::number(arith.apply(a.as_number(), k.as_number())),
        );
        r.ip.forward(l::LEN);
        r.budget -= l::COUNT - 1;
        return follow_loop(r);
    }
    vm.mu.stack.push(a);
    r.ip.forward(1);
    Flow::Next
}

/// `LOCAL_<op>_CONST`: `a <op> k`.
#[inline(always)]
pub(crate) fn local_arith_const(vm: &mut Vm, r: &mut Regs, arith: Arith) {
    use LOCAL_ADD_CONST as l;
    let a = local(vm, r, l::A);
    let k = operand(vm, r, Operand::Constant, l::K);
    if a.is_number() && number_operand(k, Operand::Constant) {
        vm.mu
            .stack
            .push(Value::number(arith.apply(a.as_number(), k.as_number())));
        r.ip.forward(l::LEN);
        r.budget -= l::COUNT - 1;
    } else {
        vm.mu.stack.push(a);
        r.ip.forward(1);
    }
}

/// `LOCAL_ADD_INDEX_SET`: `c = a + xs[i];` over a list of numbers.
#[inline(always)]
pub(crate) fn local_add_index_set(vm: &mut Vm, r: &mut Regs) -> Flow {
    use LOCAL_ADD_INDEX_SET as l;
    let a = local(vm, r, l::A);
    let target = local(vm, r, l::XS);
    let index = local(vm, r, l::I);
    let element = match target.view() {
        // Not testing that `index` is a number: any other value reads as a
        // NaN, which `element_at` refuses.
        Some(crate::object::View::List(list)) if a.is_number() => {
            list.element_at(index.as_number()).filter(|e| e.is_number())
        }
        _ => None,
    };
    match element {
        Some(e) => {
            set_local(vm, r, l::C, Value::number(a.as_number() + e.as_number()));
            r.ip.forward(l::LEN);
            r.budget -= l::COUNT - 1;
            follow_loop(r)
        }
        None => {
            vm.mu.stack.push(a);
            r.ip.forward(1);
            Flow::Next
        }
    }
}

/// `LOCAL_INDEX_LOCAL`: `xs[i]` for a list and an index in range.
#[inline(always)]
pub(crate) fn local_index_local(vm: &mut Vm, r: &mut Regs) {
    use LOCAL_INDEX_LOCAL as l;
    let target = local(vm, r, l::A);
    let index = local(vm, r, l::B);
    let element = match target.view() {
        // As in `local_add_index_set`: a non-number index reads as a NaN.
        Some(crate::object::View::List(list)) => list.element_at(index.as_number()),
        _ => None,
    };
    match element {
        Some(v) => {
            vm.mu.stack.push(v);
            r.ip.forward(l::LEN);
            r.budget -= l::COUNT - 1;
        }
        None => {
            vm.mu.stack.push(target);
            r.ip.forward(1);
        }
    }
}

/// `LOCAL_GET_PROPERTY`: `a.name` for an instance with that field.
#[inline(always)]
pub(crate) fn local_get_property(vm: &mut Vm, r: &mut Regs) {
    use LOCAL_GET_PROPERTY as l;
    let a = local(vm, r, l::A);
    // VERIFIED: GET_PROPERTY's operand is a string constant.
    let name = Gc::<StringObj>::verified_string(r.constants.constant(r.ip.at(l::NAME) as usize));
    let field = a
        .as_obj()
        .and_then(|o| o.downcast::<InstanceObj>())
        .and_then(|i| i.fields_loc().get(name));
    match field {
        Some(v) => {
            vm.mu.stack.push(v);
            r.ip.forward(l::LEN);
            r.budget -= l::COUNT - 1;
        }
        None => {
            vm.mu.stack.push(a);
            r.ip.forward(1);
        }
    }
}

/// `EQUAL_CONST`: the top of the stack `==` a constant.
#[inline(always)]
pub(crate) fn equal_const(vm: &mut Vm, r: &mut Regs) {
    use EQUAL_CONST as l;
    let k = operand(vm, r, Operand::Constant, l::K);
    let a = vm.mu.stack.peek(0);
    vm.mu.stack.set_top(0, Value::bool(a.lox_eq(k)));
    r.ip.forward(l::LEN);
    r.budget -= l::COUNT - 1;
}

/// `DISCARD_*`: a literal pushed and popped at once does nothing; the
/// instructions are charged and a loop's `LOOP` right after is taken.
#[inline(always)]
pub(crate) fn discard(r: &mut Regs, len: usize, count: i64) -> Flow {
    r.ip.forward(len);
    r.budget -= count - 1;
    follow_loop(r)
}

/// `EQUAL_NIL`, `EQUAL_TRUE`, `EQUAL_FALSE`: `x == literal` once `x` is on
/// the stack.
#[inline(always)]
pub(crate) fn equal_literal(vm: &mut Vm, r: &mut Regs, literal: Value) {
    use EQUAL_NIL as l;
    let a = vm.mu.stack.peek(0);
    vm.mu.stack.set_top(0, Value::bool(a.lox_eq(literal)));
    r.ip.forward(l::LEN);
    r.budget -= l::COUNT - 1;
}

/// `EQUAL_*_POP`: a comparison whose result is discarded. Equality has no
/// effect and never fails, so only its left operand is popped.
#[inline(always)]
pub(crate) fn equal_pop(vm: &mut Vm, r: &mut Regs, len: usize, count: i64) -> Flow {
    vm.mu.stack.pop();
    r.ip.forward(len);
    r.budget -= count - 1;
    follow_loop(r)
}

/// `SET_LOCAL_POP`.
#[inline(always)]
pub(crate) fn set_local_pop(vm: &mut Vm, r: &mut Regs) -> Flow {
    use SET_LOCAL_POP as l;
    let v = vm.mu.stack.pop();
    set_local(vm, r, l::C, v);
    r.ip.forward(l::LEN);
    r.budget -= l::COUNT - 1;
    follow_loop(r)
}

/// `ADD_SET_LOCAL_POP` for two numbers; `None` (nothing done) for the slow
/// path, where the loop runs a plain `ADD`.
#[inline(always)]
pub(crate) fn add_set_local_pop(vm: &mut Vm, r: &mut Regs) -> Option<Flow> {
    use ADD_SET_LOCAL_POP as l;
    let b = vm.mu.stack.peek(0);
    let a = vm.mu.stack.peek(1);
    if !(a.is_number() && b.is_number()) {
        return None;
    }
    vm.mu.stack.truncate(vm.mu.stack.len() - 2);
    set_local(vm, r, l::C, Value::number(a.as_number() + b.as_number()));
    r.ip.forward(l::LEN);
    r.budget -= l::COUNT - 1;
    Some(follow_loop(r))
}

/// `FOR_<op>_<cmp>_<y>`: a `for` loop's increment clause, its `LOOP` and
/// the condition it loops back to, as one instruction. When the budget
/// runs out at the `LOOP`, it stops at that safepoint and lets the
/// dispatch run the condition, as without fusion.
#[inline(always)]
pub(crate) fn for_step(vm: &mut Vm, r: &mut Regs, arith: Arith, cmp: Cmp, y: Operand) -> Flow {
    use FOR_ADD_LESS_CONST as l;
    let a = local(vm, r, l::A);
    let k = operand(vm, r, Operand::Constant, l::K);
    if !(a.is_number() && number_operand(k, Operand::Constant)) {
        vm.mu.stack.push(a);
        r.ip.forward(1);
        return Flow::Next;
    }
    set_local(
        vm,
        r,
        l::C,
        Value::number(arith.apply(a.as_number(), k.as_number())),
    );
    let back = u16_at(r, l::BACK);
    r.ip.forward(l::LEN);
    r.ip.back(back);
    r.budget -= l::COUNT - 1;
    if r.budget <= 0 {
        return Flow::Safepoint;
    }
    // The condition, charged as its own dispatch and read at the ip the
    // dispatch would read (CPython's PREDICT).
    use LOCAL_LESS_CONST_JUMP as c;
    r.ip.forward(1);
    r.budget -= 1;
    let x = local(vm, r, c::A);
    let yv = operand(vm, r, y, c::K);
    compare_jump_values(vm, r, cmp, x, yv, y);
    Flow::Next
}
