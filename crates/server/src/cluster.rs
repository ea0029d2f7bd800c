//! Cluster mode: several nodes behind a load balancer behaving as one gateway, over a [`bus::Bus`] (its messaging and its shared state).
//!
//! - **Liveness.** Each node joins under an incarnation (its node id and a random token) and renews a heartbeat every
//!   third of the liveness TTL. A heartbeat that is not renewed for the TTL declares the incarnation dead.
//! - **Management calls.** A connection id names its node. A call for another node's connection is forwarded over
//!   the bus to `node:{id}` as a request with a reply channel and a timeout; the owner runs it exactly as it runs a
//!   local call and answers the status and body, which the receiving node returns unchanged. A node without a live
//!   heartbeat holds nothing: 410.
//! - **The registry.** Each node records its API Gateway connections (what a `$disconnect` event needs) under its
//!   incarnation. When a connection ends, its node claims the record (`claim_registered`, true for exactly one
//!   caller) and delivers `$disconnect` only if the claim succeeds. Survivors reap a dead incarnation: they bury it
//!   (a tombstone), claim every record and deliver the `$disconnect` of each record they won. So each `$disconnect`
//!   is delivered once, by the owner or by one survivor, within TTL + one heartbeat interval of the death.
//! - **Bus outages.** Reaping waits until the bus has been healthy for a whole TTL, so that nodes coming back from a
//!   shared outage renew their heartbeats before anyone judges them. A node that finds its heartbeat lapsed checks
//!   its tombstone: buried, it closes its connections (their `$disconnect` was delivered by a survivor) and joins
//!   again; not buried (Redis lost its data), it registers its connections again.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use apigw::connect::ConnContext;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bus::{Bus, Health, Incarnation, Renewal, Subscription};
use bytes::Bytes;
use hub::{CloseRequest, ConnectionId};
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::oneshot;
use tokio::time::Instant;
use wire::apigw::Identity;
use wire::{ApiError, ErrorCode};

use crate::state::AppState;

/// How long a survivor keeps a dead incarnation's tombstone, so that it learns its fate when it comes back.
const TOMBSTONE_KEEP: Duration = Duration::from_secs(24 * 3600);

/// The bus channel of a node: requests for it and replies to it.
fn node_channel(node: u16) -> String {
    format!("node:{node}")
}

/// A management operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Op {
    Post,
    Get,
    Delete,
}

/// The result of a management operation as the owner computed it: the status and JSON body to answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Outcome {
    pub(crate) status: u16,
    pub(crate) json: Option<String>,
}

/// An error as it crosses the bus.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct WireError {
    code: String,
    message: String,
}

impl From<&ApiError> for WireError {
    fn from(err: &ApiError) -> WireError {
        WireError { code: err.code.aws_type().to_owned(), message: err.message.clone() }
    }
}

impl From<WireError> for ApiError {
    fn from(err: WireError) -> ApiError {
        ApiError::new(ErrorCode::from_aws_type(&err.code).unwrap_or(ErrorCode::InternalServer), err.message)
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "lowercase")]
enum Envelope {
    Request { id: u64, from: u16, op: Op, conn: String, stage: Option<String>, body: String },
    Reply { id: u64, result: Result<Outcome, WireError> },
}

/// What a survivor needs to deliver a connection's `$disconnect`: the facts of its `$connect` event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Record {
    pub(crate) api: String,
    pub(crate) stage: String,
    /// Unix milliseconds.
    pub(crate) at: i64,
    pub(crate) ip: String,
    pub(crate) ua: Option<String>,
    pub(crate) host: String,
}

impl Record {
    pub(crate) fn of(ctx: &ConnContext) -> Record {
        Record {
            api: ctx.api.api.api_id.clone(),
            stage: ctx.stage.clone(),
            at: (ctx.connected_at.unix_timestamp_nanos() / 1_000_000) as i64,
            ip: ctx.identity.source_ip.clone(),
            ua: ctx.identity.user_agent.clone(),
            host: ctx.domain_name.clone(),
        }
    }
}

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
    pending: Mutex<HashMap<u64, oneshot::Sender<Result<Outcome, WireError>>>>,
    next_request: AtomicU64,
    inbox: Mutex<Option<Subscription>>,
    /// `$disconnect` events this node delivered for dead nodes.
    pub(crate) reaped: AtomicU64,
}

impl Cluster {
    /// Joins the cluster under `node` (or an id the bus allocates) and subscribes to this node's channel.
    pub async fn join(bus: Bus, node: Option<u16>, settings: ClusterSettings) -> Result<Cluster, bus::BusError> {
        let token = format!("{:016x}", rand::random::<u64>());
        let me = bus.state().join(node, &token, settings.liveness_ttl).await?;
        let inbox = bus.pubsub().subscribe(&node_channel(me.node)).await;
        tracing::info!(node = me.node, shared = bus.is_shared(), "Joined the cluster.");
        Ok(Cluster {
            bus,
            me: RwLock::new(me),
            settings,
            tracked: Mutex::new(HashMap::new()),
            pending: Mutex::new(HashMap::new()),
            next_request: AtomicU64::new(1),
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

    /// Records a new API Gateway connection in the registry, so that a survivor can report its end if this node dies.
    pub(crate) async fn track(&self, id: ConnectionId, record: &Record) {
        let bytes = Bytes::from(serde_json::to_vec(record).unwrap_or_default());
        let me = self.me.read().clone();
        let token: Arc<str> = me.token.as_str().into();
        self.tracked.lock().insert(id, Tracked { record: bytes.clone(), token, synced: false });
        if self.bus.state().register(&me, vec![(id.to_string(), bytes)]).await.is_ok()
            && let Some(tracked) = self.tracked.lock().get_mut(&id)
        {
            tracked.synced = true;
        }
    }

    /// A connection ended: whether this node delivers its `$disconnect` (false when a survivor already did, because
    /// this node had been declared dead).
    pub(crate) async fn release(&self, id: ConnectionId) -> bool {
        let Some(tracked) = self.tracked.lock().remove(&id) else {
            return true;
        };
        if !tracked.synced {
            return true;
        }
        let owner = Incarnation { node: id.node(), token: tracked.token.to_string() };
        match self.bus.state().claim_registered(&owner, &id.to_string()).await {
            Ok(true) => true,
            // Claimed by a survivor, or lost with Redis's data: only the tombstone tells which.
            Ok(false) => !self.bus.state().is_buried(&owner).await.unwrap_or(false),
            // The bus is away: report it ourselves (a survivor can only have reaped us after our heartbeat lapsed).
            Err(_) => true,
        }
    }

    /// Runs a management call on the node that holds `conn`.
    pub(crate) async fn forward(
        &self,
        op: Op,
        conn: ConnectionId,
        stage: Option<&str>,
        body: Bytes,
    ) -> Result<Outcome, ApiError> {
        let node = conn.node();
        match self.bus.state().holder(node).await {
            Ok(Some(_)) => {}
            Ok(None) => return Err(ApiError::gone()),
            Err(err) => {
                tracing::warn!(%err, node, "Cannot route a management call: the cluster bus is unavailable.");
                return Err(unreachable_node());
            }
        }
        let id = self.next_request.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending.lock().insert(id, tx);
        let envelope = Envelope::Request {
            id,
            from: self.node(),
            op,
            conn: conn.to_string(),
            stage: stage.map(str::to_owned),
            body: BASE64.encode(&body),
        };
        let payload = Bytes::from(serde_json::to_vec(&envelope).unwrap_or_default());
        let result = match self.bus.pubsub().publish(&node_channel(node), payload).await {
            Ok(()) => match tokio::time::timeout(self.settings.forward_timeout, rx).await {
                Ok(Ok(result)) => result.map_err(ApiError::from),
                _ => Err(unreachable_node()),
            },
            Err(_) => Err(unreachable_node()),
        };
        self.pending.lock().remove(&id);
        result
    }

    /// Leaves the cluster at shutdown, once every `$disconnect` of this node was delivered.
    pub async fn leave(&self) {
        let me = self.me.read().clone();
        let _ = self.bus.state().forget(&me).await;
    }

    /// Starts the node's cluster tasks: answering forwarded calls, the heartbeat and the reaper. They end at shutdown.
    pub(crate) fn start(state: &Arc<AppState>) {
        if let Some(inbox) = state.cluster.inbox.lock().take() {
            state.tasks.spawn(serve_inbox(state.clone(), inbox));
        }
        state.tasks.spawn(heartbeat(state.clone()));
    }

    async fn reap(&self, state: &Arc<AppState>, dead: &Incarnation) -> Result<(), bus::BusError> {
        self.bus.state().bury(dead, TOMBSTONE_KEEP).await?;
        let entries = self.bus.state().registered(dead).await?;
        let mut won = 0;
        for (id, record) in entries {
            if !self.bus.state().claim_registered(dead, &id).await? {
                continue;
            }
            won += 1;
            let Ok(record) = serde_json::from_slice::<Record>(&record) else { continue };
            let state2 = state.clone();
            state.tasks.spawn(async move {
                deliver_disconnect(&state2, &id, &record).await;
            });
        }
        self.bus.state().forget(dead).await?;
        if won > 0 {
            self.reaped.fetch_add(won, Ordering::Relaxed);
        }
        tracing::warn!(node = dead.node, disconnects = won, "A node is gone; delivered its connections' $disconnect.");
        Ok(())
    }

    /// Our heartbeat had lapsed: either survivors buried us, or the bus lost its data.
    async fn recover(&self, state: &Arc<AppState>) {
        let me = self.me.read().clone();
        match self.bus.state().is_buried(&me).await {
            Ok(true) => {
                tracing::error!(node = me.node, "This node was declared dead by the cluster; closing its connections.");
                let token = format!("{:016x}", rand::random::<u64>());
                match self.bus.state().join(Some(me.node), &token, self.settings.liveness_ttl).await {
                    Ok(fresh) => *self.me.write() = fresh,
                    Err(err) => tracing::warn!(%err, "Cannot join the cluster again."),
                }
                // Their `$disconnect` was delivered by a survivor: `release` finds them claimed and buried.
                state.hub.close_all(&CloseRequest::new(1001, "Going away", hub::CloseCause::Shutdown));
            }
            Ok(false) => {
                let entries: Vec<(String, Bytes)> = {
                    let tracked = self.tracked.lock();
                    tracked
                        .iter()
                        .filter(|(_, t)| *t.token == *me.token)
                        .map(|(id, t)| (id.to_string(), t.record.clone()))
                        .collect()
                };
                let count = entries.len();
                if self.bus.state().register(&me, entries).await.is_ok() {
                    self.mark_synced(&me);
                    tracing::warn!(
                        connections = count,
                        "The cluster bus lost its state; registered this node's connections again."
                    );
                }
            }
            Err(_) => {}
        }
    }

    fn mark_synced(&self, me: &Incarnation) {
        for tracked in self.tracked.lock().values_mut() {
            if *tracked.token == *me.token {
                tracked.synced = true;
            }
        }
    }

    async fn sync_unsynced(&self) {
        let me = self.me.read().clone();
        let entries: Vec<(String, Bytes)> = {
            let tracked = self.tracked.lock();
            tracked
                .iter()
                .filter(|(_, t)| !t.synced && *t.token == *me.token)
                .map(|(id, t)| (id.to_string(), t.record.clone()))
                .collect()
        };
        if !entries.is_empty() && self.bus.state().register(&me, entries).await.is_ok() {
            self.mark_synced(&me);
        }
    }
}

fn unreachable_node() -> ApiError {
    ApiError::new(ErrorCode::InternalServer, "The node holding this connection cannot be reached now; retry later")
}

/// Answers management calls forwarded to this node, and routes replies to the calls it forwarded.
async fn serve_inbox(state: Arc<AppState>, mut inbox: Subscription) {
    loop {
        let message = tokio::select! {
            _ = state.shutdown.cancelled() => return,
            message = inbox.recv() => match message { Some(m) => m, None => return },
        };
        let Ok(envelope) = serde_json::from_slice::<Envelope>(&message.payload) else {
            tracing::debug!("Ignoring a malformed cluster message.");
            continue;
        };
        match envelope {
            Envelope::Reply { id, result } => {
                if let Some(waiter) = state.cluster.pending.lock().remove(&id) {
                    let _ = waiter.send(result);
                }
            }
            Envelope::Request { id, from, op, conn, stage, body } => {
                let body = Bytes::from(BASE64.decode(body.as_bytes()).unwrap_or_default());
                let result = match ConnectionId::parse(&conn) {
                    Some(conn) => crate::http::management::apply(&state, op, conn, stage.as_deref(), body),
                    None => Err(ApiError::gone()),
                };
                let reply = Envelope::Reply { id, result: result.map_err(|e| WireError::from(&e)) };
                let payload = Bytes::from(serde_json::to_vec(&reply).unwrap_or_default());
                let bus = state.cluster.bus.clone();
                tokio::spawn(async move {
                    let _ = bus.pubsub().publish(&node_channel(from), payload).await;
                });
            }
        }
    }
}

/// Renews the heartbeat, repairs the registry after bus outages and reaps dead nodes.
async fn heartbeat(state: Arc<AppState>) {
    let cluster = &state.cluster;
    let ttl = cluster.settings.liveness_ttl;
    let interval = (ttl / 3).max(Duration::from_millis(50));
    let mut healthy_since: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
        let me = cluster.me.read().clone();
        match cluster.bus.state().renew(&me, ttl).await {
            Ok(Renewal::Renewed) => cluster.sync_unsynced().await,
            Ok(Renewal::Lapsed) => cluster.recover(&state).await,
            Ok(Renewal::Superseded { by }) => {
                tracing::error!(node = me.node, %by, "Another process holds this node id; check --node-id on every node.");
            }
            Err(_) => {}
        }
        if cluster.bus.health() == Health::Connected {
            healthy_since.get_or_insert_with(Instant::now);
        } else {
            healthy_since = None;
        }
        // Judge others only once every live node has had a whole TTL of working bus to renew its heartbeat.
        if healthy_since.is_some_and(|since| since.elapsed() >= ttl + interval) {
            reap_dead(&state).await;
        }
    }
}

async fn reap_dead(state: &Arc<AppState>) {
    let cluster = &state.cluster;
    let Ok(members) = cluster.bus.state().members().await else { return };
    let me = cluster.me.read().clone();
    for member in members {
        if member == me {
            continue;
        }
        let alive = match cluster.bus.state().holder(member.node).await {
            Ok(holder) => holder.as_deref() == Some(member.token.as_str()),
            Err(_) => return,
        };
        if !alive && let Err(err) = cluster.reap(state, &member).await {
            tracing::warn!(%err, node = member.node, "Cannot reap a dead node now; will retry.");
            return;
        }
    }
}

/// Delivers the `$disconnect` of a connection of a dead node: 1006, as for a TCP connection that dropped.
async fn deliver_disconnect(state: &AppState, id: &str, record: &Record) {
    let Some(api) = state.apis.by_id(&record.api).cloned() else {
        tracing::warn!(api_id = %record.api, "A dead node's connection belongs to an API this node does not have.");
        return;
    };
    let stage_variables = api.stage(&record.stage).map(|s| s.stage_variables.clone()).unwrap_or_default();
    let connected_at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(record.at) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let ctx = ConnContext {
        api,
        stage: record.stage.clone(),
        stage_variables,
        connection_id: id.to_owned(),
        connected_at,
        identity: Identity { source_ip: record.ip.clone(), user_agent: record.ua.clone() },
        domain_name: record.host.clone(),
        headers: Vec::new(),
        query: Vec::new(),
    };
    apigw::connect::notify_disconnect(&state.invoker, &ctx, 1006, "").await;
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
