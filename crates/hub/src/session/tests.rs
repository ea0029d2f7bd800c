//! Session tests over an in-memory socket: a client that misbehaves at the frame level, on tokio's paused clock.

use std::time::Duration;

use time::OffsetDateTime;
use tokio::io::{AsyncWriteExt, DuplexStream};
use tokio_tungstenite::tungstenite::protocol::Role;

use super::*;
use crate::{ConnectionInfo, Hub, HubConfig, Scope};

struct Ignore;

impl Inbound for Ignore {
    async fn on_text(&mut self, _conn: &Arc<Connection>, _text: Utf8Bytes) {}
}

/// A server session over one end of a pipe of `capacity` bytes each way; the other end is the raw client.
async fn session(capacity: usize) -> (WebSocketStream<DuplexStream>, Arc<Connection>, DuplexStream) {
    let (server, client) = tokio::io::duplex(capacity);
    let ws = WebSocketStream::from_raw_socket(server, Role::Server, None).await;
    let hub = Hub::new(HubConfig::default());
    let conn = hub.new_connection(ConnectionInfo {
        scope: Scope::Api { api_id: "api".into(), stage: "prod".into() },
        connected_at: OffsetDateTime::now_utc(),
        source_ip: "127.0.0.1".to_owned(),
        user_agent: None,
    });
    (ws, conn, client)
}

/// A masked client Ping frame carrying `len` bytes (at most 125, as control frames allow).
fn masked_ping(len: u8) -> Vec<u8> {
    let mask = [0x12, 0x34, 0x56, 0x78];
    let mut frame = vec![0x89, 0x80 | len];
    frame.extend_from_slice(&mask);
    frame.extend((0..len).map(|i| b'p' ^ mask[usize::from(i) % 4]));
    frame
}

#[tokio::test(start_paused = true)]
async fn a_client_that_pings_and_never_reads_is_a_slow_consumer() {
    let (mut ws, conn, mut client) = session(1024).await;
    let config = SessionConfig { write_timeout: Duration::from_secs(1), ..SessionConfig::default() };
    // Pings keep coming, pongs are never read: the server's pongs fill the pipe and its writes stall.
    let pinger = tokio::spawn(async move {
        let ping = masked_ping(125);
        while client.write_all(&ping).await.is_ok() {}
    });
    let end = timeout(Duration::from_secs(60), run(&mut ws, conn.clone(), &config, &mut Ignore))
        .await
        .expect("a stalled pong ends the session within the write timeout");
    assert_eq!(end.cause, EndCause::Server(CloseCause::SlowConsumer));
    assert_eq!((end.code, end.reason.as_str()), (1008, "Slow consumer"));
    pinger.abort();
}

/// A masked client frame of `opcode` carrying `payload` (at most 125 bytes).
fn masked(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x0a, 0x0b, 0x0c, 0x0d];
    let mut frame = vec![0x80 | opcode, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// Where the test's subscriber writes.
#[derive(Clone, Default)]
struct Logs(Arc<parking_lot::Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Warns;

impl Inbound for Warns {
    async fn on_text(&mut self, _conn: &Arc<Connection>, text: Utf8Bytes) {
        tracing::warn!(%text, "handled");
    }
}

#[tokio::test]
async fn what_a_client_message_logs_carries_its_connection() {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt().with_ansi(false).with_writer(move || writer.clone()).finish();
    let _default = tracing::subscriber::set_default(subscriber);
    let (mut ws, conn, mut client) = session(4096).await;
    let id = conn.id();
    let config = SessionConfig::default();
    let mut inbound = Warns;
    let run = run(&mut ws, conn, &config, &mut inbound);
    tokio::pin!(run);
    client.write_all(&masked(0x1, b"hello")).await.unwrap();
    assert!(timeout(Duration::from_millis(200), &mut run).await.is_err(), "the session goes on");
    client.write_all(&masked(0x8, &1000u16.to_be_bytes())).await.unwrap();
    let end = timeout(Duration::from_secs(5), run).await.expect("the client's close ends the session");
    assert_eq!(end.cause, EndCause::Client);
    let text = String::from_utf8(logs.0.lock().clone()).unwrap();
    let line = text.lines().find(|l| l.contains("handled")).unwrap_or_else(|| panic!("no event: {text}"));
    for field in [
        format!("connection_id={id}"),
        "kind=\"api\"".to_owned(),
        "api=\"api\"".to_owned(),
        "stage=\"prod\"".to_owned(),
        "text=hello".to_owned(),
    ] {
        assert!(line.contains(&field), "{field} missing from {line}");
    }
}

#[tokio::test]
async fn pongs_and_messages_never_land_in_each_other_however_the_writes_are_cut() {
    use bytes::Bytes;

    // A pipe smaller than most messages: the server's writes stop part-way, and so may its pongs.
    let (ws, conn, raw) = session(4096).await;
    let mut client = WebSocketStream::from_raw_socket(raw, Role::Client, None).await;
    let config = SessionConfig { max_outbound_frame: 5000, ..SessionConfig::default() };
    let server = spawn_session(ws, &conn, config);
    let (mut pings, mut pongs) = (0, 0);
    for i in 0..120usize {
        let text: String = std::iter::repeat_n(char::from(b'a' + (i % 26) as u8), (i * 997) % 9000 + 1).collect();
        conn.send(Outbound::from(text.clone())).unwrap();
        if i % 2 == 0 {
            client.send(Message::Ping(Bytes::from(i.to_string()))).await.unwrap();
            pings += 1;
        }
        loop {
            match timeout(Duration::from_secs(5), client.next()).await.expect("the client hears within 5 s") {
                Some(Ok(Message::Text(got))) => {
                    assert_eq!(got.as_str(), text, "message {i} whole and in order");
                    break;
                }
                Some(Ok(Message::Pong(_))) => pongs += 1,
                other => panic!("message {i}: {other:?}"),
            }
        }
    }
    while pongs < pings {
        match timeout(Duration::from_secs(5), client.next()).await.expect("every ping is answered") {
            Some(Ok(Message::Pong(_))) => pongs += 1,
            other => panic!("{other:?}"),
        }
    }
    client.close(None).await.unwrap();
    let end = timeout(Duration::from_secs(5), server).await.unwrap().unwrap();
    assert_eq!(end.cause, EndCause::Client);
}

/// Says a last message when the session reaches its maximum duration, and closes with a code of its own.
struct LastWords;

impl Inbound for LastWords {
    async fn on_text(&mut self, _conn: &Arc<Connection>, _text: Utf8Bytes) {}

    fn on_max_duration(&mut self, conn: &Arc<Connection>) -> CloseRequest {
        conn.send(Outbound::from("last words")).unwrap();
        CloseRequest::new(1000, "Expired", CloseCause::MaxDuration)
    }
}

#[tokio::test(start_paused = true)]
async fn the_maximum_duration_closes_after_the_last_words_and_activity_does_not_put_it_off() {
    for last_words in [false, true] {
        let (mut ws, conn, raw) = session(4096).await;
        let mut client = WebSocketStream::from_raw_socket(raw, Role::Client, None).await;
        let config = SessionConfig {
            idle_timeout: Duration::from_secs(10),
            max_duration: Duration::from_secs(30),
            ..SessionConfig::default()
        };
        let started = Instant::now();
        let server = tokio::spawn({
            let conn = conn.clone();
            async move {
                match last_words {
                    true => run(&mut ws, conn, &config, &mut LastWords).await,
                    false => run(&mut ws, conn, &config, &mut Ignore).await,
                }
            }
        });
        // A message every 5 s keeps the idle timeout away, not the maximum duration.
        let mut heard = Vec::new();
        let close = loop {
            tokio::select! {
                message = client.next() => match message {
                    Some(Ok(Message::Text(text))) => heard.push(text.to_string()),
                    Some(Ok(Message::Close(frame))) => break frame.map(|f| (u16::from(f.code), f.reason.to_string())),
                    other => panic!("{other:?}"),
                },
                _ = tokio::time::sleep(Duration::from_secs(5)) => client.send(Message::text("hi")).await.unwrap(),
            }
        };
        let lived = started.elapsed();
        assert!(lived >= Duration::from_secs(30) && lived < Duration::from_secs(31), "closed after {lived:?}");
        let end = timeout(Duration::from_secs(5), server).await.unwrap().unwrap();
        assert_eq!(end.cause, EndCause::Server(CloseCause::MaxDuration));
        match last_words {
            true => {
                assert_eq!(heard, ["last words"]);
                assert_eq!(close, Some((1000, "Expired".to_owned())));
            }
            false => {
                assert!(heard.is_empty(), "{heard:?}");
                assert_eq!(close, Some((1001, "Going away".to_owned())));
            }
        }
    }
}

/// A socket that counts how often it is read.
struct CountedReads<S> {
    inner: S,
    reads: Arc<std::sync::atomic::AtomicUsize>,
}

impl<S: AsyncRead + Unpin> AsyncRead for CountedReads<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for CountedReads<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[tokio::test]
async fn a_turn_for_a_delivery_does_not_read_the_socket_and_the_client_is_still_heard() {
    let (server, raw) = tokio::io::duplex(4096);
    let reads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let socket = CountedReads { inner: server, reads: reads.clone() };
    let mut ws = WebSocketStream::from_raw_socket(socket, Role::Server, None).await;
    let (_, conn, _) = session(64).await;
    let mut client = WebSocketStream::from_raw_socket(raw, Role::Client, None).await;
    let server = tokio::spawn({
        let conn = conn.clone();
        async move { run(&mut ws, conn, &SessionConfig::default(), &mut Ignore).await }
    });
    let hear = async |client: &mut WebSocketStream<DuplexStream>| {
        timeout(Duration::from_secs(5), client.next()).await.expect("the client hears within 5 s")
    };
    // Each message is written before the next is sent: a turn of the session for each.
    for i in 0..200 {
        conn.send(Outbound::from(i.to_string())).unwrap();
        assert!(matches!(hear(&mut client).await, Some(Ok(Message::Text(t))) if t.as_str() == i.to_string()));
    }
    let read = reads.load(std::sync::atomic::Ordering::Relaxed);
    assert!(read <= 4, "the socket was read {read} times for 200 deliveries and no client frame");
    // The client's frames still wake the session, between deliveries and after them.
    client.send(Message::Ping("are you there".into())).await.unwrap();
    assert!(matches!(hear(&mut client).await, Some(Ok(Message::Pong(p))) if p == "are you there"));
    conn.send(Outbound::from("still here")).unwrap();
    assert!(matches!(hear(&mut client).await, Some(Ok(Message::Text(t))) if t == "still here"));
    client.close(None).await.unwrap();
    let end = timeout(Duration::from_secs(5), server).await.unwrap().unwrap();
    assert_eq!(end.cause, EndCause::Client);
}

#[tokio::test(start_paused = true)]
async fn after_turns_for_deliveries_alone_the_idle_timeout_still_closes() {
    let (ws, conn, raw) = session(4096).await;
    let mut client = WebSocketStream::from_raw_socket(raw, Role::Client, None).await;
    let config = SessionConfig { idle_timeout: Duration::from_secs(10), ..SessionConfig::default() };
    let server = spawn_session(ws, &conn, config);
    // A delivery every 3 s for a minute puts the idle timeout off; the timer fires early and is set again meanwhile.
    for i in 0..20 {
        tokio::time::sleep(Duration::from_secs(3)).await;
        conn.send(Outbound::from(i.to_string())).unwrap();
        assert!(matches!(client.next().await, Some(Ok(Message::Text(_)))));
    }
    closes_for_idleness(client, server).await;
}

/// Runs `conn`'s session over `ws` in a task of its own, ignoring what the client says.
pub(crate) fn spawn_session<S>(
    mut ws: WebSocketStream<S>,
    conn: &Arc<Connection>,
    config: SessionConfig,
) -> tokio::task::JoinHandle<SessionEnd>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let conn = conn.clone();
    tokio::spawn(async move { run(&mut ws, conn, &config, &mut Ignore).await })
}

/// The client hears the idle timeout's close 10 s (of a paused clock) after the last message it heard, and the session
/// ends for it.
pub(crate) async fn closes_for_idleness<S>(mut client: WebSocketStream<S>, server: tokio::task::JoinHandle<SessionEnd>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let last = Instant::now();
    let close = timeout(Duration::from_secs(60), client.next()).await.expect("the idle timeout closes");
    assert!(matches!(&close, Some(Ok(Message::Close(Some(f)))) if u16::from(f.code) == 1001), "{close:?}");
    let idle = last.elapsed();
    assert!(idle >= Duration::from_secs(10) && idle < Duration::from_secs(11), "closed after {idle:?} idle");
    drop(client);
    let end = timeout(Duration::from_secs(5), server).await.unwrap().unwrap();
    assert_eq!(end.cause, EndCause::Server(CloseCause::IdleTimeout));
}
