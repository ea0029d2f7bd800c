//! The `$connect` decision and the `$disconnect` notification of one connection.
//!
//! Their events name no connection: callers run them in a span that does (the handshake request's span, the
//! connection's span, or the span a cluster survivor opens for a dead node's connection).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::{Map, Value};
use time::OffsetDateTime;
use wire::Refusal;
use wire::apigw::{EventType, IamCaller, Identity};

use crate::api_keys::ApiKeys;
use crate::integration::{Call, Invoker, Outcome};
use crate::model::ApiRuntime;

/// Everything about a connection that its events carry; fixed at handshake time.
#[derive(Debug)]
pub struct ConnContext {
    pub api: Arc<ApiRuntime>,
    pub stage: String,
    pub stage_variables: Map<String, Value>,
    pub connection_id: String,
    pub connected_at: OffsetDateTime,
    pub identity: Identity,
    /// The `Host` the client used; `domainName` in events.
    pub domain_name: String,
    /// Handshake headers, names as the `$connect` event shows them; empty once `$connect` ran
    /// ([`ConnContext::after_connect`]).
    pub headers: Vec<(String, String)>,
    /// Handshake query string, decoded; empty once `$connect` ran.
    pub query: Vec<(String, String)>,
    /// What the REQUEST authorizer of `$connect` answered (`requestContext.authorizer` of every event).
    pub authorizer: Option<Map<String, Value>>,
    /// Who signed the handshake when `$connect`'s authorization is `AWS_IAM` (in every event's identity).
    pub caller: Option<Box<IamCaller>>,
    /// The API key the handshake presented (by the API's `ApiKeySelectionExpression`), for routes that require one.
    pub api_key: Option<String>,
}

impl ConnContext {
    /// What the connection keeps once `$connect` accepted it: the handshake's headers and query are dropped, since
    /// only the `$connect` event and its request parameters (`route.request.header.*`, `route.request.querystring.*`,
    /// `$connect` only, as on AWS) read them. An idle connection then holds no copy of its handshake.
    pub fn after_connect(mut self) -> ConnContext {
        self.headers = Vec::new();
        self.query = Vec::new();
        self
    }

    /// The same connection served by another deployment of its stage: its routes, integrations and stage variables.
    pub fn redeployed(&self, api: Arc<ApiRuntime>) -> ConnContext {
        ConnContext {
            stage_variables: api.stage(&self.stage).map(|s| s.stage_variables.clone()).unwrap_or_default(),
            api,
            stage: self.stage.clone(),
            connection_id: self.connection_id.clone(),
            connected_at: self.connected_at,
            identity: self.identity.clone(),
            domain_name: self.domain_name.clone(),
            headers: self.headers.clone(),
            query: self.query.clone(),
            authorizer: self.authorizer.clone(),
            caller: self.caller.clone(),
            api_key: self.api_key.clone(),
        }
    }
}

/// Where a connection of a deployed stage finds what its stage serves now (a new deployment applies to the next
/// message of every open connection); `None` while there is nothing newer to serve.
pub trait LiveStage: Send + Sync + std::fmt::Debug {
    fn current(&self) -> Pin<Box<dyn Future<Output = Option<Arc<ApiRuntime>>> + Send + '_>>;
}

/// What to answer a WebSocket handshake.
#[derive(Debug, PartialEq, Eq)]
pub enum ConnectDecision {
    /// Upgrade, adding these response headers (e.g. `Sec-WebSocket-Protocol`), the connection joining the groups
    /// and taking the metadata the answer set (`X-Switchboard-Groups`, `X-Switchboard-Metadata`).
    Accept { headers: Vec<(String, String)>, tags: hub::TagChange },
    /// Refuse with the integration's status and body.
    Reject { status: u16, body: Option<String> },
    /// Refuse as API Gateway does when the integration failed or timed out.
    Refuse(Refusal),
}

/// Runs the `$connect` route, if any: first its REQUEST authorizer, whose answer joins the context (refused: 401,
/// 403 or 500), then the API key check of a route with `ApiKeyRequired` (403), then its integration: 2xx accepts,
/// other statuses reject with that status, an integration failure refuses with 502 and a timeout with 504 (the
/// refusal table's `IntegrationFailed` and `IntegrationTimedOut`); a non-proxy integration whose passthrough
/// behaviour refuses the request rejects with 415.
///
/// With `capture`, the integration's call is recorded as a route decision of the connection.
pub async fn decide(
    invoker: &Invoker,
    keys: &ApiKeys,
    ctx: &mut ConnContext,
    request_id: &str,
    capture: Option<(&capture::Capture, &hub::Connection)>,
) -> ConnectDecision {
    // The stage's route throttling acts on `$connect` before anything runs (429, as the connection rate answers).
    if !ctx.api.admit(&ctx.stage, "$connect") {
        return ConnectDecision::Refuse(Refusal::TooManyConnections);
    }
    let mut usage_identifier_key = None;
    if let Some(authorizer) = ctx.api.route("$connect").and_then(|r| r.authorizer.clone()) {
        match crate::authorizer::authorize(invoker, &authorizer, ctx, request_id).await {
            Ok((answer, usage_key)) => {
                ctx.authorizer = Some(answer);
                usage_identifier_key = usage_key;
            }
            Err(refusal) => return ConnectDecision::Refuse(refusal),
        }
    }
    ctx.api_key =
        crate::api_keys::presented(ctx.api.api_key_selection_expression(), ctx, usage_identifier_key.as_deref());
    if ctx.api.route("$connect").is_some_and(|r| r.api_key_required)
        && !keys.accepts(&ctx.api.api.api_id, ctx.api_key.as_deref())
    {
        tracing::debug!("The handshake has no API key the $connect route accepts.");
        return ConnectDecision::Refuse(Refusal::ApiKeyMissing);
    }
    let ctx = &*ctx;
    let Some(integration) = ctx.api.route("$connect").and_then(|r| r.integration.clone()) else {
        return ConnectDecision::Accept { headers: Vec::new(), tags: hub::TagChange::default() };
    };
    let call = Call::connect(ctx, request_id);
    let started = tokio::time::Instant::now();
    let outcome = invoker.invoke(&integration, &call).await;
    if let Some((capture, conn)) = capture {
        crate::router::record_route(capture, conn, &integration, &call, &outcome, started.elapsed());
    }
    match outcome {
        Outcome::Answer(answer) if (200..300).contains(&answer.status) => {
            let mut headers: Vec<_> = answer.headers.into_iter().filter(|(name, _)| is_forwardable(name)).collect();
            match crate::management::ext::take_connect_tags(&mut headers) {
                Ok(tags) => ConnectDecision::Accept { headers, tags },
                Err(reason) => {
                    tracing::warn!(%reason, "The $connect integration set groups or metadata out of bounds.");
                    ConnectDecision::Refuse(Refusal::IntegrationFailed)
                }
            }
        }
        Outcome::Answer(answer) => ConnectDecision::Reject { status: answer.status, body: answer.body },
        Outcome::Failed(reason) => {
            tracing::warn!(%reason, "The $connect integration failed.");
            ConnectDecision::Refuse(Refusal::IntegrationFailed)
        }
        Outcome::TimedOut => ConnectDecision::Refuse(Refusal::IntegrationTimedOut),
        Outcome::Unsupported => {
            ConnectDecision::Reject { status: 415, body: Some(r#"{"message":"Unsupported Media Type"}"#.to_owned()) }
        }
    }
}

/// Headers an integration may add to the 101 response: not the ones that make the handshake itself.
fn is_forwardable(name: &str) -> bool {
    ![
        "connection",
        "upgrade",
        "sec-websocket-accept",
        "sec-websocket-extensions",
        "content-length",
        "transfer-encoding",
        "content-type",
    ]
    .iter()
    .any(|h| name.eq_ignore_ascii_case(h))
}

/// Runs the `$disconnect` route, if any. Its answer is ignored, as API Gateway ignores it.
pub async fn notify_disconnect(invoker: &Invoker, ctx: &ConnContext, code: u16, reason: &str) {
    let Some(integration) = ctx.api.route("$disconnect").and_then(|r| r.integration.clone()) else {
        return;
    };
    let request_id = hub::random_id();
    let call = Call {
        ctx,
        event_type: EventType::Disconnect,
        route_key: "$disconnect",
        request_id: &request_id,
        message_id: None,
        body: None,
        disconnect: Some((code, reason)),
    };
    match invoker.invoke(&integration, &call).await {
        Outcome::Answer(_) => {}
        Outcome::Failed(reason) => {
            tracing::warn!(%reason, "The $disconnect integration failed.")
        }
        Outcome::TimedOut => {
            tracing::warn!("The $disconnect integration timed out.")
        }
        Outcome::Unsupported => {
            tracing::warn!("No request template of the $disconnect integration matched; it was not called.")
        }
    }
}
