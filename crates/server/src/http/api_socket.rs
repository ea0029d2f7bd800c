//! API Gateway WebSocket API sockets: `GET /{stage}` with `Upgrade: websocket`. The handshake stays pending until
//! `$connect` answers; an accepted connection is entered in the cluster's registry, served by a
//! [`MessageRouter`] and, when it ends, gets exactly one `$disconnect`.

use std::net::SocketAddr;
use std::sync::Arc;

use apigw::connect::{ConnContext, ConnectDecision};
use apigw::handshake::Peer;
use apigw::record::Record;
use apigw::router::MessageRouter;
use http::request::Parts;
use http::{HeaderName, HeaderValue, Response, StatusCode};
use hub::session::SessionEnd;
use hub::{Connection, Scope};
use wire::ApiError;

use super::socket::{Admitted, SocketKind, Ws, new_connection, refuse, take_connect_slot};
use super::{Body, error_response};
use crate::state::AppState;

/// An API socket: the context its events carry.
pub(super) struct ApiSocket {
    ctx: Arc<ConnContext>,
}

impl SocketKind for ApiSocket {
    const KIND: &'static str = "api";
    /// API Gateway's limit on the WebSocket URL.
    const MAX_URL_LENGTH: Option<usize> = Some(4096);

    async fn admit(
        state: &Arc<AppState>,
        peer: SocketAddr,
        parts: &Parts,
        request_id: &str,
    ) -> Result<Admitted<ApiSocket>, Response<Body>> {
        let Some(resolved) = state.apis.for_handshake(parts) else {
            return Err(error_response(&ApiError::forbidden()));
        };
        take_connect_slot(state).map_err(refuse)?;
        let (api, stage) = &resolved;
        let scope = Scope::Api { api_id: api.api.api_id.as_str().into(), stage: stage.stage_name.as_str().into() };
        let conn = new_connection(state, peer, parts, scope);
        let default_host = state.config.listen.to_string();
        let peer = Peer { addr: peer, tls: state.config.tls.is_some(), default_host: &default_host };
        let ctx = Arc::new(ConnContext::of_handshake(parts, resolved, &conn, peer));

        match apigw::connect::decide(&state.invoker, &ctx, request_id).await {
            ConnectDecision::Accept { headers } => {
                let headers = headers
                    .into_iter()
                    .filter_map(|(name, value)| {
                        Some((HeaderName::try_from(name.as_str()).ok()?, HeaderValue::try_from(value.as_str()).ok()?))
                    })
                    .collect();
                Ok(Admitted { conn, headers, socket: ApiSocket { ctx } })
            }
            ConnectDecision::Reject { status, body } => {
                let mut response = Response::new(Body::from(body.unwrap_or_default()));
                *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
                Err(response)
            }
            ConnectDecision::Refuse(refusal) => Err(refuse(refusal)),
        }
    }

    /// Registered before the session runs, so that its end is always claimed after its registration.
    async fn starting(&mut self, conn: &Arc<Connection>, state: &AppState) {
        state.cluster.track(conn.id(), &Record::of(&self.ctx)).await;
    }

    async fn serve(&mut self, ws: Ws, conn: &Arc<Connection>, state: &AppState) -> SessionEnd {
        let limit = state.config.limits.max_in_flight;
        let mut router = MessageRouter::new(self.ctx.clone(), state.invoker.clone(), limit, state.tasks.clone());
        hub::session::run(ws, conn.clone(), &state.session, &state.shutdown, &mut router).await
    }

    /// `$disconnect`, unless a survivor already reported it (this node had been declared dead by the cluster).
    async fn ended(self, end: &SessionEnd, conn: &Arc<Connection>, state: &AppState) {
        if state.cluster.release(conn.id()).await {
            apigw::connect::notify_disconnect(&state.invoker, &self.ctx, end.code, &end.reason).await;
        }
    }
}
