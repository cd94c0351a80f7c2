//! `MHeap`: the arena, the page-to-span table, the page allocator, the span
//! structs and `allspans`.
//!
//! * **Arena.** One large `PROT_NONE` reservation (64 GiB, halved until the
//!   OS accepts it); pages are committed (`mprotect` read/write) in chunks of
//!   at least 512 KiB as the heap grows. `heap_sys` counts committed bytes.
//! * **Page table.** A flat `mmap`ed array with one word per reserved page
//!   (1/1024 of the reservation, touched lazily), holding the span that owns
//!   the page: "which span holds this address" is one load.
//! * **Page allocator.** Free runs of pages, indexed by start (to coalesce
//!   with neighbours on free) and by (length, start) (best fit), under the
//!   heap lock.
//! * **Span structs** are boxed once, recorded in `allspans` forever, and
//!   recycled through a pool; they are freed only with the heap, so a span
//!   pointer read from any snapshot stays valid (`SPAN_LIST_SNAPSHOT`).
#![allow(unsafe_code)]

use crate::mcentral::MCentral;
use crate::mspan::{MSpan, MSpanState, SpanPtr};
use crate::sizeclasses::{NUM_SIZE_CLASSES, PAGE_SHIFT, PAGE_SIZE};
use crate::sweep::FreedSpan;
use crate::sync::{AtomicPtr, AtomicUsize, LockRank, Mutex, MutexGuard, Ordering};
use crate::AllocError;
use core::ptr::{self, NonNull};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicPtr as StdAtomicPtr, AtomicU64 as StdAtomicU64};

/// Default address-space reservation for the arena.
pub(crate) const DEFAULT_RESERVE: usize = 64 << 30;
/// Smallest reservation we fall back to.
const MIN_RESERVE: usize = 64 << 20;
/// Pages committed at least per growth step (512 KiB).
const GROW_PAGES: usize = 64;

// ---------------------------------------------------------------------------
// allspans

// Under loom the chunks are tiny so that models create new chunks.
#[cfg(not(loom))]
const FIRST_CHUNK_SHIFT: u32 = 6;
#[cfg(loom)]
const FIRST_CHUNK_SHIFT: u32 = 0;
const MAX_CHUNKS: usize = 40;

/// Every span struct ever created, in creation order: an append-only list
/// of geometrically growing chunks. A chunk, once published, is never moved
/// or freed before the heap is dropped, so a reader holding a snapshot
/// length may index it without any lock while appends go on
/// (`SPAN_LIST_SNAPSHOT`, seed 002: Go's `allspans` array was reallocated
/// and freed under readers).
pub(crate) struct AllSpans {
    /// `chunks[k]` holds `64 << k` entries; written once under the heap lock.
    chunks: Vec<AtomicPtr<AtomicPtr<MSpan>>>,
    /// Published length; entries below it are initialized. Written under the
    /// heap lock (release), read anywhere (acquire).
    len: AtomicUsize,
    /// Seed 002's injection points (`seed.rs`): empty without the switch.
    pub(crate) seed002: crate::seed::Seed002,
}

#[inline]
fn chunk_of(i: usize) -> (usize, usize) {
    let j = i + (1 << FIRST_CHUNK_SHIFT);
    let k = (usize::BITS - 1 - j.leading_zeros() - FIRST_CHUNK_SHIFT) as usize;
    (k, j - ((1 << FIRST_CHUNK_SHIFT) << k))
}

impl AllSpans {
    pub(crate) fn new() -> AllSpans {
        AllSpans {
            chunks: (0..MAX_CHUNKS)
                .map(|_| AtomicPtr::new(ptr::null_mut()))
                .collect(),
            len: AtomicUsize::new(0),
            seed002: Default::default(),
        }
    }

    /// Number of spans recorded (acquire: entries below it are visible).
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// Entry `i`, which must be below a length this thread has observed
    /// through [`len`](Self::len) or a snapshot published after it.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> &MSpan {
        let (k, off) = chunk_of(i);
        let chunk = self.chunks[k].load(Ordering::Acquire);
        if chunk.is_null() {
            gc_throw!(
                SpanListSnapshot,
                "allspans index {i} beyond published chunks"
            );
        }
        self.seed002.read_window();
        // SAFETY: chunk k was allocated with `64 << k` entries by `push` and
        // is never freed before the heap (SPAN_LIST_SNAPSHOT; only seed
        // 002's switch moves one, and it keeps the old one allocated);
        // `off < 64 << k` by construction of `chunk_of`.
        let slot = unsafe { &*chunk.add(off) };
        let p = slot.load(Ordering::Acquire);
        if p.is_null() {
            gc_throw!(
                SpanListSnapshot,
                "allspans entry {i} read before it was published"
            );
        }
        if p as usize == crate::seed::FREED_SLOT {
            gc_throw!(
                SpanListSnapshot,
                "allspans entry {i} read from a chunk that growth moved and freed under the reader"
            );
        }
        // SAFETY: span structs live until the heap is dropped (module docs).
        unsafe { &*p }
    }

    /// Append a new span struct. The `MHeap` lock guard proves appends are
    /// serialized.
    fn push(&self, _locked: &mut MutexGuard<'_, MHeapLocked>, span: SpanPtr) {
        let i = self.len.load(Ordering::Relaxed);
        let (k, off) = chunk_of(i);
        if k >= MAX_CHUNKS {
            gc_throw!(SpanListSnapshot, "allspans overflow at {i}");
        }
        let mut chunk = self.chunks[k].load(Ordering::Relaxed);
        if chunk.is_null() {
            let n = (1usize << FIRST_CHUNK_SHIFT) << k;
            let b: Box<[AtomicPtr<MSpan>]> =
                (0..n).map(|_| AtomicPtr::new(ptr::null_mut())).collect();
            chunk = Box::into_raw(b) as *mut AtomicPtr<MSpan>;
            self.chunks[k].store(chunk, Ordering::Release);
        }
        // SAFETY: as in `get`: chunk k has `64 << k` entries, off is in range.
        unsafe { &*chunk.add(off) }.store(span.as_ptr(), Ordering::Release);
        self.seed002
            .after_push(&self.chunks, 1usize << FIRST_CHUNK_SHIFT);
        self.len.store(i + 1, Ordering::Release);
    }
}

impl Drop for AllSpans {
    fn drop(&mut self) {
        for (k, c) in self.chunks.iter().enumerate() {
            let p = c.load(Ordering::Relaxed);
            if !p.is_null() {
                let n = (1usize << FIRST_CHUNK_SHIFT) << k;
                // SAFETY: p came from `Box::into_raw` of a boxed slice of
                // exactly n entries in `push`; we are the last user (drop).
                drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(p, n)) });
            }
        }
    }
}

// ---------------------------------------------------------------------------
// MHeap

/// State guarded by `MHeap::lock`.
pub(crate) struct MHeapLocked {
    /// Free runs by first page.
    free_by_start: BTreeMap<usize, usize>,
    /// Free runs by (length, first page): best fit.
    free_by_size: BTreeSet<(usize, usize)>,
    /// Pages committed so far (a prefix of the reservation).
    committed_pages: usize,
    /// Dead span structs ready for reuse.
    pool: Vec<SpanPtr>,
    /// Pages in in-use spans.
    pages_in_use: usize,
}

impl MHeapLocked {
    fn insert_free(&mut self, start: usize, npages: usize) {
        let (mut start, mut npages) = (start, npages);
        // Coalesce with the run ending at `start`.
        if let Some((&ps, &pn)) = self.free_by_start.range(..start).next_back() {
            if ps + pn == start {
                self.free_by_start.remove(&ps);
                self.free_by_size.remove(&(pn, ps));
                start = ps;
                npages += pn;
            }
        }
        // And with the run starting right after us.
        if let Some(&nn) = self.free_by_start.get(&(start + npages)) {
            self.free_by_start.remove(&(start + npages));
            self.free_by_size.remove(&(nn, start + npages));
            npages += nn;
        }
        self.free_by_start.insert(start, npages);
        self.free_by_size.insert((npages, start));
    }

    fn alloc_pages(&mut self, npages: usize) -> Option<usize> {
        let &(n, s) = self.free_by_size.range((npages, 0)..).next()?;
        self.free_by_size.remove(&(n, s));
        self.free_by_start.remove(&s);
        if n > npages {
            self.free_by_start.insert(s + npages, n - npages);
            self.free_by_size.insert((n - npages, s + npages));
        }
        Some(s)
    }
}

/// The page heap.
pub(crate) struct MHeap {
    base: usize,
    reserved_pages: usize,
    /// Base of the reservation as returned by mmap (for munmap).
    map_ptr: *mut libc::c_void,
    map_len: usize,
    /// One `AtomicPtr<MSpan>` per reserved page (mmap, zero = no span).
    /// Written under the heap lock; read by the STW marker.
    page_table: *const StdAtomicPtr<MSpan>,
    page_table_len: usize,
    pub(crate) lock: Mutex<MHeapLocked>,
    pub(crate) allspans: AllSpans,
    /// One mcentral per size class; index 0 (large) is unused.
    pub(crate) central: Box<[MCentral]>,
    /// Committed bytes (statistics only).
    pub(crate) sys_bytes: StdAtomicU64,
    /// Injection points of the historical races (`seed.rs`): empty
    /// without the test switches.
    pub(crate) seeds: crate::seed::SeedHooks,
}

// SAFETY: the raw pointers are the arena and page-table mappings, owned by
// this struct for its whole life and only accessed through the protocols
// documented on each field (heap lock for writes, STW for lock-free reads),
// and span pointers whose structs live as long as the heap.
unsafe impl Send for MHeap {}
// SAFETY: as for Send; shared access is mediated by the heap lock, atomics
// and the span ownership table in `mspan.rs`.
unsafe impl Sync for MHeap {}

fn mmap_anon(len: usize, prot: libc::c_int) -> Option<*mut libc::c_void> {
    // SAFETY: an anonymous private mapping at a kernel-chosen address
    // touches no existing memory.
    let p = unsafe {
        libc::mmap(
            ptr::null_mut(),
            len,
            prot,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    (p != libc::MAP_FAILED).then_some(p)
}

impl MHeap {
    /// Reserve an arena of (at most) `reserve` bytes.
    pub(crate) fn new(reserve: usize) -> MHeap {
        let mut want = reserve.max(MIN_RESERVE);
        let (map_ptr, map_len) = loop {
            if let Some(p) = mmap_anon(want + PAGE_SIZE, libc::PROT_NONE) {
                break (p, want + PAGE_SIZE);
            }
            if want <= MIN_RESERVE {
                panic!("gc: cannot reserve {want} bytes of address space for the heap");
            }
            want /= 2;
        };
        let base = (map_ptr as usize).next_multiple_of(PAGE_SIZE);
        let reserved_pages = want / PAGE_SIZE;
        let page_table_len = reserved_pages * core::mem::size_of::<StdAtomicPtr<MSpan>>();
        let page_table = mmap_anon(page_table_len, libc::PROT_READ | libc::PROT_WRITE)
            .unwrap_or_else(|| panic!("gc: cannot map the page table ({page_table_len} bytes)"))
            as *const StdAtomicPtr<MSpan>;
        MHeap {
            base,
            reserved_pages,
            map_ptr,
            map_len,
            page_table,
            page_table_len,
            lock: Mutex::new(
                LockRank::MHeap,
                MHeapLocked {
                    free_by_start: BTreeMap::new(),
                    free_by_size: BTreeSet::new(),
                    committed_pages: 0,
                    pool: Vec::new(),
                    pages_in_use: 0,
                },
            ),
            allspans: AllSpans::new(),
            central: (0..NUM_SIZE_CLASSES).map(MCentral::new).collect(),
            sys_bytes: StdAtomicU64::new(0),
            seeds: Default::default(),
        }
    }

    /// Re-introduce a historical race in this heap (tests only).
    #[cfg(any(test, loom, feature = "seed-bugs"))]
    pub(crate) fn set_seed(&self, bug: crate::seed::SeedBug, window_us: u32) {
        self.seeds.set(bug, window_us);
        self.allspans.seed002.set(bug, window_us);
    }

    #[inline(always)]
    fn pt(&self, page: usize) -> &StdAtomicPtr<MSpan> {
        debug_assert!(page < self.reserved_pages);
        // SAFETY: the page table maps `reserved_pages` entries for the life
        // of the heap; zeroed memory is a valid null AtomicPtr; callers pass
        // page < reserved_pages (checked by `span_of` or by construction).
        unsafe { &*self.page_table.add(page) }
    }

    /// The span owning the page that holds `addr`, if any: O(1), lock-free.
    /// Meaningful to the STW collector (no span is being created or freed
    /// then, `SWEEP_BEFORE_MARK`).
    #[inline(always)]
    pub(crate) fn span_of(&self, addr: usize) -> Option<&MSpan> {
        let off = addr.wrapping_sub(self.base);
        let page = off >> PAGE_SHIFT;
        if page >= self.reserved_pages {
            return None;
        }
        let p = self.pt(page).load(Ordering::Acquire);
        // SAFETY: span structs live until the heap is dropped.
        (!p.is_null()).then(|| unsafe { &*p })
    }

    /// Commit at least `npages` more pages and add them to the free runs.
    fn grow(&self, h: &mut MHeapLocked, npages: usize) -> Result<(), AllocError> {
        let mut n = npages.max(GROW_PAGES).next_multiple_of(GROW_PAGES);
        if h.committed_pages + n > self.reserved_pages {
            n = npages;
        }
        if h.committed_pages + n > self.reserved_pages {
            return Err(AllocError {
                size: npages * PAGE_SIZE,
            });
        }
        let addr = self.base + h.committed_pages * PAGE_SIZE;
        // SAFETY: [addr, addr + n pages) lies inside our PROT_NONE
        // reservation (checked above) and is not yet in use.
        let rc = unsafe {
            libc::mprotect(
                addr as *mut libc::c_void,
                n * PAGE_SIZE,
                libc::PROT_READ | libc::PROT_WRITE,
            )
        };
        if rc != 0 {
            return Err(AllocError {
                size: npages * PAGE_SIZE,
            });
        }
        let start = h.committed_pages;
        h.committed_pages += n;
        self.sys_bytes
            .fetch_add((n * PAGE_SIZE) as u64, Ordering::Relaxed);
        h.insert_free(start, n);
        Ok(())
    }

    /// Allocate a span of `npages` for `spanclass` (0 = large), swept as of
    /// `sg`, and publish it `InUse`.
    pub(crate) fn alloc_span(
        &self,
        npages: usize,
        spanclass: usize,
        sg: u32,
    ) -> Result<SpanPtr, AllocError> {
        let mut h = self.lock.lock();
        let start_page = match h.alloc_pages(npages) {
            Some(p) => p,
            None => {
                self.grow(&mut h, npages)?;
                h.alloc_pages(npages)
                    .expect("grow added a large enough run")
            }
        };
        let span = match h.pool.pop() {
            Some(s) => s,
            None => {
                let s = NonNull::from(Box::leak(Box::new(MSpan::new())));
                self.allspans.push(&mut h, s);
                s
            }
        };
        // SAFETY: span structs live until the heap is dropped.
        let s = unsafe { span.as_ref() };
        if s.state() != MSpanState::Dead {
            gc_throw!(SpanState, span = s, "span from the pool is not dead");
        }
        let start = self.base + start_page * PAGE_SIZE;
        // SAFETY: the span is Dead and we hold the heap lock: we own its data
        // (mspan.rs ownership table, row 1); it is on no list.
        unsafe {
            s.with_data(|d| {
                d.init(start, npages, spanclass);
                if spanclass == 0 {
                    // A large span is allocated for its one object at once.
                    d.freeindex = 1;
                    d.alloc_count = 1;
                    d.alloc_cache = 0;
                }
                s.init_geom(d);
            });
            s.with_links(|l| *l = Default::default());
        }
        s.set_diag(start, npages, spanclass);
        for p in start_page..start_page + npages {
            self.pt(p).store(span.as_ptr(), Ordering::Release);
        }
        h.pages_in_use += npages;
        // sweepgen before state: a sweeper that sees InUse sees sg.
        s.sweepgen.init(sg);
        s.transition(MSpanState::Dead, MSpanState::InUse);
        Ok(span)
    }

    /// Return a span's pages to the page heap and its struct to the pool.
    /// Only a finished sweep can produce the [`FreedSpan`] token
    /// (`FREE_AFTER_SWEEP`).
    pub(crate) fn free_span(&self, freed: FreedSpan) {
        let span = freed.into_span();
        let mut h = self.lock.lock();
        // SAFETY: span structs live until the heap is dropped.
        let s = unsafe { span.as_ref() };
        // SAFETY: the FreedSpan token hands us the sweeper's exclusive
        // ownership: the span is on no list, in no mcache, and its sweepgen
        // is published, so nobody else claims it; we hold the heap lock.
        let (start, npages) = unsafe { s.with_data(|d| (d.start, d.npages)) };
        crate::finalizer::check_no_specials(s);
        s.transition(MSpanState::InUse, MSpanState::Dead);
        let start_page = (start - self.base) >> PAGE_SHIFT;
        for p in start_page..start_page + npages {
            self.pt(p).store(ptr::null_mut(), Ordering::Release);
        }
        h.pages_in_use -= npages;
        h.insert_free(start_page, npages);
        h.pool.push(span);
    }

    /// Pages currently in in-use spans.
    pub(crate) fn pages_in_use(&self) -> usize {
        self.lock.lock().pages_in_use
    }
}

impl Drop for MHeap {
    fn drop(&mut self) {
        let n = self.allspans.len();
        for i in 0..n {
            let p = self.allspans.get(i) as *const MSpan as *mut MSpan;
            // SAFETY: every allspans entry came from `Box::leak` in
            // `alloc_span`, is recorded exactly once, and the heap is being
            // dropped: no thread can hold a span pointer any more (the
            // background sweeper was joined in `Heap::drop`).
            drop(unsafe { Box::from_raw(p) });
        }
        // SAFETY: both mappings were created in `new` with these lengths and
        // nothing points into them any more.
        unsafe {
            libc::munmap(self.page_table as *mut libc::c_void, self.page_table_len);
            libc::munmap(self.map_ptr, self.map_len);
        }
    }
}
