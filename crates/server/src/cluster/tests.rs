//! The owner's side of `$disconnect` exactly once, on the in-process shared bus: when a node finds its registry
//! entry gone at a connection's end, it reports the end unless a survivor claimed the entry — whether or not the
//! node was buried meanwhile, and whether or not it knew its registration had arrived; and a node that comes back
//! after the survivors forgot its fate reports only what it still claims.

use std::sync::Arc;
use std::time::Duration;

use bus::{Bus, Incarnation, LocalBus, Renewal};
use bytes::Bytes;
use hub::{ConnectionId, IdGenerator};

use super::{Cluster, ClusterSettings, Tracked};

const TTL: Duration = Duration::from_secs(1);
const KEEP: Duration = Duration::from_secs(3600);

async fn node() -> (Cluster, Bus) {
    let bus = Bus::of(Arc::new(LocalBus::new()), true);
    let settings = ClusterSettings { liveness_ttl: TTL, forward_timeout: Duration::from_secs(1), fate_keep: KEEP };
    (Cluster::join(bus.clone(), None, settings).await.unwrap(), bus)
}

/// A connection the node tracks (as `track` does), `synced` if it knows its registration arrived; and whether the
/// registration did arrive is up to the caller.
fn tracked(cluster: &Cluster, synced: bool) -> (ConnectionId, Incarnation) {
    let me = cluster.me.read().clone();
    let id = IdGenerator::new(me.node).next();
    let tracked = Tracked { record: Bytes::from_static(b"{}"), token: me.token.as_str().into(), synced };
    cluster.tracked.lock().insert(id, tracked);
    (id, me)
}

async fn register(bus: &Bus, me: &Incarnation, id: ConnectionId) {
    bus.state().register(me, vec![(id.to_string(), Bytes::from_static(b"{}"))]).await.unwrap();
}

/// Survivors judge the node dead and bury it.
async fn bury(bus: &Bus, me: &Incarnation) {
    tokio::time::advance(TTL * 2).await;
    assert!(bus.state().bury(me, KEEP).await.unwrap());
}

#[tokio::test(start_paused = true)]
async fn a_claim_whose_answer_was_lost_is_reported_by_its_node_even_once_buried() {
    let (cluster, bus) = node().await;
    let (lost_answer, me) = tracked(&cluster, true);
    let (reaped, _) = tracked(&cluster, true);
    register(&bus, &me, lost_answer).await;
    register(&bus, &me, reaped).await;
    // The node's own claim was applied but its answer lost; then survivors buried the node and claimed the other
    // entry, the only one left.
    assert!(bus.state().claim_registered(&me, &lost_answer.to_string()).await.unwrap());
    bury(&bus, &me).await;
    assert!(bus.state().reap_registered(&me, &reaped.to_string(), KEEP).await.unwrap());
    assert!(cluster.release(lost_answer, 1001, "Going away").await, "nobody else reported it: the node does");
    assert!(!cluster.release(reaped, 1001, "Going away").await, "a survivor reported it");
}

#[tokio::test(start_paused = true)]
async fn a_registration_whose_answer_was_lost_is_reported_once() {
    let (cluster, bus) = node().await;
    // Both registrations' answers were lost; one had been applied, and a survivor claimed it after burying the node.
    let (applied, me) = tracked(&cluster, false);
    let (never_arrived, _) = tracked(&cluster, false);
    register(&bus, &me, applied).await;
    bury(&bus, &me).await;
    assert!(bus.state().reap_registered(&me, &applied.to_string(), KEEP).await.unwrap());
    assert!(!cluster.release(applied, 1006, "").await, "a survivor reported it");
    assert!(cluster.release(never_arrived, 1006, "").await, "nobody else could report it: the node does");
}

#[tokio::test(start_paused = true)]
async fn a_node_back_after_its_fate_was_forgotten_reports_only_what_it_still_claims() {
    let (cluster, bus) = node().await;
    let (reaped, me) = tracked(&cluster, true);
    let (unreported, _) = tracked(&cluster, true);
    register(&bus, &me, reaped).await;
    register(&bus, &me, unreported).await;
    // Cut off: survivors buried the node and reported one of its connections; then their records expired.
    bury(&bus, &me).await;
    assert!(bus.state().reap_registered(&me, &reaped.to_string(), KEEP).await.unwrap());
    tokio::time::advance(KEEP).await;
    assert!(
        !bus.state().is_buried(&me).await.unwrap() && !bus.state().was_reaped(&me, &reaped.to_string()).await.unwrap()
    );

    // Its heartbeat comes back, lapsed, as the heartbeat task finds it.
    let sent = tokio::time::Instant::now();
    assert_eq!(bus.state().renew(&me, TTL).await.unwrap(), Renewal::Lapsed);
    let (_, close) = cluster.recover(sent).await.expect("the bus answers");
    assert!(!cluster.release(reaped, 1006, "").await, "a survivor reported it: not again");
    assert!(cluster.release(unreported, 1006, "").await, "nobody else reported it: the node does, once");
    assert!(close, "it treats itself as buried: its connections close");
    assert_ne!(cluster.me.read().token, me.token, "it joined again as a new incarnation");
    assert!(bus.state().registered(&me).await.unwrap().is_empty());
}
