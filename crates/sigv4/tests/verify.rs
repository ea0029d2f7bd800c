//! Black-box tests of `sigv4`: reference vectors, cross-checks against `aws-sigv4`, tampering, errors, presigning.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, SignableBody, SignableRequest, SignatureLocation as AwsLocation, SigningSettings,
    sign as aws_sign,
};
use aws_smithy_runtime_api::client::identity::Identity;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use sigv4::{
    MissingParameters, Principal, SigV4Error, SignatureLocation, SignedRequest, SigningParams, Verifier, presign, sign,
};
use time::OffsetDateTime;

const AKID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// 2024-01-01T00:00:00Z.
const T0: i64 = 1_704_067_200;

fn at(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).unwrap()
}

fn keys() -> HashMap<String, String> {
    HashMap::from([(AKID.to_owned(), SECRET.to_owned()), ("AKIDOTHER".to_owned(), "other-secret".to_owned())])
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
    }
    map
}

/// An owned request, so tests can mutate it and borrow a `SignedRequest` from it.
#[derive(Debug, Clone)]
struct Req {
    method: String,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Req {
    fn new(method: &str, path_and_query: &str, headers: HeaderMap, body: &[u8]) -> Self {
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
            None => (path_and_query.to_owned(), None),
        };
        Self { method: method.to_owned(), path, query, headers, body: body.to_vec() }
    }

    fn signed(&self) -> SignedRequest<'_> {
        SignedRequest::new(&self.method, &self.path, self.query.as_deref(), &self.headers, &self.body)
    }

    fn set(&mut self, name: &str, value: &str) {
        self.headers.insert(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
    }

    fn verify_with(&self, verifier: &Verifier, now: i64) -> Result<Principal, SigV4Error> {
        verifier.verify(&self.signed(), &keys(), at(now))
    }

    fn verify(&self, now: i64) -> Result<Principal, SigV4Error> {
        self.verify_with(&Verifier::new("execute-api"), now)
    }
}

// ---------------------------------------------------------------------------------------------
// Reference vectors A–D (apigw.md §2).
// ---------------------------------------------------------------------------------------------

fn vector(
    method: &str,
    host: &str,
    path: &str,
    extra: &[(&str, &str)],
    body: &[u8],
    signed: &str,
    signature: &str,
) -> Req {
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/execute-api/aws4_request, SignedHeaders={signed}, Signature={signature}"
    );
    let mut pairs = vec![
        ("host", host),
        ("x-amz-date", "20240101T000000Z"),
        ("authorization", authorization.as_str()),
        ("user-agent", "aws-cli/2.36.7"),
    ];
    pairs.extend_from_slice(extra);
    Req::new(method, path, headers(&pairs), body)
}

fn vector_a() -> Req {
    vector(
        "POST",
        "abcdef1234.execute-api.us-east-1.amazonaws.com",
        "/prod/@connections/L0SM9cOFvHcCIhw%3D",
        &[],
        b"hello",
        "host;x-amz-date",
        "8502aace81bd26406ea7be5d8e4159aba37da71a338efb8228d88e8601e2cd4a",
    )
}

fn vector_b() -> Req {
    vector(
        "GET",
        "abcdef1234.execute-api.us-east-1.amazonaws.com",
        "/prod/@connections/L0SM9cOFvHcCIhw%3D",
        &[],
        b"",
        "host;x-amz-date",
        "0a9e470f53aa35489ae7e569ee8e41e465895114ff52ff661fed6db9ede9b426",
    )
}

fn vector_c() -> Req {
    vector(
        "DELETE",
        "localhost:4510",
        "/prod/@connections/L0SM9cOFvHcCIhw%3D",
        &[("x-amz-security-token", "FQoGZXIvYXdzEXAMPLETOKEN")],
        b"",
        "host;x-amz-date;x-amz-security-token",
        "e950639d531a23776939f2c688a079596c2f6cda710daa32b8b3d3bc060cc7ba",
    )
}

fn vector_d() -> Req {
    vector(
        "POST",
        "localhost:4510",
        "/prod/%40connections/L0SM9cOFvHcCIhw%3D",
        &[("content-type", "application/octet-stream")],
        b"hello",
        "content-type;host;x-amz-date",
        "d26fcd29920b35e98381200b89c7d1450c58be261f9703f313d5c5f3c655ccca",
    )
}

#[test]
fn reference_vectors_verify() {
    for (name, req) in [("A", vector_a()), ("B", vector_b()), ("C", vector_c()), ("D", vector_d())] {
        let principal = req.verify(T0).unwrap_or_else(|e| panic!("vector {name}: {e}"));
        assert_eq!(principal.access_key_id, AKID);
        assert_eq!(principal.region, "us-east-1");
        assert_eq!(principal.service, "execute-api");
        assert_eq!(principal.signed_at, at(T0));
        assert_eq!(principal.location, SignatureLocation::Header);
        assert_eq!(principal.has_session_token(), name == "C");
    }
    let c = vector_c().verify(T0).unwrap();
    assert_eq!(c.session_token.as_deref(), Some("FQoGZXIvYXdzEXAMPLETOKEN"));
}

#[test]
fn sign_helper_reproduces_reference_vectors() {
    let params = SigningParams {
        access_key_id: AKID,
        secret_access_key: SECRET,
        session_token: None,
        region: "us-east-1",
        service: "execute-api",
        time: at(T0),
    };
    let a = vector_a();
    let mut unsigned = a.clone();
    unsigned.headers.remove("authorization");
    unsigned.headers.remove("x-amz-date");
    let out = sign(&unsigned.signed(), &params);
    assert_eq!(out.amz_date, "20240101T000000Z");
    assert_eq!(out.signed_headers, "host;x-amz-date");
    assert_eq!(out.authorization, a.headers["authorization"].to_str().unwrap());

    let mut c = vector_c();
    c.headers.remove("authorization");
    let out = sign(&c.signed(), &SigningParams { session_token: Some("FQoGZXIvYXdzEXAMPLETOKEN"), ..params });
    assert_eq!(out.signature, "e950639d531a23776939f2c688a079596c2f6cda710daa32b8b3d3bc060cc7ba");

    let mut d = vector_d();
    d.headers.remove("authorization");
    assert_eq!(
        sign(&d.signed(), &params).signature,
        "d26fcd29920b35e98381200b89c7d1450c58be261f9703f313d5c5f3c655ccca"
    );
}

#[test]
fn clock_skew_boundaries() {
    let a = vector_a();
    assert!(a.verify(T0 + 300).is_ok());
    assert!(a.verify(T0 - 300).is_ok());
    assert!(matches!(a.verify(T0 + 301), Err(SigV4Error::SignatureExpired { .. })));
    assert!(matches!(a.verify(T0 - 301), Err(SigV4Error::SignatureNotYetCurrent { .. })));
    let lenient = Verifier { max_clock_skew: Duration::from_secs(900), ..Verifier::new("execute-api") };
    assert!(a.verify_with(&lenient, T0 + 900).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Cross-check with the official `aws-sigv4` signer (settings as in the Rust SDK).
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Body<'a> {
    Bytes(&'a [u8]),
    Unsigned,
}

struct AwsCase<'a> {
    method: &'a str,
    service: &'a str,
    region: &'a str,
    host: &'a str,
    path_and_query: &'a str,
    headers: &'a [(&'a str, &'a str)],
    body: Body<'a>,
    token: Option<&'a str>,
    presign: Option<Duration>,
    content_sha_header: bool,
}

impl Default for AwsCase<'_> {
    fn default() -> Self {
        Self {
            method: "POST",
            service: "execute-api",
            region: "us-east-1",
            host: "abcdef1234.execute-api.us-east-1.amazonaws.com",
            path_and_query: "/prod/@connections/L0SM9cOFvHcCIhw%3D",
            headers: &[],
            body: Body::Bytes(b"hello"),
            token: None,
            presign: None,
            content_sha_header: false,
        }
    }
}

fn encode_query_value(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Signs with `aws-sigv4` at `T0` and returns the request as it would arrive at the server.
fn aws_signed(case: &AwsCase<'_>) -> Req {
    let credentials = Credentials::new(AKID, SECRET, case.token.map(str::to_owned), None, "test");
    let identity: Identity = credentials.into();
    let mut settings = SigningSettings::default();
    if let Some(expires) = case.presign {
        settings.signature_location = AwsLocation::QueryParams;
        settings.expires_in = Some(expires);
    }
    if case.content_sha_header {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(case.region)
        .name(case.service)
        .time(SystemTime::UNIX_EPOCH + Duration::from_secs(T0 as u64))
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let url = format!("https://{}{}", case.host, case.path_and_query);
    let mut all_headers: Vec<(&str, &str)> = vec![("host", case.host)];
    all_headers.extend_from_slice(case.headers);
    let body_bytes: &[u8] = match case.body {
        Body::Bytes(b) => b,
        Body::Unsigned => b"",
    };
    let signable_body = match case.body {
        Body::Bytes(b) => SignableBody::Bytes(b),
        Body::Unsigned => SignableBody::UnsignedPayload,
    };
    let signable = SignableRequest::new(case.method, url, all_headers.iter().copied(), signable_body).unwrap();
    let (instructions, _) = aws_sign(signable, &params).unwrap().into_parts();

    let mut map = headers(&all_headers);
    for (name, value) in instructions.headers() {
        map.insert(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
    }
    let mut path_and_query = case.path_and_query.to_owned();
    for (i, (name, value)) in instructions.params().iter().enumerate() {
        let sep = if i == 0 && !path_and_query.contains('?') { '?' } else { '&' };
        path_and_query.push(sep);
        path_and_query.push_str(name);
        path_and_query.push('=');
        path_and_query.push_str(&encode_query_value(value));
    }
    // Unsigned headers the SDK adds after signing must not matter.
    map.insert("user-agent", HeaderValue::from_static("aws-sdk-rust/1.3"));
    map.insert("amz-sdk-invocation-id", HeaderValue::from_static("2d4c7e3a"));
    Req::new(case.method, &path_and_query, map, body_bytes)
}

const PATHS: &[&str] = &[
    "/prod/@connections/L0SM9cOFvHcCIhw%3D",
    "/prod/%40connections/L0SM9cOFvHcCIhw%3D",
    "/tags/arn%3Aaws%3Aivschat%3Aus-west-2%3A123456789012%3Aroom%2FabcdEFGH1234",
    "/with%20space/and+plus/%2F/slash",
    "/unicode/%E2%9C%93/~tilde_-.ok",
    "/a/./b/../c",
    "//double//slash/",
    "/",
    "/SendEvent",
];

const QUERIES: &[&str] = &[
    "",
    "?tagKeys=k1&tagKeys=k2",
    "?b=2&a=1&a=0",
    "?x=a%20b&y=c+d&z=%2F%3D",
    "?empty=&novalue",
    "?sp%20ace=v%2Fv&%7E=tilde",
];

#[test]
fn aws_sigv4_header_signatures_verify() {
    let mut cases = 0;
    for service in ["execute-api", "ivschat"] {
        let verifier = Verifier::new(service);
        for path in PATHS {
            for query in QUERIES {
                for token in [None, Some("FQoGZXIvYXdzEXAMPLE/TOKEN+with=chars")] {
                    let path_and_query = format!("{path}{query}");
                    let case = AwsCase {
                        service,
                        path_and_query: &path_and_query,
                        token,
                        headers: &[
                            ("content-type", "application/json"),
                            ("x-amz-user-agent", "aws-sdk-rust/1.3   os/linux"),
                        ],
                        ..AwsCase::default()
                    };
                    let req = aws_signed(&case);
                    let principal = req
                        .verify_with(&verifier, T0)
                        .unwrap_or_else(|e| panic!("{service} {path_and_query} token={token:?}: {e}"));
                    assert_eq!(principal.session_token.as_deref(), token);
                    assert_eq!(principal.service, service);
                    cases += 1;
                }
            }
        }
    }
    assert_eq!(cases, 2 * PATHS.len() * QUERIES.len() * 2);
}

#[test]
fn aws_sigv4_methods_bodies_regions_and_content_sha_header() {
    for (method, body) in
        [("GET", Body::Bytes(b"")), ("DELETE", Body::Bytes(b"")), ("PUT", Body::Bytes(&[0, 255, 10, 13]))]
    {
        let req =
            aws_signed(&AwsCase { method, body, region: "eu-west-3", host: "127.0.0.1:18765", ..AwsCase::default() });
        assert_eq!(req.verify(T0).unwrap().region, "eu-west-3");
    }
    // JS v3 style: x-amz-content-sha256 sent and signed.
    let req = aws_signed(&AwsCase { content_sha_header: true, ..AwsCase::default() });
    assert!(req.headers.contains_key("x-amz-content-sha256"));
    assert!(req.verify(T0).is_ok());
    // UNSIGNED-PAYLOAD declared in the header.
    let req = aws_signed(&AwsCase { content_sha_header: true, body: Body::Unsigned, ..AwsCase::default() });
    assert_eq!(req.headers["x-amz-content-sha256"], "UNSIGNED-PAYLOAD");
    let mut with_body = req.clone();
    with_body.body = b"anything".to_vec();
    assert!(with_body.verify(T0).is_ok());
}

#[test]
fn aws_sigv4_presigned_urls_verify() {
    for body in [Body::Unsigned, Body::Bytes(b"")] {
        for token in [None, Some("FQoGZXIvYXdzEXAMPLE/TOKEN+with=chars")] {
            for path in ["/prod", "/prod/@connections/L0SM9cOFvHcCIhw%3D"] {
                let path_and_query = format!("{path}?Auth=abc&x=a%20b");
                let case = AwsCase {
                    method: "GET",
                    path_and_query: &path_and_query,
                    body,
                    token,
                    presign: Some(Duration::from_secs(300)),
                    ..AwsCase::default()
                };
                let req = aws_signed(&case);
                assert!(req.headers.get("authorization").is_none());
                let principal = req.verify(T0 + 10).unwrap_or_else(|e| panic!("{path_and_query} token={token:?}: {e}"));
                assert_eq!(principal.location, SignatureLocation::Query { expires_in: Duration::from_secs(300) });
                assert_eq!(principal.session_token.as_deref(), token);
                assert!(matches!(req.verify(T0 + 301), Err(SigV4Error::PresignExpired { .. })));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tampering.
// ---------------------------------------------------------------------------------------------

fn assert_mismatch(result: Result<Principal, SigV4Error>, what: &str) {
    match result {
        Err(SigV4Error::SignatureMismatch { .. }) => {}
        other => panic!("{what}: expected SignatureMismatch, got {other:?}"),
    }
}

fn js_style_request() -> Req {
    aws_signed(&AwsCase {
        content_sha_header: true,
        path_and_query: "/prod/@connections/abc%3D?k=v",
        headers: &[("content-type", "application/json")],
        ..AwsCase::default()
    })
}

#[test]
fn tampering_is_refused() {
    let good = js_style_request();
    assert!(good.verify(T0).is_ok());

    let mut r = good.clone();
    r.method = "PUT".into();
    assert_mismatch(r.verify(T0), "method");

    let mut r = good.clone();
    r.path = "/prod/@connections/abd%3D".into();
    assert_mismatch(r.verify(T0), "path");

    let mut r = good.clone();
    r.path = "/prod/%40connections/abc%3D".into();
    assert_mismatch(r.verify(T0), "path encoding");

    let mut r = good.clone();
    r.query = Some("k=w".into());
    assert_mismatch(r.verify(T0), "query");

    let mut r = good.clone();
    r.query = None;
    assert_mismatch(r.verify(T0), "query removed");

    let mut r = good.clone();
    r.set("content-type", "text/plain");
    assert_mismatch(r.verify(T0), "signed header");

    let mut r = good.clone();
    r.set("host", "evil.example.com");
    assert_mismatch(r.verify(T0), "host");

    let mut r = good.clone();
    r.set("x-amz-date", "20240101T000001Z");
    assert_mismatch(r.verify(T0), "date");

    let mut r = good.clone();
    r.set("x-amz-date", "20240102T000000Z");
    assert!(matches!(r.verify(T0), Err(SigV4Error::ScopeDateMismatch { .. })));

    // Body changed under a declared x-amz-content-sha256: the declared hash no longer matches.
    let mut r = good.clone();
    r.body = b"hellp".to_vec();
    assert_eq!(r.verify(T0), Err(SigV4Error::ContentSha256Mismatch));

    // Body changed without the header (CLI, Rust SDK): the signature no longer matches.
    let plain = aws_signed(&AwsCase::default());
    let mut r = plain.clone();
    r.body = b"hellp".to_vec();
    assert_mismatch(r.verify(T0), "body");

    // Declared hash changed: signature mismatch.
    let mut r = good.clone();
    r.set("x-amz-content-sha256", "UNSIGNED-PAYLOAD");
    assert_mismatch(r.verify(T0), "declared payload hash");

    // Another known key: the signature does not match its secret.
    let mut r = good.clone();
    let auth = r.headers["authorization"].to_str().unwrap().replace("AKIDEXAMPLE/", "AKIDOTHER/");
    r.set("authorization", &auth);
    assert_mismatch(r.verify(T0), "key");

    // Unknown key.
    let mut r = good.clone();
    let auth = r.headers["authorization"].to_str().unwrap().replace("AKIDEXAMPLE/", "AKIDUNKNOWN/");
    r.set("authorization", &auth);
    assert_eq!(r.verify(T0), Err(SigV4Error::UnrecognizedClient { access_key_id: "AKIDUNKNOWN".into() }));

    // Wrong secret on the server side.
    let wrong = HashMap::from([(AKID.to_owned(), "not-the-secret".to_owned())]);
    assert_mismatch(Verifier::new("execute-api").verify(&good.signed(), &wrong, at(T0)), "secret");

    // Signature altered or malformed.
    for bad in ["0000", "zz", ""] {
        let mut r = good.clone();
        let auth = r.headers["authorization"].to_str().unwrap();
        let at_sig = auth.find("Signature=").unwrap() + "Signature=".len();
        let auth = format!("{}{bad}", &auth[..at_sig]);
        r.set("authorization", &auth);
        assert_mismatch(r.verify(T0), "signature");
    }
}

#[test]
fn unsigned_headers_may_change() {
    let good = js_style_request();
    let mut r = good.clone();
    r.set("user-agent", "something else");
    r.set("x-amzn-trace-id", "Root=1-abc");
    r.set("x-forwarded-for", "10.0.0.1");
    r.headers.append("amz-sdk-request", HeaderValue::from_static("attempt=2; max=3"));
    assert!(r.verify(T0).is_ok());
}

#[test]
fn session_token_is_signed_when_listed() {
    let mut c = vector_c();
    c.set("x-amz-security-token", "FQoGZXIvYXdzEXAMPLETOKEM");
    assert_mismatch(c.verify(T0), "session token");
}

#[test]
fn region_policy() {
    let req = aws_signed(&AwsCase { region: "us-west-2", ..AwsCase::default() });
    assert!(req.verify(T0).is_ok());
    let pinned = Verifier { region: Some("us-west-2".into()), ..Verifier::new("execute-api") };
    assert!(req.verify_with(&pinned, T0).is_ok());
    let other = Verifier { region: Some("eu-central-1".into()), ..Verifier::new("execute-api") };
    assert_eq!(req.verify_with(&other, T0), Err(SigV4Error::WrongRegion { region: "us-west-2".into() }));
}

#[test]
fn http_parts_and_authority_fallback() {
    // HTTP/2: no Host header, the authority comes from the URI.
    let a = vector_a();
    let mut map = a.headers.clone();
    map.remove("host");
    let request = http::Request::builder()
        .method("POST")
        .uri("https://abcdef1234.execute-api.us-east-1.amazonaws.com/prod/@connections/L0SM9cOFvHcCIhw%3D")
        .body(())
        .unwrap();
    let (mut parts, ()) = request.into_parts();
    parts.headers = map;
    let signed = SignedRequest::from_parts(&parts, b"hello");
    assert_eq!(signed.raw_path, "/prod/@connections/L0SM9cOFvHcCIhw%3D");
    assert!(Verifier::new("execute-api").verify(&signed, &keys(), at(T0)).is_ok());
}

#[test]
fn secret_lookup_closure() {
    let lookup = |akid: &str| (akid == AKID).then(|| SECRET.to_owned());
    assert!(Verifier::new("execute-api").verify(&vector_a().signed(), &lookup, at(T0)).is_ok());
    let nobody = |_: &str| -> Option<String> { None };
    assert!(matches!(
        Verifier::new("execute-api").verify(&vector_a().signed(), &nobody, at(T0)),
        Err(SigV4Error::UnrecognizedClient { .. })
    ));
}

/// An independent SigV4 signer over a hand-written canonical request.
fn reference_signature(canonical_request: &str, amz_date: &str, region: &str, service: &str) -> String {
    use hmac::{Hmac, Mac};
    use sha2::{Digest, Sha256};
    let mac = |key: &[u8], data: &[u8]| {
        let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
        m.update(data);
        m.finalize().into_bytes().to_vec()
    };
    let date = &amz_date[..8];
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{date}/{region}/{service}/aws4_request\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let key = [date, region, service, "aws4_request"]
        .iter()
        .fold(format!("AWS4{SECRET}").into_bytes(), |key, part| mac(&key, part.as_bytes()));
    hex::encode(mac(&key, string_to_sign.as_bytes()))
}

/// A store that caches signing keys through the `signing_key` hook.
struct CachingStore {
    secrets: HashMap<String, String>,
    cache: std::sync::Mutex<HashMap<(String, String), [u8; 32]>>,
    derivations: std::sync::atomic::AtomicUsize,
}

impl sigv4::SecretLookup for CachingStore {
    fn secret_access_key(&self, access_key_id: &str) -> Option<std::borrow::Cow<'_, str>> {
        self.secrets.get(access_key_id).map(|s| s.as_str().into())
    }

    fn signing_key(&self, access_key_id: &str, date: &str, region: &str, service: &str) -> Option<[u8; 32]> {
        let id = (access_key_id.to_owned(), format!("{date}/{region}/{service}"));
        let mut cache = self.cache.lock().unwrap();
        if let Some(key) = cache.get(&id) {
            return Some(*key);
        }
        let secret = self.secrets.get(access_key_id)?;
        self.derivations.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let key = sigv4::derive_signing_key(secret, date, region, service);
        cache.insert(id, key);
        Some(key)
    }
}

#[test]
fn signing_key_hook_allows_caching() {
    let store = CachingStore { secrets: keys(), cache: Default::default(), derivations: Default::default() };
    let verifier = Verifier::new("execute-api");
    for req in [vector_a(), vector_b(), vector_c(), vector_d(), vector_a()] {
        assert!(verifier.verify(&req.signed(), &store, at(T0)).is_ok());
    }
    assert_eq!(store.derivations.load(std::sync::atomic::Ordering::Relaxed), 1);
    let mut unknown = vector_a();
    let auth = unknown.headers["authorization"].to_str().unwrap().replace("AKIDEXAMPLE/", "AKIDNOPE/");
    unknown.set("authorization", &auth);
    assert!(matches!(verifier.verify(&unknown.signed(), &store, at(T0)), Err(SigV4Error::UnrecognizedClient { .. })));
}

#[test]
fn date_header_is_accepted_without_x_amz_date() {
    let canonical = "GET\n/prod\n\ndate:Mon, 01 Jan 2024 00:00:00 GMT\nhost:localhost:4510\n\ndate;host\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let signature = reference_signature(canonical, "20240101T000000Z", "us-east-1", "execute-api");
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/execute-api/aws4_request, SignedHeaders=date;host, Signature={signature}"
    );
    let req = Req::new(
        "GET",
        "/prod",
        headers(&[
            ("host", "localhost:4510"),
            ("date", "Mon, 01 Jan 2024 00:00:00 GMT"),
            ("authorization", &authorization),
        ]),
        b"",
    );
    assert_eq!(req.verify(T0).unwrap().signed_at, at(T0));
    let mut late = req.clone();
    late.set("date", "Mon, 01 Jan 2024 00:00:01 GMT");
    assert_mismatch(late.verify(T0), "date header");
    let mut bad = req.clone();
    bad.set("date", "yesterday");
    assert!(matches!(bad.verify(T0), Err(SigV4Error::InvalidDate { .. })));
}

#[test]
fn signed_headers_are_canonicalised() {
    // AWS's canonical form of the list is lowercase, sorted and without duplicates; a list that
    // canonicalises to what was signed names the same content and verifies.
    let a = vector_a();
    let auth = a.headers["authorization"].to_str().unwrap();
    for list in ["x-amz-date;host;host", "Host;X-Amz-Date", ";host;;x-amz-date;"] {
        let r = with_authorization(&auth.replace("SignedHeaders=host;x-amz-date", &format!("SignedHeaders={list}")));
        assert!(r.verify(T0).is_ok(), "{list}");
    }
    // Extra names are part of the canonical request, in sorted order.
    let r =
        with_authorization(&auth.replace("SignedHeaders=host;x-amz-date", "SignedHeaders=x-amz-date;user-agent;host"));
    match r.verify(T0) {
        Err(SigV4Error::SignatureMismatch { canonical_request, .. }) => {
            assert!(
                canonical_request.contains("\nhost:abcdef1234.execute-api.us-east-1.amazonaws.com\nuser-agent:aws-cli/2.36.7\nx-amz-date:20240101T000000Z\n\nhost;user-agent;x-amz-date\n"),
                "{canonical_request}"
            );
        }
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Every error kind: type, status, exact text.
// ---------------------------------------------------------------------------------------------

fn check(err: &SigV4Error, error_type: &str, status: StatusCode, message: &str) {
    assert_eq!(err.error_type(), error_type, "{err:?}");
    assert_eq!(err.status(), status, "{err:?}");
    assert_eq!(err.to_string(), message, "{err:?}");
}

fn with_authorization(value: &str) -> Req {
    let mut r = vector_a();
    r.set("authorization", value);
    r
}

#[test]
fn missing_authentication_token() {
    let mut r = vector_a();
    r.headers.remove("authorization");
    let err = r.verify(T0).unwrap_err();
    check(&err, "MissingAuthenticationTokenException", StatusCode::FORBIDDEN, "Missing Authentication Token");
    // A query string without presign parameters is not a presigned request.
    r.query = Some("X-Amz-Date=20240101T000000Z&foo=bar".into());
    assert_eq!(r.verify(T0), Err(SigV4Error::MissingAuthenticationToken));
}

#[test]
fn incomplete_signature_errors() {
    let err = with_authorization("Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig").verify(T0).unwrap_err();
    check(
        &err,
        "IncompleteSignatureException",
        StatusCode::BAD_REQUEST,
        "'eyJhbGciOiJIUzI1NiJ9.e30.sig' not a valid key=value pair (missing equal-sign) in Authorization header: 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig'.",
    );

    let err = with_authorization("eyJhbGciOiJIUzI1NiJ9.e30.sig").verify(T0).unwrap_err();
    check(
        &err,
        "IncompleteSignatureException",
        StatusCode::BAD_REQUEST,
        "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=eyJhbGciOiJIUzI1NiJ9.e30.sig",
    );

    let mut r =
        with_authorization("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/execute-api/aws4_request");
    r.headers.remove("x-amz-date");
    let err = r.verify(T0).unwrap_err();
    assert_eq!(
        err,
        SigV4Error::MissingAuthorizationParameters {
            missing: MissingParameters { credential: false, signature: true, signed_headers: true, date: true },
            authorization: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/execute-api/aws4_request".into(),
        }
    );
    check(
        &err,
        "IncompleteSignatureException",
        StatusCode::BAD_REQUEST,
        "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/execute-api/aws4_request",
    );

    let err =
        with_authorization("Credential=a/b/c/d/aws4_request, SignedHeaders=host, Signature=00").verify(T0).unwrap_err();
    check(
        &err,
        "IncompleteSignatureException",
        StatusCode::BAD_REQUEST,
        "Authorization header must begin with the algorithm name, which cannot include an equal-sign",
    );

    let err = with_authorization("AWS4-HMAC-SHA512 Credential=a/b/c/d/aws4_request, SignedHeaders=host, Signature=00")
        .verify(T0)
        .unwrap_err();
    check(
        &err,
        "IncompleteSignatureException",
        StatusCode::BAD_REQUEST,
        "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.",
    );

    let err = with_authorization(
        "AWS4-HMAC-SHA256 Credential=wJalrXUtnFEMI/K7MDENG/AKID/20240101/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature=00",
    )
    .verify(T0)
    .unwrap_err();
    check(
        &err,
        "IncompleteSignatureException",
        StatusCode::BAD_REQUEST,
        "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'wJalrXUtnFEMI/K7MDENG/AKID/20240101/us-east-1/execute-api/aws4_request'",
    );

    let mut r = vector_a();
    r.set("x-amz-date", "2024-01-01T00:00:00Z");
    check(
        &r.verify(T0).unwrap_err(),
        "IncompleteSignatureException",
        StatusCode::BAD_REQUEST,
        "Date must be in ISO-8601 'basic format'. Got '2024-01-01T00:00:00Z'. See http://en.wikipedia.org/wiki/ISO_8601",
    );
}

#[test]
fn invalid_signature_errors() {
    let a = vector_a();
    let auth = a.headers["authorization"].to_str().unwrap();

    let r = with_authorization(&auth.replace("/execute-api/", "/ivschat/"));
    check(
        &r.verify(T0).unwrap_err(),
        "InvalidSignatureException",
        StatusCode::FORBIDDEN,
        "Credential should be scoped to correct service: 'execute-api'. ",
    );
    let err = a.verify_with(&Verifier::new("ivschat"), T0).unwrap_err();
    check(
        &err,
        "InvalidSignatureException",
        StatusCode::FORBIDDEN,
        "Credential should be scoped to correct service: 'ivschat'. ",
    );

    let pinned = Verifier { region: Some("eu-west-1".into()), ..Verifier::new("execute-api") };
    check(
        &a.verify_with(&pinned, T0).unwrap_err(),
        "InvalidSignatureException",
        StatusCode::FORBIDDEN,
        "Credential should be scoped to a valid region, not 'us-east-1'. ",
    );
    let r = with_authorization(&auth.replace("/us-east-1/", "//"));
    check(
        &r.verify(T0).unwrap_err(),
        "InvalidSignatureException",
        StatusCode::FORBIDDEN,
        "Credential should be scoped to a valid region, not ''. ",
    );

    let r = with_authorization(&auth.replace("/aws4_request", "/aws4_reqest"));
    check(
        &r.verify(T0).unwrap_err(),
        "InvalidSignatureException",
        StatusCode::FORBIDDEN,
        "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws4_reqest'. ",
    );

    let r = with_authorization(&auth.replace("/20240101/", "/20231231/"));
    check(
        &r.verify(T0).unwrap_err(),
        "InvalidSignatureException",
        StatusCode::FORBIDDEN,
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20231231' != '20240101', from '20240101T000000Z'.",
    );

    let r = with_authorization(&auth.replace("SignedHeaders=host;x-amz-date", "SignedHeaders=x-amz-date"));
    check(
        &r.verify(T0).unwrap_err(),
        "InvalidSignatureException",
        StatusCode::FORBIDDEN,
        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
    );

    // The example from apigw.md §1.6.3: signed 09:44:47, server time 10:04:47.
    let mut r = vector_a();
    let signed = 1_559_555_087; // 2019-06-03T09:44:47Z
    r.set("x-amz-date", "20190603T094447Z");
    r.set("authorization", &auth.replace("/20240101/", "/20190603/"));
    check(
        &r.verify(signed + 1200).unwrap_err(),
        "InvalidSignatureException",
        StatusCode::FORBIDDEN,
        "Signature expired: 20190603T094447Z is now earlier than 20190603T095947Z (20190603T100447Z - 5 min.)",
    );
    check(
        &r.verify(signed - 1200).unwrap_err(),
        "InvalidSignatureException",
        StatusCode::FORBIDDEN,
        "Signature not yet current: 20190603T094447Z is still later than 20190603T092947Z (20190603T092447Z + 5 min.)",
    );

    let mut r = vector_a();
    r.body = b"hellp".to_vec();
    let err = r.verify(T0).unwrap_err();
    let body_hash = sha256_hex("hellp");
    check(
        &err,
        "InvalidSignatureException",
        StatusCode::FORBIDDEN,
        &format!(
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\nThe Canonical String for this request should have been\n'POST\n/prod/%40connections/L0SM9cOFvHcCIhw%253D\n\nhost:abcdef1234.execute-api.us-east-1.amazonaws.com\nx-amz-date:20240101T000000Z\n\nhost;x-amz-date\n{body_hash}'\n\nThe String-to-Sign should have been\n'AWS4-HMAC-SHA256\n20240101T000000Z\n20240101/us-east-1/execute-api/aws4_request\n{}'\n",
            sha256_hex(&format!(
                "POST\n/prod/%40connections/L0SM9cOFvHcCIhw%253D\n\nhost:abcdef1234.execute-api.us-east-1.amazonaws.com\nx-amz-date:20240101T000000Z\n\nhost;x-amz-date\n{body_hash}"
            ))
        ),
    );
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

#[test]
fn unrecognized_client_and_content_hash_errors() {
    let a = vector_a();
    let auth = a.headers["authorization"].to_str().unwrap();
    let r = with_authorization(&auth.replace("AKIDEXAMPLE/", "AKIDNOPE/"));
    check(
        &r.verify(T0).unwrap_err(),
        "UnrecognizedClientException",
        StatusCode::FORBIDDEN,
        "The security token included in the request is invalid.",
    );

    let mut r = js_style_request();
    r.body = b"other".to_vec();
    check(
        &r.verify(T0).unwrap_err(),
        "XAmzContentSHA256Mismatch",
        StatusCode::BAD_REQUEST,
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
    );
    let mut r = js_style_request();
    r.set("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
    assert_eq!(r.verify(T0), Err(SigV4Error::ContentSha256Mismatch));
}

// ---------------------------------------------------------------------------------------------
// Presigned requests.
// ---------------------------------------------------------------------------------------------

fn presigned(path: &str, query: Option<&str>, token: Option<&str>, expires: u64) -> Req {
    let map = headers(&[("host", "abcdef1234.execute-api.us-east-1.amazonaws.com")]);
    let params = SigningParams {
        access_key_id: AKID,
        secret_access_key: SECRET,
        session_token: token,
        region: "us-east-1",
        service: "execute-api",
        time: at(T0),
    };
    let empty = Vec::new();
    let req = SignedRequest::new("GET", path, query, &map, &empty);
    let full_query = presign(&req, &params, Duration::from_secs(expires));
    let mut out = Req::new("GET", path, map.clone(), b"");
    out.query = Some(full_query);
    out
}

#[test]
fn presign_helper_round_trips() {
    let r = presigned("/prod", None, None, 900);
    let q = r.query.as_deref().unwrap();
    assert!(q.starts_with("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20240101%2Fus-east-1%2Fexecute-api%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature="), "{q}");
    let principal = r.verify(T0 + 899).unwrap();
    assert_eq!(principal.location, SignatureLocation::Query { expires_in: Duration::from_secs(900) });
    assert!(r.verify(T0 + 900).is_ok());
    assert!(r.verify(T0 - 300).is_ok());

    let r = presigned("/prod/@connections/x%3D", Some("room=a%2Fb&x=1"), Some("TOKEN/+="), 60);
    let principal = r.verify(T0).unwrap();
    assert_eq!(principal.session_token.as_deref(), Some("TOKEN/+="));
}

#[test]
fn presigned_expiry_and_limits() {
    let r = presigned("/prod", None, None, 60);
    check(
        &r.verify(T0 + 61).unwrap_err(),
        "InvalidSignatureException",
        StatusCode::FORBIDDEN,
        "Signature expired: 20240101T000000Z is now earlier than 20240101T000001Z (20240101T000101Z - 60 sec.)",
    );
    check(
        &r.verify(T0 - 301).unwrap_err(),
        "InvalidSignatureException",
        StatusCode::FORBIDDEN,
        "Signature not yet current: 20240101T000000Z is still later than 20231231T235959Z (20231231T235459Z + 5 min.)",
    );

    let r = presigned("/prod", None, None, 604_800);
    assert!(r.verify(T0 + 604_800).is_ok());
    let r = presigned("/prod", None, None, 604_801);
    check(
        &r.verify(T0).unwrap_err(),
        "IncompleteSignatureException",
        StatusCode::BAD_REQUEST,
        "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds",
    );
    let strict = Verifier { max_presign_expiry: Duration::from_secs(3600), ..Verifier::new("execute-api") };
    let r = presigned("/prod", None, None, 3601);
    assert_eq!(r.verify_with(&strict, T0).unwrap_err().to_string(), "X-Amz-Expires must be less than 3600 seconds");

    let mut r = presigned("/prod", None, None, 60);
    r.query = Some(r.query.unwrap().replace("X-Amz-Expires=60", "X-Amz-Expires=-1"));
    check(
        &r.verify(T0).unwrap_err(),
        "IncompleteSignatureException",
        StatusCode::BAD_REQUEST,
        "X-Amz-Expires should be a number",
    );
}

#[test]
fn presigned_tampering_and_missing_parameters() {
    let good = presigned("/prod", Some("room=abc"), None, 300);
    assert!(good.verify(T0).is_ok());

    let q = good.query.clone().unwrap();
    for (from, to) in [("room=abc", "room=abd"), ("X-Amz-Expires=300", "X-Amz-Expires=301"), ("room=abc&", "")] {
        let mut r = good.clone();
        r.query = Some(q.replace(from, to));
        assert_mismatch(r.verify(T0), from);
    }
    let mut r = good.clone();
    r.query = Some(format!("{q}&extra=1"));
    assert_mismatch(r.verify(T0), "extra parameter");
    let mut r = good.clone();
    r.set("host", "other.example.com");
    assert_mismatch(r.verify(T0), "host");
    let mut r = good.clone();
    r.path = "/prod2".into();
    assert_mismatch(r.verify(T0), "path");

    for parameter in
        ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"]
    {
        let mut r = good.clone();
        let kept: Vec<&str> = q.split('&').filter(|p| !p.starts_with(&format!("{parameter}="))).collect();
        r.query = Some(kept.join("&"));
        let err = r.verify(T0).unwrap_err();
        check(
            &err,
            "IncompleteSignatureException",
            StatusCode::BAD_REQUEST,
            &format!("AWS query-string parameters must include '{parameter}'. Re-examine the query-string parameters."),
        );
    }

    let mut r = good.clone();
    r.query = Some(q.replace("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=x-amz-date"));
    assert_eq!(r.verify(T0), Err(SigV4Error::HostNotSigned));

    let mut r = good.clone();
    r.query = Some(q.replace("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256"));
    assert!(matches!(r.verify(T0), Err(SigV4Error::UnsupportedAlgorithm { .. })));

    let mut r = good.clone();
    r.query = Some(q.replace("AKIDEXAMPLE", "AKIDNOPE"));
    assert!(matches!(r.verify(T0), Err(SigV4Error::UnrecognizedClient { .. })));
}

// ---------------------------------------------------------------------------------------------
// Robustness: arbitrary input never panics.
// ---------------------------------------------------------------------------------------------

/// A tiny deterministic generator (xorshift), to avoid a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| (self.next() & 0xff) as u8).collect()
    }
}

#[test]
fn arbitrary_input_never_panics() {
    const PIECES: &[&str] = &[
        "AWS4-HMAC-SHA256",
        " ",
        ",",
        "=",
        "/",
        ";",
        "%",
        "%2",
        "%zz",
        "+",
        "&",
        "Credential",
        "SignedHeaders",
        "Signature",
        "host",
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-Signature",
        "X-Amz-SignedHeaders",
        "AKIDEXAMPLE/20240101/us-east-1/execute-api/aws4_request",
        "20240101T000000Z",
        "99999999T999999Z",
        "18446744073709551616",
        "..",
        ".",
        "\u{2713}",
        "\t",
        "aws4_request",
        "",
    ];
    let verifier = Verifier::new("execute-api");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let times = [i64::MIN, -1, 0, T0, i64::MAX];
    for i in 0..4000 {
        let mut text = || (0..rng.next() % 12).map(|_| rng.pick(PIECES)).collect::<String>();
        let auth = text();
        let path = text();
        let query = text();
        let date = text();
        let mut map = HeaderMap::new();
        if i % 3 != 0
            && let Ok(v) = HeaderValue::from_str(&auth)
        {
            map.insert("authorization", v);
        }
        if let Ok(v) = HeaderValue::from_str(&date) {
            map.insert(if i % 2 == 0 { "x-amz-date" } else { "date" }, v);
        }
        if let Ok(v) = HeaderValue::from_bytes(&rng.bytes(8)) {
            map.insert("host", v.clone());
            map.insert("x-amz-content-sha256", v);
        }
        let body = rng.bytes((i % 7) as usize);
        let request = SignedRequest::new("GET", &path, Some(&query), &map, &body);
        for t in times {
            if let Ok(now) = OffsetDateTime::from_unix_timestamp(t.clamp(-377_705_116_800, 253_402_300_799)) {
                // Random pieces never make a valid signature: every one is refused, none panics.
                assert!(verifier.verify(&request, &keys(), now).is_err(), "accepted: {auth:?} {path:?} {query:?}");
            }
        }
    }

    // Non-UTF-8 and huge headers.
    let mut map = HeaderMap::new();
    map.insert("authorization", HeaderValue::from_bytes(b"AWS4-HMAC-SHA256 Credential=\xff\xfe/20240101/us-east-1/execute-api/aws4_request, SignedHeaders=host;\xc3, Signature=\x80").unwrap());
    map.insert("x-amz-date", HeaderValue::from_bytes(b"2024\xff").unwrap());
    map.insert("host", HeaderValue::from_bytes(b"\xff\xfe").unwrap());
    let request = SignedRequest::new("GET", "/", None, &map, b"");
    assert!(verifier.verify(&request, &keys(), at(T0)).is_err());

    let huge = format!(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/execute-api/aws4_request, SignedHeaders={}host, Signature={}",
        "x-a;".repeat(20_000),
        "0".repeat(100_000)
    );
    let mut a = vector_a();
    a.set("authorization", &huge);
    a.set("x-a", &"v ".repeat(50_000));
    assert_mismatch(a.verify(T0), "huge");
}

// ---------------------------------------------------------------------------------------------
// The head check: what can be refused before the body is read.
// ---------------------------------------------------------------------------------------------

#[test]
fn the_head_check_refuses_what_verify_refuses_without_reading_the_body() {
    let verifier = Verifier::new("execute-api");
    let head = |req: &Req, now: i64| verifier.check_head(&req.signed(), &keys(), at(now)).map(drop);
    let a = vector_a();
    assert_eq!(head(&a, T0), Ok(()));
    let mut other_body = a.clone();
    other_body.body = b"not what was signed".to_vec();
    assert_eq!(head(&other_body, T0), Ok(()), "the body is not looked at");
    assert!(matches!(other_body.verify(T0), Err(SigV4Error::SignatureMismatch { .. })), "verify still reads it");

    let mut cases: Vec<(Req, i64)> = vec![(a.clone(), T0 + 3600), (a.clone(), T0 - 3600)];
    let mut unsigned = a.clone();
    unsigned.headers.remove(http::header::AUTHORIZATION);
    cases.push((unsigned, T0));
    for (from, to) in [("AKIDEXAMPLE", "AKIDUNKNOWN"), ("execute-api", "ivschat"), ("20240101/", "20240102/")] {
        let mut changed = a.clone();
        let auth = changed.headers[http::header::AUTHORIZATION].to_str().unwrap().replacen(from, to, 1);
        changed.set("authorization", &auth);
        cases.push((changed, T0));
    }
    let mut garbled = a.clone();
    garbled.set("authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/execute-api/aws4_request");
    cases.push((garbled, T0));
    for (req, now) in &cases {
        let full = req.verify(*now).unwrap_err();
        assert!(!matches!(full, SigV4Error::SignatureMismatch { .. }), "{full:?}");
        assert_eq!(head(req, *now), Err(full));
    }
}

#[test]
fn a_checked_head_verifies_its_body_as_verify_does() {
    let verifier = Verifier::new("execute-api");
    let tokened = presigned("/prod/@connections/x%3D", Some("room=a%2Fb&x=1"), Some("TOKEN/+="), 60);
    let mut declared = vector_a();
    declared.set("x-amz-content-sha256", "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    let mut bad_hex = vector_a();
    let auth =
        bad_hex.headers[http::header::AUTHORIZATION].to_str().unwrap().replace("Signature=8502", "Signature=zz02");
    bad_hex.set("authorization", &auth);
    // Each request, and whether its signature holds for the body it was signed with and for another one (a
    // presigned URL signs `UNSIGNED-PAYLOAD`).
    let cases = [
        (vector_a(), [true, false]),
        (tokened, [true, true]),
        (presigned("/prod", None, None, 900), [true, true]),
        (declared, [true, false]),
        (bad_hex, [false, false]),
    ];
    for (req, holds) in cases {
        for (body, holds) in [req.body.clone(), b"not what was signed".to_vec()].into_iter().zip(holds) {
            let checked = verifier.check_head(&req.signed(), &keys(), at(T0 + 30)).expect("the head passes");
            let whole = Req { body: body.clone(), ..req.clone() };
            let verified = checked.verify(&body);
            assert_eq!(verified.is_ok(), holds, "{req:?} with {body:?}: {verified:?}");
            assert_eq!(verified, whole.verify(T0 + 30), "{req:?} with {body:?}");
        }
    }
}
