//! [`ApiStore`] on SQLite: the apigatewayv2 documents and snapshots, each call one transaction as for the rest.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

use super::SqliteStore;
use super::rows::{count, from_ms, is_unique_violation, to_ms};
use crate::StoreError;
use crate::apis::{ApiChange, ApiRecord, ApiStore, ApiStoreError, NewApi, Snapshot, api_cursor};
use crate::model::{Cursor, Page};

const API_COLUMNS: &str = "id, version, create_time, update_time, document";

/// What a transaction decided: outer errors are the backend's, inner ones the caller's (decided before writing).
type Decided<T> = Result<Result<T, ApiStoreError>, StoreError>;

fn settle<T>(decided: Decided<T>) -> Result<T, ApiStoreError> {
    decided?
}

fn api_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(String, i64, i64, i64, String)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?))
}

fn to_record(
    (id, version, create, update, document): (String, i64, i64, i64, String),
) -> Result<ApiRecord, StoreError> {
    Ok(ApiRecord { id, version, create_time: from_ms(create)?, update_time: from_ms(update)?, document })
}

fn find_api(conn: &Connection, id: &str) -> Result<Option<ApiRecord>, StoreError> {
    let raw = conn
        .prepare_cached(&format!("SELECT {API_COLUMNS} FROM apigw_apis WHERE id = ?1"))?
        .query_row([id], api_from_row)
        .optional()?;
    raw.map(to_record).transpose()
}

fn api_or_not_found(conn: &Connection, id: &str) -> Decided<ApiRecord> {
    Ok(find_api(conn, id)?.ok_or_else(|| ApiStoreError::ApiNotFound { id: id.to_owned() }))
}

fn insert_snapshot(conn: &Connection, s: &Snapshot) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO apigw_snapshots (api_id, deployment_id, create_time, definitions) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![s.api_id, s.deployment_id, to_ms(s.create_time), s.definitions])?;
    Ok(())
}

#[async_trait]
impl ApiStore for SqliteStore {
    async fn create_api(&self, api: NewApi, max_apis: u64) -> Result<ApiRecord, ApiStoreError> {
        settle(
            self.write(move |tx| {
                if count(tx, "apigw_apis")? >= max_apis {
                    return Ok(Err(ApiStoreError::QuotaExceeded { limit: max_apis }));
                }
                let at = to_ms(api.create_time);
                let inserted = tx
                    .prepare_cached(&format!("INSERT INTO apigw_apis ({API_COLUMNS}) VALUES (?1, 1, ?2, ?2, ?3)"))?
                    .execute(params![api.id, at, api.document]);
                match inserted {
                    Err(e) if is_unique_violation(&e) => Ok(Err(ApiStoreError::AlreadyExists { id: api.id })),
                    Err(e) => Err(e.into()),
                    Ok(_) => api_or_not_found(tx, &api.id),
                }
            })
            .await,
        )
    }

    async fn get_api(&self, id: &str) -> Result<ApiRecord, ApiStoreError> {
        let id = id.to_owned();
        settle(self.read(move |tx| api_or_not_found(tx, &id)).await)
    }

    async fn save_api(&self, change: ApiChange) -> Result<ApiRecord, ApiStoreError> {
        settle(
            self.write(move |tx| {
                let current = match api_or_not_found(tx, &change.id)? {
                    Ok(current) => current,
                    Err(e) => return Ok(Err(e)),
                };
                if current.version != change.expected_version {
                    return Ok(Err(ApiStoreError::Stale { id: change.id, expected: change.expected_version }));
                }
                tx.prepare_cached("UPDATE apigw_apis SET version = ?2, update_time = ?3, document = ?4 WHERE id = ?1")?
                    .execute(params![
                        change.id,
                        current.version + 1,
                        super::later_than(change.update_time, current.update_time),
                        change.document
                    ])?;
                let mut drop =
                    tx.prepare_cached("DELETE FROM apigw_snapshots WHERE api_id = ?1 AND deployment_id = ?2")?;
                for deployment_id in &change.drop_snapshots {
                    drop.execute(params![change.id, deployment_id])?;
                }
                if let Some(snapshot) = &change.add_snapshot {
                    insert_snapshot(tx, snapshot)?;
                }
                api_or_not_found(tx, &change.id)
            })
            .await,
        )
    }

    async fn delete_api(&self, id: &str) -> Result<ApiRecord, ApiStoreError> {
        let id = id.to_owned();
        settle(
            self.write(move |tx| {
                let api = api_or_not_found(tx, &id)?;
                if api.is_ok() {
                    tx.prepare_cached("DELETE FROM apigw_snapshots WHERE api_id = ?1")?.execute([&id])?;
                    tx.prepare_cached("DELETE FROM apigw_apis WHERE id = ?1")?.execute([&id])?;
                }
                Ok(api)
            })
            .await,
        )
    }

    async fn list_apis(&self, after: Option<&Cursor>, limit: usize) -> Result<Page<ApiRecord>, ApiStoreError> {
        let after = after.map(|c| c.id.clone());
        let page = self
            .read(move |tx| {
                let raws = tx
                    .prepare_cached(&format!(
                        "SELECT {API_COLUMNS} FROM apigw_apis WHERE (?1 IS NULL OR id > ?1) ORDER BY id LIMIT ?2"
                    ))?
                    .query_map(params![after, limit as i64 + 1], api_from_row)?
                    .collect::<Result<Vec<_>, _>>()?;
                let apis = raws.into_iter().map(to_record).collect::<Result<Vec<_>, _>>()?;
                Ok(Page::of(apis, limit, api_cursor))
            })
            .await?;
        Ok(page)
    }

    async fn get_snapshot(&self, api_id: &str, deployment_id: &str) -> Result<Snapshot, ApiStoreError> {
        let (api_id, deployment_id) = (api_id.to_owned(), deployment_id.to_owned());
        settle(
            self.read(move |tx| {
                let found = tx
                    .prepare_cached(
                        "SELECT create_time, definitions FROM apigw_snapshots WHERE api_id = ?1 AND deployment_id = ?2",
                    )?
                    .query_row(params![api_id, deployment_id], |row| Ok((row.get::<_, i64>(0)?, row.get(1)?)))
                    .optional()?;
                Ok(match found {
                    Some((at, definitions)) => {
                        Ok(Snapshot { api_id, deployment_id, create_time: from_ms(at)?, definitions })
                    }
                    None => Err(ApiStoreError::SnapshotNotFound { api_id, deployment_id }),
                })
            })
            .await,
        )
    }
}
