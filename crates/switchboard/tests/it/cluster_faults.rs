//! Cluster fault tests with real processes: a private `redis-server` paused with SIGSTOP longer than the node TTL,
//! one node partitioned from Redis through a TCP relay the test cuts, and a node whose runtime stalls. Each counts
//! the `$disconnect` events the integration backend receives: exactly one per accepted connection, whatever the
//! fault.

use std::collections::HashMap;
use std::time::Duration;

use crate::cluster::{
    ClusterEnv, assert_refused_503, chat_frame, chat_join, chat_send, chat_token, client, health, node,
    post_when_routed, wait_fenced, wait_for_status,
};
use crate::harness::*;

/// A node of `env` reaching Redis at `bus_url`.
async fn node_via(env: &ClusterEnv, backend: &Backend, bus_url: String) -> TestServer {
    let url = backend.url();
    TestServer::start("", |a| {
        a.routes = vec![format!("$connect={url}"), format!("$disconnect={url}"), format!("$default={url}")];
        env.apply(a);
        a.cluster.bus_url = Some(bus_url);
    })
    .await
}

/// Receives `$disconnect` events until every id of `expected` had one, each with its close code; fails on an id
/// outside `expected`, on a second event for an id, and on anything more within two seconds after the last.
async fn disconnects_once(backend: &mut Backend, expected: &[String], within: Duration) -> HashMap<String, u64> {
    let deadline = tokio::time::Instant::now() + within;
    let mut seen = HashMap::new();
    while seen.len() < expected.len() {
        let event = backend
            .next_of_before("DISCONNECT", deadline)
            .await
            .unwrap_or_else(|| panic!("only {} of {} $disconnect events: {seen:?}", seen.len(), expected.len()));
        let id = event["requestContext"]["connectionId"].as_str().unwrap().to_owned();
        assert!(expected.contains(&id), "a $disconnect for {id}, which is not one of {expected:?}");
        let code = event["requestContext"]["disconnectStatusCode"].as_u64().unwrap();
        assert!(seen.insert(id.clone(), code).is_none(), "a second $disconnect for {id}");
    }
    backend.assert_quiet(Duration::from_secs(2)).await;
    seen
}

/// Closes a client's connection with code 4000.
async fn leave(ws: &mut Ws) {
    let frame = tokio_tungstenite::tungstenite::protocol::CloseFrame { code: 4000.into(), reason: "bye".into() };
    ws.close(Some(frame)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL (SWITCHBOARD_TEST_POSTGRES_URL, SWITCHBOARD_TEST_REDIS_URL) and redis-server on PATH"]
async fn a_paused_redis_fences_every_node_and_each_disconnect_is_delivered_once() {
    let mut env = ClusterEnv::get();
    let redis = PrivateRedis::start();
    env.redis = redis.url();
    let mut backend = Backend::ok().await;
    let a = node(&env, &backend).await;
    let b = node(&env, &backend).await;
    let mut clients = Vec::new();
    for n in [&a, &b, &a, &b] {
        clients.push(client(n, &mut backend).await);
    }
    let ids: Vec<String> = clients.iter().map(|(_, id)| id.clone()).collect();

    // Redis stalls for twice the TTL: nobody can renew, claim or judge.
    redis.pause();
    let paused_at = tokio::time::Instant::now();
    // One client leaves during the stall, before the fence: its end cannot be claimed, so it waits.
    let (mut leaving, _) = clients.remove(0);
    leave(&mut leaving).await;
    // Every node fences itself within the TTL: the other connections are closed (1001), new ones refused.
    for (ws, _) in clients.iter_mut() {
        let (code, _) = tokio::time::timeout(Duration::from_secs(3), recv_close(ws)).await.expect("fenced in time");
        assert_eq!(code, 1001);
    }
    for n in [&a, &b] {
        wait_fenced(n, true, Duration::from_secs(1)).await;
        assert_refused_503(n).await;
    }
    backend.assert_quiet(Duration::from_millis(200)).await;
    tokio::time::sleep_until(paused_at + Duration::from_secs(3)).await; // the fault's length, not a wait for an event
    redis.resume();

    // Nobody was buried (everyone was stalled alike): each node claims its own entries and delivers them, once.
    let codes = disconnects_once(&mut backend, &ids, Duration::from_secs(10)).await;
    assert_eq!(codes[&ids[0]], 4000, "the client's own close code");
    assert!(ids[1..].iter().all(|id| codes[id] == 1001), "{codes:?}");
    for n in [&a, &b] {
        wait_fenced(n, false, Duration::from_secs(5)).await;
        assert_eq!(health(n).await["cluster"]["disconnectsDeliveredForDeadNodes"], 0);
    }
    // Serving again, across nodes.
    let (mut ws, id) = client(&a, &mut backend).await;
    post(&b.sdk("prod"), &id, "after").await.unwrap();
    assert_eq!(recv_text(&mut ws).await, "after");
    leave(&mut ws).await;
    disconnects_once(&mut backend, &[id], Duration::from_secs(5)).await;
    a.shutdown().await;
    b.shutdown().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL (SWITCHBOARD_TEST_POSTGRES_URL, SWITCHBOARD_TEST_REDIS_URL) and redis-server on PATH"]
async fn a_partitioned_node_fences_itself_before_a_survivor_delivers_its_disconnects() {
    let mut env = ClusterEnv::get();
    let redis = PrivateRedis::start();
    env.redis = redis.url();
    let relay = Relay::start(RelayTarget::Unix(redis.socket())).await;
    let mut backend = Backend::ok().await;
    let survivor = node(&env, &backend).await;
    let cut_off = node_via(&env, &backend, relay.redis_url()).await;
    let (mut on_survivor, kept) = client(&survivor, &mut backend).await;
    let mut clients = Vec::new();
    for _ in 0..4 {
        clients.push(client(&cut_off, &mut backend).await);
    }
    let ids: Vec<String> = clients.iter().map(|(_, id)| id.clone()).collect();
    // A session runs only once its connection is registered, so a message received proves the registration.
    for (ws, id) in clients.iter_mut() {
        post(&survivor.sdk("prod"), id, "registered").await.unwrap();
        assert_eq!(recv_text(ws).await, "registered");
    }

    relay.cut();
    // One client leaves at once: its node cannot claim it, so it is left to the survivor.
    let (mut leaving, _) = clients.remove(0);
    leave(&mut leaving).await;
    for (ws, _) in clients.iter_mut() {
        let (code, _) = tokio::time::timeout(Duration::from_secs(3), recv_close(ws)).await.expect("fenced in time");
        assert_eq!(code, 1001);
    }
    assert_eq!(health(&cut_off).await["cluster"]["fenced"], true);
    assert_refused_503(&cut_off).await;
    // The survivor buries the cut-off node only after it fenced itself, and delivers each $disconnect once.
    let codes = disconnects_once(&mut backend, &ids, Duration::from_secs(10)).await;
    assert!(codes.values().all(|code| *code == 1006), "{codes:?}");
    assert_eq!(health(&survivor).await["cluster"]["disconnectsDeliveredForDeadNodes"], ids.len() as u64);
    // The survivor's own connection was never touched.
    post(&survivor.sdk("prod"), &kept, "still here").await.unwrap();
    assert_eq!(recv_text(&mut on_survivor).await, "still here");

    // The partition heals: the cut-off node learns it was buried, joins again and serves; nothing is delivered twice.
    relay.restore();
    wait_fenced(&cut_off, false, Duration::from_secs(10)).await;
    let h = health(&cut_off).await;
    assert!(h["cluster"]["fences"].as_u64().unwrap() >= 1, "{h}");
    let (mut ws, id) = client(&cut_off, &mut backend).await;
    post_when_routed(&survivor, &id, "rejoined").await;
    assert_eq!(recv_text(&mut ws).await, "rejoined");
    leave(&mut ws).await;
    let codes = disconnects_once(&mut backend, std::slice::from_ref(&id), Duration::from_secs(5)).await;
    assert_eq!(codes[&id], 4000);
    survivor.shutdown().await;
    cut_off.shutdown().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL (SWITCHBOARD_TEST_POSTGRES_URL, SWITCHBOARD_TEST_REDIS_URL) and redis-server on PATH"]
async fn a_survivor_delivers_the_disconnect_of_a_deployed_apis_connection() {
    use crate::deployments::{Defined, define, exchange, next_event, next_event_before};
    let mut env = ClusterEnv::get();
    let redis = PrivateRedis::start();
    env.redis = redis.url();
    let relay = Relay::start(RelayTarget::Unix(redis.socket())).await;
    let nodes_backend = Backend::ok().await;
    let survivor = node(&env, &nodes_backend).await;
    let cut_off = node_via(&env, &nodes_backend, relay.redis_url()).await;
    // An API defined and deployed through apigatewayv2 on the survivor, which only the shared store knows.
    let (mut first, second) = (Backend::ok().await, Backend::ok().await);
    let sdk = crate::apigatewayv2::sdk(&survivor);
    let Defined { api, .. } = define(&sdk, &first, &second).await;
    sdk.create_deployment().api_id(&api).stage_name("prod").send().await.unwrap();
    let url = format!("ws://{}/@apis/{api}/prod", cut_off.addr);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let id = next_event(&mut first, "CONNECT").await;
    assert!(exchange(&mut ws, 1).await.is_object(), "the session runs, so the connection is registered");

    relay.cut();
    assert_eq!(recv_close(&mut ws).await.0, 1001, "fenced");
    let within = |secs| tokio::time::Instant::now() + Duration::from_secs(secs);
    let delivered = next_event_before(&mut first, "DISCONNECT", within(10)).await;
    assert_eq!(delivered.expect("the survivor delivers the $disconnect"), id);
    let again = next_event_before(&mut first, "DISCONNECT", within(2)).await;
    assert!(again.is_none(), "delivered once: {again:?}");
    assert_eq!(health(&survivor).await["cluster"]["disconnectsDeliveredForDeadNodes"], 1);
    survivor.shutdown().await;
    cut_off.shutdown().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL (SWITCHBOARD_TEST_POSTGRES_URL, SWITCHBOARD_TEST_REDIS_URL) and redis-server on PATH"]
async fn room_members_hear_of_frames_lost_while_redis_was_away() {
    let mut env = ClusterEnv::get();
    let mut redis = PrivateRedis::start();
    env.redis = redis.url();
    let backend = Backend::ok().await;
    let (a, b) = (node(&env, &backend).await, node(&env, &backend).await);
    let room = a.chat_sdk().create_room().send().await.unwrap();
    let arn = room.arn().unwrap().to_owned();
    let mut on_a = chat_join(&a, &chat_token(&a, &arn, "ann", true).await).await;
    let mut on_b = chat_join(&b, &chat_token(&a, &arn, "bob", true).await).await;
    chat_send(&mut on_a, "r1", "before").await;
    for ws in [&mut on_a, &mut on_b] {
        assert_eq!(chat_frame(ws).await["Content"], "before");
    }

    redis.stop();
    for n in [&a, &b] {
        wait_for_status(n, "degraded", Duration::from_secs(5)).await;
    }
    // A frame the bus does not take reaches nobody, and its sender hears of it.
    chat_send(&mut on_a, "r2", "during").await;
    let error = chat_frame(&mut on_a).await;
    assert_eq!((error["Type"].as_str(), error["ErrorCode"].as_u64()), (Some("ERROR"), Some(500)), "{error}");

    // Redis comes back: each node's subscription was re-established, so every member hears that frames may have
    // been lost (frames other nodes published between the loss and the resubscription never reach them), then the
    // room goes on.
    redis.restart();
    for ws in [&mut on_a, &mut on_b] {
        let notice = tokio::time::timeout(Duration::from_secs(10), chat_frame(ws)).await.expect("a loss notice");
        assert_eq!(
            (notice["Type"].as_str(), notice["EventName"].as_str()),
            (Some("EVENT"), Some("switchboard:messages-lost"))
        );
    }
    for n in [&a, &b] {
        let h = wait_for_status(n, "ok", Duration::from_secs(10)).await;
        assert!(h["cluster"]["lossNotices"].as_u64().unwrap() >= 1, "{h}");
    }
    chat_send(&mut on_b, "r3", "after").await;
    for ws in [&mut on_a, &mut on_b] {
        assert_eq!(chat_frame(ws).await["Content"], "after");
    }
    a.shutdown().await;
    b.shutdown().await;
    env.cleanup().await;
}

/// A node whose runtime is too busy to run anything for longer than its fence allows (TTL 1.5 s: fenced 1 s after the
/// last renewal) is busy, not cut off: its heartbeat, renewed from a thread of its own, holds, so it neither fences
/// itself nor is buried, and its connections are served once the runtime moves again.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
#[ignore = "needs Redis and PostgreSQL: SWITCHBOARD_TEST_REDIS_URL, SWITCHBOARD_TEST_POSTGRES_URL"]
async fn a_node_whose_runtime_stalls_keeps_its_heartbeat_and_its_connections() {
    let env = ClusterEnv::get();
    let mut backend = Backend::ok().await;
    let busy = node(&env, &backend).await;
    let (mut ws, id) = client(&busy, &mut backend).await;
    post(&busy.sdk("prod"), &id, "before").await.unwrap();
    assert_eq!(recv_text(&mut ws).await, "before");

    // The runtime's one worker and the test's own thread (which drives the runtime's timers when the worker is busy)
    // both blocked for 3 s.
    let (started_tx, started) = std::sync::mpsc::channel();
    tokio::spawn(async move {
        started_tx.send(()).unwrap();
        std::thread::sleep(Duration::from_secs(3));
    });
    started.recv_timeout(Duration::from_secs(5)).expect("the blocking task runs on the worker");
    std::thread::sleep(Duration::from_secs(3));
    // The fence's watch wakes past its old deadline now: it must find renewals made meanwhile.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let h = health(&busy).await;
    assert_eq!((h["cluster"]["fences"].as_u64(), h["cluster"]["fenced"].as_bool()), (Some(0), Some(false)), "{h}");
    post(&busy.sdk("prod"), &id, "after").await.unwrap();
    assert_eq!(recv_text(&mut ws).await, "after");
    backend.assert_quiet(Duration::from_millis(500)).await;
    busy.shutdown().await;
    env.cleanup().await;
}
