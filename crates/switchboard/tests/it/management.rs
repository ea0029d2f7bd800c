//! The `@connections` management API: the error matrix of reference apigw.md §1.6.5, path forms and SigV4 refusals.

use std::time::Duration;

use crate::harness::*;

const UNKNOWN_ID: &str = "L0SM9cOFvHcCIhw%3D";

#[tokio::test]
async fn error_matrix() {
    let server = TestServer::start("", |_| {}).await;
    let cases: Vec<(Raw, u16, &str, &str)> = vec![
        // Well-formed but unknown id: 410 with an empty body.
        (Raw::new("POST", format!("/prod/@connections/{UNKNOWN_ID}")), 410, "GoneException", ""),
        (Raw::new("GET", format!("/prod/@connections/{UNKNOWN_ID}")), 410, "GoneException", ""),
        (Raw::new("DELETE", format!("/prod/@connections/{UNKNOWN_ID}")), 410, "GoneException", ""),
        (Raw::new("GET", format!("/prod/%40connections/{UNKNOWN_ID}")), 410, "GoneException", ""),
        (Raw::new("GET", format!("/@connections/{UNKNOWN_ID}")), 410, "GoneException", ""),
        // Malformed ids.
        (
            Raw::new("POST", "/prod/@connections/cjy8i76bx002884le6n17d49b"),
            400,
            "BadRequestException",
            r#"{"message":"Invalid connectionId: cjy8i76bx002884le6n17d49b"}"#,
        ),
        (Raw::new("GET", "/prod/@connections/"), 400, "BadRequestException", r#"{"message":"Invalid connectionId: "}"#),
        // Unknown stage, unknown method, unknown path.
        (
            Raw::new("GET", format!("/nostage/@connections/{UNKNOWN_ID}")),
            403,
            "ForbiddenException",
            r#"{"message":"Forbidden"}"#,
        ),
        (
            Raw::new("PUT", format!("/prod/@connections/{UNKNOWN_ID}")),
            403,
            "ForbiddenException",
            r#"{"message":"Forbidden"}"#,
        ),
        (Raw::new("GET", "/prod/elsewhere"), 403, "ForbiddenException", r#"{"message":"Forbidden"}"#),
        // Signatures.
        (
            Raw { sign: false, ..Raw::new("GET", format!("/prod/@connections/{UNKNOWN_ID}")) },
            403,
            "MissingAuthenticationTokenException",
            r#"{"message":"Missing Authentication Token"}"#,
        ),
        (
            Raw { service: "ivschat", ..Raw::new("GET", format!("/prod/@connections/{UNKNOWN_ID}")) },
            403,
            "InvalidSignatureException",
            r#"{"message":"Credential should be scoped to correct service: 'execute-api'. "}"#,
        ),
    ];
    for (raw, status, error_type, body) in cases {
        let what = format!("{} {}", raw.method, raw.path);
        let (s, t, b) = parts(raw.send(&server).await).await;
        assert_eq!((s, t.as_str(), b.as_str()), (status, error_type, body), "{what}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn signature_refusals() {
    let server = TestServer::start("", |_| {}).await;
    let path = format!("/prod/@connections/{UNKNOWN_ID}");

    let (status, error_type, body) =
        parts(Raw { secret: "wrong", ..Raw::new("GET", path.clone()) }.send(&server).await).await;
    assert_eq!((status, error_type.as_str()), (403, "InvalidSignatureException"));
    assert!(body.contains("The request signature we calculated does not match"), "{body}");
    assert!(body.contains("/prod/%40connections/L0SM9cOFvHcCIhw%253D"), "canonical path is double-encoded: {body}");

    let tampered =
        Raw { body: b"hello".to_vec(), send_body: Some(b"HELLO".to_vec()), ..Raw::new("POST", path.clone()) };
    let (status, error_type, _) = parts(tampered.send(&server).await).await;
    assert_eq!((status, error_type.as_str()), (403, "InvalidSignatureException"));

    let old = Raw { time: time::OffsetDateTime::now_utc() - Duration::from_secs(600), ..Raw::new("GET", path.clone()) };
    let (status, error_type, body) = parts(old.send(&server).await).await;
    assert_eq!((status, error_type.as_str()), (403, "InvalidSignatureException"));
    assert!(body.contains("Signature expired"), "{body}");

    // An Authorization header without its SignedHeaders and Signature: AWS's 400.
    let incomplete = "AWS4-HMAC-SHA256 Credential=AKIDSWITCHBOARDTEST1/20240101/us-east-1/execute-api/aws4_request";
    let raw = Raw {
        sign: false,
        unsigned_headers: vec![("authorization", incomplete.to_owned()), ("x-amz-date", "20240101T000000Z".to_owned())],
        ..Raw::new("GET", path.clone())
    };
    let (status, error_type, body) = parts(raw.send(&server).await).await;
    assert_eq!((status, error_type.as_str()), (400, "IncompleteSignatureException"), "{body}");
    server.shutdown().await;
}

#[tokio::test]
async fn payload_limit_and_auth_switch() {
    let server = TestServer::start("", |_| {}).await;
    let too_big = Raw { body: vec![b'a'; 131_073], ..Raw::new("POST", format!("/prod/@connections/{UNKNOWN_ID}")) };
    let (status, error_type, body) = parts(too_big.send(&server).await).await;
    assert_eq!((status, error_type.as_str()), (413, "PayloadTooLargeException"));
    assert!(body.starts_with(r#"{"message":"#));
    let max = Raw { body: vec![b'a'; 131_072], ..Raw::new("POST", format!("/prod/@connections/{UNKNOWN_ID}")) };
    assert_eq!(parts(max.send(&server).await).await.0, 410, "exactly 128 KiB is accepted");
    server.shutdown().await;

    let open = TestServer::start("", |a| a.insecure_no_auth = true).await;
    let unsigned = Raw { sign: false, ..Raw::new("GET", format!("/prod/@connections/{UNKNOWN_ID}")) };
    assert_eq!(parts(unsigned.send(&open).await).await.0, 410);
    open.shutdown().await;
}

#[tokio::test]
async fn full_outbox_answers_429_and_the_connection_survives() {
    let mut backend = Backend::ok().await;
    let url = backend.url();
    let server = TestServer::start("", |a| {
        a.routes = vec![format!("$connect={url}")];
        a.limits.outbox_bytes = Some(256 * 1024);
    })
    .await;
    // This client never reads, so the socket buffers and then the outbox fill up.
    let mut ws = server.connect("/prod").await;
    let id = backend.next().await["requestContext"]["connectionId"].as_str().unwrap().to_owned();
    let sdk = server.sdk("prod");
    let chunk = aws_sdk_apigatewaymanagement::primitives::Blob::new(vec![b'z'; 128 * 1024]);
    let mut limited = None;
    for _ in 0..1000 {
        match sdk.post_to_connection().connection_id(&id).data(chunk.clone()).send().await {
            Ok(_) => {}
            Err(err) => {
                limited = Some(err.into_service_error());
                break;
            }
        }
    }
    let err = limited.expect("the outbox never filled");
    assert!(err.is_limit_exceeded_exception(), "{err:?}");
    // Still connected: GetConnection works and the queued data arrives once the client reads.
    sdk.get_connection().connection_id(&id).send().await.unwrap();
    assert_eq!(recv_text(&mut ws).await.len(), 128 * 1024);
    server.shutdown().await;
}

/// A management call reaches only the connections of the API its `Host` chooses, as an upgrade with that `Host`
/// connects to (`{apiId}.execute-api.…`); a `Host` that names no API chooses the first declared with the stage.
#[tokio::test]
async fn the_host_chooses_whose_connections_a_call_reaches() {
    let mut backend = Backend::ok().await;
    let url = backend.url();
    let api = |id: &str| {
        format!(
            r#"
            [[apis]]
            api_id = "{id}"
            stages = [{{ stage_name = "prod" }}]
            integrations = [{{ integration_id = "f", integration_type = "AWS_PROXY", integration_uri = "{url}" }}]
            routes = [{{ route_key = "$connect", target = "integrations/f" }}]
            "#
        )
    };
    let server = TestServer::start(&format!("{}{}", api("first"), api("other")), |_| {}).await;
    let other_host = format!("other.execute-api.localhost:{}", server.addr.port());
    let (mut ids, mut sockets) = (Vec::new(), Vec::new());
    for host in [None, Some(other_host.as_str())] {
        let headers: Vec<(&str, &str)> = host.map(|h| ("host", h)).into_iter().collect();
        sockets.push(server.try_connect("/prod", &headers).await.unwrap());
        let connect = backend.next_of("CONNECT").await;
        ids.push(connect["requestContext"]["connectionId"].as_str().unwrap().to_owned());
        let expected = if host.is_some() { "other" } else { "first" };
        assert_eq!(connect["requestContext"]["apiId"], expected);
    }
    let status = |id: &str, host: Option<&str>, path: &str| {
        let mut raw = Raw::new("GET", format!("{path}{id}"));
        raw.host = host.map(str::to_owned);
        let server = &server;
        async move { raw.send(server).await.status().as_u16() }
    };
    let (first, other) = (&ids[0], &ids[1]);
    assert_eq!(status(first, None, "/prod/@connections/").await, 200);
    assert_eq!(status(other, None, "/prod/@connections/").await, 410, "another API's connection");
    assert_eq!(status(other, Some(&other_host), "/prod/@connections/").await, 200);
    assert_eq!(status(first, Some(&other_host), "/prod/@connections/").await, 410, "another API's connection");
    // Without a stage, a Host that names an API still chooses it; one that names none reaches every API.
    assert_eq!(status(first, Some(&other_host), "/@connections/").await, 410);
    assert_eq!(status(other, None, "/@connections/").await, 200);
    server.shutdown().await;
}
