//! Pacing: when the next cycle is due (Go's GOGC rule, without the
//! concurrent-mark trigger ratio since marking is stop-the-world).
//!
//! `heap_live` is Go's notion: bytes marked by the last cycle plus bytes
//! allocated since its mark termination. It equals `heap_alloc` once the
//! cycle's sweep is done (objects allocated after mark termination land in
//! swept spans and are not swept again this cycle), and unlike `heap_alloc`
//! it does not count garbage that lazy sweeping has not reached yet.

/// Pacer state, owned by the mutator.
#[derive(Clone, Debug)]
pub(crate) struct Pacer {
    /// Goal: a cycle is due when `heap_live >= next_gc`.
    pub(crate) next_gc: u64,
    /// Bytes marked by the last cycle.
    pub(crate) last_live: u64,
    /// The mutator's cumulative allocated bytes at the last mark termination.
    pub(crate) alloc_at_mark: u64,
    /// Proportional sweep: pages to sweep per byte allocated (Go's
    /// `sweepPagesPerByte`), and the swept-pages counter at mark termination.
    pub(crate) sweep_pages_per_byte: f64,
    pub(crate) pages_swept_at_mark: u64,
}

/// Goal for the next cycle: `max(min_trigger, live * (1 + percent/100))`;
/// `u64::MAX` when `percent < 0` (automatic collection off).
pub(crate) fn goal(live: u64, gc_percent: i64, min_trigger: u64) -> u64 {
    if gc_percent < 0 {
        return u64::MAX;
    }
    let grown = live.saturating_add(live.saturating_mul(gc_percent as u64) / 100);
    grown.max(min_trigger)
}

impl Pacer {
    pub(crate) fn new(gc_percent: i64, min_trigger: u64) -> Pacer {
        Pacer {
            next_gc: goal(0, gc_percent, min_trigger),
            last_live: 0,
            alloc_at_mark: 0,
            sweep_pages_per_byte: 0.0,
            pages_swept_at_mark: 0,
        }
    }

    /// `heap_live` given the mutator's cumulative allocated bytes.
    #[inline(always)]
    pub(crate) fn heap_live(&self, alloc_bytes: u64) -> u64 {
        self.last_live + (alloc_bytes - self.alloc_at_mark)
    }

    /// Mark termination: record `live` and set the next goal and the
    /// proportional-sweep ratio for `pages_to_sweep` pages.
    pub(crate) fn mark_done(
        &mut self,
        live: u64,
        alloc_bytes: u64,
        gc_percent: i64,
        min_trigger: u64,
        pages_to_sweep: u64,
        pages_swept: u64,
    ) {
        self.last_live = live;
        self.alloc_at_mark = alloc_bytes;
        self.next_gc = goal(live, gc_percent, min_trigger);
        // Finish sweeping well before the next goal: spread the sweep over
        // the allocation distance to it (at least 1 MiB).
        let distance = self.next_gc.saturating_sub(live).clamp(1 << 20, 1 << 40);
        self.sweep_pages_per_byte = pages_to_sweep as f64 / distance as f64;
        self.pages_swept_at_mark = pages_swept;
    }
}
