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

use std::sync::atomic::{AtomicU64, Ordering};

/// A field type that is whole 8-byte words with no padding: what the
/// barrier stores and a concurrent marker loads, one atomic word at a time
/// (a marker may see a 16-byte field half old, half new; each half is a
/// value that was stored during the cycle, so an object that exists).
///
/// # Safety
/// 1. `size_of::<Self>()` is a multiple of 8, its alignment is 8, and
///    every byte of every value is initialised (no padding), so a value
///    can be moved as `u64` words.
pub unsafe trait Word: Copy {}

// SAFETY: a NaN-boxed `u64`.
unsafe impl Word for crate::value::Value {}
// SAFETY: a non-null pointer or its `None` niche: one word.
unsafe impl<T> Word for Option<super::Gc<T>> {}
// SAFETY: `#[repr(C)]` key handle and value: two words, no padding.
unsafe impl Word for super::Entry {}
// SAFETY: `#[repr(C)]` head and tail handles: two words, no padding.
unsafe impl Word for super::WaitQueue {}

const fn words<T>() -> usize {
    assert!(std::mem::size_of::<T>().is_multiple_of(8) && std::mem::align_of::<T>() == 8);
    std::mem::size_of::<T>() / 8
}

/// Reads a field a concurrent marker may read while the mutator stores
/// into it: acquire loads, so what a loaded pointer points to (its
/// object's initialising writes) is visible too.
///
/// # Safety
/// 1. `slot` points into a live object and is aligned; all its writers use
///    [`WriteBarrier::write`] (or wrote it before the object was published).
#[inline(always)]
pub(super) unsafe fn load_shared<T: Word>(slot: *const T) -> T {
    let mut out = std::mem::MaybeUninit::<T>::uninit();
    let dst = out.as_mut_ptr() as *mut u64;
    for i in 0..words::<T>() {
        // SAFETY: precondition 1 and `Word`: word `i` of the slot is an
        // aligned, initialised u64 whose writers are atomic.
        let w = unsafe { AtomicU64::from_ptr((slot as *mut u64).add(i)) };
        // SAFETY: word `i` of `out`, inside it.
        unsafe { dst.add(i).write(w.load(Ordering::Acquire)) };
    }
    // SAFETY: every word written above (`Word`: no padding).
    unsafe { out.assume_init() }
}

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

    /// Stores `new` into `slot`, a field or element of a live heap object,
    /// one release store per word (a concurrent marker reads it with
    /// [`load_shared`]).
    ///
    /// # Safety
    /// 1. `slot` points into a live object (ROOTED) and is aligned for `T`.
    /// 2. No reference to the slot is live across the store.
    #[inline(always)]
    pub(super) unsafe fn write<T: Word>(&mut self, slot: *mut T, new: T) {
        let src = &new as *const T as *const u64;
        for i in 0..words::<T>() {
            // SAFETY: points 1-2 and `Word`: word `i` of the slot is an
            // aligned u64 nobody holds a reference to.
            let w = unsafe { AtomicU64::from_ptr((slot as *mut u64).add(i)) };
            // SAFETY: word `i` of `new` (`Word`: initialised).
            w.store(unsafe { src.add(i).read() }, Ordering::Release);
        }
    }
}
