//! `AWS_IAM` on `$connect`, end to end: a handshake must be SigV4-signed for `execute-api` — in its headers, or as a
//! presigned URL made by our signer or by botocore's `SigV4QueryAuth` — by a key pair the server accepts; anything
//! else answers 403 before `$connect` runs, and every event of an admitted connection names its caller in
//! `requestContext.identity`. Defined through `[[apis]]` and through apigatewayv2.

use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::deps;
use crate::harness::*;

fn iam_api(backend: &Backend) -> String {
    format!(
        r#"
        [[apis]]
        api_id = "iam"
        stages = [{{ stage_name = "prod" }}]
        integrations = [{{ integration_id = "be", integration_type = "AWS_PROXY", integration_uri = "{}" }}]
        routes = [
          {{ route_key = "$connect", target = "be", authorization_type = "AWS_IAM" }},
          {{ route_key = "$default", target = "be" }},
          {{ route_key = "$disconnect", target = "be" }},
        ]
        "#,
        backend.url()
    )
}

fn params(secret: &'static str) -> sigv4::SigningParams<'static> {
    sigv4::SigningParams {
        access_key_id: AKID,
        secret_access_key: secret,
        session_token: None,
        region: REGION,
        service: "execute-api",
        time: time::OffsetDateTime::now_utc(),
    }
}

/// The handshake's `Host` header as the client sends it, alone: what a signer signs.
fn host(server: &TestServer) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::HOST, server.addr.to_string().parse().unwrap());
    headers
}

/// `{path}?{presigned query}`.
fn presigned(server: &TestServer, path: &str, secret: &'static str) -> String {
    let headers = host(server);
    let request = sigv4::SignedRequest::new("GET", path, None, &headers, b"");
    format!("{path}?{}", sigv4::presign(&request, &params(secret), Duration::from_secs(300)))
}

async fn status(server: &TestServer, path: &str, headers: &[(&str, &str)]) -> u16 {
    match server.try_connect(path, headers).await {
        Ok(_) => 101,
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("{other}"),
    }
}

fn assert_names_the_caller(event: &Value) {
    let identity = &event["requestContext"]["identity"];
    assert_eq!(identity["accessKey"], AKID, "{event}");
    assert_eq!(identity["accountId"], "000000000000");
    assert_eq!(identity["caller"], "000000000000");
    assert_eq!(identity["userArn"], "arn:aws:iam::000000000000:root");
    assert_eq!(identity["sourceIp"], "127.0.0.1");
}

#[tokio::test]
async fn aws_iam_on_connect_admits_only_signed_handshakes() {
    let mut backend = Backend::ok().await;
    let server = TestServer::start(&iam_api(&backend), |_| {}).await;

    // Unsigned, signed with a wrong secret, or presigned for another service: 403, and `$connect` never runs.
    assert_eq!(status(&server, "/prod", &[]).await, 403);
    assert_eq!(status(&server, &presigned(&server, "/prod", "not-the-secret"), &[]).await, 403);
    let headers = host(&server);
    let request = sigv4::SignedRequest::new("GET", "/prod", None, &headers, b"");
    let other_service = sigv4::SigningParams { service: "ivschat", ..params(SECRET) };
    let query = sigv4::presign(&request, &other_service, Duration::from_secs(300));
    assert_eq!(status(&server, &format!("/prod?{query}"), &[]).await, 403);
    backend.assert_quiet(Duration::from_millis(200)).await;

    // Presigned: admitted; `$connect` and the messages after it name the caller.
    let mut ws = server.connect(&presigned(&server, "/prod", SECRET)).await;
    let connect = backend.next_of("CONNECT").await;
    assert_names_the_caller(&connect);
    send_text(&mut ws, "hello").await;
    assert_names_the_caller(&backend.next_of("MESSAGE").await);
    drop(ws);
    assert_names_the_caller(&backend.next_of("DISCONNECT").await);

    // Signed in the handshake's headers.
    let signature = sigv4::sign(&request, &params(SECRET));
    let signed = [("x-amz-date", signature.amz_date.as_str()), ("authorization", signature.authorization.as_str())];
    assert_eq!(status(&server, "/prod", &signed).await, 101);
    assert_names_the_caller(&backend.next_of("CONNECT").await);
    server.shutdown().await;
}

#[tokio::test]
async fn a_url_presigned_by_botocore_connects() {
    let Some(boto3) = deps::boto3() else { return };
    let mut backend = Backend::ok().await;
    let server = TestServer::start(&iam_api(&backend), |_| {}).await;
    let script = format!(
        "from botocore.auth import SigV4QueryAuth\n\
         from botocore.awsrequest import AWSRequest\n\
         from botocore.credentials import Credentials\n\
         request = AWSRequest(method='GET', url='http://{addr}/prod')\n\
         SigV4QueryAuth(Credentials('{AKID}', '{SECRET}'), 'execute-api', 'us-east-1', expires=300).add_auth(request)\n\
         print(request.url)\n",
        addr = server.addr
    );
    let output = Command::new("python3").arg("-c").arg(script).env("PYTHONPATH", boto3).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let url = String::from_utf8(output.stdout).unwrap();
    let path = url.trim().strip_prefix(&format!("http://{}", server.addr)).unwrap().to_owned();
    assert!(path.contains("X-Amz-Signature="), "{path}");
    let _ws = server.connect(&path).await;
    assert_names_the_caller(&backend.next_of("CONNECT").await);
    server.shutdown().await;
}
