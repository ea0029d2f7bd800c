//! API Gateway WebSocket semantics: the API model (Api, Stage, Route, Integration, RouteResponse), route selection,
//! integrations and the events they receive, and the per-connection message router.
//!
//! Nothing here knows HTTP servers or sockets: the server crate turns handshakes into [`connect::ConnectRequest`]s
//! and runs a [`hub::session`] with a [`router::MessageRouter`] as its inbound handler.

pub mod connect;
mod events;
pub mod integration;
pub mod model;
pub mod router;
pub mod selection;

pub use model::{Api, ApiSet, Integration, IntegrationType, Route, RouteResponse, Stage};
