//! Switchboard's server: configuration, credentials, the HTTP front door and the wiring of hub, APIs and backends.
//!
//! The `switchboard` binary calls [`serve`]; integration tests start servers in-process through [`Server::start`].

mod access_log;
pub mod cluster;
pub mod config;
pub mod credentials;
mod gate;
mod http;
mod logging;
mod metrics;
mod ratelimit;
mod run;
mod server;
mod stack;
mod state;

pub use run::serve;
pub use server::{ConnectionsHeld, Server};
pub use stack::Stack;
pub use state::AppState;
