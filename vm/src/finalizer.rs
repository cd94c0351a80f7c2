//! `setFinalizer` (LANGUAGE.md §6, DESIGN.md "Finalizers"), the mutator's
//! half: validating the call, creating the finalizer coroutine the first
//! time, and registering a special with the collector (the gc crate owns
//! specials, the queue and the FINQ_WAKE protocol).
//!
//! What the collector registers is a `FinalizerObj` record: the function
//! and the line of the `setFinalizer` call, where an error raised before
//! the function has a frame (its arity, a native finalizer's own error) is
//! reported. The finalizer coroutine that runs the queue is the
//! scheduler's (`sched.rs`).

use crate::mutator::Mutator;
use crate::native::NativeError;
use crate::object::{CoState, FinalizerObj, ObjKind};
use crate::value::Value;

/// `setFinalizer(obj, fn)`: both must be rooted (the native's argument
/// slots root them).
pub(crate) fn set_finalizer(mu: &mut Mutator, obj: Value, f: Value) -> Result<(), NativeError> {
    let target = match obj.obj_kind() {
        Some(ObjKind::Instance | ObjKind::List | ObjKind::Map) => obj.as_obj(),
        _ => None,
    };
    let Some(target) = target else {
        return Err("setFinalizer: object must be an instance, list or map.".into());
    };
    if f.is_nil() {
        mu.heap.remove_finalizer(target.ptr());
        return Ok(());
    }
    let callable = matches!(
        f.obj_kind(),
        Some(ObjKind::Closure | ObjKind::BoundMethod | ObjKind::Native | ObjKind::BoundNative)
    );
    if !callable {
        return Err("setFinalizer: finalizer must be a function or nil.".into());
    }
    if mu.coroutines.fin.is_none() {
        let co = mu.new_coroutine(u64::MAX)?;
        co.set_state(CoState::Blocked);
        mu.coroutines.fin = Some(co);
        mu.coroutines.fin_parked = mu.heap.fin_park();
    }
    // The collector keeps the record (and through it `fn`) alive while the
    // special or the queue holds it.
    let origin = mu.current_origin();
    let record = mu.alloc(FinalizerObj::SIZE)?.init_finalizer(f, origin);
    mu.heap
        .set_finalizer(target.ptr(), record.as_ref().ptr())
        .map_err(|_| "setFinalizer: object already has a finalizer.".into())
}
