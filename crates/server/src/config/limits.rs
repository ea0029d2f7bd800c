//! The limits a server enforces on what clients send and hold — message and frame sizes, idle and maximum
//! durations, new connections per second, outboxes, write deadlines, request heads, pending and live connections —
//! as flags, as the file's `[limits]` table, and in effect (API Gateway's defaults where it has them).

use std::time::Duration;

use serde::Deserialize;

/// Limits, with API Gateway's defaults.
#[derive(Debug, Default, clap::Args)]
pub struct LimitArgs {
    /// Largest client message in bytes [default: 131072].
    #[arg(long, env = "SWITCHBOARD_MAX_MESSAGE_BYTES", value_name = "BYTES")]
    pub max_message_bytes: Option<usize>,
    /// Largest WebSocket frame in bytes, both ways (larger outbound messages are fragmented) [default: 32768].
    #[arg(long, env = "SWITCHBOARD_MAX_FRAME_BYTES", value_name = "BYTES")]
    pub max_frame_bytes: Option<usize>,
    /// Seconds without a message in either direction before a connection is closed [default: 600].
    #[arg(long, env = "SWITCHBOARD_IDLE_TIMEOUT_SECS", value_name = "SECS")]
    pub idle_timeout_secs: Option<u64>,
    /// Maximum connection duration in seconds [default: 7200].
    #[arg(long, env = "SWITCHBOARD_MAX_CONNECTION_SECS", value_name = "SECS")]
    pub max_connection_secs: Option<u64>,
    /// New connections accepted per second, with a burst of the same size; 0 = unlimited [default: 500].
    #[arg(long, env = "SWITCHBOARD_NEW_CONNECTIONS_PER_SECOND", value_name = "N")]
    pub new_connections_per_second: Option<u32>,
    /// Bytes queued for one client before PostToConnection answers 429 [default: 1048576].
    #[arg(long, env = "SWITCHBOARD_OUTBOX_BYTES", value_name = "BYTES")]
    pub outbox_bytes: Option<usize>,
    /// Seconds a write to a client may stall before it is disconnected as a slow consumer [default: 30].
    #[arg(long, env = "SWITCHBOARD_WRITE_TIMEOUT_SECS", value_name = "SECS")]
    pub write_timeout_secs: Option<u64>,
    /// Integrations in flight per connection before reading from it pauses [default: 16].
    #[arg(long, env = "SWITCHBOARD_MAX_IN_FLIGHT", value_name = "N")]
    pub max_in_flight: Option<usize>,
    /// Seconds given to connections and `$disconnect` calls at shutdown [default: 10].
    #[arg(long, env = "SWITCHBOARD_SHUTDOWN_GRACE_SECS", value_name = "SECS")]
    pub shutdown_grace_secs: Option<u64>,
    /// Milliseconds a client has to send a request head, its TLS handshake included [default: 10000].
    #[arg(long, env = "SWITCHBOARD_HEADER_TIMEOUT_MS", value_name = "MS")]
    pub header_timeout_ms: Option<u64>,
    /// Largest request head (request line and headers) in bytes, at least 8192; larger ones answer 431
    /// [default: 16384].
    #[arg(long, env = "SWITCHBOARD_MAX_HEADER_BYTES", value_name = "BYTES")]
    pub max_header_bytes: Option<usize>,
    /// Connections that have not sent their first request head yet, in total [default: 4096].
    #[arg(long, env = "SWITCHBOARD_MAX_PENDING_CONNECTIONS", value_name = "N")]
    pub max_pending_connections: Option<usize>,
    /// Connections that have not sent their first request head yet, per client address [default: 512].
    #[arg(long, env = "SWITCHBOARD_MAX_PENDING_CONNECTIONS_PER_ADDRESS", value_name = "N")]
    pub max_pending_connections_per_address: Option<usize>,
    /// Requests one HTTP/2 connection may have in flight at once [default: 100].
    #[arg(long, env = "SWITCHBOARD_HTTP2_MAX_STREAMS", value_name = "N")]
    pub http2_max_streams: Option<u32>,
    /// Live WebSocket connections (both kinds) in total; past it handshakes answer 503 [default: 100000].
    #[arg(long, env = "SWITCHBOARD_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<usize>,
    /// Live WebSocket connections per client address; past it handshakes answer 429 [default: 10000].
    #[arg(long, env = "SWITCHBOARD_MAX_CONNECTIONS_PER_ADDRESS", value_name = "N")]
    pub max_connections_per_address: Option<usize>,
    /// Signed API requests whose signature is not verified yet (their body being read), in total; past it they
    /// answer 429 [default: 1024].
    #[arg(long, env = "SWITCHBOARD_MAX_UNAUTHENTICATED_REQUESTS", value_name = "N")]
    pub max_unauthenticated_requests: Option<usize>,
    /// Signed API requests whose signature is not verified yet, per client address; past it they answer 429
    /// [default: 256].
    #[arg(long, env = "SWITCHBOARD_MAX_UNAUTHENTICATED_REQUESTS_PER_ADDRESS", value_name = "N")]
    pub max_unauthenticated_requests_per_address: Option<usize>,
    /// New WebSocket connections accepted per second from one client address, with a burst of the same size;
    /// 0 = unlimited [default: 100]. A chat handshake counts only once its token's signature checked out.
    #[arg(long, env = "SWITCHBOARD_NEW_CONNECTIONS_PER_SECOND_PER_ADDRESS", value_name = "N")]
    pub new_connections_per_second_per_address: Option<u32>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileLimits {
    pub max_message_bytes: Option<usize>,
    pub max_frame_bytes: Option<usize>,
    pub idle_timeout_secs: Option<u64>,
    pub max_connection_secs: Option<u64>,
    pub new_connections_per_second: Option<u32>,
    pub outbox_bytes: Option<usize>,
    pub write_timeout_secs: Option<u64>,
    pub max_in_flight: Option<usize>,
    pub shutdown_grace_secs: Option<u64>,
    pub header_timeout_ms: Option<u64>,
    pub max_header_bytes: Option<usize>,
    pub max_pending_connections: Option<usize>,
    pub max_pending_connections_per_address: Option<usize>,
    pub http2_max_streams: Option<u32>,
    pub max_connections: Option<usize>,
    pub max_connections_per_address: Option<usize>,
    pub max_unauthenticated_requests: Option<usize>,
    pub max_unauthenticated_requests_per_address: Option<usize>,
    pub new_connections_per_second_per_address: Option<u32>,
}

/// Effective limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_message_bytes: usize,
    pub max_frame_bytes: usize,
    pub idle_timeout: Duration,
    pub max_connection: Duration,
    pub new_connections_per_second: u32,
    pub outbox_bytes: usize,
    pub write_timeout: Duration,
    pub max_in_flight: usize,
    pub shutdown_grace: Duration,
    /// How long a client has to send a request head (and, over TLS, to finish its handshake first).
    pub header_timeout: Duration,
    /// The largest request head; hyper answers 431 past it.
    pub max_header_bytes: usize,
    /// Connections without a first request head yet: in total, and per client address.
    pub max_pending_connections: usize,
    pub max_pending_connections_per_address: usize,
    /// Requests one HTTP/2 connection may have in flight at once.
    pub http2_max_streams: u32,
    /// Live WebSocket connections: in total, and per client address.
    pub max_connections: usize,
    pub max_connections_per_address: usize,
    /// Signed API requests not verified yet (their body being read): in total, and per client address.
    pub max_unauthenticated_requests: usize,
    pub max_unauthenticated_requests_per_address: usize,
    /// New connections per second from one address (0: unlimited).
    pub new_connections_per_second_per_address: u32,
}

/// The smallest `max_header_bytes`: hyper's read buffer never holds less.
pub const MIN_HEADER_BYTES: usize = 8192;
