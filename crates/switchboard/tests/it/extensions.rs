//! Switchboard's extensions of the `@connections` management API (`models/switchboard/apigatewaymanagementapi-ext`):
//! raw signed HTTP at `{endpoint}/@switchboard/ext/apigatewaymanagementapi/{Operation}`, their errors in AWS's
//! shape, and the `switchboard apigatewaymanagementapi` commands the extension model gives.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
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
        (
            Raw { body: vec![b' '; (1 << 20) + 1], ..Raw::new("POST", ext("/prod", "CloseConnection")) },
            413,
            "PayloadTooLargeException",
            r#"{"message":"Request payload exceeds the maximum of 1048576 bytes"}"#,
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
        let what = format!("{} {} {:.200}", raw.method, raw.path, String::from_utf8_lossy(&raw.body));
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

    // Groups, metadata, listing (every page, as the AWS CLI pages), a group post and a broadcast.
    let (mut ws, id) = (server.connect("/prod").await, backend.next_of("CONNECT").await);
    let id_two = id["requestContext"]["connectionId"].as_str().unwrap().to_owned();
    let (mut ws_three, three) = (server.connect("/prod").await, backend.next_of("CONNECT").await);
    let id_three = three["requestContext"]["connectionId"].as_str().unwrap().to_owned();
    for id in [&id_two, &id_three] {
        let update = [&base[..1], &["update-connection", "--endpoint-url", &endpoint, "--connection-id", id]].concat();
        let answer = cli.run(&[&update[..], &["--join-groups", "room-42", "--metadata", "user=alice"]].concat()).await;
        assert_eq!(answer.json()["Groups"], json!(["room-42"]));
    }
    let listed = cli
        .run(&["apigatewaymanagementapi", "list-connections", "--group", "room-42", "--endpoint-url", &endpoint])
        .await;
    assert_eq!(listed.json()["Connections"].as_array().unwrap().len(), 2);
    // A page of one a call, joined; then the CLI's own token where --max-items stops, which --starting-token
    // resumes; and the service's token with --no-paginate.
    let list = ["apigatewaymanagementapi", "list-connections", "--endpoint-url", &endpoint];
    let all = cli.run(&[&list[..], &["--page-size", "1"]].concat()).await.json();
    assert_eq!((all["Connections"].as_array().unwrap().len(), all.get("NextToken")), (2, None), "{all}");
    let first = cli.run(&[&list[..], &["--max-items", "1"]].concat()).await.json();
    assert_eq!(first["Connections"].as_array().unwrap().len(), 1);
    let token = first["NextToken"].as_str().unwrap();
    let query = ["--query", "[Connections[].Metadata.user, NextToken]", "--output", "text"];
    let second = cli.run(&[&list[..], &["--starting-token", token], &query[..]].concat()).await;
    let mut words: Vec<&str> = second.ok().split_whitespace().collect();
    words.sort_unstable();
    assert_eq!(words, ["None", "alice"], "the last page, with no token");
    let one = cli.run(&[&list[..], &["--no-paginate", "--max-results", "1"]].concat()).await.json();
    let (listed, service_token) = (one["Connections"].as_array().unwrap().len(), one["NextToken"].as_str().unwrap());
    assert_eq!(listed, 1);
    let by_hand = cli.run(&[&list[..], &["--next-token", service_token, "--max-results", "1"]].concat()).await.json();
    assert_eq!(by_hand["Connections"].as_array().unwrap().len(), 1, "a token given by hand makes one call");
    let posted = cli
        .run(&[
            "apigatewaymanagementapi",
            "post-to-group",
            "--group",
            "room-42",
            "--data",
            "hi",
            "--endpoint-url",
            &endpoint,
        ])
        .await;
    assert_eq!(posted.json()["Delivered"], 2);
    let sent = cli
        .run(&[
            "apigatewaymanagementapi",
            "post-to-connections",
            "--connection-ids",
            &id_two,
            "nope",
            "--data",
            "yo",
            "--endpoint-url",
            &endpoint,
        ])
        .await;
    assert_eq!(sent.json()["Results"][1], json!({"ConnectionId": "nope", "Status": "MALFORMED_ID"}));
    assert_eq!(recv_text(&mut ws).await, "hi");
    assert_eq!(recv_text(&mut ws).await, "yo");
    assert_eq!(recv_text(&mut ws_three).await, "hi");

    let help = cli.run(&["apigatewaymanagementapi", "help"]).await;
    assert!(help.ok().contains("SWITCHBOARD EXTENSIONS") && help.ok().contains("o close-connection"), "{help:?}");
    let page = cli.run(&["apigatewaymanagementapi", "close-connection", "help"]).await;
    assert!(page.ok().contains("--close-code (integer)"), "{page:?}");
    let skeleton = cli.run(&["apigatewaymanagementapi", "close-connection", "--generate-cli-skeleton"]).await;
    assert_eq!(skeleton.json(), json!({"ConnectionId": "", "CloseCode": 0, "CloseReason": ""}));
    server.shutdown().await;
}

/// A backend whose `$connect` answer sets the groups and metadata of the query's `g` and `m` parameters.
async fn tagging_backend() -> Backend {
    Backend::start(|event| {
        let query = &event["queryStringParameters"];
        let mut headers = serde_json::Map::new();
        if let Some(groups) = query["g"].as_str() {
            headers.insert("X-Switchboard-Groups".to_owned(), groups.into());
        }
        if let Some(metadata) = query["m"].as_str() {
            headers.insert("X-Switchboard-Metadata".to_owned(), metadata.into());
        }
        Reply::Json(json!({"statusCode": 200, "headers": headers}))
    })
    .await
}

/// Connects to `server` at `path` and answers the connection id `$connect` saw.
async fn client(server: &TestServer, backend: &mut Backend, path: &str) -> (Ws, String) {
    let ws = server.connect(path).await;
    let event = backend.next_of("CONNECT").await;
    (ws, event["requestContext"]["connectionId"].as_str().unwrap().to_owned())
}

/// An extension call that must succeed; its JSON answer.
async fn ok(server: &TestServer, endpoint: &str, operation: &str, body: Value) -> Value {
    let (status, error_type, answer) = parts(call(endpoint, operation, &body).send(server).await).await;
    assert_eq!((status, error_type.as_str()), (200, ""), "{operation} {body}: {answer}");
    serde_json::from_str(&answer).unwrap()
}

/// An extension call that must fail; its status, error type and message.
async fn refused(server: &TestServer, operation: &str, body: Value) -> (u16, String, String) {
    let (status, error_type, answer) = parts(call("/prod", operation, &body).send(server).await).await;
    let message = serde_json::from_str::<Value>(&answer).map(|v| v["message"].as_str().unwrap_or("").to_owned());
    (status, error_type, message.unwrap_or(answer))
}

/// The ids of a ListConnections answer, in the order listed.
fn ids(listed: &Value) -> Vec<String> {
    listed["Connections"].as_array().unwrap().iter().map(|c| c["ConnectionId"].as_str().unwrap().to_owned()).collect()
}

/// `ids` in the order ListConnections lists them: by the bytes an id stands for (its node, then when it connected),
/// which is not the order of their base64 text (`z` sorts before `0`).
fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort_by_key(|id| URL_SAFE.decode(id).unwrap());
    ids
}

#[tokio::test]
async fn groups_and_metadata_from_connect_and_update_then_list_and_post_to_a_group() {
    let mut backend = tagging_backend().await;
    let server = TestServer::with_backend(&backend).await;
    let (mut a, a_id) = client(&server, &mut backend, "/prod?g=lobby,room-1&m=user%3Dalice%26team%3Dred%2520one").await;
    let (mut b, b_id) = client(&server, &mut backend, "/prod?g=lobby").await;
    let (mut c, c_id) = client(&server, &mut backend, "/prod").await;

    let all = ok(&server, "/prod", "ListConnections", json!({})).await;
    assert_eq!(ids(&all), sorted(vec![a_id.clone(), b_id.clone(), c_id.clone()]));
    let first = all["Connections"].as_array().unwrap().iter().find(|c| c["ConnectionId"] == a_id.as_str()).unwrap();
    assert_eq!(first["Groups"], json!(["lobby", "room-1"]));
    assert_eq!(first["Metadata"], json!({"team": "red one", "user": "alice"}));
    assert_eq!(first["Identity"]["SourceIp"], "127.0.0.1");
    assert!(first["ConnectedAt"].as_str().unwrap().ends_with('Z') && first["LastActiveAt"].is_string());
    assert!(all.get("NextToken").is_none());
    assert_eq!(
        ids(&ok(&server, "", "ListConnections", json!({"Group": "lobby"})).await),
        sorted(vec![a_id.clone(), b_id.clone()])
    );

    // Pages of one, with an opaque token, until the last.
    let page = ok(&server, "/prod", "ListConnections", json!({"Group": "lobby", "MaxResults": 1})).await;
    let token = page["NextToken"].as_str().unwrap().to_owned();
    let rest =
        ok(&server, "/prod", "ListConnections", json!({"Group": "lobby", "MaxResults": 1, "NextToken": token})).await;
    assert!(rest.get("NextToken").is_none(), "{rest}");
    assert_eq!([ids(&page), ids(&rest)].concat(), sorted(vec![a_id.clone(), b_id.clone()]));

    let updated = ok(
        &server,
        "/prod",
        "UpdateConnection",
        json!({"ConnectionId": c_id, "JoinGroups": ["lobby"], "Metadata": {"k": "v"}}),
    )
    .await;
    assert_eq!(updated, json!({"ConnectionId": c_id, "Groups": ["lobby"], "Metadata": {"k": "v"}}));
    let posted = ok(&server, "/prod", "PostToGroup", json!({"Group": "lobby", "Data": "aGkgbG9iYnk="})).await;
    assert_eq!(posted, json!({"Delivered": 3, "OutboxFull": 0, "UnreachableNodes": 0}));
    for ws in [&mut a, &mut b, &mut c] {
        assert_eq!(recv_text(ws).await, "hi lobby");
    }

    // A group disappears with its last member; leaving and removing metadata.
    ok(
        &server,
        "/prod",
        "UpdateConnection",
        json!({"ConnectionId": a_id, "LeaveGroups": ["room-1"], "RemoveMetadata": ["team"]}),
    )
    .await;
    let posted = ok(&server, "/prod", "PostToGroup", json!({"Group": "room-1", "Data": "eA=="})).await;
    assert_eq!(posted["Delivered"], 0);
    // Another stage's endpoint sees none of them.
    let other = ok(&server, "/@apis/elsewhere/prod", "ListConnections", json!({})).await;
    assert_eq!(other["Connections"], json!([]));

    // A connection that closes leaves its groups.
    let (status, _, _) =
        parts(call("/prod", "CloseConnection", &json!({"ConnectionId": b_id})).send(&server).await).await;
    assert_eq!(status, 204);
    recv_close(&mut b).await;
    backend.next_of("DISCONNECT").await;
    assert_eq!(
        ids(&ok(&server, "/prod", "ListConnections", json!({"Group": "lobby"})).await),
        sorted(vec![a_id.clone(), c_id.clone()])
    );
    server.shutdown().await;
}

#[tokio::test]
async fn groups_and_metadata_are_bounded() {
    let mut backend = tagging_backend().await;
    let server = TestServer::with_backend(&backend).await;
    let (_ws, id) = client(&server, &mut backend, "/prod?g=g0").await;
    let groups = |from: usize, n: usize| (from..from + n).map(|i| format!("g{i}")).collect::<Vec<_>>();
    let update = |body: Value| {
        let mut body = body;
        body["ConnectionId"] = Value::String(id.clone());
        body
    };
    let over_a_request = refused(&server, "UpdateConnection", update(json!({"JoinGroups": groups(1, 51)}))).await;
    assert_eq!(
        over_a_request,
        (400, "BadRequestException".to_owned(), "Member JoinGroups must be a list of at most 50 items".to_owned())
    );
    let long_name = refused(&server, "UpdateConnection", update(json!({"JoinGroups": ["x".repeat(129)]}))).await;
    assert_eq!(long_name.2, "Member JoinGroups.0 must be between 1 and 128 characters long");
    ok(&server, "/prod", "UpdateConnection", update(json!({"JoinGroups": groups(1, 49)}))).await;
    let over = refused(&server, "UpdateConnection", update(json!({"JoinGroups": ["one-more"]}))).await;
    assert_eq!(
        over,
        (400, "GroupLimitExceededException".to_owned(), "A connection may be in at most 50 groups".to_owned())
    );
    let swap =
        ok(&server, "/prod", "UpdateConnection", update(json!({"JoinGroups": ["one-more"], "LeaveGroups": ["g0"]})))
            .await;
    assert_eq!(swap["Groups"].as_array().unwrap().len(), 50);

    let sixteen: serde_json::Map<String, Value> = (0..16).map(|i| (format!("k{i}"), Value::from("v"))).collect();
    ok(&server, "/prod", "UpdateConnection", update(json!({"Metadata": sixteen}))).await;
    let over = refused(&server, "UpdateConnection", update(json!({"Metadata": {"k16": "v"}}))).await;
    assert_eq!(
        over,
        (
            400,
            "MetadataLimitExceededException".to_owned(),
            "A connection may have at most 16 metadata pairs".to_owned()
        )
    );
    let long_value = refused(&server, "UpdateConnection", update(json!({"Metadata": {"k0": "v".repeat(257)}}))).await;
    assert_eq!(long_value.2, "Member Metadata.k0 must be between 0 and 256 characters long");
    let long_key = refused(&server, "UpdateConnection", update(json!({"Metadata": {"k".repeat(65): "v"}}))).await;
    assert_eq!(long_key.2, "Member Metadata key must be between 1 and 64 characters long");
    let gone = refused(&server, "UpdateConnection", json!({"ConnectionId": "L0SM9cOFvHcCIhw="})).await;
    assert_eq!((gone.0, gone.1.as_str()), (410, "GoneException"));
    let token = refused(&server, "ListConnections", json!({"NextToken": "bm9wZQ"})).await;
    assert_eq!(token, (400, "BadRequestException".to_owned(), "Invalid NextToken".to_owned()));
    let page = refused(&server, "ListConnections", json!({"MaxResults": 101})).await;
    assert_eq!(page.2, "Member MaxResults must be between 1 and 100");

    // A `$connect` answer out of bounds refuses the handshake as a failed integration, and sends no such header.
    let long = format!("/prod?g={}", "x".repeat(129));
    let refusal = server.try_connect(&long, &[]).await.unwrap_err();
    assert!(refusal.to_string().contains("502"), "{refusal}");
    server.shutdown().await;
}

#[tokio::test]
async fn post_to_connections_answers_each_id_in_order() {
    let mut backend = tagging_backend().await;
    let server = TestServer::with_backend(&backend).await;
    let (mut a, a_id) = client(&server, &mut backend, "/prod").await;
    let (mut b, b_id) = client(&server, &mut backend, "/prod").await;
    let (mut closed, closed_id) = client(&server, &mut backend, "/prod").await;
    let (status, _, _) =
        parts(call("/prod", "CloseConnection", &json!({"ConnectionId": closed_id})).send(&server).await).await;
    assert_eq!(status, 204);
    recv_close(&mut closed).await;
    backend.next_of("DISCONNECT").await;

    let body = json!({"ConnectionIds": [a_id, "nope", closed_id, b_id, a_id], "Data": "aGVsbG8="});
    let answer = ok(&server, "/prod", "PostToConnections", body).await;
    let statuses: Vec<&str> =
        answer["Results"].as_array().unwrap().iter().map(|r| r["Status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["DELIVERED", "MALFORMED_ID", "GONE", "DELIVERED", "DELIVERED"]);
    assert_eq!(answer["Results"][1]["ConnectionId"], "nope");
    assert_eq!(answer["Delivered"], 3);
    assert_eq!(recv_text(&mut a).await, "hello");
    assert_eq!(recv_text(&mut a).await, "hello");
    assert_eq!(recv_text(&mut b).await, "hello");

    // 10,000 ids in one call (all but one unknown), answered in order; 10,001 are refused.
    let mut many: Vec<String> = (0..9_999u32).map(unknown_id).collect();
    many.push(b_id.clone());
    let started = tokio::time::Instant::now();
    let answer = ok(&server, "/prod", "PostToConnections", json!({"ConnectionIds": many, "Data": "eA=="})).await;
    println!("PostToConnections of 10,000 ids: {:?}", started.elapsed());
    assert_eq!(answer["Results"].as_array().unwrap().len(), 10_000);
    assert_eq!(answer["Results"][9_999]["Status"], "DELIVERED");
    assert_eq!(answer["Results"][0]["Status"], "GONE");
    assert_eq!(recv_text(&mut b).await, "x");
    many.push(a_id.clone());
    let over = refused(&server, "PostToConnections", json!({"ConnectionIds": many, "Data": "eA=="})).await;
    assert_eq!(over.2, "Member ConnectionIds must be a list of at most 10000 items");

    let big = base64_of(&vec![b'x'; 128 * 1024 + 1]);
    let too_big = refused(&server, "PostToConnections", json!({"ConnectionIds": [a_id], "Data": big})).await;
    assert_eq!((too_big.0, too_big.1.as_str()), (413, "PayloadTooLargeException"));
    let metrics = server.metrics().await;
    assert!(
        metrics.contains(r#"switchboard_extension_deliveries_total{operation="PostToConnections"} 4"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"switchboard_extension_outcomes_total{operation="PostToConnections",outcome="gone"} 10000"#),
        "{metrics}"
    );
    server.shutdown().await;
}

/// A well-formed id of this node that names no connection (sequence numbers far from any live one's).
fn unknown_id(i: u32) -> String {
    use base64::Engine;
    let mut bytes = [0u8; 11];
    bytes[2..6].copy_from_slice(&i.to_be_bytes());
    base64::engine::general_purpose::URL_SAFE.encode(bytes)
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test]
#[ignore = "needs Redis and PostgreSQL: SWITCHBOARD_TEST_REDIS_URL, SWITCHBOARD_TEST_POSTGRES_URL"]
async fn every_extension_spans_a_two_node_cluster() {
    across_a_cluster(2).await;
}

#[tokio::test]
#[ignore = "needs Redis and PostgreSQL: SWITCHBOARD_TEST_REDIS_URL, SWITCHBOARD_TEST_POSTGRES_URL"]
async fn every_extension_works_on_a_one_node_cluster() {
    across_a_cluster(1).await;
}

/// Every extension on a cluster of `nodes` (1 or 2) nodes: the second client's node is the second node, if any.
async fn across_a_cluster(nodes: usize) {
    let env = crate::cluster::ClusterEnv::get();
    let mut backend = tagging_backend().await;
    let one = crate::cluster::node(&env, &backend).await;
    let second = match nodes {
        2 => Some(crate::cluster::node(&env, &backend).await),
        _ => None,
    };
    let two = second.as_ref().unwrap_or(&one);
    let (mut a, a_id) = client(&one, &mut backend, "/prod?g=lobby&m=user%3Da").await;
    let (mut b, b_id) = client(two, &mut backend, "/prod?g=lobby").await;
    let (mut c, c_id) = client(two, &mut backend, "/prod").await;
    let everyone = sorted(vec![a_id.clone(), b_id.clone(), c_id.clone()]);

    // Listed from either node, in id order, a page at a time across the nodes.
    assert_eq!(ids(&ok(two, "/prod", "ListConnections", json!({})).await), everyone);
    let mut paged = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut body = json!({"MaxResults": 1});
        if let Some(token) = &token {
            body["NextToken"] = Value::String(token.clone());
        }
        let page = ok(&one, "/prod", "ListConnections", body).await;
        paged.extend(ids(&page));
        match page["NextToken"].as_str() {
            Some(next) => token = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(paged, everyone, "pages in id order, each connection once");

    // UpdateConnection of another node's connection, then a group post from a third party's view.
    let updated = ok(&one, "/prod", "UpdateConnection", json!({"ConnectionId": c_id, "JoinGroups": ["lobby"]})).await;
    assert_eq!(updated["Groups"], json!(["lobby"]));
    let lobby = ok(&one, "/prod", "ListConnections", json!({"Group": "lobby"})).await;
    assert_eq!(ids(&lobby), everyone);
    let posted = ok(&one, "/prod", "PostToGroup", json!({"Group": "lobby", "Data": "Z3JvdXA="})).await;
    assert_eq!(posted, json!({"Delivered": 3, "OutboxFull": 0, "UnreachableNodes": 0}));
    for ws in [&mut a, &mut b, &mut c] {
        assert_eq!(recv_text(ws).await, "group");
    }

    // A broadcast from the second node: one forward for the first node's id, a node nobody holds is gone.
    let nobody = format!("Z{}", &a_id[1..]);
    let body = json!({"ConnectionIds": [a_id, b_id, nobody, c_id], "Data": "YWxs"});
    let answer = ok(two, "/prod", "PostToConnections", body).await;
    let statuses: Vec<&str> =
        answer["Results"].as_array().unwrap().iter().map(|r| r["Status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["DELIVERED", "DELIVERED", "GONE", "DELIVERED"]);
    for ws in [&mut a, &mut b, &mut c] {
        assert_eq!(recv_text(ws).await, "all");
    }

    // CloseConnection of the first node's connection from the second.
    let close = json!({"ConnectionId": a_id, "CloseCode": 4002, "CloseReason": "moved"});
    let (status, _, _) = parts(call("/prod", "CloseConnection", &close).send(two).await).await;
    assert_eq!(status, 204);
    assert_eq!(recv_close(&mut a).await, (4002, "moved".to_owned()));
    backend.next_of("DISCONNECT").await;
    assert_eq!(ids(&ok(two, "/prod", "ListConnections", json!({"Group": "lobby"})).await), sorted(vec![b_id, c_id]));
    one.shutdown().await;
    if let Some(second) = second {
        second.shutdown().await;
    }
    env.cleanup().await;
}
