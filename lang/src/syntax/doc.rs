//! A small pretty-printing document in the style of Wadler's "prettier
//! printer" (as Prettier and `rustfmt`'s list formatting use it), for
//! `loam fmt`'s layout (`format.rs`). Text is bytes: Lox source need not
//! be UTF-8, and every token is copied from it unchanged.
//!
//! A [`Doc::Group`] is printed flat (its [`Doc::Line`]s as spaces) when it
//! fits in [`WIDTH`] columns, else broken (each `Line` a newline). Three
//! choices differ from Prettier:
//!
//! * only the group itself must fit, not what follows it on the line:
//!   breaking `f(x)` in `a = f(x).g();` cannot make the line fit, only
//!   uglier;
//! * a hard line break inside a group (a function body in an argument
//!   list) does not break the group: it only ends the measured line, so
//!   `f(fun () {` stays on one line and the body follows;
//! * a comment inside a group always breaks it (a `//` comment ends its
//!   line, so the group cannot be flat).
//!
//! The printer is iterative (an explicit stack), so deeply nested programs
//! need no deep recursion here.

/// Columns per indentation level.
pub(crate) const INDENT: usize = 2;
/// The line width groups are fitted into.
pub(crate) const WIDTH: usize = 80;
/// Indentation stops growing here (32 levels). Without a cap, a program
/// nesting 40,000 blocks (which compiles) would become gigabytes of
/// spaces; with it, output stays proportional to input.
pub(crate) const MAX_INDENT: usize = 64;

pub(crate) enum Doc<'a> {
    /// Bytes copied as they are (a token, or fixed punctuation).
    Text(&'a [u8]),
    /// One space, unless at the start of a line.
    Space,
    /// A space when the enclosing group is flat, else a line break.
    Line,
    /// Nothing when the enclosing group is flat, else a line break.
    SoftLine,
    /// A line break (none if the line is still empty: then it only sets
    /// the indentation of what follows).
    HardLine,
    /// A line break and then one empty line (never two).
    BlankLine,
    /// A comment on its own line before a token: printed at the start of
    /// a line (on a continuation line, indented one more level, when
    /// something was already printed on the current one), and followed by
    /// a line break at the same indentation.
    LeadingComment(&'a [u8]),
    /// A comment after a token on the same line: one space, the comment,
    /// then a line break onto a continuation line (one level deeper) in
    /// case the statement goes on; a following `HardLine` moves it back.
    TrailingComment(&'a [u8]),
    /// A block's contents: one level deeper, each on its own line, so any
    /// group inside is fitted afresh (even inside a flat group).
    Indent(Vec<Doc<'a>>),
    /// A group's items: one level deeper when the group is broken; in a
    /// flat group the hard breaks inside (a function body among the
    /// arguments) keep the indentation of the line the group is on.
    Nest(Vec<Doc<'a>>),
    Group(Vec<Doc<'a>>),
    Concat(Vec<Doc<'a>>),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Flat,
    Break,
}

struct Printer {
    out: Vec<u8>,
    /// Column of the next byte (at the start of a line: its indentation).
    col: usize,
    at_line_start: bool,
    line_indent: usize,
}

/// Display width of `text` up to its first newline, and whether it has
/// one. Columns count UTF-8 characters (continuation bytes are free), so
/// other bytes count one each.
fn measure(text: &[u8]) -> (usize, bool) {
    let line = text.split(|&b| b == b'\n').next().unwrap_or_default();
    let width = line.iter().filter(|&&b| b & 0xC0 != 0x80).count();
    (width, line.len() < text.len())
}

impl Printer {
    fn text(&mut self, text: &[u8]) {
        if text.is_empty() {
            return;
        }
        if self.at_line_start {
            let indent = self.line_indent.min(MAX_INDENT);
            self.out.resize(self.out.len() + indent, b' ');
            self.col = indent;
            self.at_line_start = false;
        }
        self.out.extend_from_slice(text);
        match text.iter().rposition(|&b| b == b'\n') {
            // A multi-line string: the column is what follows its last
            // newline.
            Some(last) => self.col = measure(&text[last + 1..]).0,
            None => self.col += measure(text).0,
        }
    }

    fn space(&mut self) {
        if !self.at_line_start {
            self.out.push(b' ');
            self.col += 1;
        }
    }

    /// Ends the current line; spaces at its end are dropped (only spaces
    /// this printer wrote can be there: tokens never end in one and
    /// comments are trimmed).
    fn end_line(&mut self) {
        while self.out.last() == Some(&b' ') {
            self.out.pop();
        }
        self.out.push(b'\n');
        self.at_line_start = true;
    }

    fn newline(&mut self, indent: usize) {
        if !self.at_line_start {
            self.end_line();
        }
        self.line_indent = indent;
        self.col = indent.min(MAX_INDENT);
    }

    fn blank_line(&mut self, indent: usize) {
        self.newline(indent);
        if !self.out.is_empty() && !self.out.ends_with(b"\n\n") {
            self.out.push(b'\n');
        }
    }

    fn continuation(&mut self, indent: usize) {
        if !self.at_line_start {
            self.newline(indent + INDENT);
        }
    }

    fn same_indent_break(&mut self) {
        self.end_line();
        self.col = self.line_indent.min(MAX_INDENT);
    }
}

/// Prints `doc`; the result never ends in spaces on any line.
pub(crate) fn print(doc: &Doc<'_>) -> Vec<u8> {
    let mut p = Printer {
        out: Vec::new(),
        col: 0,
        at_line_start: true,
        line_indent: 0,
    };
    let mut stack: Vec<(usize, Mode, &Doc<'_>)> = vec![(0, Mode::Break, doc)];
    while let Some((indent, mode, doc)) = stack.pop() {
        match doc {
            Doc::Text(text) => p.text(text),
            Doc::Space => p.space(),
            Doc::Line if mode == Mode::Flat => p.space(),
            Doc::Line | Doc::HardLine => p.newline(indent),
            Doc::SoftLine if mode == Mode::Flat => {}
            Doc::SoftLine => p.newline(indent),
            Doc::BlankLine => p.blank_line(indent),
            Doc::LeadingComment(text) => {
                p.continuation(indent);
                p.text(text);
                p.same_indent_break();
            }
            Doc::TrailingComment(text) => {
                p.space();
                p.text(text);
                p.continuation(indent);
            }
            Doc::Indent(docs) => {
                stack.extend(docs.iter().rev().map(|d| (indent + INDENT, Mode::Break, d)));
            }
            Doc::Nest(docs) => {
                let inner = if mode == Mode::Break {
                    indent + INDENT
                } else {
                    indent
                };
                stack.extend(docs.iter().rev().map(|d| (inner, mode, d)));
            }
            Doc::Concat(docs) => stack.extend(docs.iter().rev().map(|d| (indent, mode, d))),
            Doc::Group(docs) => {
                let flat = mode == Mode::Flat || fits(docs, WIDTH.saturating_sub(p.col));
                let mode = if flat { Mode::Flat } else { Mode::Break };
                stack.extend(docs.iter().rev().map(|d| (indent, mode, d)));
            }
        }
    }
    p.out
}

/// Whether `group`, printed flat, fits in `width` columns (up to its
/// first hard line break, if it has one).
fn fits(group: &[Doc<'_>], width: usize) -> bool {
    let mut remaining = width;
    let mut work: Vec<&Doc<'_>> = group.iter().rev().collect();
    while let Some(doc) = work.pop() {
        let used = match doc {
            Doc::Text(text) => {
                let (w, multi_line) = measure(text);
                if multi_line {
                    return w <= remaining;
                }
                w
            }
            Doc::Space | Doc::Line => 1,
            Doc::SoftLine => 0,
            Doc::HardLine | Doc::BlankLine => return true,
            Doc::LeadingComment(_) | Doc::TrailingComment(_) => return false,
            Doc::Indent(docs) | Doc::Nest(docs) | Doc::Concat(docs) | Doc::Group(docs) => {
                work.extend(docs.iter().rev());
                0
            }
        };
        match remaining.checked_sub(used) {
            Some(r) => remaining = r,
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(n: usize) -> Doc<'static> {
        let mut items = vec![Doc::SoftLine];
        for i in 0..n {
            if i > 0 {
                items.push(Doc::Text(b","));
                items.push(Doc::Line);
            }
            items.push(Doc::Text(b"item"));
        }
        Doc::Group(vec![
            Doc::Text(b"("),
            Doc::Nest(items),
            Doc::SoftLine,
            Doc::Text(b")"),
        ])
    }

    #[test]
    fn groups_break_only_when_too_wide() {
        assert_eq!(print(&list(3)), b"(item, item, item)");
        let wide = String::from_utf8(print(&list(20))).unwrap_or_default();
        assert!(wide.starts_with("(\n  item,\n  item,\n"), "{wide}");
        assert!(wide.ends_with("item\n)"), "{wide}");
    }

    #[test]
    fn comments_break_groups_and_lines() {
        let doc = Doc::Group(vec![
            Doc::Text(b"("),
            Doc::Nest(vec![
                Doc::SoftLine,
                Doc::Text(b"a"),
                Doc::Text(b","),
                Doc::TrailingComment(b"// first"),
                Doc::Line,
                Doc::Text(b"b"),
            ]),
            Doc::SoftLine,
            Doc::Text(b")"),
        ]);
        assert_eq!(print(&doc), b"(\n  a, // first\n  b\n)");
        let doc = Doc::Concat(vec![
            Doc::Text(b"x ="),
            Doc::Space,
            Doc::LeadingComment(b"// why"),
            Doc::Text(b"y;"),
        ]);
        assert_eq!(print(&doc), b"x =\n  // why\n  y;");
    }

    #[test]
    fn blank_lines_never_double_and_lines_never_end_in_spaces() {
        let doc = Doc::Concat(vec![
            Doc::Text(b"a"),
            Doc::Space,
            Doc::BlankLine,
            Doc::BlankLine,
            Doc::Text(b"b"),
        ]);
        assert_eq!(print(&doc), b"a\n\nb");
    }
}
