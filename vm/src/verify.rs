//! The bytecode verifier: run once per function when a prototype is loaded.
//!
//! It establishes **VERIFIED**, which the interpreter's unchecked reads rely
//! on (see `object/stack.rs` and the code/constant accessors):
//! - every instruction and operand byte reachable from offset 0 lies inside
//!   the code, and every path ends in `OP_RETURN`;
//! - every constant operand indexes the constant table, with the kind the
//!   opcode needs (a string name, a function for `OP_CLOSURE`);
//! - every local slot read or written, and every local captured by a
//!   closure, is below the stack height at that instruction, and every
//!   upvalue index is below the function's upvalue count;
//! - the stack height is the same on every path into an instruction, never
//!   drops below what an instruction pops, and never exceeds the returned
//!   `max_stack` (measured from the frame's slot 0).
//!
//! `lang` produces such code by construction; the verifier makes a compiler
//! bug a load-time error instead of memory corruption.

use lang::{Constant, OpCode, Operands, Proto};

/// What a verified function needs reserved above its frame base.
pub struct Verified {
    pub max_stack: usize,
    /// The stack height on entry to each reachable instruction, indexed by
    /// code offset; `None` at operand bytes and unreachable code. The
    /// quickener (`quicken.rs`) fuses only instructions found here.
    pub heights: Vec<Option<usize>>,
}

fn byte(code: &[u8], i: usize) -> Result<usize, String> {
    code.get(i)
        .map(|&b| b as usize)
        .ok_or_else(|| format!("operand at {i} past the end"))
}

pub fn verify(proto: &Proto) -> Result<Verified, String> {
    let code = &proto.chunk.code;
    let constants = &proto.chunk.constants;
    let upvalues = proto.upvalue_count;
    let is_string = |i: usize| matches!(constants.get(i), Some(Constant::String(_)));
    // Height on entry: slot 0 (callee or receiver) plus the parameters.
    let entry = proto.arity as usize + 1;
    let mut height: Vec<Option<usize>> = vec![None; code.len() + 1];
    let mut work = vec![(0usize, entry)];
    let mut max_stack = entry;
    while let Some((start, h)) = work.pop() {
        if start >= code.len() {
            return Err(format!("control reaches {start}, past the end"));
        }
        match height[start] {
            Some(seen) if seen == h => continue,
            Some(seen) => return Err(format!("stack height {h} and {seen} meet at {start}")),
            None => height[start] = Some(h),
        }
        let op = OpCode::from_u8(code[start]).ok_or_else(|| format!("bad opcode at {start}"))?;
        let ip = start + 1;
        let need = |n: usize| -> Result<(), String> {
            if h < n {
                Err(format!("{} at {start} pops {n} of {h}", op.name()))
            } else {
                Ok(())
            }
        };
        let (next_ip, new_h): (usize, Option<usize>) = match op.operands() {
            Operands::None => (ip, None),
            Operands::Byte => (ip + 1, None),
            Operands::Constant => (ip + 1, None),
            Operands::JumpForward | Operands::JumpBackward => (ip + 2, None),
            Operands::Invoke => (ip + 2, None),
            Operands::Closure => {
                let c = byte(code, ip)?;
                let Some(Constant::Function(f)) = constants.get(c) else {
                    return Err(format!(
                        "OP_CLOSURE at {start}: constant {c} is not a function"
                    ));
                };
                let mut p = ip + 1;
                for _ in 0..f.upvalue_count {
                    let is_local = byte(code, p)? != 0;
                    let index = byte(code, p + 1)?;
                    // `<= h`: a local function captures itself, the slot
                    // this very instruction pushes the closure into.
                    if is_local && index > h {
                        return Err(format!("closure captures slot {index} of {h} at {start}"));
                    }
                    if !is_local && index >= upvalues {
                        return Err(format!("closure captures upvalue {index} of {upvalues}"));
                    }
                    p += 2;
                }
                (p, Some(h + 1))
            }
        };
        if next_ip > code.len() {
            return Err(format!("{} at {start} runs past the end", op.name()));
        }
        let operand = |k: usize| code[ip + k] as usize;
        let after = match op {
            OpCode::Constant => {
                if operand(0) >= constants.len() {
                    return Err(format!("constant {} out of range", operand(0)));
                }
                h + 1
            }
            OpCode::GetGlobal
            | OpCode::DefineGlobal
            | OpCode::SetGlobal
            | OpCode::GetProperty
            | OpCode::SetProperty
            | OpCode::GetSuper
            | OpCode::Class
            | OpCode::Method
            | OpCode::Invoke
            | OpCode::SuperInvoke
            | OpCode::SpawnInvoke
            | OpCode::SpawnSuperInvoke => {
                if !is_string(operand(0)) {
                    return Err(format!(
                        "{} at {start}: name constant is not a string",
                        op.name()
                    ));
                }
                match op {
                    OpCode::GetGlobal | OpCode::Class => h + 1,
                    OpCode::SetGlobal => {
                        need(1)?;
                        h
                    }
                    OpCode::GetProperty => {
                        need(1)?;
                        h
                    }
                    OpCode::DefineGlobal => {
                        need(1)?;
                        h - 1
                    }
                    OpCode::SetProperty | OpCode::GetSuper | OpCode::Method => {
                        need(2)?;
                        h - 1
                    }
                    OpCode::Invoke | OpCode::SpawnInvoke => {
                        let argc = operand(1);
                        need(argc + 1)?;
                        h - argc
                    }
                    _ => {
                        // Super invokes also pop the superclass.
                        let argc = operand(1);
                        need(argc + 2)?;
                        h - argc - 1
                    }
                }
            }
            OpCode::Nil | OpCode::True | OpCode::False => h + 1,
            OpCode::Pop | OpCode::Print | OpCode::CloseUpvalue => {
                need(1)?;
                h - 1
            }
            OpCode::GetLocal | OpCode::SetLocal => {
                if operand(0) >= h {
                    return Err(format!(
                        "{} slot {} of {h} at {start}",
                        op.name(),
                        operand(0)
                    ));
                }
                if op == OpCode::GetLocal {
                    h + 1
                } else {
                    h
                }
            }
            OpCode::GetUpvalue | OpCode::SetUpvalue => {
                if operand(0) >= upvalues {
                    return Err(format!("upvalue {} of {upvalues} at {start}", operand(0)));
                }
                if op == OpCode::GetUpvalue {
                    h + 1
                } else {
                    need(1)?;
                    h
                }
            }
            OpCode::Equal
            | OpCode::Greater
            | OpCode::Less
            | OpCode::Add
            | OpCode::Subtract
            | OpCode::Multiply
            | OpCode::Divide
            | OpCode::Inherit
            | OpCode::GetIndex => {
                need(2)?;
                h - 1
            }
            OpCode::Not | OpCode::Negate => {
                need(1)?;
                h
            }
            OpCode::SetIndex => {
                need(3)?;
                h - 2
            }
            OpCode::Jump => {
                let target = next_ip + ((operand(0) << 8) | operand(1));
                work.push((target, h));
                continue;
            }
            OpCode::JumpIfFalse => {
                need(1)?;
                let target = next_ip + ((operand(0) << 8) | operand(1));
                work.push((target, h));
                h
            }
            OpCode::Loop => {
                let back = (operand(0) << 8) | operand(1);
                let Some(target) = next_ip.checked_sub(back) else {
                    return Err(format!("OP_LOOP at {start} jumps before the start"));
                };
                work.push((target, h));
                continue;
            }
            OpCode::Call | OpCode::Spawn => {
                let argc = operand(0);
                need(argc + 1)?;
                h - argc
            }
            OpCode::Closure => new_h.unwrap_or(h + 1),
            OpCode::Return => {
                need(1)?;
                continue;
            }
            OpCode::List => {
                let n = operand(0);
                need(n)?;
                h - n + 1
            }
            OpCode::ListAppend => {
                let n = operand(0);
                need(n + 1)?;
                h - n
            }
        };
        max_stack = max_stack.max(after).max(h);
        work.push((next_ip, after));
    }
    Ok(Verified {
        // One spare slot: a native's result and a class's instance replace
        // the callee slot, never more.
        max_stack: max_stack + 1,
        heights: height,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiled_programs_verify_with_their_height() {
        let p = lang::compile(b"var a = 1; { var b = 2; var c = a + b * 3; print c; }").unwrap();
        let v = verify(&p).unwrap();
        // slot 0, then b, c, and a three-deep expression at most.
        assert!(v.max_stack >= 5, "{}", v.max_stack);
    }

    #[test]
    fn corrupt_code_is_rejected() {
        let mut p = lang::compile(b"print 1;").unwrap();
        p.chunk.code[1] = 200; // constant index out of range
        assert!(verify(&p).is_err());
        let mut p = lang::compile(b"print 1;").unwrap();
        p.chunk.code.truncate(p.chunk.code.len() - 1); // drop OP_RETURN
        assert!(verify(&p).is_err());
        let mut p = lang::compile(b"{ var a; print a; }").unwrap();
        let get = p
            .chunk
            .code
            .iter()
            .position(|&b| b == OpCode::GetLocal as u8)
            .unwrap();
        p.chunk.code[get + 1] = 9; // a slot above the stack height
        assert!(verify(&p).is_err());
    }
}
