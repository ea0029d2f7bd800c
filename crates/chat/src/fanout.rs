//! How a room's frames reach its members, chosen once when the service starts: [`Alone`] delivers straight to this
//! node's members; [`crate::cluster::Shared`] goes through the cluster bus to the members on every node.

use std::sync::Arc;

use async_trait::async_trait;
use hub::Utf8Bytes;
use store::Room;
use time::OffsetDateTime;

use crate::cluster::Listener;
use crate::logging::{LogSink, Record};
use crate::rooms::{self, Gone, LiveRoom, Outgoing, Rooms};

/// Why a frame reached nobody.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unsent {
    /// The room was deleted.
    Gone,
    /// The cluster bus did not take it (Redis unreachable): no member on any node received it, and it was not logged.
    BusUnavailable,
    /// The room retains history and the store did not take the frame (or this node's history queue is full): no
    /// member received it, and it was not logged.
    HistoryUnavailable,
}

/// A frame with its send time, encoded once: what the history writer sends after storing it.
#[derive(Clone, Debug)]
pub(crate) struct Stamped {
    pub(crate) json: String,
    /// Its logged `type`.
    pub(crate) kind: &'static str,
    pub(crate) send_time: OffsetDateTime,
}

impl Stamped {
    /// Hands the frame to room `room_id`'s logs, when it has any.
    pub(crate) fn log(self, room_id: &str, logging_ids: Arc<[String]>, logs: &LogSink) {
        if !logging_ids.is_empty() {
            let Stamped { json, kind, send_time } = self;
            logs.record(Record {
                room_id: room_id.into(),
                logging_ids,
                kind,
                send_time,
                payload: Utf8Bytes::from(json),
            });
        }
    }
}

impl From<Gone> for Unsent {
    fn from(_: Gone) -> Unsent {
        Unsent::Gone
    }
}

/// Everything of the chat service that differs between a node alone and a node in a cluster.
#[async_trait]
pub(crate) trait Fanout: Send + Sync + std::fmt::Debug {
    /// What keeps `room` reachable from other nodes while this node holds members of it.
    async fn listen(&self, room: &Arc<LiveRoom>, rooms: &Arc<Rooms>) -> Option<Arc<Listener>>;

    /// Sends a frame into room `room_id` (`live` when this node has it live) and logs it once; when it cannot reach
    /// every member it reaches none (nor the logs).
    async fn emit(
        &self,
        room_id: &str,
        live: Option<&Arc<LiveRoom>>,
        logging_ids: Arc<[String]>,
        outgoing: Outgoing<'_>,
        disconnect: Option<&str>,
        logs: &LogSink,
    ) -> Result<(), Unsent>;

    /// [`Fanout::emit`] for a frame stamped and encoded already (by the history writer).
    async fn emit_stamped(
        &self,
        room_id: &str,
        live: Option<&Arc<LiveRoom>>,
        logging_ids: Arc<[String]>,
        frame: Stamped,
        disconnect: Option<&str>,
        logs: &LogSink,
    ) -> Result<(), Unsent>;

    /// Whether room `room_id` may take one more message this second beyond what the room's own bucket decides.
    async fn rate_allows(&self, room_id: &str, rate: u32) -> bool;

    /// Whether one more event counted under `key` keeps it at most `limit` in the current fixed `window` on every node
    /// (slow mode); alone (or with the bus away), the node's own count decides.
    async fn window_allows(&self, key: &str, limit: u32, window: std::time::Duration) -> bool;

    /// Every connection to room `room_id`, on every node that answers (presence).
    async fn presence(&self, room_id: &str, rooms: &Rooms) -> Result<Vec<ivschat::Connected>, Unsent>;

    /// UpdateRoom committed: tells the other nodes (this node's rooms are updated already).
    async fn room_updated(&self, room: &Room);

    /// DeleteRoom committed: tells the other nodes (this node's rooms are updated already).
    async fn room_deleted(&self, room_id: &str);
}

/// A node alone: only it can be listening, so the bus is never needed.
#[derive(Debug)]
pub(crate) struct Alone;

#[async_trait]
impl Fanout for Alone {
    async fn listen(&self, _room: &Arc<LiveRoom>, _rooms: &Arc<Rooms>) -> Option<Arc<Listener>> {
        None
    }

    async fn emit(
        &self,
        room_id: &str,
        live: Option<&Arc<LiveRoom>>,
        logging_ids: Arc<[String]>,
        outgoing: Outgoing<'_>,
        disconnect: Option<&str>,
        logs: &LogSink,
    ) -> Result<(), Unsent> {
        match live {
            Some(live) => live.broadcast(outgoing, logs, disconnect).map(|_| ()).map_err(Unsent::from),
            None => {
                rooms::log_only_to(room_id, logging_ids, outgoing, logs);
                Ok(())
            }
        }
    }

    async fn emit_stamped(
        &self,
        room_id: &str,
        live: Option<&Arc<LiveRoom>>,
        logging_ids: Arc<[String]>,
        frame: Stamped,
        disconnect: Option<&str>,
        logs: &LogSink,
    ) -> Result<(), Unsent> {
        if let Some(live) = live {
            live.deliver(Utf8Bytes::from(frame.json.clone()), disconnect)?;
        }
        frame.log(room_id, logging_ids, logs);
        Ok(())
    }

    async fn rate_allows(&self, _room_id: &str, _rate: u32) -> bool {
        true
    }

    async fn window_allows(&self, _key: &str, _limit: u32, _window: std::time::Duration) -> bool {
        true
    }

    async fn presence(&self, room_id: &str, rooms: &Rooms) -> Result<Vec<ivschat::Connected>, Unsent> {
        Ok(rooms.get(room_id).map(|live| live.presence()).unwrap_or_default())
    }

    async fn room_updated(&self, _room: &Room) {}

    async fn room_deleted(&self, _room_id: &str) {}
}
