//! # loam — the binary
//!
//! Code Map entry: the CLI (clap), the REPL (rustyline) and error rendering.
//! Exit codes are clox's: 65 compile error, 70 runtime error, 64 usage,
//! 74 unreadable script.

#![forbid(unsafe_code)]

mod cli;
mod render;
mod repl;

use clap::Parser;
use std::io::{Read, Write};
use std::process::ExitCode;

use cli::Cli;
use vm::{Vm, VmOptions};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 64 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    // The compiler and the interpreter recurse (nested expressions, nested
    // function prototypes): give them a stack sized for `lang::MAX_NESTING`.
    let worker = std::thread::Builder::new()
        .name("loam-main".into())
        .stack_size(lang::COMPILE_STACK_SIZE)
        .spawn(move || run(cli));
    match worker.map(|h| h.join()) {
        Ok(Ok(code)) => ExitCode::from(code as u8),
        _ => {
            eprintln!("loam: internal error: the interpreter thread failed");
            ExitCode::from(70)
        }
    }
}

fn new_vm(cli: &Cli, out: Box<dyn Write>) -> Vm {
    let mut vm = Vm::new(
        VmOptions {
            gc: cli.gc_config(),
        },
        out,
    );
    stdlib::install(&mut vm);
    vm
}

fn read_script(path: &std::path::Path) -> Result<Vec<u8>, i32> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        return match std::io::stdin().read_to_end(&mut buf) {
            Ok(_) => Ok(buf),
            Err(_) => {
                eprintln!("Could not read standard input.");
                Err(74)
            }
        };
    }
    match std::fs::read(path) {
        Ok(b) => Ok(b),
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                || e.kind() == std::io::ErrorKind::PermissionDenied =>
        {
            eprintln!("Could not open file \"{}\".", path.display());
            Err(74)
        }
        Err(_) => {
            eprintln!("Could not read file \"{}\".", path.display());
            Err(74)
        }
    }
}

fn run(cli: Cli) -> i32 {
    if let Some(path) = &cli.disassemble {
        let source = match read_script(path) {
            Ok(s) => s,
            Err(code) => return code,
        };
        return match lang::compile(&source) {
            Ok(proto) => {
                print!("{}", lang::disassemble(&proto));
                0
            }
            Err(errors) => render::report_compile(&errors),
        };
    }
    let source = match (&cli.eval, &cli.file) {
        (Some(code), _) => code.clone().into_bytes(),
        (None, Some(path)) => match read_script(path) {
            Ok(s) => s,
            Err(code) => return code,
        },
        (None, None) => {
            let vm = new_vm(&cli, Box::new(std::io::stdout()));
            return repl::run(vm);
        }
    };
    let out = Box::new(std::io::BufWriter::with_capacity(
        64 * 1024,
        std::io::stdout(),
    ));
    let mut vm = new_vm(&cli, out);
    let result = vm.interpret(&source);
    let _ = vm.output().flush();
    match result {
        Ok(()) => 0,
        Err(e) => render::report(&e),
    }
}
