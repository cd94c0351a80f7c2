//! `loam fmt`'s canonical layout: the syntax tree and its comments printed
//! back, token for token, with only the whitespace between tokens decided
//! here. There is one layout and no options; this is its definition.
//!
//! **Lines and indentation.** Two spaces per level, no tabs; indentation
//! stops growing at 32 levels (64 columns), so pathological nesting stays
//! linear in size. Lines end in `\n` (a CRLF or CR-only file comes out
//! with `\n`; a string literal keeps its bytes, line breaks included).
//! No line ends in a space. The file ends in exactly one `\n`; an empty
//! program (no tokens, no comments) is an empty file.
//!
//! **Declarations and statements.** One per line. Braces are K&R: `{` ends
//! the line that opens it, `}` stands on its own line at the opening
//! line's indentation, `} else` shares a line. A block, class body or
//! function body with nothing inside, not even a comment, is `{}`. Class
//! methods are laid out like function declarations, without `fun`.
//!
//! **Bodies of `if`, `else`, `while`, `for` that are not blocks** stay on
//! the same line (`if (n < 2) return n;`), except a body that is itself an
//! `if`, `while` or `for`, which goes on the next line, indented, so that
//! a dangling `else` lines up with the `if` it belongs to. After a
//! non-block `then` branch, `else` starts a new line; `else if` stays
//! together.
//!
//! **Spaces.** Around binary operators (`and`, `or` included) and `=`;
//! after `,` and after the `;`s inside a `for (...)` header (`for (;;)`
//! stays tight); after keywords (`if (`, `while (`, `for (`, `return x`,
//! `print x`, `var x`, `class A < B {`, `spawn f()`), and between `fun` and
//! `(` in an anonymous function (`fun (x) {`); before every `{`. None
//! inside `()`, `[]`, before `(` of a call or declaration, before `[` of
//! an index, around `.`, or after unary `-` and `!`.
//!
//! **Lists.** Arguments, parameters and list elements stay on one line if
//! the list fits in 80 columns from where it starts (what follows it on the
//! line does not count: nothing else is ever wrapped, so breaking a list
//! cannot make its line fit); otherwise every item goes on its own line,
//! indented one level, and the closing bracket on its own line. A
//! function body among the items does not count against the width, so
//! `spawn fun (x) {` and `setFinalizer(obj, fun (o) {` keep their line and
//! the body follows, indented one level from that line. Commas are kept as
//! written, so a list literal's trailing comma stays (`[1, 2,]`).
//!
//! **Blank lines.** Kept between declarations, statements, methods and the
//! comments standing between them, at most one in a row; never after an
//! opening `{`, before a closing `}`, or at the start or end of the file;
//! dropped inside expressions.
//!
//! **Comments** stay where they are relative to the tokens. A comment after
//! code on its line stays at the end of that line, one space after the
//! token it followed (what came after it continues on the next line, one
//! level deeper if the statement is not over). A comment on a line of its
//! own stays on a line of its own before the same token, indented like the
//! code it precedes (inside an expression, one level deeper than the
//! statement); before a closing `}` it is indented with the block's
//! contents. A comment inside a list breaks the list. A comment's text is
//! kept, except the spaces, tabs and `\r` at its end.
//!
//! **What is left alone.** A program that does not compile (its bytes stay
//! as they are), and one with a NUL byte (the program ends there; what
//! follows is not Lox).
//!
//! Because the printer emits exactly the parsed tokens in order, the
//! formatted program compiles to the same bytecode (only the line numbers
//! move); [`check_equivalent`] re-scans the output to prove it before a
//! tool writes anything.

use super::doc::{print, Doc};
use super::lexer::{lex, Token};
use super::tree::{ClassDecl, Expr, ExprKind, Function, Stmt, StmtKind};
use super::Parsed;
use crate::scanner::TokenKind;

/// Lays out a parsed program.
pub fn format(parsed: &Parsed<'_>) -> Vec<u8> {
    let mut layout = Layout::new(parsed);
    let mut docs = layout.statements(&parsed.program.body);
    docs.push(Doc::HardLine);
    docs.push(layout.closing_comments(parsed.program.body.is_empty()));
    let mut out = print(&Doc::Concat(docs));
    if !out.is_empty() && !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    out
}

/// A comment's text without trailing blanks (` `, `\t`, `\r`).
fn trimmed(text: &[u8]) -> &[u8] {
    let end = text
        .iter()
        .rposition(|&b| !matches!(b, b' ' | b'\t' | b'\r'))
        .map_or(0, |p| p + 1);
    text.get(..end).unwrap_or_default()
}

/// Checks that `formatted` is `original`'s program: the same tokens with
/// the same text, and the same comments (up to trailing blanks), in the
/// same order. On a difference, says where.
pub fn check_equivalent(original: &Parsed<'_>, formatted: &[u8]) -> Result<(), String> {
    let relexed = lex(formatted).map_err(|e| format!("the output does not scan: {e}"))?;
    if formatted.len() != relexed.source.len() {
        return Err("the output contains a NUL byte".into());
    }
    let texts = |source: &[u8], tokens: &[Token]| -> Vec<(TokenKind, Vec<u8>)> {
        tokens
            .iter()
            .map(|t| (t.kind, t.span.text(source).to_vec()))
            .collect()
    };
    let before = texts(original.source, &original.tokens);
    let after = texts(relexed.source, &relexed.tokens);
    if let Some(i) = (0..before.len().max(after.len())).find(|&i| before.get(i) != after.get(i)) {
        return Err(format!(
            "token {i} differs: {:?} became {:?}",
            before.get(i).map(|(_, t)| String::from_utf8_lossy(t)),
            after.get(i).map(|(_, t)| String::from_utf8_lossy(t))
        ));
    }
    let comments = |source: &[u8], list: &[super::Comment]| -> Vec<Vec<u8>> {
        list.iter()
            .map(|c| trimmed(c.span.text(source)).to_vec())
            .collect()
    };
    if comments(original.source, &original.comments) != comments(formatted, &relexed.comments) {
        return Err("the comments differ".into());
    }
    Ok(())
}

/// Where each comment goes, and the layout's walk over the tokens.
struct Layout<'a> {
    source: &'a [u8],
    tokens: &'a [Token],
    comments: &'a [super::Comment],
    /// The token the next `token` call prints.
    next: usize,
    /// Own-line comments before each token (the last entry: before the
    /// end of the file), taken when printed.
    leading: Vec<Vec<usize>>,
    /// The comment after each token on its line, if any.
    trailing: Vec<Option<usize>>,
    /// An empty line came before the token (after the previous token or
    /// comment).
    token_blank: Vec<bool>,
    /// An empty line came before the comment.
    comment_blank: Vec<bool>,
}

impl<'a> Layout<'a> {
    fn new(parsed: &'a Parsed<'a>) -> Layout<'a> {
        let source = parsed.source;
        let tokens = &parsed.tokens[..];
        let comments = &parsed.comments[..];
        let newlines = |from: usize, to: usize| -> usize {
            source
                .get(from..to)
                .unwrap_or_default()
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
        };
        let mut leading = vec![Vec::new(); tokens.len() + 1];
        let mut trailing = vec![None; tokens.len()];
        let mut token_blank = vec![false; tokens.len()];
        let mut comment_blank = vec![false; comments.len()];
        let mut c = 0;
        let mut prev_end = 0;
        for i in 0..=tokens.len() {
            let start = tokens.get(i).map_or(source.len(), |t| t.span.start);
            let mut first_in_gap = true;
            while let Some(comment) = comments.get(c).filter(|c| c.span.start < start) {
                let gap_newlines = newlines(prev_end, comment.span.start);
                if first_in_gap && i > 0 && gap_newlines == 0 {
                    trailing[i - 1] = Some(c);
                } else {
                    leading[i].push(c);
                    comment_blank[c] = gap_newlines >= 2;
                }
                first_in_gap = false;
                prev_end = comment.span.end;
                c += 1;
            }
            if let Some(blank) = token_blank.get_mut(i) {
                *blank = newlines(prev_end, start) >= 2;
            }
            prev_end = tokens.get(i).map_or(source.len(), |t| t.span.end);
        }
        Layout {
            source,
            tokens,
            comments,
            next: 0,
            leading,
            trailing,
            token_blank,
            comment_blank,
        }
    }

    fn has_leading(&self, i: usize) -> bool {
        self.leading.get(i).is_some_and(|l| !l.is_empty())
    }

    /// The own-line comments before token `i`, which are printed once.
    fn take_leading(&mut self, i: usize) -> Vec<usize> {
        self.leading
            .get_mut(i)
            .map(std::mem::take)
            .unwrap_or_default()
    }

    fn comment(&self, index: usize) -> &'a [u8] {
        let source = self.source;
        self.comments
            .get(index)
            .map_or(&[][..], |c| trimmed(c.span.text(source)))
    }

    /// The next token with its comments. `kind` is what the tree says it
    /// is; the tree and the token list come from one parse, so they agree
    /// (and `check_equivalent` would catch it if they did not).
    fn token(&mut self, kind: TokenKind) -> Doc<'a> {
        let i = self.next;
        self.next += 1;
        let Some(token) = self.tokens.get(i) else {
            return Doc::Concat(Vec::new());
        };
        debug_assert_eq!(token.kind, kind, "layout out of step at token {i}");
        let mut docs: Vec<Doc<'a>> = self
            .take_leading(i)
            .into_iter()
            .map(|c| Doc::LeadingComment(self.comment(c)))
            .collect();
        docs.push(Doc::Text(token.span.text(self.source)));
        if let Some(c) = self.trailing[i] {
            docs.push(Doc::TrailingComment(self.comment(c)));
        }
        Doc::Concat(docs)
    }

    /// The next token, whatever its kind (literals, operators).
    fn any_token(&mut self) -> Doc<'a> {
        let kind = self
            .tokens
            .get(self.next)
            .map_or(TokenKind::Eof, |t| t.kind);
        self.token(kind)
    }

    /// The own-line comments before the next token of a statement list,
    /// with the empty lines the source had between them (none before the
    /// first thing of a list).
    fn statement_start(&mut self, first: bool) -> Doc<'a> {
        let i = self.next;
        let comments = self.take_leading(i);
        let mut docs = Vec::new();
        for (k, &c) in comments.iter().enumerate() {
            if self.comment_blank[c] && !(first && k == 0) {
                docs.push(Doc::BlankLine);
            }
            docs.push(Doc::LeadingComment(self.comment(c)));
        }
        if self.token_blank.get(i).copied().unwrap_or(false) && !(first && comments.is_empty()) {
            docs.push(Doc::BlankLine);
        }
        Doc::Concat(docs)
    }

    /// The own-line comments before a closing `}` or the end of the file,
    /// which belong to the list that ends there.
    fn closing_comments(&mut self, empty: bool) -> Doc<'a> {
        let comments = self.take_leading(self.next);
        let mut docs = Vec::new();
        for (k, &c) in comments.iter().enumerate() {
            if self.comment_blank[c] && !(empty && k == 0) {
                docs.push(Doc::BlankLine);
            }
            docs.push(Doc::LeadingComment(self.comment(c)));
        }
        Doc::Concat(docs)
    }

    fn statements(&mut self, stmts: &[Stmt]) -> Vec<Doc<'a>> {
        let mut docs = Vec::new();
        for (i, stmt) in stmts.iter().enumerate() {
            if i > 0 {
                docs.push(Doc::HardLine);
            }
            docs.push(self.statement_start(i == 0));
            docs.push(self.statement(stmt));
        }
        docs
    }

    /// `{ ... }`: `{}` when there is nothing inside, not even a comment.
    fn block(&mut self, body: &[Stmt]) -> Doc<'a> {
        let open_index = self.next;
        let open = self.token(TokenKind::LeftBrace);
        let bare = self.trailing.get(open_index).is_some_and(Option::is_none);
        if body.is_empty() && bare && !self.has_leading(self.next) {
            return Doc::Concat(vec![open, self.token(TokenKind::RightBrace)]);
        }
        let mut inner = vec![Doc::HardLine];
        inner.extend(self.statements(body));
        inner.push(Doc::HardLine);
        inner.push(self.closing_comments(body.is_empty()));
        Doc::Concat(vec![
            open,
            Doc::Indent(inner),
            Doc::HardLine,
            self.token(TokenKind::RightBrace),
        ])
    }

    fn statement(&mut self, stmt: &Stmt) -> Doc<'a> {
        use TokenKind as K;
        match &stmt.kind {
            StmtKind::Class(class) => self.class(class),
            StmtKind::Fun(function) => Doc::Concat(vec![
                self.token(K::Fun),
                Doc::Space,
                self.token(K::Identifier),
                self.function_tail(function),
            ]),
            StmtKind::Var { init, .. } => {
                let mut docs = vec![self.token(K::Var), Doc::Space, self.token(K::Identifier)];
                if let Some(init) = init {
                    docs.extend([Doc::Space, self.token(K::Equal), Doc::Space]);
                    docs.push(self.expr(init));
                }
                docs.push(self.token(K::Semicolon));
                Doc::Concat(docs)
            }
            StmtKind::Expr(e) => Doc::Concat(vec![self.expr(e), self.token(K::Semicolon)]),
            StmtKind::Print(e) => Doc::Concat(vec![
                self.token(K::Print),
                Doc::Space,
                self.expr(e),
                self.token(K::Semicolon),
            ]),
            StmtKind::Return(value) => {
                let mut docs = vec![self.token(K::Return)];
                if let Some(value) = value {
                    docs.push(Doc::Space);
                    docs.push(self.expr(value));
                }
                docs.push(self.token(K::Semicolon));
                Doc::Concat(docs)
            }
            StmtKind::Block(body) => self.block(body),
            StmtKind::If {
                cond,
                then_branch,
                else_branch,
            } => {
                let mut docs = vec![self.token(K::If), Doc::Space, self.condition(cond)];
                docs.push(self.body(then_branch));
                if let Some(other) = else_branch {
                    docs.push(if matches!(then_branch.kind, StmtKind::Block(_)) {
                        Doc::Space
                    } else {
                        Doc::HardLine
                    });
                    docs.push(self.token(K::Else));
                    if matches!(other.kind, StmtKind::If { .. }) {
                        docs.push(Doc::Space);
                        docs.push(self.statement(other));
                    } else {
                        docs.push(self.body(other));
                    }
                }
                Doc::Concat(docs)
            }
            StmtKind::While { cond, body } => Doc::Concat(vec![
                self.token(K::While),
                Doc::Space,
                self.condition(cond),
                self.body(body),
            ]),
            StmtKind::For {
                init,
                cond,
                incr,
                body,
            } => {
                let mut docs = vec![self.token(K::For), Doc::Space, self.token(K::LeftParen)];
                match init {
                    None => docs.push(self.token(K::Semicolon)),
                    Some(init) => docs.push(self.statement(init)),
                }
                if let Some(cond) = cond {
                    docs.push(Doc::Space);
                    docs.push(self.expr(cond));
                }
                docs.push(self.token(K::Semicolon));
                if let Some(incr) = incr {
                    docs.push(Doc::Space);
                    docs.push(self.expr(incr));
                }
                docs.push(self.token(K::RightParen));
                docs.push(self.body(body));
                Doc::Concat(docs)
            }
        }
    }

    /// `(cond)` of `if` and `while`.
    fn condition(&mut self, cond: &Expr) -> Doc<'a> {
        Doc::Concat(vec![
            self.token(TokenKind::LeftParen),
            self.expr(cond),
            self.token(TokenKind::RightParen),
        ])
    }

    /// The body of `if`, `else`, `while` or `for`: on the same line, unless
    /// it is itself an `if`, `while` or `for`.
    fn body(&mut self, body: &Stmt) -> Doc<'a> {
        match body.kind {
            StmtKind::If { .. } | StmtKind::While { .. } | StmtKind::For { .. } => {
                Doc::Indent(vec![Doc::HardLine, self.statement(body)])
            }
            _ => Doc::Concat(vec![Doc::Space, self.statement(body)]),
        }
    }

    fn class(&mut self, class: &ClassDecl) -> Doc<'a> {
        use TokenKind as K;
        let mut docs = vec![self.token(K::Class), Doc::Space, self.token(K::Identifier)];
        if class.superclass.is_some() {
            docs.extend([Doc::Space, self.token(K::Less), Doc::Space]);
            docs.push(self.token(K::Identifier));
        }
        docs.push(Doc::Space);
        let open_index = self.next;
        let open = self.token(K::LeftBrace);
        let bare = self.trailing.get(open_index).is_some_and(Option::is_none);
        if class.methods.is_empty() && bare && !self.has_leading(self.next) {
            docs.extend([open, self.token(K::RightBrace)]);
            return Doc::Concat(docs);
        }
        let mut inner = vec![Doc::HardLine];
        for (i, method) in class.methods.iter().enumerate() {
            if i > 0 {
                inner.push(Doc::HardLine);
            }
            inner.push(self.statement_start(i == 0));
            inner.push(self.token(K::Identifier));
            inner.push(self.function_tail(method));
        }
        inner.push(Doc::HardLine);
        inner.push(self.closing_comments(class.methods.is_empty()));
        docs.extend([
            open,
            Doc::Indent(inner),
            Doc::HardLine,
            self.token(K::RightBrace),
        ]);
        Doc::Concat(docs)
    }

    /// `(params) { body }`, after the name (or after `fun `).
    fn function_tail(&mut self, function: &Function) -> Doc<'a> {
        let params = self.list(
            TokenKind::LeftParen,
            function.params.len(),
            false,
            TokenKind::RightParen,
            |layout| layout.token(TokenKind::Identifier),
        );
        Doc::Concat(vec![params, Doc::Space, self.block(&function.body)])
    }

    /// `open item, item close` as one group: on one line if it fits, else
    /// one item per line.
    fn list(
        &mut self,
        open: TokenKind,
        count: usize,
        trailing_comma: bool,
        close: TokenKind,
        mut item: impl FnMut(&mut Self) -> Doc<'a>,
    ) -> Doc<'a> {
        let open = self.token(open);
        if count == 0 {
            return Doc::Concat(vec![open, self.token(close)]);
        }
        let mut items = vec![Doc::SoftLine];
        for i in 0..count {
            if i > 0 {
                items.push(self.token(TokenKind::Comma));
                items.push(Doc::Line);
            }
            items.push(item(self));
        }
        if trailing_comma {
            items.push(self.token(TokenKind::Comma));
        }
        Doc::Group(vec![
            open,
            Doc::Nest(items),
            Doc::SoftLine,
            self.token(close),
        ])
    }

    fn expr(&mut self, expr: &Expr) -> Doc<'a> {
        use TokenKind as K;
        match &expr.kind {
            ExprKind::Number
            | ExprKind::String
            | ExprKind::True
            | ExprKind::False
            | ExprKind::Nil
            | ExprKind::This
            | ExprKind::Variable(_) => self.any_token(),
            ExprKind::Super { .. } => Doc::Concat(vec![
                self.token(K::Super),
                self.token(K::Dot),
                self.token(K::Identifier),
            ]),
            ExprKind::Grouping(inner) => Doc::Concat(vec![
                self.token(K::LeftParen),
                self.expr(inner),
                self.token(K::RightParen),
            ]),
            ExprKind::Unary { operand, .. } => {
                Doc::Concat(vec![self.any_token(), self.expr(operand)])
            }
            ExprKind::Binary { left, right, .. } => {
                let left = self.expr(left);
                let op = self.any_token();
                Doc::Concat(vec![left, Doc::Space, op, Doc::Space, self.expr(right)])
            }
            ExprKind::Assign { value, .. } => Doc::Concat(vec![
                self.token(K::Identifier),
                Doc::Space,
                self.token(K::Equal),
                Doc::Space,
                self.expr(value),
            ]),
            ExprKind::Call { callee, args } => {
                let callee = self.expr(callee);
                let args = self.list(K::LeftParen, args.len(), false, K::RightParen, {
                    let mut next = args.iter();
                    move |layout| {
                        next.next()
                            .map_or(Doc::Concat(Vec::new()), |a| layout.expr(a))
                    }
                });
                Doc::Concat(vec![callee, args])
            }
            ExprKind::Get { object, .. } => Doc::Concat(vec![
                self.expr(object),
                self.token(K::Dot),
                self.token(K::Identifier),
            ]),
            ExprKind::Set { object, value, .. } => Doc::Concat(vec![
                self.expr(object),
                self.token(K::Dot),
                self.token(K::Identifier),
                Doc::Space,
                self.token(K::Equal),
                Doc::Space,
                self.expr(value),
            ]),
            ExprKind::Index { object, index } => Doc::Concat(vec![
                self.expr(object),
                self.token(K::LeftBracket),
                self.expr(index),
                self.token(K::RightBracket),
            ]),
            ExprKind::SetIndex {
                object,
                index,
                value,
            } => Doc::Concat(vec![
                self.expr(object),
                self.token(K::LeftBracket),
                self.expr(index),
                self.token(K::RightBracket),
                Doc::Space,
                self.token(K::Equal),
                Doc::Space,
                self.expr(value),
            ]),
            ExprKind::List {
                elements,
                trailing_comma,
            } => self.list(
                K::LeftBracket,
                elements.len(),
                *trailing_comma,
                K::RightBracket,
                {
                    let mut next = elements.iter();
                    move |layout| {
                        next.next()
                            .map_or(Doc::Concat(Vec::new()), |e| layout.expr(e))
                    }
                },
            ),
            ExprKind::Function(function) => Doc::Concat(vec![
                self.token(K::Fun),
                Doc::Space,
                self.function_tail(function),
            ]),
            ExprKind::Spawn(call) => {
                Doc::Concat(vec![self.token(K::Spawn), Doc::Space, self.expr(call)])
            }
        }
    }
}
