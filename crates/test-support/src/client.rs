//! Real clients: WebSocket frames with deadlines, raw SigV4-signed HTTP requests (for what the SDK cannot send) and
//! PostToConnection through the official SDK.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use crate::{AKID, REGION, SECRET, TestServer, Ws};

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
    /// Sent without being signed (as SDKs send `amz-sdk-invocation-id`).
    pub unsigned_headers: Vec<(&'static str, String)>,
    /// The `Host` signed and sent instead of the server's address (`{apiId}.execute-api.…`).
    pub host: Option<String>,
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
            unsigned_headers: Vec::new(),
            host: None,
        }
    }

    pub async fn send(self, server: &TestServer) -> reqwest::Response {
        let host = self.host.clone().unwrap_or_else(|| server.addr.to_string());
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
        for (name, value) in &self.unsigned_headers {
            headers.insert(*name, value.parse().unwrap());
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

/// The head of an HTTP/1.1 `POST {path}` to `server`, signed for `execute-api` with `akid` (and the test secret) at
/// `time` over an empty body, declaring `len` body bytes, with `extra` header lines: for tests that send the body
/// (or not) themselves; the checks made before a body is read never look at it.
pub fn signed_head(
    server: &TestServer,
    path: &str,
    len: usize,
    extra: &str,
    (akid, time): (&str, time::OffsetDateTime),
) -> String {
    let host = server.addr.to_string();
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::HOST, host.parse().unwrap());
    let request = sigv4::SignedRequest::new("POST", path, None, &headers, b"");
    let params = sigv4::SigningParams {
        access_key_id: akid,
        secret_access_key: SECRET,
        session_token: None,
        region: REGION,
        service: "execute-api",
        time,
    };
    let signature = sigv4::sign(&request, &params);
    format!(
        "POST {path} HTTP/1.1\r\nhost: {host}\r\nx-amz-date: {}\r\nauthorization: {}\r\ncontent-length: {len}\r\n\
         {extra}\r\n",
        signature.amz_date, signature.authorization
    )
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
