//! Moderation of chat rooms and their other settings beyond AWS (Switchboard extensions of IVS Chat): the
//! [`ModerationStore`] trait and the SQL both backends run. A room's slow mode (at most one message per user per so
//! many seconds) and its presence events (on or off) are part of the room ([`crate::Room::slow_mode_seconds`],
//! [`crate::Room::presence_events`]), changed like UpdateRoom changes it. A ban names a room and a user id and lasts until a time; a later ban of the same user replaces it
//! (so a ban can be shortened or lifted by banning until now). Bans go with their room, and expired ones are removed
//! as new bans are written.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::StoreError;
use crate::model::Room;

/// Longest ban: a year.
pub const MAX_BAN_SECONDS: u32 = 365 * 24 * 60 * 60;
/// Longest slow mode interval: an hour.
pub const MAX_SLOW_MODE_SECONDS: u32 = 60 * 60;

/// The bans half of the store; see the module documentation.
#[async_trait]
pub trait ModerationStore: Send + Sync {
    /// Sets room `room_id`'s slow mode (0: off), moving its `update_time` forward like UpdateRoom, and returns it.
    async fn set_slow_mode(&self, room_id: &str, seconds: u32, update_time: OffsetDateTime)
    -> Result<Room, StoreError>;

    /// Turns room `room_id`'s presence events on or off, moving its `update_time` forward like UpdateRoom, and
    /// returns it.
    async fn set_presence_events(
        &self,
        room_id: &str,
        enabled: bool,
        update_time: OffsetDateTime,
    ) -> Result<Room, StoreError>;

    /// Bans `user_id` from room `room_id` until `until` (replacing any ban of theirs there); [`StoreError::NotFound`]
    /// when the room does not exist. Expired bans (at `now`) are removed on the way.
    async fn ban_user(
        &self,
        room_id: &str,
        user_id: &str,
        until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Until when `user_id` is banned from room `room_id`, if they are at `now`.
    async fn banned_until(
        &self,
        room_id: &str,
        user_id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<OffsetDateTime>, StoreError>;
}

/// A room's settings beyond AWS, as both backends read them with the room.
pub(crate) struct Extras {
    pub(crate) history: crate::History,
    pub(crate) slow_mode_seconds: u32,
    pub(crate) presence_events: bool,
}

/// The SQL both backends run (parameters first appear in number order; see `crate::history::sql`).
pub(crate) mod sql {
    /// A room's slow mode (NULL: off) and whether it sends presence events.
    pub(crate) const SETTINGS: &str = "SELECT (SELECT seconds FROM room_slow_mode WHERE room_id = $1),
        EXISTS (SELECT 1 FROM room_presence_events WHERE room_id = $1)";
    pub(crate) const PUT_SLOW_MODE: &str = "INSERT INTO room_slow_mode (room_id, seconds) VALUES ($1, $2)
        ON CONFLICT (room_id) DO UPDATE SET seconds = excluded.seconds";
    pub(crate) const FORGET_SLOW_MODE: &str = "DELETE FROM room_slow_mode WHERE room_id = $1";
    pub(crate) const PUT_PRESENCE_EVENTS: &str =
        "INSERT INTO room_presence_events (room_id) VALUES ($1) ON CONFLICT (room_id) DO NOTHING";
    pub(crate) const FORGET_PRESENCE_EVENTS: &str = "DELETE FROM room_presence_events WHERE room_id = $1";

    /// The statement that turns a room's presence events on or off.
    pub(crate) fn presence_events(enabled: bool) -> &'static str {
        if enabled { PUT_PRESENCE_EVENTS } else { FORGET_PRESENCE_EVENTS }
    }
    pub(crate) const PURGE: &str = "DELETE FROM room_bans WHERE until_ms <= $1";
    pub(crate) const PUT: &str = "INSERT INTO room_bans (room_id, user_id, until_ms) VALUES ($1, $2, $3)
        ON CONFLICT (room_id, user_id) DO UPDATE SET until_ms = excluded.until_ms";
    pub(crate) const GET: &str = "SELECT until_ms FROM room_bans WHERE room_id = $1 AND user_id = $2 AND until_ms > $3";
}
