//! The in-process bus: the single-node default, and a way to run several nodes in one process (`memory://NAME`).

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use parking_lot::Mutex;
use tokio::time::Instant;

use crate::router::Router;
use crate::{BusError, BusStats, ClusterState, Health, Incarnation, PubSub, Renewal, Subscription};

/// Every subscriber of a channel receives every message in publish order; nothing is ever lost, so the bus is always
/// [`Health::Connected`]. Cluster state lives in memory with the same semantics as on Redis.
#[derive(Debug)]
pub struct LocalBus {
    router: Arc<Router>,
    state: Mutex<State>,
    /// Makes taking a sequence number and dispatching one step, so that concurrent publishers keep sequence order.
    publishing: Mutex<()>,
}

#[derive(Debug, Default)]
struct State {
    heartbeats: HashMap<u16, (String, Instant)>,
    members: BTreeSet<Incarnation>,
    registries: HashMap<Incarnation, HashMap<String, Bytes>>,
    /// The entries survivors claimed, by owner (`reap_registered`), each until it expires, as on Redis.
    reaped: HashMap<Incarnation, HashMap<String, Instant>>,
    /// Tombstones, until they expire (`bury`'s `keep`), as on Redis.
    buried: HashMap<Incarnation, Instant>,
    windows: HashMap<String, (u64, Instant)>,
}

impl Default for LocalBus {
    fn default() -> LocalBus {
        LocalBus::new()
    }
}

impl LocalBus {
    pub fn new() -> LocalBus {
        LocalBus {
            router: Arc::new(Router::new(65_536, None)),
            state: Mutex::new(State::default()),
            publishing: Mutex::new(()),
        }
    }

    /// The bus named `name` in this process, created on first use and shared while anything holds it.
    pub fn named(name: &str) -> Arc<LocalBus> {
        static NAMED: OnceLock<Mutex<HashMap<String, Weak<LocalBus>>>> = OnceLock::new();
        let mut named = NAMED.get_or_init(Default::default).lock();
        named.retain(|_, bus| bus.strong_count() > 0);
        if let Some(bus) = named.get(name).and_then(Weak::upgrade) {
            return bus;
        }
        let bus = Arc::new(LocalBus::new());
        named.insert(name.to_owned(), Arc::downgrade(&bus));
        bus
    }
}

fn live(entry: Option<&(String, Instant)>, now: Instant) -> Option<&String> {
    entry.filter(|(_, expires)| *expires > now).map(|(token, _)| token)
}

impl State {
    fn is_buried(&self, incarnation: &Incarnation, now: Instant) -> bool {
        self.buried.get(incarnation).is_some_and(|until| *until > now)
    }

    /// Drops the tombstones and claim records that expired, so that they take no memory once Redis would have
    /// dropped them.
    fn expire(&mut self, now: Instant) {
        self.buried.retain(|_, until| *until > now);
        self.reaped.retain(|_, ids| {
            ids.retain(|_, until| *until > now);
            !ids.is_empty()
        });
    }
}

#[async_trait]
impl PubSub for LocalBus {
    async fn publish(&self, channel: &str, payload: Bytes) -> Result<(), BusError> {
        let _publishing = self.publishing.lock();
        let seq = self.router.next_sequence(channel);
        self.router.published.fetch_add(1, Ordering::Relaxed);
        self.router.dispatch(channel, self.router.origin(), seq, payload);
        Ok(())
    }

    async fn subscribe(&self, channel: &str) -> Subscription {
        self.router.add(channel).0
    }

    fn health(&self) -> Health {
        Health::Connected
    }

    async fn canary(&self, _timeout: Duration) -> Result<Duration, BusError> {
        self.router.canaries_ok.fetch_add(1, Ordering::Relaxed);
        Ok(Duration::ZERO)
    }

    fn stats(&self) -> BusStats {
        self.router.stats()
    }

    fn kind(&self) -> &'static str {
        "memory"
    }
}

#[async_trait]
impl ClusterState for LocalBus {
    async fn join(&self, node: Option<u16>, token: &str, ttl: Duration) -> Result<Incarnation, BusError> {
        let now = Instant::now();
        let mut state = self.state.lock();
        let node = match node {
            Some(node) => node,
            None => (1..=u16::MAX)
                .find(|n| live(state.heartbeats.get(n), now).is_none())
                .ok_or_else(|| BusError::Protocol("every node id is taken".to_owned()))?,
        };
        state.heartbeats.insert(node, (token.to_owned(), now + ttl));
        let me = Incarnation { node, token: token.to_owned() };
        state.members.insert(me.clone());
        Ok(me)
    }

    async fn renew(&self, me: &Incarnation, ttl: Duration) -> Result<Renewal, BusError> {
        let now = Instant::now();
        let mut state = self.state.lock();
        if state.is_buried(me, now) {
            return Ok(Renewal::Lapsed);
        }
        let renewal = match live(state.heartbeats.get(&me.node), now) {
            Some(token) if *token == me.token => Renewal::Renewed,
            Some(token) => return Ok(Renewal::Superseded { by: token.clone() }),
            None => Renewal::Lapsed,
        };
        state.heartbeats.insert(me.node, (me.token.clone(), now + ttl));
        state.members.insert(me.clone());
        Ok(renewal)
    }

    async fn holder(&self, node: u16) -> Result<Option<String>, BusError> {
        Ok(live(self.state.lock().heartbeats.get(&node), Instant::now()).cloned())
    }

    async fn members(&self) -> Result<Vec<Incarnation>, BusError> {
        Ok(self.state.lock().members.iter().cloned().collect())
    }

    async fn bury(&self, dead: &Incarnation, keep: Duration) -> Result<bool, BusError> {
        let now = Instant::now();
        let mut state = self.state.lock();
        if live(state.heartbeats.get(&dead.node), now) == Some(&dead.token) {
            return Ok(false);
        }
        state.expire(now);
        state.buried.insert(dead.clone(), now + keep);
        Ok(true)
    }

    async fn is_buried(&self, incarnation: &Incarnation) -> Result<bool, BusError> {
        Ok(self.state.lock().is_buried(incarnation, Instant::now()))
    }

    async fn forget(&self, incarnation: &Incarnation) -> Result<(), BusError> {
        let mut state = self.state.lock();
        state.members.remove(incarnation);
        state.registries.remove(incarnation);
        Ok(())
    }

    async fn register(&self, owner: &Incarnation, entries: Vec<(String, Bytes)>) -> Result<(), BusError> {
        self.state.lock().registries.entry(owner.clone()).or_default().extend(entries);
        Ok(())
    }

    async fn registered(&self, owner: &Incarnation) -> Result<Vec<(String, Bytes)>, BusError> {
        let state = self.state.lock();
        Ok(state
            .registries
            .get(owner)
            .map(|r| r.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default())
    }

    async fn claim_registered(&self, owner: &Incarnation, id: &str) -> Result<bool, BusError> {
        Ok(self.state.lock().registries.get_mut(owner).and_then(|r| r.remove(id)).is_some())
    }

    async fn reap_registered(&self, dead: &Incarnation, id: &str, keep: Duration) -> Result<bool, BusError> {
        let now = Instant::now();
        let mut state = self.state.lock();
        if state.registries.get_mut(dead).and_then(|r| r.remove(id)).is_none() {
            return Ok(false);
        }
        state.reaped.entry(dead.clone()).or_default().insert(id.to_owned(), now + keep);
        Ok(true)
    }

    async fn was_reaped(&self, owner: &Incarnation, id: &str) -> Result<bool, BusError> {
        let now = Instant::now();
        Ok(self.state.lock().reaped.get(owner).and_then(|r| r.get(id)).is_some_and(|until| *until > now))
    }

    async fn count_in_window(&self, key: &str, window: Duration) -> Result<u64, BusError> {
        let now = Instant::now();
        let mut state = self.state.lock();
        let entry = state.windows.entry(key.to_owned()).or_insert((0, now + window));
        if entry.1 <= now {
            *entry = (0, now + window);
        }
        entry.0 += 1;
        Ok(entry.0)
    }
}
