//! The WebSocket data plane: `GET /{stage}` with `Upgrade: websocket`. The handshake stays pending until `$connect`
//! answers; an accepted connection gets a session task and, when it ends, exactly one `$disconnect`.

use std::net::SocketAddr;
use std::sync::Arc;

use apigw::connect::{ConnContext, ConnectDecision};
use apigw::handshake::Peer;
use apigw::record::Record;
use apigw::router::MessageRouter;
use http::{HeaderName, HeaderValue, Request, Response, StatusCode, header};
use hub::{ConnectionInfo, Scope};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use time::OffsetDateTime;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use wire::ApiError;

use super::{Body, error_response, json_response};
use crate::metrics::{CodeLabels, StatusLabels};
use crate::state::AppState;

/// API Gateway's limit on the WebSocket URL.
const MAX_URL_LENGTH: usize = 4096;

pub(super) async fn handle(
    state: &Arc<AppState>,
    peer: SocketAddr,
    req: Request<Incoming>,
    request_id: &str,
) -> Response<Body> {
    let response = match accept(state, peer, req, request_id).await {
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

async fn accept(
    state: &Arc<AppState>,
    peer: SocketAddr,
    mut req: Request<Incoming>,
    request_id: &str,
) -> Result<Response<Body>, Response<Body>> {
    let on_upgrade = hyper::upgrade::on(&mut req);
    let (parts, _body) = req.into_parts();
    if state.shutdown.is_cancelled() {
        return Err(reject(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable"));
    }
    let uri_len = parts.uri.path_and_query().map_or(0, |pq| pq.as_str().len());
    if uri_len > MAX_URL_LENGTH {
        return Err(reject(StatusCode::URI_TOO_LONG, "Request-URI Too Long"));
    }
    let headers = &parts.headers;
    let key = headers.get(header::SEC_WEBSOCKET_KEY).cloned();
    let version_ok = headers.get(header::SEC_WEBSOCKET_VERSION).is_some_and(|v| v == "13");
    let Some(key) = key.filter(|_| version_ok) else {
        let mut response = reject(StatusCode::BAD_REQUEST, "Bad Request: Sec-WebSocket-Key and version 13 required");
        response.headers_mut().insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        return Err(response);
    };

    let Some(resolved) = state.apis.for_handshake(&parts) else {
        return Err(error_response(&ApiError::forbidden()));
    };
    if !state.connect_limit.try_take() {
        return Err(reject(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests"));
    }

    let user_agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (api, stage) = &resolved;
    let conn = state.hub.new_connection(ConnectionInfo {
        scope: Scope::Api { api_id: api.api.api_id.as_str().into(), stage: stage.stage_name.as_str().into() },
        connected_at: OffsetDateTime::now_utc(),
        source_ip: peer.ip().to_string(),
        user_agent,
    });
    let default_host = state.config.listen.to_string();
    let peer = Peer { addr: peer, tls: state.config.tls.is_some(), default_host: &default_host };
    let ctx = Arc::new(ConnContext::of_handshake(&parts, resolved, &conn, peer));

    let decision = apigw::connect::decide(&state.invoker, &ctx, request_id).await;
    let extra_headers = match decision {
        ConnectDecision::Accept { headers } => headers,
        ConnectDecision::Reject { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            let mut response = Response::new(Body::from(body.unwrap_or_default()));
            *response.status_mut() = status;
            return Err(response);
        }
    };

    // Reachable from now on: the 101 is on its way.
    state.hub.register(conn.clone());
    state.metrics.connections_opened.inc();
    state.metrics.connections_active.inc();
    let task_state = state.clone();
    state.tasks.spawn(async move {
        let state = task_state;
        // Registered before the session runs, so that its end is always claimed after its registration.
        state.cluster.track(conn.id(), &Record::of(&ctx)).await;
        let end = match on_upgrade.await {
            Ok(upgraded) => {
                let ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(state.ws_config))
                    .await;
                let mut router =
                    MessageRouter::new(ctx.clone(), state.invoker.clone(), state.config.limits.max_in_flight, state.tasks.clone());
                hub::session::run(ws, conn.clone(), &state.session, &state.shutdown, &mut router).await
            }
            Err(err) => {
                tracing::debug!(connection_id = %ctx.connection_id, %err, "The upgrade did not complete.");
                hub::session::SessionEnd { code: 1006, reason: String::new(), cause: hub::session::EndCause::Abnormal }
            }
        };
        state.hub.unregister(conn.id());
        state.metrics.connections_active.dec();
        state.metrics.connections_closed.get_or_create(&CodeLabels { code: end.code }).inc();
        tracing::debug!(connection_id = %ctx.connection_id, code = end.code, reason = %end.reason, "Connection closed.");
        // Unless a survivor already reported it (this node had been declared dead by the cluster).
        if state.cluster.release(conn.id()).await {
            apigw::connect::notify_disconnect(&state.invoker, &ctx, end.code, &end.reason).await;
        }
    });

    let mut response = Response::new(Body::default());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let out = response.headers_mut();
    out.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    out.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        out.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    for (name, value) in extra_headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name.as_str()), HeaderValue::try_from(value.as_str())) {
            out.append(name, value);
        }
    }
    Ok(response)
}
