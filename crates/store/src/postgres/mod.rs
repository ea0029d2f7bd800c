//! The shared store of a cluster: [`Store`](crate::Store) on PostgreSQL (`tokio-postgres` with a `deadpool` pool).
//!
//! Guarantees, the same as the SQLite default's: every method is one transaction. Writes take one transaction-scoped
//! advisory lock per schema (`pg_advisory_xact_lock`) before reading anything, so writers run one at a time as they
//! do under SQLite's `BEGIN IMMEDIATE`, and quota counts, the "logging configuration still attached" check and the
//! tag limit cannot race, whichever node runs them. Reads run in `REPEATABLE READ, READ ONLY` transactions: one
//! consistent snapshot per call, never blocked by writers. A commit is acknowledged once PostgreSQL made it durable
//! (its `synchronous_commit` setting decides what that means; the default waits for the WAL flush).

mod ops;
mod rows;
mod schema;

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

use crate::StoreError;

/// Connections a node keeps open to PostgreSQL.
const POOL_SIZE: usize = 16;

/// [`Store`](crate::Store) on PostgreSQL, for several nodes sharing one database. See the module documentation.
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

#[cfg(test)]
mod tests;
