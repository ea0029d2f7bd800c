//! The PostgreSQL schema and its migrations, applied on start under an advisory lock so that nodes starting together
//! migrate once.

use deadpool_postgres::Client;

use crate::StoreError;

/// Migration `i` brings the schema from version `i` to `i + 1`. Append only; never edit a released step. Ids sort
/// bytewise (`COLLATE "C"`), as in SQLite, so that keyset pagination orders the same on both backends.
const MIGRATIONS: &[&str] = &[
    // 1: rooms, logging configurations, their link table and tags.
    r#"CREATE TABLE rooms (
        id               TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        name             TEXT   NOT NULL,
        create_time      BIGINT NOT NULL,
        update_time      BIGINT NOT NULL,
        max_rate         BIGINT NOT NULL,
        max_length       BIGINT NOT NULL,
        handler_uri      TEXT,
        handler_fallback TEXT
    );
    CREATE INDEX rooms_by_update ON rooms (update_time DESC, id DESC);
    CREATE INDEX rooms_by_name ON rooms (name, update_time DESC, id DESC);
    CREATE INDEX rooms_by_handler ON rooms (handler_uri, update_time DESC, id DESC);

    CREATE TABLE logging_configurations (
        id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        name        TEXT   NOT NULL,
        create_time BIGINT NOT NULL,
        update_time BIGINT NOT NULL,
        state       TEXT   NOT NULL,
        dest_kind   TEXT   NOT NULL,
        dest_value  TEXT   NOT NULL
    );
    CREATE INDEX logging_configurations_by_update ON logging_configurations (update_time DESC, id DESC);

    CREATE TABLE room_logging (
        room_id  TEXT COLLATE "C" NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
        lc_id    TEXT COLLATE "C" NOT NULL REFERENCES logging_configurations (id),
        position BIGINT NOT NULL,
        PRIMARY KEY (room_id, lc_id)
    );
    CREATE INDEX room_logging_by_lc ON room_logging (lc_id);

    CREATE TABLE tags (
        resource_kind TEXT NOT NULL,
        resource_id   TEXT COLLATE "C" NOT NULL,
        key           TEXT COLLATE "C" NOT NULL,
        value         TEXT NOT NULL,
        PRIMARY KEY (resource_kind, resource_id, key)
    );

    -- Secrets every node must share (the key of pagination tokens, the key of chat tokens).
    CREATE TABLE secrets (
        name  TEXT  NOT NULL PRIMARY KEY,
        value BYTEA NOT NULL
    );"#,
    // 2: apigatewayv2 APIs (one versioned document each) and their deployments' snapshots.
    r#"CREATE TABLE apigw_apis (
        id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        version     BIGINT NOT NULL,
        create_time BIGINT NOT NULL,
        update_time BIGINT NOT NULL,
        document    TEXT   NOT NULL
    );

    CREATE TABLE apigw_snapshots (
        api_id        TEXT COLLATE "C" NOT NULL REFERENCES apigw_apis (id) ON DELETE CASCADE,
        deployment_id TEXT COLLATE "C" NOT NULL,
        create_time   BIGINT NOT NULL,
        definitions   TEXT   NOT NULL,
        PRIMARY KEY (api_id, deployment_id)
    );"#,
    // 3: the single use of chat tokens, kept until the token expires.
    r#"CREATE TABLE chat_token_redemptions (
        nonce      TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        expires_ms BIGINT NOT NULL
    );
    CREATE INDEX chat_token_redemptions_by_expiry ON chat_token_redemptions (expires_ms);"#,
    // 4: chat room history (an extension): each room's limits, and its retained frames numbered by `seq`.
    r#"CREATE TABLE room_history_settings (
        room_id         TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES rooms (id) ON DELETE CASCADE,
        max_entries     BIGINT NOT NULL,
        max_age_seconds BIGINT NOT NULL,
        next_seq        BIGINT NOT NULL
    );

    CREATE TABLE room_history (
        room_id   TEXT COLLATE "C" NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
        seq       BIGINT  NOT NULL,
        id        TEXT COLLATE "C" NOT NULL,
        kind      TEXT    NOT NULL,
        send_time BIGINT  NOT NULL,
        sender    TEXT COLLATE "C",
        deleted   BIGINT  NOT NULL,
        payload   TEXT    NOT NULL,
        PRIMARY KEY (room_id, seq)
    );
    CREATE UNIQUE INDEX room_history_by_id ON room_history (room_id, id);
    CREATE INDEX room_history_by_sender ON room_history (room_id, sender);"#,
    // 5: moderation (an extension): users banned from chat rooms until a time, and rooms' slow mode.
    r#"CREATE TABLE room_bans (
        room_id  TEXT COLLATE "C" NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
        user_id  TEXT COLLATE "C" NOT NULL,
        until_ms BIGINT NOT NULL,
        PRIMARY KEY (room_id, user_id)
    );
    CREATE INDEX room_bans_by_expiry ON room_bans (until_ms);

    CREATE TABLE room_slow_mode (
        room_id TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES rooms (id) ON DELETE CASCADE,
        seconds BIGINT NOT NULL
    );"#,
    // 6: presence events (an extension): the rooms that send join and leave events to their members.
    r#"CREATE TABLE room_presence_events (
        room_id TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES rooms (id) ON DELETE CASCADE
    );"#,
];

/// The schema version this build writes.
pub(crate) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Creates `schema` if needed and applies every missing migration in one transaction, holding the advisory lock
/// `lock_key` so that concurrent starts migrate once. Refuses a database newer than this build.
pub(crate) async fn migrate(client: &mut Client, schema: &str, lock_key: i64) -> Result<(), StoreError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&lock_key]).await?;
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {schema};
         CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
             version    BIGINT NOT NULL PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         );",
        schema = quote_ident(schema)
    ))
    .await?;
    let row = tx
        .query_one(&format!("SELECT COALESCE(MAX(version), 0) FROM {}.schema_migrations", quote_ident(schema)), &[])
        .await?;
    let current: i64 = row.get(0);
    if current > SCHEMA_VERSION {
        return Err(StoreError::Backend(format!(
            "database schema version {current} is newer than this build supports ({SCHEMA_VERSION})"
        )));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current.max(0) as usize) {
        tx.batch_execute(&format!("SET LOCAL search_path TO {};\n{sql}", quote_ident(schema))).await?;
        let version = index as i64 + 1;
        tx.execute(
            &format!("INSERT INTO {}.schema_migrations (version) VALUES ($1)", quote_ident(schema)),
            &[&version],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// `name` as a quoted SQL identifier.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
