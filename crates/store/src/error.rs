//! The errors every [`crate::Store`] implementation returns.

use crate::model::{ResourceKind, ResourceRef};

/// Why a store operation failed. Backend details are kept as text so no driver type leaks into the API.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{kind} {id} not found")]
    NotFound { kind: ResourceKind, id: String },

    #[error("{kind} {id} already exists")]
    AlreadyExists { kind: ResourceKind, id: String },

    /// The resource cannot change as asked because of another one (`blocker`), e.g. a logging configuration
    /// still attached to a room.
    #[error("{kind} {id} is in use by {blocker}")]
    Conflict { kind: ResourceKind, id: String, blocker: ResourceRef },

    #[error("quota of {limit} {kind} resources reached")]
    QuotaExceeded { kind: ResourceKind, limit: u64 },

    #[error("a resource may carry at most {limit} tags")]
    TooManyTags { limit: usize },

    /// The database or its worker failed. A failed write was rolled back, unless the failure came after the
    /// commit (the worker task dying), in which case the outcome is unknown.
    #[error("storage backend failure: {0}")]
    Backend(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        StoreError::Backend(e.to_string())
    }
}
