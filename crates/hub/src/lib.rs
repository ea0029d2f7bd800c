//! The connection hub both APIs share: connection ids, the registry, bounded outboxes, fan-out and the session loop.
//!
//! Everything that holds a live WebSocket goes through here. A [`Connection`] is the shared handle other parts of the
//! server use to reach a client (send, close, inspect); the [`session`] loop is the one task that reads the socket,
//! and writes to it what senders did not write themselves ([`TcpSocket`]).

mod connection;
mod id;
mod lean;
mod outbound;
pub mod session;
mod socket;
mod spread;
mod tags;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::RwLock;

pub use connection::{
    CloseCause, CloseRequest, Connection, ConnectionInfo, OUTBOX_MESSAGE_OVERHEAD, OutboxStats, Scope, SendError,
};
pub use id::{ConnectionId, IdGenerator, random_id};
pub use lean::{LeanStream, READ_AHEAD};
pub use outbound::Outbound;
pub use socket::{SharedSocket, TcpSocket};
pub use spread::Spread;
pub use tags::{TagChange, TagError, TagLimits, Tags};
pub use tokio_tungstenite::tungstenite::Utf8Bytes;

const SHARDS: usize = 32;

/// One shard of the registry.
type Shard = RwLock<HashMap<ConnectionId, Arc<Connection>>>;

/// Settings of the hub.
#[derive(Clone, Debug)]
pub struct HubConfig {
    /// This node's id, embedded in every connection id it issues.
    pub node: u16,
    /// Bytes a connection's outbox may hold before sends are refused, each message counting its payload plus
    /// [`OUTBOX_MESSAGE_OVERHEAD`].
    pub outbox_limit: usize,
}

impl Default for HubConfig {
    fn default() -> HubConfig {
        HubConfig { node: 0, outbox_limit: 1 << 20 }
    }
}

/// The registry of live connections on this node; cheap to clone.
#[derive(Clone, Debug)]
pub struct Hub {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    config: HubConfig,
    ids: IdGenerator,
    /// Connections by id, sharded to keep lock hold times and contention small. Locks are never held across
    /// `.await` and never while a connection's own outbox lock is taken.
    shards: Box<[Shard]>,
    live: AtomicUsize,
    groups: tags::GroupIndex,
    /// Set by [`Hub::shut_down`]: what every connection registered from then on is closed with at once.
    closing: OnceLock<CloseRequest>,
}

impl Hub {
    pub fn new(config: HubConfig) -> Hub {
        let shards = (0..SHARDS).map(|_| RwLock::new(HashMap::new())).collect();
        Hub {
            shared: Arc::new(Shared {
                ids: IdGenerator::new(config.node),
                config,
                shards,
                live: AtomicUsize::new(0),
                groups: tags::GroupIndex::default(),
                closing: OnceLock::new(),
            }),
        }
    }

    pub fn config(&self) -> &HubConfig {
        &self.shared.config
    }

    /// Creates a connection handle with a fresh id; it is not reachable until [`Hub::register`].
    pub fn new_connection(&self, info: ConnectionInfo) -> Arc<Connection> {
        Arc::new(Connection::new(self.shared.ids.next(), info, self.shared.config.outbox_limit))
    }

    /// Makes a connection reachable by id; after [`Hub::shut_down`], closes it at once too.
    pub fn register(&self, conn: Arc<Connection>) {
        let previous = self.shard(conn.id()).write().insert(conn.id(), conn.clone());
        if previous.is_none() {
            self.shared.live.fetch_add(1, Ordering::Relaxed);
        }
        // The shard's lock orders this against `shut_down`'s pass: either the pass saw the connection, or the
        // request was set before the connection went in, and is seen here.
        if let Some(request) = self.shared.closing.get() {
            conn.close(request.clone());
        }
    }

    /// Removes a connection; its id is gone for good, and it leaves its groups.
    pub fn unregister(&self, id: ConnectionId) -> Option<Arc<Connection>> {
        let removed = self.shard(id).write().remove(&id);
        if let Some(conn) = &removed {
            self.shared.live.fetch_sub(1, Ordering::Relaxed);
            let mut index = self.shared.groups.0.write();
            conn.tags.lock().remove(id, &mut index);
        }
        removed
    }

    /// Changes a registered connection's groups and metadata within `limits`, all or nothing; its tags after it.
    pub fn update_tags(&self, conn: &Connection, change: &TagChange, limits: TagLimits) -> Result<Tags, TagError> {
        let mut index = self.shared.groups.0.write();
        conn.tags.lock().apply(conn.id(), &mut index, change, limits)
    }

    /// The registered members of `group` (none when it does not exist), in the order their ids were issued: the
    /// order of their handshakes, and so about the order the kernel made their sockets in, which a fan-out walks at
    /// less cost than a random one (a room does the same: `chat::rooms`).
    pub fn group_members(&self, group: &str) -> Vec<Arc<Connection>> {
        let mut ids: Vec<ConnectionId> =
            self.shared.groups.0.read().get(group).map(|members| members.iter().copied().collect()).unwrap_or_default();
        ids.sort_unstable();
        ids.into_iter().filter_map(|id| self.get(id)).collect()
    }

    /// How many groups have members on this node.
    pub fn group_count(&self) -> usize {
        self.shared.groups.0.read().len()
    }

    pub fn get(&self, id: ConnectionId) -> Option<Arc<Connection>> {
        self.shard(id).read().get(&id).cloned()
    }

    /// Number of registered connections.
    pub fn len(&self) -> usize {
        self.shared.live.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A snapshot of the registered connections (taken shard by shard; no lock is held while the caller works).
    pub fn snapshot(&self) -> Vec<Arc<Connection>> {
        let mut out = Vec::with_capacity(self.len());
        for shard in self.shared.shards.iter() {
            out.extend(shard.read().values().cloned());
        }
        out
    }

    /// Asks every registered connection to close with `request`, and every connection registered from now on, at
    /// once: the server going down. The first call's request stays.
    pub fn shut_down(&self, request: CloseRequest) {
        let request = self.shared.closing.get_or_init(|| request);
        for conn in self.snapshot() {
            conn.close(request.clone());
        }
    }

    fn shard(&self, id: ConnectionId) -> &Shard {
        &self.shared.shards[id.shard_hash() % SHARDS]
    }
}

#[cfg(test)]
mod tests;
