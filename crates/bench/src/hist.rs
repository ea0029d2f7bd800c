//! A log-linear latency histogram in microseconds (≤ 1.6 % relative error), cheap to record and to merge across
//! worker processes.

use serde::{Deserialize, Serialize};

/// Sub-buckets per power of two: values below this are exact.
const LINEAR: u64 = 128;
const HALF: u64 = LINEAR / 2;
/// Enough buckets for 2^40 µs.
const BUCKETS: usize = (LINEAR + 34 * HALF) as usize;

/// Counts of values (µs) by bucket.
#[derive(Clone, Debug)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Histogram {
        Histogram { counts: vec![0; BUCKETS], total: 0, max: 0 }
    }
}

fn index(v: u64) -> usize {
    if v < LINEAR {
        return v as usize;
    }
    let high = 63 - u64::from(v.leading_zeros());
    let shift = high - 6;
    let top = v >> shift;
    ((LINEAR + (high - 7) * HALF + (top - HALF)) as usize).min(BUCKETS - 1)
}

/// The middle of a bucket's range.
fn value(idx: usize) -> u64 {
    let idx = idx as u64;
    if idx < LINEAR {
        return idx;
    }
    let high = (idx - LINEAR) / HALF + 7;
    let top = (idx - LINEAR) % HALF + HALF;
    let shift = high - 6;
    (top << shift) + (1 << shift) / 2
}

impl Histogram {
    pub fn record(&mut self, micros: u64) {
        self.counts[index(micros)] += 1;
        self.total += 1;
        self.max = self.max.max(micros);
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    pub fn max(&self) -> u64 {
        self.max
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    /// The value at quantile `q` (0..=1), in µs; 0 when empty.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        if rank == self.total {
            return self.max;
        }
        let mut seen = 0;
        for (idx, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return value(idx).min(self.max);
            }
        }
        self.max
    }

    pub fn to_sparse(&self) -> SparseHistogram {
        let buckets = self.counts.iter().enumerate().filter(|(_, c)| **c > 0).map(|(i, c)| (i as u32, *c)).collect();
        SparseHistogram { buckets, max: self.max }
    }

    pub fn from_sparse(sparse: &SparseHistogram) -> Histogram {
        let mut h = Histogram::default();
        for &(i, c) in &sparse.buckets {
            if let Some(slot) = h.counts.get_mut(i as usize) {
                *slot += c;
                h.total += c;
            }
        }
        h.max = sparse.max;
        h
    }
}

/// The non-empty buckets of a histogram, as sent between processes.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SparseHistogram {
    pub buckets: Vec<(u32, u64)>,
    pub max: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_close() {
        let mut h = Histogram::default();
        for v in 1..=100_000u64 {
            h.record(v);
        }
        for (q, want) in [(0.5, 50_000.0), (0.99, 99_000.0), (0.999, 99_900.0)] {
            let got = h.quantile(q) as f64;
            assert!((got - want).abs() / want < 0.02, "q{q}: {got} vs {want}");
        }
        assert_eq!(h.quantile(1.0), 100_000);
        let round = Histogram::from_sparse(&h.to_sparse());
        assert_eq!(round.quantile(0.5), h.quantile(0.5));
        assert_eq!(round.count(), 100_000);
    }

    #[test]
    fn index_is_monotonic() {
        let mut last = 0;
        for v in (0..10_000_000u64).step_by(7) {
            let i = index(v);
            assert!(i >= last);
            last = i;
            let mid = value(i) as f64;
            assert!(v < 128 || (mid - v as f64).abs() / (v as f64) < 0.02, "{v} -> {mid}");
        }
    }
}
