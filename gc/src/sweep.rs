//! Sweeping: ownership as a type, the sweep cursor over the span snapshot,
//! and the active-sweepers count that sweep termination waits on.
//!
//! * [`SweepLocked`] is the right to sweep one span. It comes only from
//!   [`try_acquire`] (CAS `sg-2 -> sg-1`) and is consumed by
//!   [`SweepLocked::sweep_span`], which publishes `sweepgen = sg` as its
//!   serialization point; a dead large or small span goes back to the page
//!   heap only after that, through a [`FreedSpan`] token that only
//!   `sweep_span` can make (`FREE_AFTER_SWEEP`, seed 004).
//! * [`ActiveSweeper`] raises `SweepState::active` before any claim and
//!   lowers it after the publish (and after any free), so sweep termination
//!   can wait for in-flight sweeps (`SWEEP_BEFORE_MARK`, seed 001).
//! * [`next_span_for_sweep`] hands out the indices of the span snapshot
//!   taken before marking, never the live list (`SPAN_LIST_SNAPSHOT`, seed
//!   002): spans created after it are swept by construction (`sg`).
#![allow(unsafe_code)]

use crate::mcentral::swept_idx;
use crate::mspan::{ListId, MSpan, MSpanState, SpanData, SpanPtr};
use crate::sizeclasses::MAX_BITMAP_WORDS;
use crate::sync::{yield_now, AtomicU32, AtomicU64, Ordering};
use crate::HeapShared;
use core::ptr::NonNull;

/// Who is sweeping (statistics).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sweeper {
    /// The background sweeper thread.
    Background,
    /// The mutator: allocation slow paths, sweep termination, `gc()`.
    Lazy,
}

/// What to do with a small span once swept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SweepMode {
    /// Move it to the right swept list of its mcentral (or free it when
    /// empty). Used for spans reached through the snapshot.
    ToLists,
    /// The caller (`cache_span`) took it off the lists and keeps it, even
    /// if empty.
    Preserve,
}

/// Sweep progress shared by all sweepers.
pub(crate) struct SweepState {
    /// The heap's sweepgen `sg` (see `SweepGen`): advanced by 2 at mark
    /// termination, by the mutator only, after sweep termination.
    pub(crate) sweepgen: AtomicU32,
    /// `(next index << 32) | snapshot length`: the sweep cursor over the
    /// span snapshot of this cycle. "Drained" = index >= length: every span
    /// of the snapshot has been handed to some sweeper. Stored by mark
    /// termination after `sweepgen`; advanced by CAS.
    cursor: AtomicU64,
    /// Sweepers that may hold a claimed span: raised (SeqCst) before a claim,
    /// lowered (release) after the publish. Sweep termination waits for 0.
    /// A sweeper may raise it and find the cursor drained at any time, even
    /// during marking (the background thread is not stopped), so a nonzero
    /// value alone is not a violation.
    pub(crate) active: AtomicU32,
    /// Sweepers holding a claimed span right now: raised by a successful
    /// `try_acquire`, lowered when `sweep_span` has finished (after the
    /// publish and any free). Must be 0 whenever marking runs
    /// (`SWEEP_BEFORE_MARK`).
    pub(crate) holding: AtomicU32,
}

impl SweepState {
    pub(crate) fn new() -> SweepState {
        SweepState {
            sweepgen: AtomicU32::new(0),
            cursor: AtomicU64::new(0),
            active: AtomicU32::new(0),
            holding: AtomicU32::new(0),
        }
    }

    /// The heap's current sweepgen.
    #[inline]
    pub(crate) fn sg(&self) -> u32 {
        self.sweepgen.load(Ordering::Acquire)
    }

    /// The "sweep drained" flag: every span of the snapshot has been handed
    /// out (some may still be in flight: see `active`).
    #[inline]
    pub(crate) fn drained(&self) -> bool {
        let c = self.cursor.load(Ordering::Acquire);
        (c >> 32) >= (c & 0xffff_ffff)
    }

    /// Mark termination: `sg += 2` and a fresh cursor over `snapshot_len`
    /// spans. Called by the mutator, stop-the-world, after sweep
    /// termination. The cursor is stored after sweepgen, so a sweeper that
    /// reads the new cursor reads the new sweepgen.
    pub(crate) fn start_cycle(&self, snapshot_len: usize) -> u32 {
        if snapshot_len > u32::MAX as usize {
            gc_throw!(
                SpanListSnapshot,
                "{snapshot_len} spans overflow the sweep cursor"
            );
        }
        let sg = self.sg().wrapping_add(2);
        self.sweepgen.store(sg, Ordering::Release);
        self.cursor.store(snapshot_len as u64, Ordering::Release);
        sg
    }

    /// Sweep termination's wait: until no sweeper holds a claimed span.
    /// Spins with `yield_now`, holding no lock (a sweeper finishing its span
    /// needs the mcentral and heap locks).
    pub(crate) fn wait_for_sweepers(&self) {
        while self.active.load(Ordering::Acquire) != 0 {
            yield_now();
        }
    }
}

/// RAII: one active sweeper (`SweepState::active`).
pub(crate) struct ActiveSweeper<'a>(&'a SweepState);

impl<'a> ActiveSweeper<'a> {
    pub(crate) fn enter(st: &'a SweepState) -> ActiveSweeper<'a> {
        st.active.fetch_add(1, Ordering::SeqCst);
        ActiveSweeper(st)
    }
}

impl Drop for ActiveSweeper<'_> {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Exclusive right to sweep one span: `span.sweepgen == sg - 1` and this
/// value is the only one saying so. Not `Clone`; constructed only by
/// [`try_acquire`].
pub(crate) struct SweepLocked<'a> {
    span: &'a MSpan,
    sg: u32,
    holding: &'a AtomicU32,
}

impl Drop for SweepLocked<'_> {
    fn drop(&mut self) {
        self.holding.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Claim `span` for sweeping in cycle `sg`: the span must be in use and at
/// `sg - 2`; the CAS to `sg - 1` makes the caller its exclusive owner. The
/// caller must have entered an [`ActiveSweeper`].
pub(crate) fn try_acquire<'a>(
    span: &'a MSpan,
    sg: u32,
    st: &'a SweepState,
) -> Option<SweepLocked<'a>> {
    // State first: a dead struct may carry a stale `sg - 2`; `alloc_span`
    // stores `sweepgen = sg` before `InUse` (release), so seeing `InUse`
    // here means the CAS below sees at least that store.
    if span.state() != MSpanState::InUse {
        return None;
    }
    if !span.sweepgen.try_claim(sg) {
        return None;
    }
    st.holding.fetch_add(1, Ordering::AcqRel);
    Some(SweepLocked {
        span,
        sg,
        holding: &st.holding,
    })
}

/// Proof that a span's sweep has published its sweepgen, the span is on no
/// list and in no mcache: the only ticket `MHeap::free_span` accepts.
pub(crate) struct FreedSpan(SpanPtr);

impl FreedSpan {
    pub(crate) fn into_span(self) -> SpanPtr {
        self.0
    }

    /// A token for a span whose sweep never ran: only for the test that
    /// shows `MHeap::free_span`'s own checks fire.
    #[cfg(test)]
    pub(crate) fn forge_for_test(span: SpanPtr) -> FreedSpan {
        FreedSpan(span)
    }
}

/// What a sweep did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SweepResult {
    /// Still holds live objects (or was preserved for the caller).
    Kept,
    /// No live object: its pages went back to the page heap.
    Freed,
}

impl<'a> SweepLocked<'a> {
    pub(crate) fn span(&self) -> &'a MSpan {
        self.span
    }

    /// Pages of the claimed span.
    pub(crate) fn npages(&self) -> usize {
        // SAFETY: sweepgen == sg-1 since `try_acquire`: we own the data
        // (mspan.rs ownership table, row 2).
        unsafe { self.span.with_data(|d| d.npages) }
    }

    /// Checks run right before the serialization point: the span is still
    /// ours (Go's "bad span state after sweep", added by seed 001's fix).
    fn check_ownership(&self, heap: &HeapShared) {
        let s = self.span;
        let st = s.state();
        if st != MSpanState::InUse {
            gc_throw!(
                FreeAfterSweep,
                span = s,
                "span is {st:?} before its sweep published sweepgen (released before its sweep finished)"
            );
        }
        if !s.sweepgen.is_being_swept(self.sg) {
            gc_throw!(
                SweepOwnership,
                span = s,
                "sweep owner expected sweepgen {} (sg-1)",
                self.sg.wrapping_sub(1)
            );
        }
        let heap_sg = heap.sweep.sg();
        if heap_sg != self.sg {
            gc_throw!(
                SweepBeforeMark,
                span = s,
                "a collection advanced sweepgen {} -> {heap_sg} while this span was being swept",
                self.sg
            );
        }
    }

    /// Sweep the span and publish it. Consumes the ownership.
    ///
    /// Order: finalizer specials, bitmaps and counts, list
    /// removal, ownership check, **publish** (serialization point), then
    /// hand-off: onto a swept list, back to the caller, or (dead span) to the
    /// page heap.
    pub(crate) fn sweep_span(
        self,
        heap: &HeapShared,
        mode: SweepMode,
        who: Sweeper,
    ) -> SweepResult {
        let span = self.span;
        let sg = self.sg;
        heap.mheap.seeds.span_claimed(who);

        // FINALIZER SPECIALS: before the bitmaps turn over, each special
        // whose object is unmarked is removed under the span's specials
        // lock, its object is marked (so it survives this cycle: an object
        // with a finalizer is never freed by this sweep,
        // `SPECIALS_KEEP_ALIVE`) and the pair is queued on `finq`, which
        // sets `fingwake` under the queue lock whoever we are (`FINQ_WAKE`,
        // seed 000). The `any` hint may miss a special the mutator is adding
        // right now, but only to a live (marked) object, which we would
        // keep anyway.
        if span.specials.maybe_any() {
            // SAFETY: sweepgen == sg-1 since `try_acquire`: we own the data
            // (mspan.rs ownership table, row 2).
            unsafe { span.with_data(|d| crate::finalizer::queue_unmarked(heap, span, d)) };
        }

        // SAFETY: sweepgen == sg-1 since `try_acquire`: we own the data
        // (mspan.rs ownership table, row 2).
        let (spanclass, elemsize, nelems, nalloc, freed) =
            unsafe { span.with_data(|d| sweep_bits(d, span, heap.poison, heap.verify)) };
        if freed > 0 {
            heap.stats
                .note_freed(freed as u64, (freed * elemsize) as u64);
        }
        heap.stats.note_swept(who);

        let dead = nalloc == 0 && (spanclass == 0 || mode == SweepMode::ToLists);
        let mut lists = if spanclass != 0 && mode == SweepMode::ToLists {
            let mut l = heap.mheap.central[spanclass].lock.lock();
            l.remove_if_listed(span);
            Some(l)
        } else {
            None
        };
        let freed_early = heap.mheap.seeds.free_before_publish(dead, || {
            drop(lists.take());
            heap.mheap.free_span(FreedSpan(NonNull::from(span)));
        });

        self.check_ownership(heap);
        // Serialization point.
        // Everything written to the span above happens-before whoever next
        // observes `sweepgen == sg`; from here on the span belongs to its
        // next owner (a swept list, the caller, or the page heap) and this
        // sweeper must not touch it except to hand it there.
        span.sweepgen.publish(sg);

        if dead {
            drop(lists);
            if !freed_early {
                heap.mheap.free_span(FreedSpan(NonNull::from(span)));
            }
            return SweepResult::Freed;
        }
        if let Some(mut l) = lists {
            let sw = swept_idx(sg);
            l.push(
                if nalloc == nelems {
                    ListId::Full(sw)
                } else {
                    ListId::Partial(sw)
                },
                NonNull::from(span),
            );
        }
        SweepResult::Kept
    }
}

/// Turn the mark bits into the allocation bits: returns
/// `(spanclass, elemsize, nelems, live objects, freed objects)`.
fn sweep_bits(
    d: &mut SpanData,
    span: &MSpan,
    poison: bool,
    verify: bool,
) -> (usize, usize, usize, usize, usize) {
    let words = d.bitmap_words();
    // The span's mark words, read once and cleared by us alone.
    let mut mark_words = [0u64; MAX_BITMAP_WORDS];
    let marks = &mut mark_words[..words];
    for (w, m) in marks.iter_mut().enumerate() {
        // SAFETY: we own the span (sweepgen == sg-1), which is in use; no
        // marker runs during a sweep (SWEEP_BEFORE_MARK).
        *m = unsafe { span.gcmark.word(w) };
    }
    let marks = &*marks;
    let marked = |i: usize| marks[i / 64] & (1 << (i % 64)) != 0;
    let nalloc: usize = marks.iter().map(|w| w.count_ones() as usize).sum();
    if verify {
        for i in 0..d.nelems {
            if marked(i) && !d.is_allocated(i) {
                gc_throw!(
                    SpanAccounting,
                    span = span,
                    "slot {i} is marked but was never allocated"
                );
            }
        }
    }
    if nalloc > d.alloc_count {
        gc_throw!(
            SpanAccounting,
            span = span,
            "{nalloc} marked objects but only {} allocated",
            d.alloc_count
        );
    }
    let freed = d.alloc_count - nalloc;
    if poison && freed > 0 {
        for i in 0..d.nelems {
            if d.is_allocated(i) && !marked(i) {
                let p = (d.start + i * d.elemsize) as *mut u8;
                // SAFETY: slot i lies inside this in-use span's committed
                // pages; we own the span (sg-1) and the object is unmarked,
                // so no live object and no embedder reference reaches it.
                unsafe { core::ptr::write_bytes(p, crate::POISON_BYTE, d.elemsize) };
            }
        }
    }
    // The marks become the allocation bits; the marks start over.
    d.alloc_bits[..words].copy_from_slice(marks);
    // SAFETY: as the reads above.
    unsafe { span.gcmark.clear(words) };
    d.freeindex = 0;
    d.alloc_cache = !d.alloc_bits[0];
    d.alloc_count = nalloc;
    (d.spanclass, d.elemsize, d.nelems, nalloc, freed)
}

/// The next span of the snapshot that needs sweeping, claimed; `None` once
/// the snapshot is drained. The caller must have entered an
/// [`ActiveSweeper`] first.
pub(crate) fn next_span_for_sweep(heap: &HeapShared) -> Option<SweepLocked<'_>> {
    let st = &heap.sweep;
    loop {
        let c = st.cursor.load(Ordering::Acquire);
        let (idx, len) = ((c >> 32) as usize, (c & 0xffff_ffff) as usize);
        if idx >= len {
            return None;
        }
        if st
            .cursor
            .compare_exchange(c, c + (1 << 32), Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            continue;
        }
        // Read after the cursor: a cursor of this cycle implies this
        // cycle's sweepgen (`start_cycle` stores sweepgen first).
        let sg = st.sg();
        let span = heap.mheap.allspans.get(idx);
        if let Some(locked) = try_acquire(span, sg, st) {
            return Some(locked);
        }
    }
}

/// Sweep one span of the snapshot. Returns its page count, or `None` when
/// the snapshot is drained.
pub(crate) fn sweep_one(heap: &HeapShared, who: Sweeper) -> Option<usize> {
    let _active = ActiveSweeper::enter(&heap.sweep);
    let locked = next_span_for_sweep(heap)?;
    let npages = locked.npages();
    locked.sweep_span(heap, SweepMode::ToLists, who);
    heap.stats.note_pages_swept(npages as u64);
    Some(npages)
}

/// Sweep termination: the mutator sweeps whatever is left of the snapshot,
/// then waits until no sweeper is inside a span. After this, every span of
/// the snapshot is at `sg` and none is being swept (`SWEEP_BEFORE_MARK`).
pub(crate) fn finish_sweep(heap: &HeapShared) {
    while sweep_one(heap, Sweeper::Lazy).is_some() {}
    if heap.mheap.seeds.waits_for_sweepers() {
        heap.sweep.wait_for_sweepers();
    }
}
