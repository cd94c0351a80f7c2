//! Pause statistics: a log-linear histogram of every stop-the-world pause
//! (for `GcStats::pause_p50_ns` / `pause_p99_ns`) and a ring of the most
//! recent pauses (Go's `MemStats.PauseNs`).
//!
//! The histogram keeps 16 buckets per power of two (HDR-histogram style, as
//! Go's `runtime/metrics` time histograms do), so memory is fixed (~8 KiB)
//! however many cycles run (`--gc-stress` runs millions) and a percentile
//! is reported as the upper bound of its bucket, at most 1/16 (6.25 %)
//! above the true value, and never above the largest pause seen.

/// Sub-buckets per power of two: `1 << SUB_BITS`.
const SUB_BITS: u32 = 4;
const SUB: usize = 1 << SUB_BITS;
/// Values below `SUB` get one exact bucket each; then 16 per octave up to
/// 2^64.
const BUCKETS: usize = SUB + (64 - SUB_BITS as usize) * SUB;
/// Recent pauses kept (Go keeps 256).
pub(crate) const RECENT: usize = 256;

fn bucket(v: u64) -> usize {
    if v < SUB as u64 {
        return v as usize;
    }
    let e = 63 - v.leading_zeros(); // >= SUB_BITS
    let sub = ((v >> (e - SUB_BITS)) as usize) & (SUB - 1);
    (e - SUB_BITS + 1) as usize * SUB + sub
}

/// Largest value that falls in bucket `i`.
fn upper(i: usize) -> u64 {
    if i < SUB {
        return i as u64;
    }
    let e = (i / SUB) as u32 + SUB_BITS - 1;
    let sub = (i % SUB) as u64;
    let shift = e - SUB_BITS;
    let lower = ((SUB as u64) | sub) << shift;
    lower + ((1u64 << shift) - 1)
}

pub(crate) struct PauseHist {
    counts: Box<[u64]>,
    n: u64,
    max: u64,
    /// `recent[(n - 1) % RECENT]` is the latest pause.
    recent: Box<[u64; RECENT]>,
}

impl PauseHist {
    pub(crate) fn new() -> PauseHist {
        PauseHist {
            counts: vec![0; BUCKETS].into_boxed_slice(),
            n: 0,
            max: 0,
            recent: Box::new([0; RECENT]),
        }
    }

    pub(crate) fn record(&mut self, ns: u64) {
        self.counts[bucket(ns)] += 1;
        self.recent[(self.n % RECENT as u64) as usize] = ns;
        self.n += 1;
        self.max = self.max.max(ns);
    }

    /// The `p`-quantile (0 < p <= 1) by nearest rank, rounded up to its
    /// bucket's bound; 0 with no pause yet.
    pub(crate) fn quantile(&self, p: f64) -> u64 {
        if self.n == 0 {
            return 0;
        }
        let rank = ((p * self.n as f64).ceil() as u64).clamp(1, self.n);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return upper(i).min(self.max);
            }
        }
        self.max
    }

    /// The last `min(n, RECENT)` pauses, oldest first.
    pub(crate) fn recent(&self) -> Vec<u64> {
        let k = self.n.min(RECENT as u64) as usize;
        let first = self.n as usize - k;
        (first..self.n as usize)
            .map(|i| self.recent[i % RECENT])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_partition_the_range() {
        let mut prev_upper = None;
        for i in 0..BUCKETS {
            let u = upper(i);
            assert_eq!(bucket(u), i, "upper bound of {i} lies in it");
            if let Some(p) = prev_upper {
                assert_eq!(bucket(p + 1), i, "bucket {i} starts after {p}");
            }
            prev_upper = Some(u);
        }
        assert_eq!(upper(BUCKETS - 1), u64::MAX);
    }

    #[test]
    fn quantiles_are_within_a_sixteenth() {
        let mut h = PauseHist::new();
        assert_eq!(h.quantile(0.5), 0);
        for v in 1..=1000u64 {
            h.record(v * 1000);
        }
        let p50 = h.quantile(0.5);
        assert!((500_000..=500_000 + 500_000 / 16).contains(&p50), "{p50}");
        let p99 = h.quantile(0.99);
        assert!((990_000..=990_000 + 990_000 / 16).contains(&p99), "{p99}");
        assert_eq!(h.quantile(1.0), 1_000_000);
    }

    #[test]
    fn recent_keeps_the_last_256_in_order() {
        let mut h = PauseHist::new();
        for v in 0..300u64 {
            h.record(v);
        }
        let r = h.recent();
        assert_eq!(r.len(), RECENT);
        assert_eq!(r[0], 300 - RECENT as u64);
        assert_eq!(*r.last().unwrap(), 299);
    }
}
