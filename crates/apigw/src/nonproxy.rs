//! Non-proxy integrations (AWS, HTTP, MOCK): the request mapped by the template its selection expression picks
//! (or passed through, or refused, as its passthrough behaviour says), the backend called, then the integration
//! response whose key matches what the response selection expression reads, its template applied to the answer.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use mapping::{Inputs, Template};
use regex::{Regex, RegexBuilder};
use serde_json::{Map, Value};

use crate::connect::ConnContext;
use crate::integration::{Answer, Call, FunctionCall, Invoker, Outcome, integration_uri, resolve_parameter};
use crate::model::{Integration, IntegrationType, PassthroughBehavior};
use crate::selection::SelectionExpression;

/// A template as read once: ready, or why it does not read (then it answers `Internal server error`).
type Parsed = Result<Template, String>;

/// An integration's templates and integration responses, read once per deployment or configuration.
#[derive(Debug)]
pub(crate) struct Compiled {
    request: HashMap<String, Parsed>,
    /// Pattern keys in key order, then `$default`.
    responses: Vec<Response>,
}

#[derive(Debug)]
struct Response {
    /// `None` for `$default`.
    pattern: Option<Regex>,
    templates: HashMap<String, Parsed>,
    selection: Option<String>,
    to_text: bool,
}

fn parse_all(templates: &HashMap<String, String>) -> HashMap<String, Parsed> {
    templates.iter().map(|(key, source)| (key.clone(), Template::parse(source).map_err(|e| e.to_string()))).collect()
}

/// `/regex/` as a whole-value match; an expression that does not compile (or is too big) matches nothing.
fn pattern(key: &str) -> Option<Option<Regex>> {
    if key == "$default" {
        return Some(None);
    }
    let inner = key.strip_prefix('/')?.strip_suffix('/')?;
    match RegexBuilder::new(&format!("^(?:{inner})$")).size_limit(1 << 20).build() {
        Ok(regex) => Some(Some(regex)),
        Err(err) => {
            tracing::warn!(key, %err, "An integration response's key is not a regular expression; it matches nothing.");
            None
        }
    }
}

impl Compiled {
    pub(crate) fn of(integration: &Integration) -> Compiled {
        let mut responses: Vec<(&str, Response)> = Vec::new();
        let legacy = crate::model::IntegrationResponse {
            integration_response_key: "$default".to_owned(),
            response_templates: integration.response_templates.clone(),
            template_selection_expression: None,
            content_handling_strategy: None,
        };
        let listed = if integration.integration_responses.is_empty() && !integration.response_templates.is_empty() {
            std::slice::from_ref(&legacy)
        } else {
            integration.integration_responses.as_slice()
        };
        for response in listed {
            let Some(pattern) = pattern(&response.integration_response_key) else { continue };
            let compiled = Response {
                pattern,
                templates: parse_all(&response.response_templates),
                selection: response.template_selection_expression.clone(),
                to_text: response.content_handling_strategy.as_deref() == Some("CONVERT_TO_TEXT"),
            };
            responses.push((&response.integration_response_key, compiled));
        }
        responses.sort_by(|(a, ra), (b, rb)| (ra.pattern.is_none(), *a).cmp(&(rb.pattern.is_none(), *b)));
        Compiled {
            request: parse_all(&integration.request_templates),
            responses: responses.into_iter().map(|(_, r)| r).collect(),
        }
    }

    /// The first template that does not read, for configurations that refuse them.
    pub(crate) fn first_error(&self) -> Option<String> {
        let responses = self.responses.iter().flat_map(|r| r.templates.values());
        self.request.values().chain(responses).find_map(|t| t.as_ref().err().cloned())
    }

    fn response_for(&self, selected: &str) -> Option<&Response> {
        self.responses.iter().find(|r| r.pattern.as_ref().is_none_or(|p| p.is_match(selected)))
    }
}

/// What the backend answered, before the integration response.
struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
    body: Bytes,
    /// A Lambda function's error message (AWS integrations), what their responses' keys match by default.
    error_message: Option<String>,
}

/// Runs a non-proxy integration.
pub(crate) async fn invoke(invoker: &Invoker, integration: &Integration, call: &Call<'_>) -> Outcome {
    let read_now;
    let compiled = match &integration.compiled {
        Some(compiled) => compiled.as_ref(),
        None => {
            read_now = Compiled::of(integration);
            &read_now
        }
    };
    let request_body = call.body.unwrap_or_default();
    let context = context(call);
    let stage_variables = Value::Object(call.ctx.stage_variables.clone());
    let params = params(call.ctx);
    let inputs = |body| Inputs { body, context: &context, stage_variables: &stage_variables, params: &params };

    let key = template_key(integration.template_selection_expression.as_deref(), request_body, None);
    let template = key.as_deref().and_then(|k| compiled.request.get(k)).or_else(|| compiled.request.get("$default"));
    let payload = match (template, integration.passthrough_behavior) {
        (Some(Ok(template)), _) => match template.render(&inputs(request_body)) {
            Ok(out) => out,
            Err(err) => return Outcome::Failed(format!("request mapping template: {err}")),
        },
        (Some(Err(err)), _) => return Outcome::Failed(format!("request mapping template: {err}")),
        (None, PassthroughBehavior::WhenNoMatch) => request_body.to_owned(),
        (None, PassthroughBehavior::WhenNoTemplates) if compiled.request.is_empty() => request_body.to_owned(),
        (None, _) => return Outcome::Unsupported,
    };
    let payload = match integration.content_handling_strategy.as_deref() {
        Some("CONVERT_TO_BINARY") => match STANDARD.decode(payload.trim()) {
            Ok(bytes) => bytes,
            Err(err) => return Outcome::Failed(format!("CONVERT_TO_BINARY: the payload is not base64: {err}")),
        },
        _ => payload.into_bytes(),
    };

    let raw = match integration.integration_type {
        IntegrationType::Mock => {
            Raw { status: mock_status(&payload), headers: Vec::new(), body: Bytes::new(), error_message: None }
        }
        IntegrationType::Aws => {
            let uri = integration_uri(integration, call.ctx);
            match invoker.call_function(&uri, payload, integration.timeout()).await {
                FunctionCall::Answered(body) => Raw { status: 200, headers: Vec::new(), body, error_message: None },
                FunctionCall::FunctionError(body) => {
                    let error_message = serde_json::from_slice::<Value>(&body)
                        .ok()
                        .and_then(|doc| doc.get("errorMessage").map(mapping_text))
                        .unwrap_or_default();
                    Raw { status: 500, headers: Vec::new(), body, error_message: Some(error_message) }
                }
                FunctionCall::Failed(reason) => return Outcome::Failed(reason),
                FunctionCall::TimedOut => return Outcome::TimedOut,
            }
        }
        IntegrationType::Http => match invoker.http_call(integration, call, payload).await {
            Ok(answer) => {
                Raw { status: answer.status, headers: answer.headers, body: answer.body, error_message: None }
            }
            Err(outcome) => return outcome,
        },
        IntegrationType::AwsProxy | IntegrationType::HttpProxy => {
            return Outcome::Failed("a proxy integration has no mapping".to_owned());
        }
    };

    let default_selection = match integration.integration_type {
        IntegrationType::Aws => "${integration.response.body.errorMessage}",
        _ => "${integration.response.statuscode}",
    };
    let selection = integration.integration_response_selection_expression.as_deref().unwrap_or(default_selection);
    let selected = template_key(Some(selection), request_body, Some(&raw)).unwrap_or_default();
    let Some(response) = compiled.response_for(&selected) else {
        return Outcome::Answer(Answer { status: raw.status, headers: raw.headers, body: None });
    };
    let body = match std::str::from_utf8(&raw.body) {
        Ok(text) => text.to_owned(),
        Err(_) if response.to_text => STANDARD.encode(&raw.body),
        Err(_) => String::from_utf8_lossy(&raw.body).into_owned(),
    };
    let key = template_key(response.selection.as_deref(), request_body, Some(&raw));
    let template =
        key.as_deref().and_then(|k| response.templates.get(k)).or_else(|| response.templates.get("$default"));
    let body = match template {
        None => body,
        Some(Err(err)) => return Outcome::Failed(format!("response mapping template: {err}")),
        Some(Ok(template)) => match template.render(&inputs(&body)) {
            Ok(out) => out,
            Err(err) => return Outcome::Failed(format!("response mapping template: {err}")),
        },
    };
    Outcome::Answer(Answer { status: raw.status, headers: raw.headers, body: (!body.is_empty()).then_some(body) })
}

/// A MOCK's status: its request template's output `{"statusCode": …}`, 200 otherwise.
fn mock_status(payload: &[u8]) -> u16 {
    serde_json::from_slice::<Value>(payload)
        .ok()
        .and_then(|v| v.get("statusCode").and_then(Value::as_u64))
        .and_then(|s| u16::try_from(s).ok())
        .filter(|s| (100..600).contains(s))
        .unwrap_or(200)
}

fn mapping_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Evaluates a template or response selection expression: `${request.body.x}` against the message, the
/// integration response's `statuscode`, `body.errorMessage` and `header.X` once there is one, anything else as the
/// static key it is; absent, `$default`.
fn template_key(expression: Option<&str>, request_body: &str, raw: Option<&Raw>) -> Option<String> {
    let Some(expression) = expression else { return Some("$default".to_owned()) };
    let mut expression = expression.to_owned();
    if let Some(raw) = raw {
        let escape = |s: &str| s.replace('$', "\\$");
        let status = raw.status.to_string();
        let message = escape(raw.error_message.as_deref().unwrap_or_default());
        for (name, value) in
            [("integration.response.statuscode", status.as_str()), ("integration.response.body.errorMessage", &message)]
        {
            expression = expression.replace(&format!("${{{name}}}"), value).replace(&format!("${name}"), value);
        }
        const HEADER: &str = "${integration.response.header.";
        while let Some(start) = expression.find(HEADER) {
            let Some(len) = expression[start..].find('}') else { break };
            let name = &expression[start + HEADER.len()..start + len];
            let value = raw.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| escape(v));
            expression.replace_range(start..start + len + 1, &value.unwrap_or_default());
        }
    }
    SelectionExpression::parse(&expression).ok()?.evaluate(request_body)
}

/// What `$context.*` reads in a template: the variables request parameters read, and the authorizer's values
/// (stringified, as on AWS).
fn context(call: &Call<'_>) -> Value {
    const NAMES: [&str; 20] = [
        "connectionId",
        "routeKey",
        "eventType",
        "requestId",
        "extendedRequestId",
        "messageId",
        "stage",
        "apiId",
        "domainName",
        "connectedAt",
        "requestTimeEpoch",
        "identity.sourceIp",
        "identity.userAgent",
        "identity.accessKey",
        "identity.accountId",
        "identity.caller",
        "identity.user",
        "identity.userArn",
        "disconnectStatusCode",
        "disconnectReason",
    ];
    let mut context = Map::new();
    for name in NAMES {
        let Some(value) = resolve_parameter(&format!("context.{name}"), call) else { continue };
        match name.split_once('.') {
            Some((group, member)) => {
                if let Value::Object(group) =
                    context.entry(group.to_owned()).or_insert_with(|| Value::Object(Map::new()))
                {
                    group.insert(member.to_owned(), Value::String(value));
                }
            }
            None => {
                context.insert(name.to_owned(), Value::String(value));
            }
        }
    }
    context.insert("messageDirection".to_owned(), Value::String("IN".to_owned()));
    if let Some(authorizer) = &call.ctx.authorizer {
        let values = authorizer.iter().map(|(k, v)| (k.clone(), Value::String(mapping_text(v)))).collect();
        context.insert("authorizer".to_owned(), Value::Object(values));
    }
    Value::Object(context)
}

/// `$input.params()`: the handshake's headers and query string (`$connect` only), no path parameters.
fn params(ctx: &ConnContext) -> Value {
    let object = |pairs: &[(String, String)]| {
        Value::Object(pairs.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect())
    };
    serde_json::json!({"path": {}, "querystring": object(&ctx.query), "header": object(&ctx.headers)})
}

#[cfg(test)]
mod tests;
