//! API Gateway WebSocket API sockets: `GET /{stage}` with `Upgrade: websocket` for the configured APIs, and
//! `GET /@apis/{apiId}/{stage}` for the APIs defined through the control plane, which serve their stage's current
//! deployment ([`super::deployed`]) — a stage without one refuses the handshake. The handshake stays pending until
//! `$connect` answers; an accepted connection is entered in the cluster's registry, served by a
//! [`MessageRouter`] and, when it ends, gets exactly one `$disconnect`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use apigw::connect::{ConnContext, ConnectDecision, LiveStage};
use apigw::handshake::Peer;
use apigw::model::ApiRuntime;
use apigw::record::Record;
use apigw::router::MessageRouter;
use http::request::Parts;
use http::{HeaderName, HeaderValue, Response, StatusCode};
use hub::session::SessionEnd;
use hub::{CloseCause, CloseRequest, Connection, Scope};
use wire::ApiError;

use super::deployed::Live;
use super::socket::{Admitted, SocketKind, Ws, new_connection, refuse, take_connect_slot};
use super::{Body, error_response};
use crate::state::AppState;

/// How often a connection of a deployed stage checks that its API and stage still exist (through the
/// [`super::deployed`] cache, so a node reads the store once per stage per recheck interval at most).
const STAGE_CHECK: Duration = Duration::from_secs(1);

/// An API socket: the context its events carry, and where a deployed stage's later deployments come from.
pub(super) struct ApiSocket {
    ctx: Arc<ConnContext>,
    live: Option<Arc<dyn LiveStage>>,
}

/// The API and stage a handshake names, and for a deployed stage where its later deployments come from.
async fn resolve(
    state: &Arc<AppState>,
    parts: &Parts,
) -> Result<Option<(Arc<ApiRuntime>, String, Option<Arc<dyn LiveStage>>)>, ApiError> {
    let Some((api_id, stage)) = apigw::deployed::endpoint_path(parts.uri.path()) else {
        let resolved = state.apis.for_handshake(parts);
        return Ok(resolved.map(|(api, stage)| (api.clone(), stage.stage_name.clone(), None)));
    };
    let Some(api) = state.deployed.get(&state.apigatewayv2, api_id, stage).await? else { return Ok(None) };
    let live = Live { state: state.clone(), api_id: api_id.to_owned(), stage: stage.to_owned() };
    Ok(Some((api, stage.to_owned(), Some(Arc::new(live)))))
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
        let resolved = resolve(state, parts).await.map_err(|err| error_response(&err))?;
        let Some((api, stage_name, live)) = resolved else {
            return Err(error_response(&ApiError::forbidden()));
        };
        let Some(stage) = api.stage(&stage_name) else {
            return Err(error_response(&ApiError::forbidden()));
        };
        take_connect_slot(state).map_err(refuse)?;
        let scope = Scope::Api { api_id: api.api.api_id.as_str().into(), stage: stage.stage_name.as_str().into() };
        let conn = new_connection(state, peer, parts, scope);
        let default_host = state.config.listen.to_string();
        let peer = Peer { addr: peer, tls: state.config.tls.is_some(), default_host: &default_host };
        let mut ctx = ConnContext::of_handshake(parts, (api.clone(), stage), &conn, peer);
        let decision = apigw::connect::decide(&state.invoker, &mut ctx, request_id).await;
        let ctx = Arc::new(ctx);
        match decision {
            ConnectDecision::Accept { headers } => {
                let headers = headers
                    .into_iter()
                    .filter_map(|(name, value)| {
                        Some((HeaderName::try_from(name.as_str()).ok()?, HeaderValue::try_from(value.as_str()).ok()?))
                    })
                    .collect();
                Ok(Admitted { conn, headers, socket: ApiSocket { ctx, live } })
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
        let Some(live) = self.live.clone() else {
            return hub::session::run(ws, conn.clone(), &state.session, &state.shutdown, &mut router).await;
        };
        router = router.with_live_stage(live.clone());
        let session = hub::session::run(ws, conn.clone(), &state.session, &state.shutdown, &mut router);
        tokio::pin!(session);
        // A deleted API or stage closes its connections with 1001 (their `$disconnect` follows as for any end).
        loop {
            tokio::select! {
                end = &mut session => return end,
                () = tokio::time::sleep(STAGE_CHECK) => {
                    if live.current().await.is_none() {
                        conn.close(CloseRequest::new(1001, "Going away", CloseCause::Deleted));
                    }
                }
            }
        }
    }

    /// `$disconnect` (of the stage's current deployment), unless a survivor already reported it (this node had been
    /// declared dead by the cluster).
    async fn ended(self, end: &SessionEnd, conn: &Arc<Connection>, state: &AppState) {
        if state.cluster.release(conn.id()).await {
            let current = match &self.live {
                Some(live) => live.current().await,
                None => None,
            };
            let ctx = match current {
                Some(api) if !Arc::ptr_eq(&api, &self.ctx.api) => Arc::new(self.ctx.redeployed(api)),
                _ => self.ctx,
            };
            apigw::connect::notify_disconnect(&state.invoker, &ctx, end.code, &end.reason).await;
        }
    }
}
