//! Behaviour every bus shares, run on the in-process bus, and on the Redis of `SWITCHBOARD_TEST_REDIS_URL` by the
//! `_on_redis` tests; and the Redis bus surviving a Redis restart (on a private `redis-server` the test starts itself,
//! from `test-support`). Tests that need Redis are ignored by a plain `cargo test`; `.ci/run` runs them.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use test_support::{PrivateRedis, Relay, RelayTarget};

use super::*;

/// A namespace no other test (or test run) uses.
fn namespace() -> String {
    format!("sbtest-{}-{:08x}", std::process::id(), rand::random::<u32>())
}

/// A backend's name and two clients of one bus (two nodes).
type Pair = (&'static str, Bus, Bus);

/// The backends the behaviour suite runs on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum On {
    Memory,
    /// The Redis of `SWITCHBOARD_TEST_REDIS_URL`.
    Redis,
}

async fn pair(on: On) -> Pair {
    match on {
        On::Memory => {
            let local =
                connect(Some(&format!("memory://{}", namespace())), "", &Background::new()).await.expect("memory bus");
            ("memory", local.clone(), local)
        }
        On::Redis => {
            let url = test_support::service_url("SWITCHBOARD_TEST_REDIS_URL");
            let ns = namespace();
            let a = connect(Some(&url), &ns, &Background::new()).await.expect("redis bus a");
            let b = connect(Some(&url), &ns, &Background::new()).await.expect("redis bus b");
            ("redis", a, b)
        }
    }
}

async fn recv(sub: &mut Subscription) -> Message {
    tokio::time::timeout(Duration::from_secs(5), sub.recv()).await.expect("no message within 5 s").expect("bus gone")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_reach_every_subscriber_in_one_order() {
    delivers_in_one_order(On::Memory).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Redis: SWITCHBOARD_TEST_REDIS_URL"]
async fn messages_reach_every_subscriber_in_one_order_on_redis() {
    delivers_in_one_order(On::Redis).await;
}

async fn delivers_in_one_order(on: On) {
    let (name, a, b) = pair(on).await;
    let (a, b) = (a.pubsub().clone(), b.pubsub().clone());
    assert_eq!(a.health(), Health::Connected, "{name}");
    let mut on_a = a.subscribe("room-1").await;
    let mut on_b = b.subscribe("room-1").await;
    let mut other = b.subscribe("room-2").await;
    // Two publishers interleaving: both subscribers see the same total order.
    let publish_a = {
        let a = a.clone();
        tokio::spawn(async move {
            for i in 0..100 {
                a.publish("room-1", Bytes::from(format!("a{i}"))).await.unwrap();
            }
        })
    };
    for i in 0..100 {
        b.publish("room-1", Bytes::from(format!("b{i}"))).await.unwrap();
    }
    publish_a.await.unwrap();
    let mut seen_a = Vec::new();
    let mut seen_b = Vec::new();
    for _ in 0..200 {
        seen_a.push(recv(&mut on_a).await.payload);
        seen_b.push(recv(&mut on_b).await.payload);
    }
    assert_eq!(seen_a, seen_b, "{name}: one order for every subscriber");
    for prefix in ["a", "b"] {
        let own: Vec<_> = seen_a.iter().filter(|p| p.starts_with(prefix.as_bytes())).cloned().collect();
        let expected: Vec<_> = (0..100).map(|i| Bytes::from(format!("{prefix}{i}"))).collect();
        assert_eq!(own, expected, "{name}: each publisher's order is kept");
    }
    assert!(other.try_recv().is_none(), "{name}: other channels receive nothing");
    // Unsubscribed channels are left.
    drop(on_b);
    a.publish("room-1", Bytes::from_static(b"after")).await.unwrap();
    assert_eq!(recv(&mut on_a).await.payload, Bytes::from_static(b"after"));
    assert_eq!(a.stats().missed + b.stats().missed, 0, "{name}");
    assert!(a.canary(Duration::from_secs(2)).await.is_ok(), "{name}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_state_has_the_same_semantics_everywhere() {
    has_the_cluster_state_semantics(On::Memory).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Redis: SWITCHBOARD_TEST_REDIS_URL"]
async fn cluster_state_has_the_same_semantics_everywhere_on_redis() {
    has_the_cluster_state_semantics(On::Redis).await;
}

async fn has_the_cluster_state_semantics(on: On) {
    let (name, a, b) = pair(on).await;
    let (a, b) = (a.state().clone(), b.state().clone());
    let ttl = Duration::from_millis(400);
    let one = a.join(None, "tok1", ttl).await.unwrap();
    let two = b.join(None, "tok2", ttl).await.unwrap();
    assert_ne!(one.node, two.node, "{name}: allocated ids differ");
    let three = b.join(None, "tok3b", ttl).await.unwrap();
    assert_eq!(a.holder(one.node).await.unwrap().as_deref(), Some("tok1"));
    assert_eq!(a.renew(&one, ttl).await.unwrap(), Renewal::Renewed, "{name}");
    // A renewer with a connection of its own, where the backend offers one, answers as the state does.
    let renewer = a.renewer();
    assert_eq!(renewer.is_some(), on == On::Redis, "{name}");
    if let Some(renewer) = &renewer {
        assert_eq!(renewer.renew(&one, ttl).await.unwrap(), Renewal::Renewed, "{name}");
    }
    let members = b.members().await.unwrap();
    assert!(members.contains(&one) && members.contains(&two), "{name}: {members:?}");

    // Registry: exactly one claimer wins each entry.
    a.register(&one, vec![("c1".into(), Bytes::from_static(b"r1")), ("c2".into(), Bytes::from_static(b"r2"))])
        .await
        .unwrap();
    let mut entries = b.registered(&one).await.unwrap();
    entries.sort();
    assert_eq!(entries, vec![("c1".into(), Bytes::from_static(b"r1")), ("c2".into(), Bytes::from_static(b"r2"))]);
    let (x, y) = tokio::join!(a.claim_registered(&one, "c1"), b.claim_registered(&one, "c1"));
    assert!(x.unwrap() ^ y.unwrap(), "{name}: one claim wins");
    // A survivor's claim is remembered beyond the registry (the owner learns of it when it comes back); the owner's
    // own claim is not a survivor's.
    let keep = Duration::from_secs(60);
    let entries = vec![("c3".into(), Bytes::from_static(b"r3")), ("c4".into(), Bytes::from_static(b"r4"))];
    a.register(&one, entries).await.unwrap();
    let (x, y) = tokio::join!(a.reap_registered(&one, "c3", keep), b.reap_registered(&one, "c3", keep));
    assert!(x.unwrap() ^ y.unwrap(), "{name}: one reaper wins");
    assert!(!a.claim_registered(&one, "c3").await.unwrap(), "{name}");
    assert!(a.claim_registered(&one, "c4").await.unwrap(), "{name}");
    assert!(!b.reap_registered(&one, "c4", keep).await.unwrap(), "{name}");
    assert!(a.was_reaped(&one, "c3").await.unwrap(), "{name}: the survivor's claim is remembered");
    assert!(!a.was_reaped(&one, "c4").await.unwrap(), "{name}: the owner's own claim is not a survivor's");
    assert!(!a.was_reaped(&one, "c1").await.unwrap(), "{name}");

    // Liveness: a heartbeat that is not renewed lapses; renewing then says so.
    wait_lapsed(name, &*b, &one, ttl).await;
    assert_eq!(a.renew(&one, ttl).await.unwrap(), Renewal::Lapsed, "{name}");
    // Taking over an id.
    let again = b.join(Some(one.node), "tok3", ttl).await.unwrap();
    assert_eq!(a.renew(&one, ttl).await.unwrap(), Renewal::Superseded { by: "tok3".into() }, "{name}");
    assert_eq!(again.node, one.node);

    assert!(b.bury(&one, Duration::from_secs(5)).await.unwrap(), "{name}");
    assert!(a.is_buried(&one).await.unwrap());
    assert!(!a.is_buried(&two).await.unwrap());
    // A live incarnation is not buried; a buried one is never revived by renewing, only by joining again.
    b.renew(&two, ttl).await.unwrap();
    assert!(!a.bury(&two, Duration::from_secs(5)).await.unwrap(), "{name}: two renewed, so it lives");
    assert!(!a.is_buried(&two).await.unwrap());
    assert!(a.bury(&three, Duration::from_secs(5)).await.unwrap(), "{name}");
    assert_eq!(b.renew(&three, ttl).await.unwrap(), Renewal::Lapsed, "{name}");
    if let Some(renewer) = &renewer {
        assert_eq!(renewer.renew(&three, ttl).await.unwrap(), Renewal::Lapsed, "{name}: buried");
    }
    assert_eq!(a.holder(three.node).await.unwrap(), None, "{name}: a buried incarnation stays dead");
    a.forget(&three).await.unwrap();
    a.forget(&one).await.unwrap();
    assert!(!b.members().await.unwrap().contains(&one), "{name}");
    assert!(b.registered(&one).await.unwrap().is_empty());
    assert!(b.was_reaped(&one, "c3").await.unwrap(), "{name}: forgetting a member keeps what survivors claimed");
    b.forget(&two).await.unwrap();

    // Windows.
    let w = Duration::from_secs(60);
    let first = a.count_in_window("rate", w).await.unwrap();
    let second = b.count_in_window("rate", w).await.unwrap();
    assert_eq!(second, first + 1, "{name}: one counter for every node");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fate_of_a_dead_incarnation_is_kept_for_keep_then_forgotten() {
    fate_is_kept_then_forgotten(On::Memory).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Redis: SWITCHBOARD_TEST_REDIS_URL"]
async fn the_fate_of_a_dead_incarnation_is_kept_for_keep_then_forgotten_on_redis() {
    fate_is_kept_then_forgotten(On::Redis).await;
}

/// Tombstones and survivors' claims last `keep` and no longer, on every bus: a node's logic must not count on them
/// beyond it (`server::cluster`: a node cut off longer than that treats itself as buried).
async fn fate_is_kept_then_forgotten(on: On) {
    let (name, a, b) = pair(on).await;
    let (a, b) = (a.state().clone(), b.state().clone());
    let ttl = Duration::from_millis(100);
    let dead = a.join(None, "gone", ttl).await.unwrap();
    a.register(&dead, vec![("c1".into(), Bytes::from_static(b"r1"))]).await.unwrap();
    wait_lapsed(name, &*b, &dead, ttl).await;
    let keep = Duration::from_millis(500);
    let buried_at = tokio::time::Instant::now();
    assert!(b.bury(&dead, keep).await.unwrap(), "{name}");
    assert!(b.reap_registered(&dead, "c1", keep).await.unwrap(), "{name}");
    b.forget(&dead).await.unwrap();
    assert!(a.is_buried(&dead).await.unwrap() && a.was_reaped(&dead, "c1").await.unwrap(), "{name}: kept");
    let deadline = buried_at + keep + Duration::from_secs(5);
    while a.is_buried(&dead).await.unwrap() || a.was_reaped(&dead, "c1").await.unwrap() {
        assert!(tokio::time::Instant::now() < deadline, "{name}: the tombstone or the claim outlived keep");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(buried_at.elapsed() >= keep, "{name}: forgotten only after keep");
    assert_eq!(a.renew(&dead, ttl).await.unwrap(), Renewal::Lapsed, "{name}: coming back, it learns nothing more");
    a.forget(&dead).await.unwrap();
}

/// Waits until `who`'s heartbeat (living `ttl`) has lapsed.
async fn wait_lapsed(name: &str, state: &dyn ClusterState, who: &Incarnation, ttl: Duration) {
    let deadline = tokio::time::Instant::now() + ttl + Duration::from_secs(5);
    while state.holder(who.node).await.unwrap().is_some() {
        assert!(tokio::time::Instant::now() < deadline, "{name}: the heartbeat never lapsed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_for(bus: &dyn PubSub, health: Health, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    while bus.health() != health {
        assert!(tokio::time::Instant::now() < deadline, "bus did not become {health:?} within {within:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server on PATH (a private one is started)"]
async fn redis_restart_degrades_then_recovers_and_counts_the_loss() {
    let mut redis = PrivateRedis::start();
    let url = redis.url();
    let ns = namespace();
    let a = connect(Some(&url), &ns, &Background::new()).await.unwrap().pubsub().clone();
    let b = connect(Some(&url), &ns, &Background::new()).await.unwrap().pubsub().clone();
    let mut sub = b.subscribe("room").await;
    a.publish("room", Bytes::from_static(b"before")).await.unwrap();
    assert_eq!(recv(&mut sub).await.payload, Bytes::from_static(b"before"));

    redis.stop();
    wait_for(a.as_ref(), Health::Degraded, Duration::from_secs(5)).await;
    wait_for(b.as_ref(), Health::Degraded, Duration::from_secs(5)).await;
    for _ in 0..3 {
        assert!(matches!(a.publish("room", Bytes::from_static(b"lost")).await, Err(BusError::Unavailable(_))));
    }
    assert!(a.canary(Duration::from_millis(300)).await.is_err(), "a canary cannot pass while Redis is away");

    redis.restart();
    wait_for(a.as_ref(), Health::Connected, Duration::from_secs(10)).await;
    wait_for(b.as_ref(), Health::Connected, Duration::from_secs(10)).await;
    // Resubscribed by itself: the subscription first hears that messages may have been lost, then new messages
    // arrive, and the gap is counted.
    let notice = recv(&mut sub).await;
    assert!(notice.lost && notice.payload.is_empty(), "{notice:?}");
    a.publish("room", Bytes::from_static(b"after")).await.unwrap();
    let after = recv(&mut sub).await;
    assert_eq!((after.payload, after.lost), (Bytes::from_static(b"after"), false));
    let (sa, sb) = (a.stats(), b.stats());
    assert_eq!(sa.publish_failed, 3, "{sa:?}");
    assert_eq!(sb.missed, 3, "the subscriber counts the three lost messages: {sb:?}");
    assert!(sb.reconnects >= 1 && sb.degradations >= 1 && sb.loss_notices >= 1, "{sb:?}");
    assert!(sa.canaries_failed >= 1, "{sa:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server on PATH (a private one is started)"]
async fn a_slow_subscription_is_kept_and_a_deaf_one_started_over() {
    let redis = PrivateRedis::start();
    let relay = Relay::start(RelayTarget::Unix(redis.socket())).await;
    let mut config = RedisBusConfig::new(relay.redis_url(), namespace());
    config.canary_interval = Duration::from_millis(300);
    let bus = RedisBus::connect(config, &Background::new()).await.unwrap();
    let mut sub = bus.subscribe("room").await;
    wait_for(&bus, Health::Connected, Duration::from_secs(5)).await;

    // Slow: every answer and message comes 600 ms late, twice what a canary is given. Canaries fail, and keep
    // coming back late, for three times the four failures that would start a deaf subscription over.
    relay.set_latency(Duration::from_millis(600));
    wait_for(&bus, Health::Degraded, Duration::from_secs(5)).await;
    bus.publish("room", Bytes::from_static(b"late")).await.unwrap();
    tokio::time::sleep(Duration::from_secs(7)).await;
    let stats = bus.stats();
    assert!(stats.canaries_failed >= 8, "{stats:?}");
    assert_eq!(stats.reconnects, 0, "a subscription that brings canaries back late is kept: {stats:?}");
    let late = recv(&mut sub).await;
    assert_eq!((late.payload, late.lost), (Bytes::from_static(b"late"), false));

    relay.set_latency(Duration::ZERO);
    wait_for(&bus, Health::Connected, Duration::from_secs(5)).await;

    // Deaf: the subscription stays connected and hears nothing more. It is started over, over a new connection.
    assert_eq!(relay.deafen_subscriptions(), 1);
    wait_for(&bus, Health::Degraded, Duration::from_secs(5)).await;
    wait_for(&bus, Health::Connected, Duration::from_secs(15)).await;
    let stats = bus.stats();
    assert_eq!(stats.reconnects, 1, "a deaf subscription is started over: {stats:?}");
    let notice = recv(&mut sub).await;
    assert!(notice.lost, "its subscribers hear that messages may have been lost: {notice:?}");
}

#[tokio::test]
async fn gaps_count_as_missed_only_while_unfilled() {
    let router = Arc::new(router::Router::new(16, None));
    let (mut sub, _) = router.add("c");
    // One publisher's concurrent publishes may arrive out of sequence order: not a loss.
    for seq in [10, 12, 11, 13] {
        router.dispatch("c", 7, seq, Bytes::from_static(b"x"));
    }
    assert_eq!(router.stats().missed, 0);
    router.dispatch("c", 7, 16, Bytes::from_static(b"x"));
    assert_eq!(router.stats().missed, 2, "14 and 15 never came");
    // Another publisher starts its own count; a full inbox counts too.
    for seq in 1..=20 {
        router.dispatch("c", 8, seq, Bytes::from_static(b"y"));
    }
    assert_eq!(router.stats().missed, 2 + 25 - 16);
    let mut kept = 0;
    while let Some(message) = sub.try_recv() {
        assert!(!message.lost);
        kept += 1;
    }
    assert_eq!(kept, 16, "what fitted the inbox");
    // The subscriber hears of the overflow before the next message.
    router.dispatch("c", 8, 21, Bytes::from_static(b"z"));
    assert!(sub.try_recv().unwrap().lost, "a loss notice first");
    assert_eq!(sub.try_recv().unwrap().payload, Bytes::from_static(b"z"));
    assert_eq!(router.stats().loss_notices, 1);
    // A sequence number that already arrived is a replay: dropped and counted, whatever its payload.
    router.dispatch("c", 8, 21, Bytes::from_static(b"again"));
    router.dispatch("c", 7, 12, Bytes::from_static(b"again"));
    assert!(sub.try_recv().is_none(), "replays reach nobody");
    assert_eq!(router.stats().rejected, 2);
    drop(sub);
    assert_eq!(router.stats().missed, 11, "kept after the channel is left");
}

#[tokio::test]
async fn a_bus_is_shared_only_when_other_nodes_may_use_it() {
    assert!(!connect(None, "", &Background::new()).await.unwrap().is_shared(), "a node alone");
    assert!(connect(Some(&format!("memory://{}", namespace())), "", &Background::new()).await.unwrap().is_shared());
    assert!(matches!(connect(Some("nats://x"), "", &Background::new()).await, Err(BusError::UnsupportedUrl(_))));
}

#[tokio::test]
async fn messaging_and_state_may_come_from_different_backends() {
    // A messaging-only backend paired with another state backend: each half goes to its own.
    let messages = Arc::new(LocalBus::new());
    let state = Arc::new(LocalBus::new());
    let bus = Bus::new(messages.clone(), state.clone(), true);
    let mut sub = messages.subscribe("c").await;
    bus.pubsub().publish("c", Bytes::from_static(b"m")).await.unwrap();
    assert_eq!(recv(&mut sub).await.payload, Bytes::from_static(b"m"));
    let me = bus.state().join(None, "tok", Duration::from_secs(5)).await.unwrap();
    assert_eq!(state.members().await.unwrap(), vec![me]);
    assert!(messages.members().await.unwrap().is_empty(), "the messaging backend holds no state");
    assert_eq!(bus.health(), Health::Connected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Redis: SWITCHBOARD_TEST_REDIS_URL"]
async fn a_cluster_key_keeps_out_messages_and_records_it_did_not_tag() {
    let url = test_support::service_url("SWITCHBOARD_TEST_REDIS_URL");
    let ns = namespace();
    let key: &'static [u8] = b"the cluster key 0123456789";
    let keyed = |key: Option<&'static [u8]>| {
        let (url, ns) = (url.clone(), ns.clone());
        async move {
            let options = BusOptions { key: key.map(|key| ClusterKey(key.to_vec())), ca_pem: None };
            connect_with(Some(&url), &ns, &options, &Background::new()).await.unwrap()
        }
    };
    let (a, b) = (keyed(Some(key)).await, keyed(Some(key)).await);
    let intruder = keyed(None).await;
    let forger = keyed(Some(b"another key 0123456789".as_slice())).await;
    let mut sub = b.pubsub().subscribe("room:x").await;
    for (bus, payload) in [(&intruder, "untagged"), (&forger, "forged"), (&a, "genuine")] {
        bus.pubsub().publish("room:x", Bytes::from(payload)).await.unwrap();
    }
    assert_eq!(recv(&mut sub).await.payload, Bytes::from_static(b"genuine"), "only the tagged message arrives");
    assert_eq!(b.pubsub().stats().rejected, 2);

    // Registry records: a claim planted by someone without the key is never read back.
    let owner = a.state().join(None, "tok", Duration::from_secs(5)).await.unwrap();
    a.state().register(&owner, vec![("c1".into(), Bytes::from_static(b"r1"))]).await.unwrap();
    intruder.state().register(&owner, vec![("c2".into(), Bytes::from_static(b"planted"))]).await.unwrap();
    forger.state().register(&owner, vec![("c3".into(), Bytes::from_static(b"forged"))]).await.unwrap();
    assert_eq!(b.state().registered(&owner).await.unwrap(), vec![("c1".into(), Bytes::from_static(b"r1"))]);
    assert_eq!(b.pubsub().stats().rejected, 4);
    a.state().forget(&owner).await.unwrap();
}

#[test]
fn tagged_messages_check_their_key_channel_and_time() {
    use bytes::{BufMut, BytesMut};
    let signer = auth::Signer::new(b"the cluster key 0123456789");
    let on = |channel| Some((&signer, channel));
    let raw = router::encode(1, 2, b"p", on("ns:ch:a"));
    assert_eq!(router::decode(raw.clone(), on("ns:ch:a")), Some((1, 2, Bytes::from_static(b"p"))));
    assert!(router::decode(raw.clone(), on("ns:ch:b")).is_none(), "tagged for another channel");
    assert!(router::decode(raw, None).is_none(), "a node without the key takes no tagged message");
    // Well tagged, but two minutes old: a replay.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    let mut stale = BytesMut::new();
    stale.put_u8(0xB6);
    stale.put_u64(1);
    stale.put_u64(3);
    stale.put_u64(now - 120_000);
    let tag = signer.tag(&[b"ns:ch:a", &stale[1..], b"p"]);
    stale.put_slice(&tag);
    stale.put_slice(b"p");
    assert!(router::decode(stale.freeze(), on("ns:ch:a")).is_none(), "too old");
}
