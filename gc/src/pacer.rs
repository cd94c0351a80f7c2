//! Pacing: when the next cycle is due (Go's GOGC rule and its trigger).
//!
//! The goal is Go's: `max(min_trigger, live * (1 + GOGC/100))`. A
//! stop-the-world cycle starts at the goal. A concurrent cycle must
//! *start* earlier, at the trigger, so that the program's allocation while
//! the mark runs ends near the goal: `trigger = live + ratio * (goal -
//! live)`. The ratio is learnt as Go's pre-1.18 pacer did, from the last
//! cycle: a mark during which the program allocated a fraction `f` of the
//! runway (`goal - live`) should have started at `1 - f` of it, with a
//! margin; the new ratio moves halfway there, within `[0.5, 0.95]`. Assists
//! (`mgc.rs`) make up for a trigger that was too late: past the goal the
//! mutator marks until the mark is done.
//!
//! `heap_live` is Go's notion: bytes marked by the last cycle plus bytes
//! allocated since its mark termination. It equals `heap_alloc` once the
//! cycle's sweep is done (objects allocated after mark termination land in
//! swept spans and are not swept again this cycle), and unlike `heap_alloc`
//! it does not count garbage that lazy sweeping has not reached yet.

/// The first concurrent cycle's trigger ratio (Go started at 7/8).
const INITIAL_TRIGGER_RATIO: f64 = 0.875;
const MIN_TRIGGER_RATIO: f64 = 0.5;
const MAX_TRIGGER_RATIO: f64 = 0.95;

/// Pacer state, owned by the mutator.
#[derive(Clone, Debug)]
pub(crate) struct Pacer {
    /// Goal: the heap should not grow past it.
    pub(crate) next_gc: u64,
    /// A cycle is due when `heap_live >= trigger` (`next_gc` for a
    /// stop-the-world mark).
    pub(crate) trigger: u64,
    /// Where between `last_live` and `next_gc` the trigger lies for a
    /// concurrent mark.
    pub(crate) trigger_ratio: f64,
    /// Bytes marked by the last cycle.
    pub(crate) last_live: u64,
    /// The mutator's cumulative allocated bytes at the last mark termination.
    pub(crate) alloc_at_mark: u64,
    /// Proportional sweep: pages to sweep per byte allocated (Go's
    /// `sweepPagesPerByte`), and the swept-pages counter at mark termination.
    pub(crate) sweep_pages_per_byte: f64,
    pub(crate) pages_swept_at_mark: u64,
    /// Pages the sweep that began at the last mark termination must sweep.
    pages_to_sweep: u64,
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
        let next_gc = goal(0, gc_percent, min_trigger);
        Pacer {
            next_gc,
            trigger: next_gc,
            trigger_ratio: INITIAL_TRIGGER_RATIO,
            last_live: 0,
            alloc_at_mark: 0,
            sweep_pages_per_byte: 0.0,
            pages_swept_at_mark: 0,
            pages_to_sweep: 0,
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
        self.pages_to_sweep = pages_to_sweep;
        self.pages_swept_at_mark = pages_swept;
    }

    /// Sets `trigger` from the goal: the goal itself for a stop-the-world
    /// mark, `trigger_ratio` of the runway for a concurrent one.
    /// Also sets the proportional-sweep ratio: the sweep must be done by
    /// the trigger (Go's `sweepPagesPerByte` over `trigger - heapLive`),
    /// or the next cycle's start sweeps what is left in one go.
    pub(crate) fn set_trigger(&mut self, concurrent: bool) {
        self.trigger = if !concurrent || self.next_gc == u64::MAX {
            self.next_gc
        } else {
            let runway = self.next_gc.saturating_sub(self.last_live) as f64;
            self.last_live + (runway * self.trigger_ratio) as u64
        };
        // Spread the sweep over the allocation distance to the trigger (at
        // least 1 MiB), less a margin so it ends a little before it.
        let to_trigger = self.trigger.saturating_sub(self.last_live);
        let distance = (to_trigger - to_trigger / 8).clamp(1 << 20, 1 << 40);
        self.sweep_pages_per_byte = self.pages_to_sweep as f64 / distance as f64;
    }

    /// A concurrent mark ended after the program allocated
    /// `alloc_during_mark` bytes; `runway` was `goal - live` for it. Learns
    /// the next trigger ratio (see the module docs).
    pub(crate) fn learn_trigger(&mut self, alloc_during_mark: u64, runway: u64) {
        if runway == 0 {
            return;
        }
        let used = alloc_during_mark as f64 / runway as f64;
        // Aim to end the mark with a tenth of the runway to spare.
        let wanted = (1.0 - used - 0.1).clamp(MIN_TRIGGER_RATIO, MAX_TRIGGER_RATIO);
        self.trigger_ratio = (self.trigger_ratio + wanted) / 2.0;
    }
}

#[cfg(test)]
mod tests {
    use super::Pacer;

    #[test]
    fn trigger_before_goal_and_learns() {
        let mut p = Pacer::new(100, 4 << 20);
        p.mark_done(100 << 20, 0, 100, 4 << 20, 0, 0);
        p.set_trigger(false);
        assert_eq!(p.trigger, p.next_gc, "stop-the-world: trigger at the goal");
        p.set_trigger(true);
        assert!(p.trigger > p.last_live && p.trigger < p.next_gc);
        // A mark that used 60% of the runway: the trigger moves earlier.
        let before = p.trigger;
        p.learn_trigger(60 << 20, 100 << 20);
        p.set_trigger(true);
        assert!(p.trigger < before, "{} !< {before}", p.trigger);
        // One that used nothing moves it later, never past 0.95.
        for _ in 0..20 {
            p.learn_trigger(0, 100 << 20);
        }
        p.set_trigger(true);
        assert!(p.trigger <= p.last_live + (95 << 20));
        assert!(p.trigger > before);
    }
}
