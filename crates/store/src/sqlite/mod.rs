//! The embedded durable default: one SQLite file under a data directory, its connection on a thread of its own
//! ([`db`]) so that no query ever runs on a runtime worker.

mod apis;
mod db;
mod history;
mod redemptions;
mod rows;
mod schema;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::{Connection, TransactionBehavior, params};

use crate::model::{
    Cursor, LoggingConfiguration, LoggingConfigurationPatch, LoggingConfigurationState, MessageReviewHandler,
    NewLoggingConfiguration, NewRoom, Page, ResourceKind, ResourceRef, Room, RoomFilter, RoomPatch, Tags,
};
use crate::{Store, StoreError};
use db::Db;
use rows::{LC_COLUMNS, ROOM_COLUMNS, to_ms};

/// The file name of the database inside the data directory.
pub const DATABASE_FILE: &str = "ivschat.sqlite3";

/// [`Store`] on SQLite (WAL, `synchronous=FULL`): every acknowledged write survives `kill -9` and power loss.
///
/// One connection serves all calls, on its own thread; each call is one transaction.
#[derive(Clone)]
pub struct SqliteStore {
    db: Arc<Db>,
    path: PathBuf,
    /// Chat token redemptions waiting for their group commit.
    redemptions: Arc<redemptions::Queue>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.path).finish()
    }
}

impl SqliteStore {
    /// Opens or creates `<data_dir>/ivschat.sqlite3` (creating the directory), migrating the schema.
    pub async fn open(data_dir: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        let dir = data_dir.as_ref().to_path_buf();
        tokio::task::spawn_blocking(move || SqliteStore::open_blocking(&dir))
            .await
            .map_err(|e| StoreError::Backend(format!("store open task failed: {e}")))?
    }

    /// [`SqliteStore::open`] for callers outside an async runtime.
    pub fn open_blocking(data_dir: &Path) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| StoreError::Backend(format!("cannot create {}: {e}", data_dir.display())))?;
        let path = data_dir.join(DATABASE_FILE);
        let conn = schema::open(&path)?;
        // Make the new file's directory entry durable too.
        if let Ok(dir) = std::fs::File::open(data_dir) {
            let _ = dir.sync_all();
        }
        Ok(SqliteStore { db: Arc::new(Db::start(conn)?), path, redemptions: Arc::default() })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version this build writes (`PRAGMA user_version`).
    pub fn schema_version() -> i64 {
        schema::SCHEMA_VERSION
    }

    /// Runs `f` in one immediate transaction on the connection's thread; commits if it returns `Ok`.
    async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.transaction(TransactionBehavior::Immediate, f).await
    }

    /// Runs `f` in one read transaction (a consistent snapshot) on the connection's thread.
    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.transaction(TransactionBehavior::Deferred, f).await
    }

    /// Runs `f` in one transaction of `behavior`, ended when `f` returns `Ok` (rolled back otherwise).
    async fn transaction<T, F>(&self, behavior: TransactionBehavior, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.db
            .run(move |conn| {
                let tx = conn.transaction_with_behavior(behavior)?;
                let out = f(&tx)?;
                tx.commit()?;
                Ok(out)
            })
            .await?
    }
}

/// `update_time` strictly increases: an update never carries a time at or before the current one (two nodes'
/// clocks, two updates in one millisecond), so the last committed update is also the newest everywhere.
pub(crate) fn later_than(wanted: time::OffsetDateTime, current: time::OffsetDateTime) -> i64 {
    to_ms(wanted).max(to_ms(current) + 1)
}

fn handler_columns(h: &Option<MessageReviewHandler>) -> (Option<String>, Option<&'static str>) {
    match h {
        Some(h) => (Some(h.uri.clone()), Some(h.fallback_result.as_str())),
        None => (None, None),
    }
}

/// The keyset condition "strictly after `cursor`" in `(update_time DESC, id DESC)` order, as parameters.
fn cursor_params(after: Option<&Cursor>) -> (Option<i64>, Option<String>) {
    match after {
        Some(c) => (Some(c.update_time_ms), Some(c.id.clone())),
        None => (None, None),
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_room(&self, room: NewRoom, max_rooms: u64) -> Result<Room, StoreError> {
        self.write(move |tx| {
            if rows::count(tx, "rooms")? >= max_rooms {
                return Err(StoreError::QuotaExceeded { kind: ResourceKind::Room, limit: max_rooms });
            }
            let (uri, fallback) = handler_columns(&room.message_review_handler);
            let at = to_ms(room.create_time);
            let inserted = tx
                .prepare_cached(&format!("INSERT INTO rooms ({ROOM_COLUMNS}) VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6, ?7)"))?
                .execute(params![
                    room.id,
                    room.name,
                    at,
                    i64::from(room.maximum_message_rate_per_second),
                    i64::from(room.maximum_message_length),
                    uri,
                    fallback
                ]);
            match inserted {
                Err(e) if rows::is_unique_violation(&e) => {
                    return Err(StoreError::AlreadyExists { kind: ResourceKind::Room, id: room.id });
                }
                other => other?,
            };
            rows::set_room_logging(tx, &room.id, &room.logging_configuration_ids)?;
            rows::put_tags(tx, &ResourceRef::room(room.id.clone()), &room.tags)?;
            rows::get_room(tx, &room.id)
        })
        .await
    }

    async fn get_room(&self, id: &str) -> Result<Room, StoreError> {
        let id = id.to_owned();
        self.read(move |tx| rows::get_room(tx, &id)).await
    }

    async fn update_room(&self, id: &str, patch: RoomPatch) -> Result<Room, StoreError> {
        let id = id.to_owned();
        self.write(move |tx| {
            let current = rows::get_room(tx, &id)?;
            let handler = match patch.message_review_handler {
                None => current.message_review_handler.clone(),
                Some(p) => p.apply(current.message_review_handler.as_ref()),
            };
            let (uri, fallback) = handler_columns(&handler);
            tx.prepare_cached(
                "UPDATE rooms SET name = ?2, update_time = ?3, max_rate = ?4, max_length = ?5,
                 handler_uri = ?6, handler_fallback = ?7 WHERE id = ?1",
            )?
            .execute(params![
                id,
                patch.name.unwrap_or(current.name),
                later_than(patch.update_time, current.update_time),
                i64::from(patch.maximum_message_rate_per_second.unwrap_or(current.maximum_message_rate_per_second)),
                i64::from(patch.maximum_message_length.unwrap_or(current.maximum_message_length)),
                uri,
                fallback
            ])?;
            if let Some(ids) = &patch.logging_configuration_ids {
                rows::set_room_logging(tx, &id, ids)?;
            }
            rows::get_room(tx, &id)
        })
        .await
    }

    async fn delete_room(&self, id: &str) -> Result<Room, StoreError> {
        let id = id.to_owned();
        self.write(move |tx| {
            let room = rows::get_room(tx, &id)?;
            rows::delete_tags(tx, &ResourceRef::room(id.clone()), None)?;
            tx.prepare_cached("DELETE FROM room_logging WHERE room_id = ?1")?.execute([&id])?;
            tx.prepare_cached("DELETE FROM rooms WHERE id = ?1")?.execute([&id])?;
            Ok(room)
        })
        .await
    }

    async fn list_rooms(
        &self,
        filter: &RoomFilter,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<Room>, StoreError> {
        let filter = filter.clone();
        let (after_time, after_id) = cursor_params(after);
        self.read(move |tx| {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {ROOM_COLUMNS} FROM rooms r
                 WHERE (?1 IS NULL OR r.name = ?1)
                   AND (?2 IS NULL OR r.handler_uri = ?2)
                   AND (?3 IS NULL OR EXISTS
                        (SELECT 1 FROM room_logging l WHERE l.room_id = r.id AND l.lc_id = ?3))
                   AND (?4 IS NULL OR (r.update_time, r.id) < (?4, ?5))
                 ORDER BY r.update_time DESC, r.id DESC
                 LIMIT ?6"
            ))?;
            let raws = stmt
                .query_map(
                    params![
                        filter.name,
                        filter.message_review_handler_uri,
                        filter.logging_configuration_id,
                        after_time,
                        after_id,
                        limit as i64 + 1
                    ],
                    rows::room_from_row,
                )?
                .collect::<Result<Vec<_>, _>>()?;
            let rooms = raws.into_iter().map(|raw| raw.complete(tx)).collect::<Result<Vec<_>, _>>()?;
            Ok(Page::of(rooms, limit, |r: &Room| Cursor { update_time_ms: to_ms(r.update_time), id: r.id.clone() }))
        })
        .await
    }

    async fn count_rooms(&self) -> Result<u64, StoreError> {
        self.read(|tx| rows::count(tx, "rooms")).await
    }

    async fn create_logging_configuration(
        &self,
        config: NewLoggingConfiguration,
        max: u64,
    ) -> Result<LoggingConfiguration, StoreError> {
        self.write(move |tx| {
            if rows::count(tx, "logging_configurations")? >= max {
                return Err(StoreError::QuotaExceeded { kind: ResourceKind::LoggingConfiguration, limit: max });
            }
            let (dest_kind, dest_value) = rows::destination_params(&config.destination);
            let inserted = tx
                .prepare_cached(&format!(
                    "INSERT INTO logging_configurations ({LC_COLUMNS}) VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6)"
                ))?
                .execute(params![
                    config.id,
                    config.name,
                    to_ms(config.create_time),
                    LoggingConfigurationState::Active.as_str(),
                    dest_kind,
                    dest_value
                ]);
            match inserted {
                Err(e) if rows::is_unique_violation(&e) => {
                    return Err(StoreError::AlreadyExists { kind: ResourceKind::LoggingConfiguration, id: config.id });
                }
                other => other?,
            };
            rows::put_tags(tx, &ResourceRef::logging_configuration(config.id.clone()), &config.tags)?;
            rows::get_logging_configuration(tx, &config.id)
        })
        .await
    }

    async fn get_logging_configuration(&self, id: &str) -> Result<LoggingConfiguration, StoreError> {
        let id = id.to_owned();
        self.read(move |tx| rows::get_logging_configuration(tx, &id)).await
    }

    async fn update_logging_configuration(
        &self,
        id: &str,
        patch: LoggingConfigurationPatch,
    ) -> Result<LoggingConfiguration, StoreError> {
        let id = id.to_owned();
        self.write(move |tx| {
            let current = rows::get_logging_configuration(tx, &id)?;
            let destination = patch.destination.unwrap_or(current.destination);
            let (dest_kind, dest_value) = rows::destination_params(&destination);
            tx.prepare_cached(
                "UPDATE logging_configurations SET name = ?2, update_time = ?3, dest_kind = ?4, dest_value = ?5
                 WHERE id = ?1",
            )?
            .execute(params![
                id,
                patch.name.unwrap_or(current.name),
                to_ms(patch.update_time),
                dest_kind,
                dest_value
            ])?;
            rows::get_logging_configuration(tx, &id)
        })
        .await
    }

    async fn delete_logging_configuration(&self, id: &str) -> Result<LoggingConfiguration, StoreError> {
        let id = id.to_owned();
        self.write(move |tx| {
            let config = rows::get_logging_configuration(tx, &id)?;
            let user: Option<String> = rusqlite::OptionalExtension::optional(
                tx.prepare_cached("SELECT room_id FROM room_logging WHERE lc_id = ?1 ORDER BY room_id LIMIT 1")?
                    .query_row([&id], |row| row.get(0)),
            )?;
            if let Some(room_id) = user {
                return Err(StoreError::Conflict {
                    kind: ResourceKind::LoggingConfiguration,
                    id,
                    blocker: ResourceRef::room(room_id),
                });
            }
            rows::delete_tags(tx, &ResourceRef::logging_configuration(id.clone()), None)?;
            tx.prepare_cached("DELETE FROM logging_configurations WHERE id = ?1")?.execute([&id])?;
            Ok(config)
        })
        .await
    }

    async fn list_logging_configurations(
        &self,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<LoggingConfiguration>, StoreError> {
        let (after_time, after_id) = cursor_params(after);
        self.read(move |tx| {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {LC_COLUMNS} FROM logging_configurations
                 WHERE (?1 IS NULL OR (update_time, id) < (?1, ?2))
                 ORDER BY update_time DESC, id DESC
                 LIMIT ?3"
            ))?;
            let raws = stmt
                .query_map(params![after_time, after_id, limit as i64 + 1], rows::lc_from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            let configs = raws.into_iter().map(|raw| raw.complete(tx)).collect::<Result<Vec<_>, _>>()?;
            Ok(Page::of(configs, limit, |c: &LoggingConfiguration| Cursor {
                update_time_ms: to_ms(c.update_time),
                id: c.id.clone(),
            }))
        })
        .await
    }

    async fn count_logging_configurations(&self) -> Result<u64, StoreError> {
        self.read(|tx| rows::count(tx, "logging_configurations")).await
    }

    async fn tag_resource(&self, resource: &ResourceRef, tags: &Tags, max_tags: usize) -> Result<(), StoreError> {
        let resource = resource.clone();
        let tags = tags.clone();
        self.write(move |tx| {
            rows::require_resource(tx, &resource)?;
            let current = rows::tags_of(tx, &resource)?;
            let added = tags.keys().filter(|k| !current.contains_key(*k)).count();
            if current.len() + added > max_tags {
                return Err(StoreError::TooManyTags { limit: max_tags });
            }
            rows::put_tags(tx, &resource, &tags)
        })
        .await
    }

    async fn untag_resource(&self, resource: &ResourceRef, keys: &[String]) -> Result<(), StoreError> {
        let resource = resource.clone();
        let keys = keys.to_vec();
        self.write(move |tx| {
            rows::require_resource(tx, &resource)?;
            rows::delete_tags(tx, &resource, Some(&keys))
        })
        .await
    }

    async fn list_tags(&self, resource: &ResourceRef) -> Result<Tags, StoreError> {
        let resource = resource.clone();
        self.read(move |tx| {
            rows::require_resource(tx, &resource)?;
            rows::tags_of(tx, &resource)
        })
        .await
    }

    async fn redeem_token(&self, nonce: &str, expires: time::OffsetDateTime) -> Result<bool, StoreError> {
        let now_ms = to_ms(time::OffsetDateTime::now_utc());
        self.redemptions.redeem(&self.db, nonce, to_ms(expires), now_ms).await
    }
}

#[cfg(test)]
mod tests;
