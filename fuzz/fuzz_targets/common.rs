//! Shared by the fuzz targets: a persistent worker thread with
//! `lang::COMPILE_STACK_SIZE` of stack, as the `loam` binary gives its
//! interpreter thread. The compiler recurses once per nesting level (up to
//! `lang::MAX_NESTING`), so the default 8 MiB main-thread stack would be a
//! property of the harness, not of loam. A panic or stack overflow on the
//! worker aborts the process (libfuzzer-sys's panic hook), which libFuzzer
//! reports as a crash of the input being run.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Mutex, OnceLock};

struct Worker {
    inputs: SyncSender<Vec<u8>>,
    done: Receiver<()>,
}

/// Runs `f(data)` on the big-stack worker and waits for it. `f` must be
/// the same function on every call (one worker per process).
pub fn on_big_stack(f: fn(&[u8]), data: &[u8]) {
    static WORKER: OnceLock<Mutex<Worker>> = OnceLock::new();
    let worker = WORKER.get_or_init(|| {
        let (inputs, input_rx) = sync_channel::<Vec<u8>>(0);
        let (done_tx, done) = sync_channel::<()>(0);
        std::thread::Builder::new()
            .name("fuzz-worker".into())
            .stack_size(lang::COMPILE_STACK_SIZE)
            .spawn(move || {
                for input in input_rx {
                    f(&input);
                    if done_tx.send(()).is_err() {
                        break;
                    }
                }
            })
            .expect("spawn the fuzz worker");
        Mutex::new(Worker { inputs, done })
    });
    let worker = worker.lock().expect("fuzz worker lock");
    worker.inputs.send(data.to_vec()).expect("fuzz worker gone");
    worker.done.recv().expect("fuzz worker died");
}
