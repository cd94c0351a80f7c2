//! The single-pass parser and code generator, shaped like clox's
//! `compiler.c` so that every error, and the panic-mode recovery after it,
//! happens at the same token as in clox.
//!
//! Beyond clox: recursion depth is bounded by [`MAX_NESTING`]. When a
//! construct nests deeper, the compiler reports `Too much nesting.` at the
//! current token and *aborts*: from then on the token stream is an endless
//! `Eof` and every further error is suppressed, so the recursion unwinds
//! through the ordinary end-of-input paths without descending again.
//!
//! loam's extensions (see `/work/shared/LANGUAGE.md`) are extra rows of the
//! parse-rule table, so a pure Lox program takes exactly clox's paths:
//!
//! * `fun (params) { body }` is a prefix rule for `fun` that only applies
//!   when `(` follows (otherwise clox's `Expect expression.` at `fun`); it
//!   compiles like a named function called `anonymous`. `declaration`
//!   treats `fun (` as the start of an expression statement.
//! * `[a, b, ...]` is a prefix rule: the elements, then `OP_LIST n`, with
//!   `OP_LIST_APPEND n` for each further run past 255 elements.
//! * `[` is also an infix rule at call precedence: `OP_GET_INDEX`, or
//!   `OP_SET_INDEX` when it is an assignment target.
//! * `spawn` is a prefix rule: it compiles its operand at call precedence
//!   and rewrites the operand's final `OP_CALL` / `OP_INVOKE` /
//!   `OP_SUPER_INVOKE` in place into `OP_SPAWN` / `OP_SPAWN_INVOKE` /
//!   `OP_SPAWN_SUPER_INVOKE`, found by the offset of the last instruction
//!   emitted (never by looking at trailing bytes, which may be operands).

use crate::chunk::{Chunk, Constant, Proto};
use crate::error::{CompileError, ErrorAt, ErrorClass};
use crate::opcode::OpCode;
use crate::scanner::{Scanner, Token, TokenKind};

/// Deepest allowed nesting of statements and function bodies (named or
/// anonymous). LANGUAGE.md §1 allows a loam-only error only where clox
/// itself crashes, and clox's depth limit is its 8 MiB C stack: it dies
/// near 47,000 nested blocks but reports its own errors (`Too much code to
/// jump over.`, `Loop body too large.`) for up to about 150,000-190,000
/// nested `if`/`while`/`for` statements, which need only ~50 bytes of C
/// stack per level. So the limit sits well above any depth clox survives;
/// measured here, a level costs loam 180-460 bytes of the compile thread's
/// stack (nested `if`, `while`, blocks, `if` + block), so a million of
/// them fit in [`COMPILE_STACK_SIZE`] with room for the expression limit.
/// Statement and expression depths are counted separately and globally
/// (not per function), so an anonymous function's statements inside an
/// expression only add, never multiply.
pub const MAX_NESTING: usize = 1_000_000;

/// Deepest allowed nesting of expressions (each `parse_precedence` level:
/// parentheses, unary operators, call arguments, list literals, indexes).
/// clox runs about 130,000 nested `(` or `-` before its 8 MiB C stack
/// overflows, so loam must accept at least that many.
pub const MAX_EXPR_NESTING: usize = 200_000;

/// Stack size for the thread that calls [`compile`]: both limits at once
/// fit (see the nesting tests). Virtual memory: only what a program's
/// nesting touches is ever committed.
pub const COMPILE_STACK_SIZE: usize = 1024 * 1024 * 1024;

const UINT8_COUNT: usize = 256;

const NESTING_MESSAGE: &str = "Too much nesting.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Precedence {
    None,
    Assignment,
    Or,
    And,
    Equality,
    Comparison,
    Term,
    Factor,
    Unary,
    Call,
    Primary,
}

impl Precedence {
    fn next(self) -> Precedence {
        match self {
            Precedence::None => Precedence::Assignment,
            Precedence::Assignment => Precedence::Or,
            Precedence::Or => Precedence::And,
            Precedence::And => Precedence::Equality,
            Precedence::Equality => Precedence::Comparison,
            Precedence::Comparison => Precedence::Term,
            Precedence::Term => Precedence::Factor,
            Precedence::Factor => Precedence::Unary,
            Precedence::Unary => Precedence::Call,
            Precedence::Call | Precedence::Primary => Precedence::Primary,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prefix {
    Grouping,
    Unary,
    Number,
    String,
    Literal,
    Variable,
    Super,
    This,
    /// `fun (params) { body }` (loam).
    Function,
    /// `[a, b, c]` (loam).
    List,
    /// `spawn call` (loam).
    Spawn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Infix {
    Call,
    Dot,
    /// `expr[index]` (loam).
    Index,
    Binary,
    And,
    Or,
}

/// clox's parse-rule table as a function of the token kind.
fn rule(kind: TokenKind) -> (Option<Prefix>, Option<Infix>, Precedence) {
    use Precedence as P;
    use TokenKind as K;
    match kind {
        K::LeftParen => (Some(Prefix::Grouping), Some(Infix::Call), P::Call),
        K::Dot => (None, Some(Infix::Dot), P::Call),
        K::Minus => (Some(Prefix::Unary), Some(Infix::Binary), P::Term),
        K::Plus => (None, Some(Infix::Binary), P::Term),
        K::Slash | K::Star => (None, Some(Infix::Binary), P::Factor),
        K::Bang => (Some(Prefix::Unary), None, P::None),
        K::BangEqual | K::EqualEqual => (None, Some(Infix::Binary), P::Equality),
        K::Greater | K::GreaterEqual | K::Less | K::LessEqual => {
            (None, Some(Infix::Binary), P::Comparison)
        }
        K::Identifier => (Some(Prefix::Variable), None, P::None),
        K::String => (Some(Prefix::String), None, P::None),
        K::Number => (Some(Prefix::Number), None, P::None),
        K::And => (None, Some(Infix::And), P::And),
        K::Or => (None, Some(Infix::Or), P::Or),
        K::False | K::Nil | K::True => (Some(Prefix::Literal), None, P::None),
        K::Super => (Some(Prefix::Super), None, P::None),
        K::This => (Some(Prefix::This), None, P::None),
        // loam extensions. `fun` only starts an expression when `(`
        // follows; `parse_prefixed` keeps clox's error otherwise.
        K::Fun => (Some(Prefix::Function), None, P::None),
        K::LeftBracket => (Some(Prefix::List), Some(Infix::Index), P::Call),
        K::Spawn => (Some(Prefix::Spawn), None, P::None),
        _ => (None, None, P::None),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FunctionType {
    Function,
    Initializer,
    Method,
    Script,
}

struct Local<'src> {
    name: &'src [u8],
    /// `None` while the variable's initializer is being compiled.
    depth: Option<u32>,
    is_captured: bool,
}

#[derive(Clone, Copy)]
struct Upvalue {
    index: u8,
    is_local: bool,
}

/// Per-function state; the compiler keeps a stack of these, innermost last.
struct FnState<'src> {
    proto: Proto,
    kind: FunctionType,
    locals: Vec<Local<'src>>,
    upvalues: Vec<Upvalue>,
    scope_depth: u32,
    /// Offset of the opcode of the last instruction emitted, so `spawn`
    /// can find the call it rewrites without mistaking an operand byte
    /// for an opcode. `None` after a parenthesised expression: `spawn
    /// (f())` is not a call syntactically.
    last_op: Option<usize>,
}

impl<'src> FnState<'src> {
    fn new(kind: FunctionType, name: Option<Vec<u8>>) -> FnState<'src> {
        // Slot zero holds the callee; in methods it is `this`. clox names
        // it `this` for the script too, which is unobservable because
        // `this` outside a class is rejected before resolution.
        let slot_zero: &'static [u8] = if kind == FunctionType::Function {
            b""
        } else {
            b"this"
        };
        FnState {
            proto: Proto {
                name,
                ..Proto::default()
            },
            kind,
            locals: vec![Local {
                name: slot_zero,
                depth: Some(0),
                is_captured: false,
            }],
            upvalues: Vec::new(),
            scope_depth: 0,
            last_op: None,
        }
    }
}

struct ClassState {
    has_superclass: bool,
}

struct Compiler<'src> {
    scanner: Scanner<'src>,
    current: Token<'src>,
    previous: Token<'src>,
    had_error: bool,
    panic_mode: bool,
    errors: Vec<CompileError>,
    /// Never empty while compiling: the script is at the bottom.
    fns: Vec<FnState<'src>>,
    classes: Vec<ClassState>,
    expr_depth: usize,
    stmt_depth: usize,
    aborted: bool,
    /// Set only by [`syntax_errors`]: semantic and limit errors are then
    /// neither recorded nor start panic mode.
    syntax_only: bool,
}

/// Compiles a whole program. On failure returns every error clox would
/// print, in order.
pub fn compile(source: &[u8]) -> Result<Proto, Vec<CompileError>> {
    compile_with(source, false)
}

/// The syntax errors of a program and nothing else: the same parse as
/// [`compile`], but an error that is not [`ErrorClass::Syntax`] is dropped
/// as if the rule it enforces held, so it does not start panic mode and
/// cannot hide a syntax error after it (`return 1 +;` at top level gives
/// `Expect expression.`, where `compile` stops at `Can't return from
/// top-level code.`). No semantic or limit error changes which tokens the
/// compiler consumes, so the result is empty exactly when the token
/// sequence is in the language: the oracle the tools' grammar is tested
/// against. `Too much nesting.` is kept: it ends the parse.
pub fn syntax_errors(source: &[u8]) -> Vec<CompileError> {
    compile_with(source, true).err().unwrap_or_default()
}

fn compile_with(source: &[u8], syntax_only: bool) -> Result<Proto, Vec<CompileError>> {
    let eof = Token {
        kind: TokenKind::Eof,
        lexeme: &[],
        line: 1,
        offset: 0,
        error: None,
    };
    let mut c = Compiler {
        scanner: Scanner::new(source),
        current: eof,
        previous: eof,
        had_error: false,
        panic_mode: false,
        errors: Vec::new(),
        fns: vec![FnState::new(FunctionType::Script, None)],
        classes: Vec::new(),
        expr_depth: 0,
        stmt_depth: 0,
        aborted: false,
        syntax_only,
    };
    c.advance();
    while !c.match_token(TokenKind::Eof) {
        c.declaration();
    }
    let (proto, _) = c.end_compiler();
    if c.had_error {
        Err(c.errors)
    } else {
        Ok(proto)
    }
}

impl<'src> Compiler<'src> {
    // ----- error reporting -------------------------------------------------

    fn error_at(&mut self, token: Token<'src>, message: &'static str) {
        if self.syntax_only
            && ErrorClass::of(message) != ErrorClass::Syntax
            && message != NESTING_MESSAGE
        {
            return;
        }
        if self.panic_mode || self.aborted {
            return;
        }
        self.panic_mode = true;
        let at = match token.kind {
            TokenKind::Eof => ErrorAt::End,
            TokenKind::Error => ErrorAt::None,
            _ => ErrorAt::Lexeme(token.lexeme.to_vec()),
        };
        self.errors.push(CompileError {
            line: token.line,
            at,
            message,
            span: token.offset..token.offset + token.lexeme.len(),
        });
        self.had_error = true;
    }

    fn error(&mut self, message: &'static str) {
        self.error_at(self.previous, message);
    }

    fn error_at_current(&mut self, message: &'static str) {
        self.error_at(self.current, message);
    }

    /// Reports `Too much nesting.` regardless of panic mode and aborts.
    fn nesting_error(&mut self) {
        if self.aborted {
            return;
        }
        self.panic_mode = false;
        self.error_at_current(NESTING_MESSAGE);
        self.aborted = true;
        self.current = self.eof_token();
    }

    fn eof_token(&self) -> Token<'src> {
        Token {
            kind: TokenKind::Eof,
            lexeme: &[],
            line: self.current.line,
            offset: self.current.offset,
            error: None,
        }
    }

    // ----- token stream ----------------------------------------------------

    fn advance(&mut self) {
        self.previous = self.current;
        if self.aborted {
            self.current = self.eof_token();
            return;
        }
        loop {
            self.current = self.scanner.next_token();
            let Some(err) = self.current.error else {
                break;
            };
            self.error_at_current(err.message());
        }
    }

    fn consume(&mut self, kind: TokenKind, message: &'static str) {
        if self.current.kind == kind {
            self.advance();
            return;
        }
        self.error_at_current(message);
    }

    fn check(&self, kind: TokenKind) -> bool {
        self.current.kind == kind
    }

    fn match_token(&mut self, kind: TokenKind) -> bool {
        if !self.check(kind) {
            return false;
        }
        self.advance();
        true
    }

    // ----- emitting --------------------------------------------------------

    fn state(&mut self) -> &mut FnState<'src> {
        // `fns` always holds the script state, so the fallback is never
        // taken; it only avoids a panic path.
        if self.fns.is_empty() {
            self.fns.push(FnState::new(FunctionType::Script, None));
        }
        let last = self.fns.len() - 1;
        &mut self.fns[last]
    }

    fn chunk(&mut self) -> &mut Chunk {
        &mut self.state().proto.chunk
    }

    fn emit_byte(&mut self, byte: u8) {
        let line = self.previous.line;
        self.chunk().write(byte, line);
    }

    fn emit_op(&mut self, op: OpCode) {
        let state = self.state();
        state.last_op = Some(state.proto.chunk.code.len());
        self.emit_byte(op as u8);
    }

    fn emit_op_byte(&mut self, op: OpCode, byte: u8) {
        self.emit_op(op);
        self.emit_byte(byte);
    }

    fn emit_loop(&mut self, loop_start: usize) {
        self.emit_op(OpCode::Loop);
        let offset = self.chunk().code.len() - loop_start + 2;
        if offset > usize::from(u16::MAX) {
            self.error("Loop body too large.");
        }
        self.emit_byte(((offset >> 8) & 0xff) as u8);
        self.emit_byte((offset & 0xff) as u8);
    }

    fn emit_jump(&mut self, op: OpCode) -> usize {
        self.emit_op(op);
        self.emit_byte(0xff);
        self.emit_byte(0xff);
        self.chunk().code.len() - 2
    }

    fn emit_return(&mut self) {
        if self.state().kind == FunctionType::Initializer {
            self.emit_op_byte(OpCode::GetLocal, 0);
        } else {
            self.emit_op(OpCode::Nil);
        }
        self.emit_op(OpCode::Return);
    }

    fn make_constant(&mut self, value: Constant) -> u8 {
        let index = self.chunk().add_constant(value);
        match u8::try_from(index) {
            Ok(index) => index,
            Err(_) => {
                self.error("Too many constants in one chunk.");
                0
            }
        }
    }

    fn emit_constant(&mut self, value: Constant) {
        let index = self.make_constant(value);
        self.emit_op_byte(OpCode::Constant, index);
    }

    fn patch_jump(&mut self, offset: usize) {
        let jump = self.chunk().code.len() - offset - 2;
        if jump > usize::from(u16::MAX) {
            self.error("Too much code to jump over.");
        }
        let code = &mut self.chunk().code;
        if let Some(slot) = code.get_mut(offset) {
            *slot = ((jump >> 8) & 0xff) as u8;
        }
        if let Some(slot) = code.get_mut(offset + 1) {
            *slot = (jump & 0xff) as u8;
        }
    }

    // ----- function states and scopes --------------------------------------

    fn begin_function(&mut self, kind: FunctionType, name: Vec<u8>) {
        self.fns.push(FnState::new(kind, Some(name)));
    }

    /// Finishes the innermost function, returning its prototype and the
    /// upvalue descriptors the enclosing `OP_CLOSURE` needs.
    fn end_compiler(&mut self) -> (Proto, Vec<Upvalue>) {
        self.emit_return();
        match self.fns.pop() {
            Some(mut state) => {
                state.proto.upvalue_count = state.upvalues.len();
                (state.proto, state.upvalues)
            }
            None => (Proto::default(), Vec::new()),
        }
    }

    fn begin_scope(&mut self) {
        self.state().scope_depth += 1;
    }

    fn end_scope(&mut self) {
        let state = self.state();
        state.scope_depth = state.scope_depth.saturating_sub(1);
        loop {
            let state = self.state();
            let depth = state.scope_depth;
            let captured = match state.locals.last() {
                Some(local) if local.depth.is_some_and(|d| d > depth) => local.is_captured,
                // clox compares the -1 "uninitialised" depth as smaller
                // than any scope, so such a local is never popped here.
                _ => break,
            };
            state.locals.pop();
            self.emit_op(if captured {
                OpCode::CloseUpvalue
            } else {
                OpCode::Pop
            });
        }
    }

    // ----- variables -------------------------------------------------------

    fn identifier_constant(&mut self, name: &[u8]) -> u8 {
        self.make_constant(Constant::String(name.to_vec()))
    }

    fn resolve_local(&mut self, fn_index: usize, name: &[u8]) -> Option<u8> {
        let state = self.fns.get(fn_index)?;
        let (slot, local) = state
            .locals
            .iter()
            .enumerate()
            .rev()
            .find(|(_, local)| local.name == name)?;
        let uninitialised = local.depth.is_none();
        if uninitialised {
            self.error("Can't read local variable in its own initializer.");
        }
        // At most 256 locals exist, so the slot always fits.
        Some(u8::try_from(slot).unwrap_or(u8::MAX))
    }

    fn add_upvalue(&mut self, fn_index: usize, index: u8, is_local: bool) -> u8 {
        let Some(state) = self.fns.get_mut(fn_index) else {
            return 0;
        };
        if let Some(existing) = state
            .upvalues
            .iter()
            .position(|u| u.index == index && u.is_local == is_local)
        {
            return u8::try_from(existing).unwrap_or(u8::MAX);
        }
        if state.upvalues.len() == UINT8_COUNT {
            self.error("Too many closure variables in function.");
            return 0;
        }
        state.upvalues.push(Upvalue { index, is_local });
        u8::try_from(state.upvalues.len() - 1).unwrap_or(u8::MAX)
    }

    /// clox resolves upvalues recursively through the enclosing compilers;
    /// this walks outwards iteratively instead (function nesting can be
    /// [`MAX_NESTING`] deep) and then threads the upvalue back inwards,
    /// making the same calls in the same order.
    fn resolve_upvalue(&mut self, fn_index: usize, name: &[u8]) -> Option<u8> {
        let mut found = None;
        for outer in (0..fn_index).rev() {
            if let Some(slot) = self.resolve_local(outer, name) {
                found = Some((outer, slot));
                break;
            }
        }
        let (outer, slot) = found?;
        if let Some(local) = self
            .fns
            .get_mut(outer)
            .and_then(|s| s.locals.get_mut(usize::from(slot)))
        {
            local.is_captured = true;
        }
        let mut index = self.add_upvalue(outer + 1, slot, true);
        for inner in outer + 2..=fn_index {
            index = self.add_upvalue(inner, index, false);
        }
        Some(index)
    }

    fn add_local(&mut self, name: &'src [u8]) {
        if self.state().locals.len() == UINT8_COUNT {
            self.error("Too many local variables in function.");
            return;
        }
        self.state().locals.push(Local {
            name,
            depth: None,
            is_captured: false,
        });
    }

    fn declare_variable(&mut self) {
        let state = self.state();
        if state.scope_depth == 0 {
            return;
        }
        let scope = state.scope_depth;
        let name = self.previous.lexeme;
        let mut duplicate = false;
        for local in self.state().locals.iter().rev() {
            if local.depth.is_some_and(|d| d < scope) {
                break;
            }
            if local.name == name {
                duplicate = true;
            }
        }
        if duplicate {
            self.error("Already a variable with this name in this scope.");
        }
        self.add_local(name);
    }

    fn parse_variable(&mut self, message: &'static str) -> u8 {
        self.consume(TokenKind::Identifier, message);
        self.declare_variable();
        if self.state().scope_depth > 0 {
            return 0;
        }
        self.identifier_constant(self.previous.lexeme)
    }

    fn mark_initialized(&mut self) {
        let state = self.state();
        if state.scope_depth == 0 {
            return;
        }
        let depth = state.scope_depth;
        if let Some(local) = state.locals.last_mut() {
            local.depth = Some(depth);
        }
    }

    fn define_variable(&mut self, global: u8) {
        if self.state().scope_depth > 0 {
            self.mark_initialized();
            return;
        }
        self.emit_op_byte(OpCode::DefineGlobal, global);
    }

    fn argument_list(&mut self) -> u8 {
        let mut count: u8 = 0;
        if !self.check(TokenKind::RightParen) {
            loop {
                self.expression();
                if count == 255 {
                    self.error("Can't have more than 255 arguments.");
                }
                // clox's counter wraps like a uint8_t; only the error
                // matters once it overflows.
                count = count.wrapping_add(1);
                if !self.match_token(TokenKind::Comma) {
                    break;
                }
            }
        }
        self.consume(TokenKind::RightParen, "Expect ')' after arguments.");
        count
    }

    fn named_variable(&mut self, name: &'src [u8], can_assign: bool) {
        let top = self.fns.len().saturating_sub(1);
        let (get, set, arg) = if let Some(slot) = self.resolve_local(top, name) {
            (OpCode::GetLocal, OpCode::SetLocal, slot)
        } else if let Some(index) = self.resolve_upvalue(top, name) {
            (OpCode::GetUpvalue, OpCode::SetUpvalue, index)
        } else {
            let index = self.identifier_constant(name);
            (OpCode::GetGlobal, OpCode::SetGlobal, index)
        };
        if can_assign && self.match_token(TokenKind::Equal) {
            self.expression();
            self.emit_op_byte(set, arg);
        } else {
            self.emit_op_byte(get, arg);
        }
    }

    // ----- expressions -----------------------------------------------------

    fn expression(&mut self) {
        self.parse_precedence(Precedence::Assignment);
    }

    /// Guards expression-level recursion; returns false (after reporting)
    /// when the limit is hit or the compile was already aborted.
    fn enter_expression(&mut self) -> bool {
        if self.aborted {
            return false;
        }
        if self.expr_depth >= MAX_EXPR_NESTING {
            self.nesting_error();
            return false;
        }
        self.expr_depth += 1;
        true
    }

    fn parse_precedence(&mut self, precedence: Precedence) {
        if !self.enter_expression() {
            return;
        }
        self.advance();
        self.parse_prefixed(precedence);
        self.expr_depth -= 1;
    }

    /// The rest of `parse_precedence` once the prefix token has been
    /// consumed (it is `previous`).
    fn parse_prefixed(&mut self, precedence: Precedence) {
        let Some(prefix) = rule(self.previous.kind).0 else {
            self.error("Expect expression.");
            return;
        };
        // `fun` not followed by `(` is not an anonymous function; clox
        // has no prefix rule for `fun` at all, so keep its error.
        if prefix == Prefix::Function && !self.check(TokenKind::LeftParen) {
            self.error("Expect expression.");
            return;
        }
        let can_assign = precedence <= Precedence::Assignment;
        self.prefix(prefix, can_assign);

        while precedence <= rule(self.current.kind).2 {
            self.advance();
            if let Some(infix) = rule(self.previous.kind).1 {
                self.infix(infix, can_assign);
            }
        }

        if can_assign && self.match_token(TokenKind::Equal) {
            self.error("Invalid assignment target.");
        }
    }

    fn prefix(&mut self, prefix: Prefix, can_assign: bool) {
        match prefix {
            Prefix::Grouping => {
                self.expression();
                self.consume(TokenKind::RightParen, "Expect ')' after expression.");
                self.state().last_op = None;
            }
            Prefix::Unary => {
                let operator = self.previous.kind;
                self.parse_precedence(Precedence::Unary);
                match operator {
                    TokenKind::Bang => self.emit_op(OpCode::Not),
                    TokenKind::Minus => self.emit_op(OpCode::Negate),
                    _ => {}
                }
            }
            Prefix::Number => {
                // The scanner only yields `[0-9]+(\.[0-9]+)?`, which Rust
                // parses with the same correct rounding as strtod.
                let value = std::str::from_utf8(self.previous.lexeme)
                    .ok()
                    .and_then(|s| s.parse::<f64>().ok())
                    .unwrap_or(0.0);
                self.emit_constant(Constant::Number(value));
            }
            Prefix::String => {
                let lexeme = self.previous.lexeme;
                let inner = lexeme
                    .get(1..lexeme.len().saturating_sub(1))
                    .unwrap_or_default();
                self.emit_constant(Constant::String(inner.to_vec()));
            }
            Prefix::Literal => match self.previous.kind {
                TokenKind::False => self.emit_op(OpCode::False),
                TokenKind::Nil => self.emit_op(OpCode::Nil),
                TokenKind::True => self.emit_op(OpCode::True),
                _ => {}
            },
            Prefix::Variable => self.named_variable(self.previous.lexeme, can_assign),
            Prefix::Super => self.super_(),
            Prefix::This => {
                if self.classes.is_empty() {
                    self.error("Can't use 'this' outside of a class.");
                    return;
                }
                self.named_variable(self.previous.lexeme, false);
            }
            Prefix::Function => self.function(FunctionType::Function, b"anonymous".to_vec()),
            Prefix::List => self.list_literal(),
            Prefix::Spawn => self.spawn(),
        }
    }

    /// `[a, b, ...]`: the elements, then `OP_LIST n`. Past 255 elements
    /// the first 255 become `OP_LIST 255` and each further run of up to
    /// 255 is followed by `OP_LIST_APPEND n`.
    fn list_literal(&mut self) {
        let mut pending: u8 = 0;
        let mut started = false;
        while !self.check(TokenKind::RightBracket) {
            self.expression();
            pending += 1;
            if pending == u8::MAX {
                self.emit_list_run(started, pending);
                started = true;
                pending = 0;
            }
            if !self.match_token(TokenKind::Comma) {
                break;
            }
        }
        self.consume(TokenKind::RightBracket, "Expect ']' after list elements.");
        if !started || pending > 0 {
            self.emit_list_run(started, pending);
        }
    }

    fn emit_list_run(&mut self, started: bool, count: u8) {
        let op = if started {
            OpCode::ListAppend
        } else {
            OpCode::List
        };
        self.emit_op_byte(op, count);
    }

    /// `spawn call`: compiles the call, then turns its `OP_CALL` /
    /// `OP_INVOKE` / `OP_SUPER_INVOKE` into the spawning form in place.
    fn spawn(&mut self) {
        let start = self.chunk().code.len();
        self.parse_precedence(Precedence::Call);
        let state = self.state();
        let last = state.last_op.filter(|&at| at >= start);
        let slot = last.and_then(|at| state.proto.chunk.code.get_mut(at));
        let spawning = match slot.as_deref().copied().and_then(OpCode::from_u8) {
            Some(OpCode::Call) => Some(OpCode::Spawn),
            Some(OpCode::Invoke) => Some(OpCode::SpawnInvoke),
            Some(OpCode::SuperInvoke) => Some(OpCode::SpawnSuperInvoke),
            _ => None,
        };
        match (slot, spawning) {
            (Some(byte), Some(op)) => *byte = op as u8,
            _ => self.error("Expect call after 'spawn'."),
        }
    }

    fn super_(&mut self) {
        match self.classes.last() {
            None => self.error("Can't use 'super' outside of a class."),
            Some(class) if !class.has_superclass => {
                self.error("Can't use 'super' in a class with no superclass.");
            }
            Some(_) => {}
        }
        self.consume(TokenKind::Dot, "Expect '.' after 'super'.");
        self.consume(TokenKind::Identifier, "Expect superclass method name.");
        let name = self.identifier_constant(self.previous.lexeme);
        self.named_variable(b"this", false);
        if self.match_token(TokenKind::LeftParen) {
            let argc = self.argument_list();
            self.named_variable(b"super", false);
            self.emit_op_byte(OpCode::SuperInvoke, name);
            self.emit_byte(argc);
        } else {
            self.named_variable(b"super", false);
            self.emit_op_byte(OpCode::GetSuper, name);
        }
    }

    fn infix(&mut self, infix: Infix, can_assign: bool) {
        match infix {
            Infix::Call => {
                let argc = self.argument_list();
                self.emit_op_byte(OpCode::Call, argc);
            }
            Infix::Dot => {
                self.consume(TokenKind::Identifier, "Expect property name after '.'.");
                let name = self.identifier_constant(self.previous.lexeme);
                if can_assign && self.match_token(TokenKind::Equal) {
                    self.expression();
                    self.emit_op_byte(OpCode::SetProperty, name);
                } else if self.match_token(TokenKind::LeftParen) {
                    let argc = self.argument_list();
                    self.emit_op_byte(OpCode::Invoke, name);
                    self.emit_byte(argc);
                } else {
                    self.emit_op_byte(OpCode::GetProperty, name);
                }
            }
            Infix::Index => {
                self.expression();
                self.consume(TokenKind::RightBracket, "Expect ']' after index.");
                if can_assign && self.match_token(TokenKind::Equal) {
                    self.expression();
                    self.emit_op(OpCode::SetIndex);
                } else {
                    self.emit_op(OpCode::GetIndex);
                }
            }
            Infix::Binary => self.binary(),
            Infix::And => {
                let end_jump = self.emit_jump(OpCode::JumpIfFalse);
                self.emit_op(OpCode::Pop);
                self.parse_precedence(Precedence::And);
                self.patch_jump(end_jump);
            }
            Infix::Or => {
                let else_jump = self.emit_jump(OpCode::JumpIfFalse);
                let end_jump = self.emit_jump(OpCode::Jump);
                self.patch_jump(else_jump);
                self.emit_op(OpCode::Pop);
                self.parse_precedence(Precedence::Or);
                self.patch_jump(end_jump);
            }
        }
    }

    fn binary(&mut self) {
        let operator = self.previous.kind;
        self.parse_precedence(rule(operator).2.next());
        match operator {
            TokenKind::BangEqual => {
                self.emit_op(OpCode::Equal);
                self.emit_op(OpCode::Not);
            }
            TokenKind::EqualEqual => self.emit_op(OpCode::Equal),
            TokenKind::Greater => self.emit_op(OpCode::Greater),
            TokenKind::GreaterEqual => {
                self.emit_op(OpCode::Less);
                self.emit_op(OpCode::Not);
            }
            TokenKind::Less => self.emit_op(OpCode::Less),
            TokenKind::LessEqual => {
                self.emit_op(OpCode::Greater);
                self.emit_op(OpCode::Not);
            }
            TokenKind::Plus => self.emit_op(OpCode::Add),
            TokenKind::Minus => self.emit_op(OpCode::Subtract),
            TokenKind::Star => self.emit_op(OpCode::Multiply),
            TokenKind::Slash => self.emit_op(OpCode::Divide),
            _ => {}
        }
    }

    // ----- declarations and statements -------------------------------------

    /// Guards statement-level recursion; returns false (after reporting)
    /// when the limit is hit or the compile was already aborted.
    fn enter_statement(&mut self) -> bool {
        if self.aborted {
            return false;
        }
        if self.stmt_depth >= MAX_NESTING {
            self.nesting_error();
            return false;
        }
        self.stmt_depth += 1;
        true
    }

    fn block(&mut self) {
        while !self.check(TokenKind::RightBrace) && !self.check(TokenKind::Eof) {
            self.declaration();
        }
        self.consume(TokenKind::RightBrace, "Expect '}' after block.");
    }

    /// Compiles parameters and body (the name, if any, was consumed) and
    /// emits the `OP_CLOSURE`.
    fn function(&mut self, kind: FunctionType, name: Vec<u8>) {
        if !self.enter_statement() {
            return;
        }
        self.begin_function(kind, name);
        self.begin_scope();

        self.consume(TokenKind::LeftParen, "Expect '(' after function name.");
        if !self.check(TokenKind::RightParen) {
            loop {
                let state = self.state();
                // Arity saturates at 255; clox's int counter keeps going
                // but only the error (once per excess parameter) is visible.
                let over = state.proto.arity == u8::MAX;
                state.proto.arity = state.proto.arity.saturating_add(1);
                if over {
                    self.error_at_current("Can't have more than 255 parameters.");
                }
                let constant = self.parse_variable("Expect parameter name.");
                self.define_variable(constant);
                if !self.match_token(TokenKind::Comma) {
                    break;
                }
            }
        }
        self.consume(TokenKind::RightParen, "Expect ')' after parameters.");
        self.consume(TokenKind::LeftBrace, "Expect '{' before function body.");
        self.block();

        let (proto, upvalues) = self.end_compiler();
        let constant = self.make_constant(Constant::Function(Box::new(proto)));
        self.emit_op_byte(OpCode::Closure, constant);
        for upvalue in upvalues {
            self.emit_byte(u8::from(upvalue.is_local));
            self.emit_byte(upvalue.index);
        }
        self.stmt_depth -= 1;
    }

    fn method(&mut self) {
        self.consume(TokenKind::Identifier, "Expect method name.");
        let constant = self.identifier_constant(self.previous.lexeme);
        let kind = if self.previous.lexeme == b"init" {
            FunctionType::Initializer
        } else {
            FunctionType::Method
        };
        self.function(kind, self.previous.lexeme.to_vec());
        self.emit_op_byte(OpCode::Method, constant);
    }

    fn class_declaration(&mut self) {
        self.consume(TokenKind::Identifier, "Expect class name.");
        let class_name = self.previous.lexeme;
        let name_constant = self.identifier_constant(class_name);
        self.declare_variable();

        self.emit_op_byte(OpCode::Class, name_constant);
        self.define_variable(name_constant);

        self.classes.push(ClassState {
            has_superclass: false,
        });

        if self.match_token(TokenKind::Less) {
            self.consume(TokenKind::Identifier, "Expect superclass name.");
            self.named_variable(self.previous.lexeme, false);
            if class_name == self.previous.lexeme {
                self.error("A class can't inherit from itself.");
            }
            self.begin_scope();
            self.add_local(b"super");
            self.define_variable(0);

            self.named_variable(class_name, false);
            self.emit_op(OpCode::Inherit);
            if let Some(class) = self.classes.last_mut() {
                class.has_superclass = true;
            }
        }

        self.named_variable(class_name, false);
        self.consume(TokenKind::LeftBrace, "Expect '{' before class body.");
        while !self.check(TokenKind::RightBrace) && !self.check(TokenKind::Eof) {
            self.method();
        }
        self.consume(TokenKind::RightBrace, "Expect '}' after class body.");
        self.emit_op(OpCode::Pop);

        if self.classes.last().is_some_and(|c| c.has_superclass) {
            self.end_scope();
        }
        self.classes.pop();
    }

    fn fun_declaration(&mut self) {
        let global = self.parse_variable("Expect function name.");
        self.mark_initialized();
        self.function(FunctionType::Function, self.previous.lexeme.to_vec());
        self.define_variable(global);
    }

    fn var_declaration(&mut self) {
        let global = self.parse_variable("Expect variable name.");
        if self.match_token(TokenKind::Equal) {
            self.expression();
        } else {
            self.emit_op(OpCode::Nil);
        }
        self.consume(
            TokenKind::Semicolon,
            "Expect ';' after variable declaration.",
        );
        self.define_variable(global);
    }

    /// A statement that starts with an anonymous function, e.g.
    /// `fun (x) { print x; }(1);`, whose `fun` was consumed by
    /// `declaration` to tell it from a function declaration.
    fn fun_expression_statement(&mut self) {
        if !self.enter_statement() {
            return;
        }
        if self.enter_expression() {
            self.parse_prefixed(Precedence::Assignment);
            self.expr_depth -= 1;
        }
        self.consume(TokenKind::Semicolon, "Expect ';' after expression.");
        self.emit_op(OpCode::Pop);
        self.stmt_depth -= 1;
    }

    fn expression_statement(&mut self) {
        self.expression();
        self.consume(TokenKind::Semicolon, "Expect ';' after expression.");
        self.emit_op(OpCode::Pop);
    }

    fn for_statement(&mut self) {
        self.begin_scope();
        self.consume(TokenKind::LeftParen, "Expect '(' after 'for'.");
        if self.match_token(TokenKind::Semicolon) {
            // No initializer.
        } else if self.match_token(TokenKind::Var) {
            self.var_declaration();
        } else {
            self.expression_statement();
        }

        let mut loop_start = self.chunk().code.len();
        let mut exit_jump = None;
        if !self.match_token(TokenKind::Semicolon) {
            self.expression();
            self.consume(TokenKind::Semicolon, "Expect ';' after loop condition.");
            exit_jump = Some(self.emit_jump(OpCode::JumpIfFalse));
            self.emit_op(OpCode::Pop);
        }

        if !self.match_token(TokenKind::RightParen) {
            let body_jump = self.emit_jump(OpCode::Jump);
            let increment_start = self.chunk().code.len();
            self.expression();
            self.emit_op(OpCode::Pop);
            self.consume(TokenKind::RightParen, "Expect ')' after for clauses.");
            self.emit_loop(loop_start);
            loop_start = increment_start;
            self.patch_jump(body_jump);
        }

        self.statement();
        self.emit_loop(loop_start);

        if let Some(exit_jump) = exit_jump {
            self.patch_jump(exit_jump);
            self.emit_op(OpCode::Pop);
        }
        self.end_scope();
    }

    fn if_statement(&mut self) {
        self.consume(TokenKind::LeftParen, "Expect '(' after 'if'.");
        self.expression();
        self.consume(TokenKind::RightParen, "Expect ')' after condition.");

        let then_jump = self.emit_jump(OpCode::JumpIfFalse);
        self.emit_op(OpCode::Pop);
        self.statement();

        let else_jump = self.emit_jump(OpCode::Jump);
        self.patch_jump(then_jump);
        self.emit_op(OpCode::Pop);

        if self.match_token(TokenKind::Else) {
            self.statement();
        }
        self.patch_jump(else_jump);
    }

    fn print_statement(&mut self) {
        self.expression();
        self.consume(TokenKind::Semicolon, "Expect ';' after value.");
        self.emit_op(OpCode::Print);
    }

    fn return_statement(&mut self) {
        if self.state().kind == FunctionType::Script {
            self.error("Can't return from top-level code.");
        }
        if self.match_token(TokenKind::Semicolon) {
            self.emit_return();
        } else {
            if self.state().kind == FunctionType::Initializer {
                self.error("Can't return a value from an initializer.");
            }
            self.expression();
            self.consume(TokenKind::Semicolon, "Expect ';' after return value.");
            self.emit_op(OpCode::Return);
        }
    }

    fn while_statement(&mut self) {
        let loop_start = self.chunk().code.len();
        self.consume(TokenKind::LeftParen, "Expect '(' after 'while'.");
        self.expression();
        self.consume(TokenKind::RightParen, "Expect ')' after condition.");

        let exit_jump = self.emit_jump(OpCode::JumpIfFalse);
        self.emit_op(OpCode::Pop);
        self.statement();
        self.emit_loop(loop_start);

        self.patch_jump(exit_jump);
        self.emit_op(OpCode::Pop);
    }

    fn synchronize(&mut self) {
        self.panic_mode = false;
        while self.current.kind != TokenKind::Eof {
            if self.previous.kind == TokenKind::Semicolon {
                return;
            }
            match self.current.kind {
                TokenKind::Class
                | TokenKind::Fun
                | TokenKind::Var
                | TokenKind::For
                | TokenKind::If
                | TokenKind::While
                | TokenKind::Print
                | TokenKind::Return => return,
                _ => {}
            }
            self.advance();
        }
    }

    fn declaration(&mut self) {
        if self.match_token(TokenKind::Class) {
            self.class_declaration();
        } else if self.match_token(TokenKind::Fun) {
            if self.check(TokenKind::LeftParen) {
                self.fun_expression_statement();
            } else {
                self.fun_declaration();
            }
        } else if self.match_token(TokenKind::Var) {
            self.var_declaration();
        } else {
            self.statement();
        }
        if self.panic_mode {
            self.synchronize();
        }
    }

    fn statement(&mut self) {
        if !self.enter_statement() {
            return;
        }
        if self.match_token(TokenKind::Print) {
            self.print_statement();
        } else if self.match_token(TokenKind::For) {
            self.for_statement();
        } else if self.match_token(TokenKind::If) {
            self.if_statement();
        } else if self.match_token(TokenKind::Return) {
            self.return_statement();
        } else if self.match_token(TokenKind::While) {
            self.while_statement();
        } else if self.match_token(TokenKind::LeftBrace) {
            self.begin_scope();
            self.block();
            self.end_scope();
        } else {
            self.expression_statement();
        }
        self.stmt_depth -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(source: &str) -> Proto {
        match compile(source.as_bytes()) {
            Ok(p) => p,
            Err(e) => panic!("unexpected errors: {e:?}"),
        }
    }

    fn errors(source: &[u8]) -> Vec<String> {
        compile(source)
            .err()
            .unwrap_or_default()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn constants_are_not_deduplicated() {
        let p = ok("var a = 1; print a; print a; print 1;");
        assert_eq!(p.name, None);
        assert_eq!(
            p.chunk.constants,
            vec![
                Constant::String(b"a".to_vec()),
                Constant::Number(1.0),
                Constant::String(b"a".to_vec()),
                Constant::String(b"a".to_vec()),
                Constant::Number(1.0),
            ]
        );
        assert_eq!(p.chunk.code.len(), p.chunk.lines.len());
    }

    #[test]
    fn closures_record_arity_and_upvalues() {
        let p = ok("fun f(a, b) { fun g() { return a + b; } return g; }");
        let Some(Constant::Function(f)) = p.chunk.constants.get(1) else {
            panic!("no function constant: {:?}", p.chunk.constants);
        };
        assert_eq!(f.name.as_deref(), Some(&b"f"[..]));
        assert_eq!(f.arity, 2);
        let Some(Constant::Function(g)) = f.chunk.constants.first() else {
            panic!("no nested function");
        };
        assert_eq!(g.upvalue_count, 2);
        // OP_CLOSURE 0, then (local, 1), (local, 2).
        assert_eq!(
            f.chunk.code.get(..6),
            Some(&[OpCode::Closure as u8, 0, 1, 1, 1, 2][..])
        );
    }

    #[test]
    fn error_layouts() {
        assert_eq!(
            errors(b"print"),
            ["[line 1] Error at end: Expect expression."]
        );
        assert_eq!(
            errors(b"\n\"open"),
            ["[line 2] Error: Unterminated string."]
        );
        assert_eq!(
            errors(b"var \xc3\xa9 = 1;"),
            ["[line 1] Error: Unexpected character."]
        );
        let raw = compile(b"print \"\xff\" +;").err().unwrap_or_default();
        assert_eq!(
            raw.first().map(CompileError::to_bytes),
            Some(b"[line 1] Error at ';': Expect expression.".to_vec())
        );
        let raw = compile(b"print 1 \"\xff\";").err().unwrap_or_default();
        assert_eq!(
            raw.first().map(CompileError::to_bytes),
            Some(b"[line 1] Error at '\"\xff\"': Expect ';' after value.".to_vec())
        );
    }

    #[test]
    fn errors_carry_the_span_of_their_token() {
        let spans = |src: &[u8]| -> Vec<(usize, usize)> {
            compile(src)
                .err()
                .unwrap_or_default()
                .into_iter()
                .map(|e| (e.span.start, e.span.end))
                .collect()
        };
        // `Error at ';'`, `Error at end`, a lexical error, and a lexeme
        // on a later line.
        assert_eq!(spans(b"print 1 +;"), [(9, 10)]);
        assert_eq!(spans(b"print 1 +"), [(9, 9)]);
        assert_eq!(spans(b"var \xc3 = 1;"), [(4, 5)]);
        assert_eq!(spans(b"var a = 1;\nvar a b;"), [(17, 18)]);
        assert_eq!(spans(b"print \"open"), [(6, 11)]);
        // The source ends at a NUL: `at end` points there.
        assert_eq!(spans(b"print\0;"), [(5, 5)]);
    }

    #[test]
    fn initializer_returns_this() {
        let p = ok("class A { init() { return; } }");
        let Some(Constant::Function(init)) = p.chunk.constants.get(3) else {
            panic!("no init constant: {:?}", p.chunk.constants);
        };
        let get_this = [OpCode::GetLocal as u8, 0, OpCode::Return as u8];
        assert_eq!(init.chunk.code.get(..3), Some(&get_this[..]));
    }
}
