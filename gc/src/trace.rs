//! gctrace: one line per cycle on stderr, in the shape of Go's
//! `GODEBUG=gctrace=1`:
//!
//! ```text
//! gc 3 @0.125s: 0.012+0.301+0.004 ms clock, 6->5->2 MB, 4 MB goal, 120 spans, 37 bg + 5 lazy swept, 1 P
//! ```
//!
//! Fields: cycle number, seconds since the heap was created; wall-clock
//! milliseconds of sweep termination + mark + mark termination; heap at
//! cycle start -> after sweep termination -> marked live; the next goal;
//! spans in the snapshot; spans swept since the previous line by the
//! background sweeper and by the mutator; then, only when nonzero,
//! finalizers queued by sweeping since the previous line (`, 3 fin
//! queued`); one P (single mutator).

/// Numbers for one trace line.
#[derive(Clone, Debug)]
pub(crate) struct TraceLine {
    pub(crate) num_gc: u64,
    pub(crate) since_start_s: f64,
    pub(crate) sweep_term_ns: u64,
    pub(crate) mark_ns: u64,
    pub(crate) mark_term_ns: u64,
    pub(crate) heap_start: u64,
    pub(crate) heap_after_sweep: u64,
    pub(crate) live: u64,
    pub(crate) goal: u64,
    pub(crate) nspans: usize,
    pub(crate) swept_bg: u64,
    pub(crate) swept_lazy: u64,
    pub(crate) fin_queued: u64,
}

const MB: u64 = 1 << 20;

impl TraceLine {
    pub(crate) fn format(&self) -> String {
        let ms = |ns: u64| ns as f64 / 1e6;
        let goal = if self.goal == u64::MAX {
            "off".to_string()
        } else {
            format!("{} MB", self.goal / MB)
        };
        let fin = if self.fin_queued > 0 {
            format!(", {} fin queued", self.fin_queued)
        } else {
            String::new()
        };
        format!(
            "gc {} @{:.3}s: {:.3}+{:.3}+{:.3} ms clock, {}->{}->{} MB, {} goal, {} spans, {} bg + {} lazy swept{}, 1 P",
            self.num_gc,
            self.since_start_s,
            ms(self.sweep_term_ns),
            ms(self.mark_ns),
            ms(self.mark_term_ns),
            self.heap_start / MB,
            self.heap_after_sweep / MB,
            self.live / MB,
            goal,
            self.nspans,
            self.swept_bg,
            self.swept_lazy,
            fin,
        )
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn shape() {
        let l = super::TraceLine {
            num_gc: 3,
            since_start_s: 0.125,
            sweep_term_ns: 12_000,
            mark_ns: 301_000,
            mark_term_ns: 4_000,
            heap_start: 6 << 20,
            heap_after_sweep: 5 << 20,
            live: 2 << 20,
            goal: 4 << 20,
            nspans: 120,
            swept_bg: 37,
            swept_lazy: 5,
            fin_queued: 0,
        };
        assert_eq!(
            l.format(),
            "gc 3 @0.125s: 0.012+0.301+0.004 ms clock, 6->5->2 MB, 4 MB goal, 120 spans, 37 bg + 5 lazy swept, 1 P"
        );
        let l = super::TraceLine { fin_queued: 2, ..l };
        assert!(l
            .format()
            .ends_with(" 37 bg + 5 lazy swept, 2 fin queued, 1 P"));
    }
}
