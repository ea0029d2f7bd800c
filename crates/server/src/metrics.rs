//! Prometheus metrics of a node, served on the reserved path `/@switchboard/metrics`.

use hub::CloseCause;
use hub::session::EndCause;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    pub operation: &'static str,
    pub status: u16,
}

/// The extension operation that delivered messages (PostToConnections, PostToGroup): a fixed set.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    pub operation: &'static str,
}

/// Why a connection ended: one of a fixed set of values, never the close code (clients choose any of ≈2,000).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CauseLabels {
    pub cause: &'static str,
}

impl CauseLabels {
    pub fn of(cause: EndCause) -> CauseLabels {
        let cause = match cause {
            EndCause::Client => "client",
            EndCause::Abnormal => "abnormal",
            EndCause::Server(CloseCause::Deleted) => "deleted",
            EndCause::Server(CloseCause::IdleTimeout) => "idle_timeout",
            EndCause::Server(CloseCause::MaxDuration) => "max_duration",
            EndCause::Server(CloseCause::SlowConsumer) => "slow_consumer",
            EndCause::Server(CloseCause::Shutdown) => "shutdown",
            EndCause::Server(CloseCause::Violation) => "violation",
        };
        CauseLabels { cause }
    }
}

/// Counters and gauges; labels are low-cardinality by construction (no ids).
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub connections_opened: Counter,
    pub connections_active: Gauge,
    pub connections_closed: Family<CauseLabels, Counter>,
    pub handshakes_rejected: Family<StatusLabels, Counter>,
    pub messages_received: Counter,
    pub api_requests: Family<OperationLabels, Counter>,
    pub extension_deliveries: Family<DeliveryLabels, Counter>,
    pub extension_outcomes: Family<OutcomeLabels, Counter>,
}

/// The outcome of a post to one connection by an extension operation: a fixed set.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub operation: &'static str,
    pub outcome: &'static str,
}

impl Default for Metrics {
    fn default() -> Metrics {
        let mut registry = Registry::with_prefix("switchboard");
        let metrics = Metrics {
            registry: Registry::default(),
            connections_opened: Counter::default(),
            connections_active: Gauge::default(),
            connections_closed: Family::default(),
            handshakes_rejected: Family::default(),
            messages_received: Counter::default(),
            api_requests: Family::default(),
            extension_deliveries: Family::default(),
            extension_outcomes: Family::default(),
        };
        registry.register("connections_opened", "WebSocket connections accepted", metrics.connections_opened.clone());
        registry.register("connections_active", "WebSocket connections open now", metrics.connections_active.clone());
        registry.register(
            "connections_closed",
            "WebSocket connections ended, by cause",
            metrics.connections_closed.clone(),
        );
        registry.register(
            "handshakes_rejected",
            "WebSocket handshakes refused, by HTTP status",
            metrics.handshakes_rejected.clone(),
        );
        registry.register("messages_received", "Messages received from clients", metrics.messages_received.clone());
        registry.register(
            "api_requests",
            "AWS-compatible API requests, by operation and status",
            metrics.api_requests.clone(),
        );
        registry.register(
            "extension_deliveries",
            "Messages queued for connections by the broadcast and group extensions, by operation",
            metrics.extension_deliveries.clone(),
        );
        registry.register(
            "extension_outcomes",
            "Connections the broadcast and group extensions could not deliver to, by operation and outcome",
            metrics.extension_outcomes.clone(),
        );
        Metrics { registry, ..metrics }
    }
}

impl Metrics {
    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use hub::CloseCause;
    use hub::session::EndCause;

    use super::{CauseLabels, Metrics};

    #[test]
    fn closes_are_counted_by_cause() {
        let metrics = Metrics::default();
        metrics.connections_closed.get_or_create(&CauseLabels::of(EndCause::Client)).inc();
        metrics.connections_closed.get_or_create(&CauseLabels::of(EndCause::Server(CloseCause::IdleTimeout))).inc();
        let text = metrics.render();
        assert!(text.contains("switchboard_connections_closed_total{cause=\"client\"} 1"), "{text}");
        assert!(text.contains("switchboard_connections_closed_total{cause=\"idle_timeout\"} 1"), "{text}");
    }
}
