//! Shutdown as documented: the listener stops accepting, the admin listener's health says `shutting-down` while
//! connections drain, a `$disconnect` that hangs delays the end by no more than the grace period, and a handshake
//! that still reaches the server is answered 503.
//!
//! A handshake meets that 503 only in a race (the listener stops accepting at once, and open HTTP connections are
//! closed as soon as they are idle), so its test holds them open with `Server::hold_connections_open`.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::harness::*;

/// How long a test waits for the server to act before it fails.
const PATIENCE: Duration = Duration::from_secs(5);

#[tokio::test]
async fn shutdown_stops_accepting_reports_itself_and_is_bounded_when_disconnect_hangs() {
    let mut backend = Backend::start(|event| match event["requestContext"]["eventType"].as_str() {
        Some("DISCONNECT") => Reply::Delay(Duration::from_secs(30), json!({})),
        _ => Reply::Json(json!({ "statusCode": 200 })),
    })
    .await;
    let url = backend.url();
    let server = TestServer::start("", |a| {
        a.routes = vec![format!("$connect={url}"), format!("$disconnect={url}")];
        a.limits.shutdown_grace_secs = Some(1);
    })
    .await;
    let mut ws = server.connect("/prod").await;
    backend.next_of("CONNECT").await;
    let addr = server.addr;
    let admin = server.admin_url("/@switchboard/health");
    let started = Instant::now();
    let shutting_down = tokio::spawn(server.shutdown());

    // The admin listener says so while connections drain (the $disconnect hangs).
    until_shutting_down(&admin).await;
    let deadline = Instant::now() + PATIENCE;
    // No new connection is accepted any more.
    while TcpStream::connect(addr).await.is_ok() {
        assert!(Instant::now() < deadline, "the listener still accepts");
        tokio::task::yield_now().await;
    }
    assert_eq!(recv_close(&mut ws).await.0, 1001);
    backend.next_of("DISCONNECT").await;
    shutting_down.await.unwrap();
    let took = started.elapsed();
    // The grace period (1 s) and the listener's second, with room for a slow machine; never the 30 s hang.
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(5), "shutdown took {took:?}");
}

#[tokio::test]
async fn a_handshake_on_a_connection_still_open_during_shutdown_is_answered_503() {
    let backend = Backend::ok().await;
    let url = backend.url();
    let server = TestServer::start("", |a| a.routes = vec![format!("$connect={url}")]).await;
    // A keep-alive connection that served a request before shutdown began.
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(b"GET /@switchboard/health HTTP/1.1\r\nhost: localhost\r\n\r\n").await.unwrap();
    let (head, _) = read_response(&mut tcp).await;
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");

    // Shutdown begins, with that connection held open (the moment before the server closes it).
    let hold = server.hold_connections_open();
    let admin = server.admin_url("/@switchboard/health");
    let shutting_down = tokio::spawn(server.shutdown());
    until_shutting_down(&admin).await;
    let handshake = "GET /prod HTTP/1.1\r\nhost: localhost\r\nupgrade: websocket\r\nconnection: upgrade\r\n\
                     sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n";
    tcp.write_all(handshake.as_bytes()).await.unwrap();
    let (head, body) = read_response(&mut tcp).await;
    assert!(head.starts_with("HTTP/1.1 503 "), "{head}");
    assert_eq!(body, r#"{"message":"Service Unavailable"}"#);

    drop(hold);
    tokio::time::timeout(PATIENCE, shutting_down).await.expect("shutdown ends once the hold is gone").unwrap();
}

/// Waits until the admin listener's health says `shutting-down`.
async fn until_shutting_down(admin: &str) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let health: Value = serde_json::from_str(&reqwest::get(admin).await.unwrap().text().await.unwrap()).unwrap();
        if health["status"] == "shutting-down" {
            return;
        }
        assert!(Instant::now() < deadline, "health never said shutting-down: {health}");
        tokio::task::yield_now().await;
    }
}

/// One HTTP/1.1 answer with a `content-length`: its head and its body.
async fn read_response(tcp: &mut TcpStream) -> (String, String) {
    let mut read = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + PATIENCE;
    loop {
        let text = String::from_utf8_lossy(&read).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|n| n.trim().to_owned()))
                .map_or(0, |n| n.parse::<usize>().unwrap());
            if body.len() >= length {
                return (head.to_owned(), body.to_owned());
            }
        }
        let n = tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await.expect("no answer in time").unwrap();
        assert!(n > 0, "the server closed the connection; read so far: {text:?}");
        read.extend_from_slice(&buf[..n]);
    }
}
