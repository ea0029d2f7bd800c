//! Live rooms: each room's settings (from the store, changed live by UpdateRoom), its members, its message rate
//! and the one place where its frames get their `Id`/`SendTime`, are encoded once and reach every member.
//!
//! Concurrency: the registry's lock is taken only to find, add or remove a room; a room's own short lock covers
//! its settings, members and rate bucket, and is held while a frame is delivered to every member (a non-waiting
//! push into each outbox) so that all members and the log see a room's frames in one order. Neither lock is held
//! across `.await`, and the registry's lock is never taken while a room's lock is held.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use hub::{CloseRequest, Connection, ConnectionId, Outbound, Spread, Utf8Bytes};
use indexmap::IndexMap;
use parking_lot::{Mutex, RwLock};
use ratelimit::TokenBucket;
use store::{History, MessageReviewHandler, Room, Store, StoreError};
use time::OffsetDateTime;
use wire::ivschat::{self, Attributes, Frame};

use crate::logging::{LogSink, Record};

/// Senders remembered for slow mode before those whose interval is over are forgotten.
const SLOW_MODE_PRUNE_AT: usize = 1_024;

/// Attempts to load a room when UpdateRoom or DeleteRoom keep racing with the load.
const LOAD_ATTEMPTS: usize = 8;

/// A frame to broadcast, before it has its send time.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Outgoing<'a> {
    Message {
        id: &'a str,
        request_id: &'a str,
        attributes: Option<&'a Attributes>,
        content: &'a str,
        sender_id: &'a str,
        sender_attributes: &'a Attributes,
    },
    Event {
        id: &'a str,
        request_id: &'a str,
        name: &'a str,
        attributes: Option<&'a Attributes>,
    },
}

impl Outgoing<'_> {
    /// The frame's JSON and its logged `type`.
    pub(crate) fn encode(&self, send_time: OffsetDateTime) -> (String, &'static str) {
        let send_time = ivschat::rfc3339_nano(send_time);
        match *self {
            Outgoing::Message { id, request_id, attributes, content, sender_id, sender_attributes } => {
                let frame = Frame::Message(ivschat::Message {
                    id,
                    request_id,
                    attributes,
                    content,
                    send_time: &send_time,
                    sender: ivschat::Sender { user_id: sender_id, attributes: sender_attributes },
                });
                (frame.to_json(), "MESSAGE")
            }
            Outgoing::Event { id, request_id, name, attributes } => {
                let frame = Frame::Event(ivschat::Event {
                    id,
                    request_id,
                    event_name: name,
                    attributes,
                    send_time: &send_time,
                });
                (frame.to_json(), "EVENT")
            }
        }
    }
}

/// Encodes a frame for a room nobody on this node is connected to: it only goes to the room's logs.
pub(crate) fn log_only_to(room_id: &str, logging_ids: Arc<[String]>, outgoing: Outgoing<'_>, logs: &LogSink) {
    if logging_ids.is_empty() {
        return;
    }
    let send_time = OffsetDateTime::now_utc();
    let (json, kind) = outgoing.encode(send_time);
    logs.record(Record { room_id: room_id.into(), logging_ids, kind, send_time, payload: Utf8Bytes::from(json) });
}

/// The room was deleted while the caller held it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Gone;

/// A room's settings as they are now.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) maximum_message_length: u32,
    pub(crate) maximum_message_rate_per_second: u32,
    pub(crate) review: Option<MessageReviewHandler>,
    pub(crate) logging_ids: Arc<[String]>,
    /// What the room retains (an extension): rooms that retain history send through `history.rs`.
    pub(crate) history: History,
    /// At most one message per user per this many seconds (an extension; 0: off).
    pub(crate) slow_mode_seconds: u32,
    /// Whether users' first joins and last leaves are announced to the room (an extension; `presence.rs`).
    pub(crate) presence_events: bool,
    pub(crate) update_time: OffsetDateTime,
}

impl Settings {
    pub(crate) fn of(room: &Room) -> Settings {
        Settings {
            maximum_message_length: room.maximum_message_length,
            maximum_message_rate_per_second: room.maximum_message_rate_per_second,
            review: room.message_review_handler.clone(),
            logging_ids: room.logging_configuration_ids.clone().into(),
            history: room.history,
            slow_mode_seconds: room.slow_mode_seconds,
            presence_events: room.presence_events,
            update_time: room.update_time,
        }
    }
}

struct Member {
    conn: Arc<Connection>,
    user_id: Arc<str>,
    /// The token's attributes (what presence shows).
    attributes: Arc<Attributes>,
    /// While the member recovers what it missed (`recovery.rs`): the live frames held back until the replay is queued.
    #[expect(
        clippy::box_collection,
        reason = "8 B in every member's entry instead of 24: few members ever recover, and each frame of the room reads \
                  every member's entry"
    )]
    held: Option<Box<Vec<Outbound>>>,
}

impl Member {
    /// Queues a frame for the member, or holds it back while the member recovers (closing a member that falls more
    /// than [`RECOVERY_HOLD`] frames behind, as a slow consumer).
    fn deliver(&mut self, message: &Outbound, spread: &Spread) {
        match &mut self.held {
            None => {
                spread.deliver(&self.conn, message.clone());
            }
            Some(held) if held.len() < RECOVERY_HOLD => held.push(message.clone()),
            Some(_) => {
                self.held = None;
                self.conn.close_after_queued(CloseRequest::slow_consumer());
            }
        }
    }
}

/// Live frames held back for a member while it recovers, at most; past this it is closed as a slow consumer.
pub(crate) const RECOVERY_HOLD: usize = 1_000;

struct RoomState {
    settings: Settings,
    /// In the order they joined (a leave puts the last to join in its place): the order the kernel made their
    /// sockets in, so that a fan-out finds each member's memory, and the kernel's of its socket, near the previous
    /// one's. Walked in a random order, as a `HashMap` walks, a delivery cost a fifth more CPU at 10,000 members.
    members: IndexMap<ConnectionId, Member>,
    /// How many of `members` each user has, while the room's presence events are on (a user's first join and last
    /// leave on this node); empty while they are off, as they are by default, so that members cost no entry here.
    per_user: HashMap<Arc<str>, usize>,
    deleted: bool,
    /// The room's bucket for `maximumMessageRatePerSecond`: a burst of one second's worth, refilled continuously.
    rate: TokenBucket,
    /// The last `SendTime` given: send times strictly increase within a room.
    last_send_time: OffsetDateTime,
    /// Slow mode: when each user last sent a message here (users whose interval is over are pruned as it grows).
    last_message: HashMap<Arc<str>, tokio::time::Instant>,
}

impl RoomState {
    /// The next `SendTime`: now, or just after the last one (send times strictly increase).
    fn take_send_time(&mut self) -> OffsetDateTime {
        let now = OffsetDateTime::now_utc();
        self.last_send_time =
            if now > self.last_send_time { now } else { self.last_send_time + time::Duration::NANOSECOND };
        self.last_send_time
    }

    /// Queues `message` for every member (closing members whose outbox overflows as slow consumers), then, for
    /// DisconnectUser, closes the connections of `disconnect` once they have it.
    fn fan_out(&mut self, message: &Outbound, disconnect: Option<&str>) {
        let spread = Spread::new();
        for member in self.members.values_mut() {
            member.deliver(message, &spread);
        }
        if let Some(user_id) = disconnect {
            for member in self.members.values().filter(|m| &*m.user_id == user_id) {
                member.conn.close_after_queued(disconnected());
            }
        }
    }

    /// Counts each user's members afresh when presence events are on; forgets the counts when they are off.
    fn count_users(&mut self) {
        self.per_user = HashMap::new();
        if self.settings.presence_events {
            for member in self.members.values() {
                *self.per_user.entry(member.user_id.clone()).or_default() += 1;
            }
        }
    }
}

/// A room with its live state.
pub(crate) struct LiveRoom {
    pub(crate) id: Arc<str>,
    state: Mutex<RoomState>,
    /// The room's subscription to its cluster bus channel, while this node holds members (clusters only).
    pub(crate) listener: Mutex<Weak<crate::cluster::Listener>>,
}

impl std::fmt::Debug for LiveRoom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveRoom").field("id", &self.id).finish_non_exhaustive()
    }
}

impl LiveRoom {
    fn new(room: &Room) -> LiveRoom {
        let settings = Settings::of(room);
        let rate = TokenBucket::full(settings.maximum_message_rate_per_second, tokio::time::Instant::now());
        LiveRoom {
            id: room.id.as_str().into(),
            state: Mutex::new(RoomState {
                settings,
                members: IndexMap::new(),
                per_user: HashMap::new(),
                deleted: false,
                rate,
                last_send_time: OffsetDateTime::UNIX_EPOCH,
                last_message: HashMap::new(),
            }),
            listener: Mutex::new(Weak::new()),
        }
    }

    pub(crate) fn settings(&self) -> Settings {
        self.state.lock().settings.clone()
    }

    /// Adds a member (holding back its live frames when it is `recovering`, until [`LiveRoom::recovered`]); refused
    /// once the room is deleted. Answers whether the join is to be announced: the user's first connection to the room
    /// on this node, while the room's presence events are on.
    pub(crate) fn join(
        &self,
        conn: Arc<Connection>,
        (user_id, attributes): (Arc<str>, Arc<Attributes>),
        recovering: bool,
    ) -> Result<bool, Gone> {
        let mut state = self.state.lock();
        if state.deleted {
            return Err(Gone);
        }
        let held = recovering.then(Box::default);
        let first = state.settings.presence_events && {
            let connections = state.per_user.entry(user_id.clone()).or_default();
            *connections += 1;
            *connections == 1
        };
        state.members.insert(conn.id(), Member { conn, user_id, attributes, held });
        Ok(first)
    }

    /// Ends member `id`'s recovery: queues `first` (the replayed frames, or the gap event), then the live frames held
    /// back meanwhile that `first` does not hold already (by frame `Id`), and from then on live frames as they come.
    pub(crate) fn recovered(&self, id: ConnectionId, first: Vec<(String, Utf8Bytes)>) {
        let mut state = self.state.lock();
        let Some(member) = state.members.get_mut(&id) else { return };
        let Some(held) = member.held.take() else { return };
        let replayed: std::collections::HashSet<&str> = first.iter().map(|(id, _)| id.as_str()).collect();
        let fresh = (*held)
            .into_iter()
            .filter(|frame| !frame.as_text().and_then(frame_id).is_some_and(|id| replayed.contains(id.as_str())));
        let frames: Vec<Outbound> = first.iter().map(|(_, frame)| Outbound::text(frame.clone())).chain(fresh).collect();
        let spread = Spread::new();
        for frame in &frames {
            member.deliver(frame, &spread);
        }
    }

    /// Removes member `id`; answers its user when the leave is to be announced: their last connection to the room on
    /// this node, while the room's presence events are on.
    pub(crate) fn leave(&self, id: ConnectionId) -> Option<Arc<str>> {
        let mut state = self.state.lock();
        let member = state.members.swap_remove(&id)?;
        if !state.settings.presence_events {
            return None;
        }
        let connections = state.per_user.get_mut(&member.user_id)?;
        *connections -= 1;
        if *connections > 0 {
            return None;
        }
        state.per_user.remove(&member.user_id);
        Some(member.user_id)
    }

    /// The next `SendTime` of the room: now, or just after the last one (send times strictly increase).
    pub(crate) fn next_send_time(&self) -> Result<OffsetDateTime, Gone> {
        let mut state = self.state.lock();
        if state.deleted {
            return Err(Gone);
        }
        Ok(state.take_send_time())
    }

    /// Queues a frame encoded elsewhere (it came through the cluster bus) for every member, then, for
    /// DisconnectUser, closes the connections of `disconnect` once they have it.
    pub(crate) fn deliver(&self, payload: Utf8Bytes, disconnect: Option<&str>) -> Result<(), Gone> {
        let mut state = self.state.lock();
        if state.deleted {
            return Err(Gone);
        }
        state.fan_out(&Outbound::text(payload), disconnect);
        Ok(())
    }

    /// This node's connections to the room, for presence.
    pub(crate) fn presence(&self) -> Vec<::ivschat::Connected> {
        let state = self.state.lock();
        let connected = state.members.values().map(|member| ::ivschat::Connected {
            user_id: member.user_id.to_string(),
            attributes: (*member.attributes).clone(),
            connected_at_ms: (member.conn.info().connected_at.unix_timestamp_nanos() / 1_000_000) as i64,
        });
        connected.collect()
    }

    pub(crate) fn is_idle(&self) -> bool {
        self.state.lock().members.is_empty()
    }

    #[cfg(test)]
    pub(crate) fn member_count(&self) -> usize {
        self.state.lock().members.len()
    }

    /// Slow mode on this node: whether `user_id` may send a message now (at most one per `seconds`), noting it if so.
    pub(crate) fn slow_mode_allows(&self, user_id: &Arc<str>, seconds: u32) -> bool {
        let interval = std::time::Duration::from_secs(u64::from(seconds));
        let now = tokio::time::Instant::now();
        let mut state = self.state.lock();
        if state.last_message.get(user_id).is_some_and(|last| now < *last + interval) {
            return false;
        }
        if state.last_message.len() >= SLOW_MODE_PRUNE_AT {
            state.last_message.retain(|_, last| now < *last + interval);
        }
        state.last_message.insert(user_id.clone(), now);
        true
    }

    /// Takes one message from the room's rate; `false` when the room is at `maximumMessageRatePerSecond`.
    pub(crate) fn try_take_message(&self) -> bool {
        self.state.lock().rate.try_take(tokio::time::Instant::now())
    }

    /// Gives the frame its send time, encodes it once, queues it for every member (closing members whose outbox
    /// overflows as slow consumers; for DisconnectUser, closing the connections of `disconnect` once they have the
    /// frame) and hands it to the room's logs. Returns the frame's send time.
    pub(crate) fn broadcast(
        &self,
        outgoing: Outgoing<'_>,
        logs: &LogSink,
        disconnect: Option<&str>,
    ) -> Result<OffsetDateTime, Gone> {
        let mut state = self.state.lock();
        if state.deleted {
            return Err(Gone);
        }
        let send_time = state.take_send_time();
        let (json, kind) = outgoing.encode(send_time);
        let payload = Utf8Bytes::from(json);
        state.fan_out(&Outbound::text(payload.clone()), disconnect);
        if !state.settings.logging_ids.is_empty() {
            logs.record(Record {
                room_id: self.id.clone(),
                logging_ids: state.settings.logging_ids.clone(),
                kind,
                send_time,
                payload,
            });
        }
        Ok(send_time)
    }

    fn update(&self, room: &Room) {
        self.update_settings(Settings::of(room));
    }

    /// Applies settings unless newer ones are in force already.
    pub(crate) fn update_settings(&self, settings: Settings) {
        let mut state = self.state.lock();
        if settings.update_time >= state.settings.update_time {
            let old_rate = state.settings.maximum_message_rate_per_second;
            let presence_was_on = state.settings.presence_events;
            state.settings = settings;
            if state.settings.presence_events != presence_was_on {
                state.count_users();
            }
            if state.settings.maximum_message_rate_per_second != old_rate {
                // A new rate starts with a full second's worth.
                let rate = state.settings.maximum_message_rate_per_second;
                state.rate = TokenBucket::full(rate, tokio::time::Instant::now());
            }
        }
    }

    /// Marks the room deleted and closes every member's connection.
    pub(crate) fn delete(&self) {
        let mut state = self.state.lock();
        state.deleted = true;
        for member in state.members.values() {
            member.conn.close_after_queued(room_deleted());
        }
    }
}

/// The `Id` of an encoded frame.
fn frame_id(frame: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Head {
        #[serde(rename = "Id")]
        id: String,
    }
    serde_json::from_str::<Head>(frame).ok().map(|head| head.id)
}

/// The close of a user disconnected by DisconnectUser: a clean close, so the official clients do not reconnect.
pub(crate) fn disconnected() -> CloseRequest {
    CloseRequest::new(1000, "Disconnected by moderator", hub::CloseCause::Deleted)
}

/// The close of a connection whose session expired (after an ERROR 401).
pub(crate) fn session_expired() -> CloseRequest {
    CloseRequest::new(1000, "Session expired", hub::CloseCause::MaxDuration)
}

/// The close of every connection of a deleted room.
pub(crate) fn room_deleted() -> CloseRequest {
    CloseRequest::new(1001, "Room deleted", hub::CloseCause::Deleted)
}

/// The live rooms of this node. A room is loaded from the store by the first connection that joins it and stays
/// until it is deleted (at most the account's room quota), so UpdateRoom always finds it to update.
#[derive(Debug, Default)]
pub(crate) struct Rooms {
    rooms: RwLock<HashMap<Arc<str>, Arc<LiveRoom>>>,
    /// Bumped by every UpdateRoom and DeleteRoom: a load that raced with one fetches again.
    changes: AtomicU64,
}

impl Rooms {
    pub(crate) fn get(&self, id: &str) -> Option<Arc<LiveRoom>> {
        self.rooms.read().get(id).cloned()
    }

    /// The live room `id`, loaded from the store if it is not live yet.
    pub(crate) async fn load(&self, store: &dyn Store, id: &str) -> Result<Arc<LiveRoom>, StoreError> {
        for attempt in 1..=LOAD_ATTEMPTS {
            if let Some(room) = self.get(id) {
                return Ok(room);
            }
            let seen = self.changes.load(Ordering::SeqCst);
            let room = store.get_room(id).await?;
            let mut rooms = self.rooms.write();
            if let Some(live) = rooms.get(id) {
                return Ok(live.clone());
            }
            if self.changes.load(Ordering::SeqCst) == seen || attempt == LOAD_ATTEMPTS {
                let live = Arc::new(LiveRoom::new(&room));
                rooms.insert(live.id.clone(), live.clone());
                return Ok(live);
            }
        }
        Err(StoreError::NotFound { kind: store::ResourceKind::Room, id: id.to_owned() })
    }

    /// Forgets `live` if it is still this node's room of its id and has no member left (clusters keep a room live
    /// only while they hold members, since only then do they hear about its updates).
    pub(crate) fn remove_idle(&self, live: &Arc<LiveRoom>) {
        let mut rooms = self.rooms.write();
        if rooms.get(&live.id).is_some_and(|current| Arc::ptr_eq(current, live)) && live.is_idle() {
            rooms.remove(&live.id);
        }
    }

    /// Settings from another node's UpdateRoom.
    pub(crate) fn updated_settings(&self, id: &str, settings: Settings) {
        let rooms = self.rooms.read();
        self.changes.fetch_add(1, Ordering::SeqCst);
        if let Some(live) = rooms.get(id) {
            live.update_settings(settings);
        }
    }

    /// UpdateRoom committed `room`.
    pub(crate) fn updated(&self, room: &Room) {
        let rooms = self.rooms.read();
        self.changes.fetch_add(1, Ordering::SeqCst);
        if let Some(live) = rooms.get(room.id.as_str()) {
            live.update(room);
        }
    }

    /// DeleteRoom committed: the room stops being live and its members are closed.
    pub(crate) fn deleted(&self, id: &str) {
        let removed = {
            let mut rooms = self.rooms.write();
            self.changes.fetch_add(1, Ordering::SeqCst);
            rooms.remove(id)
        };
        if let Some(live) = removed {
            live.delete();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(id: &str, rate: u32) -> Room {
        let now = OffsetDateTime::now_utc();
        Room {
            id: id.to_owned(),
            name: String::new(),
            create_time: now,
            update_time: now,
            maximum_message_rate_per_second: rate,
            maximum_message_length: 500,
            message_review_handler: None,
            logging_configuration_ids: Vec::new(),
            tags: Default::default(),
            history: store::History::OFF,
            slow_mode_seconds: 0,
            presence_events: false,
        }
    }

    #[test]
    fn rate_bucket_allows_one_second_of_burst() {
        let live = LiveRoom::new(&room("r", 3));
        assert!((0..3).all(|_| live.try_take_message()));
        assert!(!live.try_take_message());
        let mut faster = room("r", 10);
        faster.update_time += time::Duration::seconds(1);
        live.update(&faster);
        assert_eq!(live.settings().maximum_message_rate_per_second, 10);
        // An older update does not overwrite a newer one.
        live.update(&room("r", 1));
        assert_eq!(live.settings().maximum_message_rate_per_second, 10);
    }

    #[test]
    fn a_fan_out_walks_the_members_in_the_order_they_joined() {
        let hub = hub::Hub::new(hub::HubConfig::default());
        let live = LiveRoom::new(&room("r", 10));
        let joined: Vec<Arc<Connection>> = (0..200)
            .map(|i| {
                let conn = hub.new_connection(hub::ConnectionInfo {
                    scope: hub::Scope::Chat { room_id: "r".into(), user_id: format!("user-{i}").into() },
                    connected_at: OffsetDateTime::now_utc(),
                    source_ip: "127.0.0.1".to_owned(),
                    user_agent: None,
                });
                let user = (Arc::from(format!("user-{i}")), Arc::new(Attributes::default()));
                live.join(conn.clone(), user, false).unwrap();
                conn
            })
            .collect();
        let order = |live: &LiveRoom| live.presence().into_iter().map(|c| c.user_id).collect::<Vec<_>>();
        let users = |ids: &[usize]| ids.iter().map(|i| format!("user-{i}")).collect::<Vec<_>>();
        assert_eq!(order(&live), users(&(0..200).collect::<Vec<_>>()));
        // A leave puts the last to join in its place; the others keep theirs.
        live.leave(joined[3].id());
        let mut expected: Vec<usize> = (0..199).collect();
        expected[3] = 199;
        assert_eq!(order(&live), users(&expected));
    }
}
