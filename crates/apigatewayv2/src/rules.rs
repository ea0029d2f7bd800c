//! What apigatewayv2 enforces on WebSocket APIs beyond the shapes of the model: route keys, selection expressions,
//! integration types and URIs, timeouts, stage names, references between resources, and uniqueness. Each check
//! takes the resource as it will be stored (after defaults, or merged with an update) and the API's document.

use serde_json::{Map, Value};
use wire::ApiError;

use crate::document::{
    AUTHORIZERS, DEPLOYMENTS, Document, INTEGRATION_RESPONSES, INTEGRATIONS, MODELS, ROUTE_RESPONSES, ROUTES, STAGES,
};
use crate::errors::{bad_request, conflict};

/// AWS's integration timeout range for WebSocket APIs, in milliseconds (the model allows up to 30,000).
pub const TIMEOUT_MS: std::ops::RangeInclusive<i64> = 50..=29_000;
/// The predefined route keys.
pub const PREDEFINED_ROUTE_KEYS: [&str; 3] = ["$connect", "$disconnect", "$default"];
/// What a name or key may be at most, in characters (the model's `StringWithLengthBetween1And128`).
const MAX_NAME: usize = 128;

type Item = Map<String, Value>;

fn str_of<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(Value::as_str)
}

fn length(name: &str, value: Option<&str>, max: usize) -> Result<(), ApiError> {
    match value {
        Some(v) if v.is_empty() || v.chars().count() > max => {
            Err(bad_request(format!("{name} must be between 1 and {max} characters long")))
        }
        _ => Ok(()),
    }
}

/// Whether an item of `items` other than `id` has `value` as its `member` (keys and names are unique per parent).
fn taken(items: &Item, member: &str, value: &str, id: &str) -> bool {
    items.iter().any(|(other, item)| other != id && item.get(member).and_then(Value::as_str) == Some(value))
}

/// `$request.body.x` / `${request.body.x}` and the like: a selection expression over the request.
fn is_request_expression(s: &str) -> bool {
    let inner = s.strip_prefix("${").and_then(|r| r.strip_suffix('}')).or_else(|| s.strip_prefix('$'));
    inner.is_some_and(|r| {
        ["request.body", "request.header.", "request.querystring.", "context."]
            .iter()
            .any(|p| r.starts_with(p) && !r.chars().any(char::is_whitespace))
    })
}

/// An API as it will be stored.
pub(crate) fn api(api: &Item, creating: bool) -> Result<(), ApiError> {
    if creating && str_of(api, "protocolType") == Some("HTTP") {
        return Err(bad_request(
            "ProtocolType HTTP is not supported by Switchboard: only WEBSOCKET APIs can be created",
        ));
    }
    for http_only in ["corsConfiguration", "routeKey", "target", "credentialsArn"] {
        if api.contains_key(http_only) {
            return Err(bad_request(format!("{http_only} is supported only for HTTP APIs")));
        }
    }
    length("Name", str_of(api, "name"), MAX_NAME)?;
    length("Version", str_of(api, "version"), 64)?;
    match str_of(api, "routeSelectionExpression") {
        None => return Err(bad_request("RouteSelectionExpression is required for WEBSOCKET APIs")),
        Some(e) if !is_request_expression(e) => {
            return Err(bad_request(format!("Invalid RouteSelectionExpression specified: {e}")));
        }
        Some(_) => {}
    }
    match str_of(api, "apiKeySelectionExpression") {
        None | Some("$request.header.x-api-key" | "$context.authorizer.usageIdentifierKey") => Ok(()),
        Some(e) => Err(bad_request(format!(
            "Invalid ApiKeySelectionExpression specified: {e}; use $request.header.x-api-key or \
             $context.authorizer.usageIdentifierKey"
        ))),
    }
}

/// A route as it will be stored; `id` is its own id (its key may repeat only on itself).
pub(crate) fn route(doc: &Document, route: &Item, id: &str) -> Result<(), ApiError> {
    let key = str_of(route, "routeKey").unwrap_or_default();
    length("RouteKey", Some(key), MAX_NAME)?;
    if key.starts_with('$') && !PREDEFINED_ROUTE_KEYS.contains(&key) {
        return Err(bad_request(format!(
            "Invalid route key {key}: keys starting with $ are reserved for $connect, $disconnect and $default"
        )));
    }
    if taken(doc.items(&ROUTES, None), "routeKey", key, id) {
        return Err(conflict(format!("Route with key {key} already exists for this API")));
    }
    let authorization = str_of(route, "authorizationType").unwrap_or("NONE");
    if authorization == "JWT" {
        return Err(bad_request("AuthorizationType JWT is supported only for HTTP APIs"));
    }
    if authorization != "NONE" && key != "$connect" {
        return Err(bad_request("Currently, authorization is restricted to the $connect route only"));
    }
    match (authorization, str_of(route, "authorizerId")) {
        ("CUSTOM", None) => return Err(bad_request("AuthorizerId is required for AuthorizationType CUSTOM")),
        ("CUSTOM", Some(a)) if doc.get(&AUTHORIZERS, None, a).is_none() => {
            return Err(bad_request(format!("Invalid authorizer identifier specified: {a}")));
        }
        (other, Some(_)) if other != "CUSTOM" => {
            return Err(bad_request("AuthorizerId is allowed only with AuthorizationType CUSTOM"));
        }
        _ => {}
    }
    if let Some(target) = str_of(route, "target") {
        let exists = target.strip_prefix("integrations/").is_some_and(|i| doc.get(&INTEGRATIONS, None, i).is_some());
        if !exists {
            return Err(bad_request(format!(
                "Invalid target {target}: use integrations/{{integrationId}} of this API"
            )));
        }
    }
    if let Some(e) = str_of(route, "routeResponseSelectionExpression")
        && e != "$default"
    {
        return Err(bad_request("RouteResponseSelectionExpression must be $default for WEBSOCKET APIs"));
    }
    if let Some(e) = str_of(route, "modelSelectionExpression")
        && e != "$default"
        && !is_request_expression(e)
    {
        return Err(bad_request(format!("Invalid ModelSelectionExpression specified: {e}")));
    }
    model_references(doc, route.get("requestModels"))?;
    if let Some(Value::Object(parameters)) = route.get("requestParameters") {
        for name in parameters.keys() {
            let ok = ["route.request.header.", "route.request.querystring."]
                .iter()
                .any(|p| name.strip_prefix(p).is_some_and(|rest| !rest.is_empty()));
            if !ok {
                return Err(bad_request(format!(
                    "Invalid request parameter {name}: use route.request.header.{{name}} or \
                     route.request.querystring.{{name}}"
                )));
            }
        }
    }
    length("OperationName", str_of(route, "operationName"), 64)
}

/// A route response as it will be stored.
pub(crate) fn route_response(doc: &Document, route_id: &str, item: &Item, id: &str) -> Result<(), ApiError> {
    let key = str_of(item, "routeResponseKey").unwrap_or_default();
    if key != "$default" {
        return Err(bad_request("RouteResponseKey must be $default: WEBSOCKET routes have only that response"));
    }
    if taken(doc.items(&ROUTE_RESPONSES, Some(route_id)), "routeResponseKey", key, id) {
        return Err(conflict(format!("RouteResponse with key {key} already exists for this route")));
    }
    model_references(doc, item.get("responseModels"))
}

fn model_references(doc: &Document, models: Option<&Value>) -> Result<(), ApiError> {
    if let Some(Value::Object(models)) = models {
        for name in models.values().filter_map(Value::as_str) {
            if !taken(doc.items(&MODELS, None), "name", name, "") {
                return Err(bad_request(format!("Invalid model {name}: no model of that name")));
            }
        }
    }
    Ok(())
}

/// An integration as it will be stored.
pub(crate) fn integration(item: &Item) -> Result<(), ApiError> {
    let kind = str_of(item, "integrationType").unwrap_or_default();
    if str_of(item, "connectionType") == Some("VPC_LINK") || item.contains_key("connectionId") {
        return Err(bad_request("VPC_LINK connections are not supported by Switchboard"));
    }
    for http_only in ["integrationSubtype", "responseParameters", "tlsConfig"] {
        if item.contains_key(http_only) {
            return Err(bad_request(format!("{http_only} is supported only for HTTP APIs")));
        }
    }
    let uri = str_of(item, "integrationUri");
    match (kind, uri) {
        ("MOCK", _) => {}
        (_, None) => return Err(bad_request(format!("IntegrationUri is required for integration type {kind}"))),
        ("HTTP" | "HTTP_PROXY", Some(u)) if !is_http_url(u) => {
            return Err(bad_request(format!("Invalid HTTP endpoint specified for URI: {u}")));
        }
        ("AWS" | "AWS_PROXY", Some(u)) if !u.starts_with("arn:") => {
            return Err(bad_request(format!("Invalid ARN specified for URI: {u}")));
        }
        _ => {}
    }
    if matches!(kind, "HTTP" | "HTTP_PROXY") && !item.contains_key("integrationMethod") {
        return Err(bad_request(format!("IntegrationMethod is required for integration type {kind}")));
    }
    if let Some(t) = item.get("timeoutInMillis").and_then(Value::as_i64)
        && !TIMEOUT_MS.contains(&t)
    {
        return Err(bad_request(format!(
            "TimeoutInMillis must be between {} and {} milliseconds for WEBSOCKET APIs",
            TIMEOUT_MS.start(),
            TIMEOUT_MS.end()
        )));
    }
    match str_of(item, "payloadFormatVersion") {
        None | Some("1.0") => Ok(()),
        Some(v) => Err(bad_request(format!("PayloadFormatVersion {v} is not supported for WEBSOCKET APIs; use 1.0"))),
    }
}

fn is_http_url(s: &str) -> bool {
    let rest = s.strip_prefix("http://").or_else(|| s.strip_prefix("https://"));
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/') && !r.chars().any(char::is_whitespace))
}

/// An integration response as it will be stored.
pub(crate) fn integration_response(
    doc: &Document,
    integration_id: &str,
    item: &Item,
    id: &str,
) -> Result<(), ApiError> {
    let key = str_of(item, "integrationResponseKey").unwrap_or_default();
    let regex = key.len() >= 2 && key.starts_with('/') && key.ends_with('/');
    if key != "$default" && !regex {
        return Err(bad_request(format!(
            "Invalid IntegrationResponseKey {key}: use $default or a /regular expression/ over the status"
        )));
    }
    if taken(doc.items(&INTEGRATION_RESPONSES, Some(integration_id)), "integrationResponseKey", key, id) {
        return Err(conflict(format!("IntegrationResponse with key {key} already exists for this integration")));
    }
    Ok(())
}

/// A model as it will be stored.
pub(crate) fn model(doc: &Document, item: &Item, id: &str) -> Result<(), ApiError> {
    let name = str_of(item, "name").unwrap_or_default();
    length("Name", Some(name), MAX_NAME)?;
    if !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(bad_request(format!("Invalid model name {name}: use letters and digits only")));
    }
    if taken(doc.items(&MODELS, None), "name", name, id) {
        return Err(conflict(format!("Model with name {name} already exists for this API")));
    }
    match str_of(item, "schema") {
        None => Err(bad_request("Schema is required for WEBSOCKET API models")),
        Some(s) if s.chars().count() > 32_768 => Err(bad_request("Schema must be at most 32768 characters long")),
        Some(s) => match serde_json::from_str::<Value>(s) {
            Ok(schema @ Value::Object(_)) => compiles(schema),
            _ => Err(bad_request("Invalid model schema specified: the schema must be a JSON object")),
        },
    }
}

/// A model's schema must compile as JSON Schema draft 4 — what the data plane validates messages with — and may
/// refer only to itself.
fn compiles(schema: Value) -> Result<(), ApiError> {
    apigw::model::Model::check_schema(schema)
        .map_err(|err| bad_request(format!("Invalid model schema specified: {err}")))
}

/// An authorizer as it will be stored.
pub(crate) fn authorizer(item: &Item) -> Result<(), ApiError> {
    if str_of(item, "authorizerType") != Some("REQUEST") {
        return Err(bad_request("AuthorizerType must be REQUEST for WEBSOCKET APIs (JWT is for HTTP APIs)"));
    }
    for http_only in ["jwtConfiguration", "authorizerPayloadFormatVersion", "enableSimpleResponses"] {
        if item.contains_key(http_only) {
            return Err(bad_request(format!("{http_only} is supported only for HTTP APIs")));
        }
    }
    length("Name", str_of(item, "name"), MAX_NAME)?;
    match str_of(item, "authorizerUri") {
        None => return Err(bad_request("AuthorizerUri is required for REQUEST authorizers")),
        Some(u) if !u.starts_with("arn:") && !is_http_url(u) => {
            return Err(bad_request(format!("Invalid authorizer URI specified: {u}")));
        }
        Some(_) => {}
    }
    if let Some(Value::Array(sources)) = item.get("identitySource") {
        for source in sources.iter().filter_map(Value::as_str) {
            let ok = ["route.request.header.", "route.request.querystring.", "stageVariables.", "context."]
                .iter()
                .any(|p| source.strip_prefix(p).is_some_and(|rest| !rest.is_empty()));
            if !ok {
                return Err(bad_request(format!(
                    "Invalid identity source {source}: use route.request.header.X, route.request.querystring.X, \
                     stageVariables.X or context.X"
                )));
            }
        }
    }
    Ok(())
}

/// A stage as it will be stored; `creating` checks the name.
pub(crate) fn stage(doc: &Document, item: &Item, creating: bool) -> Result<(), ApiError> {
    let name = str_of(item, "stageName").unwrap_or_default();
    if creating {
        if name == "$default" {
            return Err(bad_request("The $default stage is supported only for HTTP APIs"));
        }
        length("StageName", Some(name), MAX_NAME)?;
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(bad_request(format!("Invalid stage name {name}: use letters, digits, - and _")));
        }
        if doc.get(&STAGES, None, name).is_some() {
            return Err(conflict(format!("Stage {name} already exists")));
        }
    }
    if let Some(d) = str_of(item, "deploymentId")
        && doc.get(&DEPLOYMENTS, None, d).is_none()
    {
        return Err(bad_request(format!("Invalid deployment identifier specified: {d}")));
    }
    if let Some(Value::Object(settings)) = item.get("routeSettings") {
        for key in settings.keys() {
            if !taken(doc.items(&ROUTES, None), "routeKey", key, "") {
                return Err(bad_request(format!(
                    "Unable to find Route by key {key} within the provided RouteSettings"
                )));
            }
        }
    }
    if let Some(Value::Object(log)) = item.get("accessLogSettings") {
        let arn = log.get("destinationArn").and_then(Value::as_str);
        if arn.is_some_and(|a| !a.starts_with("arn:")) {
            return Err(bad_request("AccessLogSettings.DestinationArn must be an ARN"));
        }
        let format = log.get("format").and_then(Value::as_str);
        if arn.is_some() != format.is_some() {
            return Err(bad_request("AccessLogSettings needs both DestinationArn and Format"));
        }
        if let Some(format) = format {
            apigw::access_log::check_format(format).map_err(bad_request)?;
        }
    }
    Ok(())
}

/// AWS's answer to a tag key with the reserved prefix.
pub(crate) const RESERVED_TAG_KEY: &str = "Invalid tag key. Tag keys cannot start with 'aws:' (case insensitive)";

/// Refuses tag keys that start with `aws:` in any case, but CloudFormation's own (`aws:cloudformation:*`) when the
/// template loader sets them.
pub(crate) fn check_tag_keys<'a>(keys: impl Iterator<Item = &'a String>, stack: bool) -> Result<(), ApiError> {
    for key in keys {
        let reserved = key.get(..4).is_some_and(|prefix| prefix.eq_ignore_ascii_case("aws:"));
        if reserved && !(stack && key.starts_with("aws:cloudformation:")) {
            return Err(bad_request(RESERVED_TAG_KEY));
        }
    }
    Ok(())
}
