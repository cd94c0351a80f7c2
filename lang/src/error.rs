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

/// What kind of rule a compile error enforces. The compiler reports all
/// three alike, in clox's order; the tools' grammar (`crate::syntax`)
/// decides exactly the [`ErrorClass::Syntax`] ones, which is what the
/// differential test (`lang/tests/grammar.rs`) holds it to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The token sequence is not in the language: every `Expect ...`,
    /// `Invalid assignment target.`, `Expect call after 'spawn'.` and the
    /// scanner's `Unexpected character.` / `Unterminated string.`.
    Syntax,
    /// The tokens parse, but a rule about names, scopes or the enclosing
    /// function or class is broken (`Can't return from top-level code.`,
    /// `Already a variable with this name in this scope.`, `Can't read
    /// local variable in its own initializer.`, `this`/`super` misuse, a
    /// class inheriting from itself, a value returned from `init`).
    Semantic,
    /// A size limit of clox's bytecode or of loam's compiler: constants,
    /// locals, upvalues, parameters, arguments, jump and loop distances,
    /// and `Too much nesting.`
    Limit,
}

/// Messages of [`ErrorClass::Semantic`] errors, exactly as the compiler
/// writes them.
const SEMANTIC: [&str; 8] = [
    "Can't read local variable in its own initializer.",
    "Already a variable with this name in this scope.",
    "A class can't inherit from itself.",
    "Can't return from top-level code.",
    "Can't return a value from an initializer.",
    "Can't use 'this' outside of a class.",
    "Can't use 'super' outside of a class.",
    "Can't use 'super' in a class with no superclass.",
];

/// Messages of [`ErrorClass::Limit`] errors.
const LIMIT: [&str; 8] = [
    "Too many constants in one chunk.",
    "Too many local variables in function.",
    "Too many closure variables in function.",
    "Can't have more than 255 parameters.",
    "Can't have more than 255 arguments.",
    "Loop body too large.",
    "Too much code to jump over.",
    "Too much nesting.",
];

impl ErrorClass {
    /// The class of a compiler message; anything not listed as semantic or
    /// a limit is a syntax error (a test checks every message the compiler
    /// can write is one the lists or the `Expect` family name on purpose).
    pub fn of(message: &str) -> ErrorClass {
        if SEMANTIC.contains(&message) {
            ErrorClass::Semantic
        } else if LIMIT.contains(&message) {
            ErrorClass::Limit
        } else {
            ErrorClass::Syntax
        }
    }
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

    pub fn class(&self) -> ErrorClass {
        ErrorClass::of(self.message)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every message the compiler and scanner can report, read from their
    /// code (outside comments and tests): the string literals that start
    /// with a capital and end with a full stop.
    fn reported_messages() -> Vec<String> {
        let mut out = Vec::new();
        for source in [include_str!("compiler.rs"), include_str!("scanner.rs")] {
            let code = source.split("#[cfg(test)]").next().unwrap_or_default();
            for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
                for (n, literal) in line.split('"').enumerate() {
                    let is_message = n % 2 == 1
                        && literal.starts_with(|c: char| c.is_ascii_uppercase())
                        && literal.ends_with('.');
                    if is_message {
                        out.push(literal.to_string());
                    }
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    #[test]
    fn every_message_is_classified_on_purpose() {
        let messages = reported_messages();
        assert!(
            messages.len() > 40,
            "only {} messages found",
            messages.len()
        );
        for m in &messages {
            let expected_syntax = m.starts_with("Expect ")
                || [
                    "Invalid assignment target.",
                    "Unexpected character.",
                    "Unterminated string.",
                ]
                .contains(&m.as_str());
            match ErrorClass::of(m) {
                ErrorClass::Syntax => assert!(expected_syntax, "unclassified message: {m}"),
                _ => assert!(!expected_syntax, "{m} is a syntax error"),
            }
        }
        for m in SEMANTIC.iter().chain(LIMIT.iter()) {
            assert!(
                messages.iter().any(|x| x == m),
                "{m} is listed but never reported"
            );
        }
    }
}
