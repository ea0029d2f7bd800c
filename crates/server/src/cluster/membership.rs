//! Membership: this node's heartbeat, the registry of its API connections (the records a `$disconnect` is
//! delivered from), recovery after its heartbeat lapsed, and reaping dead nodes.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use apigw::record::Record;
use bus::{Health, Incarnation, Renewal};
use bytes::Bytes;
use hub::{CloseRequest, ConnectionId};
use tokio::time::Instant;
use tracing::Instrument;

use super::{Cluster, Tracked};
use crate::state::AppState;

/// How long a survivor keeps a dead incarnation's tombstone, so that it learns its fate when it comes back.
const TOMBSTONE_KEEP: Duration = Duration::from_secs(24 * 3600);

impl Cluster {
    /// Records a new API Gateway connection in the registry, so that a survivor can report its end if this node dies.
    ///
    /// A node alone records nothing: no survivor could deliver its `$disconnect`, and [`Cluster::release`] answers
    /// `true` for a connection it never tracked, so an idle connection costs no registry entry there.
    pub(crate) async fn track(&self, id: ConnectionId, record: &Record) {
        if !self.bus.is_shared() {
            return;
        }
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
            let span =
                tracing::error_span!("connection", connection_id = %id, api = %record.api, stage = %record.stage);
            let state2 = state.clone();
            state.tasks.spawn(async move { deliver_disconnect(&state2, &id, &record).await }.instrument(span));
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

/// Renews the heartbeat, repairs the registry after bus outages and reaps dead nodes.
pub(super) async fn heartbeat(state: Arc<AppState>) {
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
/// Delivers the `$disconnect` of a connection of a dead node: 1006, as for a TCP connection that dropped.
async fn deliver_disconnect(state: &AppState, id: &str, record: &Record) {
    let Some(ctx) = record.context(&state.apis, id) else {
        tracing::warn!("A dead node's connection belongs to an API this node does not have.");
        return;
    };
    apigw::connect::notify_disconnect(&state.invoker, &ctx, 1006, "").await;
}
