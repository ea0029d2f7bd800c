//! The shared store of a cluster: [`Store`] on PostgreSQL (`tokio-postgres` with a `deadpool` pool).
//!
//! Guarantees, the same as the SQLite default's: every method is one transaction. Writes take one transaction-scoped
//! advisory lock per schema (`pg_advisory_xact_lock`) before reading anything, so writers run one at a time as they
//! do under SQLite's `BEGIN IMMEDIATE`, and quota counts, the "logging configuration still attached" check and the
//! tag limit cannot race, whichever node runs them. Reads run in `REPEATABLE READ, READ ONLY` transactions: one
//! consistent snapshot per call, never blocked by writers. A commit is acknowledged once PostgreSQL made it durable
//! (its `synchronous_commit` setting decides what that means; the default waits for the WAL flush).

mod schema;

use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Transaction};
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use crate::model::{
    Cursor, Destination, FallbackResult, LoggingConfiguration, LoggingConfigurationPatch, LoggingConfigurationState,
    MessageReviewHandler, NewLoggingConfiguration, NewRoom, Page, ResourceKind, ResourceRef, Room, RoomFilter,
    RoomPatch, Tags,
};
use crate::{Store, StoreError};

const ROOM_COLUMNS: &str = "id, name, create_time, update_time, max_rate, max_length, handler_uri, handler_fallback";
const LC_COLUMNS: &str = "id, name, create_time, update_time, state, dest_kind, dest_value";

/// Connections a node keeps open to PostgreSQL.
const POOL_SIZE: usize = 16;

/// [`Store`] on PostgreSQL, for several nodes sharing one database. See the module documentation.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    schema: String,
    /// The advisory lock key that serialises writers of this schema.
    lock_key: i64,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").field("schema", &self.schema).finish_non_exhaustive()
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> StoreError {
        StoreError::Backend(match e.as_db_error() {
            Some(db) => format!("{}: {}", db.code().code(), db.message()),
            None => e.to_string(),
        })
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> StoreError {
        StoreError::Backend(format!("cannot reach PostgreSQL: {e}"))
    }
}

impl PostgresStore {
    /// The default schema.
    pub const DEFAULT_SCHEMA: &'static str = "switchboard";

    /// Connects to `url` (`postgres://user[:password]@host[:port]/database`, without TLS) and migrates the
    /// [`PostgresStore::DEFAULT_SCHEMA`] schema.
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        PostgresStore::connect_in(url, PostgresStore::DEFAULT_SCHEMA).await
    }

    /// Like [`PostgresStore::connect`] with every table in `schema` (`[a-z0-9_]`, created if missing), so that several
    /// deployments or test runs share a database.
    pub async fn connect_in(url: &str, schema: &str) -> Result<PostgresStore, StoreError> {
        if schema.is_empty() || !schema.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return Err(StoreError::Backend(format!("invalid schema name {schema:?} (use [a-z0-9_])")));
        }
        let mut config: tokio_postgres::Config =
            url.parse().map_err(|e| StoreError::Backend(format!("invalid PostgreSQL URL: {e}")))?;
        config.options(format!("-c search_path={schema}"));
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        config.application_name("switchboard");
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(10)))
            .create_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(|e| StoreError::Backend(format!("cannot build the PostgreSQL pool: {e}")))?;
        let lock_key = lock_key(schema);
        {
            let mut client = pool.get().await?;
            schema::migrate(&mut client, schema, lock_key).await?;
        }
        Ok(PostgresStore { pool, schema: schema.to_owned(), lock_key })
    }

    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// The schema version this build writes.
    pub fn schema_version() -> i64 {
        schema::SCHEMA_VERSION
    }

    /// The secret stored under `name`, storing `candidate` first when there is none: the first node to ask decides,
    /// and every node sharing the database gets the same bytes.
    pub async fn shared_secret(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>, StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                &[&name, &candidate],
            )
            .await?;
        let row = client.query_one("SELECT value FROM secrets WHERE name = $1", &[&name]).await?;
        Ok(row.get(0))
    }

    /// Drops the schema with everything in it (tests and `DeleteEverything` tooling only).
    pub async fn drop_schema(&self) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", schema::quote_ident(&self.schema))).await?;
        Ok(())
    }
}

/// A stable 63-bit key per schema (FNV-1a), so that two schemas never wait on each other.
fn lock_key(schema: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in format!("switchboard/{schema}").bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash >> 1) as i64
}

/// Begins a writing transaction: READ COMMITTED after taking the schema's writer lock, so it sees every earlier commit.
macro_rules! write_tx {
    ($self:ident, $client:ident) => {{
        let tx =
            $client.build_transaction().isolation_level(tokio_postgres::IsolationLevel::ReadCommitted).start().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&$self.lock_key]).await?;
        tx
    }};
}

/// Begins a read-only snapshot transaction.
macro_rules! read_tx {
    ($client:ident) => {{
        $client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?
    }};
}

async fn query(tx: &Transaction<'_>, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, StoreError> {
    let stmt = tx.prepare_cached(sql).await?;
    Ok(tx.query(&stmt, params).await?)
}

async fn query_opt(tx: &Transaction<'_>, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Option<Row>, StoreError> {
    let stmt = tx.prepare_cached(sql).await?;
    Ok(tx.query_opt(&stmt, params).await?)
}

async fn execute(tx: &Transaction<'_>, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, StoreError> {
    let stmt = tx.prepare_cached(sql).await?;
    Ok(tx.execute(&stmt, params).await?)
}

fn to_ms(t: time::OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

fn from_ms(ms: i64) -> Result<time::OffsetDateTime, StoreError> {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|e| StoreError::Backend(format!("stored time {ms} out of range: {e}")))
}

fn kind_text(kind: ResourceKind) -> &'static str {
    kind.arn_segment()
}

fn is_unique_violation(err: &tokio_postgres::Error) -> bool {
    err.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
}

fn handler_columns(h: &Option<MessageReviewHandler>) -> (Option<String>, Option<String>) {
    match h {
        Some(h) => (Some(h.uri.clone()), Some(h.fallback_result.as_str().to_owned())),
        None => (None, None),
    }
}

fn destination_columns(d: &Destination) -> (&'static str, String) {
    match d {
        Destination::S3 { bucket_name } => ("s3", bucket_name.clone()),
        Destination::CloudWatchLogs { log_group_name } => ("cloudWatchLogs", log_group_name.clone()),
        Destination::Firehose { delivery_stream_name } => ("firehose", delivery_stream_name.clone()),
    }
}

fn destination_from(kind: &str, value: String) -> Result<Destination, StoreError> {
    Ok(match kind {
        "s3" => Destination::S3 { bucket_name: value },
        "cloudWatchLogs" => Destination::CloudWatchLogs { log_group_name: value },
        "firehose" => Destination::Firehose { delivery_stream_name: value },
        other => return Err(StoreError::Backend(format!("unknown stored destination kind {other:?}"))),
    })
}

async fn tags_of(tx: &Transaction<'_>, resource: &ResourceRef) -> Result<Tags, StoreError> {
    let rows = query(
        tx,
        "SELECT key, value FROM tags WHERE resource_kind = $1 AND resource_id = $2 ORDER BY key",
        &[&kind_text(resource.kind), &resource.id],
    )
    .await?;
    Ok(rows.iter().map(|r| (r.get::<_, String>(0), r.get::<_, String>(1))).collect())
}

async fn put_tags(tx: &Transaction<'_>, resource: &ResourceRef, tags: &Tags) -> Result<(), StoreError> {
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

async fn delete_tags(tx: &Transaction<'_>, resource: &ResourceRef, keys: Option<&[String]>) -> Result<(), StoreError> {
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

async fn room_from_row(tx: &Transaction<'_>, row: &Row) -> Result<Room, StoreError> {
    let id: String = row.get(0);
    let handler_uri: Option<String> = row.get(6);
    let handler_fallback: Option<String> = row.get(7);
    let lcs = query(tx, "SELECT lc_id FROM room_logging WHERE room_id = $1 ORDER BY position", &[&id]).await?;
    let tags = tags_of(tx, &ResourceRef::room(id.clone())).await?;
    Ok(Room {
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

async fn get_room(tx: &Transaction<'_>, id: &str) -> Result<Room, StoreError> {
    match query_opt(tx, &format!("SELECT {ROOM_COLUMNS} FROM rooms WHERE id = $1"), &[&id]).await? {
        Some(row) => room_from_row(tx, &row).await,
        None => Err(StoreError::NotFound { kind: ResourceKind::Room, id: id.to_owned() }),
    }
}

async fn lc_from_row(tx: &Transaction<'_>, row: &Row) -> Result<LoggingConfiguration, StoreError> {
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

async fn get_lc(tx: &Transaction<'_>, id: &str) -> Result<LoggingConfiguration, StoreError> {
    match query_opt(tx, &format!("SELECT {LC_COLUMNS} FROM logging_configurations WHERE id = $1"), &[&id]).await? {
        Some(row) => lc_from_row(tx, &row).await,
        None => Err(StoreError::NotFound { kind: ResourceKind::LoggingConfiguration, id: id.to_owned() }),
    }
}

async fn set_room_logging(tx: &Transaction<'_>, room_id: &str, ids: &[String]) -> Result<(), StoreError> {
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

async fn require_resource(tx: &Transaction<'_>, resource: &ResourceRef) -> Result<(), StoreError> {
    let sql = match resource.kind {
        ResourceKind::Room => "SELECT 1 FROM rooms WHERE id = $1",
        ResourceKind::LoggingConfiguration => "SELECT 1 FROM logging_configurations WHERE id = $1",
    };
    match query_opt(tx, sql, &[&resource.id]).await? {
        Some(_) => Ok(()),
        None => Err(StoreError::NotFound { kind: resource.kind, id: resource.id.clone() }),
    }
}

async fn count(tx: &Transaction<'_>, table: &str) -> Result<u64, StoreError> {
    let rows = query(tx, &format!("SELECT COUNT(*) FROM {table}"), &[]).await?;
    Ok(u64::try_from(rows.first().map_or(0, |r| r.get::<_, i64>(0))).unwrap_or(0))
}

#[async_trait]
impl Store for PostgresStore {
    async fn create_room(&self, room: NewRoom, max_rooms: u64) -> Result<Room, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = write_tx!(self, client);
        if count(&tx, "rooms").await? >= max_rooms {
            return Err(StoreError::QuotaExceeded { kind: ResourceKind::Room, limit: max_rooms });
        }
        let (uri, fallback) = handler_columns(&room.message_review_handler);
        let at = to_ms(room.create_time);
        let stmt = tx
            .prepare_cached(&format!("INSERT INTO rooms ({ROOM_COLUMNS}) VALUES ($1, $2, $3, $3, $4, $5, $6, $7)"))
            .await?;
        let inserted = tx
            .execute(
                &stmt,
                &[
                    &room.id,
                    &room.name,
                    &at,
                    &i64::from(room.maximum_message_rate_per_second),
                    &i64::from(room.maximum_message_length),
                    &uri,
                    &fallback,
                ],
            )
            .await;
        match inserted {
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::AlreadyExists { kind: ResourceKind::Room, id: room.id });
            }
            other => other?,
        };
        set_room_logging(&tx, &room.id, &room.logging_configuration_ids).await?;
        put_tags(&tx, &ResourceRef::room(room.id.clone()), &room.tags).await?;
        let created = get_room(&tx, &room.id).await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn get_room(&self, id: &str) -> Result<Room, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = read_tx!(client);
        let room = get_room(&tx, id).await?;
        tx.commit().await?;
        Ok(room)
    }

    async fn update_room(&self, id: &str, patch: RoomPatch) -> Result<Room, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = write_tx!(self, client);
        let current = get_room(&tx, id).await?;
        let handler = match patch.message_review_handler {
            None => current.message_review_handler.clone(),
            Some(p) => p.apply(current.message_review_handler.as_ref()),
        };
        let (uri, fallback) = handler_columns(&handler);
        execute(
            &tx,
            "UPDATE rooms SET name = $2, update_time = $3, max_rate = $4, max_length = $5,
             handler_uri = $6, handler_fallback = $7 WHERE id = $1",
            &[
                &id,
                &patch.name.unwrap_or(current.name),
                &crate::sqlite::later_than(patch.update_time, current.update_time),
                &i64::from(patch.maximum_message_rate_per_second.unwrap_or(current.maximum_message_rate_per_second)),
                &i64::from(patch.maximum_message_length.unwrap_or(current.maximum_message_length)),
                &uri,
                &fallback,
            ],
        )
        .await?;
        if let Some(ids) = &patch.logging_configuration_ids {
            set_room_logging(&tx, id, ids).await?;
        }
        let updated = get_room(&tx, id).await?;
        tx.commit().await?;
        Ok(updated)
    }

    async fn delete_room(&self, id: &str) -> Result<Room, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = write_tx!(self, client);
        let room = get_room(&tx, id).await?;
        delete_tags(&tx, &ResourceRef::room(id.to_owned()), None).await?;
        execute(&tx, "DELETE FROM room_logging WHERE room_id = $1", &[&id]).await?;
        execute(&tx, "DELETE FROM rooms WHERE id = $1", &[&id]).await?;
        tx.commit().await?;
        Ok(room)
    }

    async fn list_rooms(
        &self,
        filter: &RoomFilter,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<Room>, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = read_tx!(client);
        let after_time = after.map(|c| c.update_time_ms);
        let after_id = after.map(|c| c.id.clone());
        let rows = query(
            &tx,
            &format!(
                "SELECT {ROOM_COLUMNS} FROM rooms r
                 WHERE ($1::text IS NULL OR r.name = $1)
                   AND ($2::text IS NULL OR r.handler_uri = $2)
                   AND ($3::text IS NULL OR EXISTS
                        (SELECT 1 FROM room_logging l WHERE l.room_id = r.id AND l.lc_id = $3))
                   AND ($4::bigint IS NULL OR (r.update_time, r.id) < ($4, $5::text))
                 ORDER BY r.update_time DESC, r.id DESC
                 LIMIT $6"
            ),
            &[
                &filter.name,
                &filter.message_review_handler_uri,
                &filter.logging_configuration_id,
                &after_time,
                &after_id,
                &(limit as i64 + 1),
            ],
        )
        .await?;
        let mut rooms = Vec::with_capacity(rows.len());
        for row in &rows {
            rooms.push(room_from_row(&tx, row).await?);
        }
        tx.commit().await?;
        Ok(Page::of(rooms, limit, |r: &Room| Cursor { update_time_ms: to_ms(r.update_time), id: r.id.clone() }))
    }

    async fn count_rooms(&self) -> Result<u64, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = read_tx!(client);
        let n = count(&tx, "rooms").await?;
        tx.commit().await?;
        Ok(n)
    }

    async fn create_logging_configuration(
        &self,
        config: NewLoggingConfiguration,
        max: u64,
    ) -> Result<LoggingConfiguration, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = write_tx!(self, client);
        if count(&tx, "logging_configurations").await? >= max {
            return Err(StoreError::QuotaExceeded { kind: ResourceKind::LoggingConfiguration, limit: max });
        }
        let (dest_kind, dest_value) = destination_columns(&config.destination);
        let stmt = tx
            .prepare_cached(&format!(
                "INSERT INTO logging_configurations ({LC_COLUMNS}) VALUES ($1, $2, $3, $3, $4, $5, $6)"
            ))
            .await?;
        let inserted = tx
            .execute(
                &stmt,
                &[
                    &config.id,
                    &config.name,
                    &to_ms(config.create_time),
                    &LoggingConfigurationState::Active.as_str(),
                    &dest_kind,
                    &dest_value,
                ],
            )
            .await;
        match inserted {
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::AlreadyExists { kind: ResourceKind::LoggingConfiguration, id: config.id });
            }
            other => other?,
        };
        put_tags(&tx, &ResourceRef::logging_configuration(config.id.clone()), &config.tags).await?;
        let created = get_lc(&tx, &config.id).await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn get_logging_configuration(&self, id: &str) -> Result<LoggingConfiguration, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = read_tx!(client);
        let config = get_lc(&tx, id).await?;
        tx.commit().await?;
        Ok(config)
    }

    async fn update_logging_configuration(
        &self,
        id: &str,
        patch: LoggingConfigurationPatch,
    ) -> Result<LoggingConfiguration, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = write_tx!(self, client);
        let current = get_lc(&tx, id).await?;
        let destination = patch.destination.unwrap_or(current.destination);
        let (dest_kind, dest_value) = destination_columns(&destination);
        execute(
            &tx,
            "UPDATE logging_configurations SET name = $2, update_time = $3, dest_kind = $4, dest_value = $5
             WHERE id = $1",
            &[&id, &patch.name.unwrap_or(current.name), &to_ms(patch.update_time), &dest_kind, &dest_value],
        )
        .await?;
        let updated = get_lc(&tx, id).await?;
        tx.commit().await?;
        Ok(updated)
    }

    async fn delete_logging_configuration(&self, id: &str) -> Result<LoggingConfiguration, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = write_tx!(self, client);
        let config = get_lc(&tx, id).await?;
        let user = query_opt(&tx, "SELECT room_id FROM room_logging WHERE lc_id = $1 ORDER BY room_id LIMIT 1", &[&id])
            .await?;
        if let Some(row) = user {
            return Err(StoreError::Conflict {
                kind: ResourceKind::LoggingConfiguration,
                id: id.to_owned(),
                blocker: ResourceRef::room(row.get::<_, String>(0)),
            });
        }
        delete_tags(&tx, &ResourceRef::logging_configuration(id.to_owned()), None).await?;
        execute(&tx, "DELETE FROM logging_configurations WHERE id = $1", &[&id]).await?;
        tx.commit().await?;
        Ok(config)
    }

    async fn list_logging_configurations(
        &self,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<LoggingConfiguration>, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = read_tx!(client);
        let after_time = after.map(|c| c.update_time_ms);
        let after_id = after.map(|c| c.id.clone());
        let rows = query(
            &tx,
            &format!(
                "SELECT {LC_COLUMNS} FROM logging_configurations
                 WHERE ($1::bigint IS NULL OR (update_time, id) < ($1, $2::text))
                 ORDER BY update_time DESC, id DESC
                 LIMIT $3"
            ),
            &[&after_time, &after_id, &(limit as i64 + 1)],
        )
        .await?;
        let mut configs = Vec::with_capacity(rows.len());
        for row in &rows {
            configs.push(lc_from_row(&tx, row).await?);
        }
        tx.commit().await?;
        Ok(Page::of(configs, limit, |c: &LoggingConfiguration| Cursor {
            update_time_ms: to_ms(c.update_time),
            id: c.id.clone(),
        }))
    }

    async fn count_logging_configurations(&self) -> Result<u64, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = read_tx!(client);
        let n = count(&tx, "logging_configurations").await?;
        tx.commit().await?;
        Ok(n)
    }

    async fn tag_resource(&self, resource: &ResourceRef, tags: &Tags, max_tags: usize) -> Result<(), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = write_tx!(self, client);
        require_resource(&tx, resource).await?;
        let current = tags_of(&tx, resource).await?;
        let added = tags.keys().filter(|k| !current.contains_key(*k)).count();
        if current.len() + added > max_tags {
            return Err(StoreError::TooManyTags { limit: max_tags });
        }
        put_tags(&tx, resource, tags).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn untag_resource(&self, resource: &ResourceRef, keys: &[String]) -> Result<(), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = write_tx!(self, client);
        require_resource(&tx, resource).await?;
        delete_tags(&tx, resource, Some(keys)).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_tags(&self, resource: &ResourceRef) -> Result<Tags, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = read_tx!(client);
        require_resource(&tx, resource).await?;
        let tags = tags_of(&tx, resource).await?;
        tx.commit().await?;
        Ok(tags)
    }
}

#[cfg(test)]
mod tests;
