//! Switchboard's extensions of the `@connections` management API (`models/switchboard/apigatewaymanagementapi-ext`):
//! raw signed HTTP at `{endpoint}/@switchboard/ext/apigatewaymanagementapi/{Operation}`, their errors in AWS's
//! shape, and the `switchboard apigatewaymanagementapi` commands the extension model gives.

use serde_json::{Value, json};

use crate::cli::{Cli, connected};
use crate::harness::*;

/// The path of an extension operation at the endpoint path `endpoint` (`/prod`, or empty).
fn ext(endpoint: &str, operation: &str) -> String {
    format!("{endpoint}/@switchboard/ext/apigatewaymanagementapi/{operation}")
}

/// A signed extension call with a JSON body.
fn call(endpoint: &str, operation: &str, body: &Value) -> Raw {
    Raw { body: body.to_string().into_bytes(), ..Raw::new("POST", ext(endpoint, operation)) }
}

#[tokio::test]
async fn close_connection_sends_the_callers_code_and_reason_and_disconnect_reports_them() {
    let (server, mut backend, mut ws, id) = connected().await;
    let body = json!({"ConnectionId": id, "CloseCode": 4001, "CloseReason": "Session replaced"});
    let (status, _, answer) = parts(call("/prod", "CloseConnection", &body).send(&server).await).await;
    assert_eq!((status, answer.as_str()), (204, ""));
    assert_eq!(recv_close(&mut ws).await, (4001, "Session replaced".to_owned()));
    let disconnect = backend.next_of("DISCONNECT").await;
    assert_eq!(disconnect["requestContext"]["disconnectStatusCode"], 4001);
    assert_eq!(disconnect["requestContext"]["disconnectReason"], "Session replaced");
    let (status, error_type, _) = parts(call("/prod", "CloseConnection", &body).send(&server).await).await;
    assert_eq!((status, error_type.as_str()), (410, "GoneException"));

    // Without a code and reason it closes as DeleteConnection does; at the stage-less endpoint too.
    let mut ws = server.connect("/prod").await;
    let id = backend.next_of("CONNECT").await["requestContext"]["connectionId"].as_str().unwrap().to_owned();
    let (status, _, _) = parts(call("", "CloseConnection", &json!({"ConnectionId": id})).send(&server).await).await;
    assert_eq!(status, 204);
    assert_eq!(recv_close(&mut ws).await, (1000, "Connection Closed Normally".to_owned()));
    server.shutdown().await;
}

#[tokio::test]
async fn extension_errors_are_aws_shaped() {
    let server = TestServer::start("", |_| {}).await;
    let unknown_id = "L0SM9cOFvHcCIhw=";
    let close = |body: Value| call("/prod", "CloseConnection", &body);
    let cases: Vec<(Raw, u16, &str, &str)> = vec![
        (close(json!({"ConnectionId": unknown_id})), 410, "GoneException", ""),
        (
            close(json!({"ConnectionId": "nope"})),
            400,
            "BadRequestException",
            r#"{"message":"Invalid connectionId: nope"}"#,
        ),
        (
            close(json!({"ConnectionId": unknown_id, "CloseCode": 1005})),
            400,
            "BadRequestException",
            r#"{"message":"Invalid CloseCode: 1005; a server may send 1000-1003, 1007-1009, 1011 (RFC 6455) or 3000-4999"}"#,
        ),
        (
            close(json!({"ConnectionId": unknown_id, "CloseCode": 2999})),
            400,
            "BadRequestException",
            r#"{"message":"Invalid CloseCode: 2999; a server may send 1000-1003, 1007-1009, 1011 (RFC 6455) or 3000-4999"}"#,
        ),
        (
            close(json!({"ConnectionId": unknown_id, "CloseCode": 5000})),
            400,
            "BadRequestException",
            r#"{"message":"Member CloseCode must be between 1000 and 4999"}"#,
        ),
        (
            // 62 characters, 124 bytes: within the model's 123 characters, over a close frame's 123 bytes.
            close(json!({"ConnectionId": unknown_id, "CloseReason": "é".repeat(62)})),
            400,
            "BadRequestException",
            r#"{"message":"Invalid CloseReason: longer than 123 bytes of UTF-8"}"#,
        ),
        (close(json!({})), 400, "BadRequestException", r#"{"message":"Member ConnectionId must not be null"}"#),
        (
            close(json!({"ConnectionId": unknown_id, "Code": 4000})),
            400,
            "BadRequestException",
            r#"{"message":"Member Code is not defined by the input of CloseConnection"}"#,
        ),
        (
            Raw { body: b"[".to_vec(), ..Raw::new("POST", ext("/prod", "CloseConnection")) },
            400,
            "BadRequestException",
            r#"{"message":"The request body is not valid JSON: EOF while parsing a list at line 1 column 1"}"#,
        ),
        // Unknown operations, methods and stages.
        (
            call("/prod", "Nothing", &json!({})),
            404,
            "UnknownOperationException",
            r#"{"message":"Switchboard has no extension operation \"Nothing\" of \"apigatewaymanagementapi\""}"#,
        ),
        (
            Raw::new("GET", ext("/prod", "CloseConnection")),
            404,
            "UnknownOperationException",
            r#"{"message":"Switchboard has no extension operation \"CloseConnection\" of \"apigatewaymanagementapi\""}"#,
        ),
        (
            Raw { path: ext("/nostage", "CloseConnection"), ..close(json!({"ConnectionId": unknown_id})) },
            403,
            "ForbiddenException",
            r#"{"message":"Forbidden"}"#,
        ),
        // Signatures: as the service it extends.
        (
            Raw { sign: false, ..close(json!({"ConnectionId": unknown_id})) },
            403,
            "MissingAuthenticationTokenException",
            r#"{"message":"Missing Authentication Token"}"#,
        ),
        (
            Raw { service: "ivschat", ..close(json!({"ConnectionId": unknown_id})) },
            403,
            "InvalidSignatureException",
            r#"{"message":"Credential should be scoped to correct service: 'execute-api'. "}"#,
        ),
    ];
    for (raw, status, error_type, body) in cases {
        let what = format!("{} {} {}", raw.method, raw.path, String::from_utf8_lossy(&raw.body));
        let (s, t, b) = parts(raw.send(&server).await).await;
        assert_eq!((s, t.as_str(), b.as_str()), (status, error_type, body), "{what}");
    }
    let metrics = server.metrics().await;
    assert!(metrics.contains(r#"operation="CloseConnection",status="410""#), "{metrics}");
    assert!(metrics.contains(r#"operation="UnknownExtension",status="404""#), "{metrics}");
    server.shutdown().await;
}

#[tokio::test]
async fn the_command_line_knows_the_extension_model() {
    let (server, mut backend, mut ws, id) = connected().await;
    let endpoint = server.url("/prod");
    let cli = Cli::new();
    let base = ["apigatewaymanagementapi", "close-connection", "--endpoint-url", &endpoint];
    cli.run(&[&base[..], &["--connection-id", &id, "--close-code", "4000", "--close-reason", "Bye"]].concat())
        .await
        .silent();
    assert_eq!(recv_close(&mut ws).await, (4000, "Bye".to_owned()));
    backend.next_of("DISCONNECT").await;

    let input = r#"{"ConnectionId": "L0SM9cOFvHcCIhw=", "CloseCode": 1005}"#;
    let bad = cli.run(&[&base[..], &["--cli-input-json", input]].concat()).await;
    assert_eq!(
        bad.fails(254),
        "An error occurred (BadRequestException) when calling the CloseConnection operation: Invalid CloseCode: 1005; \
         a server may send 1000-1003, 1007-1009, 1011 (RFC 6455) or 3000-4999"
    );
    let out_of_range = cli.run(&[&base[..], &["--connection-id", "x", "--close-code", "999"]].concat()).await;
    assert_eq!(
        out_of_range.fails(252),
        "Parameter validation failed: Invalid value for parameter CloseCode, value: 999, valid min value: 1000"
    );

    let help = cli.run(&["apigatewaymanagementapi", "help"]).await;
    assert!(help.ok().contains("SWITCHBOARD EXTENSIONS") && help.ok().contains("o close-connection"), "{help:?}");
    let page = cli.run(&["apigatewaymanagementapi", "close-connection", "help"]).await;
    assert!(page.ok().contains("--close-code (integer)"), "{page:?}");
    let skeleton = cli.run(&["apigatewaymanagementapi", "close-connection", "--generate-cli-skeleton"]).await;
    assert_eq!(skeleton.json(), json!({"ConnectionId": "", "CloseCode": 0, "CloseReason": ""}));
    server.shutdown().await;
}
