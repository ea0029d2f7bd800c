//! [`HistoryStore`] and [`crate::ModerationStore`] on PostgreSQL: each call one transaction, writers behind the schema's
//! advisory lock like every other write (the designs and the SQL are in `crate::history` and `crate::moderation`).

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use time::OffsetDateTime;
use tokio_postgres::Row;

use super::PostgresStore;
use super::rows::{execute, from_ms, get_room, query, query_opt, to_ms};
use crate::StoreError;
use crate::history::{Entry, EntryKind, History, HistoryPage, HistoryStore, Listing, NewEntry, Since, sql};
use crate::model::{ResourceKind, Room};

/// Room `room_id`'s extension settings: history limits, slow mode and presence events.
pub(super) async fn settings(tx: &Transaction<'_>, room_id: &str) -> Result<crate::moderation::Extras, StoreError> {
    let row = query(tx, crate::moderation::sql::SETTINGS, &[&room_id]).await?;
    let (seconds, presence_events) =
        row.first().map_or((None, false), |row| (row.get::<_, Option<i64>>(0), row.get::<_, bool>(1)));
    let slow_mode_seconds = seconds.and_then(|s| u32::try_from(s).ok()).unwrap_or(0);
    Ok(crate::moderation::Extras { history: history(tx, room_id).await?, slow_mode_seconds, presence_events })
}

/// Room `room_id`'s history limits ([`History::OFF`] when it has none).
async fn history(tx: &Transaction<'_>, room_id: &str) -> Result<History, StoreError> {
    Ok(query_opt(tx, sql::SETTINGS, &[&room_id]).await?.map_or(History::OFF, |row| History {
        max_entries: u32::try_from(row.get::<_, i64>(0)).unwrap_or(0),
        max_age_seconds: u32::try_from(row.get::<_, i64>(1)).unwrap_or(0),
    }))
}

fn entries(rows: Vec<Row>) -> Result<Vec<Entry>, StoreError> {
    rows.into_iter()
        .map(|row| {
            Ok(Entry {
                seq: row.get(0),
                id: row.get(1),
                kind: EntryKind::parse(row.get(2)),
                send_time: from_ms(row.get(3))?,
                sender: row.get(4),
                payload: row.get(5),
            })
        })
        .collect()
}

async fn trim(tx: &Transaction<'_>, room_id: &str, history: History, now: OffsetDateTime) -> Result<(), StoreError> {
    execute(tx, sql::TRIM, &[&room_id, &history.cutoff_ms(now), &i64::from(history.max_entries)]).await?;
    Ok(())
}

async fn append(tx: &Transaction<'_>, entry: &NewEntry, now: OffsetDateTime) -> Result<bool, StoreError> {
    let history = history(tx, &entry.room_id).await?;
    if !history.is_on() {
        return Ok(false);
    }
    if let Some(target) = &entry.deletes {
        execute(tx, sql::TOMBSTONE, &[&entry.room_id, target]).await?;
    }
    let seq: i64 = query(tx, sql::NEXT_SEQ, &[&entry.room_id]).await?.first().map(|row| row.get(0)).unwrap_or_default();
    let (kind, send_time) = (entry.kind.as_str(), to_ms(entry.send_time));
    let row: [&(dyn tokio_postgres::types::ToSql + Sync); 7] =
        [&entry.room_id, &seq, &entry.id, &kind, &send_time, &entry.sender, &entry.payload];
    execute(tx, sql::INSERT, &row).await?;
    trim(tx, &entry.room_id, history, now).await?;
    Ok(true)
}

/// Moves room `room_id`'s `update_time` forward (an extension setting changed), as UpdateRoom does.
async fn touch(tx: &Transaction<'_>, room_id: &str, update_time: OffsetDateTime) -> Result<(), StoreError> {
    let current = get_room(tx, room_id).await?;
    let at = crate::sqlite::later_than(update_time, current.update_time);
    execute(tx, sql::TOUCH_ROOM, &[&at, &room_id]).await?;
    Ok(())
}

async fn require_room(tx: &Transaction<'_>, room_id: &str) -> Result<History, StoreError> {
    match query_opt(tx, sql::ROOM_EXISTS, &[&room_id]).await? {
        Some(_) => history(tx, room_id).await,
        None => Err(StoreError::NotFound { kind: ResourceKind::Room, id: room_id.to_owned() }),
    }
}

#[async_trait]
impl HistoryStore for PostgresStore {
    async fn set_room_history(
        &self,
        room_id: &str,
        history: History,
        update_time: OffsetDateTime,
    ) -> Result<Room, StoreError> {
        self.write(async |tx| {
            touch(tx, room_id, update_time).await?;
            if history.is_on() {
                let (entries, age) = (i64::from(history.max_entries), i64::from(history.max_age_seconds));
                execute(tx, sql::PUT_SETTINGS, &[&room_id, &entries, &age]).await?;
                trim(tx, room_id, history, update_time).await?;
            } else {
                execute(tx, sql::FORGET_ENTRIES, &[&room_id]).await?;
                execute(tx, sql::FORGET_SETTINGS, &[&room_id]).await?;
            }
            get_room(tx, room_id).await
        })
        .await
    }

    async fn append_history(&self, entries: Vec<NewEntry>, now: OffsetDateTime) -> Result<Vec<bool>, StoreError> {
        self.write(async |tx| {
            let mut retained = Vec::with_capacity(entries.len());
            for entry in &entries {
                retained.push(append(tx, entry, now).await?);
            }
            Ok(retained)
        })
        .await
    }

    async fn list_history(
        &self,
        room_id: &str,
        listing: Listing,
        now: OffsetDateTime,
    ) -> Result<HistoryPage, StoreError> {
        self.read(async |tx| {
            let history = require_room(tx, room_id).await?;
            if !history.is_on() {
                return Ok(HistoryPage { items: Vec::new(), next: None });
            }
            let Listing { order, after, limit } = listing;
            let wanted = i64::try_from(limit).unwrap_or(i64::MAX - 1) + 1;
            let rows = query(tx, sql::page(order), &[&room_id, &history.cutoff_ms(now), &after, &wanted]).await?;
            Ok(crate::history::page(entries(rows)?, limit))
        })
        .await
    }

    async fn history_after(&self, room_id: &str, id: &str, now: OffsetDateTime) -> Result<Since, StoreError> {
        self.read(async |tx| {
            let history = require_room(tx, room_id).await?;
            let cutoff = history.cutoff_ms(now);
            let position = match history.is_on() {
                true => query_opt(tx, sql::POSITION, &[&room_id, &id, &cutoff]).await?.map(|row| row.get::<_, i64>(0)),
                false => None,
            };
            match position {
                Some(seq) => Ok(Since::Entries(entries(query(tx, sql::AFTER, &[&room_id, &seq, &cutoff]).await?)?)),
                None => Ok(Since::Gap),
            }
        })
        .await
    }

    async fn user_messages(
        &self,
        room_id: &str,
        user_id: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<String>, StoreError> {
        self.read(async |tx| {
            let history = require_room(tx, room_id).await?;
            let rows = query(tx, sql::USER_MESSAGES, &[&room_id, &user_id, &history.cutoff_ms(now)]).await?;
            Ok(rows.iter().map(|row| row.get(0)).collect())
        })
        .await
    }
}

#[async_trait]
impl crate::ModerationStore for PostgresStore {
    async fn set_slow_mode(
        &self,
        room_id: &str,
        seconds: u32,
        update_time: OffsetDateTime,
    ) -> Result<Room, StoreError> {
        self.write(async |tx| {
            touch(tx, room_id, update_time).await?;
            match seconds {
                0 => execute(tx, crate::moderation::sql::FORGET_SLOW_MODE, &[&room_id]).await?,
                s => execute(tx, crate::moderation::sql::PUT_SLOW_MODE, &[&room_id, &i64::from(s)]).await?,
            };
            get_room(tx, room_id).await
        })
        .await
    }

    async fn set_presence_events(
        &self,
        room_id: &str,
        enabled: bool,
        update_time: OffsetDateTime,
    ) -> Result<Room, StoreError> {
        self.write(async |tx| {
            touch(tx, room_id, update_time).await?;
            let sql = crate::moderation::sql::presence_events(enabled);
            execute(tx, sql, &[&room_id]).await?;
            get_room(tx, room_id).await
        })
        .await
    }

    async fn ban_user(
        &self,
        room_id: &str,
        user_id: &str,
        until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.write(async |tx| {
            require_room(tx, room_id).await?;
            execute(tx, crate::moderation::sql::PURGE, &[&to_ms(now)]).await?;
            execute(tx, crate::moderation::sql::PUT, &[&room_id, &user_id, &to_ms(until)]).await?;
            Ok(())
        })
        .await
    }

    async fn banned_until(
        &self,
        room_id: &str,
        user_id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<OffsetDateTime>, StoreError> {
        self.read(async |tx| {
            let row = query_opt(tx, crate::moderation::sql::GET, &[&room_id, &user_id, &to_ms(now)]).await?;
            row.map(|row| from_ms(row.get(0))).transpose()
        })
        .await
    }
}
