//! The mutator: the one owner of the heap, and of everything the collector
//! treats as a root (Go's M with its current G).
//!
//! Only the mutator allocates ([`Mutator::alloc`], the one safepoint where
//! a collection may start), interns, collects, and stores pointers into
//! objects (its [`WriteBarrier`] is the only one). It owns what the roots
//! are made of: the interned-string set (weak), the globals and the native
//! method tables, the temporary roots (which are also natives' handle
//! scopes), the pinned strings, the registry of unfinished coroutines,
//! the main and finalizer coroutines, and the running coroutine with the
//! views of its stacks. So a collection, started from anywhere that can
//! allocate, sees every root without being handed any.
//!
//! The operations on objects are functions over `(&mut Mutator, handle)`
//! in their own modules (`collections`, `channel`, `finalizer`, `print`,
//! `load`); the scheduler and the interpreter (`sched.rs`, `interp.rs`)
//! are the [`Vm`](crate::Vm)'s, which owns a mutator.

use std::sync::Arc;
use std::time::Instant;

use gc::Heap;

use crate::error::{RuntimeError, TraceLine, Unwind};
use crate::frame::{CallFrame, FRAMES_MAX};
use crate::intern::InternSet;

use crate::native::{MethodReceiver, NativeFn};
use crate::object::{
    self, hash_bytes, ClosureObj, CoroutineObj, EntriesObj, FrameSlabObj, Frames, Fresh,
    FunctionObj, Gc, NativeObj, ObjKind, Origin, Roots, Stack, StackSlabObj, StringObj, Table,
    TableLoc, UpvalueObj, ValueArrayObj, VmTracer, WriteBarrier,
};
use crate::value::Value;
use crate::vm::VmOptions;

/// Bytes of copying, hashing or formatting charged as one instruction to
/// `--max-instructions` ([`Mutator::charge_bytes`]): about what one
/// interpreted instruction costs in time.
pub const WORK_BYTES: usize = 8;

const INITIAL_STACK: usize = 32;
const INITIAL_FRAMES: usize = 4;
/// Intern-set slots settled at each poll while a cycle marks (a poll comes
/// every 64 KiB allocated then): a few microseconds a poll, and a set of a
/// million slots is settled within 16 MiB allocated during the mark.
const SETTLE_PER_POLL: usize = 4096;
/// Global slots before the first growth: the natives and a small script.
const INITIAL_GLOBALS: usize = 64;

/// The globals, as Wren's module variables: every global name gets a
/// slot once, and its value lives in that slot of a heap array.
///
/// A name gets its slot when code naming it is loaded (`load.rs` asks
/// [`Mutator::global_slot`] for every name a reached `GET_GLOBAL`,
/// `SET_GLOBAL` or `DEFINE_GLOBAL` reads) or when a native is defined, so
/// the quickened global instructions index `values` by a slot their
/// function recorded at load, where clox hashes the name at every
/// execution. A slot is `Value::UNDEF` until the global is defined, which
/// is how `Undefined variable 'x'.` is still raised by the same
/// instruction at the same line. Slots are never taken back (a REPL
/// session's later inputs find the names earlier ones defined).
struct Globals {
    /// Name → slot (a number value). Boxed so a `TableLoc` of it stays
    /// valid when the mutator moves.
    slots: Box<Table>,
    /// Slot → value: a heap array held here (a root), stored into only
    /// through the barrier (`ValueArrayObj::set_global`).
    values: Gc<ValueArrayObj>,
    /// Slots handed out (`values.len()` is the capacity).
    count: usize,
}

/// The coroutines the collector starts from: every unfinished one (as in
/// Go, a parked coroutine is never garbage), the main script's, and the
/// finalizer coroutine.
#[derive(Default)]
pub(crate) struct CoroutineRoots {
    /// Unfinished coroutines other than main; each knows its index
    /// (`registry_index`), so a finished one leaves in O(1).
    all: Vec<Gc<CoroutineObj>>,
    pub(crate) main: Option<Gc<CoroutineObj>>,
    /// The finalizer coroutine, once `setFinalizer` was first called.
    pub(crate) fin: Option<Gc<CoroutineObj>>,
    /// The finalizer coroutine is parked waiting for `fingwake`
    /// (FINQ_WAKE).
    pub(crate) fin_parked: bool,
}

impl CoroutineRoots {
    pub(crate) fn register(&mut self, co: Gc<CoroutineObj>) {
        co.set_registry_index(self.all.len());
        self.all.push(co);
    }

    /// A finished coroutine leaves the registry: the last entry takes its
    /// place.
    pub(crate) fn unregister(&mut self, co: Gc<CoroutineObj>) {
        let i = co.registry_index();
        if i < self.all.len() && self.all[i] == co {
            self.all.swap_remove(i);
            if let Some(&moved) = self.all.get(i) {
                moved.set_registry_index(i);
            }
        }
    }

    /// Forgets every coroutine but main and the finalizer's (the program
    /// ended, or an input outside a session ended).
    pub(crate) fn abandon(&mut self) {
        self.all.clear();
    }

    pub(crate) fn all(&self) -> &[Gc<CoroutineObj>] {
        &self.all
    }
}

pub(crate) struct Mutator {
    pub(crate) heap: Heap,
    /// The running coroutine's value stack (a view of its heap slab);
    /// `len()` is clox's `stackTop`.
    pub(crate) stack: Stack,
    /// The running coroutine's frames (a view of its heap slab).
    pub(crate) frames: Frames,
    /// The running coroutine.
    pub(crate) current: Option<Gc<CoroutineObj>>,
    pub(crate) coroutines: CoroutineRoots,
    /// The one store path into heap objects (see `object::WriteBarrier`).
    pub(crate) wb: WriteBarrier,
    globals: Globals,
    /// Native methods of lists, maps, channels and coroutine handles, by
    /// `MethodReceiver`.
    methods: [Box<Table>; MethodReceiver::COUNT],
    pub(crate) strings: InternSet,
    /// Values Rust code keeps alive across a safepoint (loading prototypes,
    /// natives' handle scopes). A stack: push, then truncate.
    pub(crate) temp_roots: Vec<Value>,
    /// Strings the VM itself needs forever (`init`).
    pinned: Vec<Gc<StringObj>>,
    pub(crate) init_string: Gc<StringObj>,
    max_heap: Option<usize>,
    /// Instructions the program may still execute (`max_instructions`),
    /// charged a slice at a time where the interpreter resets its budget,
    /// and for work that grows with its input.
    pub(crate) fuel: Option<u64>,
    pub(crate) max_instructions: Option<u64>,
    /// Finalizers that have run (returned or failed).
    pub(crate) finalizers_run: u64,
    /// The `gcPercent` the program last set, exactly as given (the heap
    /// paces with it saturated to `i64`): `setGCPercent` returns it.
    pub(crate) gc_percent: f64,
    /// When the VM started (`clock()`, `sleep`).
    pub(crate) started: Instant,
    /// The collector bugs re-introduced (a switch only in tests).
    pub(crate) seeds: crate::seeds::SeedHooks,
    /// The edges the mark worker and the assists follow (the heap holds
    /// it; kept here for the test switches).
    #[cfg_attr(not(any(test, feature = "seed-bugs")), allow(dead_code))]
    pub(crate) tracer: Arc<VmTracer>,
    /// While a cycle marks concurrently: the coroutine whose scan state has
    /// the running bit (the running one; `claim_running`).
    running_marked: Option<Gc<CoroutineObj>>,
}

/// The mutator's roots as the collector sees them (a macro, not a method,
/// so the borrows stay field by field beside `heap` and `wb`).
macro_rules! roots {
    ($mu:ident) => {{
        let [a, b, c, d] = &mut $mu.methods;
        Roots {
            coroutines: $mu.coroutines.all(),
            current: $mu.current,
            main: $mu.coroutines.main,
            finalizer: $mu.coroutines.fin,
            cycle: $mu.heap.mark_cycle(),
            globals: TableLoc::of_boxed(&mut $mu.globals.slots),
            global_values: $mu.globals.values,
            method_tables: [
                TableLoc::of_boxed(a),
                TableLoc::of_boxed(b),
                TableLoc::of_boxed(c),
                TableLoc::of_boxed(d),
            ],
            temp_roots: &$mu.temp_roots,
            pinned: &$mu.pinned,
            strings: &mut $mu.strings,
            verify: $mu.heap.config().verify,
            seeds: $mu.seeds,
        }
    }};
}

impl Mutator {
    pub(crate) fn new(options: &VmOptions) -> Mutator {
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
        let global_values = match object::alloc(&mut heap, ValueArrayObj::size_for(INITIAL_GLOBALS))
        {
            Ok(f) => f.init_value_array_of(INITIAL_GLOBALS, Value::UNDEF),
            Err(_) => {
                eprintln!("loam: out of memory at startup");
                std::process::exit(70);
            }
        };
        let tracer = Arc::new(VmTracer::new(options.gc.verify));
        heap.set_tracer(tracer.clone());
        let wb = WriteBarrier::new(heap.barrier());
        Mutator {
            heap,
            stack: Stack::empty(),
            frames: Frames::empty(),
            current: None,
            coroutines: CoroutineRoots::default(),
            wb,
            globals: Globals {
                slots: Box::new(Table::new()),
                values: global_values,
                count: 0,
            },
            methods: std::array::from_fn(|_| Box::new(Table::new())),
            strings,
            temp_roots: Vec::new(),
            pinned: vec![init_string],
            init_string,
            max_heap: options.max_heap,
            fuel: options.max_instructions,
            max_instructions: options.max_instructions,
            finalizers_run: 0,
            gc_percent: options.gc.gc_percent as f64,
            started: Instant::now(),
            seeds: Default::default(),
            tracer,
            running_marked: None,
        }
    }

    // ------------------------------------------------------------- the heap

    /// The one safepoint: may run a collection, then allocates. Every
    /// object the caller still needs must be rooted (ROOTED).
    #[inline]
    pub(crate) fn alloc(&mut self, size: usize) -> Result<Fresh, RuntimeError> {
        if self.heap.poll_due() {
            self.gc_poll();
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

    /// The collector's turn at a safepoint (the heap said a poll is due):
    /// start a cycle when one is due; while one marks, pay the assist for
    /// what was allocated and end the mark when it is done (Go's
    /// `mallocgc` → `gcStart` / `gcAssistAlloc`).
    #[cold]
    fn gc_poll(&mut self) {
        if self.heap.is_marking() {
            if self.heap.mark_assist(self.wb.gc()) {
                self.finish_cycle(false);
            } else {
                self.settle_interned();
            }
        } else if self.heap.should_collect() {
            if self.heap.concurrent_mark() {
                self.start_cycle();
            } else {
                self.collect_stopped(false);
            }
        } else {
            self.heap.set_next_poll();
        }
    }

    /// INTERN_SETTLED: while a cycle marks, settle a stretch of the intern
    /// set (at allocation polls and at the interpreter's budget
    /// safepoints, so a mark whose mutator allocates little gets it too),
    /// so that mark termination tests only what may have died.
    pub(crate) fn settle_interned(&mut self) {
        let heap = &self.heap;
        if heap.is_marking() {
            self.strings
                .settle(SETTLE_PER_POLL, |s| heap.marked_so_far(s.ptr()));
        }
    }

    /// A whole collection now; `full` also finishes the sweep before
    /// returning (`gc()`, `--max-heap`). A concurrent cycle in progress is
    /// finished first, then a new one marks from the roots of now, with
    /// the mutator draining the work beside the mark worker.
    pub(crate) fn collect(&mut self, full: bool) {
        if !self.heap.concurrent_mark() {
            self.collect_stopped(full);
            return;
        }
        if self.heap.is_marking() {
            self.heap.mark_drain(self.wb.gc());
            self.finish_cycle(false);
        }
        self.start_cycle();
        self.heap.mark_drain(self.wb.gc());
        self.finish_cycle(full);
    }

    /// A stop-the-world cycle (`--no-concurrent-mark`).
    fn collect_stopped(&mut self, full: bool) {
        // The running coroutine's object must describe its stack before
        // the collector scans it.
        self.sync_current();
        let mut roots = roots!(self);
        self.heap.collect(&mut roots, full);
    }

    /// Sweep termination and the start of a concurrent mark (world
    /// stopped), then the running coroutine scans its own stack (Go: the
    /// goroutine that starts the cycle scans itself at its safepoint).
    fn start_cycle(&mut self) {
        self.sync_current();
        if let Some(c) = self.current {
            // Before the worker can see the roots: it must find the
            // running stack claimed by its owner.
            c.scan_state().set_running();
            self.running_marked = Some(c);
        }
        let mut roots = roots!(self);
        self.heap.start_mark(self.wb.gc(), &mut roots);
        self.strings.begin_mark();
        if let Some(c) = self.current {
            self.self_scan(c);
        }
    }

    #[cfg(any(test, feature = "seed-bugs"))]
    pub(crate) fn start_cycle_for_test(&mut self) {
        if self.heap.concurrent_mark() && !self.heap.is_marking() {
            self.start_cycle();
        }
    }

    /// Mark termination: the running coroutine has scanned itself
    /// (SCAN_ONCE, checked here every cycle: one load), what is left is
    /// marked, weak references are swept, and the sweep starts.
    fn finish_cycle(&mut self, full: bool) {
        // The checkmark re-mark reads the running stack to its height.
        self.sync_current();
        let cycle = self.heap.mark_cycle();
        if let Some(c) = self.current {
            if !c.scan_state().scanned_in(cycle) {
                object::scan_once_violation(c, "runs but was not scanned in this cycle");
            }
        }
        if self.heap.config().verify {
            // The rest of SCAN_ONCE, before the checkmark re-mark would
            // report a missed stack less precisely: every coroutine that
            // can still run was scanned in this cycle (the worker has
            // finished every claim it won: the mark is done).
            self.heap.mark_drain(self.wb.gc());
            for &c in self
                .coroutines
                .all()
                .iter()
                .chain(&self.coroutines.main)
                .chain(&self.coroutines.fin)
            {
                if !c.scan_state().scanned_in(cycle) {
                    object::scan_once_violation(c, "not scanned in this cycle");
                }
            }
        }
        let mut roots = roots!(self);
        self.heap.finish_mark(self.wb.gc(), &mut roots, full);
        if let Some(c) = self.running_marked.take() {
            c.scan_state().clear_running();
        }
    }

    /// `c` is about to run (or have its stack written as the running
    /// coroutine's, `enter_main`). While a cycle marks: the previous
    /// running coroutine (its height written back) may be claimed by the
    /// worker again, `c` gets the running bit (waiting out a worker's scan
    /// in progress) and scans its own stack unless the worker already has.
    #[inline]
    pub(crate) fn claim_running(&mut self, c: Gc<CoroutineObj>) {
        if self.heap.is_marking() && self.running_marked != Some(c) {
            if let Some(prev) = self.running_marked.take() {
                if Some(prev) == self.current {
                    // Its height written back before a claimer reads it.
                    self.sync_current();
                }
                prev.scan_state().clear_running();
            }
            c.scan_state().set_running();
            self.running_marked = Some(c);
            self.self_scan(c);
        }
    }

    /// The running coroutine's scan of its own stack (its height is
    /// written back), under its claim.
    fn self_scan(&mut self, c: Gc<CoroutineObj>) {
        if self.seeds.skips_self_scan() {
            return;
        }
        let seeds = self.seeds;
        self.wb.gc().with_marker(|m| {
            m.mark(c.as_ref().ptr());
            object::scan_coroutine(c, m, true, seeds);
        });
    }

    // ------------------------------------------------------------ globals

    /// The slot of global `name`, if code naming it was loaded.
    #[inline]
    pub(crate) fn global_slot_of(&mut self, name: Gc<StringObj>) -> Option<usize> {
        let slot = TableLoc::of_boxed(&mut self.globals.slots).get(name)?;
        Some(slot.as_number() as usize)
    }

    /// The slot of global `name`, given it now if it has none. `name` must
    /// be rooted (the table keeps it from then on).
    pub(crate) fn global_slot(&mut self, name: Gc<StringObj>) -> Result<usize, RuntimeError> {
        if let Some(slot) = self.global_slot_of(name) {
            return Ok(slot);
        }
        let slot = self.globals.count;
        if slot == self.globals.values.len() {
            // The old array stays a root until the new one replaces it;
            // the copy goes through the barrier (the new array is born
            // black during a mark and never traced).
            let old = self.globals.values;
            let cap = old.len() * 2;
            let fresh = self
                .alloc(ValueArrayObj::size_for(cap))?
                .init_value_array_of(cap, Value::UNDEF);
            fresh.copy_prefix_from(&mut self.wb, old, self.globals.count);
            self.globals.values = fresh;
        }
        let slots = TableLoc::of_boxed(&mut self.globals.slots);
        self.table_reserve(slots)?;
        slots.set(&mut self.wb, name, Value::number(slot as f64));
        self.globals.count += 1;
        Ok(slot)
    }

    /// The value in global slot `slot` (`Value::UNDEF`: not defined).
    #[inline(always)]
    pub(crate) fn global(&self, slot: usize) -> Value {
        self.globals.values.get(slot)
    }

    /// Stores into global slot `slot` (defining it if it was not).
    #[inline(always)]
    pub(crate) fn set_global(&mut self, slot: usize, v: Value) {
        self.globals.values.set_global(&mut self.wb, slot, v);
    }

    /// The value of global `name`, if it is defined.
    pub(crate) fn global_named(&mut self, name: Gc<StringObj>) -> Option<Value> {
        let slot = self.global_slot_of(name)?;
        let v = self.global(slot);
        (v != Value::UNDEF).then_some(v)
    }

    /// Every defined global, in no particular order.
    pub(crate) fn defined_globals(&mut self) -> Vec<(Gc<StringObj>, Value)> {
        TableLoc::of_boxed(&mut self.globals.slots)
            .entries()
            .iter()
            .filter_map(|e| {
                let v = self.global(e.value.as_number() as usize);
                Some((e.key?, v)).filter(|_| v != Value::UNDEF)
            })
            .collect()
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
            let fresh = self.alloc(EntriesObj::size_for(cap))?;
            t.install(&mut self.wb, fresh.init_entries(cap));
        }
        Ok(())
    }

    /// `t[key] = value`, growing it first. `t`'s owner, `key` and `value`
    /// must be rooted.
    pub(crate) fn table_set(
        &mut self,
        t: TableLoc,
        key: Gc<StringObj>,
        value: Value,
    ) -> Result<(), RuntimeError> {
        self.table_reserve(t)?;
        t.set(&mut self.wb, key, value);
        Ok(())
    }

    /// The interned string for `bytes`.
    pub(crate) fn intern(&mut self, bytes: &[u8]) -> Result<Gc<StringObj>, RuntimeError> {
        let hash = hash_bytes(bytes);
        if let Some(s) = self.strings.find(hash, bytes, &[]) {
            return Ok(self.found(s));
        }
        let s = self
            .alloc(StringObj::size_for(bytes.len()))?
            .init_string(bytes, hash);
        self.strings.insert(s);
        Ok(s)
    }

    /// The interned string for `bytes` if it exists already (no
    /// allocation).
    pub(crate) fn find_interned(&mut self, bytes: &[u8]) -> Option<Gc<StringObj>> {
        let s = self.strings.find(hash_bytes(bytes), bytes, &[])?;
        Some(self.found(s))
    }

    /// A string found in the (weak) intern set: while a cycle marks it may
    /// be white and unreachable, and the mutator is about to make it
    /// reachable again, so it is shaded (else mark termination would drop
    /// it from the set and the sweep free it under the program).
    #[inline]
    fn found(&mut self, s: Gc<StringObj>) -> Gc<StringObj> {
        self.wb.shade(s.as_ref());
        s
    }

    /// The interned concatenation of two strings, charged to
    /// `--max-instructions` by its length. Both must be rooted.
    pub(crate) fn concat(
        &mut self,
        a: Gc<StringObj>,
        b: Gc<StringObj>,
    ) -> Result<Gc<StringObj>, RuntimeError> {
        self.charge_bytes(a.len() + b.len())?;
        let hash = object::hash_concat(a.as_bytes(), b.as_bytes());
        if let Some(s) = self.strings.find(hash, a.as_bytes(), b.as_bytes()) {
            return Ok(self.found(s));
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

    /// Defines a native named `name` in `table` (a method table), or as a
    /// global with `None`. Startup only: failing here is fatal.
    pub(crate) fn define_native_in(
        &mut self,
        table: Option<TableLoc>,
        name: &str,
        arity: i32,
        function: NativeFn,
    ) {
        let r = (|| -> Result<(), RuntimeError> {
            let name = self.intern(name.as_bytes())?;
            self.temp_roots.push(name.value());
            let native = self
                .alloc(NativeObj::SIZE)?
                .init_native(function, arity, name);
            self.temp_roots.push(native.value());
            match table {
                Some(table) => self.table_set(table, name, native.value())?,
                None => {
                    let slot = self.global_slot(name)?;
                    self.set_global(slot, native.value());
                }
            }
            self.temp_roots.truncate(self.temp_roots.len() - 2);
            Ok(())
        })();
        if let Err(e) = r {
            eprintln!("loam: cannot define native {name}: {}", e.message);
            std::process::exit(70);
        }
    }

    pub(crate) fn method_table_of(&mut self, receiver: MethodReceiver) -> TableLoc {
        TableLoc::of_boxed(&mut self.methods[receiver as usize])
    }

    // ------------------------------------------- the running coroutine

    /// Writes the running coroutine's stack height and frame count back to
    /// its object.
    pub(crate) fn sync_current(&mut self) {
        if let Some(c) = self.current {
            c.set_sp(self.stack.len());
            c.set_frame_count(self.frames.len());
        }
    }

    /// Makes `c` the running coroutine: the views now show its stacks.
    pub(crate) fn load(&mut self, c: Gc<CoroutineObj>) {
        self.claim_running(c);
        self.stack = match c.stack() {
            Some(s) => Stack::view(s, c.sp()),
            None => Stack::empty(),
        };
        self.frames = match c.frames() {
            Some(f) => Frames::view(f, c.frame_count()),
            None => Frames::empty(),
        };
        self.current = Some(c);
    }

    /// STACK_RESERVED: room for `extra` more values on the running stack.
    #[inline(always)]
    pub(crate) fn reserve_stack(&mut self, extra: usize) -> Result<(), RuntimeError> {
        match self.stack.needs(extra) {
            None => Ok(()),
            Some(need) => self.grow_stack(need),
        }
    }

    #[cold]
    fn grow_stack(&mut self, need: usize) -> Result<(), RuntimeError> {
        let cap = self.stack.slab().map_or(0, |s| s.capacity());
        let new_cap = need.max(cap * 2).max(INITIAL_STACK);
        self.sync_current();
        // Growing makes the span list longer while a sweep may be reading
        // its snapshot: seed 002's scenario, which gc's SPAN_LIST_SNAPSHOT
        // makes harmless.
        let slab = self
            .alloc(StackSlabObj::size_for(new_cap))?
            .init_stack_slab(new_cap);
        self.stack.adopt(slab);
        if let Some(c) = self.current {
            c.set_stack(&mut self.wb, Some(slab));
        }
        Ok(())
    }

    /// Pushes a frame, growing the frame slab (up to `FRAMES_MAX`).
    #[inline(always)]
    pub(crate) fn push_frame(&mut self, f: CallFrame) -> Result<(), RuntimeError> {
        if self.frames.is_full() {
            self.grow_frames()?;
        }
        self.frames.push(f);
        Ok(())
    }

    #[cold]
    fn grow_frames(&mut self) -> Result<(), RuntimeError> {
        let cap = self.frames.slab().map_or(0, |s| s.capacity());
        let new_cap = (cap * 2).clamp(INITIAL_FRAMES, FRAMES_MAX);
        self.sync_current();
        let slab = self
            .alloc(FrameSlabObj::size_for(new_cap))?
            .init_frame_slab(new_cap);
        self.frames.adopt(slab);
        if let Some(c) = self.current {
            c.set_frames(&mut self.wb, Some(slab));
        }
        Ok(())
    }

    /// A new coroutine (`id` orders them), not yet registered.
    pub(crate) fn new_coroutine(&mut self, id: u64) -> Result<Gc<CoroutineObj>, RuntimeError> {
        let c = self.alloc(CoroutineObj::SIZE)?.init_coroutine(id);
        if self.heap.is_marking() {
            // Allocated black, so no marker will trace it: its (empty)
            // stack counts as scanned in this cycle. Whatever it is given
            // comes from the creator's scanned stack (Go: goroutines
            // created during mark start scanned).
            let cycle = self.heap.mark_cycle();
            if let Some(claim) = c.scan_state().try_claim(cycle) {
                c.scan_state().note_scan(cycle);
                claim.finish();
            }
        }
        Ok(c)
    }

    /// A value slab for a spawned coroutine holding `values` (rooted by
    /// the caller), with room for `capacity`.
    pub(crate) fn new_stack_slab(
        &mut self,
        capacity: usize,
    ) -> Result<Gc<StackSlabObj>, RuntimeError> {
        Ok(self
            .alloc(StackSlabObj::size_for(capacity))?
            .init_stack_slab(capacity))
    }

    /// The initial value-stack capacity of a spawned coroutine whose callee
    /// and arguments take `slots`: a native body never pushes a frame, so
    /// its stack only ever holds those and then the result (a million
    /// parked `spawn ch.recv()` cost a million of these).
    pub(crate) fn spawn_stack_capacity(slots: usize, native_body: bool) -> usize {
        if native_body {
            slots
        } else {
            slots.max(INITIAL_STACK)
        }
    }

    /// The running code's position as one trace line: the innermost
    /// frame's function and the line of the instruction it is executing
    /// (its `ip` saved), else the running coroutine's origin.
    pub(crate) fn current_origin(&self) -> Origin {
        match self.frames.last() {
            Some(f) => Origin {
                function: Some(f.closure.function),
                line: f.closure.function.line_at(f.ip.saturating_sub(1)),
            },
            None => self.current.map_or(Origin::NONE, |c| c.origin()),
        }
    }

    // ---------------------------------------------------------- errors

    /// A runtime error with clox's stack trace. The innermost frame's `ip`
    /// must have been saved (the loop does so before calling this).
    pub(crate) fn error(&self, message: impl Into<String>) -> RuntimeError {
        self.error_unwinding(message, Unwind::Error)
    }

    #[cold]
    pub(crate) fn out_of_memory(&self) -> RuntimeError {
        self.error_unwinding("Out of memory.", Unwind::OutOfMemory)
    }

    /// The error `message` unwinding as `unwind`. A coroutine with no Lox
    /// frame (a spawned native, a native finalizer, a finalizer failing its
    /// arity check) reports the line of the `spawn` or `setFinalizer` that
    /// started it instead.
    pub(crate) fn error_unwinding(
        &self,
        message: impl Into<String>,
        unwind: Unwind,
    ) -> RuntimeError {
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

    // ----------------------------------------------------------- limits

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
}
