//! The scenarios: idle memory, PostToConnection, room fan-out and connection setup, each against a fresh server per
//! run, with the server's and the generator's CPU read from `/proc` around every phase.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::backend::Backend;
use crate::hist::Histogram;
use crate::http1;
use crate::payload;
use crate::procfs::{self, Cost, Meter};
use crate::sign::{SigV4, pusher_query};
use crate::target::{self, Kind, Launch, Server, SwitchboardOptions};
use crate::worker::{Protocol, WorkerSpec};
use crate::workers::Workers;

/// Which clients a scenario uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
pub enum Client {
    /// API Gateway WebSocket clients (`/prod`).
    Apigw,
    /// IVS Chat members of one room.
    Chat,
    /// Pusher clients subscribed to one public channel (Sockudo).
    Pusher,
}

/// How chat fan-out messages are published.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub enum ChatPublish {
    /// `SEND_MESSAGE` over a member's WebSocket (capped by the room's `maximumMessageRatePerSecond`, ≤ 100).
    Message,
    /// The `SendEvent` control-plane API over HTTP (signed, like Sockudo's HTTP publish).
    Event,
}

/// Everything a run needs.
#[derive(Clone, Debug)]
pub struct Options {
    pub scenarios: Vec<String>,
    pub targets: Vec<Kind>,
    pub switchboard: Launch,
    pub sockudo: Option<Launch>,
    pub worker_bin: PathBuf,
    pub runs: usize,
    pub server_core: Option<usize>,
    pub generator_core: Option<usize>,
    pub sources: Vec<IpAddr>,
    pub idle_counts: Vec<usize>,
    pub idle_settle: Duration,
    pub post_receivers: usize,
    pub post_concurrency: usize,
    pub post_duration: Duration,
    pub connect_count: usize,
    pub connect_concurrency: usize,
    pub fanout_members: Vec<usize>,
    pub fanout_payloads: Vec<usize>,
    /// Publish rates per member count; the sweep stops at the knee.
    pub fanout_rates: BTreeMap<usize, Vec<f64>>,
    pub fanout_duration: Duration,
    pub stop_p99: Duration,
    pub chat_publish: ChatPublish,
    /// Whether the chat data plane is served (the smoke test and the report say so when it is not).
    pub chat: bool,
    /// Where the `$connect` integration listens (for a server started by someone else with that route).
    pub backend_addr: Option<SocketAddr>,
}

/// One idle-memory measurement.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IdleRow {
    pub target: Kind,
    pub client: Client,
    pub n: usize,
    pub connected: usize,
    pub rss_before: u64,
    pub rss_after: u64,
    pub anon_before: u64,
    pub anon_after: u64,
    pub slab_delta: i64,
    pub ramp_seconds: f64,
    pub ramp: Cost,
}

impl IdleRow {
    pub fn per_connection(&self) -> f64 {
        (self.rss_after as f64 - self.rss_before as f64) / self.connected.max(1) as f64
    }
}

/// Latency quantiles in µs.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct Quantiles {
    pub count: u64,
    pub p50: u64,
    pub p95: u64,
    pub p99: u64,
    pub max: u64,
}

impl Quantiles {
    pub fn of(h: &Histogram) -> Quantiles {
        Quantiles { count: h.count(), p50: h.quantile(0.5), p95: h.quantile(0.95), p99: h.quantile(0.99), max: h.max() }
    }
}

/// One PostToConnection measurement.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PostRow {
    pub target: Kind,
    pub receivers: usize,
    pub concurrency: usize,
    pub payload: usize,
    pub requests: u64,
    pub statuses: BTreeMap<u16, u64>,
    pub seconds: f64,
    pub http: Quantiles,
    pub delivery: Quantiles,
    pub delivered: u64,
    pub cost: Cost,
}

/// One connection-setup measurement.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ConnectRow {
    pub target: Kind,
    pub client: Client,
    pub with_integration: bool,
    pub attempted: usize,
    /// Handshakes in flight at once per worker.
    pub concurrency: usize,
    pub connected: usize,
    pub seconds: f64,
    pub cost: Cost,
    pub errors: Vec<String>,
}

/// One fan-out phase (one publish rate).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FanoutRow {
    pub target: Kind,
    pub client: Client,
    pub publish: String,
    pub members: usize,
    pub payload: usize,
    /// The delivered frame's size in bytes.
    pub frame_bytes: u64,
    pub rate: f64,
    pub run: usize,
    pub published: u64,
    pub accepted: u64,
    pub skipped: u64,
    pub expected: u64,
    pub delivered: u64,
    pub disconnected: BTreeMap<u16, u64>,
    /// From the first publish to the last delivery.
    pub seconds: f64,
    pub latency: Quantiles,
    pub publish_latency: Quantiles,
    pub cost: Cost,
}

impl FanoutRow {
    pub fn lost(&self) -> u64 {
        self.expected.saturating_sub(self.delivered)
    }

    pub fn deliveries_per_second(&self) -> f64 {
        self.delivered as f64 / self.seconds.max(1e-9)
    }
}

/// The machine and the run's settings.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Environment {
    pub started: String,
    pub host_cpus: String,
    pub kernel: String,
    pub load_before: f64,
    pub load_after: f64,
    pub switchboard_version: String,
    pub sockudo_version: String,
    pub smoke: bool,
    pub command: String,
    pub notes: Vec<String>,
}

/// Everything measured in one invocation.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Results {
    pub environment: Environment,
    pub idle: Vec<IdleRow>,
    pub post: Vec<PostRow>,
    pub connect: Vec<ConnectRow>,
    pub fanout: Vec<FanoutRow>,
}

struct Ctx<'a> {
    options: &'a Options,
    /// The run-wide `$connect` integration when it listens on a fixed address (`Options::backend_addr`).
    backend: Option<Backend>,
}

impl Ctx<'_> {
    fn launch(&self, kind: Kind) -> anyhow::Result<&Launch> {
        match kind {
            Kind::Switchboard => Ok(&self.options.switchboard),
            Kind::Sockudo => self.options.sockudo.as_ref().context("no Sockudo binary (--sockudo-bin)"),
        }
    }

    fn start(&self, kind: Kind, options: &SwitchboardOptions) -> anyhow::Result<Server> {
        Server::start(kind, self.launch(kind)?, self.options.server_core, options)
    }

    fn meter(&self, server: &Server, workers: &Workers) -> Meter {
        let mut pids = workers.pids();
        pids.push(std::process::id());
        Meter::start(server.pid, pids, (self.options.server_core, self.options.generator_core))
    }

    fn spec(&self, server: SocketAddr, client: Client, count: usize) -> WorkerSpec {
        let (protocol, path) = match client {
            Client::Apigw => (Protocol::Apigw, "/prod?i={i}".to_owned()),
            Client::Chat => (Protocol::Chat, "/".to_owned()),
            Client::Pusher => (
                Protocol::Pusher { channel: "bench".to_owned() },
                format!("/app/{}?protocol=7&client=switchboard-bench&version=1", target::PUSHER_KEY),
            ),
        };
        WorkerSpec {
            server,
            sources: self.options.sources.clone(),
            protocol,
            path,
            first: 0,
            count,
            subprotocols: Vec::new(),
            concurrency: self.options.connect_concurrency,
            handshake_timeout_ms: 15_000,
        }
    }
}

fn client_of(kind: Kind, chat: bool) -> Client {
    match (kind, chat) {
        (Kind::Sockudo, _) => Client::Pusher,
        (Kind::Switchboard, true) => Client::Chat,
        (Kind::Switchboard, false) => Client::Apigw,
    }
}

/// Records a failed measurement in the report and goes on with the next one.
fn failed(results: &mut Results, progress: &dyn Fn(&str), what: &str, err: &anyhow::Error) {
    progress(&format!("  {what} failed: {err:#}"));
    results.environment.notes.push(format!("{what} failed: {err:#}"));
}

/// Runs the selected scenarios and returns what they measured.
pub async fn run(options: &Options, progress: &dyn Fn(&str)) -> anyhow::Result<Results> {
    let backend = match options.backend_addr {
        Some(addr) => Some(Backend::start(Some(addr)).await?),
        None => None,
    };
    let ctx = Ctx { options, backend };
    let mut results = Results::default();
    for scenario in &options.scenarios {
        match scenario.as_str() {
            "idle" => {
                for &kind in &options.targets {
                    let clients: &[Client] = match kind {
                        Kind::Sockudo => &[Client::Pusher],
                        Kind::Switchboard if options.chat => &[Client::Apigw, Client::Chat],
                        Kind::Switchboard => &[Client::Apigw],
                    };
                    for &client in clients {
                        for &n in &options.idle_counts {
                            for run in 0..options.runs {
                                progress(&format!("idle: {} {client:?} n={n} run {}", kind.name(), run + 1));
                                match idle(&ctx, kind, client, n).await {
                                    Ok(row) => results.idle.push(row),
                                    Err(err) => failed(&mut results, progress, &format!("idle run {}", run + 1), &err),
                                }
                            }
                        }
                    }
                }
            }
            "post" if options.targets.contains(&Kind::Switchboard) => {
                for run in 0..options.runs {
                    progress(&format!("post: run {}", run + 1));
                    match post(&ctx).await {
                        Ok(row) => results.post.push(row),
                        Err(err) => failed(&mut results, progress, &format!("post run {}", run + 1), &err),
                    }
                }
            }
            "connect" => {
                for &kind in &options.targets {
                    let modes: &[bool] = if kind == Kind::Switchboard { &[false, true] } else { &[false] };
                    for &with in modes {
                        for run in 0..options.runs {
                            progress(&format!("connect: {} integration={with} run {}", kind.name(), run + 1));
                            match connect(&ctx, kind, with).await {
                                Ok(row) => results.connect.push(row),
                                Err(err) => failed(&mut results, progress, &format!("connect run {}", run + 1), &err),
                            }
                        }
                    }
                }
            }
            "fanout" => {
                for &kind in &options.targets {
                    if kind == Kind::Switchboard && !options.chat {
                        progress("fanout: Switchboard skipped (the IVS Chat data plane is not served yet)");
                        continue;
                    }
                    for &members in &options.fanout_members {
                        for &size in &options.fanout_payloads {
                            for run in 0..options.runs {
                                progress(&format!(
                                    "fanout: {} members={members} payload={size} run {}",
                                    kind.name(),
                                    run + 1
                                ));
                                match fanout(&ctx, kind, members, size, run, progress).await {
                                    Ok(rows) => results.fanout.extend(rows),
                                    Err(err) => {
                                        progress(&format!("  failed: {err:#}"));
                                        results.environment.notes.push(format!(
                                            "fan-out {} N={members} {size} B run {} failed: {err:#}",
                                            kind.name(),
                                            run + 1
                                        ));
                                    }
                                }
                            }
                        }
                    }
                }
            }
            "post" => {}
            other => bail!("unknown scenario `{other}` (idle, post, fanout, connect)"),
        }
    }
    Ok(results)
}

async fn idle(ctx: &Ctx<'_>, kind: Kind, client: Client, n: usize) -> anyhow::Result<IdleRow> {
    let server = ctx.start(kind, &SwitchboardOptions::default())?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut spec = ctx.spec(server.addr, client, n);
    if client == Client::Chat {
        let room = create_room(server.addr).await?;
        spec.subprotocols = chat_tokens(server.addr, &room, n, 0).await?;
    }
    let (rss_before, anon_before) = procfs::rss(server.pid).context("cannot read the server's RSS")?;
    let slab_before = procfs::slab_bytes();
    let mut workers = Workers::spawn(&ctx.options.worker_bin, &spec).await?;
    let meter = ctx.meter(&server, &workers);
    let ready = workers.ready().await?;
    let ramp = meter.stop();
    if ready.failed > 0 {
        eprintln!("idle: {} of {n} connections failed: {:?}", ready.failed, ready.errors);
    }
    tokio::time::sleep(ctx.options.idle_settle).await;
    let (rss_after, anon_after) = procfs::rss(server.pid).context("cannot read the server's RSS")?;
    let slab_delta = procfs::slab_bytes() as i64 - slab_before as i64;
    workers.stop().await;
    Ok(IdleRow {
        target: kind,
        client,
        n,
        connected: ready.connected,
        rss_before,
        rss_after,
        anon_before,
        anon_after,
        slab_delta,
        ramp_seconds: ready.seconds,
        ramp,
    })
}

async fn connect(ctx: &Ctx<'_>, kind: Kind, with_integration: bool) -> anyhow::Result<ConnectRow> {
    let own = if ctx.backend.is_none() { Some(Backend::start(None).await?) } else { None };
    let backend = ctx.backend.as_ref().or(own.as_ref()).context("no backend")?;
    let options =
        SwitchboardOptions { connect_route: with_integration.then(|| backend.url()), ..SwitchboardOptions::default() };
    let server = ctx.start(kind, &options)?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let client = if kind == Kind::Sockudo { Client::Pusher } else { Client::Apigw };
    let n = ctx.options.connect_count;
    let spec = ctx.spec(server.addr, client, n);
    let mut workers = Workers::spawn(&ctx.options.worker_bin, &spec).await?;
    let meter = ctx.meter(&server, &workers);
    let ready = workers.ready().await?;
    let cost = meter.stop();
    workers.stop().await;
    Ok(ConnectRow {
        target: kind,
        client,
        with_integration,
        attempted: n,
        concurrency: ctx.options.connect_concurrency,
        connected: ready.connected,
        seconds: ready.seconds,
        cost,
        errors: ready.errors,
    })
}

async fn post(ctx: &Ctx<'_>) -> anyhow::Result<PostRow> {
    let o = ctx.options;
    let own = if ctx.backend.is_none() { Some(Backend::start(None).await?) } else { None };
    let backend = ctx.backend.as_ref().or(own.as_ref()).context("no backend")?;
    backend.ids.lock().unwrap_or_else(|e| e.into_inner()).clear();
    let server = ctx.start(
        Kind::Switchboard,
        &SwitchboardOptions { connect_route: Some(backend.url()), ..SwitchboardOptions::default() },
    )?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let spec = ctx.spec(server.addr, Client::Apigw, o.post_receivers);
    let mut workers = Workers::spawn(&o.worker_bin, &spec).await?;
    let ready = workers.ready().await?;
    if ready.connected == 0 {
        bail!("post: no receiver connected: {:?}", ready.errors);
    }
    let ids: Rc<Vec<String>> = {
        let map = backend.ids.lock().unwrap_or_else(|e| e.into_inner());
        let mut ids: Vec<(usize, String)> = map.iter().map(|(i, id)| (*i, id.clone())).collect();
        ids.sort();
        Rc::new(ids.into_iter().map(|(_, id)| id.replace('=', "%3D")).collect())
    };
    if ids.is_empty() {
        bail!("post: the $connect integration saw no connection id");
    }
    // Warm-up, then the measured phase.
    let payload_size = 100;
    let _ = post_load(server.addr, &ids, o.post_concurrency, Duration::from_millis(300), payload_size).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = workers.stats().await?;
    let before = workers.stats().await?;
    let meter = ctx.meter(&server, &workers);
    let load = post_load(server.addr, &ids, o.post_concurrency, o.post_duration, payload_size).await?;
    let after = drain(&mut workers, before.delivered + load.ok, Duration::from_secs(3)).await?;
    let cost = meter.stop();
    workers.stop().await;
    Ok(PostRow {
        target: Kind::Switchboard,
        receivers: ready.connected,
        concurrency: o.post_concurrency,
        payload: payload_size,
        requests: load.requests,
        statuses: load.statuses,
        seconds: load.seconds,
        http: Quantiles::of(&load.latency),
        delivery: Quantiles::of(&after.latency),
        delivered: after.delivered - before.delivered,
        cost,
    })
}

struct PostLoad {
    requests: u64,
    ok: u64,
    statuses: BTreeMap<u16, u64>,
    seconds: f64,
    latency: Histogram,
}

/// Closed loop: `concurrency` keep-alive connections each send signed PostToConnection requests back to back.
async fn post_load(
    server: SocketAddr,
    ids: &Rc<Vec<String>>,
    concurrency: usize,
    duration: Duration,
    payload_size: usize,
) -> anyhow::Result<PostLoad> {
    let started = Instant::now();
    let deadline = started + duration;
    let seq = Rc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for c in 0..concurrency {
        let ids = ids.clone();
        let seq = seq.clone();
        tasks.push(tokio::task::spawn_local(async move {
            let mut conn = http1::Conn::open(None, server).await?;
            let mut signer =
                SigV4::new(target::ACCESS_KEY_ID, target::SECRET_ACCESS_KEY, target::REGION, "execute-api");
            let mut latency = Histogram::default();
            let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
            let mut k = c;
            while Instant::now() < deadline {
                let id = &ids[k % ids.len()];
                k += concurrency;
                let path = format!("/prod/@connections/{id}");
                let n = seq.fetch_add(1, Ordering::Relaxed);
                let sent = payload::now_micros();
                let body = payload::make(payload_size, sent, n);
                let signed = signer.sign("POST", &path, &conn.host, body.as_bytes(), OffsetDateTime::now_utc());
                let headers =
                    [("X-Amz-Date", signed.amz_date.as_str()), ("Authorization", signed.authorization.as_str())];
                let response = conn.post(&path, &headers, body.as_bytes()).await?;
                latency.record(payload::now_micros().saturating_sub(sent));
                *statuses.entry(response.status).or_default() += 1;
            }
            anyhow::Ok((latency, statuses))
        }));
    }
    let mut load =
        PostLoad { requests: 0, ok: 0, statuses: BTreeMap::new(), seconds: 0.0, latency: Histogram::default() };
    for task in tasks {
        let (latency, statuses) = task.await??;
        load.latency.merge(&latency);
        for (status, n) in statuses {
            *load.statuses.entry(status).or_default() += n;
        }
    }
    load.seconds = started.elapsed().as_secs_f64();
    load.requests = load.statuses.values().sum();
    load.ok = load.statuses.get(&200).copied().unwrap_or(0);
    Ok(load)
}

/// Polls the workers until `expected` deliveries were counted or nothing arrived for a second (at most `limit`).
async fn drain(workers: &mut Workers, expected: u64, limit: Duration) -> anyhow::Result<crate::workers::Merged> {
    let started = Instant::now();
    let mut merged_latency = Histogram::default();
    let mut last = u64::MAX;
    let mut last_change = Instant::now();
    loop {
        let stats = workers.stats().await?;
        merged_latency.merge(&stats.latency);
        if stats.delivered >= expected || started.elapsed() > limit || last_change.elapsed() > Duration::from_secs(1) {
            let mut stats = stats;
            stats.latency = merged_latency;
            return Ok(stats);
        }
        if stats.delivered != last {
            last = stats.delivered;
            last_change = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Control plane: `POST /{operation}` signed for `ivschat`; returns the JSON answer.
async fn ivschat(
    conn: &mut http1::Conn,
    operation: &str,
    body: &serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    let mut signer = SigV4::new(target::ACCESS_KEY_ID, target::SECRET_ACCESS_KEY, target::REGION, "ivschat");
    let body = serde_json::to_vec(body)?;
    let path = format!("/{operation}");
    let signed = signer.sign("POST", &path, &conn.host, &body, OffsetDateTime::now_utc());
    let headers = [
        ("Content-Type", "application/json"),
        ("X-Amz-Date", signed.amz_date.as_str()),
        ("Authorization", signed.authorization.as_str()),
    ];
    let response = conn.post(&path, &headers, &body).await?;
    if !(200..300).contains(&response.status) {
        bail!("{operation} answered {}: {}", response.status, String::from_utf8_lossy(&response.body));
    }
    Ok(serde_json::from_slice(&response.body).unwrap_or(serde_json::Value::Null))
}

async fn create_room(server: SocketAddr) -> anyhow::Result<String> {
    let mut conn = http1::Conn::open(None, server).await?;
    let room = ivschat(
        &mut conn,
        "CreateRoom",
        &serde_json::json!({"name": "bench", "maximumMessageRatePerSecond": 100, "maximumMessageLength": 500}),
    )
    .await?;
    room["arn"].as_str().map(str::to_owned).context("CreateRoom answered no arn")
}

/// `n` chat tokens for users `u{first}…`, created over 16 connections.
async fn chat_tokens(server: SocketAddr, room: &str, n: usize, first: usize) -> anyhow::Result<Vec<String>> {
    let lanes = 16.min(n.max(1));
    let mut tasks = Vec::new();
    for lane in 0..lanes {
        let room = room.to_owned();
        tasks.push(tokio::task::spawn_local(async move {
            let mut conn = http1::Conn::open(None, server).await?;
            let mut out = Vec::new();
            let mut i = lane;
            while i < n {
                let body = serde_json::json!({
                    "roomIdentifier": room, "userId": format!("u{}", first + i),
                    "capabilities": ["SEND_MESSAGE"], "sessionDurationInMinutes": 180,
                });
                let token = ivschat(&mut conn, "CreateChatToken", &body).await?;
                out.push((i, token["token"].as_str().context("CreateChatToken answered no token")?.to_owned()));
                i += lanes;
            }
            anyhow::Ok(out)
        }));
    }
    let mut tokens = vec![String::new(); n];
    for task in tasks {
        for (i, token) in task.await?? {
            tokens[i] = token;
        }
    }
    Ok(tokens)
}

/// A publisher of fan-out messages.
enum Publisher {
    /// Sockudo's HTTP API or Switchboard's SendEvent: open loop over a pool of keep-alive connections.
    Http { kind: Kind, room: Option<String> },
    /// SEND_MESSAGE from one member's WebSocket.
    Message { token: String },
}

struct PublishOutcome {
    published: u64,
    accepted: u64,
    skipped: u64,
    latency: Histogram,
}

async fn publish(
    server: SocketAddr,
    publisher: &Publisher,
    rate: f64,
    duration: Duration,
    size: usize,
) -> anyhow::Result<PublishOutcome> {
    let ticks = (rate * duration.as_secs_f64()).round() as u64;
    let interval = Duration::from_secs_f64(1.0 / rate);
    match publisher {
        Publisher::Message { token } => {
            let client = crate::ws::connect(None, server, "/", Some(token), Duration::from_secs(10)).await?;
            let crate::ws::Client { mut stream, mut reader } = client;
            let errors = Rc::new(AtomicU64::new(0));
            let counted = errors.clone();
            let (mut read_half, mut write_half) = stream.split();
            let drain = async move {
                // Counts ERROR frames (refused messages) on the publisher's own socket.
                loop {
                    while let Some((frame, total)) = reader.next_frame() {
                        if memchr::memmem::find(frame.payload, b"\"Type\":\"ERROR\"").is_some() {
                            counted.fetch_add(1, Ordering::Relaxed);
                        }
                        reader.consume(total);
                    }
                    if reader.fill(&mut read_half).await.unwrap_or(0) == 0 {
                        break;
                    }
                }
            };
            let send = async {
                let started = tokio::time::Instant::now();
                let mut frame = Vec::with_capacity(size + 128);
                for seq in 0..ticks {
                    tokio::time::sleep_until(started + interval.mul_f64(seq as f64)).await;
                    let content = payload::make(size, payload::now_micros(), seq);
                    let text = format!(r#"{{"Action":"SEND_MESSAGE","RequestId":"r{seq}","Content":"{content}"}}"#);
                    frame.clear();
                    crate::ws::encode_client_frame(crate::ws::OP_TEXT, text.as_bytes(), &mut frame);
                    tokio::io::AsyncWriteExt::write_all(&mut write_half, &frame).await?;
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
                anyhow::Ok(())
            };
            tokio::select! {
                sent = send => sent?,
                _ = drain => {}
            }
            let refused = errors.load(Ordering::Relaxed);
            Ok(PublishOutcome {
                published: ticks,
                accepted: ticks.saturating_sub(refused),
                skipped: 0,
                latency: Histogram::default(),
            })
        }
        Publisher::Http { kind, room } => {
            const LANES: usize = 64;
            let (tx, rx) = tokio::sync::mpsc::channel::<u64>(256);
            let rx = Rc::new(tokio::sync::Mutex::new(rx));
            let mut lanes = Vec::new();
            for _ in 0..LANES {
                let rx = rx.clone();
                let (kind, room) = (*kind, room.clone());
                lanes.push(tokio::task::spawn_local(async move {
                    let mut conn = http1::Conn::open(None, server).await?;
                    let mut signer =
                        SigV4::new(target::ACCESS_KEY_ID, target::SECRET_ACCESS_KEY, target::REGION, "ivschat");
                    let (mut accepted, mut latency) = (0u64, Histogram::default());
                    loop {
                        let Some(seq) = rx.lock().await.recv().await else { break };
                        let sent = payload::now_micros();
                        let data = payload::make(size, sent, seq);
                        let status = match kind {
                            Kind::Sockudo => {
                                let body = format!(r#"{{"name":"tick","channels":["bench"],"data":"{data}"}}"#);
                                let path = format!("/apps/{}/events", target::PUSHER_APP_ID);
                                let unix = OffsetDateTime::now_utc().unix_timestamp();
                                let query = pusher_query(
                                    target::PUSHER_KEY,
                                    target::PUSHER_SECRET,
                                    &path,
                                    body.as_bytes(),
                                    unix,
                                );
                                let headers = [("Content-Type", "application/json")];
                                conn.post(&format!("{path}?{query}"), &headers, body.as_bytes())
                                    .await
                                    .map_or(0, |r| r.status)
                            }
                            Kind::Switchboard => {
                                let body = serde_json::to_vec(&serde_json::json!({
                                    "roomIdentifier": room, "eventName": "bench", "attributes": {"p": data},
                                }))?;
                                let signed =
                                    signer.sign("POST", "/SendEvent", &conn.host, &body, OffsetDateTime::now_utc());
                                let headers = [
                                    ("Content-Type", "application/json"),
                                    ("X-Amz-Date", signed.amz_date.as_str()),
                                    ("Authorization", signed.authorization.as_str()),
                                ];
                                conn.post("/SendEvent", &headers, &body).await.map_or(0, |r| r.status)
                            }
                        };
                        latency.record(payload::now_micros().saturating_sub(sent));
                        if (200..300).contains(&status) {
                            accepted += 1;
                        }
                    }
                    anyhow::Ok((accepted, latency))
                }));
            }
            let started = tokio::time::Instant::now();
            let mut skipped = 0;
            for seq in 0..ticks {
                tokio::time::sleep_until(started + interval.mul_f64(seq as f64)).await;
                if tx.try_send(seq).is_err() {
                    skipped += 1;
                }
            }
            drop(tx);
            let mut outcome = PublishOutcome { published: ticks, accepted: 0, skipped, latency: Histogram::default() };
            for lane in lanes {
                let (accepted, latency) = lane.await??;
                outcome.accepted += accepted;
                outcome.latency.merge(&latency);
            }
            Ok(outcome)
        }
    }
}

async fn fanout(
    ctx: &Ctx<'_>,
    kind: Kind,
    members: usize,
    size: usize,
    run: usize,
    progress: &dyn Fn(&str),
) -> anyhow::Result<Vec<FanoutRow>> {
    let o = ctx.options;
    let client = client_of(kind, o.chat);
    let server = ctx.start(kind, &SwitchboardOptions::default())?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut spec = ctx.spec(server.addr, client, members);
    let (publisher, label) = match client {
        Client::Chat => {
            let room = create_room(server.addr).await?;
            let mut tokens = chat_tokens(server.addr, &room, members + 1, 0).await?;
            let token = tokens.pop().context("no publisher token")?;
            spec.subprotocols = tokens;
            match o.chat_publish {
                ChatPublish::Message => (Publisher::Message { token }, "SEND_MESSAGE"),
                ChatPublish::Event => (Publisher::Http { kind, room: Some(room) }, "SendEvent"),
            }
        }
        _ => (Publisher::Http { kind, room: None }, "HTTP events API"),
    };
    let mut workers = Workers::spawn(&o.worker_bin, &spec).await?;
    let ready = workers.ready().await?;
    if ready.connected < members {
        bail!("fanout: only {} of {members} members connected: {:?}", ready.connected, ready.errors);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rates = o.fanout_rates.get(&members).cloned().unwrap_or_else(|| vec![10.0]);
    let mut rows = Vec::new();
    for rate in rates {
        let before = workers.stats().await?;
        let start_us = payload::now_micros();
        let meter = ctx.meter(&server, &workers);
        let outcome = publish(server.addr, &publisher, rate, o.fanout_duration, size).await?;
        let expected = outcome.accepted * members as u64;
        let after = drain(&mut workers, before.delivered + expected, Duration::from_secs(15)).await?;
        let cost = meter.stop();
        let delivered = after.delivered - before.delivered;
        let mut disconnected = after.closed.clone();
        for (code, n) in &before.closed {
            if let Some(v) = disconnected.get_mut(code) {
                *v -= n;
            }
        }
        disconnected.retain(|_, n| *n > 0);
        let row = FanoutRow {
            target: kind,
            client,
            publish: label.to_owned(),
            members,
            payload: size,
            frame_bytes: 0,
            rate,
            run,
            published: outcome.published,
            accepted: outcome.accepted,
            skipped: outcome.skipped,
            expected,
            delivered,
            disconnected,
            seconds: (after.last_receive_us.saturating_sub(start_us)) as f64 / 1e6,
            latency: Quantiles::of(&after.latency),
            publish_latency: Quantiles::of(&outcome.latency),
            cost,
        };
        progress(&format!(
            "  rate {rate}/s: {:.0} deliveries/s, p50 {:.1} ms, p99 {:.1} ms, lost {}, server {:.2} µs/delivery, generator {:.0} %",
            row.deliveries_per_second(),
            row.latency.p50 as f64 / 1000.0,
            row.latency.p99 as f64 / 1000.0,
            row.lost(),
            row.cost.server_cpu * 1e6 / row.delivered.max(1) as f64,
            row.cost.generator_load() * 100.0,
        ));
        let knee = row.latency.p99 > o.stop_p99.as_micros() as u64
            || row.lost() > 0
            || !row.disconnected.is_empty()
            || (row.accepted as f64) < 0.95 * row.published as f64;
        rows.push(row);
        if knee || !server_alive(&server) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    workers.stop().await;
    drop(server);
    Ok(rows)
}

fn server_alive(server: &Server) -> bool {
    std::path::Path::new(&format!("/proc/{}", server.pid)).exists()
}

/// Whether this Switchboard serves the IVS Chat data plane: a chat token's WebSocket upgrade at `/` succeeds.
pub async fn probe_chat(options: &Options) -> bool {
    let ctx = Ctx { options, backend: None };
    let Ok(server) = ctx.start(Kind::Switchboard, &SwitchboardOptions::default()) else { return false };
    let probe = async {
        let room = create_room(server.addr).await?;
        let token = chat_tokens(server.addr, &room, 1, 0).await?.pop().context("no token")?;
        crate::ws::connect(None, server.addr, "/", Some(&token), Duration::from_secs(5)).await?;
        anyhow::Ok(())
    };
    tokio::time::timeout(Duration::from_secs(15), probe).await.is_ok_and(|r| r.is_ok())
}
