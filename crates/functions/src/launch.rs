//! How an execution environment is started: the command line a runtime runs (its `bootstrap`, the official runtime
//! interface client of Python or Node when the function has it, else the client Switchboard ships) and the
//! environment variables Lambda gives a function's process.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::clients;
use crate::settings::{OVERRIDABLE_CREDENTIALS, Settings};
use crate::spec::{FunctionSpec, Runtime};

/// The variables Lambda reserves: a function's own environment may not set them (`FunctionSpec::validate` refuses
/// them, as CreateFunction does) and every environment gets them from Switchboard.
pub const RESERVED_VARIABLES: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

/// The session token environments get: Lambda always sets one; Switchboard's signature check accepts any.
pub const SESSION_TOKEN: &str = "switchboard-local-session";

/// The program an environment runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Launch {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// `LAMBDA_RUNTIME_DIR`: where the runtime's own files are.
    pub runtime_dir: PathBuf,
    /// What runs the function, for the log and errors: `bootstrap`, `awslambdaric or Switchboard's client`, …
    pub client: &'static str,
    /// The setting that names `program`, when it is an interpreter (`--function-python`).
    pub setting: Option<&'static str>,
}

/// Why an environment cannot be started; the invocation fails with Lambda's `Runtime.InvalidEntrypoint`.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum LaunchError {
    #[error("Couldn't find valid bootstrap(s): [{}]", .0.display())]
    NoBootstrap(PathBuf),
    #[error("cannot write Switchboard's runtime client {}: {error}", .path.display())]
    NoClient { path: PathBuf, error: String },
}

/// The command line of `spec`'s runtime:
/// - `provided*`: `{code_dir}/bootstrap`;
/// - `python3.x`: `{python} {runtimes_dir}/switchboard_runtime.py`, Switchboard's client, which execs
///   `{python} -m awslambdaric {handler}` at once when that Python can import `awslambdaric` (installed, on the
///   function's `PYTHONPATH`, or in its code directory);
/// - `nodejsNN.x`: `{node} {code_dir}/node_modules/aws-lambda-ric/{bin} {handler}` when the code directory has the
///   official client, else `{node} {runtimes_dir}/switchboard-runtime.mjs`.
///
/// Switchboard's clients are written to `settings.runtimes_dir` first (when missing or different).
pub fn command(spec: &FunctionSpec, settings: &Settings) -> Result<Launch, LaunchError> {
    let install = |client: clients::Client| {
        clients::install(&settings.runtimes_dir, client).map_err(|err| LaunchError::NoClient {
            path: settings.runtimes_dir.join(client.file),
            error: err.to_string(),
        })
    };
    match &spec.runtime {
        Runtime::Provided(_) => {
            let bootstrap = spec.code_dir.join("bootstrap");
            if !is_executable(&bootstrap) {
                return Err(LaunchError::NoBootstrap(bootstrap));
            }
            Ok(Launch {
                program: bootstrap,
                args: Vec::new(),
                runtime_dir: spec.code_dir.clone(),
                client: "bootstrap",
                setting: None,
            })
        }
        Runtime::Python(_) => {
            let client = install(clients::PYTHON)?;
            Ok(Launch {
                program: settings.python.clone(),
                args: vec![client.display().to_string()],
                runtime_dir: settings.runtimes_dir.clone(),
                client: "awslambdaric when importable, else Switchboard's Python client",
                setting: Some("--function-python (SWITCHBOARD_FUNCTION_PYTHON, function_python)"),
            })
        }
        Runtime::Node(_) => {
            let setting = Some("--function-node (SWITCHBOARD_FUNCTION_NODE, function_node)");
            if let Some(ric) = node_ric(&spec.code_dir) {
                return Ok(Launch {
                    program: settings.node.clone(),
                    args: vec![ric.display().to_string(), spec.handler.clone()],
                    runtime_dir: settings.runtimes_dir.clone(),
                    client: "aws-lambda-ric",
                    setting,
                });
            }
            let client = install(clients::NODE)?;
            Ok(Launch {
                program: settings.node.clone(),
                args: vec![client.display().to_string()],
                runtime_dir: settings.runtimes_dir.clone(),
                client: "Switchboard's Node client",
                setting,
            })
        }
    }
}

/// The entry point of `aws-lambda-ric` in `code_dir/node_modules`, as its package.json's `bin` names it.
fn node_ric(code_dir: &Path) -> Option<PathBuf> {
    let package = code_dir.join("node_modules/aws-lambda-ric");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(package.join("package.json")).ok()?).ok()?;
    let bin = match &manifest["bin"] {
        serde_json::Value::String(bin) => Some(bin.as_str()),
        serde_json::Value::Object(bins) => bins.get("aws-lambda-ric").and_then(serde_json::Value::as_str),
        _ => None,
    };
    Some(package.join(bin.unwrap_or("bin/index.mjs")))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Every variable of an environment of `spec` whose Runtime API listens on `runtime_api`: the defaults Lambda sets
/// (`PATH`, `LANG`, `TZ`), the server's certificate for TLS clients, the function's own environment, the server's
/// `--function-env` over it, then the reserved variables (so nothing overrides those but the credentials
/// `--function-env` may set). The server's own environment is not inherited, as Lambda's
/// processes inherit nothing; `PATH` is the server's, so that the tools of this machine are found.
pub fn variables(
    spec: &FunctionSpec,
    launch: &Launch,
    settings: &Settings,
    runtime_api: SocketAddr,
    log_stream: &str,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut set = |name: &str, value: String| {
        out.retain(|(n, _)| n != name);
        out.push((name.to_owned(), value));
    };
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".to_owned());
    set("PATH", path);
    set("LANG", "en_US.UTF-8".to_owned());
    set("TZ", ":UTC".to_owned());
    if let Some(ca) = &settings.ca_bundle {
        let ca = ca.display().to_string();
        for name in ["AWS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE"] {
            set(name, ca.clone());
        }
    }
    set("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI", settings.endpoint.clone());
    for (name, value) in &spec.environment {
        set(name, value.clone());
    }
    let (credentials, others): (Vec<_>, Vec<_>) =
        settings.environment.iter().partition(|(name, _)| OVERRIDABLE_CREDENTIALS.contains(&name.as_str()));
    for (name, value) in others.into_iter().filter(|(name, _)| !RESERVED_VARIABLES.contains(&name.as_str())) {
        set(name, value.clone());
    }
    let region = settings.region.clone();
    set("AWS_REGION", region.clone());
    set("AWS_DEFAULT_REGION", region);
    set("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string());
    set("_HANDLER", spec.handler.clone());
    set("LAMBDA_TASK_ROOT", spec.code_dir.display().to_string());
    set("LAMBDA_RUNTIME_DIR", launch.runtime_dir.display().to_string());
    set("AWS_LAMBDA_FUNCTION_NAME", spec.name.clone());
    set("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned());
    set("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", spec.memory_mb.to_string());
    set("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned());
    set("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{}", spec.name));
    set("AWS_LAMBDA_LOG_STREAM_NAME", log_stream.to_owned());
    // Lambda names the managed runtimes; `provided` environments have no AWS_EXECUTION_ENV.
    if !matches!(spec.runtime, Runtime::Provided(_)) {
        set("AWS_EXECUTION_ENV", format!("AWS_Lambda_{}", spec.runtime.name()));
    }
    set("AWS_ACCESS_KEY_ID", settings.access_key_id.clone());
    set("AWS_SECRET_ACCESS_KEY", settings.secret_access_key.clone());
    set("AWS_SESSION_TOKEN", SESSION_TOKEN.to_owned());
    for (name, value) in credentials {
        set(name, value.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::spec::{DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT};

    #[test]
    fn provided_runtimes_run_their_bootstrap() {
        let dir = tempfile::tempdir().unwrap();
        let spec = crate::testing::spec("f", dir.path());
        let settings = crate::testing::settings(dir.path());
        assert_eq!(command(&spec, &settings), Err(LaunchError::NoBootstrap(dir.path().join("bootstrap"))));
        crate::testing::write_script(dir.path(), "bootstrap", "exit 0");
        assert_eq!(command(&spec, &settings).unwrap().program, dir.path().join("bootstrap"));
    }

    #[test]
    fn python_runs_switchboards_client_with_the_configured_interpreter() {
        let dir = tempfile::tempdir().unwrap();
        let mut spec = crate::testing::spec("f", dir.path());
        spec.runtime = Runtime::parse("python3.12").unwrap();
        let mut settings = crate::testing::settings(dir.path());
        let launch = command(&spec, &settings).unwrap();
        let client = dir.path().join("runtimes/switchboard_runtime.py");
        assert_eq!(launch.program, PathBuf::from("python3"));
        assert_eq!(launch.args, [client.display().to_string()]);
        assert_eq!(launch.runtime_dir, dir.path().join("runtimes"));
        assert_eq!(std::fs::read_to_string(&client).unwrap(), clients::PYTHON.text, "the client is written");
        settings.python = PathBuf::from("/opt/python3.12/bin/python3");
        assert_eq!(command(&spec, &settings).unwrap().program, settings.python);
        settings.runtimes_dir = dir.path().join("bootstrap-is-not-a-dir/runtimes");
        std::fs::write(dir.path().join("bootstrap-is-not-a-dir"), "").unwrap();
        let err = command(&spec, &settings).unwrap_err().to_string();
        assert!(err.starts_with("cannot write Switchboard's runtime client"), "{err}");
    }

    #[test]
    fn node_runs_aws_lambda_ric_when_the_code_has_it_else_switchboards_client() {
        let dir = tempfile::tempdir().unwrap();
        let mut spec = crate::testing::spec("f", dir.path());
        spec.runtime = Runtime::parse("nodejs22.x").unwrap();
        spec.handler = "src/app.handler".to_owned();
        let mut settings = crate::testing::settings(dir.path());
        settings.node = PathBuf::from("node22");
        let launch = command(&spec, &settings).unwrap();
        assert_eq!(launch.program, PathBuf::from("node22"));
        assert_eq!(launch.args, [dir.path().join("runtimes/switchboard-runtime.mjs").display().to_string()]);
        let ric = dir.path().join("node_modules/aws-lambda-ric");
        std::fs::create_dir_all(&ric).unwrap();
        std::fs::write(
            ric.join("package.json"),
            r#"{"name":"aws-lambda-ric","bin":{"aws-lambda-ric":"bin/index.mjs"}}"#,
        )
        .unwrap();
        let launch = command(&spec, &settings).unwrap();
        assert_eq!(launch.args, [ric.join("bin/index.mjs").display().to_string(), "src/app.handler".to_owned()]);
        assert_eq!(launch.client, "aws-lambda-ric");
    }

    #[test]
    fn the_reserved_variables_come_last_and_the_functions_own_on_top_of_the_defaults() {
        let spec = FunctionSpec {
            name: "chat".to_owned(),
            runtime: Runtime::parse("nodejs20.x").unwrap(),
            handler: "app.handler".to_owned(),
            code_dir: PathBuf::from("/code"),
            environment: BTreeMap::from([
                ("TZ".to_owned(), "Europe/Paris".to_owned()),
                ("X".to_owned(), "1".to_owned()),
            ]),
            timeout: DEFAULT_TIMEOUT,
            memory_mb: DEFAULT_MEMORY_MB,
            reserved_concurrency: None,
        };
        let mut settings = crate::testing::settings(Path::new("/data"));
        settings.ca_bundle = Some(PathBuf::from("/certs/server.pem"));
        settings.environment = BTreeMap::from([
            ("X".to_owned(), "from the server".to_owned()),
            ("AWS_ENDPOINT_URL_DYNAMODB".to_owned(), "http://127.0.0.1:8000".to_owned()),
            ("AWS_SESSION_TOKEN".to_owned(), "real".to_owned()),
            ("AWS_LAMBDA_FUNCTION_NAME".to_owned(), "ignored".to_owned()),
        ]);
        let launch = Launch {
            program: PathBuf::from("/bin/true"),
            args: Vec::new(),
            runtime_dir: PathBuf::from("/rt"),
            client: "bootstrap",
            setting: None,
        };
        let vars = variables(&spec, &launch, &settings, "127.0.0.1:9001".parse().unwrap(), "stream");
        let get = |name: &str| vars.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
        assert_eq!(get("TZ"), Some("Europe/Paris"));
        assert_eq!(get("X"), Some("from the server"), "--function-env over the function's own");
        assert_eq!(get("AWS_ENDPOINT_URL_DYNAMODB"), Some("http://127.0.0.1:8000"));
        assert_eq!(get("AWS_SESSION_TOKEN"), Some("real"), "credentials may come from --function-env");
        assert_eq!(get("AWS_LAMBDA_FUNCTION_NAME"), Some("chat"), "other reserved variables may not");
        assert_eq!(get("AWS_LAMBDA_RUNTIME_API"), Some("127.0.0.1:9001"));
        assert_eq!(get("_HANDLER"), Some("app.handler"));
        assert_eq!(get("AWS_EXECUTION_ENV"), Some("AWS_Lambda_nodejs20.x"));
        assert_eq!(get("AWS_LAMBDA_FUNCTION_VERSION"), Some("$LATEST"));
        assert_eq!(get("AWS_LAMBDA_LOG_GROUP_NAME"), Some("/aws/lambda/chat"));
        assert_eq!(get("NODE_EXTRA_CA_CERTS"), Some("/certs/server.pem"));
        assert_eq!(get("AWS_ACCESS_KEY_ID"), Some(settings.access_key_id.as_str()));
        assert_eq!(get("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI"), Some(settings.endpoint.as_str()));
        for reserved in RESERVED_VARIABLES.iter().filter(|n| !["_X_AMZN_TRACE_ID", "AWS_ACCESS_KEY"].contains(n)) {
            assert!(get(reserved).is_some(), "{reserved} is set");
        }
        assert_eq!(vars.len(), vars.iter().map(|(n, _)| n).collect::<std::collections::HashSet<_>>().len());
    }
}
