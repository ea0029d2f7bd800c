//! Cluster mode: several nodes behind a load balancer behaving as one gateway, over a [`bus::Bus`] (its messaging
//! and its shared state).
//!
//! - **Membership** (`membership.rs`). Each node joins under an incarnation (its node id and a random token) and
//!   renews a heartbeat every third of the liveness TTL, from a thread of its own (`renewals.rs`) so that a busy
//!   runtime does not delay it. A heartbeat that is not renewed for the TTL declares the
//!   incarnation dead. Each node records its API Gateway connections ([`apigw::record::Record`]: what a
//!   `$disconnect` event needs) under its incarnation. When a connection ends, its node claims the record
//!   (`claim_registered`, true for exactly one caller) and delivers `$disconnect` only if the claim succeeds.
//!   Survivors reap a dead incarnation: they bury it (a tombstone), claim every record (`reap_registered`, which
//!   remembers the claim as long as the tombstone) and deliver the `$disconnect` of each record they won. An owner
//!   that finds its record gone delivers unless a survivor claimed it (`was_reaped`), so a claim of its own whose
//!   answer was lost, or a registration that never arrived, is still reported once. So each `$disconnect` is delivered once, by the owner or by one survivor, within TTL +
//!   one heartbeat interval of the death.
//! - **Fencing** (`fence.rs`). A node that has not renewed its heartbeat for TTL − margin (tokio's clock, since the
//!   send time of its last successful renewal) stops serving before anyone may judge it: it closes its API
//!   connections without delivering their `$disconnect` and refuses new API handshakes (503). Survivors reap an
//!   incarnation only once its heartbeat has been gone for the margin (`reaper.rs`), so a cut-off node is always
//!   fenced before its connections are claimed. The ends it could not claim are deferred, and claimed once the bus
//!   answers again: won or gone unclaimed, this node delivers them; reaped, a survivor did.
//! - **Bus outages.** Reaping waits until the bus has been healthy for a whole TTL, so that nodes coming back from a
//!   shared outage renew their heartbeats before anyone judges them. A node that finds its heartbeat lapsed checks
//!   its tombstone: buried, it closes its connections (their `$disconnect` was delivered by a survivor) and joins
//!   again; not buried (Redis lost its data, or was paused), it registers its connections again. Burial and renewal
//!   are atomic against each other: a buried incarnation is never renewed, a renewed one never buried.
//! - **Longer than survivors remember.** Tombstones and survivors' claims last [`FATE_KEEP`] (24 h). A node whose
//!   last renewal is older than that when it comes back cannot tell a burial from none, nor a survivor's claim from
//!   its own: it treats itself as buried (closes its connections, joins again as a new incarnation) and reports only
//!   the ends whose registry entry it still claims itself, which nobody else can have reported. An end whose entry is
//!   gone for another reason (its own claim or registration answered nothing, Redis lost its data) is then not
//!   reported: past that bound `$disconnect` is at most once.
//! - **Forwarding** (`forward.rs`). A connection id names its node. A management call for another node's
//!   connection is forwarded over the bus to `node:{id}` as a request with a reply channel and a timeout; the owner
//!   runs [`apigw::management::apply`] exactly as for a local call and answers the status and body, which the
//!   receiving node returns unchanged. A node without a live heartbeat holds nothing: 410. An owner that answers
//!   after the forwarding node gave up (a retryable 500) remembers what it applied by the SDK's invocation id
//!   (`applied.rs`), so the SDK's retry is answered, not applied twice.

mod applied;
mod fence;
mod forward;
mod membership;
mod reaper;
mod renewals;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use apigw::management::Reply;
use bus::{Bus, Incarnation, Subscription};
use bytes::Bytes;
use hub::ConnectionId;
use parking_lot::{Mutex, RwLock};
use tokio::sync::{Semaphore, oneshot};
use tokio::time::Instant;

use crate::state::AppState;

/// Settings of cluster mode.
#[derive(Clone, Debug)]
pub struct ClusterSettings {
    /// A heartbeat not renewed for this long declares its node dead.
    pub liveness_ttl: Duration,
    /// How long a forwarded management call waits for the owner's answer.
    pub forward_timeout: Duration,
    /// How long survivors remember a dead incarnation's fate (its tombstone, their claims of its connections):
    /// [`FATE_KEEP`]. A node cut off for longer cannot learn it, so it treats itself as buried.
    pub fate_keep: Duration,
}

/// How long survivors remember a dead incarnation's fate.
pub const FATE_KEEP: Duration = Duration::from_secs(24 * 3600);

/// A tracked connection: its record and the incarnation it was registered under.
#[derive(Debug)]
struct Tracked {
    record: Bytes,
    token: Arc<str>,
    /// False until the registry has it (the bus was away when it connected).
    synced: bool,
}

/// This node's part of the cluster. With the default in-process bus it is a cluster of one.
#[derive(Debug)]
pub struct Cluster {
    bus: Bus,
    me: RwLock<Incarnation>,
    settings: ClusterSettings,
    tracked: Mutex<HashMap<ConnectionId, Tracked>>,
    /// Calls this node forwarded, by request id (random, so that a late reply to a call of an earlier run of this
    /// node cannot answer a new one), until their answer or their caller's departure.
    pending: Mutex<HashMap<u64, oneshot::Sender<Result<Reply, forward::WireError>>>>,
    /// Calls other nodes forwarded here, remembered so that a retry is not applied twice.
    applied: applied::Applied,
    inbox: Mutex<Option<Subscription>>,
    /// When this node's heartbeat renewals succeeded (tokio's clock): the fence falls TTL − margin after the last.
    renewed: Mutex<fence::Renewals>,
    /// Set while this node is fenced (see `fence.rs`).
    fenced: AtomicBool,
    /// Connections that ended while this node could not claim their registry entry, to claim when the bus answers.
    deferred: Mutex<HashMap<ConnectionId, fence::Deferred>>,
    /// Earlier incarnations of this node that were cut off longer than survivors remember a fate: an entry of theirs
    /// that is gone may have been reported by a survivor, so only an entry this node still claims is its to report.
    /// One token per such outage, kept for the process's life (an end of theirs may come at any time).
    fate_unknown: Mutex<HashSet<Arc<str>>>,
    /// Bounds the `$disconnect` calls the reaper has in flight.
    reaping: Arc<Semaphore>,
    /// `$disconnect` events this node delivered for dead nodes.
    pub(crate) reaped: AtomicU64,
    /// Times this node fenced itself.
    pub(crate) fences: AtomicU64,
}

impl Cluster {
    /// Joins the cluster under `node` (or an id the bus allocates) and subscribes to this node's channel.
    pub async fn join(bus: Bus, node: Option<u16>, settings: ClusterSettings) -> Result<Cluster, bus::BusError> {
        let token = format!("{:016x}", rand::random::<u64>());
        let sent = Instant::now();
        let me = bus.state().join(node, &token, settings.liveness_ttl).await?;
        let inbox = bus.pubsub().subscribe(&forward::node_channel(me.node)).await;
        tracing::info!(node = me.node, shared = bus.is_shared(), "Joined the cluster.");
        Ok(Cluster {
            bus,
            me: RwLock::new(me),
            settings,
            tracked: Mutex::new(HashMap::new()),
            pending: Mutex::new(HashMap::new()),
            applied: applied::Applied::default(),
            inbox: Mutex::new(Some(inbox)),
            renewed: Mutex::new(fence::Renewals { last: sent, streak: sent }),
            fenced: AtomicBool::new(false),
            deferred: Mutex::new(HashMap::new()),
            fate_unknown: Mutex::new(HashSet::new()),
            reaping: Arc::new(Semaphore::new(REAP_CONCURRENCY)),
            reaped: AtomicU64::new(0),
            fences: AtomicU64::new(0),
        })
    }

    pub fn node(&self) -> u16 {
        self.me.read().node
    }

    pub fn bus(&self) -> &Bus {
        &self.bus
    }

    /// Leaves the cluster at shutdown, once every `$disconnect` of this node was delivered. Ends this node could not
    /// claim stay registered, for survivors to deliver once the heartbeat lapsed.
    pub async fn leave(&self) {
        if !self.deferred.lock().is_empty() {
            tracing::warn!("Leaving connection ends this node could not claim to the survivors.");
            return;
        }
        let me = self.me.read().clone();
        let _ = self.bus.state().forget(&me).await;
    }

    /// Starts the node's cluster tasks: answering forwarded calls, the heartbeat, the fence and the reaper. They end
    /// at shutdown.
    pub(crate) fn start(state: &Arc<AppState>) {
        if let Some(inbox) = state.cluster.inbox.lock().take() {
            state.tasks.spawn(forward::serve_inbox(state.clone(), inbox));
        }
        state.tasks.spawn(membership::heartbeat(state.clone()));
        if state.cluster.bus.is_shared() {
            state.tasks.spawn(fence::watch(state.clone()));
            state.tasks.spawn(reaper::run(state.clone()));
        }
    }

    /// How often the heartbeat is renewed: a third of the TTL.
    fn interval(&self) -> Duration {
        (self.settings.liveness_ttl / 3).max(Duration::from_millis(50))
    }

    /// How long before its heartbeat can expire a node fences itself, and how long after it expired survivors wait
    /// before claiming its connections: one heartbeat interval each.
    fn margin(&self) -> Duration {
        self.interval()
    }
}

/// `$disconnect` calls the reaper has in flight at most.
const REAP_CONCURRENCY: usize = 64;

/// What the health endpoint says about the cluster.
pub(crate) fn health_json(cluster: &Cluster) -> serde_json::Value {
    let bus = &cluster.bus;
    let stats = bus.pubsub().stats();
    serde_json::json!({
        "node": cluster.node(),
        "backend": bus.pubsub().kind(),
        "state": bus.health().as_str(),
        "published": stats.published,
        "publishFailed": stats.publish_failed,
        "received": stats.received,
        "missed": stats.missed,
        "lossNotices": stats.loss_notices,
        "rejected": stats.rejected,
        "reconnects": stats.reconnects,
        "degradations": stats.degradations,
        "canariesOk": stats.canaries_ok,
        "canariesFailed": stats.canaries_failed,
        "disconnectsDeliveredForDeadNodes": cluster.reaped.load(Ordering::Relaxed),
        "fenced": cluster.is_fenced(),
        "fences": cluster.fences.load(Ordering::Relaxed),
    })
}
