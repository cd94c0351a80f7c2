//! The grammar (`src/grammar.lalrpop`) against the compiler: it accepts a
//! program exactly when the compiler reports no syntax error.
//!
//! The compiler's verdict is [`lang::syntax_errors`]: the real parse with
//! semantic and limit errors dropped (see [`lang::ErrorClass`] for which
//! those are: `Can't return from top-level code.`, `Already a variable
//! with this name in this scope.`, `Too many constants in one chunk.`, …),
//! because clox's panic mode lets such an error hide a syntax error that
//! follows it. That oracle is itself checked against [`lang::compile`] on
//! every input: when `compile` succeeds it finds nothing, and when
//! `compile`'s first error is a syntax error it finds that same error.
//!
//! Inputs: every file of the official suite (all of it, `scanning/` and
//! `expressions/` included; the test fails without the suite unless
//! `LOAM_ALLOW_NO_SUITE=1`), every `.lox` file of the repository, the
//! committed sample of the fuzz corpus (`fuzz/regress/`) and the whole
//! corpora if any are on disk (`fuzz/corpus/` is not committed), and
//! generated inputs from a fixed seed: 10,000 programs, 10,000 mutants of
//! them (one or two tokens deleted, duplicated, swapped, inserted or
//! replaced) and 5,000 token soups over every token kind, lexical junk
//! and the fuzz dictionary's entries (`fuzz/lox.dict`). A program that
//! nests deeper than the compiler allows (`Too much nesting.`) is left
//! out and counted: the compiler stops parsing there.

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use common::generate::{mutate, render, soup, Gen, Rng, VOCABULARY};
use common::{lox_files, on_compile_stack};
use lang::ErrorClass;

const PROGRAMS: usize = 10_000;
const MUTANTS: usize = 10_000;
const SOUPS: usize = 5_000;
const SEED: u64 = 0x6c6f_616d_0017;

#[derive(Default)]
struct Tally {
    inputs: usize,
    accepted: usize,
    too_deep: usize,
    failures: Vec<String>,
}

impl Tally {
    /// Checks one input; `name` says where it came from.
    fn check(&mut self, name: &dyn Fn() -> String, source: &[u8]) {
        self.inputs += 1;
        let syntax = lang::syntax_errors(source);
        if syntax.iter().any(|e| e.message() == "Too much nesting.") {
            self.too_deep += 1;
            return;
        }
        let mut problems = Vec::new();
        match lang::compile(source) {
            Ok(_) if !syntax.is_empty() => problems.push(format!(
                "compile succeeds but syntax_errors reports {}",
                syntax[0]
            )),
            Err(errors)
                if errors[0].class() == ErrorClass::Syntax && syntax.first() != errors.first() =>
            {
                problems.push(format!(
                    "compile's first error is {} but syntax_errors gives {:?}",
                    errors[0],
                    syntax.first().map(ToString::to_string)
                ));
            }
            _ => {}
        }
        let parsed = lang::syntax::parse(source);
        match (&parsed, syntax.first()) {
            (Ok(_), Some(error)) => {
                problems.push(format!("the grammar accepts; the compiler says {error}"))
            }
            (Err(error), None) => problems.push(format!(
                "the grammar rejects ({error}); the compiler reports no syntax error"
            )),
            _ => {}
        }
        if parsed.is_ok() {
            self.accepted += 1;
        }
        if !problems.is_empty() && self.failures.len() < 20 {
            self.failures.push(format!(
                "{}:\n  {}\n  source: {}",
                name(),
                problems.join("\n  "),
                String::from_utf8_lossy(source).escape_debug()
            ));
        }
    }

    fn assert_clean(&self, what: &str) {
        assert!(
            self.failures.is_empty(),
            "{what}: grammar and compiler disagree on {} input(s):\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn check_files(tally: &mut Tally, files: &[PathBuf]) {
    for path in files {
        let source =
            std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        tally.check(&|| path.display().to_string(), &source);
    }
}

#[test]
fn grammar_agrees_with_the_compiler_on_the_suite() {
    let Some(dir) = common::suite_dir() else {
        if std::env::var("LOAM_ALLOW_NO_SUITE").as_deref() == Ok("1") {
            return;
        }
        panic!("lox-test suite not found (set LOX_TEST_DIR, or LOAM_ALLOW_NO_SUITE=1)");
    };
    let files = lox_files(&dir);
    assert!(files.len() > 250, "only {} suite files", files.len());
    let tally = on_compile_stack(move || {
        let mut tally = Tally::default();
        check_files(&mut tally, &files);
        tally
    });
    println!(
        "suite: {} files, {} accepted, {} too deep",
        tally.inputs, tally.accepted, tally.too_deep
    );
    tally.assert_clean("suite");
    // Most suite files are valid programs; some test syntax errors.
    assert!(tally.accepted > 200 && tally.accepted < tally.inputs);
}

#[test]
fn grammar_agrees_with_the_compiler_on_the_repository() {
    let root = repo_root();
    let files: Vec<PathBuf> = lox_files(&root)
        .into_iter()
        .filter(|p| {
            !p.strip_prefix(&root)
                .unwrap_or(p)
                .components()
                .any(|c| c.as_os_str() == "target" || c.as_os_str() == ".git")
        })
        .collect();
    assert!(files.len() > 150, "only {} .lox files", files.len());
    // Fuzz corpora are not committed (fuzz/.gitignore); a local
    // `scripts/fuzz.sh` run leaves them here. `fuzz/regress/` is a
    // committed sample of them, so CI compares some too.
    let mut corpus = Vec::new();
    for dir in ["fuzz/regress", "fuzz/corpus", "fuzz/artifacts"] {
        let dir = root.join(dir);
        if dir.is_dir() {
            corpus.extend(all_files(&dir));
        }
    }
    let corpus_len = corpus.len();
    let tally = on_compile_stack(move || {
        let mut tally = Tally::default();
        check_files(&mut tally, &files);
        check_files(&mut tally, &corpus);
        tally
    });
    println!(
        "repository: {} inputs ({corpus_len} from fuzz corpora), {} accepted, {} too deep",
        tally.inputs, tally.accepted, tally.too_deep
    );
    tally.assert_clean("repository");
    // tests/lox/hostile/nesting_expr_250000.lox passes the expression limit.
    assert!(tally.too_deep >= 1, "the nesting-limit file was not seen");
}

fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The fuzz dictionary's entries (`name="value"`, `\xNN` escapes).
fn dictionary() -> Vec<Vec<u8>> {
    let text = std::fs::read_to_string(repo_root().join("fuzz/lox.dict")).expect("fuzz/lox.dict");
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((_, value)) = line.split_once('=') else {
            continue;
        };
        let Some(value) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
            continue;
        };
        let bytes = value.as_bytes();
        let mut entry = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match (bytes[i], bytes.get(i + 1)) {
                (b'\\', Some(b'x')) => {
                    let hex = value.get(i + 2..i + 4).unwrap_or("3f");
                    entry.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                    i += 4;
                }
                (b'\\', Some(&c)) => {
                    entry.push(c);
                    i += 2;
                }
                (c, _) => {
                    entry.push(c);
                    i += 1;
                }
            }
        }
        out.push(entry);
    }
    out
}

#[test]
fn grammar_agrees_with_the_compiler_on_generated_programs() {
    let dict = dictionary();
    assert!(
        dict.len() > 50,
        "fuzz/lox.dict: only {} entries",
        dict.len()
    );
    let start = Instant::now();
    let (programs, mutants, soups) = on_compile_stack(move || {
        let mut rng = Rng::new(SEED);
        let mut programs = Tally::default();
        let mut mutants = Tally::default();
        for i in 0..PROGRAMS {
            let doubt = if i % 2 == 0 { 0 } else { 4 };
            let mut tokens = Gen::new(&mut rng, 60, doubt).program();
            let source = render(&mut rng, &tokens);
            programs.check(
                &|| format!("generated program #{i} (seed {SEED:#x})"),
                &source,
            );
            mutate(&mut rng, &mut tokens);
            let source = render(&mut rng, &tokens);
            mutants.check(&|| format!("mutant #{i} (seed {SEED:#x})"), &source);
        }
        let vocabulary: Vec<Vec<u8>> = VOCABULARY
            .iter()
            .map(|t| t.as_bytes().to_vec())
            .chain(dict)
            .collect();
        let mut soups = Tally::default();
        for i in 0..SOUPS {
            let len = 1 + rng.below(24);
            let source = soup(&mut rng, &vocabulary, len);
            soups.check(&|| format!("token soup #{i} (seed {SEED:#x})"), &source);
        }
        (programs, mutants, soups)
    });
    println!(
        "generated in {:.2?}: {} programs ({} accepted), {} mutants ({} accepted), {} soups ({} accepted)",
        start.elapsed(),
        programs.inputs,
        programs.accepted,
        mutants.inputs,
        mutants.accepted,
        soups.inputs,
        soups.accepted
    );
    programs.assert_clean("generated programs");
    mutants.assert_clean("mutants");
    soups.assert_clean("token soups");
    // Neither side of the boundary may be missing from any family, or a
    // grammar that accepts (or rejects) everything would pass.
    assert!(programs.accepted > PROGRAMS / 3 && programs.accepted < PROGRAMS);
    assert!(mutants.accepted > MUTANTS / 50 && mutants.accepted < MUTANTS / 2);
    assert!(soups.accepted > 20 && soups.accepted < SOUPS / 2);
}

/// Hand-written cases at the edges of the three subtle rules (assignment
/// targets, `spawn`, `fun` at statement start), each with the compiler's
/// verdict stated, so a change of either side shows here first.
#[test]
fn edge_cases() {
    let cases: &[(&str, bool)] = &[
        ("a = 1;", true),
        ("a.b.c = 1;", true),
        ("f().x = 1;", true),
        ("a[0][1] = 2;", true),
        ("super.x.y = 1;", true),
        ("(a).b = 1;", true),
        ("a = b = c;", true),
        ("a + b = c;", false),
        ("-a.b = c;", false),
        ("(a) = b;", false),
        ("super.x = y;", false),
        ("f() = x;", false),
        ("a.b(c) = d;", false),
        ("this = 1;", false),
        ("a = b + c = d;", false),
        ("spawn f();", true),
        ("spawn a.b(1);", true),
        ("spawn super.m(1)(2);", true),
        ("spawn (f)();", true),
        ("spawn f().g;", false),
        ("spawn (f());", false),
        ("spawn -f();", false),
        ("spawn spawn f();", false),
        ("spawn f()[0];", false),
        ("spawn [f()];", false),
        ("spawn f() = 1;", false),
        ("-spawn f() * 2;", true),
        ("fun () {}();", true),
        ("if (c) fun () {};", true),
        ("if (c) fun f() {}", false),
        ("if (c) var x;", false),
        ("fun f() {};", false),
        ("for (fun () {}; ;) {}", true),
        ("[];", true),
        ("[1,];", true),
        ("[,];", false),
        ("[1,,];", false),
        ("f(1,);", false),
        ("fun f(a,) {}", false),
        ("class A { fun f() {} }", false),
        ("class A < B { f() {} g(a) { return a; } }", true),
        ("if (a) if (b) x; else y;", true),
        ("if (a) x; else y; else z;", false),
        ("for (;;) ;", false),
        (";", false),
        ("print 1", false),
        ("return 1 +;", false),
        ("a and b or c and d;", true),
        ("!!-!a;", true),
    ];
    let mut failures = Vec::new();
    for &(source, valid) in cases {
        let compiler = lang::syntax_errors(source.as_bytes()).is_empty();
        let grammar = lang::syntax::parse(source.as_bytes()).is_ok();
        if compiler != valid || grammar != valid {
            failures.push(format!(
                "{source:?}: expected {valid}, compiler {compiler}, grammar {grammar}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
