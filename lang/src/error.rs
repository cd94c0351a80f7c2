//! Compile errors in clox's exact wording and layout.

use std::fmt;

/// Where an error points, which decides the text between `Error` and `:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorAt {
    /// ` at end`
    End,
    /// ` at 'LEXEME'`, with the raw source bytes.
    Lexeme(Vec<u8>),
    /// Nothing: lexical errors carry no location besides the line.
    None,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    pub line: u32,
    pub at: ErrorAt,
    pub message: &'static str,
    /// Byte range in the source of the token the error points at: the
    /// lexeme (for a lexical error, the offending bytes), or an empty range
    /// at the end of the source for [`ErrorAt::End`]. The source ends at
    /// its first NUL byte, so the range never reaches past one. Used only
    /// to show the token under the source line; `to_bytes` and `Display`
    /// (clox's text) ignore it.
    pub span: std::ops::Range<usize>,
}

impl CompileError {
    pub fn message(&self) -> &str {
        self.message
    }

    /// `[line N] Error at 'x': msg` without a trailing newline. The lexeme
    /// is copied raw, so the bytes equal what clox writes to stderr.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("[line {}] Error", self.line).into_bytes();
        match &self.at {
            ErrorAt::End => out.extend_from_slice(b" at end"),
            ErrorAt::Lexeme(lexeme) => {
                out.extend_from_slice(b" at '");
                out.extend_from_slice(lexeme);
                out.push(b'\'');
            }
            ErrorAt::None => {}
        }
        out.extend_from_slice(b": ");
        out.extend_from_slice(self.message.as_bytes());
        out
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}

impl std::error::Error for CompileError {}
