//! A stage's access log and its routes' API keys acting on live sockets: `AccessLogSettings` set through the official
//! `aws-sdk-apigatewayv2` (and in `[[apis]]`) write one line per connect, message and disconnect, refusals included,
//! to the destination's file; routes with `ApiKeyRequired` admit only connections that presented a key from
//! `[[api_keys]]` or `--api-key` (a `$connect` answers 403, a message the `Forbidden` frame).

use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_apigatewayv2::types::AccessLogSettings;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::apigatewayv2::sdk;
use crate::deployments::{Defined, define, exchange, next_event};
use crate::harness::*;

const LOG_GROUP: &str = "arn:aws:logs:us-east-1:000000000000:log-group:ws-access";
const FORMAT: &str = r#"{"requestId":"$context.requestId","eventType":"$context.eventType","routeKey":"$context.routeKey","status":"$context.status","connectionId":"$context.connectionId","integrationStatus":"$context.integrationStatus","error":$context.error.messageString,"unknown":"$context.nope"}"#;

/// The lines of an access log file once it has `count` of them; fails after five seconds.
async fn lines(path: &Path, count: usize) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        if lines.len() >= count {
            return lines;
        }
        assert!(tokio::time::Instant::now() < deadline, "{} has {} lines, not {count}", path.display(), lines.len());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn log_file(server: &TestServer, group: &str) -> PathBuf {
    server.data_dir().path().join("access-logs/cloudwatch").join(format!("{group}.log"))
}

#[tokio::test]
async fn access_log_settings_write_a_line_per_event_to_the_destinations_file() {
    let server = TestServer::start("", |_| {}).await;
    let sdk = sdk(&server);
    let mut first = Backend::start(|event| Reply::Json(json!({ "first": event }))).await;
    let second = Backend::ok().await;
    let Defined { api, endpoint, .. } = define(&sdk, &first, &second).await;

    // A format that names no request is refused as API Gateway refuses it.
    let unnamed = AccessLogSettings::builder().destination_arn(LOG_GROUP).format("$context.status").build();
    let err = sdk.update_stage().api_id(&api).stage_name("prod").access_log_settings(unnamed).send().await.unwrap_err();
    let err = err.into_service_error();
    assert!(err.is_bad_request_exception(), "{err:?}");
    assert!(err.to_string().contains("$context.requestId"), "{err}");

    let settings = AccessLogSettings::builder().destination_arn(LOG_GROUP).format(FORMAT).build();
    sdk.update_stage().api_id(&api).stage_name("prod").access_log_settings(settings).send().await.unwrap();
    sdk.create_deployment().api_id(&api).stage_name("prod").send().await.unwrap();

    let (mut ws, _) = tokio_tungstenite::connect_async(format!("{endpoint}/prod")).await.unwrap();
    let id = next_event(&mut first, "CONNECT").await;
    assert_eq!(exchange(&mut ws, 1).await["first"]["n"], 1);
    ws.close(None).await.unwrap();
    assert_eq!(next_event(&mut first, "DISCONNECT").await, id);

    let lines = lines(&log_file(&server, "ws-access"), 3).await;
    let read: Vec<Value> = lines.iter().map(|line| serde_json::from_str(line).unwrap()).collect();
    let field = |name: &str| read.iter().map(|line| line[name].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(field("eventType"), ["CONNECT", "MESSAGE", "DISCONNECT"]);
    assert_eq!(field("routeKey"), ["$connect", "send", "$disconnect"]);
    assert_eq!(field("status"), ["200", "200", "200"]);
    assert_eq!(field("connectionId"), [id.as_str(), &id, &id]);
    assert_eq!(field("unknown"), ["-", "-", "-"], "unknown variables are dashes");
    assert_eq!(read[1]["integrationStatus"], "200");
    assert_eq!(field("error"), ["-", "-", "-"], "a quoted dash without an error");
    assert!(read.iter().all(|line| line["requestId"].as_str().is_some_and(|r| r.len() > 4)), "{lines:?}");

    // DeleteAccessLogSettings removes them from the stage.
    sdk.delete_access_log_settings().api_id(&api).stage_name("prod").send().await.unwrap();
    let stage = sdk.get_stage().api_id(&api).stage_name("prod").send().await.unwrap();
    assert!(stage.access_log_settings().is_none());
    server.shutdown().await;
}

const KEY: &str = "file-key-0123456789abcdef";
const FLAG_KEY: &str = "flag-key-0123456789abcdef";

/// `keyed` (stage `open`): `$connect` open, route `secret` needing a key; `locked` (stage `locked`): `$connect`
/// needing a key, with an access log. Only `--api-key`'s key opens `locked`; the file's opens `keyed` only.
fn keyed_apis(backend: &Backend) -> String {
    let url = backend.url();
    format!(
        r#"
[[api_keys]]
value = "{KEY}"
name = "ci"
apis = ["keyed"]

[[apis]]
api_id = "keyed"
stages = [{{ stage_name = "open" }}]
integrations = [{{ integration_id = "fn", integration_type = "AWS_PROXY", integration_uri = "{url}" }}]
routes = [
  {{ route_key = "$connect", target = "fn" }},
  {{ route_key = "secret", target = "fn", api_key_required = true }},
  {{ route_key = "$default", target = "fn" }},
]

[[apis]]
api_id = "locked"
stages = [{{ stage_name = "locked", access_log_settings = {{ destination_arn = "arn:aws:logs:us-east-1:000000000000:log-group:locked", format = "$context.requestId $context.eventType $context.status $context.error.messageString" }} }}]
integrations = [{{ integration_id = "fn", integration_type = "AWS_PROXY", integration_uri = "{url}" }}]
routes = [{{ route_key = "$connect", target = "fn", api_key_required = true }}]
"#
    )
}

/// A handshake to `/{stage}` with `x-api-key: key` when given: the socket, or the refusal's status.
async fn connect(server: &TestServer, stage: &str, key: Option<&str>) -> Result<Ws, u16> {
    let mut request = format!("ws://{}/{stage}", server.addr).into_client_request().unwrap();
    if let Some(key) = key {
        request.headers_mut().insert("x-api-key", key.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(other) => panic!("unexpected error {other}"),
    }
}

#[tokio::test]
async fn routes_that_require_an_api_key_admit_only_accepted_keys() {
    let mut backend = Backend::ok().await;
    let server = TestServer::start(&keyed_apis(&backend), |args| args.api_keys = vec![FLAG_KEY.to_owned()]).await;

    // A message route: the Forbidden frame without a key, the integration with one.
    let mut keyless = connect(&server, "open", None).await.unwrap();
    backend.next_of("CONNECT").await;
    send_text(&mut keyless, r#"{"action":"secret"}"#).await;
    let frame: Value = serde_json::from_str(&recv_text(&mut keyless).await).unwrap();
    assert_eq!(frame["message"], "Forbidden");
    send_text(&mut keyless, r#"{"action":"other"}"#).await;
    assert_eq!(backend.next_of("MESSAGE").await["requestContext"]["routeKey"], "$default");
    let mut keyed = connect(&server, "open", Some(KEY)).await.unwrap();
    backend.next_of("CONNECT").await;
    send_text(&mut keyed, r#"{"action":"secret"}"#).await;
    assert_eq!(backend.next_of("MESSAGE").await["requestContext"]["routeKey"], "secret");

    // `$connect`: 403 without a key, with an unknown one, or with a key for another API; the flag's key opens it.
    assert_eq!(connect(&server, "locked", None).await.err(), Some(403));
    assert_eq!(connect(&server, "locked", Some("not-a-key-0123456789abc")).await.err(), Some(403));
    assert_eq!(connect(&server, "locked", Some(KEY)).await.err(), Some(403), "the file's key opens `keyed` only");
    let _open = connect(&server, "locked", Some(FLAG_KEY)).await.unwrap();

    // The refused handshakes are in the stage's access log as API Gateway logs them, then the accepted one.
    let lines = lines(&log_file(&server, "locked"), 4).await;
    let tails: Vec<&str> = lines.iter().map(|line| line.split_once(' ').unwrap().1).collect();
    assert_eq!(tails[..3], [r#"CONNECT 403 "Forbidden""#; 3]);
    assert_eq!(tails[3], r#"CONNECT 200 "-""#);
    server.shutdown().await;
}
