//! Switchboard's extension operations over HTTP, at `{endpoint}/@switchboard/ext/{service}/{Operation}`
//! ([`ExtensionPath`]): the operation is found in the extended service's extension model (`aws_models::<service>_ext`,
//! generated from `models/switchboard/`), its body read within [`MAX_EXTENSION_BODY_BYTES`] and signed as the
//! extended service's calls are, its members checked against the operation's input shape; then the service's
//! module here runs it. Every answer is counted by operation and status, as the AWS operations' are.

mod chat;
mod management;

use std::net::IpAddr;
use std::sync::Arc;

use aws_models::{Operation, Service};
use http::Response;
use http::request::Parts;
use hyper::body::Incoming;
use serde_json::{Map, Value};
use wire::{ApiError, ErrorCode};

use super::front::ExtensionPath;
use super::{Body, auth, counted};
use crate::state::AppState;

/// The largest body of an extension call (a broadcast's ids and data included), documented in the README.
pub(crate) const MAX_EXTENSION_BODY_BYTES: usize = 1 << 20;

/// An extended service: its AWS model (whose `extension` lists the operations) and the error type its invalid
/// requests answer, as the service's own operations do.
struct Extended {
    service: &'static Service,
    invalid: ErrorCode,
}

/// The services with extensions, by name.
fn extended(name: &str) -> Option<Extended> {
    match name {
        "apigatewaymanagementapi" => {
            Some(Extended { service: &aws_models::apigatewaymanagementapi::SERVICE, invalid: ErrorCode::BadRequest })
        }
        "ivschat" => Some(Extended { service: &aws_models::ivschat::SERVICE, invalid: ErrorCode::Validation }),
        _ => None,
    }
}

/// A checked extension call: its operation, its body and the body's members.
pub(super) struct ExtensionCall<'a> {
    pub(super) path: &'a ExtensionPath<'a>,
    pub(super) operation: &'static Operation,
    pub(super) body: bytes::Bytes,
    pub(super) input: Map<String, Value>,
}

impl ExtensionCall<'_> {
    /// A string member of the input (empty when absent).
    pub(super) fn str(&self, name: &str) -> &str {
        self.input.get(name).and_then(Value::as_str).unwrap_or_default()
    }
}

pub(super) async fn handle(
    state: &Arc<AppState>,
    peer: IpAddr,
    parts: &Parts,
    body: Incoming,
    path: &ExtensionPath<'_>,
) -> Response<Body> {
    let found = extended(path.service)
        .and_then(|extended| path.operation_of(extended.service).map(|(_, operation)| (extended, operation)));
    let Some((extended, operation)) = found else {
        return counted(state, "UnknownExtension", Err(unknown(path)));
    };
    counted(state, operation.name, serve(state, (peer, parts), body, path, &extended, operation).await)
}

async fn serve(
    state: &Arc<AppState>,
    (peer, parts): (IpAddr, &Parts),
    body: Incoming,
    path: &ExtensionPath<'_>,
    extended: &Extended,
    operation: &'static Operation,
) -> Result<Response<Body>, ApiError> {
    if parts.method.as_str() != operation.http.method {
        return Err(unknown(path));
    }
    let (body, unverified) = auth::check_head(state, peer, parts, body, extended.service.signing_name)?;
    let body = super::management::read_request(body, MAX_EXTENSION_BODY_BYTES).await?;
    unverified.verify(&body)?;
    // The management API's extensions count against its throttle, as calls of API Gateway's callback API do.
    if extended.service.name == "apigatewaymanagementapi" {
        super::management::admit(state)?;
    }
    let input = aws_models::input::read_body(operation.input, operation.name, &body)
        .map_err(|message| ApiError::new(extended.invalid, message))?;
    let call = ExtensionCall { path, operation, body, input };
    match extended.service.name {
        "apigatewaymanagementapi" => management::serve(state, parts, call).await,
        "ivschat" => chat::serve(state, call).await,
        _ => Err(unknown(path)),
    }
}

/// 404 `UnknownOperationException`: no such extension operation (or not by this method), which an older server
/// answers a newer command line.
fn unknown(path: &ExtensionPath<'_>) -> ApiError {
    ApiError::new(
        ErrorCode::UnknownOperation,
        format!("Switchboard has no extension operation {:?} of {:?}", path.operation, path.service),
    )
}
