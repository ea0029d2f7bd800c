//! The limits a server enforces on what clients send and hold — message and frame sizes, idle and maximum
//! durations, new connections and `@connections` calls per second, outboxes, write deadlines, request heads, pending
//! and live connections — as flags, as the file's `[limits]` table, and in effect (API Gateway's defaults where it
//! has them; all of AWS's with `--aws-limits strict`).

use std::time::Duration;

use anyhow::bail;
use serde::Deserialize;

use super::{millis, secs};

/// Which limits apply: Switchboard's defaults (AWS's where AWS has one that helps a developer, none where AWS's
/// account-wide throttles would only get in the way), or every limit and quota AWS enforces, at AWS's defaults.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum AwsLimits {
    #[default]
    Default,
    Strict,
}

/// API Gateway's limits that AWS does not let an account change: in strict mode a setting may not differ.
const FIXED_ON_AWS: [(&str, u64); 4] = [
    ("max_message_bytes", 128 * 1024),
    ("max_frame_bytes", 32 * 1024),
    ("idle_timeout_secs", 600),
    ("max_connection_secs", 7200),
];

/// API Gateway's throttle per account and region across its APIs and the `@connections` (callback) API, with its
/// burst ("10,000 requests per second … a maximum bucket capacity of 5,000 requests"); in strict mode the default of
/// `management_requests_per_second`, whose burst is half the rate as on AWS.
const AWS_ACCOUNT_THROTTLE: u32 = 10_000;

/// Route integrations in flight on one node by default (`--max-integrations-in-flight`).
const DEFAULT_MAX_INTEGRATIONS_IN_FLIGHT: usize = 4096;

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
    /// `@connections` calls accepted per second on this node, with a burst of half as many; past it they answer 429
    /// LimitExceededException; 0 = unlimited [default: 0; 10000 with --aws-limits strict].
    #[arg(long, env = "SWITCHBOARD_MANAGEMENT_REQUESTS_PER_SECOND", value_name = "N")]
    pub management_requests_per_second: Option<u32>,
    /// Integrations in flight per connection before reading from it pauses [default: 16].
    #[arg(long, env = "SWITCHBOARD_MAX_IN_FLIGHT", value_name = "N")]
    pub max_in_flight: Option<usize>,
    /// Route integrations in flight on this node, all connections together; past it a message is answered 429
    /// at once [default: 4096].
    #[arg(long, env = "SWITCHBOARD_MAX_INTEGRATIONS_IN_FLIGHT", value_name = "N")]
    pub max_integrations_in_flight: Option<usize>,
    /// Seconds given to connections and `$disconnect` calls at shutdown [default: 10].
    #[arg(long, env = "SWITCHBOARD_SHUTDOWN_GRACE_SECS", value_name = "SECS")]
    pub shutdown_grace_secs: Option<u64>,
    /// Milliseconds a client has to send a request head, its TLS handshake included [default: 10000].
    #[arg(long, env = "SWITCHBOARD_HEADER_TIMEOUT_MS", value_name = "MS")]
    pub header_timeout_ms: Option<u64>,
    /// Seconds a console live stream (a page, `switchboard tail`) may go without its client reading before its
    /// admin connection is closed; at least 1 [default: 60].
    #[arg(long, env = "SWITCHBOARD_CONSOLE_STALL_SECS", value_name = "SECS")]
    pub console_stall_secs: Option<u64>,
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
    pub management_requests_per_second: Option<u32>,
    pub outbox_bytes: Option<usize>,
    pub write_timeout_secs: Option<u64>,
    pub max_in_flight: Option<usize>,
    pub max_integrations_in_flight: Option<usize>,
    pub shutdown_grace_secs: Option<u64>,
    pub header_timeout_ms: Option<u64>,
    pub console_stall_secs: Option<u64>,
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
    /// `@connections` calls per second on this node (burst: half as many); 0 is unlimited.
    pub management_requests_per_second: u32,
    pub outbox_bytes: usize,
    pub write_timeout: Duration,
    pub max_in_flight: usize,
    /// Route integrations in flight on this node, all connections together.
    pub max_integrations_in_flight: usize,
    pub shutdown_grace: Duration,
    /// How long a client has to send a request head (and, over TLS, to finish its handshake first).
    pub header_timeout: Duration,
    /// How long a console live stream may go without its client reading before its connection is closed.
    pub console_stall: Duration,
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
    /// Whether AWS's limits and quotas all apply (`--aws-limits strict`).
    pub aws: AwsLimits,
}

impl Limits {
    /// Flags over the file over the defaults (AWS's in strict mode, where a fixed AWS limit cannot be changed).
    pub fn merge(l: LimitArgs, f: FileLimits, aws: AwsLimits) -> anyhow::Result<Limits> {
        let strict = aws == AwsLimits::Strict;
        if strict {
            let set = [
                l.max_message_bytes.or(f.max_message_bytes).map(|n| n as u64),
                l.max_frame_bytes.or(f.max_frame_bytes).map(|n| n as u64),
                l.idle_timeout_secs.or(f.idle_timeout_secs),
                l.max_connection_secs.or(f.max_connection_secs),
            ];
            for ((name, aws_value), value) in FIXED_ON_AWS.into_iter().zip(set) {
                if let Some(value) = value.filter(|v| *v != aws_value) {
                    bail!(
                        "limits: {name} is {aws_value} on AWS, which does not let an account change it; \
                         --aws-limits strict cannot run with {value}"
                    );
                }
            }
        }
        let limits = Limits {
            max_message_bytes: l.max_message_bytes.or(f.max_message_bytes).unwrap_or(128 * 1024),
            max_frame_bytes: l.max_frame_bytes.or(f.max_frame_bytes).unwrap_or(32 * 1024),
            idle_timeout: secs("idle_timeout_secs", l.idle_timeout_secs.or(f.idle_timeout_secs).unwrap_or(600))?,
            max_connection: secs(
                "max_connection_secs",
                l.max_connection_secs.or(f.max_connection_secs).unwrap_or(7200),
            )?,
            new_connections_per_second: l.new_connections_per_second.or(f.new_connections_per_second).unwrap_or(500),
            management_requests_per_second: l
                .management_requests_per_second
                .or(f.management_requests_per_second)
                .unwrap_or(if strict { AWS_ACCOUNT_THROTTLE } else { 0 }),
            outbox_bytes: l.outbox_bytes.or(f.outbox_bytes).unwrap_or(1 << 20),
            write_timeout: secs("write_timeout_secs", l.write_timeout_secs.or(f.write_timeout_secs).unwrap_or(30))?,
            max_in_flight: l.max_in_flight.or(f.max_in_flight).unwrap_or(16),
            max_integrations_in_flight: l
                .max_integrations_in_flight
                .or(f.max_integrations_in_flight)
                .unwrap_or(DEFAULT_MAX_INTEGRATIONS_IN_FLIGHT),
            shutdown_grace: secs("shutdown_grace_secs", l.shutdown_grace_secs.or(f.shutdown_grace_secs).unwrap_or(10))?,
            header_timeout: millis("header_timeout_ms", l.header_timeout_ms.or(f.header_timeout_ms).unwrap_or(10_000))?,
            console_stall: secs("console_stall_secs", l.console_stall_secs.or(f.console_stall_secs).unwrap_or(60))?,
            max_header_bytes: l.max_header_bytes.or(f.max_header_bytes).unwrap_or(16 * 1024),
            max_pending_connections: l.max_pending_connections.or(f.max_pending_connections).unwrap_or(4096),
            max_pending_connections_per_address: l
                .max_pending_connections_per_address
                .or(f.max_pending_connections_per_address)
                .unwrap_or(512),
            http2_max_streams: l.http2_max_streams.or(f.http2_max_streams).unwrap_or(100),
            max_connections: l.max_connections.or(f.max_connections).unwrap_or(100_000),
            max_connections_per_address: l
                .max_connections_per_address
                .or(f.max_connections_per_address)
                .unwrap_or(10_000),
            max_unauthenticated_requests: l
                .max_unauthenticated_requests
                .or(f.max_unauthenticated_requests)
                .unwrap_or(1024),
            max_unauthenticated_requests_per_address: l
                .max_unauthenticated_requests_per_address
                .or(f.max_unauthenticated_requests_per_address)
                .unwrap_or(256),
            new_connections_per_second_per_address: l
                .new_connections_per_second_per_address
                .or(f.new_connections_per_second_per_address)
                .unwrap_or(100),
            aws,
        };
        limits.check()?;
        Ok(limits)
    }

    /// The burst of the `@connections` throttle: half its rate, as AWS's 5,000 of 10,000.
    pub fn management_burst(&self) -> u32 {
        (self.management_requests_per_second / 2).max(1)
    }

    fn check(&self) -> anyhow::Result<()> {
        if self.max_frame_bytes == 0 || self.max_message_bytes < self.max_frame_bytes {
            bail!("limits: max_frame_bytes must be positive and at most max_message_bytes");
        }
        if self.idle_timeout.is_zero() || self.max_connection.is_zero() || self.write_timeout.is_zero() {
            bail!("limits: timeouts must be positive");
        }
        if self.console_stall.is_zero() {
            bail!("limits: console_stall_secs must be positive");
        }
        if self.header_timeout.is_zero() {
            bail!("limits: header_timeout_ms must be positive");
        }
        if self.max_header_bytes < MIN_HEADER_BYTES {
            bail!("limits: max_header_bytes must be at least {MIN_HEADER_BYTES}");
        }
        let counts = [
            self.max_pending_connections,
            self.max_pending_connections_per_address,
            self.max_connections,
            self.max_connections_per_address,
            self.max_unauthenticated_requests,
            self.max_unauthenticated_requests_per_address,
            self.max_integrations_in_flight,
        ];
        if counts.contains(&0) || self.http2_max_streams == 0 {
            bail!("limits: connection bounds must be positive");
        }
        Ok(())
    }
}

/// The smallest `max_header_bytes`: hyper's read buffer never holds less.
pub const MIN_HEADER_BYTES: usize = 8192;
