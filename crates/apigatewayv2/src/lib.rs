//! The apigatewayv2 control plane (restJson1, SigV4 name `apigateway`, paths under `/v2/`) for WebSocket APIs, free
//! of any HTTP framework: routing by the generated model's HTTP bindings, validation against its shapes and
//! AWS's WebSocket rules, and the operations over a [`store::ApiStore`].
//!
//! The server hands each authenticated request to [`ControlPlane::handle`] and writes back either the [`Reply`] or
//! the `wire::ApiError`. Operations of the model outside the WebSocket subset (domain names, VPC links, API
//! mappings, portals, import/export, routing rules, CORS) answer BadRequestException naming them.
//!
//! What is defined here is stored only: making deployments, authorizers and stage settings act on live sockets is
//! the data plane's part (`apigw`: deployments, stage variables and REQUEST authorizers act today). It reads what a stage serves with [`ControlPlane::deployed_stage`] (the stage from the
//! API's document, its deployment's definitions from `ApiStore::get_snapshot`), and notices changes by the
//! document's version.

mod document;
mod errors;
mod input;
mod ops;
mod router;
mod rules;
mod throttle;

use std::sync::Arc;

use http::{Method, StatusCode};
use serde_json::Value;
use store::{ApiChange, ApiStore, ApiStoreError, PageTokens, Snapshot};
use time::OffsetDateTime;
use wire::ApiError;

pub use aws_models::apigatewayv2::Operation;
pub use rules::{PREDEFINED_ROUTE_KEYS, TIMEOUT_MS};

/// AWS's default quota of WebSocket and HTTP APIs per account and region.
pub const MAX_APIS: u64 = 600;

/// The control plane's settings.
#[derive(Clone, Debug)]
pub struct Config {
    pub region: String,
    pub account_id: String,
    /// Where clients reach the server's WebSockets, `ws://host:port` (or `wss://`), without a trailing `/`.
    /// Every API's `ApiEndpoint` is `{endpoint_base}/@apis/{apiId}`; see [`ControlPlane::api_endpoint`].
    pub endpoint_base: String,
    /// The key that signs `NextToken`s.
    pub pagination_key: Vec<u8>,
    pub max_apis: u64,
    pub max_body_bytes: usize,
    /// The APIs of the configuration file and flags, as GetApi answers them (model-shaped members, `apiId` first
    /// among them): listed by GetApis before the stored ones and answered by GetApi, read-only (their sockets are
    /// `{endpoint_base}/{stage}`, so their `ApiEndpoint` is the base itself).
    pub configured: Vec<serde_json::Map<String, Value>>,
    /// AWS's fixed request-rate quotas of the control plane (`throttle.rs`); off by default, on in strict mode.
    pub aws_rate_limits: bool,
}

impl Config {
    pub fn new(region: &str, account_id: &str, endpoint_base: &str) -> Config {
        Config {
            region: region.to_owned(),
            account_id: account_id.to_owned(),
            endpoint_base: endpoint_base.trim_end_matches('/').to_owned(),
            pagination_key: Vec::new(),
            max_apis: MAX_APIS,
            max_body_bytes: 1024 * 1024,
            configured: Vec::new(),
            aws_rate_limits: false,
        }
    }
}

/// What the data plane serves for one stage: the stage as stored (variables, route settings, access log settings)
/// and the definitions of its deployment, as `document.rs` lays them out (`api`, `routes`, `integrations`, …).
#[derive(Clone, Debug, PartialEq)]
pub struct DeployedStage {
    pub api_id: String,
    pub deployment_id: String,
    /// The API document's version when it was read: a different version means the stage may have changed.
    pub version: i64,
    pub stage: serde_json::Map<String, Value>,
    pub definitions: Value,
}

/// A successful response: the model's status for the operation, with a JSON body or none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

impl Reply {
    /// `application/json` when there is a body.
    pub fn content_type(&self) -> Option<&'static str> {
        (!self.body.is_empty()).then_some("application/json")
    }
}

type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

/// The control plane: one per process, shared (`Arc`) by every request.
pub struct ControlPlane {
    store: Arc<dyn ApiStore>,
    config: Config,
    pages: PageTokens,
    clock: Clock,
    throttle: Option<throttle::Throttle>,
}

impl std::fmt::Debug for ControlPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlPlane").field("region", &self.config.region).finish_non_exhaustive()
    }
}

/// Who calls the control plane: a client, or the template loader (which may set CloudFormation's own tags).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    User,
    Stack,
}

/// What a change writes besides the document: a deployment's snapshot and the snapshots it deletes.
#[derive(Default)]
pub(crate) struct Effects {
    pub(crate) snapshot: Option<Snapshot>,
    pub(crate) drop: Vec<String>,
}

/// How often a change is tried in all when other writers commit in between. Each lost attempt means another change
/// of the same API committed, so up to this many concurrent writers of one API always all succeed.
const CHANGE_ATTEMPTS: usize = 32;

impl ControlPlane {
    pub fn new(store: Arc<dyn ApiStore>, config: Config) -> ControlPlane {
        ControlPlane {
            store,
            pages: PageTokens::new(&config.pagination_key),
            throttle: config.aws_rate_limits.then(throttle::Throttle::default),
            config,
            clock: Arc::new(OffsetDateTime::now_utc),
        }
    }

    /// Replaces the wall clock (tests). Times are truncated to milliseconds.
    pub fn with_clock(mut self, clock: impl Fn() -> OffsetDateTime + Send + Sync + 'static) -> ControlPlane {
        self.clock = Arc::new(clock);
        self
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// `{endpoint_base}/@apis/{apiId}`: a URL on this server's own listener, so that it works with no DNS set-up.
    /// `{ApiEndpoint}/{stage}` is the stage's WebSocket URL once the data plane routes `/@apis/{apiId}/{stage}`
    /// (`@` cannot occur in a stage name, so the path cannot clash with `/{stage}`).
    pub fn api_endpoint(&self, api_id: &str) -> String {
        format!("{}/@apis/{api_id}", self.config.endpoint_base)
    }

    /// The stage's deployed definitions, in two keyed reads (the API's document, then the snapshot); `None` when the
    /// API or the stage does not exist or the stage has no deployment (AWS refuses handshakes then).
    pub async fn deployed_stage(&self, api_id: &str, stage_name: &str) -> Result<Option<DeployedStage>, ApiError> {
        let (record, doc) = match self.load(api_id).await {
            Ok(loaded) => loaded,
            Err(err) if err.code == wire::ErrorCode::NotFound => return Ok(None),
            Err(err) => return Err(err),
        };
        let Some(stage) = doc.get(&document::STAGES, None, stage_name) else { return Ok(None) };
        let Some(deployment_id) = stage.get("deploymentId").and_then(Value::as_str) else { return Ok(None) };
        let snapshot = match self.store.get_snapshot(api_id, deployment_id).await {
            Ok(snapshot) => snapshot,
            Err(ApiStoreError::SnapshotNotFound { .. }) => return Ok(None),
            Err(err) => return Err(self.store_error(err)),
        };
        let definitions = serde_json::from_str(&snapshot.definitions)
            .map_err(|_| errors::internal(&"a stored deployment is not JSON"))?;
        Ok(Some(DeployedStage {
            api_id: api_id.to_owned(),
            deployment_id: deployment_id.to_owned(),
            version: record.version,
            stage: stage.clone(),
            definitions,
        }))
    }

    /// The operation a request is for, if it names one Switchboard serves (for metrics labels).
    pub fn operation(method: &Method, raw_path: &str) -> Option<Operation> {
        router::route(method, raw_path).ok().map(|r| r.op)
    }

    /// Serves one request. `raw_path` is the path as sent (still percent-encoded), `raw_query` the query without
    /// `?`, `body` the raw body. Authentication happens before this call. Tags with the reserved `aws:` prefix are
    /// refused, as AWS refuses them to its users.
    pub async fn handle(
        &self,
        method: &Method,
        raw_path: &str,
        raw_query: Option<&str>,
        body: &[u8],
    ) -> Result<Reply, ApiError> {
        self.handle_as(Caller::User, method, raw_path, raw_query, body).await
    }

    /// Serves one request of the template loader, which tags what it creates with `aws:cloudformation:*` as
    /// CloudFormation does; other `aws:` tags are refused to it too.
    pub async fn handle_for_stack(
        &self,
        method: &Method,
        raw_path: &str,
        raw_query: Option<&str>,
        body: &[u8],
    ) -> Result<Reply, ApiError> {
        self.handle_as(Caller::Stack, method, raw_path, raw_query, body).await
    }

    async fn handle_as(
        &self,
        caller: Caller,
        method: &Method,
        raw_path: &str,
        raw_query: Option<&str>,
        body: &[u8],
    ) -> Result<Reply, ApiError> {
        let route = router::route(method, raw_path)?;
        if body.len() > self.config.max_body_bytes {
            return Err(errors::bad_request(format!(
                "The request body is larger than the maximum of {} bytes",
                self.config.max_body_bytes
            )));
        }
        let op = route.op;
        if let Some(throttle) = &self.throttle {
            throttle.admit(op, (self.clock)())?;
        }
        let input = input::read(op, route.labels, raw_query, body)?;
        if let Some(Value::Object(tags)) = input.body.get("tags") {
            rules::check_tag_keys(tags.keys(), caller == Caller::Stack)?;
        }
        let value = self.dispatch(op, input).await?;
        let status = StatusCode::from_u16(op.model().http.response_code).unwrap_or(StatusCode::OK);
        let body = match value {
            Some(value) if status != StatusCode::NO_CONTENT => serde_json::to_vec(&value).unwrap_or_default(),
            _ => Vec::new(),
        };
        Ok(Reply { status, body })
    }

    /// The current time, truncated to milliseconds.
    fn now(&self) -> OffsetDateTime {
        let t = (self.clock)();
        t.replace_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000).unwrap_or(t)
    }

    fn store_error(&self, err: ApiStoreError) -> ApiError {
        errors::from_store(&self.config.account_id, err)
    }

    fn not_found(&self, resource_type: &str, id: &str) -> ApiError {
        errors::not_found(resource_type, &self.config.account_id, id)
    }

    /// Reads the API's document.
    async fn load(&self, api_id: &str) -> Result<(store::ApiRecord, document::Document), ApiError> {
        let record = self.store.get_api(api_id).await.map_err(|e| self.store_error(e))?;
        let doc = document::Document::parse(&record.document)?;
        Ok((record, doc))
    }

    /// Applies `f` to the API's document and commits the result if nobody else committed in between (else reads
    /// again and retries). `f` may fail, which writes nothing.
    async fn change<T>(
        &self,
        api_id: &str,
        mut f: impl FnMut(&mut document::Document, &mut Effects) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        for _ in 0..CHANGE_ATTEMPTS {
            let (record, mut doc) = self.load(api_id).await?;
            let mut effects = Effects::default();
            let out = f(&mut doc, &mut effects)?;
            let change = ApiChange {
                id: api_id.to_owned(),
                expected_version: record.version,
                update_time: self.now(),
                document: doc.to_text(),
                add_snapshot: effects.snapshot,
                drop_snapshots: effects.drop,
            };
            match self.store.save_api(change).await {
                Ok(_) => return Ok(out),
                Err(ApiStoreError::Stale { .. }) => continue,
                Err(e) => return Err(self.store_error(e)),
            }
        }
        Err(errors::internal(&format!("api {api_id} kept changing under {CHANGE_ATTEMPTS} attempts")))
    }

    /// The API as answered: its stored members and its endpoint.
    fn render_api(&self, doc: &document::Document) -> Value {
        let mut api = doc.api().clone();
        let id = api.get("apiId").and_then(Value::as_str).unwrap_or_default().to_owned();
        api.insert("apiEndpoint".to_owned(), Value::String(self.api_endpoint(&id)));
        Value::Object(api)
    }
}

#[cfg(test)]
mod tests;
