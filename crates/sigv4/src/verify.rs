//! `Verifier`: checks a header-signed or presigned request against a policy and returns the `Principal`.

use std::borrow::Cow;
use std::time::Duration;

use hmac::Mac;
use time::OffsetDateTime;

use crate::canonical::{
    CanonicalRequest, QueryPair, ascii_str, decode_component, key_is, parse_query, sha256_hex, sort_query,
};
use crate::error::SigV4Error;
use crate::parse::{AuthorizationHeader, Scope, amz_date_bytes, format_amz_date, parse_amz_date, parse_http_date};
use crate::sign::{ALGORITHM, StringToSign, UNSIGNED_PAYLOAD};
use crate::{SecretLookup, SignedRequest};

const X_AMZ_ALGORITHM: &str = "X-Amz-Algorithm";
const X_AMZ_CREDENTIAL: &str = "X-Amz-Credential";
const X_AMZ_DATE: &str = "X-Amz-Date";
const X_AMZ_EXPIRES: &str = "X-Amz-Expires";
const X_AMZ_SIGNED_HEADERS: &str = "X-Amz-SignedHeaders";
const X_AMZ_SIGNATURE: &str = "X-Amz-Signature";
const X_AMZ_SECURITY_TOKEN: &str = "X-Amz-Security-Token";
const X_AMZ_CONTENT_SHA256: &str = "X-Amz-Content-Sha256";

/// The presigned-URL parameters, in the order `verify_query` destructures them.
const PRESIGN_PARAMETERS: [&str; 8] = [
    X_AMZ_ALGORITHM,
    X_AMZ_CREDENTIAL,
    X_AMZ_DATE,
    X_AMZ_EXPIRES,
    X_AMZ_SIGNED_HEADERS,
    X_AMZ_SIGNATURE,
    X_AMZ_SECURITY_TOKEN,
    X_AMZ_CONTENT_SHA256,
];

/// Verification policy: which service and region a request must be scoped to, and time limits.
///
/// Fields are public; build with [`Verifier::new`] and adjust what you need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    /// The service the credential scope must name: `execute-api` or `ivschat`.
    pub service: Cow<'static, str>,
    /// The region the credential scope must name; `None` accepts any non-empty region.
    pub region: Option<Cow<'static, str>>,
    /// How far `X-Amz-Date` may be from `now` (AWS: 5 minutes).
    pub max_clock_skew: Duration,
    /// The largest accepted `X-Amz-Expires` of a presigned request (AWS: 7 days).
    pub max_presign_expiry: Duration,
}

/// Who signed a verified request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The access key id from the credential scope.
    pub access_key_id: String,
    /// The region from the credential scope.
    pub region: String,
    /// The service from the credential scope (always the verifier's service).
    pub service: String,
    /// `X-Amz-Security-Token`, if one was sent (header or presigned query parameter).
    ///
    /// A presigned token is always covered by the signature; a header token only when the client
    /// listed `x-amz-security-token` in `SignedHeaders` (every AWS SDK does).
    pub session_token: Option<String>,
    /// The request timestamp (`X-Amz-Date`, or the `Date` header).
    pub signed_at: OffsetDateTime,
    /// Whether the signature came in the `Authorization` header or in the query string.
    pub location: SignatureLocation,
}

impl Principal {
    /// Whether a session token (temporary credentials) was sent.
    pub fn has_session_token(&self) -> bool {
        self.session_token.is_some()
    }
}

/// Where a verified signature was carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureLocation {
    /// `Authorization: AWS4-HMAC-SHA256 …`.
    Header,
    /// Presigned `X-Amz-*` query parameters.
    Query {
        /// `X-Amz-Expires`.
        expires_in: Duration,
    },
}

/// The claims of a request, borrowed from its header or query, before the signature is checked.
struct Claims<'a> {
    scope: Scope<'a>,
    /// The 16-byte ISO-8601 basic timestamp used in the string to sign.
    amz_date: &'a str,
    signed_at: i64,
    signed_headers: &'a str,
    signature: &'a str,
    session_token: Option<Cow<'a, str>>,
    location: SignatureLocation,
}

impl Verifier {
    /// AWS's clock-skew allowance.
    pub const DEFAULT_MAX_CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);
    /// AWS's limit on `X-Amz-Expires`.
    pub const DEFAULT_MAX_PRESIGN_EXPIRY: Duration = Duration::from_secs(7 * 24 * 60 * 60);

    /// A verifier for `service` accepting any region, with AWS's default time limits.
    pub fn new(service: impl Into<Cow<'static, str>>) -> Self {
        Self {
            service: service.into(),
            region: None,
            max_clock_skew: Self::DEFAULT_MAX_CLOCK_SKEW,
            max_presign_expiry: Self::DEFAULT_MAX_PRESIGN_EXPIRY,
        }
    }

    /// Verifies `request`'s signature at time `now`, looking the secret up in `credentials`.
    ///
    /// An `Authorization` header takes precedence; without one, a query string carrying
    /// `X-Amz-Algorithm`, `X-Amz-Credential` or `X-Amz-Signature` is verified as presigned.
    /// Never panics, whatever the input. The same as [`Verifier::check_head`] followed by [`Head::verify`] with
    /// the request's body.
    pub fn verify<C: SecretLookup + ?Sized>(
        &self,
        request: &SignedRequest<'_>,
        credentials: &C,
        now: OffsetDateTime,
    ) -> Result<Principal, SigV4Error> {
        self.check_head(request, credentials, now)?.verify(request.body)
    }

    /// Everything [`Verifier::verify`] checks before it needs the body: the signature's form and parameters, the
    /// credential scope (service, region, date), the time window and a known access key. The body of `request` is
    /// not read. What passes is the [`Head`] that [`Head::verify`] checks against the body, without parsing the
    /// request again; a request refused here is refused by [`Verifier::verify`] with the same error.
    pub fn check_head<'r, C: SecretLookup + ?Sized>(
        &self,
        request: &SignedRequest<'r>,
        credentials: &C,
        now: OffsetDateTime,
    ) -> Result<Head<'r>, SigV4Error> {
        let now = now.unix_timestamp();
        let raw_query = request.raw_query.unwrap_or_default();
        if let Some(value) = request.headers.get(http::header::AUTHORIZATION) {
            let authorization = String::from_utf8_lossy(value.as_bytes());
            return self.verify_header(request, &authorization, raw_query, credentials, now);
        }
        let pairs = parse_query(raw_query);
        let presigned = pairs.iter().any(|p| {
            key_is(p.key, X_AMZ_ALGORITHM) || key_is(p.key, X_AMZ_CREDENTIAL) || key_is(p.key, X_AMZ_SIGNATURE)
        });
        if !presigned {
            return Err(SigV4Error::MissingAuthenticationToken);
        }
        self.verify_query(request, pairs, credentials, now)
    }

    fn verify_header<'r, C: SecretLookup + ?Sized>(
        &self,
        request: &SignedRequest<'r>,
        authorization: &str,
        raw_query: &'r str,
        credentials: &C,
        now: i64,
    ) -> Result<Head<'r>, SigV4Error> {
        let header = AuthorizationHeader::parse(authorization)?;
        let x_amz_date = request.headers.get("x-amz-date");
        let date_header = match x_amz_date {
            Some(_) => None,
            None => request.headers.get(http::header::DATE),
        };
        let mut missing = header.missing();
        missing.date = x_amz_date.is_none() && date_header.is_none();
        let (Some(credential), Some(signed_headers), Some(signature), false) =
            (header.credential, header.signed_headers, header.signature, missing.any())
        else {
            return Err(SigV4Error::MissingAuthorizationParameters {
                missing,
                authorization: authorization.to_owned(),
            });
        };
        if header.algorithm != ALGORITHM {
            return Err(SigV4Error::UnsupportedAlgorithm { algorithm: header.algorithm.to_owned() });
        }
        let scope = self.check_scope(credential)?;

        let date_value;
        let formatted;
        let (amz_date, signed_at) = match (x_amz_date, date_header) {
            (Some(value), _) => {
                date_value = String::from_utf8_lossy(value.as_bytes());
                let signed_at = parse_amz_date(&date_value)
                    .ok_or_else(|| SigV4Error::InvalidDate { date: date_value.clone().into_owned() })?;
                (&*date_value, signed_at)
            }
            (None, Some(value)) => {
                date_value = String::from_utf8_lossy(value.as_bytes());
                let invalid = || SigV4Error::InvalidDate { date: date_value.clone().into_owned() };
                let signed_at = parse_http_date(&date_value).ok_or_else(invalid)?;
                formatted = amz_date_bytes(signed_at).ok_or_else(invalid)?;
                (ascii_str(&formatted), signed_at)
            }
            (None, None) => return Err(SigV4Error::MissingAuthenticationToken),
        };

        let session_token = request.headers.get("x-amz-security-token").map(|v| String::from_utf8_lossy(v.as_bytes()));
        let claims = Claims {
            scope,
            amz_date,
            signed_at,
            signed_headers,
            signature,
            session_token,
            location: SignatureLocation::Header,
        };
        self.check_time(&claims, now, None)?;
        check_host_signed(signed_headers)?;
        let content_sha256 = request.headers.get("x-amz-content-sha256").map(|v| String::from_utf8_lossy(v.as_bytes()));
        let mut query = parse_query(raw_query);
        sort_query(&mut query);
        self.head(request, &claims, query, content_sha256.as_deref(), credentials)
    }

    fn verify_query<'r, C: SecretLookup + ?Sized>(
        &self,
        request: &SignedRequest<'r>,
        mut pairs: Vec<QueryPair<'r>>,
        credentials: &C,
        now: i64,
    ) -> Result<Head<'r>, SigV4Error> {
        // One pass over the pairs; the first occurrence of each parameter wins.
        let mut found: [Option<&'r str>; PRESIGN_PARAMETERS.len()] = [None; PRESIGN_PARAMETERS.len()];
        for pair in &pairs {
            if let Some(i) = PRESIGN_PARAMETERS.iter().position(|name| key_is(pair.key, name))
                && let Some(slot @ None) = found.get_mut(i)
            {
                *slot = Some(pair.value);
            }
        }
        let [algorithm, credential, date, expires, signed_headers, signature, session_token, content_sha256] =
            found.map(|raw| raw.map(decode_component));
        let require = |value: Option<Cow<'r, str>>, parameter: &'static str| {
            value.ok_or(SigV4Error::MissingQueryParameter { parameter })
        };
        let algorithm = require(algorithm, X_AMZ_ALGORITHM)?;
        let credential = require(credential, X_AMZ_CREDENTIAL)?;
        let date = require(date, X_AMZ_DATE)?;
        let expires = require(expires, X_AMZ_EXPIRES)?;
        let signed_headers = require(signed_headers, X_AMZ_SIGNED_HEADERS)?;
        let signature = require(signature, X_AMZ_SIGNATURE)?;
        let content_sha256 = content_sha256
            .or_else(|| request.headers.get("x-amz-content-sha256").map(|v| String::from_utf8_lossy(v.as_bytes())));

        if algorithm != ALGORITHM {
            return Err(SigV4Error::UnsupportedAlgorithm { algorithm: algorithm.into_owned() });
        }
        let scope = self.check_scope(&credential)?;
        let signed_at =
            parse_amz_date(&date).ok_or_else(|| SigV4Error::InvalidDate { date: date.clone().into_owned() })?;
        let expires_secs = match expires.parse::<u64>() {
            Ok(secs) if expires.bytes().all(|b| b.is_ascii_digit()) => secs,
            _ => {
                return Err(SigV4Error::InvalidExpires { value: expires.into_owned() });
            }
        };
        if expires_secs > self.max_presign_expiry.as_secs() {
            return Err(SigV4Error::ExpiresTooLarge { max_seconds: self.max_presign_expiry.as_secs() });
        }
        let claims = Claims {
            scope,
            amz_date: &date,
            signed_at,
            signed_headers: &signed_headers,
            signature: &signature,
            session_token,
            location: SignatureLocation::Query { expires_in: Duration::from_secs(expires_secs) },
        };
        self.check_time(&claims, now, Some(expires_secs))?;
        check_host_signed(&signed_headers)?;
        pairs.retain(|p| !key_is(p.key, X_AMZ_SIGNATURE));
        sort_query(&mut pairs);
        self.head(request, &claims, pairs, content_sha256.as_deref(), credentials)
    }

    /// Checks the credential's shape, service and region.
    fn check_scope<'c>(&self, credential: &'c str) -> Result<Scope<'c>, SigV4Error> {
        let scope = Scope::parse(credential)?;
        if scope.service != self.service {
            return Err(SigV4Error::WrongService {
                expected: self.service.clone().into_owned(),
                got: scope.service.to_owned(),
            });
        }
        let region_ok = match &self.region {
            Some(required) => scope.region == required.as_ref(),
            None => !scope.region.is_empty(),
        };
        if !region_ok {
            return Err(SigV4Error::WrongRegion { region: scope.region.to_owned() });
        }
        Ok(scope)
    }

    /// Checks the scope date against the timestamp, then the timestamp against `now`.
    fn check_time(&self, claims: &Claims<'_>, now: i64, expires: Option<u64>) -> Result<(), SigV4Error> {
        let day = claims.amz_date.get(..8).unwrap_or_default();
        if claims.scope.date != day {
            return Err(SigV4Error::ScopeDateMismatch {
                scope_date: claims.scope.date.to_owned(),
                expected: day.to_owned(),
                amz_date: claims.amz_date.to_owned(),
            });
        }
        let skew = i64::try_from(self.max_clock_skew.as_secs()).unwrap_or(i64::MAX);
        let skew_minutes = self.max_clock_skew.as_secs() / 60;
        let latest = now.saturating_add(skew);
        if claims.signed_at > latest {
            return Err(SigV4Error::SignatureNotYetCurrent {
                signed_at: claims.amz_date.to_owned(),
                latest: format_amz_date(latest),
                now: format_amz_date(now),
                skew_minutes,
            });
        }
        match expires {
            None => {
                let earliest = now.saturating_sub(skew);
                if claims.signed_at < earliest {
                    return Err(SigV4Error::SignatureExpired {
                        signed_at: claims.amz_date.to_owned(),
                        earliest: format_amz_date(earliest),
                        now: format_amz_date(now),
                        skew_minutes,
                    });
                }
            }
            Some(expires_seconds) => {
                let expires = i64::try_from(expires_seconds).unwrap_or(i64::MAX);
                if now > claims.signed_at.saturating_add(expires) {
                    return Err(SigV4Error::PresignExpired {
                        signed_at: claims.amz_date.to_owned(),
                        earliest: format_amz_date(now.saturating_sub(expires)),
                        now: format_amz_date(now),
                        expires_seconds,
                    });
                }
            }
        }
        Ok(())
    }

    /// Looks the signing key up and keeps what the signature's check needs.
    fn head<'r, C: SecretLookup + ?Sized>(
        &self,
        request: &SignedRequest<'r>,
        claims: &Claims<'_>,
        query: Vec<QueryPair<'r>>,
        content_sha256: Option<&str>,
        credentials: &C,
    ) -> Result<Head<'r>, SigV4Error> {
        let scope = &claims.scope;
        let Some(key) = credentials.signing_key(scope.access_key_id, scope.date, scope.region, scope.service) else {
            return Err(SigV4Error::UnrecognizedClient { access_key_id: scope.access_key_id.to_owned() });
        };
        let mut provided = [0u8; 32];
        let provided = hex::decode_to_slice(claims.signature, &mut provided).is_ok().then_some(provided);
        Ok(Head {
            request: *request,
            principal: Principal {
                access_key_id: scope.access_key_id.to_owned(),
                region: scope.region.to_owned(),
                service: scope.service.to_owned(),
                session_token: claims.session_token.as_deref().map(str::to_owned),
                signed_at: OffsetDateTime::from_unix_timestamp(claims.signed_at).unwrap_or(OffsetDateTime::UNIX_EPOCH),
                location: claims.location,
            },
            key,
            amz_date: claims.amz_date.to_owned(),
            signed_headers: normalize_signed_headers(claims.signed_headers).into_owned(),
            provided,
            query,
            content_sha256: content_sha256.map(str::to_owned),
        })
    }
}

/// A request whose head passed [`Verifier::check_head`]: its principal, its signing key and what its signature
/// covers besides the body, for [`Head::verify`] to check against the body. Its `Debug` leaves the signing key out.
pub struct Head<'r> {
    /// The request, whose body is not read: [`Head::verify`] is given it.
    request: SignedRequest<'r>,
    principal: Principal,
    key: [u8; 32],
    /// The 16-byte ISO-8601 basic timestamp of the string to sign.
    amz_date: String,
    /// `SignedHeaders` as AWS canonicalises it.
    signed_headers: String,
    /// The signature, when it is 64 hex digits (else nothing matches it).
    provided: Option<[u8; 32]>,
    /// Sorted pairs, without `X-Amz-Signature` for a presigned request.
    query: Vec<QueryPair<'r>>,
    /// `X-Amz-Content-Sha256`, as declared.
    content_sha256: Option<String>,
}

impl std::fmt::Debug for Head<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Head").field("principal", &self.principal).finish_non_exhaustive()
    }
}

impl Head<'_> {
    /// Who signed the request, when its signature holds for `body` (and the declared payload hash, if any, is
    /// `body`'s).
    pub fn verify(self, body: &[u8]) -> Result<Principal, SigV4Error> {
        // The payload hashes to try, in order. A declared hash is the only candidate; a presigned
        // request without one may have been signed with `UNSIGNED-PAYLOAD` (S3-style presigners)
        // or with the hash of its (empty) body (botocore's SigV4QueryAuth, aws-sigv4, IoT/Transcribe).
        let content_sha256 = self.content_sha256.as_deref();
        let body_hash;
        let declared_hex = match content_sha256 {
            Some(UNSIGNED_PAYLOAD) => false,
            Some(value) if value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()) => true,
            Some(_) => return Err(SigV4Error::ContentSha256Mismatch),
            None => false,
        };
        let mut candidates: [&str; 2] = [UNSIGNED_PAYLOAD, ""];
        let candidates: &[&str] = match content_sha256 {
            Some(value) => {
                candidates[0] = value;
                &candidates[..1]
            }
            None => {
                body_hash = sha256_hex(body);
                if matches!(self.principal.location, SignatureLocation::Query { .. }) {
                    candidates[1] = ascii_str(&body_hash);
                    &candidates[..]
                } else {
                    candidates[0] = ascii_str(&body_hash);
                    &candidates[..1]
                }
            }
        };

        let principal = &self.principal;
        let sts = StringToSign {
            amz_date: &self.amz_date,
            date: self.amz_date.get(..8).unwrap_or_default(),
            region: &principal.region,
            service: &principal.service,
        };
        let mut canonical = CanonicalRequest {
            method: self.request.method,
            raw_path: self.request.raw_path,
            query: &self.query,
            signed_headers: &self.signed_headers,
            headers: self.request.headers,
            authority: self.request.authority,
            payload_hash: "",
        };
        let mut matched = false;
        for candidate in candidates {
            canonical.payload_hash = candidate;
            let digest = canonical.digest();
            if let Some(provided) = &self.provided
                && sts.mac(&self.key, &digest).verify_slice(provided).is_ok()
            {
                matched = true;
                break;
            }
        }
        if !matched {
            canonical.payload_hash = candidates.first().copied().unwrap_or_default();
            let digest = canonical.digest();
            return Err(SigV4Error::SignatureMismatch {
                canonical_request: canonical.text(),
                string_to_sign: sts.text(&digest),
            });
        }
        if declared_hex {
            let actual = sha256_hex(body);
            let declared = content_sha256.unwrap_or_default();
            if !declared.as_bytes().eq_ignore_ascii_case(&actual) {
                return Err(SigV4Error::ContentSha256Mismatch);
            }
        }
        Ok(self.principal)
    }
}

fn check_host_signed(signed_headers: &str) -> Result<(), SigV4Error> {
    if signed_headers.split(';').any(|h| h.eq_ignore_ascii_case("host")) {
        Ok(())
    } else {
        Err(SigV4Error::HostNotSigned)
    }
}

/// The `SignedHeaders` list as AWS canonicalises it: lowercase, sorted, without duplicates or empties.
///
/// Clients always send it that way, so this borrows; anything else is rebuilt (and will then not
/// match the client's signature). Deduplicating also stops a list naming one large header thousands
/// of times from multiplying the hashing work.
fn normalize_signed_headers(list: &str) -> Cow<'_, str> {
    let mut names = list.split(';');
    let mut previous = names.next().unwrap_or_default();
    let mut canonical = !previous.is_empty();
    for name in names {
        canonical &= previous < name;
        previous = name;
    }
    if canonical && !list.bytes().any(|b| b.is_ascii_uppercase()) {
        return Cow::Borrowed(list);
    }
    let mut names: Vec<String> = list.split(';').filter(|n| !n.is_empty()).map(str::to_ascii_lowercase).collect();
    names.sort_unstable();
    names.dedup();
    Cow::Owned(names.join(";"))
}
