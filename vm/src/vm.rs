//! The VM: a mutator (the heap and everything rooted), a scheduler, the
//! program's output and the switches that stop it. The instruction loop
//! is in `interp.rs`, the scheduler in `sched.rs`; this file holds the
//! public API the binary uses.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use gc::{GcConfig, HeapProfile, TraceEvent, TraceTime};
use lang::Proto;

use crate::error::{Failed, InterpretError, RuntimeError, Unwind};
use crate::frame::CallFrame;
use crate::mutator::Mutator;
use crate::native::{MethodReceiver, NativeFn};
use crate::object::{Gc, StringObj};
use crate::sched::{CoroutineInfo, Idle, Scheduler};

/// How the VM is set up (CLI flags and `LOAMDEBUG`).
#[derive(Clone, Debug, Default)]
pub struct VmOptions {
    pub gc: GcConfig,
    /// `--max-heap`: a heap that cannot stay under this many bytes of
    /// objects after a full collection is the runtime error `Out of
    /// memory.` (LANGUAGE.md §6).
    pub max_heap: Option<usize>,
    /// `--max-instructions`: the program stops with the runtime error
    /// `Instruction limit exceeded.` once it has executed about this many
    /// bytecode instructions (counted per budget slice, so it may run up
    /// to one `BUDGET` more), or the equivalent in work that grows with
    /// its input. For sandboxes and the `run` fuzz target, where a loop
    /// must not run forever.
    pub max_instructions: Option<u64>,
    /// `--no-quicken`: run the code exactly as compiled, without the
    /// superinstructions of `quicken.rs` (to compare the two).
    pub no_quicken: bool,
}

/// How a session reports a runtime error that ended a coroutine other than
/// its input's, or one finalizer ([`Vm::start_session`]).
pub type OnBackgroundError = Box<dyn FnMut(Failed, &RuntimeError)>;

pub struct Vm {
    pub(crate) mu: Mutator,
    pub(crate) sched: Scheduler,
    pub(crate) out: Box<dyn Write>,
    /// Set from outside the VM thread (the binary's SIGINT handler) to ask
    /// the running program to stop (issue #9). Read only at safepoints
    /// that already exist: when a budget runs out and when the scheduler
    /// looks for the next coroutine, so the instruction loop pays nothing
    /// until a budget is spent.
    interrupt: Arc<AtomicBool>,
    no_quicken: bool,
    /// The interned name of the list push intrinsic (`define_list_push`).
    pub(crate) list_push_name: Option<Gc<StringObj>>,
    /// A session (`start_session`): how it reports the runtime errors of
    /// coroutines other than the input's, and of finalizers.
    session: Option<OnBackgroundError>,
}

impl Vm {
    pub fn new(options: VmOptions, out: Box<dyn Write>) -> Vm {
        Vm {
            mu: Mutator::new(&options),
            sched: Scheduler::default(),
            out,
            interrupt: Arc::new(AtomicBool::new(false)),
            no_quicken: options.no_quicken,
            list_push_name: None,
            session: None,
        }
    }

    /// Makes this VM a session (the REPL): coroutines outlive the input
    /// that spawned them, instead of being abandoned when the main script
    /// ends (which stays the rule for scripts, LANGUAGE.md §5).
    ///
    /// - [`interpret`](Vm::interpret) runs one input as main; other
    ///   coroutines run interleaved with it as in a script, and stay when
    ///   it ends; between inputs, [`run_background`](Vm::run_background)
    ///   runs them.
    /// - A runtime error (or `Out of memory.`, or the instruction limit)
    ///   ends the coroutine that raised it. The input's is returned by
    ///   `interpret`, as for a script, and a deadlock is the input's
    ///   error at its blocked call; any other coroutine's is handed to
    ///   `on_error` (and a finalizer's too, instead of going to stderr),
    ///   and the session goes on.
    /// - An interrupt stops the input wherever it runs or waits (it leaves
    ///   the channel or join it is blocked in); the other coroutines keep
    ///   their state.
    pub fn start_session(&mut self, on_error: OnBackgroundError) {
        self.session = Some(on_error);
    }

    /// Hands a background error to the session; false outside one.
    pub(crate) fn report_background(&mut self, what: Failed, e: &RuntimeError) -> bool {
        let _ = self.out.flush();
        match &mut self.session {
            Some(on_error) => {
                on_error(what, e);
                true
            }
            None => false,
        }
    }

    /// Between a session's inputs: runs the runnable coroutines, and those
    /// whose sleep is over, until none can run now or
    /// [`attention_flag`](Vm::attention_flag) is raised; then says when
    /// to call again. Each call gets the whole `--max-instructions` limit.
    /// A driver waits for its next input until [`Idle::Until`]'s instant
    /// at the latest.
    pub fn run_background(&mut self) -> Idle {
        if self.session.is_none() {
            return Idle::Blocked;
        }
        self.mu.fuel = self.mu.max_instructions;
        let idle = self.run_between_inputs();
        let _ = self.out.flush();
        idle
    }

    /// The flag a session's driver raises, from any thread, to get control
    /// back from [`run_background`](Vm::run_background) within one budget
    /// of instructions (the running coroutine is preempted, as if another
    /// were runnable). The driver lowers it once it has taken its input.
    pub fn attention_flag(&self) -> Arc<AtomicBool> {
        self.sched.attention.clone()
    }

    /// The live coroutines other than the input's (none runs while this
    /// is asked): spawn order, the finalizer coroutine last.
    pub fn coroutines(&mut self) -> Vec<CoroutineInfo> {
        self.coroutine_infos()
    }

    /// Replaces where the program's output goes (the REPL's terminal
    /// writer); what was written before is flushed first.
    pub fn set_output(&mut self, out: Box<dyn Write>) {
        let _ = self.out.flush();
        self.out = out;
    }

    /// Compiles and runs `source` as a script. Globals persist across calls
    /// (the REPL relies on it); the stack is reset after a runtime error.
    /// When the script ends, so do the coroutines it spawned, unless this
    /// VM is a session ([`start_session`](Vm::start_session)).
    pub fn interpret(&mut self, source: &[u8]) -> Result<(), InterpretError> {
        let proto = lang::compile(source).map_err(InterpretError::Compile)?;
        // Each evaluation (a script, a REPL input) gets the whole limit.
        self.mu.fuel = self.mu.max_instructions;
        let result = self.run_proto(&proto);
        let _ = self.out.flush();
        // `run_proto` has reset the stacks either way; globals persist.
        result.map_err(|e| match e.unwind {
            Unwind::Interrupt => InterpretError::Interrupted,
            _ => InterpretError::Runtime(e),
        })
    }

    /// The flag that interrupts this VM: storing `true` makes the running
    /// program stop at its next safepoint (within one budget of
    /// instructions, or one scheduler step) with
    /// [`InterpretError::Interrupted`]. Meant for a signal handler (Ctrl-C).
    pub fn interrupt_flag(&self) -> Arc<AtomicBool> {
        self.interrupt.clone()
    }

    /// Forgets an interrupt request that no evaluation has consumed (the
    /// REPL, before each input).
    pub fn clear_interrupt(&self) {
        self.interrupt.store(false, Ordering::Relaxed);
    }

    /// An interrupt was requested. Called only at safepoints that already
    /// exist (a spent budget, a scheduler step), never per instruction.
    #[inline]
    pub(crate) fn interrupt_pending(&self) -> bool {
        self.interrupt.load(Ordering::Relaxed)
    }

    /// Consumes the request and builds the error that unwinds to
    /// `interpret` (which reports it as `Interrupted`, not as this error).
    #[cold]
    pub(crate) fn interrupted(&mut self) -> RuntimeError {
        self.interrupt.store(false, Ordering::Relaxed);
        self.mu.error_unwinding("Interrupted.", Unwind::Interrupt)
    }

    /// A runtime error at the running code (see `Mutator::error`).
    #[inline]
    pub(crate) fn error(&self, message: impl Into<String>) -> RuntimeError {
        self.mu.error(message)
    }

    fn run_proto(&mut self, proto: &Proto) -> Result<(), RuntimeError> {
        let function = crate::load::load_proto(&mut self.mu, proto, !self.no_quicken)?;
        // Rooted in temp_roots until it is on the stack.
        self.mu.temp_roots.push(function.value());
        let r = self
            .enter_main()
            .and_then(|()| self.mu.reserve_stack(function.max_stack + 1));
        self.mu.temp_roots.pop();
        r?;
        self.mu.stack.push(function.value());
        debug_assert_eq!(function.upvalue_count, 0, "the script has no upvalues");
        let closure = match self
            .mu
            .new_closure_with(function, |_| unreachable!("the script has no upvalues"))
        {
            Ok(c) => c,
            Err(e) => {
                self.end_main();
                return Err(e);
            }
        };
        self.mu.stack.pop();
        self.mu.stack.push(closure.value());
        let pushed = self.mu.push_frame(CallFrame {
            closure,
            ip: 0,
            base: 0,
        });
        if self.session.is_some() {
            let r = self.run_session(pushed);
            if r.is_err() {
                self.end_input();
            }
            self.mu.temp_roots.clear();
            return r;
        }
        let r = pushed.and_then(|()| self.run_catching_finalizer_errors());
        // The program ends with the main script: other coroutines are
        // abandoned (LANGUAGE.md §5), and an error leaves nothing running.
        self.reset();
        r
    }

    /// After an input failed before it ran: a script's end, or a session's
    /// input's.
    fn end_main(&mut self) {
        if self.session.is_some() {
            self.end_input();
        } else {
            self.reset();
        }
    }

    fn reset(&mut self) {
        self.abandon_coroutines();
        if let Some(main) = self.mu.coroutines.main {
            // After a runtime error the main script's frames are unwound,
            // and the REPL reuses their slots: a closure that captured one
            // (and was stored in a global) must keep the value it saw, as
            // after a return, not read the next input's locals.
            self.mu.sync_current();
            self.close_upvalues_of(main, 0);
        }
        if let Some(main) = self.mu.coroutines.main {
            self.mu.claim_running(main);
        }
        self.mu.stack.clear();
        self.mu.frames.clear();
        if let Some(main) = self.mu.coroutines.main {
            main.set_open_upvalues(&mut self.mu.wb, None);
            self.mu.current = Some(main);
            self.mu.sync_current();
        }
        self.mu.temp_roots.clear();
    }

    /// Runs until the main script ends; an error in the finalizer
    /// coroutine is reported and the coroutine goes on (LANGUAGE.md §6),
    /// any other error ends the program.
    fn run_catching_finalizer_errors(&mut self) -> Result<(), RuntimeError> {
        loop {
            let mut r = self.run();
            while let Err(e) = &r {
                // Only a Lox error ends just the finalizer; an interrupt,
                // the instruction limit or running out of memory stops the
                // program even inside one.
                if !self.is_finalizer_running() || e.unwind != Unwind::Error {
                    break;
                }
                let e = e.clone();
                r = self.fin_recover(&e);
            }
            match r {
                // Only the main script's end stops the loop.
                Ok(()) if !self.mu.frames.is_empty() => continue,
                r => return r,
            }
        }
    }

    pub fn output(&mut self) -> &mut dyn Write {
        &mut *self.out
    }

    // ------------------------------------------------------------ natives

    /// Registers a native function as a global.
    pub fn define_native(&mut self, name: &str, arity: i32, function: NativeFn) {
        self.mu.define_native_in(None, name, arity, function);
    }

    /// Registers a native method of lists, maps, channels or coroutine
    /// handles (`xs.push`).
    pub fn define_method(
        &mut self,
        receiver: MethodReceiver,
        name: &str,
        arity: i32,
        function: NativeFn,
    ) {
        let table = self.mu.method_table_of(receiver);
        self.mu.define_native_in(Some(table), name, arity, function);
    }

    /// `define_method(List, name, 1, function)`, and the interpreter calls
    /// `list.name(v)` as the VM's own list push without the native call
    /// (an intrinsic: `function` must push its argument and return `nil`,
    /// as it still runs when the method is bound first, `var f = xs.push;`).
    pub fn define_list_push(&mut self, name: &str, function: NativeFn) {
        self.define_method(MethodReceiver::List, name, 1, function);
        // The methods table holds the name, so it stays alive.
        self.list_push_name = self.mu.find_interned(name.as_bytes());
    }

    /// Re-introduces a collector bug (`seeds.rs`; tests only).
    #[cfg(any(test, feature = "seed-bugs"))]
    pub fn set_seed_bug(&mut self, bug: crate::VmSeed) {
        let seeds = crate::seeds::SeedHooks { bug };
        self.mu.seeds = seeds;
        self.mu.wb.seeds = seeds;
        self.mu.tracer.set_seeds(seeds);
    }

    /// Starts a concurrent cycle now and leaves it marking (tests only:
    /// with the worker held, the program then runs inside the mark).
    #[cfg(any(test, feature = "seed-bugs"))]
    pub fn start_cycle_for_test(&mut self, hold_worker: bool) {
        self.mu.heap.hold_mark_worker(hold_worker);
        self.mu.start_cycle_for_test();
    }

    // ------------------------------------------------------ introspection

    pub fn gc_stats(&self) -> gc::GcStats {
        self.mu.heap.stats()
    }

    pub fn finalizers_run(&self) -> u64 {
        self.mu.finalizers_run
    }

    /// Runs a full collection now, as the `gc()` native does: mark, then
    /// finish sweeping before returning. Call it between `interpret`s (the
    /// roots are then the globals and the VM's pinned strings).
    pub fn collect_now(&mut self) {
        self.mu.collect(true);
    }

    /// The last cycle's gctrace line (`--gc-trace`'s format), `None` before
    /// the first cycle.
    pub fn last_gctrace(&self) -> Option<String> {
        self.mu.heap.last_gctrace()
    }

    /// The most recent stop-the-world pauses (ns), oldest first, at most 256.
    pub fn recent_pauses_ns(&self) -> Vec<u64> {
        self.mu.heap.recent_pauses_ns()
    }

    /// Spans per size class and their sweep states (see
    /// `gc::Heap::heap_profile`).
    pub fn heap_profile(&self) -> HeapProfile {
        self.mu.heap.heap_profile()
    }

    /// Now on the trace clock (`--trace`); `TraceTime(0)` when not tracing.
    pub fn trace_now(&self) -> TraceTime {
        self.mu.heap.trace_now()
    }

    /// Records a trace event (no-op when not tracing).
    pub fn trace_event(&mut self, event: TraceEvent) {
        self.mu.heap.trace_event(event);
    }

    /// Whether `--trace` is recording.
    pub fn is_tracing(&self) -> bool {
        self.mu.heap.is_tracing()
    }

    /// Writes the `--trace` file now; its path, or `None` when not tracing.
    pub fn finish_trace(&mut self) -> std::io::Result<Option<PathBuf>> {
        self.mu.heap.finish_trace()
    }

    /// Names of all globals (REPL completion).
    pub fn global_names(&mut self) -> Vec<String> {
        let mut names: Vec<String> = self
            .mu
            .defined_globals()
            .iter()
            .map(|(k, _)| String::from_utf8_lossy(k.as_bytes()).into_owned())
            .collect();
        names.sort();
        names
    }

    /// What `print` would show for global `name`, unless it is undefined
    /// or nil (the REPL's echo).
    pub fn global_text(&mut self, name: &str) -> Option<Vec<u8>> {
        let key = self.mu.find_interned(name.as_bytes())?;
        let v = self.mu.global_named(key)?;
        if v.is_nil() {
            return None;
        }
        let mut out = Vec::new();
        crate::print::format_value(&mut out, v);
        Some(out)
    }
}
