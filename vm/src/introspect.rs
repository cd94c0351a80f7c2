//! Heap introspection for the binary (REPL commands, `--trace`,
//! `--gc-summary`): pass-throughs to `gc::Heap`, plus an explicit full
//! collection. Nothing here touches objects, so no `unsafe`.

use std::path::PathBuf;

use gc::{HeapProfile, TraceEvent, TraceTime};

use crate::vm::Vm;

impl Vm {
    /// Runs a full collection now, as the `gc()` native does: mark, then
    /// finish sweeping before returning. Call it between `interpret`s (the
    /// roots are then the globals and the VM's pinned strings).
    pub fn collect_now(&mut self) {
        self.collect(true);
    }

    /// The last cycle's gctrace line (`--gc-trace`'s format), `None` before
    /// the first cycle.
    pub fn last_gctrace(&self) -> Option<String> {
        self.heap.last_gctrace()
    }

    /// The most recent stop-the-world pauses (ns), oldest first, at most 256.
    pub fn recent_pauses_ns(&self) -> Vec<u64> {
        self.heap.recent_pauses_ns()
    }

    /// Spans per size class and their sweep states (see
    /// `gc::Heap::heap_profile`).
    pub fn heap_profile(&self) -> HeapProfile {
        self.heap.heap_profile()
    }

    /// Now on the trace clock (`--trace`); `TraceTime(0)` when not tracing.
    pub fn trace_now(&self) -> TraceTime {
        self.heap.trace_now()
    }

    /// Records a trace event (no-op when not tracing).
    pub fn trace_event(&mut self, event: TraceEvent) {
        self.heap.trace_event(event);
    }

    /// Whether `--trace` is recording.
    pub fn is_tracing(&self) -> bool {
        self.heap.is_tracing()
    }

    /// Writes the `--trace` file now; its path, or `None` when not tracing.
    pub fn finish_trace(&mut self) -> std::io::Result<Option<PathBuf>> {
        self.heap.finish_trace()
    }
}
