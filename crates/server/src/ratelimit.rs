//! The server's shared rate limits — new connections per second, in total and per client address ([`PerAddress`]),
//! and `@connections` calls per second: [`ratelimit::TokenBucket`]s on Tokio's clock; a rate of 0 means unlimited.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

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

/// Client addresses remembered at most. An address unseen for a second has a full bucket again and is forgotten
/// when room is needed; while every remembered address was seen within the second, new addresses are refused.
const MAX_ADDRESSES: usize = 65_536;

/// Allows `rate` events per second from each client address, with a burst of `rate`; a rate of 0 allows everything.
#[derive(Debug)]
pub(crate) struct PerAddress {
    rate: u32,
    buckets: Mutex<HashMap<IpAddr, (ratelimit::TokenBucket, Instant)>>,
    max_addresses: usize,
}

impl PerAddress {
    pub(crate) fn new(rate: u32) -> PerAddress {
        PerAddress { rate, buckets: Mutex::default(), max_addresses: MAX_ADDRESSES }
    }

    /// Takes one of `address`'s tokens (an IPv4 address mapped into IPv6 counts as the IPv4 address).
    pub(crate) fn try_take(&self, address: IpAddr) -> bool {
        if self.rate == 0 {
            return true;
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock();
        if buckets.len() >= self.max_addresses {
            buckets.retain(|_, (_, seen)| now.duration_since(*seen) < Duration::from_secs(1));
        }
        let address = address.to_canonical();
        if buckets.len() >= self.max_addresses && !buckets.contains_key(&address) {
            return false;
        }
        let (bucket, seen) =
            buckets.entry(address).or_insert_with(|| (ratelimit::TokenBucket::full(self.rate, now), now));
        *seen = now;
        bucket.try_take(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn each_address_has_its_own_bucket_and_idle_addresses_make_room() {
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let mut limit = PerAddress::new(2);
        limit.max_addresses = 2;
        assert!(limit.try_take(a) && limit.try_take(a));
        assert!(!limit.try_take(a), "a's burst is spent");
        assert!(!limit.try_take("::ffff:192.0.2.1".parse().unwrap()), "the same address mapped into IPv6");
        assert!(limit.try_take(b), "b is not held back by a");
        let c: IpAddr = "192.0.2.3".parse().unwrap();
        assert!(!limit.try_take(c), "no room while every remembered address is active");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(limit.try_take(c), "idle addresses are forgotten to make room");
        assert!(PerAddress::new(0).try_take(a));
    }

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
