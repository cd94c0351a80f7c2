//! Token classes for syntax highlighting (the REPL colours input as it is
//! typed). The classes come from the compiler's own scanner, so a keyword
//! is highlighted exactly when the compiler reads one; comments, which the
//! scanner skips, are recovered from the gaps between tokens. Nothing here
//! feeds the compiler.

use std::ops::Range;

use crate::scanner::{LexError, Scanner, TokenKind};

/// What a stretch of source is, for colouring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenClass {
    /// `and class else for fun if or print return super this var while spawn`
    Keyword,
    /// `true`, `false`, `nil`
    Literal,
    /// A string literal, quotes included; also a string still open at the
    /// end of the input (the user is typing it).
    String,
    Number,
    /// `// ...` up to the end of its line.
    Comment,
    Identifier,
    /// Operators, brackets and separators.
    Punctuation,
    /// A byte the scanner rejects (`Unexpected character.`).
    Error,
}

/// One classified stretch: `source[span]` is of class `class`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    pub span: Range<usize>,
    pub class: TokenClass,
}

/// Every token and comment of `source`, in order and without overlaps.
/// Whitespace is not listed. Like the compiler, stops at the first NUL.
pub fn classify(source: &[u8]) -> Vec<Classified> {
    let mut scanner = Scanner::new(source);
    let mut out = Vec::new();
    let mut gap_start = 0;
    loop {
        let token = scanner.next_token();
        // Between two tokens the scanner skipped only blanks, newlines and
        // comments, so a `//` in the gap starts a comment.
        comments_in(source, gap_start..token.offset, &mut out);
        let class = match token.kind {
            TokenKind::Eof => break,
            TokenKind::And
            | TokenKind::Class
            | TokenKind::Else
            | TokenKind::For
            | TokenKind::Fun
            | TokenKind::If
            | TokenKind::Or
            | TokenKind::Print
            | TokenKind::Return
            | TokenKind::Super
            | TokenKind::This
            | TokenKind::Var
            | TokenKind::While
            | TokenKind::Spawn => TokenClass::Keyword,
            TokenKind::True | TokenKind::False | TokenKind::Nil => TokenClass::Literal,
            TokenKind::String => TokenClass::String,
            TokenKind::Number => TokenClass::Number,
            TokenKind::Identifier => TokenClass::Identifier,
            TokenKind::Error if token.error == Some(LexError::UnterminatedString) => {
                TokenClass::String
            }
            TokenKind::Error => TokenClass::Error,
            _ => TokenClass::Punctuation,
        };
        let end = token.offset + token.lexeme.len();
        out.push(Classified {
            span: token.offset..end,
            class,
        });
        gap_start = end;
    }
    out
}

fn comments_in(source: &[u8], gap: Range<usize>, out: &mut Vec<Classified>) {
    let Some(bytes) = source.get(gap.clone()) else {
        return;
    };
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] == b'/' && bytes[i + 1] == b'/' {
            let len = bytes[i..]
                .iter()
                .position(|&b| b == b'\n')
                .unwrap_or(bytes.len() - i);
            out.push(Classified {
                span: gap.start + i..gap.start + i + len,
                class: TokenClass::Comment,
            });
            i += len;
        } else {
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TokenClass as C;

    fn classes(src: &str) -> Vec<(&str, TokenClass)> {
        classify(src.as_bytes())
            .into_iter()
            .map(|c| (&src[c.span], c.class))
            .collect()
    }

    #[test]
    fn keywords_strings_numbers_comments() {
        assert_eq!(
            classes("var x = \"hi\" + 12.5; // note\nprint nil;"),
            vec![
                ("var", C::Keyword),
                ("x", C::Identifier),
                ("=", C::Punctuation),
                ("\"hi\"", C::String),
                ("+", C::Punctuation),
                ("12.5", C::Number),
                (";", C::Punctuation),
                ("// note", C::Comment),
                ("print", C::Keyword),
                ("nil", C::Literal),
                (";", C::Punctuation),
            ]
        );
    }

    #[test]
    fn unfinished_input_and_odd_bytes() {
        assert_eq!(
            classes("print \"abc"),
            vec![("print", C::Keyword), ("\"abc", C::String)]
        );
        assert_eq!(
            classes("spawn f() @ // end"),
            vec![
                ("spawn", C::Keyword),
                ("f", C::Identifier),
                ("(", C::Punctuation),
                (")", C::Punctuation),
                ("@", C::Error),
                ("// end", C::Comment),
            ]
        );
        // A `//` inside a string is not a comment; a lone `/` is division.
        assert_eq!(
            classes("\"a//b\" / 2"),
            vec![
                ("\"a//b\"", C::String),
                ("/", C::Punctuation),
                ("2", C::Number)
            ]
        );
        assert!(classify(b"").is_empty());
        assert_eq!(classify(b"x\0var").len(), 1);
    }
}
