//! Above saturation the real binary sheds load with 429/503 on every path (handshakes, route integrations, the
//! management API), its memory stays bounded, and it serves again once the load stops.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_apigatewaymanagement::error::ProvideErrorMetadata;
use aws_sdk_apigatewaymanagement::primitives::Blob;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::harness::*;
use crate::power_cut::{serve_command, spawn_serve};

/// How long the load lasts.
const LOAD: Duration = Duration::from_secs(4);

/// The resident memory of process `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// The open file descriptors of process `pid`.
fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap().count()
}

/// The TCP connections accepted on `addr` that are still open on the server's side (any state but listening and
/// TIME_WAIT, which holds no descriptor), from `/proc/net/tcp`: only this test connects to it.
fn accepted(addr: std::net::SocketAddr) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let port = format!(":{:04X}", addr.port());
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields[1].ends_with(&port) && fields[3] != "0A" && fields[3] != "06"
        })
        .count()
}

/// The server's `switchboard_tasks` gauge, from its admin listener.
async fn tasks(admin: std::net::SocketAddr) -> u64 {
    let text = reqwest::get(format!("http://{admin}/@switchboard/metrics")).await.unwrap().text().await.unwrap();
    let line = text.lines().find(|l| l.starts_with("switchboard_tasks ")).expect("the tasks gauge");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// The management API client, without retries, so that each 429 is seen.
fn management(addr: std::net::SocketAddr) -> aws_sdk_apigatewaymanagement::Client {
    use aws_sdk_apigatewaymanagement::config::{BehaviorVersion, Credentials, Region, retry::RetryConfig};
    let config = aws_sdk_apigatewaymanagement::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(AKID, SECRET, None, None, "test"))
        .retry_config(RetryConfig::disabled())
        .endpoint_url(format!("http://{addr}/prod"))
        .build();
    aws_sdk_apigatewaymanagement::Client::from_conf(config)
}

/// A WebSocket on `/prod`, or the status that refused it.
async fn handshake(addr: std::net::SocketAddr) -> Result<Ws, u16> {
    match tokio_tungstenite::connect_async(format!("ws://{addr}/prod")).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(err) => panic!("a handshake failed otherwise: {err}"),
    }
}

#[derive(Default)]
struct Sheds {
    handshakes: AtomicU64,
    messages: AtomicU64,
    management: AtomicU64,
    management_ok: AtomicU64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn above_saturation_the_server_sheds_with_429_and_503_stays_bounded_and_recovers() {
    let mut backend = Backend::start(|event| match event["requestContext"]["eventType"].as_str() {
        Some("MESSAGE") => Reply::Delay(Duration::from_millis(500), json!({ "statusCode": 200 })),
        _ => Reply::Json(json!({ "statusCode": 200 })),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let url = backend.url();
    let mut command = serve_command(dir.path());
    command
        .args(["--route", &format!("$connect={url}"), "--route", &format!("$default={url}")])
        .args(["--max-connections", "40", "--new-connections-per-second", "30"])
        .args(["--new-connections-per-second-per-address", "30", "--max-integrations-in-flight", "8"])
        .args(["--management-requests-per-second", "100"])
        // Idle keep-alive connections of the management clients close within a second once the load is gone.
        .args(["--header-timeout-ms", "1000"]);
    let (mut child, addr, admin) = spawn_serve(command);
    let pid = child.id();

    // Warm up: one connection, one message, one management call.
    let mut first = handshake(addr).await.expect("the first handshake");
    let id = backend.next_of("CONNECT").await["requestContext"]["connectionId"].as_str().unwrap().to_owned();
    first.send(Message::text("warm")).await.unwrap();
    assert_eq!(backend.next_of("MESSAGE").await["body"], "warm");
    management(addr).post_to_connection().connection_id(&id).data(Blob::new("warm")).send().await.unwrap();
    let baseline = rss_kib(pid);
    let (fds_before, accepted_before, tasks_before) = (fds(pid), accepted(addr), tasks(admin).await);

    // The load: handshakes far above the rate and the cap, each connection sending messages far above the node's
    // integrations, and management calls far above their rate, from real clients on loopback.
    let sheds = Arc::new(Sheds::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut load = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (sheds, stop) = (sheds.clone(), stop.clone());
        load.spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                match handshake(addr).await {
                    Ok(mut ws) => {
                        for n in 0..20 {
                            let _ = ws.send(Message::text(format!("m{n}"))).await;
                        }
                        let until = tokio::time::Instant::now() + Duration::from_millis(300);
                        while let Ok(Some(Ok(Message::Text(text)))) = tokio::time::timeout_at(until, ws.next()).await {
                            let frame: Value = serde_json::from_str(&text).unwrap();
                            assert_eq!(frame["message"], "Too Many Requests", "{frame}");
                            sheds.messages.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(status) => {
                        assert!(status == 429 || status == 503, "a handshake refused with {status}");
                        sheds.handshakes.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
    }
    for _ in 0..8 {
        let (sheds, stop, id) = (sheds.clone(), stop.clone(), id.clone());
        let client = management(addr);
        load.spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                match client.post_to_connection().connection_id(&id).data(Blob::new("x")).send().await {
                    Ok(_) => sheds.management_ok.fetch_add(1, Ordering::Relaxed),
                    Err(err) => {
                        assert_eq!(err.code(), Some("LimitExceededException"), "{err:?}");
                        sheds.management.fetch_add(1, Ordering::Relaxed)
                    }
                };
            }
        });
    }
    let started = Instant::now();
    let mut peak = baseline;
    while started.elapsed() < LOAD {
        tokio::time::sleep(Duration::from_millis(250)).await;
        peak = peak.max(rss_kib(pid));
        assert!(child.try_wait().unwrap().is_none(), "the server died under load");
    }
    stop.store(true, Ordering::Relaxed);
    while let Some(task) = load.join_next().await {
        task.unwrap();
    }

    let (handshakes, messages) = (sheds.handshakes.load(Ordering::Relaxed), sheds.messages.load(Ordering::Relaxed));
    let (refused, served) = (sheds.management.load(Ordering::Relaxed), sheds.management_ok.load(Ordering::Relaxed));
    assert!(handshakes > 0 && messages > 0 && refused > 0 && served > 0, "{handshakes} {messages} {refused} {served}");
    // Bounded by the configuration: 40 connections, 8 integrations and their outboxes, not by the load.
    assert!(peak < baseline + 64 * 1024, "RSS grew from {baseline} KiB to {peak} KiB");

    // The load is gone. Nothing leaked: the tasks (sessions, integrations, `$disconnect` calls) and the accepted
    // sockets come back to where they were, the integrations the load started included.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (accepted, tasks_now) = (accepted(addr), tasks(admin).await);
        if accepted <= accepted_before && tasks_now <= tasks_before {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "accepted {accepted_before} -> {accepted}, tasks {tasks_before} -> {tasks_now}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Service is back on every path.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut again = loop {
        match handshake(addr).await {
            Ok(ws) => break ws,
            Err(_) => assert!(Instant::now() < deadline, "handshakes never came back"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    again.send(Message::text("after")).await.unwrap();
    while backend.next_of("MESSAGE").await["body"] != "after" {}
    management(addr).post_to_connection().connection_id(&id).data(Blob::new("after")).send().await.unwrap();
    // With one connection more open than before the load, the server's own keep-alive connections to the
    // integration stay pooled, at most as many as the load ever used at once (8 integrations, 16 handshakes'
    // `$connect`).
    assert!(fds(pid) <= fds_before + 1 + 8 + 16, "fds {fds_before} -> {}", fds(pid));
    assert!(child.try_wait().unwrap().is_none());
    child.kill().unwrap();
    child.wait().unwrap();
}
