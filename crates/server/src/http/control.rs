//! The IVS Chat control plane over HTTP: `POST /{Operation}` and `/tags/{resourceArn}`, SigV4 service `ivschat`.

use std::net::IpAddr;
use std::sync::Arc;

use http::Response;
use http::request::Parts;
use hyper::body::Incoming;
use wire::{ApiError, ErrorCode};

use super::front::Service;
use super::{Body, auth, counted, read_body, reply_response};
use crate::state::AppState;

pub(super) async fn handle(state: &Arc<AppState>, peer: IpAddr, parts: &Parts, body: Incoming) -> Response<Body> {
    let operation = operation_label(&parts.method, parts.uri.path());
    counted(state, operation, serve(state, peer, parts, body).await)
}

async fn serve(state: &Arc<AppState>, peer: IpAddr, parts: &Parts, body: Incoming) -> Result<Response<Body>, ApiError> {
    let (body, unverified) = auth::check_head(state, peer, parts, body, Service::IvsChat.scope_name())?;
    // One byte over the limit is enough for the control plane to refuse an oversize body with its own error.
    let limit = state.control.config().max_body_bytes + 1;
    let body = read_body(body, limit).await.map_err(|_| {
        ApiError::new(ErrorCode::Validation, "Request body is too large")
            .with("reason", "OTHER")
            .with("fieldList", serde_json::json!([]))
    })?;
    unverified.verify(&body)?;
    let reply = state.control.handle(&parts.method, parts.uri.path(), parts.uri.query(), &body).await?;
    Ok(reply_response(reply.status, reply.content_type(), reply.body))
}

/// A low-cardinality metrics label: the operation name for known operations, else `Unknown`.
fn operation_label(method: &http::Method, path: &str) -> &'static str {
    if path.starts_with("/tags/") {
        return match *method {
            http::Method::POST => "TagResource",
            http::Method::DELETE => "UntagResource",
            http::Method::GET => "ListTagsForResource",
            _ => "Unknown",
        };
    }
    let name = path.trim_start_matches('/');
    ivschat::Operation::ALL.into_iter().map(|op| op.name()).find(|op| *op == name).unwrap_or("Unknown")
}
