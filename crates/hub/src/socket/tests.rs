//! Senders writing to a session's socket themselves, over loopback TCP with buffers as small as the kernel allows:
//! whole frames in order whoever writes them, a frame a sender began finished before anything else (the session's
//! batches, its pongs, its close frame), and senders' writes counted as activity.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use time::OffsetDateTime;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;

use super::TcpSocket;
use crate::session::tests::{closes_for_idleness, spawn_session};
use crate::session::{EndCause, SessionConfig};
use crate::{CloseCause, CloseRequest, Connection, ConnectionInfo, Hub, HubConfig, Outbound, Scope, Spread};

/// A session's WebSocket over loopback TCP, its socket shared with its connection as the server shares it, and the
/// client's WebSocket. The server's send buffer and the client's receive buffer are as small as the kernel allows,
/// so that a few kilobytes fill them and senders find no room.
async fn tcp_session(
    config: &SessionConfig,
) -> (WebSocketStream<TcpSocket>, Arc<Connection>, WebSocketStream<TcpStream>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = tokio::net::TcpSocket::new_v4().unwrap();
    client.set_recv_buffer_size(1).unwrap();
    let client = client.connect(listener.local_addr().unwrap()).await.unwrap();
    let (server, _) = listener.accept().await.unwrap();
    socket2::SockRef::from(&server).set_send_buffer_size(1).unwrap();
    let socket = TcpSocket::new(server, config);
    let conn = Hub::new(HubConfig::default()).new_connection(ConnectionInfo {
        scope: Scope::Api { api_id: "api".into(), stage: "prod".into() },
        connected_at: OffsetDateTime::now_utc(),
        source_ip: "127.0.0.1".to_owned(),
        user_agent: None,
    });
    conn.share_socket(socket.shared());
    let ws = WebSocketStream::from_raw_socket(socket, Role::Server, None).await;
    (ws, conn, WebSocketStream::from_raw_socket(client, Role::Client, None).await)
}

/// The `i`th message of a test: its own length and filling, so that a frame cut or misplaced shows.
fn message(i: usize) -> String {
    std::iter::repeat_n(char::from(b'a' + (i % 26) as u8), (i * 37) % 480 + 1).collect()
}

async fn hear(client: &mut WebSocketStream<TcpStream>) -> Message {
    timeout(Duration::from_secs(5), client.next()).await.expect("the client hears within 5 s").unwrap().unwrap()
}

/// A session as [`tcp_session`] makes it, to which senders wrote `whole` messages whole, then part of one more (its
/// first 7 bytes: the header and a little of the payload), with no session running yet.
async fn session_with_a_cut_frame(
    config: &SessionConfig,
    whole: usize,
) -> (WebSocketStream<TcpSocket>, Arc<Connection>, WebSocketStream<TcpStream>) {
    let (ws, conn, client) = tcp_session(config).await;
    for i in 0..whole {
        conn.send(Outbound::from(message(i))).unwrap();
    }
    assert_eq!(conn.outbox_stats().queued_messages, 0, "written by their senders");
    ws.get_ref().shared.cut_writes_at(7);
    conn.send(Outbound::from(message(whole))).unwrap();
    assert_eq!((conn.head_written(), conn.outbox_stats().queued_messages), (7, 1));
    ws.get_ref().shared.cut_writes_at(usize::MAX);
    (ws, conn, client)
}

#[tokio::test]
async fn a_sender_writes_a_small_message_to_an_idle_connection_and_the_session_the_rest() {
    let config = SessionConfig { max_outbound_frame: 100, ..SessionConfig::default() };
    let (ws, conn, mut client) = tcp_session(&config).await;
    // No session runs yet: the sender writes it.
    conn.send(Outbound::from("hello")).unwrap();
    assert_eq!(conn.outbox_stats().queued_messages, 0);
    assert_eq!(hear(&mut client).await, Message::text("hello"));
    // More than one frame, or more than a small frame's bytes: the session's to write.
    conn.send(Outbound::from("x".repeat(150))).unwrap();
    assert_eq!(conn.outbox_stats().queued_messages, 1);
    let server = spawn_session(ws, &conn, config);
    assert_eq!(hear(&mut client).await, Message::text("x".repeat(150)));
    // A ping between senders' writes is answered, and what follows it is whole.
    client.send(Message::Ping("there?".into())).await.unwrap();
    assert_eq!(hear(&mut client).await, Message::Pong("there?".into()));
    conn.send(Outbound::from("after")).unwrap();
    assert_eq!(hear(&mut client).await, Message::text("after"));
    client.close(None).await.unwrap();
    let end = timeout(Duration::from_secs(5), server).await.unwrap().unwrap();
    assert_eq!(end.cause, EndCause::Client);
}

#[tokio::test]
async fn a_frame_a_sender_began_is_finished_before_the_sessions_batches_and_pongs() {
    let config = SessionConfig { max_outbound_frame: 200, ..SessionConfig::default() };
    let sent = 5;
    let (ws, conn, mut client) = session_with_a_cut_frame(&config, sent - 1).await;
    // Queued behind the cut frame: messages of one frame and of several, and a ping for the session to answer.
    for i in sent..sent + 20 {
        conn.send(Outbound::from(message(i))).unwrap();
    }
    client.send(Message::Ping("ping".into())).await.unwrap();
    let server = spawn_session(ws, &conn, config);
    let (mut pongs, mut i, mut next) = (0, 0, sent + 20);
    // Then senders and the session both write, while the client reads.
    while i < sent + 200 {
        if next < sent + 200 {
            conn.send(Outbound::from(message(next))).unwrap();
            next += 1;
        }
        match hear(&mut client).await {
            Message::Text(text) => {
                assert_eq!(text.as_str(), message(i), "message {i} whole and in order");
                i += 1;
            }
            Message::Pong(_) => pongs += 1,
            other => panic!("message {i}: {other:?}"),
        }
        if i % 50 == 0 {
            client.send(Message::Ping("ping".into())).await.unwrap();
        }
    }
    while let Ok(Some(Ok(Message::Pong(_)))) = timeout(Duration::from_millis(200), client.next()).await {
        pongs += 1;
    }
    assert!(pongs >= 1, "the pings were answered");
    client.close(None).await.unwrap();
    let end = timeout(Duration::from_secs(5), server).await.unwrap().unwrap();
    assert_eq!(end.cause, EndCause::Client);
}

#[tokio::test]
async fn a_close_comes_after_the_frame_a_sender_began_and_drops_the_rest() {
    let config = SessionConfig::default();
    let sent = 5;
    let (ws, conn, mut client) = session_with_a_cut_frame(&config, sent - 1).await;
    conn.send(Outbound::from("dropped with the close")).unwrap();
    assert!(conn.close(CloseRequest::deleted()));
    let server = spawn_session(ws, &conn, config);
    for i in 0..sent {
        assert_eq!(hear(&mut client).await, Message::text(message(i)), "message {i} whole and in order");
    }
    match hear(&mut client).await {
        Message::Close(Some(frame)) => assert_eq!(u16::from(frame.code), 1000),
        other => panic!("{other:?}"),
    }
    drop(client);
    let end = timeout(Duration::from_secs(5), server).await.unwrap().unwrap();
    assert_eq!(end.cause, EndCause::Server(CloseCause::Deleted));
}

#[tokio::test(start_paused = true)]
async fn senders_writes_put_off_the_idle_timeout() {
    let config = SessionConfig { idle_timeout: Duration::from_secs(10), ..SessionConfig::default() };
    let (ws, conn, mut client) = tcp_session(&config).await;
    let server = spawn_session(ws, &conn, config);
    // A message every 3 s for a minute, each written by its sender: the session is never woken for them.
    for i in 0..20 {
        tokio::time::sleep(Duration::from_secs(3)).await;
        conn.send(Outbound::from(i.to_string())).unwrap();
        assert_eq!(conn.outbox_stats().queued_messages, 0, "written by the sender");
        assert_eq!(hear(&mut client).await, Message::text(i.to_string()));
    }
    closes_for_idleness(client, server).await;
}

/// How many of ten idle connections a fan-out wrote to itself, on the runtime the test runs on.
async fn written_by_a_fan_out() -> usize {
    let config = SessionConfig::default();
    let mut sessions = Vec::new();
    for _ in 0..10 {
        sessions.push(tcp_session(&config).await);
    }
    let spread = Spread::new();
    for (_, conn, _) in &sessions {
        assert!(spread.deliver(conn, Outbound::from("to all")));
    }
    sessions.iter().filter(|(_, conn, _)| conn.outbox_stats().queued_messages == 0).count()
}

#[tokio::test(flavor = "current_thread")]
async fn a_fan_out_on_one_worker_writes_every_delivery_itself_unless_the_worker_never_rests() {
    assert_eq!(written_by_a_fan_out().await, 10);
    // Fan-outs one after the other, the worker never parked between them: the sessions write.
    let (_ws, conn, _client) = tcp_session(&SessionConfig::default()).await;
    Spread::new();
    assert!(Spread::new().deliver(&conn, Outbound::from("busy")));
    assert_eq!(conn.outbox_stats().queued_messages, 1);
    // Once it rested most of the time since, the fan-out writes again.
    let (_ws, conn, _client) = tcp_session(&SessionConfig::default()).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(Spread::new().deliver(&conn, Outbound::from("idle")));
    assert_eq!(conn.outbox_stats().queued_messages, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fan_out_on_two_workers_leaves_every_delivery_to_the_sessions() {
    assert_eq!(written_by_a_fan_out().await, 0);
}
