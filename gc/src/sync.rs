//! The loom facade and the lock-rank checker.
//!
//! Every atomic, mutex, condition variable, thread and `UnsafeCell` that the
//! sweep protocol uses comes from here. Under `cfg(loom)` they are loom's
//! model-checked versions, so `tests/loom_*.rs` explore the real code's
//! interleavings; otherwise they are `std` atomics and `parking_lot` locks.
//!
//! Exceptions, on purpose: the page-to-span table lives in `mmap`ed memory
//! and uses `std` atomics directly (loom atomics cannot live in zeroed OS
//! memory), and the diagnostic span identity words are `std` atomics (they
//! are only read to print a span in `gc_throw!`).
#![allow(unsafe_code)]

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize,
};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize,
};

pub(crate) use std::sync::atomic::Ordering;

#[cfg(loom)]
pub(crate) use loom::sync::Arc;
#[cfg(not(loom))]
pub(crate) use std::sync::Arc;

#[cfg(loom)]
pub(crate) use loom::thread;
#[cfg(not(loom))]
pub(crate) use std::thread;

/// Give other threads a chance while waiting for a sweeper (never while
/// holding a lock the sweeper needs).
#[inline]
pub(crate) fn yield_now() {
    thread::yield_now();
}

// ---------------------------------------------------------------------------
// UnsafeCell with loom's closure API.

/// `core::cell::UnsafeCell` with loom's `with`/`with_mut` API, so that under
/// loom every access to span metadata is checked for causality (a write that
/// is not ordered after a concurrent read or write is reported).
#[cfg(not(loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(core::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) fn new(v: T) -> Self {
        UnsafeCell(core::cell::UnsafeCell::new(v))
    }
    /// Read access through a raw pointer; the caller's `unsafe` block states
    /// why no one writes concurrently.
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }
    /// Write access through a raw pointer; the caller's `unsafe` block states
    /// why the access is exclusive.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;

// ---------------------------------------------------------------------------
// Lock ranks.

/// The collector's locks, by rank: a thread may acquire a lock only when
/// its rank is higher than that of every lock it already holds (checked in
/// debug builds, `LOCK_RANK`). Each variant says what its lock guards;
/// ARCHITECTURE.md's lock table lists these names (a root-package test
/// checks it). No collector lock is held while an embedder callback runs
/// (`collect` takes none around `mark_roots`/`trace`/`sweep_weak`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum LockRank {
    /// `MHeap::lock`: the page allocator's free runs, committed pages, the
    /// span-struct pool, `allspans` appends and page-table writes.
    MHeap = 1,
    /// `MCentral::lock` (one per size class): the class's partial/full ×
    /// swept/unswept lists and the links of every listed span.
    MCentral = 2,
    /// `MSpan::specials` (one per span): the span's finalizer specials;
    /// taken by the mutator in `set_finalizer`/`remove_finalizer`, by
    /// sweepers in `sweep_span`, by the marker, and by `MHeap::free_span`'s
    /// check.
    Specials = 3,
    /// `Finq::lock`: the finalizer queue, `fingwait` and `fingwake` (taken
    /// inside a span's specials lock when a sweeper queues).
    Finq = 4,
    /// The background sweeper's park lock: its `work`/`parked` flags.
    BgSweepPark = 5,
    /// `SharedTrace::buf` (a leaf): the background sweeper's trace events.
    Trace = 6,
    /// `WorkQueue::state` (a leaf): the grey queue of full buffers, the
    /// mark worker's jobs and its idle flag (`mgcmark.rs`); taken by every
    /// marker, never with another lock held.
    Work = 7,
}

impl LockRank {
    /// Every rank, in acquisition order.
    pub const ALL: &'static [LockRank] = &[
        LockRank::MHeap,
        LockRank::MCentral,
        LockRank::Specials,
        LockRank::Finq,
        LockRank::BgSweepPark,
        LockRank::Trace,
        LockRank::Work,
    ];

    /// The rank's number (1 is taken first).
    pub const fn rank(self) -> u8 {
        self as u8
    }
}

#[cfg(all(debug_assertions, not(loom)))]
mod rank_check {
    use super::LockRank;
    use std::cell::RefCell;

    thread_local! {
        static HELD: RefCell<Vec<LockRank>> = const { RefCell::new(Vec::new()) };
    }

    pub(super) fn acquire(rank: LockRank) {
        HELD.with(|h| {
            let mut h = h.borrow_mut();
            if let Some(&top) = h.iter().max() {
                if top >= rank {
                    crate::throw::throw(
                        crate::invariant::Invariant::LockRank,
                        format_args!("acquiring {rank:?} while holding {top:?} (held: {h:?})"),
                    );
                }
            }
            h.push(rank);
        });
    }

    pub(super) fn release(rank: LockRank) {
        HELD.with(|h| {
            let mut h = h.borrow_mut();
            if let Some(pos) = h.iter().rposition(|&r| r == rank) {
                h.remove(pos);
            }
        });
    }

    pub(super) fn holds(rank: LockRank) -> bool {
        HELD.with(|h| h.borrow().contains(&rank))
    }
}

#[cfg(not(all(debug_assertions, not(loom))))]
mod rank_check {
    use super::LockRank;
    #[inline(always)]
    pub(super) fn acquire(_: LockRank) {}
    #[inline(always)]
    pub(super) fn release(_: LockRank) {}
    #[inline(always)]
    pub(super) fn holds(_: LockRank) -> bool {
        true
    }
}

/// Debug-asserts that the current thread holds a lock of `rank` (a lock
/// precondition). Always true in release builds and under loom.
#[inline(always)]
pub(crate) fn assert_held(rank: LockRank) {
    debug_assert!(rank_check::holds(rank), "lock {rank:?} must be held");
}

/// Debug-asserts that the current thread holds no lock of `rank`.
#[inline(always)]
#[allow(dead_code)]
pub(crate) fn assert_not_held(rank: LockRank) {
    #[cfg(all(debug_assertions, not(loom)))]
    debug_assert!(!rank_check::holds(rank), "lock {rank:?} must not be held");
    let _ = rank;
}

#[cfg(not(loom))]
type RawGuard<'a, T> = parking_lot::MutexGuard<'a, T>;
#[cfg(loom)]
type RawGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

/// A mutex with a rank (see [`LockRank`]).
#[derive(Debug)]
pub(crate) struct Mutex<T> {
    rank: LockRank,
    #[cfg(not(loom))]
    inner: parking_lot::Mutex<T>,
    #[cfg(loom)]
    inner: loom::sync::Mutex<T>,
}

/// Guard of a ranked [`Mutex`].
pub(crate) struct MutexGuard<'a, T> {
    rank: LockRank,
    guard: Option<RawGuard<'a, T>>,
}

impl<T> Mutex<T> {
    pub(crate) fn new(rank: LockRank, v: T) -> Self {
        Mutex {
            rank,
            #[cfg(not(loom))]
            inner: parking_lot::Mutex::new(v),
            #[cfg(loom)]
            inner: loom::sync::Mutex::new(v),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        rank_check::acquire(self.rank);
        #[cfg(not(loom))]
        let guard = self.inner.lock();
        #[cfg(loom)]
        let guard = self.inner.lock().expect("gc mutex poisoned");
        MutexGuard {
            rank: self.rank,
            guard: Some(guard),
        }
    }
}

impl<T> core::ops::Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.guard.as_ref().expect("guard present until drop")
    }
}

impl<T> core::ops::DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.guard.as_mut().expect("guard present until drop")
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.guard = None;
        rank_check::release(self.rank);
    }
}

/// Condition variable for ranked mutexes.
#[derive(Debug, Default)]
pub(crate) struct Condvar {
    #[cfg(not(loom))]
    inner: parking_lot::Condvar,
    #[cfg(loom)]
    inner: loom::sync::Condvar,
}

impl Condvar {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Atomically releases the lock and waits; the lock is re-acquired on
    /// return. Rank bookkeeping is unchanged: while waiting the thread holds
    /// nothing else it could order against.
    pub(crate) fn wait<T>(&self, g: &mut MutexGuard<'_, T>) {
        #[cfg(not(loom))]
        {
            let raw = g.guard.as_mut().expect("guard present until drop");
            self.inner.wait(raw);
        }
        #[cfg(loom)]
        {
            let raw = g.guard.take().expect("guard present until drop");
            g.guard = Some(self.inner.wait(raw).expect("gc mutex poisoned"));
        }
    }

    pub(crate) fn notify_one(&self) {
        self.inner.notify_one();
    }

    pub(crate) fn notify_all(&self) {
        self.inner.notify_all();
    }
}
