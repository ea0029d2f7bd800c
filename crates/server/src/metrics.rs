//! Prometheus metrics of a node, served on the admin listener's `/@switchboard/metrics` (never the public one).

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
    /// The cluster bus's own counters, brought up to date when the metrics are read (`Metrics::observe_bus`).
    bus_publish_failed: Counter,
    bus_missed: Counter,
    bus_loss_notices: Counter,
    bus_rejected: Counter,
    fences: Counter,
    pub extension_deliveries: Family<DeliveryLabels, Counter>,
    pub extension_outcomes: Family<OutcomeLabels, Counter>,
    /// Access log lines dropped because the writer was behind (`crate::access_log`).
    pub access_log_dropped: Counter,
}

/// The outcome of a post to one connection by an extension operation: a fixed set.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub operation: &'static str,
    pub outcome: &'static str,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new(Counter::default())
    }
}

impl Metrics {
    /// The metrics, counting dropped access log lines in the writer's own counter.
    pub fn new(access_log_dropped: Counter) -> Metrics {
        let mut registry = Registry::with_prefix("switchboard");
        let metrics = Metrics {
            registry: Registry::default(),
            connections_opened: Counter::default(),
            connections_active: Gauge::default(),
            connections_closed: Family::default(),
            handshakes_rejected: Family::default(),
            messages_received: Counter::default(),
            api_requests: Family::default(),
            bus_publish_failed: Counter::default(),
            bus_missed: Counter::default(),
            bus_loss_notices: Counter::default(),
            bus_rejected: Counter::default(),
            fences: Counter::default(),
            extension_deliveries: Family::default(),
            extension_outcomes: Family::default(),
            access_log_dropped,
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
        let bus: [(&str, &str, &Counter); 5] = [
            ("bus_publish_failed", "Cluster bus messages that could not be published", &metrics.bus_publish_failed),
            ("bus_missed", "Cluster bus messages this node never received", &metrics.bus_missed),
            (
                "bus_loss_notices",
                "Loss notices handed to bus subscriptions (chat rooms tell their members)",
                &metrics.bus_loss_notices,
            ),
            (
                "bus_rejected",
                "Cluster bus messages and records that failed the cluster key's check",
                &metrics.bus_rejected,
            ),
            ("cluster_fences", "Times this node fenced itself, cut off from the cluster bus", &metrics.fences),
        ];
        for (name, help, counter) in bus {
            registry.register(name, help, counter.clone());
        }
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
        registry.register(
            "access_log_lines_dropped",
            "Access log lines of API stages dropped because their writer was behind",
            metrics.access_log_dropped.clone(),
        );
        Metrics { registry, ..metrics }
    }

    /// Brings the bus's counters (and the fences) up to what the bus and the cluster counted.
    pub fn observe_bus(&self, stats: &bus::BusStats, fences: u64) {
        let pairs = [
            (&self.bus_publish_failed, stats.publish_failed),
            (&self.bus_missed, stats.missed),
            (&self.bus_loss_notices, stats.loss_notices),
            (&self.bus_rejected, stats.rejected),
            (&self.fences, fences),
        ];
        for (counter, now) in pairs {
            counter.inc_by(now.saturating_sub(counter.get()));
        }
    }

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

    #[test]
    fn the_bus_counters_follow_the_bus() {
        let metrics = Metrics::default();
        let stats = |loss_notices, rejected| bus::BusStats { loss_notices, rejected, ..bus::BusStats::default() };
        metrics.observe_bus(&stats(2, 1), 1);
        metrics.observe_bus(&stats(3, 1), 1);
        let text = metrics.render();
        assert!(text.contains("switchboard_bus_loss_notices_total 3"), "{text}");
        assert!(text.contains("switchboard_bus_rejected_total 1"), "{text}");
        assert!(text.contains("switchboard_cluster_fences_total 1"), "{text}");
    }
}
