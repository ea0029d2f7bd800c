//! The server's shared rate limits (new connections per second, `@connections` calls per second): a
//! [`ratelimit::TokenBucket`] on Tokio's clock, where a rate of 0 means unlimited.

use parking_lot::Mutex;
use tokio::time::Instant;

/// Allows `rate` events per second with a burst of `rate`; a rate of 0 allows everything.
#[derive(Debug)]
pub struct TokenBucket {
    bucket: Option<Mutex<ratelimit::TokenBucket>>,
}

impl TokenBucket {
    pub fn new(rate: u32) -> TokenBucket {
        TokenBucket::with_burst(rate, rate)
    }

    /// `rate` events per second with a burst of `burst`; a rate of 0 allows everything.
    pub fn with_burst(rate: u32, burst: u32) -> TokenBucket {
        let bucket = (rate > 0)
            .then(|| Mutex::new(ratelimit::TokenBucket::with_burst(f64::from(rate), burst.max(1), Instant::now())));
        TokenBucket { bucket }
    }

    pub fn try_take(&self) -> bool {
        self.bucket.as_ref().is_none_or(|bucket| bucket.lock().try_take(Instant::now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn refills_over_time() {
        let bucket = TokenBucket::new(2);
        assert!(bucket.try_take());
        assert!(bucket.try_take());
        assert!(!bucket.try_take());
        tokio::time::advance(std::time::Duration::from_millis(500)).await;
        assert!(bucket.try_take());
        assert!(!bucket.try_take());
        assert!(TokenBucket::new(0).try_take());
    }
}
