//! `loam check`'s warnings: a resolver that binds every name as the
//! compiler would (globals by name, locals by scope, upvalues through
//! enclosing functions), then six lints over what it found. Each lint is
//! conservative: it warns only where the defect is certain from the text
//! of the program, and says in its doc below exactly what it looks for.
//!
//! The tree must come from a program that compiled without errors (the
//! tool checks that first), so scoping errors cannot occur here.

use std::collections::{HashMap, HashSet};

use super::tree::{ClassDecl, Expr, ExprKind, Function, Name, Span, Stmt, StmtKind};
use super::Parsed;

/// The lints, with stable codes and names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lint {
    /// W01: a local variable, function or class (declared inside a block
    /// or function) that is never read. Assigning to it does not count as
    /// a use. Names starting with `_` are exempt.
    UnusedVariable,
    /// W02: a parameter never read in its function (nested functions
    /// included). Names starting with `_` are exempt.
    UnusedParameter,
    /// W03: a statement that follows a `return` in the same block or
    /// function body, so it never runs (reported once per block, at the
    /// first such statement).
    UnreachableCode,
    /// W04: an assignment `name = value` that resolves to a global no
    /// top-level `var`, `fun` or `class` of the file declares and that is
    /// not a native: in Lox such an assignment is always the runtime error
    /// `Undefined variable 'name'.` (typically a typo of a declared name).
    UndeclaredGlobal,
    /// W05: `setFinalizer(obj, fn)` where `obj` is a local variable,
    /// parameter or `this`, and `fn` is an anonymous function (or a local
    /// `fun` declaration named directly) whose body mentions that same
    /// variable: the closure captures it, the finalizer is a root for
    /// what it reaches, so the object stays reachable and is never
    /// finalized (LANGUAGE.md §6). Captures through another variable or
    /// through a container are not detected; a global `obj` is not
    /// captured (globals are looked up by name).
    FinalizerCapturesObject,
    /// W06: a `spawn` whose handle is discarded (`spawn f(ch);`) or kept
    /// only in a variable that is never read, and whose call passes (as an
    /// argument or as the receiver) a channel that is never closed: a
    /// variable initialised with `Channel(...)` and never assigned again,
    /// or a `Channel(...)` written in the call. "Never closed" means no
    /// `.close` in the file could reach it: any `.close` on something that
    /// is not a variable, or on a variable not itself initialised with its
    /// own `Channel(...)`, is taken to close every channel.
    UnjoinedCoroutine,
}

impl Lint {
    pub const ALL: [Lint; 6] = [
        Lint::UnusedVariable,
        Lint::UnusedParameter,
        Lint::UnreachableCode,
        Lint::UndeclaredGlobal,
        Lint::FinalizerCapturesObject,
        Lint::UnjoinedCoroutine,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Lint::UnusedVariable => "W01",
            Lint::UnusedParameter => "W02",
            Lint::UnreachableCode => "W03",
            Lint::UndeclaredGlobal => "W04",
            Lint::FinalizerCapturesObject => "W05",
            Lint::UnjoinedCoroutine => "W06",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Lint::UnusedVariable => "unused-variable",
            Lint::UnusedParameter => "unused-parameter",
            Lint::UnreachableCode => "unreachable-code",
            Lint::UndeclaredGlobal => "undeclared-global",
            Lint::FinalizerCapturesObject => "finalizer-captures-object",
            Lint::UnjoinedCoroutine => "unjoined-coroutine",
        }
    }

    /// A lint by code (`W03`) or name (`unreachable-code`).
    pub fn parse(text: &str) -> Option<Lint> {
        Lint::ALL
            .into_iter()
            .find(|l| l.code().eq_ignore_ascii_case(text) || l.name() == text)
    }
}

/// One finding: where, what, and what else to look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub lint: Lint,
    pub span: Span,
    pub message: String,
    /// Other places that explain the warning, with what they are.
    pub labels: Vec<(Span, String)>,
    pub note: Option<String>,
}

/// Runs every lint; `predefined` names the globals the runtime defines
/// (the natives), which assignments may target without a declaration.
/// Warnings come in source order.
pub fn lint(parsed: &Parsed<'_>, predefined: &[&str]) -> Vec<Warning> {
    let mut r = Resolver::new(parsed.source, predefined);
    r.declare_top_level(&parsed.program.body);
    r.statements(&parsed.program.body);
    let mut warnings = std::mem::take(&mut r.warnings);
    warnings.extend(r.unused());
    warnings.extend(r.captured_by_finalizers());
    warnings.extend(r.unjoined_coroutines());
    warnings.sort_by_key(|w| (w.span.start, w.lint));
    warnings
}

type BindingId = usize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Global,
    Local,
    Parameter,
    /// A method's `this`.
    This,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Declared {
    Var,
    Fun,
    Class,
    Parameter,
    This,
}

struct Binding<'t> {
    name: &'t [u8],
    span: Span,
    kind: Kind,
    declared: Declared,
    reads: u32,
    /// Assignments after the declaration.
    writes: u32,
    /// How many declarations (a global may be declared again).
    declarations: u32,
    /// Initialised with the native `Channel(...)`.
    channel: bool,
    /// The function a local `fun` declaration made.
    function: Option<&'t Function>,
}

/// A reference to a binding at a byte offset (reads and writes alike).
struct Reference {
    at: usize,
    binding: BindingId,
}

/// The object argument of a `setFinalizer` call and the finalizer's body.
struct FinalizerCall {
    call: Span,
    object: BindingId,
    finalizer: Span,
}

enum Handle {
    /// `spawn f();` as a statement.
    Discarded,
    /// `var h = spawn ...;` or `h = spawn ...;`
    Stored(BindingId),
}

enum ChannelArg {
    Binding(BindingId, Span),
    Inline(Span),
}

struct SpawnSite {
    span: Span,
    handle: Handle,
    channels: Vec<ChannelArg>,
}

/// A `.close` (called or not): on a variable, or on anything else.
enum Close {
    Of(BindingId),
    Unknown,
}

struct FnCtx {
    /// Innermost last; empty for the script at top level (globals).
    scopes: Vec<Vec<BindingId>>,
    this: Option<BindingId>,
}

struct Resolver<'t> {
    source: &'t [u8],
    bindings: Vec<Binding<'t>>,
    globals: HashMap<&'t [u8], BindingId>,
    declared_globals: HashSet<&'t [u8]>,
    predefined: HashSet<Vec<u8>>,
    fns: Vec<FnCtx>,
    references: Vec<Reference>,
    finalizer_calls: Vec<FinalizerCall>,
    spawns: Vec<SpawnSite>,
    closes: Vec<Close>,
    warnings: Vec<Warning>,
}

fn show(name: &[u8]) -> String {
    String::from_utf8_lossy(name).into_owned()
}

impl<'t> Resolver<'t> {
    fn new(source: &'t [u8], predefined: &[&str]) -> Resolver<'t> {
        Resolver {
            source,
            bindings: Vec::new(),
            globals: HashMap::new(),
            declared_globals: HashSet::new(),
            predefined: predefined.iter().map(|p| p.as_bytes().to_vec()).collect(),
            fns: vec![FnCtx {
                scopes: Vec::new(),
                this: None,
            }],
            references: Vec::new(),
            finalizer_calls: Vec::new(),
            spawns: Vec::new(),
            closes: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn text(&self, name: Name) -> &'t [u8] {
        name.span.text(self.source)
    }

    /// Names of the file's top-level declarations, wherever they are (a
    /// function may assign a global declared further down).
    fn declare_top_level(&mut self, body: &'t [Stmt]) {
        for stmt in body {
            let name = match &stmt.kind {
                StmtKind::Var { name, .. } => *name,
                StmtKind::Fun(f) => match f.name {
                    Some(n) => n,
                    None => continue,
                },
                StmtKind::Class(c) => c.name,
                _ => continue,
            };
            self.declared_globals.insert(name.span.text(self.source));
        }
    }

    fn new_binding(
        &mut self,
        name: &'t [u8],
        span: Span,
        kind: Kind,
        declared: Declared,
    ) -> BindingId {
        self.bindings.push(Binding {
            name,
            span,
            kind,
            declared,
            reads: 0,
            writes: 0,
            declarations: 1,
            channel: false,
            function: None,
        });
        self.bindings.len() - 1
    }

    fn global(&mut self, name: &'t [u8], span: Span) -> BindingId {
        if let Some(&id) = self.globals.get(name) {
            return id;
        }
        let id = self.new_binding(name, span, Kind::Global, Declared::Var);
        self.bindings[id].declarations = 0;
        self.globals.insert(name, id);
        id
    }

    fn ctx(&mut self) -> &mut FnCtx {
        // `fns` always holds the script's context.
        if self.fns.is_empty() {
            self.fns.push(FnCtx {
                scopes: Vec::new(),
                this: None,
            });
        }
        let last = self.fns.len() - 1;
        &mut self.fns[last]
    }

    /// Declares `name` in the current scope: a global at the script's top
    /// level, else a local.
    fn declare(&mut self, name: Name, declared: Declared) -> BindingId {
        let text = self.text(name);
        if self.ctx().scopes.is_empty() {
            let id = self.global(text, name.span);
            let b = &mut self.bindings[id];
            if b.declarations == 0 {
                b.span = name.span;
                b.declared = declared;
            }
            b.declarations += 1;
            return id;
        }
        let kind = if declared == Declared::Parameter {
            Kind::Parameter
        } else {
            Kind::Local
        };
        let id = self.new_binding(text, name.span, kind, declared);
        if let Some(scope) = self.ctx().scopes.last_mut() {
            scope.push(id);
        }
        id
    }

    /// The binding `name` refers to here, as the compiler resolves it.
    fn lookup(&mut self, name: Name) -> BindingId {
        let text = self.text(name);
        for ctx in self.fns.iter().rev() {
            for scope in ctx.scopes.iter().rev() {
                if let Some(&id) = scope
                    .iter()
                    .rev()
                    .find(|&&id| self.bindings[id].name == text)
                {
                    return id;
                }
            }
        }
        self.global(text, name.span)
    }

    fn read(&mut self, name: Name) -> BindingId {
        let id = self.lookup(name);
        self.bindings[id].reads += 1;
        self.references.push(Reference {
            at: name.span.start,
            binding: id,
        });
        id
    }

    /// Whether `expr` is the native `name` (a global nobody declared).
    fn is_native(&mut self, expr: &Expr, name: &[u8]) -> bool {
        let ExprKind::Variable(n) = expr.kind else {
            return false;
        };
        let text = self.text(n);
        if text != name || self.declared_globals.contains(text) {
            return false;
        }
        let id = self.lookup(n);
        self.bindings[id].kind == Kind::Global
    }

    fn begin_scope(&mut self) {
        self.ctx().scopes.push(Vec::new());
    }

    fn end_scope(&mut self) {
        self.ctx().scopes.pop();
    }

    // ----- statements ------------------------------------------------------

    fn statements(&mut self, stmts: &'t [Stmt]) {
        let mut reported = false;
        for (i, stmt) in stmts.iter().enumerate() {
            if !reported && i > 0 {
                if let StmtKind::Return(_) = stmts[i - 1].kind {
                    reported = true;
                    self.warnings.push(Warning {
                        lint: Lint::UnreachableCode,
                        span: stmt.span,
                        message: "unreachable code".into(),
                        labels: vec![(stmts[i - 1].span, "this `return` comes first".into())],
                        note: Some("nothing after a `return` in the same block ever runs".into()),
                    });
                }
            }
            self.statement(stmt);
        }
    }

    fn statement(&mut self, stmt: &'t Stmt) {
        match &stmt.kind {
            StmtKind::Class(class) => self.class(class),
            StmtKind::Fun(function) => {
                if let Some(name) = function.name {
                    let id = self.declare(name, Declared::Fun);
                    if self.bindings[id].kind == Kind::Local {
                        self.bindings[id].function = Some(function);
                    }
                }
                self.function(function, false);
            }
            StmtKind::Var { name, init } => {
                if let Some(init) = init {
                    self.expr(init);
                }
                let channel = init.as_ref().is_some_and(|e| self.is_channel_call(e));
                let id = self.declare(*name, Declared::Var);
                if let Some(Expr {
                    kind: ExprKind::Spawn(call),
                    span,
                }) = init
                {
                    self.spawn_site(*span, call, Some(id));
                }
                let b = &mut self.bindings[id];
                // A global declared twice is not one channel any more.
                b.channel = channel && b.declarations == 1;
            }
            StmtKind::Expr(e) => {
                if let ExprKind::Spawn(call) = &e.kind {
                    self.expr(e);
                    self.spawn_site(e.span, call, None);
                } else {
                    self.expr(e);
                }
            }
            StmtKind::Print(e) => self.expr(e),
            StmtKind::Return(value) => {
                if let Some(value) = value {
                    self.expr(value);
                }
            }
            StmtKind::If {
                cond,
                then_branch,
                else_branch,
            } => {
                self.expr(cond);
                self.statement(then_branch);
                if let Some(other) = else_branch {
                    self.statement(other);
                }
            }
            StmtKind::While { cond, body } => {
                self.expr(cond);
                self.statement(body);
            }
            StmtKind::For {
                init,
                cond,
                incr,
                body,
            } => {
                self.begin_scope();
                if let Some(init) = init {
                    self.statement(init);
                }
                if let Some(cond) = cond {
                    self.expr(cond);
                }
                if let Some(incr) = incr {
                    self.expr(incr);
                }
                self.statement(body);
                self.end_scope();
            }
            StmtKind::Block(body) => {
                self.begin_scope();
                self.statements(body);
                self.end_scope();
            }
        }
    }

    fn class(&mut self, class: &'t ClassDecl) {
        self.declare(class.name, Declared::Class);
        if let Some(superclass) = class.superclass {
            self.read(superclass);
        }
        for method in &class.methods {
            self.function(method, true);
        }
    }

    fn function(&mut self, function: &'t Function, method: bool) {
        let this = method.then(|| {
            let span = function.name.map_or(function.span, |n| n.span);
            self.new_binding(b"this", span, Kind::This, Declared::This)
        });
        self.fns.push(FnCtx {
            scopes: vec![Vec::new()],
            this,
        });
        for &param in &function.params {
            self.declare(param, Declared::Parameter);
        }
        self.statements(&function.body);
        self.fns.pop();
    }

    // ----- expressions -----------------------------------------------------

    fn expr(&mut self, expr: &'t Expr) {
        match &expr.kind {
            ExprKind::Number
            | ExprKind::String
            | ExprKind::True
            | ExprKind::False
            | ExprKind::Nil => {}
            ExprKind::This => {
                if let Some(id) = self.fns.iter().rev().find_map(|f| f.this) {
                    self.bindings[id].reads += 1;
                    self.references.push(Reference {
                        at: expr.span.start,
                        binding: id,
                    });
                }
            }
            ExprKind::Variable(name) => {
                self.read(*name);
            }
            ExprKind::Super { method } => {
                if self.text(*method) == b"close" {
                    self.closes.push(Close::Unknown);
                }
            }
            ExprKind::Grouping(inner) => self.expr(inner),
            ExprKind::Unary { operand, .. } => self.expr(operand),
            ExprKind::Binary { left, right, .. } => {
                self.expr(left);
                self.expr(right);
            }
            ExprKind::Assign { name, value } => {
                self.expr(value);
                let id = self.lookup(*name);
                self.bindings[id].writes += 1;
                self.references.push(Reference {
                    at: name.span.start,
                    binding: id,
                });
                self.check_assignment(*name, id);
                if let ExprKind::Spawn(call) = &value.kind {
                    self.spawn_site(value.span, call, Some(id));
                }
            }
            ExprKind::Call { callee, args } => {
                self.expr(callee);
                for arg in args {
                    self.expr(arg);
                }
                if args.len() == 2 && self.is_native(callee, b"setFinalizer") {
                    self.finalizer_call(expr.span, &args[0], &args[1]);
                }
            }
            ExprKind::Get { object, name } => {
                self.expr(object);
                if self.text(*name) == b"close" {
                    let close = match object.kind {
                        ExprKind::Variable(v) => Close::Of(self.lookup(v)),
                        _ => Close::Unknown,
                    };
                    self.closes.push(close);
                }
            }
            ExprKind::Set { object, value, .. } => {
                self.expr(object);
                self.expr(value);
            }
            ExprKind::Index { object, index } => {
                self.expr(object);
                self.expr(index);
            }
            ExprKind::SetIndex {
                object,
                index,
                value,
            } => {
                self.expr(object);
                self.expr(index);
                self.expr(value);
            }
            ExprKind::List { elements, .. } => {
                for e in elements {
                    self.expr(e);
                }
            }
            ExprKind::Function(function) => self.function(function, false),
            ExprKind::Spawn(call) => self.expr(call),
        }
    }

    /// W04, at an assignment that resolved to binding `id`.
    fn check_assignment(&mut self, name: Name, id: BindingId) {
        let text = self.text(name);
        if self.bindings[id].kind != Kind::Global
            || self.declared_globals.contains(text)
            || self.predefined.contains(text)
        {
            return;
        }
        let guess = self
            .declared_globals
            .iter()
            .chain(
                self.bindings
                    .iter()
                    .filter(|b| b.kind != Kind::Global)
                    .map(|b| &b.name),
            )
            .filter(|candidate| edit_distance(candidate, text) <= 2)
            .min_by_key(|candidate| (edit_distance(candidate, text), candidate.to_vec()))
            .map(|c| show(c));
        let name_text = show(text);
        self.warnings.push(Warning {
            lint: Lint::UndeclaredGlobal,
            span: name.span,
            message: format!("assignment to undeclared global '{name_text}'"),
            labels: Vec::new(),
            note: Some(match guess {
                Some(g) => format!(
                    "no top-level `var {name_text}` declares it, so this fails with \
                     `Undefined variable '{name_text}'.` when it runs; did you mean '{g}'?"
                ),
                None => format!(
                    "no top-level `var {name_text}` declares it, so this fails with \
                     `Undefined variable '{name_text}'.` when it runs"
                ),
            }),
        });
    }

    /// `Channel()` or `Channel(n)`, the native.
    fn is_channel_call(&mut self, expr: &Expr) -> bool {
        match &expr.kind {
            ExprKind::Call { callee, args } => {
                args.len() <= 1 && self.is_native(callee, b"Channel")
            }
            _ => false,
        }
    }

    fn finalizer_call(&mut self, call: Span, object: &Expr, finalizer: &'t Expr) {
        let object = match object.kind {
            ExprKind::Variable(name) => {
                let id = self.lookup(name);
                if self.bindings[id].kind == Kind::Global {
                    return;
                }
                id
            }
            ExprKind::This => match self.fns.iter().rev().find_map(|f| f.this) {
                Some(id) => id,
                None => return,
            },
            _ => return,
        };
        let finalizer = match &finalizer.kind {
            ExprKind::Function(f) => f.span,
            ExprKind::Variable(name) => {
                let id = self.lookup(*name);
                match self.bindings[id].function {
                    Some(f) => f.span,
                    None => return,
                }
            }
            _ => return,
        };
        self.finalizer_calls.push(FinalizerCall {
            call,
            object,
            finalizer,
        });
    }

    fn spawn_site(&mut self, span: Span, call: &'t Expr, stored: Option<BindingId>) {
        let ExprKind::Call { callee, args } = &call.kind else {
            return;
        };
        let mut candidates: Vec<&Expr> = args.iter().collect();
        if let ExprKind::Get { object, .. } = &callee.kind {
            candidates.push(object);
        }
        let mut channels = Vec::new();
        for arg in candidates {
            if self.is_channel_call(arg) {
                channels.push(ChannelArg::Inline(arg.span));
            } else if let ExprKind::Variable(name) = arg.kind {
                let id = self.lookup(name);
                channels.push(ChannelArg::Binding(id, arg.span));
            }
        }
        let handle = match stored {
            Some(id) => Handle::Stored(id),
            None => Handle::Discarded,
        };
        self.spawns.push(SpawnSite {
            span,
            handle,
            channels,
        });
    }

    // ----- the lints over the whole file --------------------------------

    /// W01 and W02.
    fn unused(&self) -> Vec<Warning> {
        let mut out = Vec::new();
        for b in &self.bindings {
            if b.reads > 0 || b.name.starts_with(b"_") {
                continue;
            }
            let name = show(b.name);
            let (lint, message) = match (b.kind, b.declared) {
                (Kind::Parameter, _) => {
                    (Lint::UnusedParameter, format!("unused parameter '{name}'"))
                }
                (Kind::Local, Declared::Fun) => (
                    Lint::UnusedVariable,
                    format!("local function '{name}' is never used"),
                ),
                (Kind::Local, Declared::Class) => (
                    Lint::UnusedVariable,
                    format!("local class '{name}' is never used"),
                ),
                (Kind::Local, _) => (
                    Lint::UnusedVariable,
                    format!("unused local variable '{name}'"),
                ),
                _ => continue,
            };
            let note = if b.writes > 0 {
                format!("it is assigned but never read; if that is on purpose, name it '_{name}'")
            } else {
                format!("if that is on purpose, name it '_{name}'")
            };
            out.push(Warning {
                lint,
                span: b.span,
                message,
                labels: Vec::new(),
                note: Some(note),
            });
        }
        out
    }

    /// W05.
    fn captured_by_finalizers(&self) -> Vec<Warning> {
        let mut out = Vec::new();
        for call in &self.finalizer_calls {
            let inside = |at: usize| call.finalizer.start <= at && at < call.finalizer.end;
            let Some(capture) = self
                .references
                .iter()
                .find(|r| r.binding == call.object && inside(r.at))
            else {
                continue;
            };
            let b = &self.bindings[call.object];
            let name = show(b.name);
            let capture_span = Span::new(capture.at, capture.at + b.name.len());
            out.push(Warning {
                lint: Lint::FinalizerCapturesObject,
                span: call.call,
                message: format!("the finalizer captures '{name}', the object it finalizes"),
                labels: vec![(capture_span, format!("'{name}' is captured here"))],
                note: Some(format!(
                    "a finalizer is a root for what it reaches, so '{name}' stays reachable \
                     and is never finalized; use the finalizer's parameter instead"
                )),
            });
        }
        out
    }

    /// W06.
    fn unjoined_coroutines(&self) -> Vec<Warning> {
        let is_channel = |id: BindingId| {
            let b = &self.bindings[id];
            b.channel && b.writes == 0
        };
        // Whether a `.close` in the file may close channel `target`
        // (`None`: one written inline in a spawn).
        let may_close = |target: Option<BindingId>| {
            self.closes.iter().any(|c| match *c {
                Close::Unknown => true,
                Close::Of(id) => Some(id) == target || !is_channel(id),
            })
        };
        let mut out = Vec::new();
        for site in &self.spawns {
            let joined = match site.handle {
                Handle::Discarded => false,
                Handle::Stored(id) => self.bindings[id].reads > 0,
            };
            if joined {
                continue;
            }
            let open = site.channels.iter().find_map(|c| match *c {
                ChannelArg::Binding(id, span) if is_channel(id) && !may_close(Some(id)) => {
                    Some((span, format!("'{}'", show(self.bindings[id].name))))
                }
                ChannelArg::Inline(span) if !may_close(None) => {
                    Some((span, "this channel".to_string()))
                }
                _ => None,
            });
            let Some((channel_span, channel)) = open else {
                continue;
            };
            out.push(Warning {
                lint: Lint::UnjoinedCoroutine,
                span: site.span,
                message: "coroutine is never joined and its channel is never closed".into(),
                labels: vec![(channel_span, format!("{channel} is never closed"))],
                note: Some(
                    "nothing waits for this coroutine: if it blocks on the channel it stays \
                     blocked, and when the main script ends it is abandoned; join its handle \
                     or close the channel when you are done with it"
                        .into(),
                ),
            });
        }
        out
    }
}

/// Levenshtein distance (for "did you mean"); names are short.
fn edit_distance(a: &[u8], b: &[u8]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lints(source: &str) -> Vec<(Lint, String)> {
        let parsed = match super::super::parse(source.as_bytes()) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        lint(&parsed, &["clock", "setFinalizer", "Channel"])
            .into_iter()
            .map(|w| {
                (
                    w.lint,
                    String::from_utf8_lossy(w.span.text(source.as_bytes())).into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn unused_locals_and_parameters() {
        let found = lints(
            "fun f(a, b, _c) { var x = 1; var y; y = 2; var _z; { var w = a; print w; } }\n\
             var g = 1; f(1, 2, 3);",
        );
        assert_eq!(
            found,
            [
                (Lint::UnusedParameter, "b".into()),
                (Lint::UnusedVariable, "x".into()),
                (Lint::UnusedVariable, "y".into()),
            ]
        );
        // Read by a nested closure: used.
        assert!(lints("fun f(a) { return fun () { return a; }; } f(1);").is_empty());
        assert!(lints("{ fun g() {} class C {} }").len() == 2);
    }

    #[test]
    fn unreachable_after_return() {
        let found = lints("fun f() { return 1; print 2; print 3; } f();");
        assert_eq!(found, [(Lint::UnreachableCode, "print 2;".into())]);
        assert!(lints("fun f() { if (true) return 1; print 2; } f();").is_empty());
    }

    #[test]
    fn undeclared_global_assignment() {
        let found = lints("var count = 0; fun inc() { cuont = count + 1; } inc(); clock = 1;");
        assert_eq!(found, [(Lint::UndeclaredGlobal, "cuont".into())]);
        // Declared later in the file: fine.
        assert!(lints("fun f() { later = 1; } var later; f();").is_empty());
    }

    #[test]
    fn finalizer_capturing_its_object() {
        let found = lints(
            "fun f() { var obj = [1]; setFinalizer(obj, fun (o) { print obj; }); }\n\
             fun g() { var obj = [1]; setFinalizer(obj, fun (o) { print o; }); }\n\
             class A { init() { setFinalizer(this, fun (o) { print this; }); } }\n\
             var top = [1]; setFinalizer(top, fun (o) { print top; }); f(); g(); A();",
        );
        let captures: Vec<&str> = found
            .iter()
            .filter(|f| f.0 == Lint::FinalizerCapturesObject)
            .map(|f| &f.1[..28])
            .collect();
        assert_eq!(
            captures,
            [
                "setFinalizer(obj, fun (o) { ",
                "setFinalizer(this, fun (o) {"
            ]
        );
    }

    #[test]
    fn unjoined_coroutine_with_an_open_channel() {
        let worker = "fun worker(ch) { print ch.recv(); }\n";
        let found = lints(&format!("{worker}var ch = Channel(); spawn worker(ch);"));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, Lint::UnjoinedCoroutine);
        // Joined, closed, or closed through a parameter: silent.
        for program in [
            "var ch = Channel(); var co = spawn worker(ch); co.join();",
            "var ch = Channel(); spawn worker(ch); ch.close();",
            "fun stop(c) { c.close(); } var ch = Channel(); spawn worker(ch); stop(ch);",
        ] {
            assert!(lints(&format!("{worker}{program}")).is_empty(), "{program}");
        }
        // Another channel's close does not close this one.
        let found = lints(&format!(
            "{worker}var ch = Channel(); var other = Channel(); spawn worker(ch); other.close();"
        ));
        assert_eq!(found.len(), 1, "{found:?}");
    }

    #[test]
    fn lints_by_code_and_name() {
        for lint in Lint::ALL {
            assert_eq!(Lint::parse(lint.code()), Some(lint));
            assert_eq!(Lint::parse(lint.name()), Some(lint));
        }
        assert_eq!(Lint::parse("nope"), None);
        assert_eq!(edit_distance(b"cuont", b"count"), 2);
    }
}
