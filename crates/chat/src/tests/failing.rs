//! Cluster backends that fail every call, as Redis does while it is unreachable: a [`ClusterState`] that answers
//! nothing, and a [`PubSub`] whose publishes fail while its subscriptions wait (on a private in-process bus).

use std::time::Duration;

use async_trait::async_trait;
use bus::{BusError, BusStats, ClusterState, Health, Incarnation, LocalBus, PubSub, Renewal, Subscription};
use bytes::Bytes;

fn away<T>() -> Result<T, BusError> {
    Err(BusError::Unavailable("connection refused".to_owned()))
}

/// Shared state that cannot be reached.
#[derive(Debug)]
pub(super) struct UnreachableState;

#[async_trait]
impl ClusterState for UnreachableState {
    async fn join(&self, _node: Option<u16>, _token: &str, _ttl: Duration) -> Result<Incarnation, BusError> {
        away()
    }
    async fn renew(&self, _me: &Incarnation, _ttl: Duration) -> Result<Renewal, BusError> {
        away()
    }
    async fn holder(&self, _node: u16) -> Result<Option<String>, BusError> {
        away()
    }
    async fn members(&self) -> Result<Vec<Incarnation>, BusError> {
        away()
    }
    async fn bury(&self, _dead: &Incarnation, _keep: Duration) -> Result<(), BusError> {
        away()
    }
    async fn is_buried(&self, _incarnation: &Incarnation) -> Result<bool, BusError> {
        away()
    }
    async fn forget(&self, _incarnation: &Incarnation) -> Result<(), BusError> {
        away()
    }
    async fn register(&self, _owner: &Incarnation, _entries: Vec<(String, Bytes)>) -> Result<(), BusError> {
        away()
    }
    async fn registered(&self, _owner: &Incarnation) -> Result<Vec<(String, Bytes)>, BusError> {
        away()
    }
    async fn claim_registered(&self, _owner: &Incarnation, _id: &str) -> Result<bool, BusError> {
        away()
    }
    async fn claim_once(&self, _key: &str, _ttl: Duration) -> Result<bool, BusError> {
        away()
    }
    async fn count_in_window(&self, _key: &str, _window: Duration) -> Result<u64, BusError> {
        away()
    }
}

/// Messaging whose publishes fail; subscribing works (and hears nothing).
#[derive(Debug, Default)]
pub(super) struct UnpublishablePubSub {
    quiet: LocalBus,
}

#[async_trait]
impl PubSub for UnpublishablePubSub {
    async fn publish(&self, _channel: &str, _payload: Bytes) -> Result<(), BusError> {
        away()
    }
    async fn subscribe(&self, channel: &str) -> Subscription {
        self.quiet.subscribe(channel).await
    }
    fn health(&self) -> Health {
        Health::Degraded
    }
    async fn canary(&self, _timeout: Duration) -> Result<Duration, BusError> {
        away()
    }
    fn stats(&self) -> BusStats {
        BusStats::default()
    }
    fn kind(&self) -> &'static str {
        "failing"
    }
}
