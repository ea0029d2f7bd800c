//! Key derivation and the string to sign, plus `sign`/`presign` helpers for tests and command-line tools.

use std::time::Duration;

use hmac::{Hmac, Mac};
use http::{HeaderName, HeaderValue};
use sha2::Sha256;
use time::OffsetDateTime;

use crate::SignedRequest;
use crate::canonical::{CanonicalRequest, hex_lower, is_unreserved, parse_query, sha256_hex, sort_query};
use crate::parse::amz_date_bytes;

pub(crate) type HmacSha256 = Hmac<Sha256>;

pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";
pub(crate) const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

fn mac(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this never fails.
    <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut m = mac(key);
    m.update(data);
    m.finalize().into_bytes().into()
}

/// The SigV4 signing key: `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
///
/// `date` is the scope date, `YYYYMMDD`.
pub fn derive_signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let mut m = {
        // "AWS4" + secret without a heap allocation for any realistic secret length.
        let mut stack = [0u8; 128];
        let secret = secret.as_bytes();
        match stack.get_mut(..4 + secret.len()) {
            Some(key) => {
                key[..4].copy_from_slice(b"AWS4");
                key[4..].copy_from_slice(secret);
                mac(key)
            }
            None => mac(&[b"AWS4", secret].concat()),
        }
    };
    m.update(date.as_bytes());
    let k_date: [u8; 32] = m.finalize().into_bytes().into();
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

/// The parts of the string to sign besides the canonical request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StringToSign<'a> {
    pub(crate) amz_date: &'a str,
    pub(crate) date: &'a str,
    pub(crate) region: &'a str,
    pub(crate) service: &'a str,
}

impl StringToSign<'_> {
    fn feed(&self, canonical_hash_hex: &[u8; 64], mut put: impl FnMut(&[u8])) {
        put(ALGORITHM.as_bytes());
        put(b"\n");
        put(self.amz_date.as_bytes());
        put(b"\n");
        put(self.date.as_bytes());
        put(b"/");
        put(self.region.as_bytes());
        put(b"/");
        put(self.service.as_bytes());
        put(b"/aws4_request\n");
        put(canonical_hash_hex);
    }

    /// The HMAC over this string to sign, ready to be finalised or verified.
    pub(crate) fn mac(&self, key: &[u8; 32], canonical_hash: &[u8; 32]) -> HmacSha256 {
        let mut hex = [0u8; 64];
        hex_lower(canonical_hash, &mut hex);
        let mut m = mac(key);
        self.feed(&hex, |b| m.update(b));
        m
    }

    /// The string to sign as text, for error messages.
    pub(crate) fn text(&self, canonical_hash: &[u8; 32]) -> String {
        let mut hex = [0u8; 64];
        hex_lower(canonical_hash, &mut hex);
        let mut out = Vec::with_capacity(128);
        self.feed(&hex, |b| out.extend_from_slice(b));
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// What [`sign`] and [`presign`] sign with.
#[derive(Debug, Clone, Copy)]
pub struct SigningParams<'a> {
    /// The access key id, e.g. `AKIDEXAMPLE`.
    pub access_key_id: &'a str,
    /// The secret access key.
    pub secret_access_key: &'a str,
    /// A session token, sent as `X-Amz-Security-Token` and signed.
    pub session_token: Option<&'a str>,
    /// The region of the credential scope.
    pub region: &'a str,
    /// The service of the credential scope, e.g. `execute-api` or `ivschat`.
    pub service: &'a str,
    /// The signing time.
    pub time: OffsetDateTime,
}

/// The headers a client must add to send a request signed by [`sign`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderSignature {
    /// The `Authorization` header value.
    pub authorization: String,
    /// The `X-Amz-Date` header value.
    pub amz_date: String,
    /// The hex signature alone.
    pub signature: String,
    /// The `SignedHeaders` list.
    pub signed_headers: String,
}

/// Headers SDKs never sign because proxies may change them.
const UNSIGNED_HEADERS: [&str; 6] =
    ["authorization", "user-agent", "x-amzn-trace-id", "expect", "transfer-encoding", "connection"];

fn amz_date_string(time: OffsetDateTime) -> String {
    let bytes = amz_date_bytes(time.unix_timestamp()).unwrap_or(*b"00000000T000000Z");
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Signs a request the way the AWS SDKs do (a test and command-line aid, not used by verification).
///
/// Every header in `request.headers` is signed except `authorization`, `user-agent`,
/// `x-amzn-trace-id`, `expect`, `transfer-encoding` and `connection`; `host` is taken from the
/// headers or else from `request.authority`; `x-amz-date` (and `x-amz-security-token` when
/// `params.session_token` is set) are signed with the values the caller must then send.
/// The payload hash is the `x-amz-content-sha256` header if present, else the SHA-256 of the body.
pub fn sign(request: &SignedRequest<'_>, params: &SigningParams<'_>) -> HeaderSignature {
    let amz_date = amz_date_string(params.time);
    let mut headers = request.headers.clone();
    for name in UNSIGNED_HEADERS {
        headers.remove(name);
    }
    if let Ok(value) = HeaderValue::from_str(&amz_date) {
        headers.insert(HeaderName::from_static("x-amz-date"), value);
    }
    if let Some(token) = params.session_token
        && let Ok(value) = HeaderValue::from_str(token)
    {
        headers.insert(HeaderName::from_static("x-amz-security-token"), value);
    }
    if !headers.contains_key(http::header::HOST)
        && let Some(value) = request.authority.and_then(|a| HeaderValue::from_str(a).ok())
    {
        headers.insert(http::header::HOST, value);
    }
    let mut names: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
    names.sort_unstable();
    names.dedup();
    let signed_headers = names.join(";");

    let body_hash;
    let payload_hash = match headers.get("x-amz-content-sha256").map(HeaderValue::to_str) {
        Some(Ok(value)) => value,
        _ => {
            body_hash = sha256_hex(request.body);
            crate::canonical::ascii_str(&body_hash)
        }
    };
    let mut query = parse_query(request.raw_query.unwrap_or_default());
    sort_query(&mut query);
    let canonical = CanonicalRequest {
        method: request.method,
        raw_path: request.raw_path,
        query: &query,
        signed_headers: &signed_headers,
        headers: &headers,
        authority: request.authority,
        payload_hash,
    };
    let signature = finish(&canonical, params, &amz_date);
    let authorization = format!(
        "{ALGORITHM} Credential={}/{}/{}/{}/aws4_request, SignedHeaders={signed_headers}, Signature={signature}",
        params.access_key_id,
        amz_date.get(..8).unwrap_or_default(),
        params.region,
        params.service,
    );
    HeaderSignature { authorization, amz_date, signature, signed_headers }
}

/// Presigns a request (a test and command-line aid), returning the complete query string to send.
///
/// The existing query is kept; `X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`,
/// `X-Amz-Expires`, `X-Amz-SignedHeaders=host`, `X-Amz-Security-Token` (if any) and
/// `X-Amz-Signature` are appended. The payload is `UNSIGNED-PAYLOAD`.
pub fn presign(request: &SignedRequest<'_>, params: &SigningParams<'_>, expires_in: Duration) -> String {
    let amz_date = amz_date_string(params.time);
    let credential = format!(
        "{}/{}/{}/{}/aws4_request",
        params.access_key_id,
        amz_date.get(..8).unwrap_or_default(),
        params.region,
        params.service
    );
    let mut query = String::new();
    if let Some(existing) = request.raw_query.filter(|q| !q.is_empty()) {
        query.push_str(existing);
        query.push('&');
    }
    let mut push = |key: &str, value: &str| {
        query.push_str(key);
        query.push('=');
        encode_into(&mut query, value);
        query.push('&');
    };
    push("X-Amz-Algorithm", ALGORITHM);
    push("X-Amz-Credential", &credential);
    push("X-Amz-Date", &amz_date);
    push("X-Amz-Expires", &expires_in.as_secs().to_string());
    if let Some(token) = params.session_token {
        push("X-Amz-Security-Token", token);
    }
    push("X-Amz-SignedHeaders", "host");
    query.pop();

    let mut pairs = parse_query(&query);
    sort_query(&mut pairs);
    let canonical = CanonicalRequest {
        method: request.method,
        raw_path: request.raw_path,
        query: &pairs,
        signed_headers: "host",
        headers: request.headers,
        authority: request.authority,
        payload_hash: UNSIGNED_PAYLOAD,
    };
    let signature = finish(&canonical, params, &amz_date);
    format!("{query}&X-Amz-Signature={signature}")
}

fn finish(canonical: &CanonicalRequest<'_>, params: &SigningParams<'_>, amz_date: &str) -> String {
    let date = amz_date.get(..8).unwrap_or_default();
    let key = derive_signing_key(params.secret_access_key, date, params.region, params.service);
    let sts = StringToSign { amz_date, date, region: params.region, service: params.service };
    let tag: [u8; 32] = sts.mac(&key, &canonical.digest()).finalize().into_bytes().into();
    let mut hex = [0u8; 64];
    hex_lower(&tag, &mut hex);
    String::from_utf8_lossy(&hex).into_owned()
}

/// RFC 3986 encoding of a query component.
fn encode_into(out: &mut String, value: &str) {
    for b in value.bytes() {
        if is_unreserved(b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 0xf)]));
        }
    }
}
