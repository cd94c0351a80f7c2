//! From source bytes to the grammar's input: the scanner's own tokens
//! (`crate::scanner`, exactly what the compiler reads) with their byte
//! spans, plus the comments the scanner skips, recovered from the gaps
//! between tokens.

use super::tree::Span;
use super::SyntaxError;
use crate::scanner::{Scanner, TokenKind};

/// One token: its kind and where it is. Its text is `span.text(source)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Span,
}

/// A `//` comment: from the slashes to the end of its line, newline
/// excluded (a `\r` before it is part of the span, as the scanner sees it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Comment {
    pub span: Span,
}

/// Tokens (without the final `Eof`) and comments, both in source order,
/// and the length of the source the scanner read (up to the first NUL).
pub(crate) struct Lexed<'src> {
    pub source: &'src [u8],
    pub tokens: Vec<Token>,
    pub comments: Vec<Comment>,
}

/// Scans the whole source; the first lexical error is returned as a
/// [`SyntaxError::Lexical`] (the compiler reports it as well, so a program
/// with one never reaches a tool).
pub(crate) fn lex(source: &[u8]) -> Result<Lexed<'_>, SyntaxError> {
    let mut scanner = Scanner::new(source);
    let source = scanner.source();
    let mut tokens = Vec::new();
    loop {
        let token = scanner.next_token();
        let range = scanner.span();
        let span = Span::new(range.start, range.end);
        if let Some(error) = token.error {
            return Err(SyntaxError::Lexical { span, error });
        }
        if token.kind == TokenKind::Eof {
            break;
        }
        tokens.push(Token {
            kind: token.kind,
            span,
        });
    }
    let mut comments = Vec::new();
    let mut gap_start = 0;
    for token in &tokens {
        comments_in(source, gap_start, token.span.start, &mut comments);
        gap_start = token.span.end;
    }
    comments_in(source, gap_start, source.len(), &mut comments);
    Ok(Lexed {
        source,
        tokens,
        comments,
    })
}

/// The comments in `source[start..end]`, a gap between two tokens. The
/// scanner skips only blanks (` \t\r`), newlines and `//` comments, so a
/// gap holds nothing else.
fn comments_in(source: &[u8], start: usize, end: usize, out: &mut Vec<Comment>) {
    let gap = source.get(start..end).unwrap_or_default();
    let mut i = 0;
    while i < gap.len() {
        if gap[i..].starts_with(b"//") {
            let len = gap[i..]
                .iter()
                .position(|&b| b == b'\n')
                .unwrap_or(gap.len() - i);
            out.push(Comment {
                span: Span::new(start + i, start + i + len),
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

    fn texts(source: &[u8]) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
        let lexed = lex(source).unwrap_or_else(|e| panic!("{e}"));
        let tokens = lexed
            .tokens
            .iter()
            .map(|t| t.span.text(source).to_vec())
            .collect();
        let comments = lexed
            .comments
            .iter()
            .map(|c| c.span.text(source).to_vec())
            .collect();
        (tokens, comments)
    }

    #[test]
    fn comments_are_recovered_from_the_gaps() {
        let (tokens, comments) = texts(b"// a\r\nprint 1; // b // c\n\n//d");
        assert_eq!(tokens, [&b"print"[..], b"1", b";"]);
        assert_eq!(comments, [&b"// a\r"[..], b"// b // c", b"//d"]);
    }

    #[test]
    fn slashes_in_strings_are_not_comments() {
        let (tokens, comments) = texts(b"print \"// no\" / 2;");
        assert_eq!(tokens.len(), 5);
        assert!(comments.is_empty());
    }

    #[test]
    fn the_source_ends_at_nul() {
        let (tokens, comments) = texts(b"print 1; // c\0 print 2; // d");
        assert_eq!(tokens.len(), 3);
        assert_eq!(comments, [&b"// c"[..]]);
    }

    #[test]
    fn lexical_errors_stop_the_lexer() {
        let Err(SyntaxError::Lexical { span, .. }) = lex(b"print 1;\n@") else {
            panic!("no lexical error");
        };
        assert_eq!(span, Span::new(9, 10));
    }
}
