//! The Amazon IVS Chat control plane (`ivschat`, restJson1), free of any HTTP framework: routing, request
//! validation against the model, the 17 operations over a [`store::Store`], and the calls into the live
//! messaging layer ([`RoomEvents`], [`TokenIssuer`]).
//!
//! The server hands each authenticated request to [`ControlPlane::handle`] and writes back either the
//! [`Reply`] or the `wire::ApiError` (status, `x-amzn-ErrorType`, JSON body).
//!
//! Extension to AWS: wherever the model takes a room or logging-configuration identifier ("currently this
//! must be an ARN"), a bare 12-character id is accepted as well; responses always carry ARNs.

mod arn;
mod config;
mod effects;
mod errors;
mod ext;
mod operation;
mod ops;
mod pagination;
mod ratelimit;
mod router;
mod shapes;
mod validate;

use std::sync::Arc;

use http::{Method, StatusCode};
use serde_json::Value;
use store::{ResourceKind, Store};
use time::OffsetDateTime;
use wire::ApiError;

pub use arn::format as resource_arn;
pub use config::{Config, MAX_ATTRIBUTE_BYTES, MAX_TAGS, Quotas, RateLimits};
pub use effects::{
    ChatEvent, ChatTokenCapability, Connected, EffectError, IssuedToken, MessageDeletion, RoomEvents, TokenIssuer,
    TokenRequest, UserDisconnection,
};
pub use ext::Extension;
pub use operation::Operation;
pub use store;

/// A successful response: 200 with a JSON body, or 204 with none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

impl Reply {
    fn json(value: &Value) -> Reply {
        Reply { status: StatusCode::OK, body: serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec()) }
    }

    fn no_content() -> Reply {
        Reply { status: StatusCode::NO_CONTENT, body: Vec::new() }
    }

    /// `application/json` when there is a body.
    pub fn content_type(&self) -> Option<&'static str> {
        (!self.body.is_empty()).then_some("application/json")
    }
}

type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

/// The control plane: one per process, shared (`Arc`) by every request.
pub struct ControlPlane {
    store: Arc<dyn Store>,
    events: Arc<dyn RoomEvents>,
    tokens: Arc<dyn TokenIssuer>,
    config: Config,
    limiter: ratelimit::Limiter,
    pages: pagination::TokenCodec,
    clock: Clock,
}

impl std::fmt::Debug for ControlPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlPlane")
            .field("region", &self.config.region)
            .field("account_id", &self.config.account_id)
            .finish_non_exhaustive()
    }
}

impl ControlPlane {
    pub fn new(
        store: Arc<dyn Store>,
        events: Arc<dyn RoomEvents>,
        tokens: Arc<dyn TokenIssuer>,
        config: Config,
    ) -> ControlPlane {
        ControlPlane {
            store,
            events,
            tokens,
            pages: pagination::TokenCodec::new(&config.pagination_key),
            config,
            limiter: ratelimit::Limiter::default(),
            clock: Arc::new(OffsetDateTime::now_utc),
        }
    }

    /// Replaces the wall clock (tests, simulations). Times are truncated to milliseconds.
    pub fn with_clock(mut self, clock: impl Fn() -> OffsetDateTime + Send + Sync + 'static) -> ControlPlane {
        self.clock = Arc::new(clock);
        self
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The ARN of room `id` in this region and account.
    pub fn room_arn(&self, id: &str) -> String {
        shapes::room_arn(&self.config, id)
    }

    /// The ARN of logging configuration `id` in this region and account.
    pub fn logging_configuration_arn(&self, id: &str) -> String {
        shapes::logging_configuration_arn(&self.config, id)
    }

    /// Serves one request. `raw_path` is the request path as sent (still percent-encoded), `raw_query` the
    /// query string without `?`, `body` the raw body. Authentication happens before this call.
    pub async fn handle(
        &self,
        method: &Method,
        raw_path: &str,
        raw_query: Option<&str>,
        body: &[u8],
    ) -> Result<Reply, ApiError> {
        let route = router::route(method, raw_path, raw_query)?;
        if body.len() > self.config.max_body_bytes {
            return Err(errors::other(format!(
                "The request body is larger than the maximum of {} bytes",
                self.config.max_body_bytes
            )));
        }
        let input = if operation::is_tag_operation(route.op) && route.op != Operation::TagResource {
            validate::Object::new(serde_json::Map::new())
        } else {
            validate::parse_body(body)?
        };
        let op = route.op;
        let reply = self.dispatch(route, input).await?;
        debug_assert_eq!(reply.status.as_u16(), op.model().http.response_code, "the model's success status of {op}");
        Ok(reply)
    }

    async fn dispatch(&self, route: router::Route, input: validate::Object) -> Result<Reply, ApiError> {
        let value = match route.op {
            Operation::CreateRoom => self.create_room(input).await?,
            Operation::GetRoom => self.get_room(input).await?,
            Operation::UpdateRoom => self.update_room(input).await?,
            Operation::DeleteRoom => {
                self.delete_room(input).await?;
                return Ok(Reply::no_content());
            }
            Operation::ListRooms => self.list_rooms(input).await?,
            Operation::CreateLoggingConfiguration => self.create_logging_configuration(input).await?,
            Operation::GetLoggingConfiguration => self.get_logging_configuration(input).await?,
            Operation::UpdateLoggingConfiguration => self.update_logging_configuration(input).await?,
            Operation::DeleteLoggingConfiguration => {
                self.delete_logging_configuration(input).await?;
                return Ok(Reply::no_content());
            }
            Operation::ListLoggingConfigurations => self.list_logging_configurations(input).await?,
            Operation::TagResource => self.tag_resource(route.resource_arn, input).await?,
            Operation::UntagResource => self.untag_resource(route.resource_arn, route.tag_keys, input).await?,
            Operation::ListTagsForResource => self.list_tags_for_resource(route.resource_arn, input).await?,
            Operation::CreateChatToken => self.create_chat_token(input).await?,
            Operation::SendEvent => self.send_event(input).await?,
            Operation::DeleteMessage => self.delete_message(input).await?,
            Operation::DisconnectUser => self.disconnect_user(input).await?,
        };
        Ok(Reply::json(&value))
    }

    /// The current time, truncated to milliseconds (what the wire and the store keep).
    fn now(&self) -> OffsetDateTime {
        let t = (self.clock)();
        t.replace_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000).unwrap_or(t)
    }

    /// Applies the configured rate limit of `op`; `resource_id` names what was targeted (else the account).
    fn admit(&self, op: Operation, resource_id: Option<&str>) -> Result<(), ApiError> {
        match self.config.rate_limits.get(op) {
            Some(tps) if !self.limiter.try_acquire(op, tps, (self.clock)()) => {
                Err(errors::throttled(resource_id.unwrap_or(&self.config.account_id), tps))
            }
            _ => Ok(()),
        }
    }

    /// The id an identifier names, or ResourceNotFoundException if it is an ARN of another region/account.
    fn resolve(&self, identifier: &str, kind: ResourceKind) -> Result<String, ApiError> {
        match arn::resolve(identifier, kind, &self.config.region, &self.config.account_id) {
            Some((id, true)) => Ok(id.to_owned()),
            Some((id, false)) => Err(errors::not_found(&self.config, kind, id)),
            // Validation has already accepted the identifier; this cannot be reached with valid input.
            None => Err(errors::field("identifier", "Member must be an identifier")),
        }
    }

    fn store_error(&self, err: store::StoreError) -> ApiError {
        errors::from_store(&self.config, err)
    }
}

#[cfg(test)]
mod tests;
