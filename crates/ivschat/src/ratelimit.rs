//! Token buckets enforcing the configured per-operation rate limits, on the control plane's clock.

use parking_lot::Mutex;
use ratelimit::TokenBucket;
use std::collections::HashMap;
use time::OffsetDateTime;

use crate::operation::Operation;

/// One bucket per limited operation, refilled continuously at `tps` and holding at most `tps` tokens.
#[derive(Default)]
pub(crate) struct Limiter {
    buckets: Mutex<HashMap<Operation, TokenBucket<OffsetDateTime>>>,
}

impl Limiter {
    /// Takes one token for `op` at time `now` (the control plane's clock; a clock going backwards refills
    /// nothing); false when none is left. The lock is never held across an await.
    pub(crate) fn try_acquire(&self, op: Operation, tps: u32, now: OffsetDateTime) -> bool {
        if tps == 0 {
            return false;
        }
        self.buckets.lock().entry(op).or_insert_with(|| TokenBucket::full(tps, now)).try_take(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use time::Duration;
    use time::macros::datetime;

    #[test]
    fn burst_refill_and_clock_going_back() {
        let t0 = datetime!(2024-01-01 00:00 UTC);
        let limiter = Limiter::default();
        for _ in 0..3 {
            assert!(limiter.try_acquire(Operation::GetRoom, 3, t0));
        }
        assert!(!limiter.try_acquire(Operation::GetRoom, 3, t0));
        assert!(limiter.try_acquire(Operation::ListRooms, 3, t0), "buckets are per operation");
        assert!(!limiter.try_acquire(Operation::SendEvent, 0, t0));
        // One token every third of a second.
        assert!(!limiter.try_acquire(Operation::GetRoom, 3, t0 + Duration::milliseconds(300)));
        assert!(limiter.try_acquire(Operation::GetRoom, 3, t0 + Duration::milliseconds(340)));
        assert!(!limiter.try_acquire(Operation::GetRoom, 3, t0 - Duration::seconds(10)));
        // A long pause refills to the burst size only.
        let later = t0 + Duration::hours(1);
        for _ in 0..3 {
            assert!(limiter.try_acquire(Operation::GetRoom, 3, later));
        }
        assert!(!limiter.try_acquire(Operation::GetRoom, 3, later));
    }
}
