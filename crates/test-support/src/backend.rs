//! A recording backend: a Lambda-style function over HTTP on an ephemeral loopback port that answers as told and
//! records every event and request it receives.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// How long the waits that take no deadline wait.
const WAIT: Duration = Duration::from_secs(5);

/// What the backend answers.
pub enum Reply {
    Json(Value),
    Status(u16),
    Delay(Duration, Value),
}

type Responder = Arc<dyn Fn(&Value) -> Reply + Send + Sync>;

/// A Lambda-style function over HTTP that records every event it receives.
pub struct Backend {
    addr: SocketAddr,
    events: mpsc::UnboundedReceiver<Value>,
    requests: mpsc::UnboundedReceiver<http::request::Parts>,
}

impl Backend {
    /// Answers `{"statusCode": 200}` to everything.
    pub async fn ok() -> Backend {
        Backend::start(|_| Reply::Json(json!({ "statusCode": 200 }))).await
    }

    pub async fn start(responder: impl Fn(&Value) -> Reply + Send + Sync + 'static) -> Backend {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, events) = mpsc::unbounded_channel();
        let (parts_tx, requests) = mpsc::unbounded_channel();
        let responder: Responder = Arc::new(responder);
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let tx = tx.clone();
                let parts_tx = parts_tx.clone();
                let responder = responder.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let tx = tx.clone();
                        let parts_tx = parts_tx.clone();
                        let responder = responder.clone();
                        async move {
                            let (parts, body) = req.into_parts();
                            let _ = parts_tx.send(parts);
                            let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                            let event: Value = serde_json::from_slice(&body)
                                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
                            let reply = responder(&event);
                            let _ = tx.send(event);
                            let (status, body) = match reply {
                                Reply::Json(v) => (200, v.to_string()),
                                Reply::Status(s) => (s, String::new()),
                                Reply::Delay(d, v) => {
                                    tokio::time::sleep(d).await;
                                    (200, v.to_string())
                                }
                            };
                            let mut response = http::Response::new(Full::new(Bytes::from(body)));
                            *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
                            Ok::<_, Infallible>(response)
                        }
                    });
                    let _ =
                        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tcp), service).await;
                });
            }
        });
        Backend { addr, events, requests }
    }

    pub fn url(&self) -> String {
        format!("http://{}/fn", self.addr)
    }

    /// The next event received, within 5 seconds.
    pub async fn next(&mut self) -> Value {
        self.next_before(Instant::now() + WAIT).await.expect("backend received no event within 5 s")
    }

    /// The next event received before `deadline`, or `None`: for waits a caller bounds itself, longer than 5 s.
    pub async fn next_before(&mut self, deadline: Instant) -> Option<Value> {
        let event = tokio::time::timeout_at(deadline, self.events.recv()).await.ok()?;
        Some(event.expect("backend stopped"))
    }

    /// Method, URI and headers of the next request received, within 5 seconds.
    pub async fn next_request(&mut self) -> http::request::Parts {
        self.next_request_before(Instant::now() + WAIT).await.expect("backend received no request within 5 s")
    }

    /// Method, URI and headers of the next request received before `deadline`, or `None`.
    pub async fn next_request_before(&mut self, deadline: Instant) -> Option<http::request::Parts> {
        let parts = tokio::time::timeout_at(deadline, self.requests.recv()).await.ok()?;
        Some(parts.expect("backend stopped"))
    }

    /// The next event of the given type (`CONNECT`, `MESSAGE`, `DISCONNECT`), skipping others, within 5 seconds of
    /// the last event received.
    pub async fn next_of(&mut self, event_type: &str) -> Value {
        loop {
            let event = self.next().await;
            if event["requestContext"]["eventType"] == event_type {
                return event;
            }
        }
    }

    /// The next event of the given type received before `deadline`, skipping others, or `None`.
    pub async fn next_of_before(&mut self, event_type: &str, deadline: Instant) -> Option<Value> {
        loop {
            let event = self.next_before(deadline).await?;
            if event["requestContext"]["eventType"] == event_type {
                return Some(event);
            }
        }
    }

    /// Asserts nothing more arrives within `wait` while the backend is still listening.
    pub async fn assert_quiet(&mut self, wait: Duration) {
        match tokio::time::timeout(wait, self.events.recv()).await {
            Err(_) => {}
            Ok(Some(event)) => panic!("unexpected event: {event}"),
            Ok(None) => panic!("the backend stopped, so its silence proves nothing"),
        }
    }
}
