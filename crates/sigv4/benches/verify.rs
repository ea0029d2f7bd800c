//! SigV4 verification of a PostToConnection request: the cost the management API pays on every call, with the
//! signing key derived per request (the default lookup) and taken from a cache, and the check of its head alone
//! that comes first.

use std::borrow::Cow;
use std::collections::HashMap;

use criterion::{Criterion, criterion_group, criterion_main};
use sigv4::{SecretLookup, SignedRequest, SigningParams, Verifier, derive_signing_key, sign};
use time::OffsetDateTime;

const AKID: &str = "AKIDSWITCHBOARDBENCH";
const SECRET: &str = "switchboard/bench/secret/key/0123456789";

/// A lookup that caches the one signing key it is asked for.
struct Cached {
    key: [u8; 32],
}

impl SecretLookup for Cached {
    fn secret_access_key(&self, _: &str) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed(SECRET))
    }

    fn signing_key(&self, _: &str, _: &str, _: &str, _: &str) -> Option<[u8; 32]> {
        Some(self.key)
    }
}

fn verify(c: &mut Criterion) {
    let now = OffsetDateTime::from_unix_timestamp(1_750_000_000).unwrap();
    let path = "/prod/@connections/L0SM9cOFvHcCIhw%3D";
    let body =
        br#"bench:1750000000000000:0000000001:xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"#;
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::HOST, http::HeaderValue::from_static("127.0.0.1:4510"));
    let params = SigningParams {
        access_key_id: AKID,
        secret_access_key: SECRET,
        session_token: None,
        region: "us-east-1",
        service: "execute-api",
        time: now,
    };
    let signature = sign(&SignedRequest::new("POST", path, None, &headers, body), &params);
    headers.insert("x-amz-date", signature.amz_date.parse().unwrap());
    headers.insert(http::header::AUTHORIZATION, signature.authorization.parse().unwrap());
    headers.insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(body.len()));
    let request = SignedRequest::new("POST", path, None, &headers, body);
    let verifier = Verifier::new("execute-api");

    let secrets: HashMap<String, String> = HashMap::from([(AKID.to_owned(), SECRET.to_owned())]);
    assert!(verifier.verify(&request, &secrets, now).is_ok());
    c.bench_function("sigv4/verify PostToConnection (key derived)", |b| {
        b.iter(|| verifier.verify(std::hint::black_box(&request), &secrets, now).unwrap())
    });
    let cached = Cached { key: derive_signing_key(SECRET, "20250615", "us-east-1", "execute-api") };
    assert!(verifier.verify(&request, &cached, now).is_ok());
    c.bench_function("sigv4/verify PostToConnection (key cached)", |b| {
        b.iter(|| verifier.verify(std::hint::black_box(&request), &cached, now).unwrap())
    });
    // What the server checks first, before it reads the body; `verify` above is this and then `Head::verify` with the
    // body: the server's whole path.
    let head = SignedRequest::new("POST", path, None, &headers, &[]);
    c.bench_function("sigv4/check_head PostToConnection (key cached)", |b| {
        b.iter(|| verifier.check_head(std::hint::black_box(&head), &cached, now).unwrap())
    });
}

criterion_group!(benches, verify);
criterion_main!(benches);
