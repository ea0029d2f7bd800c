//! Amazon IVS Chat messaging: chat tokens, the chat WebSocket protocol, room fan-out, the message review handler
//! and chat logging, on the connection hub that API Gateway connections use too.
//!
//! The server drives a connection through three calls: [`ChatService::admit`] redeems the token of a handshake
//! (answering a [`Refusal`] of the handshake table when it must be refused), [`ChatService::join`] makes the hub
//! connection a member of its room, and [`ChatService::serve`] runs the session until it ends; the member leaves the
//! room when it is dropped. The control plane reaches live rooms through [`RoomEvents`] and issues tokens through
//! [`TokenIssuer`], both implemented by [`ChatService`].
//!
//! Every frame of a room is encoded once, under the room's short lock, and the same bytes are queued for every
//! member with [`hub::Connection::deliver`], which never waits: a member whose outbox overflows is closed with 1008.

mod actions;
mod cluster;
mod fanout;
mod history;
mod logging;
mod presence;
mod recovery;
mod review;
mod rooms;
mod token;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
pub use cluster::MESSAGES_LOST_EVENT;
use hub::session::{SessionConfig, SessionEnd};
use hub::{Connection, Hub, Scope};
use ivschat::{
    ChatEvent, EffectError, IssuedToken, MessageDeletion, RoomEvents, TokenIssuer, TokenRequest, UserDisconnection,
};
use store::{Room, Store, StoreError};
use time::OffsetDateTime;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tracing::Instrument;
pub use wire::Refusal;
use wire::ivschat::{self as frames, Attributes};

use crate::cluster::Listener;
use crate::fanout::{Fanout, Unsent};
use crate::history::HistoryWriter;
use crate::logging::{LogSettings, LogSink};
use crate::review::Reviewer;
use crate::rooms::{LiveRoom, Outgoing, Rooms};
use crate::token::{Capabilities, Claims, Tokens};

/// Default lifetime of a chat token (capped by its session's end).
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(60 * 60);
/// The message review handler's timeout on AWS (not adjustable there).
pub const DEFAULT_REVIEW_TIMEOUT: Duration = Duration::from_millis(200);
/// Bytes of chat log records waiting for the writer before new ones are dropped.
pub const DEFAULT_LOG_QUEUE_BYTES: usize = 64 << 20;
/// Directory of the file destinations of chat logs, in the data directory.
pub const LOG_DIR: &str = "chat-logs";

/// An S3-compatible endpoint for the `s3` destination of logging configurations (path-style, SigV4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Endpoint {
    /// E.g. `http://127.0.0.1:9000`; objects are PUT to `{endpoint}/{bucket}/{key}`.
    pub endpoint: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Signing region; the server's region when `None`.
    pub region: Option<String>,
}

/// The 32-byte key that signs chat tokens; `Debug` never prints it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TokenKey(pub [u8; 32]);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(<redacted>)")
    }
}

/// Settings of the messaging layer.
#[derive(Clone, Debug)]
pub struct ChatConfig {
    /// Where the file destinations of chat logs (`chat-logs/`) live.
    pub data_dir: PathBuf,
    /// The key that signs chat tokens: the data directory's, or in a cluster the one every node shares.
    pub token_key: TokenKey,
    pub region: String,
    pub account_id: String,
    /// How long a chat token can be redeemed (never past its session's end). Default 60 minutes.
    pub token_lifetime: Duration,
    /// How long the message review handler may take before the room's fallback result applies. Default 200 ms.
    pub review_timeout: Duration,
    /// Lambda ARN → URL of the review handler serving it (an `http(s)://` `messageReviewHandler.uri` needs none).
    pub review_handlers: BTreeMap<String, String>,
    /// How often CloudWatch Logs files and Firehose endpoints receive buffered records. Default 1 s.
    pub log_flush_interval: Duration,
    /// How often S3 objects are written. Default 60 s.
    pub s3_flush_interval: Duration,
    /// Records waiting for the log writer before new ones are dropped. Default 65,536.
    pub log_queue: usize,
    /// Bytes of records waiting for the log writer before new ones are dropped. Default 64 MiB.
    pub log_queue_bytes: usize,
    /// Firehose delivery stream name → HTTP endpoint URL (Firehose HTTP endpoint delivery requests). Streams not
    /// listed are written to `chat-logs/firehose/{name}.ndjson`.
    pub firehose_endpoints: BTreeMap<String, String>,
    /// Sent as `X-Amz-Firehose-Access-Key` to Firehose endpoints.
    pub firehose_access_key: Option<String>,
    /// Where `s3` destinations go; `chat-logs/s3/{bucket}/…` when `None`.
    pub s3: Option<S3Endpoint>,
}

impl ChatConfig {
    /// Defaults for a data directory and identity, with a fresh token key.
    pub fn new(data_dir: impl Into<PathBuf>, region: impl Into<String>, account_id: impl Into<String>) -> ChatConfig {
        ChatConfig {
            data_dir: data_dir.into(),
            token_key: TokenKey(rand::random()),
            region: region.into(),
            account_id: account_id.into(),
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
            review_timeout: DEFAULT_REVIEW_TIMEOUT,
            review_handlers: BTreeMap::new(),
            log_flush_interval: Duration::from_secs(1),
            s3_flush_interval: Duration::from_secs(60),
            log_queue: 65_536,
            log_queue_bytes: DEFAULT_LOG_QUEUE_BYTES,
            firehose_endpoints: BTreeMap::new(),
            firehose_access_key: None,
            s3: None,
        }
    }
}

/// The live rooms of this node, their members and everything that reaches them.
pub struct ChatService {
    store: Arc<dyn Store>,
    hub: Hub,
    config: ChatConfig,
    tokens: Tokens,
    rooms: Arc<Rooms>,
    reviewer: Reviewer,
    logs: Arc<LogSink>,
    /// Sends the frames of rooms that retain history: stored first, then sent (`history.rs`).
    history: HistoryWriter,
    /// Alone or through the cluster bus (see `fanout.rs`, `cluster.rs`), chosen when the service starts.
    fanout: Arc<dyn Fanout>,
    /// ERROR frames dropped because their connection's outbox was full (`actions::send_error`).
    lost_errors: AtomicU64,
    /// Frames refused because the cluster bus did not take them (`emit`): nobody received them.
    unsent_frames: AtomicU64,
    /// Presence events waiting to be sent (`presence.rs`).
    announcer: presence::Announcer,
}

/// The counters of [`ChatService::stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChatStats {
    /// ERROR frames dropped because their connection's outbox was full.
    pub lost_errors: u64,
    /// Frames refused because the cluster bus did not take them: nobody received them.
    pub unsent_frames: u64,
    /// Presence events (`switchboard:join`/`leave`) dropped because this node's announcement queue was full.
    pub dropped_presence_events: u64,
}

impl std::fmt::Debug for ChatService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatService")
            .field("region", &self.config.region)
            .field("connections", &self.hub.len())
            .finish_non_exhaustive()
    }
}

/// A redeemed token whose room exists: what a handshake needs to accept the connection.
#[derive(Debug)]
pub struct Ticket {
    claims: Claims,
    /// The token's user, in the one allocation the connection's scope, the member and its entry in the room share.
    user_id: Arc<str>,
    room: Arc<LiveRoom>,
    listener: Option<Arc<Listener>>,
}

impl Ticket {
    pub fn room_id(&self) -> &str {
        &self.claims.room_id
    }

    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// The scope of the connection this ticket admits: its room (the live room's id, which every member shares) and
    /// its user.
    pub fn scope(&self) -> Scope {
        Scope::Chat { room_id: self.room.id.clone(), user_id: self.user_id.clone() }
    }

    pub fn session_expiration_time(&self) -> OffsetDateTime {
        self.claims.session_expires()
    }
}

/// A connection's membership of its room; leaving the room when dropped. It lives as long as the connection, so what
/// its session needs once, as it starts, is boxed apart and freed then (its `Arrival`).
#[derive(Debug)]
pub struct Member {
    service: Arc<ChatService>,
    room: Arc<LiveRoom>,
    conn: Arc<Connection>,
    user_id: Arc<str>,
    capabilities: Capabilities,
    /// The token's attributes: the `Sender.Attributes` of every message of this member (shared with its entry in
    /// the room, which presence shows).
    attributes: Arc<Attributes>,
    /// Until [`ChatService::serve`] takes it.
    arrival: Option<Box<Arrival>>,
    /// Keeps the room's cluster subscription while this member is in it (dropped after `leave`).
    _listener: Option<Arc<Listener>>,
}

// Every chat connection keeps its member in a box for as long as it lasts, which jemalloc rounds up to its next size
// class (…, 64, 80, 96, 112, 128, …). At 72 B it takes 80; with its arrival inline it took 128.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Member>() <= 80);

/// What a member's session does once, as it starts: learn how long it may last, wait for the member's join to be
/// announced, and replay what the member missed.
#[derive(Debug)]
struct Arrival {
    session_expires: OffsetDateTime,
    /// The last message id the client saw, when it asked to recover what it missed (the token attribute
    /// [`frames::RECOVER_AFTER_ATTRIBUTE`]).
    recover_after: Option<String>,
    /// Told when this member's join was announced (presence events), which its session waits for.
    announced: Option<tokio::sync::oneshot::Receiver<()>>,
}

impl Arrival {
    /// Waits for the member's join to be announced (at most [`presence::JOIN_WAIT`]), then replays what it missed if
    /// it asked to; after that its session serves it.
    async fn start(self: Box<Self>, member: &Member) {
        let Arrival { recover_after, announced, .. } = *self;
        if let Some(announced) = announced {
            let _ = tokio::time::timeout(presence::JOIN_WAIT, announced).await;
        }
        if let Some(after) = recover_after {
            member.recover(&after).await;
        }
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        if let Some(user_id) = self.room.leave(self.conn.id()) {
            self.service.announcer.leave(&self.room, user_id);
        }
    }
}

impl ChatService {
    /// Starts the log writer on the current Tokio
    /// runtime.
    pub fn new(store: Arc<dyn Store>, hub: Hub, config: ChatConfig) -> std::io::Result<Arc<ChatService>> {
        ChatService::with_bus(store, hub, config, bus::Bus::alone(), &bus::Background::new())
    }

    /// [`ChatService::new`] on a cluster bus: when other nodes share it, rooms span them all (`cluster.rs`) and room
    /// rate limits count every node's messages. (Chat tokens are single-use across whatever shares the store.)
    pub fn with_bus(
        store: Arc<dyn Store>,
        hub: Hub,
        config: ChatConfig,
        bus: bus::Bus,
        background: &bus::Background,
    ) -> std::io::Result<Arc<ChatService>> {
        tokio::runtime::Handle::try_current()
            .map_err(|_| std::io::Error::other("chat messaging must start inside a Tokio runtime"))?;
        let rooms: Arc<Rooms> = Arc::default();
        let fanout = cluster::fanout(&bus, background, &rooms);
        let tokens = Tokens::with_key(config.token_key.0);
        let client = reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(5))
            .no_proxy()
            .build()
            .map_err(std::io::Error::other)?;
        let reviewer = Reviewer::new(client.clone(), config.review_timeout, config.review_handlers.clone());
        let logs = Arc::new(LogSink::start(
            LogSettings {
                root: config.data_dir.join(LOG_DIR),
                region: config.region.clone(),
                account_id: config.account_id.clone(),
                flush_interval: config.log_flush_interval,
                s3_flush_interval: config.s3_flush_interval,
                queue: config.log_queue,
                queue_bytes: config.log_queue_bytes,
                firehose: config.firehose_endpoints.clone(),
                firehose_access_key: config.firehose_access_key.clone(),
                s3: config.s3.clone(),
            },
            store.clone(),
            client,
            background,
        ));
        let history = HistoryWriter::start(store.clone(), fanout.clone(), logs.clone(), background);
        let (lost_errors, unsent_frames) = (AtomicU64::new(0), AtomicU64::new(0));
        let (announcer, announcements) = presence::Announcer::new();
        let service = Arc::new(ChatService {
            store,
            hub,
            config,
            tokens,
            rooms,
            reviewer,
            logs,
            history,
            fanout,
            lost_errors,
            unsent_frames,
            announcer,
        });
        background.spawn(presence::announce(Arc::downgrade(&service), announcements));
        Ok(service)
    }

    pub fn config(&self) -> &ChatConfig {
        &self.config
    }

    /// What this node's rooms lost so far, for the metrics.
    pub fn stats(&self) -> ChatStats {
        ChatStats {
            lost_errors: self.lost_errors.load(Ordering::Relaxed),
            unsent_frames: self.unsent_frames.load(Ordering::Relaxed),
            dropped_presence_events: self.announcer.dropped(),
        }
    }

    /// Checks a handshake's token without redeeming it — its form, signature and expiry — so that a forged one is
    /// refused before it costs anything.
    pub fn check_token(&self, token: &str) -> Result<(), Refusal> {
        if token.is_empty() {
            return Err(Refusal::ChatTokenMissing);
        }
        self.tokens.verify(token, OffsetDateTime::now_utc()).map(|_| ()).map_err(token::TokenError::refusal)
    }

    /// Redeems the token of a handshake (the `Sec-WebSocket-Protocol` value; `""` when there was none) and loads
    /// its room; a user banned from the room (an extension) is refused 403 without using the token up. The token counts as used from here on, on every node sharing the store and after restarts: its use
    /// is on disk before the handshake goes on, and when it cannot be recorded the handshake is refused (503,
    /// retryable), never admitted unchecked.
    pub async fn admit(&self, token: &str) -> Result<Ticket, Refusal> {
        if token.is_empty() {
            return Err(Refusal::ChatTokenMissing);
        }
        let now = OffsetDateTime::now_utc();
        let claims = self.tokens.verify(token, now).map_err(token::TokenError::refusal)?;
        match self.store.banned_until(&claims.room_id, &claims.user_id, now).await {
            Ok(None) => {}
            Ok(Some(_)) => return Err(Refusal::UserBanned),
            Err(err) => {
                tracing::warn!(%err, "Cannot check a chat user's bans; refusing the token for now.");
                return Err(Refusal::ChatTokenUncheckable);
            }
        }
        match self.store.redeem_token(claims.nonce(), claims.token_expires()).await {
            Ok(true) => {}
            Ok(false) => return Err(Refusal::ChatTokenUsed),
            Err(err) => {
                tracing::warn!(%err, "Cannot record a chat token's single use; refusing it for now.");
                return Err(Refusal::ChatTokenUncheckable);
            }
        }
        match self.rooms.load(self.store.as_ref(), &claims.room_id).await {
            Ok(room) => {
                let listener = self.fanout.listen(&room, &self.rooms).await;
                let user_id = claims.user_id.as_str().into();
                Ok(Ticket { claims, user_id, room, listener })
            }
            Err(StoreError::NotFound { .. }) => Err(Refusal::RoomNotFound),
            Err(err) => {
                tracing::warn!(%err, "Cannot load a chat room.");
                Err(Refusal::Internal)
            }
        }
    }

    /// Makes `conn` a member of the ticket's room: from now on it receives the room's frames.
    pub fn join(self: &Arc<Self>, ticket: Ticket, conn: Arc<Connection>) -> Result<Member, Refusal> {
        let Ticket { mut claims, user_id, room, listener } = ticket;
        // The recovery request is for the server: other members never see it among the sender's attributes.
        let recover_after = claims.attributes.remove(frames::RECOVER_AFTER_ATTRIBUTE);
        let attributes = Arc::new(std::mem::take(&mut claims.attributes));
        let who = (user_id.clone(), attributes.clone());
        let first = room.join(conn.clone(), who, recover_after.is_some()).map_err(|_| Refusal::RoomNotFound)?;
        let announced = if first { self.announcer.join(&room, &user_id) } else { None };
        let arrival = Arrival { session_expires: claims.session_expires(), recover_after, announced };
        Ok(Member {
            service: self.clone(),
            room,
            conn,
            user_id,
            capabilities: claims.capabilities(),
            attributes,
            arrival: Some(Box::new(arrival)),
            _listener: listener,
        })
    }

    /// Runs a member's session until the connection ends, after its join was announced (when the room's presence
    /// events are on, `presence.rs`) and what it missed replayed when it asked to recover (`recovery.rs`). When the
    /// session expires the client receives `ERROR 401` and then a close (1000): the session's maximum duration is
    /// the chat session's, and its idle timeout too, whatever `session` says. The member leaves the room at the end.
    pub async fn serve<S>(mut member: Box<Member>, ws: &mut WebSocketStream<S>, session: &SessionConfig) -> SessionEnd
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        // A member served before has no time left.
        let expires = member.arrival.as_ref().map_or(OffsetDateTime::UNIX_EPOCH, |arrival| arrival.session_expires);
        let remaining = (expires - OffsetDateTime::now_utc()).try_into().unwrap_or(Duration::ZERO);
        let config = SessionConfig { idle_timeout: remaining, max_duration: remaining, ..session.clone() };
        let conn = member.conn.clone();
        // Taken in the condition, so that the session's own state (below) has no room kept for it.
        if let Some(arrival) = member.arrival.take() {
            // The session's client messages run in spans of their own; what comes before it needs one too.
            arrival.start(&member).instrument(conn.span()).await;
        }
        hub::session::run(ws, conn, &config, &mut actions::ChatSession { member }).await
    }

    /// Delivers the chat log records queued so far (call at shutdown); waits at most `wait`.
    pub async fn flush_logs(&self, wait: Duration) {
        self.logs.flush(wait).await;
    }

    pub(crate) fn room_arn(&self, id: &str) -> String {
        ivschat::resource_arn(&self.config.region, &self.config.account_id, store::ResourceKind::Room, id)
    }

    /// Sends a control-plane frame into a room: to its members when it is live, to its logs even when it is not;
    /// fails (InternalServerException, which SDKs retry) when the cluster bus did not take it (then nobody has it).
    async fn publish(&self, room: &Room, outgoing: Outgoing<'_>, disconnect: Option<&str>) -> Result<(), EffectError> {
        let live = self.rooms.get(&room.id);
        let logging_ids: Arc<[String]> = room.logging_configuration_ids.clone().into();
        match self.emit(&room.id, live.as_ref(), (logging_ids, room.history), outgoing, disconnect).await {
            Ok(()) | Err(Unsent::Gone) => Ok(()),
            Err(Unsent::BusUnavailable) => Err(EffectError::Failed("the cluster bus is unavailable".to_owned())),
            Err(Unsent::HistoryUnavailable) => {
                Err(EffectError::Failed("the room's history cannot be stored now".to_owned()))
            }
        }
    }

    /// Sends a frame into room `room_id` (`live` when this node has it live; `to` its logging configurations and
    /// history limits): alone, straight to the members; in a cluster, through the room's bus channel to the members
    /// on every node. Logged once, here. A room that retains history stores the frame first (`history.rs`).
    pub(crate) async fn emit(
        &self,
        room_id: &str,
        live: Option<&Arc<LiveRoom>>,
        (logging_ids, history): (Arc<[String]>, store::History),
        outgoing: Outgoing<'_>,
        disconnect: Option<&str>,
    ) -> Result<(), Unsent> {
        let sent = match history.is_on() {
            true => self.history.emit(room_id, live, logging_ids, outgoing, disconnect).await,
            false => self.fanout.emit(room_id, live, logging_ids, outgoing, disconnect, &self.logs).await,
        };
        if sent == Err(Unsent::BusUnavailable) {
            let unsent = self.unsent_frames.fetch_add(1, Ordering::Relaxed) + 1;
            if unsent.is_power_of_two() {
                tracing::warn!(unsent, "The cluster bus is unavailable; chat frames are being refused.");
            }
        }
        sent
    }

    /// In a cluster, whether room `room_id` may take one more message this second across every node (fixed
    /// one-second windows counted on the bus); alone (or with the bus away) the room's own rate bucket decides.
    pub(crate) async fn cluster_rate_allows(&self, room_id: &str, rate: u32) -> bool {
        self.fanout.rate_allows(room_id, rate).await
    }
}

#[async_trait]
impl RoomEvents for ChatService {
    async fn send_event(&self, room: &Room, event: ChatEvent) -> Result<(), EffectError> {
        let attributes = (!event.attributes.is_empty()).then_some(&event.attributes);
        let outgoing = Outgoing::Event { id: &event.id, request_id: "", name: &event.event_name, attributes };
        self.publish(room, outgoing, None).await
    }

    async fn delete_message(&self, room: &Room, deletion: MessageDeletion) -> Result<(), EffectError> {
        let attributes = frames::delete_message_attributes(&deletion.message_id, deletion.reason.as_deref());
        let outgoing = Outgoing::Event {
            id: &deletion.id,
            request_id: "",
            name: frames::EVENT_DELETE_MESSAGE,
            attributes: Some(&attributes),
        };
        self.publish(room, outgoing, None).await
    }

    async fn disconnect_user(&self, room: &Room, disconnection: UserDisconnection) -> Result<(), EffectError> {
        let attributes = frames::disconnect_user_attributes(&disconnection.user_id, disconnection.reason.as_deref());
        let outgoing = Outgoing::Event {
            id: &disconnection.id,
            request_id: "",
            name: frames::EVENT_DISCONNECT_USER,
            attributes: Some(&attributes),
        };
        self.publish(room, outgoing, Some(&disconnection.user_id)).await
    }

    async fn room_updated(&self, room: &Room) {
        self.rooms.updated(room);
        self.fanout.room_updated(room).await;
    }

    async fn room_deleted(&self, room: &Room) {
        self.rooms.deleted(&room.id);
        self.fanout.room_deleted(&room.id).await;
    }

    async fn presence(&self, room: &Room) -> Result<Vec<ivschat::Connected>, EffectError> {
        self.fanout
            .presence(&room.id, &self.rooms)
            .await
            .map_err(|_| EffectError::Failed("the cluster bus is unavailable".to_owned()))
    }
}

#[async_trait]
impl TokenIssuer for ChatService {
    async fn issue(&self, request: TokenRequest) -> Result<IssuedToken, EffectError> {
        let lifetime = time::Duration::try_from(self.config.token_lifetime).unwrap_or(time::Duration::HOUR);
        let session_expires = request.now + request.session_duration;
        let token_expires = (request.now + lifetime).min(session_expires);
        let claims = Claims::new(
            &request.room.id,
            &request.user_id,
            Capabilities::of(&request.capabilities),
            request.attributes,
            request.now,
            token_expires,
            session_expires,
        );
        Ok(IssuedToken {
            token: self.tokens.issue(&claims),
            token_expiration_time: token_expires,
            session_expiration_time: session_expires,
        })
    }
}

#[cfg(test)]
mod tests;
