//! The HTTP front door: one handler that sends every request on the listener where [`front::classify`] says — the
//! reserved `/@switchboard/` paths, the management API, a WebSocket socket or a SigV4 service's API — and renders
//! AWS-shaped errors.

mod admin;
mod api_socket;
mod apigatewayv2;
mod auth;
mod chat_socket;
mod console;
mod control;
mod deployed;
mod extension;
mod front;
mod lambda;
mod management;
mod runtime_api;
mod socket;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use tracing::{Instrument, Span, field};
use wire::ApiError;

pub(crate) use self::admin::accept as accept_admin;
use self::api_socket::ApiSocket;
use self::chat_socket::ChatSocket;
pub(crate) use self::console::keep_history as keep_console_history;
pub(crate) use self::console::signin::{BURST as CONSOLE_SIGNIN_BURST, PER_SECOND as CONSOLE_SIGNINS_PER_SECOND};
pub(crate) use self::deployed::DeployedStages;
use self::front::{Front, Service};
pub(crate) use self::runtime_api::RuntimeApiListeners;
use crate::state::AppState;

pub(crate) type Body = Full<Bytes>;

/// Reserved path prefix: stage names cannot contain `@`, so nothing here clashes with a stage.
pub(crate) const RESERVED_PREFIX: &str = "/@switchboard/";

/// Handles one request in its [`request_span`]; every response carries `x-amzn-RequestId`.
pub(crate) async fn handle(
    state: Arc<AppState>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let request_id = ids::uuid_v4();
    let span = request_span(&request_id, &req);
    let mut response = dispatch(&state, peer, req, &request_id).instrument(span).await;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-amzn-RequestId", value);
    }
    Ok(response)
}

async fn dispatch(state: &Arc<AppState>, peer: SocketAddr, req: Request<Incoming>, request_id: &str) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let front = front::classify(&parts);
    Span::current().record("destination", front.name());
    match front {
        Front::Reserved(rest) => reserved(state, rest),
        Front::Extension(path) => extension::handle(state, peer.ip(), &parts, body, &path).await,
        Front::Management(target) => management::handle(state, peer.ip(), &parts, body, &target).await,
        Front::ChatSocket => {
            let req = Request::from_parts(parts, body);
            socket::accept_websocket::<ChatSocket>(state, peer, req, request_id).await
        }
        Front::ApiSocket | Front::ApiEndpointSocket { .. } => {
            let req = Request::from_parts(parts, body);
            socket::accept_websocket::<ApiSocket>(state, peer, req, request_id).await
        }
        Front::Service(Service::IvsChat) => control::handle(state, peer.ip(), &parts, body).await,
        Front::Service(Service::ApiGateway) => apigatewayv2::handle(state, peer.ip(), &parts, body).await,
        Front::Service(Service::Lambda) => lambda::handle(state, peer.ip(), &parts, body).await,
        Front::Forbidden => error_response(&ApiError::forbidden()),
    }
}

/// The span of one request: every event while it is handled carries its `x-amzn-RequestId`, method, path and the
/// destination [`front::classify`] chose; a WebSocket handshake adds the `connection_id` it created.
///
/// Spans are at `ERROR` level so that they are enabled whenever any event is: a filter that keeps only warnings still
/// shows which request or connection a warning is about. The level of a span filters nothing else; it prints nothing.
fn request_span<B>(request_id: &str, req: &Request<B>) -> Span {
    tracing::error_span!(
        "request",
        request_id,
        method = %req.method(),
        path = req.uri().path(),
        destination = field::Empty,
        connection_id = field::Empty,
    )
}

/// The public listener's reserved paths: only the health status, for load balancers; the full health document and
/// the metrics are served by the admin listener ([`admin`]).
fn reserved(state: &AppState, rest: &str) -> Response<Body> {
    match rest {
        "health" => json_response(StatusCode::OK, serde_json::json!({ "status": admin::status(state) }).to_string()),
        _ => error_response(&ApiError::forbidden()),
    }
}

/// How long a client may take to send a request body once its headers arrived.
const BODY_DEADLINE: Duration = Duration::from_secs(30);

/// How many bytes past its limit a body is read and thrown away, so that a client that sends all of it (with or
/// without `Expect: 100-continue`) reads the 413 instead of a reset connection. A body declared longer still is
/// answered without being read, and a longer one is answered once this much was thrown away; both close the connection.
pub(crate) const DISCARD_LIMIT: u64 = 1 << 20;

/// Why a request body could not be read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// Longer than the limit.
    TooLarge,
    /// The connection failed, or the client did not send it all within [`BODY_DEADLINE`].
    Unreadable,
}

/// Reads a request body of at most `limit` bytes; past the limit, reads on (up to [`DISCARD_LIMIT`] more bytes) and
/// throws the rest away before it answers [`BodyError::TooLarge`].
pub(crate) async fn read_body<B>(body: B, limit: usize) -> Result<Bytes, BodyError>
where
    B: hyper::body::Body,
{
    let limit = u64::try_from(limit).unwrap_or(u64::MAX);
    let discard_bound = limit.saturating_add(DISCARD_LIMIT);
    if body.size_hint().lower() > discard_bound {
        return Err(BodyError::TooLarge);
    }
    let read = async {
        let mut body = std::pin::pin!(body);
        let mut kept = BytesMut::new();
        let mut seen: u64 = 0;
        while let Some(frame) = body.frame().await {
            let Ok(data) = frame.map_err(|_| BodyError::Unreadable)?.into_data() else { continue };
            seen = seen.saturating_add(data.remaining() as u64);
            if seen <= limit {
                kept.put(data);
            } else if seen > discard_bound {
                return Err(BodyError::TooLarge);
            }
        }
        if seen > limit { Err(BodyError::TooLarge) } else { Ok(kept.freeze()) }
    };
    tokio::time::timeout(BODY_DEADLINE, read).await.unwrap_or(Err(BodyError::Unreadable))
}

/// Renders an AWS API call's outcome and counts it by operation and status (`switchboard_api_requests`).
fn counted(state: &AppState, operation: &'static str, result: Result<Response<Body>, ApiError>) -> Response<Body> {
    let response = result.unwrap_or_else(|err| error_response(&err));
    let labels = crate::metrics::OperationLabels { operation, status: response.status().as_u16() };
    state.metrics.api_requests.get_or_create(&labels).inc();
    response
}

/// Renders an AWS error: status, `x-amzn-ErrorType` first, JSON body (or none for `GoneException`).
pub(crate) fn error_response(err: &ApiError) -> Response<Body> {
    let body = err.body();
    let has_body = !body.is_empty();
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = err.status();
    let headers = response.headers_mut();
    headers.insert("x-amzn-ErrorType", HeaderValue::from_static(err.code.aws_type()));
    if has_body {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    response
}

pub(crate) fn json_response(status: StatusCode, body: String) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A control plane's success: its status, and its body with the content type it names.
pub(crate) fn reply_response(status: StatusCode, content_type: Option<&'static str>, body: Vec<u8>) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    if let Some(content_type) = content_type {
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    response
}

pub(crate) fn empty_response(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::default());
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::convert::Infallible;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use bytes::Bytes;

    use super::{Body, BodyError, DISCARD_LIMIT, read_body};

    /// A body whose client never sends a byte.
    struct Silent;

    impl hyper::body::Body for Silent {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
            Poll::Pending
        }
    }

    /// A body sent in chunks, each taken when it is read.
    struct Chunks(VecDeque<Bytes>);

    impl hyper::body::Body for Chunks {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
            Poll::Ready(self.0.pop_front().map(|chunk| Ok(hyper::body::Frame::data(chunk))))
        }
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_read_to_its_end_within_the_discard_bound() {
        let mut body = Chunks((0..8).map(|_| Bytes::from_static(b"1234")).collect());
        assert_eq!(read_body(&mut body, 6).await, Err(BodyError::TooLarge));
        assert!(body.0.is_empty(), "read and thrown away, so that the client reads the answer");

        let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
        let chunks = usize::try_from(DISCARD_LIMIT).unwrap() / chunk.len() + 4;
        let mut body = Chunks((0..chunks).map(|_| chunk.clone()).collect());
        assert_eq!(read_body(&mut body, 10).await, Err(BodyError::TooLarge));
        assert!(!body.0.is_empty(), "not read past the discard bound");

        let mut declared = Body::from(vec![b'x'; usize::try_from(DISCARD_LIMIT).unwrap() + 11]);
        assert_eq!(read_body(&mut declared, 10).await, Err(BodyError::TooLarge));
        assert!(!hyper::body::Body::is_end_stream(&declared), "a body declared too long is not read");
    }

    #[tokio::test(start_paused = true)]
    async fn bodies_are_read_within_their_limit_and_deadline() {
        assert_eq!(read_body(Body::from("12345"), 5).await, Ok(Bytes::from_static(b"12345")));
        assert_eq!(read_body(Body::from("123456"), 5).await, Err(BodyError::TooLarge));
        assert_eq!(read_body(Silent, 5).await, Err(BodyError::Unreadable));
    }
}
