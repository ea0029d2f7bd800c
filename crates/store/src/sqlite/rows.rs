//! SQL for reading and writing rows, run inside the caller's transaction.

use rusqlite::{Connection, OptionalExtension, Row, params};
use time::OffsetDateTime;

use crate::StoreError;
use crate::model::{
    Destination, FallbackResult, LoggingConfiguration, LoggingConfigurationState, MessageReviewHandler, ResourceKind,
    ResourceRef, Room, Tags,
};

/// A room row's columns, in the order `room_from_row` reads them (a macro, so that statements can be made of it at
/// compile time).
macro_rules! room_columns {
    () => {
        "id, name, create_time, update_time, max_rate, max_length, handler_uri, handler_fallback"
    };
}

pub(crate) const ROOM_COLUMNS: &str = room_columns!();
/// One room by id: a constant, so that reading a room (every `CreateChatToken` and `SendEvent`) formats nothing.
pub(crate) const GET_ROOM: &str = concat!("SELECT ", room_columns!(), " FROM rooms WHERE id = ?1");
pub(crate) const LC_COLUMNS: &str = "id, name, create_time, update_time, state, dest_kind, dest_value";

/// Milliseconds since the Unix epoch (the stored and sorted form of every time).
pub(crate) fn to_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

pub(crate) fn from_ms(ms: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|e| StoreError::Backend(format!("stored time {ms} out of range: {e}")))
}

fn kind_text(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Room => "room",
        ResourceKind::LoggingConfiguration => "logging-configuration",
    }
}

/// A room row before its logging configurations and tags are attached.
pub(crate) fn room_from_row(row: &Row<'_>) -> rusqlite::Result<RawRoom> {
    Ok(RawRoom {
        id: row.get(0)?,
        name: row.get(1)?,
        create_time: row.get(2)?,
        update_time: row.get(3)?,
        max_rate: row.get(4)?,
        max_length: row.get(5)?,
        handler_uri: row.get(6)?,
        handler_fallback: row.get(7)?,
    })
}

pub(crate) struct RawRoom {
    pub(crate) id: String,
    name: String,
    create_time: i64,
    pub(crate) update_time: i64,
    max_rate: i64,
    max_length: i64,
    handler_uri: Option<String>,
    handler_fallback: Option<String>,
}

impl RawRoom {
    pub(crate) fn complete(self, conn: &Connection) -> Result<Room, StoreError> {
        let message_review_handler = match self.handler_uri {
            Some(uri) => Some(MessageReviewHandler {
                uri,
                fallback_result: self.handler_fallback.as_deref().and_then(FallbackResult::parse).unwrap_or_default(),
            }),
            None => None,
        };
        let logging_configuration_ids = room_logging_ids(conn, &self.id)?;
        let tags = tags_of(conn, &ResourceRef::room(self.id.clone()))?;
        let crate::moderation::Extras { history, slow_mode_seconds, presence_events } =
            super::history::settings(conn, &self.id)?;
        Ok(Room {
            history,
            slow_mode_seconds,
            presence_events,
            name: self.name,
            create_time: from_ms(self.create_time)?,
            update_time: from_ms(self.update_time)?,
            maximum_message_rate_per_second: u32::try_from(self.max_rate).unwrap_or(u32::MAX),
            maximum_message_length: u32::try_from(self.max_length).unwrap_or(u32::MAX),
            message_review_handler,
            logging_configuration_ids,
            tags,
            id: self.id,
        })
    }
}

pub(crate) fn get_room(conn: &Connection, id: &str) -> Result<Room, StoreError> {
    let raw = conn.prepare_cached(GET_ROOM)?.query_row([id], room_from_row).optional()?;
    match raw {
        Some(raw) => raw.complete(conn),
        None => Err(StoreError::NotFound { kind: ResourceKind::Room, id: id.to_owned() }),
    }
}

pub(crate) const ROOM_LOGGING_IDS: &str = "SELECT lc_id FROM room_logging WHERE room_id = ?1 ORDER BY position";

fn room_logging_ids(conn: &Connection, room_id: &str) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached(ROOM_LOGGING_IDS)?;
    let ids = stmt.query_map([room_id], |row| row.get(0))?.collect::<Result<Vec<String>, _>>()?;
    Ok(ids)
}

/// Replaces a room's logging configurations after checking that each exists.
pub(crate) fn set_room_logging(conn: &Connection, room_id: &str, ids: &[String]) -> Result<(), StoreError> {
    for id in ids {
        if !logging_configuration_exists(conn, id)? {
            return Err(StoreError::NotFound { kind: ResourceKind::LoggingConfiguration, id: id.clone() });
        }
    }
    conn.prepare_cached("DELETE FROM room_logging WHERE room_id = ?1")?.execute([room_id])?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO room_logging (room_id, lc_id, position) VALUES (?1, ?2, ?3)
         ON CONFLICT (room_id, lc_id) DO NOTHING",
    )?;
    for (position, id) in ids.iter().enumerate() {
        insert.execute(params![room_id, id, position as i64])?;
    }
    Ok(())
}

pub(crate) fn logging_configuration_exists(conn: &Connection, id: &str) -> Result<bool, StoreError> {
    let found = conn
        .prepare_cached("SELECT 1 FROM logging_configurations WHERE id = ?1")?
        .query_row([id], |_| Ok(()))
        .optional()?;
    Ok(found.is_some())
}

pub(crate) fn resource_exists(conn: &Connection, resource: &ResourceRef) -> Result<bool, StoreError> {
    let sql = match resource.kind {
        ResourceKind::Room => "SELECT 1 FROM rooms WHERE id = ?1",
        ResourceKind::LoggingConfiguration => "SELECT 1 FROM logging_configurations WHERE id = ?1",
    };
    let found = conn.prepare_cached(sql)?.query_row([&resource.id], |_| Ok(())).optional()?;
    Ok(found.is_some())
}

pub(crate) fn require_resource(conn: &Connection, resource: &ResourceRef) -> Result<(), StoreError> {
    if resource_exists(conn, resource)? {
        Ok(())
    } else {
        Err(StoreError::NotFound { kind: resource.kind, id: resource.id.clone() })
    }
}

pub(crate) const TAGS_OF: &str =
    "SELECT key, value FROM tags WHERE resource_kind = ?1 AND resource_id = ?2 ORDER BY key";

pub(crate) fn tags_of(conn: &Connection, resource: &ResourceRef) -> Result<Tags, StoreError> {
    let mut stmt = conn.prepare_cached(TAGS_OF)?;
    let rows = stmt.query_map(params![kind_text(resource.kind), resource.id], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
    })?;
    let mut tags = Tags::new();
    for row in rows {
        let (k, v) = row?;
        tags.insert(k, v);
    }
    Ok(tags)
}

pub(crate) fn put_tags(conn: &Connection, resource: &ResourceRef, tags: &Tags) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO tags (resource_kind, resource_id, key, value) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (resource_kind, resource_id, key) DO UPDATE SET value = excluded.value",
    )?;
    for (k, v) in tags {
        stmt.execute(params![kind_text(resource.kind), resource.id, k, v])?;
    }
    Ok(())
}

pub(crate) fn delete_tags(
    conn: &Connection,
    resource: &ResourceRef,
    keys: Option<&[String]>,
) -> Result<(), StoreError> {
    match keys {
        None => {
            conn.prepare_cached("DELETE FROM tags WHERE resource_kind = ?1 AND resource_id = ?2")?
                .execute(params![kind_text(resource.kind), resource.id])?;
        }
        Some(keys) => {
            let mut stmt =
                conn.prepare_cached("DELETE FROM tags WHERE resource_kind = ?1 AND resource_id = ?2 AND key = ?3")?;
            for k in keys {
                stmt.execute(params![kind_text(resource.kind), resource.id, k])?;
            }
        }
    }
    Ok(())
}

fn destination_columns(d: &Destination) -> (&'static str, &str) {
    match d {
        Destination::S3 { bucket_name } => ("s3", bucket_name),
        Destination::CloudWatchLogs { log_group_name } => ("cloudWatchLogs", log_group_name),
        Destination::Firehose { delivery_stream_name } => ("firehose", delivery_stream_name),
    }
}

pub(crate) fn destination_params(d: &Destination) -> (&'static str, String) {
    let (kind, value) = destination_columns(d);
    (kind, value.to_owned())
}

fn destination_from(kind: &str, value: String) -> Result<Destination, StoreError> {
    Ok(match kind {
        "s3" => Destination::S3 { bucket_name: value },
        "cloudWatchLogs" => Destination::CloudWatchLogs { log_group_name: value },
        "firehose" => Destination::Firehose { delivery_stream_name: value },
        other => {
            return Err(StoreError::Backend(format!("unknown stored destination kind {other:?}")));
        }
    })
}

pub(crate) struct RawLoggingConfiguration {
    pub(crate) id: String,
    name: String,
    create_time: i64,
    pub(crate) update_time: i64,
    state: String,
    dest_kind: String,
    dest_value: String,
}

pub(crate) fn lc_from_row(row: &Row<'_>) -> rusqlite::Result<RawLoggingConfiguration> {
    Ok(RawLoggingConfiguration {
        id: row.get(0)?,
        name: row.get(1)?,
        create_time: row.get(2)?,
        update_time: row.get(3)?,
        state: row.get(4)?,
        dest_kind: row.get(5)?,
        dest_value: row.get(6)?,
    })
}

impl RawLoggingConfiguration {
    pub(crate) fn complete(self, conn: &Connection) -> Result<LoggingConfiguration, StoreError> {
        let tags = tags_of(conn, &ResourceRef::logging_configuration(self.id.clone()))?;
        Ok(LoggingConfiguration {
            name: self.name,
            create_time: from_ms(self.create_time)?,
            update_time: from_ms(self.update_time)?,
            destination: destination_from(&self.dest_kind, self.dest_value)?,
            state: LoggingConfigurationState::parse(&self.state).unwrap_or_default(),
            tags,
            id: self.id,
        })
    }
}

pub(crate) fn get_logging_configuration(conn: &Connection, id: &str) -> Result<LoggingConfiguration, StoreError> {
    let raw = conn
        .prepare_cached(&format!("SELECT {LC_COLUMNS} FROM logging_configurations WHERE id = ?1"))?
        .query_row([id], lc_from_row)
        .optional()?;
    match raw {
        Some(raw) => raw.complete(conn),
        None => Err(StoreError::NotFound { kind: ResourceKind::LoggingConfiguration, id: id.to_owned() }),
    }
}

pub(crate) fn count(conn: &Connection, table: &str) -> Result<u64, StoreError> {
    let n: i64 = conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| row.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Whether `err` is SQLite's primary-key / unique violation.
pub(crate) fn is_unique_violation(err: &rusqlite::Error) -> bool {
    matches!(
        err,
        rusqlite::Error::SqliteFailure(e, _)
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
    )
}
