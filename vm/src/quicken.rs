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
//! The one exception is the instruction right after a sequence, which
//! some fast paths look at to take an unconditional `JUMP` or `LOOP` at
//! once: those two are never quickened, so the byte is either really that
//! jump or something else, and it is a verified instruction start (the
//! sequences end in `POP`, which falls through to it).
//! Sites are matched on the original code, only at instruction starts the
//! verifier reached (so every operand read is VERIFIED), and only where
//! the fast path's stack accesses stay below the height the verifier found
//! (the `< h` conditions below).
//!
//! `VmOptions::no_quicken` (`--no-quicken`) runs the code as compiled.

use lang::{Constant, OpCode};

/// The fused opcodes: the bytes right after `lang`'s last opcode. Each
/// comment gives the sequence (operands named as the interpreter reads
/// them) and its length.
///
/// They are numbered densely from there on purpose: with them at 0xC0 and
/// up (a sparse `match` in the interpreter), code that fuses nothing ran
/// about 40% slower (equality.lox: 0.61 s against 0.42 s, median of 7),
/// though it executed the same instructions.
pub mod qop {
    /// The first byte after `lang`'s opcodes.
    pub const FIRST: u8 = lang::OpCode::ALL.len() as u8;

    /// `GET_LOCAL a; GET_LOCAL b` (4 bytes).
    pub const GET_LOCAL_2: u8 = FIRST;
    /// `GET_LOCAL a; CONSTANT k; LESS; JUMP_IF_FALSE off; POP` (9 bytes).
    pub const LOCAL_LESS_CONST_JUMP: u8 = FIRST + 1;
    /// As above with `GREATER`.
    pub const LOCAL_GREATER_CONST_JUMP: u8 = FIRST + 2;
    /// `GET_LOCAL a; GET_LOCAL b; LESS; JUMP_IF_FALSE off; POP` (9 bytes).
    pub const LOCAL_LESS_LOCAL_JUMP: u8 = FIRST + 3;
    /// As above with `GREATER`.
    pub const LOCAL_GREATER_LOCAL_JUMP: u8 = FIRST + 4;
    /// `GET_LOCAL a; CONSTANT k; ADD; SET_LOCAL c; POP` (8 bytes).
    pub const LOCAL_ADD_CONST_SET: u8 = FIRST + 5;
    /// As above with `SUBTRACT`.
    pub const LOCAL_SUB_CONST_SET: u8 = FIRST + 6;
    /// `GET_LOCAL a; CONSTANT k; ADD` (5 bytes).
    pub const LOCAL_ADD_CONST: u8 = FIRST + 7;
    /// As above with `SUBTRACT`.
    pub const LOCAL_SUB_CONST: u8 = FIRST + 8;
    /// `GET_LOCAL a; GET_LOCAL b; GET_INDEX` (5 bytes).
    pub const LOCAL_INDEX_LOCAL: u8 = FIRST + 9;
    /// `ADD; SET_LOCAL c; POP` (4 bytes).
    pub const ADD_SET_LOCAL_POP: u8 = FIRST + 10;
    /// `SET_LOCAL c; POP` (3 bytes).
    pub const SET_LOCAL_POP: u8 = FIRST + 11;
    /// `NIL; RETURN` (2 bytes): every function that falls off its end.
    pub const NIL_RETURN: u8 = FIRST + 12;
    /// `GET_LOCAL a; GET_LOCAL b; ADD; SET_LOCAL c; POP` (8 bytes):
    /// `a = a + b;`.
    pub const LOCAL_ADD_LOCAL_SET: u8 = FIRST + 13;
    /// `GET_LOCAL a; GET_LOCAL xs; GET_LOCAL i; GET_INDEX; ADD; SET_LOCAL c;
    /// POP` (11 bytes): `total = total + xs[i];`, the reduction over a
    /// list that Lox (without iterators) writes with an index.
    pub const LOCAL_ADD_INDEX_SET: u8 = FIRST + 14;
    /// A `for` loop's step, Lua's FORLOOP: the increment clause
    /// `GET_LOCAL a; CONSTANT k; ADD/SUBTRACT; SET_LOCAL c; POP; LOOP off`
    /// (11 bytes) whose loop target is the condition `GET_LOCAL x;
    /// CONSTANT/GET_LOCAL y; LESS/GREATER; JUMP_IF_FALSE; POP`, run as one
    /// instruction: `FOR_<increment>_<comparison>_<y>`. The condition's
    /// operands are read where the condition is (its opcode bytes are not
    /// read: they may be quickened).
    pub const FOR_ADD_LESS_CONST: u8 = FIRST + 15;
    pub const FOR_ADD_LESS_LOCAL: u8 = FIRST + 16;
    pub const FOR_ADD_GREATER_CONST: u8 = FIRST + 17;
    pub const FOR_ADD_GREATER_LOCAL: u8 = FIRST + 18;
    pub const FOR_SUB_LESS_CONST: u8 = FIRST + 19;
    pub const FOR_SUB_LESS_LOCAL: u8 = FIRST + 20;
    pub const FOR_SUB_GREATER_CONST: u8 = FIRST + 21;
    pub const FOR_SUB_GREATER_LOCAL: u8 = FIRST + 22;
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
struct Verified<'a> {
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

    /// `ADD` or `SUBTRACT` at `q`: `Some(true)` for `ADD`.
    fn arith(&self, q: usize) -> Option<bool> {
        if self.at(q, OpCode::Add) {
            Some(true)
        } else if self.at(q, OpCode::Subtract) {
            Some(false)
        } else {
            None
        }
    }

    /// The fused opcode for the sequence starting at instruction `p`
    /// (entered at stack height `h`), if any.
    fn match_site(&self, p: usize, h: usize) -> Option<u8> {
        if self.at(p, OpCode::GetLocal) {
            if self.at(p + 2, OpCode::GetLocal) {
                return self.match_local_local(p, h);
            }
            if self.at(p + 2, OpCode::Constant) && self.number(p + 3) {
                return self.match_local_number(p, h);
            }
            return None;
        }
        // ADD at h pops two; SET_LOCAL c must write below both operands.
        if self.at(p, OpCode::Add)
            && self.at(p + 1, OpCode::SetLocal)
            && self.operand(p + 2) + 2 < h
            && self.at(p + 3, OpCode::Pop)
        {
            return Some(qop::ADD_SET_LOCAL_POP);
        }
        // The fast path pops first: c must be below the popped value.
        if self.at(p, OpCode::SetLocal)
            && self.operand(p + 1) + 1 < h
            && self.at(p + 2, OpCode::Pop)
        {
            return Some(qop::SET_LOCAL_POP);
        }
        if self.at(p, OpCode::Nil) && self.at(p + 1, OpCode::Return) {
            return Some(qop::NIL_RETURN);
        }
        None
    }

    /// The fused sequences that start `GET_LOCAL a; GET_LOCAL b`.
    fn match_local_local(&self, p: usize, h: usize) -> Option<u8> {
        // The fast paths read slot b (and the others named below) before
        // pushing anything, so each must be a slot that existed already.
        if self.operand(p + 3) < h {
            if self.at(p + 4, OpCode::Add)
                && self.at(p + 5, OpCode::SetLocal)
                && self.operand(p + 6) < h
                && self.at(p + 7, OpCode::Pop)
            {
                return Some(qop::LOCAL_ADD_LOCAL_SET);
            }
            if self.at(p + 4, OpCode::GetLocal)
                && self.operand(p + 5) < h
                && self.at(p + 6, OpCode::GetIndex)
                && self.at(p + 7, OpCode::Add)
                && self.at(p + 8, OpCode::SetLocal)
                && self.operand(p + 9) < h
                && self.at(p + 10, OpCode::Pop)
            {
                return Some(qop::LOCAL_ADD_INDEX_SET);
            }
            match self.compare_jump(p + 4) {
                Some(true) => return Some(qop::LOCAL_LESS_LOCAL_JUMP),
                Some(false) => return Some(qop::LOCAL_GREATER_LOCAL_JUMP),
                None => {}
            }
            if self.at(p + 4, OpCode::GetIndex) {
                return Some(qop::LOCAL_INDEX_LOCAL);
            }
        }
        // Not when the second GET_LOCAL starts a longer fusion: the fast
        // path would skip over it.
        match self.match_site(p + 2, h + 1) {
            Some(qop::GET_LOCAL_2) | None => Some(qop::GET_LOCAL_2),
            Some(_) => None,
        }
    }

    /// The fused sequences that start `GET_LOCAL a; CONSTANT k` with a
    /// number `k`.
    fn match_local_number(&self, p: usize, h: usize) -> Option<u8> {
        match self.compare_jump(p + 4) {
            Some(true) => return Some(qop::LOCAL_LESS_CONST_JUMP),
            Some(false) => return Some(qop::LOCAL_GREATER_CONST_JUMP),
            None => {}
        }
        let add = self.arith(p + 4)?;
        // SET_LOCAL c, verified at h + 1, writes below h: not the temporary
        // the fast path never pushes.
        if self.at(p + 5, OpCode::SetLocal)
            && self.operand(p + 6) < h
            && self.at(p + 7, OpCode::Pop)
        {
            if let Some(step) = self.for_step(p, h, add) {
                return Some(step);
            }
            return Some(if add {
                qop::LOCAL_ADD_CONST_SET
            } else {
                qop::LOCAL_SUB_CONST_SET
            });
        }
        Some(if add {
            qop::LOCAL_ADD_CONST
        } else {
            qop::LOCAL_SUB_CONST
        })
    }

    /// `FOR_*` when the increment clause at `p` (already matched up to its
    /// `POP`, entered at height `h`) ends with a `LOOP` back to a
    /// fused-shape condition entered at the same height.
    fn for_step(&self, p: usize, h: usize, add: bool) -> Option<u8> {
        if !self.at(p + 8, OpCode::Loop) {
            return None;
        }
        let back = (self.operand(p + 9) << 8) | self.operand(p + 10);
        let t = (p + 11).checked_sub(back)?;
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
        let less = self.compare_jump(t + 4)?;
        Some(match (add, less, y_const) {
            (true, true, true) => qop::FOR_ADD_LESS_CONST,
            (true, true, false) => qop::FOR_ADD_LESS_LOCAL,
            (true, false, true) => qop::FOR_ADD_GREATER_CONST,
            (true, false, false) => qop::FOR_ADD_GREATER_LOCAL,
            (false, true, true) => qop::FOR_SUB_LESS_CONST,
            (false, true, false) => qop::FOR_SUB_LESS_LOCAL,
            (false, false, true) => qop::FOR_SUB_GREATER_CONST,
            (false, false, false) => qop::FOR_SUB_GREATER_LOCAL,
        })
    }
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
        let proto = first_function(source);
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
        let all = [
            qop::GET_LOCAL_2,
            qop::LOCAL_LESS_CONST_JUMP,
            qop::LOCAL_GREATER_CONST_JUMP,
            qop::LOCAL_LESS_LOCAL_JUMP,
            qop::LOCAL_GREATER_LOCAL_JUMP,
            qop::LOCAL_ADD_CONST_SET,
            qop::LOCAL_SUB_CONST_SET,
            qop::LOCAL_ADD_CONST,
            qop::LOCAL_SUB_CONST,
            qop::LOCAL_INDEX_LOCAL,
            qop::ADD_SET_LOCAL_POP,
            qop::SET_LOCAL_POP,
            qop::NIL_RETURN,
            qop::LOCAL_ADD_LOCAL_SET,
            qop::LOCAL_ADD_INDEX_SET,
            qop::FOR_ADD_LESS_CONST,
            qop::FOR_ADD_LESS_LOCAL,
            qop::FOR_ADD_GREATER_CONST,
            qop::FOR_ADD_GREATER_LOCAL,
            qop::FOR_SUB_LESS_CONST,
            qop::FOR_SUB_LESS_LOCAL,
            qop::FOR_SUB_GREATER_CONST,
            qop::FOR_SUB_GREATER_LOCAL,
        ];
        let mut sorted = all.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), all.len(), "a fused opcode taken twice");
        assert!(OpCode::from_u8(qop::FIRST - 1).is_some());
        for &b in &all {
            assert!(OpCode::from_u8(b).is_none(), "{b:#x} is a lang opcode");
        }
        let last = *sorted.last().unwrap();
        assert!(
            last - qop::FIRST < 32,
            "fused opcodes spread out: {sorted:x?}"
        );
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
