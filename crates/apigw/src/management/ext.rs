//! The management API's extension operations (`aws_models::apigatewaymanagementapi_ext`) as one node runs them over
//! its hub: UpdateConnection on the connection's node (as [`super::Op::Update`]), and the calls every node answers
//! for its own connections ([`NodeCall`]: a page of ListConnections, its share of a PostToConnections, PostToGroup),
//! which the server sends once per node of a cluster.

use std::collections::BTreeMap;

use aws_models::apigatewaymanagementapi_ext::shapes;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use hub::{Connection, ConnectionId, Hub, Outbound, Scope, SendError, Spread, TagChange, TagError, TagLimits, Tags};
use serde::{Deserialize, Serialize};
use wire::{ApiError, ErrorCode, timefmt};

use super::Reply;

/// How many groups and metadata pairs a connection may have: the extension model's bounds of one request's lists.
pub fn tag_limits() -> TagLimits {
    TagLimits { groups: shapes::GROUP_NAME_LIST.max_len(), metadata: shapes::METADATA.max_len() }
}

/// The `$connect` answer's header naming the groups the connection joins: names separated by commas.
pub const GROUPS_HEADER: &str = "x-switchboard-groups";
/// The `$connect` answer's header setting the connection's metadata: `key=value` pairs joined by `&`,
/// percent-encoded as a form (`application/x-www-form-urlencoded`).
pub const METADATA_HEADER: &str = "x-switchboard-metadata";

/// Takes the groups and metadata a `$connect` integration's answer sets out of its headers (they are not sent to
/// the client), checked against the extension model's shapes as UpdateConnection's are.
pub fn take_connect_tags(headers: &mut Vec<(String, String)>) -> Result<TagChange, String> {
    let mut change = TagChange::default();
    let mut rest = Vec::with_capacity(headers.len());
    for (name, value) in headers.drain(..) {
        if name.eq_ignore_ascii_case(GROUPS_HEADER) {
            change.join.extend(value.split(',').map(str::trim).filter(|g| !g.is_empty()).map(str::to_owned));
        } else if name.eq_ignore_ascii_case(METADATA_HEADER) {
            for pair in value.split('&').filter(|p| !p.is_empty()) {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                let decode = |s: &str| {
                    percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned()
                };
                change.set.insert(decode(key), decode(value));
            }
        } else {
            rest.push((name, value));
        }
    }
    *headers = rest;
    let groups = serde_json::to_value(&change.join).unwrap_or_default();
    aws_models::input::check(GROUPS_HEADER, &groups, &shapes::GROUP_NAME_LIST)?;
    let metadata = serde_json::to_value(&change.set).unwrap_or_default();
    aws_models::input::check(METADATA_HEADER, &metadata, &shapes::METADATA)?;
    Ok(change)
}

/// Whether `conn` is an API connection reachable through an endpoint of `api` (any when `None`) and `stage`.
pub fn reachable(conn: &Connection, api: Option<&str>, stage: Option<&str>) -> bool {
    match &conn.info().scope {
        Scope::Api { api_id, stage: conn_stage } => {
            api.is_none_or(|a| a == &**api_id) && stage.is_none_or(|s| s == &**conn_stage)
        }
        Scope::Chat { .. } => false,
    }
}

/// UpdateConnection's body (its members checked against the model before).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct UpdateInput {
    join_groups: Vec<String>,
    leave_groups: Vec<String>,
    metadata: BTreeMap<String, String>,
    remove_metadata: Vec<String>,
}

/// A connection's groups and metadata as UpdateConnection answers them.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct UpdateOutput<'a> {
    connection_id: String,
    groups: &'a std::collections::BTreeSet<String>,
    metadata: &'a BTreeMap<String, String>,
}

/// UpdateConnection on a connection of this node.
pub(super) fn update(hub: &Hub, conn: &Connection, body: &[u8]) -> Result<Reply, ApiError> {
    let input: UpdateInput = serde_json::from_slice(body)
        .map_err(|e| ApiError::new(ErrorCode::BadRequest, format!("Invalid UpdateConnection request: {e}")))?;
    let change = TagChange {
        join: input.join_groups,
        leave: input.leave_groups,
        set: input.metadata,
        unset: input.remove_metadata,
    };
    let limits = tag_limits();
    let tags = hub.update_tags(conn, &change, limits).map_err(|err| match err {
        TagError::Gone => ApiError::gone(),
        TagError::TooManyGroups => ApiError::new(
            ErrorCode::GroupLimitExceeded,
            format!("A connection may be in at most {} groups", limits.groups),
        ),
        TagError::TooManyMetadata => ApiError::new(
            ErrorCode::MetadataLimitExceeded,
            format!("A connection may have at most {} metadata pairs", limits.metadata),
        ),
    })?;
    let output = UpdateOutput { connection_id: conn.id().to_string(), groups: &tags.groups, metadata: &tags.metadata };
    Ok(Reply { status: 200, json: Some(serde_json::to_string(&output).unwrap_or_default()) })
}

/// A call every node answers for its own connections of an endpoint (`api`, `stage`; any when `None`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "call")]
pub enum NodeCall {
    /// Up to `limit` connections (of `group`, if given) with ids after `after`, in id order.
    List { api: Option<String>, stage: Option<String>, group: Option<String>, after: Option<String>, limit: usize },
    /// `data` (base64) to each of `ids` (this node's), answering one [`PostStatus`] per id.
    Post { api: Option<String>, stage: Option<String>, ids: Vec<String>, data: String },
    /// `data` (base64) to every member of `group`, answering a [`GroupPost`].
    PostGroup { api: Option<String>, stage: Option<String>, group: String, data: String },
    /// The console's page of the node's connections, answering a [`super::console::ConsolePage`].
    Console(super::console::ConsoleQuery),
}

/// One connection as ListConnections shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConnectionSummary {
    pub connection_id: String,
    pub connected_at: String,
    pub last_active_at: String,
    pub identity: SummaryIdentity,
    pub groups: Vec<String>,
    pub metadata: BTreeMap<String, String>,
}

/// The client of a [`ConnectionSummary`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SummaryIdentity {
    pub source_ip: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

/// The outcome of a post to one id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PostStatus {
    Delivered,
    Gone,
    OutboxFull,
    MalformedId,
    /// The node holding the connection could not be reached now.
    Unavailable,
}

/// What one node did with a PostToGroup.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupPost {
    pub delivered: u64,
    pub outbox_full: u64,
}

impl NodeCall {
    /// Runs the call on this node's connections; the answer's JSON is the call's (a list of summaries, of
    /// statuses, or a [`GroupPost`]).
    pub fn apply(&self, hub: &Hub) -> Result<Reply, ApiError> {
        let json = match self {
            NodeCall::List { api, stage, group, after, limit } => {
                let after = after.as_deref().and_then(ConnectionId::parse);
                let members = match group {
                    Some(group) => hub.group_members(group),
                    None => hub.snapshot(),
                };
                let mut page: Vec<_> = members
                    .into_iter()
                    .filter(|c| reachable(c, api.as_deref(), stage.as_deref()) && c.is_open())
                    .filter(|c| after.is_none_or(|after| c.id() > after))
                    .collect();
                page.sort_by_key(|c| c.id());
                page.truncate(*limit);
                serde_json::to_string(&page.iter().map(|c| summary(c)).collect::<Vec<_>>())
            }
            NodeCall::Post { api, stage, ids, data } => {
                let message = decode(data)?;
                let spread = Spread::new();
                let mut statuses = vec![PostStatus::MalformedId; ids.len()];
                for (id, at) in walk(ids) {
                    let Some(id) = id else { continue };
                    statuses[at] = post_one(hub, id, api.as_deref(), stage.as_deref(), &message, &spread);
                }
                serde_json::to_string(&statuses)
            }
            NodeCall::PostGroup { api, stage, group, data } => {
                let message = decode(data)?;
                let mut outcome = GroupPost::default();
                let spread = Spread::new();
                for conn in hub.group_members(group) {
                    if !reachable(&conn, api.as_deref(), stage.as_deref()) {
                        continue;
                    }
                    match spread.send(&conn, message.clone()) {
                        Ok(()) => {
                            conn.touch();
                            outcome.delivered += 1;
                        }
                        Err(SendError::Full) => outcome.outbox_full += 1,
                        Err(SendError::Closed) => {}
                    }
                }
                serde_json::to_string(&outcome)
            }
            NodeCall::Console(query) => serde_json::to_string(&super::console::page(hub, query)),
        };
        Ok(Reply { status: 200, json: Some(json.unwrap_or_default()) })
    }
}

/// The data of a post, decoded once for every recipient.
fn decode(data: &str) -> Result<Outbound, ApiError> {
    let bytes = BASE64.decode(data).map_err(|_| ApiError::new(ErrorCode::BadRequest, "Invalid Data: not base64"))?;
    Ok(Outbound::from_bytes(Bytes::from(bytes)))
}

/// The order a PostToConnections writes to `ids` in: each id parsed (`None` if malformed) beside its place in the
/// caller's list, sorted by id. Ids sort in the order they were issued, which is the order the kernel made their
/// sockets in, so a post walks its members as a room does (ARCHITECTURE invariant 7) whatever order the caller lists
/// them in; a repeated id's posts keep the caller's order, and the answer keeps the caller's order of statuses.
pub(super) fn walk(ids: &[String]) -> Vec<(Option<ConnectionId>, usize)> {
    let mut walk: Vec<_> = ids.iter().map(|id| ConnectionId::parse(id)).zip(0..).collect();
    walk.sort_unstable();
    walk
}

fn post_one(
    hub: &Hub,
    id: ConnectionId,
    api: Option<&str>,
    stage: Option<&str>,
    message: &Outbound,
    spread: &Spread,
) -> PostStatus {
    let Some(conn) = hub.get(id).filter(|c| reachable(c, api, stage)) else { return PostStatus::Gone };
    match spread.send(&conn, message.clone()) {
        Ok(()) => {
            conn.touch();
            PostStatus::Delivered
        }
        Err(SendError::Full) => PostStatus::OutboxFull,
        Err(SendError::Closed) => PostStatus::Gone,
    }
}

fn summary(conn: &Connection) -> ConnectionSummary {
    let info = conn.info();
    let Tags { groups, metadata } = conn.tags();
    ConnectionSummary {
        connection_id: conn.id().to_string(),
        connected_at: timefmt::rfc3339_millis(info.connected_at),
        last_active_at: timefmt::rfc3339_millis(conn.last_active()),
        identity: SummaryIdentity {
            source_ip: info.source_ip.clone(),
            user_agent: info.user_agent.as_deref().map(str::to_owned),
        },
        groups: groups.into_iter().collect(),
        metadata,
    }
}
