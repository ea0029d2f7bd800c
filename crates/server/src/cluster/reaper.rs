//! The reaper: finds dead incarnations, buries them, claims their connections and delivers their `$disconnect`. It
//! runs beside the heartbeat, never inside it, so that reaping thousands of connections cannot delay this node's own
//! renewal; its `$disconnect` calls run on the server's tracker, at most `REAP_CONCURRENCY` at a time.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use apigw::model::ApiRuntime;
use apigw::record::Record;
use bus::{Health, Incarnation};
use tokio::time::Instant;
use tracing::Instrument;

use super::Cluster;
use crate::state::AppState;

/// Judges the other members every heartbeat interval, once this node's bus has been healthy and its own renewals
/// unbroken for a whole TTL (so that nodes coming back from a shared outage or stall renewed first), and reaps those
/// whose heartbeat has been gone for the margin (so that they fenced themselves first, `fence.rs`).
pub(super) async fn run(state: Arc<AppState>) {
    let cluster = &state.cluster;
    let ttl = cluster.settings.liveness_ttl;
    let mut healthy_since: Option<Instant> = None;
    // Incarnations seen without a heartbeat, since when.
    let mut suspects: HashMap<Incarnation, Instant> = HashMap::new();
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => return,
            _ = tokio::time::sleep(cluster.interval()) => {}
        }
        if cluster.bus.health() == Health::Connected && !cluster.is_fenced() {
            healthy_since.get_or_insert_with(Instant::now);
        } else {
            healthy_since = None;
        }
        let judged_after = ttl + cluster.interval();
        if healthy_since.is_some_and(|since| since.elapsed() >= judged_after)
            && cluster.renewing_since().elapsed() >= judged_after
        {
            reap_dead(&state, &mut suspects).await;
        } else {
            suspects.clear();
        }
    }
}

async fn reap_dead(state: &Arc<AppState>, suspects: &mut HashMap<Incarnation, Instant>) {
    let cluster = &state.cluster;
    let Ok(members) = cluster.bus.state().members().await else { return };
    let me = cluster.me.read().clone();
    let now = Instant::now();
    suspects.retain(|suspect, _| members.contains(suspect));
    for member in members {
        if member == me {
            continue;
        }
        let alive = match cluster.bus.state().holder(member.node).await {
            Ok(holder) => holder.as_deref() == Some(member.token.as_str()),
            Err(_) => return,
        };
        if alive {
            suspects.remove(&member);
            continue;
        }
        let since = *suspects.entry(member.clone()).or_insert(now);
        if now.duration_since(since) < cluster.margin() {
            continue;
        }
        match cluster.reap(state, &member).await {
            Ok(()) => {
                suspects.remove(&member);
            }
            Err(err) => {
                tracing::warn!(%err, node = member.node, "Cannot reap a dead node now; will retry.");
                return;
            }
        }
    }
}

impl Cluster {
    async fn reap(&self, state: &Arc<AppState>, dead: &Incarnation) -> Result<(), bus::BusError> {
        // The tombstone and the claims are kept `fate_keep`, so that the dead node learns its fate if it comes back.
        let keep = self.settings.fate_keep;
        if !self.bus.state().bury(dead, keep).await? {
            tracing::info!(node = dead.node, "A node judged dead renewed its heartbeat; not reaping it.");
            return Ok(());
        }
        let entries = self.bus.state().registered(dead).await?;
        let mut won = 0;
        for (id, record) in entries {
            if !self.bus.state().reap_registered(dead, &id, keep).await? {
                continue;
            }
            won += 1;
            let Ok(record) = serde_json::from_slice::<Record>(&record) else { continue };
            // 1006, as for a TCP connection that dropped.
            spawn_disconnect(state, id, record, 1006, String::new()).await;
        }
        self.bus.state().forget(dead).await?;
        if won > 0 {
            self.reaped.fetch_add(won, Ordering::Relaxed);
        }
        tracing::warn!(node = dead.node, disconnects = won, "A node is gone; delivered its connections' $disconnect.");
        Ok(())
    }
}

/// Delivers, on the server's tracker, the `$disconnect` of a connection this node claimed from the registry (a dead
/// node's, or one of its own whose end was deferred), once one of the reaper's places is free.
pub(super) async fn spawn_disconnect(state: &Arc<AppState>, id: String, record: Record, code: u16, reason: String) {
    let Ok(permit) = state.cluster.reaping.clone().acquire_owned().await else { return };
    let span = tracing::error_span!("connection", connection_id = %id, api = %record.api, stage = %record.stage);
    let task_state = state.clone();
    state.tasks.spawn(
        async move {
            let _permit = permit;
            let Some(api) = api_of(&task_state, &record).await else {
                tracing::warn!("A connection's record names an API this node does not have.");
                return;
            };
            let ctx = record.context_of(api, &id);
            apigw::connect::notify_disconnect(&task_state.invoker, &ctx, code, &reason).await;
        }
        .instrument(span),
    );
}

/// What a record's API serves now: the configuration's API of that id, or a deployed stage's current deployment read
/// through the deployed stages' cache (from the shared store, so every node finds it).
async fn api_of(state: &AppState, record: &Record) -> Option<Arc<ApiRuntime>> {
    if !record.deployed {
        return state.apis.by_id(&record.api).cloned();
    }
    match state.deployed.get(&state.apigatewayv2, &record.api, &record.stage).await {
        Ok(api) => api,
        Err(err) => {
            tracing::warn!(?err, "Cannot read a deployed stage for a $disconnect now.");
            None
        }
    }
}
