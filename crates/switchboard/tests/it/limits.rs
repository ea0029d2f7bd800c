//! The front door's limits against abusive clients: request heads that never finish or are too large, connections
//! that never send a request, HTTP/2 streams, the caps on live WebSockets, bodies over the limit that are sent
//! anyway, and running out of file descriptors.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite;

use crate::harness::{TestServer, Ws};

/// How long a test waits for the server to act before it fails.
const PATIENCE: Duration = Duration::from_secs(5);

/// Reads until the server closes the connection; fails the test if it is still open after [`PATIENCE`].
async fn read_until_closed(tcp: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    match tokio::time::timeout(PATIENCE, tcp.read_to_end(&mut out)).await {
        Ok(_) => out,
        Err(_) => panic!("the server kept the connection open; read so far: {:?}", String::from_utf8_lossy(&out)),
    }
}

/// The status line of a raw HTTP/1.1 answer.
fn status_line(answer: &[u8]) -> String {
    String::from_utf8_lossy(answer).lines().next().unwrap_or_default().to_owned()
}

/// A complete request for the health page; `extra` lines are added to its head.
fn health_request(extra: &str) -> String {
    format!("GET /@switchboard/health HTTP/1.1\r\nhost: localhost\r\n{extra}\r\n")
}

fn handshake_status(result: Result<Ws, tungstenite::Error>) -> u16 {
    match result {
        Ok(_) => 101,
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("unexpected error {other}"),
    }
}

#[tokio::test]
async fn request_heads_that_never_finish_are_closed_within_the_header_timeout() {
    let server = TestServer::start("", |a| a.limits.header_timeout_ms = Some(400)).await;
    let beginnings: [&[u8]; 3] = [
        b"",                                                 // nothing: HTTP/1 or HTTP/2 is never known
        b"GET / HT",                                         // shorter than the HTTP/2 preface: still sniffing
        b"GET /@switchboard/health HTTP/1.1\r\nhost: x\r\n", // half a head
    ];
    for beginning in beginnings {
        let mut tcp = TcpStream::connect(server.addr).await.unwrap();
        let opened = Instant::now();
        tcp.write_all(beginning).await.unwrap();
        read_until_closed(&mut tcp).await;
        let open_for = opened.elapsed();
        assert!(open_for >= Duration::from_millis(300), "{:?} closed early, after {open_for:?}", beginning);
    }

    // A kept-alive connection gets the same time for its next head.
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(health_request("").as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut tcp).await;
    assert_eq!(status_line(&answer), "HTTP/1.1 200 OK");
    server.shutdown().await;
}

#[tokio::test]
async fn request_heads_over_the_size_limit_answer_431() {
    let server = TestServer::start("", |_| {}).await;
    let long_value = "v".repeat(4000);
    let long: String = (0..8).map(|i| format!("x-long-{i}: {long_value}\r\n")).collect();
    let many: String = (0..150).map(|i| format!("x-many-{i}: v\r\n")).collect();
    for (what, extra) in [("long headers", long), ("many headers", many)] {
        let mut tcp = TcpStream::connect(server.addr).await.unwrap();
        tcp.write_all(health_request(&extra).as_bytes()).await.unwrap();
        let answer = read_until_closed(&mut tcp).await;
        assert_eq!(status_line(&answer), "HTTP/1.1 431 Request Header Fields Too Large", "{what}");
    }
    // A head within the limit is served.
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(health_request("x-fine: v\r\nconnection: close\r\n").as_bytes()).await.unwrap();
    assert_eq!(status_line(&read_until_closed(&mut tcp).await), "HTTP/1.1 200 OK");
    server.shutdown().await;
}

/// Opens `bound` connections that send nothing, then checks that one more is answered `expected` and closed at once,
/// and that a place comes back once a silent connection goes.
async fn pending_bound_holds(server: &TestServer, bound: usize, expected: &str) {
    let mut silent = Vec::new();
    for _ in 0..bound {
        silent.push(TcpStream::connect(server.addr).await.unwrap());
    }
    let mut extra = TcpStream::connect(server.addr).await.unwrap();
    let opened = Instant::now();
    assert_eq!(status_line(&read_until_closed(&mut extra).await), expected);
    assert!(opened.elapsed() < Duration::from_secs(1), "closed at once, not by the header timeout");

    drop(silent.pop());
    let retrying = Instant::now();
    loop {
        let mut tcp = TcpStream::connect(server.addr).await.unwrap();
        tcp.write_all(health_request("connection: close\r\n").as_bytes()).await.unwrap();
        let answer = read_until_closed(&mut tcp).await;
        if status_line(&answer) == "HTTP/1.1 200 OK" {
            break;
        }
        assert!(retrying.elapsed() < PATIENCE, "the place of a closed connection never came back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn connections_without_a_request_are_bounded_per_address_and_in_total() {
    let server = TestServer::start("", |a| a.limits.max_pending_connections_per_address = Some(3)).await;
    pending_bound_holds(&server, 3, "HTTP/1.1 429 Too Many Requests").await;
    server.shutdown().await;
    let server = TestServer::start("", |a| a.limits.max_pending_connections = Some(3)).await;
    pending_bound_holds(&server, 3, "HTTP/1.1 503 Service Unavailable").await;
    server.shutdown().await;
}

/// Opens `cap` WebSockets, checks that one more handshake answers `status` with the table's body, and that a place
/// comes back once a connection closes.
async fn socket_cap_holds(server: &TestServer, cap: usize, status: u16) {
    let mut open = Vec::new();
    for _ in 0..cap {
        open.push(server.connect("/prod").await);
    }
    match server.try_connect("/prod", &[]).await {
        Err(tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), status);
            let body = String::from_utf8(response.into_body().unwrap_or_default()).unwrap();
            let message = if status == 503 { "Service Unavailable" } else { "Too Many Requests" };
            assert_eq!(body, format!(r#"{{"message":"{message}"}}"#));
        }
        other => panic!("expected a refusal, got {:?}", other.map(|_| "a WebSocket")),
    }
    let mut closing = open.pop().unwrap();
    closing.close(None).await.unwrap();
    let retrying = Instant::now();
    while handshake_status(server.try_connect("/prod", &[]).await) != 101 {
        assert!(retrying.elapsed() < PATIENCE, "the place of a closed connection never came back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn live_websockets_are_capped_in_total_and_per_address() {
    let server = TestServer::start("", |a| a.limits.max_connections_per_address = Some(2)).await;
    socket_cap_holds(&server, 2, 429).await;
    server.shutdown().await;
    let server = TestServer::start("", |a| a.limits.max_connections = Some(2)).await;
    socket_cap_holds(&server, 2, 503).await;
    server.shutdown().await;
}

#[tokio::test]
async fn chat_and_api_sockets_share_the_caps() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    let server = TestServer::start("", |a| a.limits.max_connections_per_address = Some(1)).await;
    let sdk = server.chat_sdk();
    let room = sdk.create_room().send().await.unwrap();
    let token = sdk.create_chat_token().room_identifier(room.arn().unwrap()).user_id("ann").send().await.unwrap();
    let _api = server.connect("/prod").await;
    let mut chat = format!("ws://{}/", server.addr).into_client_request().unwrap();
    chat.headers_mut().insert("Sec-WebSocket-Protocol", token.token().unwrap().parse().unwrap());
    match tokio_tungstenite::connect_async(chat).await {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status().as_u16(), 429),
        other => panic!("expected a refusal, got {:?}", other.map(|_| "a WebSocket")),
    }
    server.shutdown().await;
}

/// The SETTINGS an HTTP/2 server sends first, as (identifier, value) pairs, after a client's preface.
async fn http2_settings(server: &TestServer) -> Vec<(u16, u32)> {
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    // The client preface, then an empty SETTINGS frame.
    tcp.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0").await.unwrap();
    let mut header = [0u8; 9];
    tcp.read_exact(&mut header).await.unwrap();
    assert_eq!(header[3], 0x4, "the server's first frame is SETTINGS");
    let mut payload = vec![0u8; usize::from(header[1]) << 8 | usize::from(header[2])];
    tcp.read_exact(&mut payload).await.unwrap();
    payload
        .chunks_exact(6)
        .map(|entry| (u16::from_be_bytes([entry[0], entry[1]]), u32::from_be_bytes(entry[2..].try_into().unwrap())))
        .collect()
}

#[tokio::test]
async fn http2_connections_have_a_bounded_number_of_requests_in_flight() {
    const MAX_CONCURRENT_STREAMS: u16 = 0x3;
    let server = TestServer::start("", |_| {}).await;
    let settings = http2_settings(&server).await;
    assert!(settings.contains(&(MAX_CONCURRENT_STREAMS, 100)), "{settings:?}");
    server.shutdown().await;
}

/// Sends a POST with a body of `len` bytes from a socket with a small send buffer, so that the body cannot hide in the
/// kernel's buffers: the write fails if the server resets the connection while it is sent. With `expect`, the body
/// follows the server's `100 Continue`. Returns the server's answer.
async fn send_whole_body(server: &TestServer, len: usize, expect: bool) -> String {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_send_buffer_size(16 * 1024).unwrap();
    let mut tcp = socket.connect(server.addr).await.unwrap();
    let expect_line = if expect { "expect: 100-continue\r\n" } else { "" };
    // Signed, so that the head passes the checks made before the body is read (its body is never verified).
    let extra = format!("{expect_line}connection: close\r\n");
    let now = time::OffsetDateTime::now_utc();
    let head =
        crate::harness::signed_head(server, "/prod/%40connections/abc", len, &extra, (crate::harness::AKID, now));
    tcp.write_all(head.as_bytes()).await.unwrap();
    if expect {
        let mut interim = [0u8; 25];
        tcp.read_exact(&mut interim).await.unwrap();
        assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    }
    let body = vec![b'x'; len];
    if let Err(err) = tcp.write_all(&body).await {
        panic!("the server reset the connection while the body was sent (expect: {expect}): {err}");
    }
    String::from_utf8(read_until_closed(&mut tcp).await).unwrap()
}

#[tokio::test]
async fn a_body_over_the_limit_sent_whole_reads_413() {
    let server = TestServer::start("", |_| {}).await;
    // Eight times the limit of 128 KiB, all of it sent.
    for expect in [false, true] {
        let answer = send_whole_body(&server, 1024 * 1024, expect).await;
        assert_eq!(status_line(answer.as_bytes()), "HTTP/1.1 413 Payload Too Large", "expect: {expect}");
        assert!(answer.contains("x-amzn-errortype: PayloadTooLargeException\r\n"), "{answer}");
    }
    server.shutdown().await;
}

/// CPU time (user and system, in clock ticks) a process has used, from `/proc/{pid}/stat`.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The fields after the command name, which is in parentheses and may hold spaces: utime and stime are the 12th
    // and 13th of them.
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// A `switchboard serve` process allowed 128 file descriptors, sent more connections than it can hold: while accepting
/// fails it backs off without spinning and says so once, and it serves again once descriptors are freed. Needs
/// `/proc` and `sh`'s `ulimit`, so Linux only.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn accepting_survives_running_out_of_file_descriptors() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -n 128 && exec "$0" serve --listen 127.0.0.1:0 --data-dir "$1" --insecure-no-auth"#)
        .arg(env!("CARGO_BIN_EXE_switchboard"))
        .arg(dir.path())
        .env("SWITCHBOARD_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let banner = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        while !line.contains("listening on ") {
            line.clear();
            assert_ne!(stdout.read_line(&mut line).unwrap(), 0, "the server exited before its banner");
        }
        // The rest of the banner stays in the pipe: closing it would fail the server's next print.
        (line, stdout)
    });
    let (banner, _stdout) = tokio::time::timeout(Duration::from_secs(20), banner).await.unwrap().unwrap();
    let addr: std::net::SocketAddr =
        banner.split("listening on ").nth(1).unwrap().split_whitespace().next().unwrap().parse().unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let log = tokio::task::spawn_blocking(move || stderr.lines().map_while(Result::ok).collect::<Vec<_>>());

    // Silent connections until the server's descriptors run out (then connections wait in the backlog).
    let mut silent = Vec::new();
    for _ in 0..200 {
        silent.push(TcpStream::connect(addr).await.unwrap());
    }
    let before = cpu_ticks(child.id());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let used = cpu_ticks(child.id()) - before;
    assert!(used < 50, "the accept loop spun: {used} ticks of CPU in 2 s");

    drop(silent);
    let retrying = Instant::now();
    loop {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        tcp.write_all(health_request("connection: close\r\n").as_bytes()).await.unwrap();
        if status_line(&read_until_closed(&mut tcp).await) == "HTTP/1.1 200 OK" {
            break;
        }
        assert!(retrying.elapsed() < PATIENCE, "the server did not serve again once descriptors were freed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let log = tokio::time::timeout(PATIENCE, log).await.unwrap().unwrap();
    let failures = log.iter().filter(|line| line.contains("Accept failed")).count();
    assert_eq!(failures, 1, "one warning per run of failures: {log:#?}");
}
