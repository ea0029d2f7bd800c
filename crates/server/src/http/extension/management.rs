//! The extensions of the `@connections` management API (`aws_models::apigatewaymanagementapi_ext`), signed for
//! `execute-api` and reached at the management API's endpoint (`https://host/{stage}`, `https://host` or
//! `https://host/@apis/{apiId}/{stage}`) plus `/@switchboard/ext/apigatewaymanagementapi/{Operation}`.
//!
//! CloseConnection and UpdateConnection run on the connection's node as the AWS operations do (forwarded in a
//! cluster). ListConnections, PostToConnections and PostToGroup ask each node for its own connections, one call per
//! node ([`NodeCall`]): a page walks the nodes in id order (connection ids sort by node first), a broadcast sends
//! each node only its ids, and a group post goes to every node.

use std::collections::BTreeMap;
use std::sync::Arc;

use apigw::management::ext::{ConnectionSummary, GroupPost, NodeCall, PostStatus};
use apigw::management::{Call, Op, Reply};
use aws_models::apigatewaymanagementapi_ext::Operation;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD as BASE64, URL_SAFE_NO_PAD};
use http::request::Parts;
use http::{Response, StatusCode};
use hub::ConnectionId;
use serde_json::{Value, json};
use wire::{ApiError, ErrorCode};

use super::ExtensionCall;
use crate::http::{Body, json_response};
use crate::state::AppState;

pub(super) async fn serve(
    state: &Arc<AppState>,
    parts: &Parts,
    mut call: ExtensionCall<'_>,
) -> Result<Response<Body>, ApiError> {
    let path = call.path;
    // The API reached, as for the management API's own calls: by path, else by stage and `Host`.
    let host = crate::http::management::request_host(parts);
    let reached = apigw::management::reached(&state.apis, path.api, path.stage, host)?;
    let Some(operation) = Operation::from_name(call.operation.name) else { return Err(ApiError::forbidden()) };
    let (api, stage) = (reached.map(str::to_owned), path.stage.map(str::to_owned));
    match operation {
        Operation::CloseConnection => {
            let close = Call::close(&state.apis, (path.api, path.stage), host, call.str("ConnectionId"), &call.body)?;
            crate::http::management::run(state, parts, &close, call.body).await
        }
        Operation::UpdateConnection => {
            let id = apigw::management::parse_id(call.str("ConnectionId"))?;
            let update = Call { op: Op::Update, id, api: reached, stage: path.stage };
            crate::http::management::run(state, parts, &update, call.body).await
        }
        Operation::ListConnections => list(state, &call, api, stage).await,
        Operation::PostToConnections => {
            let data = data(state, &call)?;
            let ids: Vec<String> = match call.input.remove("ConnectionIds") {
                Some(Value::Array(ids)) => ids
                    .into_iter()
                    .filter_map(|id| match id {
                        Value::String(id) => Some(id),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            Ok(broadcast(state, ids, api, stage, data).await)
        }
        Operation::PostToGroup => {
            let data = data(state, &call)?;
            let group = call.str("Group").to_owned();
            Ok(ok(post_to_group(state, group, api, stage, data).await?))
        }
    }
}

fn ok(body: impl serde::Serialize) -> Response<Body> {
    json_response(StatusCode::OK, serde_json::to_string(&body).unwrap_or_default())
}

/// The `Data` of a post (base64 in the body), within the maximum message size: else 413, as PostToConnection.
fn data(state: &AppState, call: &ExtensionCall<'_>) -> Result<String, ApiError> {
    let data = call.str("Data");
    let bytes = BASE64.decode(data).map_err(|_| ApiError::new(ErrorCode::BadRequest, "Invalid Data: not base64"))?;
    let limit = state.config.limits.max_message_bytes;
    if bytes.len() > limit {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("Request payload exceeds the maximum of {limit} bytes"),
        ));
    }
    Ok(data.to_owned())
}

/// The JSON a node answered a [`NodeCall`] with.
fn answer<T: serde::de::DeserializeOwned + Default>(reply: Reply) -> T {
    reply.json.and_then(|json| serde_json::from_str(&json).ok()).unwrap_or_default()
}

/// NextToken: the last id of the page, opaque to the caller.
fn next_token(id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("after:{id}"))
}

fn read_token(token: &str) -> Result<ConnectionId, ApiError> {
    let text = URL_SAFE_NO_PAD.decode(token).ok().and_then(|bytes| String::from_utf8(bytes).ok());
    text.as_deref()
        .and_then(|t| t.strip_prefix("after:"))
        .and_then(ConnectionId::parse)
        .ok_or_else(|| ApiError::new(ErrorCode::BadRequest, "Invalid NextToken"))
}

async fn list(
    state: &Arc<AppState>,
    call: &ExtensionCall<'_>,
    api: Option<String>,
    stage: Option<String>,
) -> Result<Response<Body>, ApiError> {
    let limit = call.input.get("MaxResults").and_then(Value::as_u64).map_or(100, |n| n as usize);
    let after = match call.input.get("NextToken").and_then(Value::as_str) {
        Some(token) => Some(read_token(token)?),
        None => None,
    };
    let group = call.input.get("Group").and_then(Value::as_str).map(str::to_owned);
    let mut page: Vec<ConnectionSummary> = Vec::new();
    let nodes = state.cluster.nodes().await?;
    for node in nodes.into_iter().filter(|n| after.is_none_or(|a| *n >= a.node())) {
        let query = NodeCall::List {
            api: api.clone(),
            stage: stage.clone(),
            group: group.clone(),
            after: after.filter(|a| a.node() == node).map(|a| a.to_string()),
            // One more than the page holds, to know whether another page follows.
            limit: limit + 1 - page.len(),
        };
        match state.cluster.on_node(&state.hub, node, &query).await {
            Ok(reply) => page.extend(answer::<Vec<ConnectionSummary>>(reply)),
            // The node left since it was listed: it holds no connections.
            Err(err) if err.code == ErrorCode::Gone => {}
            Err(err) => return Err(err),
        }
        if page.len() > limit {
            break;
        }
    }
    let next = (page.len() > limit).then(|| {
        page.truncate(limit);
        page.last().map(|c| next_token(&c.connection_id))
    });
    let mut body = json!({ "Connections": page });
    if let Some(Some(token)) = next {
        body["NextToken"] = Value::String(token);
    }
    Ok(ok(body))
}

/// PostToConnections' answer, written from the statuses as they are (a `serde_json::Value` per id, built, written
/// and dropped, cost the server more than the deliveries did: docs/benchmarks.md, "PostToConnections: the call's own
/// work").
#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct Broadcast<'a> {
    results: Vec<BroadcastResult<'a>>,
    delivered: usize,
}

/// One id's outcome in a [`Broadcast`].
#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct BroadcastResult<'a> {
    connection_id: &'a str,
    status: PostStatus,
}

/// PostToConnections: each node is sent its own ids once, all nodes at the same time; the answer keeps the
/// request's order.
async fn broadcast(
    state: &Arc<AppState>,
    ids: Vec<String>,
    api: Option<String>,
    stage: Option<String>,
    data: String,
) -> Response<Body> {
    let mut statuses = vec![PostStatus::MalformedId; ids.len()];
    let mut by_node: BTreeMap<u16, Vec<usize>> = BTreeMap::new();
    for (i, id) in ids.iter().enumerate() {
        if let Some(id) = ConnectionId::parse(id) {
            by_node.entry(id.node()).or_default().push(i);
        }
    }
    let calls = by_node.iter().map(|(node, indexes)| {
        let call = NodeCall::Post {
            api: api.clone(),
            stage: stage.clone(),
            ids: indexes.iter().map(|&i| ids[i].clone()).collect(),
            data: data.clone(),
        };
        async move { (indexes, state.cluster.on_node(&state.hub, *node, &call).await) }
    });
    for (indexes, result) in futures_util::future::join_all(calls).await {
        let answered: Vec<PostStatus> = match result {
            Ok(reply) => answer(reply),
            Err(err) if err.code == ErrorCode::Gone => vec![PostStatus::Gone; indexes.len()],
            Err(_) => vec![PostStatus::Unavailable; indexes.len()],
        };
        for (&i, status) in indexes.iter().zip(answered.into_iter().chain(std::iter::repeat(PostStatus::Unavailable))) {
            statuses[i] = status;
        }
    }
    let delivered = statuses.iter().filter(|s| **s == PostStatus::Delivered).count();
    count(state, "PostToConnections", delivered as u64, &[]);
    for (status, outcome) in [
        (PostStatus::Gone, "gone"),
        (PostStatus::OutboxFull, "outbox_full"),
        (PostStatus::MalformedId, "malformed_id"),
        (PostStatus::Unavailable, "unavailable"),
    ] {
        let n = statuses.iter().filter(|s| **s == status).count() as u64;
        count(state, "PostToConnections", 0, &[(outcome, n)]);
    }
    let results = ids.iter().zip(statuses).map(|(id, status)| BroadcastResult { connection_id: id, status }).collect();
    ok(Broadcast { results, delivered })
}

/// PostToGroup: every node posts to its members of the group at the same time.
async fn post_to_group(
    state: &Arc<AppState>,
    group: String,
    api: Option<String>,
    stage: Option<String>,
    data: String,
) -> Result<Value, ApiError> {
    let call = NodeCall::PostGroup { api, stage, group, data };
    let nodes = state.cluster.nodes().await?;
    let calls = nodes.iter().map(|node| state.cluster.on_node(&state.hub, *node, &call));
    let (mut total, mut unreachable) = (GroupPost::default(), 0u64);
    for result in futures_util::future::join_all(calls).await {
        match result {
            Ok(reply) => {
                let part: GroupPost = answer(reply);
                total.delivered += part.delivered;
                total.outbox_full += part.outbox_full;
            }
            Err(err) if err.code == ErrorCode::Gone => {}
            Err(_) => unreachable += 1,
        }
    }
    count(
        state,
        "PostToGroup",
        total.delivered,
        &[("outbox_full", total.outbox_full), ("unreachable_node", unreachable)],
    );
    Ok(json!({"Delivered": total.delivered, "OutboxFull": total.outbox_full, "UnreachableNodes": unreachable}))
}

/// Counts an extension post's deliveries and its other outcomes (only those that happened, so no series is empty).
fn count(state: &AppState, operation: &'static str, delivered: u64, outcomes: &[(&'static str, u64)]) {
    let metrics = &state.metrics;
    if delivered > 0 {
        metrics.extension_deliveries.get_or_create(&crate::metrics::DeliveryLabels { operation }).inc_by(delivered);
    }
    for &(outcome, n) in outcomes.iter().filter(|(_, n)| *n > 0) {
        metrics.extension_outcomes.get_or_create(&crate::metrics::OutcomeLabels { operation, outcome }).inc_by(n);
    }
}
