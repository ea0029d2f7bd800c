//! Room history (an extension): the one path by which a room that retains history sends its frames, so that each
//! frame is in the store before any member receives it, in the order members receive it.
//!
//! A frame of such a room is stamped (its `SendTime`) and encoded under this node's ordering lock and queued, in
//! the same step, for the node's history writer: one task that appends what is queued in one store transaction
//! (`store::HistoryStore::append_history`), then hands each frame to the fan-out in queue order and answers its
//! sender. A frame the store does not take reaches nobody, like a frame the bus does not take. Rooms without
//! history never come here. Recovery (`Member::recover`) relies on the order "stored, then delivered": a frame a
//! reconnecting member did not receive live was stored before the member joined, so the history read after joining
//! has it.

use std::sync::Arc;

use parking_lot::Mutex;
use store::{EntryKind, NewEntry, Store};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};
use wire::ivschat as frames;

use crate::fanout::{Fanout, Stamped, Unsent};
use crate::logging::LogSink;
use crate::rooms::{LiveRoom, Outgoing};

/// Frames waiting for the history writer on one node; past this, frames are refused (ERROR 500) until it catches up.
pub(crate) const HISTORY_QUEUE: usize = 4_096;
/// Frames the writer appends in one store transaction at most.
const BATCH: usize = 256;

/// A stamped frame waiting to be stored, then sent.
struct Job {
    entry: NewEntry,
    live: Option<Arc<LiveRoom>>,
    logging_ids: Arc<[String]>,
    frame: Stamped,
    disconnect: Option<String>,
    answer: oneshot::Sender<Result<(), Unsent>>,
}

/// This node's history writer (see the module documentation).
pub(crate) struct HistoryWriter {
    /// Held while a frame is stamped and queued, so that send times and the queue agree on one order.
    order: Mutex<()>,
    queue: mpsc::Sender<Job>,
}

impl std::fmt::Debug for HistoryWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HistoryWriter").finish_non_exhaustive()
    }
}

impl HistoryWriter {
    /// Starts the writer on `background`.
    pub(crate) fn start(
        store: Arc<dyn Store>,
        fanout: Arc<dyn Fanout>,
        logs: Arc<LogSink>,
        background: &bus::Background,
    ) -> HistoryWriter {
        let (queue, jobs) = mpsc::channel(HISTORY_QUEUE);
        background.spawn(write(store, fanout, logs, jobs));
        HistoryWriter { order: Mutex::new(()), queue }
    }

    /// Stamps and encodes `outgoing`, stores it in room `room_id`'s history, then sends it into the room.
    pub(crate) async fn emit(
        &self,
        room_id: &str,
        live: Option<&Arc<LiveRoom>>,
        logging_ids: Arc<[String]>,
        outgoing: Outgoing<'_>,
        disconnect: Option<&str>,
    ) -> Result<(), Unsent> {
        let (answer, answered) = oneshot::channel();
        {
            let _order = self.order.lock();
            let send_time = match live {
                Some(live) => live.next_send_time()?,
                None => OffsetDateTime::now_utc(),
            };
            let (json, kind) = outgoing.encode(send_time);
            let entry = NewEntry {
                room_id: room_id.to_owned(),
                id: outgoing.id().to_owned(),
                kind: if kind == "MESSAGE" { EntryKind::Message } else { EntryKind::Event },
                send_time,
                sender: outgoing.sender().map(str::to_owned),
                payload: json.clone(),
                deletes: outgoing.deleted_message().map(str::to_owned),
            };
            let job = Job {
                entry,
                live: live.cloned(),
                logging_ids,
                frame: Stamped { json, kind, send_time },
                disconnect: disconnect.map(str::to_owned),
                answer,
            };
            self.queue.try_send(job).map_err(|_| Unsent::HistoryUnavailable)?;
        }
        answered.await.unwrap_or(Err(Unsent::HistoryUnavailable))
    }
}

async fn write(store: Arc<dyn Store>, fanout: Arc<dyn Fanout>, logs: Arc<LogSink>, mut jobs: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(BATCH);
    while jobs.recv_many(&mut batch, BATCH).await > 0 {
        let entries = batch.iter().map(|job| job.entry.clone()).collect();
        let stored = store.append_history(entries, OffsetDateTime::now_utc()).await;
        if let Err(err) = &stored {
            tracing::warn!(%err, frames = batch.len(), "Cannot store chat room history; the frames reach nobody.");
        }
        for job in batch.drain(..) {
            let sent = match stored {
                Ok(_) => {
                    let (room_id, live, disconnect) =
                        (&job.entry.room_id, job.live.as_ref(), job.disconnect.as_deref());
                    fanout.emit_stamped(room_id, live, job.logging_ids, job.frame, disconnect, &logs).await
                }
                Err(_) => Err(Unsent::HistoryUnavailable),
            };
            let _ = job.answer.send(sent);
        }
    }
}

impl Outgoing<'_> {
    fn id(&self) -> &str {
        match *self {
            Outgoing::Message { id, .. } | Outgoing::Event { id, .. } => id,
        }
    }

    fn sender(&self) -> Option<&str> {
        match *self {
            Outgoing::Message { sender_id, .. } => Some(sender_id),
            Outgoing::Event { .. } => None,
        }
    }

    /// The message an `aws:DELETE_MESSAGE` event deletes.
    fn deleted_message(&self) -> Option<&str> {
        match *self {
            Outgoing::Event { name, attributes: Some(attributes), .. } if name == frames::EVENT_DELETE_MESSAGE => {
                attributes.get("MessageID").map(String::as_str)
            }
            _ => None,
        }
    }
}
