//! The one place errors become bytes on stderr.

use std::io::Write;
use vm::InterpretError;

/// Writes `err` in clox's exact form and returns the exit code.
pub fn report(err: &InterpretError) -> i32 {
    let stderr = std::io::stderr();
    let mut e = stderr.lock();
    match err {
        InterpretError::Compile(errors) => {
            for ce in errors {
                let _ = e.write_all(&ce.to_bytes());
                let _ = e.write_all(b"\n");
            }
        }
        InterpretError::Runtime(rt) => {
            let _ = write!(e, "{rt}");
        }
    }
    let _ = e.flush();
    err.exit_code()
}

/// Compile errors only (`--disassemble`).
pub fn report_compile(errors: &[lang::CompileError]) -> i32 {
    report(&InterpretError::Compile(errors.to_vec()))
}
