//! The server's settings for the functions it hosts: concurrency, waits, idle time, code watching, logs, the
//! interpreters and runtime clients of the Python and Node runtimes, and what environments are told about the server
//! (its endpoint, region, credentials and certificate).

use std::collections::BTreeMap;
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

/// The interpreter of `python3.x` functions unless configured: `python3` on the server's `PATH`.
pub const DEFAULT_PYTHON: &str = "python3";
/// The interpreter of `nodejsNN.x` functions unless configured: `node` on the server's `PATH`.
pub const DEFAULT_NODE: &str = "node";

/// The reserved variables the server's own `--function-env` may set (a function's definition may not): the
/// credentials functions sign with, for functions that must reach real AWS services.
pub const OVERRIDABLE_CREDENTIALS: &[&str] = &["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"];

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
    /// `{data_dir}/runtimes`: where Switchboard writes its own runtime clients (`LAMBDA_RUNTIME_DIR` of the Python
    /// and Node runtimes).
    pub runtimes_dir: PathBuf,
    /// The program that runs `python3.x` functions (a name looked up on `PATH`, or a path).
    pub python: PathBuf,
    /// The program that runs `nodejsNN.x` functions.
    pub node: PathBuf,
    /// Variables every hosted function gets over its own environment (`--function-env`): endpoints of local
    /// services (`AWS_ENDPOINT_URL_DYNAMODB`), or the credentials in [`OVERRIDABLE_CREDENTIALS`].
    pub environment: BTreeMap<String, String>,
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
    /// Defaults for everything but where the server is and what it accepts; the runtime clients go beside
    /// `log_dir` (`{data_dir}/functions` → `{data_dir}/runtimes`).
    pub fn new(log_dir: PathBuf, region: &str, account_id: &str, endpoint: &str) -> Settings {
        let runtimes_dir = log_dir.parent().map_or_else(|| log_dir.join("runtimes"), |data| data.join("runtimes"));
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
            runtimes_dir,
            python: PathBuf::from(DEFAULT_PYTHON),
            node: PathBuf::from(DEFAULT_NODE),
            environment: BTreeMap::new(),
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
