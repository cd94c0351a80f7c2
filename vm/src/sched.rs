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
//! Every coroutine that has not finished is in the mutator's registry of
//! roots (`Mutator::coroutines`): as in Go, a parked coroutine is not
//! garbage even if nothing refers to it. The scheduler's own queues hold
//! only coroutines that are there too.
//!
//! The finalizer coroutine (LANGUAGE.md §6) is scheduled here as well: it
//! runs a loop of *steps* (take the oldest queued pair, call `fn(obj)`);
//! when the queue is empty it parks with `fingwait` set (`Heap::fin_park`),
//! and every pick of the next coroutine asks `Heap::fin_should_wake`, so a
//! finalizer queued by *any* sweeper, at any time, gets run (FINQ_WAKE,
//! seed 000). A finalizer's Lox runtime error is printed as `finalizer
//! error: ...` and the coroutine goes on with the next one.
//!
//! A session (the REPL, `Vm::start_session`) keeps coroutines past the
//! input that spawned them. An input runs as main, interleaved with the
//! others as in a script; between inputs (`Vm::run_background`) main is
//! idle, with no frame, steps aside, and `pick_next` hands it back when
//! nothing else can run now or the driver raised its attention flag, so
//! the driver can wait for the next input until the earliest sleeper is
//! due. In a session a runtime error ends only the coroutine that raised
//! it (`run_session`); an interrupt ends only the input, which leaves the
//! wait queue it is in (`end_input`: each blocked coroutine records the
//! queue in `blocked_on`).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::channel::{self, Received, Sent};
use crate::error::{Failed, RuntimeError, TraceLine, Unwind};
use crate::mutator::Mutator;
use crate::native::NativeError;
use crate::object::{
    BlockedOn, ChannelObj, CoState, CoroutineObj, FinalizerObj, Gc, ListObj, ObjKind, ObjRef, Stack,
};
use crate::value::Value;
use crate::vm::Vm;

/// Instructions a coroutine may run before it is preempted.
pub const BUDGET: i64 = 10_000;

/// The longest the VM thread sleeps (every coroutine asleep) before it
/// looks at the interrupt flag again.
const INTERRUPT_POLL: Duration = Duration::from_millis(20);

/// Between a session's inputs, the longest the driver waits before the
/// scheduler looks at the finalizer queue again: the background sweeper
/// queues finalizers on its own thread and wakes no one (FINQ_WAKE is
/// polled by the scheduler), so their output still appears while the
/// user edits a line.
const FINALIZER_POLL: Duration = Duration::from_millis(100);

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
/// queue) or O(log n) (the timer heap, as Go's timers), so a million
/// parked or sleeping coroutines cost a million times one.
#[derive(Default)]
pub struct Scheduler {
    run_queue: VecDeque<Gc<CoroutineObj>>,
    /// Sleeping coroutines, soonest first.
    sleepers: BinaryHeap<Reverse<Sleeper>>,
    next_id: u64,
    pub(crate) park: Option<Park>,
    /// A deadlock rescue (collect, run finalizers) happened since a
    /// coroutine other than the finalizer's last ran, and queued nothing:
    /// the next time nothing can run is a deadlock.
    rescued: bool,
    /// A session runs its coroutines between inputs (`Vm::run_background`):
    /// main is idle, with no frame, and is handed back (so `run` returns)
    /// when nothing else can run or the driver asks for control; nothing
    /// is a deadlock and the VM thread never sleeps here.
    pub(crate) background: bool,
    /// Set by a session's driver, from any thread, to get control back
    /// from `Vm::run_background` at the next safepoint.
    pub(crate) attention: Arc<AtomicBool>,
}

impl Scheduler {
    /// Someone else should run: a coroutine is runnable, or, in the
    /// background, the driver asked for control.
    pub fn has_runnable(&self) -> bool {
        !self.run_queue.is_empty() || self.driver_waiting()
    }

    fn driver_waiting(&self) -> bool {
        self.background && self.attention.load(Ordering::Acquire)
    }
}

/// What a session's coroutines wait for once `Vm::run_background` has
/// handed control back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Idle {
    /// The driver asked for control (`Vm::attention_flag`), and
    /// coroutines may still be runnable: call again after serving it.
    Asked,
    /// Nothing runs before this instant (the earliest sleeper's wake time,
    /// or the next look at the finalizer queue): call again then, or when
    /// an input arrives.
    Until(Instant),
    /// Every live coroutine is blocked, or none is left: nothing runs until
    /// an input does something.
    Blocked,
}

/// One live coroutine, as `:coroutines` shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct CoroutineInfo {
    /// Spawn order (the first `spawn` is 1); `None` for the finalizer
    /// coroutine.
    pub id: Option<u64>,
    pub state: CoroutineState,
    /// Where it is: its innermost frame's function and line; without a
    /// Lox frame (not started yet, or a native body such as `spawn
    /// ch.recv()`), the `spawn` that made it, and `has_frame` is false.
    pub at: Option<TraceLine>,
    pub has_frame: bool,
}

/// What a live coroutine is doing.
#[derive(Clone, Debug, PartialEq)]
pub enum CoroutineState {
    /// In the run queue (or not started yet).
    Runnable,
    Sleeping {
        wakes_in: Duration,
    },
    /// Blocked in `ch.recv()`.
    Receiving(ChannelInfo),
    /// Blocked in `ch.send(v)`.
    Sending(ChannelInfo),
    /// Blocked in `co.join()` on the coroutine with this id.
    Joining(u64),
    /// The finalizer coroutine with no finalizer to run.
    WaitingForFinalizers,
}

/// A channel someone is blocked on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelInfo {
    /// The globals that hold it, sorted (channels have no names of their
    /// own).
    pub globals: Vec<String>,
    pub capacity: usize,
    pub buffered: usize,
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

impl Vm {
    /// Makes `c` the running coroutine.
    fn load(&mut self, c: Gc<CoroutineObj>) {
        if Some(c) != self.mu.coroutines.fin {
            self.sched.rescued = false;
        }
        self.mu.load(c);
        c.set_state(CoState::Running);
    }

    /// Ensures the main coroutine exists and runs, with empty stacks.
    pub(crate) fn enter_main(&mut self) -> Result<(), RuntimeError> {
        let main = match self.mu.coroutines.main {
            Some(m) => m,
            None => {
                let m = self.mu.new_coroutine(0)?;
                self.mu.coroutines.main = Some(m);
                m
            }
        };
        // Its stack is written as the running coroutine's from here.
        self.mu.claim_running(main);
        main.set_sp(0);
        main.set_frame_count(0);
        main.set_open_upvalues(&mut self.mu.wb, None);
        self.load(main);
        Ok(())
    }

    /// `spawn`: a new coroutine whose stack holds the callee and `argc`
    /// arguments now on top of the running stack (checked by the caller),
    /// placed at the back of the run queue. Replaces them with its handle.
    pub(crate) fn spawn(&mut self, argc: usize) -> Result<(), RuntimeError> {
        self.sched.next_id += 1;
        let co = self.mu.new_coroutine(self.sched.next_id)?;
        self.mu.temp_roots.push(co.value());
        let native = matches!(
            self.mu.stack.peek(argc).obj_kind(),
            Some(ObjKind::Native | ObjKind::BoundNative)
        );
        let slab = self
            .mu
            .new_stack_slab(Mutator::spawn_stack_capacity(argc + 1, native));
        self.mu.temp_roots.pop();
        let slab = slab?;
        let mut view = Stack::view(slab, 0);
        for d in (0..=argc).rev() {
            view.push(self.mu.stack.peek(d));
        }
        co.set_stack(&mut self.mu.wb, Some(slab));
        co.set_sp(argc + 1);
        let origin = self.mu.current_origin();
        co.set_origin(&mut self.mu.wb, origin);
        co.set_state(CoState::Runnable);
        self.mu.coroutines.register(co);
        self.sched.run_queue.push_back(co);
        self.mu.stack.truncate(self.mu.stack.len() - argc - 1);
        self.mu.stack.push(co.value());
        Ok(())
    }

    /// Drops every coroutine but main (the program ended, or an input
    /// outside a session ended).
    pub(crate) fn abandon_coroutines(&mut self) {
        self.mu.coroutines.abandon();
        self.sched.run_queue.clear();
        self.sched.sleepers.clear();
        self.sched.park = None;
    }

    /// Puts `c` at the back of the run queue with `value` as the result of
    /// the call it blocked in.
    pub(crate) fn wake(&mut self, c: Gc<CoroutineObj>, value: Value) {
        if c.sp() > 0 {
            c.set_slot(&mut self.mu.wb, c.sp() - 1, value);
        }
        c.set_blocked_on(BlockedOn::Nothing);
        c.set_blocked_target(&mut self.mu.wb, Value::NIL);
        c.set_state(CoState::Runnable);
        self.sched.run_queue.push_back(c);
    }

    /// The running coroutine stops (`park`), without loading another.
    fn stop_current(&mut self, park: Park) {
        let Some(cur) = self.mu.current else {
            return;
        };
        self.mu.sync_current();
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
        let Some(cur) = self.mu.current else {
            return;
        };
        self.mu.sync_current();
        let wb = &mut self.mu.wb;
        cur.set_result(wb, result);
        cur.set_state(CoState::Done);
        // Its stacks are dead: let them be collected with nothing pinned.
        cur.set_stack(wb, None);
        cur.set_sp(0);
        cur.set_frames(wb, None);
        cur.set_frame_count(0);
        cur.set_open_upvalues(wb, None);
        while let Some(j) = cur.joiners().pop_front(&mut self.mu.wb) {
            self.wake(j, result);
        }
        self.mu.coroutines.unregister(cur);
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
                if !self.sched.background {
                    return Err(self.interrupted());
                }
                // Between a session's inputs there is nothing to stop:
                // Ctrl-C stops an input, never the coroutines.
                self.clear_interrupt();
            }
            self.fin_wake_check();
            self.wake_sleepers(false);
            if self.sched.driver_waiting() {
                if let Some(main) = self.mu.coroutines.main {
                    return Ok(main);
                }
            }
            if let Some(next) = self.sched.run_queue.pop_front() {
                return Ok(next);
            }
            if self.sched.background {
                if let Some(main) = self.mu.coroutines.main {
                    return Ok(main);
                }
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
                let queued = self.mu.heap.stats().finalizers_queued;
                self.mu.collect(true);
                if self.mu.heap.stats().finalizers_queued > queued {
                    self.sched.rescued = false;
                }
                self.fin_wake_check();
                if !self.sched.run_queue.is_empty() {
                    continue;
                }
            }
            // Reported as main's runtime error, at the call it blocked in.
            if let Some(main) = self.mu.coroutines.main {
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
        let is_fin = Some(next) == self.mu.coroutines.fin;
        if next.native_wait() {
            next.set_native_wait(false);
            let result = self.mu.stack.pop();
            if !is_fin {
                return Ok(Resumed::Done(result));
            }
            // A native finalizer that parked has now returned.
            self.mu.finalizers_run += 1;
        }
        if self.mu.frames.is_empty() {
            if is_fin {
                return self.fin_step();
            }
            if self.mu.stack.len() > 0 {
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
        let now = self.mu.started.elapsed().as_nanos() as u64;
        if wait && first.wake_at > now {
            // In slices, so that an interrupt is noticed (by `pick_next`,
            // which calls again) within one slice.
            std::thread::sleep(Duration::from_nanos(first.wake_at - now).min(INTERRUPT_POLL));
        }
        let now = self.mu.started.elapsed().as_nanos() as u64;
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
        let argc = self.mu.stack.len() - 1;
        let callee = self.mu.stack.peek(argc);
        self.call_value(callee, argc)?;
        if !self.mu.frames.is_empty() {
            return Ok(Resumed::Running);
        }
        Ok(self.after_native_body())
    }

    /// After a native ran as the whole body of the current coroutine (a
    /// spawned native, a native finalizer): it parked, or it is done with
    /// its result on the stack.
    fn after_native_body(&mut self) -> Resumed {
        match self.sched.park.take() {
            Some(park) => {
                if let Some(c) = self.mu.current {
                    c.set_native_wait(true);
                }
                Resumed::Parked(park)
            }
            None => Resumed::Done(self.mu.stack.pop()),
        }
    }

    /// `co.join()` from the running coroutine: the result, or nil and a
    /// park (the result arrives when `co` finishes).
    pub(crate) fn join(&mut self, co: Gc<CoroutineObj>) -> Result<Value, NativeError> {
        if Some(co) == self.mu.current {
            return Err("A coroutine can't join itself.".into());
        }
        if co.state() == CoState::Done {
            return Ok(co.result());
        }
        let Some(cur) = self.mu.current else {
            return Err("No running coroutine.".into());
        };
        co.joiners().push_back(&mut self.mu.wb, cur);
        self.blocked_on(cur, BlockedOn::Join, co.value());
        self.sched.park = Some(Park::Block);
        Ok(Value::NIL)
    }

    /// `sleep(seconds)`.
    pub(crate) fn sleep(&mut self, seconds: f64) {
        if let Some(c) = self.mu.current {
            let now = self.mu.started.elapsed().as_nanos() as u64;
            let ns = (seconds.max(0.0) * 1e9).min(u64::MAX as f64 / 2.0) as u64;
            c.set_wake_at(now.saturating_add(ns));
            self.sched.park = Some(Park::Sleep);
        }
    }

    /// The open-upvalue list of the running coroutine, created on demand.
    pub(crate) fn open_upvalues(&mut self) -> Result<Gc<ListObj>, RuntimeError> {
        let Some(cur) = self.mu.current else {
            return Err(self.error("No running coroutine."));
        };
        if let Some(l) = cur.open_upvalues() {
            return Ok(l);
        }
        let l = crate::collections::new_list_from(&mut self.mu, &[])?;
        cur.set_open_upvalues(&mut self.mu.wb, Some(l));
        Ok(l)
    }

    // ------------------------------------------------------------ channels

    /// `ch.send(v)`; `v` is rooted by the caller's argument slot.
    pub(crate) fn chan_send(&mut self, ch: Gc<ChannelObj>, v: Value) -> Result<(), NativeError> {
        match channel::send(&mut self.mu, ch, v)? {
            Sent::ToReceiver(receiver) => self.wake(receiver, v),
            Sent::Buffered => {}
            Sent::Blocked => {
                let Some(cur) = self.mu.current else {
                    return Err("No running coroutine.".into());
                };
                channel::block_sender(&mut self.mu, ch, cur, v);
                self.blocked_on(cur, BlockedOn::Send, ch.value());
                self.sched.park = Some(Park::Block);
            }
        }
        Ok(())
    }

    /// `ch.recv()`: the value now, or nil and a park (the result arrives
    /// by `wake`).
    pub(crate) fn chan_recv(&mut self, ch: Gc<ChannelObj>) -> Value {
        match channel::recv(&mut self.mu, ch) {
            Received::Value(v, sender) => {
                if let Some(s) = sender {
                    self.wake(s, Value::NIL);
                }
                v
            }
            Received::Blocked => {
                if let Some(cur) = self.mu.current {
                    channel::block_receiver(&mut self.mu, ch, cur);
                    self.blocked_on(cur, BlockedOn::Recv, ch.value());
                    self.sched.park = Some(Park::Block);
                }
                Value::NIL
            }
        }
    }

    /// Records which wait queue `co` has just joined (`wake` clears it).
    fn blocked_on(&mut self, co: Gc<CoroutineObj>, on: BlockedOn, target: Value) {
        co.set_blocked_on(on);
        co.set_blocked_target(&mut self.mu.wb, target);
    }

    /// `ch.close()`: wakes every receiver with nil and fails every blocked
    /// sender.
    pub(crate) fn chan_close(&mut self, ch: Gc<ChannelObj>) -> Result<(), NativeError> {
        channel::close(ch)?;
        while let Some((co, sender)) = channel::pop_blocked(&mut self.mu, ch) {
            if sender {
                co.set_fail_on_resume(true);
            }
            self.wake(co, Value::NIL);
        }
        Ok(())
    }

    // ------------------------------------------------- the finalizer coroutine

    /// The scheduler's half of FINQ_WAKE: if the finalizer coroutine is
    /// parked waiting for work and work was queued, ready it (first).
    pub(crate) fn fin_wake_check(&mut self) {
        if let Some(co) = self.mu.coroutines.fin {
            if self.mu.coroutines.fin_parked && self.mu.heap.fin_should_wake() {
                self.mu.coroutines.fin_parked = false;
                co.set_state(CoState::Runnable);
                self.sched.run_queue.push_front(co);
            }
        }
    }

    pub(crate) fn is_finalizer_running(&self) -> bool {
        self.mu.coroutines.fin.is_some() && self.mu.current == self.mu.coroutines.fin
    }

    /// One or more steps of the finalizer coroutine, which is running with
    /// no frame: start the next finalizer, or stop. `Running` once a
    /// finalizer's Lox frame is pushed; `Parked` when the queue is empty
    /// (it waits for `fingwake`) or a native finalizer blocked (it waits
    /// like any coroutine; it counts as run when it resumes).
    fn fin_step(&mut self) -> Result<Resumed, RuntimeError> {
        loop {
            self.mu.stack.clear();
            self.mu.frames.clear();
            let Some((obj, record)) = self.mu.heap.peek_finalizer() else {
                if self.mu.heap.fin_park() {
                    self.mu.coroutines.fin_parked = true;
                    return Ok(Resumed::Parked(Park::Block));
                }
                continue;
            };
            let Some(record) = ObjRef::from_ptr(record).downcast::<FinalizerObj>() else {
                return Err(self.error("Corrupt finalizer queue."));
            };
            // Still a root while queued: make room, push, then dequeue.
            self.mu.reserve_stack(2)?;
            let func = record.function;
            self.mu.stack.push(func);
            self.mu.stack.push(Value::obj(ObjRef::from_ptr(obj)));
            if let Some(co) = self.mu.coroutines.fin {
                co.set_origin(&mut self.mu.wb, record.origin);
            }
            self.mu.heap.pop_finalizer();
            match self.call_value(func, 1) {
                Ok(()) if !self.mu.frames.is_empty() => return Ok(Resumed::Running),
                Ok(()) => match self.after_native_body() {
                    Resumed::Parked(park) => return Ok(Resumed::Parked(park)),
                    _ => self.mu.finalizers_run += 1,
                },
                Err(e) if e.unwind == Unwind::Error => self.report_finalizer_error(&e),
                Err(e) => return Err(e),
            }
        }
    }

    /// The finalizer coroutine goes on after a finalizer ended (returned,
    /// or failed): its next step, parking it when that stops.
    fn fin_continue(&mut self) -> Result<(), RuntimeError> {
        match self.fin_step()? {
            Resumed::Parked(park) => self.park_current(park),
            _ => Ok(()),
        }
    }

    /// A finalizer's frame returned.
    pub(crate) fn fin_returned(&mut self) -> Result<(), RuntimeError> {
        self.mu.finalizers_run += 1;
        self.fin_continue()
    }

    /// Prints a finalizer's runtime error (the program goes on); in a
    /// session, the session reports it.
    fn report_finalizer_error(&mut self, e: &RuntimeError) {
        self.mu.finalizers_run += 1;
        if self.report_background(Failed::Finalizer, e) {
            return;
        }
        let _ = self.out.flush();
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "finalizer error: {e}");
        let _ = err.flush();
    }

    /// After an error in the finalizer coroutine: close the failed
    /// finalizer's open upvalues (as its return would have: a closure it
    /// made must not read the next finalizer's locals from the reused
    /// slots), drop its frames and go on with the next finalizer.
    pub(crate) fn fin_recover(&mut self, e: &RuntimeError) -> Result<(), RuntimeError> {
        self.report_finalizer_error(e);
        self.close_upvalues(0);
        if let Some(co) = self.mu.coroutines.fin {
            co.set_open_upvalues(&mut self.mu.wb, None);
        }
        self.fin_continue()
    }

    // ------------------------------------------------------------ sessions

    /// Runs a session's coroutines, starting with the loaded one (`start`
    /// is how loading it went), until main is back: its input returned, or (in the background) it was handed
    /// back idle. A runtime error of any other coroutine ends that
    /// coroutine only: the session reports it and the rest go on (a
    /// finalizer's, as in a script, ends that finalizer). What ends the
    /// input is returned: main's own error (a deadlock included) or
    /// Ctrl-C, which stops the input wherever it is waiting and nothing
    /// else (the coroutine running when it is seen goes back to the run
    /// queue as if preempted; interrupts are only seen at safepoints).
    pub(crate) fn run_session(
        &mut self,
        start: Result<(), RuntimeError>,
    ) -> Result<(), RuntimeError> {
        let main = self.mu.coroutines.main;
        let mut r = start.and_then(|()| self.run());
        loop {
            r = match r {
                Ok(()) if !self.mu.frames.is_empty() => self.run(),
                Ok(()) => return Ok(()),
                Err(e) => {
                    let cur = self.mu.current;
                    let running = cur.is_some_and(|c| c.state() == CoState::Running);
                    if e.unwind == Unwind::Interrupt {
                        if running && cur != main {
                            self.stop_current(Park::Yield);
                        }
                        if !self.sched.background {
                            return Err(e);
                        }
                        self.switch_to_next()
                    } else if cur == main && (running || !self.sched.background) {
                        return Err(e);
                    } else if self.is_finalizer_running() {
                        self.fin_recover(&e)
                    } else {
                        if running {
                            self.fail_current(&e);
                        }
                        self.switch_to_next()
                    }
                    .and_then(|()| self.run())
                }
            };
        }
    }

    /// The running coroutine (not main, not the finalizer coroutine) ends
    /// with runtime error `e`: the session reports it, closures keep the
    /// values they captured, and whoever joins it gets nil.
    fn fail_current(&mut self, e: &RuntimeError) {
        let Some(cur) = self.mu.current else {
            return;
        };
        self.report_background(Failed::Coroutine(cur.id), e);
        self.sched.park = None;
        self.close_upvalues(0);
        self.retire_current(Value::NIL);
    }

    /// Between a session's inputs: runs the other coroutines until none
    /// can run now or the driver asks for control, and says what they
    /// wait for. Main (idle, with no frame) steps aside and is handed
    /// back by `pick_next`.
    pub(crate) fn run_between_inputs(&mut self) -> Idle {
        let Some(main) = self.mu.coroutines.main else {
            return Idle::Blocked;
        };
        debug_assert!(
            self.mu.current == Some(main) && self.mu.frames.is_empty(),
            "main is idle between inputs"
        );
        self.fin_wake_check();
        self.wake_sleepers(false);
        if !self.sched.run_queue.is_empty() && !self.sched.attention.load(Ordering::Acquire) {
            self.sched.background = true;
            self.mu.sync_current();
            main.set_state(CoState::Blocked);
            let start = self.switch_to_next();
            let r = self.run_session(start);
            self.sched.background = false;
            // Nothing ends an idle main; were it to fail anyway, it is
            // reset like a failed input.
            if r.is_err() || self.mu.current != Some(main) {
                self.end_input();
            }
        }
        self.idle()
    }

    /// What the coroutines wait for, main being idle.
    fn idle(&mut self) -> Idle {
        if self.sched.attention.load(Ordering::Acquire) {
            return Idle::Asked;
        }
        if !self.sched.run_queue.is_empty() {
            return Idle::Asked;
        }
        let mut until = self
            .sched
            .sleepers
            .peek()
            .map(|Reverse(s)| self.mu.started + Duration::from_nanos(s.wake_at));
        if self.mu.coroutines.fin_parked {
            let poll = Instant::now() + FINALIZER_POLL;
            until = Some(until.map_or(poll, |t| t.min(poll)));
        }
        match until {
            Some(t) => Idle::Until(t),
            None => Idle::Blocked,
        }
    }

    /// A session's input ended early (its runtime error, a deadlock,
    /// Ctrl-C): main leaves whatever queue it waits in, its open upvalues
    /// are closed (a closure it stored keeps its values, as after a
    /// return) and its frames dropped; it is current again, idle. The
    /// other coroutines are untouched: whoever was running has been
    /// stopped already.
    pub(crate) fn end_input(&mut self) {
        let Some(main) = self.mu.coroutines.main else {
            return;
        };
        if self.mu.current != Some(main) {
            self.load(main);
        }
        self.detach(main);
        self.close_upvalues_of(main, 0);
        self.mu.stack.clear();
        self.mu.frames.clear();
        self.mu.sync_current();
        let wb = &mut self.mu.wb;
        main.set_open_upvalues(wb, None);
        main.set_offer(wb, Value::NIL);
        main.set_native_wait(false);
        main.set_fail_on_resume(false);
        self.mu.temp_roots.clear();
        self.sched.park = None;
    }

    /// Takes `co` out of every queue it may be in: the wait queue its
    /// `blocked_on` names, the sleepers, the run queue.
    fn detach(&mut self, co: Gc<CoroutineObj>) {
        let target = co.blocked_target().as_obj();
        let queue = match co.blocked_on() {
            BlockedOn::Nothing => None,
            BlockedOn::Recv => target
                .and_then(|o| o.downcast::<ChannelObj>())
                .map(|c| c.recvq()),
            BlockedOn::Send => target
                .and_then(|o| o.downcast::<ChannelObj>())
                .map(|c| c.sendq()),
            BlockedOn::Join => target
                .and_then(|o| o.downcast::<CoroutineObj>())
                .map(|c| c.joiners()),
        };
        if let Some(q) = queue {
            q.remove(&mut self.mu.wb, co);
        }
        co.set_blocked_on(BlockedOn::Nothing);
        co.set_blocked_target(&mut self.mu.wb, Value::NIL);
        self.sched.run_queue.retain(|&c| c != co);
        self.sched.sleepers.retain(|Reverse(s)| s.co != co);
    }

    /// The live coroutines other than main, in spawn order, the
    /// finalizer coroutine last.
    pub(crate) fn coroutine_infos(&mut self) -> Vec<CoroutineInfo> {
        let mut all: Vec<Gc<CoroutineObj>> = self.mu.coroutines.all().to_vec();
        all.sort_by_key(|c| c.id);
        all.extend(self.mu.coroutines.fin);
        let main = self.mu.coroutines.main;
        all.into_iter()
            .filter(|&c| Some(c) != main)
            .map(|c| self.coroutine_info(c))
            .collect()
    }

    fn coroutine_info(&mut self, co: Gc<CoroutineObj>) -> CoroutineInfo {
        let is_fin = Some(co) == self.mu.coroutines.fin;
        let state = match (co.state(), co.blocked_on()) {
            (CoState::Sleeping, _) => {
                let now = self.mu.started.elapsed().as_nanos() as u64;
                CoroutineState::Sleeping {
                    wakes_in: Duration::from_nanos(co.wake_at().saturating_sub(now)),
                }
            }
            (CoState::Blocked, BlockedOn::Recv) => {
                CoroutineState::Receiving(self.channel_info(co.blocked_target()))
            }
            (CoState::Blocked, BlockedOn::Send) => {
                CoroutineState::Sending(self.channel_info(co.blocked_target()))
            }
            (CoState::Blocked, BlockedOn::Join) => CoroutineState::Joining(
                co.blocked_target()
                    .as_obj()
                    .and_then(|o| o.downcast::<CoroutineObj>())
                    .map_or(0, |c| c.id),
            ),
            // Blocked on nothing recorded: only the finalizer coroutine
            // waiting for work parks so.
            (CoState::Blocked, BlockedOn::Nothing) => CoroutineState::WaitingForFinalizers,
            _ => CoroutineState::Runnable,
        };
        let frame = co
            .frames()
            .and_then(|f| f.live(co.frame_count()).last().copied());
        let (at, has_frame) = match frame {
            Some(f) => {
                let function = f.closure.function;
                let line = function.line_at(f.ip.saturating_sub(1));
                (Some(trace_line(function.name, line)), true)
            }
            None => {
                let origin = co.origin();
                let at = (origin.line > 0)
                    .then(|| trace_line(origin.function.and_then(|f| f.name), origin.line));
                (at, false)
            }
        };
        CoroutineInfo {
            id: (!is_fin).then_some(co.id),
            state,
            at,
            has_frame,
        }
    }

    fn channel_info(&mut self, target: Value) -> ChannelInfo {
        let mut globals: Vec<String> = self
            .mu
            .defined_globals()
            .iter()
            .filter(|(_, v)| *v == target)
            .map(|(k, _)| String::from_utf8_lossy(k.as_bytes()).into_owned())
            .collect();
        globals.sort();
        let ch = target.as_obj().and_then(|o| o.downcast::<ChannelObj>());
        ChannelInfo {
            globals,
            capacity: ch.map_or(0, |c| c.capacity()),
            buffered: ch.map_or(0, |c| c.count()),
        }
    }
}

/// A trace line for a function named `name` (`None`: the script).
fn trace_line(name: Option<Gc<crate::object::StringObj>>, line: u32) -> TraceLine {
    TraceLine {
        line,
        function: name.map(|n| String::from_utf8_lossy(n.as_bytes()).into_owned()),
    }
}
