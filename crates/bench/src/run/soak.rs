//! The soak scenario: mixed traffic (handshakes, messages, PostToConnection, room events) at a fixed rate for a long
//! time, sampling the server's RSS, open file descriptors and running tasks, and failing when any grows past its
//! slack over its level after warm-up.

use std::cell::RefCell;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;

use super::fanout::{create_room, ivschat};
use super::*;
use crate::ws;

/// Persistent connections that receive posts and send messages.
const PERSISTENT: usize = 8;

/// Operations in flight at most; past it an operation is skipped (and counted), so a stalled server cannot make the
/// generator pile up work.
const MAX_IN_FLIGHT: usize = 64;

/// What a soak runs against, for how long, and what it tolerates.
#[derive(Clone, Debug)]
pub struct SoakOptions {
    pub switchboard: Launch,
    /// The admin listener of an external server (for its `switchboard_tasks` gauge); a started one reports its own.
    pub admin: Option<SocketAddr>,
    /// The `$connect` and `$default` integration's address, for an external server configured with it.
    pub backend: Option<SocketAddr>,
    pub duration: Duration,
    /// Operations per second, spread evenly over the four kinds.
    pub rate: f64,
    pub warmup: Duration,
    pub sample_every: Duration,
    pub rss_slack_bytes: u64,
    pub fd_slack: usize,
    pub task_slack: u64,
}

/// One reading of the server.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SoakSample {
    pub seconds: f64,
    pub rss_bytes: u64,
    pub fds: usize,
    pub tasks: Option<u64>,
}

/// What a soak did and saw.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SoakResult {
    pub samples: Vec<SoakSample>,
    /// Operations that succeeded and failed, by kind: handshake, message, post, room event.
    pub ok: [u64; 4],
    pub failed: [u64; 4],
    /// Operations not started because `MAX_IN_FLIGHT` were still running.
    pub skipped: u64,
    /// Why the run failed, if it did.
    pub violations: Vec<String>,
}

const KINDS: [&str; 4] = ["handshake", "message", "post", "room event"];

impl SoakResult {
    /// The samples as a table, then the operations and the verdict.
    pub fn render(&self) -> String {
        let mut out = String::from("| s | RSS MiB | fds | tasks |\n|---:|---:|---:|---:|\n");
        for s in &self.samples {
            let tasks = s.tasks.map_or("–".to_owned(), |t| t.to_string());
            out.push_str(&format!(
                "| {:.0} | {:.1} | {} | {tasks} |\n",
                s.seconds,
                s.rss_bytes as f64 / 1048576.0,
                s.fds
            ));
        }
        for (i, kind) in KINDS.iter().enumerate() {
            out.push_str(&format!("{kind}: {} ok, {} failed\n", self.ok[i], self.failed[i]));
        }
        out.push_str(&format!("skipped: {}\n", self.skipped));
        if self.violations.is_empty() {
            out.push_str("verdict: flat\n");
        } else {
            out.push_str(&format!("verdict: grew: {}\n", self.violations.join("; ")));
        }
        out
    }

    /// Checks every sample after warm-up against the first one then.
    fn judge(&mut self, o: &SoakOptions) {
        let warm = o.warmup.as_secs_f64();
        let mut after = self.samples.iter().filter(|s| s.seconds >= warm);
        let Some(base) = after.next().cloned() else {
            self.violations.push("no sample after warm-up".to_owned());
            return;
        };
        for s in after {
            if s.rss_bytes > base.rss_bytes + o.rss_slack_bytes {
                self.violations.push(format!("RSS {} -> {} bytes at {:.0} s", base.rss_bytes, s.rss_bytes, s.seconds));
            }
            if s.fds > base.fds + o.fd_slack {
                self.violations.push(format!("fds {} -> {} at {:.0} s", base.fds, s.fds, s.seconds));
            }
            if let (Some(b), Some(t)) = (base.tasks, s.tasks)
                && t > b + o.task_slack
            {
                self.violations.push(format!("tasks {b} -> {t} at {:.0} s", s.seconds));
            }
        }
        for (i, kind) in KINDS.iter().enumerate() {
            if self.ok[i] == 0 {
                self.violations.push(format!("no {kind} succeeded"));
            }
        }
    }
}

/// The server's `switchboard_tasks` gauge, read from its admin listener.
async fn tasks(admin: SocketAddr) -> Option<u64> {
    let read = async {
        let mut tcp = tokio::net::TcpStream::connect(admin).await.ok()?;
        let request = format!("GET /@switchboard/metrics HTTP/1.0\r\nHost: {admin}\r\n\r\n");
        tcp.write_all(request.as_bytes()).await.ok()?;
        let mut text = String::new();
        tcp.read_to_string(&mut text).await.ok()?;
        let line = text.lines().find(|l| l.starts_with("switchboard_tasks "))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    tokio::time::timeout(Duration::from_secs(5), read).await.ok().flatten()
}

fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |dir| dir.count())
}

/// Runs the soak (on a `LocalSet`). `progress` hears each sample.
pub async fn soak(o: &SoakOptions, progress: &dyn Fn(&str)) -> anyhow::Result<SoakResult> {
    let backend = Backend::start(o.backend).await?;
    let route = backend.url();
    let options = SwitchboardOptions {
        connect_route: Some(route.clone()),
        extra_args: vec!["--route".to_owned(), format!("$default={route}")],
        ..SwitchboardOptions::default()
    };
    let mut server = Server::start(Kind::Switchboard, &o.switchboard, None, &options)?;
    let (addr, pid) = (server.addr, server.pid);
    let admin = o.admin.or(server.admin);

    // Persistent connections: each read by a task that throws frames away, written to by message operations.
    let mut writers = Vec::new();
    for i in 0..PERSISTENT {
        let client = ws::connect(None, addr, &format!("/prod?i={i}"), None, Duration::from_secs(5)).await?;
        let (mut read, write) = client.stream.into_split();
        tokio::task::spawn_local(async move {
            let mut buf = vec![0; 16 * 1024];
            while read.read(&mut buf).await.is_ok_and(|n| n > 0) {}
        });
        writers.push(tokio::sync::Mutex::new(write));
    }
    let writers: Rc<Vec<tokio::sync::Mutex<OwnedWriteHalf>>> = Rc::new(writers);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ids: Rc<Vec<String>> = Rc::new({
        let map = backend.ids.lock().unwrap_or_else(|e| e.into_inner());
        map.values().map(|id| id.replace('=', "%3D")).collect()
    });
    if ids.is_empty() {
        bail!("soak: the $connect integration saw no connection id");
    }
    let room = Rc::new(create_room(addr).await?);

    let result = Rc::new(RefCell::new(SoakResult::default()));
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT));
    let started = Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / o.rate.max(0.1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut next_sample = started;
    let mut k: usize = 0;
    while started.elapsed() < o.duration {
        ticker.tick().await;
        if Instant::now() >= next_sample {
            let (rss_bytes, _) = procfs::rss(pid).context("the server is gone")?;
            let tasks = match admin {
                Some(admin) => tasks(admin).await,
                None => None,
            };
            let sample = SoakSample { seconds: started.elapsed().as_secs_f64(), rss_bytes, fds: fds(pid), tasks };
            progress(&format!("soak: {sample:?}"));
            result.borrow_mut().samples.push(sample);
            next_sample += o.sample_every;
        }
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            result.borrow_mut().skipped += 1;
            continue;
        };
        let kind = k % 4;
        let (writers, ids, room, result) = (writers.clone(), ids.clone(), room.clone(), result.clone());
        let n = k;
        tokio::task::spawn_local(async move {
            let _permit = permit;
            let ok = operation(kind, n, addr, &writers, &ids, &room).await.is_ok();
            let mut result = result.borrow_mut();
            if ok {
                result.ok[kind] += 1;
            } else {
                result.failed[kind] += 1;
            }
        });
        k += 1;
    }
    // Let the operations in flight end (each is bounded by its own deadline).
    let _all = tokio::time::timeout(Duration::from_secs(10), permits.acquire_many(MAX_IN_FLIGHT as u32)).await;
    if !server.alive() {
        bail!("soak: the server exited");
    }
    let mut result = result.borrow().clone();
    result.judge(o);
    Ok(result)
}

/// One operation of kind `kind`, the `n`th of the run.
async fn operation(
    kind: usize,
    n: usize,
    addr: SocketAddr,
    writers: &[tokio::sync::Mutex<OwnedWriteHalf>],
    ids: &[String],
    room: &str,
) -> anyhow::Result<()> {
    let deadline = Duration::from_secs(5);
    let work = async {
        match kind {
            // A handshake, then a clean close.
            0 => {
                let mut client = ws::connect(None, addr, "/prod", None, deadline).await?;
                ws::send_frame(&mut client.stream, 8, &1000u16.to_be_bytes()).await?;
                let mut buf = [0; 512];
                while client.stream.read(&mut buf).await? > 0 {}
            }
            // A message on a persistent connection, to its `$default` integration.
            1 => {
                let mut frame = Vec::new();
                ws::encode_client_frame(1, format!("soak {n}").as_bytes(), &mut frame);
                writers[n % writers.len()].lock().await.write_all(&frame).await?;
            }
            // PostToConnection to a persistent connection.
            2 => {
                let mut conn = http1::Conn::open(None, addr).await?;
                let mut signer =
                    SigV4::new(target::ACCESS_KEY_ID, target::SECRET_ACCESS_KEY, target::REGION, "execute-api");
                let path = format!("/prod/@connections/{}", ids[n % ids.len()]);
                let body = format!("soak {n}");
                let signed = signer.sign("POST", &path, &conn.host, body.as_bytes(), OffsetDateTime::now_utc());
                let headers =
                    [("X-Amz-Date", signed.amz_date.as_str()), ("Authorization", signed.authorization.as_str())];
                let response = conn.post(&path, &headers, body.as_bytes()).await?;
                if response.status != 200 {
                    bail!("PostToConnection answered {}", response.status);
                }
            }
            // A room event.
            _ => {
                let mut conn = http1::Conn::open(None, addr).await?;
                let event = serde_json::json!({"roomIdentifier": room, "eventName": "soak"});
                ivschat(&mut conn, "SendEvent", &event).await?;
            }
        }
        anyhow::Ok(())
    };
    tokio::time::timeout(deadline, work).await.context("timed out")?
}
