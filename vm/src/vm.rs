//! The VM: heap, stack, frames, globals, and the glue between them.
//! The instruction loop itself is in `interp.rs`.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use gc::{GcConfig, Heap};
use lang::{Constant, Proto};

use crate::error::{InterpretError, RuntimeError, TraceLine, Unwind};
use crate::frame::CallFrame;
use crate::intern::InternSet;
use crate::native::{MethodReceiver, NativeFn};
use crate::object::{
    self, hash_bytes, BytesObj, ClosureObj, CoroutineObj, Frames, Fresh, FunctionObj,
    FunctionParts, Gc, NativeObj, ObjKind, Origin, Roots, Stack, StringObj, Table, TableLoc,
    UpvalueObj, ValueArrayObj,
};
use crate::sched::Scheduler;
use crate::value::Value;

/// Bytes of copying, hashing or formatting charged as one instruction to
/// `--max-instructions` ([`Vm::charge_bytes`]): about what one interpreted
/// instruction costs in time.
pub const WORK_BYTES: usize = 8;

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
    /// to one `BUDGET` more). For sandboxes and the `run` fuzz target,
    /// where a loop must not run forever.
    pub max_instructions: Option<u64>,
    /// `--no-quicken`: run the code exactly as compiled, without the
    /// superinstructions of `quicken.rs` (to compare the two).
    pub no_quicken: bool,
}

pub struct Vm {
    pub(crate) heap: Heap,
    /// The running coroutine's value stack (a view of its heap slab);
    /// `len()` is clox's `stackTop`.
    pub(crate) stack: Stack,
    /// The running coroutine's frames (a view of its heap slab).
    pub(crate) frames: Frames,
    /// The running coroutine, and the main script's.
    pub(crate) current: Option<Gc<CoroutineObj>>,
    pub(crate) main: Option<Gc<CoroutineObj>>,
    pub(crate) sched: Scheduler,
    /// The finalizer coroutine, once `setFinalizer` was first called; and
    /// whether it is parked waiting for `fingwake` (FINQ_WAKE).
    pub(crate) fin_co: Option<Gc<CoroutineObj>>,
    pub(crate) fin_parked: bool,
    pub(crate) finalizers_run: u64,
    /// Boxed so `globals_loc` stays valid when the `Vm` moves.
    globals: Box<Table>,
    /// Native methods of lists and maps, by `MethodReceiver`.
    methods: [Box<Table>; MethodReceiver::COUNT],
    pub(crate) strings: InternSet,
    /// Values Rust code must keep alive across a safepoint (loading
    /// prototypes, natives building results). A stack: push, then pop.
    pub(crate) temp_roots: Vec<Value>,
    /// Strings the VM itself needs forever (`init`).
    pinned: Vec<Gc<StringObj>>,
    pub(crate) init_string: Gc<StringObj>,
    pub(crate) out: Box<dyn Write>,
    pub(crate) started: Instant,
    max_heap: Option<usize>,
    /// Set from outside the VM thread (the binary's SIGINT handler) to ask
    /// the running program to stop (issue #9). Read only at safepoints
    /// that already exist: when a budget runs out and when the scheduler
    /// looks for the next coroutine, so the instruction loop pays nothing
    /// until a budget is spent.
    interrupt: Arc<AtomicBool>,
    /// Instructions the program may still execute (`max_instructions`),
    /// charged a slice at a time at the points the budget is reset.
    pub(crate) fuel: Option<u64>,
    max_instructions: Option<u64>,
    no_quicken: bool,
    /// The interned name of the list push intrinsic (`define_list_push`).
    pub(crate) list_push_name: Option<Gc<StringObj>>,
    /// The `gcPercent` the program last set, exactly as given (the heap
    /// paces with it saturated to `i64`): `setGCPercent` returns it.
    pub(crate) gc_percent: f64,
}

impl Vm {
    pub fn new(options: VmOptions, out: Box<dyn Write>) -> Vm {
        let mut heap = Heap::new(options.gc.clone());
        let mut strings = InternSet::new();
        // Bootstrapping: nothing can be collected yet (no roots exist and
        // we do not ask the heap to collect), so allocate directly.
        let init_string = match object::alloc(&mut heap, StringObj::size_for(4)) {
            Ok(f) => f.init_string(b"init", hash_bytes(b"init")),
            Err(_) => {
                eprintln!("loam: out of memory at startup");
                std::process::exit(70);
            }
        };
        strings.insert(init_string);
        Vm {
            heap,
            stack: Stack::empty(),
            frames: Frames::empty(),
            current: None,
            main: None,
            sched: Scheduler::default(),
            fin_co: None,
            fin_parked: false,
            finalizers_run: 0,
            globals: Box::new(Table::new()),
            methods: std::array::from_fn(|_| Box::new(Table::new())),
            strings,
            temp_roots: Vec::new(),
            pinned: vec![init_string],
            init_string,
            out,
            started: Instant::now(),
            max_heap: options.max_heap,
            interrupt: Arc::new(AtomicBool::new(false)),
            fuel: options.max_instructions,
            max_instructions: options.max_instructions,
            no_quicken: options.no_quicken,
            list_push_name: None,
            gc_percent: options.gc.gc_percent as f64,
        }
    }

    /// Compiles and runs `source` as a script. Globals persist across calls
    /// (the REPL relies on it); the stack is reset after a runtime error.
    pub fn interpret(&mut self, source: &[u8]) -> Result<(), InterpretError> {
        let proto = lang::compile(source).map_err(InterpretError::Compile)?;
        // Each evaluation (a script, a REPL input) gets the whole limit.
        self.fuel = self.max_instructions;
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
        self.error_unwinding("Interrupted.", Unwind::Interrupt)
    }

    /// Charges `used` instructions against `max_instructions`. Called
    /// where the interpreter resets its budget, never per instruction.
    #[inline]
    pub(crate) fn spend_fuel(&mut self, used: i64) -> Result<(), RuntimeError> {
        let Some(fuel) = self.fuel else {
            return Ok(());
        };
        let left = fuel.saturating_sub(used.max(0) as u64);
        self.fuel = Some(left);
        if left == 0 {
            return Err(self.out_of_fuel());
        }
        Ok(())
    }

    /// Charges `bytes` of work (string building, formatting) to
    /// `max_instructions`, one instruction per [`WORK_BYTES`]: with the
    /// limit set, `s = s + s` costs by the bytes it copies, so the limit
    /// bounds time. Free without a limit. Never charged to the
    /// preemption budget, which counts instructions only (LANGUAGE.md §5).
    #[inline]
    pub(crate) fn charge_bytes(&mut self, bytes: usize) -> Result<(), RuntimeError> {
        if self.fuel.is_none() {
            return Ok(());
        }
        self.spend_fuel((bytes / WORK_BYTES) as i64)
    }

    /// Charges work over `n` elements (list shifts, `keys()`), one
    /// instruction each.
    #[inline]
    pub(crate) fn charge_elements(&mut self, n: usize) -> Result<(), RuntimeError> {
        if self.fuel.is_none() {
            return Ok(());
        }
        self.spend_fuel(n as i64)
    }

    #[cold]
    fn out_of_fuel(&mut self) -> RuntimeError {
        self.error_unwinding("Instruction limit exceeded.", Unwind::OutOfFuel)
    }

    fn run_proto(&mut self, proto: &Proto) -> Result<(), RuntimeError> {
        let function = self.load_proto(proto)?;
        // Rooted in temp_roots until it is on the stack.
        self.temp_roots.push(function.value());
        let r = self
            .enter_main()
            .and_then(|()| self.reserve_stack(function.max_stack + 1));
        self.temp_roots.pop();
        r?;
        self.stack.push(function.value());
        let closure = match self.new_closure(function) {
            Ok(c) => c,
            Err(e) => {
                self.reset();
                return Err(e);
            }
        };
        self.stack.pop();
        self.stack.push(closure.value());
        let pushed = self.push_frame(CallFrame {
            closure,
            ip: 0,
            base: 0,
        });
        let r = pushed.and_then(|()| self.run_catching_finalizer_errors());
        // The program ends with the main script: other coroutines are
        // abandoned (LANGUAGE.md §5), and an error leaves nothing running.
        self.reset();
        r
    }

    fn reset(&mut self) {
        self.abandon_coroutines();
        if let Some(main) = self.main {
            // After a runtime error the main script's frames are unwound,
            // and the REPL reuses their slots: a closure that captured one
            // (and was stored in a global) must keep the value it saw, as
            // after a return, not read the next input's locals.
            self.sync_current();
            self.close_upvalues_of(main, 0);
        }
        self.stack.clear();
        self.frames.clear();
        if let Some(main) = self.main {
            main.set_open_upvalues(None);
            self.current = Some(main);
            self.sync_current();
        }
        self.temp_roots.clear();
    }

    pub fn output(&mut self) -> &mut dyn Write {
        &mut *self.out
    }

    pub fn gc_stats(&self) -> gc::GcStats {
        self.heap.stats()
    }

    // ------------------------------------------------------------ heap glue

    /// The one safepoint: may run a collection, then allocates. Every
    /// object the caller still needs must be rooted (ROOTED).
    #[inline]
    pub(crate) fn alloc(&mut self, size: usize) -> Result<Fresh, RuntimeError> {
        if self.heap.should_collect() {
            self.collect(false);
        }
        if let Some(limit) = self.max_heap {
            if self.heap.heap_alloc().saturating_add(size as u64) > limit as u64 {
                self.collect(true);
                if self.heap.heap_alloc().saturating_add(size as u64) > limit as u64 {
                    return Err(self.out_of_memory());
                }
            }
        }
        object::alloc(&mut self.heap, size).map_err(|_| self.out_of_memory())
    }

    pub(crate) fn collect(&mut self, full: bool) {
        // The running coroutine's object must describe its stack before
        // the collector scans it.
        self.sync_current();
        let mut roots = Roots {
            coroutines: self.sched.all(),
            current: self.current,
            main: self.main,
            finalizer: self.fin_co,
            cycle: self.heap.stats().num_gc + 1,
            globals: TableLoc::of_boxed(&mut self.globals),
            method_tables: {
                let [a, b, c, d] = &mut self.methods;
                [
                    TableLoc::of_boxed(a),
                    TableLoc::of_boxed(b),
                    TableLoc::of_boxed(c),
                    TableLoc::of_boxed(d),
                ]
            },
            temp_roots: &self.temp_roots,
            pinned: &self.pinned,
            strings: &mut self.strings,
            verify: self.heap.config().verify,
        };
        self.heap.collect(&mut roots, full);
    }

    pub(crate) fn globals(&mut self) -> TableLoc {
        TableLoc::of_boxed(&mut self.globals)
    }

    /// The native-method table for values of `kind`, if they have one.
    #[inline]
    pub(crate) fn method_table(&mut self, kind: ObjKind) -> Option<TableLoc> {
        let r = match kind {
            ObjKind::List => MethodReceiver::List,
            ObjKind::Map => MethodReceiver::Map,
            ObjKind::Channel => MethodReceiver::Channel,
            ObjKind::Coroutine => MethodReceiver::Coroutine,
            _ => return None,
        };
        Some(TableLoc::of_boxed(&mut self.methods[r as usize]))
    }

    /// Makes room in `t` for one more key. `t`'s owner must be rooted.
    #[inline]
    pub(crate) fn table_reserve(&mut self, t: TableLoc) -> Result<(), RuntimeError> {
        if let Some(cap) = t.grow_to() {
            let fresh = self.alloc(object::EntriesObj::size_for(cap))?;
            t.install(fresh.init_entries(cap));
        }
        Ok(())
    }

    /// The interned string for `bytes`.
    pub(crate) fn intern(&mut self, bytes: &[u8]) -> Result<Gc<StringObj>, RuntimeError> {
        let hash = hash_bytes(bytes);
        if let Some(s) = self.strings.find(hash, bytes, &[]) {
            return Ok(s);
        }
        let s = self
            .alloc(StringObj::size_for(bytes.len()))?
            .init_string(bytes, hash);
        self.strings.insert(s);
        Ok(s)
    }

    /// The interned concatenation of two strings. Both must be rooted.
    pub(crate) fn concat(
        &mut self,
        a: Gc<StringObj>,
        b: Gc<StringObj>,
    ) -> Result<Gc<StringObj>, RuntimeError> {
        self.charge_bytes(a.len() + b.len())?;
        let hash = object::hash_concat(a.as_bytes(), b.as_bytes());
        if let Some(s) = self.strings.find(hash, a.as_bytes(), b.as_bytes()) {
            return Ok(s);
        }
        let fresh = self.alloc(StringObj::size_for(a.len() + b.len()))?;
        // After the safepoint: `a` and `b` are rooted, so their bytes are
        // still where they were (the heap does not move objects).
        let s = fresh.init_concat(a.as_bytes(), b.as_bytes(), hash);
        self.strings.insert(s);
        Ok(s)
    }

    /// A closure over `function` with fresh (not yet captured) upvalue
    /// slots filled by the caller. `function` must be rooted.
    pub(crate) fn new_closure_with(
        &mut self,
        function: Gc<FunctionObj>,
        upvalue: impl FnMut(usize) -> Gc<UpvalueObj>,
    ) -> Result<Gc<ClosureObj>, RuntimeError> {
        let n = function.upvalue_count as usize;
        Ok(self
            .alloc(ClosureObj::size_for(n))?
            .init_closure(function, upvalue))
    }

    fn new_closure(&mut self, function: Gc<FunctionObj>) -> Result<Gc<ClosureObj>, RuntimeError> {
        debug_assert_eq!(function.upvalue_count, 0);
        self.new_closure_with(function, |_| unreachable!("script has no upvalues"))
    }

    /// Registers a native function as a global.
    pub fn define_native(&mut self, name: &str, arity: i32, function: NativeFn) {
        let globals = self.globals();
        self.define_native_in(globals, name, arity, function);
    }

    /// Registers a native method of lists or maps (`xs.push`).
    pub fn define_method(
        &mut self,
        receiver: MethodReceiver,
        name: &str,
        arity: i32,
        function: NativeFn,
    ) {
        let table = TableLoc::of_boxed(&mut self.methods[receiver as usize]);
        self.define_native_in(table, name, arity, function);
    }

    /// `define_method(List, name, 1, function)`, and the interpreter calls
    /// `list.name(v)` as the VM's own list push without the native call
    /// (an intrinsic: `function` must push its argument and return `nil`,
    /// as it still runs when the method is bound first, `var f = xs.push;`).
    pub fn define_list_push(&mut self, name: &str, function: NativeFn) {
        self.define_method(MethodReceiver::List, name, 1, function);
        let hash = hash_bytes(name.as_bytes());
        // The methods table holds the name, so it stays alive.
        self.list_push_name = self.strings.find(hash, name.as_bytes(), &[]);
    }

    fn define_native_in(&mut self, table: TableLoc, name: &str, arity: i32, function: NativeFn) {
        let r = (|| -> Result<(), RuntimeError> {
            let name = self.intern(name.as_bytes())?;
            self.temp_roots.push(name.value());
            let native = self
                .alloc(NativeObj::SIZE)?
                .init_native(function, arity, name);
            self.temp_roots.push(native.value());
            self.table_reserve(table)?;
            table.set(name, native.value());
            self.temp_roots.truncate(self.temp_roots.len() - 2);
            Ok(())
        })();
        if let Err(e) = r {
            eprintln!("loam: cannot define native {name}: {}", e.message);
            std::process::exit(70);
        }
    }

    /// Loads a compiled prototype (and, recursively, the ones in its
    /// constants) into heap objects.
    fn load_proto(&mut self, proto: &Proto) -> Result<Gc<FunctionObj>, RuntimeError> {
        let base = self.temp_roots.len();
        let r = self.load_proto_rooted(proto);
        self.temp_roots.truncate(base);
        r
    }

    fn load_proto_rooted(&mut self, proto: &Proto) -> Result<Gc<FunctionObj>, RuntimeError> {
        let verified = crate::verify::verify(proto)
            .map_err(|e| self.error(format!("Corrupt bytecode: {e}")))?;
        let chunk = &proto.chunk;
        let mut quickened;
        let code_bytes: &[u8] = if self.no_quicken {
            &chunk.code
        } else {
            quickened = chunk.code.clone();
            crate::quicken::quicken(
                &mut quickened,
                &chunk.code,
                &verified.heights,
                &chunk.constants,
            );
            &quickened
        };
        let code = self
            .alloc(BytesObj::size_for(code_bytes.len()))?
            .init_bytes(code_bytes);
        self.temp_roots.push(code.as_ref().into());
        let line_bytes: Vec<u8> = chunk.lines.iter().flat_map(|l| l.to_le_bytes()).collect();
        let lines = self
            .alloc(BytesObj::size_for(line_bytes.len()))?
            .init_bytes(&line_bytes);
        self.temp_roots.push(lines.as_ref().into());
        let constants = self
            .alloc(ValueArrayObj::size_for(chunk.constants.len()))?
            .init_value_array(chunk.constants.len());
        self.temp_roots.push(constants.as_ref().into());
        for (i, c) in chunk.constants.iter().enumerate() {
            let v = match c {
                Constant::Number(n) => Value::number(*n),
                Constant::String(s) => self.intern(s)?.value(),
                Constant::Function(p) => self.load_proto(p)?.value(),
            };
            constants.set(i, v);
        }
        let name = match &proto.name {
            Some(n) => {
                let s = self.intern(n)?;
                self.temp_roots.push(s.value());
                Some(s)
            }
            None => None,
        };
        let f = self
            .alloc(std::mem::size_of::<FunctionObj>())?
            .init_function(FunctionParts {
                arity: proto.arity as u32,
                upvalue_count: proto.upvalue_count as u32,
                max_stack: verified.max_stack,
                code,
                lines,
                constants,
                name,
            });
        Ok(f)
    }

    // --------------------------------------------------------------- errors

    /// A runtime error with clox's stack trace. The innermost frame's `ip`
    /// must have been saved (the loop does so before calling this).
    pub(crate) fn error(&self, message: impl Into<String>) -> RuntimeError {
        self.error_unwinding(message, Unwind::Error)
    }

    #[cold]
    fn out_of_memory(&self) -> RuntimeError {
        self.error_unwinding("Out of memory.", Unwind::OutOfMemory)
    }

    /// A coroutine with no Lox frame (a spawned native, a native
    /// finalizer, a finalizer failing its arity check) reports the line of
    /// the `spawn` or `setFinalizer` that started it instead.
    fn error_unwinding(&self, message: impl Into<String>, unwind: Unwind) -> RuntimeError {
        let trace_line = |function: Gc<FunctionObj>, line: u32| TraceLine {
            line,
            function: function
                .name
                .map(|n| String::from_utf8_lossy(n.as_bytes()).into_owned()),
        };
        let mut trace: Vec<TraceLine> = self
            .frames
            .as_slice()
            .iter()
            .rev()
            .map(|f| {
                let function = f.closure.function;
                trace_line(function, function.line_at(f.ip.saturating_sub(1)))
            })
            .collect();
        if trace.is_empty() {
            let origin = self.current.map_or(Origin::NONE, |c| c.origin());
            if let (Some(function), true) = (origin.function, origin.line > 0) {
                trace.push(trace_line(function, origin.line));
            }
        }
        RuntimeError {
            message: message.into(),
            trace,
            unwind,
        }
    }
}

impl From<crate::object::ObjRef> for Value {
    fn from(r: crate::object::ObjRef) -> Value {
        Value::obj(r)
    }
}

impl Vm {
    /// Names of all globals (REPL completion).
    pub fn global_names(&mut self) -> Vec<String> {
        let mut names: Vec<String> = self
            .globals()
            .entries()
            .iter()
            .filter_map(|e| e.key)
            .map(|k| String::from_utf8_lossy(k.as_bytes()).into_owned())
            .collect();
        names.sort();
        names
    }

    /// What `print` would show for global `name`, unless it is undefined
    /// or nil (the REPL's echo).
    pub fn global_text(&mut self, name: &str) -> Option<Vec<u8>> {
        let hash = crate::object::hash_bytes(name.as_bytes());
        let key = self.strings.find(hash, name.as_bytes(), &[])?;
        let v = self.globals().get(key)?;
        if v.is_nil() {
            return None;
        }
        let mut out = Vec::new();
        crate::print::format_value(&mut out, v);
        Some(out)
    }
}

impl Vm {
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
                Ok(()) if !self.frames.is_empty() => continue,
                r => return r,
            }
        }
    }

    pub fn finalizers_run(&self) -> u64 {
        self.finalizers_run
    }
}
