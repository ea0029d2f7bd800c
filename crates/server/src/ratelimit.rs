//! A token bucket: the new-connections-per-second limit.

use parking_lot::Mutex;
use tokio::time::Instant;

/// Allows `rate` events per second with a burst of `rate`; a rate of 0 allows everything.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    pub fn new(rate: u32) -> TokenBucket {
        TokenBucket { rate: f64::from(rate), state: Mutex::new((f64::from(rate), Instant::now())) }
    }

    pub fn try_take(&self) -> bool {
        if self.rate == 0.0 {
            return true;
        }
        let mut state = self.state.lock();
        let now = Instant::now();
        let (tokens, last) = *state;
        let tokens = (tokens + now.duration_since(last).as_secs_f64() * self.rate).min(self.rate);
        if tokens >= 1.0 {
            *state = (tokens - 1.0, now);
            true
        } else {
            *state = (tokens, now);
            false
        }
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
