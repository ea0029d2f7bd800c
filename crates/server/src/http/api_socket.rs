//! API Gateway WebSocket API sockets: `GET /{stage}` with `Upgrade: websocket` for the configured APIs, and
//! `GET /@apis/{apiId}/{stage}` for the APIs defined through the control plane, which serve their stage's current
//! deployment ([`super::deployed`]) — a stage without one refuses the handshake. The handshake stays pending until
//! `$connect` answers; an accepted connection is entered in the cluster's registry, served by a
//! [`MessageRouter`] and, when it ends, gets exactly one `$disconnect`.

use std::net::SocketAddr;
use std::sync::Arc;

use apigw::access_log::{AccessEvent, AccessLogSink};
use apigw::connect::{ConnContext, ConnectDecision, LiveStage};
use apigw::handshake::Peer;
use apigw::model::ApiRuntime;
use apigw::record::Record;
use apigw::router::MessageRouter;
use http::request::Parts;
use http::{HeaderName, HeaderValue, Response, StatusCode};
use hub::session::SessionEnd;
use hub::{CloseRequest, Connection, TagChange};
use wire::apigw::{EventType, IamCaller};
use wire::{ApiError, Refusal};

use super::deployed::{DeployedStages, Live};
use super::front::EXECUTE_API;
use super::socket::{Admitted, SocketKind, Ws, new_connection, refuse, take_connect_slot};
use super::{Body, auth, error_response};
use crate::state::AppState;

/// An API socket: the context its events carry, and where a deployed stage's later deployments come from.
pub(super) struct ApiSocket {
    ctx: Arc<ConnContext>,
    live: Option<Arc<Live>>,
}

/// The API and stage a handshake names, and for a deployed stage where its later deployments come from.
async fn resolve(
    state: &Arc<AppState>,
    parts: &Parts,
) -> Result<Option<(Arc<ApiRuntime>, String, Option<Arc<Live>>)>, ApiError> {
    let Some((api_id, stage)) = apigw::deployed::endpoint_path(parts.uri.path()) else {
        let resolved = state.apis.for_handshake(parts);
        return Ok(resolved.map(|(api, stage)| (api.clone(), stage.stage_name.clone(), None)));
    };
    let Some(api) = state.deployed.get(&state.apigatewayv2, api_id, stage).await? else { return Ok(None) };
    let live = Live { state: state.clone(), watch: DeployedStages::watch(state, api_id, stage) };
    Ok(Some((api, stage.to_owned(), Some(Arc::new(live)))))
}

impl SocketKind for ApiSocket {
    /// API Gateway's limit on the WebSocket URL.
    const MAX_URL_LENGTH: Option<usize> = Some(4096);

    async fn admit(
        state: &Arc<AppState>,
        peer: SocketAddr,
        parts: &Parts,
        request_id: &str,
    ) -> Result<Admitted<ApiSocket>, Response<Body>> {
        if state.cluster.is_fenced() {
            return Err(refuse(Refusal::Fenced));
        }
        let resolved = resolve(state, parts).await.map_err(|err| error_response(&err))?;
        let Some((api, stage_name, live)) = resolved else {
            return Err(error_response(&ApiError::forbidden()));
        };
        let (Some(stage), Some(scope)) = (api.stage(&stage_name), api.scope(&stage_name)) else {
            return Err(error_response(&ApiError::forbidden()));
        };
        // `AWS_IAM` on `$connect`: the handshake is SigV4-signed for `execute-api` (headers or a presigned URL),
        // checked before it takes a connection slot, answered 403 as API Gateway does.
        let caller = if api.connect_requires_iam() {
            let principal = auth::verify(state, parts, b"", EXECUTE_API).map_err(|err| error_response(&err))?;
            principal.map(|p| Box::new(IamCaller::of_account(&p.access_key_id, &state.config.account_id)))
        } else {
            None
        };
        take_connect_slot(state, peer).map_err(refuse)?;
        let conn = new_connection(state, peer, parts, scope);
        let default_host = state.config.listen.to_string();
        let peer = Peer { addr: peer, tls: state.config.tls.is_some(), default_host: &default_host };
        let mut ctx = ConnContext::of_handshake(parts, (api.clone(), stage), &conn, peer);
        ctx.caller = caller;
        // `$connect` (and its authorizer, whose answer joins the context) reads the handshake; later events do not.
        let capture = state.capture.as_deref().map(|capture| (capture, &*conn));
        let decision = apigw::connect::decide(&state.invoker, &state.api_keys, &mut ctx, request_id, capture).await;
        let event = AccessEvent::new(EventType::Connect, "$connect", request_id);
        let event = match &decision {
            ConnectDecision::Accept { .. } => event,
            ConnectDecision::Reject { status, .. } => AccessEvent { status: *status, ..event },
            ConnectDecision::Refuse(refusal) => event.refused(refusal.status().as_u16(), refusal.message()),
        };
        access_log(state, &ctx, &event);
        match decision {
            ConnectDecision::Accept { headers, tags } => {
                // Checked against the model's bounds already; the connection is not reachable yet.
                if tags != TagChange::default() {
                    let limits = apigw::management::ext::tag_limits();
                    state.hub.update_tags(&conn, &tags, limits).map_err(|_| refuse(Refusal::IntegrationFailed))?;
                }
                let headers = headers
                    .into_iter()
                    .filter_map(|(name, value)| {
                        Some((HeaderName::try_from(name.as_str()).ok()?, HeaderValue::try_from(value.as_str()).ok()?))
                    })
                    .collect();
                Ok(Admitted { conn, headers, socket: ApiSocket { ctx: Arc::new(ctx.after_connect()), live } })
            }
            ConnectDecision::Reject { status, body } => {
                let mut response = Response::new(Body::from(body.unwrap_or_default()));
                *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
                Err(response)
            }
            ConnectDecision::Refuse(refusal) => Err(refuse(refusal)),
        }
    }

    fn authorizer(&self) -> Option<serde_json::Value> {
        self.ctx.authorizer.clone().map(serde_json::Value::Object)
    }

    /// Registered before the session runs, so that its end is always claimed after its registration; a node fenced
    /// meanwhile closes it at once.
    async fn starting(&mut self, conn: &Arc<Connection>, state: &AppState) {
        let record = match self.live {
            Some(_) => Record::of_deployed(&self.ctx),
            None => Record::of(&self.ctx),
        };
        state.cluster.track(conn.id(), &record).await;
        if state.cluster.is_fenced() {
            conn.close(CloseRequest::shutdown());
        }
    }

    async fn serve(&mut self, ws: &mut Ws, conn: &Arc<Connection>, state: &AppState) -> SessionEnd {
        let limit = state.config.limits.max_in_flight;
        let mut router = MessageRouter::new(self.ctx.clone(), state.invoker.clone(), limit, state.tasks.clone())
            .with_node_limit(state.integrations.clone())
            .with_api_keys(state.api_keys.clone())
            .with_access_log(state.access_log.clone())
            .with_capture(state.capture.clone());
        if let Some(live) = &self.live {
            router = router.with_live_stage(live.clone() as Arc<dyn LiveStage>);
        }
        // A deleted API or stage closes its connections with 1001: the stage's one watch closes those it finds
        // registered, and a connection registered after that closes here.
        if let Some(live) = &self.live {
            live.watch.close_if_gone(conn);
        }
        hub::session::run(ws, conn.clone(), &state.session, &mut router).await
    }

    /// `$disconnect` (of the stage's current deployment), unless a survivor already reported it (this node had been
    /// declared dead by the cluster).
    async fn ended(self, end: &SessionEnd, conn: &Arc<Connection>, state: &AppState) {
        if state.cluster.release(conn.id(), end.code, &end.reason).await {
            let current = match &self.live {
                Some(live) => live.current().await,
                None => None,
            };
            let ctx = match current {
                Some(api) if !Arc::ptr_eq(&api, &self.ctx.api) => Arc::new(self.ctx.redeployed(api)),
                _ => self.ctx,
            };
            apigw::connect::notify_disconnect(&state.invoker, &ctx, end.code, &end.reason).await;
            let request_id = hub::random_id();
            access_log(state, &ctx, &AccessEvent::new(EventType::Disconnect, "$disconnect", &request_id));
        }
    }
}

/// Writes the event's line when the connection's stage has an access log.
fn access_log(state: &AppState, ctx: &ConnContext, event: &AccessEvent<'_>) {
    apigw::access_log::record(Some(state.access_log.as_ref() as &dyn AccessLogSink), ctx, event);
}
