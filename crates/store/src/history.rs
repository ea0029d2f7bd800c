//! Durable chat room history (a Switchboard extension of IVS Chat): the [`HistoryStore`] trait, its records, and the
//! limits every backend enforces.
//!
//! Design. A room retains nothing until its history is switched on ([`HistoryStore::set_room_history`], an
//! extension operation: CreateRoom and UpdateRoom keep their AWS shapes). From then on every frame the room's
//! members receive — each MESSAGE and each EVENT, control-plane ones included — is appended as an [`Entry`] holding
//! the frame's exact JSON, before any member receives it, numbered by a per-room sequence (`seq`, strictly
//! increasing in append order). Each append trims the room to its limits in the same transaction: at most
//! [`History::max_entries`] entries (the newest), none older than [`History::max_age_seconds`] (reads hide entries
//! past that age even before an append removes them). DeleteMessage (the `aws:DELETE_MESSAGE` event appended with
//! [`NewEntry::deletes`]) turns the deleted message's entry into a tombstone in the same transaction: listings and
//! recovery skip it, but its position stays known so that a client whose last message was deleted can still
//! recover after it. Switching history off, or lowering the limits, trims at once. History goes with its room.
//!
//! Recovery ([`HistoryStore::history_after`]) answers the entries after a given message id, or [`Since::Gap`] when
//! that id is no longer retained (or never was): since trimming only ever removes the oldest entries, a retained
//! position means every later entry is retained too, so a replay is never silently partial.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::StoreError;
use crate::model::Room;

/// Most entries a room can retain.
pub const MAX_HISTORY_ENTRIES: u32 = 1_000;
/// Longest a room can retain an entry: 7 days.
pub const MAX_HISTORY_AGE_SECONDS: u32 = 7 * 24 * 60 * 60;

/// A room's history limits; both zero (the default) means the room retains nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct History {
    /// At most this many entries, the newest (1 to [`MAX_HISTORY_ENTRIES`]; 0 when off).
    pub max_entries: u32,
    /// None older than this (1 to [`MAX_HISTORY_AGE_SECONDS`]; 0 when off).
    pub max_age_seconds: u32,
}

impl History {
    /// No history.
    pub const OFF: History = History { max_entries: 0, max_age_seconds: 0 };

    pub fn is_on(self) -> bool {
        self.max_entries > 0 && self.max_age_seconds > 0
    }

    /// Whether both limits are within what a room may ask for (or both zero).
    pub fn is_valid(self) -> bool {
        self == History::OFF
            || ((1..=MAX_HISTORY_ENTRIES).contains(&self.max_entries)
                && (1..=MAX_HISTORY_AGE_SECONDS).contains(&self.max_age_seconds))
    }

    /// The oldest `send_time` (Unix milliseconds) still retained at `now`.
    pub(crate) fn cutoff_ms(self, now: OffsetDateTime) -> i64 {
        (now.unix_timestamp_nanos() / 1_000_000) as i64 - i64::from(self.max_age_seconds) * 1000
    }
}

/// What kind of frame an entry holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    Message,
    Event,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Message => "MESSAGE",
            EntryKind::Event => "EVENT",
        }
    }

    pub(crate) fn parse(s: &str) -> EntryKind {
        if s == "MESSAGE" { EntryKind::Message } else { EntryKind::Event }
    }
}

/// A frame to append to its room's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEntry {
    pub room_id: String,
    /// The frame's `Id`.
    pub id: String,
    pub kind: EntryKind,
    pub send_time: OffsetDateTime,
    /// The sender's user id (messages only).
    pub sender: Option<String>,
    /// The frame's JSON, exactly as members receive it.
    pub payload: String,
    /// For `aws:DELETE_MESSAGE`: the id of the message this deletes.
    pub deletes: Option<String>,
}

/// A retained frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Position in the room's history: strictly increasing in append order.
    pub seq: i64,
    pub id: String,
    pub kind: EntryKind,
    pub send_time: OffsetDateTime,
    pub sender: Option<String>,
    pub payload: String,
}

/// Which end of the history a listing starts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    NewestFirst,
    OldestFirst,
}

/// Which page of a room's history to list: from which end, resuming strictly after which `seq`, how many at most.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Listing {
    pub order: Order,
    pub after: Option<i64>,
    pub limit: usize,
}

/// One page of a room's history; `next` (a `seq`) resumes strictly after the page's last entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryPage {
    pub items: Vec<Entry>,
    pub next: Option<i64>,
}

/// What a reconnecting client missed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Since {
    /// Every retained entry after the given message, oldest first (possibly none).
    Entries(Vec<Entry>),
    /// The given message is not retained: history cannot tell what came after it.
    Gap,
}

/// The history half of the store; see the module documentation for the design.
#[async_trait]
pub trait HistoryStore: Send + Sync {
    /// Sets room `room_id`'s history limits (trimming what they no longer allow at `update_time`; [`History::OFF`]
    /// removes every entry), moving its `update_time` forward like UpdateRoom, and returns the room.
    async fn set_room_history(
        &self,
        room_id: &str,
        history: History,
        update_time: OffsetDateTime,
    ) -> Result<Room, StoreError>;

    /// Appends `entries` in order, in one transaction, each to its room if the room (still) retains history, trimming
    /// each room to its limits at `now`; answers, for each entry, whether it was retained.
    async fn append_history(&self, entries: Vec<NewEntry>, now: OffsetDateTime) -> Result<Vec<bool>, StoreError>;

    /// One page of room `room_id`'s retained entries (tombstones and entries past the age limit left out). [`StoreError::NotFound`] when the room does not exist.
    async fn list_history(
        &self,
        room_id: &str,
        listing: Listing,
        now: OffsetDateTime,
    ) -> Result<HistoryPage, StoreError>;

    /// The retained entries of room `room_id` after message or event `id`, oldest first, or [`Since::Gap`] when `id`
    /// is not retained at `now`.
    async fn history_after(&self, room_id: &str, id: &str, now: OffsetDateTime) -> Result<Since, StoreError>;

    /// The ids of `user_id`'s retained messages in room `room_id` (not deleted, within the age limit at `now`),
    /// oldest first: what a moderator's purge deletes.
    async fn user_messages(&self, room_id: &str, user_id: &str, now: OffsetDateTime)
    -> Result<Vec<String>, StoreError>;
}

/// The SQL both backends run: `deleted` is 0 or 1 on both, and parameters are `$n`, which SQLite reads as names
/// numbered by first appearance, so each statement mentions `$1`, `$2`, … first in that order.
pub(crate) mod sql {
    use super::Order;

    pub(crate) const SETTINGS: &str =
        "SELECT max_entries, max_age_seconds FROM room_history_settings WHERE room_id = $1";
    pub(crate) const ROOM_EXISTS: &str = "SELECT 1 FROM rooms WHERE id = $1";
    /// `$1`: the new `update_time`, `$2`: the room.
    pub(crate) const TOUCH_ROOM: &str = "UPDATE rooms SET update_time = $1 WHERE id = $2";
    pub(crate) const PUT_SETTINGS: &str =
        "INSERT INTO room_history_settings (room_id, max_entries, max_age_seconds, next_seq)
        VALUES ($1, $2, $3, 1) ON CONFLICT (room_id) DO UPDATE
        SET max_entries = excluded.max_entries, max_age_seconds = excluded.max_age_seconds";
    pub(crate) const FORGET_ENTRIES: &str = "DELETE FROM room_history WHERE room_id = $1";
    pub(crate) const FORGET_SETTINGS: &str = "DELETE FROM room_history_settings WHERE room_id = $1";
    /// Entries past the age (`$2`, a cutoff) or the count (`$3`: below `next_seq - max_entries`).
    pub(crate) const TRIM: &str = "DELETE FROM room_history WHERE room_id = $1 AND (send_time < $2 OR seq < (SELECT
        next_seq - $3 FROM room_history_settings WHERE room_id = $1))";
    pub(crate) const TOMBSTONE: &str =
        "UPDATE room_history SET deleted = 1, payload = '' WHERE room_id = $1 AND id = $2 AND kind = 'MESSAGE'";
    pub(crate) const NEXT_SEQ: &str =
        "UPDATE room_history_settings SET next_seq = next_seq + 1 WHERE room_id = $1 RETURNING next_seq - 1";
    pub(crate) const INSERT: &str =
        "INSERT INTO room_history (room_id, seq, id, kind, send_time, sender, deleted, payload)
        VALUES ($1, $2, $3, $4, $5, $6, 0, $7) ON CONFLICT (room_id, id) DO NOTHING";
    /// The position of a retained entry (`$3`: the age cutoff).
    pub(crate) const POSITION: &str = "SELECT seq FROM room_history WHERE room_id = $1 AND id = $2 AND send_time >= $3";
    /// Live entries after a position, oldest first.
    pub(crate) const AFTER: &str = "SELECT seq, id, kind, send_time, sender, payload FROM room_history
        WHERE room_id = $1 AND seq > $2 AND deleted = 0 AND send_time >= $3 ORDER BY seq ASC";

    /// A user's live messages (`$3`: the age cutoff), oldest first.
    pub(crate) const USER_MESSAGES: &str = "SELECT id FROM room_history WHERE room_id = $1 AND sender = $2
        AND kind = 'MESSAGE' AND deleted = 0 AND send_time >= $3 ORDER BY seq ASC";

    /// One page of live entries (`$2`: the age cutoff, `$3`: the `seq` to resume after or NULL, `$4`: how many).
    pub(crate) fn page(order: Order) -> &'static str {
        match order {
            Order::NewestFirst => {
                "SELECT seq, id, kind, send_time, sender, payload FROM room_history WHERE room_id = $1 AND deleted = 0
                 AND send_time >= $2 AND (CAST($3 AS BIGINT) IS NULL OR seq < $3) ORDER BY seq DESC LIMIT $4"
            }
            Order::OldestFirst => {
                "SELECT seq, id, kind, send_time, sender, payload FROM room_history WHERE room_id = $1 AND deleted = 0
                 AND send_time >= $2 AND (CAST($3 AS BIGINT) IS NULL OR seq > $3) ORDER BY seq ASC LIMIT $4"
            }
        }
    }
}

/// A page of at most `limit` entries from `items`, which the query fetched with `limit + 1` rows.
pub(crate) fn page(mut items: Vec<Entry>, limit: usize) -> HistoryPage {
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|e| e.seq)
    } else {
        None
    };
    HistoryPage { items, next }
}
