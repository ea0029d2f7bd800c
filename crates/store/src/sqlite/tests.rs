//! Tests of the SQLite store against a temporary directory: every operation, atomic checks, keyset
//! pagination under concurrent change, reopen-and-read-back and a real `kill -9`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use super::*;
use crate::FallbackResult;
use crate::behaviour::{new_lc, new_room, t, tags};

async fn open() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path()).await.expect("open");
    (dir, store)
}

crate::behaviour::behaviour_tests!(open());

#[tokio::test]
async fn opens_with_durable_settings_and_schema_version() {
    let (dir, store) = open().await;
    assert_eq!(store.path(), dir.path().join(DATABASE_FILE));
    let (mode, sync, fk, version) = store
        .db
        .run(|conn| {
            let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0)).unwrap();
            let sync: i64 = conn.pragma_query_value(None, "synchronous", |r| r.get(0)).unwrap();
            let fk: i64 = conn.pragma_query_value(None, "foreign_keys", |r| r.get(0)).unwrap();
            let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
            (mode, sync, fk, version)
        })
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(sync, 2, "synchronous=FULL");
    assert_eq!(fk, 1);
    assert_eq!(version, SqliteStore::schema_version());
}

#[tokio::test]
async fn refuses_a_newer_schema() {
    let (dir, store) = open().await;
    store.db.run(|conn| conn.pragma_update(None, "user_version", 99).unwrap()).await.unwrap();
    drop(store);
    let err = SqliteStore::open(dir.path()).await.unwrap_err();
    assert!(err.to_string().contains("newer than this build supports"), "{err}");
}

#[tokio::test]
async fn reopen_reads_everything_back() {
    let dir = tempfile::tempdir().unwrap();
    let (room, lc) = {
        let store = SqliteStore::open(dir.path()).await.unwrap();
        let mut lc = new_lc("lc0000000001", t(0));
        lc.tags = tags(&[("x", "y")]);
        let lc = store.create_logging_configuration(lc, 10).await.unwrap();
        let mut room = new_room("room00000001", t(1));
        room.name = "kept".to_owned();
        room.logging_configuration_ids = vec!["lc0000000001".to_owned()];
        room.message_review_handler = Some(MessageReviewHandler {
            uri: "arn:aws:lambda:us-east-1:123456789012:function:f".to_owned(),
            fallback_result: FallbackResult::Deny,
        });
        store.create_room(room, 10).await.unwrap();
        store.tag_resource(&ResourceRef::room("room00000001"), &tags(&[("k", "v")]), 50).await.unwrap();
        let room = store.get_room("room00000001").await.unwrap();
        (room, lc)
    };
    let store = SqliteStore::open(dir.path()).await.unwrap();
    assert_eq!(store.get_room("room00000001").await.unwrap(), room);
    assert_eq!(store.get_logging_configuration("lc0000000001").await.unwrap(), lc);
    assert_eq!(store.list_tags(&ResourceRef::room("room00000001")).await.unwrap(), tags(&[("k", "v")]));
    assert_eq!(store.count_rooms().await.unwrap(), 1);
}

#[tokio::test]
async fn reopen_reads_apis_and_snapshots_back() {
    use crate::{ApiChange, ApiStore, NewApi, Snapshot};
    let dir = tempfile::tempdir().unwrap();
    let snapshot = Snapshot {
        api_id: "abcdefghij".to_owned(),
        deployment_id: "dep0001".to_owned(),
        create_time: t(2),
        definitions: r#"{"routes":[]}"#.to_owned(),
    };
    let api = {
        let store = SqliteStore::open(dir.path()).await.unwrap();
        let api = NewApi { id: "abcdefghij".to_owned(), create_time: t(1), document: "{}".to_owned() };
        store.create_api(api, 10).await.unwrap();
        let change = ApiChange {
            id: "abcdefghij".to_owned(),
            expected_version: 1,
            update_time: t(2),
            document: r#"{"deployed":true}"#.to_owned(),
            add_snapshot: Some(snapshot.clone()),
            drop_snapshots: Vec::new(),
        };
        store.save_api(change).await.unwrap()
    };
    let store = SqliteStore::open(dir.path()).await.unwrap();
    assert_eq!(store.get_api("abcdefghij").await.unwrap(), api);
    assert_eq!(store.get_snapshot("abcdefghij", "dep0001").await.unwrap(), snapshot);
}

#[tokio::test]
async fn token_redemptions_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let later = time::OffsetDateTime::now_utc() + time::Duration::minutes(5);
    assert!(SqliteStore::open(dir.path()).await.unwrap().redeem_token("n", later).await.unwrap());
    let store = SqliteStore::open(dir.path()).await.unwrap();
    assert!(!store.redeem_token("n", later).await.unwrap(), "a used token stays used after a restart");
}

#[tokio::test]
async fn redemptions_recorded_before_schema_7_stay_redeemed_in_one_b_tree_keyed_by_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let later = time::OffsetDateTime::now_utc() + time::Duration::minutes(5);
    let past = time::OffsetDateTime::now_utc() - time::Duration::seconds(1);
    {
        // The file as a build of schema 6 left it: a table keyed by nonce and an index on the expiry.
        let mut conn = Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
        schema::migrate_to(&mut conn, 6).unwrap();
        conn.execute(
            "INSERT INTO chat_token_redemptions (nonce, expires_ms) VALUES ('kept', ?1), ('expired', ?2)",
            params![to_ms(later), to_ms(past)],
        )
        .unwrap();
    }
    let store = SqliteStore::open(dir.path()).await.unwrap();
    assert!(!store.redeem_token("kept", later).await.unwrap(), "a redemption made before the migration holds");
    assert!(store.redeem_token("new", later).await.unwrap());
    let (indexes, left) = store
        .db
        .run(|conn| {
            let indexes: i64 = conn
                .query_row(
                    "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'chat_token_redemptions'",
                    [],
                    |row| row.get(0),
                )
                .unwrap();
            let mut select = conn.prepare("SELECT nonce FROM chat_token_redemptions ORDER BY nonce").unwrap();
            let left: Vec<String> = select.query_map([], |row| row.get(0)).unwrap().map(Result::unwrap).collect();
            (indexes, left)
        })
        .await
        .unwrap();
    assert_eq!(indexes, 0, "the table is its only B-tree");
    assert_eq!(left, ["kept", "new"], "the expired record was purged by the next commit");
}

/// Threads of this process whose name is `name` (the name a runtime gives its blocking pool's threads).
fn threads_named(name: &str) -> usize {
    let tasks = std::fs::read_dir("/proc/self/task").expect("procfs");
    let comm = |task: &std::fs::DirEntry| std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
    tasks.filter_map(Result::ok).filter(|task| comm(task).trim() == name).count()
}

#[test]
#[cfg(target_os = "linux")]
fn a_burst_of_calls_waits_as_tasks_on_the_connections_one_thread() {
    const NAME: &str = "store-burst";
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(NAME)
        .thread_keep_alive(std::time::Duration::from_secs(120))
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (firsts, rooms, panicked) = runtime.block_on(async {
        let store = SqliteStore::open(dir.path()).await.unwrap();
        let later = time::OffsetDateTime::now_utc() + time::Duration::minutes(5);
        // As a burst of chat handshakes does: each redeems its token and reads the room's bans.
        let calls = (0..200).map(|i| {
            let store = store.clone();
            async move {
                let first = store.redeem_token(&format!("nonce{}", i % 100), later).await.unwrap();
                let rooms = store.list_rooms(&RoomFilter::default(), None, 10).await.unwrap();
                (first, rooms.items.len())
            }
        });
        let answers = futures_util::future::join_all(calls).await;
        // A call that panics fails alone; the connection's thread serves the next one.
        let panicked: Result<(), StoreError> = store.db.run(|_| panic!("a bug in a store call")).await;
        store.count_rooms().await.unwrap();
        let firsts = answers.iter().filter(|(first, _)| *first).count();
        (firsts, answers.iter().map(|(_, n)| n).sum::<usize>(), panicked)
    });
    assert_eq!((firsts, rooms), (100, 0), "each nonce is first once");
    assert!(matches!(panicked, Err(StoreError::Backend(_))), "{panicked:?}");
    // The runtime's threads: its worker, and the blocking pool's one that opened the store. The 400 calls ran on the
    // connection's thread, where a blocking-pool thread per waiting call made up to 200.
    let threads = threads_named(NAME);
    assert!(threads <= 2, "{threads} threads of the runtime's pool served the store's calls");
}

const CRASH_DIR_ENV: &str = "STORE_CRASH_TEST_DIR";

/// Child half of `acknowledged_writes_survive_kill_9`: writes rooms forever, printing each acknowledged id.
#[tokio::test]
#[ignore = "run only as the child of acknowledged_writes_survive_kill_9"]
async fn crash_writer() {
    use std::io::Write;
    let Some(dir) = std::env::var_os(CRASH_DIR_ENV) else {
        return;
    };
    let store = SqliteStore::open(std::path::Path::new(&dir)).await.unwrap();
    for i in 0.. {
        let id = format!("crash{i:07}");
        let mut room = new_room(&id, t(i));
        room.tags = tags(&[("i", &i.to_string())]);
        store.create_room(room, u64::MAX).await.unwrap();
        let mut out = std::io::stdout().lock();
        writeln!(out, "ACK {id}").unwrap();
        out.flush().unwrap();
    }
}

#[tokio::test]
async fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "sqlite::tests::crash_writer", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CRASH_DIR_ENV, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut acked = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(id) = line.strip_prefix("ACK ") {
            acked.push(id.to_owned());
            if acked.len() == 25 {
                break;
            }
        }
    }
    child.kill().unwrap(); // SIGKILL: no destructor, no checkpoint, no clean close.
    child.wait().unwrap();
    assert_eq!(acked.len(), 25, "the child did not acknowledge enough writes");

    let store = SqliteStore::open(dir.path()).await.unwrap();
    for id in &acked {
        let room = store.get_room(id).await.unwrap_or_else(|e| panic!("acknowledged {id} lost: {e}"));
        assert_eq!(room.tags.len(), 1);
    }
}

#[tokio::test]
async fn a_cached_statement_is_not_prepared_again_for_each_new_value() {
    let (_dir, store) = open().await;
    for id in ["room00000001", "room00000002"] {
        store.create_room(new_room(id, t(1)), 10).await.unwrap();
    }
    for i in 0..20 {
        store.get_room(if i % 2 == 0 { "room00000001" } else { "room00000002" }).await.unwrap();
    }
    // The statements a room's read runs, by their text: the cache hands back the ones it ran.
    let statuses = store
        .db
        .run(|conn| {
            [rows::GET_ROOM, rows::ROOM_LOGGING_IDS, rows::TAGS_OF].map(|sql| {
                let statement = conn.prepare_cached(sql).unwrap();
                let status = |s| statement.get_status(s);
                (sql, status(rusqlite::StatementStatus::Run), status(rusqlite::StatementStatus::RePrepare))
            })
        })
        .await
        .unwrap();
    for (sql, runs, reprepared) in statuses {
        assert!(runs >= 20, "{sql}: ran {runs} times");
        assert_eq!(reprepared, 0, "{sql}: prepared again {reprepared} times in {runs} runs");
    }
}
