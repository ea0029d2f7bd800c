//! [`HistoryStore`] and [`crate::ModerationStore`] on SQLite: each call one transaction, like every other store call (the
//! designs and the SQL are in `crate::history` and `crate::moderation`).

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, params};
use time::OffsetDateTime;

use super::rows::{self, from_ms, to_ms};
use super::{SqliteStore, later_than};
use crate::StoreError;
use crate::history::{Entry, EntryKind, History, HistoryPage, HistoryStore, Listing, NewEntry, Since, sql};
use crate::model::{ResourceKind, Room};

/// Room `room_id`'s extension settings: history limits, slow mode and presence events.
pub(crate) fn settings(conn: &Connection, room_id: &str) -> Result<crate::moderation::Extras, StoreError> {
    let (seconds, presence_events): (Option<i64>, bool) = conn
        .prepare_cached(crate::moderation::sql::SETTINGS)?
        .query_row([room_id], |row| Ok((row.get(0)?, row.get(1)?)))?;
    let slow_mode_seconds = seconds.and_then(|s| u32::try_from(s).ok()).unwrap_or(0);
    Ok(crate::moderation::Extras { history: history(conn, room_id)?, slow_mode_seconds, presence_events })
}

/// Room `room_id`'s history limits ([`History::OFF`] when it has none).
fn history(conn: &Connection, room_id: &str) -> Result<History, StoreError> {
    let found = conn
        .prepare_cached(sql::SETTINGS)?
        .query_row([room_id], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?)))
        .optional()?;
    Ok(found.map_or(History::OFF, |(entries, age)| History {
        max_entries: u32::try_from(entries).unwrap_or(0),
        max_age_seconds: u32::try_from(age).unwrap_or(0),
    }))
}

fn entry(row: &Row<'_>) -> rusqlite::Result<(i64, String, String, i64, Option<String>, String)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?))
}

fn entries(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<Vec<Entry>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let raw = stmt.query_map(params, entry)?.collect::<rusqlite::Result<Vec<_>>>()?;
    raw.into_iter()
        .map(|(seq, id, kind, send_time, sender, payload)| {
            Ok(Entry { seq, id, kind: EntryKind::parse(&kind), send_time: from_ms(send_time)?, sender, payload })
        })
        .collect()
}

fn trim(conn: &Connection, room_id: &str, history: History, now: OffsetDateTime) -> Result<(), StoreError> {
    conn.prepare_cached(sql::TRIM)?.execute(params![
        room_id,
        history.cutoff_ms(now),
        i64::from(history.max_entries)
    ])?;
    Ok(())
}

fn append(conn: &Connection, entry: &NewEntry, now: OffsetDateTime) -> Result<bool, StoreError> {
    let history = history(conn, &entry.room_id)?;
    if !history.is_on() {
        return Ok(false);
    }
    if let Some(target) = &entry.deletes {
        conn.prepare_cached(sql::TOMBSTONE)?.execute(params![entry.room_id, target])?;
    }
    let seq: i64 = conn.prepare_cached(sql::NEXT_SEQ)?.query_row([&entry.room_id], |row| row.get(0))?;
    let (kind, send_time) = (entry.kind.as_str(), to_ms(entry.send_time));
    conn.prepare_cached(sql::INSERT)?.execute(params![
        entry.room_id,
        seq,
        entry.id,
        kind,
        send_time,
        entry.sender,
        entry.payload
    ])?;
    trim(conn, &entry.room_id, history, now)?;
    Ok(true)
}

/// Moves room `room_id`'s `update_time` forward (an extension setting changed), as UpdateRoom does.
fn touch(conn: &Connection, room_id: &str, update_time: OffsetDateTime) -> Result<(), StoreError> {
    let current = rows::get_room(conn, room_id)?;
    conn.prepare_cached(sql::TOUCH_ROOM)?.execute(params![later_than(update_time, current.update_time), room_id])?;
    Ok(())
}

fn require_room(conn: &Connection, room_id: &str) -> Result<History, StoreError> {
    match conn.prepare_cached(sql::ROOM_EXISTS)?.exists([room_id])? {
        true => history(conn, room_id),
        false => Err(StoreError::NotFound { kind: ResourceKind::Room, id: room_id.to_owned() }),
    }
}

#[async_trait]
impl HistoryStore for SqliteStore {
    async fn set_room_history(
        &self,
        room_id: &str,
        history: History,
        update_time: OffsetDateTime,
    ) -> Result<Room, StoreError> {
        let id = room_id.to_owned();
        self.write(move |tx| {
            touch(tx, &id, update_time)?;
            if history.is_on() {
                let (entries, age) = (i64::from(history.max_entries), i64::from(history.max_age_seconds));
                tx.prepare_cached(sql::PUT_SETTINGS)?.execute(params![id, entries, age])?;
                trim(tx, &id, history, update_time)?;
            } else {
                tx.prepare_cached(sql::FORGET_ENTRIES)?.execute([&id])?;
                tx.prepare_cached(sql::FORGET_SETTINGS)?.execute([&id])?;
            }
            rows::get_room(tx, &id)
        })
        .await
    }

    async fn append_history(&self, entries: Vec<NewEntry>, now: OffsetDateTime) -> Result<Vec<bool>, StoreError> {
        self.write(move |tx| entries.iter().map(|entry| append(tx, entry, now)).collect()).await
    }

    async fn list_history(
        &self,
        room_id: &str,
        listing: Listing,
        now: OffsetDateTime,
    ) -> Result<HistoryPage, StoreError> {
        let id = room_id.to_owned();
        self.read(move |tx| {
            let history = require_room(tx, &id)?;
            if !history.is_on() {
                return Ok(HistoryPage { items: Vec::new(), next: None });
            }
            let Listing { order, after, limit } = listing;
            let wanted = i64::try_from(limit).unwrap_or(i64::MAX - 1) + 1;
            let items = entries(tx, sql::page(order), params![id, history.cutoff_ms(now), after, wanted])?;
            Ok(crate::history::page(items, limit))
        })
        .await
    }

    async fn history_after(&self, room_id: &str, id: &str, now: OffsetDateTime) -> Result<Since, StoreError> {
        let (room_id, id) = (room_id.to_owned(), id.to_owned());
        self.read(move |tx| {
            let history = require_room(tx, &room_id)?;
            let cutoff = history.cutoff_ms(now);
            let position: Option<i64> = match history.is_on() {
                true => tx
                    .prepare_cached(sql::POSITION)?
                    .query_row(params![room_id, id, cutoff], |row| row.get(0))
                    .optional()?,
                false => None,
            };
            match position {
                Some(seq) => Ok(Since::Entries(entries(tx, sql::AFTER, params![room_id, seq, cutoff])?)),
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
        let (room_id, user_id) = (room_id.to_owned(), user_id.to_owned());
        self.read(move |tx| {
            let history = require_room(tx, &room_id)?;
            let mut stmt = tx.prepare_cached(sql::USER_MESSAGES)?;
            let ids = stmt.query_map(params![room_id, user_id, history.cutoff_ms(now)], |row| row.get(0))?;
            Ok(ids.collect::<rusqlite::Result<Vec<String>>>()?)
        })
        .await
    }
}

#[async_trait]
impl crate::ModerationStore for SqliteStore {
    async fn set_slow_mode(
        &self,
        room_id: &str,
        seconds: u32,
        update_time: OffsetDateTime,
    ) -> Result<Room, StoreError> {
        let id = room_id.to_owned();
        self.write(move |tx| {
            touch(tx, &id, update_time)?;
            match seconds {
                0 => tx.prepare_cached(crate::moderation::sql::FORGET_SLOW_MODE)?.execute([&id])?,
                s => tx.prepare_cached(crate::moderation::sql::PUT_SLOW_MODE)?.execute(params![id, i64::from(s)])?,
            };
            rows::get_room(tx, &id)
        })
        .await
    }

    async fn set_presence_events(
        &self,
        room_id: &str,
        enabled: bool,
        update_time: OffsetDateTime,
    ) -> Result<Room, StoreError> {
        let id = room_id.to_owned();
        self.write(move |tx| {
            touch(tx, &id, update_time)?;
            let sql = crate::moderation::sql::presence_events(enabled);
            tx.prepare_cached(sql)?.execute([&id])?;
            rows::get_room(tx, &id)
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
        let (room_id, user_id) = (room_id.to_owned(), user_id.to_owned());
        self.write(move |tx| {
            require_room(tx, &room_id)?;
            tx.prepare_cached(crate::moderation::sql::PURGE)?.execute([to_ms(now)])?;
            tx.prepare_cached(crate::moderation::sql::PUT)?.execute(params![room_id, user_id, to_ms(until)])?;
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
        let (room_id, user_id) = (room_id.to_owned(), user_id.to_owned());
        self.read(move |tx| {
            let until: Option<i64> = tx
                .prepare_cached(crate::moderation::sql::GET)?
                .query_row(params![room_id, user_id, to_ms(now)], |row| row.get(0))
                .optional()?;
            until.map(from_ms).transpose()
        })
        .await
    }
}
