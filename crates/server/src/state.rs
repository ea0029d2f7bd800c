//! The state one server shares between its listener, handlers and sessions.

use std::sync::Arc;

use apigw::ApiSet;
use apigw::api_keys::ApiKeys;
use apigw::integration::Invoker;
use hub::Hub;
use hub::session::SessionConfig;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::access_log::AccessLogWriter;
use crate::cluster::Cluster;
use crate::config::Config;
use crate::credentials::Keyring;
use crate::gate::Gate;
use crate::http::DeployedStages;
use crate::metrics::Metrics;
use crate::ratelimit::TokenBucket;

/// Everything a request handler or session needs; shared as `Arc<AppState>`.
/// The SigV4 services' control planes, the hosted functions and the access log writer, as [`AppState::new`] takes
/// them.
#[derive(Debug)]
pub struct ControlPlanes {
    pub ivschat: ivschat::ControlPlane,
    pub apigatewayv2: apigatewayv2::ControlPlane,
    pub functions: Arc<functions::Functions>,
    pub access_log: Arc<AccessLogWriter>,
}

#[derive(Debug)]
pub struct AppState {
    pub config: Config,
    pub hub: Hub,
    /// The IVS Chat control plane.
    pub control: ivschat::ControlPlane,
    /// The apigatewayv2 control plane (WebSocket APIs).
    pub apigatewayv2: apigatewayv2::ControlPlane,
    /// Live chat rooms.
    pub chat: Arc<chat::ChatService>,
    pub apis: ApiSet,
    /// The deployed stages of APIs defined through the control plane, as their sockets serve them.
    pub(crate) deployed: DeployedStages,
    /// Calls integrations: HTTP backends and hosted functions.
    pub invoker: Invoker,
    /// The hosted Lambda functions.
    pub functions: Arc<functions::Functions>,
    /// The Lambda API (Invoke, GetFunction, ListFunctions) over the hosted functions.
    pub lambda: functions::api::LambdaApi,
    /// `None` when signature checks are switched off (`--insecure-no-auth`).
    pub keys: Option<Keyring>,
    pub metrics: Metrics,
    /// Where API stages' access logs go.
    pub access_log: Arc<AccessLogWriter>,
    /// The API keys of routes with `ApiKeyRequired` (`[[api_keys]]`, `--api-key`).
    pub api_keys: Arc<ApiKeys>,
    pub connect_limit: TokenBucket,
    /// `@connections` calls per second on this node (`--management-requests-per-second`; AWS's account throttle in
    /// strict mode).
    pub management_limit: TokenBucket,
    /// New connections per second from one client address.
    pub(crate) connect_limit_per_address: crate::ratelimit::PerAddress,
    /// Signed API requests whose signature is not verified yet (`http::auth::check_head`).
    pub(crate) unauthenticated: Gate,
    /// Live WebSocket connections of both kinds, bounded in total and per client address.
    pub(crate) sockets: Gate,
    /// Route integrations in flight on this node (`--max-integrations-in-flight`); past it messages answer 429.
    pub(crate) integrations: Arc<tokio::sync::Semaphore>,
    /// Sessions, `$disconnect` calls and in-flight integrations; shutdown waits for them.
    pub tasks: TaskTracker,
    /// Cancelled when the server starts shutting down.
    pub shutdown: CancellationToken,
    pub session: SessionConfig,
    pub ws_config: WebSocketConfig,
    /// This node's part of the cluster (a cluster of one on the default in-process bus).
    pub cluster: Cluster,
    /// Console sign-in attempts, [`crate::http::CONSOLE_SIGNINS_PER_SECOND`] on this node; past it, 429.
    pub(crate) console_signins: TokenBucket,
    /// The console's traffic capture; `None` with `--console off`.
    pub capture: Option<Arc<capture::Capture>>,
    /// The template this server runs, as last applied.
    pub stack: crate::stack::Stack,
}

impl AppState {
    /// The hub every API shares, sized by the configuration; its connection ids name this node.
    pub fn new_hub(config: &Config, node: u16) -> Hub {
        Hub::new(hub::HubConfig { node, outbox_limit: config.limits.outbox_bytes })
    }

    pub fn new(
        config: Config,
        hub: Hub,
        apis: ApiSet,
        keys: Option<Keyring>,
        planes: ControlPlanes,
        chat: Arc<chat::ChatService>,
        cluster: Cluster,
    ) -> Arc<AppState> {
        let ControlPlanes { ivschat: control, apigatewayv2, functions, access_log } = planes;
        let limits = &config.limits;
        let capture = (config.console == crate::config::Switch::On)
            .then(|| Arc::new(capture::Capture::new(capture::Limits::default())));
        let session = SessionConfig {
            idle_timeout: limits.idle_timeout,
            max_duration: limits.max_connection,
            write_timeout: limits.write_timeout,
            max_outbound_frame: limits.max_frame_bytes,
            capture: capture.clone(),
            ..SessionConfig::default()
        };
        let ws_config = hub::session::websocket_config(limits.max_message_bytes, limits.max_frame_bytes);
        Arc::new(AppState {
            connect_limit: TokenBucket::new(limits.new_connections_per_second),
            management_limit: TokenBucket::with_burst(limits.management_requests_per_second, limits.management_burst()),
            connect_limit_per_address: crate::ratelimit::PerAddress::new(limits.new_connections_per_second_per_address),
            sockets: Gate::new(limits.max_connections, limits.max_connections_per_address),
            integrations: Arc::new(tokio::sync::Semaphore::new(limits.max_integrations_in_flight)),
            unauthenticated: Gate::new(
                limits.max_unauthenticated_requests,
                limits.max_unauthenticated_requests_per_address,
            ),
            hub,
            control,
            apigatewayv2,
            chat,
            apis,
            deployed: DeployedStages::default(),
            invoker: Invoker::new()
                .with_functions(Arc::new(functions::remote::Router::new(
                    functions.clone(),
                    config.functions.remote.clone(),
                )))
                .with_account(&config.region, &config.account_id),
            lambda: functions::api::LambdaApi::new(functions.clone()),
            functions,
            keys,
            metrics: Metrics::new(access_log.dropped_counter()),
            access_log,
            api_keys: Arc::new(ApiKeys::new(config.api_keys.clone())),
            tasks: TaskTracker::new(),
            shutdown: CancellationToken::new(),
            session,
            ws_config,
            cluster,
            console_signins: TokenBucket::with_burst(
                crate::http::CONSOLE_SIGNINS_PER_SECOND,
                crate::http::CONSOLE_SIGNIN_BURST,
            ),
            capture,
            config,
            stack: crate::stack::Stack::default(),
        })
    }
}
