//! The scenarios: idle memory, PostToConnection, room fan-out, fan-out completion against room size, connection setup
//! and the broadcast extensions, each against a fresh server per run (Switchboard, Sockudo or the floor), with the
//! server's and the generator's CPU read from `/proc` around every phase.

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
use crate::progress::Live;
use crate::sign::{SigV4, pusher_query};
use crate::target::{self, Kind, Launch, Server, SwitchboardOptions};
use crate::worker::{Protocol, WorkerSpec};
use crate::workers::Workers;

mod broadcast;
mod cluster;
mod fanout;
mod growth;
mod post;
mod slow;
mod soak;

pub use broadcast::BroadcastRow;
pub use cluster::{ClusterRow, Nodes};
pub use growth::CompletionRow;
pub use slow::SlowRow;

pub use fanout::probe_chat;
use fanout::{chat_tokens, create_room, fanout};
use post::{drain, post};
pub use soak::{SoakOptions, SoakResult, SoakSample, soak};

/// Which clients a scenario uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord, clap::ValueEnum)]
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
    /// Whether Switchboard's console (and the traffic capture behind it) is on in the idle scenario, one pass per
    /// value: on is the default, off measures what a connection costs without the capture's bounded ring.
    pub idle_console: Vec<bool>,
    /// Switchboard's clients in the idle scenario, a pass each (`Chat` only where the chat data plane is served).
    pub idle_clients: Vec<Client>,
    pub post_receivers: usize,
    /// Calls of each broadcast operation per run.
    pub broadcast_rounds: u64,
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
    /// Core counts the server is pinned to in the fan-out and completion scenarios (1: the server core only; 2: it
    /// and the next one).
    pub cores: Vec<usize>,
    /// Whether the floor joins pending frames into one write per member.
    pub floor_batch: bool,
    /// Room sizes of the completion scenario, and single messages timed at each.
    pub completion_members: Vec<usize>,
    pub completion_messages: usize,
    /// The slow-consumer scenario: room size, publish rate, payload, and the share of members (%) that stop reading.
    pub slow_members: usize,
    pub slow_rate: f64,
    pub slow_payload: usize,
    pub slow_percent: f64,
    /// Node counts of the cross-node scenario, its nodes, and its requests in flight.
    pub cluster_nodes: Vec<usize>,
    pub cluster: Nodes,
    pub cluster_concurrency: usize,
    /// Whether the chat data plane is served (the smoke test and the report say so when it is not).
    pub chat: bool,
    /// Where the `$connect` integration listens (for a server started by someone else with that route).
    pub backend_addr: Option<SocketAddr>,
    /// No progress lines within a measurement (`--quiet`); each scenario's and run's line stays.
    pub quiet: bool,
    /// A directory for the standard error of every server started, a file each (`--server-logs`).
    pub server_logs: Option<PathBuf>,
}

/// One idle-memory measurement.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IdleRow {
    pub target: Kind,
    pub client: Client,
    /// Whether Switchboard ran with its console on (its default; always true for the other servers).
    #[serde(default = "yes")]
    pub console: bool,
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
    /// Cores the server was pinned to.
    #[serde(default = "one")]
    pub cores: usize,
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

fn one() -> usize {
    1
}

fn yes() -> bool {
    true
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
    /// PostToConnections and PostToGroup (absent from results of builds before them).
    #[serde(default)]
    pub broadcast: Vec<BroadcastRow>,
    /// Fan-out completion against room size (absent from results of builds before it).
    #[serde(default)]
    pub completion: Vec<CompletionRow>,
    /// Cross-node PostToConnection against the number of nodes (absent from results of builds before it).
    #[serde(default)]
    pub cluster: Vec<ClusterRow>,
    /// Fan-out with and without members that stop reading (absent from results of builds before it).
    #[serde(default)]
    pub slow: Vec<SlowRow>,
}

struct Ctx<'a> {
    options: &'a Options,
    /// The run-wide `$connect` integration when it listens on a fixed address (`Options::backend_addr`).
    backend: Option<Backend>,
    /// The floor server: this binary's `floor-server`.
    floor: Launch,
    /// The progress of the measurement under way.
    live: Rc<Live>,
}

impl Ctx<'_> {
    /// `quiet`: no progress lines.
    fn new(options: &Options, backend: Option<Backend>, quiet: bool) -> Ctx<'_> {
        let floor = Launch::Binary { path: options.worker_bin.clone(), config: None };
        Ctx { options, backend, floor, live: Rc::new(Live::stderr(quiet)) }
    }

    fn launch(&self, kind: Kind) -> anyhow::Result<&Launch> {
        match kind {
            Kind::Floor => Ok(&self.floor),
            Kind::Switchboard => Ok(&self.options.switchboard),
            Kind::Sockudo => self.options.sockudo.as_ref().context("no Sockudo binary (--sockudo-bin)"),
        }
    }

    fn start(&self, kind: Kind, options: &SwitchboardOptions) -> anyhow::Result<Server> {
        let mut options = options.clone();
        if kind == Kind::Floor && !self.options.floor_batch {
            options.extra_args.push("--no-batch".to_owned());
        }
        options.log_dir.clone_from(&self.options.server_logs);
        Server::start(kind, self.launch(kind)?, self.options.server_core, &options)
    }

    fn meter(&self, server: &Server, workers: &Workers) -> Meter {
        let mut pids = workers.pids();
        pids.push(std::process::id());
        Meter::start(server.pid, pids, (self.options.server_core, self.options.generator_core))
    }

    /// Clients of `client`'s protocol; Pusher clients subscribe to `channel` (`{i}`: the client's index).
    fn spec(&self, server: SocketAddr, client: Client, count: usize) -> WorkerSpec {
        self.spec_on(server, client, count, "bench")
    }

    fn spec_on(&self, server: SocketAddr, client: Client, count: usize, channel: &str) -> WorkerSpec {
        let (protocol, path) = match client {
            Client::Apigw => (Protocol::Apigw, "/prod?i={i}".to_owned()),
            Client::Chat => (Protocol::Chat, "/".to_owned()),
            Client::Pusher => (
                Protocol::Pusher { channel: channel.to_owned() },
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
            stall_every: 0,
        }
    }
}

fn client_of(kind: Kind, chat: bool) -> Client {
    match (kind, chat) {
        (Kind::Sockudo, _) => Client::Pusher,
        (Kind::Floor, _) => Client::Apigw,
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
    let ctx = Ctx::new(options, backend, options.quiet);
    let mut results = Results::default();
    for scenario in &options.scenarios {
        match scenario.as_str() {
            "idle" => {
                for &kind in &options.targets {
                    let clients: Vec<Client> = match kind {
                        Kind::Sockudo => vec![Client::Pusher],
                        Kind::Floor => vec![Client::Apigw],
                        Kind::Switchboard => options
                            .idle_clients
                            .iter()
                            .copied()
                            .filter(|client| match client {
                                Client::Apigw => true,
                                Client::Chat => options.chat,
                                Client::Pusher => false,
                            })
                            .collect(),
                    };
                    let consoles: &[bool] = if kind == Kind::Switchboard { &options.idle_console } else { &[true] };
                    for client in clients {
                        for &console in consoles {
                            for &n in &options.idle_counts {
                                for run in 0..options.runs {
                                    let what = format!(
                                        "idle: {} {client:?}{} n={n} run {}",
                                        kind.name(),
                                        if console { "" } else { " console off" },
                                        run + 1
                                    );
                                    progress(&what);
                                    match idle(&ctx, kind, client, console, n).await {
                                        Ok(row) => results.idle.push(row),
                                        Err(err) => failed(&mut results, progress, &what, &err),
                                    }
                                }
                            }
                        }
                    }
                }
            }
            "post" => {
                for &kind in &options.targets {
                    for run in 0..options.runs {
                        progress(&format!("post: {} run {}", kind.name(), run + 1));
                        match post(&ctx, kind).await {
                            Ok(row) => results.post.push(row),
                            Err(err) => failed(&mut results, progress, &format!("post run {}", run + 1), &err),
                        }
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
            "fanout" | "completion" => {
                let completion = scenario == "completion";
                let (room_sizes, sizes) = if completion {
                    (&options.completion_members, &vec![growth::PAYLOAD])
                } else {
                    (&options.fanout_members, &options.fanout_payloads)
                };
                for &kind in &options.targets {
                    if kind == Kind::Switchboard && !options.chat {
                        progress(&format!("{scenario}: Switchboard skipped (the IVS Chat data plane is not served)"));
                        continue;
                    }
                    for &cores in &options.cores {
                        for &members in room_sizes {
                            for &size in sizes {
                                for run in 0..options.runs {
                                    let what = format!(
                                        "{scenario} {} N={members} {size} B {cores} core(s) run {}",
                                        kind.name(),
                                        run + 1
                                    );
                                    progress(&what);
                                    let outcome = if completion {
                                        growth::completion(&ctx, kind, cores, members, run)
                                            .await
                                            .map(|row| results.completion.push(row))
                                    } else {
                                        fanout(&ctx, kind, cores, members, size, run, progress)
                                            .await
                                            .map(|rows| results.fanout.extend(rows))
                                    };
                                    if let Err(err) = outcome {
                                        failed(&mut results, progress, &what, &err);
                                    }
                                }
                            }
                        }
                    }
                }
            }
            "broadcast" if options.targets.contains(&Kind::Switchboard) => {
                for run in 0..options.runs {
                    progress(&format!("broadcast: run {}", run + 1));
                    match broadcast::broadcast(&ctx, options.broadcast_rounds).await {
                        Ok(rows) => results.broadcast.extend(rows),
                        Err(err) => failed(&mut results, progress, &format!("broadcast run {}", run + 1), &err),
                    }
                }
            }
            "cluster" => {
                for &nodes in &options.cluster_nodes {
                    for run in 0..options.runs {
                        let what = format!("cluster of {nodes} node(s) run {}", run + 1);
                        progress(&what);
                        match cluster::cluster(&ctx, nodes).await {
                            Ok(row) => results.cluster.push(row),
                            Err(err) => failed(&mut results, progress, &what, &err),
                        }
                    }
                }
            }
            "slow" => {
                for &kind in options.targets.iter().filter(|&&kind| kind != Kind::Floor) {
                    if kind == Kind::Switchboard && !options.chat {
                        progress("slow: Switchboard skipped (the IVS Chat data plane is not served)");
                        continue;
                    }
                    for run in 0..options.runs {
                        let what = format!("slow: {} N={} run {}", kind.name(), options.slow_members, run + 1);
                        progress(&what);
                        match slow::slow(&ctx, kind, options.slow_members, run).await {
                            Ok(row) => results.slow.push(row),
                            Err(err) => failed(&mut results, progress, &what, &err),
                        }
                    }
                }
            }
            "broadcast" => {}
            other => {
                bail!("unknown scenario `{other}` (idle, post, fanout, completion, slow, cluster, connect, broadcast)")
            }
        }
    }
    Ok(results)
}

async fn idle(ctx: &Ctx<'_>, kind: Kind, client: Client, console: bool, n: usize) -> anyhow::Result<IdleRow> {
    let mut options = SwitchboardOptions::default();
    if !console {
        options.extra_args.extend(["--console".to_owned(), "off".to_owned()]);
    }
    let server = ctx.start(kind, &options)?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut spec = ctx.spec(server.addr, client, n);
    if client == Client::Chat {
        let room = create_room(server.addr).await?;
        spec.subprotocols = chat_tokens(server.addr, &room, n, 0).await?;
    }
    let (rss_before, anon_before) = procfs::rss(server.pid).context("cannot read the server's RSS")?;
    let slab_before = procfs::slab_bytes();
    ctx.live.begin(&format!("idle: {} {client:?} n={n}", kind.name()), n as u64);
    let mut workers = Workers::spawn(&ctx.options.worker_bin, &spec).await?;
    let meter = ctx.meter(&server, &workers);
    let ready = workers.ready(&ctx.live).await?;
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
        console,
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
    let client = client_of(kind, false);
    let n = ctx.options.connect_count;
    let spec = ctx.spec(server.addr, client, n);
    ctx.live.begin(&format!("connect: {}", kind.name()), n as u64);
    let mut workers = Workers::spawn(&ctx.options.worker_bin, &spec).await?;
    let meter = ctx.meter(&server, &workers);
    let ready = workers.ready(&ctx.live).await?;
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
