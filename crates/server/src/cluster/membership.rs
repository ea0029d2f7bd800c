//! Membership: this node's heartbeat, the registry of its API connections (the records a `$disconnect` is
//! delivered from) and recovery after its heartbeat lapsed.

use std::sync::Arc;
use std::time::Duration;

use apigw::record::Record;
use bus::{Incarnation, Renewal};
use bytes::Bytes;
use hub::ConnectionId;
use tokio::time::Instant;

use super::{Cluster, Tracked, renewals};
use crate::state::AppState;

/// How often a connection's end retries claiming its registry entry while the bus does not answer.
const CLAIM_RETRY: Duration = Duration::from_millis(100);

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

    /// A connection ended with `code` and `reason`: whether this node delivers its `$disconnect` now. False when a
    /// survivor delivered it (this node had been declared dead), and when the registry cannot be reached before the
    /// fence: then the end is deferred, and delivered by this node or a survivor once the bus answers.
    pub(crate) async fn release(&self, id: ConnectionId, code: u16, reason: &str) -> bool {
        let Some(tracked) = self.tracked.lock().remove(&id) else {
            return true;
        };
        // Registered or not as far as we know (a registration whose answer was lost may have been applied), the end
        // is claimed: an entry that is there is removed, so a survivor cannot report it too.
        let owner = Incarnation { node: id.node(), token: tracked.token.to_string() };
        loop {
            if !self.is_fenced()
                && let Ok(deliver) = self.claim_own(&owner, &id.to_string()).await
            {
                return deliver;
            }
            let now = Instant::now();
            let fence = self.fence_deadline();
            if self.is_fenced() || now >= fence {
                self.defer(id, tracked, code, reason);
                return false;
            }
            tokio::time::sleep(CLAIM_RETRY.min(fence - now)).await;
        }
    }

    /// Claims a connection of this node's registry: whether its `$disconnect` is this node's to deliver.
    pub(super) async fn claim_own(&self, owner: &Incarnation, id: &str) -> Result<bool, bus::BusError> {
        if self.bus.state().claim_registered(owner, id).await? {
            return Ok(true);
        }
        // Cut off longer than survivors remember: their claim may be forgotten, so a gone entry is theirs.
        if self.fate_unknown.lock().contains(owner.token.as_str()) {
            return Ok(false);
        }
        // Not there: a survivor claimed it (and remembered so), or it is gone otherwise — this node removed it
        // earlier and lost the answer, its registration never arrived, or Redis lost its data — and nobody reported
        // it: this node does. Whether the incarnation was buried does not decide it.
        Ok(!self.bus.state().was_reaped(owner, id).await?)
    }

    /// Our heartbeat had lapsed: either survivors buried us, or the bus lost its data (or was paused past the TTL).
    /// Whether this node holds a live heartbeat again, since when, and whether it must close its connections (it was
    /// buried, or cannot tell: the heartbeat it sent at `sent` is the first for longer than survivors remember).
    pub(super) async fn recover(&self, sent: Instant) -> Option<(Instant, bool)> {
        let me = self.me.read().clone();
        let forgotten = sent >= self.renewed.lock().last + self.settings.fate_keep;
        let buried = if forgotten {
            tracing::error!(
                node = me.node,
                "This node was cut off for longer than the cluster remembers a dead node; treating it as buried."
            );
            self.fate_unknown.lock().insert(me.token.as_str().into());
            Ok(true)
        } else {
            self.bus.state().is_buried(&me).await
        };
        match buried {
            Ok(true) => {
                tracing::error!(node = me.node, "This node was declared dead by the cluster; closing its connections.");
                // Their `$disconnect` was delivered by a survivor (`release` finds them claimed), or is delivered by
                // this node when it still claims their entry.
                let token = format!("{:016x}", rand::random::<u64>());
                let sent = Instant::now();
                match self.bus.state().join(Some(me.node), &token, self.settings.liveness_ttl).await {
                    Ok(fresh) => {
                        *self.me.write() = fresh;
                        Some((sent, true))
                    }
                    Err(err) => {
                        tracing::warn!(%err, "Cannot join the cluster again.");
                        None
                    }
                }
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
                        "This node's heartbeat had lapsed without a burial; registered its connections again."
                    );
                    return Some((sent, false));
                }
                None
            }
            Err(_) => None,
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

/// Acts on the heartbeat's answers (`renewals.rs`): repairs the registry after bus outages and recovers a lapsed
/// heartbeat; once renewed, settles the connection ends that were deferred and lifts the fence. Reaping others is the
/// reaper's (`reaper.rs`), so that it never delays this; renewing is the renewals' own, so that neither this nor
/// anything else the node's runtime is busy with delays a renewal.
pub(super) async fn heartbeat(state: Arc<AppState>) {
    let cluster = &state.cluster;
    let mut answers = renewals::start(&state);
    loop {
        let answer = tokio::select! {
            _ = state.shutdown.cancelled() => break,
            answer = answers.next() => match answer {
                Some(answer) => answer,
                None => break,
            },
        };
        // About an incarnation this node left since (it joined again): nothing to do.
        if answer.token != cluster.me.read().token {
            continue;
        }
        // Live again: a renewal (the renewals counted it already) or a recovery, which counts its own.
        let live = match &answer.outcome {
            Ok(Renewal::Renewed) => {
                cluster.sync_unsynced().await;
                true
            }
            Ok(Renewal::Lapsed) => match cluster.recover(answer.sent).await {
                Some((sent, close)) => {
                    if close {
                        cluster.close_tracked(&state);
                    }
                    cluster.renewed_at(sent);
                    true
                }
                None => false,
            },
            Ok(Renewal::Superseded { by }) => {
                let node = cluster.node();
                tracing::error!(node, %by, "Another process holds this node id; check --node-id on every node.");
                false
            }
            Err(_) => false,
        };
        if live {
            cluster.settle_deferred(&state).await;
        }
    }
    answers.join().await;
}
