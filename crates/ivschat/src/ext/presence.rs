//! Presence (extension operations): `ListRoomPresence` `{roomIdentifier, maxResults?, nextToken?}` answers
//! `{users, nextToken?}`: who is connected to the room on every node, one entry per user, sorted by user id, with the
//! attributes of their earliest connection's token, their `connectionCount` and `connectedSince` (their earliest
//! connection). The messaging layer gathers the connections (`RoomEvents::presence`); a page resumes after the last
//! user id of the previous one.
//!
//! `PutRoomPresenceEvents` `{roomIdentifier, enabled}` turns the room's presence events on or off (off by default)
//! and answers `{roomArn, enabled}`; the setting reaches the live room on every node. While on, members receive the
//! EVENTs `switchboard:join` and `switchboard:leave` (attribute `UserId`) as users come and go (the messaging layer's
//! `presence.rs` says exactly when).

use std::collections::BTreeMap;

use aws_models::ivschat_ext::shapes as model;
use serde_json::{Map, Value, json};
use wire::ApiError;
use wire::timefmt::rfc3339_millis;

use crate::effects::Connected;
use crate::validate::{Object, PAGINATION_TOKEN, ROOM_IDENTIFIER_RULE};
use crate::{ControlPlane, pagination};

const DEFAULT_PAGE: usize = 50;

/// One user's connections, merged.
struct Present {
    first: Connected,
    count: usize,
}

impl ControlPlane {
    pub(super) async fn put_room_presence_events(&self, mut input: Object) -> Result<Value, ApiError> {
        let mut r = self.reader();
        let identifier = r.string(&mut input, "roomIdentifier", true, ROOM_IDENTIFIER_RULE);
        let enabled = r.boolean(&mut input, "enabled", true);
        r.end(input);
        r.finish()?;
        let room = self.room_of(identifier).await?;
        let (id, enabled) = (room.id, enabled.unwrap_or_default());
        let room = self.store.set_presence_events(&id, enabled, self.now()).await.map_err(|e| self.store_error(e))?;
        self.events.room_updated(&room).await;
        Ok(json!({"roomArn": self.room_arn(&room.id), "enabled": room.presence_events}))
    }

    pub(super) async fn list_room_presence(&self, mut input: Object) -> Result<Value, ApiError> {
        let mut r = self.reader();
        let identifier = r.string(&mut input, "roomIdentifier", true, ROOM_IDENTIFIER_RULE);
        let max_results = r.integer(&mut input, "maxResults", false, &model::MAX_PRESENCE_RESULTS);
        let next_token = r.string(&mut input, "nextToken", false, PAGINATION_TOKEN);
        r.end(input);
        r.finish()?;
        let room = self.room_of(identifier).await?;
        let scope = pagination::scope(&[Some(&room.id)]);
        let after = self.decode_token(pagination::Listing::RoomPresence, &scope, next_token)?.map(|c| c.id);
        let limit = max_results.map_or(DEFAULT_PAGE, |n| usize::try_from(n).unwrap_or(DEFAULT_PAGE));
        let connected = self.events.presence(&room).await.map_err(|e| self.effect_error(&room, e))?;

        let mut users: BTreeMap<String, Present> = BTreeMap::new();
        for connection in connected {
            if after.as_ref().is_some_and(|after| connection.user_id <= *after) {
                continue;
            }
            let present =
                users.entry(connection.user_id.clone()).or_insert(Present { first: connection.clone(), count: 0 });
            present.count += 1;
            if connection.connected_at_ms < present.first.connected_at_ms {
                present.first = connection;
            }
        }
        let more = users.len() > limit;
        let page: Vec<(String, Present)> = users.into_iter().take(limit).collect();
        let mut out = Map::new();
        if let (true, Some((last, _))) = (more, page.last()) {
            let cursor = store::Cursor { update_time_ms: 0, id: last.clone() };
            out.insert(
                "nextToken".into(),
                self.pages.encode(pagination::Listing::RoomPresence, &scope, &cursor).into(),
            );
        }
        let users: Vec<Value> = page
            .into_iter()
            .map(|(user_id, present)| {
                let since = time::OffsetDateTime::from_unix_timestamp_nanos(
                    i128::from(present.first.connected_at_ms) * 1_000_000,
                )
                .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
                json!({
                    "userId": user_id,
                    "attributes": present.first.attributes,
                    "connectionCount": present.count,
                    "connectedSince": rfc3339_millis(since),
                })
            })
            .collect();
        out.insert("users".into(), Value::Array(users));
        Ok(Value::Object(out))
    }
}
