//! Fencing: a node cut off from the bus stops serving its API connections before any survivor may claim them, so
//! that no `$disconnect` is delivered twice and none is lost.
//!
//! Timing, on tokio's clock of each node. A heartbeat renewal sent at `s` that succeeded keeps the node's heartbeat
//! key alive until at least `s + TTL` (Redis starts the TTL when it runs the renewal, which is after `s`). The node
//! fences itself at `s + TTL − margin` unless a later renewal succeeded; survivors claim an incarnation's connections
//! only after its key has been gone for `margin` (`reaper.rs`), i.e. no earlier than `s + TTL + margin`. The margin
//! is one heartbeat interval (a third of the TTL), so the fence comes two intervals before the earliest claim.
//!
//! Fenced, a node closes its API connections (1001) and refuses new API handshakes (503). A connection that ends
//! while its registry entry cannot be claimed (the bus does not answer) waits for the claim until the fence, then is
//! deferred with its close code; once a renewal succeeds again the node claims each deferred entry: won, it delivers
//! the `$disconnect` itself (nobody else can); lost, a survivor delivered it. Then the fence is lifted.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use apigw::record::Record;
use bytes::Bytes;
use hub::{CloseRequest, ConnectionId};
use tokio::time::Instant;

use super::{Cluster, Tracked, reaper};
use crate::state::AppState;

/// When this node's renewals succeeded: the send time of the last, and of the first of the unbroken run of renewals
/// that ends with it (a renewal more than two intervals after the previous one starts a new run).
#[derive(Clone, Copy, Debug)]
pub(super) struct Renewals {
    pub(super) last: Instant,
    pub(super) streak: Instant,
}

/// A connection end this node could not claim yet.
#[derive(Debug)]
pub(super) struct Deferred {
    record: Bytes,
    token: Arc<str>,
    code: u16,
    reason: String,
}

impl Cluster {
    /// Whether this node is fenced: cut off from the bus for too long to serve API connections.
    pub(crate) fn is_fenced(&self) -> bool {
        self.fenced.load(Ordering::Acquire)
    }

    /// When this node fences itself unless a renewal succeeds first.
    pub(super) fn fence_deadline(&self) -> Instant {
        self.renewed.lock().last + self.settings.liveness_ttl.saturating_sub(self.margin())
    }

    /// Since when this node has renewed its heartbeat without a break: the reaper judges others only after a whole
    /// TTL of it, so that every node stalled with this one had time to renew too.
    pub(super) fn renewing_since(&self) -> Instant {
        self.renewed.lock().streak
    }

    /// A renewal sent at `sent` succeeded.
    pub(super) fn renewed_at(&self, sent: Instant) {
        let mut renewed = self.renewed.lock();
        if sent > renewed.last + self.interval() * 2 {
            renewed.streak = sent;
        }
        renewed.last = renewed.last.max(sent);
    }

    pub(super) fn defer(&self, id: ConnectionId, tracked: Tracked, code: u16, reason: &str) {
        let deferred = Deferred { record: tracked.record, token: tracked.token, code, reason: reason.to_owned() };
        self.deferred.lock().insert(id, deferred);
    }

    fn fence(&self, state: &AppState) {
        if self.fenced.swap(true, Ordering::AcqRel) {
            return;
        }
        self.fences.fetch_add(1, Ordering::Relaxed);
        tracing::error!(
            node = self.node(),
            "Cut off from the cluster bus for too long: fencing this node (closing its API connections, refusing \
             new ones) before survivors may claim them."
        );
        self.close_tracked(state);
    }

    /// Closes every API connection this node tracks (1001).
    pub(super) fn close_tracked(&self, state: &AppState) {
        let ids: Vec<ConnectionId> = self.tracked.lock().keys().copied().collect();
        for id in ids {
            if let Some(conn) = state.hub.get(id) {
                conn.close(CloseRequest::shutdown());
            }
        }
    }

    /// After a renewal succeeded: claims the deferred connection ends and delivers those this node won, then lifts
    /// the fence. Entries the bus did not answer for stay deferred.
    pub(super) async fn settle_deferred(&self, state: &Arc<AppState>) {
        let entries: Vec<(ConnectionId, Deferred)> = self.deferred.lock().drain().collect();
        let mut delivered = 0;
        for (id, deferred) in entries {
            let owner = bus::Incarnation { node: id.node(), token: deferred.token.to_string() };
            match self.claim_own(&owner, &id.to_string()).await {
                Ok(true) => {
                    delivered += 1;
                    let Ok(record) = serde_json::from_slice::<Record>(&deferred.record) else { continue };
                    reaper::spawn_disconnect(state, id.to_string(), record, deferred.code, deferred.reason).await;
                }
                Ok(false) => {}
                Err(_) => {
                    self.deferred.lock().insert(id, deferred);
                }
            }
        }
        if self.deferred.lock().is_empty() && self.fenced.swap(false, Ordering::AcqRel) {
            tracing::warn!(node = self.node(), delivered, "The cluster bus answers again; this node serves again.");
        }
    }
}

/// Fences this node when its fence deadline passes without a successful renewal.
pub(super) async fn watch(state: Arc<AppState>) {
    let cluster = &state.cluster;
    loop {
        let wake = if cluster.is_fenced() { Instant::now() + cluster.interval() } else { cluster.fence_deadline() };
        tokio::select! {
            _ = state.shutdown.cancelled() => return,
            _ = tokio::time::sleep_until(wake) => {}
        }
        if !cluster.is_fenced() && Instant::now() >= cluster.fence_deadline() {
            cluster.fence(&state);
        }
    }
}
