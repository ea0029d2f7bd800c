//! API Gateway WebSocket semantics: the API model (Api, Stage, Route, Integration, RouteResponse), route selection,
//! integrations and the events they receive, the handshake's `$connect` context, the per-connection message router,
//! the `@connections` management API and the registry record a `$disconnect` is delivered from.
//!
//! Nothing here knows HTTP servers or sockets: the server crate hands over requests as plain types
//! ([`http::request::Parts`] and bytes), runs [`management::apply`] for management calls (its own or forwarded by
//! other nodes) and a [`hub::session`] with a [`router::MessageRouter`] as each API socket's inbound handler.

pub mod access_log;
pub mod api_keys;
mod authorizer;
pub mod connect;
pub mod deployed;
mod events;
pub mod handshake;
pub mod integration;
pub mod management;
pub mod model;
mod nonproxy;
pub mod record;
pub mod router;
pub mod selection;
#[cfg(test)]
mod testing;
mod throttle;
mod validation;

pub use model::{
    Api, ApiSet, Integration, IntegrationResponse, IntegrationType, PassthroughBehavior, Route, RouteResponse, Stage,
};
