//! The `@connections` management API: PostToConnection, GetConnection and DeleteConnection
//! (reference apigw.md §1), at `/{stage}/@connections/{id}` and `/@connections/{id}`.

use std::borrow::Cow;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hub::{CloseRequest, ConnectionId, Outbound, Scope, SendError};
use hyper::body::Incoming;
use percent_encoding::percent_decode_str;
use wire::apigw::{GetConnectionOutput, Identity};
use wire::{ApiError, ErrorCode, timefmt};

use super::{Body, auth, empty_response, error_response, json_response};
use crate::cluster::{Op, Outcome};
use crate::metrics::OperationLabels;
use crate::state::AppState;

/// A parsed management path.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Target<'a> {
    /// `None` for `/@connections/{id}` (no stage, as LocalStack and serverless-offline users configure it).
    pub(super) stage: Option<&'a str>,
    /// The raw (still percent-encoded) connection id segment.
    pub(super) raw_id: &'a str,
}

impl<'a> Target<'a> {
    /// Recognises `/@connections/{id}` and `/{stage}/@connections/{id}`, with `@` also as `%40`.
    pub(super) fn parse(path: &'a str) -> Option<Target<'a>> {
        let rest = path.strip_prefix('/')?;
        let (stage, rest) = match split_marker(rest) {
            Some(after) => (None, after),
            None => {
                let (stage, after_stage) = rest.split_once('/')?;
                (Some(stage), split_marker(after_stage)?)
            }
        };
        Some(Target { stage, raw_id: rest })
    }
}

/// `@connections/…` → `…`.
fn split_marker(s: &str) -> Option<&str> {
    let (first, rest) = s.split_once('/')?;
    let decoded = percent_decode_str(first).decode_utf8().ok()?;
    (decoded == "@connections").then_some(rest)
}

pub(super) async fn handle(state: &Arc<AppState>, req: Request<Incoming>, target: Target<'_>) -> Response<Body> {
    let operation = match *req.method() {
        Method::POST => "PostToConnection",
        Method::GET => "GetConnection",
        Method::DELETE => "DeleteConnection",
        _ => "Unknown",
    };
    let response = match serve(state, req, &target, operation).await {
        Ok(response) => response,
        Err(err) => error_response(&err),
    };
    state.metrics.api_requests.get_or_create(&OperationLabels { operation, status: response.status().as_u16() }).inc();
    response
}

async fn serve(
    state: &Arc<AppState>,
    req: Request<Incoming>,
    target: &Target<'_>,
    operation: &str,
) -> Result<Response<Body>, ApiError> {
    let (parts, body) = req.into_parts();
    let limit = state.config.limits.max_message_bytes;
    let body: Bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) if err.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            return Err(ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("Request payload exceeds the maximum of {limit} bytes"),
            ));
        }
        Err(_) => {
            return Err(ApiError::new(ErrorCode::BadRequest, "Could not read the request body"));
        }
    };
    auth::verify(state, &parts, &body, auth::Service::ExecuteApi)?;

    if operation == "Unknown" {
        return Err(ApiError::forbidden());
    }
    if let Some(stage) = target.stage
        && state.apis.apis().all(|api| api.stage(stage).is_none())
    {
        return Err(ApiError::forbidden());
    }
    let id_text: Cow<'_, str> = percent_decode_str(target.raw_id).decode_utf8_lossy();
    let id = ConnectionId::parse(&id_text)
        .ok_or_else(|| ApiError::new(ErrorCode::BadRequest, format!("Invalid connectionId: {id_text}")))?;
    let op = match parts.method {
        Method::POST => Op::Post,
        Method::GET => Op::Get,
        Method::DELETE => Op::Delete,
        _ => return Err(ApiError::forbidden()),
    };
    // The connection id names the node that holds it; another node's connections are reached through the cluster.
    let outcome = if id.node() == state.cluster.node() {
        apply(state, op, id, target.stage, body)?
    } else {
        state.cluster.forward(op, id, target.stage, body).await?
    };
    Ok(match outcome.json {
        Some(json) => json_response(StatusCode::from_u16(outcome.status).unwrap_or(StatusCode::OK), json),
        None => empty_response(StatusCode::from_u16(outcome.status).unwrap_or(StatusCode::OK)),
    })
}

/// Runs a management operation on a connection of this node (called for local requests and for requests other
/// nodes forward); `stage` is the stage of the request path, if it had one.
pub(crate) fn apply(
    state: &AppState,
    op: Op,
    id: ConnectionId,
    stage: Option<&str>,
    body: Bytes,
) -> Result<Outcome, ApiError> {
    let conn = state.hub.get(id).ok_or_else(ApiError::gone)?;
    // A chat connection is not an API Gateway connection.
    let Scope::Api { stage: conn_stage, .. } = &conn.info().scope else {
        return Err(ApiError::gone());
    };
    if stage.is_some_and(|s| s != &**conn_stage) {
        return Err(ApiError::gone());
    }

    match op {
        Op::Post => match conn.send(Outbound::from_bytes(body)) {
            Ok(()) => {
                conn.touch();
                Ok(Outcome { status: 200, json: None })
            }
            Err(SendError::Full) => {
                Err(ApiError::new(ErrorCode::LimitExceeded, "The WebSocket client side buffer is full; retry later"))
            }
            Err(SendError::Closed) => Err(ApiError::gone()),
        },
        Op::Get => {
            if !conn.is_open() {
                return Err(ApiError::gone());
            }
            let info = conn.info();
            let output = GetConnectionOutput {
                connected_at: timefmt::rfc3339_millis(info.connected_at),
                identity: Identity { source_ip: info.source_ip.clone(), user_agent: info.user_agent.clone() },
                last_active_at: timefmt::rfc3339_millis(conn.last_active()),
            };
            Ok(Outcome { status: 200, json: Some(serde_json::to_string(&output).unwrap_or_default()) })
        }
        Op::Delete => {
            if conn.close(CloseRequest::deleted()) {
                Ok(Outcome { status: 204, json: None })
            } else {
                Err(ApiError::gone())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Target;

    #[test]
    fn parses_management_paths() {
        let t = |p| Target::parse(p);
        assert_eq!(
            t("/prod/@connections/L0SM9cOFvHcCIhw%3D"),
            Some(Target { stage: Some("prod"), raw_id: "L0SM9cOFvHcCIhw%3D" })
        );
        assert_eq!(t("/@connections/abc"), Some(Target { stage: None, raw_id: "abc" }));
        assert_eq!(t("/prod/%40connections/abc"), Some(Target { stage: Some("prod"), raw_id: "abc" }));
        assert_eq!(t("/prod/@connections/"), Some(Target { stage: Some("prod"), raw_id: "" }));
        assert_eq!(t("/prod/@connections/a/b"), Some(Target { stage: Some("prod"), raw_id: "a/b" }));
        assert_eq!(t("/prod"), None);
        assert_eq!(t("/prod/other/abc"), None);
        assert_eq!(t("/"), None);
    }
}
