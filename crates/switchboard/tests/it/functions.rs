//! Hosted Lambda functions end to end, run by a runtime client nobody in this project wrote: a Rust function built
//! with the official `lambda_runtime` crate (`tests/fixtures/lambda-rust`) as a `provided.al2023` function's
//! `bootstrap`, posting to other connections with the official `aws-sdk-apigatewaymanagement`.
//!
//! The fixture is built once per test run with `cargo build --locked` into `target/fixtures/lambda-rust` (its own
//! target directory: a nested cargo on the workspace's would wait on its build lock); when it cannot be built (no
//! network on a cold cache), each test says so and skips.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::*;

pub const ARN: &str = "arn:aws:lambda:us-east-1:000000000000:function:chat";

/// The fixture's `bootstrap`, built once.
pub(crate) fn built() -> Option<&'static Path> {
    static BUILT: OnceLock<Option<PathBuf>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
            let manifest = root.join("crates/switchboard/tests/fixtures/lambda-rust/Cargo.toml");
            let target = root.join("target/fixtures/lambda-rust");
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
            let output = std::process::Command::new(cargo)
                .args(["build", "--locked", "--quiet", "--manifest-path"])
                .arg(&manifest)
                .arg("--target-dir")
                .arg(&target)
                .output();
            match output {
                Ok(output) if output.status.success() => Some(target.join("debug/bootstrap")),
                Ok(output) => {
                    eprintln!(
                        "skipped: the lambda_runtime fixture did not build:\n{}",
                        String::from_utf8_lossy(&output.stderr)
                    );
                    None
                }
                Err(err) => {
                    eprintln!("skipped: cannot run cargo to build the lambda_runtime fixture: {err}");
                    None
                }
            }
        })
        .as_deref()
}

/// A code directory holding the fixture as `bootstrap` and its `version.txt`.
pub(crate) fn code_dir(version: &str) -> Option<tempfile::TempDir> {
    let bootstrap = built()?;
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(bootstrap, dir.path().join("bootstrap")).unwrap();
    std::fs::write(dir.path().join("version.txt"), version).unwrap();
    Some(dir)
}

/// `[[functions]]` for the fixture as function `chat` in `dir`, with `extra` TOML lines; its handler builds
/// `http://{domainName}/{stage}`.
pub(crate) fn function_toml(dir: &Path, extra: &str) -> String {
    function_toml_with(dir, "http", extra)
}

fn function_toml_with(dir: &Path, scheme: &str, extra: &str) -> String {
    format!(
        r#"
        [[functions]]
        name = "chat"
        runtime = "provided.al2023"
        handler = "bootstrap"
        code = "{}"
        timeout = 1
        environment = {{ ENDPOINT_SCHEME = "{scheme}", CUSTOM = "yes" }}
        {extra}
        "#,
        dir.display()
    )
}

/// A server whose default API sends `$connect`, `$disconnect`, the two-way `$default` and `whoami` to `chat`, in
/// the forms an integration can name it.
pub async fn hosting(toml: &str, tweak: impl FnOnce(&mut server::config::ServeArgs)) -> TestServer {
    TestServer::start(toml, |a| {
        a.routes = vec![
            format!("$connect={ARN}"),
            format!("$disconnect={ARN}:live"),
            format!("$default=arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{ARN}/invocations"),
            format!("whoami={ARN}:7"),
        ];
        a.route_responses = vec!["$default".to_owned(), "whoami".to_owned()];
        tweak(a);
    })
    .await
}

/// What the function answers `whoami`: its process, code version and the variables it sees.
pub async fn whoami(ws: &mut Ws) -> Value {
    send_text(ws, r#"{"action":"whoami"}"#).await;
    let text = recv_text(ws).await;
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not a whoami answer: {text}"))
}

pub fn internal_server_error(frame: &str) -> bool {
    frame.starts_with(r#"{"message": "Internal server error""#)
}

pub fn alive(pid: &Value) -> bool {
    Path::new(&format!("/proc/{}", pid.as_u64().unwrap())).exists()
}

/// How many invocations the function's log says a runtime took (its `START` lines).
fn starts(log: &Path) -> usize {
    std::fs::read_to_string(log).unwrap_or_default().matches("\tSTART RequestId: ").count()
}

pub async fn until_gone(pid: &Value) {
    for _ in 0..100 {
        if !alive(pid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("process {pid} still runs");
}

#[tokio::test]
async fn a_lambda_runtime_function_serves_connect_routes_and_posts_to_the_other_connection() {
    let Some(code) = code_dir("1") else { return };
    let server = hosting(&function_toml(code.path(), ""), |_| {}).await;
    let mut alice = server.connect("/prod").await;
    let mut bob = server.connect("/prod").await;

    let me = whoami(&mut alice).await;
    assert_eq!(me["arn"], format!("{ARN}:7"), "the invoked ARN keeps the integration's qualifier");
    let env = &me["env"];
    assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], "chat");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "128");
    assert_eq!(env["AWS_REGION"], REGION);
    assert_eq!((&env["_HANDLER"], &env["TZ"], &env["CUSTOM"]), (&json!("bootstrap"), &json!(":UTC"), &json!("yes")));
    let bob_id = whoami(&mut bob).await["connectionId"].as_str().unwrap().to_owned();
    assert_eq!(whoami(&mut alice).await["pid"], me["pid"], "the warm environment serves the next invocation");

    // The endpoint built from the event (`http://{domainName}/{stage}`), then the one the environment names.
    let relay = json!({"action": "relay", "to": bob_id, "data": "hello from the event's endpoint"});
    send_text(&mut alice, &relay.to_string()).await;
    assert_eq!(recv_text(&mut bob).await, "hello from the event's endpoint");
    assert_eq!(recv_text(&mut alice).await, "relayed");
    let relay = json!({"action": "relay", "via": "env", "to": bob_id, "data": "hello from the environment's endpoint"});
    send_text(&mut alice, &relay.to_string()).await;
    assert_eq!(recv_text(&mut bob).await, "hello from the environment's endpoint");
    assert_eq!(recv_text(&mut alice).await, "relayed");

    // `$connect` answers 403: the handshake is refused with it; a crash in `$connect` refuses it with 502.
    let denied = server.try_connect("/prod?deny=1", &[]).await.unwrap_err();
    assert!(denied.to_string().contains("403"), "{denied}");
    let crashed = server.try_connect("/prod?crash=1", &[]).await.unwrap_err();
    assert!(crashed.to_string().contains("502"), "{crashed}");

    // A handled error fails the integration: the Internal server error frame.
    send_text(&mut alice, r#"{"action":"fail"}"#).await;
    assert!(internal_server_error(&recv_text(&mut alice).await));

    let log = std::fs::read_to_string(server.data_dir().path().join("functions/chat.log")).unwrap();
    for line in ["START RequestId: ", "END RequestId: ", "Billed Duration: ", "Max Memory Used: ", "$connect of"] {
        assert!(log.contains(line), "{line} in\n{log}");
    }
    server.shutdown().await;
    until_gone(&me["pid"]).await;
}

#[tokio::test]
async fn timeouts_and_crashes_kill_the_environment_and_the_next_invocation_starts_a_fresh_one() {
    let Some(code) = code_dir("1") else { return };
    let server = hosting(&function_toml(code.path(), ""), |_| {}).await;
    let mut ws = server.connect("/prod").await;
    let first = whoami(&mut ws).await["pid"].clone();

    send_text(&mut ws, r#"{"action":"sleep","ms":3000}"#).await;
    assert!(internal_server_error(&recv_text(&mut ws).await), "a timed-out function fails the integration");
    until_gone(&first).await;
    let second = whoami(&mut ws).await["pid"].clone();
    assert_ne!(second, first);

    send_text(&mut ws, r#"{"action":"crash"}"#).await;
    assert!(internal_server_error(&recv_text(&mut ws).await), "a crashed function fails the integration");
    until_gone(&second).await;
    let third = whoami(&mut ws).await["pid"].clone();
    assert_ne!(third, second);

    let log = std::fs::read_to_string(server.data_dir().path().join("functions/chat.log")).unwrap();
    assert!(log.contains("Status: timeout\tError Type: Sandbox.Timedout"), "{log}");
    assert!(log.contains("crashing on purpose") && log.contains("Error Type: Runtime.ExitError"), "{log}");
    server.shutdown().await;
}

#[tokio::test]
async fn past_the_concurrency_limit_invocations_are_throttled_and_idle_environments_stop() {
    let Some(code) = code_dir("1") else { return };
    let toml = function_toml(code.path(), "");
    let server = hosting(&toml, |a| {
        a.functions.function_concurrency = Some(1);
        a.functions.function_queue_timeout_ms = Some(100);
        a.functions.function_idle_timeout_ms = Some(1500);
    })
    .await;
    let mut busy = server.connect("/prod").await;
    let mut other = server.connect("/prod").await;
    // `other` asks only once the runtime took `busy`'s invocation (its `START` line is in the function's log).
    let log = server.data_dir().path().join("functions/chat.log");
    let started = starts(&log);
    send_text(&mut busy, r#"{"action":"sleep","ms":600}"#).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while starts(&log) == started {
        assert!(tokio::time::Instant::now() < deadline, "the runtime never took the invocation");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    send_text(&mut other, r#"{"action":"whoami"}"#).await;
    assert!(internal_server_error(&recv_text(&mut other).await), "throttled past one environment");
    assert_eq!(recv_text(&mut busy).await, "slept");
    let pid = whoami(&mut other).await["pid"].clone();
    until_gone(&pid).await;
    let fresh = whoami(&mut other).await["pid"].clone();
    assert_ne!(fresh, pid, "an idle environment stopped; a new one serves");
    server.shutdown().await;

    // Reserved concurrency 0: always throttled, so `$connect` refuses every handshake with 502.
    let server = hosting(&function_toml(code.path(), "reserved_concurrency = 0"), |_| {}).await;
    let refused = server.try_connect("/prod", &[]).await.unwrap_err();
    assert!(refused.to_string().contains("502"), "{refused}");
    server.shutdown().await;
}

#[tokio::test]
async fn with_watch_new_invocations_run_changed_code_without_a_restart() {
    let Some(code) = code_dir("1") else { return };
    let server = hosting(&function_toml(code.path(), ""), |a| a.watch = true).await;
    let mut ws = server.connect("/prod").await;
    let before = whoami(&mut ws).await;
    assert_eq!(before["version"], "1");
    std::fs::write(code.path().join("version.txt"), "2").unwrap();
    until_gone(&before["pid"]).await;
    assert_eq!(whoami(&mut ws).await["version"], "2");
    server.shutdown().await;
}

#[tokio::test]
async fn a_deployed_api_reaches_its_management_api_through_the_events_domain_name() {
    use aws_sdk_apigatewayv2::types::{IntegrationType, ProtocolType};
    let Some(code) = code_dir("1") else { return };
    let server = TestServer::start(&function_toml(code.path(), ""), |_| {}).await;
    let sdk = crate::apigatewayv2::sdk(&server);
    let created = sdk
        .create_api()
        .name("hosted")
        .protocol_type(ProtocolType::Websocket)
        .route_selection_expression("$request.body.action")
        .send()
        .await
        .unwrap();
    let api = created.api_id().unwrap();
    let uri = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/\
               arn:aws:lambda:us-east-1:000000000000:function:${stageVariables.fn}/invocations";
    let integration =
        sdk.create_integration().api_id(api).integration_type(IntegrationType::AwsProxy).integration_uri(uri).send();
    let target = format!("integrations/{}", integration.await.unwrap().integration_id().unwrap());
    let route = sdk
        .create_route()
        .api_id(api)
        .route_key("$default")
        .target(&target)
        .route_response_selection_expression("$default")
        .send()
        .await
        .unwrap();
    let route_id = route.route_id().unwrap();
    sdk.create_route_response().api_id(api).route_id(route_id).route_response_key("$default").send().await.unwrap();
    sdk.create_stage().api_id(api).stage_name("prod").stage_variables("fn", "chat").send().await.unwrap();
    sdk.create_deployment().api_id(api).stage_name("prod").send().await.unwrap();

    let url = format!("{}/prod", created.api_endpoint().unwrap());
    let (mut alice, _) = tokio_tungstenite::connect_async(url.as_str()).await.unwrap();
    let (mut bob, _) = tokio_tungstenite::connect_async(url.as_str()).await.unwrap();
    let bob_me = whoami(&mut bob).await;
    assert_eq!(bob_me["domainName"], format!("{}/@apis/{api}", server.addr));
    let relay = json!({"action": "relay", "to": bob_me["connectionId"], "data": "through the deployed stage"});
    send_text(&mut alice, &relay.to_string()).await;
    assert_eq!(recv_text(&mut bob).await, "through the deployed stage");
    assert_eq!(recv_text(&mut alice).await, "relayed");
    server.shutdown().await;
}

/// A `wss://` client of `server`, trusting `cert`, that names the server `localhost` (its `Host`, so events'
/// `domainName`).
async fn wss(
    server: &TestServer,
    cert: &rcgen::CertifiedKey<rcgen::KeyPair>,
) -> tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = connector.connect(name, tcp).await.unwrap();
    let url = format!("wss://localhost:{}/prod", server.addr.port());
    tokio_tungstenite::client_async(url, tls).await.unwrap().0
}

/// The next text a `wss` client receives, within 5 seconds.
async fn next_text<S>(ws: &mut tokio_tungstenite::WebSocketStream<S>) -> String
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use futures_util::StreamExt;
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.unwrap().unwrap().unwrap();
        if let tokio_tungstenite::tungstenite::Message::Text(text) = message {
            return text.to_string();
        }
    }
}

async fn say<S>(ws: &mut tokio_tungstenite::WebSocketStream<S>, text: String)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use futures_util::SinkExt;
    ws.send(tokio_tungstenite::tungstenite::Message::text(text)).await.unwrap();
}

#[tokio::test]
async fn with_tls_handlers_reach_https_endpoints_and_trust_the_servers_certificate() {
    let Some(code) = code_dir("1") else { return };
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let server = hosting(&function_toml_with(code.path(), "https", ""), |a| {
        a.tls_cert = Some(cert_path.clone());
        a.tls_key = Some(key_path.clone());
    })
    .await;
    let mut alice = wss(&server, &cert).await;
    let mut bob = wss(&server, &cert).await;
    say(&mut bob, json!({"action": "whoami"}).to_string()).await;
    let bob_me: Value = serde_json::from_str(&next_text(&mut bob).await).unwrap();
    assert_eq!(bob_me["domainName"], format!("localhost:{}", server.addr.port()));

    // `https://{domainName}/{stage}`, and `https://127.0.0.1:{port}` from the environment: both trusted.
    for via in ["event", "env"] {
        let relay = json!({"action": "relay", "via": via, "to": bob_me["connectionId"], "data": via});
        say(&mut alice, relay.to_string()).await;
        assert_eq!(next_text(&mut bob).await, via);
        assert_eq!(next_text(&mut alice).await, "relayed");
    }
    server.shutdown().await;
}
