//! The cluster bus on Redis: pub/sub for messages, keys for liveness, registries and claims.
//!
//! Two connections per node, and a third for its heartbeat. Commands and publishes go through the `redis` crate's
//! `ConnectionManager`, which reconnects by itself; every command is bounded by a timeout so a missing Redis fails
//! fast instead of stalling the caller. The heartbeat renews over a `ConnectionManager` of its own
//! ([`ClusterState::renewer`]), driven by the runtime of the thread that renews. Subscriptions live on a dedicated pub/sub connection owned by one supervisor task: it (re)connects with
//! backoff, subscribes to every channel that has a local subscriber, and routes what arrives. A health task publishes
//! a canary through Redis every `canary_interval` and waits for it on the subscription; the bus is
//! [`Health::Connected`] only while canaries come back, so a subscription that died silently is detected, reported as
//! degraded and re-established.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bytes::Bytes;
use parking_lot::Mutex;
use redis::aio::ConnectionManager;
use redis::{Client, Cmd, FromRedisValue, Value};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::time::{Instant, sleep, timeout};

use crate::auth::{ClusterKey, Signer, TAG};
use crate::router::{Router, encode};

mod supervisor;

use crate::{
    Background, BusError, BusStats, ClusterState, Health, Incarnation, PubSub, Renewal, Renewer, Subscription,
};
use supervisor::{run_canary, supervise, watch_health};

/// Settings of a [`RedisBus`].
#[derive(Clone, Debug)]
pub struct RedisBusConfig {
    pub url: String,
    /// Prefix of every key and channel (`{namespace}:…`), so several clusters or test runs share one Redis.
    pub namespace: String,
    /// Longest wait for one command, connect or subscription change before it counts as failed.
    pub op_timeout: Duration,
    /// How often a canary checks that published messages come back.
    pub canary_interval: Duration,
    /// Messages a subscription may hold before new ones are dropped (and counted as missed).
    pub inbox: usize,
    /// Authenticates messages and registry records when set (see `auth.rs`).
    pub key: Option<ClusterKey>,
    /// For `rediss://`: the certificates (PEM) that may sign Redis's, instead of the system's roots.
    pub ca_pem: Option<Vec<u8>>,
}

impl RedisBusConfig {
    pub fn new(url: impl Into<String>, namespace: impl Into<String>) -> RedisBusConfig {
        RedisBusConfig {
            url: url.into(),
            namespace: namespace.into(),
            op_timeout: Duration::from_secs(1),
            canary_interval: Duration::from_millis(500),
            inbox: 65_536,
            key: None,
            ca_pem: None,
        }
    }
}

const CONNECTED: u8 = 0;
const DEGRADED: u8 = 1;

/// Renews a heartbeat held by the same token, sets a missing one (answering 0) or reports the holder; a buried
/// incarnation (its tombstone, KEYS[3]) is never revived (answering 0).
const RENEW_SCRIPT: &str = "if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]); redis.call('SADD', KEYS[2], ARGV[3]); return 1 end
if not cur then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]); redis.call('SADD', KEYS[2], ARGV[3]); return 0 end
return cur";

/// Buries an incarnation (its tombstone KEYS[2]) unless it holds its heartbeat (KEYS[1]) again.
const BURY_SCRIPT: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then return 0 end
redis.call('SET', KEYS[2], 1, 'PX', ARGV[2]) return 1";

/// A survivor's claim: the registry entry removed and, if it was there, remembered as reaped (kept as the tombstone).
const REAP_SCRIPT: &str = "if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('SADD', KEYS[2], ARGV[1]) redis.call('PEXPIRE', KEYS[2], ARGV[2]) return 1";

/// A [`PubSub`] and [`ClusterState`] on Redis. See the module documentation.
pub struct RedisBus {
    shared: Arc<Shared>,
    conn: ConnectionManager,
    control: mpsc::UnboundedSender<Control>,
    /// Where [`ClusterState::renewer`] opens its connection.
    client: Client,
}

/// Renews heartbeats over a connection of its own (see [`ClusterState::renewer`]).
struct RedisRenewer {
    shared: Arc<Shared>,
    conn: ConnectionManager,
}

impl std::fmt::Debug for RedisRenewer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRenewer").field("namespace", &self.shared.config.namespace).finish_non_exhaustive()
    }
}

#[async_trait]
impl Renewer for RedisRenewer {
    async fn renew(&self, me: &Incarnation, ttl: Duration) -> Result<Renewal, BusError> {
        self.shared.renew(&self.conn, me, ttl).await
    }
}

impl std::fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBus")
            .field("namespace", &self.shared.config.namespace)
            .field("health", &self.health())
            .finish_non_exhaustive()
    }
}

struct Shared {
    config: RedisBusConfig,
    signer: Option<Signer>,
    router: Arc<Router>,
    health: AtomicU8,
    /// Whether the subscription connection is up (a canary still has to prove it).
    subscribed: AtomicBool,
    /// Canaries in flight by nonce.
    canaries: Mutex<HashMap<u64, oneshot::Sender<()>>>,
    /// Asks the supervisor to drop and rebuild the subscription connection.
    recycle: Notify,
    /// Set when the bus is dropped; the background tasks end.
    closed: AtomicBool,
    consecutive_canary_failures: AtomicU64,
    /// This node's canaries the subscription brought back, in time for their waiter or not: a subscription that
    /// brings back late canaries is slow, not deaf, and starting it over would only lose what is in flight.
    canaries_heard: AtomicU64,
}

enum Control {
    Subscribe(Arc<str>, oneshot::Sender<()>),
}

impl Shared {
    /// One command on `conn`, bounded by the operation timeout.
    async fn query<T: FromRedisValue>(&self, conn: &ConnectionManager, cmd: &mut Cmd) -> Result<T, BusError> {
        let mut conn = conn.clone();
        match timeout(self.config.op_timeout, cmd.query_async::<T>(&mut conn)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) if err.is_io_error() || err.is_timeout() || err.is_connection_refusal() => {
                Err(BusError::Unavailable(err.to_string()))
            }
            Ok(Err(err)) => Err(BusError::Protocol(err.to_string())),
            Err(_) => Err(BusError::Unavailable("Redis did not answer in time".to_owned())),
        }
    }

    /// [`ClusterState::renew`] on `conn`: the bus's own connection, or a [`RedisRenewer`]'s.
    async fn renew(&self, conn: &ConnectionManager, me: &Incarnation, ttl: Duration) -> Result<Renewal, BusError> {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(RENEW_SCRIPT)
            .arg(3)
            .arg(self.heartbeat_key(me.node))
            .arg(self.members_key())
            .arg(self.tombstone_key(me))
            .arg(&me.token)
            .arg(millis(ttl))
            .arg(me.to_string());
        match self.query(conn, &mut cmd).await? {
            Value::Int(1) => Ok(Renewal::Renewed),
            Value::Int(0) => Ok(Renewal::Lapsed),
            Value::BulkString(by) => Ok(Renewal::Superseded { by: String::from_utf8_lossy(&by).into_owned() }),
            other => Err(BusError::Protocol(format!("unexpected heartbeat answer {other:?}"))),
        }
    }

    fn key(&self, suffix: std::fmt::Arguments<'_>) -> String {
        format!("{}:{suffix}", self.config.namespace)
    }

    fn heartbeat_key(&self, node: u16) -> String {
        self.key(format_args!("hb:{node}"))
    }

    fn members_key(&self) -> String {
        self.key(format_args!("members"))
    }

    fn tombstone_key(&self, incarnation: &Incarnation) -> String {
        self.key(format_args!("dead:{}:{}", incarnation.node, incarnation.token))
    }

    fn registry_key(&self, owner: &Incarnation) -> String {
        self.key(format_args!("reg:{}:{}", owner.node, owner.token))
    }

    fn reaped_key(&self, owner: &Incarnation) -> String {
        self.key(format_args!("reaped:{}:{}", owner.node, owner.token))
    }

    fn channel_key(&self, channel: &str) -> String {
        format!("{}:ch:{channel}", self.config.namespace)
    }

    fn canary_channel(&self) -> String {
        format!("{}:canary:{:016x}", self.config.namespace, self.router.origin())
    }

    fn set_health(&self, health: Health) {
        let value = match health {
            Health::Connected => CONNECTED,
            Health::Degraded => DEGRADED,
        };
        let previous = self.health.swap(value, Ordering::AcqRel);
        if previous != value {
            match health {
                Health::Connected => tracing::info!(namespace = %self.config.namespace, "Cluster bus connected."),
                Health::Degraded => {
                    self.router.degradations.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(namespace = %self.config.namespace, "Cluster bus degraded; serving local clients only.");
                }
            }
        }
    }
}

impl RedisBus {
    /// Opens the bus: checks that Redis answers, starts the subscription supervisor and the canary. Fails when Redis
    /// cannot be reached now; once started, the bus survives Redis going away and coming back.
    /// Connects, and starts the subscription supervisor and the health watch on `background`.
    pub async fn connect(config: RedisBusConfig, background: &Background) -> Result<RedisBus, BusError> {
        let client = match &config.ca_pem {
            Some(pem) => Client::build_with_tls(
                config.url.as_str(),
                redis::TlsCertificates { client_tls: None, root_cert: Some(pem.clone()) },
            ),
            None => Client::open(config.url.as_str()),
        }
        .map_err(|e| BusError::UnsupportedUrl(format!("{}: {e}", config.url)))?;
        let conn =
            ConnectionManager::new_lazy_with_config(client.clone(), manager_config(&config)).map_err(unavailable)?;
        let (emptied_tx, emptied_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            signer: config.key.as_ref().map(|key| Signer::new(&key.0)),
            router: Arc::new(Router::new(config.inbox, Some(emptied_tx))),
            config,
            health: AtomicU8::new(DEGRADED),
            subscribed: AtomicBool::new(false),
            canaries: Mutex::new(HashMap::new()),
            recycle: Notify::new(),
            closed: AtomicBool::new(false),
            consecutive_canary_failures: AtomicU64::new(0),
            canaries_heard: AtomicU64::new(0),
        });
        let (control, control_rx) = mpsc::unbounded_channel();
        let bus = RedisBus { shared: shared.clone(), conn, control, client: client.clone() };
        let _: Value = bus.query(&mut redis::cmd("PING")).await?;
        background.spawn(supervise(shared.clone(), client, control_rx, emptied_rx));
        background.spawn(watch_health(Arc::downgrade(&shared), bus.conn.clone()));
        // Wait (briefly) for the subscription and the first canary, so that a fresh node starts healthy.
        let deadline = Instant::now() + bus.shared.config.op_timeout * 3;
        while bus.health() == Health::Degraded && Instant::now() < deadline {
            sleep(Duration::from_millis(10)).await;
        }
        Ok(bus)
    }

    async fn query<T: FromRedisValue>(&self, cmd: &mut Cmd) -> Result<T, BusError> {
        self.shared.query(&self.conn, cmd).await
    }
}

impl Drop for RedisBus {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.recycle.notify_one();
    }
}

/// How the bus's command connections reconnect and time out.
fn manager_config(config: &RedisBusConfig) -> redis::aio::ConnectionManagerConfig {
    redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(config.op_timeout))
        .set_response_timeout(Some(config.op_timeout))
        .set_number_of_retries(1)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(500))
}

fn unavailable(err: redis::RedisError) -> BusError {
    BusError::Unavailable(err.to_string())
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

fn millis(d: Duration) -> u64 {
    (d.as_millis() as u64).max(1)
}

#[async_trait]
impl PubSub for RedisBus {
    async fn publish(&self, channel: &str, payload: Bytes) -> Result<(), BusError> {
        let router = &self.shared.router;
        let seq = router.next_sequence(channel);
        let name = self.shared.channel_key(channel);
        let message =
            encode(router.origin(), seq, &payload, self.shared.signer.as_ref().map(|signer| (signer, &name[..])));
        let result: Result<i64, BusError> = self.query(redis::cmd("PUBLISH").arg(&name).arg(&message[..])).await;
        match result {
            Ok(_) => {
                router.published.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(err) => {
                router.publish_failed.fetch_add(1, Ordering::Relaxed);
                Err(err)
            }
        }
    }

    async fn subscribe(&self, channel: &str) -> Subscription {
        let (subscription, first) = self.shared.router.add(channel);
        if first {
            // While disconnected the supervisor acknowledges at once and subscribes to every routed channel when it
            // connects; while connected the acknowledgement means Redis confirmed the subscription.
            let (ack, done) = oneshot::channel();
            if self.control.send(Control::Subscribe(channel.into(), ack)).is_ok() {
                let _ = timeout(self.shared.config.op_timeout, done).await;
            }
        }
        subscription
    }

    fn health(&self) -> Health {
        match self.shared.health.load(Ordering::Acquire) {
            CONNECTED => Health::Connected,
            _ => Health::Degraded,
        }
    }

    async fn canary(&self, wait: Duration) -> Result<Duration, BusError> {
        run_canary(&self.shared, self.conn.clone(), wait).await
    }

    fn stats(&self) -> BusStats {
        self.shared.router.stats()
    }

    fn kind(&self) -> &'static str {
        "redis"
    }
}

#[async_trait]
impl ClusterState for RedisBus {
    async fn join(&self, node: Option<u16>, token: &str, ttl: Duration) -> Result<Incarnation, BusError> {
        let ttl_ms = millis(ttl);
        let node = match node {
            Some(node) => {
                let previous: Option<String> = self
                    .query(
                        redis::cmd("SET")
                            .arg(self.shared.heartbeat_key(node))
                            .arg(token)
                            .arg("PX")
                            .arg(ttl_ms)
                            .arg("GET"),
                    )
                    .await?;
                if let Some(previous) = previous {
                    tracing::warn!(node, %previous, "Taking over a node id whose heartbeat was still held.");
                }
                node
            }
            None => {
                let mut taken = None;
                for candidate in 1..=u16::MAX {
                    let set: Option<String> = self
                        .query(
                            redis::cmd("SET")
                                .arg(self.shared.heartbeat_key(candidate))
                                .arg(token)
                                .arg("NX")
                                .arg("PX")
                                .arg(ttl_ms),
                        )
                        .await?;
                    if set.is_some() {
                        taken = Some(candidate);
                        break;
                    }
                }
                taken.ok_or_else(|| BusError::Protocol("every node id is taken".to_owned()))?
            }
        };
        let me = Incarnation { node, token: token.to_owned() };
        let _: i64 = self.query(redis::cmd("SADD").arg(self.shared.members_key()).arg(me.to_string())).await?;
        Ok(me)
    }

    async fn renew(&self, me: &Incarnation, ttl: Duration) -> Result<Renewal, BusError> {
        self.shared.renew(&self.conn, me, ttl).await
    }

    fn renewer(&self) -> Option<Box<dyn Renewer>> {
        match ConnectionManager::new_lazy_with_config(self.client.clone(), manager_config(&self.shared.config)) {
            Ok(conn) => Some(Box::new(RedisRenewer { shared: self.shared.clone(), conn })),
            Err(err) => {
                tracing::warn!(%err, "Cannot open a connection for the heartbeat; it renews over the bus's own.");
                None
            }
        }
    }

    async fn holder(&self, node: u16) -> Result<Option<String>, BusError> {
        self.query(redis::cmd("GET").arg(self.shared.heartbeat_key(node))).await
    }

    async fn members(&self) -> Result<Vec<Incarnation>, BusError> {
        let members: Vec<String> = self.query(redis::cmd("SMEMBERS").arg(self.shared.members_key())).await?;
        Ok(members.iter().filter_map(|m| Incarnation::parse(m)).collect())
    }

    async fn bury(&self, dead: &Incarnation, keep: Duration) -> Result<bool, BusError> {
        let buried: i64 = self
            .query(
                redis::cmd("EVAL")
                    .arg(BURY_SCRIPT)
                    .arg(2)
                    .arg(self.shared.heartbeat_key(dead.node))
                    .arg(self.shared.tombstone_key(dead))
                    .arg(&dead.token)
                    .arg(millis(keep)),
            )
            .await?;
        Ok(buried == 1)
    }

    async fn is_buried(&self, incarnation: &Incarnation) -> Result<bool, BusError> {
        let n: i64 = self.query(redis::cmd("EXISTS").arg(self.shared.tombstone_key(incarnation))).await?;
        Ok(n > 0)
    }

    async fn forget(&self, incarnation: &Incarnation) -> Result<(), BusError> {
        let _: i64 = self.query(redis::cmd("SREM").arg(self.shared.members_key()).arg(incarnation.to_string())).await?;
        let _: i64 = self.query(redis::cmd("DEL").arg(self.shared.registry_key(incarnation))).await?;
        Ok(())
    }

    async fn register(&self, owner: &Incarnation, entries: Vec<(String, Bytes)>) -> Result<(), BusError> {
        let key = self.shared.registry_key(owner);
        for chunk in entries.chunks(500) {
            let mut cmd = redis::cmd("HSET");
            cmd.arg(&key);
            for (id, record) in chunk {
                match &self.shared.signer {
                    Some(signer) => {
                        cmd.arg(id).arg([&signer.tag(&[key.as_bytes(), id.as_bytes(), record])[..], record].concat())
                    }
                    None => cmd.arg(id).arg(&record[..]),
                };
            }
            let _: i64 = self.query(&mut cmd).await?;
        }
        Ok(())
    }

    async fn registered(&self, owner: &Incarnation) -> Result<Vec<(String, Bytes)>, BusError> {
        let key = self.shared.registry_key(owner);
        let entries: HashMap<String, Vec<u8>> = self.query(redis::cmd("HGETALL").arg(&key)).await?;
        let Some(signer) = &self.shared.signer else {
            return Ok(entries.into_iter().map(|(k, v)| (k, Bytes::from(v))).collect());
        };
        let mut checked = Vec::with_capacity(entries.len());
        for (id, value) in entries {
            let mut value = Bytes::from(value);
            if value.len() >= TAG && signer.verify(&[key.as_bytes(), id.as_bytes(), &value[TAG..]], &value[..TAG]) {
                checked.push((id, value.split_off(TAG)));
            } else {
                self.shared.router.rejected.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%id, "Ignored a registry record that failed the cluster key's check.");
            }
        }
        Ok(checked)
    }

    async fn claim_registered(&self, owner: &Incarnation, id: &str) -> Result<bool, BusError> {
        let removed: i64 = self.query(redis::cmd("HDEL").arg(self.shared.registry_key(owner)).arg(id)).await?;
        Ok(removed == 1)
    }

    async fn reap_registered(&self, dead: &Incarnation, id: &str, keep: Duration) -> Result<bool, BusError> {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(REAP_SCRIPT)
            .arg(2)
            .arg(self.shared.registry_key(dead))
            .arg(self.shared.reaped_key(dead))
            .arg(id)
            .arg(millis(keep));
        let removed: i64 = self.query(&mut cmd).await?;
        Ok(removed == 1)
    }

    async fn was_reaped(&self, owner: &Incarnation, id: &str) -> Result<bool, BusError> {
        let n: i64 = self.query(redis::cmd("SISMEMBER").arg(self.shared.reaped_key(owner)).arg(id)).await?;
        Ok(n == 1)
    }

    async fn count_in_window(&self, key: &str, window: Duration) -> Result<u64, BusError> {
        let window_ms = millis(window);
        let key = self.shared.key(format_args!("win:{key}:{}", now_ms() / window_ms));
        let (count, _): (u64, i64) = {
            let mut pipe = redis::pipe();
            pipe.atomic().cmd("INCR").arg(&key).cmd("PEXPIRE").arg(&key).arg(window_ms * 2);
            let mut conn = self.conn.clone();
            match timeout(self.shared.config.op_timeout, pipe.query_async(&mut conn)).await {
                Ok(Ok(v)) => v,
                Ok(Err(err)) => return Err(unavailable(err)),
                Err(_) => return Err(BusError::Unavailable("Redis did not answer in time".to_owned())),
            }
        };
        Ok(count)
    }
}
