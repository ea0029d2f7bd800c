//! Cluster backends that fail every call, as Redis does while it is unreachable: a [`ClusterState`] that answers
//! nothing, and a [`PubSub`] whose publishes fail while its subscriptions wait (on a private in-process bus).

use std::time::Duration;

use async_trait::async_trait;
use bus::{BusError, BusStats, Health, LocalBus, PubSub, Subscription};
use bytes::Bytes;

fn away<T>() -> Result<T, BusError> {
    Err(BusError::Unavailable("connection refused".to_owned()))
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
