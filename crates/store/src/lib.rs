//! Durable state for the IVS Chat and apigatewayv2 control planes: the [`Store`] trait (with [`ApiStore`], the
//! apigatewayv2 half, whose design is written down in `apis.rs`, and [`HistoryStore`], chat room history, designed in
//! `history.rs`, and [`ModerationStore`], bans, slow mode and presence events), its records and errors, the embedded SQLite
//! default ([`SqliteStore`]) and the shared store of a cluster ([`PostgresStore`]).
//!
//! The trait speaks in resource ids (12 characters), never ARNs: region and account belong to the caller, so
//! the same database survives a change of either. Every method is one atomic unit (one transaction), so
//! checks such as quotas, "logging configuration still attached" or "at most 50 tags" cannot race.
//! Both backends share one schema design (keyset pagination on `(update_time, id)` with ids sorted bytewise, a join
//! table for room → logging configuration) and one set of behaviour tests (`behaviour.rs`). SQLite gets atomicity
//! from `BEGIN IMMEDIATE` (one writer at a time); PostgreSQL gets the same from a transaction-scoped advisory lock
//! taken first by every writing transaction, so the count checks (quotas, tag limit) and the "still attached" check
//! cannot race across nodes, while reads run on `REPEATABLE READ` snapshots without waiting.

mod apis;
#[cfg(test)]
mod behaviour;
mod error;
mod history;
mod model;
mod moderation;
mod paging;
mod postgres;
mod sqlite;

use async_trait::async_trait;

pub use apis::{ApiChange, ApiRecord, ApiStore, ApiStoreError, NewApi, Snapshot};
pub use error::StoreError;
pub use history::{
    Entry, EntryKind, History, HistoryPage, HistoryStore, Listing, MAX_HISTORY_AGE_SECONDS, MAX_HISTORY_ENTRIES,
    NewEntry, Order, Since,
};
pub use model::{
    Cursor, Destination, FallbackResult, HandlerPatch, LoggingConfiguration, LoggingConfigurationPatch,
    LoggingConfigurationState, MessageReviewHandler, NewLoggingConfiguration, NewRoom, Page, ResourceKind, ResourceRef,
    Room, RoomFilter, RoomPatch, Tags,
};
pub use moderation::{MAX_BAN_SECONDS, MAX_SLOW_MODE_SECONDS, ModerationStore};
pub use paging::{PageTokens, page_scope};
pub use postgres::{PostgresSettings, PostgresStore};
pub use sqlite::{DATABASE_FILE, SqliteStore};

/// Rooms, logging configurations, tags, (through [`HistoryStore`]) chat room history and (through [`ApiStore`]) apigatewayv2 APIs, behind one object-safe async trait (`Arc<dyn Store>`).
///
/// Times are whole milliseconds (the wire shows milliseconds); implementations truncate what they are given.
/// Listing is ordered by `update_time` descending, then `id` descending, and paginated by keyset
/// ([`Cursor`]): a page resumes strictly after the last row of the previous one, so rows created or deleted
/// between pages never cause a row present throughout to be skipped or repeated.
#[async_trait]
pub trait Store: ApiStore + HistoryStore + ModerationStore + Send + Sync + 'static {
    /// Creates a room, failing with [`StoreError::QuotaExceeded`] when `max_rooms` already exist,
    /// [`StoreError::NotFound`] when a logging configuration does not exist and
    /// [`StoreError::AlreadyExists`] when the id is taken.
    async fn create_room(&self, room: NewRoom, max_rooms: u64) -> Result<Room, StoreError>;

    async fn get_room(&self, id: &str) -> Result<Room, StoreError>;

    /// Applies `patch` and sets `update_time` (made strictly later than the current one when it is not, so that the
    /// last committed update is the newest); logging configurations named by the patch must exist.
    async fn update_room(&self, id: &str, patch: RoomPatch) -> Result<Room, StoreError>;

    /// Deletes a room with its tags and returns what was deleted.
    async fn delete_room(&self, id: &str) -> Result<Room, StoreError>;

    /// One page of rooms matching `filter`, at most `limit` long, resuming after `after`.
    async fn list_rooms(
        &self,
        filter: &RoomFilter,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<Room>, StoreError>;

    async fn count_rooms(&self) -> Result<u64, StoreError>;

    /// Creates a logging configuration, failing with [`StoreError::QuotaExceeded`] when `max` already exist.
    async fn create_logging_configuration(
        &self,
        config: NewLoggingConfiguration,
        max: u64,
    ) -> Result<LoggingConfiguration, StoreError>;

    async fn get_logging_configuration(&self, id: &str) -> Result<LoggingConfiguration, StoreError>;

    async fn update_logging_configuration(
        &self,
        id: &str,
        patch: LoggingConfigurationPatch,
    ) -> Result<LoggingConfiguration, StoreError>;

    /// Deletes a logging configuration with its tags; [`StoreError::Conflict`] while a room still uses it.
    async fn delete_logging_configuration(&self, id: &str) -> Result<LoggingConfiguration, StoreError>;

    /// One page of logging configurations, ordered like rooms.
    async fn list_logging_configurations(
        &self,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<LoggingConfiguration>, StoreError>;

    async fn count_logging_configurations(&self) -> Result<u64, StoreError>;

    /// Adds or overwrites tags; [`StoreError::TooManyTags`] if the resource would end with more than `max_tags`.
    async fn tag_resource(&self, resource: &ResourceRef, tags: &Tags, max_tags: usize) -> Result<(), StoreError>;

    /// Removes the given keys (absent keys are ignored).
    async fn untag_resource(&self, resource: &ResourceRef, keys: &[String]) -> Result<(), StoreError>;

    async fn list_tags(&self, resource: &ResourceRef) -> Result<Tags, StoreError>;

    /// Records the single use of the chat token whose nonce is `nonce`, valid until `expires` (both are signed into the
    /// token, so the pair names it): `true` the first time, `false` for every later redemption of the same token, on
    /// any node sharing the store and across restarts. The record is durable when this returns `true`. Records of
    /// expired tokens are removed as redemptions go on.
    async fn redeem_token(&self, nonce: &str, expires: time::OffsetDateTime) -> Result<bool, StoreError>;
}

/// How many expired token records one redemption (or one batch of them) removes at most, so that purging never
/// makes a handshake wait on a large delete.
pub(crate) const TOKEN_PURGE_BATCH: i64 = 64;
