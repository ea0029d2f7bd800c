//! SigV4 checks for the AWS-compatible APIs, through the one `sigv4` verifier, scoped per service.

use std::borrow::Cow;

use parking_lot::Mutex;
use sigv4::{Principal, SecretLookup, SignedRequest, Verifier};
use time::OffsetDateTime;
use wire::{ApiError, ErrorCode};

use crate::state::AppState;

/// Verifies the request's signature for `service` (its credential scope name) unless auth is switched off (then
/// there is no signer to answer); refusals are AWS-shaped errors.
pub(crate) fn verify(
    state: &AppState,
    parts: &http::request::Parts,
    body: &[u8],
    service: &'static str,
) -> Result<Option<Principal>, ApiError> {
    let Some(keys) = &state.keys else {
        return Ok(None);
    };
    let verifier = Verifier::new(service);
    let lookup = CachedKeys { keys };
    match verifier.verify(&SignedRequest::from_parts(parts, body), &lookup, OffsetDateTime::now_utc()) {
        Ok(principal) => Ok(Some(principal)),
        Err(err) => {
            let code = ErrorCode::from_aws_type(err.error_type()).unwrap_or(ErrorCode::InvalidSignature);
            Err(ApiError::new(code, err.to_string()))
        }
    }
}

/// Derived SigV4 signing keys: deriving one takes four HMACs, over half the cost of verifying a request, and a key
/// depends only on the secret and the scope (which changes daily). Keyed by access key id, secret and scope.
static SIGNING_KEYS: Mutex<Vec<(String, [u8; 32])>> = Mutex::new(Vec::new());

/// Keys cached at most; the oldest goes first.
const MAX_CACHED_KEYS: usize = 32;

/// The keyring as a SigV4 secret lookup that caches derived signing keys.
struct CachedKeys<'a> {
    keys: &'a crate::credentials::Keyring,
}

impl SecretLookup for CachedKeys<'_> {
    fn secret_access_key(&self, access_key_id: &str) -> Option<Cow<'_, str>> {
        self.keys.secret(access_key_id).map(Cow::Borrowed)
    }

    fn signing_key(&self, access_key_id: &str, date: &str, region: &str, service: &str) -> Option<[u8; 32]> {
        let secret = self.keys.secret(access_key_id)?;
        let id = format!("{access_key_id}\n{secret}\n{date}\n{region}\n{service}");
        let mut cache = SIGNING_KEYS.lock();
        if let Some((_, key)) = cache.iter().find(|(k, _)| *k == id) {
            return Some(*key);
        }
        let key = sigv4::derive_signing_key(secret, date, region, service);
        if cache.len() >= MAX_CACHED_KEYS {
            cache.remove(0);
        }
        cache.push((id, key));
        Some(key)
    }
}
