//! Compile and, if that succeeds, run arbitrary source in a `vm::Vm` with
//! the stdlib and the collector's verifier on: compile errors and runtime
//! errors are fine, a panic, abort or signal is a bug (LANGUAGE.md §1).
//!
//! The VM has no instruction budget yet, so only inputs that must end
//! quickly are run (see [`accepted`]); everything else returns at once.
//! What this leaves out is listed in `scripts/fuzz.sh`.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod common;

/// At most this many `fun` (named or anonymous functions).
const MAX_FUNS: usize = 3;

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

/// Inputs that cannot loop: no `while` / `for` (the only loops), no
/// wall-time natives (`clock`, `sleep`: nondeterministic or slow), and at
/// most [`MAX_FUNS`] functions. Recursion is still possible (methods,
/// `MAX_FUNS` functions, closures passed around); one chain of calls ends
/// at clox's frame limit with `Stack overflow.`, but branching recursion
/// can take exponential time and is left to libFuzzer's `-timeout`.
/// Matching is on raw bytes, so `form` or `fortune` also reject an input:
/// cheap and conservative.
fn accepted(data: &[u8]) -> bool {
    let source = match data.iter().position(|&b| b == 0) {
        Some(nul) => &data[..nul],
        None => data,
    };
    !(count(source, b"while") > 0
        || count(source, b"for") > 0
        || count(source, b"clock") > 0
        || count(source, b"sleep") > 0
        || count(source, b"fun") > MAX_FUNS)
}

fn run(data: &[u8]) {
    let options = vm::VmOptions {
        gc: gc::GcConfig {
            verify: true,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut vm = vm::Vm::new(options, Box::new(std::io::sink()));
    stdlib::install(&mut vm);
    let _ = std::hint::black_box(vm.interpret(data));
}

fuzz_target!(|data: &[u8]| {
    if accepted(data) {
        common::on_big_stack(run, data);
    }
});
