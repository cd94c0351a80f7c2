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
        // Ctrl-C in a script: silent, like a process killed by SIGINT; the
        // exit code (130) says what happened. The REPL prints its own line.
        InterpretError::Interrupted => {}
    }
    let _ = e.flush();
    err.exit_code()
}

/// Compile errors only (`--disassemble`).
pub fn report_compile(errors: &[lang::CompileError]) -> i32 {
    report(&InterpretError::Compile(errors.to_vec()))
}
