//! SigV4 checks for the AWS-compatible APIs, through the one `sigv4` verifier, scoped per service.

use std::borrow::Cow;
use std::net::IpAddr;

use hyper::body::Incoming;
use parking_lot::Mutex;
use sigv4::{Principal, SecretLookup, SignedRequest, Verifier};
use time::OffsetDateTime;
use wire::{ApiError, ErrorCode};

use crate::gate::Pass;
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
        Err(err) => Err(refusal(&err)),
    }
}

/// The checks a request's head allows before its body is read — the signature's form, its credential scope, the
/// date window and a known access key — while holding a place among the requests not authenticated yet, per client
/// address and in total; the returned [`Unverified`] keeps it until it checks the signature against the body. Past
/// either bound the request answers 429 with the service's throttling error at once. A head refused otherwise is
/// answered at once too, and its body read and thrown away behind the answer, still holding the place (as a body
/// over the limit is: at most [`super::DISCARD_LIMIT`] bytes, within the body deadline), so that a client that sends
/// it all reads the answer, not a reset. Nothing to check when auth is switched off.
pub(crate) fn check_head<'p>(
    state: &AppState,
    peer: IpAddr,
    parts: &'p http::request::Parts,
    body: Incoming,
    service: &'static str,
) -> Result<(Incoming, Unverified<'p>), ApiError> {
    let Some(keys) = &state.keys else {
        return Ok((body, Unverified { checked: None }));
    };
    let pass = state.unauthenticated.enter(peer).map_err(|_| {
        let code = match service {
            super::front::EXECUTE_API => ErrorCode::LimitExceeded,
            "ivschat" => ErrorCode::Throttling,
            _ => ErrorCode::TooManyRequests,
        };
        ApiError::new(code, "Too many requests are being authenticated; retry later")
    })?;
    let lookup = CachedKeys { keys };
    let checked =
        Verifier::new(service).check_head(&SignedRequest::from_parts(parts, &[]), &lookup, OffsetDateTime::now_utc());
    let err = match checked {
        Ok(head) => return Ok((body, Unverified { checked: Some((head, pass)) })),
        Err(err) => err,
    };
    // A client that waits for `100 Continue` sends no body after a final answer: nothing to drain.
    if parts.headers.get(http::header::EXPECT).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue")) {
        return Err(refusal(&err));
    }
    let shutdown = state.shutdown.clone();
    state.tasks.spawn(async move {
        tokio::select! {
            _ = super::read_body(body, 0) => {}
            () = shutdown.cancelled() => {}
        }
        drop(pass);
    });
    Err(refusal(&err))
}

/// A request whose head passed [`check_head`], holding its place among the requests not authenticated yet until
/// [`Unverified::verify`]: the head is parsed and checked once, and only the signature is left for the body.
pub(crate) struct Unverified<'p> {
    /// The checked head and the place it holds; nothing when auth is switched off.
    checked: Option<(sigv4::Head<'p>, Pass)>,
}

impl Unverified<'_> {
    /// Checks the signature against `body` and gives the request's place up: the request's principal (nothing when
    /// auth is switched off), or the AWS-shaped refusal.
    pub(crate) fn verify(self, body: &[u8]) -> Result<Option<Principal>, ApiError> {
        let Some((head, pass)) = self.checked else {
            return Ok(None);
        };
        let verified = head.verify(body).map_err(|err| refusal(&err));
        drop(pass);
        verified.map(Some)
    }
}

fn refusal(err: &sigv4::SigV4Error) -> ApiError {
    let code = ErrorCode::from_aws_type(err.error_type()).unwrap_or(ErrorCode::InvalidSignature);
    ApiError::new(code, err.to_string())
}

/// Derived SigV4 signing keys: deriving one takes four HMACs, over half the cost of verifying a request, and a key
/// depends only on the secret and the scope (which changes daily). A lookup compares in place and allocates nothing;
/// only a new key allocates its entry.
static SIGNING_KEYS: Mutex<Vec<CachedKey>> = Mutex::new(Vec::new());

/// Keys cached at most; the oldest goes first.
const MAX_CACHED_KEYS: usize = 32;

/// A derived signing key and what it was derived from: the access key id, its secret and the credential scope.
struct CachedKey {
    access_key_id: Box<str>,
    secret: Box<str>,
    date: Box<str>,
    region: Box<str>,
    service: Box<str>,
    key: [u8; 32],
}

impl CachedKey {
    fn is(&self, access_key_id: &str, secret: &str, date: &str, region: &str, service: &str) -> bool {
        *self.access_key_id == *access_key_id
            && *self.secret == *secret
            && *self.date == *date
            && *self.region == *region
            && *self.service == *service
    }
}

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
        let mut cache = SIGNING_KEYS.lock();
        if let Some(cached) = cache.iter().find(|c| c.is(access_key_id, secret, date, region, service)) {
            return Some(cached.key);
        }
        let key = sigv4::derive_signing_key(secret, date, region, service);
        if cache.len() >= MAX_CACHED_KEYS {
            cache.remove(0);
        }
        cache.push(CachedKey {
            access_key_id: access_key_id.into(),
            secret: secret.into(),
            date: date.into(),
            region: region.into(),
            service: service.into(),
            key,
        });
        Some(key)
    }
}

#[cfg(test)]
mod tests {
    use local::KeyPair;
    use sigv4::{SecretLookup, derive_signing_key};

    use super::{CachedKeys, MAX_CACHED_KEYS, SIGNING_KEYS};
    use crate::credentials::Keyring;

    fn keyring(access_key_id: &str, secret: &str) -> Keyring {
        Keyring::new(vec![KeyPair { access_key_id: access_key_id.into(), secret_access_key: secret.into() }])
    }

    #[test]
    fn a_cached_signing_key_is_the_one_its_secret_and_scope_derive() {
        let first = keyring("SBAKCACHETEST0000001", "first secret");
        let lookup = CachedKeys { keys: &first };
        let scopes = [
            ("20261207", "us-east-1", "execute-api"),
            ("20261208", "us-east-1", "execute-api"),
            ("20261207", "eu-west-1", "execute-api"),
            ("20261207", "us-east-1", "ivschat"),
        ];
        for _ in 0..2 {
            for (date, region, service) in scopes {
                assert_eq!(
                    lookup.signing_key("SBAKCACHETEST0000001", date, region, service),
                    Some(derive_signing_key("first secret", date, region, service)),
                );
            }
        }
        // The same access key id with a new secret (a rotated pair) is a new key, not the cached one.
        let rotated = keyring("SBAKCACHETEST0000001", "second secret");
        let lookup = CachedKeys { keys: &rotated };
        assert_eq!(
            lookup.signing_key("SBAKCACHETEST0000001", "20261207", "us-east-1", "execute-api"),
            Some(derive_signing_key("second secret", "20261207", "us-east-1", "execute-api")),
        );
        assert_eq!(lookup.signing_key("SBAKCACHETEST0000002", "20261207", "us-east-1", "execute-api"), None);
    }

    #[test]
    fn the_signing_key_cache_stays_within_its_bound() {
        let keys = keyring("SBAKCACHETEST0000003", "bounded");
        let lookup = CachedKeys { keys: &keys };
        for day in 0..2 * MAX_CACHED_KEYS {
            let date = format!("202612{:02}", day % 100);
            assert_eq!(
                lookup.signing_key("SBAKCACHETEST0000003", &date, "us-east-1", "execute-api"),
                Some(derive_signing_key("bounded", &date, "us-east-1", "execute-api")),
            );
            assert!(SIGNING_KEYS.lock().len() <= MAX_CACHED_KEYS);
        }
    }
}
