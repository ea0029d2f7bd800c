//! A TCP relay on loopback between a node and a service, which a test cuts and restores to partition that one node
//! from the service while the others still reach it, holds back what the service sends to make it slow, or makes the
//! Redis subscriptions it relays deaf.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixStream};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep_until};

/// Relays every connection made to `addr` to the target until [`Relay::cut`]; stopped when dropped.
pub struct Relay {
    pub addr: SocketAddr,
    cut: Arc<watch::Sender<bool>>,
    latency: Arc<watch::Sender<Duration>>,
    open: Arc<Mutex<Vec<Weak<Relayed>>>>,
    task: tokio::task::JoinHandle<()>,
}

/// Where a relay connects to.
#[derive(Clone, Debug)]
pub enum RelayTarget {
    Tcp(SocketAddr),
    /// A Unix socket, as a `PrivateRedis` listens on.
    Unix(PathBuf),
}

/// What a relay knows of one connection it relays.
#[derive(Debug, Default)]
struct Relayed {
    /// The client sent a Redis `SUBSCRIBE`.
    subscriber: AtomicBool,
    /// What the service sends it is dropped from now on.
    deaf: AtomicBool,
}

impl Relay {
    /// A relay to `target` on a loopback port of its own.
    pub async fn start(target: RelayTarget) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(watch::channel(false).0);
        let latency = Arc::new(watch::channel(Duration::ZERO).0);
        let open: Arc<Mutex<Vec<Weak<Relayed>>>> = Arc::default();
        let (state, delays, connections) = (cut.clone(), latency.clone(), open.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if *state.borrow() {
                    continue; // dropped: the connection is refused as soon as it is made
                }
                let mut cut = state.subscribe();
                let latency = delays.subscribe();
                let target = target.clone();
                let relayed = Arc::new(Relayed::default());
                let mut open = connections.lock().unwrap();
                open.retain(|relayed| relayed.strong_count() > 0);
                open.push(Arc::downgrade(&relayed));
                drop(open);
                tokio::spawn(async move {
                    let relaying = async {
                        match target {
                            RelayTarget::Tcp(addr) => {
                                let Ok(outbound) = TcpStream::connect(addr).await else { return };
                                relay(&mut inbound, outbound, latency, &relayed).await;
                            }
                            RelayTarget::Unix(path) => {
                                let Ok(outbound) = UnixStream::connect(path).await else { return };
                                relay(&mut inbound, outbound, latency, &relayed).await;
                            }
                        }
                    };
                    // The cut first: bytes are passed on only while this task runs, and every run looks at the
                    // cut before anything else, so nothing passes once `Relay::cut` has returned.
                    tokio::select! {
                        biased;
                        _ = cut.wait_for(|cut| *cut) => {}
                        () = relaying => {}
                    }
                });
            }
        });
        Relay { addr, cut, latency, open, task }
    }

    /// `redis://{addr}/`, for a relay to Redis.
    pub fn redis_url(&self) -> String {
        format!("redis://{}/", self.addr)
    }

    /// Drops every relayed connection, and every new one at once, until [`Relay::restore`]. Nothing passes in either
    /// direction once this returns, even through a connection whose task has not run since: a command a node sends
    /// after the cut never reaches the service, nor an answer the service sends after it the node.
    pub fn cut(&self) {
        self.cut.send_replace(true);
    }

    pub fn restore(&self) {
        self.cut.send_replace(false);
    }

    /// Holds back what the service sends from now on by `latency` (in order, as fast as it came); what was held back
    /// before keeps its time.
    pub fn set_latency(&self, latency: Duration) {
        self.latency.send_replace(latency);
    }

    /// Makes the Redis subscriptions open now deaf: they stay connected and hear nothing more. Connections made
    /// later are not touched. Answers how many were made deaf.
    pub fn deafen_subscriptions(&self) -> usize {
        self.open
            .lock()
            .unwrap()
            .iter()
            .filter_map(Weak::upgrade)
            .filter(|relayed| relayed.subscriber.load(Ordering::SeqCst))
            .inspect(|relayed| relayed.deaf.store(true, Ordering::SeqCst))
            .count()
    }
}

/// Relays one connection until both sides have ended it, handing on each chunk the service sends once the latency
/// in force when it came has passed, or dropping it once the connection is deaf.
async fn relay<S: AsyncRead + AsyncWrite>(
    inbound: &mut TcpStream,
    outbound: S,
    latency: watch::Receiver<Duration>,
    relayed: &Relayed,
) {
    let (mut from_client, mut to_client) = inbound.split();
    let (mut from_service, mut to_service) = tokio::io::split(outbound);
    let (late, mut due) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let up = async {
        let mut buf = vec![0; 16 * 1024];
        while let Ok(n @ 1..) = from_client.read(&mut buf).await {
            if buf[..n].windows(9).any(|window| window == b"SUBSCRIBE") {
                relayed.subscriber.store(true, Ordering::SeqCst);
            }
            if to_service.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = to_service.shutdown().await;
    };
    let read_down = async move {
        let mut buf = vec![0; 16 * 1024];
        while let Ok(n @ 1..) = from_service.read(&mut buf).await {
            if relayed.deaf.load(Ordering::SeqCst) {
                continue;
            }
            let at = Instant::now() + *latency.borrow();
            if late.send((at, buf[..n].to_vec())).is_err() {
                return;
            }
        }
    };
    let write_down = async move {
        while let Some((at, bytes)) = due.recv().await {
            sleep_until(at).await;
            if to_client.write_all(&bytes).await.is_err() {
                return;
            }
        }
        let _ = to_client.shutdown().await;
    };
    tokio::join!(up, read_down, write_down);
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.cut();
        self.task.abort();
    }
}
