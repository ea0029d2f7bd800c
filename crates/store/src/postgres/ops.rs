//! The [`Store`] operations on PostgreSQL: each one transaction, writers behind the schema's advisory lock; the
//! connection, pool and migrations are in `mod.rs`, row decoding in `rows.rs`.

use async_trait::async_trait;

use super::PostgresStore;
use super::rows::{
    LC_COLUMNS, ROOM_COLUMNS, count, delete_tags, destination_columns, execute, get_lc, get_room, handler_columns,
    insert, lc_from_row, put_tags, query, query_opt, require_resource, room_from_row, set_room_logging, tags_of, to_ms,
};
use crate::model::{
    Cursor, LoggingConfiguration, LoggingConfigurationPatch, LoggingConfigurationState, NewLoggingConfiguration,
    NewRoom, Page, ResourceKind, ResourceRef, Room, RoomFilter, RoomPatch, Tags,
};
use crate::{Store, StoreError};

#[async_trait]
impl Store for PostgresStore {
    async fn create_room(&self, room: NewRoom, max_rooms: u64) -> Result<Room, StoreError> {
        self.write(async |tx| {
            if count(tx, "rooms").await? >= max_rooms {
                return Err(StoreError::QuotaExceeded { kind: ResourceKind::Room, limit: max_rooms });
            }
            let (uri, fallback) = handler_columns(&room.message_review_handler);
            let at = to_ms(room.create_time);
            insert(
                tx,
                &format!("INSERT INTO rooms ({ROOM_COLUMNS}) VALUES ($1, $2, $3, $3, $4, $5, $6, $7)"),
                &[
                    &room.id,
                    &room.name,
                    &at,
                    &i64::from(room.maximum_message_rate_per_second),
                    &i64::from(room.maximum_message_length),
                    &uri,
                    &fallback,
                ],
                ResourceKind::Room,
                &room.id,
            )
            .await?;
            set_room_logging(tx, &room.id, &room.logging_configuration_ids).await?;
            put_tags(tx, &ResourceRef::room(room.id.clone()), &room.tags).await?;
            get_room(tx, &room.id).await
        })
        .await
    }

    async fn get_room(&self, id: &str) -> Result<Room, StoreError> {
        self.read(async |tx| get_room(tx, id).await).await
    }

    async fn update_room(&self, id: &str, patch: RoomPatch) -> Result<Room, StoreError> {
        self.write(async |tx| {
            let current = get_room(tx, id).await?;
            let handler = match patch.message_review_handler {
                None => current.message_review_handler.clone(),
                Some(p) => p.apply(current.message_review_handler.as_ref()),
            };
            let (uri, fallback) = handler_columns(&handler);
            execute(
                tx,
                "UPDATE rooms SET name = $2, update_time = $3, max_rate = $4, max_length = $5,
                 handler_uri = $6, handler_fallback = $7 WHERE id = $1",
                &[
                    &id,
                    &patch.name.unwrap_or(current.name),
                    &crate::sqlite::later_than(patch.update_time, current.update_time),
                    &i64::from(
                        patch.maximum_message_rate_per_second.unwrap_or(current.maximum_message_rate_per_second),
                    ),
                    &i64::from(patch.maximum_message_length.unwrap_or(current.maximum_message_length)),
                    &uri,
                    &fallback,
                ],
            )
            .await?;
            if let Some(ids) = &patch.logging_configuration_ids {
                set_room_logging(tx, id, ids).await?;
            }
            get_room(tx, id).await
        })
        .await
    }

    async fn delete_room(&self, id: &str) -> Result<Room, StoreError> {
        self.write(async |tx| {
            let room = get_room(tx, id).await?;
            delete_tags(tx, &ResourceRef::room(id.to_owned()), None).await?;
            execute(tx, "DELETE FROM room_logging WHERE room_id = $1", &[&id]).await?;
            execute(tx, "DELETE FROM rooms WHERE id = $1", &[&id]).await?;
            Ok(room)
        })
        .await
    }

    async fn list_rooms(
        &self,
        filter: &RoomFilter,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<Room>, StoreError> {
        self.read(async |tx| {
            let after_time = after.map(|c| c.update_time_ms);
            let after_id = after.map(|c| c.id.clone());
            let rows = query(
                tx,
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
                rooms.push(room_from_row(tx, row).await?);
            }
            Ok(Page::of(rooms, limit, |r: &Room| Cursor { update_time_ms: to_ms(r.update_time), id: r.id.clone() }))
        })
        .await
    }

    async fn count_rooms(&self) -> Result<u64, StoreError> {
        self.read(async |tx| count(tx, "rooms").await).await
    }

    async fn create_logging_configuration(
        &self,
        config: NewLoggingConfiguration,
        max: u64,
    ) -> Result<LoggingConfiguration, StoreError> {
        self.write(async |tx| {
            if count(tx, "logging_configurations").await? >= max {
                return Err(StoreError::QuotaExceeded { kind: ResourceKind::LoggingConfiguration, limit: max });
            }
            let (dest_kind, dest_value) = destination_columns(&config.destination);
            insert(
                tx,
                &format!("INSERT INTO logging_configurations ({LC_COLUMNS}) VALUES ($1, $2, $3, $3, $4, $5, $6)"),
                &[
                    &config.id,
                    &config.name,
                    &to_ms(config.create_time),
                    &LoggingConfigurationState::Active.as_str(),
                    &dest_kind,
                    &dest_value,
                ],
                ResourceKind::LoggingConfiguration,
                &config.id,
            )
            .await?;
            put_tags(tx, &ResourceRef::logging_configuration(config.id.clone()), &config.tags).await?;
            get_lc(tx, &config.id).await
        })
        .await
    }

    async fn get_logging_configuration(&self, id: &str) -> Result<LoggingConfiguration, StoreError> {
        self.read(async |tx| get_lc(tx, id).await).await
    }

    async fn update_logging_configuration(
        &self,
        id: &str,
        patch: LoggingConfigurationPatch,
    ) -> Result<LoggingConfiguration, StoreError> {
        self.write(async |tx| {
            let current = get_lc(tx, id).await?;
            let destination = patch.destination.unwrap_or(current.destination);
            let (dest_kind, dest_value) = destination_columns(&destination);
            execute(
                tx,
                "UPDATE logging_configurations SET name = $2, update_time = $3, dest_kind = $4, dest_value = $5
                 WHERE id = $1",
                &[&id, &patch.name.unwrap_or(current.name), &to_ms(patch.update_time), &dest_kind, &dest_value],
            )
            .await?;
            get_lc(tx, id).await
        })
        .await
    }

    async fn delete_logging_configuration(&self, id: &str) -> Result<LoggingConfiguration, StoreError> {
        self.write(async |tx| {
            let config = get_lc(tx, id).await?;
            let user =
                query_opt(tx, "SELECT room_id FROM room_logging WHERE lc_id = $1 ORDER BY room_id LIMIT 1", &[&id])
                    .await?;
            if let Some(row) = user {
                return Err(StoreError::Conflict {
                    kind: ResourceKind::LoggingConfiguration,
                    id: id.to_owned(),
                    blocker: ResourceRef::room(row.get::<_, String>(0)),
                });
            }
            delete_tags(tx, &ResourceRef::logging_configuration(id.to_owned()), None).await?;
            execute(tx, "DELETE FROM logging_configurations WHERE id = $1", &[&id]).await?;
            Ok(config)
        })
        .await
    }

    async fn list_logging_configurations(
        &self,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<LoggingConfiguration>, StoreError> {
        self.read(async |tx| {
            let after_time = after.map(|c| c.update_time_ms);
            let after_id = after.map(|c| c.id.clone());
            let rows = query(
                tx,
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
                configs.push(lc_from_row(tx, row).await?);
            }
            Ok(Page::of(configs, limit, |c: &LoggingConfiguration| Cursor {
                update_time_ms: to_ms(c.update_time),
                id: c.id.clone(),
            }))
        })
        .await
    }

    async fn count_logging_configurations(&self) -> Result<u64, StoreError> {
        self.read(async |tx| count(tx, "logging_configurations").await).await
    }

    async fn tag_resource(&self, resource: &ResourceRef, tags: &Tags, max_tags: usize) -> Result<(), StoreError> {
        self.write(async |tx| {
            require_resource(tx, resource).await?;
            let current = tags_of(tx, resource).await?;
            let added = tags.keys().filter(|k| !current.contains_key(*k)).count();
            if current.len() + added > max_tags {
                return Err(StoreError::TooManyTags { limit: max_tags });
            }
            put_tags(tx, resource, tags).await?;
            Ok(())
        })
        .await
    }

    async fn untag_resource(&self, resource: &ResourceRef, keys: &[String]) -> Result<(), StoreError> {
        self.write(async |tx| {
            require_resource(tx, resource).await?;
            delete_tags(tx, resource, Some(keys)).await?;
            Ok(())
        })
        .await
    }

    async fn list_tags(&self, resource: &ResourceRef) -> Result<Tags, StoreError> {
        self.read(async |tx| {
            require_resource(tx, resource).await?;
            tags_of(tx, resource).await
        })
        .await
    }

    async fn redeem_token(&self, nonce: &str, expires: time::OffsetDateTime) -> Result<bool, StoreError> {
        // No writer lock: the primary key alone decides which redemption is first, on every node.
        let expires_ms = to_ms(expires);
        let now_ms = to_ms(time::OffsetDateTime::now_utc());
        self.within_deadline(async |client| {
            let inserted = client
                .execute(
                    "INSERT INTO chat_token_redemptions (nonce, expires_ms) VALUES ($1, $2) ON CONFLICT (nonce) DO NOTHING",
                    &[&nonce, &expires_ms],
                )
                .await?;
            client
                .execute(
                    "DELETE FROM chat_token_redemptions WHERE nonce IN
                       (SELECT nonce FROM chat_token_redemptions WHERE expires_ms <= $1 LIMIT $2)",
                    &[&now_ms, &crate::TOKEN_PURGE_BATCH],
                )
                .await?;
            Ok(inserted == 1)
        })
        .await
    }
}
