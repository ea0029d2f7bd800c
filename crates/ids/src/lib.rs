//! Generated identifiers, one generator per format: [`uuid_v4`] for request ids (`x-amzn-RequestId`, Firehose
//! request ids) and [`resource_id`] for the 12-character ids of IVS Chat resources, events and chat messages.
//!
//! Randomness comes from `rand`'s thread-local generator (seeded from the operating system); the UUID layout
//! (version and variant bits, hyphenated lowercase text) from the `uuid` crate.

use rand::Rng;
use rand::distr::Alphanumeric;

/// Length of every 12-character id (rooms, logging configurations, events, messages, errors).
pub const ID_LEN: usize = 12;

/// A random UUID v4 in hyphenated lowercase form, the format of `x-amzn-RequestId`.
pub fn uuid_v4() -> String {
    uuid::Builder::from_random_bytes(rand::random()).into_uuid().hyphenated().to_string()
}

/// A fresh id of [`ID_LEN`] characters of `[a-zA-Z0-9]`, as AWS's for IVS Chat resources and chat messages.
pub fn resource_id() -> String {
    rand::rng().sample_iter(&Alphanumeric).take(ID_LEN).map(char::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shape() {
        let id = uuid_v4();
        assert_eq!(id.len(), 36);
        assert_eq!(id.as_bytes()[14], b'4');
        assert_eq!(id.matches('-').count(), 4);
        assert!(matches!(id.as_bytes()[19], b'8' | b'9' | b'a' | b'b'), "RFC 4122 variant: {id}");
        assert_eq!(id, id.to_ascii_lowercase());
        assert_ne!(uuid_v4(), id);
    }

    #[test]
    fn ids_are_12_alphanumerics() {
        let id = resource_id();
        assert_eq!(id.len(), ID_LEN);
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(resource_id(), id);
    }
}
