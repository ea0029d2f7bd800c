//! SigV4 checks for the AWS-compatible APIs, through the one `sigv4` verifier, scoped per service.

use std::borrow::Cow;
use std::sync::Mutex;

use sigv4::{SecretLookup, SignedRequest, Verifier};
use time::OffsetDateTime;
use wire::{ApiError, ErrorCode};

use crate::state::AppState;

/// The SigV4 service a request must be signed for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Service {
    /// The `@connections` management API.
    ExecuteApi,
    /// The IVS Chat control plane.
    IvsChat,
}

impl Service {
    fn name(self) -> &'static str {
        match self {
            Service::ExecuteApi => "execute-api",
            Service::IvsChat => "ivschat",
        }
    }
}

/// Verifies the request's signature unless auth is switched off; refusals are AWS-shaped errors.
pub(crate) fn verify(
    state: &AppState,
    parts: &http::request::Parts,
    body: &[u8],
    service: Service,
) -> Result<(), ApiError> {
    let Some(keys) = &state.keys else {
        return Ok(());
    };
    let verifier = Verifier::new(service.name());
    let lookup = CachedKeys { keys };
    match verifier.verify(&SignedRequest::from_parts(parts, body), &lookup, OffsetDateTime::now_utc()) {
        Ok(_principal) => Ok(()),
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
        let mut cache = SIGNING_KEYS.lock().unwrap_or_else(|e| e.into_inner());
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

/// The service named in a request's credential scope (`Authorization` header or presigned `X-Amz-Credential`),
/// without verifying anything: used only to pick which API answers.
pub(crate) fn credential_service<'a>(headers: &'a http::HeaderMap, query: Option<&'a str>) -> Option<&'a str> {
    let scope = match headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        Some(auth) => auth.split("Credential=").nth(1)?.split([',', ' ']).next()?,
        None => query?.split('&').find_map(|pair| pair.strip_prefix("X-Amz-Credential="))?,
    };
    // AKID/date/region/service/aws4_request, possibly percent-encoded in a query.
    let mut parts = scope.split("/").flat_map(|p| p.split("%2F"));
    parts.nth(3)
}

#[cfg(test)]
mod tests {
    use super::credential_service;

    #[test]
    fn finds_the_service_in_the_scope() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(credential_service(&headers, None), None);
        headers.insert(
            http::header::AUTHORIZATION,
            "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/ivschat/aws4_request, SignedHeaders=host, Signature=x"
                .parse()
                .unwrap(),
        );
        assert_eq!(credential_service(&headers, None), Some("ivschat"));
        let empty = http::HeaderMap::new();
        let query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20240101%2Fus-east-1%2Fexecute-api%2Faws4_request";
        assert_eq!(credential_service(&empty, Some(query)), Some("execute-api"));
    }
}
