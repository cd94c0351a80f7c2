//! Coroutines and their scheduler (LANGUAGE.md §5, DESIGN.md "Coroutines
//! and safepoints").
//!
//! One coroutine runs at a time on the VM thread. The scheduler keeps a
//! FIFO run queue; a coroutine leaves the CPU only at a safepoint: when it
//! blocks (channel, join), sleeps, yields, finishes, or has used its budget
//! of `BUDGET` instructions (checked at calls and loop back-edges). The
//! interleaving therefore depends only on the program, never on wall time
//! (except `sleep`).
//!
//! Every coroutine that has not finished is in `all`, a root: as in Go, a
//! parked coroutine is not garbage even if nothing refers to it.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Duration;

use crate::error::RuntimeError;
use crate::frame::{CallFrame, FRAMES_MAX};
use crate::native::NativeResult;
use crate::object::{
    CoState, CoroutineObj, FrameSlabObj, Frames, Gc, ListObj, ObjKind, Origin, Stack, StackSlabObj,
};
use crate::value::Value;
use crate::vm::Vm;

/// Instructions a coroutine may run before it is preempted.
pub const BUDGET: i64 = 10_000;

/// The longest the VM thread sleeps (every coroutine asleep) before it
/// looks at the interrupt flag again.
const INTERRUPT_POLL: Duration = Duration::from_millis(20);

/// Why the running coroutine stops (set by a native, acted on by the loop
/// once the native has returned).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Park {
    /// Back of the run queue (`yield()`).
    Yield,
    /// Waiting for a channel or a join; someone else will wake it.
    Block,
    /// Until the wake time stored in the coroutine.
    Sleep,
}

/// A sleeping coroutine in the timer heap: due first by wake time, then by
/// spawn order (so coroutines due at the same instant wake in the order
/// they were spawned, whatever order they fell asleep in).
struct Sleeper {
    wake_at: u64,
    id: u64,
    co: Gc<CoroutineObj>,
}

impl Sleeper {
    fn key(&self) -> (u64, u64) {
        (self.wake_at, self.id)
    }
}

impl PartialEq for Sleeper {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for Sleeper {}
impl PartialOrd for Sleeper {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Sleeper {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

/// The scheduler's queues. Every operation on them is O(1) (the run
/// queue, the registry) or O(log n) (the timer heap, as Go's timers), so
/// a million parked or sleeping coroutines cost a million times one.
#[derive(Default)]
pub struct Scheduler {
    /// Unfinished coroutines other than main (roots). Each knows its index
    /// (`registry_index`), so a finished one is removed in O(1).
    all: Vec<Gc<CoroutineObj>>,
    run_queue: VecDeque<Gc<CoroutineObj>>,
    /// Sleeping coroutines, soonest first.
    sleepers: BinaryHeap<Reverse<Sleeper>>,
    next_id: u64,
    pub(crate) park: Option<Park>,
    /// A deadlock rescue (collect, run finalizers) happened since a
    /// coroutine other than the finalizer's last ran, and queued nothing:
    /// the next time nothing can run is a deadlock.
    rescued: bool,
}

impl Scheduler {
    pub fn all(&self) -> &[Gc<CoroutineObj>] {
        &self.all
    }

    pub fn has_runnable(&self) -> bool {
        !self.run_queue.is_empty()
    }

    /// The finalizer coroutine runs before anything else queued.
    pub fn run_queue_push_front(&mut self, c: Gc<CoroutineObj>) {
        self.run_queue.push_front(c);
    }
}

/// What a coroutine the scheduler has just loaded does next.
pub(crate) enum Resumed {
    /// It has a Lox frame to run: the interpreter goes on with it.
    Running,
    /// It finished without running a Lox frame (its body was a native
    /// that returned at once, or a parked native body completed).
    Done(Value),
    /// It stopped again before running a Lox frame: a native body (or
    /// native finalizer) parked, or the finalizer coroutine has no work.
    Parked(Park),
}

const INITIAL_STACK: usize = 32;
const INITIAL_FRAMES: usize = 4;

impl Vm {
    /// Writes the running coroutine's stack height and frame count back to
    /// its object.
    pub(crate) fn sync_current(&mut self) {
        if let Some(c) = self.current {
            c.set_sp(self.stack.len());
            c.set_frame_count(self.frames.len());
        }
    }

    /// Makes `c` the running coroutine: the views now show its stacks.
    fn load(&mut self, c: Gc<CoroutineObj>) {
        if Some(c) != self.fin_co {
            self.sched.rescued = false;
        }
        self.stack = match c.stack() {
            Some(s) => Stack::view(s, c.sp()),
            None => Stack::empty(),
        };
        self.frames = match c.frames() {
            Some(f) => Frames::view(f, c.frame_count()),
            None => Frames::empty(),
        };
        self.current = Some(c);
        c.set_state(CoState::Running);
    }

    /// Ensures the main coroutine exists and runs, with empty stacks.
    pub(crate) fn enter_main(&mut self) -> Result<(), RuntimeError> {
        let main = match self.main {
            Some(m) => m,
            None => {
                let m = self.alloc(CoroutineObj::SIZE)?.init_coroutine(0);
                self.main = Some(m);
                m
            }
        };
        main.set_sp(0);
        main.set_frame_count(0);
        main.set_open_upvalues(None);
        self.load(main);
        Ok(())
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
            c.set_stack(Some(slab));
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
            c.set_frames(Some(slab));
        }
        Ok(())
    }

    /// The running code's position as one trace line: the innermost
    /// frame's function and the line of the instruction it is executing
    /// (its `ip` saved). `Origin::NONE` when no frame runs.
    pub(crate) fn current_origin(&self) -> Origin {
        match self.frames.last() {
            Some(f) => Origin {
                function: Some(f.closure.function),
                line: f.closure.function.line_at(f.ip.saturating_sub(1)),
            },
            None => self.current.map_or(Origin::NONE, |c| c.origin()),
        }
    }

    /// `spawn`: a new coroutine whose stack holds the callee and `argc`
    /// arguments now on top of the running stack (checked by the caller),
    /// placed at the back of the run queue. Replaces them with its handle.
    pub(crate) fn spawn(&mut self, argc: usize) -> Result<(), RuntimeError> {
        self.sched.next_id += 1;
        let id = self.sched.next_id;
        let co = self.alloc(CoroutineObj::SIZE)?.init_coroutine(id);
        self.temp_roots.push(co.value());
        // A native body never pushes a frame: its stack only ever holds the
        // callee and arguments, then the result (a million parked
        // `spawn ch.recv()` cost a million of these).
        let native = matches!(
            self.stack.peek(argc).obj_kind(),
            Some(ObjKind::Native | ObjKind::BoundNative)
        );
        let cap = if native {
            argc + 1
        } else {
            (argc + 1).max(INITIAL_STACK)
        };
        let slab = self.alloc(StackSlabObj::size_for(cap));
        self.temp_roots.pop();
        let slab = slab?.init_stack_slab(cap);
        let mut view = Stack::view(slab, 0);
        for d in (0..=argc).rev() {
            view.push(self.stack.peek(d));
        }
        co.set_stack(Some(slab));
        co.set_sp(argc + 1);
        co.set_origin(self.current_origin());
        co.set_state(CoState::Runnable);
        co.set_registry_index(self.sched.all.len());
        self.sched.all.push(co);
        self.sched.run_queue.push_back(co);
        self.stack.truncate(self.stack.len() - argc - 1);
        self.stack.push(co.value());
        Ok(())
    }

    /// Drops every coroutine but main (the program ended, or a new REPL
    /// input starts).
    pub(crate) fn abandon_coroutines(&mut self) {
        self.sched.all.clear();
        self.sched.run_queue.clear();
        self.sched.sleepers.clear();
        self.sched.park = None;
    }

    /// Puts `c` at the back of the run queue with `value` as the result of
    /// the call it blocked in.
    pub(crate) fn wake(&mut self, c: Gc<CoroutineObj>, value: Value) {
        if c.sp() > 0 {
            c.set_slot(c.sp() - 1, value);
        }
        c.set_state(CoState::Runnable);
        self.sched.run_queue.push_back(c);
    }

    /// The running coroutine stops (`park`), without loading another.
    fn stop_current(&mut self, park: Park) {
        let Some(cur) = self.current else {
            return;
        };
        self.sync_current();
        match park {
            Park::Yield => {
                cur.set_state(CoState::Runnable);
                self.sched.run_queue.push_back(cur);
            }
            Park::Block => cur.set_state(CoState::Blocked),
            Park::Sleep => {
                cur.set_state(CoState::Sleeping);
                self.sched.sleepers.push(Reverse(Sleeper {
                    wake_at: cur.wake_at(),
                    id: cur.id,
                    co: cur,
                }));
            }
        }
    }

    /// The running coroutine stops (`park`), and the next runnable one is
    /// loaded. Errors: deadlock, or the next one must fail as it resumes.
    pub(crate) fn park_current(&mut self, park: Park) -> Result<(), RuntimeError> {
        self.stop_current(park);
        self.switch_to_next()
    }

    /// The running coroutine has returned from its last frame.
    pub(crate) fn finish_current(&mut self, result: Value) -> Result<(), RuntimeError> {
        self.retire_current(result);
        self.switch_to_next()
    }

    /// Records the running coroutine's result and wakes its joiners; it
    /// leaves the registry. Loads nothing.
    fn retire_current(&mut self, result: Value) {
        let Some(cur) = self.current else {
            return;
        };
        self.sync_current();
        cur.set_result(result);
        cur.set_state(CoState::Done);
        // Its stacks are dead: let them be collected with nothing pinned.
        cur.set_stack(None);
        cur.set_sp(0);
        cur.set_frames(None);
        cur.set_frame_count(0);
        cur.set_open_upvalues(None);
        while let Some(j) = cur.joiners().pop_front() {
            self.wake(j, result);
        }
        // O(1) removal: the last entry takes the finished one's place.
        let i = cur.registry_index();
        if i < self.sched.all.len() && self.sched.all[i] == cur {
            self.sched.all.swap_remove(i);
            if let Some(&moved) = self.sched.all.get(i) {
                moved.set_registry_index(i);
            }
        }
    }

    /// Loads the next coroutine that has a Lox frame to run. Coroutines
    /// that finish or park again without one (a spawned native, the
    /// finalizer coroutine between finalizers) are dealt with here, in a
    /// loop, so a million of them in a row use no Rust stack.
    fn switch_to_next(&mut self) -> Result<(), RuntimeError> {
        loop {
            let next = self.pick_next()?;
            self.load(next);
            match self.resume_loaded(next)? {
                Resumed::Running => return Ok(()),
                Resumed::Done(result) => self.retire_current(result),
                Resumed::Parked(park) => self.stop_current(park),
            }
        }
    }

    /// The next runnable coroutine, taken off the run queue; waits for
    /// sleepers, and when nothing can run, rescues or reports the deadlock
    /// (LANGUAGE.md §5).
    fn pick_next(&mut self) -> Result<Gc<CoroutineObj>, RuntimeError> {
        loop {
            // A blocking point: with every coroutine asleep or blocked, this
            // loop is where the VM thread waits, so Ctrl-C is seen here.
            if self.interrupt_pending() {
                return Err(self.interrupted());
            }
            self.fin_wake_check();
            self.wake_sleepers(false);
            if let Some(next) = self.sched.run_queue.pop_front() {
                return Ok(next);
            }
            if !self.sched.sleepers.is_empty() {
                self.wake_sleepers(true);
                continue;
            }
            // Nothing can run: collect, and run the finalizers that become
            // ready (they may unblock someone); the finalizer coroutine
            // waiting for work never counts as able to run. A collection
            // that queued a finalizer earns another rescue once that has
            // run: finalizable A reaching finalizable B takes one cycle per
            // link before B's finalizer can unblock anyone.
            if !self.sched.rescued {
                self.sched.rescued = true;
                let queued = self.heap.stats().finalizers_queued;
                self.collect(true);
                if self.heap.stats().finalizers_queued > queued {
                    self.sched.rescued = false;
                }
                self.fin_wake_check();
                if !self.sched.run_queue.is_empty() {
                    continue;
                }
            }
            // Reported as main's runtime error, at the call it blocked in.
            if let Some(main) = self.main {
                self.load(main);
            }
            return Err(self.error("Deadlock: all coroutines are blocked."));
        }
    }

    /// What the coroutine just loaded does first: fail (a send on a
    /// channel closed under it), finish a parked native body, take the
    /// finalizer coroutine's next step, start a spawned call, or go on.
    fn resume_loaded(&mut self, next: Gc<CoroutineObj>) -> Result<Resumed, RuntimeError> {
        if next.fail_on_resume() {
            next.set_fail_on_resume(false);
            next.set_native_wait(false);
            return Err(self.error("Send on closed channel."));
        }
        let is_fin = Some(next) == self.fin_co;
        if next.native_wait() {
            next.set_native_wait(false);
            let result = self.stack.pop();
            if !is_fin {
                return Ok(Resumed::Done(result));
            }
            // A native finalizer that parked has now returned.
            self.finalizers_run += 1;
        }
        if self.frames.is_empty() {
            if is_fin {
                return self.fin_step();
            }
            if self.stack.len() > 0 {
                return self.start_fresh();
            }
        }
        Ok(Resumed::Running)
    }

    /// Moves sleepers whose time has come to the run queue; with `wait`,
    /// first sleeps the thread until the earliest one is due.
    fn wake_sleepers(&mut self, wait: bool) {
        let Some(Reverse(first)) = self.sched.sleepers.peek() else {
            return;
        };
        let now = self.started.elapsed().as_nanos() as u64;
        if wait && first.wake_at > now {
            // In slices, so that an interrupt is noticed (by `pick_next`,
            // which calls again) within one slice.
            std::thread::sleep(Duration::from_nanos(first.wake_at - now).min(INTERRUPT_POLL));
        }
        let now = self.started.elapsed().as_nanos() as u64;
        while let Some(Reverse(s)) = self.sched.sleepers.peek() {
            if s.wake_at > now {
                break;
            }
            let co = s.co;
            self.sched.sleepers.pop();
            self.wake(co, Value::NIL);
        }
    }

    /// Runs the spawned call of a fresh coroutine: its stack holds the
    /// callee and arguments. A native callee runs to completion here, or
    /// parks (`spawn ch.recv()`): then the coroutine finishes when it is
    /// woken, with the value the wake-up leaves on its stack.
    fn start_fresh(&mut self) -> Result<Resumed, RuntimeError> {
        let argc = self.stack.len() - 1;
        let callee = self.stack.peek(argc);
        self.call_value(callee, argc)?;
        if !self.frames.is_empty() {
            return Ok(Resumed::Running);
        }
        Ok(self.after_native_body())
    }

    /// After a native ran as the whole body of the current coroutine (a
    /// spawned native, a native finalizer): it parked, or it is done with
    /// its result on the stack.
    pub(crate) fn after_native_body(&mut self) -> Resumed {
        match self.sched.park.take() {
            Some(park) => {
                if let Some(c) = self.current {
                    c.set_native_wait(true);
                }
                Resumed::Parked(park)
            }
            None => Resumed::Done(self.stack.pop()),
        }
    }

    /// `co.join()` from the running coroutine.
    pub(crate) fn join(&mut self, co: Gc<CoroutineObj>) -> NativeResult {
        if Some(co) == self.current {
            return Err("A coroutine can't join itself.".into());
        }
        if co.state() == CoState::Done {
            return Ok(co.result());
        }
        let Some(cur) = self.current else {
            return Err("No running coroutine.".into());
        };
        co.joiners().push_back(cur);
        self.sched.park = Some(Park::Block);
        Ok(Value::NIL)
    }

    /// `sleep(seconds)`.
    pub(crate) fn sleep(&mut self, seconds: f64) {
        if let Some(c) = self.current {
            let now = self.started.elapsed().as_nanos() as u64;
            let ns = (seconds.max(0.0) * 1e9).min(u64::MAX as f64 / 2.0) as u64;
            c.set_wake_at(now.saturating_add(ns));
            self.sched.park = Some(Park::Sleep);
        }
    }

    /// The open-upvalue list of the running coroutine, created on demand.
    pub(crate) fn open_upvalues(&mut self) -> Result<Gc<ListObj>, RuntimeError> {
        let Some(cur) = self.current else {
            return Err(self.error("No running coroutine."));
        };
        if let Some(l) = cur.open_upvalues() {
            return Ok(l);
        }
        let l = self.new_list_from(&[])?;
        cur.set_open_upvalues(Some(l));
        Ok(l)
    }
}
