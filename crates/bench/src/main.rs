//! The `switchboard-bench` command line: `run` measures and reports, `report` re-renders saved results, `worker` is
//! the generator's worker process and `floor-server` the floor target (both started by `run`).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use bench::run::{ChatPublish, Nodes, Options, Results};
use bench::target::{Kind, Launch};
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "switchboard-bench", about = "Load generator and benchmark report for Switchboard (and Sockudo).")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run scenarios and write the report.
    Run(Box<RunArgs>),
    /// Render a report from saved results (`--json-out` of earlier runs), merged.
    Report {
        #[arg(long = "results", required = true)]
        results: Vec<PathBuf>,
        #[arg(long, default_value = "docs/benchmarks.md")]
        out: PathBuf,
    },
    /// A generator worker process (internal; started by `run`).
    Worker,
    /// The floor target: a minimal WebSocket server that writes each published frame to every member, one `write`
    /// each (started by `run` for `--targets floor`).
    FloorServer {
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// Writer threads (members spread over them round robin).
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// One `write` per frame and member, even when several frames are pending.
        #[arg(long)]
        no_batch: bool,
    },
    /// Mixed traffic (handshakes, messages, posts, room events) at a fixed rate, failing if the server's RSS, open
    /// file descriptors or running tasks grow past their slack after warm-up.
    Soak(SoakArgs),
}

#[derive(Debug, clap::Args)]
struct SoakArgs {
    /// How long the traffic runs, in minutes.
    #[arg(long, default_value_t = 30, conflicts_with = "seconds")]
    minutes: u64,
    /// How long the traffic runs, in seconds (short runs).
    #[arg(long)]
    seconds: Option<u64>,
    /// Operations per second, a quarter of each kind.
    #[arg(long, default_value_t = 200.0)]
    rate: f64,
    /// Seconds of warm-up before the levels the rest is held to.
    #[arg(long, default_value_t = 60)]
    warmup_secs: u64,
    #[arg(long, default_value_t = 10)]
    sample_secs: u64,
    #[arg(long, default_value_t = 32)]
    rss_slack_mib: u64,
    #[arg(long, default_value_t = 32)]
    fd_slack: usize,
    #[arg(long, default_value_t = 64)]
    task_slack: u64,
    /// The server; a running one must route `$connect` and `$default` to --backend-addr.
    #[command(flatten)]
    switchboard: SwitchboardArgs,
    /// The admin listener of a running Switchboard, for its task count.
    #[arg(long)]
    admin_addr: Option<SocketAddr>,
    /// Listen address of the `$connect` and `$default` integration.
    #[arg(long)]
    backend_addr: Option<SocketAddr>,
    /// The samples and verdict as JSON.
    #[arg(long)]
    json_out: Option<PathBuf>,
}

/// On or off, as a flag's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Switch {
    On,
    Off,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Scenarios, comma-separated: idle, post, fanout, completion (one message at a time to rooms of
    /// --completion-members), slow (fan-out without and with members that never read; --slow-*), cluster
    /// (cross-node PostToConnection; Redis and PostgreSQL), connect, broadcast (PostToConnections to every receiver,
    /// up to 10,000 ids per call, in connection order and in a random one, and PostToGroup; receivers:
    /// --post-receivers).
    #[arg(long, value_delimiter = ',', default_value = "idle,post,fanout,connect")]
    scenarios: Vec<String>,
    /// Servers, comma-separated: switchboard, sockudo, floor (the machine's own limit: `floor-server`).
    #[arg(long, value_delimiter = ',', default_value = "switchboard")]
    targets: Vec<String>,
    /// A short run of every scenario with tiny sizes (CI).
    #[arg(long)]
    smoke: bool,
    #[command(flatten)]
    switchboard: SwitchboardArgs,
    /// The sockudo binary [default: ~/.cargo/bin/sockudo].
    #[arg(long)]
    sockudo_bin: Option<PathBuf>,
    /// Sockudo's configuration file.
    #[arg(long, default_value = "crates/bench/sockudo.toml")]
    sockudo_config: PathBuf,
    /// Runs per measurement (the report gives the median with min and max).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Core the server is pinned to (taskset); the generator should run pinned to --generator-core.
    #[arg(long, default_value_t = 0)]
    server_core: usize,
    #[arg(long, default_value_t = 1)]
    generator_core: usize,
    /// Do not pin the server.
    #[arg(long)]
    no_pin: bool,
    /// Loopback source addresses 127.0.0.2… used round-robin by the clients. Past ≈ 25,000 sockets on one address
    /// the kernel's search for a free port makes each `bind` take milliseconds: 16 keep 100,000 clients under that.
    #[arg(long, default_value_t = 16)]
    sources: u8,
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,19500")]
    idle_counts: Vec<usize>,
    #[arg(long, default_value_t = 3)]
    idle_settle_secs: u64,
    /// Switchboard's console in the idle scenario, comma-separated, a pass each: on (its default) and off (what a
    /// connection costs without the traffic capture's bounded ring of recent events).
    #[arg(long, value_delimiter = ',', default_value = "on")]
    idle_console: Vec<Switch>,
    /// Switchboard's clients in the idle scenario, comma-separated, a pass each: apigw (API Gateway WebSocket clients)
    /// and chat (IVS Chat members of one room); pusher is Sockudo's and ignored here.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "apigw,chat")]
    idle_clients: Vec<bench::run::Client>,
    #[arg(long, default_value_t = 100)]
    post_receivers: usize,
    #[arg(long, default_value_t = 32)]
    post_concurrency: usize,
    #[arg(long, default_value_t = 5)]
    post_secs: u64,
    #[arg(long, default_value_t = 5000)]
    connect_count: usize,
    #[arg(long, default_value_t = 200)]
    connect_concurrency: usize,
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    fanout_members: Vec<usize>,
    #[arg(long, value_delimiter = ',', default_value = "100,1024")]
    fanout_payloads: Vec<usize>,
    /// Publish rates for 1,000 members.
    #[arg(long, value_delimiter = ',', default_value = "50,100,150,200,300,400,500,600,800")]
    rates_1k: Vec<f64>,
    /// Publish rates for 10,000 members.
    #[arg(long, value_delimiter = ',', default_value = "2,5,10,15,20,30,40,50,60")]
    rates_10k: Vec<f64>,
    #[arg(long, default_value_t = 10)]
    fanout_secs: u64,
    /// Core counts for fan-out and completion, comma-separated: 1 pins the server to --server-core, 2 to it and the
    /// next core (the floor then writes from two threads).
    #[arg(long, value_delimiter = ',', default_value = "1")]
    cores: Vec<usize>,
    /// The floor writes each frame on its own even when several are pending (default: pending frames go out
    /// together, one write per member).
    #[arg(long)]
    floor_no_batch: bool,
    /// Room sizes of the completion scenario.
    #[arg(long, value_delimiter = ',', default_value = "100,1000,5000,10000,19500")]
    completion_members: Vec<usize>,
    /// Single messages timed per room size and run.
    #[arg(long, default_value_t = 5)]
    completion_messages: usize,
    /// The slow-consumer scenario: room size, publish rate (messages/s for --fanout-secs), payload bytes, and the
    /// share of members (%) connected but never reading in its second phase.
    #[arg(long, default_value_t = 10_000)]
    slow_members: usize,
    #[arg(long, default_value_t = 5.0)]
    slow_rate: f64,
    #[arg(long, default_value_t = 1000)]
    slow_payload: usize,
    #[arg(long, default_value_t = 1.0)]
    slow_percent: f64,
    /// Node counts of the cluster scenario (PostToConnection sent to one node for receivers on the others).
    #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
    cluster_nodes: Vec<usize>,
    /// The cluster's bus, store and namespace (nodes started per run share them).
    #[arg(long, default_value = "redis://127.0.0.1:6379/")]
    bus_url: String,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    store_url: String,
    #[arg(long, default_value = "switchboard_bench")]
    cluster_namespace: String,
    /// Use running cluster nodes at these addresses instead of starting them (their `$connect` route must be
    /// --backend-addr's).
    #[arg(long, value_delimiter = ',')]
    cluster_addrs: Vec<SocketAddr>,
    /// Requests in flight in the cluster scenario.
    #[arg(long, default_value_t = 4)]
    cluster_concurrency: usize,
    /// A fan-out sweep stops after a phase whose p99 exceeds this.
    #[arg(long, default_value_t = 1000)]
    stop_p99_ms: u64,
    /// How chat fan-out is published.
    #[arg(long, value_enum, default_value = "event")]
    chat_publish: ChatPublish,
    /// Whether Switchboard serves the IVS Chat data plane: yes, no, or auto (probe it).
    #[arg(long, default_value = "auto")]
    chat: String,
    /// Write the standard error of every server the run starts (Switchboard logs at `warn`) to a file each in this
    /// directory.
    #[arg(long)]
    server_logs: Option<PathBuf>,
    /// Results as JSON.
    #[arg(long)]
    json_out: Option<PathBuf>,
    /// The Markdown report (its generated part is replaced).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Listen address of the `$connect` integration (for --switchboard-addr servers configured with that route).
    #[arg(long)]
    backend_addr: Option<SocketAddr>,
    /// Calls of each broadcast operation per run.
    #[arg(long, default_value_t = 20)]
    broadcast_rounds: u64,
    /// Hard limit on the whole run.
    #[arg(long, default_value_t = 90)]
    max_minutes: u64,
    /// No progress lines within a measurement (connections open of the target, messages sent, time elapsed, once a
    /// second on stderr); the line of each scenario and run stays.
    #[arg(long)]
    quiet: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Worker => bench::worker::main(),
        Command::FloorServer { listen, threads, no_batch } => bench::floor::serve(listen, threads, !no_batch),
        Command::Report { results, out } => report(&results, &out),
        Command::Run(args) => run(*args),
        Command::Soak(args) => soak(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("switchboard-bench: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Which Switchboard a command measures.
#[derive(Debug, clap::Args)]
struct SwitchboardArgs {
    /// The switchboard binary [default: next to this binary].
    #[arg(long)]
    switchboard_bin: Option<PathBuf>,
    /// Use a running Switchboard at this address instead of starting one per run (needs --switchboard-pid).
    #[arg(long, requires = "switchboard_pid")]
    switchboard_addr: Option<SocketAddr>,
    #[arg(long)]
    switchboard_pid: Option<u32>,
}

impl SwitchboardArgs {
    fn launch(&self) -> anyhow::Result<Launch> {
        Ok(match (self.switchboard_addr, self.switchboard_pid) {
            (Some(addr), Some(pid)) => Launch::External { addr, pid },
            _ => {
                let me = std::env::current_exe()?;
                let path = self.switchboard_bin.clone().unwrap_or_else(|| me.with_file_name("switchboard"));
                Launch::Binary { path, config: None }
            }
        })
    }
}

fn soak(args: SoakArgs) -> anyhow::Result<()> {
    let options = bench::run::SoakOptions {
        switchboard: args.switchboard.launch()?,
        admin: args.admin_addr,
        backend: args.backend_addr,
        duration: Duration::from_secs(args.seconds.unwrap_or(args.minutes * 60)),
        rate: args.rate,
        warmup: Duration::from_secs(args.warmup_secs),
        sample_every: Duration::from_secs(args.sample_secs.max(1)),
        rss_slack_bytes: args.rss_slack_mib << 20,
        fd_slack: args.fd_slack,
        task_slack: args.task_slack,
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let local = tokio::task::LocalSet::new();
    let result = local.block_on(&runtime, bench::run::soak(&options, &|line| eprintln!("{line}")))?;
    print!("{}", result.render());
    if let Some(path) = &args.json_out {
        std::fs::write(path, serde_json::to_vec_pretty(&result)?)?;
    }
    if !result.violations.is_empty() {
        anyhow::bail!("the soak failed: {}", result.violations.join("; "));
    }
    Ok(())
}

fn report(files: &[PathBuf], out: &std::path::Path) -> anyhow::Result<()> {
    let mut merged = Results::default();
    for file in files {
        let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
        let r: Results = serde_json::from_str(&text)?;
        if merged.environment.started.is_empty() {
            merged.environment = r.environment;
        } else {
            merged.environment.notes.extend(r.environment.notes);
            merged.environment.load_after = r.environment.load_after;
            if merged.environment.sockudo_version.is_empty() {
                merged.environment.sockudo_version = r.environment.sockudo_version;
            }
            merged.environment.command.push_str(" ; ");
            merged.environment.command.push_str(&r.environment.command);
        }
        merged.idle.extend(r.idle);
        merged.post.extend(r.post);
        merged.connect.extend(r.connect);
        merged.fanout.extend(r.fanout);
        merged.broadcast.extend(r.broadcast);
        merged.completion.extend(r.completion);
        merged.cluster.extend(r.cluster);
        merged.slow.extend(r.slow);
    }
    bench::report::write(&merged, out)
}

fn run(args: RunArgs) -> anyhow::Result<()> {
    let me = std::env::current_exe()?;
    let switchboard = args.switchboard.launch()?;
    let mut targets = Vec::new();
    for t in &args.targets {
        targets.push(match t.as_str() {
            "switchboard" => Kind::Switchboard,
            "sockudo" => Kind::Sockudo,
            "floor" => Kind::Floor,
            other => anyhow::bail!("unknown target `{other}`"),
        });
    }
    let sockudo_bin = args.sockudo_bin.clone().or_else(|| {
        let home = std::env::var_os("HOME")?;
        let path = PathBuf::from(home).join(".cargo/bin/sockudo");
        path.is_file().then_some(path)
    });
    let sockudo = sockudo_bin.clone().map(|path| Launch::Binary { path, config: Some(args.sockudo_config.clone()) });
    let mut options = Options {
        scenarios: args.scenarios.clone(),
        targets,
        switchboard: switchboard.clone(),
        sockudo,
        worker_bin: me.clone(),
        runs: args.runs.max(1),
        server_core: (!args.no_pin).then_some(args.server_core),
        generator_core: (!args.no_pin).then_some(args.generator_core),
        sources: (0..args.sources.max(1)).map(|k| IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + k))).collect(),
        idle_counts: args.idle_counts.clone(),
        idle_settle: Duration::from_secs(args.idle_settle_secs),
        idle_console: args.idle_console.iter().map(|switch| *switch == Switch::On).collect(),
        idle_clients: args.idle_clients.clone(),
        post_receivers: args.post_receivers,
        broadcast_rounds: args.broadcast_rounds,
        post_concurrency: args.post_concurrency,
        post_duration: Duration::from_secs(args.post_secs),
        connect_count: args.connect_count,
        connect_concurrency: args.connect_concurrency,
        fanout_members: args.fanout_members.clone(),
        fanout_payloads: args.fanout_payloads.clone(),
        fanout_rates: BTreeMap::from([(1000, args.rates_1k.clone()), (10_000, args.rates_10k.clone())]),
        fanout_duration: Duration::from_secs(args.fanout_secs),
        stop_p99: Duration::from_millis(args.stop_p99_ms),
        chat_publish: args.chat_publish,
        cores: args.cores.iter().map(|c| (*c).clamp(1, 2)).collect(),
        floor_batch: !args.floor_no_batch,
        completion_members: args.completion_members.clone(),
        completion_messages: args.completion_messages,
        slow_members: args.slow_members,
        slow_rate: args.slow_rate,
        slow_payload: args.slow_payload,
        slow_percent: args.slow_percent,
        cluster_nodes: args.cluster_nodes.clone(),
        cluster: if args.cluster_addrs.is_empty() {
            Nodes::Start {
                bus_url: args.bus_url.clone(),
                store_url: args.store_url.clone(),
                namespace: args.cluster_namespace.clone(),
            }
        } else {
            Nodes::Running(args.cluster_addrs.clone())
        },
        cluster_concurrency: args.cluster_concurrency,
        chat: args.chat == "yes",
        backend_addr: args.backend_addr,
        quiet: args.quiet,
        server_logs: args.server_logs.clone(),
    };
    if args.smoke {
        options.runs = 1;
        options.idle_counts = vec![50];
        options.idle_settle = Duration::from_millis(200);
        options.idle_console = vec![true, false];
        options.post_receivers = 10;
        options.broadcast_rounds = 2;
        options.post_concurrency = 4;
        options.post_duration = Duration::from_secs(1);
        options.connect_count = 100;
        options.connect_concurrency = 20;
        options.fanout_members = vec![50];
        options.fanout_payloads = vec![100];
        options.fanout_rates = BTreeMap::from([(50, vec![20.0, 40.0])]);
        options.fanout_duration = Duration::from_secs(1);
        options.completion_members = vec![20, 50];
        options.completion_messages = 2;
        options.slow_members = 50;
        options.slow_rate = 20.0;
        options.slow_percent = 10.0;
        options.cluster_nodes.retain(|n| *n <= 2);
    }
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let local = tokio::task::LocalSet::new();
    let results = local.block_on(&runtime, async {
        if options.targets.contains(&Kind::Switchboard) && args.chat == "auto" {
            options.chat = bench::run::probe_chat(&options).await;
            eprintln!("IVS Chat data plane served: {}", options.chat);
        }
        let progress = |line: &str| eprintln!("{line}");
        let limit = Duration::from_secs(args.max_minutes * 60);
        let started = time::OffsetDateTime::now_utc();
        let load_before = bench::procfs::load_average();
        let mut results = tokio::time::timeout(limit, bench::run::run(&options, &progress))
            .await
            .context("the run went over --max-minutes")??;
        let failures = std::mem::take(&mut results.environment.notes);
        results.environment = bench::run::Environment {
            started: started.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            host_cpus: host_cpus(),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_owned(),
            load_before,
            load_after: bench::procfs::load_average(),
            switchboard_version: match &switchboard {
                Launch::Binary { path, .. } => bench::target::version(path),
                Launch::External { .. } => "in-process".to_owned(),
            },
            sockudo_version: if options.targets.contains(&Kind::Sockudo) {
                sockudo_bin.as_deref().map(bench::target::version).unwrap_or_default()
            } else {
                String::new()
            },
            smoke: args.smoke,
            command: command.clone(),
            notes: if options.chat || !options.targets.contains(&Kind::Switchboard) {
                Vec::new()
            } else {
                vec!["The IVS Chat data plane was not served by this Switchboard: chat scenarios not measured.".into()]
            },
        };
        results.environment.notes.extend(failures);
        anyhow::Ok(results)
    })?;
    if let Some(path) = &args.json_out {
        std::fs::write(path, serde_json::to_string_pretty(&results)?)?;
    }
    if let Some(out) = &args.out {
        bench::report::write(&results, out)?;
        eprintln!("report written to {}", out.display());
    }
    Ok(())
}

fn host_cpus() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = info.lines().find_map(|l| l.strip_prefix("model name")).map(|m| m.trim_start_matches([' ', '\t', ':']));
    let cpus = info.lines().filter(|l| l.starts_with("processor")).count();
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().next().and_then(|l| l.split_whitespace().nth(1)).and_then(|k| k.parse::<u64>().ok()))
        .unwrap_or(0);
    format!("{cpus} × {}, {:.0} GiB", model.unwrap_or("unknown CPU"), mem as f64 / 1048576.0)
}
