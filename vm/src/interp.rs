//! The instruction loop: clox's `run()`, instruction for instruction, plus
//! one line per fused opcode (the superinstructions of `quicken.rs`, whose
//! handlers are in `fused.rs`); the calls, invocations and upvalues the
//! loop needs.

use lang::op;

use crate::collections::{self, list_index};
use crate::error::RuntimeError;
use crate::frame::{CallFrame, FRAMES_MAX};
use crate::fused::{self, Arith::*, Cmp::*, Flow, Operand::*};
use crate::native::{NativeCtx, NativeError};
use crate::object::{
    BoundMethodObj, BoundNativeObj, BytesObj, ClassObj, ClosureObj, CoroutineObj, FunctionObj, Gc,
    InstanceObj, Ip, ListObj, NativeObj, StringObj, UpvalueObj, ValueArrayObj, View,
};
use crate::print;
use crate::quicken::{layout, qop};
use crate::sched::{Park, BUDGET};
use crate::value::Value;
use crate::vm::Vm;

/// The interpreter's registers: the running frame's closure, code,
/// constants, `ip` and stack base, and the preemption budget, kept in the
/// loop's locals (clox's `frame` cache) and handed to the fused handlers.
/// `frames.last().ip` is written back only before anything that can look
/// at it (a call, a safepoint that may raise an error, an error).
pub(crate) struct Regs {
    pub(crate) closure: Gc<ClosureObj>,
    pub(crate) code: Gc<BytesObj>,
    pub(crate) constants: Gc<ValueArrayObj>,
    pub(crate) ip: Ip,
    pub(crate) base: usize,
    /// Instructions left before the next preemption check.
    pub(crate) budget: i64,
}

impl Vm {
    pub(crate) fn run(&mut self) -> Result<(), RuntimeError> {
        let Some(frame) = self.mu.frames.last() else {
            return Ok(());
        };
        let mut r = Regs {
            budget: BUDGET,
            closure: frame.closure,
            code: frame.closure.function.code,
            constants: frame.closure.function.constants,
            ip: Ip::new(frame.closure.function.code, frame.ip),
            base: frame.base,
        };

        macro_rules! read_byte {
            () => {{
                r.ip.next()
            }};
        }
        macro_rules! read_u16 {
            () => {{
                let hi = r.ip.next() as usize;
                let lo = r.ip.next() as usize;
                (hi << 8) | lo
            }};
        }
        macro_rules! read_constant {
            () => {
                r.constants.constant(read_byte!() as usize)
            };
        }
        macro_rules! read_string {
            () => {
                // VERIFIED: name operands index string r.constants.
                Gc::<StringObj>::verified_string(read_constant!())
            };
        }
        macro_rules! save_ip {
            () => {
                self.mu.frames.set_last_ip(r.ip.offset(r.code));
            };
        }
        macro_rules! throw {
            ($msg:expr) => {{
                save_ip!();
                return Err(self.error($msg));
            }};
        }
        macro_rules! reload {
            () => {{
                let Some(f) = self.mu.frames.last() else {
                    return Ok(());
                };
                r.closure = f.closure;
                r.code = r.closure.function.code;
                r.constants = r.closure.function.constants;
                r.ip = Ip::new(r.code, f.ip);
                r.base = f.base;
            }};
        }
        // The common call: a r.closure's new frame becomes the current one
        // without going through the frame stack.
        macro_rules! enter_closure {
            ($c:expr, $argc:expr) => {{
                let c = $c;
                self.call(c, $argc)?;
                r.closure = c;
                r.code = c.function.code;
                r.constants = c.function.constants;
                r.ip = Ip::new(r.code, 0);
                r.base = self.mu.stack.len() - $argc - 1;
            }};
        }
        // clox's error for the global whose name is constant `k`, from a
        // slot form that found the slot unset.
        macro_rules! throw_undefined_global {
            ($k:expr) => {
                throw!(undefined_variable(Gc::<StringObj>::verified_string(
                    r.constants.constant($k)
                )))
            };
        }
        macro_rules! pop {
            () => {
                self.mu.stack.pop()
            };
        }
        macro_rules! peek {
            ($d:expr) => {
                self.mu.stack.peek($d)
            };
        }
        macro_rules! binary_num {
            ($op:tt, $wrap:expr) => {{
                let b = peek!(0);
                let a = peek!(1);
                if !a.is_number() || !b.is_number() {
                    throw!("Operands must be numbers.");
                }
                self.mu.stack.pop();
                self.mu.stack.set_top(0, $wrap(a.as_number() $op b.as_number()));
            }};
        }
        // Runs a fallible VM helper that may push a frame or raise an error:
        // the innermost frame's r.ip must be current for either.
        macro_rules! with_ip {
            ($e:expr) => {{
                save_ip!();
                $e?;
                reload!();
            }};
        }

        // A new slice begins (preemption, a switch to another coroutine):
        // the instructions of the one that ends count against
        // `max_instructions`.
        macro_rules! reset_budget {
            () => {{
                let used = BUDGET - r.budget;
                r.budget = BUDGET;
                self.mu.spend_fuel(used)?;
            }};
        }
        // After a call that may have run a native: a blocking native
        // (channel, join, sleep, yield) asked to park the coroutine.
        macro_rules! check_park {
            () => {
                if let Some(park) = self.sched.park.take() {
                    save_ip!();
                    reset_budget!();
                    self.park_current(park)?;
                    reload!();
                }
            };
        }
        // Preemption at a safepoint once the r.budget is spent, if anyone
        // else can run.
        macro_rules! maybe_preempt {
            () => {
                if r.budget <= 0 {
                    save_ip!();
                    reset_budget!();
                    // Ctrl-C (issue #9): one load per r.budget, none per
                    // instruction.
                    if self.interrupt_pending() {
                        return Err(self.interrupted());
                    }
                    self.fin_wake_check();
                    self.mu.settle_interned();
                    if self.sched.has_runnable() {
                        save_ip!();
                        self.park_current(Park::Yield)?;
                        reload!();
                    }
                }
            };
        }

        // OP_ADD, for its own opcode and the slow path of ADD_SET_LOCAL_POP.
        macro_rules! do_add {
            () => {{
                let b = peek!(0);
                let a = peek!(1);
                if a.is_number() && b.is_number() {
                    self.mu.stack.pop();
                    self.mu
                        .stack
                        .set_top(0, Value::number(a.as_number() + b.as_number()));
                } else if let (Some(sa), Some(sb)) = (
                    a.as_obj().and_then(|o| o.downcast::<StringObj>()),
                    b.as_obj().and_then(|o| o.downcast::<StringObj>()),
                ) {
                    save_ip!();
                    let s = self.mu.concat(sa, sb)?;
                    self.mu.stack.pop();
                    self.mu.stack.set_top(0, s.value());
                } else {
                    throw!("Operands must be two numbers or two strings.");
                }
            }};
        }
        // OP_RETURN of `$result` (already popped), for its own opcode and
        // NIL_RETURN.
        macro_rules! do_return {
            ($result:expr) => {{
                let result = $result;
                self.close_upvalues(r.base);
                self.mu.frames.pop();
                if self.mu.frames.is_empty() {
                    self.mu.stack.clear();
                    if self.mu.current == self.mu.coroutines.main {
                        // The main script ended: so does the program.
                        return Ok(());
                    }
                    if self.is_finalizer_running() {
                        reset_budget!();
                        self.fin_returned()?;
                        reload!();
                        continue;
                    }
                    reset_budget!();
                    self.finish_current(result)?;
                    reload!();
                    continue;
                }
                self.mu.stack.truncate(r.base);
                self.mu.stack.push(result);
                reload!();
            }};
        }

        // A fused handler that took a `LOOP` ran into its safepoint.
        macro_rules! flow {
            ($flow:expr) => {
                if $flow == Flow::Safepoint {
                    maybe_preempt!();
                }
            };
        }
        // A `for` step (`$me`, Lua's FORLOOP) whose loop body is one fused
        // assignment: step and body dispatch each other here, exactly as
        // the loop would dispatch them (each charged its read of the
        // opcode, each body taking the LOOP whose safepoint does nothing
        // while budget is left), until either leaves the pair or the
        // budget runs out; the dispatch then goes on from where they are.
        macro_rules! for_loop {
            ($arith:expr, $cmp:expr, $y:expr, $me:expr) => {{
                let mut f = fused::for_step(self, &mut r, $arith, $cmp, $y);
                while f == Flow::Next && r.budget > 0 {
                    let body = r.ip.at(0);
                    // Each arm charges its own dispatch: one charge before
                    // a shared test of the three measured 2% more
                    // instructions in the list loop.
                    f = if body == qop::LOCAL_ADD_INDEX_SET {
                        r.budget -= 1;
                        r.ip.forward(1);
                        fused::local_add_index_set(self, &mut r)
                    } else if body == qop::LOCAL_ADD_LOCAL_SET {
                        r.budget -= 1;
                        r.ip.forward(1);
                        fused::local_arith_set(self, &mut r, Add, Local)
                    } else if body == qop::LOCAL_ADD_CONST_SET {
                        r.budget -= 1;
                        r.ip.forward(1);
                        fused::local_arith_set(self, &mut r, Add, Constant)
                    } else {
                        break;
                    };
                    if f != Flow::Safepoint || r.budget <= 0 || r.ip.at(0) != $me {
                        break;
                    }
                    r.budget -= 1;
                    r.ip.forward(1);
                    f = fused::for_step(self, &mut r, $arith, $cmp, $y);
                }
                flow!(f)
            }};
        }
        loop {
            r.budget -= 1;
            let op = read_byte!();
            match op {
                op::Constant => {
                    let v = read_constant!();
                    self.mu.stack.push(v);
                }
                op::Nil => self.mu.stack.push(Value::NIL),
                op::True => self.mu.stack.push(Value::TRUE),
                op::False => self.mu.stack.push(Value::FALSE),
                op::Pop => {
                    self.mu.stack.pop();
                }
                op::GetLocal => {
                    let slot = read_byte!() as usize;
                    let v = self.mu.stack.get(r.base + slot);
                    self.mu.stack.push(v);
                }
                op::SetLocal => {
                    let slot = read_byte!() as usize;
                    self.mu.stack.set(r.base + slot, peek!(0));
                }
                // The globals by name, as clox: the name's slot is looked up
                // in the names table at every execution (the quickened
                // forms below index the slot their function recorded).
                op::GetGlobal => {
                    let name = read_string!();
                    match self.mu.global_named(name) {
                        Some(v) => self.mu.stack.push(v),
                        None => throw!(undefined_variable(name)),
                    }
                }
                op::DefineGlobal => {
                    let name = read_string!();
                    save_ip!();
                    // Loaded code's names have their slots (load.rs).
                    let slot = self.mu.global_slot(name)?;
                    self.mu.set_global(slot, peek!(0));
                    self.mu.stack.pop();
                }
                op::SetGlobal => {
                    let name = read_string!();
                    let slot = self
                        .mu
                        .global_slot_of(name)
                        .filter(|&s| self.mu.global(s) != Value::UNDEF);
                    let Some(slot) = slot else {
                        throw!(undefined_variable(name));
                    };
                    self.mu.set_global(slot, peek!(0));
                }
                // A global's slot, recorded at load (`FunctionObj::
                // global_slots`); unset (`UNDEF`) is clox's error at the
                // same instruction.
                qop::GET_GLOBAL_SLOT => {
                    let k = read_byte!() as usize;
                    let v = self.mu.global(r.closure.function.global_slot(k));
                    if v == Value::UNDEF {
                        throw_undefined_global!(k);
                    }
                    self.mu.stack.push(v);
                }
                qop::SET_GLOBAL_SLOT => {
                    let k = read_byte!() as usize;
                    let slot = r.closure.function.global_slot(k);
                    if self.mu.global(slot) == Value::UNDEF {
                        throw_undefined_global!(k);
                    }
                    self.mu.set_global(slot, peek!(0));
                }
                qop::GLOBAL_LESS_CONST_JUMP => {
                    if !fused::global_compare_jump(self, &mut r, Less) {
                        throw_undefined_global!(r.ip.at(layout::GLOBAL_LESS_CONST_JUMP::A) as usize);
                    }
                }
                qop::GLOBAL_ADD_CONST_SET => match fused::global_add_const_set(self, &mut r) {
                    Some(f) => flow!(f),
                    None => {
                        throw_undefined_global!(r.ip.at(layout::GLOBAL_ADD_CONST_SET::A) as usize)
                    }
                },
                qop::DEFINE_GLOBAL_SLOT => {
                    let k = read_byte!() as usize;
                    let v = pop!();
                    self.mu.set_global(r.closure.function.global_slot(k), v);
                }
                op::GetUpvalue => {
                    let i = read_byte!() as usize;
                    let u = r.closure.upvalues()[i];
                    let slot = u.slot();
                    let v = if slot == UpvalueObj::CLOSED {
                        u.closed()
                    } else if u.owner() == self.mu.current {
                        self.mu.stack.get(slot)
                    } else {
                        // Open in a parked coroutine: read its stack.
                        u.owner().map_or(Value::NIL, |o| o.slot(slot))
                    };
                    self.mu.stack.push(v);
                }
                op::SetUpvalue => {
                    let i = read_byte!() as usize;
                    let u = r.closure.upvalues()[i];
                    let slot = u.slot();
                    let v = peek!(0);
                    if slot == UpvalueObj::CLOSED {
                        u.set_closed(&mut self.mu.wb, v);
                    } else if u.owner() == self.mu.current {
                        self.mu.stack.set(slot, v);
                    } else if let Some(o) = u.owner() {
                        o.set_slot(&mut self.mu.wb, slot, v);
                    }
                }
                op::GetProperty => {
                    let receiver = peek!(0);
                    let Some(instance) =
                        receiver.as_obj().and_then(|o| o.downcast::<InstanceObj>())
                    else {
                        let name = read_string!();
                        save_ip!();
                        self.get_native_method(receiver, name)?;
                        continue;
                    };
                    let name = read_string!();
                    if let Some(v) = instance.fields_loc().get(name) {
                        self.mu.stack.set_top(0, v);
                    } else {
                        save_ip!();
                        self.bind_method(instance.class, name)?;
                    }
                }
                op::SetProperty => {
                    let Some(instance) =
                        peek!(1).as_obj().and_then(|o| o.downcast::<InstanceObj>())
                    else {
                        throw!("Only instances have fields.");
                    };
                    let name = read_string!();
                    let fields = instance.fields_loc();
                    save_ip!();
                    self.mu.table_reserve(fields)?;
                    fields.set(&mut self.mu.wb, name, peek!(0));
                    let v = pop!();
                    self.mu.stack.pop();
                    self.mu.stack.push(v);
                }
                op::GetSuper => {
                    let name = read_string!();
                    let superclass = pop!();
                    let Some(class) = superclass.as_obj().and_then(|o| o.downcast::<ClassObj>())
                    else {
                        throw!("Superclass must be a class.");
                    };
                    save_ip!();
                    self.bind_method(class, name)?;
                }
                op::Equal => {
                    let b = pop!();
                    let a = pop!();
                    self.mu.stack.push(Value::bool(a.lox_eq(b)));
                }
                op::Greater => binary_num!(>, Value::bool),
                op::Less => binary_num!(<, Value::bool),
                // One copy of OP_ADD for both: ADD_SET_LOCAL_POP's slow path
                // is a plain ADD.
                op::Add | qop::ADD_SET_LOCAL_POP => {
                    if op == qop::ADD_SET_LOCAL_POP {
                        if let Some(f) = fused::add_set_local_pop(self, &mut r) {
                            flow!(f);
                            continue;
                        }
                    }
                    do_add!();
                }
                op::Subtract => binary_num!(-, Value::number),
                op::Multiply => binary_num!(*, Value::number),
                op::Divide => binary_num!(/, Value::number),
                op::Not => {
                    let v = pop!();
                    self.mu.stack.push(Value::bool(v.is_falsey()));
                }
                op::Negate => {
                    let v = peek!(0);
                    if !v.is_number() {
                        throw!("Operand must be a number.");
                    }
                    self.mu.stack.set_top(0, Value::number(-v.as_number()));
                }
                op::Print => {
                    let v = pop!();
                    save_ip!();
                    print::print_value(&mut self.mu, &mut *self.out, v)?;
                }
                op::Jump => {
                    let off = read_u16!();
                    r.ip.forward(off);
                }
                op::JumpIfFalse => {
                    let off = read_u16!();
                    if peek!(0).is_falsey() {
                        r.ip.forward(off);
                    }
                }
                op::Loop => {
                    let off = read_u16!();
                    r.ip.back(off);
                    maybe_preempt!();
                }
                op::Call => {
                    let argc = read_byte!() as usize;
                    let callee = peek!(argc);
                    save_ip!();
                    match callee.as_obj().and_then(|o| o.downcast::<ClosureObj>()) {
                        // The common case, without the generic dispatch.
                        Some(c) => enter_closure!(c, argc),
                        None => {
                            self.call_value(callee, argc)?;
                            reload!();
                            check_park!();
                        }
                    }
                    maybe_preempt!();
                }
                op::Invoke => {
                    let name = read_string!();
                    let argc = read_byte!() as usize;
                    save_ip!();
                    let receiver = peek!(argc);
                    // The list push intrinsic (Vm::define_list_push).
                    if argc == 1 && Some(name) == self.list_push_name {
                        if let Some(list) = receiver.as_obj().and_then(|o| o.downcast::<ListObj>())
                        {
                            let v = peek!(0);
                            collections::list_push(&mut self.mu, list, v)?;
                            self.mu.stack.pop();
                            self.mu.stack.set_top(0, Value::NIL);
                            continue;
                        }
                    }
                    // Fast path: an instance whose method (not a field of
                    // the same name) is a r.closure.
                    let method = receiver
                        .as_obj()
                        .and_then(|o| o.downcast::<InstanceObj>())
                        .filter(|i| !i.fields_loc().contains(name))
                        .and_then(|i| i.class.methods_loc().get(name))
                        .and_then(|m| m.as_obj())
                        .and_then(|o| o.downcast::<ClosureObj>());
                    match method {
                        Some(c) => enter_closure!(c, argc),
                        None => {
                            self.invoke(name, argc)?;
                            reload!();
                            check_park!();
                        }
                    }
                }
                op::SuperInvoke => {
                    let name = read_string!();
                    let argc = read_byte!() as usize;
                    let superclass = pop!();
                    let Some(class) = superclass.as_obj().and_then(|o| o.downcast::<ClassObj>())
                    else {
                        throw!("Superclass must be a class.");
                    };
                    with_ip!(self.invoke_from_class(class, name, argc));
                    check_park!();
                }
                op::Closure => {
                    let function: Option<Gc<FunctionObj>> =
                        read_constant!().as_obj().and_then(|o| o.downcast());
                    let Some(function) = function else {
                        throw!("Corrupt bytecode: expected a function constant.");
                    };
                    save_ip!();
                    // Capture first (each capture may allocate), keeping the
                    // new upvalues rooted, then build the r.closure.
                    let count = function.upvalue_count as usize;
                    let roots_base = self.mu.temp_roots.len();
                    for _ in 0..count {
                        let is_local = read_byte!() != 0;
                        let index = read_byte!() as usize;
                        let u = if is_local {
                            self.capture_upvalue(r.base + index)?
                        } else {
                            r.closure.upvalues()[index]
                        };
                        self.mu.temp_roots.push(u.value());
                    }
                    save_ip!();
                    let captured: Vec<Gc<UpvalueObj>> = self.mu.temp_roots[roots_base..]
                        .iter()
                        .filter_map(|v| v.as_obj().and_then(|o| o.downcast()))
                        .collect();
                    let c = self.mu.new_closure_with(function, |i| captured[i])?;
                    self.mu.temp_roots.truncate(roots_base);
                    self.mu.stack.push(c.value());
                }
                op::CloseUpvalue => {
                    let top = self.mu.stack.len() - 1;
                    self.close_upvalues(top);
                    self.mu.stack.pop();
                }
                // One copy of the return path for both.
                op::Return | qop::NIL_RETURN | qop::RETURN_LOCAL => {
                    let result = if op == qop::NIL_RETURN {
                        r.budget -= layout::NIL_RETURN::COUNT - 1;
                        Value::NIL
                    } else if op == qop::RETURN_LOCAL {
                        // The frame is unwound below the value GET_LOCAL
                        // would push: it need not be pushed.
                        r.budget -= layout::RETURN_LOCAL::COUNT - 1;
                        let slot = r.ip.at(layout::RETURN_LOCAL::A) as usize;
                        self.mu.stack.get(r.base + slot)
                    } else {
                        pop!()
                    };
                    do_return!(result);
                }
                op::Class => {
                    let name = read_string!();
                    save_ip!();
                    let class = self.mu.alloc(ClassObj::SIZE)?.init_class(name);
                    self.mu.stack.push(class.value());
                }
                op::Inherit => {
                    let Some(superclass) = peek!(1).as_obj().and_then(|o| o.downcast::<ClassObj>())
                    else {
                        throw!("Superclass must be a class.");
                    };
                    let Some(subclass) = peek!(0).as_obj().and_then(|o| o.downcast::<ClassObj>())
                    else {
                        throw!("Corrupt bytecode: OP_INHERIT without a class.");
                    };
                    save_ip!();
                    let to = subclass.methods_loc();
                    for e in superclass.methods_loc().entries() {
                        if let Some(k) = e.key {
                            self.mu.table_reserve(to)?;
                            to.set(&mut self.mu.wb, k, e.value);
                        }
                    }
                    self.mu.stack.pop();
                }
                op::List => {
                    let n = read_byte!() as usize;
                    save_ip!();
                    let values: Vec<Value> = (0..n).rev().map(|d| peek!(d)).collect();
                    // The elements stay on the stack (rooted) until the list
                    // holds them.
                    let list = collections::new_list_from(&mut self.mu, &values)?;
                    self.mu.stack.truncate(self.mu.stack.len() - n);
                    self.mu.stack.push(list.value());
                }
                op::ListAppend => {
                    let n = read_byte!() as usize;
                    save_ip!();
                    let Some(list) = peek!(n).as_obj().and_then(|o| o.downcast::<ListObj>()) else {
                        throw!("Corrupt bytecode: OP_LIST_APPEND without a list.");
                    };
                    for d in (0..n).rev() {
                        let v = peek!(d);
                        collections::list_push(&mut self.mu, list, v)?;
                    }
                    self.mu.stack.truncate(self.mu.stack.len() - n);
                }
                op::GetIndex => {
                    let index = peek!(0);
                    let target = peek!(1);
                    let v = match target.view() {
                        Some(View::List(list)) => {
                            let fast = if index.is_number() {
                                list.element_at(index.as_number())
                            } else {
                                None
                            };
                            match fast {
                                Some(v) => v,
                                None => match list_index(index, list.count(), false) {
                                    Ok(i) => list.get(i).unwrap_or(Value::NIL),
                                    Err(m) => throw!(m),
                                },
                            }
                        }
                        Some(View::Map(map)) => match collections::map_get(map, index) {
                            Ok(v) => v,
                            Err(m) => throw!(m),
                        },
                        _ => throw!("Only lists and maps can be indexed."),
                    };
                    self.mu.stack.pop();
                    self.mu.stack.set_top(0, v);
                }
                op::SetIndex => {
                    let v = peek!(0);
                    let index = peek!(1);
                    let target = peek!(2);
                    match target.view() {
                        Some(View::List(list)) => match list_index(index, list.count(), false) {
                            Ok(i) => collections::list_set(&mut self.mu, list, i, v),
                            Err(m) => throw!(m),
                        },
                        Some(View::Map(map)) => {
                            save_ip!();
                            collections::map_set(&mut self.mu, map, index, v)?;
                        }
                        _ => throw!("Only lists and maps can be indexed."),
                    }
                    self.mu.stack.truncate(self.mu.stack.len() - 3);
                    self.mu.stack.push(v);
                }
                // Superinstructions (quicken.rs's table; handlers in
                // fused.rs, QUICKEN_EQUIV).
                qop::GET_LOCAL_2 => fused::get_local_2(self, &mut r),
                qop::LOCAL_LESS_CONST_JUMP => fused::compare_jump(self, &mut r, Less, Constant),
                qop::LOCAL_GREATER_CONST_JUMP => {
                    fused::compare_jump(self, &mut r, Greater, Constant)
                }
                qop::LOCAL_LESS_LOCAL_JUMP => fused::compare_jump(self, &mut r, Less, Local),
                qop::LOCAL_GREATER_LOCAL_JUMP => fused::compare_jump(self, &mut r, Greater, Local),
                qop::LOCAL_ADD_CONST_SET => {
                    flow!(fused::local_arith_set(self, &mut r, Add, Constant))
                }
                qop::LOCAL_SUB_CONST_SET => {
                    flow!(fused::local_arith_set(self, &mut r, Sub, Constant))
                }
                qop::LOCAL_ADD_LOCAL_SET => flow!(fused::local_arith_set(self, &mut r, Add, Local)),
                qop::LOCAL_ADD_CONST => fused::local_arith_const(self, &mut r, Add),
                qop::LOCAL_SUB_CONST => fused::local_arith_const(self, &mut r, Sub),
                qop::LOCAL_ADD_INDEX_SET => flow!(fused::local_add_index_set(self, &mut r)),
                qop::LOCAL_INDEX_LOCAL => fused::local_index_local(self, &mut r),
                qop::LOCAL_GET_PROPERTY => fused::local_get_property(self, &mut r),
                qop::EQUAL_CONST => fused::equal_const(self, &mut r),
                qop::EQUAL_NIL => fused::equal_literal(self, &mut r, Value::NIL),
                qop::EQUAL_TRUE => fused::equal_literal(self, &mut r, Value::TRUE),
                qop::EQUAL_FALSE => fused::equal_literal(self, &mut r, Value::FALSE),
                qop::DISCARD_CONSTANT => {
                    use layout::DISCARD_CONSTANT as l;
                    flow!(fused::discard(&mut r, l::LEN, l::COUNT))
                }
                qop::DISCARD_NIL | qop::DISCARD_TRUE | qop::DISCARD_FALSE => {
                    use layout::DISCARD_NIL as l;
                    flow!(fused::discard(&mut r, l::LEN, l::COUNT))
                }
                qop::EQUAL_CONST_POP => {
                    use layout::EQUAL_CONST_POP as l;
                    flow!(fused::equal_pop(self, &mut r, l::LEN, l::COUNT))
                }
                qop::EQUAL_NIL_POP | qop::EQUAL_TRUE_POP | qop::EQUAL_FALSE_POP => {
                    use layout::EQUAL_NIL_POP as l;
                    flow!(fused::equal_pop(self, &mut r, l::LEN, l::COUNT))
                }
                qop::SET_LOCAL_POP => flow!(fused::set_local_pop(self, &mut r)),
                qop::FOR_ADD_LESS_CONST => for_loop!(Add, Less, Constant, qop::FOR_ADD_LESS_CONST),
                qop::FOR_ADD_LESS_LOCAL => flow!(fused::for_step(self, &mut r, Add, Less, Local)),
                qop::FOR_ADD_GREATER_CONST => {
                    flow!(fused::for_step(self, &mut r, Add, Greater, Constant))
                }
                qop::FOR_ADD_GREATER_LOCAL => {
                    flow!(fused::for_step(self, &mut r, Add, Greater, Local))
                }
                qop::FOR_SUB_LESS_CONST => {
                    flow!(fused::for_step(self, &mut r, Sub, Less, Constant))
                }
                qop::FOR_SUB_LESS_LOCAL => flow!(fused::for_step(self, &mut r, Sub, Less, Local)),
                qop::FOR_SUB_GREATER_CONST => {
                    flow!(fused::for_step(self, &mut r, Sub, Greater, Constant))
                }
                qop::FOR_SUB_GREATER_LOCAL => {
                    flow!(fused::for_step(self, &mut r, Sub, Greater, Local))
                }
                op::Spawn => {
                    let argc = read_byte!() as usize;
                    save_ip!();
                    self.check_spawn(peek!(argc), argc)?;
                    self.spawn(argc)?;
                }
                op::SpawnInvoke => {
                    let name = read_string!();
                    let argc = read_byte!() as usize;
                    save_ip!();
                    self.bind_for_spawn(name, argc, None)?;
                    self.check_spawn(peek!(argc), argc)?;
                    self.spawn(argc)?;
                }
                op::SpawnSuperInvoke => {
                    let name = read_string!();
                    let argc = read_byte!() as usize;
                    let superclass = pop!();
                    let Some(class) = superclass.as_obj().and_then(|o| o.downcast::<ClassObj>())
                    else {
                        throw!("Superclass must be a class.");
                    };
                    save_ip!();
                    self.bind_for_spawn(name, argc, Some(class))?;
                    self.check_spawn(peek!(argc), argc)?;
                    self.spawn(argc)?;
                }
                op::Method => {
                    let name = read_string!();
                    let method = peek!(0);
                    let Some(class) = peek!(1).as_obj().and_then(|o| o.downcast::<ClassObj>())
                    else {
                        throw!("Corrupt bytecode: OP_METHOD without a class.");
                    };
                    save_ip!();
                    let methods = class.methods_loc();
                    self.mu.table_reserve(methods)?;
                    methods.set(&mut self.mu.wb, name, method);
                    self.mu.stack.pop();
                }
                _ => throw!(format!("Corrupt bytecode: unknown opcode {op}.")),
            }
        }
    }

    /// clox's `callValue`. On success either a new frame is on top (a Lox
    /// callee) or the result replaced callee and arguments (a native).
    pub(crate) fn call_value(&mut self, callee: Value, argc: usize) -> Result<(), RuntimeError> {
        match callee.view() {
            Some(View::Closure(c)) => self.call(c, argc),
            Some(View::BoundMethod(b)) => {
                self.mu.stack.set_top(argc, b.receiver);
                self.call(b.method, argc)
            }
            Some(View::Class(class)) => {
                // The class is rooted by its stack slot until replaced.
                let instance = self.mu.alloc(InstanceObj::SIZE)?.init_instance(class);
                self.mu.stack.set_top(argc, instance.value());
                if let Some(init) = class.methods_loc().get(self.mu.init_string) {
                    match init.view() {
                        Some(View::Closure(c)) => self.call(c, argc),
                        _ => Err(self.error("Can only call functions and classes.")),
                    }
                } else if argc != 0 {
                    Err(self.error(format!("Expected 0 arguments but got {argc}.")))
                } else {
                    Ok(())
                }
            }
            Some(View::Native(n)) => self.call_native(n, argc),
            Some(View::BoundNative(b)) => {
                self.mu.stack.set_top(argc, b.receiver);
                self.call_native(b.native, argc)
            }
            _ => Err(self.error("Can only call functions and classes.")),
        }
    }

    /// Calls a native with the callee (or receiver) slot and `argc`
    /// arguments on top of the stack; replaces them with its result.
    fn call_native(&mut self, native: Gc<NativeObj>, argc: usize) -> Result<(), RuntimeError> {
        if native.arity >= 0 && native.arity as usize != argc {
            return Err(self.error(format!(
                "Expected {} arguments but got {argc}.",
                native.arity
            )));
        }
        let base = self.mu.stack.len() - argc;
        let f = native.function;
        // The native's handle scope: what it roots lives above this mark
        // until it returns.
        let scope = self.mu.temp_roots.len();
        let result = f(&mut NativeCtx::new(self, base, argc)).map(|h| h.value());
        // The result is on no root once the scope closes: push it first.
        let r = match result {
            Ok(v) => {
                self.mu.stack.truncate(base - 1);
                self.mu.stack.push(v);
                Ok(())
            }
            Err(NativeError::Message(msg)) => Err(self.error(msg)),
            Err(NativeError::Vm(e)) => Err(e),
        };
        self.mu.temp_roots.truncate(scope);
        r
    }

    /// `receiver.name` where the receiver is not an instance: a native
    /// method of a list or map, bound to it; else clox's errors.
    fn get_native_method(
        &mut self,
        receiver: Value,
        name: Gc<StringObj>,
    ) -> Result<(), RuntimeError> {
        let bound = self.bind_native(receiver, name, "Only instances have properties.")?;
        self.mu.stack.set_top(0, bound);
        Ok(())
    }

    /// `receiver.name` bound, for a list, map, channel or coroutine; else
    /// `not_instance` (clox's message for the operation at hand).
    fn bind_native(
        &mut self,
        receiver: Value,
        name: Gc<StringObj>,
        not_instance: &str,
    ) -> Result<Value, RuntimeError> {
        let table = receiver.obj_kind().and_then(|k| self.mu.method_table(k));
        let Some(table) = table else {
            return Err(self.error(not_instance));
        };
        let native = table
            .get(name)
            .and_then(|m| m.as_obj())
            .and_then(|o| o.downcast::<NativeObj>());
        let Some(native) = native else {
            return Err(self.undefined_property(name));
        };
        // Receiver rooted by its stack slot, the native by the method table.
        let bound = self
            .mu
            .alloc(BoundNativeObj::SIZE)?
            .init_bound_native(receiver, native);
        Ok(bound.value())
    }

    #[cold]
    fn undefined_property(&self, name: Gc<StringObj>) -> RuntimeError {
        self.error(format!(
            "Undefined property '{}'.",
            String::from_utf8_lossy(name.as_bytes())
        ))
    }

    /// clox's `call`: the arity and depth checks, then the frame. The
    /// checks are one compare each in the common case (the frame slab
    /// can only be full at `FRAMES_MAX` or before it grows); their errors
    /// are built out of line.
    #[inline(always)]
    fn call(&mut self, closure: Gc<ClosureObj>, argc: usize) -> Result<(), RuntimeError> {
        let function = closure.function;
        if argc != function.arity as usize {
            return Err(self.arity_error(function.arity as usize, argc));
        }
        if self.mu.frames.is_full() && self.mu.frames.len() == FRAMES_MAX {
            return Err(self.stack_overflow());
        }
        self.mu.reserve_stack(function.max_stack)?;
        self.mu.push_frame(CallFrame {
            closure,
            ip: 0,
            base: self.mu.stack.len() - argc - 1,
        })
    }

    #[cold]
    #[inline(never)]
    fn arity_error(&self, arity: usize, argc: usize) -> RuntimeError {
        self.error(format!("Expected {arity} arguments but got {argc}."))
    }

    #[cold]
    #[inline(never)]
    fn stack_overflow(&self) -> RuntimeError {
        self.error("Stack overflow.")
    }

    fn invoke(&mut self, name: Gc<StringObj>, argc: usize) -> Result<(), RuntimeError> {
        let receiver = self.mu.stack.peek(argc);
        let Some(instance) = receiver.as_obj().and_then(|o| o.downcast::<InstanceObj>()) else {
            // Lists and maps: the receiver stays in the callee slot, where
            // the native method finds it.
            let table = receiver.obj_kind().and_then(|k| self.mu.method_table(k));
            let Some(table) = table else {
                return Err(self.error("Only instances have methods."));
            };
            return match table
                .get(name)
                .and_then(|m| m.as_obj())
                .and_then(|o| o.downcast())
            {
                Some(native) => self.call_native(native, argc),
                None => Err(self.undefined_property(name)),
            };
        };
        if let Some(field) = instance.fields_loc().get(name) {
            self.mu.stack.set_top(argc, field);
            return self.call_value(field, argc);
        }
        self.invoke_from_class(instance.class, name, argc)
    }

    fn invoke_from_class(
        &mut self,
        class: Gc<ClassObj>,
        name: Gc<StringObj>,
        argc: usize,
    ) -> Result<(), RuntimeError> {
        match class.methods_loc().get(name) {
            Some(m) => match m.as_obj().and_then(|o| o.downcast::<ClosureObj>()) {
                Some(c) => self.call(c, argc),
                None => self.call_value(m, argc),
            },
            None => Err(self.undefined_property(name)),
        }
    }

    /// Replaces the receiver on top of the stack with `class.name` bound
    /// to it.
    fn bind_method(
        &mut self,
        class: Gc<ClassObj>,
        name: Gc<StringObj>,
    ) -> Result<(), RuntimeError> {
        let Some(method) = class.methods_loc().get(name) else {
            return Err(self.undefined_property(name));
        };
        let Some(method) = method.as_obj().and_then(|o| o.downcast::<ClosureObj>()) else {
            return Err(self.error("Corrupt method table."));
        };
        let receiver = self.mu.stack.peek(0);
        // Receiver rooted by its stack slot; method by the class's table.
        let bound = self
            .mu
            .alloc(BoundMethodObj::SIZE)?
            .init_bound_method(receiver, method);
        self.mu.stack.set_top(0, bound.value());
        Ok(())
    }

    fn capture_upvalue(&mut self, slot: usize) -> Result<Gc<UpvalueObj>, RuntimeError> {
        let list = self.open_upvalues()?;
        let upvalue_at = |i: usize| -> Option<Gc<UpvalueObj>> {
            list.get(i)
                .and_then(|v| v.as_obj())
                .and_then(|o| o.downcast())
        };
        // Sorted by slot: binary search for it or its insertion point.
        let (mut lo, mut hi) = (0, list.count());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match upvalue_at(mid) {
                Some(u) if u.slot() == slot => return Ok(u),
                Some(u) if u.slot() < slot => lo = mid + 1,
                _ => hi = mid,
            }
        }
        let Some(owner) = self.mu.current else {
            return Err(self.error("No running coroutine."));
        };
        let u = self.mu.alloc(UpvalueObj::SIZE)?.init_upvalue(slot, owner);
        self.mu.temp_roots.push(u.value());
        let r = collections::list_insert(&mut self.mu, list, lo, u.value());
        self.mu.temp_roots.pop();
        r?;
        Ok(u)
    }

    /// clox's `closeUpvalues` for the running coroutine: every open
    /// upvalue at slot `last` or above takes its value off the stack.
    #[inline(always)]
    pub(crate) fn close_upvalues(&mut self, last: usize) {
        if let Some(co) = self.mu.current {
            // Every return asks; most coroutines have nothing open.
            if co.open_upvalues().is_some_and(|l| l.count() > 0) {
                self.close_upvalues_of(co, last);
            }
        }
    }

    /// `close_upvalues` for any coroutine's stack (the running one's is
    /// read through the view, a parked one's through its object).
    pub(crate) fn close_upvalues_of(&mut self, co: Gc<CoroutineObj>, last: usize) {
        let Some(list) = co.open_upvalues() else {
            return;
        };
        let running = Some(co) == self.mu.current;
        while list.count() > 0 {
            let Some(u) = list
                .get(list.count() - 1)
                .and_then(|v| v.as_obj())
                .and_then(|o| o.downcast::<UpvalueObj>())
            else {
                break;
            };
            let slot = u.slot();
            if slot < last {
                break;
            }
            let v = if running {
                self.mu.stack.get(slot)
            } else {
                co.slot(slot)
            };
            u.close(&mut self.mu.wb, v);
            collections::list_remove(&mut self.mu, list, list.count() - 1);
        }
    }

    /// `spawn` checks the callee and the argument count now, in the
    /// spawning coroutine, with clox's messages (LANGUAGE.md §5).
    fn check_spawn(&mut self, callee: Value, argc: usize) -> Result<(), RuntimeError> {
        let arity = |c: Gc<ClosureObj>| c.function.arity as usize;
        let expected = match callee.view() {
            Some(View::Closure(c)) => Some(arity(c)),
            Some(View::BoundMethod(b)) => Some(arity(b.method)),
            Some(View::Class(c)) => match c
                .methods_loc()
                .get(self.mu.init_string)
                .and_then(Value::view)
            {
                Some(View::Closure(init)) => Some(arity(init)),
                _ => Some(0),
            },
            Some(View::Native(n)) => (n.arity >= 0).then_some(n.arity as usize),
            Some(View::BoundNative(b)) => (b.native.arity >= 0).then_some(b.native.arity as usize),
            _ => return Err(self.error("Can only call functions and classes.")),
        };
        match expected {
            Some(n) if n != argc => {
                Err(self.error(format!("Expected {n} arguments but got {argc}.")))
            }
            _ => Ok(()),
        }
    }

    /// For `spawn recv.name(args)`: replaces the receiver slot with what
    /// the call would invoke (a field's value, or the method bound to the
    /// receiver), so the coroutine makes a plain call.
    fn bind_for_spawn(
        &mut self,
        name: Gc<StringObj>,
        argc: usize,
        superclass: Option<Gc<ClassObj>>,
    ) -> Result<(), RuntimeError> {
        let receiver = self.mu.stack.peek(argc);
        let class = match superclass {
            Some(c) => c,
            None => {
                let Some(instance) = receiver.as_obj().and_then(|o| o.downcast::<InstanceObj>())
                else {
                    let bound = self.bind_native(receiver, name, "Only instances have methods.")?;
                    self.mu.stack.set_top(argc, bound);
                    return Ok(());
                };
                if let Some(field) = instance.fields_loc().get(name) {
                    self.mu.stack.set_top(argc, field);
                    return Ok(());
                }
                instance.class
            }
        };
        let Some(method) = class
            .methods_loc()
            .get(name)
            .and_then(|m| m.as_obj())
            .and_then(|o| o.downcast::<ClosureObj>())
        else {
            return Err(self.undefined_property(name));
        };
        let bound = self
            .mu
            .alloc(BoundMethodObj::SIZE)?
            .init_bound_method(receiver, method);
        self.mu.stack.set_top(argc, bound.value());
        Ok(())
    }
}

/// clox's message for a global read or assigned before it is defined.
#[cold]
fn undefined_variable(name: Gc<StringObj>) -> String {
    format!(
        "Undefined variable '{}'.",
        String::from_utf8_lossy(name.as_bytes())
    )
}
