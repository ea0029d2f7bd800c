//! The console's view of one node's live connections ([`super::ext::NodeCall::Console`]): a filtered page, newest
//! first, with the node's counts by stage and by room, which the console merges across the cluster's nodes.

use std::collections::BTreeMap;
use std::sync::Arc;

use hub::{Connection, Hub, Scope};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use wire::timefmt::rfc3339_millis;

/// What the console asks a node for: its open connections of a stage, a room or a group that match a search (a
/// part of the id, source address, user agent or user), the newest `limit` of them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleQuery {
    pub stage: Option<String>,
    pub room: Option<String>,
    pub group: Option<String>,
    pub search: Option<String>,
    pub limit: usize,
}

/// A node's answer to a [`ConsoleQuery`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ConsolePage {
    /// Its open connections, whatever the filter.
    pub connections: usize,
    /// Those that match.
    pub total: usize,
    /// The newest that match, at most `limit`, each as [`describe`] shows it.
    pub items: Vec<Value>,
    /// Open connections by API and stage.
    pub stages: Vec<(String, String, usize)>,
    /// Open connections by room.
    pub rooms: BTreeMap<String, usize>,
}

/// One connection as the console shows it: identity, scope (API and stage, or room and user), node and groups.
pub fn describe(conn: &Connection) -> Value {
    let info = conn.info();
    let mut value = json!({
        "id": conn.id().to_string(),
        "node": conn.id().node(),
        "sourceIp": info.source_ip,
        "userAgent": info.user_agent,
        "connectedAt": rfc3339_millis(info.connected_at),
        "lastActiveAt": rfc3339_millis(conn.last_active()),
        "groups": conn.tags().groups,
    });
    let subject = serde_json::to_value(conn.subject()).unwrap_or_default();
    if let (Some(value), Value::Object(subject)) = (value.as_object_mut(), subject) {
        value.extend(subject.into_iter().filter(|(name, _)| name != "connection"));
    }
    value
}

/// Runs `query` on this node's connections.
pub fn page(hub: &Hub, query: &ConsoleQuery) -> ConsolePage {
    let search = query.search.as_deref().map(str::to_lowercase);
    let mut stages: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut rooms: BTreeMap<String, usize> = BTreeMap::new();
    let mut connections = 0;
    let mut found: Vec<Arc<Connection>> = Vec::new();
    for conn in hub.snapshot().into_iter().filter(|c| c.is_open()) {
        connections += 1;
        let info = conn.info();
        let (in_stage, in_room, user) = match &info.scope {
            Scope::Api { api_id, stage } => {
                *stages.entry((api_id.to_string(), stage.to_string())).or_default() += 1;
                (query.stage.as_deref().is_none_or(|want| want == &**stage), query.room.is_none(), "")
            }
            Scope::Chat { room_id, user_id } => {
                *rooms.entry(room_id.to_string()).or_default() += 1;
                (query.stage.is_none(), query.room.as_deref().is_none_or(|want| want == &**room_id), &**user_id)
            }
        };
        let in_group = query.group.as_ref().is_none_or(|g| conn.tags().groups.contains(g));
        let matches = search.as_deref().is_none_or(|q| {
            [conn.id().to_string().as_str(), &info.source_ip, info.user_agent.as_deref().unwrap_or(""), user]
                .iter()
                .any(|field| field.to_lowercase().contains(q))
        });
        if in_stage && in_room && in_group && matches {
            found.push(conn.clone());
        }
    }
    found.sort_by_key(|conn| std::cmp::Reverse((conn.info().connected_at, conn.id())));
    let total = found.len();
    let items = found.iter().take(query.limit).map(|c| describe(c)).collect();
    let stages = stages.into_iter().map(|((api, stage), n)| (api, stage, n)).collect();
    ConsolePage { connections, total, items, stages, rooms }
}
