//! Routes each client message to its integration and sends back route responses and error frames.

use std::sync::Arc;

use hub::{Connection, Outbound, Utf8Bytes, session::Inbound};
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;
use tracing::Instrument;
use wire::apigw::{ErrorFrame, EventType};

use crate::connect::{ConnContext, LiveStage};
use crate::integration::{Call, Invoker, Outcome};

/// The inbound handler of an API Gateway connection.
///
/// Integrations run concurrently (as Lambda invocations do) up to `max_in_flight` per connection; past that, reading
/// from this client waits, which slows this client only.
/// Each integration runs as a task in the span of the session that received its message.
#[derive(Debug)]
pub struct MessageRouter {
    ctx: Arc<ConnContext>,
    invoker: Invoker,
    in_flight: Arc<Semaphore>,
    tasks: TaskTracker,
    live: Option<Arc<dyn LiveStage>>,
}

impl MessageRouter {
    pub fn new(ctx: Arc<ConnContext>, invoker: Invoker, max_in_flight: usize, tasks: TaskTracker) -> MessageRouter {
        MessageRouter { ctx, invoker, in_flight: Arc::new(Semaphore::new(max_in_flight.max(1))), tasks, live: None }
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

impl Inbound for MessageRouter {
    async fn on_text(&mut self, conn: &Arc<Connection>, text: Utf8Bytes) {
        self.refresh().await;
        let request_id = hub::random_id();
        let Some(route_key) = self.select_route(text.as_str()).map(str::to_owned) else {
            conn.deliver(Outbound::from(ErrorFrame::Forbidden.render(&self.ctx.connection_id, &request_id)));
            return;
        };
        if !self.ctx.api.admit(&self.ctx.stage, &route_key) {
            tracing::debug!(route = %route_key, "The route's throttling refused the message.");
            conn.deliver(Outbound::from(ErrorFrame::TooManyRequests.render(&self.ctx.connection_id, &request_id)));
            return;
        }
        let message_id = hub::random_id();
        let validator = self.ctx.api.route(&route_key).and_then(|route| route.validator.as_ref());
        if validator.is_some_and(|validator| !validator.accepts(text.as_str())) {
            tracing::debug!(route = %route_key, "The message failed the route's request validation.");
            conn.deliver(Outbound::from(ErrorFrame::bad_request_body(&self.ctx.connection_id, &message_id)));
            return;
        }
        let Ok(permit) = self.in_flight.clone().acquire_owned().await else {
            return;
        };
        let ctx = self.ctx.clone();
        let invoker = self.invoker.clone();
        let conn = conn.clone();
        // In the connection's span, as everything its session does.
        let invocation = async move {
            let _permit = permit;
            let Some(route) = ctx.api.route(&route_key) else { return };
            let Some(integration) = route.integration.clone() else { return };
            let call = Call {
                ctx: &ctx,
                event_type: EventType::Message,
                route_key: &route_key,
                request_id: &request_id,
                message_id: Some(&message_id),
                body: Some(text.as_str()),
                disconnect: None,
            };
            let reply = match invoker.invoke(&integration, &call).await {
                Outcome::Answer(answer) => answer.body.filter(|_| route.two_way),
                Outcome::Failed(reason) => {
                    tracing::warn!(route = %route_key, %reason, "Integration failed.");
                    Some(ErrorFrame::InternalServerError.render(&ctx.connection_id, &request_id))
                }
                Outcome::TimedOut => Some(ErrorFrame::EndpointTimedOut.render(&ctx.connection_id, &request_id)),
                Outcome::Unsupported => {
                    tracing::debug!(route = %route_key, "No request template matched and passthrough is refused.");
                    Some(ErrorFrame::UnsupportedMediaType.render(&ctx.connection_id, &request_id))
                }
            };
            if let Some(reply) = reply {
                conn.deliver(Outbound::from(reply));
            }
        };
        self.tasks.spawn(invocation.in_current_span());
    }
}
