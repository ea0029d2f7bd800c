//! The apigatewayv2 control plane over HTTP: restJson1 paths under `/v2/`, SigV4 service `apigateway`.

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
    let operation =
        apigatewayv2::ControlPlane::operation(&parts.method, parts.uri.path()).map_or("Unknown", |op| op.name());
    counted(state, operation, serve(state, peer, parts, body).await)
}

async fn serve(state: &Arc<AppState>, peer: IpAddr, parts: &Parts, body: Incoming) -> Result<Response<Body>, ApiError> {
    let (body, unverified) = auth::check_head(state, peer, parts, body, Service::ApiGateway.scope_name())?;
    let control = &state.apigatewayv2;
    // One byte over the limit is enough for the control plane to refuse an oversize body with its own error.
    let body = read_body(body, control.config().max_body_bytes + 1)
        .await
        .map_err(|_| ApiError::new(ErrorCode::BadRequest, "Request body is too large"))?;
    unverified.verify(&body)?;
    let reply = control.handle(&parts.method, parts.uri.path(), parts.uri.query(), &body).await?;
    Ok(reply_response(reply.status, reply.content_type(), reply.body))
}
