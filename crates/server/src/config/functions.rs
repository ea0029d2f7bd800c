//! Hosted Lambda functions: `[[functions]]` in the config file and `--function` flags (each a definition), and the
//! server's settings for running them (`--function-concurrency`, `--function-idle-timeout-ms`,
//! `--function-queue-timeout-ms`, the interpreters `--function-python` and `--function-node`, the variables of every
//! function `--function-env`; `--watch` is the server's).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use functions::settings::{
    DEFAULT_CONCURRENCY, DEFAULT_IDLE_TIMEOUT, DEFAULT_NODE, DEFAULT_PYTHON, DEFAULT_QUEUE_TIMEOUT,
    OVERRIDABLE_CREDENTIALS,
};
use functions::spec::{DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT};
use functions::{FunctionSpec, Runtime};
use serde::Deserialize;

use super::millis;
use super::remote::{LambdaFile, RemoteArgs, RemoteFunctionFile};

/// Hosted functions' flags.
#[derive(Debug, Default, clap::Args)]
pub struct FunctionArgs {
    /// A hosted Lambda function, as comma-separated `key=value` pairs: name, runtime, handler, code (its directory),
    /// and optionally timeout (seconds), memory (MB), reserved (concurrency) and env.NAME=VALUE; e.g.
    /// 'name=chat,runtime=provided.al2023,handler=bootstrap,code=./target/lambda/chat'. Repeatable.
    #[arg(long = "function", env = "SWITCHBOARD_FUNCTIONS", value_name = "SPEC", value_delimiter = ' ')]
    pub functions: Vec<String>,
    /// Execution environments per hosted function unless it reserves a concurrency [default: 10].
    #[arg(long, env = "SWITCHBOARD_FUNCTION_CONCURRENCY", value_name = "N")]
    pub function_concurrency: Option<u32>,
    /// Milliseconds an execution environment stays warm without an invocation [default: 300000].
    #[arg(long, env = "SWITCHBOARD_FUNCTION_IDLE_TIMEOUT_MS", value_name = "MS")]
    pub function_idle_timeout_ms: Option<u64>,
    /// Milliseconds an invocation past the concurrency limit waits before it is throttled [default: 1000].
    #[arg(long, env = "SWITCHBOARD_FUNCTION_QUEUE_TIMEOUT_MS", value_name = "MS")]
    pub function_queue_timeout_ms: Option<u64>,
    /// The program that runs python3.x functions: a name looked up on PATH or a path [default: python3].
    #[arg(long, env = "SWITCHBOARD_FUNCTION_PYTHON", value_name = "PROGRAM")]
    pub function_python: Option<PathBuf>,
    /// The program that runs nodejsNN.x functions: a name looked up on PATH or a path [default: node].
    #[arg(long, env = "SWITCHBOARD_FUNCTION_NODE", value_name = "PROGRAM")]
    pub function_node: Option<PathBuf>,
    /// A variable every hosted function gets over its own environment, as NAME=VALUE (e.g.
    /// AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000); Lambda's reserved variables are refused but for
    /// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN. Repeatable.
    #[arg(long = "function-env", env = "SWITCHBOARD_FUNCTION_ENV", value_name = "NAME=VALUE", value_delimiter = ' ')]
    pub function_env: Vec<String>,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// One `[[functions]]` entry of the config file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionFile {
    pub name: String,
    pub runtime: String,
    pub handler: String,
    /// The code directory; relative to the config file's directory.
    pub code: PathBuf,
    /// Seconds [default: 3].
    pub timeout: Option<u64>,
    /// MB [default: 128].
    pub memory_size: Option<u32>,
    pub reserved_concurrency: Option<u32>,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
}

/// The functions keys of the config file: `[[functions]]` and the top-level settings.
#[derive(Debug, Default)]
pub struct FunctionsFile {
    pub functions: Vec<FunctionFile>,
    pub function_concurrency: Option<u32>,
    pub function_idle_timeout_ms: Option<u64>,
    pub function_queue_timeout_ms: Option<u64>,
    /// Relative to the config file's directory when it names a path (`./venv/bin/python`), else looked up on PATH.
    pub function_python: Option<PathBuf>,
    pub function_node: Option<PathBuf>,
    /// `[function_environment]`.
    pub function_environment: BTreeMap<String, String>,
    /// The server's `--watch` / `watch`, which covers hosted functions' code.
    pub watch: bool,
    pub lambda: LambdaFile,
    pub remote_functions: Vec<RemoteFunctionFile>,
    /// The server's region, where functions named without an ARN are called.
    pub region: String,
}

/// The hosted functions and how they run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionsConfig {
    pub specs: Vec<FunctionSpec>,
    pub concurrency: u32,
    pub idle_timeout: Duration,
    pub queue_timeout: Duration,
    pub watch: bool,
    /// The interpreters of the Python and Node runtimes.
    pub python: PathBuf,
    pub node: PathBuf,
    /// Variables every function gets over its own (`--function-env`, `[function_environment]`).
    pub environment: BTreeMap<String, String>,
    /// Where functions that are not hosted are called.
    pub remote: functions::remote::RemoteSettings,
}

impl Default for FunctionsConfig {
    fn default() -> FunctionsConfig {
        FunctionsConfig {
            specs: Vec::new(),
            concurrency: DEFAULT_CONCURRENCY,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            queue_timeout: DEFAULT_QUEUE_TIMEOUT,
            watch: false,
            python: PathBuf::from(DEFAULT_PYTHON),
            node: PathBuf::from(DEFAULT_NODE),
            environment: BTreeMap::new(),
            remote: functions::remote::RemoteSettings::default(),
        }
    }
}

impl FunctionsConfig {
    /// File entries first, then flags; a flag naming a function of the file replaces it.
    pub fn merge(args: FunctionArgs, file: FunctionsFile) -> anyhow::Result<FunctionsConfig> {
        let mut specs = Vec::new();
        for entry in file.functions {
            let name = entry.name.clone();
            specs.push(entry.spec().with_context(|| format!("[[functions]] `{name}`"))?);
        }
        for flag in &args.functions {
            let spec = parse_flag(flag).with_context(|| format!("--function `{flag}`"))?;
            specs.retain(|s: &FunctionSpec| s.name != spec.name);
            specs.push(spec);
        }
        let mut names = std::collections::HashSet::new();
        for spec in &specs {
            spec.validate()?;
            if !names.insert(spec.name.as_str()) {
                bail!("function `{}` is defined twice in [[functions]]", spec.name);
            }
        }
        let concurrency = args.function_concurrency.or(file.function_concurrency).unwrap_or(DEFAULT_CONCURRENCY);
        if concurrency == 0 {
            bail!("function_concurrency must be at least 1 (reserve 0 on a function to throttle it)");
        }
        let idle = args.function_idle_timeout_ms.or(file.function_idle_timeout_ms);
        let idle_timeout = millis("function_idle_timeout_ms", idle.unwrap_or(DEFAULT_IDLE_TIMEOUT.as_millis() as u64))?;
        if idle_timeout.is_zero() {
            bail!("function_idle_timeout_ms must be positive");
        }
        let queue = args.function_queue_timeout_ms.or(file.function_queue_timeout_ms);
        let queue_timeout =
            millis("function_queue_timeout_ms", queue.unwrap_or(DEFAULT_QUEUE_TIMEOUT.as_millis() as u64))?;
        let python = args.function_python.or(file.function_python).unwrap_or_else(|| PathBuf::from(DEFAULT_PYTHON));
        let node = args.function_node.or(file.function_node).unwrap_or_else(|| PathBuf::from(DEFAULT_NODE));
        for (key, program) in [("function_python", &python), ("function_node", &node)] {
            if program.as_os_str().is_empty() {
                bail!("{key} must name a program");
            }
        }
        let mut environment = file.function_environment;
        for pair in &args.function_env {
            let (name, value) =
                pair.split_once('=').with_context(|| format!("--function-env `{pair}` must look like NAME=VALUE"))?;
            environment.insert(name.to_owned(), value.to_owned());
        }
        for name in environment.keys() {
            let reserved = functions::launch::RESERVED_VARIABLES.contains(&name.as_str());
            if reserved && !OVERRIDABLE_CREDENTIALS.contains(&name.as_str()) {
                bail!("function_environment: `{name}` is reserved by Lambda and set by Switchboard");
            }
            if name.is_empty() || name.contains(['=', '\0']) {
                bail!("function_environment: `{name}` is not a variable name");
            }
        }
        let remote = super::remote::merge(args.remote, file.lambda, file.remote_functions, &file.region)?;
        Ok(FunctionsConfig {
            specs,
            concurrency,
            idle_timeout,
            queue_timeout,
            watch: file.watch,
            python,
            node,
            environment,
            remote,
        })
    }
}

impl FunctionFile {
    fn spec(self) -> anyhow::Result<FunctionSpec> {
        let name = self.name.clone();
        let runtime = Runtime::parse(&self.runtime)?;
        Ok(FunctionSpec {
            runtime,
            handler: self.handler,
            code_dir: absolute(&self.code)?,
            environment: self.environment,
            timeout: self.timeout.map_or(DEFAULT_TIMEOUT, Duration::from_secs),
            memory_mb: self.memory_size.unwrap_or(DEFAULT_MEMORY_MB),
            reserved_concurrency: self.reserved_concurrency,
            name,
        })
    }

    /// Resolves a relative code directory against `dir` (the config file's).
    pub(super) fn relative_to(mut self, dir: &Path) -> FunctionFile {
        if self.code.is_relative() {
            self.code = dir.join(&self.code);
        }
        self
    }
}

/// `name=…,runtime=…,handler=…,code=…[,timeout=…][,memory=…][,reserved=…][,env.K=V…]`.
fn parse_flag(flag: &str) -> anyhow::Result<FunctionSpec> {
    let mut fields: BTreeMap<&str, &str> = BTreeMap::new();
    let mut environment = BTreeMap::new();
    for pair in flag.split(',').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').with_context(|| format!("`{pair}` must look like key=value"))?;
        if let Some(variable) = key.strip_prefix("env.") {
            environment.insert(variable.to_owned(), value.to_owned());
        } else if ["name", "runtime", "handler", "code", "timeout", "memory", "reserved"].contains(&key) {
            fields.insert(key, value);
        } else {
            bail!("unknown key `{key}`; known: name, runtime, handler, code, timeout, memory, reserved, env.NAME");
        }
    }
    let required = |key: &str| fields.get(key).copied().with_context(|| format!("`{key}=` is required"));
    let number = |key: &str| -> anyhow::Result<Option<u64>> {
        fields.get(key).map(|v| v.parse::<u64>().with_context(|| format!("`{key}` must be a number"))).transpose()
    };
    let entry = FunctionFile {
        name: required("name")?.to_owned(),
        runtime: required("runtime")?.to_owned(),
        handler: required("handler")?.to_owned(),
        code: PathBuf::from(required("code")?),
        timeout: number("timeout")?,
        memory_size: number("memory")?.map(|m| u32::try_from(m).unwrap_or(u32::MAX)),
        reserved_concurrency: number("reserved")?.map(|r| u32::try_from(r).unwrap_or(u32::MAX)),
        environment,
    };
    entry.spec()
}

/// `path` made absolute against the current directory (environments run with their code directory as theirs).
fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("cannot resolve code directory {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_file_entries_define_functions() {
        let file: FunctionFile = toml::from_str(
            r#"
            name = "onconnect"
            runtime = "provided.al2023"
            handler = "bootstrap"
            code = "fns/onconnect"
            timeout = 10
            memory_size = 256
            environment = { TABLE = "t" }
            "#,
        )
        .unwrap();
        let file = FunctionsFile {
            functions: vec![file.relative_to(Path::new("/etc/sb"))],
            watch: true,
            ..FunctionsFile::default()
        };
        let args = FunctionArgs {
            functions: vec!["name=send,runtime=provided.al2,handler=x,code=/srv/send,reserved=2,env.KEY=v".to_owned()],
            function_concurrency: Some(4),
            function_idle_timeout_ms: Some(2000),
            function_env: vec![
                "AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000".to_owned(),
                "AWS_SESSION_TOKEN=t".to_owned(),
            ],
            ..FunctionArgs::default()
        };
        let config = FunctionsConfig::merge(args, file).unwrap();
        assert_eq!(config.environment["AWS_ENDPOINT_URL_DYNAMODB"], "http://127.0.0.1:8000");
        assert_eq!(config.environment["AWS_SESSION_TOKEN"], "t", "credentials may be set for every function");
        for (pair, why) in [("AWS_REGION=x", "`AWS_REGION` is reserved"), ("NOEQUALS", "must look like NAME=VALUE")] {
            let args = FunctionArgs { function_env: vec![pair.to_owned()], ..FunctionArgs::default() };
            let err = format!("{:#}", FunctionsConfig::merge(args, FunctionsFile::default()).unwrap_err());
            assert!(err.contains(why), "{err}");
        }
        let (onconnect, send) = (&config.specs[0], &config.specs[1]);
        assert_eq!(onconnect.code_dir, Path::new("/etc/sb/fns/onconnect"));
        assert_eq!((onconnect.timeout, onconnect.memory_mb), (Duration::from_secs(10), 256));
        assert_eq!(onconnect.environment["TABLE"], "t");
        assert_eq!((send.reserved_concurrency, send.environment["KEY"].as_str()), (Some(2), "v"));
        assert_eq!(send.timeout, DEFAULT_TIMEOUT);
        assert_eq!((config.concurrency, config.idle_timeout), (4, Duration::from_millis(2000)));
        assert_eq!(config.queue_timeout, DEFAULT_QUEUE_TIMEOUT);
        assert!(config.watch);
    }

    #[test]
    fn bad_definitions_are_refused_with_what_is_wrong() {
        for (flag, why) in [
            ("name=f,runtime=java21,handler=h,code=/c", "supported runtimes: provided.al2023"),
            ("name=f,runtime=provided.al2023,code=/c", "`handler=` is required"),
            ("name=f,runtime=provided.al2023,handler=h,code=/c,timeout=9999", "Timeout 9999 is outside"),
            ("name=f,runtime=provided.al2023,handler=h,code=/c,color=red", "unknown key `color`"),
            ("name=f,runtime=provided.al2023,handler=h,code=/c,env.AWS_REGION=x", "Reserved keys"),
            ("name=a b,runtime=provided.al2023,handler=h,code=/c", "function name `a b`"),
        ] {
            let args = FunctionArgs { functions: vec![flag.to_owned()], ..FunctionArgs::default() };
            let err = format!("{:#}", FunctionsConfig::merge(args, FunctionsFile::default()).unwrap_err());
            assert!(err.contains(why), "{flag}: {err} should mention {why}");
        }
        let args = FunctionArgs { function_concurrency: Some(0), ..FunctionArgs::default() };
        assert!(FunctionsConfig::merge(args, FunctionsFile::default()).is_err());
    }
}
