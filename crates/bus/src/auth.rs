//! Authentication of what nodes leave in Redis: with a cluster key, every bus message and every registry record
//! carries an HMAC-SHA256 tag (16 bytes) over where it lives and what it says, so that a client that can reach Redis
//! but does not hold the key cannot inject deliveries, management calls, room settings or `$disconnect` claims.
//! What fails the check is dropped and counted (`BusStats::rejected`).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The secret the nodes of one cluster share (its `Debug` shows nothing of it).
#[derive(Clone, PartialEq, Eq)]
pub struct ClusterKey(pub Vec<u8>);

impl std::fmt::Debug for ClusterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClusterKey(..)")
    }
}

/// Bytes of a tag.
pub(crate) const TAG: usize = 16;

/// The cluster key, ready to tag and check.
#[derive(Clone)]
pub(crate) struct Signer {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(..)")
    }
}

impl Signer {
    pub(crate) fn new(key: &[u8]) -> Signer {
        Signer { mac: Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length") }
    }

    fn keyed(&self, parts: &[&[u8]]) -> Hmac<Sha256> {
        let mut mac = self.mac.clone();
        for part in parts {
            // Length-prefixed, so that no two different sequences of parts are tagged alike.
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac
    }

    /// The tag of `parts`.
    pub(crate) fn tag(&self, parts: &[&[u8]]) -> [u8; TAG] {
        let full = self.keyed(parts).finalize().into_bytes();
        let mut tag = [0; TAG];
        tag.copy_from_slice(&full[..TAG]);
        tag
    }

    /// Whether `tag` is the tag of `parts` (in constant time).
    pub(crate) fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        tag.len() == TAG && self.keyed(parts).verify_truncated_left(tag).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::Signer;

    #[test]
    fn tags_bind_the_key_and_every_part() {
        let signer = Signer::new(b"cluster key 0123456789");
        let tag = signer.tag(&[b"room:a", b"payload"]);
        assert!(signer.verify(&[b"room:a", b"payload"], &tag));
        assert!(!signer.verify(&[b"room:b", b"payload"], &tag), "another channel");
        assert!(!signer.verify(&[b"room:a", b"payloaD"], &tag), "another payload");
        assert!(!signer.verify(&[b"room:apayload"], &tag), "parts are length-prefixed");
        assert!(!Signer::new(b"another key 0123456789").verify(&[b"room:a", b"payload"], &tag), "another key");
        assert!(!signer.verify(&[b"room:a", b"payload"], &tag[..8]), "a shortened tag");
    }
}
