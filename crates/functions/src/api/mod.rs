//! The Lambda API for the hosted functions, HTTP-free like `ivschat::ControlPlane`: [`LambdaApi::handle`] takes a
//! request's method, path, query, headers and body and answers a [`Reply`] or a Lambda-shaped [`ApiError`]. It
//! serves `Invoke` (RequestResponse, Event, DryRun; `X-Amz-Log-Type: Tail`), `GetFunction` and `ListFunctions`;
//! any other operation of the model is named in a clear refusal.
//!
//! Hosted functions have one version: any qualifier (in `FunctionName` or `Qualifier`) runs it, as integrations do,
//! and answers `X-Amz-Executed-Version: $LATEST`.

mod configuration;
mod route;

use std::sync::Arc;

use aws_models::lambda::Operation;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::HeaderMap;
use wire::{ApiError, ErrorCode};

use crate::arn::FunctionRef;
use crate::error::{InvokeError, MAX_PAYLOAD_BYTES, ServiceError};
use crate::registry::Functions;

pub use self::route::operation;

/// What the API answers a successful call: status, headers (lower-case names), content type and body.
#[derive(Debug, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub content_type: Option<&'static str>,
    pub body: Bytes,
}

impl Reply {
    fn json(value: &serde_json::Value) -> Reply {
        Reply {
            status: 200,
            headers: Vec::new(),
            content_type: Some("application/json"),
            body: Bytes::from(value.to_string()),
        }
    }

    fn empty(status: u16) -> Reply {
        Reply { status, headers: Vec::new(), content_type: None, body: Bytes::new() }
    }
}

/// The Lambda API over the hosted functions.
#[derive(Clone, Debug)]
pub struct LambdaApi {
    functions: Arc<Functions>,
}

/// The version every hosted function runs.
const LATEST: &str = "$LATEST";

impl LambdaApi {
    pub fn new(functions: Arc<Functions>) -> LambdaApi {
        LambdaApi { functions }
    }

    /// Answers one call. `body` was read whole by the caller (at most [`MAX_PAYLOAD_BYTES`] + 1 bytes).
    pub async fn handle(
        &self,
        method: &http::Method,
        path: &str,
        query: Option<&str>,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Result<Reply, ApiError> {
        let query = route::Query::parse(query);
        match route::route(method, path) {
            Some((Operation::Invoke, Some(name))) => self.invoke(&name, &query, headers, body).await,
            Some((Operation::GetFunction, Some(name))) => self.get_function(&name, &query),
            Some((Operation::ListFunctions, _)) => self.list_functions(&query),
            Some((other, _)) => Err(invalid(format!(
                "Switchboard's Lambda API serves Invoke, GetFunction and ListFunctions for the functions it hosts; \
                 {other} is not supported"
            ))),
            None => Err(invalid(format!("No Lambda operation is bound to {method} {path}"))),
        }
    }

    /// `Invoke`: `X-Amz-Invocation-Type` RequestResponse (the default), Event or DryRun.
    async fn invoke(
        &self,
        name: &str,
        query: &route::Query,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Result<Reply, ApiError> {
        let function = self.resolve(name, query.get("Qualifier"))?;
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let invocation_type = header("x-amz-invocation-type").unwrap_or("RequestResponse");
        let tail = match header("x-amz-log-type") {
            None | Some("None") => false,
            Some("Tail") => true,
            Some(other) => {
                return Err(invalid(format!(
                    "1 validation error detected: Value '{other}' at 'logType' failed to satisfy constraint: Member \
                     must satisfy enum value set: [Tail, None]"
                )));
            }
        };
        if body.len() > MAX_PAYLOAD_BYTES {
            return Err(api_error(&InvokeError::request_too_large()));
        }
        let payload = if body.iter().all(u8::is_ascii_whitespace) { Bytes::from_static(b"{}") } else { body };
        if let Err(err) = serde_json::from_slice::<serde::de::IgnoredAny>(&payload) {
            return Err(ApiError::new(
                ErrorCode::InvalidRequestContent,
                format!("Could not parse request body into json: Could not parse payload into json: {err}"),
            )
            .with("Type", "User"));
        }
        match invocation_type {
            "RequestResponse" => {
                let (result, log) = if tail {
                    let (result, log) = self.functions.invoke_with_log(&function, payload).await;
                    (result, Some(log))
                } else {
                    (crate::Invoke::invoke(self.functions.as_ref(), &function, payload).await, None)
                };
                let (body, function_error) = match result {
                    Ok(body) => (body, None),
                    Err(InvokeError::Function { payload }) => (payload, Some("Unhandled")),
                    Err(err) => return Err(api_error(&err)),
                };
                let mut reply = Reply::json(&serde_json::Value::Null);
                reply.body = body;
                if let Some(kind) = function_error {
                    reply.headers.push(("x-amz-function-error", kind.to_owned()));
                }
                if let Some(log) = log {
                    reply.headers.push(("x-amz-log-result", BASE64.encode(log)));
                }
                reply.headers.push(("x-amz-executed-version", LATEST.to_owned()));
                Ok(reply)
            }
            "Event" => {
                self.functions.invoke_event(&function, payload).map_err(|err| api_error(&err))?;
                Ok(Reply::empty(202))
            }
            "DryRun" => Ok(Reply::empty(204)),
            other => Err(invalid(format!(
                "1 validation error detected: Value '{other}' at 'invocationType' failed to satisfy constraint: \
                 Member must satisfy enum value set: [Event, RequestResponse, DryRun]"
            ))),
        }
    }

    /// The hosted function `name` (a name, an ARN or a partial ARN, with a qualifier) names, with `qualifier` (the
    /// `Qualifier` parameter) checked against the one the name carries.
    fn resolve(&self, name: &str, qualifier: Option<&str>) -> Result<FunctionRef, ApiError> {
        let mut function = FunctionRef::parse(name).ok_or_else(|| {
            invalid(format!(
                "1 validation error detected: Value '{name}' at 'functionName' failed to satisfy constraint: Member \
                 must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{{2}}(-gov)?-[a-z]+-\\d{{1}}:)?(\\d{{12}}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?"
            ))
        })?;
        if let Some(qualifier) = qualifier {
            let checked = FunctionRef::parse(&format!("{}:{qualifier}", function.name));
            if checked.is_none() {
                return Err(invalid(format!(
                    "1 validation error detected: Value '{qualifier}' at 'qualifier' failed to satisfy constraint: \
                     Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)"
                )));
            }
            match &function.qualifier {
                Some(derived) if derived != qualifier => {
                    return Err(invalid(
                        "The derived qualifier from the function name does not match the specified qualifier.",
                    ));
                }
                _ => function.qualifier = Some(qualifier.to_owned()),
            }
        }
        if self.functions.spec(&function.name).is_none() {
            let settings = self.functions.settings();
            return Err(api_error(&InvokeError::not_found(
                &function.invoked_arn(&settings.region, &settings.account_id),
            )));
        }
        Ok(function)
    }
}

/// A `400 InvalidParameterValueException`, as Lambda words its body.
fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidParameterValue, message).with("Type", "User")
}

/// A service error of an invocation as Lambda answers it: status, `x-amzn-ErrorType` and `{"Type", "message",
/// "Reason"?}`.
pub fn api_error(err: &InvokeError) -> ApiError {
    let (kind, message) = match err {
        InvokeError::Service { kind, message } => (*kind, message.as_str()),
        InvokeError::Function { .. } => (ServiceError::Service, "the function failed"),
    };
    let code = match kind {
        ServiceError::ResourceNotFound => ErrorCode::ResourceNotFound,
        ServiceError::TooManyRequests(_) => ErrorCode::TooManyRequests,
        ServiceError::RequestTooLarge => ErrorCode::RequestTooLarge,
        ServiceError::Service => ErrorCode::LambdaService,
    };
    let error = ApiError::new(code, message);
    // The model spells the message `Message` for these two, and Lambda answers so.
    match kind {
        ServiceError::TooManyRequests(reason) => error.with("Type", "User").with("Reason", reason.as_str()),
        ServiceError::Service => error.with_capital_message().with("Type", "Service"),
        ServiceError::ResourceNotFound => error.with_capital_message().with("Type", "User"),
        ServiceError::RequestTooLarge => error.with("Type", "User"),
    }
}

#[cfg(test)]
mod tests;
