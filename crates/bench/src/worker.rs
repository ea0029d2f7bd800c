//! A generator worker process: opens its share of the WebSocket clients, keeps them subscribed, and counts and times
//! every delivery. The orchestrator talks to it over stdin/stdout, one JSON line each way.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::io::AsyncBufReadExt;
use tokio::sync::Semaphore;

use crate::hist::{Histogram, SparseHistogram};
use crate::payload;
use crate::progress::{self, Opening};
use crate::ws::{self, OP_BINARY, OP_CLOSE, OP_CONTINUATION, OP_PING, OP_PONG, OP_TEXT};

/// The wire protocol the clients speak after the WebSocket handshake.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum Protocol {
    /// API Gateway WebSocket API: nothing to do after the handshake.
    Apigw,
    /// IVS Chat: the chat token is the subprotocol; nothing to do after the handshake.
    Chat,
    /// Pusher protocol 7: wait for `pusher:connection_established`, subscribe to `channel` (`{i}` is replaced by the
    /// client's global index), wait for the ack.
    Pusher { channel: String },
}

/// What one worker does.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WorkerSpec {
    pub server: SocketAddr,
    /// Source addresses, used round-robin (bind before connect).
    pub sources: Vec<IpAddr>,
    pub protocol: Protocol,
    /// The request path; `{i}` is replaced by the client's global index.
    pub path: String,
    /// Global index of this worker's first client.
    pub first: usize,
    pub count: usize,
    /// Per-client subprotocols (chat tokens), indexed from `first`; empty for none.
    #[serde(default)]
    pub subprotocols: Vec<String>,
    /// Handshakes in flight at once.
    pub concurrency: usize,
    pub handshake_timeout_ms: u64,
    /// Every `stall_every`-th client by global index (0: none) stops reading once connected: a slow consumer whose
    /// socket buffers and server-side outbox fill while the others go on reading.
    #[serde(default)]
    pub stall_every: usize,
}

/// Sent once every client has connected or failed.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Ready {
    pub connected: usize,
    pub failed: usize,
    pub seconds: f64,
    /// A few failure messages, for the report.
    pub errors: Vec<String>,
}

/// Counters since the worker started; the latency histogram since the previous `stats` command.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Stats {
    pub delivered: u64,
    /// Data messages without a latency marker (acknowledgements, errors, other events).
    pub other: u64,
    pub bytes: u64,
    pub open: u64,
    /// Connections that ended, by close code (1006 for a TCP end without a close frame).
    pub closed: BTreeMap<u16, u64>,
    /// Wall-clock µs of the latest delivery with a marker.
    pub last_receive_us: u64,
    pub latency: SparseHistogram,
}

#[derive(Default)]
struct Shared {
    stats: Stats,
    latency: Histogram,
}

type SharedRef = Rc<RefCell<Shared>>;

/// Runs a worker on this thread: reads the spec from stdin, answers `stats` and `exit`.
pub fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async {
        let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        let spec: WorkerSpec = match lines.next_line().await? {
            Some(line) => serde_json::from_str(&line)?,
            None => return Ok(()),
        };
        let shared: SharedRef = Rc::new(RefCell::new(Shared::default()));
        let ready = connect_all(&spec, &shared).await;
        emit(&ready)?;
        while let Some(line) = lines.next_line().await? {
            match line.trim() {
                "stats" => {
                    let mut s = shared.borrow_mut();
                    let mut stats = s.stats.clone();
                    stats.latency = s.latency.to_sparse();
                    s.latency = Histogram::default();
                    drop(s);
                    emit(&stats)?;
                }
                "exit" => break,
                _ => {}
            }
        }
        Ok(())
    })
}

fn emit<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, value)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

async fn connect_all(spec: &WorkerSpec, shared: &SharedRef) -> Ready {
    let started = Instant::now();
    let gate = Rc::new(Semaphore::new(spec.concurrency.max(1)));
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<Result<(), String>>();
    for k in 0..spec.count {
        let index = spec.first + k;
        let source = (!spec.sources.is_empty()).then(|| spec.sources[index % spec.sources.len()]);
        let path = spec.path.replace("{i}", &index.to_string());
        let subprotocol = spec.subprotocols.get(k).cloned();
        let protocol = match &spec.protocol {
            Protocol::Pusher { channel } => Protocol::Pusher { channel: channel.replace("{i}", &index.to_string()) },
            other => other.clone(),
        };
        let stalls = spec.stall_every > 0 && index.is_multiple_of(spec.stall_every);
        let (server, timeout) = (spec.server, Duration::from_millis(spec.handshake_timeout_ms));
        let (gate, done_tx, shared) = (gate.clone(), done_tx.clone(), shared.clone());
        tokio::task::spawn_local(async move {
            let permit = gate.acquire().await;
            let opened = open(source, server, &path, subprotocol.as_deref(), &protocol, timeout).await;
            drop(permit);
            match opened {
                Ok(client) => {
                    shared.borrow_mut().stats.open += 1;
                    let _ = done_tx.send(Ok(()));
                    drop(done_tx);
                    if stalls {
                        // Holds the socket open without reading until the worker exits.
                        let _held = client;
                        std::future::pending::<()>().await;
                    } else {
                        receive(client, &shared).await;
                    }
                }
                Err(err) => {
                    let _ = done_tx.send(Err(err.to_string()));
                }
            }
        });
    }
    drop(done_tx);
    let mut ready = Ready::default();
    // What is open so far, said every second until every client has reported.
    let mut every = tokio::time::interval_at(tokio::time::Instant::now() + progress::EVERY, progress::EVERY);
    // Each client reports once (its task then goes on receiving, holding its sender).
    for _ in 0..spec.count {
        let result = loop {
            tokio::select! {
                result = done_rx.recv() => break result,
                _ = every.tick() => {
                    let _ = emit(&Opening { opened: ready.connected as u64, failed: ready.failed as u64 });
                }
            }
        };
        let Some(result) = result else { break };
        match result {
            Ok(()) => ready.connected += 1,
            Err(err) => {
                ready.failed += 1;
                if ready.errors.len() < 5 {
                    ready.errors.push(err);
                }
            }
        }
    }
    ready.seconds = started.elapsed().as_secs_f64();
    ready
}

async fn open(
    source: Option<IpAddr>,
    server: SocketAddr,
    path: &str,
    subprotocol: Option<&str>,
    protocol: &Protocol,
    timeout: Duration,
) -> std::io::Result<ws::Client> {
    let mut client = ws::connect(source, server, path, subprotocol, timeout).await?;
    if let Protocol::Pusher { channel } = protocol {
        tokio::time::timeout(timeout, async {
            wait_for(&mut client, b"pusher:connection_established").await?;
            let subscribe = format!(r#"{{"event":"pusher:subscribe","data":{{"channel":"{channel}"}}}}"#);
            ws::send_frame(&mut client.stream, OP_TEXT, subscribe.as_bytes()).await?;
            wait_for(&mut client, b"pusher_internal:subscription_succeeded").await
        })
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "subscription timed out"))??;
    }
    Ok(client)
}

/// Reads frames until a text frame contains `needle`.
async fn wait_for(client: &mut ws::Client, needle: &[u8]) -> std::io::Result<()> {
    loop {
        while let Some((frame, total)) = client.reader.next_frame() {
            let found = frame.opcode == OP_TEXT && memchr::memmem::find(frame.payload, needle).is_some();
            let closed = frame.opcode == OP_CLOSE;
            client.reader.consume(total);
            if found {
                return Ok(());
            }
            if closed {
                return Err(std::io::Error::other("closed before subscribing"));
            }
        }
        if client.reader.fill(&mut client.stream).await? == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "closed before subscribing"));
        }
    }
}

/// Counts and times deliveries until the connection ends.
async fn receive(client: ws::Client, shared: &SharedRef) {
    let ws::Client { mut stream, mut reader } = client;
    let code = 'conn: loop {
        while let Some((frame, total)) = reader.next_frame() {
            match frame.opcode {
                OP_TEXT | OP_BINARY | OP_CONTINUATION => {
                    let now = payload::now_micros();
                    let marker = if frame.opcode == OP_CONTINUATION { None } else { payload::find(frame.payload) };
                    {
                        let mut s = shared.borrow_mut();
                        s.stats.bytes += frame.payload.len() as u64;
                        match marker {
                            Some(sent) => {
                                s.stats.delivered += 1;
                                s.stats.last_receive_us = s.stats.last_receive_us.max(now);
                                s.latency.record(now.saturating_sub(sent));
                            }
                            None if frame.fin => s.stats.other += 1,
                            None => {}
                        }
                    }
                    if frame.opcode == OP_TEXT && memchr::memmem::find(frame.payload, b"\"pusher:ping\"").is_some() {
                        let pong = br#"{"event":"pusher:pong","data":{}}"#;
                        reader.consume(total);
                        if ws::send_frame(&mut stream, OP_TEXT, pong).await.is_err() {
                            break 'conn 1006;
                        }
                        continue;
                    }
                }
                OP_PING => {
                    let body = frame.payload.to_vec();
                    reader.consume(total);
                    if ws::send_frame(&mut stream, OP_PONG, &body).await.is_err() {
                        break 'conn 1006;
                    }
                    continue;
                }
                OP_CLOSE => break 'conn ws::close_code(frame.payload),
                _ => {}
            }
            reader.consume(total);
        }
        match reader.fill(&mut stream).await {
            Ok(0) | Err(_) => break 1006,
            Ok(_) => {}
        }
    };
    let mut s = shared.borrow_mut();
    s.stats.open -= 1;
    *s.stats.closed.entry(code).or_default() += 1;
}
