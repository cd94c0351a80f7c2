//! `MCentral`: per size class, the spans not in the mcache, on four lists:
//! partial (has free slots) / full (no free slot) × swept / unswept, as in
//! Go's `mcentral.go`.
//!
//! The swept/unswept role of the two lists of each kind flips with the
//! heap's sweepgen (`swept = [sg/2 % 2]`, `unswept = [1 - sg/2 % 2]`), so
//! mark termination's `sg += 2` turns every swept list into an unswept one
//! without touching a span. Sweep termination leaves the unswept lists empty
//! (every span is swept and moved), so the flip never mixes cycles.
//!
//! Lists are intrusive doubly-linked lists through `MSpan::links`, guarded
//! by this mcentral's lock.
#![allow(unsafe_code)]

use crate::mspan::{ListId, MSpan, SpanPtr};
use crate::sizeclasses::{class_info, PAGE_SIZE};
use crate::sweep::{try_acquire, ActiveSweeper, SweepMode, Sweeper};
use crate::sync::{assert_held, LockRank, Mutex};
use crate::{AllocError, HeapShared};
use core::ptr::{self, NonNull};
use std::sync::atomic::Ordering as StdOrdering;

/// Spans `cache_span` may look at on the unswept lists before it takes
/// fresh pages (Go's `spanBudget`).
const SPAN_BUDGET: usize = 100;

/// The same while the background sweeper is working through the snapshot
/// and the cycle's fresh-page allowance lasts (`cache_span`): only on
/// `Partial(unswept)`.
const SPAN_BUDGET_BG: usize = 8;

/// The fresh-page allowance of a cycle: the heap may grow by about
/// `pages in use at mark termination / FRESH_PAGES_DIV` pages (6.25 %, plus
/// at most one growth step) while
/// `cache_span` leaves the full unswept spans to the background sweeper.
pub(crate) const FRESH_PAGES_DIV: usize = 16;

#[inline]
pub(crate) fn swept_idx(sg: u32) -> u8 {
    ((sg / 2) % 2) as u8
}

#[inline]
pub(crate) fn unswept_idx(sg: u32) -> u8 {
    1 - swept_idx(sg)
}

/// One intrusive list.
#[derive(Debug)]
struct SpanList {
    head: *const MSpan,
    len: usize,
}

/// The four lists, guarded by `MCentral::lock`.
#[derive(Debug)]
pub(crate) struct MCentralLists {
    partial: [SpanList; 2],
    full: [SpanList; 2],
}

// SAFETY: the list heads point at span structs that live as long as the
// heap; they are only dereferenced with the owning mcentral lock held.
unsafe impl Send for MCentralLists {}

impl MCentralLists {
    fn list(&mut self, id: ListId) -> &mut SpanList {
        match id {
            ListId::Partial(i) => &mut self.partial[i as usize],
            ListId::Full(i) => &mut self.full[i as usize],
            ListId::None => gc_throw!(McentralLists, "no such list"),
        }
    }

    /// Push `span` (on no list) onto `id`.
    pub(crate) fn push(&mut self, id: ListId, span: SpanPtr) {
        assert_held(LockRank::MCentral);
        // SAFETY: span structs live until the heap is dropped.
        let s = unsafe { span.as_ref() };
        let list = self.list(id);
        let old = list.head;
        // SAFETY: we hold this mcentral's lock (the `&mut self` borrow of the
        // guarded lists), which guards the links of the span being listed and
        // of every span already on the list.
        unsafe {
            s.with_links(|l| {
                if l.list != ListId::None {
                    gc_throw!(
                        McentralLists,
                        span = s,
                        "push of a span already on {:?}",
                        l.list
                    );
                }
                l.list = id;
                l.prev = ptr::null();
                l.next = old;
            });
            if !old.is_null() {
                (*old).with_links(|l| l.prev = s);
            }
        }
        list.head = s;
        list.len += 1;
    }

    /// Remove `span` from whatever list it is on (nothing if none).
    pub(crate) fn remove_if_listed(&mut self, span: &MSpan) {
        assert_held(LockRank::MCentral);
        // SAFETY: we hold this mcentral's lock (see `push`).
        let (id, prev, next) = unsafe { span.with_links(|l| (l.list, l.prev, l.next)) };
        if id == ListId::None {
            return;
        }
        let list = self.list(id);
        // SAFETY: neighbours are on the same list, guarded by our lock.
        unsafe {
            if prev.is_null() {
                list.head = next;
            } else {
                (*prev).with_links(|l| l.next = next);
            }
            if !next.is_null() {
                (*next).with_links(|l| l.prev = prev);
            }
            span.with_links(|l| *l = Default::default());
        }
        list.len -= 1;
    }

    /// Pop the first span of `id`.
    pub(crate) fn pop(&mut self, id: ListId) -> Option<SpanPtr> {
        let head = self.list(id).head;
        // SAFETY: list entries are live span structs.
        let s = unsafe { head.as_ref() }?;
        self.remove_if_listed(s);
        Some(NonNull::from(s))
    }

    fn first(&mut self, id: ListId) -> *const MSpan {
        self.list(id).head
    }

    fn next(&mut self, s: &MSpan) -> *const MSpan {
        // SAFETY: s is on one of our lists; we hold the lock.
        unsafe { s.with_links(|l| l.next) }
    }

    /// Spans and allocated objects on the swept lists of cycle `sg` (the
    /// heap profile). Every span there is owned by this lock's holder
    /// (mspan.rs ownership table, row 3), so its `alloc_count` is stable.
    pub(crate) fn swept_usage(&mut self, sg: u32) -> (usize, usize) {
        let sw = swept_idx(sg);
        let (mut spans, mut objects) = (0, 0);
        for id in [ListId::Partial(sw), ListId::Full(sw)] {
            let mut cur = self.first(id);
            // SAFETY: list entries are live span structs (they are never
            // freed before the heap).
            while let Some(s) = unsafe { cur.as_ref() } {
                spans += 1;
                // SAFETY: `s` is on one of our swept lists and we hold the
                // mcentral lock: we own its data (mspan.rs table, row 3).
                objects += unsafe { s.with_data(|d| d.alloc_count) };
                cur = self.next(s);
            }
        }
        (spans, objects)
    }

    /// Number of spans on `id` (verify mode).
    pub(crate) fn len(&mut self, id: ListId) -> usize {
        self.list(id).len
    }
}

/// The central free lists of one size class.
pub(crate) struct MCentral {
    spanclass: usize,
    pub(crate) lock: Mutex<MCentralLists>,
}

impl MCentral {
    pub(crate) fn new(spanclass: usize) -> MCentral {
        let empty = || SpanList {
            head: ptr::null(),
            len: 0,
        };
        MCentral {
            spanclass,
            lock: Mutex::new(
                LockRank::MCentral,
                MCentralLists {
                    partial: [empty(), empty()],
                    full: [empty(), empty()],
                },
            ),
        }
    }

    /// Take back a span from the mcache (Go's `uncacheSpan`). The span is
    /// swept (`sg`); the mutator owned its data until the push below.
    pub(crate) fn uncache_span(&self, span: SpanPtr, sg: u32) {
        // SAFETY: span structs live until the heap is dropped.
        let s = unsafe { span.as_ref() };
        if !s.sweepgen.is_swept(sg) {
            gc_throw!(
                SweepOwnership,
                span = s,
                "uncaching a span that is not swept (sg={sg})"
            );
        }
        // SAFETY: the span is in the mcache: the mutator owns its data.
        let full = unsafe { s.with_data(|d| d.alloc_count == d.nelems) };
        let mut l = self.lock.lock();
        let sw = swept_idx(sg);
        l.push(
            if full {
                ListId::Full(sw)
            } else {
                ListId::Partial(sw)
            },
            span,
        );
    }

    /// A swept span of this class with at least one free slot, for the
    /// mcache (Go's `cacheSpan`): a partial swept span; else sweep unswept
    /// spans of this class (within `SPAN_BUDGET`), partial ones first, until
    /// one has room; else fresh pages from the heap. The returned span is on
    /// no list and owned by the mutator.
    ///
    /// While the background sweeper has not drained the snapshot and the
    /// cycle's `fresh_pages` allowance lasts, the lazy sweep is cut short:
    /// at most `SPAN_BUDGET_BG` spans of `Partial(unswept)` (they had room
    /// at their last sweep), never `Full(unswept)`, then pages from the
    /// page heap; pages it has to commit for that are deducted from the
    /// allowance. Right after mark termination the full unswept spans are
    /// mostly survivors (a long-lived structure, the one under
    /// construction), listed most recent first, that come out of the sweep
    /// still full: sweeping 100 of them here per refill only raced the
    /// background sweeper, which reaches them a moment later and frees the
    /// dead spans whose pages `alloc_span` then reuses (issue #4, bench/GC.md).
    /// The allowance (`FRESH_PAGES_DIV`, set at mark termination) bounds the
    /// heap growth this can cause, e.g. when the background thread gets no
    /// CPU; once spent, the full budget applies again. Go needs no such
    /// rule: its proportional sweep and GOMAXPROCS background sweepers keep
    /// ahead of allocation.
    pub(crate) fn cache_span(
        &self,
        heap: &HeapShared,
        sg: u32,
        fresh_pages: &mut usize,
    ) -> Result<SpanPtr, AllocError> {
        let sw = swept_idx(sg);
        let us = unswept_idx(sg);
        if let Some(s) = self.lock.lock().pop(ListId::Partial(sw)) {
            return Ok(s);
        }
        let npages = class_info(self.spanclass).npages as usize;
        let defer_to_bg = heap.concurrent_sweep && *fresh_pages > 0 && !heap.sweep.drained();
        if defer_to_bg {
            let mut small = SPAN_BUDGET_BG;
            if let Some(s) = self.sweep_for_room(heap, sg, ListId::Partial(us), &mut small) {
                return Ok(s);
            }
            // Only the mutator commits pages: the growth is ours.
            let before = heap.mheap.sys_bytes.load(StdOrdering::Relaxed);
            let span = heap.mheap.alloc_span(npages, self.spanclass, sg);
            let grown = heap.mheap.sys_bytes.load(StdOrdering::Relaxed) - before;
            *fresh_pages = fresh_pages.saturating_sub(grown as usize / PAGE_SIZE);
            return span;
        }
        let mut budget = SPAN_BUDGET;
        for list in [ListId::Partial(us), ListId::Full(us)] {
            if let Some(s) = self.sweep_for_room(heap, sg, list, &mut budget) {
                return Ok(s);
            }
        }
        heap.mheap.alloc_span(npages, self.spanclass, sg)
    }

    /// Sweep spans of the unswept list `list` (at most `budget`, counting
    /// spans skipped as being swept by another sweeper) until one has a
    /// free slot, and return it off the lists; full ones go to
    /// `Full(swept)`.
    fn sweep_for_room(
        &self,
        heap: &HeapShared,
        sg: u32,
        list: ListId,
        budget: &mut usize,
    ) -> Option<SpanPtr> {
        let sw = swept_idx(sg);
        while *budget > 0 {
            // Raised before claiming, lowered after publishing.
            let active = ActiveSweeper::enter(&heap.sweep);
            let claimed = {
                let mut l = self.lock.lock();
                let mut cur = l.first(list);
                let mut found = None;
                while *budget > 0 {
                    // SAFETY: list entries are live span structs.
                    let Some(s) = (unsafe { cur.as_ref() }) else {
                        break;
                    };
                    *budget -= 1;
                    // A span at sg-1 is being swept by the background
                    // sweeper, which will move it: skip it.
                    if let Some(locked) = try_acquire(s, sg, &heap.sweep) {
                        l.remove_if_listed(s);
                        found = Some(locked);
                        break;
                    }
                    cur = l.next(s);
                }
                found
            };
            let locked = claimed?;
            let span = NonNull::from(locked.span());
            locked.sweep_span(heap, SweepMode::Preserve, Sweeper::Lazy);
            drop(active);
            // SAFETY: the span was taken off the lists before the sweep,
            // and the preserving sweep left it to us: the mutator owns it.
            let has_free = unsafe { span.as_ref().with_data(|d| d.alloc_count < d.nelems) };
            if has_free {
                return Some(span);
            }
            self.lock.lock().push(ListId::Full(sw), span);
        }
        None
    }
}
