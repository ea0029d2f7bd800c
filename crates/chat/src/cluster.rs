//! Rooms across the nodes of a cluster, over the cluster bus.
//!
//! Alone, a node delivers a room's frames to its members directly. In a cluster every frame of a room — a member's
//! message, SendEvent, DeleteMessage, DisconnectUser — is published on the room's bus channel (`room:{id}`) by the
//! node where it arose (which also writes it to the room's logs, once), and every node holding members of the room
//! delivers what arrives on that channel, its own frames included. The bus gives each channel one order, so every
//! member on every node sees a room's frames in the same order. A node subscribes to a room's channel only while it
//! holds members of that room (a [`Listener`] shared by the room's tickets and members) and forgets the room when the
//! last one leaves. UpdateRoom and DeleteRoom are published on the same channel, so they take effect on every node.
//! When the bus is away, frames are delivered to this node's members only (and counted as lost by the bus).

use std::sync::{Arc, Weak};
use std::time::Duration;

use bus::Bus;
use bytes::Bytes;
use hub::Utf8Bytes;
use serde::{Deserialize, Serialize};
use store::{FallbackResult, MessageReviewHandler};
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::rooms::{LiveRoom, Rooms, Settings};

/// The bus channel of a room.
pub(crate) fn channel(room_id: &str) -> String {
    format!("room:{room_id}")
}

/// What travels on a room's channel.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "lowercase")]
pub(crate) enum RoomMessage {
    /// An encoded frame for every member; then close the connections of `disconnect` (DisconnectUser).
    Frame { frame: String, disconnect: Option<String> },
    /// UpdateRoom committed these settings.
    Updated(WireSettings),
    /// DeleteRoom committed.
    Deleted,
}

/// A room's live settings as they cross the bus.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct WireSettings {
    length: u32,
    rate: u32,
    review_uri: Option<String>,
    review_deny: bool,
    logging: Vec<String>,
    /// `update_time` in Unix milliseconds: the newest settings win on every node.
    updated_ms: i64,
}

impl WireSettings {
    pub(crate) fn of(settings: &Settings) -> WireSettings {
        WireSettings {
            length: settings.maximum_message_length,
            rate: settings.maximum_message_rate_per_second,
            review_uri: settings.review.as_ref().map(|h| h.uri.clone()),
            review_deny: settings.review.as_ref().is_some_and(|h| h.fallback_result == FallbackResult::Deny),
            logging: settings.logging_ids.to_vec(),
            updated_ms: (settings.update_time.unix_timestamp_nanos() / 1_000_000) as i64,
        }
    }

    fn settings(self) -> Settings {
        Settings {
            maximum_message_length: self.length,
            maximum_message_rate_per_second: self.rate,
            review: self.review_uri.map(|uri| MessageReviewHandler {
                uri,
                fallback_result: if self.review_deny { FallbackResult::Deny } else { FallbackResult::Allow },
            }),
            logging_ids: self.logging.into(),
            update_time: OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.updated_ms) * 1_000_000)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
        }
    }
}

pub(crate) fn encode(message: &RoomMessage) -> Bytes {
    Bytes::from(serde_json::to_vec(message).unwrap_or_default())
}

/// A room's subscription to its channel while this node holds members of it; shared by the room's tickets and
/// members, and ended (unsubscribing, and forgetting the room) when the last of them is dropped.
pub(crate) struct Listener {
    room: Weak<LiveRoom>,
    rooms: Arc<Rooms>,
    ready: watch::Receiver<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener").finish_non_exhaustive()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(room) = self.room.upgrade() {
            self.rooms.remove_idle(&room);
        }
    }
}

impl Listener {
    /// The listener of `room`, started if it has none; returns once its subscription is in effect (or the bus is
    /// away, in which case the bus subscribes when it comes back).
    pub(crate) async fn of(room: &Arc<LiveRoom>, rooms: &Arc<Rooms>, bus: &Arc<dyn Bus>) -> Arc<Listener> {
        let listener = {
            let mut slot = room.listener.lock();
            match slot.upgrade() {
                Some(listener) => listener,
                None => {
                    let (ready_tx, ready) = watch::channel(false);
                    let task = tokio::spawn(listen(bus.clone(), Arc::downgrade(room), rooms.clone(), ready_tx));
                    let listener = Arc::new(Listener { room: Arc::downgrade(room), rooms: rooms.clone(), ready, task });
                    *slot = Arc::downgrade(&listener);
                    listener
                }
            }
        };
        let mut ready = listener.ready.clone();
        let _ = tokio::time::timeout(Duration::from_secs(3), ready.wait_for(|ready| *ready)).await;
        listener
    }
}

async fn listen(bus: Arc<dyn Bus>, room: Weak<LiveRoom>, rooms: Arc<Rooms>, ready: watch::Sender<bool>) {
    let Some(id) = room.upgrade().map(|r| r.id.clone()) else { return };
    let mut subscription = bus.subscribe(&channel(&id)).await;
    let _ = ready.send(true);
    while let Some(message) = subscription.recv().await {
        let Some(live) = room.upgrade() else { return };
        match serde_json::from_slice::<RoomMessage>(&message.payload) {
            Ok(RoomMessage::Frame { frame, disconnect }) => live.deliver(Utf8Bytes::from(frame), disconnect.as_deref()),
            Ok(RoomMessage::Updated(settings)) => {
                let settings = settings.settings();
                live.update_settings(settings.clone());
                rooms.updated_settings(&id, settings);
            }
            Ok(RoomMessage::Deleted) => {
                rooms.deleted(&id);
                live.delete();
            }
            Err(err) => tracing::debug!(%err, room_id = %id, "Ignoring a malformed room message."),
        }
    }
}
