//! Number formatting identical to C's `printf("%g", x)`, which is how clox
//! prints numbers (in `print`, string conversion and the disassembler).
//!
//! `%g` with the default precision 6: the value is rounded to 6
//! significant digits; if the resulting decimal exponent `X` satisfies
//! `-4 <= X < 6` it is printed in fixed notation, otherwise as
//! `d.ddddde±XX`; trailing zeros (and a bare `.`) are removed. NaN and
//! infinity print as glibc does, with the sign bit honoured (`-nan`).
//! Rust's `{:e}`/`{:.N}` formatting is exact with round-half-to-even on
//! the binary value, the same rounding glibc uses, so the digits agree.

use std::io::Write as _;

/// Formats `n` exactly as C's `printf("%g", n)`.
pub fn format_number(n: f64) -> String {
    let mut out = Vec::with_capacity(24);
    write_number(&mut out, n);
    // Only ASCII is ever written.
    String::from_utf8(out).unwrap_or_default()
}

/// Appends `printf("%g", n)` to `out` without intermediate allocation for
/// the common integral case.
pub fn write_number(out: &mut Vec<u8>, n: f64) {
    if n.is_nan() {
        out.extend_from_slice(if n.is_sign_negative() {
            b"-nan"
        } else {
            b"nan"
        });
        return;
    }
    if n.is_infinite() {
        out.extend_from_slice(if n < 0.0 { b"-inf" } else { b"inf" });
        return;
    }
    if n.is_sign_negative() {
        out.push(b'-');
    }
    let a = n.abs();
    // Integers below 10^6 have at most six digits, so %g prints them
    // exactly and without an exponent.
    if a < 1e6 && a.fract() == 0.0 {
        write_small_int(out, a as u32);
        return;
    }
    write_general(out, a);
}

fn write_small_int(out: &mut Vec<u8>, mut v: u32) {
    let mut buf = [0u8; 10];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(buf.get(i..).unwrap_or_default());
}

fn strip_fraction_zeros(digits: &mut Vec<u8>) {
    if digits.contains(&b'.') {
        while digits.last() == Some(&b'0') {
            digits.pop();
        }
        if digits.last() == Some(&b'.') {
            digits.pop();
        }
    }
}

/// `a` is finite and non-negative.
fn write_general(out: &mut Vec<u8>, a: f64) {
    const P: i32 = 6;
    let sci = format!("{:.*e}", (P - 1) as usize, a);
    let (mantissa, exp) = match sci.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (sci.as_str(), 0),
    };
    if (-4..P).contains(&exp) {
        let precision = (P - 1 - exp) as usize;
        let mut fixed = format!("{a:.precision$}").into_bytes();
        strip_fraction_zeros(&mut fixed);
        out.extend_from_slice(&fixed);
    } else {
        let mut m = mantissa.as_bytes().to_vec();
        strip_fraction_zeros(&mut m);
        out.extend_from_slice(&m);
        let sign = if exp < 0 { '-' } else { '+' };
        let _ = write!(out, "e{sign}{:02}", exp.unsigned_abs());
    }
}
