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
/// address and in total; the returned pass keeps it until dropped (after [`verify`]). Past either bound the request
/// answers 429 with the service's throttling error at once. A head refused otherwise is answered at once too, and
/// its body read and thrown away behind the answer, still holding the place (as a body over the limit is: at most
/// [`super::DISCARD_LIMIT`] bytes, within the body deadline), so that a client that sends it all reads the answer,
/// not a reset. Nothing when auth is switched off.
pub(crate) fn check_head(
    state: &AppState,
    peer: IpAddr,
    parts: &http::request::Parts,
    body: Incoming,
    service: &'static str,
) -> Result<(Incoming, Option<Pass>), ApiError> {
    let Some(keys) = &state.keys else {
        return Ok((body, None));
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
    if let Err(err) = checked {
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
        return Err(refusal(&err));
    }
    Ok((body, Some(pass)))
}

fn refusal(err: &sigv4::SigV4Error) -> ApiError {
    let code = ErrorCode::from_aws_type(err.error_type()).unwrap_or(ErrorCode::InvalidSignature);
    ApiError::new(code, err.to_string())
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
