//! Cluster mode: three nodes on loopback sharing the real Redis and PostgreSQL of this machine
//! (`SWITCHBOARD_TEST_REDIS_URL`, `SWITCHBOARD_TEST_POSTGRES_URL`). They are ignored by a plain `cargo test`, listed
//! with that reason; `.ci/run` runs them with `--include-ignored`, and a missing variable then fails them. Each test has
//! its own namespace (Redis key prefix and PostgreSQL schema), so tests run in parallel.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use server::config::ServeArgs;

use crate::harness::*;

/// The services of this run.
#[derive(Clone)]
pub struct ClusterEnv {
    pub redis: String,
    pub postgres: String,
    /// Redis key prefix and PostgreSQL schema of this test.
    pub namespace: String,
}

impl ClusterEnv {
    /// The cluster of `SWITCHBOARD_TEST_REDIS_URL` and `SWITCHBOARD_TEST_POSTGRES_URL`; a missing variable fails the
    /// test (these tests are ignored by a plain `cargo test` and run by `.ci/run`).
    pub fn get() -> ClusterEnv {
        ClusterEnv {
            redis: test_support::service_url("SWITCHBOARD_TEST_REDIS_URL"),
            postgres: test_support::service_url("SWITCHBOARD_TEST_POSTGRES_URL"),
            namespace: format!("sbit_{}_{:08x}", std::process::id(), rand_u32()),
        }
    }

    /// The flags of a node of this cluster.
    pub fn apply(&self, args: &mut ServeArgs) {
        args.cluster.bus_url = Some(self.redis.clone());
        args.cluster.store_url = Some(self.postgres.clone());
        args.cluster.cluster_namespace = Some(self.namespace.clone());
        args.cluster.node_ttl_ms = Some(1500);
    }

    /// Drops the test's schema (Redis keys of the namespace expire or are tiny).
    pub async fn cleanup(&self) {
        if let Ok(store) = store::PostgresStore::connect_in(&self.postgres, &self.namespace).await {
            let _ = store.drop_schema().await;
        }
    }
}

fn rand_u32() -> u32 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    nanos ^ std::process::id().rotate_left(16)
}

/// A node whose default API routes `$connect`, `$disconnect` and `$default` to `backend`.
pub async fn node(env: &ClusterEnv, backend: &Backend) -> TestServer {
    let url = backend.url();
    TestServer::start("", |a| {
        a.routes = vec![format!("$connect={url}"), format!("$disconnect={url}"), format!("$default={url}")];
        env.apply(a);
    })
    .await
}

pub async fn health(server: &TestServer) -> Value {
    serde_json::from_str(&reqwest::get(server.admin_url("/@switchboard/health")).await.unwrap().text().await.unwrap())
        .unwrap()
}

/// Connects a client to `server` and returns it with its connection id (from the backend's CONNECT event).
pub async fn client(server: &TestServer, backend: &mut Backend) -> (Ws, String) {
    let ws = server.connect("/prod").await;
    let event = backend.next_of("CONNECT").await;
    (ws, event["requestContext"]["connectionId"].as_str().unwrap().to_owned())
}

/// Waits until `server` reports `fenced` as `fenced`.
pub async fn wait_fenced(server: &TestServer, fenced: bool, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let h = health(server).await;
        if h["cluster"]["fenced"] == fenced {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "fenced never became {fenced}: {h}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A fenced node refuses API handshakes with 503.
pub async fn assert_refused_503(server: &TestServer) {
    match server.try_connect("/prod", &[]).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 503),
        other => panic!("a fenced node accepted a handshake: {:?}", other.map(|_| ())),
    }
}

/// PostToConnection through `via`, retried for up to five seconds while the bus cannot route it yet (a node that just
/// came back).
pub async fn post_when_routed(via: &TestServer, id: &str, text: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match post(&via.sdk("prod"), id, text).await {
            Ok(()) => return,
            Err(_) if tokio::time::Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(err) => panic!("cross-node call after recovery: {err:?}"),
        }
    }
}

/// A connection id naming a node nobody holds (the first character carries the node id's high bits).
fn on_unknown_node(id: &str) -> String {
    format!("Z{}", &id[1..])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs Redis and PostgreSQL: SWITCHBOARD_TEST_REDIS_URL, SWITCHBOARD_TEST_POSTGRES_URL"]
async fn management_calls_reach_the_node_holding_the_connection() {
    let env = ClusterEnv::get();
    let mut backend = Backend::ok().await;
    let a = node(&env, &backend).await;
    let b = node(&env, &backend).await;
    let c = node(&env, &backend).await;
    let ids: Vec<u64> = {
        let mut out = Vec::new();
        for n in [&a, &b, &c] {
            out.push(health(n).await["cluster"]["node"].as_u64().unwrap());
        }
        out
    };
    assert!(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2], "allocated node ids differ: {ids:?}");
    for n in [&a, &b, &c] {
        let h = health(n).await;
        assert_eq!(h["status"], "ok", "{h}");
        assert_eq!(h["cluster"]["backend"], "redis");
        assert_eq!(h["cluster"]["state"], "connected");
    }

    let (mut ws, id) = client(&a, &mut backend).await;
    // PostToConnection from the two other nodes, with the SDK: same answers as on one node.
    for (i, other) in [&b, &c].into_iter().enumerate() {
        post(&other.sdk("prod"), &id, format!("hello {i}")).await.unwrap();
        assert_eq!(recv_text(&mut ws).await, format!("hello {i}"));
    }
    // Binary data crosses the bus intact.
    let raw = Raw { body: vec![0xff, 0x00, 0x80], ..Raw::new("POST", format!("/prod/@connections/{id}")) };
    assert_eq!(parts(raw.send(&b).await).await.0, 200);
    // GetConnection from b: the identity and times the owner knows.
    let got = b.sdk("prod").get_connection().connection_id(&id).send().await.unwrap();
    assert_eq!(got.identity().unwrap().source_ip(), Some("127.0.0.1"));
    assert!(got.connected_at().is_some() && got.last_active_at().is_some());
    let (status, _, body) = parts(Raw::new("GET", format!("/prod/@connections/{id}")).send(&c).await).await;
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert!(body["connectedAt"].is_string() && body["identity"]["sourceIp"] == "127.0.0.1", "{body}");
    // A stage the connection is not on: 410, as on one node.
    let (status, error, _) = parts(Raw::new("GET", format!("/other/@connections/{id}")).send(&b).await).await;
    assert_eq!((status, error.as_str()), (403, "ForbiddenException"));
    // Unknown node, malformed id.
    let (status, error, body) =
        parts(Raw::new("POST", format!("/prod/@connections/{}", on_unknown_node(&id))).send(&b).await).await;
    assert_eq!((status, error.as_str(), body.as_str()), (410, "GoneException", ""));
    let (status, error, _) = parts(Raw::new("POST", "/prod/@connections/nope").send(&b).await).await;
    assert_eq!((status, error.as_str()), (400, "BadRequestException"));

    // DeleteConnection from c closes it on a.
    c.sdk("prod").delete_connection().connection_id(&id).send().await.unwrap();
    assert_eq!(recv_close(&mut ws).await, (1000, "Connection Closed Normally".to_owned()));
    let disconnect = backend.next_of("DISCONNECT").await;
    assert_eq!(disconnect["requestContext"]["connectionId"], id.as_str());
    let (status, error, body) = parts(Raw::new("GET", format!("/prod/@connections/{id}")).send(&b).await).await;
    assert_eq!((status, error.as_str(), body.as_str()), (410, "GoneException", ""));
    backend.assert_quiet(Duration::from_millis(300)).await;

    for n in [a, b, c] {
        n.shutdown().await;
    }
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs Redis and PostgreSQL: SWITCHBOARD_TEST_REDIS_URL, SWITCHBOARD_TEST_POSTGRES_URL"]
async fn a_forwarded_post_repeated_under_one_invocation_id_arrives_once() {
    let env = ClusterEnv::get();
    let mut backend = Backend::ok().await;
    let owner = node(&env, &backend).await;
    // The forwarding node gives up on the owner after a millisecond, so an attempt may answer a retryable 500 although
    // the owner applied it; SDKs then retry with the same `amz-sdk-invocation-id`. Whatever each attempt answered,
    // the owner applies the call once.
    let url = backend.url();
    let impatient = TestServer::start("", |a| {
        a.routes = vec![format!("$connect={url}"), format!("$disconnect={url}"), format!("$default={url}")];
        env.apply(a);
        a.cluster.forward_timeout_ms = Some(1);
    })
    .await;
    let (mut ws, id) = client(&owner, &mut backend).await;
    let attempt = || Raw {
        body: b"once".to_vec(),
        unsigned_headers: vec![("amz-sdk-invocation-id", "3f1c0e4e-8d0f-4c8e-9a52-0c6b1f6d2a10".to_owned())],
        ..Raw::new("POST", format!("/prod/@connections/{id}"))
    };
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(parts(attempt().send(&impatient).await).await.0);
    }
    assert!(statuses.iter().all(|s| *s == 200 || *s == 500), "{statuses:?}");
    assert_eq!(recv_text(&mut ws).await, "once");
    let next = tokio::time::timeout(Duration::from_secs(1), futures_util::StreamExt::next(&mut ws)).await;
    assert!(next.is_err(), "the retries were not applied again: {next:?} (attempts answered {statuses:?})");
    // Through the SDK, which retries on its own.
    let outcome = post(&impatient.sdk("prod"), &id, "by the SDK".to_owned()).await;
    assert_eq!(recv_text(&mut ws).await, "by the SDK");
    let next = tokio::time::timeout(Duration::from_secs(1), futures_util::StreamExt::next(&mut ws)).await;
    assert!(next.is_err(), "once: {next:?} (the SDK call ended {outcome:?})");
    // A new call (a new invocation id) is applied as usual.
    post(&owner.sdk("prod"), &id, "again".to_owned()).await.unwrap();
    assert_eq!(recv_text(&mut ws).await, "again");
    for n in [owner, impatient] {
        n.shutdown().await;
    }
    env.cleanup().await;
}

/// A `switchboard serve` process of the cluster, to kill with SIGKILL.
pub(crate) struct Process {
    pub(crate) child: Child,
    pub(crate) addr: std::net::SocketAddr,
    _dir: tempfile::TempDir,
}

impl Process {
    pub(crate) fn start(env: &ClusterEnv, backend: &Backend) -> Process {
        let dir = tempfile::tempdir().unwrap();
        let url = backend.url();
        let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(["serve", "--listen", "127.0.0.1:0", "--access-key-id", AKID, "--secret-access-key", SECRET])
            .arg("--data-dir")
            .arg(dir.path())
            .args(["--route", &format!("$connect={url}"), "--route", &format!("$disconnect={url}")])
            .args(["--bus-url", &env.redis, "--store-url", &env.postgres, "--cluster-namespace", &env.namespace])
            .args(["--node-ttl-ms", "1500"])
            .env_remove("SWITCHBOARD_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            let line = lines.next().expect("the node exited").unwrap();
            if let Some(addr) = line.strip_prefix("Switchboard is listening on ") {
                break addr.trim().parse().unwrap();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Process { child, addr, _dir: dir }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs Redis and PostgreSQL: SWITCHBOARD_TEST_REDIS_URL, SWITCHBOARD_TEST_POSTGRES_URL"]
async fn a_killed_node_is_reported_gone_and_its_disconnects_are_delivered_once() {
    let env = ClusterEnv::get();
    let mut backend = Backend::ok().await;
    let a = node(&env, &backend).await;
    let b = node(&env, &backend).await;
    let mut victim = Process::start(&env, &backend);

    // Traffic on the victim's connections, driven from a and b.
    let mut clients = Vec::new();
    for _ in 0..5 {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/prod", victim.addr)).await.unwrap();
        let event = backend.next_of("CONNECT").await;
        clients.push((ws, event["requestContext"]["connectionId"].as_str().unwrap().to_owned()));
    }
    for (i, (ws, id)) in clients.iter_mut().enumerate() {
        let via = if i % 2 == 0 { &a } else { &b };
        post(&via.sdk("prod"), id, "before").await.unwrap();
        assert_eq!(recv_text(ws).await, "before");
    }

    let killed_at = std::time::Instant::now();
    victim.child.kill().unwrap(); // SIGKILL: no $disconnect from the victim itself.
    victim.child.wait().unwrap();

    // Every connection's $disconnect arrives once, from a survivor, within TTL + a few heartbeats.
    let mut seen = std::collections::HashSet::new();
    while seen.len() < clients.len() {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let event = backend.next_of_before("DISCONNECT", deadline).await.expect("$disconnect within 10 s");
        let id = event["requestContext"]["connectionId"].as_str().unwrap().to_owned();
        assert!(clients.iter().any(|(_, c)| *c == id), "unexpected $disconnect for {id}");
        assert!(seen.insert(id), "a $disconnect was delivered twice");
        assert_eq!(event["requestContext"]["disconnectStatusCode"], 1006);
    }
    let delay = killed_at.elapsed();
    assert!(delay < Duration::from_secs(8), "reaped after {delay:?}");
    backend.assert_quiet(Duration::from_secs(2)).await;

    // Gone everywhere.
    for (_, id) in &clients {
        for via in [&a, &b] {
            let (status, error, _) = parts(Raw::new("GET", format!("/prod/@connections/{id}")).send(via).await).await;
            assert_eq!((status, error.as_str()), (410, "GoneException"));
        }
    }
    let reaped: u64 = [health(&a).await, health(&b).await]
        .iter()
        .map(|h| h["cluster"]["disconnectsDeliveredForDeadNodes"].as_u64().unwrap())
        .sum();
    assert_eq!(reaped, clients.len() as u64);
    a.shutdown().await;
    b.shutdown().await;
    env.cleanup().await;
}

pub async fn wait_for_status(server: &TestServer, status: &str, within: Duration) -> Value {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let h = health(server).await;
        if h["status"] == status {
            return h;
        }
        assert!(tokio::time::Instant::now() < deadline, "health never became {status}: {h}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs Redis and PostgreSQL: SWITCHBOARD_TEST_REDIS_URL, SWITCHBOARD_TEST_POSTGRES_URL"]
async fn redis_restart_degrades_nodes_then_they_recover_by_themselves() {
    let mut env = ClusterEnv::get();
    let mut redis = PrivateRedis::start();
    env.redis = redis.url();
    let mut backend = Backend::ok().await;
    let a = node(&env, &backend).await;
    let b = node(&env, &backend).await;
    let (mut ws_a, id_a) = client(&a, &mut backend).await;
    let (mut ws_b, id_b) = client(&b, &mut backend).await;
    post(&b.sdk("prod"), &id_a, "cross 1").await.unwrap();
    assert_eq!(recv_text(&mut ws_a).await, "cross 1");

    redis.stop();
    for n in [&a, &b] {
        let h = wait_for_status(n, "degraded", Duration::from_secs(5)).await;
        assert_eq!(h["cluster"]["state"], "degraded", "{h}");
    }
    // A call for the other node cannot be routed: a retryable 500, never a false 410.
    let (status, error, _) = parts(Raw::new("POST", format!("/prod/@connections/{id_a}")).send(&b).await).await;
    assert_eq!((status, error.as_str()), (500, "InternalServerException"));
    // Cut off from Redis for longer than the heartbeat allows, each node fences itself: its API connections are
    // closed and new ones refused, and no `$disconnect` is delivered while nobody can tell who owns them.
    for ws in [&mut ws_a, &mut ws_b] {
        assert_eq!(recv_close(ws).await.0, 1001);
    }
    for n in [&a, &b] {
        assert_eq!(health(n).await["cluster"]["fenced"], true);
        assert_refused_503(n).await;
    }
    backend.assert_quiet(Duration::from_millis(500)).await;

    // Redis comes back empty: the nodes reconnect, resubscribe, prove it with a canary, find their heartbeats lapsed
    // without a burial, and deliver the `$disconnect` of the connections they closed, once each.
    redis.restart();
    for n in [&a, &b] {
        let h = wait_for_status(n, "ok", Duration::from_secs(10)).await;
        let cluster = &h["cluster"];
        assert!(cluster["reconnects"].as_u64().unwrap() >= 1, "{h}");
        assert!(cluster["degradations"].as_u64().unwrap() >= 1, "{h}");
        assert!(cluster["canariesOk"].as_u64().unwrap() >= 1, "{h}");
        assert!(cluster["publishFailed"].is_u64() && cluster["missed"].is_u64(), "{h}");
    }
    let mut ended = Vec::new();
    for _ in 0..2 {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let event = backend.next_of_before("DISCONNECT", deadline).await.expect("$disconnect within 10 s");
        assert_eq!(event["requestContext"]["disconnectStatusCode"], 1001);
        ended.push(event["requestContext"]["connectionId"].as_str().unwrap().to_owned());
    }
    ended.sort();
    let mut expected = vec![id_a, id_b];
    expected.sort();
    assert_eq!(ended, expected, "one $disconnect for each connection the fence closed");
    for n in [&a, &b] {
        wait_fenced(n, false, Duration::from_secs(5)).await;
    }
    let (mut ws_a, id_a) = client(&a, &mut backend).await;
    let (mut ws_b, id_b) = client(&b, &mut backend).await;
    post_when_routed(&b, &id_a, "cross 2").await;
    assert_eq!(recv_text(&mut ws_a).await, "cross 2");
    // Nobody was declared dead: no $disconnect for live connections, even after a whole TTL.
    backend.assert_quiet(Duration::from_secs(3)).await;
    post(&a.sdk("prod"), &id_b, "cross 3").await.unwrap();
    assert_eq!(recv_text(&mut ws_b).await, "cross 3");
    // And a connection ending now gets exactly one $disconnect.
    a.sdk("prod").delete_connection().connection_id(&id_b).send().await.unwrap();
    assert_eq!(backend.next_of("DISCONNECT").await["requestContext"]["connectionId"], id_b.as_str());
    backend.assert_quiet(Duration::from_millis(500)).await;
    a.shutdown().await;
    b.shutdown().await;
    env.cleanup().await;
}

/// A chat token from `via`'s control plane.
pub async fn chat_token(via: &TestServer, arn: &str, user: &str, send: bool) -> String {
    let mut request = via.chat_sdk().create_chat_token().room_identifier(arn).user_id(user);
    if send {
        request = request
            .capabilities(aws_sdk_ivschat::types::ChatTokenCapability::SendMessage)
            .capabilities(aws_sdk_ivschat::types::ChatTokenCapability::DisconnectUser);
    }
    request.send().await.unwrap().token().unwrap().to_owned()
}

pub fn chat_request(server: &TestServer, token: &str) -> http::Request<()> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://{}/", server.addr).into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", token.parse().unwrap());
    request
}

pub async fn chat_join(server: &TestServer, token: &str) -> Ws {
    tokio_tungstenite::connect_async(chat_request(server, token)).await.unwrap().0
}

pub async fn chat_frame(ws: &mut Ws) -> Value {
    serde_json::from_str(&recv_text(ws).await).unwrap()
}

pub async fn chat_send(ws: &mut Ws, request_id: &str, content: &str) {
    let action = serde_json::json!({"Action": "SEND_MESSAGE", "RequestId": request_id, "Content": content});
    send_text(ws, &action.to_string()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs Redis and PostgreSQL: SWITCHBOARD_TEST_REDIS_URL, SWITCHBOARD_TEST_POSTGRES_URL"]
async fn rooms_span_every_node_in_one_order() {
    let env = ClusterEnv::get();
    let backend = Backend::ok().await;
    let nodes = [node(&env, &backend).await, node(&env, &backend).await, node(&env, &backend).await];
    let room = nodes[0].chat_sdk().create_room().maximum_message_rate_per_second(100).send().await.unwrap();
    let arn = room.arn().unwrap().to_owned();
    // Every node sees the room at once (one store); tokens issued by one node are redeemed on another.
    for n in &nodes {
        assert_eq!(n.chat_sdk().get_room().identifier(&arn).send().await.unwrap().arn(), Some(arn.as_str()));
    }
    let mut members = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        let token = chat_token(&nodes[(i + 1) % 3], &arn, &format!("user{i}"), true).await;
        members.push(chat_join(n, &token).await);
    }
    // A token is single-use across the cluster.
    let token = chat_token(&nodes[0], &arn, "twice", false).await;
    let _first = chat_join(&nodes[1], &token).await;
    match tokio_tungstenite::connect_async(chat_request(&nodes[2], &token)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("a used token was accepted on another node: {:?}", other.map(|_| ())),
    }

    // Three senders on three nodes at once: every member receives all 60 messages in one order.
    let mut senders = Vec::new();
    for (i, mut ws) in members.into_iter().enumerate() {
        senders.push(tokio::spawn(async move {
            for j in 0..20 {
                chat_send(&mut ws, &format!("r{i}-{j}"), &format!("m{i}-{j}")).await;
            }
            let mut seen = Vec::new();
            while seen.len() < 60 {
                let frame = chat_frame(&mut ws).await;
                assert_eq!(frame["Type"], "MESSAGE", "{frame}");
                seen.push(frame["Content"].as_str().unwrap().to_owned());
            }
            (ws, seen)
        }));
    }
    let mut orders = Vec::new();
    let mut members = Vec::new();
    for sender in senders {
        let (ws, seen) = sender.await.unwrap();
        orders.push(seen);
        members.push(ws);
    }
    assert_eq!(orders[0], orders[1], "one order on every node");
    assert_eq!(orders[1], orders[2], "one order on every node");
    for i in 0..3 {
        let own: Vec<_> = orders[0].iter().filter(|m| m.starts_with(&format!("m{i}-"))).cloned().collect();
        assert_eq!(own, (0..20).map(|j| format!("m{i}-{j}")).collect::<Vec<_>>(), "each sender's order is kept");
    }

    // SendEvent on one node reaches the members on all of them.
    nodes[1].chat_sdk().send_event().room_identifier(&arn).event_name("app:hi").send().await.unwrap();
    for ws in members.iter_mut() {
        let event = chat_frame(ws).await;
        assert_eq!((event["Type"].as_str(), event["EventName"].as_str()), (Some("EVENT"), Some("app:hi")));
    }
    // DisconnectUser on node 2 for the member on node 0.
    nodes[2].chat_sdk().disconnect_user().room_identifier(&arn).user_id("user0").send().await.unwrap();
    for ws in members.iter_mut() {
        assert_eq!(chat_frame(ws).await["EventName"], "aws:DISCONNECT_USER");
    }
    assert_eq!(recv_close(&mut members[0]).await.0, 1000);
    // DeleteRoom on node 0 closes the members on the other nodes.
    nodes[0].chat_sdk().delete_room().identifier(&arn).send().await.unwrap();
    for ws in members.iter_mut().skip(1) {
        assert_eq!(recv_close(ws).await, (1001, "Room deleted".to_owned()));
    }
    for n in nodes {
        n.shutdown().await;
    }
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs Redis and PostgreSQL: SWITCHBOARD_TEST_REDIS_URL, SWITCHBOARD_TEST_POSTGRES_URL"]
async fn concurrent_update_room_from_two_nodes_converges_everywhere() {
    let env = ClusterEnv::get();
    let backend = Backend::ok().await;
    let nodes = [node(&env, &backend).await, node(&env, &backend).await, node(&env, &backend).await];
    let room = nodes[0].chat_sdk().create_room().maximum_message_length(100).send().await.unwrap();
    let arn = room.arn().unwrap().to_owned();
    let mut member = chat_join(&nodes[2], &chat_token(&nodes[0], &arn, "watcher", true).await).await;

    // Two nodes update the same room at once, many times.
    let updates = [(0usize, 10i32), (1, 20)].map(|(n, base)| {
        let sdk = nodes[n].chat_sdk();
        let arn = arn.clone();
        tokio::spawn(async move {
            for i in 0..10 {
                sdk.update_room().identifier(&arn).maximum_message_length(base + i).send().await.unwrap();
            }
        })
    });
    for update in updates {
        update.await.unwrap();
    }
    let finals: Vec<(i32, String)> = {
        let mut out = Vec::new();
        for n in &nodes {
            let got = n.chat_sdk().get_room().identifier(&arn).send().await.unwrap();
            out.push((got.maximum_message_length().unwrap(), format!("{:?}", got.update_time())));
        }
        out
    };
    assert!(finals.iter().all(|f| *f == finals[0]), "every node reads the same room: {finals:?}");
    let length = finals[0].0 as usize;
    assert!(length == 19 || length == 29, "the last update of one of the writers wins: {length}");
    // The live room on the third node comes to apply the same final settings (polled: the updates reach it through
    // the bus).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        chat_send(&mut member, "fits", &"x".repeat(length)).await;
        let fits = chat_frame(&mut member).await;
        chat_send(&mut member, "too-long", &"x".repeat(length + 1)).await;
        let error = chat_frame(&mut member).await;
        let refused = (error["Type"].as_str(), error["ErrorCode"].as_u64()) == (Some("ERROR"), Some(400));
        if fits["Type"] == "MESSAGE" && refused {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the live room never applied length {length}: {fits} {error}");
    }
    for n in nodes {
        n.shutdown().await;
    }
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs Redis and PostgreSQL: SWITCHBOARD_TEST_REDIS_URL, SWITCHBOARD_TEST_POSTGRES_URL"]
async fn room_rate_limits_count_every_node() {
    let env = ClusterEnv::get();
    let backend = Backend::ok().await;
    let a = node(&env, &backend).await;
    let b = node(&env, &backend).await;
    let room = a.chat_sdk().create_room().maximum_message_rate_per_second(5).send().await.unwrap();
    let arn = room.arn().unwrap().to_owned();
    let mut on_a = chat_join(&a, &chat_token(&a, &arn, "ann", true).await).await;
    let mut on_b = chat_join(&b, &chat_token(&a, &arn, "bob", true).await).await;
    // The limit counts fixed one-second windows of the nodes' clock (this machine's), shared by every node: a run
    // that touches `w` of them accepts at most 5·w messages, where counting per node would accept up to 10·w. Fifteen
    // messages from each node are more than that whatever the alignment, so the bound is checked over the windows
    // this run touched, from before its first message to after the last frame it received.
    let epoch_second = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let first_window = epoch_second();
    for i in 0..15 {
        chat_send(&mut on_a, &format!("a{i}"), "x").await;
        chat_send(&mut on_b, &format!("b{i}"), "x").await;
    }
    // Each member receives every accepted message, and an ERROR 429 for each of its own refused ones.
    let ((seen_a, last_a), (seen_b, last_b)) = (drain_timed(&mut on_a).await, drain_timed(&mut on_b).await);
    let windows = last_a.max(last_b) - first_window + 1;
    let count = |frames: &[Value], kind: &str| frames.iter().filter(|f| f["Type"] == kind).count();
    let accepted = count(&seen_a, "MESSAGE");
    assert_eq!(count(&seen_b, "MESSAGE"), accepted, "both nodes deliver the same messages");
    assert_eq!(accepted + count(&seen_a, "ERROR") + count(&seen_b, "ERROR"), 30);
    assert!(seen_a.iter().chain(&seen_b).filter(|f| f["Type"] == "ERROR").all(|f| f["ErrorCode"] == 429));
    let windows = usize::try_from(windows).unwrap();
    assert!(accepted <= 5 * windows, "two nodes together accepted {accepted} messages in {windows} one-second windows");
    // Some window received at least 30/w of them and accepted up to the limit.
    assert!(accepted >= 30usize.div_ceil(windows).min(5), "{accepted} accepted in {windows} windows");
    a.shutdown().await;
    b.shutdown().await;
    env.cleanup().await;
}

/// Every frame until none arrives for 700 ms, and the second since the Unix epoch when the last one arrived.
async fn drain_timed(ws: &mut Ws) -> (Vec<Value>, u64) {
    let mut out = Vec::new();
    let mut last = 0;
    while let Ok(text) = tokio::time::timeout(Duration::from_millis(700), recv_text(ws)).await {
        out.push(serde_json::from_str(&text).unwrap());
        last = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    }
    (out, last)
}
