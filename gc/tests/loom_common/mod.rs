//! Shared by the loom models: explore a model and say how many
//! interleavings loom ran (also when the model fails, as a seed switch
//! must make it).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Runs `model` under `builder` (every interleaving within its bounds).
pub fn explore<F>(builder: loom::model::Builder, model: F)
where
    F: Fn() + Sync + Send + 'static,
{
    let count = Arc::new(AtomicUsize::new(0));
    let _report = Report(Arc::clone(&count));
    builder.check(move || {
        count.fetch_add(1, Ordering::Relaxed);
        model();
    });
}

/// Prints the count when dropped, so a panicking model reports it too.
struct Report(Arc<AtomicUsize>);

impl Drop for Report {
    fn drop(&mut self) {
        eprintln!("loom iterations: {}", self.0.load(Ordering::Relaxed));
    }
}

/// A builder that never preempts a thread (it switches only where one
/// blocks or yields): the schedules a seed model must pass, to show that
/// its failure needs the race and not just the broken code.
#[allow(dead_code)] // each test binary includes this module; not all use it
pub fn without_preemption() -> loom::model::Builder {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(0);
    b
}
