//! Test harness: an in-process server, a recording Lambda-style backend, clients.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use server::Server;
use server::config::{Config, FileConfig, ServeArgs};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const AKID: &str = "AKIDSWITCHBOARDTEST1";
pub const SECRET: &str = "switchboard/test/secret/key/0123456789ab";
pub const REGION: &str = "us-east-1";

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A server on an ephemeral loopback port with its own data directory and a known key pair.
pub struct TestServer {
    server: Option<Server>,
    pub addr: SocketAddr,
    dir: Arc<tempfile::TempDir>,
}

impl TestServer {
    pub async fn start(file_toml: &str, tweak: impl FnOnce(&mut ServeArgs)) -> TestServer {
        TestServer::start_in(Arc::new(tempfile::tempdir().unwrap()), file_toml, tweak).await
    }

    /// A server on the data directory of an earlier one (a restart).
    pub async fn start_in(
        dir: Arc<tempfile::TempDir>,
        file_toml: &str,
        tweak: impl FnOnce(&mut ServeArgs),
    ) -> TestServer {
        let mut args = ServeArgs {
            listen: Some("127.0.0.1:0".parse().unwrap()),
            data_dir: Some(dir.path().to_owned()),
            access_key_id: Some(AKID.to_owned()),
            secret_access_key: Some(SECRET.to_owned()),
            ..ServeArgs::default()
        };
        tweak(&mut args);
        let file: FileConfig = toml::from_str(file_toml).unwrap();
        let config = Config::merge(args, file).unwrap();
        let server = Server::start(config).await.unwrap();
        let addr = server.local_addr();
        TestServer { server: Some(server), addr, dir }
    }

    /// The data directory, to restart a server on it.
    pub fn data_dir(&self) -> Arc<tempfile::TempDir> {
        self.dir.clone()
    }

    /// A server whose default API routes `$connect`, `$disconnect` and `$default` to `backend`.
    pub async fn with_backend(backend: &Backend) -> TestServer {
        let url = backend.url();
        TestServer::start("", |a| {
            a.routes = vec![format!("$connect={url}"), format!("$disconnect={url}"), format!("$default={url}")];
        })
        .await
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn connect(&self, path: &str) -> Ws {
        self.try_connect(path, &[]).await.unwrap()
    }

    pub async fn try_connect(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
        let mut request = format!("ws://{}{path}", self.addr).into_client_request().unwrap();
        for (name, value) in headers {
            request.headers_mut().insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                http::HeaderValue::from_str(value).unwrap(),
            );
        }
        tokio_tungstenite::connect_async(request).await.map(|(ws, _)| ws)
    }

    /// The official SDK client, pointed at `/{stage}`.
    pub fn sdk(&self, stage: &str) -> aws_sdk_apigatewaymanagement::Client {
        let creds = aws_credential_types::Credentials::new(AKID, SECRET, None, None, "test");
        let config = aws_sdk_apigatewaymanagement::Config::builder()
            .behavior_version(aws_sdk_apigatewaymanagement::config::BehaviorVersion::latest())
            .region(aws_sdk_apigatewaymanagement::config::Region::new(REGION))
            .credentials_provider(creds)
            .endpoint_url(self.url(&format!("/{stage}")))
            .build();
        aws_sdk_apigatewaymanagement::Client::from_conf(config)
    }

    /// The official IVS Chat SDK client, pointed at the server.
    pub fn chat_sdk(&self) -> aws_sdk_ivschat::Client {
        let creds = aws_credential_types::Credentials::new(AKID, SECRET, None, None, "test");
        let config = aws_sdk_ivschat::Config::builder()
            .behavior_version(aws_sdk_ivschat::config::BehaviorVersion::latest())
            .region(aws_sdk_ivschat::config::Region::new(REGION))
            .credentials_provider(creds)
            .endpoint_url(self.url(""))
            .build();
        aws_sdk_ivschat::Client::from_conf(config)
    }

    pub async fn shutdown(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }
}

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
        tokio::time::timeout(Duration::from_secs(5), self.events.recv())
            .await
            .expect("backend received no event within 5 s")
            .expect("backend stopped")
    }

    /// Method, URI and headers of the next request received, within 5 seconds.
    pub async fn next_request(&mut self) -> http::request::Parts {
        tokio::time::timeout(Duration::from_secs(5), self.requests.recv())
            .await
            .expect("backend received no request within 5 s")
            .expect("backend stopped")
    }

    /// The next event of the given type (`CONNECT`, `MESSAGE`, `DISCONNECT`), skipping others.
    pub async fn next_of(&mut self, event_type: &str) -> Value {
        loop {
            let event = self.next().await;
            if event["requestContext"]["eventType"] == event_type {
                return event;
            }
        }
    }

    /// Asserts nothing more arrives within `wait`.
    pub async fn assert_quiet(&mut self, wait: Duration) {
        if let Ok(Some(event)) = tokio::time::timeout(wait, self.events.recv()).await {
            panic!("unexpected event: {event}");
        }
    }
}

/// The next data message a client receives, within 5 seconds.
pub async fn recv_text(ws: &mut Ws) -> String {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("no message within 5 s")
            .expect("stream ended")
            .expect("websocket error");
        match message {
            Message::Text(text) => return text.to_string(),
            Message::Binary(b) => return String::from_utf8_lossy(&b).into_owned(),
            Message::Close(frame) => panic!("closed: {frame:?}"),
            _ => {}
        }
    }
}

/// Waits for the server's close frame and returns its code and reason.
pub async fn recv_close(ws: &mut Ws) -> (u16, String) {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("no close within 10 s");
        match message {
            Some(Ok(Message::Close(Some(frame)))) => {
                return (u16::from(frame.code), frame.reason.to_string());
            }
            Some(Ok(Message::Close(None))) => return (1005, String::new()),
            Some(Ok(_)) => {}
            Some(Err(err)) => panic!("websocket error before close: {err}"),
            None => panic!("stream ended without a close frame"),
        }
    }
}

pub async fn send_text(ws: &mut Ws, text: &str) {
    ws.send(Message::text(text)).await.unwrap();
}

/// A raw HTTP request signed with the test key (or not), for error cases the SDK cannot produce.
pub struct Raw {
    pub method: &'static str,
    pub path: String,
    pub body: Vec<u8>,
    pub service: &'static str,
    pub secret: &'static str,
    pub sign: bool,
    pub time: time::OffsetDateTime,
    /// Sent instead of `body` after signing `body`.
    pub send_body: Option<Vec<u8>>,
}

impl Raw {
    pub fn new(method: &'static str, path: impl Into<String>) -> Raw {
        Raw {
            method,
            path: path.into(),
            body: Vec::new(),
            service: "execute-api",
            secret: SECRET,
            sign: true,
            time: time::OffsetDateTime::now_utc(),
            send_body: None,
        }
    }

    pub async fn send(self, server: &TestServer) -> reqwest::Response {
        let host = server.addr.to_string();
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::HOST, host.parse().unwrap());
        if self.sign {
            let (path, query) = match self.path.split_once('?') {
                Some((path, query)) => (path, Some(query)),
                None => (self.path.as_str(), None),
            };
            let request = sigv4::SignedRequest::new(self.method, path, query, &headers, &self.body);
            let params = sigv4::SigningParams {
                access_key_id: AKID,
                secret_access_key: self.secret,
                session_token: None,
                region: REGION,
                service: self.service,
                time: self.time,
            };
            let signature = sigv4::sign(&request, &params);
            headers.insert("x-amz-date", signature.amz_date.parse().unwrap());
            headers.insert(http::header::AUTHORIZATION, signature.authorization.parse().unwrap());
        }
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let method = http::Method::from_bytes(self.method.as_bytes()).unwrap();
        client
            .request(method, server.url(&self.path))
            .headers(headers)
            .body(self.send_body.unwrap_or(self.body))
            .send()
            .await
            .unwrap()
    }
}

/// Status, `x-amzn-ErrorType` and body of a response.
pub async fn parts(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    assert!(response.headers().contains_key("x-amzn-requestid"), "every response carries x-amzn-RequestId");
    let error_type =
        response.headers().get("x-amzn-errortype").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, error_type, response.text().await.unwrap())
}

/// PostToConnection through the official SDK.
pub async fn post(
    sdk: &aws_sdk_apigatewaymanagement::Client,
    connection_id: &str,
    data: impl Into<Vec<u8>>,
) -> Result<
    (),
    aws_sdk_apigatewaymanagement::error::SdkError<
        aws_sdk_apigatewaymanagement::operation::post_to_connection::PostToConnectionError,
    >,
> {
    let data = aws_sdk_apigatewaymanagement::primitives::Blob::new(data);
    sdk.post_to_connection().connection_id(connection_id).data(data).send().await.map(|_| ())
}
