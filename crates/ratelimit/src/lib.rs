//! The token bucket behind every rate limit of Switchboard: new connections and `@connections` calls per second
//! (the server), a room's `maximumMessageRatePerSecond` (chat) and the control planes' per-operation limits
//! (ivschat, apigatewayv2).
//!
//! The clock is injected as a parameter: every call passes `now`, so the bucket reads no clock of its own and holds
//! no lock (each caller keeps it under the lock it already has). `now` is any [`Moment`]:
//! [`tokio::time::Instant`] where the caller measures elapsed time, because Tokio's paused time
//! (`#[tokio::test(start_paused = true)]`, `tokio::time::advance`) then drives the bucket in tests without sleeping;
//! [`time::OffsetDateTime`] where the caller already has an injectable wall clock (the IVS Chat control plane's
//! `with_clock`), whose time may even go backwards.

/// A point in time a bucket can measure from.
pub trait Moment: Copy + Ord {
    /// Seconds from `earlier` to `self` (negative when `self` is earlier).
    fn seconds_since(self, earlier: Self) -> f64;
}

impl Moment for tokio::time::Instant {
    fn seconds_since(self, earlier: Self) -> f64 {
        match self.checked_duration_since(earlier) {
            Some(elapsed) => elapsed.as_secs_f64(),
            None => -earlier.duration_since(self).as_secs_f64(),
        }
    }
}

impl Moment for time::OffsetDateTime {
    fn seconds_since(self, earlier: Self) -> f64 {
        (self - earlier).as_seconds_f64()
    }
}

/// Allows `rate` events per second with a burst of `capacity` (by default one second's worth), refilled
/// continuously. A rate of 0 allows nothing.
#[derive(Clone, Copy, Debug)]
pub struct TokenBucket<T: Moment = tokio::time::Instant> {
    rate: f64,
    capacity: f64,
    tokens: f64,
    last: T,
}

impl<T: Moment> TokenBucket<T> {
    /// A bucket for `rate` events per second, full (a burst of one second's worth) at `now`.
    pub fn full(rate: u32, now: T) -> TokenBucket<T> {
        TokenBucket::with_burst(f64::from(rate), rate, now)
    }

    /// A bucket for `rate` events per second (fractions allowed: 0.2 is one every five seconds) holding at most
    /// `burst` tokens, full at `now`. AWS states its throttles this way ("10,000 requests per second with a burst of
    /// 5,000"). A burst of 0 allows nothing.
    pub fn with_burst(rate: f64, burst: u32, now: T) -> TokenBucket<T> {
        let rate = if rate.is_finite() { rate.max(0.0) } else { 0.0 };
        TokenBucket { rate, capacity: f64::from(burst), tokens: f64::from(burst), last: now }
    }

    /// Takes one token at time `now`; false when none is left. Time before the latest `now` seen refills nothing.
    pub fn try_take(&mut self, now: T) -> bool {
        let elapsed = now.seconds_since(self.last).max(0.0);
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        self.last = self.last.max(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use time::macros::datetime;
    use tokio::time::{Instant, advance};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn paused_time_refills_the_bucket() {
        let mut bucket = TokenBucket::full(2, Instant::now());
        assert!(bucket.try_take(Instant::now()) && bucket.try_take(Instant::now()));
        assert!(!bucket.try_take(Instant::now()));
        advance(Duration::from_millis(500)).await;
        assert!(bucket.try_take(Instant::now()));
        assert!(!bucket.try_take(Instant::now()));
        // A long pause refills to the burst size only.
        advance(Duration::from_secs(3600)).await;
        assert!((0..2).all(|_| bucket.try_take(Instant::now())));
        assert!(!bucket.try_take(Instant::now()));
    }

    #[test]
    fn a_wall_clock_going_back_refills_nothing() {
        let t0 = datetime!(2024-01-01 00:00 UTC);
        let mut bucket = TokenBucket::full(1, t0);
        assert!(bucket.try_take(t0));
        assert!(!bucket.try_take(t0 - time::Duration::seconds(10)));
        // Time is measured from the latest moment seen, not from the earlier one.
        assert!(!bucket.try_take(t0 + time::Duration::milliseconds(900)));
        assert!(bucket.try_take(t0 + time::Duration::seconds(1)));
    }

    #[tokio::test(start_paused = true)]
    async fn the_burst_and_the_rate_are_separate() {
        // Ten per second with a burst of forty: forty at once, then one every 100 ms.
        let mut bucket = TokenBucket::with_burst(10.0, 40, Instant::now());
        assert_eq!((0..100).filter(|_| bucket.try_take(Instant::now())).count(), 40);
        advance(Duration::from_millis(100)).await;
        assert!(bucket.try_take(Instant::now()));
        assert!(!bucket.try_take(Instant::now()));
        // One every five seconds with a burst of one.
        let mut slow = TokenBucket::with_burst(0.2, 1, Instant::now());
        assert!(slow.try_take(Instant::now()));
        advance(Duration::from_millis(4900)).await;
        assert!(!slow.try_take(Instant::now()));
        advance(Duration::from_millis(100)).await;
        assert!(slow.try_take(Instant::now()));
    }

    #[test]
    fn a_rate_of_zero_allows_nothing() {
        let now = Instant::now();
        let mut bucket = TokenBucket::full(0, now);
        assert!(!bucket.try_take(now + Duration::from_secs(10)));
    }
}
