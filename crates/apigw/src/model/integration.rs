//! The integration part of the API model: how a route reaches its backend (the proxy types, and the non-proxy
//! ones with their mapping templates, passthrough behaviour and integration responses).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::nonproxy::Compiled;

/// How a route reaches its backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum IntegrationType {
    /// A Lambda-style function served over HTTP: it is POSTed the Lambda proxy event and answers with the Lambda
    /// result (`{statusCode, headers, body}`) as its JSON response body.
    #[serde(rename = "AWS_PROXY")]
    AwsProxy,
    /// An HTTP endpoint that receives the raw message body, with context passed through request parameters.
    #[serde(rename = "HTTP_PROXY")]
    HttpProxy,
    /// No backend: the request template's `statusCode` is the status, the integration response's template the
    /// answer.
    #[serde(rename = "MOCK")]
    Mock,
    /// A Lambda function (non-proxy): invoked with the request template's output, its JSON result the integration
    /// response's body.
    #[serde(rename = "AWS")]
    Aws,
    /// An HTTP endpoint (non-proxy): POSTed the request template's output, its status and body the integration
    /// response.
    #[serde(rename = "HTTP")]
    Http,
}

impl IntegrationType {
    /// Whether mapping templates and integration responses apply (AWS, HTTP, MOCK): the proxy types pass the
    /// backend's answer through.
    pub fn maps(self) -> bool {
        !matches!(self, IntegrationType::AwsProxy | IntegrationType::HttpProxy)
    }
}

/// What a non-proxy integration does with a request no request template matches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
pub enum PassthroughBehavior {
    /// The body passes through unchanged when no template matches (AWS's default).
    #[default]
    #[serde(rename = "WHEN_NO_MATCH")]
    WhenNoMatch,
    /// The body passes through only when the integration has no request templates at all.
    #[serde(rename = "WHEN_NO_TEMPLATES")]
    WhenNoTemplates,
    /// Nothing passes through: a request no template matches is refused (`Unsupported Media Type`).
    #[serde(rename = "NEVER")]
    Never,
}

impl PassthroughBehavior {
    pub fn parse(text: &str) -> Option<PassthroughBehavior> {
        match text {
            "WHEN_NO_MATCH" => Some(PassthroughBehavior::WhenNoMatch),
            "WHEN_NO_TEMPLATES" => Some(PassthroughBehavior::WhenNoTemplates),
            "NEVER" => Some(PassthroughBehavior::Never),
            _ => None,
        }
    }
}

/// An integration response of a non-proxy integration: chosen by its key (`$default`, or a `/regular expression/`
/// matched whole against what the integration's response selection expression reads), it transforms the
/// integration's answer with the template its own selection expression picks.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationResponse {
    pub integration_response_key: String,
    #[serde(default)]
    pub response_templates: HashMap<String, String>,
    /// `${integration.response.statuscode}`, `${request.body.x}` or a static key; absent: `$default`.
    #[serde(default)]
    pub template_selection_expression: Option<String>,
    /// `CONVERT_TO_TEXT`: an answer that is not UTF-8 is sent as its base64 text.
    #[serde(default)]
    pub content_handling_strategy: Option<String>,
}

/// An integration.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Integration {
    pub integration_id: String,
    pub integration_type: IntegrationType,
    #[serde(default)]
    pub integration_uri: Option<String>,
    #[serde(default = "default_timeout")]
    pub timeout_in_millis: u64,
    /// HTTP, HTTP_PROXY: the method of the request to the URI (`GET`, `PUT`, …); absent or `ANY`: `POST`.
    #[serde(default)]
    pub integration_method: Option<String>,
    /// `integration.request.header.X` / `integration.request.querystring.X` → source (`context.connectionId`,
    /// `route.request.header.X`, `route.request.querystring.X`, `route.request.body.X`, `stageVariables.X`,
    /// `'static'`).
    #[serde(default)]
    pub request_parameters: HashMap<String, String>,
    /// AWS, HTTP, MOCK: selection key → mapping template of the request (a MOCK's output's `statusCode` is its
    /// status, default 200).
    #[serde(default)]
    pub request_templates: HashMap<String, String>,
    /// Picks the key of `request_templates`: `${request.body.x}` or a static key (`\$default`); a key no template
    /// has falls back to `$default`.
    #[serde(default)]
    pub template_selection_expression: Option<String>,
    #[serde(default)]
    pub passthrough_behavior: PassthroughBehavior,
    /// `CONVERT_TO_BINARY`: the request payload is base64 text, sent decoded; `CONVERT_TO_TEXT`: as it is.
    #[serde(default)]
    pub content_handling_strategy: Option<String>,
    /// What the integration responses' keys match: by default `${integration.response.statuscode}` (HTTP, MOCK)
    /// or `${integration.response.body.errorMessage}` (AWS).
    #[serde(default)]
    pub integration_response_selection_expression: Option<String>,
    #[serde(default)]
    pub integration_responses: Vec<IntegrationResponse>,
    /// Shorthand for the templates of a `$default` integration response (used when `integration_responses` is
    /// empty).
    #[serde(default)]
    pub response_templates: HashMap<String, String>,
    /// The templates read once per deployment or configuration ([`validate`]).
    #[serde(skip)]
    pub(crate) compiled: Option<Arc<Compiled>>,
}

impl Integration {
    /// An integration of this type and URI with every other member at its default.
    pub fn new(
        integration_id: &str,
        integration_type: IntegrationType,
        integration_uri: Option<String>,
    ) -> Integration {
        Integration {
            integration_id: integration_id.to_owned(),
            integration_type,
            integration_uri,
            timeout_in_millis: default_timeout(),
            integration_method: None,
            request_parameters: HashMap::new(),
            request_templates: HashMap::new(),
            template_selection_expression: None,
            passthrough_behavior: PassthroughBehavior::default(),
            content_handling_strategy: None,
            integration_response_selection_expression: None,
            integration_responses: Vec::new(),
            response_templates: HashMap::new(),
            compiled: None,
        }
    }
}

fn default_timeout() -> u64 {
    29_000
}

impl Integration {
    /// The method of an HTTP or HTTP_PROXY integration's request: its `IntegrationMethod`, `POST` for none or `ANY`.
    pub fn http_method(&self) -> http::Method {
        match self.integration_method.as_deref().map(str::to_ascii_uppercase) {
            None => http::Method::POST,
            Some(any) if any == "ANY" => http::Method::POST,
            Some(method) => http::Method::from_bytes(method.as_bytes()).unwrap_or(http::Method::POST),
        }
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_in_millis)
    }
}
