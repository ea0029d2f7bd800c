//! The 17 operations, grouped by resource; helpers they share.

mod chat;
mod logging;
mod rooms;
mod tags;

use store::{ResourceKind, Room, StoreError};
use wire::ApiError;

use crate::effects::EffectError;
use crate::operation::Operation;
use crate::validate::Reader;
use crate::{ControlPlane, errors};

/// How many fresh ids to try when one is already taken.
const ID_ATTEMPTS: usize = 3;

impl ControlPlane {
    pub(crate) fn reader(&self) -> Reader {
        Reader::new(self.config.reject_unknown_fields)
    }

    /// The room an already-validated identifier names, after `op`'s rate limit admitted the call.
    async fn admitted_room(&self, op: Operation, identifier: &str) -> Result<Room, ApiError> {
        let id = self.resolve(identifier, ResourceKind::Room)?;
        self.admit(op, Some(&id))?;
        self.store.get_room(&id).await.map_err(|e| self.store_error(e))
    }

    /// Resolves logging-configuration identifiers to ids, dropping repeats (first occurrence wins).
    fn logging_ids(&self, identifiers: Vec<String>) -> Result<Vec<String>, ApiError> {
        let mut ids: Vec<String> = Vec::with_capacity(identifiers.len());
        for identifier in identifiers {
            let id = self.resolve(&identifier, ResourceKind::LoggingConfiguration)?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        Ok(ids)
    }

    pub(crate) fn effect_error(&self, room: &Room, err: EffectError) -> ApiError {
        match err {
            EffectError::Throttled { limit } => errors::throttled(&room.id, limit),
            EffectError::Failed(_) => errors::internal(&err),
        }
    }
}

/// Whether a create should be retried with a fresh id.
fn id_taken<T>(result: &Result<T, StoreError>, attempt: usize) -> bool {
    matches!(result, Err(StoreError::AlreadyExists { .. })) && attempt + 1 < ID_ATTEMPTS
}
