//! `format_number` against a table produced by glibc's `printf("%g")`
//! (tests/data/printf_g_cases.txt: `(0xBITS, "TEXT"),` per line).

use lang::{format_number, write_number};

#[test]
fn matches_glibc_printf_g_table() {
    let table = include_str!("data/printf_g_cases.txt");
    let mut checked = 0;
    for line in table.lines() {
        let line = line.trim().trim_start_matches('(').trim_end_matches("),");
        let Some((bits, text)) = line.split_once(", ") else {
            continue;
        };
        let bits = u64::from_str_radix(bits.trim_start_matches("0x"), 16).expect("hex");
        let expected = text.trim_matches('"');
        let value = f64::from_bits(bits);
        assert_eq!(format_number(value), expected, "bits {bits:#018x}");
        checked += 1;
    }
    assert!(checked > 500);
}

#[test]
fn special_values() {
    assert_eq!(format_number(f64::NAN), "nan");
    assert_eq!(format_number(-f64::NAN), "-nan");
    assert_eq!(format_number(f64::INFINITY), "inf");
    assert_eq!(format_number(f64::NEG_INFINITY), "-inf");
    assert_eq!(format_number(-0.0), "-0");
    assert_eq!(format_number(0.0), "0");
    assert_eq!(format_number(1e21), "1e+21");
    assert_eq!(format_number(1.0 / 3.0), "0.333333");
    assert_eq!(format_number(100000.0), "100000");
    assert_eq!(format_number(1e6), "1e+06");
    assert_eq!(format_number(1.5e-7), "1.5e-07");
    assert_eq!(format_number(1e-300), "1e-300");
    let mut buf = b"x=".to_vec();
    write_number(&mut buf, -42.0);
    assert_eq!(buf, b"x=-42");
}
