//! Durable state of the apigatewayv2 control plane: the [`ApiStore`] trait, its records and its errors.
//!
//! Design. Each API is **one versioned document** (`ApiRecord::document`, JSON text the control plane owns: the
//! API's settings and everything under it — routes, route responses, integrations, integration responses, models,
//! authorizers, stages, the deployments' descriptions, and the tags of the API and of its stages). A change is a
//! read-modify-write of the whole document, committed by [`ApiStore::save_api`] only if the version read is still
//! the current one (optimistic concurrency; the caller retries on [`ApiStoreError::Stale`]). Why one document:
//! every rule AWS enforces inside an API (route keys unique, quotas per API, a route naming an integration or an
//! authorizer that exists, a stage naming a deployment of the same API) is then checked against one consistent
//! value and committed atomically on either backend, with no cross-row locking and no schema change when the
//! model grows a field. The documents are small (AWS caps routes and integrations at 300 per API).
//!
//! **Deployments are separate immutable rows** ([`Snapshot`]): the API's definitions as they were when deployed,
//! written in the same transaction as the document that records the deployment, and deleted with it. The data
//! plane loads a stage's deployed definitions with one keyed read ([`ApiStore::get_snapshot`]) and watches the
//! document's `version` to notice changes, without ever parsing undeployed edits.
//!
//! Tags of APIs and stages live in the document rather than in the `tags` table: a stage exists only inside its
//! API's document, so checking that a tagged resource exists and writing its tags is then one atomic step, and tags
//! disappear with their resource.
//!
//! The store does not read the documents: their schema belongs to the `apigatewayv2` crate.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::StoreError;
use crate::model::{Cursor, Page};

/// One API as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiRecord {
    /// The API id (10 lowercase characters).
    pub id: String,
    /// 1 when created, incremented by every committed [`ApiStore::save_api`].
    pub version: i64,
    pub create_time: OffsetDateTime,
    pub update_time: OffsetDateTime,
    /// The definitions, as JSON text.
    pub document: String,
}

/// Input of [`ApiStore::create_api`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewApi {
    pub id: String,
    pub create_time: OffsetDateTime,
    pub document: String,
}

/// The immutable definitions of one deployment of an API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub api_id: String,
    pub deployment_id: String,
    pub create_time: OffsetDateTime,
    /// The deployed definitions, as JSON text.
    pub definitions: String,
}

/// Input of [`ApiStore::save_api`]: the new document, written only if the API is still at `expected_version`, with
/// the snapshot of a new deployment and the deployments deleted by the same change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiChange {
    pub id: String,
    pub expected_version: i64,
    pub update_time: OffsetDateTime,
    pub document: String,
    pub add_snapshot: Option<Snapshot>,
    pub drop_snapshots: Vec<String>,
}

/// Why an [`ApiStore`] call failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiStoreError {
    #[error("api {id} not found")]
    ApiNotFound { id: String },

    #[error("deployment {deployment_id} of api {api_id} not found")]
    SnapshotNotFound { api_id: String, deployment_id: String },

    #[error("api {id} already exists")]
    AlreadyExists { id: String },

    /// Another writer committed since the document was read; read again and retry.
    #[error("api {id} is no longer at version {expected}")]
    Stale { id: String, expected: i64 },

    #[error("quota of {limit} apis reached")]
    QuotaExceeded { limit: u64 },

    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The APIs of the apigatewayv2 control plane and their deployments. Every method is one transaction, as for
/// [`crate::Store`]; listing is by id, ascending (the cursor's `update_time_ms` is unused and 0).
#[async_trait]
pub trait ApiStore: Send + Sync + 'static {
    /// Creates an API at version 1, failing with [`ApiStoreError::QuotaExceeded`] when `max_apis` exist.
    async fn create_api(&self, api: NewApi, max_apis: u64) -> Result<ApiRecord, ApiStoreError>;

    async fn get_api(&self, id: &str) -> Result<ApiRecord, ApiStoreError>;

    /// Writes `change` if the API is still at its expected version, else [`ApiStoreError::Stale`].
    async fn save_api(&self, change: ApiChange) -> Result<ApiRecord, ApiStoreError>;

    /// Deletes an API with every snapshot of it, returning what was deleted.
    async fn delete_api(&self, id: &str) -> Result<ApiRecord, ApiStoreError>;

    /// One page of APIs, at most `limit` long, resuming after `after`.
    async fn list_apis(&self, after: Option<&Cursor>, limit: usize) -> Result<Page<ApiRecord>, ApiStoreError>;

    /// The deployed definitions of one deployment.
    async fn get_snapshot(&self, api_id: &str, deployment_id: &str) -> Result<Snapshot, ApiStoreError>;
}

/// The cursor that resumes after `api`.
pub(crate) fn api_cursor(api: &ApiRecord) -> Cursor {
    Cursor { update_time_ms: 0, id: api.id.clone() }
}
