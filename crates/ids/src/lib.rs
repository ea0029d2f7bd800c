//! Generated identifiers, one generator per format: [`uuid_v4`] for request ids (`x-amzn-RequestId`, Firehose
//! request ids), [`resource_id`] for the 12-character ids of IVS Chat resources, events and chat messages, and
//! [`api_id`] / [`api_resource_id`] for API Gateway's 10- and 7-character ids.
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

/// API Gateway's alphabet: lowercase letters and digits.
const LOWER_ALPHANUMERIC: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

fn lower_alphanumeric(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len).map(|_| char::from(LOWER_ALPHANUMERIC[rng.random_range(0..LOWER_ALPHANUMERIC.len())])).collect()
}

/// A fresh API id: 10 characters of `[a-z0-9]`, as API Gateway's.
pub fn api_id() -> String {
    lower_alphanumeric(10)
}

/// A fresh id of a resource inside an API Gateway API (route, integration, stage deployment, …): 7 characters of
/// `[a-z0-9]`, as AWS's.
pub fn api_resource_id() -> String {
    lower_alphanumeric(7)
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

    #[test]
    fn api_gateway_ids_are_lowercase_alphanumerics() {
        for (id, len) in [(api_id(), 10), (api_resource_id(), 7)] {
            assert_eq!(id.len(), len);
            assert!(id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()), "{id}");
        }
        assert_ne!(api_id(), api_id());
    }
}
