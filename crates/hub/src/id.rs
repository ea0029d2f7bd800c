//! Connection ids in AWS's format: 16 characters, URL-safe base64 of 11 bytes ending in `=`.
//!
//! Layout of the 11 bytes: node id (2, big-endian), milliseconds since 2020-01-01 (5), a sequence within the
//! millisecond (2), random (2). The time and sequence come from one monotonic counter, so a node never issues the
//! same id twice while its clock does not go back by more than its uptime; the node id lets any node route a
//! management call to the node that holds the connection.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;

/// 2020-01-01T00:00:00Z in Unix milliseconds.
const EPOCH_MS: u64 = 1_577_836_800_000;
const SEQ_BITS: u32 = 16;

/// A connection id; `Display` gives its 16-character wire form.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId([u8; 11]);

impl ConnectionId {
    /// Parses the wire form; `None` for anything that is not 16 characters of URL-safe base64 ending in `=`.
    pub fn parse(s: &str) -> Option<ConnectionId> {
        if s.len() != 16 || !s.ends_with('=') {
            return None;
        }
        let mut out = [0u8; 11];
        match URL_SAFE.decode_slice(s, &mut out) {
            Ok(11) => Some(ConnectionId(out)),
            _ => None,
        }
    }

    /// The node that issued (and holds) this connection.
    pub fn node(self) -> u16 {
        u16::from_be_bytes([self.0[0], self.0[1]])
    }

    pub(crate) fn shard_hash(self) -> usize {
        // The last bytes are the fastest-changing (sequence and random): a good spread over shards.
        usize::from(self.0[8]) ^ usize::from(self.0[9]) << 3 ^ usize::from(self.0[10]) << 1
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 16];
        let n = URL_SAFE.encode_slice(self.0, &mut buf).map_err(|_| fmt::Error)?;
        f.write_str(std::str::from_utf8(&buf[..n]).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnectionId({self})")
    }
}

/// Issues connection ids for one node.
#[derive(Debug)]
pub struct IdGenerator {
    node: u16,
    /// `(milliseconds since EPOCH_MS) << SEQ_BITS | sequence`, strictly increasing.
    last: AtomicU64,
}

impl IdGenerator {
    pub fn new(node: u16) -> IdGenerator {
        IdGenerator { node, last: AtomicU64::new(0) }
    }

    pub fn next(&self) -> ConnectionId {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(EPOCH_MS)
            .saturating_sub(EPOCH_MS);
        self.next_at(now_ms)
    }

    fn next_at(&self, now_ms: u64) -> ConnectionId {
        let floor = now_ms << SEQ_BITS;
        let prev = self
            .last
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
                Some(if floor > last { floor } else { last + 1 })
            })
            .unwrap_or(0);
        let value = if floor > prev { floor } else { prev + 1 };
        let mut bytes = [0u8; 11];
        bytes[..2].copy_from_slice(&self.node.to_be_bytes());
        // 56 bits of counter: 40 bits of milliseconds (34 years) and 16 bits of sequence.
        bytes[2..9].copy_from_slice(&value.to_be_bytes()[1..]);
        let noise: [u8; 2] = rand::random();
        bytes[9..].copy_from_slice(&noise);
        ConnectionId(bytes)
    }
}

/// A random 16-character id in the same format, for request and message ids.
pub fn random_id() -> String {
    let bytes: [u8; 11] = rand::random();
    URL_SAFE.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_have_aws_format_and_round_trip() {
        let ids = IdGenerator::new(513);
        for _ in 0..1000 {
            let id = ids.next();
            let text = id.to_string();
            assert_eq!(text.len(), 16);
            assert!(text.ends_with('='));
            assert!(text[..15].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            assert_eq!(ConnectionId::parse(&text), Some(id));
            assert_eq!(id.node(), 513);
        }
    }

    #[test]
    fn ids_are_unique_even_within_one_millisecond_and_when_the_clock_goes_back() {
        let ids = IdGenerator::new(0);
        let mut seen = HashSet::new();
        for i in 0..200_000u64 {
            // The same millisecond for a while, then a clock step backwards.
            let now = if i < 150_000 { 1_000 } else { 999 };
            assert!(seen.insert(ids.next_at(now).0[..9].to_vec()), "counter part repeated at {i}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Every id's text is AWS's 16-character form and parses back to the same id.
        #[test]
        fn every_id_round_trips_through_its_text(bytes in proptest::prelude::any::<[u8; 11]>()) {
            let id = ConnectionId(bytes);
            let text = id.to_string();
            proptest::prop_assert_eq!(text.len(), 16);
            proptest::prop_assert!(text.ends_with('='));
            proptest::prop_assert_eq!(ConnectionId::parse(&text), Some(id));
            proptest::prop_assert_eq!(id.node(), u16::from_be_bytes([bytes[0], bytes[1]]));
        }

        /// A text that parses is the one text of its id: no two spellings reach one connection.
        #[test]
        fn a_text_that_parses_is_the_ids_own(text in "[A-Za-z0-9_-]{15}=|[A-Za-z0-9_=+/-]{14,18}") {
            if let Some(id) = ConnectionId::parse(&text) {
                proptest::prop_assert_eq!(id.to_string(), text);
            }
        }

        /// Whatever the clock says, forwards, still or backwards, a generator never issues an id twice, its counter
        /// only grows and every id names its node.
        #[test]
        fn ids_never_repeat_whatever_the_clock_does(
            node in proptest::prelude::any::<u16>(),
            clock in proptest::collection::vec(0u64..(1 << 40), 1..400),
        ) {
            let ids = IdGenerator::new(node);
            let mut seen = HashSet::new();
            let mut last = [0u8; 7];
            for now in clock {
                let id = ids.next_at(now);
                proptest::prop_assert!(seen.insert(id), "{id:?} issued twice");
                let counter: [u8; 7] = id.0[2..9].try_into().unwrap();
                proptest::prop_assert!(counter > last, "the counter went back");
                last = counter;
                proptest::prop_assert_eq!(id.node(), node);
                proptest::prop_assert_eq!(ConnectionId::parse(&id.to_string()), Some(id));
            }
        }
    }

    #[test]
    fn parse_rejects_malformed_ids() {
        for bad in [
            "",
            "abc",
            "L0SM9cOFvHcCIhw",
            "L0SM9cOFvHcCIhw==",
            "L0SM9cOFvHcCIh+=",
            "L0SM9cOFvHcCIhx=",
            "cjy8i76bx002884le6n17d49b",
        ] {
            assert_eq!(ConnectionId::parse(bad), None, "{bad}");
        }
        for good in ["L0SM9cOFvHcCIhw=", "e_d2EewNLPECIGw=", "MekB-dUnliAAb4Q="] {
            assert_eq!(ConnectionId::parse(good).map(|id| id.to_string()).as_deref(), Some(good));
        }
        assert_eq!(random_id().len(), 16);
    }
}
