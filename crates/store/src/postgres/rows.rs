//! Row plumbing of the PostgreSQL store: cached-statement helpers, the column lists, and the conversions between
//! rows and records (rooms, logging configurations, tags), all run inside a caller's transaction.

use deadpool_postgres::Transaction;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::StoreError;
use crate::model::{
    Destination, FallbackResult, LoggingConfiguration, LoggingConfigurationState, MessageReviewHandler, ResourceKind,
    ResourceRef, Room, Tags,
};

pub(super) const ROOM_COLUMNS: &str =
    "id, name, create_time, update_time, max_rate, max_length, handler_uri, handler_fallback";
pub(super) const LC_COLUMNS: &str = "id, name, create_time, update_time, state, dest_kind, dest_value";

pub(super) async fn query(
    tx: &Transaction<'_>,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>, StoreError> {
    let stmt = tx.prepare_cached(sql).await?;
    Ok(tx.query(&stmt, params).await?)
}

pub(super) async fn query_opt(
    tx: &Transaction<'_>,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Option<Row>, StoreError> {
    let stmt = tx.prepare_cached(sql).await?;
    Ok(tx.query_opt(&stmt, params).await?)
}

pub(super) async fn execute(
    tx: &Transaction<'_>,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, StoreError> {
    let stmt = tx.prepare_cached(sql).await?;
    Ok(tx.execute(&stmt, params).await?)
}

/// Runs the `INSERT` of a new `kind` record `id`: an id already taken is [`StoreError::AlreadyExists`].
pub(super) async fn insert(
    tx: &Transaction<'_>,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    kind: ResourceKind,
    id: &str,
) -> Result<(), StoreError> {
    let stmt = tx.prepare_cached(sql).await?;
    match tx.execute(&stmt, params).await {
        Err(e) if is_unique_violation(&e) => Err(StoreError::AlreadyExists { kind, id: id.to_owned() }),
        outcome => outcome.map(drop).map_err(StoreError::from),
    }
}

pub(super) fn to_ms(t: time::OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

pub(super) fn from_ms(ms: i64) -> Result<time::OffsetDateTime, StoreError> {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|e| StoreError::Backend(format!("stored time {ms} out of range: {e}")))
}

pub(super) fn kind_text(kind: ResourceKind) -> &'static str {
    kind.arn_segment()
}

fn is_unique_violation(err: &tokio_postgres::Error) -> bool {
    err.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
}

pub(super) fn handler_columns(h: &Option<MessageReviewHandler>) -> (Option<String>, Option<String>) {
    match h {
        Some(h) => (Some(h.uri.clone()), Some(h.fallback_result.as_str().to_owned())),
        None => (None, None),
    }
}

pub(super) fn destination_columns(d: &Destination) -> (&'static str, String) {
    match d {
        Destination::S3 { bucket_name } => ("s3", bucket_name.clone()),
        Destination::CloudWatchLogs { log_group_name } => ("cloudWatchLogs", log_group_name.clone()),
        Destination::Firehose { delivery_stream_name } => ("firehose", delivery_stream_name.clone()),
    }
}

pub(super) fn destination_from(kind: &str, value: String) -> Result<Destination, StoreError> {
    Ok(match kind {
        "s3" => Destination::S3 { bucket_name: value },
        "cloudWatchLogs" => Destination::CloudWatchLogs { log_group_name: value },
        "firehose" => Destination::Firehose { delivery_stream_name: value },
        other => return Err(StoreError::Backend(format!("unknown stored destination kind {other:?}"))),
    })
}

pub(super) async fn tags_of(tx: &Transaction<'_>, resource: &ResourceRef) -> Result<Tags, StoreError> {
    let rows = query(
        tx,
        "SELECT key, value FROM tags WHERE resource_kind = $1 AND resource_id = $2 ORDER BY key",
        &[&kind_text(resource.kind), &resource.id],
    )
    .await?;
    Ok(rows.iter().map(|r| (r.get::<_, String>(0), r.get::<_, String>(1))).collect())
}

pub(super) async fn put_tags(tx: &Transaction<'_>, resource: &ResourceRef, tags: &Tags) -> Result<(), StoreError> {
    for (k, v) in tags {
        execute(
            tx,
            "INSERT INTO tags (resource_kind, resource_id, key, value) VALUES ($1, $2, $3, $4)
             ON CONFLICT (resource_kind, resource_id, key) DO UPDATE SET value = excluded.value",
            &[&kind_text(resource.kind), &resource.id, k, v],
        )
        .await?;
    }
    Ok(())
}

pub(super) async fn delete_tags(
    tx: &Transaction<'_>,
    resource: &ResourceRef,
    keys: Option<&[String]>,
) -> Result<(), StoreError> {
    match keys {
        None => {
            execute(
                tx,
                "DELETE FROM tags WHERE resource_kind = $1 AND resource_id = $2",
                &[&kind_text(resource.kind), &resource.id],
            )
            .await?;
        }
        Some(keys) => {
            for k in keys {
                execute(
                    tx,
                    "DELETE FROM tags WHERE resource_kind = $1 AND resource_id = $2 AND key = $3",
                    &[&kind_text(resource.kind), &resource.id, k],
                )
                .await?;
            }
        }
    }
    Ok(())
}

pub(super) async fn room_from_row(tx: &Transaction<'_>, row: &Row) -> Result<Room, StoreError> {
    let id: String = row.get(0);
    let handler_uri: Option<String> = row.get(6);
    let handler_fallback: Option<String> = row.get(7);
    let lcs = query(tx, "SELECT lc_id FROM room_logging WHERE room_id = $1 ORDER BY position", &[&id]).await?;
    let tags = tags_of(tx, &ResourceRef::room(id.clone())).await?;
    let crate::moderation::Extras { history, slow_mode_seconds, presence_events } =
        super::history::settings(tx, &id).await?;
    Ok(Room {
        history,
        slow_mode_seconds,
        presence_events,
        name: row.get(1),
        create_time: from_ms(row.get(2))?,
        update_time: from_ms(row.get(3))?,
        maximum_message_rate_per_second: u32::try_from(row.get::<_, i64>(4)).unwrap_or(u32::MAX),
        maximum_message_length: u32::try_from(row.get::<_, i64>(5)).unwrap_or(u32::MAX),
        message_review_handler: handler_uri.map(|uri| MessageReviewHandler {
            uri,
            fallback_result: handler_fallback.as_deref().and_then(FallbackResult::parse).unwrap_or_default(),
        }),
        logging_configuration_ids: lcs.iter().map(|r| r.get(0)).collect(),
        tags,
        id,
    })
}

pub(super) async fn get_room(tx: &Transaction<'_>, id: &str) -> Result<Room, StoreError> {
    match query_opt(tx, &format!("SELECT {ROOM_COLUMNS} FROM rooms WHERE id = $1"), &[&id]).await? {
        Some(row) => room_from_row(tx, &row).await,
        None => Err(StoreError::NotFound { kind: ResourceKind::Room, id: id.to_owned() }),
    }
}

pub(super) async fn lc_from_row(tx: &Transaction<'_>, row: &Row) -> Result<LoggingConfiguration, StoreError> {
    let id: String = row.get(0);
    let tags = tags_of(tx, &ResourceRef::logging_configuration(id.clone())).await?;
    Ok(LoggingConfiguration {
        name: row.get(1),
        create_time: from_ms(row.get(2))?,
        update_time: from_ms(row.get(3))?,
        state: LoggingConfigurationState::parse(row.get(4)).unwrap_or_default(),
        destination: destination_from(row.get(5), row.get(6))?,
        tags,
        id,
    })
}

pub(super) async fn get_lc(tx: &Transaction<'_>, id: &str) -> Result<LoggingConfiguration, StoreError> {
    match query_opt(tx, &format!("SELECT {LC_COLUMNS} FROM logging_configurations WHERE id = $1"), &[&id]).await? {
        Some(row) => lc_from_row(tx, &row).await,
        None => Err(StoreError::NotFound { kind: ResourceKind::LoggingConfiguration, id: id.to_owned() }),
    }
}

pub(super) async fn set_room_logging(tx: &Transaction<'_>, room_id: &str, ids: &[String]) -> Result<(), StoreError> {
    for id in ids {
        if query_opt(tx, "SELECT 1 FROM logging_configurations WHERE id = $1", &[id]).await?.is_none() {
            return Err(StoreError::NotFound { kind: ResourceKind::LoggingConfiguration, id: id.clone() });
        }
    }
    execute(tx, "DELETE FROM room_logging WHERE room_id = $1", &[&room_id]).await?;
    for (position, id) in ids.iter().enumerate() {
        execute(
            tx,
            "INSERT INTO room_logging (room_id, lc_id, position) VALUES ($1, $2, $3)
             ON CONFLICT (room_id, lc_id) DO NOTHING",
            &[&room_id, id, &(position as i64)],
        )
        .await?;
    }
    Ok(())
}

pub(super) async fn require_resource(tx: &Transaction<'_>, resource: &ResourceRef) -> Result<(), StoreError> {
    let sql = match resource.kind {
        ResourceKind::Room => "SELECT 1 FROM rooms WHERE id = $1",
        ResourceKind::LoggingConfiguration => "SELECT 1 FROM logging_configurations WHERE id = $1",
    };
    match query_opt(tx, sql, &[&resource.id]).await? {
        Some(_) => Ok(()),
        None => Err(StoreError::NotFound { kind: resource.kind, id: resource.id.clone() }),
    }
}

pub(super) async fn count(tx: &Transaction<'_>, table: &str) -> Result<u64, StoreError> {
    let rows = query(tx, &format!("SELECT COUNT(*) FROM {table}"), &[]).await?;
    Ok(u64::try_from(rows.first().map_or(0, |r| r.get::<_, i64>(0))).unwrap_or(0))
}
