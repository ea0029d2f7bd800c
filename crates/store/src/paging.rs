//! Opaque, tamper-evident pagination tokens over a store [`Cursor`]: the keyset cursor, bound to its listing and
//! its filters and signed with HMAC-SHA256 under the server's key. Every control plane's `NextToken` is one.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::model::Cursor;

const VERSION: u8 = 1;
const MAC_LEN: usize = 16;

/// Encodes and verifies tokens. `listing` names which listing a token belongs to (each control plane numbers its
/// own); a token of one listing is refused by every other.
#[derive(Clone)]
pub struct PageTokens {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for PageTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PageTokens")
    }
}

impl PageTokens {
    pub fn new(key: &[u8]) -> PageTokens {
        // HMAC takes keys of any length, so the fallback (an all-zero block-sized key) is never used.
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
            .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()));
        PageTokens { mac }
    }

    fn mac(&self, payload: &[u8], scope: &[u8]) -> Hmac<Sha256> {
        let mut mac = self.mac.clone();
        mac.update(payload);
        mac.update(&(scope.len() as u64).to_be_bytes());
        mac.update(scope);
        mac
    }

    /// `base64url(version | listing | update_time_ms | id_len | id | mac[..16])`; `scope` (the filters) is
    /// covered by the MAC but not carried.
    pub fn encode(&self, listing: u8, scope: &[u8], cursor: &Cursor) -> String {
        let id = cursor.id.as_bytes();
        let mut payload = Vec::with_capacity(11 + id.len() + MAC_LEN);
        payload.push(VERSION);
        payload.push(listing);
        payload.extend_from_slice(&cursor.update_time_ms.to_be_bytes());
        payload.push(u8::try_from(id.len()).unwrap_or(u8::MAX));
        payload.extend_from_slice(&id[..id.len().min(255)]);
        let tag = self.mac(&payload, scope).finalize().into_bytes();
        payload.extend_from_slice(&tag[..MAC_LEN]);
        URL_SAFE_NO_PAD.encode(payload)
    }

    /// The cursor in `token`, or `None` if it was altered, forged, or made for another listing or filters.
    pub fn decode(&self, listing: u8, scope: &[u8], token: &str) -> Option<Cursor> {
        let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
        if bytes.len() < 11 + MAC_LEN {
            return None;
        }
        let (payload, tag) = bytes.split_at(bytes.len() - MAC_LEN);
        self.mac(payload, scope).verify_truncated_left(tag).ok()?;
        if payload[0] != VERSION || payload[1] != listing {
            return None;
        }
        let update_time_ms = i64::from_be_bytes(payload[2..10].try_into().ok()?);
        let id_len = usize::from(payload[10]);
        let id = payload.get(11..)?;
        if id.len() != id_len {
            return None;
        }
        Some(Cursor { update_time_ms, id: String::from_utf8(id.to_vec()).ok()? })
    }
}

/// Length-prefixed concatenation of filter values (absent and empty differ).
pub fn page_scope(parts: &[Option<&str>]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        match part {
            None => out.push(0),
            Some(s) => {
                out.push(1);
                out.extend_from_slice(&(s.len() as u64).to_be_bytes());
                out.extend_from_slice(s.as_bytes());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor() -> Cursor {
        Cursor { update_time_ms: 1_704_067_200_123, id: "g1H2I3j4k5L6".to_owned() }
    }

    #[test]
    fn round_trip_and_binding() {
        let codec = PageTokens::new(b"key");
        let scope_a = page_scope(&[Some("lobby"), None, None]);
        let token = codec.encode(1, &scope_a, &cursor());
        assert!(token.len() <= 1024);
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(codec.decode(1, &scope_a, &token), Some(cursor()));
        assert_eq!(codec.decode(2, &scope_a, &token), None);
        assert_eq!(codec.decode(1, &page_scope(&[None, None, None]), &token), None);
        assert_eq!(codec.decode(1, &page_scope(&[Some(""), None, None]), &token), None);
        assert_eq!(PageTokens::new(b"other").decode(1, &scope_a, &token), None);
    }

    #[test]
    fn every_single_byte_change_is_rejected() {
        let codec = PageTokens::new(b"key");
        let raw = URL_SAFE_NO_PAD.decode(codec.encode(1, b"", &cursor())).unwrap();
        for i in 0..raw.len() {
            let mut bytes = raw.clone();
            bytes[i] ^= 0x01;
            assert_eq!(codec.decode(1, b"", &URL_SAFE_NO_PAD.encode(&bytes)), None, "byte {i}");
        }
        for junk in ["", "x", "!!!", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
            assert_eq!(codec.decode(1, b"", junk), None);
        }
    }
}
