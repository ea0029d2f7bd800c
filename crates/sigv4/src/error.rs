//! `SigV4Error`: every way verification can fail, with AWS's own error type names, statuses and texts.

use std::fmt;

use http::StatusCode;

/// Why a request's SigV4 signature was refused.
///
/// `Display` gives the exact message AWS puts in the `message` member of its JSON error body;
/// [`SigV4Error::error_type`] gives the value for the `x-amzn-ErrorType` header and
/// [`SigV4Error::status`] the HTTP status.
/// Texts marked "observed" were captured from real AWS responses in public bug reports;
/// the others follow AWS's wording as closely as public sources allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SigV4Error {
    /// Neither an `Authorization` header nor presigned `X-Amz-*` query parameters were sent.
    #[error("Missing Authentication Token")]
    MissingAuthenticationToken,

    /// A comma-separated part of the `Authorization` header has no `=` (observed text).
    #[error("'{pair}' not a valid key=value pair (missing equal-sign) in Authorization header: '{authorization}'.")]
    MalformedAuthorizationPair {
        /// The offending part.
        pair: String,
        /// The whole header value.
        authorization: String,
    },

    /// The `Authorization` header starts with a `key=value` pair instead of the algorithm name.
    #[error("Authorization header must begin with the algorithm name, which cannot include an equal-sign")]
    MissingAlgorithm,

    /// `Credential`, `Signature`, `SignedHeaders` or a date header is missing (observed text).
    #[error("{missing}Authorization={authorization}")]
    MissingAuthorizationParameters {
        /// Which parts are missing.
        missing: MissingParameters,
        /// The whole header value.
        authorization: String,
    },

    /// The algorithm is not `AWS4-HMAC-SHA256` (S3's observed text; other services' wording unknown).
    #[error("The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.")]
    UnsupportedAlgorithm {
        /// The algorithm the client named.
        algorithm: String,
    },

    /// The credential is not `AKID/YYYYMMDD/REGION/SERVICE/aws4_request` (observed text).
    #[error(
        "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{credential}'"
    )]
    MalformedCredential {
        /// The credential as sent.
        credential: String,
    },

    /// A presigned URL lacks one of the required `X-Amz-*` parameters.
    #[error("AWS query-string parameters must include '{parameter}'. Re-examine the query-string parameters.")]
    MissingQueryParameter {
        /// The first missing parameter.
        parameter: &'static str,
    },

    /// `X-Amz-Date` (or `Date`) could not be parsed.
    #[error("Date must be in ISO-8601 'basic format'. Got '{date}'. See http://en.wikipedia.org/wiki/ISO_8601")]
    InvalidDate {
        /// The value as sent.
        date: String,
    },

    /// `X-Amz-Expires` is not a non-negative integer (S3's text).
    #[error("X-Amz-Expires should be a number")]
    InvalidExpires {
        /// The value as sent.
        value: String,
    },

    /// `X-Amz-Expires` exceeds the configured maximum (S3's text for the 7-day limit).
    #[error("{}", expires_too_large(.max_seconds))]
    ExpiresTooLarge {
        /// The largest accepted `X-Amz-Expires`, in seconds.
        max_seconds: u64,
    },

    /// The credential scope names another service (observed text, trailing space included).
    #[error("Credential should be scoped to correct service: '{expected}'. ")]
    WrongService {
        /// The service this endpoint verifies for.
        expected: String,
        /// The service in the credential scope.
        got: String,
    },

    /// The credential scope names a region this endpoint does not serve (observed text).
    #[error("Credential should be scoped to a valid region, not '{region}'. ")]
    WrongRegion {
        /// The region in the credential scope.
        region: String,
    },

    /// The credential scope does not end in `aws4_request`.
    #[error("Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'. ")]
    WrongTerminator {
        /// The terminator as sent.
        terminator: String,
    },

    /// The scope date is not the first eight characters of the request timestamp.
    #[error(
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{scope_date}' != '{expected}', from '{amz_date}'."
    )]
    ScopeDateMismatch {
        /// The date in the credential scope.
        scope_date: String,
        /// The first eight characters of the timestamp.
        expected: String,
        /// The request timestamp in ISO-8601 basic format.
        amz_date: String,
    },

    /// `host` is not among the signed headers (observed text).
    #[error("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")]
    HostNotSigned,

    /// The request timestamp is older than the allowed clock skew (observed text).
    #[error("Signature expired: {signed_at} is now earlier than {earliest} ({now} - {skew_minutes} min.)")]
    SignatureExpired {
        /// The request timestamp.
        signed_at: String,
        /// `now` minus the allowed skew.
        earliest: String,
        /// The verifier's current time.
        now: String,
        /// The allowed skew in whole minutes.
        skew_minutes: u64,
    },

    /// The request timestamp is further in the future than the allowed clock skew.
    #[error("Signature not yet current: {signed_at} is still later than {latest} ({now} + {skew_minutes} min.)")]
    SignatureNotYetCurrent {
        /// The request timestamp.
        signed_at: String,
        /// `now` plus the allowed skew.
        latest: String,
        /// The verifier's current time.
        now: String,
        /// The allowed skew in whole minutes.
        skew_minutes: u64,
    },

    /// A presigned URL is used after `X-Amz-Date` + `X-Amz-Expires`.
    #[error("Signature expired: {signed_at} is now earlier than {earliest} ({now} - {expires_seconds} sec.)")]
    PresignExpired {
        /// The request timestamp.
        signed_at: String,
        /// `now` minus `X-Amz-Expires`.
        earliest: String,
        /// The verifier's current time.
        now: String,
        /// `X-Amz-Expires` in seconds.
        expires_seconds: u64,
    },

    /// The signature does not match (observed text, including both quoted strings).
    #[error(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\nThe Canonical String for this request should have been\n'{canonical_request}'\n\nThe String-to-Sign should have been\n'{string_to_sign}'\n"
    )]
    SignatureMismatch {
        /// The canonical request the verifier computed.
        canonical_request: String,
        /// The string to sign the verifier computed.
        string_to_sign: String,
    },

    /// `X-Amz-Content-SHA256` is neither `UNSIGNED-PAYLOAD` nor the SHA-256 of the body (S3's text).
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed.")]
    ContentSha256Mismatch,

    /// The access key id is unknown (observed text).
    #[error("The security token included in the request is invalid.")]
    UnrecognizedClient {
        /// The access key id from the credential scope.
        access_key_id: String,
    },
}

impl SigV4Error {
    /// The AWS error type name, for the `x-amzn-ErrorType` header and the `__type` member.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            Self::MalformedAuthorizationPair { .. }
            | Self::MissingAlgorithm
            | Self::MissingAuthorizationParameters { .. }
            | Self::UnsupportedAlgorithm { .. }
            | Self::MalformedCredential { .. }
            | Self::MissingQueryParameter { .. }
            | Self::InvalidDate { .. }
            | Self::InvalidExpires { .. }
            | Self::ExpiresTooLarge { .. } => "IncompleteSignatureException",
            Self::WrongService { .. }
            | Self::WrongRegion { .. }
            | Self::WrongTerminator { .. }
            | Self::ScopeDateMismatch { .. }
            | Self::HostNotSigned
            | Self::SignatureExpired { .. }
            | Self::SignatureNotYetCurrent { .. }
            | Self::PresignExpired { .. }
            | Self::SignatureMismatch { .. } => "InvalidSignatureException",
            Self::ContentSha256Mismatch => "XAmzContentSHA256Mismatch",
            Self::UnrecognizedClient { .. } => "UnrecognizedClientException",
        }
    }

    /// The HTTP status AWS answers with.
    pub fn status(&self) -> StatusCode {
        match self.error_type() {
            "IncompleteSignatureException" | "XAmzContentSHA256Mismatch" => StatusCode::BAD_REQUEST,
            _ => StatusCode::FORBIDDEN,
        }
    }
}

/// Which parts of an `Authorization` header are missing.
///
/// Its `Display` is AWS's concatenation of one sentence per missing part, each followed by a space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MissingParameters {
    /// No `Credential=` pair.
    pub credential: bool,
    /// No `Signature=` pair.
    pub signature: bool,
    /// No `SignedHeaders=` pair.
    pub signed_headers: bool,
    /// Neither an `X-Amz-Date` nor a `Date` header.
    pub date: bool,
}

impl MissingParameters {
    /// Whether anything is missing.
    pub fn any(&self) -> bool {
        self.credential || self.signature || self.signed_headers || self.date
    }
}

impl fmt::Display for MissingParameters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.credential {
            f.write_str("Authorization header requires 'Credential' parameter. ")?;
        }
        if self.signature {
            f.write_str("Authorization header requires 'Signature' parameter. ")?;
        }
        if self.signed_headers {
            f.write_str("Authorization header requires 'SignedHeaders' parameter. ")?;
        }
        if self.date {
            f.write_str("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ")?;
        }
        Ok(())
    }
}

fn expires_too_large(max_seconds: &u64) -> String {
    if *max_seconds == 604_800 {
        "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds".to_owned()
    } else {
        format!("X-Amz-Expires must be less than {max_seconds} seconds")
    }
}
