//! The servers under test: a fresh Switchboard, Sockudo or floor process per run (pinned to the server cores with
//! `taskset`), or a server someone else started (smoke mode).

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

/// Credentials the generator uses against Switchboard.
pub const ACCESS_KEY_ID: &str = "AKIDSWITCHBOARDBENCH";
pub const SECRET_ACCESS_KEY: &str = "switchboard/bench/secret/key/0123456789";
pub const REGION: &str = "us-east-1";
/// Sockudo's app (see crates/bench/sockudo.toml).
pub const PUSHER_APP_ID: &str = "app-id";
pub const PUSHER_KEY: &str = "app-key";
pub const PUSHER_SECRET: &str = "app-secret";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
pub enum Kind {
    Switchboard,
    Sockudo,
    /// The floor: `switchboard-bench floor-server`, the least possible work per delivery.
    Floor,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Switchboard => "Switchboard",
            Kind::Sockudo => "Sockudo",
            Kind::Floor => "Floor",
        }
    }
}

/// How to get a server.
#[derive(Clone, Debug)]
pub enum Launch {
    /// Start this binary for every run.
    Binary { path: PathBuf, config: Option<PathBuf> },
    /// Use a running server (pid for /proc readings).
    External { addr: SocketAddr, pid: u32 },
}

/// Options of a server start.
#[derive(Clone, Debug, Default)]
pub struct SwitchboardOptions {
    /// URL of a `$connect` integration (Switchboard).
    pub connect_route: Option<String>,
    pub extra_args: Vec<String>,
    /// Cores the server may use from the pinned one on (0 counts as 1); the floor runs a writer thread per core.
    pub cores: usize,
    /// Where the server's standard error goes, as a file of its own (`--server-logs`); nowhere when `None`.
    pub log_dir: Option<PathBuf>,
}

/// A running server.
pub struct Server {
    pub kind: Kind,
    pub addr: SocketAddr,
    pub pid: u32,
    /// A started Switchboard's admin listener (health and metrics).
    pub admin: Option<SocketAddr>,
    child: Option<Child>,
    data_dir: Option<PathBuf>,
}

impl Server {
    pub fn start(
        kind: Kind,
        launch: &Launch,
        pin: Option<usize>,
        options: &SwitchboardOptions,
    ) -> anyhow::Result<Server> {
        let (path, config) = match launch {
            Launch::External { addr, pid } => {
                return Ok(Server { kind, addr: *addr, pid: *pid, admin: None, child: None, data_dir: None });
            }
            Launch::Binary { path, config } => (path, config),
        };
        let cores = options.cores.max(1);
        let mut command = match pin {
            Some(core) if which("taskset") => {
                let list: Vec<String> = (core..core + cores).map(|c| c.to_string()).collect();
                let mut c = Command::new("taskset");
                c.arg("-c").arg(list.join(",")).arg(path);
                c
            }
            _ => Command::new(path),
        };
        let mut data_dir = None;
        match kind {
            Kind::Switchboard => {
                let dir = std::env::temp_dir().join(format!("switchboard-bench-{}-{}", std::process::id(), unique()));
                std::fs::create_dir_all(&dir)?;
                command
                    .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
                    .arg(&dir)
                    .args(["--access-key-id", ACCESS_KEY_ID, "--secret-access-key", SECRET_ACCESS_KEY])
                    .args(["--new-connections-per-second", "0", "--new-connections-per-second-per-address", "0"])
                    .args(["--shutdown-grace-secs", "1"])
                    .env("SWITCHBOARD_LOG", "warn");
                if let Some(url) = &options.connect_route {
                    command.arg("--route").arg(format!("$connect={url}"));
                }
                command.args(&options.extra_args);
                data_dir = Some(dir);
            }
            Kind::Floor => {
                command.args(["floor-server", "--listen", "127.0.0.1:0", "--threads"]).arg(cores.to_string());
                command.args(&options.extra_args);
            }
            Kind::Sockudo => {
                command.env("RUST_LOG", "warn");
                if let Some(config) = config {
                    command.arg("--config").arg(config);
                }
            }
        }
        let stderr = match &options.log_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                let name = format!("{}-{}-{}.log", kind.name().to_lowercase(), std::process::id(), unique());
                Stdio::from(std::fs::File::create(dir.join(name))?)
            }
            None => Stdio::null(),
        };
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(stderr);
        let mut child = command.spawn().with_context(|| format!("cannot start {}", path.display()))?;
        let pid = child.id();
        let (addr, admin) = match kind {
            Kind::Switchboard | Kind::Floor => {
                let banner = if kind == Kind::Floor { crate::floor::LISTENING } else { "Switchboard is listening on " };
                let stdout = child.stdout.take().context("no stdout")?;
                let (tx, rx) = std::sync::mpsc::channel();
                std::thread::spawn(move || {
                    // The listening line, then the admin listener's in the `Health:` line.
                    let mut sent = 0;
                    for line in std::io::BufReader::new(stdout).lines() {
                        let Ok(line) = line else { break };
                        if sent == 0
                            && let Some(addr) = line.strip_prefix(banner)
                        {
                            let _ = tx.send(addr.trim().to_owned());
                            sent += 1;
                        } else if sent == 1
                            && let Some(health) = line.trim().strip_prefix("Health: http://")
                        {
                            let _ = tx.send(health.split('/').next().unwrap_or_default().to_owned());
                            sent += 1;
                        }
                    }
                });
                let addr = rx
                    .recv_timeout(Duration::from_secs(20))
                    .with_context(|| format!("{} did not start", kind.name()))?;
                // The floor has no admin listener.
                let admin = match kind {
                    Kind::Switchboard => rx.recv_timeout(Duration::from_secs(5)).ok().and_then(|a| a.parse().ok()),
                    _ => None,
                };
                (addr.parse()?, admin)
            }
            Kind::Sockudo => {
                let addr: SocketAddr = "127.0.0.1:6001".parse()?;
                let started = Instant::now();
                while std::net::TcpStream::connect(addr).is_err() {
                    if started.elapsed() > Duration::from_secs(20) || child.try_wait()?.is_some() {
                        let _ = child.kill();
                        bail!("Sockudo did not start listening on {addr}");
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                (addr, None)
            }
        };
        Ok(Server { kind, addr, pid, admin, child: Some(child), data_dir })
    }

    /// Whether the server process is still running.
    pub fn alive(&mut self) -> bool {
        match &mut self.child {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => true,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(dir) = self.data_dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

pub fn which(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// The version line of a binary (`--version`), for the report.
pub fn version(path: &std::path::Path) -> String {
    Command::new(path)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).lines().next().unwrap_or_default().trim().to_owned())
        .unwrap_or_default()
}
