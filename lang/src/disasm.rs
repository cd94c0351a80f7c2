//! Human-readable bytecode listings in the exact format of clox's
//! `debug.c`, so listings can be diffed against a `DEBUG_PRINT_CODE` clox.

use std::fmt::Write as _;

use crate::chunk::{Chunk, Constant, Proto};
use crate::number::format_number;
use crate::opcode::{OpCode, Operands};

/// Disassembles `proto` and every function nested in it, in the order a
/// `DEBUG_PRINT_CODE` clox prints them: each function as it finishes
/// compiling, i.e. nested functions (in constant order, recursively)
/// before their enclosing function.
///
/// The traversal uses an explicit stack because function nesting can be
/// as deep as [`crate::MAX_NESTING`].
pub fn disassemble(proto: &Proto) -> String {
    let mut out = String::new();
    // (function, whether its children have been scheduled)
    let mut stack: Vec<(&Proto, bool)> = vec![(proto, false)];
    while let Some((p, expanded)) = stack.pop() {
        if expanded {
            let name = p
                .name
                .as_deref()
                .map_or_else(|| "<script>".into(), String::from_utf8_lossy);
            disassemble_chunk(&mut out, &p.chunk, &name);
            continue;
        }
        stack.push((p, true));
        for constant in p.chunk.constants.iter().rev() {
            if let Constant::Function(f) = constant {
                stack.push((f, false));
            }
        }
    }
    out
}

/// `== name ==` followed by one line per instruction.
pub fn disassemble_chunk(out: &mut String, chunk: &Chunk, name: &str) {
    let _ = writeln!(out, "== {name} ==");
    let mut offset = 0;
    while offset < chunk.code.len() {
        offset = disassemble_instruction(out, chunk, offset);
    }
}

/// How clox's `printValue` shows a constant.
pub fn constant_text(constant: &Constant) -> String {
    match constant {
        Constant::Number(n) => format_number(*n),
        Constant::String(s) => String::from_utf8_lossy(s).into_owned(),
        Constant::Function(f) => match &f.name {
            Some(name) => format!("<fn {}>", String::from_utf8_lossy(name)),
            None => "<script>".to_string(),
        },
    }
}

/// Writes the instruction at `offset` and returns the next offset. Never
/// panics on malformed code: missing operand bytes read as zero and
/// unknown constants print as `?`.
pub fn disassemble_instruction(out: &mut String, chunk: &Chunk, offset: usize) -> usize {
    let byte = |i: usize| chunk.code.get(i).copied().unwrap_or(0);
    let constant = |i: u8| {
        chunk
            .constants
            .get(usize::from(i))
            .map_or_else(|| "?".to_string(), constant_text)
    };
    let _ = write!(out, "{offset:04} ");
    let line = chunk.lines.get(offset);
    if offset > 0 && line.is_some() && line == chunk.lines.get(offset - 1) {
        out.push_str("   | ");
    } else {
        let _ = write!(out, "{:4} ", line.copied().unwrap_or(0));
    }

    let instruction = byte(offset);
    let Some(op) = OpCode::from_u8(instruction) else {
        let _ = writeln!(out, "Unknown opcode {instruction}");
        return offset + 1;
    };
    let name = op.name();
    match op.operands() {
        Operands::None => {
            let _ = writeln!(out, "{name}");
            offset + 1
        }
        Operands::Byte => {
            let _ = writeln!(out, "{name:<16} {:4}", byte(offset + 1));
            offset + 2
        }
        Operands::Constant => {
            let index = byte(offset + 1);
            let _ = writeln!(out, "{name:<16} {index:4} '{}'", constant(index));
            offset + 2
        }
        Operands::JumpForward | Operands::JumpBackward => {
            let jump = (usize::from(byte(offset + 1)) << 8) | usize::from(byte(offset + 2));
            let after = offset + 3;
            // clox prints the target as a signed int.
            let target = if op.operands() == Operands::JumpForward {
                (after + jump) as i64
            } else {
                after as i64 - jump as i64
            };
            let _ = writeln!(out, "{name:<16} {offset:4} -> {target}");
            offset + 3
        }
        Operands::Invoke => {
            let index = byte(offset + 1);
            let argc = byte(offset + 2);
            let _ = writeln!(
                out,
                "{name:<16} ({argc} args) {index:4} '{}'",
                constant(index)
            );
            offset + 3
        }
        Operands::Closure => {
            let index = byte(offset + 1);
            let _ = writeln!(out, "{name:<16} {index:4} {}", constant(index));
            let upvalues = match chunk.constants.get(usize::from(index)) {
                Some(Constant::Function(f)) => f.upvalue_count,
                _ => 0,
            };
            let mut at = offset + 2;
            for _ in 0..upvalues {
                let kind = if byte(at) != 0 { "local" } else { "upvalue" };
                let _ = writeln!(
                    out,
                    "{at:04}      |                     {kind} {}",
                    byte(at + 1)
                );
                at += 2;
            }
            at
        }
    }
}
