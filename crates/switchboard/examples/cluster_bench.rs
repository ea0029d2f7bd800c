//! Cluster benchmark: holds tens of thousands of WebSocket connections over three `switchboard serve` processes sharing
//! Redis and PostgreSQL, and measures PostToConnection latency (connection on the called node vs on another node) and
//! chat fan-out latency (members on the publishing node vs on the others), beside the same figures for one node.
//!
//! ```sh
//! cargo build --release -p switchboard --example cluster_bench --bin switchboard
//! target/release/examples/cluster_bench --connections 50000
//! ```
//!
//! Every process (each node, each client worker) stays under 20,000 open files: clients are spread over worker
//! processes of at most 15,000 connections. Bus and store default to `SWITCHBOARD_TEST_REDIS_URL` and
//! `SWITCHBOARD_TEST_POSTGRES_URL`. Everything runs on loopback.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const PER_WORKER: usize = 15_000;

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Target {
    addr: SocketAddr,
    node: usize,
    /// API Gateway clients `?c=first..first+idle`.
    first: usize,
    idle: usize,
    /// Chat tokens of this target's room members.
    tokens: Vec<String>,
    /// Loopback source address of this worker's clients (each has its own ephemeral port range).
    source: std::net::IpAddr,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Samples {
    /// Fan-out latencies in microseconds: members on the publishing node, members on other nodes.
    same: Vec<u64>,
    cross: Vec<u64>,
    connected: usize,
    failed: usize,
}

fn now_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    if args.get(1).map(String::as_str) == Some("worker") {
        return runtime.block_on(worker());
    }
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let connections: usize = arg("--connections").map_or(Ok(50_000), |v| v.parse())?;
    let members: usize = arg("--members-per-node").map_or(Ok(1_000), |v| v.parse())?;
    let bin = arg("--bin").unwrap_or_else(|| "target/release/switchboard".to_owned());
    let redis = arg("--redis")
        .or_else(|| std::env::var("SWITCHBOARD_TEST_REDIS_URL").ok())
        .unwrap_or_else(|| "redis://127.0.0.1:6379/".to_owned());
    let postgres = arg("--postgres")
        .or_else(|| std::env::var("SWITCHBOARD_TEST_POSTGRES_URL").ok())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    runtime.block_on(async move {
        let backend = Backend::start().await?;
        println!("# Cluster benchmark\n");
        let single = measure(&bin, &backend, 1, connections / 3, members, None).await?;
        let cluster = measure(&bin, &backend, 3, connections, members, Some((&redis, &postgres))).await?;
        println!("\n| Figure | 1 node | 3 nodes |\n|---|---|---|");
        for (name, key) in [
            ("connections held", "held"),
            ("PostToConnection p50 / p99, same node (ms)", "post_same"),
            ("PostToConnection p50 / p99, other node (ms)", "post_cross"),
            ("chat fan-out p50 / p99, publishing node's members (ms)", "fan_same"),
            ("chat fan-out p50 / p99, other nodes' members (ms)", "fan_cross"),
        ] {
            let cell = |m: &HashMap<&str, String>| m.get(key).cloned().unwrap_or_else(|| "–".to_owned());
            println!("| {name} | {} | {} |", cell(&single), cell(&cluster));
        }
        anyhow::Ok(())
    })
}

/// Records `$connect` events: client index (`?c=`) → connection id.
struct Backend {
    addr: SocketAddr,
    ids: Arc<Mutex<HashMap<usize, String>>>,
}

impl Backend {
    async fn start() -> anyhow::Result<Backend> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let ids: Arc<Mutex<HashMap<usize, String>>> = Arc::default();
        let shared = ids.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let ids = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let ids = ids.clone();
                        async move {
                            let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                            if let Ok(event) = serde_json::from_slice::<Value>(&body) {
                                let c = event["queryStringParameters"]["c"].as_str().and_then(|c| c.parse().ok());
                                let id = event["requestContext"]["connectionId"].as_str();
                                if let (Some(c), Some(id), "CONNECT") =
                                    (c, id, event["requestContext"]["eventType"].as_str().unwrap_or(""))
                                {
                                    ids.lock().insert(c, id.to_owned());
                                }
                            }
                            Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from_static(
                                b"{\"statusCode\":200}",
                            ))))
                        }
                    });
                    let _ =
                        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tcp), service).await;
                });
            }
        });
        Ok(Backend { addr, ids })
    }
}

struct Node {
    child: std::process::Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_node(bin: &str, backend: &Backend, cluster: Option<(&str, &str, &str)>) -> anyhow::Result<Node> {
    let dir = tempfile::tempdir()?;
    let url = format!("http://{}/", backend.addr);
    let mut command = Command::new(bin);
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--insecure-no-auth", "--new-connections-per-second", "0"])
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--route", &format!("$connect={url}"), "--ivschat-max-rooms", "1000"])
        .env("SWITCHBOARD_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some((redis, postgres, namespace)) = cluster {
        command.args(["--bus-url", redis, "--store-url", postgres, "--cluster-namespace", namespace]);
    }
    let mut child = command.spawn()?;
    let stdout = child.stdout.take().expect("piped");
    let mut lines = std::io::BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines.next().ok_or_else(|| anyhow::anyhow!("the node exited"))??;
        if let Some(addr) = line.strip_prefix("Switchboard is listening on ") {
            break addr.trim().parse()?;
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Ok(Node { child, addr, _dir: dir })
}

/// An unsigned control-plane call (the nodes run with --insecure-no-auth).
async fn post_json(http: &reqwest::Client, url: String, body: Value) -> anyhow::Result<Value> {
    let response =
        http.post(url).header("content-type", "application/json").body(serde_json::to_vec(&body)?).send().await?;
    let bytes = response.bytes().await?;
    Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn percentiles(mut samples: Vec<u64>) -> String {
    if samples.is_empty() {
        return "–".to_owned();
    }
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize] as f64 / 1000.0;
    format!("{:.2} / {:.2}", at(0.5), at(0.99))
}

async fn measure(
    bin: &str,
    backend: &Backend,
    nodes: usize,
    connections: usize,
    members: usize,
    cluster: Option<(&str, &str)>,
) -> anyhow::Result<HashMap<&'static str, String>> {
    let namespace = format!("sbbench_{}", std::process::id());
    let started: Vec<Node> = (0..nodes)
        .map(|_| start_node(bin, backend, cluster.map(|(r, p)| (r, p, namespace.as_str()))))
        .collect::<anyhow::Result<_>>()?;
    let http = reqwest::Client::builder().no_proxy().pool_max_idle_per_host(64).build()?;
    let base = |n: usize| format!("http://{}", started[n].addr);
    let room = post_json(&http, format!("{}/CreateRoom", base(0)), json!({"maximumMessageRatePerSecond": 100})).await?;
    let arn = room["arn"].as_str().ok_or_else(|| anyhow::anyhow!("CreateRoom: {room}"))?.to_owned();
    let idle_per_node = connections.saturating_sub(members * nodes).div_ceil(nodes);
    let mut targets = Vec::new();
    for (n, started_node) in started.iter().enumerate() {
        let mut tokens = Vec::with_capacity(members);
        for m in 0..members {
            let body = json!({"roomIdentifier": arn, "userId": format!("u{n}-{m}"), "sessionDurationInMinutes": 180});
            let token = post_json(&http, format!("{}/CreateChatToken", base((n + 1) % nodes)), body).await?;
            tokens.push(token["token"].as_str().unwrap_or_default().to_owned());
        }
        let source = std::net::Ipv4Addr::LOCALHOST.into();
        targets.push(Target {
            addr: started_node.addr,
            node: n,
            first: n * idle_per_node,
            idle: idle_per_node,
            tokens,
            source,
        });
    }
    // Split every target's clients over workers of at most PER_WORKER connections.
    let mut specs: Vec<Vec<Target>> = Vec::new();
    for target in targets {
        let total = target.idle + target.tokens.len();
        let parts = total.div_ceil(PER_WORKER).max(1);
        for p in 0..parts {
            let idle = (target.idle * (p + 1) / parts) - (target.idle * p / parts);
            let tokens = target.tokens[target.tokens.len() * p / parts..target.tokens.len() * (p + 1) / parts].to_vec();
            let source = std::net::Ipv4Addr::new(127, 0, 1, 1 + specs.len() as u8).into();
            specs.push(vec![Target {
                first: target.first + target.idle * p / parts,
                idle,
                tokens,
                source,
                ..target.clone()
            }]);
        }
    }
    let connect_started = Instant::now();
    let exe = std::env::current_exe()?;
    let mut workers = Vec::new();
    for spec in &specs {
        let mut child = Command::new(&exe).arg("worker").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
        let mut stdin = child.stdin.take().expect("piped");
        writeln!(stdin, "{}", serde_json::to_string(spec)?)?;
        let lines = std::io::BufReader::new(child.stdout.take().expect("piped")).lines();
        workers.push((child, stdin, lines));
    }
    let mut held = 0;
    for (_, _, lines) in workers.iter_mut() {
        let line = lines.next().ok_or_else(|| anyhow::anyhow!("a worker exited"))??;
        held += line.strip_prefix("ready ").and_then(|n| n.parse::<usize>().ok()).unwrap_or(0);
    }
    println!(
        "{nodes} node(s): {held} connections open after {:.1} s ({} $connect ids recorded)",
        connect_started.elapsed().as_secs_f64(),
        backend.ids.lock().len()
    );

    // PostToConnection: 2,000 calls, each to the node holding the connection and to another one.
    let ids: Vec<(usize, String)> = backend.ids.lock().iter().map(|(c, id)| (*c, id.clone())).take(2_000).collect();
    let (mut same, mut cross) = (Vec::new(), Vec::new());
    for (c, id) in &ids {
        let owner = (c / idle_per_node.max(1)).min(nodes - 1);
        let calls = if nodes == 1 {
            vec![(owner, &mut same)]
        } else {
            vec![(owner, &mut same), ((owner + 1) % nodes, &mut cross)]
        };
        for (via, out) in calls {
            let started = Instant::now();
            let response = http.post(format!("{}/prod/@connections/{id}", base(via))).body("ping").send().await?;
            if response.status() == 200 {
                out.push(started.elapsed().as_micros() as u64);
            }
        }
    }
    // Fan-out: 50 events, 10 per second, published on node 0; members measure send → receive.
    for _ in 0..50 {
        let body =
            json!({"roomIdentifier": arn, "eventName": "bench", "attributes": {"t": now_us().to_string(), "n": "0"}});
        post_json(&http, format!("{}/SendEvent", base(0)), body).await?;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut samples = Samples::default();
    for (mut child, mut stdin, mut lines) in workers {
        writeln!(stdin, "report")?;
        let line = lines.next().ok_or_else(|| anyhow::anyhow!("a worker exited"))??;
        let part: Samples = serde_json::from_str(&line)?;
        samples.same.extend(part.same);
        samples.cross.extend(part.cross);
        samples.failed += part.failed;
        let _ = child.wait();
    }
    if let Some((redis, _)) = cluster {
        let _ = redis; // The namespace's Redis keys expire or are a few bytes; its schema is dropped below.
        if let Some((_, postgres)) = cluster
            && let Ok(store) = store::PostgresStore::connect_in(postgres, &namespace).await
        {
            drop(started);
            let _ = store.drop_schema().await;
        }
    }
    let mut out = HashMap::new();
    out.insert("held", format!("{held} ({} failed)", samples.failed));
    out.insert("post_same", percentiles(same));
    out.insert("post_cross", percentiles(cross));
    out.insert("fan_same", percentiles(samples.same));
    out.insert("fan_cross", percentiles(samples.cross));
    Ok(out)
}

type Client = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// A WebSocket client from `source` (so that every worker has its own ephemeral ports).
async fn connect(source: std::net::IpAddr, addr: SocketAddr, request: http::Request<()>) -> Option<Client> {
    let socket = tokio::net::TcpSocket::new_v4().ok()?;
    socket.bind(SocketAddr::new(source, 0)).ok()?;
    let stream = socket.connect(addr).await.ok()?;
    tokio_tungstenite::client_async(request, stream).await.ok().map(|(ws, _)| ws)
}

/// A worker process: opens its share of the clients, says `ready N`, measures fan-out until told `report`.
async fn worker() -> anyhow::Result<()> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let targets: Vec<Target> = serde_json::from_str(&line)?;
    let samples: Arc<Mutex<Samples>> = Arc::default();
    let limit = Arc::new(tokio::sync::Semaphore::new(256));
    let mut tasks = Vec::new();
    let mut keep = Vec::new();
    for target in &targets {
        for c in target.first..target.first + target.idle {
            let request = format!("ws://{}/prod?c={c}", target.addr).into_client_request()?;
            let permit = limit.clone().acquire_owned().await?;
            let (source, addr) = (target.source, target.addr);
            tasks.push(tokio::spawn(async move {
                let result = connect(source, addr, request).await;
                drop(permit);
                result
            }));
        }
        for token in &target.tokens {
            let mut request = format!("ws://{}/", target.addr).into_client_request()?;
            request.headers_mut().insert("Sec-WebSocket-Protocol", token.parse()?);
            let permit = limit.clone().acquire_owned().await?;
            let (source, addr) = (target.source, target.addr);
            tasks.push(tokio::spawn(async move {
                let result = connect(source, addr, request).await;
                drop(permit);
                result
            }));
        }
        for task in tasks.drain(..) {
            match task.await? {
                Some(ws) => keep.push((target.node, ws)),
                None => samples.lock().failed += 1,
            }
        }
    }
    let held = keep.len();
    for (node, ws) in keep {
        let samples = samples.clone();
        tokio::spawn(async move {
            let (_sink, mut stream) = ws.split();
            while let Some(Ok(message)) = stream.next().await {
                let Message::Text(text) = message else { continue };
                let Ok(frame) = serde_json::from_str::<Value>(&text) else { continue };
                let sent = frame["Attributes"]["t"].as_str().and_then(|t| t.parse::<u64>().ok());
                let from = frame["Attributes"]["n"].as_str().and_then(|n| n.parse::<usize>().ok());
                if let (Some(sent), Some(from)) = (sent, from) {
                    let latency = now_us().saturating_sub(sent);
                    let mut samples = samples.lock();
                    if from == node { samples.same.push(latency) } else { samples.cross.push(latency) }
                }
            }
        });
    }
    println!("ready {held}");
    std::io::stdout().flush()?;
    let mut command = String::new();
    tokio::task::spawn_blocking(move || std::io::stdin().read_line(&mut command)).await??;
    let mut samples = samples.lock();
    samples.connected = held;
    println!("{}", serde_json::to_string(&*samples)?);
    std::io::stdout().flush()?;
    std::process::exit(0);
}
