//! The instruction set, declared once.
//!
//! [`opcodes!`] takes one row per instruction — name, operand layout and
//! stack effect — and generates the `#[repr(u8)]` enum, the byte decoder,
//! the names the disassembler prints and the metadata the VM can use. The
//! numbering is the row order, which for the first 37 rows is exactly
//! clox's `OpCode` enum: the bytecode must be byte-identical to clox's.
//! Language extensions append rows at the end so clox's numbers never move:
//! 37 `OP_LIST`, 38 `OP_LIST_APPEND`, 39 `OP_GET_INDEX`, 40 `OP_SET_INDEX`,
//! 41 `OP_SPAWN`, 42 `OP_SPAWN_INVOKE`, 43 `OP_SPAWN_SUPER_INVOKE`.

/// How the bytes after an opcode are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operands {
    /// No operand.
    None,
    /// One byte: a stack slot, upvalue index or argument count.
    Byte,
    /// One byte indexing the chunk's constant table.
    Constant,
    /// Two bytes, big-endian, an offset added to the ip after the operand.
    JumpForward,
    /// Two bytes, big-endian, an offset subtracted from the ip after the
    /// operand.
    JumpBackward,
    /// A constant index (the method name) then an argument count.
    Invoke,
    /// A constant index naming a function, then one `(is_local, index)`
    /// byte pair per upvalue of that function.
    Closure,
}

impl Operands {
    /// Operand bytes, or `None` when the length depends on a constant
    /// (closures).
    pub const fn fixed_len(self) -> Option<usize> {
        match self {
            Operands::None => Some(0),
            Operands::Byte | Operands::Constant => Some(1),
            Operands::JumpForward | Operands::JumpBackward | Operands::Invoke => Some(2),
            Operands::Closure => None,
        }
    }
}

/// Net change in stack height when the instruction executes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackEffect {
    /// Always the same.
    Fixed(i8),
    /// Pops the callee/receiver's arguments: `-argc` where `argc` is the
    /// instruction's last operand byte (the callee slot is replaced by the
    /// result).
    Call,
    /// Unwinds the whole frame.
    Return,
    /// Pops `count` values, where `count` is the operand byte, then pushes
    /// the given number: net `pushes - count` (`OP_LIST`, `OP_LIST_APPEND`).
    PopsOperand(i8),
}

macro_rules! opcodes {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, $operands:ident, $effect:expr; )*) => {
        /// One instruction opcode; the discriminant is the byte in the chunk.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum OpCode {
            $( $(#[$doc])* $variant, )*
        }

        /// The byte of each opcode, as constants to match on (the VM's
        /// dispatch matches bytes directly: one jump table).
        #[allow(non_upper_case_globals)]
        pub mod opcode_bytes {
            use super::OpCode;
            $( pub const $variant: u8 = OpCode::$variant as u8; )*
        }

        impl OpCode {
            /// Every opcode, indexed by its byte value.
            pub const ALL: &'static [OpCode] = &[$( OpCode::$variant, )*];

            /// Decodes a byte, or `None` if no opcode has that number. A
            /// `match` on constants (not a table lookup), so the VM's
            /// dispatch `match` on the result compiles to one jump table.
            #[inline(always)]
            pub fn from_u8(byte: u8) -> Option<OpCode> {
                match byte {
                    $( opcode_bytes::$variant => Some(OpCode::$variant), )*
                    _ => None,
                }
            }

            /// The clox name, e.g. `"OP_CONSTANT"`.
            pub const fn name(self) -> &'static str {
                match self { $( OpCode::$variant => $name, )* }
            }

            pub const fn operands(self) -> Operands {
                match self { $( OpCode::$variant => Operands::$operands, )* }
            }

            pub const fn stack_effect(self) -> StackEffect {
                #[allow(unused_imports)]
                use StackEffect::*;
                match self { $( OpCode::$variant => $effect, )* }
            }
        }
    };
}

opcodes! {
    Constant = "OP_CONSTANT", Constant, Fixed(1);
    Nil = "OP_NIL", None, Fixed(1);
    True = "OP_TRUE", None, Fixed(1);
    False = "OP_FALSE", None, Fixed(1);
    Pop = "OP_POP", None, Fixed(-1);
    GetLocal = "OP_GET_LOCAL", Byte, Fixed(1);
    SetLocal = "OP_SET_LOCAL", Byte, Fixed(0);
    GetGlobal = "OP_GET_GLOBAL", Constant, Fixed(1);
    DefineGlobal = "OP_DEFINE_GLOBAL", Constant, Fixed(-1);
    SetGlobal = "OP_SET_GLOBAL", Constant, Fixed(0);
    GetUpvalue = "OP_GET_UPVALUE", Byte, Fixed(1);
    SetUpvalue = "OP_SET_UPVALUE", Byte, Fixed(0);
    GetProperty = "OP_GET_PROPERTY", Constant, Fixed(0);
    SetProperty = "OP_SET_PROPERTY", Constant, Fixed(-1);
    /// Pops the superclass and the instance, pushes the bound method.
    GetSuper = "OP_GET_SUPER", Constant, Fixed(-1);
    Equal = "OP_EQUAL", None, Fixed(-1);
    Greater = "OP_GREATER", None, Fixed(-1);
    Less = "OP_LESS", None, Fixed(-1);
    Add = "OP_ADD", None, Fixed(-1);
    Subtract = "OP_SUBTRACT", None, Fixed(-1);
    Multiply = "OP_MULTIPLY", None, Fixed(-1);
    Divide = "OP_DIVIDE", None, Fixed(-1);
    Not = "OP_NOT", None, Fixed(0);
    Negate = "OP_NEGATE", None, Fixed(0);
    Print = "OP_PRINT", None, Fixed(-1);
    Jump = "OP_JUMP", JumpForward, Fixed(0);
    /// Leaves the condition on the stack; the compiler pops it explicitly.
    JumpIfFalse = "OP_JUMP_IF_FALSE", JumpForward, Fixed(0);
    Loop = "OP_LOOP", JumpBackward, Fixed(0);
    Call = "OP_CALL", Byte, Call;
    Invoke = "OP_INVOKE", Invoke, Call;
    /// Also pops the superclass pushed after the arguments.
    SuperInvoke = "OP_SUPER_INVOKE", Invoke, Call;
    Closure = "OP_CLOSURE", Closure, Fixed(1);
    CloseUpvalue = "OP_CLOSE_UPVALUE", None, Fixed(-1);
    Return = "OP_RETURN", None, Return;
    Class = "OP_CLASS", Constant, Fixed(1);
    /// Pops the subclass, leaves the superclass (it becomes `super`).
    Inherit = "OP_INHERIT", None, Fixed(-1);
    Method = "OP_METHOD", Constant, Fixed(-1);
    // ----- loam extensions (numbers 37..) -----
    /// Pops `count` elements (the operand), pushes a new list holding them
    /// in order.
    List = "OP_LIST", Byte, PopsOperand(1);
    /// Pops `count` elements (the operand) and appends them, in order, to
    /// the list just below them, which stays on the stack. Follows
    /// `OP_LIST 255` for list literals longer than 255 elements.
    ListAppend = "OP_LIST_APPEND", Byte, PopsOperand(0);
    /// Pops the index and the indexed object, pushes the element.
    GetIndex = "OP_GET_INDEX", None, Fixed(-1);
    /// Pops the value, the index and the indexed object, pushes the value.
    SetIndex = "OP_SET_INDEX", None, Fixed(-2);
    /// Like `OP_CALL`, but the call runs in a new coroutine; the callee
    /// slot is replaced by the coroutine handle.
    Spawn = "OP_SPAWN", Byte, Call;
    /// Like `OP_INVOKE`, in a new coroutine; pushes the handle.
    SpawnInvoke = "OP_SPAWN_INVOKE", Invoke, Call;
    /// Like `OP_SUPER_INVOKE`, in a new coroutine; pushes the handle.
    SpawnSuperInvoke = "OP_SPAWN_SUPER_INVOKE", Invoke, Call;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbering_matches_clox() {
        assert_eq!(OpCode::Constant as u8, 0);
        assert_eq!(OpCode::Print as u8, 24);
        assert_eq!(OpCode::Closure as u8, 31);
        assert_eq!(OpCode::Method as u8, 36);
        for (i, op) in OpCode::ALL.iter().enumerate() {
            assert_eq!(*op as usize, i);
            assert_eq!(OpCode::from_u8(*op as u8), Some(*op));
        }
        assert_eq!(OpCode::List as u8, 37);
        assert_eq!(OpCode::ListAppend as u8, 38);
        assert_eq!(OpCode::GetIndex as u8, 39);
        assert_eq!(OpCode::SetIndex as u8, 40);
        assert_eq!(OpCode::Spawn as u8, 41);
        assert_eq!(OpCode::SpawnInvoke as u8, 42);
        assert_eq!(OpCode::SpawnSuperInvoke as u8, 43);
        assert_eq!(OpCode::from_u8(44), None);
        assert_eq!(OpCode::from_u8(255), None);
        assert_eq!(OpCode::JumpIfFalse.name(), "OP_JUMP_IF_FALSE");
    }
}
