//! Recovery after a reconnect (an extension): a client that reconnects with a token carrying the attribute
//! [`frames::RECOVER_AFTER_ATTRIBUTE`] (the last message id it saw, set by its backend at CreateChatToken, so the
//! official clients need no change) first receives, in order and once each, every retained frame of its room after
//! that message, then the live frames.
//!
//! How: the member joins the room holding its live frames back, reads the room's history after the given id, then
//! under the room's lock queues the replay followed by the held-back frames the replay does not contain (by `Id`).
//! Frames of a room that retains history are stored before any member receives them (`history.rs`), so a frame the
//! member did not receive live is in the history read; a frame in both is sent once. When history does not reach
//! back to the given id (never retained, trimmed, history off, or the store unreachable within
//! [`RECOVERY_DEADLINE`]) the member receives the EVENT [`frames::EVENT_RECOVERY_GAP`] instead of any replay, then
//! the live frames: never a partial replay without being told.

use std::time::Duration;

use hub::Utf8Bytes;
use store::Since;
use time::OffsetDateTime;
use wire::ivschat::{self as frames, Attributes};

use crate::Member;
use crate::rooms::Outgoing;

/// How long the history read of a recovery may take before the member is told of a gap instead.
pub(crate) const RECOVERY_DEADLINE: Duration = Duration::from_secs(5);

impl Member {
    /// Replays what the member missed after message `after`, as it asked to (see the module documentation); then it
    /// receives live frames.
    pub(crate) async fn recover(&self, after: &str) {
        let now = OffsetDateTime::now_utc();
        let read = tokio::time::timeout(RECOVERY_DEADLINE, self.service.store.history_after(&self.room.id, after, now));
        let first = match read.await {
            Ok(Ok(Since::Entries(entries))) => {
                entries.into_iter().map(|entry| (entry.id, Utf8Bytes::from(entry.payload))).collect()
            }
            Ok(Ok(Since::Gap)) => vec![gap(after, "NOT_RETAINED")],
            Ok(Err(err)) => {
                tracing::warn!(%err, "Cannot read a room's history to recover a member; telling it of a gap.");
                vec![gap(after, "UNAVAILABLE")]
            }
            Err(_) => vec![gap(after, "UNAVAILABLE")],
        };
        self.room.recovered(self.conn.id(), first);
    }
}

/// The gap event for a member that asked to recover after `after`, with its `Id` and frame.
fn gap(after: &str, reason: &str) -> (String, Utf8Bytes) {
    let id = ids::resource_id();
    let attributes =
        Attributes::from([("LastMessageId".to_owned(), after.to_owned()), ("Reason".to_owned(), reason.to_owned())]);
    let outgoing =
        Outgoing::Event { id: &id, request_id: "", name: frames::EVENT_RECOVERY_GAP, attributes: Some(&attributes) };
    let (json, _) = outgoing.encode(OffsetDateTime::now_utc());
    (id, Utf8Bytes::from(json))
}
