//! Random Lox programs for the grammar's differential test and the
//! formatter's properties: deterministic (SplitMix64 from a fixed seed),
//! built as token lists so they can be mutated token by token.
//!
//! The generator follows a grammar *wider* than loam's: with small
//! probabilities it writes an assignment to a target that is not one
//! (`a + b = c`, `(a) = b`, `super.x = y`), a `spawn` of something that is
//! not a call (`spawn (f())`, `spawn -f()`), a declaration where only a
//! statement may stand (`if (c) var x;`), a trailing comma in arguments or
//! parameters. Whether such a program is valid is not the generator's
//! call: the test asks the compiler.

/// SplitMix64: small, fast, and the same sequence on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const NAMES: [&str; 9] = ["a", "b", "c", "f", "g", "x", "init", "_u", "Channel"];
const BINARY: [&str; 14] = [
    "+", "-", "*", "/", "==", "!=", "<", "<=", ">", ">=", "and", "or", "+", "-",
];

/// Every token kind the scanner produces, plus lexical junk: what token
/// soups and mutations draw from.
pub const VOCABULARY: [&str; 55] = [
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ",",
    ".",
    "-",
    "+",
    ";",
    "/",
    "*",
    "!",
    "!=",
    "=",
    "==",
    ">",
    ">=",
    "<",
    "<=",
    "a",
    "b",
    "f",
    "init",
    "1",
    "2.5",
    "\"s\"",
    "and",
    "class",
    "else",
    "false",
    "for",
    "fun",
    "if",
    "nil",
    "or",
    "print",
    "return",
    "super",
    "this",
    "true",
    "var",
    "while",
    "spawn",
    "// note\n",
    "\n",
    "@",
    "\"open",
    "\u{e9}",
    "#",
    "\"a\nb\"",
    "0",
    "x",
    "this",
];

/// A program generator; `budget` bounds the size of what it writes.
pub struct Gen<'r> {
    rng: &'r mut Rng,
    out: Vec<String>,
    budget: usize,
    depth: usize,
    /// Percent chance of each deliberately doubtful construct.
    doubt: usize,
}

impl<'r> Gen<'r> {
    pub fn new(rng: &'r mut Rng, budget: usize, doubt: usize) -> Gen<'r> {
        Gen {
            rng,
            out: Vec::new(),
            budget,
            depth: 0,
            doubt,
        }
    }

    /// A whole program as tokens.
    pub fn program(mut self) -> Vec<String> {
        let n = 1 + self.rng.below(6);
        for _ in 0..n {
            self.declaration();
        }
        self.out
    }

    fn t(&mut self, token: &str) {
        self.out.push(token.to_string());
        self.budget = self.budget.saturating_sub(1);
    }

    fn small(&self) -> bool {
        self.budget == 0 || self.depth > 6
    }

    fn doubtful(&mut self) -> bool {
        self.rng.chance(self.doubt)
    }

    fn name(&mut self) {
        let n = *self.rng.pick(&NAMES);
        self.t(n);
    }

    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }

    fn declaration(&mut self) {
        if self.rng.chance(20) {
            self.t("// comment\n");
        }
        match self.rng.below(12) {
            0 => self.class_decl(),
            1 => self.fun_decl(),
            2 | 3 => self.var_decl(),
            _ => self.statement(),
        }
    }

    fn class_decl(&mut self) {
        self.t("class");
        self.name();
        if self.rng.chance(40) {
            self.t("<");
            self.name();
        }
        self.t("{");
        if !self.small() {
            for _ in 0..self.rng.below(3) {
                if self.doubtful() {
                    self.t("fun");
                }
                self.name();
                self.function_tail();
            }
        }
        self.t("}");
    }

    fn fun_decl(&mut self) {
        self.t("fun");
        if !self.doubtful() {
            self.name();
        }
        self.function_tail();
        if self.out.last().map(String::as_str) == Some("}") && self.rng.chance(10) {
            self.t(";");
        }
    }

    fn function_tail(&mut self) {
        self.t("(");
        let n = self.rng.below(4);
        for i in 0..n {
            if i > 0 {
                self.t(",");
            }
            self.name();
        }
        if n > 0 && self.doubtful() {
            self.t(",");
        }
        self.t(")");
        self.block();
    }

    fn block(&mut self) {
        self.t("{");
        if !self.small() {
            self.nested(|g| {
                for _ in 0..g.rng.below(4) {
                    g.declaration();
                }
            });
        }
        self.t("}");
    }

    fn var_decl(&mut self) {
        self.t("var");
        self.name();
        if self.rng.chance(70) {
            self.t("=");
            self.expr();
        }
        self.t(";");
    }

    fn statement(&mut self) {
        if self.doubtful() {
            // A declaration where only a statement may stand.
            match self.rng.below(3) {
                0 => self.var_decl(),
                1 => self.fun_decl(),
                _ => self.class_decl(),
            }
            return;
        }
        let choice = if self.small() {
            self.rng.below(3)
        } else {
            self.rng.below(9)
        };
        match choice {
            0 => {
                self.t("print");
                self.expr();
                self.t(";");
            }
            1 => {
                self.expr();
                self.t(";");
            }
            2 => {
                self.t("return");
                if self.rng.chance(60) {
                    self.expr();
                }
                self.t(";");
            }
            3 => self.block(),
            4 | 5 => {
                self.t("if");
                self.condition();
                self.nested(Self::statement);
                if self.rng.chance(50) {
                    self.t("else");
                    self.nested(Self::statement);
                }
            }
            6 => {
                self.t("while");
                self.condition();
                self.nested(Self::statement);
            }
            _ => {
                self.t("for");
                self.t("(");
                match self.rng.below(3) {
                    0 => self.t(";"),
                    1 => self.var_decl(),
                    _ => {
                        self.expr();
                        self.t(";");
                    }
                }
                if self.rng.chance(70) {
                    self.expr();
                }
                self.t(";");
                if self.rng.chance(70) {
                    self.expr();
                }
                self.t(")");
                self.nested(Self::statement);
            }
        }
    }

    fn condition(&mut self) {
        self.t("(");
        self.expr();
        self.t(")");
    }

    pub fn expr(&mut self) {
        self.nested(|g| {
            if !g.small() && g.rng.chance(15) {
                g.assignment();
            } else {
                g.binary();
            }
        });
    }

    fn assignment(&mut self) {
        if self.doubtful() {
            // Not a target, most of the time.
            self.binary();
        } else {
            match self.rng.below(3) {
                0 => self.name(),
                1 => {
                    self.call();
                    self.t(".");
                    self.name();
                }
                _ => {
                    self.call();
                    self.t("[");
                    self.expr();
                    self.t("]");
                }
            }
        }
        self.t("=");
        self.expr();
    }

    fn binary(&mut self) {
        self.unary();
        if self.small() {
            return;
        }
        for _ in 0..self.rng.below(3) {
            let op = *self.rng.pick(&BINARY);
            self.t(op);
            self.unary();
        }
    }

    fn unary(&mut self) {
        while self.rng.chance(12) {
            let op = if self.rng.chance(50) { "-" } else { "!" };
            self.t(op);
        }
        if !self.small() && self.rng.chance(8) {
            self.t("spawn");
            if self.doubtful() {
                self.nested(Self::unary);
            } else {
                self.call();
                self.args();
            }
            return;
        }
        self.call();
    }

    fn call(&mut self) {
        self.primary();
        if self.small() {
            return;
        }
        while self.rng.chance(30) {
            match self.rng.below(3) {
                0 => self.args(),
                1 => {
                    self.t(".");
                    self.name();
                }
                _ => {
                    self.t("[");
                    self.expr();
                    self.t("]");
                }
            }
        }
    }

    fn args(&mut self) {
        self.t("(");
        if !self.small() {
            let n = self.rng.below(3);
            for i in 0..n {
                if i > 0 {
                    self.t(",");
                }
                self.expr();
            }
            if n > 0 && self.doubtful() {
                self.t(",");
            }
        }
        self.t(")");
    }

    fn primary(&mut self) {
        let choice = if self.small() {
            self.rng.below(7)
        } else {
            self.rng.below(11)
        };
        match choice {
            0 => self.t("1"),
            1 => self.t("\"s\""),
            2 => {
                let lit = *self.rng.pick(&["true", "false", "nil"]);
                self.t(lit);
            }
            3 => self.t("this"),
            4..=6 => self.name(),
            7 => {
                self.t("(");
                self.expr();
                self.t(")");
            }
            8 => {
                self.t("super");
                self.t(".");
                self.name();
            }
            9 => {
                self.t("[");
                let n = self.rng.below(4);
                for i in 0..n {
                    if i > 0 {
                        self.t(",");
                    }
                    self.expr();
                }
                if self.rng.chance(20) {
                    self.t(",");
                }
                self.t("]");
            }
            _ => {
                self.t("fun");
                self.function_tail();
            }
        }
    }
}

/// Joins tokens into source, separated by a space or, now and then, a
/// newline (comments carry their own newline).
pub fn render(rng: &mut Rng, tokens: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        if i > 0 {
            out.push(if rng.chance(15) { b'\n' } else { b' ' });
        }
        out.extend_from_slice(token.as_bytes());
    }
    out
}

/// One or two token-level edits: delete, duplicate, swap with the next,
/// insert or replace with a token from [`VOCABULARY`].
pub fn mutate(rng: &mut Rng, tokens: &mut Vec<String>) {
    for _ in 0..1 + rng.below(2) {
        if tokens.is_empty() {
            tokens.push(rng.pick(&VOCABULARY).to_string());
            continue;
        }
        let at = rng.below(tokens.len());
        match rng.below(5) {
            0 => {
                tokens.remove(at);
            }
            1 => {
                let t = tokens[at].clone();
                tokens.insert(at, t);
            }
            2 if at + 1 < tokens.len() => tokens.swap(at, at + 1),
            3 => tokens.insert(at, rng.pick(&VOCABULARY).to_string()),
            _ => tokens[at] = rng.pick(&VOCABULARY).to_string(),
        }
    }
}

/// A token soup: `len` tokens drawn from `vocabulary`.
pub fn soup(rng: &mut Rng, vocabulary: &[Vec<u8>], len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..len {
        if i > 0 {
            out.push(b' ');
        }
        let token: &Vec<u8> = rng.pick(vocabulary);
        out.extend_from_slice(token);
    }
    out
}
