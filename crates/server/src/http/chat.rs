//! The IVS Chat messaging WebSocket: `GET /` with `Upgrade: websocket` and the chat token as the
//! `Sec-WebSocket-Protocol` (as on IVS's edge endpoint). The token is redeemed before the 101, which echoes it as the
//! selected subprotocol; the connection then joins its room and a session task serves it.
//!
//! Refusals answer `{"message": …}` with 400 (not a WebSocket version 13 handshake), 401 (no token, or a malformed,
//! forged, expired, already used or pre-restart token), 404 (the token's room does not exist), 429 (over the new
//! connection rate) or 503 (shutting down).

use std::net::SocketAddr;
use std::sync::Arc;

use http::{HeaderValue, Request, Response, StatusCode, header};
use hub::{ConnectionInfo, Scope};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use time::OffsetDateTime;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

use super::{Body, json_response};
use crate::metrics::{CodeLabels, StatusLabels};
use crate::state::AppState;

pub(super) async fn handle(state: &Arc<AppState>, peer: SocketAddr, req: Request<Incoming>) -> Response<Body> {
    let response = match accept(state, peer, req).await {
        Ok(response) => response,
        Err(response) => response,
    };
    if response.status() != StatusCode::SWITCHING_PROTOCOLS {
        state.metrics.handshakes_rejected.get_or_create(&StatusLabels { status: response.status().as_u16() }).inc();
    }
    response
}

fn reject(status: StatusCode, message: &str) -> Response<Body> {
    json_response(status, serde_json::json!({ "message": message }).to_string())
}

/// The token: the first value of `Sec-WebSocket-Protocol` (clients send exactly one), `""` when there is none.
fn token(req: &Request<Incoming>) -> String {
    req.headers()
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').map(str::trim).find(|t| !t.is_empty()))
        .unwrap_or_default()
        .to_owned()
}

async fn accept(
    state: &Arc<AppState>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<Body>, Response<Body>> {
    if state.shutdown.is_cancelled() {
        return Err(reject(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable"));
    }
    let headers = req.headers();
    let key = headers.get(header::SEC_WEBSOCKET_KEY).cloned();
    let version_ok = headers.get(header::SEC_WEBSOCKET_VERSION).is_some_and(|v| v == "13");
    let Some(key) = key.filter(|_| version_ok) else {
        let mut response = reject(StatusCode::BAD_REQUEST, "Bad Request: Sec-WebSocket-Key and version 13 required");
        response.headers_mut().insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        return Err(response);
    };
    let token = token(&req);
    // Checked before the token is redeemed, so a refused client keeps its token.
    if !state.connect_limit.try_take() {
        return Err(reject(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests"));
    }
    let ticket = state.chat.admit(&token).await.map_err(|refusal| {
        reject(StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::UNAUTHORIZED), refusal.message)
    })?;

    let user_agent = req.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let conn = state.hub.new_connection(ConnectionInfo {
        scope: Scope::Chat { room_id: ticket.room_id().into(), user_id: ticket.user_id().into() },
        connected_at: OffsetDateTime::now_utc(),
        source_ip: peer.ip().to_string(),
        user_agent,
    });
    let member = state.chat.join(ticket, conn.clone()).map_err(|refusal| {
        reject(StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::NOT_FOUND), refusal.message)
    })?;
    let protocol = HeaderValue::from_str(&token).map_err(|_| reject(StatusCode::UNAUTHORIZED, "Unauthorized"))?;

    // A member from now on: the 101 is on its way.
    state.hub.register(conn.clone());
    state.metrics.connections_opened.inc();
    state.metrics.connections_active.inc();
    let on_upgrade = hyper::upgrade::on(req);
    let task_state = state.clone();
    state.tasks.spawn(async move {
        let state = task_state;
        let end = match on_upgrade.await {
            Ok(upgraded) => {
                let ws =
                    WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(state.ws_config)).await;
                chat::ChatService::serve(member, ws, &state.session, &state.shutdown).await
            }
            Err(err) => {
                drop(member);
                tracing::debug!(connection_id = %conn.id(), %err, "The chat upgrade did not complete.");
                hub::session::SessionEnd { code: 1006, reason: String::new(), cause: hub::session::EndCause::Abnormal }
            }
        };
        state.hub.unregister(conn.id());
        state.metrics.connections_active.dec();
        state.metrics.connections_closed.get_or_create(&CodeLabels { code: end.code }).inc();
        tracing::debug!(connection_id = %conn.id(), code = end.code, reason = %end.reason, "Chat connection closed.");
    });

    let mut response = Response::new(Body::default());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let out = response.headers_mut();
    out.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    out.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        out.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    out.insert(header::SEC_WEBSOCKET_PROTOCOL, protocol);
    Ok(response)
}
