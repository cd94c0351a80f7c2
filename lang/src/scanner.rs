//! Tokens and the on-demand scanner.
//!
//! The token patterns are a `logos` DFA in byte mode (`utf8 = false`), so
//! the source is never required to be UTF-8. A thin wrapper, [`Scanner`],
//! adds what clox's scanner does beyond pattern matching:
//!
//! * the source ends at the first NUL byte (clox treats its input as a C
//!   string), so the wrapper truncates there before lexing;
//! * line numbers count `\n` only, including newlines inside string
//!   literals, and a token carries the line the scanner is on *after* the
//!   token was consumed (so a multi-line string reports its last line);
//! * an unterminated string runs to the end of the source and becomes one
//!   error token; every other unmatched byte is its own
//!   `Unexpected character.` error token;
//! * after the end, the scanner keeps returning `Eof`.

use logos::Logos;

/// The kind of a token. The order mirrors clox's `TokenType`, which keeps
/// the parse-rule table easy to compare with the reference; loam's extra
/// tokens (`[`, `]` and the `spawn` keyword) come after clox's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    LeftParen,
    RightParen,
    LeftBrace,
    RightBrace,
    Comma,
    Dot,
    Minus,
    Plus,
    Semicolon,
    Slash,
    Star,
    Bang,
    BangEqual,
    Equal,
    EqualEqual,
    Greater,
    GreaterEqual,
    Less,
    LessEqual,
    Identifier,
    String,
    Number,
    And,
    Class,
    Else,
    False,
    For,
    Fun,
    If,
    Nil,
    Or,
    Print,
    Return,
    Super,
    This,
    True,
    Var,
    While,
    // ----- loam extensions -----
    LeftBracket,
    RightBracket,
    Spawn,
    /// A lexical error; the message is in [`Token::error`].
    Error,
    Eof,
}

/// What went wrong when a byte sequence could not become a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LexError {
    UnexpectedCharacter,
    UnterminatedString,
}

impl LexError {
    pub fn message(self) -> &'static str {
        match self {
            LexError::UnexpectedCharacter => "Unexpected character.",
            LexError::UnterminatedString => "Unterminated string.",
        }
    }
}

/// One token. `lexeme` borrows the raw source bytes (quotes included for
/// strings; empty for `Eof`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'src> {
    pub kind: TokenKind,
    pub lexeme: &'src [u8],
    pub line: u32,
    /// Byte offset of `lexeme` in the source (the source's length for
    /// `Eof`). Only error rendering reads it; the compiler's output never
    /// depends on it.
    pub offset: usize,
    /// Set exactly when `kind == TokenKind::Error`.
    pub error: Option<LexError>,
}

fn count_newlines(lex: &mut logos::Lexer<Raw>) {
    let n = lex.slice().iter().filter(|&&b| b == b'\n').count();
    lex.extras = lex
        .extras
        .saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
}

fn newline(lex: &mut logos::Lexer<Raw>) -> logos::Skip {
    lex.extras = lex.extras.saturating_add(1);
    logos::Skip
}

/// The raw DFA tokens. `extras` is the current line number.
#[derive(Logos, Debug, Clone, Copy, PartialEq, Eq)]
#[logos(utf8 = false)]
#[logos(extras = u32)]
#[logos(skip br"[ \t\r]+")]
#[logos(skip(br"//[^\n]*", allow_greedy = true))]
enum Raw {
    #[token(b"\n", newline)]
    Newline,
    #[token(b"(")]
    LeftParen,
    #[token(b")")]
    RightParen,
    #[token(b"{")]
    LeftBrace,
    #[token(b"}")]
    RightBrace,
    #[token(b",")]
    Comma,
    #[token(b".")]
    Dot,
    #[token(b"-")]
    Minus,
    #[token(b"+")]
    Plus,
    #[token(b";")]
    Semicolon,
    #[token(b"/")]
    Slash,
    #[token(b"*")]
    Star,
    #[token(b"!")]
    Bang,
    #[token(b"!=")]
    BangEqual,
    #[token(b"=")]
    Equal,
    #[token(b"==")]
    EqualEqual,
    #[token(b">")]
    Greater,
    #[token(b">=")]
    GreaterEqual,
    #[token(b"<")]
    Less,
    #[token(b"<=")]
    LessEqual,
    #[regex(br"[a-zA-Z_][a-zA-Z0-9_]*")]
    Identifier,
    #[regex(br#""[^"]*""#, count_newlines)]
    String,
    // The longest-match rule picks `String` whenever a closing quote
    // exists, so this only fires when the string runs to the end.
    #[regex(br#""[^"]*"#, count_newlines)]
    UnterminatedString,
    #[regex(br"[0-9]+(\.[0-9]+)?")]
    Number,
    #[token(b"and")]
    And,
    #[token(b"class")]
    Class,
    #[token(b"else")]
    Else,
    #[token(b"false")]
    False,
    #[token(b"for")]
    For,
    #[token(b"fun")]
    Fun,
    #[token(b"if")]
    If,
    #[token(b"nil")]
    Nil,
    #[token(b"or")]
    Or,
    #[token(b"print")]
    Print,
    #[token(b"return")]
    Return,
    #[token(b"super")]
    Super,
    #[token(b"this")]
    This,
    #[token(b"true")]
    True,
    #[token(b"var")]
    Var,
    #[token(b"while")]
    While,
    #[token(b"[")]
    LeftBracket,
    #[token(b"]")]
    RightBracket,
    #[token(b"spawn")]
    Spawn,
}

impl Raw {
    fn kind(self) -> TokenKind {
        match self {
            // Newlines are always skipped by their callback.
            Raw::Newline => TokenKind::Error,
            Raw::LeftParen => TokenKind::LeftParen,
            Raw::RightParen => TokenKind::RightParen,
            Raw::LeftBrace => TokenKind::LeftBrace,
            Raw::RightBrace => TokenKind::RightBrace,
            Raw::Comma => TokenKind::Comma,
            Raw::Dot => TokenKind::Dot,
            Raw::Minus => TokenKind::Minus,
            Raw::Plus => TokenKind::Plus,
            Raw::Semicolon => TokenKind::Semicolon,
            Raw::Slash => TokenKind::Slash,
            Raw::Star => TokenKind::Star,
            Raw::Bang => TokenKind::Bang,
            Raw::BangEqual => TokenKind::BangEqual,
            Raw::Equal => TokenKind::Equal,
            Raw::EqualEqual => TokenKind::EqualEqual,
            Raw::Greater => TokenKind::Greater,
            Raw::GreaterEqual => TokenKind::GreaterEqual,
            Raw::Less => TokenKind::Less,
            Raw::LessEqual => TokenKind::LessEqual,
            Raw::Identifier => TokenKind::Identifier,
            Raw::String => TokenKind::String,
            Raw::UnterminatedString => TokenKind::Error,
            Raw::Number => TokenKind::Number,
            Raw::And => TokenKind::And,
            Raw::Class => TokenKind::Class,
            Raw::Else => TokenKind::Else,
            Raw::False => TokenKind::False,
            Raw::For => TokenKind::For,
            Raw::Fun => TokenKind::Fun,
            Raw::If => TokenKind::If,
            Raw::Nil => TokenKind::Nil,
            Raw::Or => TokenKind::Or,
            Raw::Print => TokenKind::Print,
            Raw::Return => TokenKind::Return,
            Raw::Super => TokenKind::Super,
            Raw::This => TokenKind::This,
            Raw::True => TokenKind::True,
            Raw::Var => TokenKind::Var,
            Raw::While => TokenKind::While,
            Raw::LeftBracket => TokenKind::LeftBracket,
            Raw::RightBracket => TokenKind::RightBracket,
            Raw::Spawn => TokenKind::Spawn,
        }
    }
}

/// Produces tokens one at a time, as the single-pass compiler asks.
pub struct Scanner<'src> {
    lexer: logos::Lexer<'src, Raw>,
    source: &'src [u8],
}

impl<'src> Scanner<'src> {
    pub fn new(source: &'src [u8]) -> Scanner<'src> {
        let end = source.iter().position(|&b| b == 0).unwrap_or(source.len());
        let source = source.get(..end).unwrap_or_default();
        Scanner {
            lexer: Raw::lexer_with_extras(source, 1),
            source,
        }
    }

    /// The current line (the line of the next `Eof`).
    pub fn line(&self) -> u32 {
        self.lexer.extras
    }

    /// The source the scanner reads: its input up to the first NUL.
    pub fn source(&self) -> &'src [u8] {
        self.source
    }

    /// Byte offsets of the token [`Scanner::next_token`] returned last
    /// (after the end, an empty range at the end). The compiler does not
    /// use it; the tools' grammar (`crate::syntax`) builds spans from it.
    pub fn span(&self) -> std::ops::Range<usize> {
        self.lexer.span()
    }

    pub fn next_token(&mut self) -> Token<'src> {
        let next = self.lexer.next();
        let line = self.lexer.extras;
        let span = self.lexer.span();
        let lexeme = self.source.get(span.clone()).unwrap_or_default();
        let offset = span.start;
        match next {
            None => Token {
                kind: TokenKind::Eof,
                lexeme: &[],
                line,
                offset: self.source.len(),
                error: None,
            },
            Some(Ok(Raw::UnterminatedString)) => Token {
                kind: TokenKind::Error,
                lexeme,
                line,
                offset,
                error: Some(LexError::UnterminatedString),
            },
            Some(Ok(raw)) => Token {
                kind: raw.kind(),
                lexeme,
                line,
                offset,
                error: None,
            },
            // clox reports one error per unrecognised byte. Every
            // pattern's first byte is already an accepting prefix, so a
            // failed match is always exactly one byte long (tested below).
            Some(Err(())) => Token {
                kind: TokenKind::Error,
                lexeme,
                line,
                offset,
                error: Some(LexError::UnexpectedCharacter),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(src: &[u8]) -> Vec<(TokenKind, Vec<u8>, u32)> {
        let mut s = Scanner::new(src);
        let mut out = Vec::new();
        loop {
            let t = s.next_token();
            out.push((t.kind, t.lexeme.to_vec(), t.line));
            if t.kind == TokenKind::Eof {
                return out;
            }
        }
    }

    fn kinds(src: &[u8]) -> Vec<TokenKind> {
        scan(src).into_iter().map(|t| t.0).collect()
    }

    use TokenKind as K;

    #[test]
    fn punctuation_and_operators() {
        assert_eq!(
            kinds(b"(){},.-+;/*! != = == > >= < <="),
            vec![
                K::LeftParen,
                K::RightParen,
                K::LeftBrace,
                K::RightBrace,
                K::Comma,
                K::Dot,
                K::Minus,
                K::Plus,
                K::Semicolon,
                K::Slash,
                K::Star,
                K::Bang,
                K::BangEqual,
                K::Equal,
                K::EqualEqual,
                K::Greater,
                K::GreaterEqual,
                K::Less,
                K::LessEqual,
                K::Eof
            ]
        );
    }

    #[test]
    fn keywords_and_identifiers() {
        assert_eq!(
            kinds(b"and class else false for fun if nil or print return super this true var while"),
            vec![
                K::And,
                K::Class,
                K::Else,
                K::False,
                K::For,
                K::Fun,
                K::If,
                K::Nil,
                K::Or,
                K::Print,
                K::Return,
                K::Super,
                K::This,
                K::True,
                K::Var,
                K::While,
                K::Eof
            ]
        );
        assert_eq!(
            kinds(b"spawn [x] spawner spaw"),
            vec![
                K::Spawn,
                K::LeftBracket,
                K::Identifier,
                K::RightBracket,
                K::Identifier,
                K::Identifier,
                K::Eof
            ]
        );
        assert_eq!(
            kinds(b"andy _x x1 classy f fo funny th thisx whiles"),
            vec![K::Identifier; 10]
                .into_iter()
                .chain([K::Eof])
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn numbers() {
        let toks = scan(b"123 123.45 123. .5 1e3");
        let got: Vec<(TokenKind, &[u8])> = toks.iter().map(|t| (t.0, t.1.as_slice())).collect();
        assert_eq!(
            got,
            vec![
                (K::Number, &b"123"[..]),
                (K::Number, b"123.45"),
                (K::Number, b"123"),
                (K::Dot, b"."),
                (K::Dot, b"."),
                (K::Number, b"5"),
                (K::Number, b"1"),
                (K::Identifier, b"e3"),
                (K::Eof, b""),
            ]
        );
    }

    #[test]
    fn lines_comments_and_crlf() {
        let toks = scan(b"a // comment\r\nb\r\n\r\n  c // trailing");
        let got: Vec<(TokenKind, u32)> = toks.iter().map(|t| (t.0, t.2)).collect();
        assert_eq!(
            got,
            vec![
                (K::Identifier, 1),
                (K::Identifier, 2),
                (K::Identifier, 4),
                (K::Eof, 4)
            ]
        );
    }

    #[test]
    fn strings_span_lines_and_keep_raw_bytes() {
        let toks = scan(b"\"a\nb\xff\xc3\xa9\" x");
        assert_eq!(toks[0], (K::String, b"\"a\nb\xff\xc3\xa9\"".to_vec(), 2));
        assert_eq!(toks[1], (K::Identifier, b"x".to_vec(), 2));
    }

    #[test]
    fn unterminated_string() {
        let toks = scan(b"x \"abc\n\ndef");
        assert_eq!(toks[1].0, K::Error);
        assert_eq!(toks[1].2, 3);
        assert_eq!(toks[2], (K::Eof, vec![], 3));
        let mut s = Scanner::new(b"\"");
        let t = s.next_token();
        assert_eq!(t.error, Some(LexError::UnterminatedString));
    }

    #[test]
    fn nul_ends_source() {
        assert_eq!(kinds(b"a\0b c"), vec![K::Identifier, K::Eof]);
        // Inside a string a NUL also ends the source, leaving it open.
        let toks = scan(b"\"ab\0cd\"");
        assert_eq!(toks[0].0, K::Error);
        assert_eq!(toks.len(), 2);
    }

    #[test]
    fn high_bytes_are_one_error_each() {
        let mut s = Scanner::new(b"\xc3\xa9 @\x80a");
        let mut errs = 0;
        loop {
            let t = s.next_token();
            match t.kind {
                K::Error => {
                    assert_eq!(t.error, Some(LexError::UnexpectedCharacter));
                    assert_eq!(t.lexeme.len(), 1);
                    errs += 1;
                }
                K::Identifier => assert_eq!(t.lexeme, b"a"),
                K::Eof => break,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(errs, 4);
    }

    #[test]
    fn eof_repeats() {
        let mut s = Scanner::new(b"x");
        assert_eq!(s.next_token().kind, K::Identifier);
        for _ in 0..3 {
            assert_eq!(s.next_token().kind, K::Eof);
        }
    }
}
