//! The shared store of a cluster: [`Store`](crate::Store) on PostgreSQL (`tokio-postgres` with a `deadpool` pool).
//!
//! Guarantees, the same as the SQLite default's: every method is one transaction. Writes take one transaction-scoped
//! advisory lock per schema (`pg_advisory_xact_lock`) before reading anything, so writers run one at a time as they
//! do under SQLite's `BEGIN IMMEDIATE`, and quota counts, the "logging configuration still attached" check and the
//! tag limit cannot race, whichever node runs them. Reads run in `REPEATABLE READ, READ ONLY` transactions: one
//! consistent snapshot per call, never blocked by writers. A commit is acknowledged once PostgreSQL made it durable
//! (its `synchronous_commit` setting decides what that means; the default waits for the WAL flush).
//!
//! Deadlines: no call waits for ever, whatever another node does. Each call has [`PostgresSettings::deadline`] from
//! its start, for getting a pooled connection and for its whole transaction (client side); and every session of the
//! pool runs with `lock_timeout`, `statement_timeout` and `idle_in_transaction_session_timeout` set to the same
//! deadline (server side), so that PostgreSQL gives up a lock wait or a statement the client no longer waits for, and
//! ends the session of a node frozen in the middle of a transaction, releasing the writer lock it held. A call past
//! its deadline fails with [`StoreError::Timeout`]; its connection is dropped rather than returned to the pool.

mod apis;
mod history;
mod ops;
mod rows;
mod schema;
mod tls;

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Transaction};
use tokio::time::Instant;
use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres::{IsolationLevel, NoTls};

use crate::StoreError;

/// How a [`PostgresStore`] uses the database: its share of connections and how long a call may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PostgresSettings {
    /// Connections this node keeps open to PostgreSQL, at least 1.
    pub pool_size: usize,
    /// The longest a store call may take, waiting for a pooled connection, the writer lock and every statement
    /// included; positive.
    pub deadline: Duration,
}

impl PostgresSettings {
    pub const DEFAULT_POOL_SIZE: usize = 16;
    pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(5);
}

impl Default for PostgresSettings {
    fn default() -> PostgresSettings {
        PostgresSettings {
            pool_size: PostgresSettings::DEFAULT_POOL_SIZE,
            deadline: PostgresSettings::DEFAULT_DEADLINE,
        }
    }
}

/// [`Store`](crate::Store) on PostgreSQL, for several nodes sharing one database. See the module documentation.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    schema: String,
    /// The advisory lock key that serialises writers of this schema.
    lock_key: i64,
    deadline: Duration,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").field("schema", &self.schema).finish_non_exhaustive()
    }
}

/// The server-side timeouts, each a [`StoreError::Timeout`]: `lock_timeout`, `statement_timeout` (reported as a
/// cancelled query) and `idle_in_transaction_session_timeout`.
const TIMEOUT_STATES: [&SqlState; 3] =
    [&SqlState::LOCK_NOT_AVAILABLE, &SqlState::QUERY_CANCELED, &SqlState::IDLE_IN_TRANSACTION_SESSION_TIMEOUT];

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> StoreError {
        let Some(db) = e.as_db_error() else { return StoreError::Backend(e.to_string()) };
        let detail = format!("{}: {}", db.code().code(), db.message());
        if TIMEOUT_STATES.contains(&db.code()) { StoreError::Timeout(detail) } else { StoreError::Backend(detail) }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> StoreError {
        match e {
            deadpool_postgres::PoolError::Timeout(_) => StoreError::Timeout(format!("PostgreSQL: {e}")),
            e => StoreError::Backend(format!("cannot reach PostgreSQL: {e}")),
        }
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
        PostgresStore::connect_with(url, schema, PostgresSettings::default()).await
    }

    /// Like [`PostgresStore::connect_in`] with `settings` instead of the defaults.
    pub async fn connect_with(
        url: &str,
        schema: &str,
        settings: PostgresSettings,
    ) -> Result<PostgresStore, StoreError> {
        PostgresStore::connect_with_roots(url, schema, settings, None).await
    }

    /// Like [`PostgresStore::connect_with`]; with `sslmode=require`, the server's certificate must chain to one of
    /// `ca_pem`'s (PEM) when given, instead of the system's roots.
    pub async fn connect_with_roots(
        url: &str,
        schema: &str,
        settings: PostgresSettings,
        ca_pem: Option<&[u8]>,
    ) -> Result<PostgresStore, StoreError> {
        if settings.pool_size == 0 || settings.deadline.is_zero() {
            return Err(StoreError::Backend(format!(
                "invalid PostgreSQL settings {settings:?} (both must be positive)"
            )));
        }
        if schema.is_empty() || !schema.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return Err(StoreError::Backend(format!("invalid schema name {schema:?} (use [a-z0-9_])")));
        }
        let mut config: tokio_postgres::Config =
            url.parse().map_err(|e| StoreError::Backend(format!("invalid PostgreSQL URL: {e}")))?;
        // PostgreSQL reads 0 as "no timeout" and at most i32::MAX milliseconds (24.8 days).
        let server_ms = settings.deadline.as_millis().clamp(1, i32::MAX as u128);
        config.options(format!(
            "-c search_path={schema} -c lock_timeout={server_ms} -c statement_timeout={server_ms} \
             -c idle_in_transaction_session_timeout={server_ms}"
        ));
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        config.application_name("switchboard");
        let recycling = ManagerConfig { recycling_method: RecyclingMethod::Fast };
        let manager = match config.get_ssl_mode() {
            SslMode::Require => Manager::from_config(config, tls::RustlsConnect::with_roots(ca_pem)?, recycling),
            _ => Manager::from_config(config, NoTls, recycling),
        };
        let pool = Pool::builder(manager)
            .max_size(settings.pool_size)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(settings.deadline))
            .create_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(|e| StoreError::Backend(format!("cannot build the PostgreSQL pool: {e}")))?;
        let lock_key = lock_key(schema);
        {
            let mut client = pool.get().await?;
            schema::migrate(&mut client, schema, lock_key).await?;
        }
        Ok(PostgresStore { pool, schema: schema.to_owned(), lock_key, deadline: settings.deadline })
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
        self.within_deadline(async |client| {
            client
                .execute(
                    "INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                    &[&name, &candidate],
                )
                .await?;
            let row = client.query_one("SELECT value FROM secrets WHERE name = $1", &[&name]).await?;
            Ok(row.get(0))
        })
        .await
    }

    /// Drops the schema with everything in it (tests and `DeleteEverything` tooling only).
    pub async fn drop_schema(&self) -> Result<(), StoreError> {
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", schema::quote_ident(&self.schema));
        self.within_deadline(async |client| Ok(client.batch_execute(&sql).await?)).await
    }
}

impl PostgresStore {
    /// Runs `op` in a read-only snapshot transaction (`REPEATABLE READ`), within the deadline.
    async fn read<T>(&self, op: impl AsyncFnOnce(&Transaction<'_>) -> Result<T, StoreError>) -> Result<T, StoreError> {
        self.within_deadline(async |client| {
            let tx = client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await?;
            let out = op(&tx).await?;
            tx.commit().await?;
            Ok(out)
        })
        .await
    }

    /// Runs `op` in a writing transaction, within the deadline: `READ COMMITTED` after taking the schema's writer
    /// lock, so that it sees every earlier commit. The transaction commits when `op` succeeds.
    async fn write<T>(&self, op: impl AsyncFnOnce(&Transaction<'_>) -> Result<T, StoreError>) -> Result<T, StoreError> {
        self.within_deadline(async |client| {
            let tx = client.build_transaction().isolation_level(IsolationLevel::ReadCommitted).start().await?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&self.lock_key]).await?;
            let out = op(&tx).await?;
            tx.commit().await?;
            Ok(out)
        })
        .await
    }

    /// Runs `op` on a pooled connection, failing with [`StoreError::Timeout`] once the deadline has passed since the
    /// call began. A connection given up on mid-call may still be running a statement: it is closed, never reused.
    async fn within_deadline<T>(
        &self,
        op: impl AsyncFnOnce(&mut Object) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let deadline = Instant::now() + self.deadline;
        let late = || StoreError::Timeout(format!("no answer from PostgreSQL within {:?}", self.deadline));
        let mut client = tokio::time::timeout_at(deadline, self.pool.get()).await.map_err(|_| late())??;
        match tokio::time::timeout_at(deadline, op(&mut client)).await {
            Ok(outcome) => outcome,
            Err(_) => {
                drop(Object::take(client));
                Err(late())
            }
        }
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

#[cfg(test)]
mod tests;
