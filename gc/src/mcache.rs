//! `MCache`: the single mutator's current span per size class (Go has one
//! per P). Owned by `Heap`, so by the mutator thread; spans in it are swept
//! (`sweepgen == sg`) and no sweeper touches them.
//!
//! The mcache is flushed (every span handed back to its mcentral) at the
//! start of every collection, stop-the-world, so no span stays cached across
//! a sweepgen bump (which is why Go's `sg+1`/`sg+3` states are unused).

use crate::mspan::SpanPtr;
use crate::sizeclasses::NUM_SIZE_CLASSES;
use crate::{AllocError, HeapShared};

pub(crate) struct MCache {
    /// Current span per class (index 0, large, is unused).
    pub(crate) alloc: [Option<SpanPtr>; NUM_SIZE_CLASSES],
    /// Pages `cache_span` may still take from the page heap this cycle
    /// instead of lazily sweeping full spans while the background sweeper
    /// is running (set at mark termination).
    pub(crate) fresh_pages: usize,
}

impl MCache {
    pub(crate) fn new() -> MCache {
        MCache {
            alloc: [None; NUM_SIZE_CLASSES],
            fresh_pages: 0,
        }
    }

    /// Replace the span of `class` (full) with one that has a free slot
    /// (Go's `refill`).
    pub(crate) fn refill(
        &mut self,
        heap: &HeapShared,
        class: usize,
    ) -> Result<SpanPtr, AllocError> {
        let sg = heap.sweep.sg();
        let central = &heap.mheap.central[class];
        if let Some(old) = self.alloc[class].take() {
            central.uncache_span(old, sg);
        }
        let s = central.cache_span(heap, sg, &mut self.fresh_pages)?;
        self.alloc[class] = Some(s);
        Ok(s)
    }

    /// Hand every cached span back to its mcentral (Go's `releaseAll`).
    pub(crate) fn release_all(&mut self, heap: &HeapShared) {
        let sg = heap.sweep.sg();
        for (class, slot) in self.alloc.iter_mut().enumerate() {
            if let Some(s) = slot.take() {
                heap.mheap.central[class].uncache_span(s, sg);
            }
        }
    }
}
