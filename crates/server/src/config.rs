//! Server configuration: command-line flags, `SWITCHBOARD_*` environment variables and a TOML file, merged in that
//! order of precedence over documented defaults.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use apigw::api_keys::ApiKey;
use apigw::{Api, Integration, IntegrationType, Route, RouteResponse, Stage};
use serde::Deserialize;

pub use self::chat::{ChatArgs, ChatFile, ChatS3File, ChatSettings};
pub use self::cluster::{ClusterArgs, ClusterConfig, ClusterFile};
pub use self::functions::{FunctionArgs, FunctionFile, FunctionsConfig, FunctionsFile};
pub use self::limits::{AwsLimits, FileLimits, LimitArgs, Limits, MIN_HEADER_BYTES};
pub use self::remote::{LambdaFile, RemoteArgs, RemoteFunctionFile};
pub use self::template::{TemplateArgs, TemplateFile, TemplateSettings};

/// The default listen address: loopback, port 4510.
pub use local::{DEFAULT_LISTEN, KeyPair, default_data_dir};
pub const DEFAULT_REGION: &str = "us-east-1";
pub const DEFAULT_ACCOUNT_ID: &str = "000000000000";
pub const DEFAULT_API_ID: &str = "switchboard";
pub const DEFAULT_STAGE: &str = "prod";
/// The name of the default API (the one `--route` shapes), as GetApis lists it.
pub const DEFAULT_API_NAME: &str = "default";

/// `switchboard serve` flags. Every flag can also be set by its `SWITCHBOARD_*` variable and in the config file.
#[derive(Debug, Default, clap::Args)]
pub struct ServeArgs {
    /// TOML configuration file.
    #[arg(long, env = "SWITCHBOARD_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:4510].
    #[arg(long, env = "SWITCHBOARD_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Address of the admin listener, which serves /@switchboard/health in full and /@switchboard/metrics
    /// [default: 127.0.0.1 at the --listen port + 1, an ephemeral port when that one is].
    #[arg(long, env = "SWITCHBOARD_ADMIN_LISTEN", value_name = "ADDR")]
    pub admin_listen: Option<SocketAddr>,
    /// Directory for credentials and data [default: $XDG_DATA_HOME/switchboard or ~/.local/share/switchboard].
    #[arg(long, env = "SWITCHBOARD_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Region used in ARNs and accepted in signatures [default: us-east-1].
    #[arg(long, env = "SWITCHBOARD_REGION")]
    pub region: Option<String>,
    /// Account id used in ARNs [default: 000000000000].
    #[arg(long, env = "SWITCHBOARD_ACCOUNT_ID")]
    pub account_id: Option<String>,
    /// Api id of the default WebSocket API [default: switchboard].
    #[arg(long, env = "SWITCHBOARD_API_ID")]
    pub api_id: Option<String>,
    /// Stage of the default WebSocket API [default: prod].
    #[arg(long, env = "SWITCHBOARD_STAGE", value_name = "NAME")]
    pub stage: Option<String>,
    /// Route of the default API served by a Lambda-style function over HTTP (AWS_PROXY), e.g.
    /// '$connect=http://127.0.0.1:3000/ws'. Repeatable.
    #[arg(long = "route", env = "SWITCHBOARD_ROUTES", value_name = "KEY=URL", value_delimiter = ' ')]
    pub routes: Vec<String>,
    /// Makes a route of the default API two-way: the integration's body is sent back to the client. Repeatable.
    #[arg(long = "route-response", env = "SWITCHBOARD_ROUTE_RESPONSES", value_name = "KEY", value_delimiter = ' ')]
    pub route_responses: Vec<String>,
    /// Route selection expression of the default API [default: $request.body.action].
    #[arg(long, env = "SWITCHBOARD_ROUTE_SELECTION_EXPRESSION", value_name = "EXPR")]
    pub route_selection_expression: Option<String>,
    /// An API key that routes with ApiKeyRequired accept, for every API (`[[api_keys]]` in the file can name APIs).
    /// Repeatable.
    #[arg(
        long = "api-key",
        env = "SWITCHBOARD_API_KEYS",
        value_name = "KEY",
        value_delimiter = ' ',
        hide_env_values = true
    )]
    pub api_keys: Vec<String>,
    /// Access key id accepted in signatures (with --secret-access-key).
    #[arg(long, env = "SWITCHBOARD_ACCESS_KEY_ID", hide_env_values = true)]
    pub access_key_id: Option<String>,
    /// Secret access key accepted in signatures (with --access-key-id).
    #[arg(long, env = "SWITCHBOARD_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub secret_access_key: Option<String>,
    /// DEVELOPMENT ONLY: accept requests without a valid SigV4 signature.
    #[arg(long, env = "SWITCHBOARD_INSECURE_NO_AUTH")]
    pub insecure_no_auth: bool,
    /// PEM certificate chain; with --tls-key, serves wss:// and https://.
    #[arg(long, env = "SWITCHBOARD_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, env = "SWITCHBOARD_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Log format: text or json [default: text].
    #[arg(long, env = "SWITCHBOARD_LOG_FORMAT", value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
    /// The web console on the admin listener (/@switchboard/console) and the traffic capture behind it and
    /// `switchboard tail`: on or off [default: on]. Off a loopback admin address it asks for a key pair to sign in.
    #[arg(long, env = "SWITCHBOARD_CONSOLE", value_name = "on|off")]
    pub console: Option<Switch>,
    /// `strict` makes every limit and quota AWS enforces act as AWS's defaults do (README, "Limits") [default:
    /// default].
    #[arg(long, env = "SWITCHBOARD_AWS_LIMITS", value_name = "MODE")]
    pub aws_limits: Option<AwsLimits>,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub ivschat: IvsChatArgs,
    #[command(flatten)]
    pub chat: ChatArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub template: TemplateArgs,
    #[command(flatten)]
    pub functions: FunctionArgs,
    /// Watch the template (apply it again when it changes, as a new deployment does) and hosted functions' code
    /// (new invocations run changed code) without a restart.
    #[arg(long, env = "SWITCHBOARD_WATCH")]
    pub watch: bool,
}

/// IVS Chat control-plane settings.
#[derive(Debug, Default, clap::Args)]
pub struct IvsChatArgs {
    /// IVS Chat: rooms per account before ServiceQuotaExceededException [default: 50000].
    #[arg(long, env = "SWITCHBOARD_IVSCHAT_MAX_ROOMS", value_name = "N")]
    pub ivschat_max_rooms: Option<u64>,
    /// IVS Chat: logging configurations per account [default: 10].
    #[arg(long, env = "SWITCHBOARD_IVSCHAT_MAX_LOGGING_CONFIGURATIONS", value_name = "N")]
    pub ivschat_max_logging_configurations: Option<u64>,
    /// IVS Chat: enforce AWS's per-operation request rates (ThrottlingException past them); off by default.
    #[arg(long, env = "SWITCHBOARD_IVSCHAT_STRICT_RATE_LIMITS")]
    pub ivschat_strict_rate_limits: bool,
}

/// The `[ivschat]` table of the config file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IvsChatFile {
    pub max_rooms: Option<u64>,
    pub max_logging_configurations: Option<u64>,
    #[serde(default)]
    pub strict_rate_limits: bool,
    /// Requests per second by operation name (`SendEvent = 50`), over strict mode's values.
    #[serde(default)]
    pub rate_limits: std::collections::BTreeMap<String, u32>,
}

/// Effective IVS Chat control-plane settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IvsChatSettings {
    pub max_rooms: u64,
    pub max_logging_configurations: u64,
    pub strict_rate_limits: bool,
    pub rate_limits: std::collections::BTreeMap<String, u32>,
}

/// A feature switched on or off.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Switch {
    #[default]
    On,
    Off,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// The config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub admin_listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub region: Option<String>,
    pub account_id: Option<String>,
    pub api_id: Option<String>,
    pub stage: Option<String>,
    /// Routes of the default API: route key → function URL.
    #[serde(default)]
    pub routes: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub route_responses: Vec<String>,
    pub route_selection_expression: Option<String>,
    #[serde(default)]
    pub insecure_no_auth: bool,
    pub log_format: Option<LogFormat>,
    pub console: Option<Switch>,
    #[serde(default)]
    pub credentials: Vec<KeyPair>,
    pub tls: Option<TlsFiles>,
    /// `"strict"`: AWS's limits and quotas, as `--aws-limits strict`.
    pub aws_limits: Option<AwsLimits>,
    #[serde(default)]
    pub limits: FileLimits,
    #[serde(default)]
    pub ivschat: IvsChatFile,
    /// IVS Chat messaging.
    #[serde(default)]
    pub chat: ChatFile,
    /// Further WebSocket APIs.
    #[serde(default)]
    pub apis: Vec<Api>,
    /// API keys of routes with `api_key_required`: `value`, optional `name` and `apis`.
    #[serde(default)]
    pub api_keys: Vec<ApiKey>,
    /// Cluster: the Redis bus and the PostgreSQL store shared by every node, this node's id and liveness.
    pub bus_url: Option<String>,
    pub store_url: Option<String>,
    pub node_id: Option<u16>,
    pub cluster_namespace: Option<String>,
    pub node_ttl_ms: Option<u64>,
    pub store_pool_size: Option<usize>,
    pub store_deadline_ms: Option<u64>,
    pub forward_timeout_ms: Option<u64>,
    pub cluster_key: Option<String>,
    pub bus_ca_file: Option<PathBuf>,
    pub store_ca_file: Option<PathBuf>,
    /// A SAM or CloudFormation template to run.
    #[serde(default)]
    pub template: TemplateFile,
    /// Hosted Lambda functions and how they run.
    #[serde(default)]
    pub functions: Vec<FunctionFile>,
    pub function_concurrency: Option<u32>,
    pub function_idle_timeout_ms: Option<u64>,
    pub function_queue_timeout_ms: Option<u64>,
    /// The interpreters of python3.x and nodejsNN.x functions; a path with a `/` is relative to this file.
    pub function_python: Option<PathBuf>,
    pub function_node: Option<PathBuf>,
    /// Variables every hosted function gets over its own environment.
    #[serde(default)]
    pub function_environment: BTreeMap<String, String>,
    /// Remote functions: `[lambda]` and `[[remote_functions]]`.
    #[serde(default)]
    pub lambda: LambdaFile,
    #[serde(default)]
    pub remote_functions: Vec<RemoteFunctionFile>,
    /// Apply the template again when it changes, and run hosted functions' changed code, without a restart.
    #[serde(default)]
    pub watch: bool,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The effective configuration of a server.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    /// The admin listener: full health and metrics.
    pub admin_listen: SocketAddr,
    pub data_dir: PathBuf,
    pub region: String,
    pub account_id: String,
    pub apis: Vec<Api>,
    /// The API keys routes with `ApiKeyRequired` accept: the file's, then `--api-key`'s.
    pub api_keys: Vec<ApiKey>,
    /// Key pairs from flags, environment or file; when empty the server uses (or generates) the data directory's.
    pub credentials: Vec<KeyPair>,
    pub insecure_no_auth: bool,
    pub tls: Option<TlsFiles>,
    pub log_format: LogFormat,
    /// The console and its traffic capture.
    pub console: Switch,
    pub limits: Limits,
    pub ivschat: IvsChatSettings,
    pub chat: ChatSettings,
    pub cluster: ClusterConfig,
    /// The template to run, if any.
    pub template: Option<TemplateSettings>,
    /// Whether the template is applied again when it changes, and hosted functions' code is watched.
    pub watch: bool,
    /// The functions this server hosts; a template's are added when it is applied at start (`Server::start`).
    pub functions: FunctionsConfig,
}

impl Config {
    /// Merges flags (which clap already merged with the environment) over the config file over the defaults.
    pub fn load(args: ServeArgs) -> anyhow::Result<Config> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        Config::merge(args, file)
    }

    pub fn merge(args: ServeArgs, file: FileConfig) -> anyhow::Result<Config> {
        let region = args.region.or(file.region).unwrap_or_else(|| DEFAULT_REGION.to_owned());
        let account_id = args.account_id.or(file.account_id).unwrap_or_else(|| DEFAULT_ACCOUNT_ID.to_owned());
        if account_id.len() != 12 || !account_id.bytes().all(|b| b.is_ascii_digit()) {
            bail!("account id must be 12 digits, got `{account_id}`");
        }
        let mut credentials = file.credentials;
        match (args.access_key_id, args.secret_access_key) {
            (Some(access_key_id), Some(secret_access_key)) => {
                credentials.insert(0, KeyPair { access_key_id, secret_access_key })
            }
            (None, None) => {}
            _ => bail!("--access-key-id and --secret-access-key must be given together"),
        }
        let tls = match (args.tls_cert, args.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => file.tls,
            _ => bail!("--tls-cert and --tls-key must be given together"),
        };

        let watch = args.watch || file.watch;
        let template = TemplateSettings::merge(args.template, file.template)?;
        let flags_shape_default_api = args.stage.is_some() || !args.routes.is_empty();
        let mut apis = file.apis;
        // A template brings its own APIs; the default one exists only when flags or the file shape it.
        if (apis.is_empty() && template.is_none())
            || flags_shape_default_api
            || !file.routes.is_empty()
            || file.stage.is_some()
        {
            let mut routes: Vec<(String, String)> = file.routes.into_iter().collect();
            for spec in &args.routes {
                let (key, url) =
                    spec.split_once('=').with_context(|| format!("--route `{spec}` must look like KEY=URL"))?;
                routes.retain(|(k, _)| k != key);
                routes.push((key.to_owned(), url.to_owned()));
            }
            let mut route_responses = file.route_responses;
            route_responses.extend(args.route_responses);
            let default_api = default_api(
                args.api_id.or(file.api_id).unwrap_or_else(|| DEFAULT_API_ID.to_owned()),
                args.stage.or(file.stage).unwrap_or_else(|| DEFAULT_STAGE.to_owned()),
                args.route_selection_expression
                    .or(file.route_selection_expression)
                    .unwrap_or_else(apigw::model::default_selection_expression),
                &routes,
                &route_responses,
            )?;
            apis.insert(0, default_api);
        }

        let api_keys = api_keys(file.api_keys, args.api_keys)?;
        let limits = Limits::merge(args.limits, file.limits, args.aws_limits.or(file.aws_limits).unwrap_or_default())?;

        let chat = args.ivschat;
        let ivschat = IvsChatSettings {
            max_rooms: chat.ivschat_max_rooms.or(file.ivschat.max_rooms).unwrap_or(50_000),
            max_logging_configurations: chat
                .ivschat_max_logging_configurations
                .or(file.ivschat.max_logging_configurations)
                .unwrap_or(10),
            strict_rate_limits: chat.ivschat_strict_rate_limits
                || file.ivschat.strict_rate_limits
                || limits.aws == AwsLimits::Strict,
            rate_limits: file.ivschat.rate_limits,
        };

        let functions = FunctionsConfig::merge(
            args.functions,
            FunctionsFile {
                functions: file.functions,
                function_concurrency: file.function_concurrency,
                function_idle_timeout_ms: file.function_idle_timeout_ms,
                function_queue_timeout_ms: file.function_queue_timeout_ms,
                function_python: file.function_python,
                function_node: file.function_node,
                function_environment: file.function_environment,
                watch,
                lambda: file.lambda,
                remote_functions: file.remote_functions,
                region: region.clone(),
            },
        )?;
        let listen = args.listen.or(file.listen).unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("valid default"));
        Ok(Config {
            functions,
            listen,
            admin_listen: args.admin_listen.or(file.admin_listen).unwrap_or_else(|| default_admin_listen(listen)),
            data_dir: args.data_dir.or(file.data_dir).unwrap_or_else(default_data_dir),
            region,
            account_id,
            apis,
            api_keys,
            credentials,
            insecure_no_auth: args.insecure_no_auth || file.insecure_no_auth,
            tls,
            log_format: args.log_format.or(file.log_format).unwrap_or_default(),
            console: args.console.or(file.console).unwrap_or_default(),
            limits,
            ivschat,
            chat: ChatSettings::merge(args.chat, file.chat)?,
            cluster: ClusterConfig::merge(
                args.cluster,
                ClusterFile {
                    bus_url: file.bus_url,
                    store_url: file.store_url,
                    node_id: file.node_id,
                    cluster_namespace: file.cluster_namespace,
                    node_ttl_ms: file.node_ttl_ms,
                    store_pool_size: file.store_pool_size,
                    store_deadline_ms: file.store_deadline_ms,
                    forward_timeout_ms: file.forward_timeout_ms,
                    cluster_key: file.cluster_key,
                    bus_ca_file: file.bus_ca_file,
                    store_ca_file: file.store_ca_file,
                },
            )?,
            template,
            watch,
        })
    }
}

/// The admin listener's default: loopback, at the public listener's port + 1, or an ephemeral port when the public
/// one is ephemeral (or the last port).
pub fn default_admin_listen(listen: SocketAddr) -> SocketAddr {
    let port = match listen.port() {
        0 | u16::MAX => 0,
        port => port + 1,
    };
    SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, port))
}

/// The longest duration any setting may have: a year. Longer ones mean "never" to a person, and would overflow the
/// clock arithmetic (`Instant + Duration`) of the code that applies them.
pub const MAX_DURATION: Duration = Duration::from_secs(366 * 24 * 3600);

/// A setting in seconds, at most [`MAX_DURATION`].
fn secs(name: &str, n: u64) -> anyhow::Result<Duration> {
    at_most_a_year(name, Duration::from_secs(n))
}

/// A setting in milliseconds, at most [`MAX_DURATION`].
fn millis(name: &str, n: u64) -> anyhow::Result<Duration> {
    at_most_a_year(name, Duration::from_millis(n))
}

fn at_most_a_year(name: &str, duration: Duration) -> anyhow::Result<Duration> {
    if duration > MAX_DURATION {
        bail!("{name} must be at most {} seconds (a year), got {} seconds", MAX_DURATION.as_secs(), duration.as_secs());
    }
    Ok(duration)
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read config file {}", path.display()))?;
    let mut file: FileConfig =
        toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))?;
    // A function's code directory is relative to the config file.
    let dir = path.parent().unwrap_or(Path::new("."));
    file.functions = file.functions.into_iter().map(|f| f.relative_to(dir)).collect();
    // So is an interpreter named by a relative path (`./venv/bin/python`); a bare name is looked up on PATH.
    let program = |p: PathBuf| if p.is_relative() && p.components().count() > 1 { dir.join(p) } else { p };
    file.function_python = file.function_python.map(program);
    file.function_node = file.function_node.map(program);
    Ok(file)
}

/// API Gateway's bounds on an API key's value.
const API_KEY_LENGTH: std::ops::RangeInclusive<usize> = 20..=128;

/// The file's API keys, then the flags' (for every API), each 20 to 128 characters as API Gateway's.
fn api_keys(file: Vec<ApiKey>, flags: Vec<String>) -> anyhow::Result<Vec<ApiKey>> {
    let flags = flags.into_iter().map(|value| ApiKey { value, name: None, apis: Vec::new() });
    let keys: Vec<ApiKey> = file.into_iter().chain(flags).collect();
    for key in &keys {
        if !API_KEY_LENGTH.contains(&key.value.chars().count()) {
            let name = key.name.as_deref().map(|n| format!(" `{n}`")).unwrap_or_default();
            bail!("API key{name} must be 20 to 128 characters long, as API Gateway's are");
        }
    }
    Ok(keys)
}

/// The default API: one stage, AWS_PROXY routes from `--route KEY=URL`.
fn default_api(
    api_id: String,
    stage: String,
    route_selection_expression: String,
    routes: &[(String, String)],
    route_responses: &[String],
) -> anyhow::Result<Api> {
    let mut integrations: Vec<Integration> = Vec::new();
    let mut api_routes = Vec::new();
    for (key, url) in routes {
        let integration_id = match integrations.iter().find(|i| i.integration_uri.as_deref() == Some(url.as_str())) {
            Some(existing) => existing.integration_id.clone(),
            None => {
                let id = format!("fn{}", integrations.len() + 1);
                integrations.push(Integration::new(&id, IntegrationType::AwsProxy, Some(url.clone())));
                id
            }
        };
        let two_way = route_responses.iter().any(|r| r == key);
        api_routes.push(Route {
            route_key: key.clone(),
            target: Some(format!("integrations/{integration_id}")),
            route_response_selection_expression: two_way.then(|| "$default".to_owned()),
            authorization_type: None,
            authorizer_id: None,
            model_selection_expression: None,
            request_models: Default::default(),
            api_key_required: false,
        });
    }
    for key in route_responses {
        if !routes.iter().any(|(k, _)| k == key) {
            bail!("--route-response `{key}` names a route that has no --route");
        }
    }
    Ok(Api {
        api_id,
        name: Some(DEFAULT_API_NAME.to_owned()),
        route_selection_expression,
        api_key_selection_expression: None,
        stages: vec![Stage { stage_name: stage, ..Stage::default() }],
        routes: api_routes,
        integrations,
        route_responses: route_responses
            .iter()
            .map(|key| RouteResponse { route_key: key.clone(), route_response_key: "$default".to_owned() })
            .collect(),
        authorizers: Vec::new(),
        models: Vec::new(),
    })
}

mod chat;
mod cluster;
mod functions;
mod limits;
mod remote;
mod template;
#[cfg(test)]
mod tests;
