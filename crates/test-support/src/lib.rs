//! Test helpers shared by Switchboard's suites (a dev-dependency only): a private `redis-server` ([`PrivateRedis`]),
//! a private PostgreSQL server ([`PrivatePostgres`]), a TCP relay a test cuts, slows down or deafens (`Relay`, with
//! the `relay` feature), and with the `harness` feature the integration harness: a server on `127.0.0.1:0`
//! (`TestServer`), a recording Lambda-style backend (`Backend`) and real clients (the AWS SDK, WebSocket helpers,
//! signed raw requests).

#[cfg(feature = "harness")]
mod backend;
#[cfg(feature = "harness")]
mod client;
mod postgres;
mod redis;
#[cfg(feature = "relay")]
mod relay;
#[cfg(feature = "harness")]
mod server;

#[cfg(feature = "harness")]
pub use backend::{Backend, Reply};
#[cfg(feature = "harness")]
pub use client::{Raw, parts, post, recv_close, recv_text, send_text, signed_head};
pub use postgres::PrivatePostgres;
pub use redis::PrivateRedis;
#[cfg(feature = "relay")]
pub use relay::{Relay, RelayTarget};
#[cfg(feature = "harness")]
pub use server::{TestServer, chat_sdk_at};

/// The URL of an external service a test needs, read from `var`. Such tests are marked `#[ignore = "needs …"]`, so a
/// plain `cargo test` lists them as ignored with their reason; run anyway (`-- --include-ignored`, as `.ci/run` does), a
/// missing variable fails them rather than letting them pass having checked nothing.
pub fn service_url(var: &str) -> String {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => url,
        _ => panic!("{var} is not set: this test needs that service (.ci/run starts it and sets the variable)"),
    }
}

/// The access key id of the test key pair every `TestServer` accepts.
pub const AKID: &str = "AKIDSWITCHBOARDTEST1";
/// The secret access key of the test key pair.
pub const SECRET: &str = "switchboard/test/secret/key/0123456789ab";
/// The region of test servers and clients.
pub const REGION: &str = "us-east-1";

/// A client WebSocket to a test server.
#[cfg(feature = "harness")]
pub type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;
