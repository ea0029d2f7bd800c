//! [`ApiStore`] on PostgreSQL: the apigatewayv2 documents and snapshots, each call one transaction, writers behind the
//! schema's advisory lock as for the rest.

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use tokio_postgres::Row;

use super::PostgresStore;
use super::rows::{count, execute, from_ms, query, query_opt, to_ms};
use crate::StoreError;
use crate::apis::{ApiChange, ApiRecord, ApiStore, ApiStoreError, NewApi, Snapshot, api_cursor};
use crate::model::{Cursor, Page};

const API_COLUMNS: &str = "id, version, create_time, update_time, document";

/// What a transaction decided: outer errors are the backend's, inner ones the caller's (decided before writing).
type Decided<T> = Result<Result<T, ApiStoreError>, StoreError>;

fn settle<T>(decided: Decided<T>) -> Result<T, ApiStoreError> {
    decided?
}

fn to_record(row: &Row) -> Result<ApiRecord, StoreError> {
    Ok(ApiRecord {
        id: row.get(0),
        version: row.get(1),
        create_time: from_ms(row.get(2))?,
        update_time: from_ms(row.get(3))?,
        document: row.get(4),
    })
}

async fn api_or_not_found(tx: &Transaction<'_>, id: &str) -> Decided<ApiRecord> {
    let sql = format!("SELECT {API_COLUMNS} FROM apigw_apis WHERE id = $1");
    Ok(match query_opt(tx, &sql, &[&id]).await? {
        Some(row) => Ok(to_record(&row)?),
        None => Err(ApiStoreError::ApiNotFound { id: id.to_owned() }),
    })
}

#[async_trait]
impl ApiStore for PostgresStore {
    async fn create_api(&self, api: NewApi, max_apis: u64) -> Result<ApiRecord, ApiStoreError> {
        settle(
            self.write(async |tx| {
                if count(tx, "apigw_apis").await? >= max_apis {
                    return Ok(Err(ApiStoreError::QuotaExceeded { limit: max_apis }));
                }
                if query_opt(tx, "SELECT 1 FROM apigw_apis WHERE id = $1", &[&api.id]).await?.is_some() {
                    return Ok(Err(ApiStoreError::AlreadyExists { id: api.id.clone() }));
                }
                let sql = format!("INSERT INTO apigw_apis ({API_COLUMNS}) VALUES ($1, 1, $2, $2, $3)");
                execute(tx, &sql, &[&api.id, &to_ms(api.create_time), &api.document]).await?;
                api_or_not_found(tx, &api.id).await
            })
            .await,
        )
    }

    async fn get_api(&self, id: &str) -> Result<ApiRecord, ApiStoreError> {
        settle(self.read(async |tx| api_or_not_found(tx, id).await).await)
    }

    async fn save_api(&self, change: ApiChange) -> Result<ApiRecord, ApiStoreError> {
        settle(
            self.write(async |tx| {
                let current = match api_or_not_found(tx, &change.id).await? {
                    Ok(current) => current,
                    Err(e) => return Ok(Err(e)),
                };
                if current.version != change.expected_version {
                    let (id, expected) = (change.id.clone(), change.expected_version);
                    return Ok(Err(ApiStoreError::Stale { id, expected }));
                }
                let update_time = crate::sqlite::later_than(change.update_time, current.update_time);
                execute(
                    tx,
                    "UPDATE apigw_apis SET version = $2, update_time = $3, document = $4 WHERE id = $1",
                    &[&change.id, &(current.version + 1), &update_time, &change.document],
                )
                .await?;
                for deployment_id in &change.drop_snapshots {
                    execute(
                        tx,
                        "DELETE FROM apigw_snapshots WHERE api_id = $1 AND deployment_id = $2",
                        &[&change.id, deployment_id],
                    )
                    .await?;
                }
                if let Some(s) = &change.add_snapshot {
                    execute(
                        tx,
                        "INSERT INTO apigw_snapshots (api_id, deployment_id, create_time, definitions)
                         VALUES ($1, $2, $3, $4)",
                        &[&s.api_id, &s.deployment_id, &to_ms(s.create_time), &s.definitions],
                    )
                    .await?;
                }
                api_or_not_found(tx, &change.id).await
            })
            .await,
        )
    }

    async fn delete_api(&self, id: &str) -> Result<ApiRecord, ApiStoreError> {
        settle(
            self.write(async |tx| {
                let api = api_or_not_found(tx, id).await?;
                if api.is_ok() {
                    execute(tx, "DELETE FROM apigw_snapshots WHERE api_id = $1", &[&id]).await?;
                    execute(tx, "DELETE FROM apigw_apis WHERE id = $1", &[&id]).await?;
                }
                Ok(api)
            })
            .await,
        )
    }

    async fn list_apis(&self, after: Option<&Cursor>, limit: usize) -> Result<Page<ApiRecord>, ApiStoreError> {
        let after = after.map(|c| c.id.clone());
        let page = self
            .read(async |tx| {
                let sql = format!(
                    "SELECT {API_COLUMNS} FROM apigw_apis WHERE ($1::TEXT IS NULL OR id > $1) ORDER BY id LIMIT $2"
                );
                let rows = query(tx, &sql, &[&after, &(limit as i64 + 1)]).await?;
                let apis = rows.iter().map(to_record).collect::<Result<Vec<_>, _>>()?;
                Ok(Page::of(apis, limit, api_cursor))
            })
            .await?;
        Ok(page)
    }

    async fn get_snapshot(&self, api_id: &str, deployment_id: &str) -> Result<Snapshot, ApiStoreError> {
        settle(
            self.read(async |tx| {
                let row = query_opt(
                    tx,
                    "SELECT create_time, definitions FROM apigw_snapshots WHERE api_id = $1 AND deployment_id = $2",
                    &[&api_id, &deployment_id],
                )
                .await?;
                let (api_id, deployment_id) = (api_id.to_owned(), deployment_id.to_owned());
                Ok(match row {
                    Some(row) => Ok(Snapshot {
                        api_id,
                        deployment_id,
                        create_time: from_ms(row.get(0))?,
                        definitions: row.get(1),
                    }),
                    None => Err(ApiStoreError::SnapshotNotFound { api_id, deployment_id }),
                })
            })
            .await,
        )
    }
}
