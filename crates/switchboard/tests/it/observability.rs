//! What operators see: every log event names the request or connection it happened in (through tracing spans), and
//! metrics have no label a client chooses.

use std::cell::RefCell;
use std::io::Write;
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use futures_util::SinkExt;
use parking_lot::Mutex;
use serde_json::{Map, Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{Layer, filter};

use crate::harness::*;

thread_local! {
    /// Where this thread's events go while a test captures them.
    static CAPTURING: RefCell<Option<Captured>> = const { RefCell::new(None) };
}

/// Events of one test's thread, as JSON lines, each with the fields of the spans it happened in.
///
/// One global subscriber serves the whole test binary and keeps only the events of threads that capture: a
/// thread-scoped subscriber would race with the other tests' threads over tracing's per-callsite cache. A test's
/// runtime runs every task on its own thread, the server's included.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

/// Stops capturing this thread's events when dropped.
struct Capturing;

impl Drop for Capturing {
    fn drop(&mut self) {
        CAPTURING.with(|c| c.borrow_mut().take());
    }
}

/// Writes to the buffer of the thread that emits the event.
struct ThisThread;

impl Write for ThisThread {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURING.with(|c| {
            if let Some(captured) = &*c.borrow() {
                captured.0.lock().extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Captures this thread's events down to `debug` until the guard is dropped.
    fn start() -> (Captured, Capturing) {
        static GLOBAL: Once = Once::new();
        GLOBAL.call_once(|| {
            // Dynamic: whether a thread captures is decided at each event, never cached for a callsite.
            let only_capturing = filter::dynamic_filter_fn(|_, _| CAPTURING.with(|c| c.borrow().is_some()))
                .with_max_level_hint(filter::LevelFilter::DEBUG);
            let layer = tracing_subscriber::fmt::layer().json().with_writer(|| ThisThread).with_filter(only_capturing);
            tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer)).unwrap();
        });
        let captured = Captured::default();
        CAPTURING.with(|c| *c.borrow_mut() = Some(captured.clone()));
        (captured, Capturing)
    }

    /// The events with this message so far.
    fn events(&self, message: &str) -> Vec<Value> {
        let text = String::from_utf8(self.0.lock().clone()).unwrap();
        text.lines()
            .map(|line| serde_json::from_str::<Value>(line).unwrap())
            .filter(|event| event["fields"]["message"] == message)
            .collect()
    }

    /// The one event with this message, waiting up to 10 s for it: its spans' fields (outermost first) and then its
    /// own, in one map.
    async fn event(&self, message: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.events(message).is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let events = self.events(message);
        assert_eq!(events.len(), 1, "{message:?} in {}", String::from_utf8_lossy(&self.0.lock()));
        let mut fields = Map::new();
        for span in events[0]["spans"].as_array().into_iter().flatten() {
            fields.extend(span.as_object().unwrap().clone());
        }
        fields.extend(events[0]["fields"].as_object().unwrap().clone());
        Value::Object(fields)
    }
}

#[tokio::test]
async fn events_carry_the_fields_of_their_request_and_connection() {
    let (captured, _capturing) = Captured::start();

    let mut backend = Backend::start(|event| match event["queryStringParameters"]["mode"].as_str() {
        Some("crash") => Reply::Status(500),
        _ => Reply::Json(json!({ "statusCode": 200 })),
    })
    .await;
    let server = TestServer::with_backend(&backend).await;

    // A warning inside a handshake's request: its request id, method, path, destination and new connection.
    let Err(tokio_tungstenite::tungstenite::Error::Http(refused)) = server.try_connect("/prod?mode=crash", &[]).await
    else {
        panic!("the handshake was not refused");
    };
    assert_eq!(refused.status(), 502);
    let request_id = refused.headers()["x-amzn-RequestId"].to_str().unwrap();
    backend.next_of("CONNECT").await;
    let failed = captured.event("The $connect integration failed.").await;
    assert_eq!(failed["request_id"], request_id, "{failed:?}");
    assert_eq!(failed["method"], "GET", "{failed:?}");
    assert_eq!(failed["path"], "/prod", "{failed:?}");
    assert_eq!(failed["destination"], "api_socket", "{failed:?}");
    assert!(failed["connection_id"].as_str().is_some_and(|id| !id.is_empty()), "{failed:?}");

    // An event of a session: its connection, API and stage, and nothing of the handshake's request.
    let mut ws = server.connect("/prod").await;
    let connection_id = backend.next_of("CONNECT").await["requestContext"]["connectionId"].clone();
    ws.send(Message::Close(Some(CloseFrame { code: 4321.into(), reason: "bye".into() }))).await.unwrap();
    backend.next_of("DISCONNECT").await;
    let closed = captured.event("Connection closed.").await;
    assert_eq!(closed["connection_id"], connection_id, "{closed:?}");
    assert_eq!(closed["api"], "switchboard", "{closed:?}");
    assert_eq!(closed["stage"], "prod", "{closed:?}");
    assert_eq!(closed["kind"], "api", "{closed:?}");
    assert_eq!(closed["code"], 4321, "{closed:?}");
    assert!(closed.get("request_id").is_none(), "{closed:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn chat_session_events_carry_room_and_user() {
    let (captured, _capturing) = Captured::start();
    let server = TestServer::start("", |_| {}).await;
    let sdk = server.chat_sdk();
    let arn = sdk.create_room().send().await.unwrap().arn().unwrap().to_owned();
    let token = sdk.create_chat_token().room_identifier(&arn).user_id("alice").send().await.unwrap();
    let mut request = format!("ws://{}/", server.addr).into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", token.token().unwrap().parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    ws.send(Message::Close(None)).await.unwrap();
    let closed = captured.event("Connection closed.").await;
    let room = closed["room"].as_str().unwrap_or_default();
    assert!(!room.is_empty() && arn.ends_with(&format!("/{room}")), "{arn} {closed:?}");
    assert_eq!(closed["user"], "alice", "{closed:?}");
    assert_eq!(closed["kind"], "chat", "{closed:?}");
    assert!(closed["connection_id"].as_str().is_some_and(|id| !id.is_empty()), "{closed:?}");
    assert!(closed.get("api").is_none() && closed.get("stage").is_none(), "{closed:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_client_close_code_creates_no_metrics_series() {
    let mut backend = Backend::ok().await;
    let server = TestServer::with_backend(&backend).await;
    let mut ws = server.connect("/prod").await;
    backend.next_of("CONNECT").await;
    ws.send(Message::Close(Some(CloseFrame { code: 4321.into(), reason: "bye".into() }))).await.unwrap();
    backend.next_of("DISCONNECT").await;
    let metrics = server.metrics().await;
    assert!(metrics.contains(r#"switchboard_connections_closed_total{cause="client"} 1"#), "{metrics}");
    assert!(!metrics.contains("4321"), "a client-chosen close code became a series: {metrics}");
    server.shutdown().await;
}
