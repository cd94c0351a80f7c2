//! Colours for the REPL's input line, as it is typed: keywords, literals,
//! strings, numbers, comments and rejected bytes, from `lang::classify`
//! (the compiler's own scanner, so what is coloured as a keyword is one).
//! Only when standard output is a terminal and neither `NO_COLOR` nor
//! `--color=never` says otherwise ([`enabled`]).

use std::io::IsTerminal;

use lang::TokenClass;

use crate::render::ColorWhen;

const RESET: &str = "\x1b[0m";

/// Whether the REPL colours its input.
pub fn enabled(when: ColorWhen) -> bool {
    when != ColorWhen::Never && std::io::stdout().is_terminal() && !crate::render::no_color_env()
}

/// The SGR sequence for a class; `None` leaves it uncoloured.
fn colour(class: TokenClass) -> Option<&'static str> {
    match class {
        TokenClass::Keyword => Some("\x1b[1;35m"),
        TokenClass::Literal => Some("\x1b[36m"),
        TokenClass::String => Some("\x1b[32m"),
        TokenClass::Number => Some("\x1b[33m"),
        TokenClass::Comment => Some("\x1b[90m"),
        TokenClass::Error => Some("\x1b[31m"),
        TokenClass::Identifier | TokenClass::Punctuation => None,
    }
}

/// `line` with ANSI colours around its tokens. The visible text (and so
/// its display width, which rustyline relies on) is unchanged.
pub fn colour_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 32);
    let mut done = 0;
    for c in lang::classify(line.as_bytes()) {
        let Some(sgr) = colour(c.class) else {
            continue;
        };
        // Token boundaries are ASCII bytes or the edges of one rejected
        // byte; a byte inside a UTF-8 character cannot be cut out as a
        // `&str`, so such a token stays uncoloured.
        let (Some(before), Some(token)) = (line.get(done..c.span.start), line.get(c.span.clone()))
        else {
            continue;
        };
        out.push_str(before);
        out.push_str(sgr);
        out.push_str(token);
        out.push_str(RESET);
        done = c.span.end;
    }
    out.push_str(line.get(done..).unwrap_or_default());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_strings_and_numbers_are_coloured() {
        assert_eq!(
            colour_line("var s = \"x\"; // c"),
            "\x1b[1;35mvar\x1b[0m s = \x1b[32m\"x\"\x1b[0m; \x1b[90m// c\x1b[0m"
        );
        assert_eq!(colour_line("f(1)"), "f(\x1b[33m1\x1b[0m)");
    }

    #[test]
    fn text_is_unchanged_apart_from_escapes() {
        for line in ["", "é + \u{1F600} nil", "print \"open", "x\0y"] {
            let coloured = colour_line(line);
            let mut plain = String::new();
            let mut rest = coloured.as_str();
            while let Some(i) = rest.find('\x1b') {
                plain.push_str(&rest[..i]);
                let after = &rest[i..];
                let m = after.find('m').map_or(after.len(), |m| m + 1);
                rest = &after[m..];
            }
            plain.push_str(rest);
            assert_eq!(plain, line);
        }
    }
}
