//! The server's settings for the functions it hosts: concurrency, waits, idle time, code watching, logs, and what
//! environments are told about the server (its endpoint, region, credentials and certificate).

use std::path::PathBuf;
use std::time::Duration;

/// Environments per function when its definition reserves none.
pub const DEFAULT_CONCURRENCY: u32 = 10;
/// How long an environment stays warm without an invocation.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// How long an invocation past the concurrency limit waits for an environment before it is throttled.
pub const DEFAULT_QUEUE_TIMEOUT: Duration = Duration::from_secs(1);
/// Lambda's limit on an environment's init phase: from its start to its first `next`.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a watched function's code directory is checked for changes.
pub const WATCH_INTERVAL: Duration = Duration::from_millis(500);
/// Asynchronous invocations accepted and not yet run to their end, for the whole server.
pub const DEFAULT_EVENT_QUEUE: usize = 1000;
/// The size at which `{name}.log` is moved to `{name}.log.1` (the one older generation kept).
pub const DEFAULT_MAX_LOG_BYTES: u64 = 10 * 1024 * 1024;

/// Settings shared by every hosted function.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Environments per function unless its definition reserves a concurrency.
    pub concurrency: u32,
    pub idle_timeout: Duration,
    pub queue_timeout: Duration,
    pub init_timeout: Duration,
    /// Asynchronous invocations (`Event`) accepted and not yet ended; past it `Invoke` answers 429.
    pub event_queue: usize,
    /// Start new environments when a function's code changes (`--watch`).
    pub watch: bool,
    pub watch_interval: Duration,
    /// `{data_dir}/functions`: each function's log file.
    pub log_dir: PathBuf,
    pub max_log_bytes: u64,
    pub region: String,
    pub account_id: String,
    /// The server as environments reach it (`http://127.0.0.1:4510`): `AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI`.
    pub endpoint: String,
    /// Credentials the server accepts, given to environments as theirs.
    pub access_key_id: String,
    pub secret_access_key: String,
    /// The server's certificate file when TLS is on: `AWS_CA_BUNDLE`, `NODE_EXTRA_CA_CERTS`, `SSL_CERT_FILE`.
    pub ca_bundle: Option<PathBuf>,
}

impl Settings {
    /// Defaults for everything but where the server is and what it accepts.
    pub fn new(log_dir: PathBuf, region: &str, account_id: &str, endpoint: &str) -> Settings {
        Settings {
            concurrency: DEFAULT_CONCURRENCY,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            queue_timeout: DEFAULT_QUEUE_TIMEOUT,
            init_timeout: INIT_TIMEOUT,
            event_queue: DEFAULT_EVENT_QUEUE,
            watch: false,
            watch_interval: WATCH_INTERVAL,
            log_dir,
            max_log_bytes: DEFAULT_MAX_LOG_BYTES,
            region: region.to_owned(),
            account_id: account_id.to_owned(),
            endpoint: endpoint.to_owned(),
            // Signatures are not checked (`--insecure-no-auth`) unless the server sets its own pair.
            access_key_id: "SWITCHBOARDLOCALNOAUTH".to_owned(),
            secret_access_key: "unused".to_owned(),
            ca_bundle: None,
        }
    }
}
