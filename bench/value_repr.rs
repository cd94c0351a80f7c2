//! NaN-boxing against a tagged enum, measured (issue 3 asks for it).
//!
//! The same tiny stack interpreter runs the same bytecode over two value
//! representations: `Boxed`, a NaN-boxed u64 as loam's `vm::Value` is (a
//! double, or a quiet NaN carrying a tag or a 48-bit pointer), and `Tagged`,
//! a Rust enum (16 bytes: tag word + payload). The programs are the shapes
//! that dominate the suite's benchmarks: a numeric loop (`fib`-like
//! arithmetic and comparisons), a loop of mixed-type equality
//! (`equality.lox`), and reads of values through memory (a list walk, as
//! `trees`/`zoo` read fields). Each is run 7 times; the median is printed.
//!
//! Standalone (no crates): `rustc -C opt-level=3 bench/value_repr.rs -o
//! target/value_repr && target/value_repr`.
use std::hint::black_box;
use std::time::Instant;

trait Repr: Copy {
    fn number(n: f64) -> Self;
    fn nil() -> Self;
    fn boolean(b: bool) -> Self;
    fn object(p: usize) -> Self;
    fn as_number(self) -> Option<f64>;
    fn truthy(self) -> bool;
    fn equals(self, other: Self) -> bool;
}

#[derive(Clone, Copy)]
struct Boxed(u64);

const QNAN: u64 = 0x7ffc_0000_0000_0000;
const SIGN: u64 = 0x8000_0000_0000_0000;
const TAG_NIL: u64 = 1;
const TAG_FALSE: u64 = 2;
const TAG_TRUE: u64 = 3;

impl Repr for Boxed {
    #[inline(always)]
    fn number(n: f64) -> Self {
        Boxed(n.to_bits())
    }
    #[inline(always)]
    fn nil() -> Self {
        Boxed(QNAN | TAG_NIL)
    }
    #[inline(always)]
    fn boolean(b: bool) -> Self {
        Boxed(QNAN | if b { TAG_TRUE } else { TAG_FALSE })
    }
    #[inline(always)]
    fn object(p: usize) -> Self {
        Boxed(SIGN | QNAN | p as u64)
    }
    #[inline(always)]
    fn as_number(self) -> Option<f64> {
        (self.0 & QNAN != QNAN).then(|| f64::from_bits(self.0))
    }
    #[inline(always)]
    fn truthy(self) -> bool {
        self.0 != QNAN | TAG_NIL && self.0 != QNAN | TAG_FALSE
    }
    #[inline(always)]
    fn equals(self, other: Self) -> bool {
        match (self.as_number(), other.as_number()) {
            (Some(a), Some(b)) => a == b,
            _ => self.0 == other.0,
        }
    }
}

#[derive(Clone, Copy)]
enum Tagged {
    Nil,
    Bool(bool),
    Number(f64),
    Object(usize),
}

impl Repr for Tagged {
    #[inline(always)]
    fn number(n: f64) -> Self {
        Tagged::Number(n)
    }
    #[inline(always)]
    fn nil() -> Self {
        Tagged::Nil
    }
    #[inline(always)]
    fn boolean(b: bool) -> Self {
        Tagged::Bool(b)
    }
    #[inline(always)]
    fn object(p: usize) -> Self {
        Tagged::Object(p)
    }
    #[inline(always)]
    fn as_number(self) -> Option<f64> {
        match self {
            Tagged::Number(n) => Some(n),
            _ => None,
        }
    }
    #[inline(always)]
    fn truthy(self) -> bool {
        !matches!(self, Tagged::Nil | Tagged::Bool(false))
    }
    #[inline(always)]
    fn equals(self, other: Self) -> bool {
        match (self, other) {
            (Tagged::Nil, Tagged::Nil) => true,
            (Tagged::Bool(a), Tagged::Bool(b)) => a == b,
            (Tagged::Number(a), Tagged::Number(b)) => a == b,
            (Tagged::Object(a), Tagged::Object(b)) => a == b,
            _ => false,
        }
    }
}

#[derive(Clone, Copy)]
enum Op {
    Const(u8),
    Get(u8),
    Set(u8),
    Add,
    Less,
    Equal,
    Pop,
    JumpIfFalse(u16),
    Loop(u16),
    /// Replaces the index on top with `heap[index * 4099 % len]`.
    Index,
    Halt,
}

/// A clox-shaped loop: a value stack in memory, a `match` per instruction.
#[inline(never)]
fn run<V: Repr>(code: &[Op], constants: &[V], heap: &[V], locals: usize) -> V {
    let mut stack: Vec<V> = vec![V::nil(); 64];
    for slot in stack.iter_mut().take(locals).skip(1) {
        *slot = V::number(0.0);
    }
    let mut sp = locals;
    let mut ip = 0;
    loop {
        let op = code[ip];
        ip += 1;
        match op {
            Op::Const(k) => {
                stack[sp] = constants[k as usize];
                sp += 1;
            }
            Op::Get(s) => {
                stack[sp] = stack[s as usize];
                sp += 1;
            }
            Op::Set(s) => stack[s as usize] = stack[sp - 1],
            Op::Add => {
                let (a, b) = (stack[sp - 2], stack[sp - 1]);
                sp -= 1;
                stack[sp - 1] = match (a.as_number(), b.as_number()) {
                    (Some(x), Some(y)) => V::number(x + y),
                    _ => return V::nil(),
                };
            }
            Op::Less => {
                let (a, b) = (stack[sp - 2], stack[sp - 1]);
                sp -= 1;
                stack[sp - 1] = match (a.as_number(), b.as_number()) {
                    (Some(x), Some(y)) => V::boolean(x < y),
                    _ => return V::nil(),
                };
            }
            Op::Equal => {
                let (a, b) = (stack[sp - 2], stack[sp - 1]);
                sp -= 1;
                stack[sp - 1] = V::boolean(a.equals(b));
            }
            Op::Pop => sp -= 1,
            Op::JumpIfFalse(t) => {
                if !stack[sp - 1].truthy() {
                    ip = t as usize;
                }
            }
            Op::Loop(t) => ip = t as usize,
            Op::Index => {
                let i = stack[sp - 1].as_number().unwrap_or(0.0) as usize;
                stack[sp - 1] = heap[i.wrapping_mul(4099) % heap.len()];
            }
            Op::Halt => return stack[1],
        }
    }
}

fn main() {
    let iterations = 20_000_000.0;
    let heap_len = 1 << 20;
    // Mixed values for the equality and memory programs.
    let boxed_mixed: Vec<Boxed> = (0..heap_len)
        .map(|i| match i % 4 {
            0 => Boxed::number(i as f64),
            1 => Boxed::nil(),
            2 => Boxed::boolean(i % 8 == 2),
            _ => Boxed::object(0x1000 + i * 16),
        })
        .collect();
    let tagged_mixed: Vec<Tagged> = (0..heap_len)
        .map(|i| match i % 4 {
            0 => Tagged::number(i as f64),
            1 => Tagged::nil(),
            2 => Tagged::boolean(i % 8 == 2),
            _ => Tagged::object(0x1000 + i * 16),
        })
        .collect();

    use Op::*;
    // Locals: 1 = s, 2 = i (both start at 0). Constants: 0 = n, 1 = 1.
    // `while (i < n) { s = s + i; i = i + 1; }`
    #[rustfmt::skip]
    let numeric = vec![
        Get(2), Const(0), Less, JumpIfFalse(16), Pop, // 0..5
        Get(1), Get(2), Add, Set(1), Pop, // 5..10
        Get(2), Const(1), Add, Set(2), Pop, // 10..15
        Loop(0), Pop, Halt, // 15..18
    ];
    // `while (i < n) { h[i] == h[i + 1]; i = i + 1; }` over mixed values.
    #[rustfmt::skip]
    let equality = vec![
        Get(2), Const(0), Less, JumpIfFalse(19), Pop, // 0..5
        Get(2), Index, Get(2), Const(1), Add, Index, Equal, Pop, // 5..13
        Get(2), Const(1), Add, Set(2), Pop, // 13..18
        Loop(0), Pop, Halt, // 18..21
    ];
    // `while (i < n) { h[i]; i = i + 1; }`: values read from a 1 Mi-entry
    // array with a stride (8 or 16 MiB of values).
    #[rustfmt::skip]
    let memory = vec![
        Get(2), Const(0), Less, JumpIfFalse(14), Pop, // 0..5
        Get(2), Index, Pop, // 5..8
        Get(2), Const(1), Add, Set(2), Pop, // 8..13
        Loop(0), Pop, Halt, // 13..16
    ];

    let programs: [(&str, &[Op]); 3] = [
        ("numeric loop", &numeric),
        ("mixed equality", &equality),
        ("reads through memory", &memory),
    ];
    println!(
        "value size: NaN-boxed {} bytes, tagged enum {} bytes",
        std::mem::size_of::<Boxed>(),
        std::mem::size_of::<Tagged>()
    );
    println!("| program | NaN-boxed ms | tagged enum ms | tagged / boxed |");
    println!("|---|---:|---:|---:|");
    for (name, code) in programs {
        let boxed_k = [Boxed::number(iterations), Boxed::number(1.0)];
        let tagged_k = [Tagged::number(iterations), Tagged::number(1.0)];
        let mut b = Vec::new();
        let mut t = Vec::new();
        for _ in 0..7 {
            let start = Instant::now();
            let rb = black_box(run(black_box(code), &boxed_k, &boxed_mixed, 3));
            b.push(start.elapsed().as_secs_f64() * 1e3);
            let start = Instant::now();
            let rt = black_box(run(black_box(code), &tagged_k, &tagged_mixed, 3));
            t.push(start.elapsed().as_secs_f64() * 1e3);
            // Both ran the whole program to the same result.
            assert_eq!(rb.as_number(), rt.as_number(), "{name}");
        }
        b.sort_by(f64::total_cmp);
        t.sort_by(f64::total_cmp);
        println!(
            "| {name} | {:.1} | {:.1} | {:.2} |",
            b[3],
            t[3],
            t[3] / b[3]
        );
    }
}
