//! # lang — Lox source to clox-identical bytecode
//!
//! **Owns:** scanning, parsing, compile-error reporting and bytecode
//! generation for Lox, plus the instruction-set table ([`OpCode`]), the
//! disassembler and `%g` number formatting ([`format_number`]); and a
//! second front end for tools only, [`syntax`]: the grammar
//! (`src/grammar.lalrpop`, turned into a parser by LALRPOP in `build.rs`),
//! a syntax tree that keeps comments, `loam fmt`'s layout and `loam
//! check`'s lints.
//!
//! **Knows nothing about** the heap, the garbage collector or the VM: its
//! output is a tree of plain-data [`Proto`]s (a function's bytecode,
//! line table and constants, where a constant may itself be a nested
//! function's `Proto`). The VM turns that tree into runtime objects.
//!
//! **Public API:** [`compile`] (`&[u8]` → `Result<Proto, Vec<CompileError>>`),
//! [`syntax_errors`] (the same parse, syntax errors only: what the
//! grammar is tested against), [`Proto`], [`Chunk`], [`Constant`],
//! [`CompileError`] / [`ErrorAt`] / [`ErrorClass`] (with `to_bytes()`
//! giving clox's exact stderr line), [`syntax`] (`parse`, `format`,
//! `lint`), [`OpCode`]
//! (`from_u8`, `name`, operand layout and stack effect), [`disassemble`],
//! [`format_number`] / [`write_number`], [`classify`] (token classes for
//! syntax highlighting, from the same scanner), and the recursion limits
//! [`MAX_NESTING`] and [`COMPILE_STACK_SIZE`] (call `compile` on a thread
//! with at least that much stack).
//!
//! **Why single-pass:** loam must print exactly the compile errors clox
//! prints, in the same order. clox reports syntax errors, semantic errors
//! (`Can't read local variable in its own initializer.`) and limit errors
//! (`Too many constants in one chunk.`, `Too much code to jump over.`)
//! from one pass that emits code while it parses, and its panic-mode
//! recovery suppresses whichever of them come next. Which errors appear
//! therefore depends on how much code had been emitted at each token; an
//! AST-then-codegen design would reorder or drop errors. So this crate
//! copies the shape of clox's `compiler.c`: a Pratt parser that emits
//! bytecode directly, with a stack of per-function compiler states. The
//! LALRPOP grammar in [`syntax`] states the same language for tools; it
//! never compiles anything, and `tests/grammar.rs` holds it to this
//! compiler (it accepts exactly what [`syntax_errors`] finds no error in).
//!
//! Source is bytes, not UTF-8: a NUL byte ends it, string literals keep
//! raw bytes, and error lexemes are reported raw.
//!
//! **Language extensions** (`LANGUAGE.md` §2, §3, §5). A pure Lox program
//! compiles exactly as clox compiles it; the only Lox program whose
//! meaning changes uses `spawn`, now a keyword, as a name. On top of Lox:
//!
//! * anonymous functions `fun (a, b) { ... }` in expression position (and
//!   `fun (` starting an expression statement), compiled like a named
//!   function whose [`Proto::name`] is `anonymous`;
//! * list literals `[a, b, c]` (trailing comma allowed; errors
//!   `Expect ']' after list elements.`);
//! * indexing `x[i]` and index assignment `x[i] = v` (`Expect ']' after
//!   index.`), chaining with calls and properties;
//! * `spawn call`, whose operand must end in a call (`Expect call after
//!   'spawn'.`).
//!
//! They use opcode rows appended after clox's 37, so clox's numbers never
//! move (operands as in [`Operands`], effects as in [`StackEffect`]):
//!
//! | byte | opcode | operands | stack |
//! |------|--------|----------|-------|
//! | 37 | `OP_LIST` | count byte | pops `count` elements, pushes the list |
//! | 38 | `OP_LIST_APPEND` | count byte | pops `count` elements, appends them to the list below (net `-count`) |
//! | 39 | `OP_GET_INDEX` | — | pops the index and the indexed object, pushes the element |
//! | 40 | `OP_SET_INDEX` | — | pops the value, the index and the indexed object, pushes the value |
//! | 41 | `OP_SPAWN` | argc byte (as `OP_CALL`) | pops callee and args, pushes the coroutine handle |
//! | 42 | `OP_SPAWN_INVOKE` | name constant, argc (as `OP_INVOKE`) | pops receiver and args, pushes the handle |
//! | 43 | `OP_SPAWN_SUPER_INVOKE` | name constant, argc (as `OP_SUPER_INVOKE`) | pops `this`, args and superclass, pushes the handle |
//!
//! A list literal longer than 255 elements compiles as its first 255
//! elements and `OP_LIST 255`, then each further run of up to 255
//! elements followed by `OP_LIST_APPEND n`.
#![forbid(unsafe_code)]

mod chunk;
mod compiler;
mod disasm;
mod error;
mod highlight;
mod number;
mod opcode;
pub mod scanner;
pub mod syntax;

pub use chunk::{Chunk, Constant, Proto};
pub use compiler::{compile, syntax_errors, COMPILE_STACK_SIZE, MAX_EXPR_NESTING, MAX_NESTING};
pub use disasm::{constant_text, disassemble, disassemble_chunk, disassemble_instruction};
pub use error::{CompileError, ErrorAt, ErrorClass};
pub use highlight::{classify, Classified, TokenClass};
pub use number::{format_number, write_number};
pub use opcode::{opcode_bytes as op, OpCode, Operands, StackEffect};
