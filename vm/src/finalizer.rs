//! Finalizers from the language (LANGUAGE.md §6, DESIGN.md "Finalizers").
//!
//! `setFinalizer(obj, fn)` records a special on obj's span (the gc crate
//! owns specials, the queue and the FINQ_WAKE protocol). Finalizers run on
//! one dedicated coroutine, created at the first `setFinalizer`, in queue
//! order. It runs a loop of *steps*: take the oldest queued pair, call
//! `fn(obj)`; when the queue is empty it parks with `fingwait` set
//! (`Heap::fin_park`). The scheduler asks `Heap::fin_should_wake` every
//! time it picks the next coroutine (and when a budget runs out), so a
//! finalizer queued by *any* sweeper, at any time, gets run: seed 000.
//!
//! A runtime error inside a finalizer does not end the program: it is
//! printed as `finalizer error: <message>` with its trace, and the
//! coroutine goes on with the next finalizer.

use std::io::Write;

use crate::error::RuntimeError;
use crate::native::NativeResult;
use crate::object::{CoState, CoroutineObj, FinalizerObj, ObjKind, ObjRef};
use crate::sched::{Park, Resumed};
use crate::value::Value;
use crate::vm::Vm;

impl Vm {
    /// `setFinalizer(obj, fn)`.
    pub(crate) fn set_finalizer(&mut self, obj: Value, f: Value) -> NativeResult<()> {
        let target = match obj.obj_kind() {
            Some(ObjKind::Instance | ObjKind::List | ObjKind::Map) => obj.as_obj(),
            _ => None,
        };
        let Some(target) = target else {
            return Err("setFinalizer: object must be an instance, list or map.".into());
        };
        if f.is_nil() {
            self.heap.remove_finalizer(target.ptr());
            return Ok(());
        }
        let callable = matches!(
            f.obj_kind(),
            Some(ObjKind::Closure | ObjKind::BoundMethod | ObjKind::Native | ObjKind::BoundNative)
        );
        if !callable {
            return Err("setFinalizer: finalizer must be a function or nil.".into());
        }
        // Both arguments stay rooted by the native's argument slots across
        // these allocations.
        if self.fin_co.is_none() {
            let co = self.alloc(CoroutineObj::SIZE)?.init_coroutine(u64::MAX);
            co.set_state(CoState::Blocked);
            self.fin_co = Some(co);
            self.fin_parked = self.heap.fin_park();
        }
        // The collector keeps the record (and through it `fn`) alive while
        // the special or the queue holds it.
        let origin = self.current_origin();
        let record = self.alloc(FinalizerObj::SIZE)?.init_finalizer(f, origin);
        self.heap
            .set_finalizer(target.ptr(), record.as_ref().ptr())
            .map_err(|_| "setFinalizer: object already has a finalizer.".into())
    }

    /// The scheduler's half of FINQ_WAKE: if the finalizer coroutine is
    /// parked waiting for work and work was queued, ready it (first).
    pub(crate) fn fin_wake_check(&mut self) {
        if let Some(co) = self.fin_co {
            if self.fin_parked && self.heap.fin_should_wake() {
                self.fin_parked = false;
                co.set_state(CoState::Runnable);
                self.sched.run_queue_push_front(co);
            }
        }
    }

    pub(crate) fn is_finalizer_running(&self) -> bool {
        self.fin_co.is_some() && self.current == self.fin_co
    }

    /// One or more steps of the finalizer coroutine, which is running with
    /// no frame: start the next finalizer, or stop. `Running` once a
    /// finalizer's Lox frame is pushed; `Parked` when the queue is empty
    /// (it waits for `fingwake`) or a native finalizer blocked (it waits
    /// like any coroutine; the scheduler counts it done when it resumes).
    pub(crate) fn fin_step(&mut self) -> Result<Resumed, RuntimeError> {
        loop {
            self.stack.clear();
            self.frames.clear();
            let Some((obj, record)) = self.heap.peek_finalizer() else {
                if self.heap.fin_park() {
                    self.fin_parked = true;
                    return Ok(Resumed::Parked(Park::Block));
                }
                continue;
            };
            let Some(record) = ObjRef::from_ptr(record).downcast::<FinalizerObj>() else {
                return Err(self.error("Corrupt finalizer queue."));
            };
            // Still a root while queued: make room, push, then dequeue.
            self.reserve_stack(2)?;
            let func = record.function;
            self.stack.push(func);
            self.stack.push(Value::obj(ObjRef::from_ptr(obj)));
            if let Some(co) = self.fin_co {
                co.set_origin(record.origin);
            }
            self.heap.pop_finalizer();
            match self.call_value(func, 1) {
                Ok(()) if !self.frames.is_empty() => return Ok(Resumed::Running),
                Ok(()) => match self.after_native_body() {
                    Resumed::Parked(park) => return Ok(Resumed::Parked(park)),
                    _ => self.finalizers_run += 1,
                },
                Err(e) if e.unwind == crate::Unwind::Error => self.report_finalizer_error(&e),
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
        self.finalizers_run += 1;
        self.fin_continue()
    }

    /// Prints a finalizer's runtime error (the program goes on).
    pub(crate) fn report_finalizer_error(&mut self, e: &RuntimeError) {
        self.finalizers_run += 1;
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
        if let Some(co) = self.fin_co {
            co.set_open_upvalues(None);
        }
        self.fin_continue()
    }
}
