//! Calls integrations: AWS_PROXY (a hosted Lambda function named by its ARN, or a Lambda-style function over HTTP)
//! and HTTP_PROXY here; the non-proxy types (AWS, HTTP, MOCK) through their mapping templates in `nonproxy`.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use functions::{FunctionRef, Invoke, InvokeError};
use serde_json::Value;
use time::OffsetDateTime;
use wire::apigw::{EventType, ProxyResponse};

use crate::connect::ConnContext;
use crate::events::{EventFacts, proxy_event};
use crate::model::{Integration, IntegrationType};

/// The answer of an integration, or why there is none.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Answer(Answer),
    /// The backend could not be reached, failed, or answered something unreadable.
    Failed(String),
    /// The backend did not answer within the integration's timeout.
    TimedOut,
    /// No request template matched and the passthrough behaviour refuses such requests (AWS's 415).
    Unsupported,
}

/// A successful integration answer.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

/// One integration call.
#[derive(Debug)]
pub struct Call<'a> {
    pub ctx: &'a ConnContext,
    pub event_type: EventType,
    pub route_key: &'a str,
    pub request_id: &'a str,
    pub message_id: Option<&'a str>,
    pub body: Option<&'a str>,
    pub disconnect: Option<(u16, &'a str)>,
}

impl<'a> Call<'a> {
    /// The `$connect` call of a handshake (its authorizer's and its integration's).
    pub fn connect(ctx: &'a ConnContext, request_id: &'a str) -> Call<'a> {
        Call {
            ctx,
            event_type: EventType::Connect,
            route_key: "$connect",
            request_id,
            message_id: None,
            body: None,
            disconnect: None,
        }
    }

    /// What the call's event says, as of now.
    pub(crate) fn facts(&self) -> EventFacts<'a> {
        EventFacts {
            event_type: self.event_type,
            route_key: self.route_key,
            request_id: self.request_id,
            message_id: self.message_id,
            body: self.body,
            disconnect: self.disconnect,
            now: OffsetDateTime::now_utc(),
        }
    }
}

/// The integration's URI with every `${stageVariables.name}` replaced by the connection's stage variable (empty
/// when the stage has no such variable), as API Gateway does.
pub fn integration_uri<'a>(integration: &'a Integration, ctx: &ConnContext) -> Cow<'a, str> {
    const OPEN: &str = "${stageVariables.";
    let uri = integration.integration_uri.as_deref().unwrap_or_default();
    if !uri.contains(OPEN) {
        return Cow::Borrowed(uri);
    }
    let mut out = String::with_capacity(uri.len());
    let mut rest = uri;
    while let Some(start) = rest.find(OPEN) {
        let after = &rest[start + OPEN.len()..];
        let Some(end) = after.find('}') else { break };
        out.push_str(&rest[..start]);
        let value = ctx.stage_variables.get(&after[..end]).and_then(Value::as_str).unwrap_or_default();
        out.push_str(value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Calls every integration: the shared HTTP client, and the functions Lambda ARNs name.
#[derive(Clone, Debug)]
pub struct Invoker {
    client: reqwest::Client,
    functions: Option<Arc<dyn Invoke>>,
    /// The region and account of the ARNs it builds (an authorizer's `methodArn`).
    pub(crate) region: String,
    pub(crate) account_id: String,
}

/// What a function called directly (an authorizer) answered.
#[derive(Debug)]
pub(crate) enum FunctionCall {
    Answered(Bytes),
    /// The function ran and failed: Lambda's error document.
    FunctionError(Bytes),
    Failed(String),
    TimedOut,
}

impl Default for Invoker {
    fn default() -> Invoker {
        Invoker::new()
    }
}

impl Invoker {
    pub fn new() -> Invoker {
        let client = reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(5))
            .no_proxy()
            .build()
            .unwrap_or_default();
        Invoker { client, functions: None, region: "us-east-1".to_owned(), account_id: "000000000000".to_owned() }
    }

    /// The region and account this gateway runs as.
    pub fn with_account(mut self, region: &str, account_id: &str) -> Invoker {
        self.region = region.to_owned();
        self.account_id = account_id.to_owned();
        self
    }

    /// Calls the function `uri` names (a Lambda ARN, or a Lambda-style function's `http(s)://` URL) with `payload`,
    /// within `timeout`.
    pub(crate) async fn call_function(&self, uri: &str, payload: Vec<u8>, timeout: Duration) -> FunctionCall {
        if let Some(function) = FunctionRef::from_integration_uri(uri) {
            let Some(functions) = &self.functions else {
                return FunctionCall::Failed(format!("no function `{}` is hosted here", function.name));
            };
            return match tokio::time::timeout(timeout, functions.invoke(&function, Bytes::from(payload))).await {
                Err(_) => FunctionCall::TimedOut,
                Ok(Ok(answer)) => FunctionCall::Answered(answer),
                Ok(Err(InvokeError::Function { payload })) => FunctionCall::FunctionError(payload),
                Ok(Err(err)) => FunctionCall::Failed(format!("function `{}`: {err}", function.name)),
            };
        }
        if !(uri.starts_with("http://") || uri.starts_with("https://")) {
            return FunctionCall::Failed(format!("`{uri}` is neither an http(s) URL nor a Lambda function ARN"));
        }
        let request =
            self.client.post(uri).timeout(timeout).header(http::header::CONTENT_TYPE, "application/json").body(payload);
        let response = match request.send().await {
            Ok(response) => response,
            Err(err) if err.is_timeout() => return FunctionCall::TimedOut,
            Err(err) => return FunctionCall::Failed(err.to_string()),
        };
        let status = response.status();
        match response.bytes().await {
            Ok(_) if !status.is_success() => FunctionCall::Failed(format!("function answered HTTP {status}")),
            Ok(bytes) => FunctionCall::Answered(bytes),
            Err(err) if err.is_timeout() => FunctionCall::TimedOut,
            Err(err) => FunctionCall::Failed(err.to_string()),
        }
    }

    /// Integrations whose URI is a Lambda function ARN invoke the function of that name through `functions`.
    pub fn with_functions(mut self, functions: Arc<dyn Invoke>) -> Invoker {
        self.functions = Some(functions);
        self
    }

    pub async fn invoke(&self, integration: &Integration, call: &Call<'_>) -> Outcome {
        match integration.integration_type {
            IntegrationType::AwsProxy => self.aws_proxy(integration, call).await,
            IntegrationType::HttpProxy => self.http_proxy(integration, call).await,
            IntegrationType::Aws | IntegrationType::Http | IntegrationType::Mock => {
                crate::nonproxy::invoke(self, integration, call).await
            }
        }
    }

    async fn aws_proxy(&self, integration: &Integration, call: &Call<'_>) -> Outcome {
        let event = proxy_event(call.ctx, &call.facts());
        let uri = integration_uri(integration, call.ctx);
        if let Some(function) = FunctionRef::from_integration_uri(&uri) {
            return self.lambda(&function, event, integration.timeout()).await;
        }
        if !(uri.starts_with("http://") || uri.starts_with("https://")) {
            return Outcome::Failed(format!(
                "integration URI `{uri}` is neither an http(s) URL nor a Lambda function ARN"
            ));
        }
        let request = self
            .client
            .post(uri.as_ref())
            .timeout(integration.timeout())
            .header(http::header::CONTENT_TYPE, "application/json")
            .header("x-amz-function-request-id", call.request_id)
            .body(event);
        let response = match request.send().await {
            Ok(response) => response,
            Err(err) => return transport_failure(&err),
        };
        let status = response.status();
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(err) => return transport_failure(&err),
        };
        if !status.is_success() {
            return Outcome::Failed(format!("function answered HTTP {status}"));
        }
        proxy_answer(&bytes)
    }

    /// Invokes a hosted function with the proxy event, within the integration's timeout: its result is the answer,
    /// and a function error (a failure, its own timeout, a crash) or a refusal (throttled, no such function) fails
    /// the integration as API Gateway's does.
    async fn lambda(&self, function: &FunctionRef, event: Vec<u8>, timeout: Duration) -> Outcome {
        let Some(functions) = &self.functions else {
            return Outcome::Failed(format!("no function `{}` is hosted here", function.name));
        };
        match tokio::time::timeout(timeout, functions.invoke(function, Bytes::from(event))).await {
            Err(_) => Outcome::TimedOut,
            Ok(Ok(payload)) => proxy_answer(&payload),
            Ok(Err(InvokeError::Function { payload })) => {
                Outcome::Failed(format!("function `{}` failed: {}", function.name, String::from_utf8_lossy(&payload)))
            }
            Ok(Err(err)) => Outcome::Failed(format!("function `{}`: {err}", function.name)),
        }
    }

    async fn http_proxy(&self, integration: &Integration, call: &Call<'_>) -> Outcome {
        let body = call.body.map(|body| body.as_bytes().to_vec()).unwrap_or_default();
        match self.http_call(integration, call, body).await {
            Ok(answer) => Outcome::Answer(Answer {
                status: answer.status,
                headers: answer.headers,
                body: (!answer.body.is_empty()).then(|| String::from_utf8_lossy(&answer.body).into_owned()),
            }),
            Err(outcome) => outcome,
        }
    }

    /// Sends `body` to an HTTP integration's URI with its method (`POST` by default), its request parameters (and, on
    /// `$connect`, the handshake's headers), within its timeout.
    pub(crate) async fn http_call(
        &self,
        integration: &Integration,
        call: &Call<'_>,
        body: Vec<u8>,
    ) -> Result<HttpAnswer, Outcome> {
        let uri = integration_uri(integration, call.ctx);
        let mut query: Vec<(String, String)> = Vec::new();
        let mut request = self.client.request(integration.http_method(), uri.as_ref()).timeout(integration.timeout());
        if call.event_type == EventType::Connect {
            for (name, value) in &call.ctx.headers {
                if !is_hop_by_hop(name) {
                    request = request.header(name.as_str(), value.as_str());
                }
            }
        }
        for (destination, source) in &integration.request_parameters {
            let Some(value) = resolve_parameter(source, call) else {
                continue;
            };
            if let Some(name) = destination.strip_prefix("integration.request.header.") {
                request = request.header(name, value);
            } else if let Some(name) = destination.strip_prefix("integration.request.querystring.") {
                query.push((name.to_owned(), value));
            }
        }
        if !query.is_empty() {
            request = request.query(&query);
        }
        if !body.is_empty() {
            request = request.body(body);
        }
        let response = request.send().await.map_err(|err| transport_failure(&err))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter(|(name, _)| !is_hop_by_hop(name.as_str()))
            .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
            .collect();
        let body = response.bytes().await.map_err(|err| transport_failure(&err))?;
        Ok(HttpAnswer { status, headers, body })
    }
}

/// What an HTTP endpoint answered.
pub(crate) struct HttpAnswer {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Bytes,
}

/// A Lambda proxy result (`{statusCode, headers, body}`) as the integration's answer.
fn proxy_answer(bytes: &[u8]) -> Outcome {
    match ProxyResponse::parse(bytes) {
        Ok(answer) => Outcome::Answer(Answer {
            status: answer.status_code.unwrap_or(200),
            headers: answer.header_pairs(),
            body: answer.body_text(),
        }),
        Err(err) => Outcome::Failed(format!("function answered invalid JSON: {err}")),
    }
}

fn transport_failure(err: &reqwest::Error) -> Outcome {
    if err.is_timeout() { Outcome::TimedOut } else { Outcome::Failed(err.to_string()) }
}

fn is_hop_by_hop(name: &str) -> bool {
    ["host", "connection", "upgrade", "content-length", "transfer-encoding", "keep-alive", "te", "trailer"]
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h))
}

/// Resolves a request-parameter source (`context.connectionId`, `route.request.header.X`, `'static'`, …).
pub(crate) fn resolve_parameter(source: &str, call: &Call<'_>) -> Option<String> {
    let ctx = call.ctx;
    if let Some(literal) = source.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        return Some(literal.to_owned());
    }
    if let Some(name) = source.strip_prefix("context.") {
        return Some(match name {
            "connectionId" => ctx.connection_id.clone(),
            "routeKey" => call.route_key.to_owned(),
            "eventType" => format!("{:?}", call.event_type).to_uppercase(),
            "requestId" | "extendedRequestId" => call.request_id.to_owned(),
            "messageId" => call.message_id?.to_owned(),
            "stage" => ctx.stage.clone(),
            "apiId" => ctx.api.api.api_id.clone(),
            "domainName" => ctx.domain_name.clone(),
            "connectedAt" => wire::timefmt::epoch_millis(ctx.connected_at).to_string(),
            "requestTimeEpoch" => wire::timefmt::epoch_millis(OffsetDateTime::now_utc()).to_string(),
            "identity.sourceIp" => ctx.identity.source_ip.clone(),
            "identity.userAgent" => ctx.identity.user_agent.clone()?,
            "identity.accessKey" => ctx.caller.as_ref()?.access_key.clone(),
            "identity.accountId" => ctx.caller.as_ref()?.account_id.clone(),
            "identity.caller" => ctx.caller.as_ref()?.caller.clone(),
            "identity.user" => ctx.caller.as_ref()?.user.clone(),
            "identity.userArn" => ctx.caller.as_ref()?.user_arn.clone(),
            "disconnectStatusCode" => call.disconnect?.0.to_string(),
            "disconnectReason" => call.disconnect?.1.to_owned(),
            name => {
                let value = ctx.authorizer.as_ref()?.get(name.strip_prefix("authorizer.")?)?;
                value.as_str().map_or_else(|| value.to_string(), str::to_owned)
            }
        });
    }
    if let Some(name) = source.strip_prefix("stageVariables.") {
        return ctx.stage_variables.get(name).and_then(Value::as_str).map(str::to_owned);
    }
    if let Some(name) = source.strip_prefix("route.request.header.") {
        return ctx.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
    }
    if let Some(name) = source.strip_prefix("route.request.querystring.") {
        return ctx.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    }
    if let Some(path) = source.strip_prefix("route.request.body.") {
        let expr = crate::selection::SelectionExpression::parse(&format!("${{request.body.{path}}}")).ok()?;
        return expr.evaluate(call.body?);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::integration_uri;
    use crate::{Integration, IntegrationType};

    #[test]
    fn stage_variables_fill_the_integration_uri() {
        let apis = crate::testing::one_api();
        let ctx = crate::testing::connection(&apis);
        let with = |uri: &str| Integration::new("i", IntegrationType::AwsProxy, Some(uri.to_owned()));
        for (uri, expected) in [
            ("http://h/${stageVariables.v}/x", "http://h/1/x"),
            ("http://h/${stageVariables.missing}${stageVariables.v}", "http://h/1"),
            ("http://h/plain", "http://h/plain"),
            ("http://h/${stageVariables.v", "http://h/${stageVariables.v"),
        ] {
            assert_eq!(integration_uri(&with(uri), &ctx), expected);
        }
    }
}
