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

    /// The backend did not finish within the store's deadline: a lock held elsewhere (another node frozen in the
    /// middle of a write), a slow statement, no free connection. Nothing was written, unless the deadline passed
    /// while the commit itself was under way, in which case the outcome is unknown as for [`StoreError::Backend`].
    /// Retrying later is the remedy.
    #[error("storage backend timed out: {0}")]
    Timeout(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        StoreError::Backend(e.to_string())
    }
}
