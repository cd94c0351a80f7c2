//! `MSpan`: a run of pages holding objects of one size class, or one large
//! object. Its metadata lives here, outside the span's memory.
//!
//! # Who may touch `MSpan::data`
//!
//! `data` is an `UnsafeCell`: at any moment exactly one party owns it, and
//! every `unsafe` access names which row below holds.
//!
//! | owner | when |
//! | --- | --- |
//! | the `MHeap` lock holder | `state == Dead`, and while `MHeap::alloc_span` initializes the span before publishing `InUse` |
//! | the sweeper holding `SweepLocked` | `sweepgen == sg-1` (from `try_acquire` until the serialization point in `sweep_span`) |
//! | the `MCentral` lock holder of the span's class | the span is on one of that mcentral's swept lists |
//! | the mutator | the span is in the mutator's `MCache`, or was just taken off the lists by `cache_span`, or is a large span being returned by `alloc_large` |
//! | the stop-the-world collector (verify, checkmark) | inside a stop-the-world phase of a cycle, when no sweeper holds any span (`SWEEP_BEFORE_MARK`) |
//!
//! Markers (the mark worker, the mutator's write barrier and assists, the
//! allocator marking new objects black) never touch `data`: they read the
//! span's geometry from `geom` (written with the data at init under the heap
//! lock, immutable while the span is in use) and set bits in `gcmark`, whose
//! words are atomic. No sweeper runs while anyone marks (`SWEEP_BEFORE_MARK`),
//! and a span being marked is in use (it holds a live object), so neither the
//! words nor the geometry change under a marker.
//!
//! A swept large span that is on no list is quiescent: nobody touches its
//! data until the next cycle's sweeper claims it or the STW collector reads
//! it.
#![allow(unsafe_code)]

use crate::finalizer::Specials;
use crate::sizeclasses::{class_info, PAGE_SIZE};
use crate::sync::{AtomicU32, AtomicU64, AtomicU8, Ordering, UnsafeCell};
use core::ptr::{self, NonNull};
use std::sync::atomic::{AtomicU32 as StdAtomicU32, AtomicUsize as StdAtomicUsize};

// ---------------------------------------------------------------------------
// SweepGen

/// A span's sweep generation. All comparisons against the heap's `sg` live
/// here, so the table below is the only place that defines them.
///
/// With `sg` the heap's current sweepgen (`SweepState::sweepgen`, advanced by
/// 2 at every mark termination; arithmetic wraps):
///
/// | `span.sweepgen` | meaning | who may change it, to what |
/// | --- | --- | --- |
/// | `sg - 2` | needs sweeping: the span was allocated before the last mark | any sweeper, `sg-2 -> sg-1`, only by CAS in `try_acquire` |
/// | `sg - 1` | being swept; the `SweepLocked` holder owns the span exclusively | only that holder, `sg-1 -> sg`, by the release store in `sweep_span` (the serialization point) |
/// | `sg` | swept and ready: on an mcentral swept list, in the mcache, a quiescent large span, or freshly allocated by `MHeap::alloc_span` | nobody; mark termination's `sg += 2` turns it into `sg - 2` |
/// | `sg + 1`, `sg + 3` | Go: cached in an mcache before / after sweep began | not used: the single mcache is flushed during STW sweep termination, so no span is cached across a sweepgen bump |
///
/// Any other value is a bug (`SWEEP_OWNERSHIP`).
#[derive(Debug)]
pub(crate) struct SweepGen(AtomicU32);

impl SweepGen {
    pub(crate) fn new(v: u32) -> Self {
        SweepGen(AtomicU32::new(v))
    }

    /// Raw value, for diagnostics and checks.
    #[inline]
    pub(crate) fn load(&self) -> u32 {
        self.0.load(Ordering::Acquire)
    }

    /// `sweepgen == sg`: swept (or created) in the current cycle.
    #[inline]
    pub(crate) fn is_swept(&self, sg: u32) -> bool {
        self.load() == sg
    }

    /// `sweepgen == sg - 1`: someone holds it for sweeping.
    #[inline]
    pub(crate) fn is_being_swept(&self, sg: u32) -> bool {
        self.load() == sg.wrapping_sub(1)
    }

    /// `sweepgen == sg - 2`: needs sweeping.
    #[inline]
    pub(crate) fn needs_sweep(&self, sg: u32) -> bool {
        self.load() == sg.wrapping_sub(2)
    }

    /// The claim: CAS `sg-2 -> sg-1`. Only `sweep::try_acquire` calls this.
    #[inline]
    pub(crate) fn try_claim(&self, sg: u32) -> bool {
        self.0
            .compare_exchange(
                sg.wrapping_sub(2),
                sg.wrapping_sub(1),
                Ordering::AcqRel,
                Ordering::Relaxed,
            )
            .is_ok()
    }

    /// The publish: store `sg` with release ordering, so everything the
    /// sweeper wrote to the span happens-before any later observer of `sg`.
    /// Only `SweepLocked::sweep_span` calls this.
    #[inline]
    pub(crate) fn publish(&self, sg: u32) {
        self.0.store(sg, Ordering::Release);
    }

    /// Set for a span being created by `MHeap::alloc_span` (heap lock held,
    /// span not yet `InUse`, so no sweeper can claim it).
    #[inline]
    pub(crate) fn init(&self, sg: u32) {
        self.0.store(sg, Ordering::Release);
    }
}

// ---------------------------------------------------------------------------
// Span state

/// The span's state: one atomic byte, changed only through
/// [`MSpan::transition`], which asserts the legal edges.
///
/// | state | meaning | owner of `data` | legal successors |
/// | --- | --- | --- | --- |
/// | `Dead` | the struct sits in the `MHeap` span pool; its former pages are free (or it never had any) | `MHeap` lock | `InUse` (`MHeap::alloc_span`) |
/// | `InUse` | holds objects of one size class, or one large object | see the module table | `Dead` (`MHeap::free_span`, which needs a `FreedSpan` token that only a finished sweep produces: `FREE_AFTER_SWEEP`) |
///
/// (Go also has `mSpanManual` for stacks; loam will add it with coroutine
/// stacks, with edges `Dead <-> Manual`. Manual spans are never swept.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum MSpanState {
    Dead = 0,
    InUse = 1,
}

impl MSpanState {
    fn from_u8(v: u8) -> MSpanState {
        match v {
            0 => MSpanState::Dead,
            1 => MSpanState::InUse,
            _ => gc_throw!(SpanState, "corrupt span state byte {v}"),
        }
    }
}

// ---------------------------------------------------------------------------
// Span data

/// The mutable metadata of a span (owned as the module table says).
#[derive(Debug, Default)]
pub(crate) struct SpanData {
    /// Address of the first byte of the span.
    pub(crate) start: usize,
    /// Pages in the span.
    pub(crate) npages: usize,
    /// Size class; 0 = a large span holding one object.
    pub(crate) spanclass: usize,
    /// Object size (for a large span, the whole span).
    pub(crate) elemsize: usize,
    /// Number of object slots.
    pub(crate) nelems: usize,
    /// `off / elemsize == (off * div_mul) >> 32` (Go's `divMul`).
    pub(crate) div_mul: u32,
    /// Every slot below `freeindex` is allocated; search for a free slot
    /// starts here (Go's `freeindex`).
    pub(crate) freeindex: usize,
    /// Inverted `alloc_bits` starting at `freeindex`: a 1 bit is a free
    /// slot (Go's `allocCache`).
    pub(crate) alloc_cache: u64,
    /// Allocated objects in the span.
    pub(crate) alloc_count: usize,
    /// Slots allocated as of the last sweep (or span creation). A slot is
    /// allocated iff its index `< freeindex` or its bit is set here.
    pub(crate) alloc_bits: Vec<u64>,
}

impl SpanData {
    /// Slot `i` is allocated (allocated objects are exactly these).
    #[inline]
    pub(crate) fn is_allocated(&self, i: usize) -> bool {
        i < self.freeindex || self.alloc_bits[i / 64] & (1 << (i % 64)) != 0
    }

    /// Object index of a byte offset into the span.
    #[inline(always)]
    pub(crate) fn obj_index(&self, off: usize) -> usize {
        if self.nelems == 1 {
            // Large span (or a one-object class): only offset 0 is an object,
            // and any offset maps to it; verify mode checks `off == 0`.
            0
        } else {
            ((off as u64 * self.div_mul as u64) >> 32) as usize
        }
    }

    /// Bitmap words for this span.
    #[inline]
    pub(crate) fn bitmap_words(&self) -> usize {
        self.nelems.div_ceil(64)
    }

    /// Go's `nextFreeFast`: the next free slot from `alloc_cache`, or `None`
    /// when the cache is exhausted or the search would cross into the next
    /// 64-slot word (then [`next_free_index`](Self::next_free_index)).
    #[inline(always)]
    pub(crate) fn next_free_fast(&mut self) -> Option<usize> {
        let bit = self.alloc_cache.trailing_zeros() as usize;
        if bit < 64 {
            let result = self.freeindex + bit;
            if result < self.nelems {
                let freeidx = result + 1;
                if freeidx.is_multiple_of(64) && freeidx != self.nelems {
                    return None;
                }
                // Two shifts: `bit + 1` may be 64.
                self.alloc_cache = (self.alloc_cache >> bit) >> 1;
                self.freeindex = freeidx;
                self.alloc_count += 1;
                return Some(result);
            }
        }
        None
    }

    /// Load `alloc_cache` with the inverted alloc bits of word `word`.
    #[inline]
    fn refill_alloc_cache(&mut self, word: usize) {
        self.alloc_cache = !self.alloc_bits[word];
    }

    /// Go's `nextFreeIndex` + the `allocCount++` of `mallocgc`: the next
    /// free slot, or `None` when the span is full.
    pub(crate) fn next_free_index(&mut self) -> Option<usize> {
        let mut sfreeindex = self.freeindex;
        let snelems = self.nelems;
        if sfreeindex >= snelems {
            return None;
        }
        let mut cache = self.alloc_cache;
        let mut bit = cache.trailing_zeros() as usize;
        while bit == 64 {
            // Move to the next word of the bitmap.
            sfreeindex = (sfreeindex + 64) & !63;
            if sfreeindex >= snelems {
                self.freeindex = snelems;
                return None;
            }
            self.refill_alloc_cache(sfreeindex / 64);
            cache = self.alloc_cache;
            bit = cache.trailing_zeros() as usize;
        }
        let result = sfreeindex + bit;
        if result >= snelems {
            self.freeindex = snelems;
            return None;
        }
        self.alloc_cache = (cache >> bit) >> 1;
        sfreeindex = result + 1;
        if sfreeindex.is_multiple_of(64) && sfreeindex != snelems {
            self.refill_alloc_cache(sfreeindex / 64);
        }
        self.freeindex = sfreeindex;
        self.alloc_count += 1;
        Some(result)
    }

    /// Reset for a fresh span of `spanclass` over `npages` at `start`.
    /// Bitmaps keep their allocation when large enough.
    pub(crate) fn init(&mut self, start: usize, npages: usize, spanclass: usize) {
        self.start = start;
        self.npages = npages;
        self.spanclass = spanclass;
        if spanclass == 0 {
            self.elemsize = npages * PAGE_SIZE;
            self.nelems = 1;
            self.div_mul = 0;
        } else {
            let ci = class_info(spanclass);
            self.elemsize = ci.size as usize;
            self.nelems = ci.nelems as usize;
            self.div_mul = ci.div_mul;
        }
        let words = self.bitmap_words();
        self.alloc_bits.clear();
        self.alloc_bits.resize(words, 0);
        self.freeindex = 0;
        self.alloc_cache = !0;
        self.alloc_count = 0;
    }
}

// ---------------------------------------------------------------------------
// Geometry and mark bits: what markers may read and write

/// Where a span's objects are: a copy of the data's geometry for threads
/// that do not own the data (markers). Written with the data by
/// `MHeap::alloc_span` (heap lock, span `Dead`); immutable while `InUse`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SpanGeom {
    pub(crate) start: usize,
    pub(crate) elemsize: usize,
    pub(crate) nelems: usize,
    pub(crate) div_mul: u32,
}

impl SpanGeom {
    /// Object index of a byte offset into the span (as
    /// [`SpanData::obj_index`]).
    #[inline(always)]
    pub(crate) fn obj_index(&self, off: usize) -> usize {
        if self.nelems == 1 {
            0
        } else {
            ((off as u64 * self.div_mul as u64) >> 32) as usize
        }
    }
}

/// A span's mark bits, one atomic word per 64 slots (see the module docs
/// for who may touch them). Any number of markers set bits at once with
/// `fetch_or`; the span's sweeper reads and clears them; only
/// `MHeap::alloc_span` resizes them (span `Dead`, heap lock).
#[derive(Debug)]
pub(crate) struct MarkBits {
    words: UnsafeCell<Box<[AtomicU64]>>,
}

impl MarkBits {
    fn new() -> MarkBits {
        MarkBits {
            words: UnsafeCell::new(Box::new([])),
        }
    }

    /// The words.
    ///
    /// # Safety
    /// 1. The span is in use (nobody resizes the words) or the caller holds
    ///    the heap lock with the span `Dead`.
    #[inline(always)]
    unsafe fn words(&self) -> &[AtomicU64] {
        // SAFETY: the box is replaced only by `reset`, under the heap lock
        // for a Dead span (precondition 1 excludes that here).
        self.words.with(|w| unsafe { &**w })
    }

    /// Sets bit `i`; true if it was clear (the caller greyed the object).
    /// `exclusive`: the caller is the only marker (the world is stopped),
    /// so a plain load and store do; otherwise other markers may set bits
    /// of the same word at once and it takes an atomic `fetch_or` (only
    /// when the bit is not set yet: most marks find it set).
    ///
    /// # Safety
    /// As [`words`](Self::words).
    #[inline(always)]
    pub(crate) unsafe fn set(&self, i: usize, exclusive: bool) -> bool {
        let bit = 1u64 << (i % 64);
        // SAFETY: the caller's precondition.
        let w = unsafe { &self.words()[i / 64] };
        // Relaxed is enough for the bit itself; what it protects (the
        // object's contents) is ordered by the release store that
        // published the pointer and the marker's acquire load of it.
        let old = w.load(Ordering::Relaxed);
        if old & bit != 0 {
            return false;
        }
        if exclusive {
            w.store(old | bit, Ordering::Relaxed);
            true
        } else {
            w.fetch_or(bit, Ordering::Relaxed) & bit == 0
        }
    }

    /// Bit `i`.
    ///
    /// # Safety
    /// As [`words`](Self::words).
    #[inline(always)]
    pub(crate) unsafe fn get(&self, i: usize) -> bool {
        // SAFETY: the caller's precondition.
        unsafe { self.words()[i / 64].load(Ordering::Relaxed) & (1 << (i % 64)) != 0 }
    }

    /// Word `w` (the sweeper, which owns the span).
    ///
    /// # Safety
    /// As [`words`](Self::words).
    #[inline]
    pub(crate) unsafe fn word(&self, w: usize) -> u64 {
        // SAFETY: the caller's precondition.
        unsafe { self.words()[w].load(Ordering::Relaxed) }
    }

    /// Clears the first `n` words (the sweeper, after turning them into the
    /// allocation bits).
    ///
    /// # Safety
    /// As [`words`](Self::words), and the caller owns the span's data (no
    /// marker runs).
    #[inline]
    pub(crate) unsafe fn clear(&self, n: usize) {
        // SAFETY: the caller's precondition.
        for w in unsafe { &self.words()[..n] } {
            w.store(0, Ordering::Relaxed);
        }
    }

    /// `n` zeroed words for the stop-the-world checkmark.
    ///
    /// # Safety
    /// 1. The world is stopped with no sweeper in any span and no marker
    ///    running (mark termination): nobody holds a reference to the words.
    pub(crate) unsafe fn reset_stopped(&self, n: usize) {
        self.words.with_mut(|w| {
            // SAFETY: precondition 1: nobody else touches the box.
            let w = unsafe { &mut *w };
            if w.len() == n {
                for x in w.iter() {
                    x.store(0, Ordering::Relaxed);
                }
            } else {
                *w = (0..n).map(|_| AtomicU64::new(0)).collect();
            }
        })
    }

    /// `n` zeroed words, for a span being initialized.
    ///
    /// # Safety
    /// 1. The caller holds the heap lock and the span is `Dead`: no marker
    ///    or sweeper can hold a reference to the words.
    pub(crate) unsafe fn reset(&self, n: usize) {
        self.words.with_mut(|w| {
            // SAFETY: precondition 1: nobody else touches the box.
            let w = unsafe { &mut *w };
            if w.len() == n {
                for x in w.iter() {
                    x.store(0, Ordering::Relaxed);
                }
            } else {
                *w = (0..n).map(|_| AtomicU64::new(0)).collect();
            }
        })
    }
}

// ---------------------------------------------------------------------------
// List links

/// Which mcentral list a span is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum ListId {
    /// On no list (in the mcache, being swept after removal, large, dead).
    #[default]
    None,
    /// `MCentral` list `partial[i]`.
    Partial(u8),
    /// `MCentral` list `full[i]`.
    Full(u8),
}

/// Intrusive doubly-linked list links. Guarded by the `MCentral` lock of
/// the span's class whenever `list != None`; otherwise by the span's owner.
#[derive(Debug)]
pub(crate) struct SpanLinks {
    pub(crate) next: *const MSpan,
    pub(crate) prev: *const MSpan,
    pub(crate) list: ListId,
}

impl Default for SpanLinks {
    fn default() -> Self {
        SpanLinks {
            next: ptr::null(),
            prev: ptr::null(),
            list: ListId::None,
        }
    }
}

// ---------------------------------------------------------------------------
// MSpan

/// Span metadata. Span structs are allocated by `MHeap`, recorded forever in
/// `allspans`, recycled through the span pool and freed only when the heap
/// is dropped, so a pointer read from a span-list snapshot never dangles
/// (`SPAN_LIST_SNAPSHOT`).
pub(crate) struct MSpan {
    /// See [`SweepGen`]. Atomic; moved only by `try_acquire` (claim),
    /// `sweep_span` (publish) and `MHeap::alloc_span` (init, heap lock).
    pub(crate) sweepgen: SweepGen,
    /// See [`MSpanState`]. Atomic; written under the `MHeap` lock via
    /// [`MSpan::transition`].
    state: AtomicU8,
    /// mcentral list links; guarded as [`SpanLinks`] says.
    pub(crate) links: UnsafeCell<SpanLinks>,
    /// Metadata; owned as the module table says.
    pub(crate) data: UnsafeCell<SpanData>,
    /// Geometry for markers (see [`SpanGeom`]).
    geom: UnsafeCell<SpanGeom>,
    /// Mark bits of the cycle in progress; zero outside marking. Sweeping
    /// turns them into the next allocation bits and clears them.
    pub(crate) gcmark: MarkBits,
    /// `--gc-verify`'s second bitmap (Go's checkmark bits): sized and
    /// written only by the stop-the-world checkmark at mark termination
    /// (`verify::checkmark`), empty otherwise.
    pub(crate) checkmark: MarkBits,
    /// Copies of start page / npages / class for `gc_throw!` diagnostics
    /// only (std atomics, written under the heap lock at init, read
    /// anywhere without synchronization requirements).
    diag_start: StdAtomicUsize,
    diag_npages: StdAtomicUsize,
    diag_class: StdAtomicU32,
    /// Finalizer specials (DESIGN.md "Finalizers"): (object offset,
    /// finalizer) records under their own lock, rank `LockRank::Specials`.
    /// Added and removed by the mutator, consumed by the sweep at the place
    /// marked `FINALIZER SPECIALS` in `sweep.rs`; empty whenever the span
    /// is not in use (`SPECIALS_KEEP_ALIVE`).
    pub(crate) specials: Specials,
}

impl core::fmt::Debug for MSpan {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl MSpan {
    pub(crate) fn new() -> MSpan {
        MSpan {
            sweepgen: SweepGen::new(0),
            state: AtomicU8::new(MSpanState::Dead as u8),
            links: UnsafeCell::new(SpanLinks::default()),
            data: UnsafeCell::new(SpanData::default()),
            geom: UnsafeCell::new(SpanGeom::default()),
            gcmark: MarkBits::new(),
            checkmark: MarkBits::new(),
            diag_start: StdAtomicUsize::new(0),
            diag_npages: StdAtomicUsize::new(0),
            diag_class: StdAtomicU32::new(0),
            specials: Specials::new(),
        }
    }

    #[inline]
    pub(crate) fn state(&self) -> MSpanState {
        MSpanState::from_u8(self.state.load(Ordering::Acquire))
    }

    /// The only way to change `state`. Legal edges: `Dead -> InUse`,
    /// `InUse -> Dead` (see [`MSpanState`]); anything else, or a span that is
    /// not in `from`, throws `SPAN_STATE`. Release ordering: a sweeper that
    /// observes `InUse` also observes the `sweepgen` stored before it.
    pub(crate) fn transition(&self, from: MSpanState, to: MSpanState) {
        let legal = matches!(
            (from, to),
            (MSpanState::Dead, MSpanState::InUse) | (MSpanState::InUse, MSpanState::Dead)
        );
        if !legal {
            gc_throw!(
                SpanState,
                span = self,
                "illegal transition {from:?} -> {to:?}"
            );
        }
        if let Err(cur) =
            self.state
                .compare_exchange(from as u8, to as u8, Ordering::AcqRel, Ordering::Acquire)
        {
            gc_throw!(
                SpanState,
                span = self,
                "transition {from:?} -> {to:?} but span is {:?}",
                MSpanState::from_u8(cur)
            );
        }
    }

    /// Record diagnostic identity (heap lock held, at init).
    pub(crate) fn set_diag(&self, start: usize, npages: usize, class: usize) {
        self.diag_start.store(start, Ordering::Relaxed);
        self.diag_npages.store(npages, Ordering::Relaxed);
        self.diag_class.store(class as u32, Ordering::Relaxed);
    }

    /// `(start, npages, class)` as recorded at init: only atomics are read,
    /// so any thread may call it. Exact for an `InUse` span while the caller
    /// holds the `MHeap` lock (init and free happen under it).
    pub(crate) fn diag(&self) -> (usize, usize, usize) {
        (
            self.diag_start.load(Ordering::Relaxed),
            self.diag_npages.load(Ordering::Relaxed),
            self.diag_class.load(Ordering::Relaxed) as usize,
        )
    }

    /// One-line description for `gc_throw!`: only atomics are read, so it is
    /// safe from any thread at any time.
    pub(crate) fn describe(&self) -> String {
        let state = self.state.load(Ordering::Acquire);
        format!(
            "span {:p} start={:#x} npages={} class={} state={} sweepgen={}",
            self as *const MSpan,
            self.diag_start.load(Ordering::Relaxed),
            self.diag_npages.load(Ordering::Relaxed),
            self.diag_class.load(Ordering::Relaxed),
            match state {
                0 => "Dead",
                1 => "InUse",
                _ => "corrupt",
            },
            self.sweepgen.load(),
        )
    }

    /// Run `f` on the span's data.
    ///
    /// # Safety
    /// 1. The caller is the data's current owner per the table in this
    ///    module's docs, and no other reference to the data is live.
    #[inline(always)]
    pub(crate) unsafe fn with_data<R>(&self, f: impl FnOnce(&mut SpanData) -> R) -> R {
        // SAFETY: exclusive ownership is the caller's precondition 1.
        self.data.with_mut(|d| f(unsafe { &mut *d }))
    }

    /// The span's geometry.
    ///
    /// # Safety
    /// 1. The span is in use and stays so while the caller uses the copy
    ///    (the caller found it through a live object, or owns its data), or
    ///    the caller holds the heap lock.
    #[inline(always)]
    pub(crate) unsafe fn geom(&self) -> SpanGeom {
        // SAFETY: `geom` is written only by `init_geom` (heap lock, span
        // Dead), which precondition 1 excludes.
        self.geom.with(|g| unsafe { *g })
    }

    /// Sets the geometry and zeroes the mark bits of a span being
    /// initialized from `d`.
    ///
    /// # Safety
    /// 1. The caller holds the heap lock and the span is `Dead`.
    pub(crate) unsafe fn init_geom(&self, d: &SpanData) {
        self.geom.with_mut(|g| {
            // SAFETY: precondition 1: no reader while the span is Dead.
            unsafe {
                *g = SpanGeom {
                    start: d.start,
                    elemsize: d.elemsize,
                    nelems: d.nelems,
                    div_mul: d.div_mul,
                }
            }
        });
        // SAFETY: precondition 1.
        unsafe { self.gcmark.reset(d.bitmap_words()) };
    }

    /// Run `f` on the span's list links.
    ///
    /// # Safety
    /// 1. The caller holds the `MCentral` lock of the span's class, or the
    ///    span is on no list and the caller owns its data.
    #[inline(always)]
    pub(crate) unsafe fn with_links<R>(&self, f: impl FnOnce(&mut SpanLinks) -> R) -> R {
        // SAFETY: exclusive access is the caller's precondition 1.
        self.links.with_mut(|l| f(unsafe { &mut *l }))
    }
}

/// Shorthand for a span pointer that the heap keeps alive until it is
/// dropped (span structs are never freed earlier).
pub(crate) type SpanPtr = NonNull<MSpan>;
