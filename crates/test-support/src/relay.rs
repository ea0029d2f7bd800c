//! A TCP relay on loopback between a node and a service, which a test cuts and restores to partition that one node
//! from the service while the others still reach it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream, UnixStream};
use tokio::sync::watch;

/// Relays every connection made to `addr` to the target until [`Relay::cut`]; stopped when dropped.
pub struct Relay {
    pub addr: SocketAddr,
    cut: Arc<watch::Sender<bool>>,
    task: tokio::task::JoinHandle<()>,
}

/// Where a relay connects to.
#[derive(Clone, Debug)]
pub enum RelayTarget {
    Tcp(SocketAddr),
    /// A Unix socket, as a `PrivateRedis` listens on.
    Unix(PathBuf),
}

impl Relay {
    /// A relay to `target` on a loopback port of its own.
    pub async fn start(target: RelayTarget) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(watch::channel(false).0);
        let state = cut.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if *state.borrow() {
                    continue; // dropped: the connection is refused as soon as it is made
                }
                let mut cut = state.subscribe();
                let target = target.clone();
                tokio::spawn(async move {
                    let relayed = async {
                        match target {
                            RelayTarget::Tcp(addr) => {
                                let Ok(mut outbound) = TcpStream::connect(addr).await else { return };
                                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                            }
                            RelayTarget::Unix(path) => {
                                let Ok(mut outbound) = UnixStream::connect(path).await else { return };
                                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                            }
                        }
                    };
                    tokio::select! {
                        () = relayed => {}
                        _ = cut.wait_for(|cut| *cut) => {}
                    }
                });
            }
        });
        Relay { addr, cut, task }
    }

    /// `redis://{addr}/`, for a relay to Redis.
    pub fn redis_url(&self) -> String {
        format!("redis://{}/", self.addr)
    }

    /// Drops every relayed connection, and every new one at once, until [`Relay::restore`].
    pub fn cut(&self) {
        self.cut.send_replace(true);
    }

    pub fn restore(&self) {
        self.cut.send_replace(false);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.cut();
        self.task.abort();
    }
}
