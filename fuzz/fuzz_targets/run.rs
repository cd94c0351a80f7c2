//! Compile and, if that succeeds, run arbitrary source in a `vm::Vm` with
//! the stdlib and the collector's verifier on (`--gc-verify`: under the
//! concurrent mark, the checkmark re-mark at every mark termination):
//! compile errors and runtime errors are fine, a panic, abort or signal
//! is a bug (LANGUAGE.md §1).
//!
//! Every program runs under an instruction budget
//! ([`MAX_INSTRUCTIONS`], `VmOptions::max_instructions`) and a heap limit
//! ([`MAX_HEAP`]), so loops, recursion and coroutines are all fuzzed: an
//! endless loop ends with `Instruction limit exceeded.`, a program that
//! only grows with `Out of memory.`. Only `sleep` is left out (wall time).
#![no_main]

use libfuzzer_sys::fuzz_target;

mod common;

/// Enough for loops over thousands of elements and a few GC cycles under
/// `--gc-verify`, few enough that an input runs in milliseconds.
const MAX_INSTRUCTIONS: u64 = 200_000;

/// Well under libFuzzer's `-rss_limit_mb` (2048 in `scripts/fuzz.sh`).
const MAX_HEAP: usize = 256 << 20;

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// `sleep` waits in wall time, which the instruction budget does not see.
/// Matching is on raw bytes: cheap and conservative.
fn accepted(data: &[u8]) -> bool {
    !contains(data, b"sleep")
}

fn run(data: &[u8]) {
    let options = vm::VmOptions {
        gc: gc::GcConfig {
            verify: true,
            // Cycles start from 64 KiB of heap, so the small programs a
            // fuzzer writes still collect, concurrently, with the
            // checkmark re-mark (CHECKMARK) and SCAN_ONCE's checks at
            // every mark termination.
            min_trigger: 64 << 10,
            ..Default::default()
        },
        max_heap: Some(MAX_HEAP),
        max_instructions: Some(MAX_INSTRUCTIONS),
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
