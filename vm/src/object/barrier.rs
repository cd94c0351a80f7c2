//! The one store path: every write of a heap pointer (or of a `Value`,
//! which may be one) into a heap object goes through a [`WriteBarrier`].
//!
//! The pointer-storing setters of the object layer (`ValueArrayObj::set`,
//! `TableLoc::set`, `ListObj::set_items`, a coroutine's `set_result`, the
//! wait queues, ...) take `&mut WriteBarrier`, and the only barrier is the
//! [`Mutator`](crate::mutator::Mutator)'s, so no pointer reaches the heap
//! without passing here. While a cycle marks concurrently,
//! [`WriteBarrier::write`] is Go's hybrid barrier (`gc::Barrier`): it
//! shades the pointers the store overwrites (what was reachable when the
//! mark began stays reachable to the marker) and the ones it stores (like
//! Go's `wbBuf`, always, rather than test whether the storing stack is
//! scanned). Otherwise it is a plain atomic store.
//!
//! Not barriered, by design: the running coroutine's own stack slots and
//! frames (stacks are scanned, not barriered, as in Go: a coroutine scans
//! its stack before it runs during a mark, `Mutator::claim_running`), and
//! `init_*` of a fresh object, which no other object can reach before the
//! store (allocated black during a mark, it is never traced: what it
//! holds came from a scanned stack, from marked objects or through this
//! barrier).

use std::sync::atomic::{AtomicU64, Ordering};

use gc::ObjPtr;

/// A field type that is whole 8-byte words with no padding: what the
/// barrier stores and a concurrent marker loads, one atomic word at a time
/// (a marker may see a 16-byte field half old, half new; each half is a
/// value that was stored during the cycle, so an object that exists).
///
/// # Safety
/// 1. `size_of::<Self>()` is a multiple of 8, its alignment is 8, and
///    every byte of every value is initialised (no padding), so a value
///    can be moved as `u64` words.
/// 2. `each_obj` yields every heap object the value points to (what the
///    barrier must shade).
pub unsafe trait Word: Copy {
    fn each_obj(self, f: impl FnMut(ObjPtr));
}

// SAFETY: a NaN-boxed `u64`; an object value is its one pointer.
unsafe impl Word for crate::value::Value {
    #[inline(always)]
    fn each_obj(self, mut f: impl FnMut(ObjPtr)) {
        if let Some(o) = self.as_obj() {
            f(o.ptr());
        }
    }
}
// SAFETY: a non-null pointer or its `None` niche: one word.
unsafe impl<T> Word for Option<super::Gc<T>> {
    #[inline(always)]
    fn each_obj(self, mut f: impl FnMut(ObjPtr)) {
        if let Some(g) = self {
            f(g.ptr.cast());
        }
    }
}
// SAFETY: `#[repr(C)]` key handle and value: two words, no padding.
unsafe impl Word for super::Entry {
    #[inline(always)]
    fn each_obj(self, mut f: impl FnMut(ObjPtr)) {
        self.key.each_obj(&mut f);
        self.value.each_obj(f);
    }
}
// SAFETY: `#[repr(C)]` head and tail handles: two words, no padding.
unsafe impl Word for super::WaitQueue {
    #[inline(always)]
    fn each_obj(self, mut f: impl FnMut(ObjPtr)) {
        self.head.each_obj(&mut f);
        self.tail.each_obj(f);
    }
}

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
/// mutator, around the heap's one `gc::Barrier`; not `Clone`.
pub struct WriteBarrier {
    gc: gc::Barrier,
    pub(crate) seeds: crate::seeds::SeedHooks,
}

impl WriteBarrier {
    /// The mutator's barrier (`Mutator::new` is the only caller).
    pub(crate) fn new(gc: gc::Barrier) -> WriteBarrier {
        WriteBarrier {
            gc,
            seeds: Default::default(),
        }
    }

    /// Greys `obj` (a live object) while a cycle marks: an object the
    /// mutator found through a weak reference (the intern set).
    #[inline]
    pub(crate) fn shade(&mut self, obj: super::ObjRef) {
        if self.gc.marking() {
            self.gc.shade(obj.ptr());
        }
    }

    /// The collector's side, for the heap's phase calls and self-scans.
    pub(crate) fn gc(&mut self) -> &mut gc::Barrier {
        &mut self.gc
    }

    /// The hybrid barrier's shading for a store of `new` over `*slot`.
    ///
    /// # Safety
    /// As [`write`](Self::write).
    #[inline(never)]
    unsafe fn shade_store<T: Word>(&mut self, slot: *mut T, new: T, shade_old: bool) {
        if shade_old {
            // SAFETY: point 1 of `write`; the mutator is the only writer,
            // so a plain read races with no store.
            let old = unsafe { slot.read() };
            old.each_obj(|p| self.gc.shade(p));
        }
        new.each_obj(|p| self.gc.shade(p));
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
        if self.gc.marking() {
            // SAFETY: this function's preconditions.
            unsafe { self.shade_store(slot, new, true) };
        }
        // SAFETY: this function's preconditions.
        unsafe { self.store(slot, new) };
    }

    /// As [`write`](Self::write), for value-array elements (list items),
    /// the store kind the missing-barrier seed breaks.
    ///
    /// # Safety
    /// As [`write`](Self::write).
    #[inline(always)]
    pub(super) unsafe fn write_item<T: Word>(&mut self, slot: *mut T, new: T) {
        if self.gc.marking() {
            let shade_old = !self.seeds.skips_item_barrier();
            // SAFETY: this function's preconditions.
            unsafe { self.shade_store(slot, new, shade_old) };
        }
        // SAFETY: this function's preconditions.
        unsafe { self.store(slot, new) };
    }

    /// The store itself: one release store per word.
    ///
    /// # Safety
    /// As [`write`](Self::write).
    #[inline(always)]
    unsafe fn store<T: Word>(&mut self, slot: *mut T, new: T) {
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
