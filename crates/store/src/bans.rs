//! Bans of users from chat rooms (a Switchboard extension of IVS Chat): the [`BanStore`] trait and the SQL both
//! backends run. A ban names a room and a user id and lasts until a time; a later ban of the same user replaces it
//! (so a ban can be shortened or lifted by banning until now). Bans go with their room, and expired ones are removed
//! as new bans are written.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::StoreError;

/// Longest ban: a year.
pub const MAX_BAN_SECONDS: u32 = 365 * 24 * 60 * 60;

/// The bans half of the store; see the module documentation.
#[async_trait]
pub trait BanStore: Send + Sync {
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

/// The SQL both backends run (parameters first appear in number order; see `crate::history::sql`).
pub(crate) mod sql {
    pub(crate) const PURGE: &str = "DELETE FROM room_bans WHERE until_ms <= $1";
    pub(crate) const PUT: &str = "INSERT INTO room_bans (room_id, user_id, until_ms) VALUES ($1, $2, $3)
        ON CONFLICT (room_id, user_id) DO UPDATE SET until_ms = excluded.until_ms";
    pub(crate) const GET: &str = "SELECT until_ms FROM room_bans WHERE room_id = $1 AND user_id = $2 AND until_ms > $3";
}
