//! The one store path: every write of a heap pointer (or of a `Value`,
//! which may be one) into a heap object goes through a [`WriteBarrier`].
//!
//! The pointer-storing setters of the object layer (`ValueArrayObj::set`,
//! `TableLoc::set`, `ListObj::set_items`, a coroutine's `set_result`, the
//! wait queues, ...) take `&mut WriteBarrier`, and the only barrier is the
//! [`Mutator`](crate::mutator::Mutator)'s, so no pointer reaches the heap
//! without passing here. Concurrent marking puts Go's hybrid barrier in
//! [`WriteBarrier::write`] (shade the overwritten pointer, and the new
//! one while the storing coroutine's stack is not yet scanned); with the
//! stop-the-world mark it is a plain store.
//!
//! Not barriered, by design: the running coroutine's own stack slots and
//! frames (stacks are scanned, not barriered, as in Go), and `init_*` of a
//! fresh object, which no other object can reach before the store.

/// The right to store pointers into heap objects. Created once, by the
/// mutator; not `Clone`.
pub struct WriteBarrier {
    _only_the_mutator: (),
}

impl WriteBarrier {
    /// The mutator's barrier (`Mutator::new` is the only caller).
    pub(crate) fn new() -> WriteBarrier {
        WriteBarrier {
            _only_the_mutator: (),
        }
    }

    /// Stores `new` into `slot`, a field or element of a live heap object.
    ///
    /// # Safety
    /// 1. `slot` points into a live object (ROOTED) and is aligned for `T`.
    /// 2. No reference to the slot is live across the store.
    #[inline(always)]
    pub(super) unsafe fn write<T: Copy>(&mut self, slot: *mut T, new: T) {
        // SAFETY: the caller's points 1 and 2.
        unsafe { slot.write(new) }
    }
}
