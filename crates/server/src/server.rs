//! Starting and stopping a server: binding, TLS, the accept loop, and graceful shutdown with a grace period.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use apigw::ApiSet;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tasks::Background;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::cluster::{Cluster, ClusterSettings};
use crate::config::{Config, DEFAULT_API_NAME, TlsFiles};
use crate::credentials::{KeySource, Keyring};
use crate::gate::{Full, Gate, Pass};
use crate::state::{AppState, ControlPlanes};

/// A running server.
#[derive(Debug)]
pub struct Server {
    state: Arc<AppState>,
    local_addr: SocketAddr,
    admin_addr: SocketAddr,
    accept_loop: tokio::task::JoinHandle<()>,
    key_source: Option<KeySource>,
    /// The bus supervisor, the chat log writer and room listeners: stopped last, once connections are gone.
    background: Background,
    /// Set while [`Server::hold_connections_open`]'s guard lives.
    hold: HoldOpen,
}

/// Shutdown leaves open HTTP connections open while this lives ([`Server::hold_connections_open`]).
#[derive(Debug)]
pub struct ConnectionsHeld {
    _held: DropGuard,
}

/// Where [`Server::hold_connections_open`] leaves the token whose cancellation lets shutdown close open HTTP
/// connections.
type HoldOpen = Arc<parking_lot::Mutex<Option<CancellationToken>>>;

impl Server {
    /// Binds and starts serving; returns once the listener is bound.
    pub async fn start(config: Config) -> anyhow::Result<Server> {
        let apis = ApiSet::new(config.apis.clone()).context("invalid WebSocket API configuration")?;
        let (keys, key_source) = if config.insecure_no_auth {
            (None, None)
        } else {
            let (keys, source) = Keyring::load_or_generate(config.credentials.clone(), &config.data_dir)?;
            (Some(keys), Some(source))
        };
        let tls = config.tls.as_ref().map(tls_acceptor).transpose()?;
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
        // Keys that sign tokens clients hold: the data directory's alone; in a cluster the store's, so that tokens
        // issued by one node are accepted by all.
        let data_key = |file| local::load_or_create_key(&config.data_dir.join(file));
        let cluster_config = &config.cluster;
        let (store, pagination_key, chat_key, bus_key): (Arc<dyn store::Store>, _, _, _) = match &cluster_config
            .store_url
        {
            Some(url) => {
                let ca_pem = read_pem(cluster_config.store_ca_file.as_deref())?;
                let settings = cluster_config.store;
                let store = store::PostgresStore::connect_with_roots(
                    url,
                    &cluster_config.namespace,
                    settings,
                    ca_pem.as_deref(),
                )
                .await
                .context("cannot open the PostgreSQL store")?;
                let pagination_key = store.shared_secret("pagination", &rand::random::<[u8; 32]>()).await?;
                let chat_key = store.shared_secret("chat-token", &rand::random::<[u8; 32]>()).await?;
                let chat_key = <[u8; 32]>::try_from(chat_key)
                    .map_err(|_| anyhow::anyhow!("the shared chat-token key is not 32 bytes"))?;
                // The key of the cluster bus: configured, or generated once and shared through the store.
                let bus_key = match &cluster_config.cluster_key {
                    Some(_) => None,
                    None => Some(store.shared_secret("cluster-bus", &rand::random::<[u8; 32]>()).await?),
                };
                (Arc::new(store), pagination_key, chat_key, bus_key)
            }
            None => {
                let store =
                    store::SqliteStore::open(&config.data_dir).await.context("cannot open the embedded store")?;
                let (pagination, chat) = (data_key(local::PAGINATION_KEY_FILE)?, data_key(local::CHAT_TOKEN_KEY_FILE)?);
                (Arc::new(store), pagination.to_vec(), chat, None)
            }
        };
        // Bus messages and registry records are authenticated with the cluster key (`--cluster-key`, else the store's):
        // whoever reaches Redis without it cannot inject deliveries, management calls or claims.
        let cluster_key = cluster_config.cluster_key.as_ref().map(|key| key.as_bytes().to_vec()).or(bus_key);
        if cluster_key.is_none() && cluster_config.bus_url.as_deref().is_some_and(|url| !url.starts_with("memory://")) {
            tracing::warn!(
                "The cluster bus is not authenticated: set --cluster-key on every node (or share a --store-url, \
                 which holds one)."
            );
        }
        // Backends: the Redis bus and the PostgreSQL store when configured, else the embedded defaults. Nothing
        // above this point knows which runs.
        let background = Background::new();
        let ca_pem = read_pem(cluster_config.bus_ca_file.as_deref())?;
        let options = bus::BusOptions { key: cluster_key.map(bus::ClusterKey), ca_pem };
        let bus =
            bus::connect_with(cluster_config.bus_url.as_deref(), &cluster_config.namespace, &options, &background)
                .await
                .context("cannot connect to the cluster bus")?;
        // Alone, the node is 0 as it always was; in a cluster the bus allocates an id unless one is configured.
        let node = cluster_config.node_id.or(if cluster_config.bus_url.is_none() { Some(0) } else { None });
        let settings = ClusterSettings {
            liveness_ttl: cluster_config.node_ttl,
            forward_timeout: cluster_config.forward_timeout,
            fate_keep: crate::cluster::FATE_KEEP,
        };
        let cluster = Cluster::join(bus, node, settings).await.context("cannot join the cluster")?;
        let hub = AppState::new_hub(&config, cluster.node());
        let mut chat_config = config.chat.chat_config(&config.data_dir, &config.region, &config.account_id);
        chat_config.token_key = chat::TokenKey(chat_key);
        let chat =
            chat::ChatService::with_bus(store.clone(), hub.clone(), chat_config, cluster.bus().clone(), &background)
                .context("cannot start chat messaging")?;
        let mut control_settings = control_config(&config)?;
        control_settings.pagination_key = pagination_key.clone();
        let listener = listen(config.listen).with_context(|| format!("cannot listen on {}", config.listen))?;
        let local_addr = listener.local_addr()?;
        let admin_listener = listen(config.admin_listen)
            .with_context(|| format!("cannot listen on {} (--admin-listen)", config.admin_listen))?;
        let admin_addr = admin_listener.local_addr()?;
        let apigatewayv2 =
            apigatewayv2::ControlPlane::new(store.clone(), apigatewayv2_config(&config, local_addr, &pagination_key));
        // The template's APIs are defined before the listener accepts, so that its URLs work once printed; its
        // functions are hosted beside those of flags and the file.
        let mut config = config;
        let applied = match &config.template {
            Some(settings) => {
                let applied = crate::stack::apply(&config, settings, &apigatewayv2)
                    .await
                    .with_context(|| format!("cannot run template {}", settings.file.display()))?;
                crate::stack::log_report(&applied);
                config.functions.specs.extend(applied.functions.iter().cloned());
                Some(applied)
            }
            None => None,
        };
        let functions = Arc::new(hosted_functions(&config, local_addr, keys.as_ref(), &background)?);
        let access_log = crate::access_log::AccessLogWriter::start(
            config.data_dir.join(crate::access_log::ACCESS_LOG_DIR),
            crate::access_log::QUEUE_LINES,
            prometheus_client::metrics::counter::Counter::default(),
            &background,
        );
        let planes = ControlPlanes {
            access_log,
            functions,
            apigatewayv2,
            ivschat: ivschat::ControlPlane::new(store, chat.clone(), chat.clone(), control_settings),
        };
        let state = AppState::new(config, hub, apis, keys, planes, chat, cluster);
        *state.stack.applied.lock() = applied;
        crate::stack::watch(&state, &background);
        crate::http::keep_console_history(&state, &background);
        Cluster::start(&state);
        let hold = HoldOpen::default();
        let accept_loop = state.tasks.spawn(accept_loop(listener, tls, state.clone(), hold.clone()));
        // The admin listener outlives connection work, so that its health says `shutting-down` while they drain.
        background.spawn(crate::http::accept_admin(admin_listener, state.clone(), background.clone()));
        Ok(Server { state, local_addr, admin_addr, accept_loop, key_source, background, hold })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The admin listener's address: full health and metrics.
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin_addr
    }

    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    pub fn key_source(&self) -> Option<&KeySource> {
        self.key_source.as_ref()
    }

    /// A seam for tests of the draining phase: until the guard is dropped (at most the grace period), shutdown leaves
    /// the HTTP connections that were open when it began open. It still stops accepting and refuses handshakes, so a
    /// test can send on such a connection what a client could in the moment before they are closed.
    pub fn hold_connections_open(&self) -> ConnectionsHeld {
        let token = CancellationToken::new();
        *self.hold.lock() = Some(token.clone());
        ConnectionsHeld { _held: token.drop_guard() }
    }

    /// Stops accepting, closes every connection with 1001, delivers every `$disconnect` and the queued chat logs, and
    /// returns within the grace period (plus one second for the listener, at most five for chat logs and one for the
    /// background tasks).
    ///
    /// Hosted functions' execution environments are killed once the connections' work is done (at most five more
    /// seconds to reap them).
    pub async fn shutdown(self) {
        let state = self.state;
        state.shutdown.cancel();
        state.hub.shut_down(hub::CloseRequest::shutdown());
        let _ = tokio::time::timeout(Duration::from_secs(1), self.accept_loop).await;
        state.tasks.close();
        if tokio::time::timeout(state.config.limits.shutdown_grace, state.tasks.wait()).await.is_err() {
            tracing::warn!(remaining = state.tasks.len(), "Shutdown grace period over; abandoning remaining tasks.");
        }
        // Every hosted function's environments, once nothing invokes them any more.
        if !state.functions.shutdown(Duration::from_secs(5)).await {
            tracing::warn!(
                remaining = state.functions.all_environments(),
                "Execution environments did not stop in time."
            );
        }
        state.chat.flush_logs(Duration::from_secs(5)).await;
        state.access_log.flush(Duration::from_secs(1)).await;
        state.cluster.leave().await;
        if !self.background.stop(Duration::from_secs(1)).await {
            tracing::warn!(remaining = self.background.len(), "Background tasks did not stop in time.");
        }
    }
}

/// The bytes of a CA file, when one is configured.
fn read_pem(path: Option<&std::path::Path>) -> anyhow::Result<Option<Vec<u8>>> {
    path.map(|path| std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))).transpose()
}

/// The longest pause of the accept loop while accepting fails (out of file descriptors and the like).
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// How many connections the kernel may hold, their TCP handshake done, until the accept loop takes them (the kernel
/// caps it at `net.core.somaxconn`, 4096 on current kernels). With the usual 128, a burst of clients connecting at
/// once (a deployment, a network blip) overflows it: the kernel drops the handshake's last ACK, and the client's
/// upgrade waits a whole second for the SYN-ACK to be sent again.
const LISTEN_BACKLOG: u32 = 4096;

/// Listens on `addr` as `TcpListener::bind` does (`SO_REUSEADDR`), with a backlog of [`LISTEN_BACKLOG`].
fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

async fn accept_loop(listener: TcpListener, tls: Option<TlsAcceptor>, state: Arc<AppState>, hold: HoldOpen) {
    let graceful = GracefulShutdown::new();
    let limits = &state.config.limits;
    let pending = Gate::new(limits.max_pending_connections, limits.max_pending_connections_per_address);
    let mut backoff = Duration::ZERO;
    loop {
        let accepted = tokio::select! {
            _ = state.shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                // Out of file descriptors and the like: the connection waits in the backlog until one is freed. Back
                // off, doubling the pause, instead of spinning; say so once per run of failures.
                if backoff.is_zero() {
                    tracing::warn!(%err, "Accept failed; backing off until it succeeds.");
                }
                backoff = (backoff * 2).clamp(Duration::from_millis(10), MAX_ACCEPT_BACKOFF);
                tokio::select! {
                    _ = state.shutdown.cancelled() => break,
                    _ = tokio::time::sleep(backoff) => continue,
                }
            }
        };
        if !backoff.is_zero() {
            tracing::info!("Accepting again.");
            backoff = Duration::ZERO;
        }
        let pass = match pending.enter(peer.ip()) {
            Ok(pass) => pass,
            Err(full) => {
                refuse_pending(&tcp, tls.is_none(), full);
                tracing::debug!(%peer, ?full, "Too many connections without a request; closed.");
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let state = state.clone();
        let tls = tls.clone();
        let watcher = graceful.watcher();
        state.tasks.clone().spawn(async move {
            // The TLS handshake and the first request head share one deadline.
            let deadline = Instant::now() + state.config.limits.header_timeout;
            match tls {
                None => serve_connection(TokioIo::new(tcp), peer, state, watcher, pass, deadline).await,
                Some(acceptor) => match tokio::time::timeout_at(deadline, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => {
                        serve_connection(TokioIo::new(stream), peer, state, watcher, pass, deadline).await
                    }
                    Ok(Err(err)) => tracing::debug!(%peer, %err, "TLS handshake failed."),
                    Err(_) => tracing::debug!(%peer, "TLS handshake timed out."),
                },
            }
        });
    }
    let held = hold.lock().clone();
    if let Some(held) = held {
        let _ = tokio::time::timeout(state.config.limits.shutdown_grace, held.cancelled()).await;
    }
    // HTTP requests in flight get the grace period; upgraded WebSockets are closed by their sessions.
    let _ = tokio::time::timeout(Duration::from_secs(1), graceful.shutdown()).await;
}

/// Answers a plaintext connection past the bound of pending connections with 503 (all of them) or 429 (its address),
/// if the socket takes the bytes at once, before it is closed; a TLS connection is just closed.
fn refuse_pending(tcp: &TcpStream, plaintext: bool, full: Full) {
    if plaintext {
        let status = match full {
            Full::Total => "503 Service Unavailable",
            Full::Address => "429 Too Many Requests",
        };
        let answer = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        let _ = tcp.try_write(answer.as_bytes());
    }
}

/// Serves HTTP/1.1 or HTTP/2 (sniffed from the first bytes) on one connection. Until its first request head arrived
/// the connection holds a `pending` pass, and it is closed if that head is not complete by `deadline`; later heads
/// have the header timeout each (hyper's own), and heads over the size limit answer 431.
async fn serve_connection<I>(
    io: TokioIo<I>,
    peer: SocketAddr,
    state: Arc<AppState>,
    watcher: hyper_util::server::graceful::Watcher,
    pending: Pass,
    deadline: Instant,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let limits = &state.config.limits;
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.max_header_bytes);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.http2_max_streams)
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX));
    let requested = Arc::new(Notify::new());
    let service = {
        let (state, requested) = (state.clone(), requested.clone());
        service_fn(move |req| {
            requested.notify_one();
            crate::http::handle(state.clone(), peer, req)
        })
    };
    let connection = builder.serve_connection_with_upgrades(io, service);
    let mut connection = std::pin::pin!(watcher.watch(connection.into_owned()));
    // Protocol sniffing has no deadline of its own: the first request head must arrive by the deadline.
    let first = tokio::select! {
        ended = &mut connection => Some(ended),
        arrived = tokio::time::timeout_at(deadline, requested.notified()) => match arrived {
            Ok(()) => None,
            Err(_) => {
                tracing::debug!(%peer, "No request head within the header timeout; closing.");
                return;
            }
        },
    };
    drop(pending);
    let ended = match first {
        Some(ended) => ended,
        None => connection.await,
    };
    if let Err(err) = ended {
        tracing::debug!(%peer, %err, "HTTP connection ended with an error.");
    }
}

/// The IVS Chat control plane's settings but its pagination key (kept in the data directory or the cluster's store,
/// so that `nextToken`s survive restarts).
fn control_config(config: &Config) -> anyhow::Result<ivschat::Config> {
    let settings = &config.ivschat;
    let mut control = ivschat::Config::new(config.region.clone(), config.account_id.clone());
    control.quotas = ivschat::Quotas {
        max_rooms: settings.max_rooms,
        max_logging_configurations: settings.max_logging_configurations,
    };
    if settings.strict_rate_limits {
        control.rate_limits = ivschat::RateLimits::aws();
    }
    for (name, tps) in &settings.rate_limits {
        let operation = ivschat::Operation::ALL
            .into_iter()
            .find(|op| op.name() == name)
            .with_context(|| format!("[ivschat.rate_limits]: unknown operation `{name}`"))?;
        control.rate_limits.set(operation, Some(*tps));
    }
    Ok(control)
}

/// The apigatewayv2 control plane's settings. `ApiEndpoint`s name this listener as a client on the same machine
/// reaches it (an unspecified listen address becomes loopback), with `wss://` when TLS is on. Its `NextToken`s are
/// signed with a key of their own, derived from the shared pagination key. The `[[apis]]` of the configuration
/// file are listed, read-only, and so is the default API when `--route` (or the file's `[routes]`) gave it routes.
fn apigatewayv2_config(config: &Config, local_addr: SocketAddr, pagination_key: &[u8]) -> apigatewayv2::Config {
    let addr = reachable(local_addr);
    let scheme = if config.tls.is_some() { "wss" } else { "ws" };
    let mut settings = apigatewayv2::Config::new(&config.region, &config.account_id, &format!("{scheme}://{addr}"));
    settings.pagination_key = [pagination_key, b"/apigatewayv2"].concat();
    // The default API (shaped by `--route`, `--stage` and the file's top-level keys) is listed when it has routes:
    // without any it is only the placeholder that serves an empty `/{stage}`.
    let placeholder = |api: &&apigw::Api| api.name.as_deref() == Some(DEFAULT_API_NAME) && api.routes.is_empty();
    settings.configured = config.apis.iter().filter(|api| !placeholder(api)).map(apigw::deployed::listed).collect();
    settings.aws_rate_limits = config.limits.aws == crate::config::AwsLimits::Strict;
    settings
}

/// The listener as a client on this machine reaches it: an unspecified address becomes loopback.
fn reachable(mut addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    addr
}

/// The hosted functions: their environments reach this listener (`AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI`) with
/// the server's primary key pair, and trust its certificate when TLS is on; their Runtime API listeners run on the
/// background tasks, which outlive connection work.
fn hosted_functions(
    config: &Config,
    local_addr: SocketAddr,
    keys: Option<&Keyring>,
    background: &Background,
) -> anyhow::Result<functions::Functions> {
    let f = &config.functions;
    let scheme = if config.tls.is_some() { "https" } else { "http" };
    let endpoint = format!("{scheme}://{}", reachable(local_addr));
    let mut settings =
        functions::Settings::new(config.data_dir.join("functions"), &config.region, &config.account_id, &endpoint);
    settings.concurrency = f.concurrency;
    settings.idle_timeout = f.idle_timeout;
    settings.queue_timeout = f.queue_timeout;
    settings.watch = f.watch;
    settings.runtimes_dir = config.data_dir.join("runtimes");
    settings.python.clone_from(&f.python);
    settings.node.clone_from(&f.node);
    settings.environment.clone_from(&f.environment);
    if let Some(pair) = keys.and_then(Keyring::primary) {
        settings.access_key_id.clone_from(&pair.access_key_id);
        settings.secret_access_key.clone_from(&pair.secret_access_key);
    }
    settings.ca_bundle = config.tls.as_ref().map(|tls| tls.cert.clone());
    let listeners = crate::http::RuntimeApiListeners { background: background.clone() };
    functions::Functions::new(f.specs.clone(), settings, Arc::new(listeners)).context("invalid function definitions")
}

fn tls_acceptor(files: &TlsFiles) -> anyhow::Result<TlsAcceptor> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .with_context(|| format!("cannot read TLS certificate {}", files.cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("invalid TLS certificate {}", files.cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .with_context(|| format!("cannot read TLS key {}", files.key.display()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("TLS certificate and key do not match")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::net::TcpStream;

    use super::listen;

    /// A burst of clients larger than the usual backlog of 128 connects while nothing accepts: each completes its TCP
    /// handshake at once, none waits the second a dropped ACK costs.
    #[tokio::test]
    async fn a_burst_of_connections_waits_in_the_backlog_not_a_second_for_a_resent_syn() {
        let listener = listen("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let somaxconn: usize = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(4096);
        let burst = somaxconn.min(1000);
        let clients = (0..burst).map(|_| tokio::time::timeout(Duration::from_millis(800), TcpStream::connect(addr)));
        let connected = futures_util::future::join_all(clients).await;
        let late = connected.iter().filter(|client| !matches!(client, Ok(Ok(_)))).count();
        assert_eq!(late, 0, "{late} of {burst} connections were not established within 800 ms");
        drop(listener);
    }
}
