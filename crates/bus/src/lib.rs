//! The cluster bus: how Switchboard nodes talk to each other and share what must be shared.
//!
//! The bus is two seams, each an object-safe trait, so that a backend can implement one without the other:
//!
//! - [`PubSub`], **messaging**: [`PubSub::publish`] to a named channel and [`PubSub::subscribe`] to receive what is
//!   published there, in the order the bus saw it (one total order per channel, the same for every subscriber), with
//!   its health, canary and counters. Every message carries its publisher's id and a per-channel sequence number, so
//!   a subscriber counts what it missed (a Redis outage, a full inbox) instead of losing it silently. A
//!   messaging-only system (NATS, say) can implement this half alone.
//! - [`ClusterState`], **shared state**: node liveness (a heartbeat with a time to live per node incarnation), the
//!   registry of each incarnation's connections, one-time claims and windowed counters.
//!
//! A node holds one [`Bus`]: a messaging backend, a state backend (often the same object) and whether other nodes
//! share them. [`LocalBus`] serves one process (the default, and tests that run several nodes in one process through
//! `memory://NAME`); [`RedisBus`] serves a cluster through Redis pub/sub and keys; both implement both traits. Nothing
//! above these traits knows which one runs. [`connect`] picks one from a URL.

mod auth;
mod local;
mod redis_bus;
mod router;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
pub use tasks::Background;

pub use auth::ClusterKey;
pub use local::LocalBus;
pub use redis_bus::{RedisBus, RedisBusConfig};
pub use router::{Message, Subscription};

/// Why a bus operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BusError {
    /// The bus cannot be reached now (Redis down, timed out); the caller may retry later.
    #[error("the cluster bus is unavailable: {0}")]
    Unavailable(String),
    /// The bus answered something this build does not understand, or refused the request.
    #[error("cluster bus error: {0}")]
    Protocol(String),
    /// The URL names no backend this build has.
    #[error("unsupported bus URL {0:?} (expected redis://… or memory://…)")]
    UnsupportedUrl(String),
}

/// Whether messages flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    /// The last canary went through the bus and came back.
    Connected,
    /// The bus is unreachable, or connected but not yet (or no longer) proven by a canary. Local work goes on;
    /// messages published meanwhile are counted as lost.
    Degraded,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Connected => "connected",
            Health::Degraded => "degraded",
        }
    }
}

/// Counters of one bus client since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BusStats {
    /// Messages handed to the bus.
    pub published: u64,
    /// Publishes that failed (the bus was unreachable): nobody received them.
    pub publish_failed: u64,
    /// Messages received on subscribed channels.
    pub received: u64,
    /// Messages published on a subscribed channel that this node never received (gaps in a publisher's sequence),
    /// plus messages dropped because a subscriber's inbox was full.
    pub missed: u64,
    /// Times the subscription connection was re-established after a loss.
    pub reconnects: u64,
    /// Times the bus went from connected to degraded.
    pub degradations: u64,
    /// Canaries that came back, and canaries that did not within their deadline.
    pub canaries_ok: u64,
    pub canaries_failed: u64,
    /// Loss notices handed to subscriptions ([`Message::lost`]).
    pub loss_notices: u64,
    /// Messages and registry records dropped because they failed the cluster key's check.
    pub rejected: u64,
}

/// What renewing a node's heartbeat found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Renewal {
    /// The heartbeat was ours and is renewed.
    Renewed,
    /// The heartbeat had expired (or the bus lost its data): the node may have been declared dead. It is set again.
    Lapsed,
    /// Another incarnation holds the node id now (a second node with the same id, or a restart). Not renewed.
    Superseded { by: String },
}

/// A node incarnation: a node id and the random token of one run of the process that holds it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Incarnation {
    pub node: u16,
    pub token: String,
}

impl fmt::Display for Incarnation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.node, self.token)
    }
}

impl Incarnation {
    /// A fresh incarnation of `node` with a random token.
    pub fn new(node: u16) -> Incarnation {
        Incarnation { node, token: format!("{:016x}", rand::random::<u64>()) }
    }

    pub(crate) fn parse(text: &str) -> Option<Incarnation> {
        let (node, token) = text.split_once(':')?;
        Some(Incarnation { node: node.parse().ok()?, token: token.to_owned() })
    }
}

/// Messaging between nodes: what a publish/subscribe system implements. See the crate documentation.
#[async_trait]
pub trait PubSub: Send + Sync + fmt::Debug + 'static {
    /// Publishes `payload` on `channel`. Fails (and counts the message as lost) when the bus is unreachable.
    async fn publish(&self, channel: &str, payload: Bytes) -> Result<(), BusError>;

    /// Subscribes to `channel` until the returned [`Subscription`] is dropped. Never fails: while the bus is away the
    /// subscription is kept and applied when it comes back. When the bus is reachable this returns once the
    /// subscription is in effect, so that what is published afterwards is received.
    async fn subscribe(&self, channel: &str) -> Subscription;

    /// Connected only while a recent canary proved that published messages come back.
    fn health(&self) -> Health;

    /// Sends a canary through the bus now and waits for it to come back: the round-trip time, or why not.
    async fn canary(&self, timeout: Duration) -> Result<Duration, BusError>;

    fn stats(&self) -> BusStats;

    /// The backend's name for diagnostics (`memory`, `redis`).
    fn kind(&self) -> &'static str;
}

/// Renews heartbeats as [`ClusterState::renew`] does, over a connection of its own whose work runs in the runtime that
/// first uses it ([`ClusterState::renewer`]).
#[async_trait]
pub trait Renewer: Send + Sync + fmt::Debug + 'static {
    async fn renew(&self, me: &Incarnation, ttl: Duration) -> Result<Renewal, BusError>;
}

/// State shared by the nodes of a cluster: liveness, the connection registry, claims and counters. See the crate
/// documentation.
#[async_trait]
pub trait ClusterState: Send + Sync + fmt::Debug + 'static {
    /// A [`Renewer`] with a connection of its own, so that a node can renew its heartbeat from a thread of its own
    /// whatever its main runtime is busy with; `None` where renewing needs no connection (in-process buses), or when
    /// one cannot be made (then renew through this state).
    fn renewer(&self) -> Option<Box<dyn Renewer>> {
        None
    }

    /// Takes a node id for `token` with a heartbeat living `ttl`: `node` when given (taking it over from a previous
    /// incarnation), else the lowest id from 1 whose heartbeat is not held. Records the incarnation as a member.
    async fn join(&self, node: Option<u16>, token: &str, ttl: Duration) -> Result<Incarnation, BusError>;

    /// Renews the heartbeat of `me` for another `ttl`. A buried incarnation is not renewed: [`Renewal::Lapsed`].
    async fn renew(&self, me: &Incarnation, ttl: Duration) -> Result<Renewal, BusError>;

    /// The token of the incarnation whose heartbeat holds `node` now, if any.
    async fn holder(&self, node: u16) -> Result<Option<String>, BusError>;

    /// Every incarnation that joined and was not forgotten yet.
    async fn members(&self) -> Result<Vec<Incarnation>, BusError>;

    /// Marks `dead` as declared dead (a tombstone that outlives it for `keep`), so that it learns it if it comes back:
    /// false, burying nothing, when `dead` holds its heartbeat (it renewed since it was judged). Atomic with
    /// [`ClusterState::renew`], which never revives a buried incarnation: once buried, it can only join again.
    async fn bury(&self, dead: &Incarnation, keep: Duration) -> Result<bool, BusError>;

    /// Whether `incarnation` was declared dead.
    async fn is_buried(&self, incarnation: &Incarnation) -> Result<bool, BusError>;

    /// Removes a member and whatever is left of its registry.
    async fn forget(&self, incarnation: &Incarnation) -> Result<(), BusError>;

    /// Records connections held by `owner` (id → opaque record), overwriting earlier records of the same ids.
    async fn register(&self, owner: &Incarnation, entries: Vec<(String, Bytes)>) -> Result<(), BusError>;

    /// The registry of `owner`.
    async fn registered(&self, owner: &Incarnation) -> Result<Vec<(String, Bytes)>, BusError>;

    /// Removes `id` from `owner`'s registry; true for exactly one caller (the one that removed it). Whoever gets true
    /// reports the connection's end.
    async fn claim_registered(&self, owner: &Incarnation, id: &str) -> Result<bool, BusError>;

    /// A survivor's claim of a buried incarnation's entry: as [`ClusterState::claim_registered`], and when it wins,
    /// the claim is remembered for `keep` (as the tombstone is), so that the owner, coming back, can tell an entry a
    /// survivor reported ([`ClusterState::was_reaped`]) from one it removed itself but never heard the answer of.
    async fn reap_registered(&self, dead: &Incarnation, id: &str, keep: Duration) -> Result<bool, BusError>;

    /// Whether a survivor claimed `id` from `owner`'s registry ([`ClusterState::reap_registered`]).
    async fn was_reaped(&self, owner: &Incarnation, id: &str) -> Result<bool, BusError>;

    /// Adds one to the counter `key` of the current fixed window of length `window` and returns the new count.
    async fn count_in_window(&self, key: &str, window: Duration) -> Result<u64, BusError>;
}

/// A node's cluster bus: its messaging backend, its shared-state backend, and whether other nodes share them.
#[derive(Clone, Debug)]
pub struct Bus {
    pubsub: Arc<dyn PubSub>,
    state: Arc<dyn ClusterState>,
    shared: bool,
}

impl Bus {
    /// A bus of two backends (which may be one object). `shared` says whether other nodes may use them too.
    pub fn new(pubsub: Arc<dyn PubSub>, state: Arc<dyn ClusterState>, shared: bool) -> Bus {
        Bus { pubsub, state, shared }
    }

    /// A bus whose one backend does both jobs.
    pub fn of<B: PubSub + ClusterState>(backend: Arc<B>, shared: bool) -> Bus {
        Bus { pubsub: backend.clone(), state: backend, shared }
    }

    /// A node alone: a private in-process bus.
    pub fn alone() -> Bus {
        Bus::of(Arc::new(LocalBus::new()), false)
    }

    pub fn pubsub(&self) -> &Arc<dyn PubSub> {
        &self.pubsub
    }

    pub fn state(&self) -> &Arc<dyn ClusterState> {
        &self.state
    }

    /// Whether other nodes may share this bus (Redis, or a named in-process bus), as opposed to a node alone. A node
    /// alone may skip the bus on paths where only it can be listening. Read once, when a service is built.
    pub fn is_shared(&self) -> bool {
        self.shared
    }

    /// The messaging backend's health: whether messages flow.
    pub fn health(&self) -> Health {
        self.pubsub.health()
    }
}

/// A bus from a URL: `redis://…` (or `rediss://…` for TLS) for a cluster, `memory://NAME` for a bus shared by
/// everything in this process that names the same `NAME`, and `None` for a private in-process bus. `namespace`
/// prefixes every Redis key and channel, so that several clusters (or test runs) share one Redis.
pub async fn connect(url: Option<&str>, namespace: &str, background: &Background) -> Result<Bus, BusError> {
    connect_with(url, namespace, &BusOptions::default(), background).await
}

/// How a node reaches a shared bus, beyond its URL.
#[derive(Clone, Debug, Default)]
pub struct BusOptions {
    /// Authenticates Redis messages and registry records (every node of the cluster must hold the same key; see
    /// `auth.rs`). In-process buses need none.
    pub key: Option<ClusterKey>,
    /// For `rediss://`: the certificates (PEM) that may sign Redis's, instead of the system's roots.
    pub ca_pem: Option<Vec<u8>>,
}

/// [`connect`] with [`BusOptions`].
pub async fn connect_with(
    url: Option<&str>,
    namespace: &str,
    options: &BusOptions,
    background: &Background,
) -> Result<Bus, BusError> {
    match url {
        None => Ok(Bus::alone()),
        Some(url) if url.starts_with("memory://") => Ok(Bus::of(LocalBus::named(&url["memory://".len()..]), true)),
        Some(url)
            if url.starts_with("redis://") || url.starts_with("rediss://") || url.starts_with("redis+unix://") =>
        {
            let mut config = RedisBusConfig::new(url, namespace);
            config.key = options.key.clone();
            config.ca_pem = options.ca_pem.clone();
            Ok(Bus::of(Arc::new(RedisBus::connect(config, background).await?), true))
        }
        Some(url) => Err(BusError::UnsupportedUrl(url.to_owned())),
    }
}

#[cfg(test)]
mod tests;
