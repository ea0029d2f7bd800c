//! Python and Node functions end to end, their handlers written as Lambda users write them (`tests/fixtures/
//! lambda-python`, `lambda-node`) with the official SDKs (boto3, `@aws-sdk/client-apigatewaymanagementapi`):
//! a Python handler under the official `awslambdaric` and under Switchboard's own client, a Node handler as an ES
//! module (async) and as CommonJS (callback style) under Switchboard's own client. Each connects, routes, posts to
//! the other connection through both the event's endpoint and the environment's, refuses and crashes `$connect`,
//! fails, times out and crashes — the environment killed and a fresh one serving next — as the Rust function does
//! in `it::functions`.
//!
//! The packages come from the fixtures' own pinned files (`deps.rs`); a test skips, saying why, when its interpreter
//! is missing or the package registry is unreachable.

use std::path::Path;

use serde_json::json;

use crate::deps;
use crate::functions::{ARN, hosting, internal_server_error, until_gone, whoami};
use crate::harness::*;

/// `[[functions]]` for function `chat` of `runtime` with `handler` in `code`, its timeout 2 s, with `environment`.
fn function_toml(runtime: &str, handler: &str, code: &Path, environment: &[(&str, String)]) -> String {
    let mut variables = vec![("ENDPOINT_SCHEME", "http".to_owned()), ("CUSTOM", "yes".to_owned())];
    variables.extend(environment.iter().cloned());
    let variables: Vec<String> = variables.iter().map(|(k, v)| format!("{k} = {}", json!(v))).collect();
    format!(
        r#"
        [[functions]]
        name = "chat"
        runtime = "{runtime}"
        handler = "{handler}"
        code = "{}"
        timeout = 2
        environment = {{ {} }}
        "#,
        code.display(),
        variables.join(", ")
    )
}

/// The whole story for one handler: `client` is what its `whoami` says runs it.
async fn exercise(toml: &str, runtime: &str, handler: &str, client: &str) {
    let server = hosting(toml, |_| {}).await;
    let mut alice = server.connect("/prod").await;
    let mut bob = server.connect("/prod").await;

    let me = whoami(&mut alice).await;
    assert_eq!(me["client"], client, "{me}");
    assert_eq!(me["arn"], format!("{ARN}:7"), "the invoked ARN keeps the integration's qualifier");
    assert_eq!(me["requestId"].as_str().unwrap().len(), 36);
    let remaining = me["remainingMs"].as_i64().unwrap();
    assert!(remaining > 0 && remaining <= 2000, "{remaining}");
    let env = &me["env"];
    assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], "chat");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
    assert_eq!(env["AWS_REGION"], REGION);
    assert_eq!(env["AWS_EXECUTION_ENV"], format!("AWS_Lambda_{runtime}"));
    assert_eq!((&env["_HANDLER"], &env["TZ"], &env["CUSTOM"]), (&json!(handler), &json!(":UTC"), &json!("yes")));
    let bob_id = whoami(&mut bob).await["connectionId"].as_str().unwrap().to_owned();
    assert_eq!(whoami(&mut alice).await["pid"], me["pid"], "the warm environment serves the next invocation");

    // The SDK posts to the other connection: the endpoint built from the event, then the environment's.
    for via in ["event", "env"] {
        let data = format!("hello through the {via}'s endpoint");
        send_text(&mut alice, &json!({"action": "relay", "via": via, "to": bob_id, "data": data}).to_string()).await;
        assert_eq!(recv_text(&mut bob).await, data);
        assert_eq!(recv_text(&mut alice).await, "relayed");
    }

    // `$connect` answers 403: the handshake is refused with it; a crash in `$connect` refuses it with 502.
    let denied = server.try_connect("/prod?deny=1", &[]).await.unwrap_err();
    assert!(denied.to_string().contains("403"), "{denied}");
    let crashed = server.try_connect("/prod?crash=1", &[]).await.unwrap_err();
    assert!(crashed.to_string().contains("502"), "{crashed}");

    // A handled error fails the integration and keeps the environment; a timeout and a crash kill it.
    send_text(&mut alice, r#"{"action":"fail"}"#).await;
    assert!(internal_server_error(&recv_text(&mut alice).await));
    let first = whoami(&mut alice).await["pid"].clone();
    send_text(&mut alice, r#"{"action":"sleep","ms":4000}"#).await;
    assert!(internal_server_error(&recv_text(&mut alice).await), "a timed-out function fails the integration");
    until_gone(&first).await;
    let second = whoami(&mut alice).await["pid"].clone();
    assert_ne!(second, first);
    send_text(&mut alice, r#"{"action":"crash"}"#).await;
    assert!(internal_server_error(&recv_text(&mut alice).await), "a crashed function fails the integration");
    until_gone(&second).await;
    let third = whoami(&mut alice).await;
    assert_ne!(third["pid"], second);
    assert_eq!(third["client"], client);

    let log = std::fs::read_to_string(server.data_dir().path().join("functions/chat.log")).unwrap();
    for line in [
        "START RequestId: ",
        "$connect of ",
        "failing on purpose",
        "Status: timeout\tError Type: Sandbox.Timedout",
        "crashing on purpose",
        "Error Type: Runtime.ExitError",
    ] {
        assert!(log.contains(line), "{line} in\n{log}");
    }
    server.shutdown().await;
    until_gone(&third["pid"]).await;
}

fn python_fixture() -> std::path::PathBuf {
    deps::fixtures().join("lambda-python")
}

fn pythonpath(dirs: &[&Path]) -> String {
    std::env::join_paths(dirs).unwrap().to_string_lossy().into_owned()
}

#[tokio::test]
async fn a_python_handler_runs_under_awslambdaric_and_posts_with_boto3() {
    let (Some(ric), Some(boto3)) = (deps::awslambdaric(), deps::boto3()) else { return };
    let environment = [("PYTHONPATH", pythonpath(&[ric, boto3])), ("PYTHONDONTWRITEBYTECODE", "1".to_owned())];
    let toml = function_toml("python3.12", "app.handler", &python_fixture(), &environment);
    exercise(&toml, "python3.12", "app.handler", "awslambdaric").await;
}

#[tokio::test]
async fn a_python_handler_runs_under_switchboards_client_and_posts_with_boto3() {
    let Some(boto3) = deps::boto3() else { return };
    let environment = [("PYTHONPATH", pythonpath(&[boto3])), ("PYTHONDONTWRITEBYTECODE", "1".to_owned())];
    let toml = function_toml("python3.11", "app.handler", &python_fixture(), &environment);
    exercise(&toml, "python3.11", "app.handler", "switchboard").await;
}

#[tokio::test]
async fn an_es_module_handler_runs_under_switchboards_client_and_posts_with_the_sdk() {
    let Some(fixture) = deps::node_fixture() else { return };
    let toml = function_toml("nodejs22.x", "esm/app.handler", fixture, &[]);
    exercise(&toml, "nodejs22.x", "esm/app.handler", "esm").await;
}

#[tokio::test]
async fn a_commonjs_callback_handler_runs_under_switchboards_client_and_posts_with_the_sdk() {
    let Some(fixture) = deps::node_fixture() else { return };
    let toml = function_toml("nodejs20.x", "cjs/app.handler", fixture, &[]);
    exercise(&toml, "nodejs20.x", "cjs/app.handler", "cjs").await;
}
