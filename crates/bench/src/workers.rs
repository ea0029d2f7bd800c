//! The orchestrator's side of the worker processes: spawn them with their share of the clients, wait until they are
//! connected, and collect and merge their counters.

use std::cell::RefCell;
use std::path::Path;
use std::process::Stdio;

use anyhow::{Context, bail};
use futures_util::future::join_all;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::hist::Histogram;
use crate::progress::{Live, Opening};
use crate::worker::{Ready, Stats, WorkerSpec};

/// Clients per worker process (every process may hold at most 20,000 open files here).
pub const MAX_PER_WORKER: usize = 10_000;

struct Proc {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
}

/// Running workers.
pub struct Workers {
    procs: Vec<Proc>,
}

/// Merged counters of every worker.
#[derive(Clone, Debug, Default)]
pub struct Merged {
    pub delivered: u64,
    pub other: u64,
    pub open: u64,
    pub closed: std::collections::BTreeMap<u16, u64>,
    pub last_receive_us: u64,
    pub latency: Histogram,
}

impl Merged {
    pub fn closed_total(&self) -> u64 {
        self.closed.values().sum()
    }
}

impl Workers {
    /// Splits `template.count` clients (from index `template.first`) over enough workers and starts them.
    pub async fn spawn(bin: &Path, template: &WorkerSpec) -> anyhow::Result<Workers> {
        let total = template.count;
        let n = total.div_ceil(MAX_PER_WORKER).max(1);
        let mut procs = Vec::with_capacity(n);
        for w in 0..n {
            let start = total * w / n;
            let end = total * (w + 1) / n;
            let mut spec = template.clone();
            spec.first = template.first + start;
            spec.count = end - start;
            spec.subprotocols = template.subprotocols.get(start..end).map(<[String]>::to_vec).unwrap_or_default();
            let mut child = Command::new(bin)
                .arg("worker")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .kill_on_drop(true)
                .spawn()
                .with_context(|| format!("cannot start worker {}", bin.display()))?;
            let mut stdin = child.stdin.take().context("worker stdin")?;
            let stdout = BufReader::new(child.stdout.take().context("worker stdout")?).lines();
            let mut line = serde_json::to_vec(&spec)?;
            line.push(b'\n');
            stdin.write_all(&line).await?;
            stdin.flush().await?;
            procs.push(Proc { child, stdin, stdout });
        }
        Ok(Workers { procs })
    }

    /// Takes `other`'s processes in (clients of several servers, counted together).
    pub fn extend(&mut self, other: Workers) {
        self.procs.extend(other.procs);
    }

    pub fn pids(&self) -> Vec<u32> {
        self.procs.iter().filter_map(|p| p.child.id()).collect()
    }

    /// Waits until every worker has connected (or failed) all its clients, telling `live` how many are open as the
    /// workers say it (all workers read at once, so that the count is everyone's, not only the first unready one's).
    pub async fn ready(&mut self, live: &Live) -> anyhow::Result<Ready> {
        let opened = RefCell::new(vec![0u64; self.procs.len()]);
        let report = |i: usize, n: u64| {
            let sum = {
                let mut opened = opened.borrow_mut();
                opened[i] = n;
                opened.iter().sum()
            };
            live.opened(sum);
        };
        let readies = join_all(self.procs.iter_mut().enumerate().map(|(i, p)| async move {
            loop {
                let Some(line) = p.stdout.next_line().await? else { bail!("a worker ended before it was ready") };
                match serde_json::from_str::<Opening>(&line) {
                    Ok(opening) => report(i, opening.opened),
                    Err(_) => {
                        let ready: Ready = serde_json::from_str(&line)?;
                        report(i, ready.connected as u64);
                        return Ok(ready);
                    }
                }
            }
        }))
        .await;
        let mut merged = Ready::default();
        for ready in readies {
            let ready = ready?;
            merged.connected += ready.connected;
            merged.failed += ready.failed;
            merged.seconds = merged.seconds.max(ready.seconds);
            for e in ready.errors {
                if merged.errors.len() < 5 {
                    merged.errors.push(e);
                }
            }
        }
        Ok(merged)
    }

    /// Counters since start; the latency histogram since the previous call.
    pub async fn stats(&mut self) -> anyhow::Result<Merged> {
        for p in &mut self.procs {
            p.stdin.write_all(b"stats\n").await?;
            p.stdin.flush().await?;
        }
        let mut merged = Merged::default();
        for p in &mut self.procs {
            let Some(line) = p.stdout.next_line().await? else { bail!("a worker ended") };
            let stats: Stats = serde_json::from_str(&line)?;
            merged.delivered += stats.delivered;
            merged.other += stats.other;
            merged.open += stats.open;
            for (code, n) in stats.closed {
                *merged.closed.entry(code).or_default() += n;
            }
            merged.last_receive_us = merged.last_receive_us.max(stats.last_receive_us);
            merged.latency.merge(&Histogram::from_sparse(&stats.latency));
        }
        Ok(merged)
    }

    /// Asks every worker to exit and waits for it (dropping its connections).
    pub async fn stop(mut self) {
        for p in &mut self.procs {
            let _ = p.stdin.write_all(b"exit\n").await;
            let _ = p.stdin.flush().await;
        }
        for p in &mut self.procs {
            if tokio::time::timeout(std::time::Duration::from_secs(5), p.child.wait()).await.is_err() {
                let _ = p.child.kill().await;
            }
        }
    }
}
