//! The `@connections` management API over HTTP: reads and verifies the request, then runs the operation of
//! [`apigw::management`] here or, for another node's connection, through the cluster.
//!
//! A call reaches only the connections of the API it names: the configured API its stage and `Host` choose, as
//! for an upgrade ([`Call::parse`]). Under `/@apis/{apiId}/{stage}/…` only that API's connections are reachable; a name that serves nothing answers
//! 410 like a connection that is gone (a deleted API's or stage's connections answer 410 from then on).

use std::net::IpAddr;
use std::sync::Arc;

use apigw::management::{Call, Op, Target};
use bytes::Bytes;
use http::request::Parts;
use http::{Response, StatusCode};
use hyper::body::Incoming;
use wire::{ApiError, ErrorCode};

use super::front::EXECUTE_API;
use super::{Body, BodyError, auth, counted, empty_response, json_response, read_body};
use crate::state::AppState;

pub(super) async fn handle(
    state: &Arc<AppState>,
    peer: IpAddr,
    parts: &Parts,
    body: Incoming,
    target: &Target<'_>,
) -> Response<Body> {
    let operation = Op::of(&parts.method).map_or("Unknown", Op::name);
    counted(state, operation, serve(state, peer, parts, body, target).await)
}

async fn serve(
    state: &Arc<AppState>,
    peer: IpAddr,
    parts: &Parts,
    body: Incoming,
    target: &Target<'_>,
) -> Result<Response<Body>, ApiError> {
    let (body, unverified) = auth::check_head(state, peer, parts, body, EXECUTE_API)?;
    let body = read_request(body, state.config.limits.max_message_bytes).await?;
    unverified.verify(&body)?;
    admit(state)?;
    let call = Call::parse(&state.apis, &parts.method, target, request_host(parts))?;
    run(state, parts, &call, body).await
}

/// Takes one verified call from the `@connections` throttle (`--management-requests-per-second`, AWS's account
/// throttle in strict mode), which the management API's extension operations share; past it, 429.
pub(super) fn admit(state: &AppState) -> Result<(), ApiError> {
    if state.management_limit.try_take() {
        Ok(())
    } else {
        Err(ApiError::new(ErrorCode::LimitExceeded, "Rate exceeded"))
    }
}

/// The `Host` of a request, which chooses the API as it does for upgrades (`{apiId}.execute-api.…`); HTTP/2 carries
/// it as `:authority`.
pub(super) fn request_host(parts: &Parts) -> Option<&str> {
    parts.headers.get(http::header::HOST).and_then(|h| h.to_str().ok()).or(parts.uri.host())
}

/// Reads a management request's body of at most `limit` bytes: else 413 `PayloadTooLargeException`, or 400 when
/// it cannot be read.
pub(super) async fn read_request(body: Incoming, limit: usize) -> Result<Bytes, ApiError> {
    read_body(body, limit).await.map_err(|err| match err {
        BodyError::TooLarge => {
            ApiError::new(ErrorCode::PayloadTooLarge, format!("Request payload exceeds the maximum of {limit} bytes"))
        }
        BodyError::Unreadable => ApiError::new(ErrorCode::BadRequest, "Could not read the request body"),
    })
}

/// Runs a call on the connection's node and answers its reply; recorded in the console's capture.
pub(super) async fn run_call(
    state: &Arc<AppState>,
    call: &Call<'_>,
    body: Bytes,
    invocation: Option<&str>,
) -> Result<apigw::management::Reply, ApiError> {
    let reply = if call.id.node() == state.cluster.node() {
        apigw::management::apply_within(&state.hub, call.op, call.id, call.api, call.stage, body)
    } else {
        state.cluster.forward(call, body, invocation).await
    };
    let status = reply.as_ref().map_or_else(|err| err.code.status().as_u16(), |reply| reply.status);
    super::console::record::management(state, call.op, call.id, status);
    reply
}

/// Runs a verified call on the connection's node: here, or through the cluster for another node's connection.
pub(super) async fn run(
    state: &Arc<AppState>,
    parts: &Parts,
    call: &Call<'_>,
    body: Bytes,
) -> Result<Response<Body>, ApiError> {
    // The connection id names the node that holds it; another node's connections are reached through the cluster.
    let invocation = parts.headers.get("amz-sdk-invocation-id").and_then(|v| v.to_str().ok());
    let reply = run_call(state, call, body, invocation).await?;
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    Ok(match reply.json {
        Some(json) => json_response(status, json),
        None => empty_response(status),
    })
}
