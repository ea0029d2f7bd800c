//! Rooms across the nodes of a cluster, over the cluster bus.
//!
//! Alone, a node delivers a room's frames to its members directly. In a cluster every frame of a room — a member's
//! message, SendEvent, DeleteMessage, DisconnectUser — is published on the room's bus channel (`room:{id}`) by the
//! node where it arose (which also writes it to the room's logs, once), and every node holding members of the room
//! delivers what arrives on that channel, its own frames included. The bus gives each channel one order, so every
//! member on every node sees a room's frames in the same order. A node subscribes to a room's channel only while it
//! holds members of that room (a [`Listener`] shared by the room's tickets and members) and forgets the room when the
//! last one leaves. UpdateRoom and DeleteRoom are published on the same channel, so they take effect on every node.
//! When the bus does not take a frame (Redis unreachable), nobody receives it, on this node either, so that no member
//! ever sees a room the others do not: the requester gets an ERROR frame (500) and may retry. Frames the bus took but
//! this node's subscription missed (it was re-established after Redis was away, or its inbox overflowed) are lost,
//! never silently: the bus hands the listener a loss notice, and every member of the room on this node receives an
//! EVENT named [`MESSAGES_LOST_EVENT`] before what comes next.

use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use bus::{Background, Bus, ClusterState, PubSub};
use bytes::Bytes;
use hub::Utf8Bytes;
use serde::{Deserialize, Serialize};
use store::{FallbackResult, MessageReviewHandler, Room};
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::fanout::{Alone, Fanout, Stamped, Unsent};
use crate::logging::LogSink;
use crate::rooms::{self, LiveRoom, Outgoing, Rooms, Settings};

/// The fan-out of a service on `bus`: through the bus when other nodes share it, else straight to this node's members.
/// The one place where the chat service decides whether it is alone.
pub(crate) fn fanout(bus: &Bus, background: &Background, rooms: &Arc<Rooms>) -> Arc<dyn Fanout> {
    match bus.is_shared() {
        true => {
            background.spawn(answer_presence(bus.pubsub().clone(), rooms.clone()));
            Arc::new(Shared {
                pubsub: bus.pubsub().clone(),
                state: bus.state().clone(),
                background: background.clone(),
            })
        }
        false => Arc::new(Alone),
    }
}

/// The channel on which every node hears presence queries.
const PRESENCE: &str = "chat-presence";
/// How long a presence query waits for the live nodes' answers.
pub(crate) const PRESENCE_DEADLINE: Duration = Duration::from_secs(1);

/// A presence query: who is in `room`; answer on `reply`.
#[derive(Debug, Serialize, Deserialize)]
struct PresenceQuery {
    room: String,
    reply: String,
}

/// One connection as a presence answer carries it.
#[derive(Debug, Serialize, Deserialize)]
struct WireConnected {
    user: String,
    attributes: std::collections::BTreeMap<String, String>,
    at_ms: i64,
}

/// Answers every node's presence queries with this node's connections to the room asked about.
async fn answer_presence(bus: Arc<dyn PubSub>, rooms: Arc<Rooms>) {
    let mut queries = bus.subscribe(PRESENCE).await;
    while let Some(message) = queries.recv().await {
        let Ok(query) = serde_json::from_slice::<PresenceQuery>(&message.payload) else { continue };
        let here = rooms.get(&query.room).map(|live| live.presence()).unwrap_or_default();
        let answer: Vec<WireConnected> = here
            .into_iter()
            .map(|c| WireConnected { user: c.user_id, attributes: c.attributes, at_ms: c.connected_at_ms })
            .collect();
        let payload = Bytes::from(serde_json::to_vec(&answer).unwrap_or_default());
        if let Err(err) = bus.publish(&query.reply, payload).await {
            tracing::debug!(%err, "Cannot answer a presence query.");
        }
    }
}

/// Nodes sharing a bus: rooms span every node (see the module documentation) and room rate limits count every node's
/// messages (fixed one-second windows counted on the bus).
#[derive(Debug)]
pub(crate) struct Shared {
    pubsub: Arc<dyn PubSub>,
    state: Arc<dyn ClusterState>,
    /// Where room listeners run.
    background: Background,
}

#[async_trait]
impl Fanout for Shared {
    async fn listen(&self, room: &Arc<LiveRoom>, rooms: &Arc<Rooms>) -> Option<Arc<Listener>> {
        Some(Listener::of(room, rooms, &self.pubsub, &self.background).await)
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
        let send_time = match live {
            Some(live) => live.next_send_time()?,
            None => OffsetDateTime::now_utc(),
        };
        let (json, kind) = outgoing.encode(send_time);
        self.emit_stamped(room_id, live, logging_ids, Stamped { json, kind, send_time }, disconnect, logs).await
    }

    async fn emit_stamped(
        &self,
        room_id: &str,
        _live: Option<&Arc<LiveRoom>>,
        logging_ids: Arc<[String]>,
        frame: Stamped,
        disconnect: Option<&str>,
        logs: &LogSink,
    ) -> Result<(), Unsent> {
        let message = RoomMessage::Frame { frame: frame.json.clone(), disconnect: disconnect.map(str::to_owned) };
        if let Err(err) = self.pubsub.publish(&channel(room_id), encode(&message)).await {
            // Delivering to this node's members only would show them a room the other nodes never see.
            tracing::debug!(%err, room_id, "Cluster bus unavailable; the frame reaches nobody.");
            return Err(Unsent::BusUnavailable);
        }
        frame.log(room_id, logging_ids, logs);
        Ok(())
    }

    async fn rate_allows(&self, room_id: &str, rate: u32) -> bool {
        // With the bus away, the room's own rate bucket decides.
        self.window_allows(&format!("chat-rate:{room_id}"), rate, Duration::from_secs(1)).await
    }

    async fn window_allows(&self, key: &str, limit: u32, window: Duration) -> bool {
        match self.state.count_in_window(key, window).await {
            Ok(count) => count <= u64::from(limit),
            Err(_) => true,
        }
    }

    async fn presence(&self, room_id: &str, _rooms: &Rooms) -> Result<Vec<ivschat::Connected>, Unsent> {
        // The nodes alive now: each answers once, a dead one (heartbeat expired) is not waited for.
        let members = self.state.members().await.map_err(|_| Unsent::BusUnavailable)?;
        let mut live = 0;
        for member in members {
            if self.state.holder(member.node).await.map_err(|_| Unsent::BusUnavailable)? == Some(member.token) {
                live += 1;
            }
        }
        let reply = format!("chat-presence-reply:{}", ids::resource_id());
        let mut answers = self.pubsub.subscribe(&reply).await;
        let query = PresenceQuery { room: room_id.to_owned(), reply: reply.clone() };
        let payload = Bytes::from(serde_json::to_vec(&query).unwrap_or_default());
        self.pubsub.publish(PRESENCE, payload).await.map_err(|_| Unsent::BusUnavailable)?;
        let deadline = tokio::time::Instant::now() + PRESENCE_DEADLINE;
        let mut connected = Vec::new();
        for _ in 0..live {
            let Ok(Some(answer)) = tokio::time::timeout_at(deadline, answers.recv()).await else { break };
            let wire: Vec<WireConnected> = serde_json::from_slice(&answer.payload).unwrap_or_default();
            connected.extend(wire.into_iter().map(|c| ivschat::Connected {
                user_id: c.user,
                attributes: c.attributes,
                connected_at_ms: c.at_ms,
            }));
        }
        Ok(connected)
    }

    async fn room_updated(&self, room: &Room) {
        let message = RoomMessage::Updated(WireSettings::of(&rooms::Settings::of(room)));
        if let Err(err) = self.pubsub.publish(&channel(&room.id), encode(&message)).await {
            tracing::warn!(%err, room_id = %room.id, "UpdateRoom reached this node's members only.");
        }
    }

    async fn room_deleted(&self, room_id: &str) {
        if let Err(err) = self.pubsub.publish(&channel(room_id), encode(&RoomMessage::Deleted)).await {
            tracing::warn!(%err, room_id, "DeleteRoom reached this node's members only.");
        }
    }
}

/// The bus channel of a room.
fn channel(room_id: &str) -> String {
    format!("room:{room_id}")
}

/// What travels on a room's channel.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "lowercase")]
enum RoomMessage {
    /// An encoded frame for every member; then close the connections of `disconnect` (DisconnectUser).
    Frame { frame: String, disconnect: Option<String> },
    /// UpdateRoom committed these settings.
    Updated(WireSettings),
    /// DeleteRoom committed.
    Deleted,
}

/// A room's live settings as they cross the bus.
#[derive(Debug, Serialize, Deserialize)]
struct WireSettings {
    length: u32,
    rate: u32,
    review_uri: Option<String>,
    review_deny: bool,
    logging: Vec<String>,
    /// The room's history limits (entries, seconds); absent from nodes of older builds.
    #[serde(default)]
    history: (u32, u32),
    /// The room's slow mode in seconds; absent from nodes of older builds.
    #[serde(default)]
    slow: u32,
    /// Whether the room sends presence events; absent from nodes of older builds.
    #[serde(default)]
    presence: bool,
    /// `update_time` in Unix milliseconds: the newest settings win on every node.
    updated_ms: i64,
}

impl WireSettings {
    fn of(settings: &Settings) -> WireSettings {
        WireSettings {
            length: settings.maximum_message_length,
            rate: settings.maximum_message_rate_per_second,
            review_uri: settings.review.as_ref().map(|h| h.uri.clone()),
            review_deny: settings.review.as_ref().is_some_and(|h| h.fallback_result == FallbackResult::Deny),
            logging: settings.logging_ids.to_vec(),
            history: (settings.history.max_entries, settings.history.max_age_seconds),
            slow: settings.slow_mode_seconds,
            presence: settings.presence_events,
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
            history: store::History { max_entries: self.history.0, max_age_seconds: self.history.1 },
            slow_mode_seconds: self.slow,
            presence_events: self.presence,
            update_time: OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.updated_ms) * 1_000_000)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
        }
    }
}

fn encode(message: &RoomMessage) -> Bytes {
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
    pub(crate) async fn of(
        room: &Arc<LiveRoom>,
        rooms: &Arc<Rooms>,
        bus: &Arc<dyn PubSub>,
        background: &Background,
    ) -> Arc<Listener> {
        let listener = {
            let mut slot = room.listener.lock();
            match slot.upgrade() {
                Some(listener) => listener,
                None => {
                    let (ready_tx, ready) = watch::channel(false);
                    let task = background.spawn(listen(bus.clone(), Arc::downgrade(room), rooms.clone(), ready_tx));
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

async fn listen(bus: Arc<dyn PubSub>, room: Weak<LiveRoom>, rooms: Arc<Rooms>, ready: watch::Sender<bool>) {
    let Some(id) = room.upgrade().map(|r| r.id.clone()) else { return };
    let mut subscription = bus.subscribe(&channel(&id)).await;
    let _ = ready.send(true);
    while let Some(message) = subscription.recv().await {
        let Some(live) = room.upgrade() else { return };
        if message.lost {
            tracing::warn!(room_id = %id, "Room frames may have been lost while the cluster bus was away; telling members.");
            let _ = live.deliver(loss_notice(), None); // a deleted room has nobody to tell
            continue;
        }
        match serde_json::from_slice::<RoomMessage>(&message.payload) {
            Ok(RoomMessage::Frame { frame, disconnect }) => {
                let _ = live.deliver(Utf8Bytes::from(frame), disconnect.as_deref());
            }
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

/// The EVENT a room's members receive when frames of the room may not have reached them (see the module
/// documentation): a name of Switchboard's own (chat clients send messages, not events; backends should leave the
/// `switchboard:` prefix alone as they leave `aws:`).
pub const MESSAGES_LOST_EVENT: &str = "switchboard:messages-lost";

fn loss_notice() -> Utf8Bytes {
    let id = ids::resource_id();
    let outgoing = Outgoing::Event { id: &id, request_id: "", name: MESSAGES_LOST_EVENT, attributes: None };
    Utf8Bytes::from(outgoing.encode(OffsetDateTime::now_utc()).0)
}
