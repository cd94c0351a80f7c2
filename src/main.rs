//! # loam — the binary
//!
//! Code Map entry: the CLI (clap), the REPL (rustyline), error rendering,
//! and the tools over `lang`'s grammar: `loam fmt` (`fmt.rs`) and `loam
//! check` (`check.rs`).
//! Exit codes are clox's: 65 compile error, 70 runtime error, 64 usage,
//! 74 unreadable script; and 130 when Ctrl-C stopped a script (the shell's
//! code for SIGINT).

#![forbid(unsafe_code)]

mod check;
mod cli;
mod fmt;
mod gcreport;
mod highlight;
mod render;
mod repl;
mod screen;
mod session;

use clap::Parser;
use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;

use cli::Cli;
use vm::{Vm, VmOptions};

/// What the command line asks for. A first argument `fmt` or `check`
/// names a tool; anything else is the interpreter's command line, so a
/// script called `fmt` runs as `loam ./fmt` (or `loam -- fmt`).
enum Job {
    Run(Cli),
    Fmt(fmt::FmtArgs),
    Check(check::CheckArgs),
}

fn parse_args() -> Result<Job, clap::Error> {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    match args.get(1).and_then(|a| a.to_str()) {
        Some("fmt") => fmt::FmtArgs::try_parse_from(&args[1..]).map(Job::Fmt),
        Some("check") => check::CheckArgs::try_parse_from(&args[1..]).map(Job::Check),
        _ => Cli::try_parse_from(&args).map(Job::Run),
    }
}

fn main() -> ExitCode {
    let job = match parse_args() {
        Ok(job) => job,
        Err(e) => {
            let code = if e.use_stderr() { 64 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    // The compiler and the interpreter recurse (nested expressions, nested
    // function prototypes): give them a stack sized for `lang::MAX_NESTING`.
    // The tools compile too, and walk trees as deep.
    let worker = std::thread::Builder::new()
        .name("loam-main".into())
        .stack_size(lang::COMPILE_STACK_SIZE)
        .spawn(move || match job {
            Job::Run(cli) => run(cli),
            Job::Fmt(args) => fmt::run(args),
            Job::Check(args) => check::run(args),
        });
    match worker.map(|h| h.join()) {
        Ok(Ok(code)) => ExitCode::from(code as u8),
        _ => {
            eprintln!("loam: internal error: the interpreter thread failed");
            ExitCode::from(70)
        }
    }
}

fn new_vm(cli: &Cli, gc: &gc::GcConfig, out: Box<dyn Write>) -> Vm {
    let options = VmOptions {
        gc: gc.clone(),
        max_heap: cli.max_heap,
        max_instructions: cli.max_instructions,
        no_quicken: cli.no_quicken,
    };
    let mut vm = Vm::new(options, out);
    stdlib::install(&mut vm);
    vm
}

/// Ctrl-C (issue #9): SIGINT only sets the VM's interrupt flag; the VM
/// stops at its next safepoint with `InterpretError::Interrupted` (a script
/// then exits 130 after flushing its output; the REPL goes back to the
/// prompt). `ctrlc` runs this closure on its own thread, not in the signal
/// handler, so exiting from it is safe: a second Ctrl-C while the first is
/// still pending (the VM is stuck outside any safepoint, e.g. compiling)
/// exits 130 at once, as the default SIGINT action would.
fn install_interrupt_handler(vm: &Vm) {
    let flag = vm.interrupt_flag();
    let installed = ctrlc::set_handler(move || {
        if flag.swap(true, std::sync::atomic::Ordering::Relaxed) {
            std::process::exit(130);
        }
    });
    if let Err(e) = installed {
        // Not fatal: Ctrl-C then just kills the process, as before.
        eprintln!("loam: cannot handle Ctrl-C: {e}");
    }
}

/// Every `GcStats` figure as (name, value): `--gc-summary` and the REPL's
/// `:stats`. `next_gc` is `u64::MAX` when automatic collection is off.
pub(crate) fn gc_stats_fields(s: &gc::GcStats) -> [(&'static str, u64); 12] {
    [
        ("num_gc", s.num_gc),
        ("heap_alloc", s.heap_alloc),
        ("heap_objects", s.heap_objects),
        ("heap_sys", s.heap_sys),
        ("next_gc", s.next_gc),
        ("last_live", s.last_live),
        ("pause_total_ns", s.pause_total_ns),
        ("max_pause_ns", s.max_pause_ns),
        ("pause_p50_ns", s.pause_p50_ns),
        ("pause_p99_ns", s.pause_p99_ns),
        ("swept_background", s.swept_background),
        ("swept_lazy", s.swept_lazy),
    ]
}

/// Work done once the program (script or REPL) has finished, whatever its
/// outcome: write the `--trace` file and the `--gc-report` page, and print
/// `--gc-summary`. Returns `code`, or 74 if a clean run could not write
/// its trace or report.
fn finish(vm: &mut Vm, cli: &Cli, gc: &gc::GcConfig, code: i32) -> i32 {
    let mut code = code;
    if let Err(e) = vm.finish_trace() {
        eprintln!("loam: cannot write the trace file: {e}");
        if code == 0 {
            code = 74;
        }
    }
    if let (Some(path), Some(recorder)) = (&cli.gc_report, &gc.record) {
        let program = match (&cli.eval, &cli.file) {
            (Some(_), _) => "<eval>".to_string(),
            (None, Some(p)) => script_name(p),
            (None, None) => "<repl>".to_string(),
        };
        let stats = vm.gc_stats();
        let written = match recorder.recording() {
            Some(recording) => std::fs::write(
                path,
                gcreport::render(&gcreport::ReportInput {
                    program: &program,
                    recording,
                    stats: &stats,
                    fields: &gc_stats_fields(&stats),
                    finalizers_run: vm.finalizers_run(),
                }),
            ),
            None => Err(std::io::Error::other("the collector recorded nothing")),
        };
        if let Err(e) = written {
            eprintln!("loam: cannot write the GC report: {e}");
            if code == 0 {
                code = 74;
            }
        }
    }
    if cli.gc_summary {
        let fields: Vec<String> = gc_stats_fields(&vm.gc_stats())
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        eprintln!("gc-summary: {}", fields.join(" "));
    }
    code
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

/// The name errors show for a script: its path, or `<stdin>` for `-`.
fn script_name(path: &std::path::Path) -> String {
    if path.as_os_str() == "-" {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    }
}

fn run(cli: Cli) -> i32 {
    render::set_style(render::ErrorStyle::decide(
        cli.color,
        std::io::stderr().is_terminal(),
        render::no_color_env(),
    ));
    let gc = cli.gc_config();
    if let Some(path) = &gc.trace_file {
        // Fail before running, not after a long program: the collector
        // writes the file only at exit.
        if std::fs::File::create(path).is_err() {
            eprintln!("Could not open trace file \"{}\".", path.display());
            return 74;
        }
    }
    if let Some(path) = &cli.gc_report {
        if std::fs::File::create(path).is_err() {
            eprintln!("Could not open report file \"{}\".", path.display());
            return 74;
        }
    }
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
            Err(errors) => {
                let name = script_name(path);
                let text = render::SourceText {
                    name: &name,
                    bytes: &source,
                    whole_program: true,
                };
                render::report_compile(&errors, &text)
            }
        };
    }
    let source = match (&cli.eval, &cli.file) {
        (Some(code), _) => code.clone().into_bytes(),
        (None, Some(path)) => match read_script(path) {
            Ok(s) => s,
            Err(code) => return code,
        },
        (None, None) => {
            let mut vm = new_vm(&cli, &gc, Box::new(std::io::stdout()));
            install_interrupt_handler(&vm);
            let code = repl::run(&mut vm, highlight::enabled(cli.color));
            return finish(&mut vm, &cli, &gc, code);
        }
    };
    let out = Box::new(std::io::BufWriter::with_capacity(
        64 * 1024,
        std::io::stdout(),
    ));
    let mut vm = new_vm(&cli, &gc, out);
    install_interrupt_handler(&vm);
    let start = vm.trace_now();
    let result = vm.interpret(&source);
    let _ = vm.output().flush();
    if vm.is_tracing() {
        // The mutator's run slice; the collector's pauses nest inside it.
        // (Per-coroutine run slices replace it when coroutines exist.)
        let end = vm.trace_now();
        vm.trace_event(gc::TraceEvent::slice(
            gc::TraceTrack::Mutator,
            "run script",
            start,
            end,
        ));
    }
    let code = match result {
        Ok(()) => 0,
        Err(e) => {
            let name = match &cli.file {
                Some(path) if cli.eval.is_none() => script_name(path),
                _ => "<eval>".to_string(),
            };
            render::report(
                &e,
                &render::SourceText {
                    name: &name,
                    bytes: &source,
                    whole_program: true,
                },
            )
        }
    };
    finish(&mut vm, &cli, &gc, code)
}
