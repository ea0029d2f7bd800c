//! Cluster mode: several nodes behind a load balancer behaving as one gateway, over a [`bus::Bus`] (its messaging
//! and its shared state).
//!
//! - **Membership** (`membership.rs`). Each node joins under an incarnation (its node id and a random token) and
//!   renews a heartbeat every third of the liveness TTL. A heartbeat that is not renewed for the TTL declares the
//!   incarnation dead. Each node records its API Gateway connections ([`apigw::record::Record`]: what a
//!   `$disconnect` event needs) under its incarnation. When a connection ends, its node claims the record
//!   (`claim_registered`, true for exactly one caller) and delivers `$disconnect` only if the claim succeeds.
//!   Survivors reap a dead incarnation: they bury it (a tombstone), claim every record and deliver the `$disconnect`
//!   of each record they won. So each `$disconnect` is delivered once, by the owner or by one survivor, within TTL +
//!   one heartbeat interval of the death.
//! - **Bus outages.** Reaping waits until the bus has been healthy for a whole TTL, so that nodes coming back from a
//!   shared outage renew their heartbeats before anyone judges them. A node that finds its heartbeat lapsed checks
//!   its tombstone: buried, it closes its connections (their `$disconnect` was delivered by a survivor) and joins
//!   again; not buried (Redis lost its data), it registers its connections again.
//! - **Forwarding** (`forward.rs`). A connection id names its node. A management call for another node's
//!   connection is forwarded over the bus to `node:{id}` as a request with a reply channel and a timeout; the owner
//!   runs [`apigw::management::apply`] exactly as for a local call and answers the status and body, which the
//!   receiving node returns unchanged. A node without a live heartbeat holds nothing: 410. An owner that answers
//!   after the forwarding node gave up (a retryable 500) remembers what it applied by the SDK's invocation id
//!   (`applied.rs`), so the SDK's retry is answered, not applied twice.

mod applied;
mod forward;
mod membership;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use apigw::management::Reply;
use bus::{Bus, Incarnation, Subscription};
use bytes::Bytes;
use hub::ConnectionId;
use parking_lot::{Mutex, RwLock};
use tokio::sync::oneshot;

use crate::state::AppState;

/// Settings of cluster mode.
#[derive(Clone, Debug)]
pub struct ClusterSettings {
    /// A heartbeat not renewed for this long declares its node dead.
    pub liveness_ttl: Duration,
    /// How long a forwarded management call waits for the owner's answer.
    pub forward_timeout: Duration,
}

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
    /// `$disconnect` events this node delivered for dead nodes.
    pub(crate) reaped: AtomicU64,
}

impl Cluster {
    /// Joins the cluster under `node` (or an id the bus allocates) and subscribes to this node's channel.
    pub async fn join(bus: Bus, node: Option<u16>, settings: ClusterSettings) -> Result<Cluster, bus::BusError> {
        let token = format!("{:016x}", rand::random::<u64>());
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
            reaped: AtomicU64::new(0),
        })
    }

    pub fn node(&self) -> u16 {
        self.me.read().node
    }

    pub fn bus(&self) -> &Bus {
        &self.bus
    }

    /// Leaves the cluster at shutdown, once every `$disconnect` of this node was delivered.
    pub async fn leave(&self) {
        let me = self.me.read().clone();
        let _ = self.bus.state().forget(&me).await;
    }

    /// Starts the node's cluster tasks: answering forwarded calls, the heartbeat and the reaper. They end at shutdown.
    pub(crate) fn start(state: &Arc<AppState>) {
        if let Some(inbox) = state.cluster.inbox.lock().take() {
            state.tasks.spawn(forward::serve_inbox(state.clone(), inbox));
        }
        state.tasks.spawn(membership::heartbeat(state.clone()));
    }
}

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
        "reconnects": stats.reconnects,
        "degradations": stats.degradations,
        "canariesOk": stats.canaries_ok,
        "canariesFailed": stats.canaries_failed,
        "disconnectsDeliveredForDeadNodes": cluster.reaped.load(Ordering::Relaxed),
    })
}
