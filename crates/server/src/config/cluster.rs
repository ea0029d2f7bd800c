//! Cluster settings: the bus URL (Redis), the shared store URL (PostgreSQL) with its pool size and deadline, the node
//! id, liveness and the deadline of forwarded calls.

use std::time::Duration;

use anyhow::bail;
use store::PostgresSettings;

/// Cluster flags. Without a bus URL and a store URL a node runs alone on its embedded defaults.
// The field docs are `--help` texts, written for a terminal: their brackets are not links.
#[allow(rustdoc::broken_intra_doc_links)]
#[derive(Debug, Default, clap::Args)]
pub struct ClusterArgs {
    /// Cluster: the message bus shared by every node, redis://[:password@]host:port[/db] or redis+unix:///path
    /// [default: in-process].
    #[arg(long, env = "SWITCHBOARD_BUS_URL", value_name = "URL", hide_env_values = true)]
    pub bus_url: Option<String>,
    /// Cluster: the store shared by every node, postgres://user[:password]@host[:port]/database [default: SQLite
    /// in the data directory].
    #[arg(long, env = "SWITCHBOARD_STORE_URL", value_name = "URL", hide_env_values = true)]
    pub store_url: Option<String>,
    /// Cluster: this node's id (0-65535), embedded in its connection ids [default: allocated through the bus, 0 alone].
    #[arg(long, env = "SWITCHBOARD_NODE_ID", value_name = "N")]
    pub node_id: Option<u16>,
    /// Cluster: prefix of Redis keys and channels, and PostgreSQL schema; [a-z0-9_] [default: switchboard].
    #[arg(long, env = "SWITCHBOARD_CLUSTER_NAMESPACE", value_name = "NAME")]
    pub cluster_namespace: Option<String>,
    /// Cluster: milliseconds without a heartbeat before a node counts as dead [default: 5000].
    #[arg(long, env = "SWITCHBOARD_NODE_TTL_MS", value_name = "MS")]
    pub node_ttl_ms: Option<u64>,
    /// Cluster: connections this node keeps open to PostgreSQL [default: 16].
    #[arg(long, env = "SWITCHBOARD_STORE_POOL_SIZE", value_name = "N")]
    pub store_pool_size: Option<usize>,
    /// Cluster: milliseconds a PostgreSQL call may take, waiting for a connection and locks included, before the
    /// control plane answers a retryable 500 [default: 5000].
    #[arg(long, env = "SWITCHBOARD_STORE_DEADLINE_MS", value_name = "MS")]
    pub store_deadline_ms: Option<u64>,
    /// Cluster: milliseconds a management call forwarded to the node holding the connection waits for its answer
    /// before a retryable 500 [default: 3000].
    #[arg(long, env = "SWITCHBOARD_FORWARD_TIMEOUT_MS", value_name = "MS")]
    pub forward_timeout_ms: Option<u64>,
    /// Cluster: the secret (at least 16 characters, the same on every node) that authenticates bus messages and
    /// registry records, so that a client reaching Redis cannot inject them [default: generated once and kept in
    /// the shared store; none without one].
    #[arg(long, env = "SWITCHBOARD_CLUSTER_KEY", value_name = "SECRET", hide_env_values = true)]
    pub cluster_key: Option<String>,
    /// Cluster: for a rediss:// bus URL, a PEM file of the certificates that may sign Redis's [default: the
    /// system's roots].
    #[arg(long, env = "SWITCHBOARD_BUS_CA_FILE", value_name = "PATH")]
    pub bus_ca_file: Option<std::path::PathBuf>,
    /// Cluster: for a store URL with sslmode=require, a PEM file of the certificates that may sign PostgreSQL's
    /// [default: the system's roots].
    #[arg(long, env = "SWITCHBOARD_STORE_CA_FILE", value_name = "PATH")]
    pub store_ca_file: Option<std::path::PathBuf>,
}

/// The cluster keys of the config file (top level).
#[derive(Debug, Default)]
pub struct ClusterFile {
    pub bus_url: Option<String>,
    pub store_url: Option<String>,
    pub node_id: Option<u16>,
    pub cluster_namespace: Option<String>,
    pub node_ttl_ms: Option<u64>,
    pub store_pool_size: Option<usize>,
    pub store_deadline_ms: Option<u64>,
    pub forward_timeout_ms: Option<u64>,
    pub cluster_key: Option<String>,
    pub bus_ca_file: Option<std::path::PathBuf>,
    pub store_ca_file: Option<std::path::PathBuf>,
}

/// Effective cluster settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterConfig {
    pub bus_url: Option<String>,
    pub store_url: Option<String>,
    pub node_id: Option<u16>,
    pub namespace: String,
    pub node_ttl: Duration,
    /// How the PostgreSQL store (when there is one) uses the database: pool size and deadline.
    pub store: PostgresSettings,
    /// How long a management call forwarded to another node waits for its answer.
    pub forward_timeout: Duration,
    /// The configured secret of the cluster bus (else the store's, see `Server::start`).
    pub cluster_key: Option<String>,
    /// The roots a `rediss://` bus's certificate must chain to, when not the system's.
    pub bus_ca_file: Option<std::path::PathBuf>,
    /// The roots the store's certificate must chain to (`sslmode=require`), when not the system's.
    pub store_ca_file: Option<std::path::PathBuf>,
}

impl ClusterConfig {
    pub fn merge(args: ClusterArgs, file: ClusterFile) -> anyhow::Result<ClusterConfig> {
        let namespace = args.cluster_namespace.or(file.cluster_namespace).unwrap_or_else(|| "switchboard".to_owned());
        if namespace.is_empty() || !namespace.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            bail!("cluster namespace must be [a-z0-9_]+, got `{namespace}`");
        }
        let store_url = args.store_url.or(file.store_url).filter(|u| !u.is_empty());
        if let Some(url) = &store_url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            bail!("store URL must start with postgres:// or postgresql://");
        }
        let bus_url = args.bus_url.or(file.bus_url).filter(|u| !u.is_empty());
        if let Some(url) = &bus_url
            && !["redis://", "rediss://", "redis+unix://", "memory://"].iter().any(|scheme| url.starts_with(scheme))
        {
            bail!("bus URL must start with redis:// (or redis+unix://, or memory:// for nodes in one process)");
        }
        if store_url.is_some() && bus_url.is_none() {
            // Nodes sharing a store but no bus would each be node 0: they would answer 410 for each other's
            // connections (which backends read as "forget this member") and deliver nothing across nodes.
            bail!(
                "a shared store (--store-url) needs a shared bus (--bus-url redis://…): without one, nodes sharing \
                 the store could not reach each other's connections"
            );
        }
        let ttl_ms = args.node_ttl_ms.or(file.node_ttl_ms).unwrap_or(5000);
        if ttl_ms < 300 {
            bail!("node TTL must be at least 300 ms, got {ttl_ms}");
        }
        let node_ttl = super::millis("node_ttl_ms", ttl_ms)?;
        let store = PostgresSettings {
            pool_size: args.store_pool_size.or(file.store_pool_size).unwrap_or(PostgresSettings::DEFAULT_POOL_SIZE),
            deadline: positive_millis(
                "store_deadline_ms",
                args.store_deadline_ms.or(file.store_deadline_ms),
                PostgresSettings::DEFAULT_DEADLINE,
            )?,
        };
        if store.pool_size == 0 {
            bail!("store_pool_size must be at least 1");
        }
        let forward_timeout = positive_millis(
            "forward_timeout_ms",
            args.forward_timeout_ms.or(file.forward_timeout_ms),
            DEFAULT_FORWARD_TIMEOUT,
        )?;
        let cluster_key = args.cluster_key.or(file.cluster_key).filter(|k| !k.is_empty());
        if cluster_key.as_ref().is_some_and(|key| key.len() < 16) {
            bail!("cluster_key must be at least 16 characters");
        }
        Ok(ClusterConfig {
            cluster_key,
            bus_ca_file: args.bus_ca_file.or(file.bus_ca_file),
            store_ca_file: args.store_ca_file.or(file.store_ca_file),
            bus_url,
            store_url,
            node_id: args.node_id.or(file.node_id),
            namespace,
            node_ttl,
            store,
            forward_timeout,
        })
    }
}

/// How long a forwarded management call waits for its answer unless configured.
const DEFAULT_FORWARD_TIMEOUT: Duration = Duration::from_secs(3);

/// The setting `name` in milliseconds, `default` when unset; positive and at most a year.
fn positive_millis(name: &str, ms: Option<u64>, default: Duration) -> anyhow::Result<Duration> {
    let duration = match ms {
        Some(ms) => super::millis(name, ms)?,
        None => default,
    };
    if duration.is_zero() {
        bail!("{name} must be positive");
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_flags_over_file_and_validation() {
        let alone = ClusterConfig::merge(ClusterArgs::default(), ClusterFile::default()).unwrap();
        assert_eq!((alone.bus_url, alone.store_url, alone.node_id), (None, None, None));
        assert_eq!((alone.namespace.as_str(), alone.node_ttl), ("switchboard", Duration::from_secs(5)));

        let file = ClusterFile {
            bus_url: Some("redis://file:6379/".into()),
            store_url: Some("postgres://file/db".into()),
            node_id: Some(7),
            ..ClusterFile::default()
        };
        let args = ClusterArgs { bus_url: Some("redis://flag:6379/".into()), ..ClusterArgs::default() };
        let merged = ClusterConfig::merge(args, file).unwrap();
        assert_eq!(merged.bus_url.as_deref(), Some("redis://flag:6379/"));
        assert_eq!(merged.store_url.as_deref(), Some("postgres://file/db"));
        assert_eq!(merged.node_id, Some(7));
        let socket = ClusterArgs { bus_url: Some("redis+unix:///run/redis.sock".into()), ..ClusterArgs::default() };
        assert!(ClusterConfig::merge(socket, ClusterFile::default()).is_ok(), "a Redis Unix socket is a bus");
        assert_eq!(merged.cluster_key, None, "generated and kept in the store unless configured");
        let file = ClusterFile { cluster_key: Some("file-secret-0123456789".into()), ..ClusterFile::default() };
        let keyed = ClusterConfig::merge(ClusterArgs::default(), file).unwrap();
        assert_eq!(keyed.cluster_key.as_deref(), Some("file-secret-0123456789"));

        for bad in [
            ClusterArgs { bus_url: Some("nats://x".into()), ..ClusterArgs::default() },
            ClusterArgs { store_url: Some("mysql://x".into()), ..ClusterArgs::default() },
            ClusterArgs { cluster_namespace: Some("Bad-Name".into()), ..ClusterArgs::default() },
            ClusterArgs { node_ttl_ms: Some(10), ..ClusterArgs::default() },
            ClusterArgs { store_pool_size: Some(0), ..ClusterArgs::default() },
            ClusterArgs { store_deadline_ms: Some(0), ..ClusterArgs::default() },
            ClusterArgs { forward_timeout_ms: Some(0), ..ClusterArgs::default() },
            ClusterArgs { cluster_key: Some("too short".into()), ..ClusterArgs::default() },
        ] {
            assert!(ClusterConfig::merge(bad, ClusterFile::default()).is_err());
        }
    }

    #[test]
    fn store_and_forward_settings_flags_over_file_over_defaults() {
        let defaults = ClusterConfig::merge(ClusterArgs::default(), ClusterFile::default()).unwrap();
        assert_eq!(defaults.store, PostgresSettings { pool_size: 16, deadline: Duration::from_secs(5) });
        assert_eq!(defaults.forward_timeout, Duration::from_secs(3));

        let file = || ClusterFile {
            store_pool_size: Some(4),
            store_deadline_ms: Some(1500),
            forward_timeout_ms: Some(700),
            ..ClusterFile::default()
        };
        let from_file = ClusterConfig::merge(ClusterArgs::default(), file()).unwrap();
        assert_eq!(from_file.store, PostgresSettings { pool_size: 4, deadline: Duration::from_millis(1500) });
        assert_eq!(from_file.forward_timeout, Duration::from_millis(700));

        let flags = <Flags as clap::Parser>::try_parse_from([
            "serve",
            "--store-pool-size",
            "32",
            "--store-deadline-ms",
            "250",
            "--forward-timeout-ms",
            "9000",
        ])
        .unwrap();
        let merged = ClusterConfig::merge(flags.cluster, file()).unwrap();
        assert_eq!(merged.store, PostgresSettings { pool_size: 32, deadline: Duration::from_millis(250) });
        assert_eq!(merged.forward_timeout, Duration::from_secs(9));

        for (args, message) in [
            (
                ClusterArgs { store_deadline_ms: Some(u64::MAX), ..ClusterArgs::default() },
                "store_deadline_ms must be at most",
            ),
            (
                ClusterArgs { forward_timeout_ms: Some(u64::MAX), ..ClusterArgs::default() },
                "forward_timeout_ms must be at most",
            ),
            (
                ClusterArgs { store_deadline_ms: Some(0), ..ClusterArgs::default() },
                "store_deadline_ms must be positive",
            ),
            (ClusterArgs { store_pool_size: Some(0), ..ClusterArgs::default() }, "store_pool_size must be at least 1"),
        ] {
            let err = ClusterConfig::merge(args, ClusterFile::default()).unwrap_err().to_string();
            assert!(err.starts_with(message), "{err}");
        }
    }

    /// The cluster flags as `serve` parses them.
    #[derive(clap::Parser)]
    struct Flags {
        #[command(flatten)]
        cluster: ClusterArgs,
    }
}
