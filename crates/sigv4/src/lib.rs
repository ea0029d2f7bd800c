//! AWS Signature Version 4 verification for Switchboard's AWS-compatible APIs (`execute-api`, `ivschat`).
//!
//! # Overview
//!
//! [`Verifier::verify`] checks a request signed either with an
//! `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` header or with
//! presigned `X-Amz-*` query parameters (as WebSocket handshakes may be), and returns the
//! [`Principal`] that signed it. Failures are [`SigV4Error`]s whose `Display`, [`SigV4Error::error_type`]
//! and [`SigV4Error::status`] reproduce AWS's responses.
//!
//! The canonical request follows what AWS SDKs and AWS itself do for non-S3 services:
//! the raw path is normalised (dot segments and empty segments removed) and then percent-encoded
//! once more ("double encoding": wire `%3D` is `%253D`, wire `@` is `%40`); the query is decoded and
//! re-encoded with the RFC 3986 unreserved set and sorted; only the headers named in
//! `SignedHeaders` are used, and `host` must be one of them.
//!
//! # Invariants
//!
//! - No IO, no clock reads: the caller passes `now` and a [`SecretLookup`]; a lookup may cache
//!   derived signing keys through [`SecretLookup::signing_key`], which removes four of the five
//!   HMACs of a verification.
//! - No panics on any input; the common path allocates only the [`Principal`]'s strings and, when
//!   there is a query string, one vector of its pairs. Signatures are compared in constant time.
//!
//! [`sign`] and [`presign`] produce signatures for tests and command-line tools.

mod canonical;
mod error;
mod parse;
mod sign;
mod verify;

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::BuildHasher;

use http::HeaderMap;

pub use crate::error::{MissingParameters, SigV4Error};
pub use crate::sign::{HeaderSignature, SigningParams, derive_signing_key, presign, sign};
pub use crate::verify::{Head, Principal, SignatureLocation, Verifier};

/// The parts of an HTTP request that SigV4 covers, borrowed from wherever the server keeps them.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// The method, e.g. `POST`.
    pub method: &'a str,
    /// The path exactly as on the wire, still percent-encoded (`http::Uri::path`).
    pub raw_path: &'a str,
    /// The query string exactly as on the wire, without `?`.
    pub raw_query: Option<&'a str>,
    /// The request authority, used for `host` when there is no `Host` header (HTTP/2 `:authority`).
    pub authority: Option<&'a str>,
    /// All request headers.
    pub headers: &'a HeaderMap,
    /// The body (empty for presigned and body-less requests).
    pub body: &'a [u8],
}

impl<'a> SignedRequest<'a> {
    /// A request without a separate authority.
    pub fn new(
        method: &'a str,
        raw_path: &'a str,
        raw_query: Option<&'a str>,
        headers: &'a HeaderMap,
        body: &'a [u8],
    ) -> Self {
        Self { method, raw_path, raw_query, authority: None, headers, body }
    }

    /// Borrows method, path, query, authority and headers from `http` request parts.
    pub fn from_parts(parts: &'a http::request::Parts, body: &'a [u8]) -> Self {
        Self {
            method: parts.method.as_str(),
            raw_path: parts.uri.path(),
            raw_query: parts.uri.query(),
            authority: parts.uri.authority().map(http::uri::Authority::as_str),
            headers: &parts.headers,
            body,
        }
    }
}

/// Where the verifier finds secret access keys.
///
/// Implemented for closures `Fn(&str) -> Option<String>` and for `HashMap<String, String>`
/// (access key id → secret).
pub trait SecretLookup {
    /// The secret access key for `access_key_id`, or `None` if the key is unknown.
    fn secret_access_key(&self, access_key_id: &str) -> Option<Cow<'_, str>>;

    /// The SigV4 signing key for a credential scope, or `None` if the key is unknown.
    ///
    /// The default derives it from [`SecretLookup::secret_access_key`] with [`derive_signing_key`]
    /// (four HMACs, over half the cost of a verification). A store may override this to cache
    /// keys; they depend only on the secret and the scope, and the scope date changes daily.
    fn signing_key(&self, access_key_id: &str, date: &str, region: &str, service: &str) -> Option<[u8; 32]> {
        let secret = self.secret_access_key(access_key_id)?;
        Some(derive_signing_key(&secret, date, region, service))
    }
}

impl<F> SecretLookup for F
where
    F: Fn(&str) -> Option<String>,
{
    fn secret_access_key(&self, access_key_id: &str) -> Option<Cow<'_, str>> {
        self(access_key_id).map(Cow::Owned)
    }
}

impl<S: BuildHasher> SecretLookup for HashMap<String, String, S> {
    fn secret_access_key(&self, access_key_id: &str) -> Option<Cow<'_, str>> {
        self.get(access_key_id).map(|s| Cow::Borrowed(s.as_str()))
    }
}
