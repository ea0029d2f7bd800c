//! Switchboard's server: configuration, credentials, the HTTP front door and the wiring of hub, APIs and backends.
//!
//! The `switchboard` binary is a thin command line over this library; integration tests start servers in-process
//! through [`Server::start`].

pub mod cli;
pub mod cluster;
pub mod config;
pub mod credentials;
mod http;
mod metrics;
mod ratelimit;
mod server;
mod state;

pub use server::Server;
