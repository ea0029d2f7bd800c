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
    /// Connection work the server's tracker holds now, set when the metrics are read.
    pub tasks: Gauge,
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
    /// The chat rooms' own counters, brought up to date when the metrics are read (`Metrics::observe_chat`).
    chat_lost_errors: Counter,
    chat_unsent_frames: Counter,
    chat_dropped_presence_events: Counter,
    pub extension_deliveries: Family<DeliveryLabels, Counter>,
    pub extension_outcomes: Family<OutcomeLabels, Counter>,
    /// `--watch`'s applies of a changed template, by outcome (`applied` or `refused`).
    pub template_reloads: Family<ReloadLabels, Counter>,
    /// Access log lines dropped because the writer was behind (`crate::access_log`).
    pub access_log_dropped: Counter,
}

/// How a reload of the template ended: `applied` or `refused` (what runs stayed as it was).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReloadLabels {
    pub outcome: &'static str,
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
            tasks: Gauge::default(),
            connections_closed: Family::default(),
            handshakes_rejected: Family::default(),
            messages_received: Counter::default(),
            api_requests: Family::default(),
            bus_publish_failed: Counter::default(),
            bus_missed: Counter::default(),
            bus_loss_notices: Counter::default(),
            bus_rejected: Counter::default(),
            fences: Counter::default(),
            chat_lost_errors: Counter::default(),
            chat_unsent_frames: Counter::default(),
            chat_dropped_presence_events: Counter::default(),
            extension_deliveries: Family::default(),
            extension_outcomes: Family::default(),
            template_reloads: Family::default(),
            access_log_dropped,
        };
        registry.register("connections_opened", "WebSocket connections accepted", metrics.connections_opened.clone());
        registry.register("connections_active", "WebSocket connections open now", metrics.connections_active.clone());
        registry.register(
            "tasks",
            "Connection work running now: sessions, integrations, $disconnect calls",
            metrics.tasks.clone(),
        );
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
        let chat: [(&str, &str, &Counter); 3] = [
            (
                "chat_lost_errors",
                "Chat ERROR frames dropped because their connection's outbox was full",
                &metrics.chat_lost_errors,
            ),
            (
                "chat_unsent_frames",
                "Chat frames refused because the cluster bus did not take them (their senders got ERROR 500)",
                &metrics.chat_unsent_frames,
            ),
            (
                "chat_dropped_presence_events",
                "switchboard:join and switchboard:leave events dropped because the announcement queue was full",
                &metrics.chat_dropped_presence_events,
            ),
        ];
        for (name, help, counter) in bus.into_iter().chain(chat) {
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
            "template_reloads",
            "Applies of a changed template (--watch), by outcome: applied, or refused with what runs unchanged",
            metrics.template_reloads.clone(),
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
        catch_up(pairs);
    }

    /// Brings the chat rooms' counters up to what the chat service counted.
    pub fn observe_chat(&self, stats: chat::ChatStats) {
        catch_up([
            (&self.chat_lost_errors, stats.lost_errors),
            (&self.chat_unsent_frames, stats.unsent_frames),
            (&self.chat_dropped_presence_events, stats.dropped_presence_events),
        ]);
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Raises each counter to a total counted elsewhere (counters only go up).
fn catch_up<const N: usize>(pairs: [(&Counter, u64); N]) {
    for (counter, now) in pairs {
        counter.inc_by(now.saturating_sub(counter.get()));
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

    #[test]
    fn the_chat_counters_follow_the_chat_service() {
        let metrics = Metrics::default();
        metrics.observe_chat(chat::ChatStats { lost_errors: 1, unsent_frames: 0, dropped_presence_events: 2 });
        metrics.observe_chat(chat::ChatStats { lost_errors: 1, unsent_frames: 4, dropped_presence_events: 5 });
        let text = metrics.render();
        assert!(text.contains("switchboard_chat_lost_errors_total 1"), "{text}");
        assert!(text.contains("switchboard_chat_unsent_frames_total 4"), "{text}");
        assert!(text.contains("switchboard_chat_dropped_presence_events_total 5"), "{text}");
    }
}
