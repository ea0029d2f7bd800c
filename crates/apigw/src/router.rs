//! Routes each client message to its integration and sends back route responses and error frames.

use std::sync::Arc;
use std::time::Duration;

use capture::{Capture, What};
use hub::{Connection, Outbound, Utf8Bytes, session::Inbound};
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;
use tracing::Instrument;
use wire::apigw::{ErrorFrame, EventType};

use crate::access_log::{AccessEvent, AccessLogSink};
use crate::api_keys::ApiKeys;
use crate::connect::{ConnContext, LiveStage};
use crate::events::proxy_event;
use crate::integration::{Call, Invoker, Outcome};
use crate::model::{Integration, IntegrationType};

/// The inbound handler of an API Gateway connection.
///
/// Integrations run concurrently (as Lambda invocations do) up to `max_in_flight` per connection; past that, reading
/// from this client waits, which slows this client only. Past the node's own bound ([`MessageRouter::with_node_limit`],
/// shared by every connection) a message is refused at once with 429, so that an overload is shed, not queued.
/// Each integration runs as a task in the span of the session that received its message.
#[derive(Debug)]
pub struct MessageRouter {
    ctx: Arc<ConnContext>,
    invoker: Invoker,
    in_flight: Arc<Semaphore>,
    /// Integrations in flight on the node, every connection's together.
    node_in_flight: Option<Arc<Semaphore>>,
    tasks: TaskTracker,
    live: Option<Arc<dyn LiveStage>>,
    access_log: Option<Arc<dyn AccessLogSink>>,
    /// The keys routes with `ApiKeyRequired` accept; none accepts no key.
    api_keys: Option<Arc<ApiKeys>>,
    capture: Option<Arc<Capture>>,
}

impl MessageRouter {
    pub fn new(ctx: Arc<ConnContext>, invoker: Invoker, max_in_flight: usize, tasks: TaskTracker) -> MessageRouter {
        let in_flight = Arc::new(Semaphore::new(max_in_flight.max(1)));
        MessageRouter {
            ctx,
            invoker,
            in_flight,
            node_in_flight: None,
            tasks,
            live: None,
            access_log: None,
            api_keys: None,
            capture: None,
        }
    }

    /// Bounds the integrations in flight on the node with `permits`, shared by every connection's router.
    pub fn with_node_limit(mut self, permits: Arc<Semaphore>) -> MessageRouter {
        self.node_in_flight = Some(permits);
        self
    }

    /// The API keys that routes with `ApiKeyRequired` accept (none unless given).
    pub fn with_api_keys(mut self, keys: Arc<ApiKeys>) -> MessageRouter {
        self.api_keys = Some(keys);
        self
    }

    /// Writes a line per message to the stage's access log, when it has one.
    pub fn with_access_log(mut self, sink: Arc<dyn AccessLogSink>) -> MessageRouter {
        self.access_log = Some(sink);
        self
    }

    /// Records every route decision (the event sent, the answer, its latency) and every refused message in `capture`.
    pub fn with_capture(mut self, capture: Option<Arc<Capture>>) -> MessageRouter {
        self.capture = capture;
        self
    }

    /// Records a refused message; `detail` is written only when something records.
    fn record_limit(&self, conn: &Connection, limit: &'static str, detail: impl FnOnce() -> String) {
        if let Some(capture) = &self.capture {
            capture.record(conn.subject(), What::Limit { limit, detail: detail() });
        }
    }

    /// Answers a message with an error frame, and logs it refused with `status`.
    fn refuse(&self, conn: &Connection, event: AccessEvent<'_>, status: u16, frame: ErrorFrame) {
        let id = event.message_id.unwrap_or(event.request_id);
        conn.deliver(Outbound::from(frame.render(&self.ctx.connection_id, id)));
        crate::access_log::record(self.access_log.as_deref(), &self.ctx, &event.refused(status, frame.message()));
    }

    /// Serves each message with what `live` answers then (a deployed stage's current deployment).
    pub fn with_live_stage(mut self, live: Arc<dyn LiveStage>) -> MessageRouter {
        self.live = Some(live);
        self
    }

    /// The context of the next message: the connection's, moved to its stage's current deployment if that changed.
    async fn refresh(&mut self) {
        let Some(live) = &self.live else { return };
        if let Some(api) = live.current().await
            && !Arc::ptr_eq(&api, &self.ctx.api)
        {
            self.ctx = Arc::new(self.ctx.redeployed(api));
        }
    }

    /// The route key a message selects, or `None` when neither a route nor `$default` matches.
    pub fn select_route(&self, text: &str) -> Option<&str> {
        let api = &self.ctx.api;
        let selected = api.selection.evaluate(text);
        let route = selected.as_deref().and_then(|key| api.route(key)).filter(|r| !is_lifecycle(&r.route_key));
        route.or_else(|| api.route("$default")).map(|r| r.route_key.as_str())
    }
}

fn is_lifecycle(key: &str) -> bool {
    key == "$connect" || key == "$disconnect"
}

/// Records a route decision (`$connect`'s included): the event the integration received (a proxy event; for the
/// other types the client's message, which HTTP_PROXY forwards as it is and a mapping template reads), its answer or
/// failure, and how long it took.
pub(crate) fn record_route(
    capture: &Capture,
    conn: &Connection,
    integration: &Integration,
    call: &Call<'_>,
    outcome: &Outcome,
    latency: Duration,
) {
    let event = match integration.integration_type {
        // `$connect`'s event carries the handshake's headers and query: their secrets are masked.
        IntegrationType::AwsProxy => {
            capture::mask_event(&String::from_utf8_lossy(&proxy_event(call.ctx, &call.facts())))
        }
        IntegrationType::HttpProxy | IntegrationType::Http | IntegrationType::Aws | IntegrationType::Mock => {
            call.body.unwrap_or_default().to_owned()
        }
    };
    let (outcome, status, answer) = match outcome {
        Outcome::Answer(answer) => ("answered", Some(answer.status), answer.body.as_deref().map(|b| capture.cut(b))),
        Outcome::Failed(reason) => ("failed", None, Some(capture.cut(reason))),
        Outcome::TimedOut => ("timedOut", None, None),
        Outcome::Unsupported => ("unsupported", Some(415), None),
    };
    let what = What::Route {
        route: call.route_key.to_owned(),
        request_id: call.request_id.to_owned(),
        event: capture.cut(&event),
        outcome,
        status,
        answer,
        latency_ms: u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
    };
    capture.record(conn.subject(), what);
}

impl Inbound for MessageRouter {
    async fn on_text(&mut self, conn: &Arc<Connection>, text: Utf8Bytes) {
        self.refresh().await;
        let request_id = hub::random_id();
        let message_id = hub::random_id();
        let Some(route_key) = self.select_route(text.as_str()).map(str::to_owned) else {
            self.record_limit(conn, "noRoute", || "Neither a route nor $default matches the message.".to_owned());
            let event = AccessEvent::new(EventType::Message, "", &request_id);
            self.refuse(conn, event, 403, ErrorFrame::Forbidden);
            return;
        };
        let event = || AccessEvent::new(EventType::Message, &route_key, &request_id);
        let route = self.ctx.api.route(&route_key);
        if route.is_some_and(|route| route.api_key_required)
            && !self
                .api_keys
                .as_ref()
                .is_some_and(|keys| keys.accepts(&self.ctx.api.api.api_id, self.ctx.api_key.as_deref()))
        {
            tracing::debug!(route = %route_key, "The message has no API key the route accepts.");
            self.record_limit(conn, "apiKey", || format!("Route {route_key}: no API key the route accepts."));
            self.refuse(conn, event(), 403, ErrorFrame::Forbidden);
            return;
        }
        if !self.ctx.api.admit(&self.ctx.stage, &route_key) {
            tracing::debug!(route = %route_key, "The route's throttling refused the message.");
            self.record_limit(conn, "routeThrottle", || format!("Route {route_key}: too many requests."));
            self.refuse(conn, event(), 429, ErrorFrame::TooManyRequests);
            return;
        }
        let validator = route.and_then(|route| route.validator.as_ref());
        if validator.is_some_and(|validator| !validator.accepts(text.as_str())) {
            tracing::debug!(route = %route_key, "The message failed the route's request validation.");
            self.record_limit(conn, "validation", || {
                format!("Route {route_key}: the message failed request validation.")
            });
            conn.deliver(Outbound::from(ErrorFrame::bad_request_body(&self.ctx.connection_id, &message_id)));
            let event = AccessEvent { message_id: Some(&message_id), ..event() };
            crate::access_log::record(self.access_log.as_deref(), &self.ctx, &event.refused(400, "Bad request body"));
            return;
        }
        let Ok(permit) = self.in_flight.clone().acquire_owned().await else {
            return;
        };
        let node_permit = match self.node_in_flight.as_ref().map(|node| node.clone().try_acquire_owned()) {
            Some(Ok(permit)) => Some(permit),
            None => None,
            Some(Err(_)) => {
                tracing::debug!(route = %route_key, "The node has as many integrations in flight as it allows.");
                self.record_limit(conn, "nodeInFlight", || {
                    "The node has as many integrations in flight as --max-integrations-in-flight allows.".to_owned()
                });
                self.refuse(conn, event(), 429, ErrorFrame::TooManyRequests);
                return;
            }
        };
        let ctx = self.ctx.clone();
        let invoker = self.invoker.clone();
        let conn = conn.clone();
        let access_log = self.access_log.clone();
        let capture = self.capture.clone();
        // In the connection's span, as everything its session does.
        let invocation = async move {
            let _permits = (permit, node_permit);
            let Some(route) = ctx.api.route(&route_key) else { return };
            let mut event = AccessEvent::new(EventType::Message, &route_key, &request_id);
            event.message_id = Some(&message_id);
            let Some(integration) = route.integration.clone() else {
                crate::access_log::record(access_log.as_deref(), &ctx, &event);
                return;
            };
            let call = Call {
                ctx: &ctx,
                event_type: EventType::Message,
                route_key: &route_key,
                request_id: &request_id,
                message_id: Some(&message_id),
                body: Some(text.as_str()),
                disconnect: None,
            };
            let started = tokio::time::Instant::now();
            let outcome = invoker.invoke(&integration, &call).await;
            if let Some(capture) = &capture {
                record_route(capture, &conn, &integration, &call, &outcome, started.elapsed());
            }
            let latency = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let (reply, refused) = match outcome {
                Outcome::Answer(answer) => {
                    event.integration = Some((Some(answer.status), latency));
                    (answer.body.filter(|_| route.two_way), None)
                }
                Outcome::Failed(reason) => {
                    tracing::warn!(route = %route_key, %reason, "Integration failed.");
                    (None, Some((500, ErrorFrame::InternalServerError)))
                }
                Outcome::TimedOut => (None, Some((504, ErrorFrame::EndpointTimedOut))),
                Outcome::Unsupported => {
                    tracing::debug!(route = %route_key, "No request template matched and passthrough is refused.");
                    (None, Some((415, ErrorFrame::UnsupportedMediaType)))
                }
            };
            if let Some((status, frame)) = refused {
                event.integration = Some((None, latency));
                event = event.refused(status, frame.message());
                conn.deliver(Outbound::from(frame.render(&ctx.connection_id, &request_id)));
            } else if let Some(reply) = reply {
                conn.deliver(Outbound::from(reply));
            }
            crate::access_log::record(access_log.as_deref(), &ctx, &event);
        };
        self.tasks.spawn(invocation.in_current_span());
    }
}
