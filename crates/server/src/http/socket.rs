//! One path for every WebSocket handshake, [`accept_websocket`]: the steps both kinds of socket share (refusals
//! while shutting down, the URL limit, a version 13 handshake, the caps on live connections, registering the
//! connection, the session task on the tracker, the 101) run here once; a [`SocketKind`] supplies only what differs —
//! its admission and its session.
//!
//! Every refusal of either kind is a [`wire::Refusal`] of the one table of handshake refusals, or an answer
//! someone else gave (a `$connect` integration's own status and body; `ForbiddenException` for an unknown stage).

use std::net::SocketAddr;
use std::sync::Arc;

use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode, header};
use hub::session::{EndCause, SessionEnd};
use hub::{Connection, ConnectionInfo, LeanStream, Scope, TcpSocket};
use hyper::body::Incoming;
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use hyper_util::server::conn::auto::upgrade::downcast;
use time::OffsetDateTime;
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_util::either::Either;
use tracing::{Id, Instrument, Span, field};
use wire::Refusal;

use super::{Body, json_response};
use crate::gate::{Full, Pass};
use crate::metrics::{CauseLabels, StatusLabels};
use crate::state::AppState;

/// An upgraded WebSocket, over a stream that holds read-ahead only while it has bytes the codec did not take.
pub(super) type Ws = WebSocketStream<LeanStream<Io>>;

/// The byte stream under a WebSocket: the TCP stream itself when the connection is plain, so that reads and writes
/// reach it without hyper's boxed stream in between, and so that senders can write small messages to it while the
/// connection is idle (`hub::TcpSocket`); hyper's upgraded stream when it is TLS.
pub(super) type Io = Either<TcpSocket, TokioIo<Upgraded>>;

/// A handshake a kind of socket accepted: the connection (not registered yet), headers for the 101, and the socket's
/// own state for its session.
pub(super) struct Admitted<S> {
    pub(super) conn: Arc<Connection>,
    pub(super) headers: Vec<(HeaderName, HeaderValue)>,
    pub(super) socket: S,
}

/// What one kind of socket does differently. The connection's task calls [`SocketKind::starting`], then
/// [`SocketKind::serve`] once the upgrade completed, then [`SocketKind::ended`] after the connection left the hub.
pub(super) trait SocketKind: Sized + Send + 'static {
    /// The longest request target (path and query) accepted, if the kind limits it.
    const MAX_URL_LENGTH: Option<usize>;

    /// Admits a handshake that passed the common checks, or refuses it with a ready response.
    fn admit(
        state: &Arc<AppState>,
        peer: SocketAddr,
        parts: &Parts,
        request_id: &str,
    ) -> impl Future<Output = Result<Admitted<Self>, Response<Body>>> + Send;

    /// The context an authorizer gave the connection, which the console shows; none by default.
    fn authorizer(&self) -> Option<serde_json::Value> {
        None
    }

    /// Runs in the connection's task before the upgrade completes; nothing by default.
    fn starting(&mut self, _conn: &Arc<Connection>, _state: &AppState) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// Serves the upgraded socket until its session ends.
    fn serve(
        &mut self,
        ws: &mut Ws,
        conn: &Arc<Connection>,
        state: &AppState,
    ) -> impl Future<Output = SessionEnd> + Send;

    /// Runs once the session ended (or the upgrade failed) and the connection left the hub; nothing by default.
    fn ended(self, _end: &SessionEnd, _conn: &Arc<Connection>, _state: &AppState) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// Accepts or refuses a WebSocket handshake of kind `S`; refusals are counted by status.
pub(super) async fn accept_websocket<S: SocketKind>(
    state: &Arc<AppState>,
    peer: SocketAddr,
    req: Request<Incoming>,
    request_id: &str,
) -> Response<Body> {
    let response = match accept::<S>(state, peer, req, request_id).await {
        Ok(response) => response,
        Err(response) => response,
    };
    if response.status() != StatusCode::SWITCHING_PROTOCOLS {
        state.metrics.handshakes_rejected.get_or_create(&StatusLabels { status: response.status().as_u16() }).inc();
    }
    response
}

async fn accept<S: SocketKind>(
    state: &Arc<AppState>,
    peer: SocketAddr,
    mut req: Request<Incoming>,
    request_id: &str,
) -> Result<Response<Body>, Response<Body>> {
    let on_upgrade = hyper::upgrade::on(&mut req);
    let (parts, _body) = req.into_parts();
    if state.shutdown.is_cancelled() {
        return Err(refuse(Refusal::ShuttingDown));
    }
    let url_length = parts.uri.path_and_query().map_or(0, |pq| pq.as_str().len());
    if S::MAX_URL_LENGTH.is_some_and(|max| url_length > max) {
        return Err(refuse(Refusal::UriTooLong));
    }
    let key = websocket_key(&parts.headers).ok_or_else(|| refuse(Refusal::NotWebSocket13))?;
    // The connection's place under the caps on live connections, held until its session ended.
    let place = state.sockets.enter(peer.ip()).map_err(|full| {
        refuse(match full {
            Full::Total => Refusal::MaxConnections,
            Full::Address => Refusal::MaxConnectionsPerAddress,
        })
    })?;
    let Admitted { conn, headers, socket } = S::admit(state, peer, &parts, request_id).await?;

    // Reachable from now on: the 101 is on its way.
    state.hub.register(conn.clone());
    state.metrics.connections_opened.inc();
    state.metrics.connections_active.inc();
    super::console::record::opened(state, &conn, &parts, socket.authorizer());
    let upgrade = Box::new(Upgrade { pending: on_upgrade, request: Span::current().id() });
    state.tasks.spawn(session(state.clone(), conn, socket, upgrade, place));

    let mut response = Response::new(Body::default());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let out = response.headers_mut();
    out.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    out.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        out.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    for (name, value) in headers {
        out.append(name, value);
    }
    Ok(response)
}

/// The task of an accepted connection, from the end of its handshake to its `$disconnect`: what every idle connection
/// keeps for as long as it is open, so its size is held by a test (`a_connection_task_keeps_its_size`).
// Not an `async fn`: the same body as an `async fn` keeps its arguments apart from its locals, and its future takes
// 64 B more.
#[expect(clippy::manual_async_fn, reason = "the future of an async fn is larger, see above")]
fn session<S: SocketKind>(
    state: Arc<AppState>,
    conn: Arc<Connection>,
    mut socket: S,
    upgrade: Box<Upgrade>,
    place: Pass,
) -> impl Future<Output = ()> + Send + 'static {
    async move {
        // The task is not instrumented as a whole: the connection's span exists only while there is work (the end of
        // the handshake here, each client message in the session, the close), so that an idle connection holds none
        // (see `Connection::span`).
        let mut ws = {
            // Moved here, so that its box is freed once the first steps are made.
            let upgrade = upgrade;
            let Upgrade { pending, request } = *upgrade;
            async {
                // The rare steps run boxed, so that the task an idle connection keeps is sized by its session alone.
                Box::pin(socket.starting(&conn, &state)).await;
                match pending.await {
                    Ok(upgraded) => {
                        let io = match downcast::<TokioIo<TcpStream>>(upgraded) {
                            Ok(parts) => {
                                let socket = TcpSocket::new(parts.io.into_inner(), &state.session);
                                conn.share_socket(socket.shared());
                                LeanStream::with_ahead(Either::Left(socket), &parts.read_buf)
                            }
                            Err(upgraded) => LeanStream::new(Either::Right(TokioIo::new(upgraded))),
                        };
                        Some(WebSocketStream::from_raw_socket(io, Role::Server, Some(state.ws_config)).await)
                    }
                    Err(err) => {
                        tracing::debug!(%err, "The upgrade did not complete.");
                        None
                    }
                }
            }
            .instrument(opening(&conn, request))
        }
        .await;
        // Borrowed where it lies: a `Some(mut ws)` pattern would move the stream to a second place in the task, which
        // keeps room for both for as long as the session runs.
        let end = match &mut ws {
            Some(ws) => socket.serve(ws, &conn, &state).await,
            None => SessionEnd { code: 1006, reason: String::new(), cause: EndCause::Abnormal },
        };
        let closing = conn.span();
        async {
            state.hub.unregister(conn.id());
            state.metrics.connections_active.dec();
            state.metrics.connections_closed.get_or_create(&CauseLabels::of(end.cause)).inc();
            tracing::debug!(code = end.code, reason = %end.reason, "Connection closed.");
            super::console::record::closed(&state, &conn, &end);
            Box::pin(socket.ended(&end, &conn, &state)).await;
        }
        .instrument(closing)
        .await;
        drop(place);
    }
}

/// What a connection's task needs for its first steps only: the upgrade to come, and the handshake request's span,
/// which those steps follow from. Boxed, so that the task keeps 8 B for them rather than 16 for as long as the
/// connection is open.
struct Upgrade {
    pending: OnUpgrade,
    request: Option<Id>,
}

/// The span of a connection's first steps, which follow from its handshake request. Made where it is used: a local
/// of the session's future would keep its 40 B for as long as the connection is open.
fn opening(conn: &Connection, request: Option<Id>) -> Span {
    let span = conn.span();
    span.follows_from(request);
    span
}

/// The `Sec-WebSocket-Key` of a version 13 handshake.
fn websocket_key(headers: &HeaderMap) -> Option<HeaderValue> {
    let version_ok = headers.get(header::SEC_WEBSOCKET_VERSION).is_some_and(|v| v == "13");
    headers.get(header::SEC_WEBSOCKET_KEY).filter(|_| version_ok).cloned()
}

/// A refusal of the handshake table as a response.
pub(super) fn refuse(refusal: Refusal) -> Response<Body> {
    let mut response = json_response(refusal.status(), refusal.body());
    for (name, value) in refusal.headers() {
        response.headers_mut().insert(*name, HeaderValue::from_static(value));
    }
    response
}

/// Takes one of the new-connection tokens of the client's address, then one of the server's, or refuses the
/// handshake.
pub(super) fn take_connect_slot(state: &AppState, peer: SocketAddr) -> Result<(), Refusal> {
    let taken = state.connect_limit_per_address.try_take(peer.ip()) && state.connect_limit.try_take();
    if taken { Ok(()) } else { Err(Refusal::TooManyConnections) }
}

/// A new hub connection for a handshake from `peer`, in `scope`.
pub(super) fn new_connection(state: &AppState, peer: SocketAddr, parts: &Parts, scope: Scope) -> Arc<Connection> {
    let user_agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(Box::from);
    let conn = state.hub.new_connection(ConnectionInfo {
        scope,
        connected_at: OffsetDateTime::now_utc(),
        source_ip: peer.ip().to_string(),
        user_agent,
    });
    // The rest of the handshake (a `$connect` integration) is about this connection.
    Span::current().record("connection_id", field::display(conn.id()));
    conn
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::Arc;

    use http::{HeaderMap, Method, Request, header};
    use http_body_util::BodyExt;
    use wire::Refusal;

    use serde_json::json;

    use super::{Admitted, SocketKind, Upgrade, refuse, session, websocket_key};
    use crate::config::{Config, FileConfig, ServeArgs};
    use crate::http::api_socket::ApiSocket;
    use crate::http::chat_socket::ChatSocket;
    use crate::server::Server;
    use crate::state::AppState;

    /// Every open connection keeps its task: this future in a cell of tokio's, which adds 112 B (its header, core and
    /// trailer, and the task tracker's token) and rounds up to a multiple of 128 B (its alignment on x86_64), in an
    /// allocation jemalloc rounds up again to its size class (1,280, 1,536, 1,792 B here). Up to 1,168 B the cell
    /// takes 1,280 B; one byte more would take 1,408, in 1,536: 256 B more for every connection, idle ones included.
    /// The bounds are today's sizes, 72 B under that edge: growing one is a decision, made with the idle scenario of
    /// the benchmarks (`docs/benchmarks.md`, "Idle memory: the connection's task").
    #[tokio::test]
    async fn a_connection_task_keeps_its_size() {
        const API_TASK_BYTES: usize = 1096;
        const CHAT_TASK_BYTES: usize = 1096;
        let dir = tempfile::tempdir().unwrap();
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        let args = ServeArgs {
            listen: Some(loopback),
            admin_listen: Some(loopback),
            data_dir: Some(dir.path().to_owned()),
            ..ServeArgs::default()
        };
        let server = Server::start(Config::merge(args, FileConfig::default()).unwrap()).await.unwrap();
        let state = server.state().clone();

        let api = admit::<ApiSocket>(&state, upgrade("/prod").body(()).unwrap()).await;
        let room = control(&state, "CreateRoom", json!({})).await;
        let token = control(&state, "CreateChatToken", json!({"roomIdentifier": room["arn"], "userId": "u"})).await;
        let protocol = token["token"].as_str().unwrap();
        let chat = upgrade("/").header(header::SEC_WEBSOCKET_PROTOCOL, protocol).body(()).unwrap();
        let chat = admit::<ChatSocket>(&state, chat).await;
        let (api_task, chat_task) = (std::mem::size_of_val(&api), std::mem::size_of_val(&chat));
        assert!(api_task <= API_TASK_BYTES, "the task of an API connection takes {api_task} B");
        assert!(chat_task <= CHAT_TASK_BYTES, "the task of a chat connection takes {chat_task} B");
        server.shutdown().await;
    }

    fn upgrade(path: &str) -> http::request::Builder {
        Request::get(path)
            .header(header::HOST, "localhost")
            .header(header::CONNECTION, "upgrade")
            .header(header::UPGRADE, "websocket")
            .header(header::SEC_WEBSOCKET_VERSION, "13")
            .header(header::SEC_WEBSOCKET_KEY, "dGhlIHNhbXBsZSBub25jZQ==")
    }

    /// The task a handshake of kind `S` would run, made but never polled.
    async fn admit<S: SocketKind>(
        state: &Arc<AppState>,
        mut request: Request<()>,
    ) -> impl Future<Output = ()> + use<S> {
        let peer = SocketAddr::from(([127, 0, 0, 1], 40000));
        let on_upgrade = hyper::upgrade::on(&mut request);
        let (parts, ()) = request.into_parts();
        let place = state.sockets.enter(peer.ip()).unwrap();
        let Ok(Admitted { conn, socket, .. }) = S::admit(state, peer, &parts, "request").await else {
            panic!("the handshake to {} was refused", parts.uri);
        };
        session(state.clone(), conn, socket, Box::new(Upgrade { pending: on_upgrade, request: None }), place)
    }

    async fn control(state: &AppState, operation: &str, input: serde_json::Value) -> serde_json::Value {
        let body = input.to_string();
        let reply = state.control.handle(&Method::POST, &format!("/{operation}"), None, body.as_bytes()).await.unwrap();
        serde_json::from_slice(&reply.body).unwrap()
    }

    #[test]
    fn a_version_13_handshake_has_a_key() {
        let mut headers = HeaderMap::new();
        headers.insert(header::SEC_WEBSOCKET_KEY, "dGhlIHNhbXBsZSBub25jZQ==".parse().unwrap());
        assert_eq!(websocket_key(&headers), None, "no version");
        headers.insert(header::SEC_WEBSOCKET_VERSION, "8".parse().unwrap());
        assert_eq!(websocket_key(&headers), None, "another version");
        headers.insert(header::SEC_WEBSOCKET_VERSION, "13".parse().unwrap());
        assert_eq!(websocket_key(&headers).unwrap(), "dGhlIHNhbXBsZSBub25jZQ==");
        headers.remove(header::SEC_WEBSOCKET_KEY);
        assert_eq!(websocket_key(&headers), None, "no key");
    }

    #[tokio::test]
    async fn refusals_render_their_table_entry() {
        for refusal in Refusal::ALL {
            let response = refuse(*refusal);
            assert_eq!(response.status(), refusal.status(), "{refusal:?}");
            assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json", "{refusal:?}");
            let version = response.headers().get(header::SEC_WEBSOCKET_VERSION).map(|v| v.to_str().unwrap());
            assert_eq!(version, (*refusal == Refusal::NotWebSocket13).then_some("13"), "{refusal:?}");
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(body, refusal.body().as_bytes(), "{refusal:?}");
        }
    }
}
