//! Benchmark payloads: a send timestamp and sequence number behind a marker, padded to the payload size with
//! characters that need no JSON escaping, so the same bytes can travel raw, in a JSON string or in a chat message.

use std::time::{SystemTime, UNIX_EPOCH};

const MARKER: &[u8] = b"bench:";
/// Marker, 16 timestamp digits, `:`, 10 sequence digits, `:`.
const HEADER: usize = 6 + 16 + 1 + 10 + 1;

/// Wall-clock microseconds (the same clock in every process on the machine).
pub fn now_micros() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

/// A payload of exactly `size` bytes (at least the header's 34) stamped with `sent_us` and `seq`.
pub fn make(size: usize, sent_us: u64, seq: u64) -> String {
    let mut s = format!("bench:{sent_us:016}:{seq:010}:");
    let pad = size.max(HEADER) - HEADER;
    s.extend(std::iter::repeat_n('x', pad));
    s
}

/// The send timestamp of the first marker in `bytes`.
pub fn find(bytes: &[u8]) -> Option<u64> {
    let at = memchr::memmem::find(bytes, MARKER)? + MARKER.len();
    let digits = bytes.get(at..at + 16)?;
    let mut v = 0u64;
    for d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u64::from(d - b'0');
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trips() {
        let p = super::make(100, 1_700_000_000_123_456, 42);
        assert_eq!(p.len(), 100);
        let framed = format!(r#"{{"event":"tick","data":"{p}"}}"#);
        assert_eq!(super::find(framed.as_bytes()), Some(1_700_000_000_123_456));
        assert_eq!(super::find(b"nothing here"), None);
    }
}
