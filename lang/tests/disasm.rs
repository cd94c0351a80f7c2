//! The disassembler reproduces a `DEBUG_PRINT_CODE` clox's listing
//! (tests/data/disasm.expected was captured from clox built with
//! `DEBUG_PRINT_CODE`), which also pins the bytecode byte for byte.

#[test]
fn disassembly_matches_debug_clox() {
    let source = include_bytes!("data/disasm.lox");
    let expected = include_str!("data/disasm.expected");
    let proto = lang::compile(source).expect("compiles");
    let got = lang::disassemble(&proto);
    if got != expected {
        for (i, (g, e)) in got.lines().zip(expected.lines()).enumerate() {
            assert_eq!(g, e, "first difference at listing line {}", i + 1);
        }
        assert_eq!(got.lines().count(), expected.lines().count());
    }
    assert_eq!(got, expected);
}

#[test]
fn opcode_helpers() {
    use lang::{OpCode, Operands, StackEffect};
    assert_eq!(OpCode::from_u8(31), Some(OpCode::Closure));
    assert_eq!(OpCode::Closure.operands(), Operands::Closure);
    assert_eq!(OpCode::Invoke.operands().fixed_len(), Some(2));
    assert_eq!(OpCode::Add.stack_effect(), StackEffect::Fixed(-1));
    assert_eq!(OpCode::Call.stack_effect(), StackEffect::Call);
}

#[test]
fn malformed_chunks_do_not_panic() {
    let mut proto = lang::Proto::default();
    proto.chunk.code = vec![200, 0, 200, 31, 7, 25, 1, 29];
    proto.chunk.lines = vec![1];
    let text = lang::disassemble(&proto);
    assert!(text.contains("Unknown opcode 200"));
}
