//! `lang::compile` on arbitrary bytes: it returns (a prototype or compile
//! errors) and never panics, overflows its stack or loops.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod common;

fn compile(data: &[u8]) {
    match lang::compile(data) {
        // The disassembler must read every prototype the compiler makes.
        Ok(proto) => {
            std::hint::black_box(lang::disassemble(&proto));
        }
        Err(errors) => {
            // Rendering is part of the contract too (clox's stderr lines).
            for e in &errors {
                std::hint::black_box(e.to_bytes());
            }
            assert!(!errors.is_empty(), "compile failed without an error");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    common::on_big_stack(compile, data);
});
