//! Token buckets enforcing the configured per-operation rate limits.

use std::collections::HashMap;
use std::time::Instant;

use parking_lot::Mutex;

use crate::operation::Operation;

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// One bucket per limited operation, refilled continuously at `tps` and holding at most `tps` tokens.
#[derive(Default)]
pub(crate) struct Limiter {
    buckets: Mutex<HashMap<Operation, Bucket>>,
}

impl Limiter {
    /// Takes one token for `op`; false when none is left. The lock is never held across an await.
    pub(crate) fn try_acquire(&self, op: Operation, tps: u32) -> bool {
        if tps == 0 {
            return false;
        }
        let capacity = f64::from(tps);
        let now = Instant::now();
        let mut buckets = self.buckets.lock();
        let bucket = buckets.entry(op).or_insert(Bucket { tokens: capacity, last: now });
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * capacity).min(capacity);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refuse() {
        let limiter = Limiter::default();
        for _ in 0..3 {
            assert!(limiter.try_acquire(Operation::GetRoom, 3));
        }
        assert!(!limiter.try_acquire(Operation::GetRoom, 3));
        assert!(limiter.try_acquire(Operation::ListRooms, 3), "buckets are per operation");
        assert!(!limiter.try_acquire(Operation::SendEvent, 0));
    }
}
