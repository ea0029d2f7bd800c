//! Extension operations of the ivschat control plane (not AWS's; the README's "Extensions" section gives their
//! contracts): room history here, moderation in `moderation.rs`, presence in `presence.rs`. They take and answer JSON like the AWS operations,
//! read through the same validation, and answer errors from the same table; AWS's operations and shapes are
//! untouched.
//!
//! - `PutRoomHistory` `{roomIdentifier, maxEntries, maxAgeSeconds}` sets what a room retains (both 0: nothing) and
//!   answers `{roomArn, maxEntries, maxAgeSeconds}`; the limits reach the live room on every node.
//! - `ListRoomMessages` `{roomIdentifier, order?, maxResults?, nextToken?}` answers `{messages, nextToken?}`: the
//!   room's retained frames, each exactly as members received it (DeleteMessage applied), `NEWEST_FIRST` (the
//!   default) or `OLDEST_FIRST`, at most `maxResults` (1 to 100, default 50) a page.

use aws_models::ivschat_ext::shapes as model;
use serde_json::{Map, Value, json};
use store::{History, Listing, Order, ResourceKind};
use wire::ApiError;

use crate::validate::{PAGINATION_TOKEN, ROOM_IDENTIFIER_RULE};
use crate::{ControlPlane, Reply, errors, pagination};

mod moderation;
mod presence;

/// An extension operation of ivschat, as its extension model (`models/switchboard/ivschat-ext/`) names it.
pub use aws_models::ivschat_ext::Operation as Extension;

/// `order` of ListRoomMessages.
const ORDERS: [&str; 2] = ["NEWEST_FIRST", "OLDEST_FIRST"];

const DEFAULT_PAGE: usize = 50;

impl ControlPlane {
    /// Serves one extension operation with its JSON `body`. Authentication happens before this call.
    pub async fn handle_extension(&self, ext: Extension, body: &[u8]) -> Result<Reply, ApiError> {
        if body.len() > self.config.max_body_bytes {
            return Err(errors::other("The request body is too large"));
        }
        let input = crate::validate::parse_body(body)?;
        let value = match ext {
            Extension::PutRoomHistory => self.put_room_history(input).await?,
            Extension::ListRoomMessages => self.list_room_messages(input).await?,
            Extension::BanUser => self.ban_user(input).await?,
            Extension::DeleteUserMessages => self.delete_user_messages(input).await?,
            Extension::PutRoomSlowMode => self.put_room_slow_mode(input).await?,
            Extension::ListRoomPresence => self.list_room_presence(input).await?,
            Extension::PutRoomPresenceEvents => self.put_room_presence_events(input).await?,
        };
        Ok(Reply::json(&value))
    }

    async fn put_room_history(&self, mut input: crate::validate::Object) -> Result<Value, ApiError> {
        let mut r = self.reader();
        let identifier = r.string(&mut input, "roomIdentifier", true, ROOM_IDENTIFIER_RULE);
        let entries = r.integer(&mut input, "maxEntries", true, &model::MAX_HISTORY_ENTRIES);
        let age = r.integer(&mut input, "maxAgeSeconds", true, &model::MAX_HISTORY_AGE_SECONDS);
        r.end(input);
        r.finish()?;
        let history = History {
            max_entries: u32::try_from(entries.unwrap_or_default()).unwrap_or_default(),
            max_age_seconds: u32::try_from(age.unwrap_or_default()).unwrap_or_default(),
        };
        if !history.is_valid() {
            return Err(errors::field("maxEntries", "maxEntries and maxAgeSeconds must both be 0 or both be positive"));
        }
        let id = self.resolve(&identifier.unwrap_or_default(), ResourceKind::Room)?;
        let room = self.store.set_room_history(&id, history, self.now()).await.map_err(|e| self.store_error(e))?;
        self.events.room_updated(&room).await;
        Ok(json!({
            "roomArn": self.room_arn(&room.id),
            "maxEntries": room.history.max_entries,
            "maxAgeSeconds": room.history.max_age_seconds,
        }))
    }

    async fn list_room_messages(&self, mut input: crate::validate::Object) -> Result<Value, ApiError> {
        let mut r = self.reader();
        let identifier = r.string(&mut input, "roomIdentifier", true, ROOM_IDENTIFIER_RULE);
        let order = r.enumeration(&mut input, "order", false, &ORDERS);
        let max_results = r.integer(&mut input, "maxResults", false, &model::MAX_MESSAGE_RESULTS);
        let next_token = r.string(&mut input, "nextToken", false, PAGINATION_TOKEN);
        r.end(input);
        r.finish()?;
        let id = self.resolve(&identifier.unwrap_or_default(), ResourceKind::Room)?;
        let order = match order.as_deref() {
            Some("OLDEST_FIRST") => Order::OldestFirst,
            _ => Order::NewestFirst,
        };
        let scope = pagination::scope(&[Some(&id), Some(if order == Order::OldestFirst { "old" } else { "new" })]);
        let after = self.decode_token(pagination::Listing::RoomMessages, &scope, next_token)?;
        let limit = max_results.map_or(DEFAULT_PAGE, |n| usize::try_from(n).unwrap_or(DEFAULT_PAGE));
        let listing = Listing { order, after: after.map(|cursor| cursor.update_time_ms), limit };
        let page = self.store.list_history(&id, listing, self.now()).await.map_err(|e| self.store_error(e))?;

        let messages: Vec<Value> =
            page.items.iter().map(|entry| serde_json::from_str(&entry.payload).unwrap_or(Value::Null)).collect();
        let mut out = Map::new();
        out.insert("messages".into(), Value::Array(messages));
        if let Some(seq) = page.next {
            let cursor = store::Cursor { update_time_ms: seq, id: String::new() };
            out.insert(
                "nextToken".into(),
                self.pages.encode(pagination::Listing::RoomMessages, &scope, &cursor).into(),
            );
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests;
