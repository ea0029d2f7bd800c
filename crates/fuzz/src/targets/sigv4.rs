//! `sigv4`: a request in the text form of [`crate::request`] through [`sigv4::Verifier::verify`] (the
//! `Authorization` header, presigned query parameters, the credential scope, dates and the canonical request), then
//! the same request signed by `sigv4::sign` and `sigv4::presign`, which the verifier must accept.

use http::{HeaderValue, StatusCode};
use sigv4::{SignedRequest, SigningParams, Verifier, presign, sign};
use time::OffsetDateTime;

use crate::request::Request;

/// The one key the target knows: every access key id the input names has this secret, so that inputs reach the
/// canonical request and the signature check.
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// The verification time: 2024-01-01T00:00:00Z, the date of the seeds.
const NOW: i64 = 1_704_067_200;

pub fn sigv4(data: &[u8]) {
    let Some(request) = Request::parse(data) else { return };
    let now = OffsetDateTime::from_unix_timestamp(NOW).expect("a valid time");
    let lookup = |_: &str| Some(SECRET.to_owned());
    for service in ["execute-api", "ivschat"] {
        let verifier = Verifier::new(service);
        let signed = SignedRequest::new(request.method, request.path, request.query, &request.headers, request.body);
        if let Err(err) = verifier.verify(&signed, &lookup, now) {
            // Every refusal renders as AWS's: a client error with a type and a message.
            assert!(matches!(err.status(), StatusCode::BAD_REQUEST | StatusCode::FORBIDDEN), "{err:?}");
            assert!(!err.error_type().is_empty());
            let _ = err.to_string();
        }
    }
    signs_and_verifies(&request, now);
}

/// What `sign` and `presign` produce for the request (with a host, without a declared payload hash) verifies.
fn signs_and_verifies(request: &Request<'_>, now: OffsetDateTime) {
    let mut headers = request.headers.clone();
    for name in ["authorization", "x-amz-date", "date", "x-amz-content-sha256", "x-amz-security-token"] {
        headers.remove(name);
    }
    if !headers.contains_key(http::header::HOST) {
        headers.insert(http::header::HOST, HeaderValue::from_static("example.amazonaws.com"));
    }
    let params = SigningParams {
        access_key_id: "AKIDEXAMPLE",
        secret_access_key: SECRET,
        session_token: Some("session-token"),
        region: "us-east-1",
        service: "execute-api",
        time: now,
    };
    let lookup = |_: &str| Some(SECRET.to_owned());
    let verifier = Verifier::new("execute-api");

    let unsigned = SignedRequest::new(request.method, request.path, request.query, &headers, request.body);
    let signature = sign(&unsigned, &params);
    let mut signed_headers = headers.clone();
    for (name, value) in [
        ("authorization", signature.authorization.as_str()),
        ("x-amz-date", signature.amz_date.as_str()),
        ("x-amz-security-token", "session-token"),
    ] {
        signed_headers.insert(name, HeaderValue::from_str(value).expect("the signer writes header-safe text"));
    }
    let signed = SignedRequest::new(request.method, request.path, request.query, &signed_headers, request.body);
    if let Err(err) = verifier.verify(&signed, &lookup, now) {
        panic!("sign() produced a signature verify() refuses: {err:?}");
    }

    // Presigning appends the X-Amz-* parameters; a query that already has some decides for itself (the first
    // occurrence wins), so only queries without them are checked.
    let query = request.query.unwrap_or_default();
    if query.to_ascii_lowercase().contains("amz") || query.contains('%') {
        return;
    }
    let presigned_query = presign(&unsigned, &params, std::time::Duration::from_secs(300));
    let presigned = SignedRequest::new(request.method, request.path, Some(&presigned_query), &headers, b"");
    if let Err(err) = verifier.verify(&presigned, &lookup, now) {
        panic!("presign() produced a query verify() refuses: {err:?}");
    }
}
