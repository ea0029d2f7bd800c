//! Opening the SQLite file with durable settings, and the schema migrations keyed by `PRAGMA user_version`.

use std::path::Path;
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, TransactionBehavior};

use crate::StoreError;

/// Migration `i` brings the schema from version `i` to `i + 1`. Append only; never edit a released step.
const MIGRATIONS: &[&str] = &[
    // 1: rooms, logging configurations, their link table and tags.
    "CREATE TABLE rooms (
        id               TEXT    NOT NULL PRIMARY KEY,
        name             TEXT    NOT NULL,
        create_time      INTEGER NOT NULL,
        update_time      INTEGER NOT NULL,
        max_rate         INTEGER NOT NULL,
        max_length       INTEGER NOT NULL,
        handler_uri      TEXT,
        handler_fallback TEXT
    ) STRICT;
    CREATE INDEX rooms_by_update ON rooms (update_time DESC, id DESC);
    CREATE INDEX rooms_by_name ON rooms (name, update_time DESC, id DESC);
    CREATE INDEX rooms_by_handler ON rooms (handler_uri, update_time DESC, id DESC);

    CREATE TABLE logging_configurations (
        id          TEXT    NOT NULL PRIMARY KEY,
        name        TEXT    NOT NULL,
        create_time INTEGER NOT NULL,
        update_time INTEGER NOT NULL,
        state       TEXT    NOT NULL,
        dest_kind   TEXT    NOT NULL,
        dest_value  TEXT    NOT NULL
    ) STRICT;
    CREATE INDEX logging_configurations_by_update ON logging_configurations (update_time DESC, id DESC);

    CREATE TABLE room_logging (
        room_id  TEXT    NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
        lc_id    TEXT    NOT NULL REFERENCES logging_configurations (id),
        position INTEGER NOT NULL,
        PRIMARY KEY (room_id, lc_id)
    ) STRICT;
    CREATE INDEX room_logging_by_lc ON room_logging (lc_id);

    CREATE TABLE tags (
        resource_kind TEXT NOT NULL,
        resource_id   TEXT NOT NULL,
        key           TEXT NOT NULL,
        value         TEXT NOT NULL,
        PRIMARY KEY (resource_kind, resource_id, key)
    ) STRICT;",
    // 2: apigatewayv2 APIs (one versioned document each) and their deployments' snapshots.
    "CREATE TABLE apigw_apis (
        id          TEXT    NOT NULL PRIMARY KEY,
        version     INTEGER NOT NULL,
        create_time INTEGER NOT NULL,
        update_time INTEGER NOT NULL,
        document    TEXT    NOT NULL
    ) STRICT;

    CREATE TABLE apigw_snapshots (
        api_id        TEXT    NOT NULL REFERENCES apigw_apis (id) ON DELETE CASCADE,
        deployment_id TEXT    NOT NULL,
        create_time   INTEGER NOT NULL,
        definitions   TEXT    NOT NULL,
        PRIMARY KEY (api_id, deployment_id)
    ) STRICT;",
    // 3: the single use of chat tokens, kept until the token expires.
    "CREATE TABLE chat_token_redemptions (
        nonce      TEXT    NOT NULL PRIMARY KEY,
        expires_ms INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX chat_token_redemptions_by_expiry ON chat_token_redemptions (expires_ms);",
    // 4: chat room history (an extension): each room's limits, and its retained frames numbered by `seq`.
    "CREATE TABLE room_history_settings (
        room_id         TEXT    NOT NULL PRIMARY KEY REFERENCES rooms (id) ON DELETE CASCADE,
        max_entries     INTEGER NOT NULL,
        max_age_seconds INTEGER NOT NULL,
        next_seq        INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE room_history (
        room_id   TEXT    NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
        seq       INTEGER NOT NULL,
        id        TEXT    NOT NULL,
        kind      TEXT    NOT NULL,
        send_time INTEGER NOT NULL,
        sender    TEXT,
        deleted   INTEGER NOT NULL,
        payload   TEXT    NOT NULL,
        PRIMARY KEY (room_id, seq)
    ) STRICT;
    CREATE UNIQUE INDEX room_history_by_id ON room_history (room_id, id);
    CREATE INDEX room_history_by_sender ON room_history (room_id, sender);",
    // 5: moderation (an extension): users banned from chat rooms until a time, and rooms' slow mode.
    "CREATE TABLE room_bans (
        room_id  TEXT    NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
        user_id  TEXT    NOT NULL,
        until_ms INTEGER NOT NULL,
        PRIMARY KEY (room_id, user_id)
    ) STRICT;
    CREATE INDEX room_bans_by_expiry ON room_bans (until_ms);

    CREATE TABLE room_slow_mode (
        room_id TEXT    NOT NULL PRIMARY KEY REFERENCES rooms (id) ON DELETE CASCADE,
        seconds INTEGER NOT NULL
    ) STRICT;",
    // 6: presence events (an extension): the rooms that send join and leave events to their members.
    "CREATE TABLE room_presence_events (
        room_id TEXT NOT NULL PRIMARY KEY REFERENCES rooms (id) ON DELETE CASCADE
    ) STRICT;",
    // 7: chat token redemptions keyed by expiry, then nonce: one B-tree where there were a table and an index on the
    // expiry, filled at its end (tokens expire in about the order they are issued, so its pages fill up instead of
    // splitting half empty) and purged from its start. A token's expiry is signed into it beside its nonce, so the
    // pair names a token as the nonce alone did.
    "CREATE TABLE chat_token_redemptions_next (
        expires_ms INTEGER NOT NULL,
        nonce      TEXT    NOT NULL,
        PRIMARY KEY (expires_ms, nonce)
    ) STRICT, WITHOUT ROWID;
    INSERT INTO chat_token_redemptions_next (expires_ms, nonce) SELECT expires_ms, nonce FROM chat_token_redemptions;
    DROP TABLE chat_token_redemptions;
    ALTER TABLE chat_token_redemptions_next RENAME TO chat_token_redemptions;",
];

/// The schema version this build writes.
pub(crate) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Opens (creating if needed) the database at `path`: WAL journal, `synchronous=FULL` (a commit is on disk
/// before it returns), foreign keys on, plans kept whatever is bound, then migrates to [`SCHEMA_VERSION`].
pub(crate) fn open(path: &Path) -> Result<Connection, StoreError> {
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Backend(format!("could not enable WAL journal mode (got {mode})")));
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // A cached statement keeps its plan whatever values are bound to it. Without this, SQLite (built with STAT4)
    // marks a plan that a bound value could change and prepares the statement again each time the value changes:
    // the reads of a room's logging configurations and tags, on every handshake and `SendEvent`, were prepared again
    // on nearly every run, about half the instructions of reading a room. No statement here has a plan that a value
    // improves (no LIKE or GLOB; the store never runs ANALYZE).
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    migrate(&mut conn)?;
    Ok(conn)
}

/// Applies every migration above the file's `user_version`, each in its own transaction together with the
/// version bump, so a crash leaves the file at a whole version.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    migrate_to(conn, SCHEMA_VERSION)
}

/// [`migrate`] up to `version` only (a test's file as an older build left it).
pub(crate) fn migrate_to(conn: &mut Connection, version: i64) -> Result<(), StoreError> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::Backend(format!(
            "database schema version {current} is newer than this build supports ({SCHEMA_VERSION})"
        )));
    }
    let steps = MIGRATIONS.iter().enumerate().take(version.clamp(0, SCHEMA_VERSION) as usize);
    for (index, sql) in steps.skip(current.max(0) as usize) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}
