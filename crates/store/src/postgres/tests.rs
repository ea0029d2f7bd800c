//! The behaviour tests against the PostgreSQL of `SWITCHBOARD_TEST_POSTGRES_URL`, each in a schema of its own that is
//! dropped afterwards; and PostgreSQL-specific checks (migrations, deadlines). All are ignored by a plain `cargo test`
//! and run by `.ci/run` (`--include-ignored`), where a missing variable fails them.

use std::sync::atomic::{AtomicU32, Ordering};

use super::*;
use crate::Store;
use crate::behaviour::{new_room, t};
use crate::model::{ResourceRef, Tags};

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

fn url() -> String {
    test_support::service_url("SWITCHBOARD_TEST_POSTGRES_URL")
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

pub(crate) async fn open() -> (SchemaGuard, PostgresStore) {
    open_with(PostgresSettings::default()).await
}

async fn open_with(settings: PostgresSettings) -> (SchemaGuard, PostgresStore) {
    let url = url();
    let schema = unique_schema();
    let guard = SchemaGuard { url: url.clone(), schema: schema.clone() };
    let store = PostgresStore::connect_with(&url, &schema, settings).await.expect("connect to PostgreSQL");
    (guard, store)
}

/// Runs `check` on a store opened with `settings`, then drops its schema whether `check` passed or not.
async fn with_store<F: Future<Output = ()>>(
    settings: PostgresSettings,
    check: impl FnOnce(SchemaGuard, PostgresStore) -> F,
) {
    let (guard, store) = open_with(settings).await;
    let cleanup = SchemaGuard { url: guard.url.clone(), schema: guard.schema.clone() };
    let outcome = futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(check(guard, store))).await;
    crate::behaviour::Cleanup::cleanup(cleanup).await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

crate::behaviour::behaviour_tests!(open(); #[ignore = "needs PostgreSQL: SWITCHBOARD_TEST_POSTGRES_URL"]);

#[tokio::test]
#[ignore = "needs PostgreSQL: SWITCHBOARD_TEST_POSTGRES_URL"]
async fn migrations_run_once_and_refuse_a_newer_schema() {
    with_store(PostgresSettings::default(), async |guard, store| migrations(&guard, store).await).await;
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

/// A short deadline, so that the deadline tests run quickly.
const SHORT: PostgresSettings = PostgresSettings { pool_size: 4, deadline: Duration::from_millis(500) };

/// How late past its deadline a call may fail (scheduling on a loaded machine).
const SLACK: Duration = Duration::from_millis(1500);

/// A raw session (not the store's, so without its timeouts) on `url`, with its connection task.
async fn raw_session(url: &str) -> (tokio_postgres::Client, tokio::task::JoinHandle<()>) {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.expect("connect to PostgreSQL");
    (client, tokio::spawn(async move { drop(connection.await) }))
}

/// Runs `call`, bounded by the test (a hang fails the test instead of stalling it), and checks that it failed with
/// [`StoreError::Timeout`] no sooner than the deadline and not much later.
async fn times_out<T: std::fmt::Debug>(deadline: Duration, call: impl Future<Output = Result<T, StoreError>>) {
    let started = tokio::time::Instant::now();
    let outcome = tokio::time::timeout(deadline + Duration::from_secs(10), call)
        .await
        .expect("a store call must fail within its deadline, not hang");
    let took = started.elapsed();
    assert!(matches!(outcome, Err(StoreError::Timeout(_))), "{outcome:?}");
    assert!(took >= deadline && took <= deadline + SLACK, "failed after {took:?}, deadline {deadline:?}");
}

#[tokio::test]
#[ignore = "needs PostgreSQL: SWITCHBOARD_TEST_POSTGRES_URL"]
async fn a_held_writer_lock_fails_writes_within_the_deadline() {
    with_store(SHORT, async |guard, store| {
        // Another node in the middle of a write, frozen there: it holds the schema's writer lock.
        let (mut holder, connection) = raw_session(&guard.url).await;
        let tx = holder.transaction().await.unwrap();
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&store.lock_key]).await.unwrap();

        times_out(SHORT.deadline, store.create_room(new_room("room00000001", t(0)), 10)).await;
        times_out(SHORT.deadline, store.tag_resource(&ResourceRef::room("room00000001".to_owned()), &Tags::new(), 50))
            .await;
        // Reads do not wait for writers.
        assert_eq!(store.count_rooms().await.unwrap(), 0);

        tx.rollback().await.unwrap();
        store.create_room(new_room("room00000001", t(0)), 10).await.expect("the write once the lock is released");
        assert_eq!(store.count_rooms().await.unwrap(), 1);
        drop(holder);
        connection.await.unwrap();
    })
    .await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: SWITCHBOARD_TEST_POSTGRES_URL"]
async fn a_writer_frozen_mid_transaction_is_ended_by_the_server() {
    with_store(SHORT, async |_guard, store| {
        // A node's own pooled session stops in the middle of a write (the node is frozen): PostgreSQL ends the
        // session once it has been idle in its transaction for the deadline, which releases the writer lock.
        let mut frozen = store.pool.get().await.unwrap();
        let tx = frozen.transaction().await.unwrap();
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&store.lock_key]).await.unwrap();
        let released = tokio::time::timeout(SHORT.deadline * 3 + SLACK, async {
            loop {
                match store.create_room(new_room("room00000001", t(0)), 10).await {
                    Err(StoreError::Timeout(_)) => continue,
                    outcome => break outcome.map(drop),
                }
            }
        });
        released.await.expect("the frozen session still holds the writer lock").expect("the write");
        assert!(tx.commit().await.is_err(), "the frozen transaction was ended");
    })
    .await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: SWITCHBOARD_TEST_POSTGRES_URL"]
async fn an_exhausted_pool_fails_calls_within_the_deadline() {
    let settings = PostgresSettings { pool_size: 1, ..SHORT };
    with_store(settings, async |_guard, store| {
        let taken = store.pool.get().await.unwrap();
        times_out(settings.deadline, store.count_rooms()).await;
        drop(taken);
        assert_eq!(store.count_rooms().await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: SWITCHBOARD_TEST_POSTGRES_URL"]
async fn rejects_empty_settings() {
    for settings in [
        PostgresSettings { pool_size: 0, ..PostgresSettings::default() },
        PostgresSettings { deadline: Duration::ZERO, ..PostgresSettings::default() },
    ] {
        let err = PostgresStore::connect_with("postgres://127.0.0.1/x", "x", settings).await.unwrap_err();
        assert!(err.to_string().contains("invalid PostgreSQL settings"), "{err}");
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL: SWITCHBOARD_TEST_POSTGRES_URL"]
async fn sslmode_require_speaks_tls_and_checks_the_certificate() {
    // The test server's certificate (Debian's self-signed "snakeoil", or none when TLS is off) is not one the
    // system's roots vouch for: with sslmode=require the store refuses to go on, never falling back to cleartext.
    let url = url();
    let url = format!("{url}{}sslmode=require", if url.contains('?') { '&' } else { '?' });
    let Err(err) = PostgresStore::connect_in(&url, &unique_schema()).await else {
        panic!("connected with sslmode=require to a server whose certificate nothing vouches for");
    };
    assert!(format!("{err:?}").to_lowercase().contains("tls handshake"), "{err:?}");
    // Why, from the connector the store uses: PostgreSQL's certificate was checked and refused (or TLS is off there).
    let connector = super::tls::RustlsConnect::with_roots(None).unwrap();
    let Err(err) = tokio_postgres::connect(&url, connector).await else { panic!("connected") };
    let mut why = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        why = format!("{why}: {cause}");
        source = cause.source();
    }
    let why = why.to_lowercase();
    assert!(why.contains("certificate") || why.contains("server does not support tls"), "{why}");
}

#[tokio::test]
#[ignore = "needs PostgreSQL's initdb and pg_ctl (a private server speaking TLS is started)"]
async fn sslmode_require_connects_when_the_certificate_chains_to_the_ca_file_and_names_the_host() {
    let Some(bin) = test_support::PrivatePostgres::binaries() else {
        eprintln!("skipped: no initdb and pg_ctl on PATH or in /usr/lib/postgresql/*/bin");
        return;
    };
    let ca = authority();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap().signed_by(&key, &ca).unwrap();
    let server = test_support::PrivatePostgres::start_tls(&bin, &cert.pem(), &key.serialize_pem());
    let connect = async |host: &str, ca_pem: &str| {
        let url = format!("{}?sslmode=require", server.url(host));
        PostgresStore::connect_with_roots(&url, "tls", PostgresSettings::default(), Some(ca_pem.as_bytes())).await
    };

    // The CA that signed the server's certificate, and the host it names: connected, over TLS.
    let store = connect("localhost", &ca.pem()).await.unwrap();
    assert_eq!(store.shared_secret("probe", b"over tls").await.unwrap(), b"over tls");
    let client = store.pool.get().await.unwrap();
    let row = client.query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[]).await.unwrap();
    assert!(row.get::<_, bool>(0), "the store's connection is not encrypted");

    // Another CA, or a host the certificate does not name: refused, never cleartext.
    for (host, roots) in [("localhost", authority().pem()), ("127.0.0.1", ca.pem())] {
        let Err(err) = connect(host, &roots).await else { panic!("connected to {host} with the wrong roots or name") };
        assert!(format!("{err:?}").to_lowercase().contains("tls handshake"), "{host}: {err:?}");
    }
    let err = connect("localhost", "not a certificate").await.err().unwrap();
    assert!(err.to_string().contains("the store's CA file"), "{err}");
}

/// A certificate authority of its own.
fn authority() -> rcgen::CertifiedIssuer<'static, rcgen::KeyPair> {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    rcgen::CertifiedIssuer::self_signed(params, rcgen::KeyPair::generate().unwrap()).unwrap()
}
