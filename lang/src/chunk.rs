//! Compiled output: plain Rust data, no heap objects.
//!
//! The VM turns a [`Proto`] tree into its own runtime objects; nothing here
//! knows about the garbage collector.

/// One function's compiled prototype.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Proto {
    /// `None` for the top-level script.
    pub name: Option<Vec<u8>>,
    pub arity: u8,
    pub upvalue_count: usize,
    pub chunk: Chunk,
}

/// Bytecode plus its line table and constant pool.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Chunk {
    pub code: Vec<u8>,
    /// Same length as `code`: the source line of each byte.
    pub lines: Vec<u32>,
    /// Not deduplicated: like clox, every literal and identifier use adds
    /// an entry, which the constant-limit tests rely on.
    pub constants: Vec<Constant>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Constant {
    Number(f64),
    /// Raw bytes: Lox strings need not be UTF-8.
    String(Vec<u8>),
    Function(Box<Proto>),
}

impl Chunk {
    pub fn write(&mut self, byte: u8, line: u32) {
        self.code.push(byte);
        self.lines.push(line);
    }

    /// Appends a constant and returns its index (which may exceed the
    /// one-byte operand range; the compiler reports that).
    pub fn add_constant(&mut self, value: Constant) -> usize {
        self.constants.push(value);
        self.constants.len() - 1
    }
}
