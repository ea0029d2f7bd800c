//! Properties of verification against the official signer: whatever request `aws-sigv4` (the AWS SDK for Rust's
//! signer) signs, in the `Authorization` header or presigned, `Verifier::verify` accepts; and any change of one byte
//! of a signed part (method, path, query, a signed header, the body, the date, the signature) is refused.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SignatureLocation as AwsLocation, SigningSettings};
use aws_smithy_runtime_api::client::identity::Identity;
use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use sigv4::{SignedRequest, Verifier};
use time::OffsetDateTime;

const AKID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// 2024-01-01T00:00:00Z.
const T0: u64 = 1_704_067_200;
const HOST: &str = "abcdef1234.execute-api.us-east-1.amazonaws.com";
/// RFC 3986's unreserved characters: what the signer and the verifier both leave as they are in paths and queries.
const UNRESERVED: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_~";

/// A request as a client would build it before signing.
#[derive(Clone, Debug)]
struct Case {
    method: &'static str,
    segments: Vec<String>,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    region: &'static str,
    token: Option<String>,
    presign: bool,
}

/// The request as it arrives, signed.
#[derive(Clone, Debug)]
struct Wire {
    method: String,
    path: String,
    query: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Wire {
    fn verify(&self, service: &'static str, now: u64) -> Result<sigv4::Principal, sigv4::SigV4Error> {
        let keys = HashMap::from([(AKID.to_owned(), SECRET.to_owned())]);
        let query = (!self.query.is_empty()).then_some(self.query.as_str());
        let request = SignedRequest::new(&self.method, &self.path, query, &self.headers, &self.body);
        let now = OffsetDateTime::from_unix_timestamp(now as i64).unwrap();
        Verifier::new(service).verify(&request, &keys, now)
    }
}

fn word(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(UNRESERVED), 1..max).prop_map(|bytes| String::from_utf8(bytes).unwrap())
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::sample::select(&["GET", "POST", "PUT", "DELETE", "PATCH"][..]),
        prop::collection::vec(word(10), 0..4),
        prop::collection::vec(("[a-z]{1,6}", prop::option::of(word(8))), 0..4),
        prop::collection::vec(("x-custom-[a-z]{1,4}", "[A-Za-z0-9]{1,12}"), 0..3),
        prop::collection::vec(any::<u8>(), 0..64),
        prop::sample::select(&["us-east-1", "eu-west-3"][..]),
        prop::option::of("[A-Za-z0-9/+=]{8,24}"),
        any::<bool>(),
    )
        .prop_map(|(method, segments, query, headers, body, region, token, presign)| {
            let query = query.into_iter().map(|(k, v)| (k, v.unwrap_or_default())).collect();
            let mut headers: Vec<(String, String)> = headers;
            headers.sort();
            headers.dedup_by(|a, b| a.0 == b.0);
            let (method, body) = if presign { ("GET", Vec::new()) } else { (method, body) };
            Case { method, segments, query, headers, body, region, token, presign }
        })
}

/// Signs `case` with `aws-sigv4` at `T0`.
fn aws_signed(case: &Case, service: &'static str) -> Wire {
    let credentials = Credentials::new(AKID, SECRET, case.token.clone(), None, "test");
    let identity: Identity = credentials.into();
    let mut settings = SigningSettings::default();
    if case.presign {
        settings.signature_location = AwsLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(300));
    }
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(case.region)
        .name(service)
        .time(SystemTime::UNIX_EPOCH + Duration::from_secs(T0))
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let path = format!("/{}", case.segments.join("/"));
    let query = case.query.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let url = if query.is_empty() { format!("https://{HOST}{path}") } else { format!("https://{HOST}{path}?{query}") };
    let mut headers: Vec<(&str, &str)> = vec![("host", HOST)];
    headers.extend(case.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let signable =
        SignableRequest::new(case.method, url, headers.iter().copied(), SignableBody::Bytes(&case.body)).unwrap();
    let (instructions, _) = aws_sigv4::http_request::sign(signable, &params).unwrap().into_parts();

    let mut map = HeaderMap::new();
    for (name, value) in headers.iter().copied().chain(instructions.headers()) {
        map.insert(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
    }
    let mut query = query;
    for (name, value) in instructions.params() {
        if !query.is_empty() {
            query.push('&');
        }
        let encoded: String = value
            .bytes()
            .map(|b| if UNRESERVED.contains(&b) || b == b'.' { char::from(b).to_string() } else { format!("%{b:02X}") })
            .collect();
        query.push_str(&format!("{name}={encoded}"));
    }
    Wire { method: case.method.to_owned(), path, query, headers: map, body: case.body.clone() }
}

/// Another unreserved character than `b`.
fn other_than(b: u8, pick: usize) -> u8 {
    let choices: Vec<u8> = UNRESERVED.iter().copied().filter(|&c| c != b).collect();
    choices[pick % choices.len()]
}

/// Replaces one byte of `text` (at `at`, wrapped) with another unreserved character; `None` when `text` is empty.
fn change_one(text: &str, at: usize, pick: usize) -> Option<String> {
    if text.is_empty() {
        return None;
    }
    let mut bytes = text.as_bytes().to_vec();
    let i = at % bytes.len();
    bytes[i] = other_than(bytes[i], pick);
    String::from_utf8(bytes).ok()
}

/// One byte of one signed part of `wire` changed; `None` when that part is empty or unsigned.
fn tamper(wire: &Wire, case: &Case, part: usize, at: usize, pick: usize) -> Option<Wire> {
    let mut out = wire.clone();
    match part % 7 {
        0 => {
            out.method = change_one(&wire.method, at, pick)?.to_ascii_uppercase();
            if out.method == wire.method {
                return None;
            }
        }
        1 => {
            // A byte of the path after its leading `/` (a segment's character).
            let rest = change_one(wire.path.strip_prefix('/')?, at, pick)?;
            out.path = format!("/{rest}");
        }
        2 => {
            // A byte of a value of the client's own query (the signer's parameters follow it).
            let (key, value) = case.query.iter().find(|(_, v)| !v.is_empty())?;
            let needle = format!("{key}={value}");
            let changed = format!("{key}={}", change_one(value, at, pick)?);
            out.query = wire.query.replacen(&needle, &changed, 1);
        }
        3 => {
            // A signed header: host in every request, the client's headers when signed in the header.
            let (name, value) = match (case.presign, case.headers.first()) {
                (false, Some((name, value))) => (name.as_str(), value.clone()),
                _ => ("host", HOST.to_owned()),
            };
            let changed = change_one(&value, at, pick)?;
            out.headers
                .insert(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(&changed).unwrap());
        }
        4 if !case.presign && !wire.body.is_empty() => {
            let i = at % wire.body.len();
            out.body[i] ^= u8::try_from(pick % 255 + 1).unwrap();
        }
        5 => {
            // The second of the signing time, in the header or the query.
            let date = "20240101T000000Z";
            let changed = "20240101T000001Z";
            if case.presign {
                out.query = wire.query.replacen(&format!("X-Amz-Date={date}"), &format!("X-Amz-Date={changed}"), 1);
            } else {
                out.headers.insert("x-amz-date", HeaderValue::from_static(changed));
            }
        }
        6 => {
            // One hex digit of the signature.
            let hex = b"0123456789abcdef";
            let replace = |sig: &str| {
                let mut bytes = sig.as_bytes().to_vec();
                let i = at % bytes.len();
                let choices: Vec<u8> = hex.iter().copied().filter(|&c| c != bytes[i]).collect();
                bytes[i] = choices[pick % choices.len()];
                String::from_utf8(bytes).unwrap()
            };
            if case.presign {
                let (before, signature) = wire.query.rsplit_once("X-Amz-Signature=")?;
                let (signature, after) = signature.split_once('&').unwrap_or((signature, ""));
                let sep = if after.is_empty() { "" } else { "&" };
                out.query = format!("{before}X-Amz-Signature={}{sep}{after}", replace(signature));
            } else {
                let auth = wire.headers["authorization"].to_str().unwrap();
                let (before, signature) = auth.rsplit_once("Signature=")?;
                out.headers.insert(
                    "authorization",
                    HeaderValue::from_str(&format!("{before}Signature={}", replace(signature))).unwrap(),
                );
            }
        }
        _ => return None,
    }
    Some(out)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn what_the_official_signer_signs_verifies(case in case(), service in prop::sample::select(&["execute-api", "ivschat"][..]), skew in 0u64..300) {
        let wire = aws_signed(&case, service);
        let principal = wire.verify(service, T0 + skew);
        prop_assert!(principal.is_ok(), "{:?} refused: {:?}", wire, principal);
        let principal = principal.unwrap();
        prop_assert_eq!(principal.region, case.region);
        prop_assert_eq!(principal.session_token, case.token.clone());
    }

    #[test]
    fn any_change_of_one_signed_byte_is_refused(
        case in case(),
        part in 0usize..7,
        at in any::<usize>(),
        pick in any::<usize>(),
    ) {
        let wire = aws_signed(&case, "execute-api");
        prop_assume!(wire.verify("execute-api", T0).is_ok());
        let Some(tampered) = tamper(&wire, &case, part, at, pick) else { return Ok(()) };
        let result = tampered.verify("execute-api", T0);
        prop_assert!(result.is_err(), "part {} changed and still accepted: {:?}", part, tampered);
    }
}
