//! Abuse before authentication: refusals decided from a request's head before its body is read, the bound on
//! requests not authenticated yet, and new-connection rates that forged chat tokens cannot spend.

use std::time::Duration;

use aws_sdk_ivschat::types::ChatTokenCapability;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::harness::*;

/// How long a test waits for the server to answer before it fails.
const PATIENCE: Duration = Duration::from_secs(5);

/// Reads one answer's head, up to its blank line; fails the test when none comes within [`PATIENCE`].
async fn read_answer_head(tcp: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut byte = [0u8; 1];
    while !out.ends_with(b"\r\n\r\n") {
        match tokio::time::timeout(PATIENCE, tcp.read(&mut byte)).await {
            Ok(Ok(1)) => out.push(byte[0]),
            Ok(_) => break,
            Err(_) => panic!("no answer; read so far: {:?}", String::from_utf8_lossy(&out)),
        }
    }
    String::from_utf8(out).unwrap()
}

/// A head that cannot authenticate — unsigned, an unknown key, a date out of the window, another service's scope —
/// is answered before any of its body is sent; a client that then sends the whole body still reads the answer.
#[tokio::test]
async fn heads_that_cannot_authenticate_are_refused_before_the_body() {
    let server = TestServer::start("", |_| {}).await;
    let path = "/prod/@connections/L0SM9cOFvHcCIhw%3D";
    let now = time::OffsetDateTime::now_utc();
    let len = 100_000;
    let unsigned = format!("POST {path} HTTP/1.1\r\nhost: localhost\r\ncontent-length: {len}\r\n\r\n");
    let cases = [
        (unsigned, "MissingAuthenticationTokenException"),
        (signed_head(&server, path, len, "", ("AKIDUNKNOWN000000000", now)), "UnrecognizedClientException"),
        (signed_head(&server, path, len, "", (AKID, now - time::Duration::hours(1))), "InvalidSignatureException"),
        (
            signed_head(&server, path, len, "", (AKID, now)).replace("/execute-api/", "/ivschat/"),
            "InvalidSignatureException",
        ),
    ];
    for (head, error_type) in cases {
        let mut tcp = TcpStream::connect(server.addr).await.unwrap();
        tcp.write_all(head.as_bytes()).await.unwrap();
        let answer = read_answer_head(&mut tcp).await;
        assert!(answer.starts_with("HTTP/1.1 403 "), "{answer}");
        assert!(answer.contains(&format!("x-amzn-errortype: {error_type}\r\n")), "{answer}");
        // The body follows the answer and is read and thrown away, not refused with a reset.
        tcp.write_all(&vec![b'x'; len]).await.unwrap();
    }
    // A client that waits for `100 Continue` gets the final answer instead, and sends no body.
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    let waiting =
        format!("POST {path} HTTP/1.1\r\nhost: localhost\r\ncontent-length: {len}\r\nexpect: 100-continue\r\n\r\n");
    tcp.write_all(waiting.as_bytes()).await.unwrap();
    let answer = read_answer_head(&mut tcp).await;
    assert!(answer.starts_with("HTTP/1.1 403 "), "{answer}");
    // A head that passes is read as before: a wrong body fails the signature itself.
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(signed_head(&server, path, 5, "", (AKID, now)).as_bytes()).await.unwrap();
    tcp.write_all(b"hello").await.unwrap();
    let answer = read_answer_head(&mut tcp).await;
    assert!(answer.contains("x-amzn-errortype: InvalidSignatureException\r\n"), "{answer}");
    server.shutdown().await;
}

/// Requests whose head passed but whose body has not arrived are bounded per client address: past the bound the
/// next answers 429 at once, and a place comes back when a request ends.
#[tokio::test]
async fn requests_not_yet_authenticated_are_bounded_per_address() {
    let server = TestServer::start("", |a| a.limits.max_unauthenticated_requests_per_address = Some(2)).await;
    let path = "/prod/@connections/L0SM9cOFvHcCIhw%3D";
    let now = time::OffsetDateTime::now_utc();
    let mut waiting = Vec::new();
    for _ in 0..2 {
        let mut tcp = TcpStream::connect(server.addr).await.unwrap();
        tcp.write_all(signed_head(&server, path, 10, "", (AKID, now)).as_bytes()).await.unwrap();
        waiting.push(tcp);
    }
    // The two heads hold their places once the server answers anything after them on another connection: poll.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let answer = loop {
        let mut tcp = TcpStream::connect(server.addr).await.unwrap();
        tcp.write_all(signed_head(&server, path, 10, "", (AKID, now)).as_bytes()).await.unwrap();
        let answer = tokio::time::timeout(Duration::from_millis(500), read_answer_head(&mut tcp)).await;
        if let Ok(answer) = answer {
            break answer;
        }
        assert!(tokio::time::Instant::now() < deadline, "the bound never refused a request");
    };
    assert!(answer.starts_with("HTTP/1.1 429 "), "{answer}");
    assert!(answer.contains("x-amzn-errortype: LimitExceededException\r\n"), "{answer}");
    // One waiting request sends its body (its signature is then checked and fails): its place comes back.
    let mut first = waiting.remove(0);
    first.write_all(b"0123456789").await.unwrap();
    assert!(read_answer_head(&mut first).await.starts_with("HTTP/1.1 403 "));
    let status = Raw::new("GET", path).send(&server).await.status();
    assert_eq!(status, 410, "a signed request is served again");
    server.shutdown().await;
}

/// A call counts among the requests not authenticated yet only until its signature is verified: an Invoke that runs
/// for seconds after that leaves its address's one place to the next request.
#[tokio::test]
async fn a_verified_call_gives_its_place_up_while_it_runs() {
    let Some(code) = crate::functions::code_dir("1") else { return };
    let functions = format!(
        "[[functions]]\nname = \"slow\"\nruntime = \"provided.al2023\"\nhandler = \"bootstrap\"\ncode = \"{}\"\ntimeout = 10\n",
        code.path().display()
    );
    let server = TestServer::start(&functions, |a| a.limits.max_unauthenticated_requests_per_address = Some(1)).await;
    let lambda = crate::lambda::sdk(&server);
    let call =
        lambda.invoke().function_name("slow").payload(aws_sdk_lambda::primitives::Blob::new(r#"{"sleep":4000}"#));
    let slow = tokio::spawn(call.send());
    // Its signature is verified as soon as its body is read; the function then starts and sleeps.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let status = Raw::new("GET", "/prod/@connections/L0SM9cOFvHcCIhw%3D").send(&server).await.status();
    assert!(!slow.is_finished(), "the Invoke was still running");
    assert_eq!(status, 410, "the running Invoke holds no place among the requests not authenticated yet");
    let out = slow.await.unwrap().expect("the Invoke answers");
    assert_eq!((out.status_code(), out.function_error()), (200, None));
    server.shutdown().await;
}

/// Forged chat tokens are refused before they count against the new-connection rates, so a flood of them from an
/// address does not lock out a genuine token from it.
#[tokio::test]
async fn forged_chat_tokens_do_not_spend_the_connection_rate() {
    let server = TestServer::start("", |a| {
        a.limits.new_connections_per_second = Some(1000);
        a.limits.new_connections_per_second_per_address = Some(2);
    })
    .await;
    let sdk = server.chat_sdk();
    let room = sdk.create_room().send().await.unwrap();
    let arn = room.arn().unwrap();
    let token = |user: &'static str| {
        let sdk = sdk.clone();
        let arn = arn.to_owned();
        async move {
            let issued = sdk.create_chat_token().room_identifier(arn).user_id(user);
            let issued = issued.capabilities(ChatTokenCapability::SendMessage).send().await.unwrap();
            issued.token().unwrap().to_owned()
        }
    };
    let genuine = token("ann").await;
    let (payload, _) = genuine.split_once('.').unwrap();
    let forged = format!("{payload}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    let handshake = |token: String| {
        let mut request = format!("ws://{}/", server.addr).into_client_request().unwrap();
        request.headers_mut().insert("Sec-WebSocket-Protocol", token.parse().unwrap());
        async move {
            match tokio_tungstenite::connect_async(request).await {
                Ok(_) => 101,
                Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
                Err(other) => panic!("unexpected error {other}"),
            }
        }
    };
    for _ in 0..20 {
        assert_eq!(handshake(forged.clone()).await, 401);
    }
    assert_eq!(handshake(genuine).await, 101, "the forged tokens spent nothing");
    // Genuine handshakes do count: past the address's burst of two, 429.
    let (second, third) = (token("bob").await, token("cy").await);
    let statuses = [handshake(second).await, handshake(third).await];
    assert_eq!(statuses, [101, 429], "an address's rate holds for genuine tokens");
    server.shutdown().await;
}
