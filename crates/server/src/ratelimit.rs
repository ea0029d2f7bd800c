//! The new-connections-per-second limit: a shared [`ratelimit::TokenBucket`] on Tokio's clock, where 0 means
//! unlimited.

use parking_lot::Mutex;
use tokio::time::Instant;

/// Allows `rate` events per second with a burst of `rate`; a rate of 0 allows everything.
#[derive(Debug)]
pub struct TokenBucket {
    bucket: Option<Mutex<ratelimit::TokenBucket>>,
}

impl TokenBucket {
    pub fn new(rate: u32) -> TokenBucket {
        TokenBucket { bucket: (rate > 0).then(|| Mutex::new(ratelimit::TokenBucket::full(rate, Instant::now()))) }
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
