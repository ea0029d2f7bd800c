//! The behaviour tests against the PostgreSQL of `SWITCHBOARD_TEST_POSTGRES_URL` (skipped when it is not set), each
//! in a schema of its own that is dropped afterwards; and PostgreSQL-specific checks (migrations).

use std::sync::atomic::{AtomicU32, Ordering};

use super::*;
use crate::Store;
use crate::behaviour::{new_room, t};

/// The schema of one test, dropped when the test ends.
pub(crate) struct SchemaGuard {
    url: String,
    schema: String,
}

impl crate::behaviour::Cleanup for SchemaGuard {
    async fn cleanup(self) {
        if let Ok((client, connection)) = tokio_postgres::connect(&self.url, NoTls).await {
            tokio::spawn(connection);
            // The test's pooled connections are closing now; their transactions end with them.
            let _ = client.batch_execute("SET lock_timeout = '20s'").await;
            if let Err(err) = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema)).await {
                eprintln!("cannot drop test schema {}: {err}", self.schema);
            }
        }
    }
}

fn url() -> Option<String> {
    let url = std::env::var("SWITCHBOARD_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty());
    if url.is_none() {
        eprintln!("note: SWITCHBOARD_TEST_POSTGRES_URL is not set; skipping a PostgreSQL test");
    }
    url
}

/// A schema name no other test or test run uses.
fn unique_schema() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!("sbtest_{}_{}_{:06x}", std::process::id(), N.fetch_add(1, Ordering::Relaxed), rand_suffix())
}

fn rand_suffix() -> u32 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    nanos & 0xff_ffff
}

pub(crate) async fn open() -> Option<(SchemaGuard, PostgresStore)> {
    let url = url()?;
    let schema = unique_schema();
    let guard = SchemaGuard { url: url.clone(), schema: schema.clone() };
    let store = PostgresStore::connect_in(&url, &schema).await.expect("connect to PostgreSQL");
    Some((guard, store))
}

crate::behaviour::behaviour_tests!(open());

#[tokio::test]
async fn migrations_run_once_and_refuse_a_newer_schema() {
    let Some((guard, store)) = open().await else { return };
    let outcome = futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(migrations(&guard, store))).await;
    crate::behaviour::Cleanup::cleanup(guard).await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

async fn migrations(guard: &SchemaGuard, store: PostgresStore) {
    store.create_room(new_room("room00000001", t(0)), 10).await.unwrap();
    // Several nodes starting at once against the same schema: one migrates, all work, nothing is lost.
    let url = guard.url.clone();
    let opened = futures_join(&url, &guard.schema).await;
    for other in &opened {
        assert_eq!(other.count_rooms().await.unwrap(), 1);
    }
    let client = store.pool.get().await.unwrap();
    let versions: i64 = client.query_one("SELECT COUNT(*) FROM schema_migrations", &[]).await.unwrap().get(0);
    assert_eq!(versions, PostgresStore::schema_version());
    client.execute("INSERT INTO schema_migrations (version) VALUES (99)", &[]).await.unwrap();
    let err = PostgresStore::connect_in(&url, &guard.schema).await.unwrap_err();
    assert!(err.to_string().contains("newer than this build supports"), "{err}");
    // The secrets every node shares: the first writer decides.
    assert_eq!(store.shared_secret("k", b"first").await.unwrap(), b"first");
    assert_eq!(opened[0].shared_secret("k", b"second").await.unwrap(), b"first");
}

async fn futures_join(url: &str, schema: &str) -> Vec<PostgresStore> {
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            let (url, schema) = (url.to_owned(), schema.to_owned());
            tokio::spawn(async move { PostgresStore::connect_in(&url, &schema).await.unwrap() })
        })
        .collect();
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

#[tokio::test]
async fn rejects_bad_schema_names() {
    let err = PostgresStore::connect_in("postgres://127.0.0.1/x", "Bad-Name").await.unwrap_err();
    assert!(err.to_string().contains("invalid schema name"), "{err}");
}
