//! The WebSocket API model, named after apigatewayv2 (Api, Stage, Route, Integration, RouteResponse), as read from
//! configuration, and its validated runtime form.

use std::collections::HashMap;
use std::sync::Arc;

use hub::Scope;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::access_log::{AccessLog, AccessLogSettings};
mod integration;
pub use integration::{Integration, IntegrationResponse, IntegrationType, PassthroughBehavior};

use crate::nonproxy::Compiled;
use crate::selection::{ExpressionError, SelectionExpression};
pub use crate::throttle::RouteSettings;
use crate::throttle::Throttles;
pub use crate::validation::Model;
use crate::validation::RequestValidator;

/// One WebSocket API.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Api {
    pub api_id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default = "default_selection_expression")]
    pub route_selection_expression: String,
    /// Where a connection's API key is read for routes with `api_key_required`: `$request.header.x-api-key` (the
    /// default) or `$context.authorizer.usageIdentifierKey`.
    #[serde(default)]
    pub api_key_selection_expression: Option<String>,
    #[serde(default)]
    pub stages: Vec<Stage>,
    #[serde(default)]
    pub routes: Vec<Route>,
    #[serde(default)]
    pub integrations: Vec<Integration>,
    #[serde(default)]
    pub route_responses: Vec<RouteResponse>,
    #[serde(default)]
    pub authorizers: Vec<Authorizer>,
    /// Models that routes' `request_models` validate message bodies against.
    #[serde(default)]
    pub models: Vec<Model>,
}

impl Api {
    /// An API with these stages and nothing else yet: no routes, integrations, authorizers or models.
    pub fn with_stages(api_id: &str, stages: Vec<Stage>) -> Api {
        Api {
            api_id: api_id.to_owned(),
            name: None,
            route_selection_expression: default_selection_expression(),
            api_key_selection_expression: None,
            stages,
            routes: Vec::new(),
            integrations: Vec::new(),
            route_responses: Vec::new(),
            authorizers: Vec::new(),
            models: Vec::new(),
        }
    }
}

pub fn default_selection_expression() -> String {
    "$request.body.action".to_owned()
}

/// A deployment stage: clients connect to `/{stage_name}`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    pub stage_name: String,
    #[serde(default)]
    pub stage_variables: Map<String, Value>,
    /// Throttling of every route of the stage, unless `route_settings` has the route's own.
    #[serde(default)]
    pub default_route_settings: Option<RouteSettings>,
    /// Route key → its throttling.
    #[serde(default)]
    pub route_settings: HashMap<String, RouteSettings>,
    /// One line per event, in this format, to this destination's file.
    #[serde(default)]
    pub access_log_settings: Option<AccessLogSettings>,
}

/// A route: a key and the integration it targets (`integrations/{integration_id}`, or the bare id).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    pub route_key: String,
    #[serde(default)]
    pub target: Option<String>,
    /// `$default` makes the route two-way once it also has a `$default` route response.
    #[serde(default)]
    pub route_response_selection_expression: Option<String>,
    /// `NONE` (the default), `CUSTOM` (with `authorizer_id`) or `AWS_IAM`; the last two on `$connect` only.
    #[serde(default)]
    pub authorization_type: Option<String>,
    #[serde(default)]
    pub authorizer_id: Option<String>,
    /// Picks the key of `request_models` a message is validated with (`$default` when absent or unmatched).
    #[serde(default)]
    pub model_selection_expression: Option<String>,
    /// Selection key → model name.
    #[serde(default)]
    pub request_models: HashMap<String, String>,
    /// The route answers only connections that presented an API key the server accepts.
    #[serde(default)]
    pub api_key_required: bool,
}

/// A REQUEST authorizer: a Lambda function (its ARN or API Gateway's `…/invocations` URI; or a Lambda-style
/// function over HTTP) that answers an IAM policy for a `$connect`, given the identity sources it needs.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authorizer {
    pub authorizer_id: String,
    #[serde(default)]
    pub name: Option<String>,
    pub authorizer_uri: String,
    /// `route.request.header.X`, `route.request.querystring.X`, `stageVariables.X`, `context.X`: each must be
    /// present and not empty, else the handshake is refused 401 without calling the authorizer.
    #[serde(default)]
    pub identity_source: Vec<String>,
}

/// A route response; only the `$default` key exists for WebSocket APIs.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteResponse {
    pub route_key: String,
    #[serde(default = "default_key")]
    pub route_response_key: String,
}

fn default_key() -> String {
    "$default".to_owned()
}

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("api `{api}`: {source}")]
    Expression { api: String, source: ExpressionError },
    #[error("api `{api}`: {message}")]
    Invalid { api: String, message: String },
}

/// The validated, ready-to-serve form of one API.
#[derive(Debug)]
pub struct ApiRuntime {
    pub api: Api,
    pub selection: SelectionExpression,
    routes: HashMap<String, RouteRuntime>,
    throttles: Throttles,
    /// Stage name → its access log.
    access_logs: HashMap<String, AccessLog>,
    /// Stage name → the scope of its connections, whose strings they all share: a fan-out that checks each member's
    /// stage then reads one string for all of them, not one allocation per connection (and an idle connection holds
    /// none of its own).
    scopes: HashMap<String, Scope>,
}

/// A route with its integration resolved.
#[derive(Debug)]
pub struct RouteRuntime {
    pub route_key: String,
    pub integration: Option<Arc<Integration>>,
    pub two_way: bool,
    /// The REQUEST authorizer that guards it (`$connect` only).
    pub authorizer: Option<Arc<Authorizer>>,
    /// Validates message bodies against the route's request models, when it has some.
    pub validator: Option<RequestValidator>,
    /// `AWS_IAM`: a handshake must be SigV4-signed (headers or a presigned URL, service `execute-api`) by a key pair
    /// the server accepts (`$connect` only).
    pub iam: bool,
    /// Only connections with an accepted API key reach it.
    pub api_key_required: bool,
}

impl ApiRuntime {
    pub fn route(&self, key: &str) -> Option<&RouteRuntime> {
        self.routes.get(key)
    }

    /// Takes one request of `route_key` at `stage` from the stage's route throttling; false when it is throttled.
    pub fn admit(&self, stage: &str, route_key: &str) -> bool {
        self.throttles.admit(stage, route_key)
    }

    /// Whether a handshake must be SigV4-signed: the `$connect` route's authorization is `AWS_IAM`.
    pub fn connect_requires_iam(&self) -> bool {
        self.routes.get("$connect").is_some_and(|route| route.iam)
    }

    /// Where a connection's API key is read ([`crate::api_keys::DEFAULT_SELECTION`] unless the API says).
    pub fn api_key_selection_expression(&self) -> &str {
        self.api.api_key_selection_expression.as_deref().unwrap_or(crate::api_keys::DEFAULT_SELECTION)
    }

    pub fn stage(&self, name: &str) -> Option<&Stage> {
        self.api.stages.iter().find(|s| s.stage_name == name)
    }

    /// The scope of a connection to stage `name`, if the API has that stage.
    pub fn scope(&self, name: &str) -> Option<Scope> {
        self.scopes.get(name).cloned()
    }

    /// The access log of stage `name`, if it has one.
    pub fn access_log(&self, name: &str) -> Option<&AccessLog> {
        self.access_logs.get(name)
    }
}

/// Every configured API, looked up by stage name (and by api id when the Host names one).
#[derive(Debug, Default)]
pub struct ApiSet {
    apis: Vec<Arc<ApiRuntime>>,
}

impl ApiSet {
    pub fn new(apis: Vec<Api>) -> Result<ApiSet, ModelError> {
        let mut out = Vec::with_capacity(apis.len());
        let mut ids = std::collections::HashSet::new();
        for api in apis {
            if !ids.insert(api.api_id.clone()) {
                return Err(ModelError::Invalid { api: api.api_id.clone(), message: "duplicate api_id".to_owned() });
            }
            let runtime = validate(api)?;
            // A configured template that does not read is refused at start; a deployed one answers errors.
            for integration in &runtime.api.integrations {
                if let Some(error) = Compiled::of(integration).first_error() {
                    return Err(ModelError::Invalid {
                        api: runtime.api.api_id.clone(),
                        message: format!("integration `{}`: {error}", integration.integration_id),
                    });
                }
            }
            out.push(Arc::new(runtime));
        }
        Ok(ApiSet { apis: out })
    }

    /// The API serving `stage`; when several do, the one whose id is the first label of `host`, else the first
    /// declared.
    pub fn resolve(&self, stage: &str, host: Option<&str>) -> Option<(Arc<ApiRuntime>, &Stage)> {
        let chosen = self.chosen(stage, host)?;
        let stage = chosen.stage(stage)?;
        Some((chosen.clone(), stage))
    }

    /// The id of the API [`ApiSet::resolve`] chooses: the one a management call at `/{stage}/@connections/…` with
    /// this `host` reaches, as an upgrade to `/{stage}` with it would have connected to.
    pub fn resolve_id(&self, stage: &str, host: Option<&str>) -> Option<&str> {
        self.chosen(stage, host).map(|api| api.api.api_id.as_str())
    }

    /// The API the first label of `host` names, if one is configured.
    pub fn named_by_host(&self, host: Option<&str>) -> Option<&str> {
        let wanted = host.and_then(|h| h.split('.').next())?;
        self.by_id(wanted).map(|api| api.api.api_id.as_str())
    }

    fn chosen(&self, stage: &str, host: Option<&str>) -> Option<&Arc<ApiRuntime>> {
        let wanted = host.and_then(|h| h.split('.').next());
        let mut candidates = self.apis.iter().filter(|a| a.stage(stage).is_some());
        let first = candidates.next()?;
        Some(std::iter::once(first).chain(candidates).find(|a| Some(a.api.api_id.as_str()) == wanted).unwrap_or(first))
    }

    pub fn by_id(&self, api_id: &str) -> Option<&Arc<ApiRuntime>> {
        self.apis.iter().find(|a| a.api.api_id == api_id)
    }

    pub fn apis(&self) -> impl Iterator<Item = &Arc<ApiRuntime>> {
        self.apis.iter()
    }
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// An integration URI the router can call: an `http(s)://` URL, a Lambda function ARN (plain or in API Gateway's
/// `…:lambda:path/…/invocations` form; stage variables may fill parts of it), or one a stage variable gives
/// (`${stageVariables.url}`).
pub(crate) fn is_url(uri: &str) -> bool {
    uri.starts_with("http://")
        || uri.starts_with("https://")
        || uri.starts_with("${stageVariables.")
        || (uri.starts_with("arn:") && (uri.contains(":lambda:") || uri.contains("${stageVariables.")))
}

/// Checks one API and resolves its routes' integrations.
pub(crate) fn validate(api: Api) -> Result<ApiRuntime, ModelError> {
    let invalid = |message: String| ModelError::Invalid { api: api.api_id.clone(), message };
    if !is_name(&api.api_id) {
        return Err(invalid("api_id must be 1-128 characters of [A-Za-z0-9_-]".to_owned()));
    }
    if api.stages.is_empty() {
        return Err(invalid("at least one stage is required".to_owned()));
    }
    let mut access_logs = HashMap::new();
    for stage in &api.stages {
        if !is_name(&stage.stage_name) {
            return Err(invalid(format!(
                "stage name `{}` must be 1-128 characters of [A-Za-z0-9_-]",
                stage.stage_name
            )));
        }
        if let Some(settings) = &stage.access_log_settings {
            crate::access_log::check_format(&settings.format)
                .map_err(|why| invalid(format!("stage `{}`: {why}", stage.stage_name)))?;
            if !settings.destination_arn.starts_with("arn:") {
                return Err(invalid(format!("stage `{}`: destination_arn must be an ARN", stage.stage_name)));
            }
            access_logs.insert(stage.stage_name.clone(), AccessLog::new(settings));
        }
    }
    let selection = SelectionExpression::parse(&api.route_selection_expression)
        .map_err(|source| ModelError::Expression { api: api.api_id.clone(), source })?;
    if let Some(expression) = &api.api_key_selection_expression
        && ![crate::api_keys::DEFAULT_SELECTION, crate::api_keys::AUTHORIZER_SELECTION].contains(&expression.as_str())
    {
        return Err(invalid(format!(
            "api_key_selection_expression `{expression}` must be {} or {}",
            crate::api_keys::DEFAULT_SELECTION,
            crate::api_keys::AUTHORIZER_SELECTION
        )));
    }

    let mut integrations = HashMap::new();
    for integration in &api.integrations {
        if !(50..=29_000).contains(&integration.timeout_in_millis) {
            return Err(invalid(format!(
                "integration `{}`: timeout_in_millis must be between 50 and 29000",
                integration.integration_id
            )));
        }
        if integration.integration_type != IntegrationType::Mock {
            let uri = integration.integration_uri.as_deref().unwrap_or_default();
            if !is_url(uri) {
                return Err(invalid(format!(
                    "integration `{}`: integration_uri must be an http:// or https:// URL or a Lambda function ARN",
                    integration.integration_id
                )));
            }
        }
        let mut integration = integration.clone();
        if integration.integration_type.maps() {
            integration.compiled = Some(Arc::new(Compiled::of(&integration)));
        }
        integrations.insert(integration.integration_id.clone(), Arc::new(integration));
    }

    let mut authorizers = HashMap::new();
    for authorizer in &api.authorizers {
        if !is_url(&authorizer.authorizer_uri) {
            return Err(invalid(format!(
                "authorizer `{}`: authorizer_uri must be a Lambda function ARN or an http:// or https:// URL",
                authorizer.authorizer_id
            )));
        }
        authorizers.insert(authorizer.authorizer_id.clone(), Arc::new(authorizer.clone()));
    }

    let mut routes = HashMap::new();
    for route in &api.routes {
        if route.route_key.starts_with('$')
            && !matches!(route.route_key.as_str(), "$connect" | "$disconnect" | "$default")
        {
            return Err(invalid(format!(
                "route key `{}`: only $connect, $disconnect and $default may start with `$`",
                route.route_key
            )));
        }
        let integration = match &route.target {
            None => None,
            Some(target) => {
                let id = target.strip_prefix("integrations/").unwrap_or(target);
                Some(integrations.get(id).cloned().ok_or_else(|| {
                    invalid(format!("route `{}` targets unknown integration `{id}`", route.route_key))
                })?)
            }
        };
        let connect = route.route_key == "$connect";
        let (authorizer, iam) =
            match (route.authorization_type.as_deref(), &route.authorizer_id) {
                (None | Some("NONE"), None) => (None, false),
                (Some("CUSTOM"), Some(id)) if connect => (
                    Some(authorizers.get(id).cloned().ok_or_else(|| {
                        invalid(format!("route `{}` names unknown authorizer `{id}`", route.route_key))
                    })?),
                    false,
                ),
                (Some("AWS_IAM"), None) if connect => (None, true),
                (Some("CUSTOM"), Some(_)) | (Some("AWS_IAM"), None) => {
                    return Err(invalid(format!(
                        "route `{}`: authorization is restricted to the $connect route only",
                        route.route_key
                    )));
                }
                (kind, id) => {
                    return Err(invalid(format!(
                        "route `{}`: authorization_type {} with authorizer_id {} is not supported (CUSTOM with an \
                     authorizer, AWS_IAM or NONE without one)",
                        route.route_key,
                        kind.unwrap_or("NONE"),
                        id.as_deref().unwrap_or("none")
                    )));
                }
            };
        let validator =
            RequestValidator::new(route.model_selection_expression.as_deref(), &route.request_models, &api.models)
                .map_err(|err| invalid(format!("route `{}`: {err}", route.route_key)))?;
        let has_response =
            api.route_responses.iter().any(|r| r.route_key == route.route_key && r.route_response_key == "$default");
        let two_way = has_response && route.route_response_selection_expression.as_deref() == Some("$default");
        if routes
            .insert(
                route.route_key.clone(),
                RouteRuntime {
                    route_key: route.route_key.clone(),
                    integration,
                    two_way,
                    authorizer,
                    validator,
                    iam,
                    api_key_required: route.api_key_required,
                },
            )
            .is_some()
        {
            return Err(invalid(format!("duplicate route key `{}`", route.route_key)));
        }
    }
    for response in &api.route_responses {
        if !routes.contains_key(&response.route_key) {
            return Err(invalid(format!("route response for unknown route `{}`", response.route_key)));
        }
        if response.route_response_key != "$default" {
            return Err(invalid("only the `$default` route response key is supported".to_owned()));
        }
    }
    let throttles = Throttles::of(&api.stages, &api.routes);
    let api_id: Arc<str> = api.api_id.as_str().into();
    let scopes = (api.stages.iter())
        .map(|stage| {
            let scope = Scope::Api { api_id: api_id.clone(), stage: stage.stage_name.as_str().into() };
            (stage.stage_name.clone(), scope)
        })
        .collect();
    Ok(ApiRuntime { api, selection, routes, throttles, access_logs, scopes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(toml_text: &str) -> Result<ApiSet, ModelError> {
        #[derive(Deserialize)]
        struct File {
            apis: Vec<Api>,
        }
        let file: File = toml::from_str(toml_text).unwrap();
        ApiSet::new(file.apis)
    }

    const GOOD: &str = r#"
        [[apis]]
        api_id = "chat"
        stages = [{ stage_name = "prod" }, { stage_name = "dev", stage_variables = { v = "1" } }]
        integrations = [
          { integration_id = "fn", integration_type = "AWS_PROXY", integration_uri = "http://127.0.0.1:1/" },
          { integration_id = "hosted", integration_type = "AWS_PROXY", integration_uri = "arn:aws:lambda:us-east-1:000000000000:function:chat:live" },
          { integration_id = "staged", integration_type = "AWS_PROXY", integration_uri = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:${stageVariables.fn}/invocations" },
        ]
        routes = [
          { route_key = "$connect", target = "integrations/fn" },
          { route_key = "send", target = "fn", route_response_selection_expression = "$default" },
        ]
        route_responses = [{ route_key = "send" }]

        [[apis]]
        api_id = "other"
        stages = [{ stage_name = "prod" }]
    "#;

    #[test]
    fn resolves_routes_and_stages() {
        let set = api(GOOD).unwrap();
        let (chat, stage) = set.resolve("dev", None).unwrap();
        assert_eq!(chat.api.api_id, "chat");
        assert_eq!(stage.stage_variables["v"], "1");
        assert!(chat.route("send").unwrap().two_way);
        assert!(!chat.route("$connect").unwrap().two_way);
        assert!(chat.route("nope").is_none());
        assert_eq!(set.resolve("prod", Some("other.localhost:8642")).unwrap().0.api.api_id, "other");
        assert_eq!(set.resolve("prod", Some("127.0.0.1")).unwrap().0.api.api_id, "chat");
        assert!(set.resolve("staging", None).is_none());
    }

    #[test]
    fn the_connections_of_a_stage_share_its_scope() {
        let set = api(GOOD).unwrap();
        let (chat, _) = set.resolve("dev", None).unwrap();
        let parts = |stage| match chat.scope(stage) {
            Some(Scope::Api { api_id, stage }) => (api_id, stage),
            other => panic!("{other:?}"),
        };
        let ((api_a, dev_a), (api_b, dev_b), (api_c, prod)) = (parts("dev"), parts("dev"), parts("prod"));
        assert_eq!((&*api_a, &*dev_a, &*prod), ("chat", "dev", "prod"));
        assert!(Arc::ptr_eq(&dev_a, &dev_b), "one stage name for every connection of the stage");
        assert!(Arc::ptr_eq(&api_a, &api_b) && Arc::ptr_eq(&api_a, &api_c), "one API id for every stage");
        assert!(chat.scope("staging").is_none());
    }

    #[test]
    fn refuses_bad_models() {
        for (bad, why) in [
            (
                r#"[[apis]]
                api_id = "a"
                stages = [{ stage_name = "p/q" }]"#,
                "stage name",
            ),
            (
                r#"[[apis]]
                api_id = "a"
                stages = [{ stage_name = "p" }]
                routes = [{ route_key = "x", target = "missing" }]"#,
                "unknown integration",
            ),
            (
                r#"[[apis]]
                api_id = "a"
                stages = [{ stage_name = "p" }]
                routes = [{ route_key = "$custom" }]"#,
                "may start with",
            ),
            (
                r#"[[apis]]
                api_id = "a"
                stages = [{ stage_name = "p" }]
                integrations = [{ integration_id = "f", integration_type = "AWS_PROXY", integration_uri = "ftp://x" }]"#,
                "http://",
            ),
            (
                r#"[[apis]]
                api_id = "a"
                route_selection_expression = "${request.body.x"
                stages = [{ stage_name = "p" }]"#,
                "unterminated",
            ),
            (
                r#"[[apis]]
                api_id = "a"
                stages = [{ stage_name = "p", access_log_settings = { destination_arn = "arn:aws:logs:r:1:log-group:g", format = "$context.status" } }]"#,
                "$context.requestId",
            ),
            (
                r#"[[apis]]
                api_id = "a"
                api_key_selection_expression = "$request.header.other"
                stages = [{ stage_name = "p" }]"#,
                "api_key_selection_expression",
            ),
        ] {
            let err = api(bad).unwrap_err().to_string();
            assert!(err.contains(why), "{err} should mention {why}");
        }
    }
}
