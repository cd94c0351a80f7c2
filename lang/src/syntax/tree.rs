//! The syntax tree the grammar builds. It is for tools (the formatter and
//! the linter), never for compiling: it keeps every construct's byte span
//! in the source, and the comments live beside it in
//! [`super::Parsed::comments`]. Punctuation is not stored; a tool that
//! prints tokens walks [`super::Parsed::tokens`] in step with the tree.

/// A byte range of the source as the scanner sees it (up to the first NUL
/// byte, so offsets are also offsets into the whole file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The bytes of `source` this span covers (empty if out of range).
    pub fn text(self, source: &[u8]) -> &[u8] {
        source.get(self.start..self.end).unwrap_or_default()
    }
}

/// An identifier token: a variable, parameter, property, method or class
/// name. Its text is `span.text(source)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Name {
    pub span: Span,
}

/// A whole program: its declarations in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    pub body: Vec<Stmt>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stmt {
    pub span: Span,
    pub kind: StmtKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StmtKind {
    /// `class Name < Super { methods }`
    Class(ClassDecl),
    /// `fun name(params) { body }` (its `name` is always set).
    Fun(Function),
    /// `var name = init;`
    Var {
        name: Name,
        init: Option<Expr>,
    },
    /// `expr;`
    Expr(Expr),
    /// `print expr;`
    Print(Expr),
    /// `return expr;` / `return;`
    Return(Option<Expr>),
    If {
        cond: Expr,
        then_branch: Box<Stmt>,
        else_branch: Option<Box<Stmt>>,
    },
    While {
        cond: Expr,
        body: Box<Stmt>,
    },
    /// `init` is a `Var` or `Expr` statement, or `None` for `for (;`.
    For {
        init: Option<Box<Stmt>>,
        cond: Option<Expr>,
        incr: Option<Expr>,
        body: Box<Stmt>,
    },
    /// `{ declarations }`
    Block(Vec<Stmt>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClassDecl {
    pub name: Name,
    pub superclass: Option<Name>,
    pub methods: Vec<Function>,
}

/// A function declaration, a method, or an anonymous function (`name` is
/// `None` only for the last). `span` runs from the name (or `fun`) to the
/// closing brace.
#[derive(Debug, Clone, PartialEq)]
pub struct Function {
    pub span: Span,
    pub name: Option<Name>,
    pub params: Vec<Name>,
    pub body: Vec<Stmt>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub span: Span,
    pub kind: ExprKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Negate,
    Not,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Subtract,
    Multiply,
    Divide,
    Equal,
    NotEqual,
    Greater,
    GreaterEqual,
    Less,
    LessEqual,
    /// `and`, right-associative as the compiler groups it.
    And,
    /// `or`, right-associative as the compiler groups it.
    Or,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Number,
    String,
    True,
    False,
    Nil,
    This,
    Variable(Name),
    /// `super.method` (a call `super.method(args)` is a `Call` of this).
    Super {
        method: Name,
    },
    /// `( expr )`
    Grouping(Box<Expr>),
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    /// `name = value`
    Assign {
        name: Name,
        value: Box<Expr>,
    },
    Call {
        callee: Box<Expr>,
        args: Vec<Expr>,
    },
    /// `object.name`
    Get {
        object: Box<Expr>,
        name: Name,
    },
    /// `object.name = value`
    Set {
        object: Box<Expr>,
        name: Name,
        value: Box<Expr>,
    },
    /// `object[index]`
    Index {
        object: Box<Expr>,
        index: Box<Expr>,
    },
    /// `object[index] = value`
    SetIndex {
        object: Box<Expr>,
        index: Box<Expr>,
        value: Box<Expr>,
    },
    /// `[a, b]`; `trailing_comma` for `[a, b,]`.
    List {
        elements: Vec<Expr>,
        trailing_comma: bool,
    },
    /// `fun (params) { body }`
    Function(Box<Function>),
    /// `spawn call`: the operand is always a `Call`.
    Spawn(Box<Expr>),
}

impl Expr {
    pub(crate) fn new(start: usize, end: usize, kind: ExprKind) -> Expr {
        Expr {
            span: Span::new(start, end),
            kind,
        }
    }

    pub(crate) fn binary(start: usize, end: usize, op: BinaryOp, left: Expr, right: Expr) -> Expr {
        Expr::new(
            start,
            end,
            ExprKind::Binary {
                op,
                left: Box::new(left),
                right: Box::new(right),
            },
        )
    }
}

impl Stmt {
    pub(crate) fn new(start: usize, end: usize, kind: StmtKind) -> Stmt {
        Stmt {
            span: Span::new(start, end),
            kind,
        }
    }
}

/// The parts of a `for` header: initializer, condition, increment.
pub(crate) type ForHeader = (Option<Box<Stmt>>, Option<Expr>, Option<Expr>);

impl Stmt {
    pub(crate) fn for_loop(start: usize, end: usize, header: ForHeader, body: Stmt) -> Stmt {
        let (init, cond, incr) = header;
        Stmt::new(
            start,
            end,
            StmtKind::For {
                init,
                cond,
                incr,
                body: Box::new(body),
            },
        )
    }
}
