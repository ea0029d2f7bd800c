//! The web console on the admin listener and its capture: the JSON API and live stream against a real server,
//! backend and WebSocket client; signing in off loopback; `--console off`; and the page itself in headless Chromium
//! (Debian's `chromium`, driven by Playwright's library from `tests/fixtures/console`).

use std::time::Duration;

use aws_sdk_lambda::primitives::Blob;
use serde_json::{Value, json};
use server::config::Switch;

use crate::deps;
use crate::harness::*;

/// How long a condition may take to hold.
const DEADLINE: Duration = Duration::from_secs(10);

/// A backend that answers each message `echo: {body}` and everything else 200.
async fn echo_backend() -> Backend {
    Backend::start(|event| {
        let route = event["requestContext"]["routeKey"].as_str().unwrap_or_default();
        if route.starts_with('$') && route != "$default" {
            return Reply::Json(json!({ "statusCode": 200 }));
        }
        let body = event["body"].as_str().unwrap_or_default();
        Reply::Json(json!({ "statusCode": 200, "body": format!("echo: {body}") }))
    })
    .await
}

async fn server_with(backend: &Backend, tweak: impl FnOnce(&mut server::config::ServeArgs)) -> TestServer {
    server_with_file(backend, "", tweak).await
}

/// [`server_with`] and a configuration file's text.
async fn server_with_file(
    backend: &Backend,
    file_toml: &str,
    tweak: impl FnOnce(&mut server::config::ServeArgs),
) -> TestServer {
    let url = backend.url();
    TestServer::start(file_toml, |a| {
        a.routes = vec![format!("$connect={url}"), format!("$disconnect={url}"), format!("$default={url}")];
        a.route_responses = vec!["$default".to_owned()];
        tweak(a);
    })
    .await
}

/// The console's URL on the admin listener, reached through loopback whatever address it is bound to.
fn console_url(server: &TestServer, path: &str) -> String {
    format!("http://127.0.0.1:{}/@switchboard/console{path}", server.admin_addr.port())
}

async fn get(client: &reqwest::Client, url: &str) -> (u16, Value) {
    let response = client.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    (status, serde_json::from_slice(&response.bytes().await.unwrap()).unwrap_or(Value::Null))
}

/// A POST as the console's page makes it, with the header state-changing calls need.
fn post(http: &reqwest::Client, url: String) -> reqwest::RequestBuilder {
    http.post(url).header("x-switchboard-console", "1")
}

/// Polls `check` until it answers something, for at most [`DEADLINE`].
async fn eventually<T, F: Future<Output = Option<T>>>(what: &str, mut check: impl FnMut() -> F) -> T {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: not within {DEADLINE:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Reads a Server-Sent Events stream until its text holds every one of `wanted`.
async fn read_stream_until(response: &mut reqwest::Response, wanted: &[&str]) -> String {
    let mut text = String::new();
    let read = async {
        while !wanted.iter().all(|w| text.contains(w)) {
            let chunk = response.chunk().await.unwrap().expect("the stream stays open");
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    let outcome = tokio::time::timeout(DEADLINE, read).await;
    assert!(outcome.is_ok(), "the stream did not carry {wanted:?} within {DEADLINE:?}:\n{text}");
    text
}

#[tokio::test]
async fn the_console_api_shows_connections_their_traffic_and_acts_on_them() {
    let mut backend = echo_backend().await;
    let server = server_with(&backend, |_| {}).await;
    let http = reqwest::Client::new();
    let (status, overview) = get(&http, &console_url(&server, "/api/overview")).await;
    assert_eq!((status, &overview["connections"]), (200, &json!(0)), "on loopback nobody signs in: {overview}");
    assert_eq!(overview["stages"], json!([{ "api": "switchboard", "stage": "prod", "connections": 0 }]));
    assert_eq!(
        (&overview["node"], &overview["nodes"], &overview["scope"]),
        (&json!(0), &json!([0]), &json!("cluster"))
    );
    let page = http.get(console_url(&server, "")).send().await.unwrap();
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    assert!(page.text().await.unwrap().contains("/@switchboard/console/app.js"));

    let mut stream = http.get(console_url(&server, "/api/events?stage=prod")).send().await.unwrap();
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    read_stream_until(&mut stream, &[": subscribed"]).await;

    let mut ws = server.try_connect("/prod", &[("authorization", "Bearer 0123456789abcdef")]).await.unwrap();
    backend.next_of("CONNECT").await;
    let (_, overview) = get(&http, &console_url(&server, "/api/overview")).await;
    assert_eq!(overview["connections"], 1);
    assert_eq!(overview["stages"][0]["connections"], 1);
    let (_, list) = get(&http, &console_url(&server, "/api/connections?stage=prod")).await;
    assert_eq!(list["total"], 1, "{list}");
    let id = list["items"][0]["id"].as_str().unwrap().to_owned();
    let (_, none) = get(&http, &console_url(&server, "/api/connections?stage=dev")).await;
    assert_eq!(none["total"], 0);

    send_text(&mut ws, "hello").await;
    assert_eq!(recv_text(&mut ws).await, "echo: hello");
    let live = read_stream_until(&mut stream, &["event: frameIn", "event: route", "event: frameOut"]).await;
    assert!(live.contains(&format!("\"connection\":\"{id}\"")), "{live}");

    let (status, page) = get(&http, &console_url(&server, &format!("/api/connections/{id}"))).await;
    assert_eq!(status, 200);
    let events = page["events"].as_array().unwrap();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["route", "opened", "frameIn", "route", "frameOut"], "{page}");
    assert_eq!((&events[0]["route"], &events[0]["status"]), (&json!("$connect"), &json!(200)));
    let connect: Value = serde_json::from_str(events[0]["event"].as_str().unwrap()).unwrap();
    assert_eq!(connect["requestContext"]["eventType"], "CONNECT");
    assert_eq!(
        connect["headers"]["Authorization"], "Bear… (23 characters)",
        "secrets in $connect's event are masked: {connect}"
    );
    assert!(!events[0].to_string().contains("0123456789abcdef"));
    let headers: Vec<(String, String)> = serde_json::from_value(events[1]["headers"].clone()).unwrap();
    let key = headers.iter().find(|(name, _)| name == "sec-websocket-key").map(|(_, v)| v.as_str());
    assert!(key.is_some_and(|key| key.len() < 24 && key.ends_with("… (24 characters)")), "masked: {key:?}");
    let route = &events[3];
    assert_eq!(
        (&route["route"], &route["outcome"], &route["status"]),
        (&json!("$default"), &json!("answered"), &json!(200))
    );
    let event: Value = serde_json::from_str(route["event"].as_str().unwrap()).unwrap();
    assert_eq!(event["body"], "hello", "the event the integration received");
    assert_eq!(event["requestContext"]["connectionId"], id.as_str());
    let answer: Value = serde_json::from_str(route["answer"].as_str().unwrap()).unwrap_or(route["answer"].clone());
    assert_eq!(answer, "echo: hello");
    assert_eq!(events[4]["data"], "echo: hello");
    // A reconnecting subscriber (`Last-Event-ID`) gets the backlog after what it had, then live events.
    let resumed = http
        .get(console_url(&server, "/api/events"))
        .query(&[("connection", id.as_str()), ("backlog", "100")])
        .header("last-event-id", events[2]["seq"].to_string());
    let mut resumed = resumed.send().await.unwrap();
    let text = read_stream_until(&mut resumed, &["event: route", "event: frameOut"]).await;
    assert!(!text.contains("event: opened") && !text.contains("event: frameIn"), "{text}");

    // A call without the console's header (what another site's page could send), or under another site's name (a
    // rebound DNS name), is refused.
    let forged = http.post(console_url(&server, &format!("/api/connections/{id}/send"))).body("forged");
    assert_eq!(forged.send().await.unwrap().status(), 403);
    let rebound = http.get(console_url(&server, "/api/overview")).header("host", "evil.example:4511");
    assert_eq!(rebound.send().await.unwrap().status(), 403);
    let named = http.get(console_url(&server, "/api/overview")).header("host", "localhost:4511");
    assert_eq!(named.send().await.unwrap().status(), 200);

    // Send and disconnect go through the management API's code.
    let sent = post(&http, console_url(&server, &format!("/api/connections/{id}/send"))).body("from the console");
    assert_eq!(sent.send().await.unwrap().status(), 200);
    assert_eq!(recv_text(&mut ws).await, "from the console");
    let closed = post(&http, console_url(&server, &format!("/api/connections/{id}/disconnect")));
    assert_eq!(closed.send().await.unwrap().status(), 200);
    assert_eq!(recv_close(&mut ws).await.0, 1000);
    let disconnect = backend.next_of("DISCONNECT").await;
    assert_eq!(disconnect["requestContext"]["connectionId"], id.as_str());
    read_stream_until(&mut stream, &["event: management", "event: closed"]).await;
    let again = post(&http, console_url(&server, &format!("/api/connections/{id}/send"))).body("late");
    assert_eq!(again.send().await.unwrap().status(), 410, "a closed connection is gone");
    let (_, page) = get(&http, &console_url(&server, &format!("/api/connections/{id}"))).await;
    assert_eq!(page["live"], Value::Null);
    let events = page["events"].as_array().unwrap();
    let closed = events.iter().find(|e| e["type"] == "closed").unwrap();
    assert_eq!((&closed["code"], &closed["cause"]), (&json!(1000), &json!("server: Deleted")), "{page}");
    let calls: Vec<Value> =
        events.iter().filter(|e| e["type"] == "management").map(|e| json!([e["operation"], e["status"]])).collect();
    let expected =
        [json!(["PostToConnection", 200]), json!(["DeleteConnection", 204]), json!(["PostToConnection", 410])];
    assert_eq!(calls, expected, "management calls, each with its status");
    eventually("the overview counts no connection", || async {
        let (_, overview) = get(&http, &console_url(&server, "/api/overview")).await;
        (overview["connections"] == 0).then_some(())
    })
    .await;
    assert_eq!(get(&http, &console_url(&server, "/api/connections/not-an-id")).await.0, 400);
    // Shutdown ends the live streams (the admin listener stops last, and waits for nothing of theirs).
    let mut open = http.get(console_url(&server, "/api/events")).send().await.unwrap();
    read_stream_until(&mut open, &[": subscribed"]).await;
    server.shutdown().await;
    let ended = tokio::time::timeout(DEADLINE, async { while let Ok(Some(_)) = open.chunk().await {} });
    assert!(ended.await.is_ok(), "the stream ended with the server");
}

#[tokio::test]
async fn off_loopback_the_console_requires_signing_in_with_a_key_pair() {
    let backend = echo_backend().await;
    let server = server_with(&backend, |a| a.admin_listen = Some("0.0.0.0:0".parse().unwrap())).await;
    let http = reqwest::Client::new();
    assert_eq!(http.get(console_url(&server, "")).send().await.unwrap().status(), 200, "the page itself holds no data");
    for path in ["/api/overview", "/api/connections", "/api/events"] {
        assert_eq!(get(&http, &console_url(&server, path)).await.0, 401, "{path}");
    }
    let (_, session) = get(&http, &console_url(&server, "/api/session")).await;
    assert_eq!(session, json!({ "signInRequired": true, "signedIn": false }));
    let sign_in = |secret: &str| {
        post(&http, console_url(&server, "/api/signin"))
            .header("content-type", "application/json")
            .body(json!({ "accessKeyId": AKID, "secretAccessKey": secret }).to_string())
            .send()
    };
    let refused = sign_in("switchboard/test/secret/key/0123456789aX").await.unwrap();
    assert_eq!(refused.status(), 401);
    assert!(refused.headers().get("set-cookie").is_none());
    let accepted = sign_in(SECRET).await.unwrap();
    assert_eq!(accepted.status(), 200);
    let cookie = accepted.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(!cookie.contains(SECRET), "{cookie}");
    let session = cookie.split(';').next().unwrap().to_owned();
    let with =
        |cookie: &str, path: &str| http.get(console_url(&server, path)).header("cookie", cookie.to_owned()).send();
    assert_eq!(with(&session, "/api/overview").await.unwrap().status(), 200);
    // A cookie whose expiry was pushed out, or whose tag was changed, is refused.
    let (rest, tag) = session.rsplit_once('.').unwrap();
    let (start, expiry) = rest.rsplit_once('.').unwrap();
    let extended = format!("{start}.{}.{tag}", expiry.parse::<i64>().unwrap() + 3600);
    assert_eq!(with(&extended, "/api/overview").await.unwrap().status(), 401);
    let forged = format!("{rest}.{}", "0".repeat(tag.len()));
    assert_eq!(with(&forged, "/api/overview").await.unwrap().status(), 401);
    // Guessing is throttled: past a burst of ten attempts, two a second.
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(sign_in("a guess").await.unwrap().status().as_u16());
    }
    assert!(statuses.contains(&429) && statuses.iter().all(|s| [401, 429].contains(s)), "{statuses:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn with_the_console_off_nothing_is_served_or_captured() {
    let backend = echo_backend().await;
    let server = server_with(&backend, |a| a.console = Some(Switch::Off)).await;
    assert!(server.state().capture.is_none());
    let http = reqwest::Client::new();
    for path in ["", "/api/overview", "/api/events"] {
        assert_eq!(http.get(console_url(&server, path)).send().await.unwrap().status(), 404, "{path}");
    }
    let mut ws = server.connect("/prod").await;
    send_text(&mut ws, "still served").await;
    assert_eq!(recv_text(&mut ws).await, "echo: still served");
    server.shutdown().await;
}

/// Debian's Chromium, where it is installed.
const CHROMIUM: &str = "/usr/bin/chromium";

#[tokio::test]
async fn the_console_works_in_headless_chromium() {
    if !std::path::Path::new(CHROMIUM).exists() {
        eprintln!("skipped: {CHROMIUM} is not installed (apt-get install chromium)");
        return;
    }
    let Some(fixture) = deps::console_fixture() else { return };
    let mut backend = echo_backend().await;
    let code = shell_function();
    let file = shell_function_toml(code.path());
    let server = server_with_file(&backend, &file, |a| a.admin_listen = Some("0.0.0.0:0".parse().unwrap())).await;
    let invoked = crate::lambda::sdk(&server).invoke().function_name("shell").payload(Blob::new(r#"{"say":"hi"}"#));
    assert_eq!(invoked.send().await.unwrap().function_error(), None, "the Functions page shows this invocation");
    // SWITCHBOARD_CONSOLE_SCREENSHOTS=docs/console renews the README's pictures; by default they go to a temporary
    // directory.
    let temp = tempfile::tempdir().unwrap();
    let shots = std::env::var_os("SWITCHBOARD_CONSOLE_SCREENSHOTS")
        .map_or_else(|| temp.path().to_owned(), |dir| deps::root().join(dir));
    let sdk = server.chat_sdk();
    let arn = crate::chat::room(&sdk).await;
    let room_token = crate::chat::token(&sdk, &arn, "console-user", &[], &[]).await;
    let mut command = tokio::process::Command::new("node");
    command
        .arg(fixture.join("console.mjs"))
        .env("CHROMIUM", CHROMIUM)
        .env("CONSOLE", console_url(&server, ""))
        .env("SOCKET", format!("ws://{}/prod", server.addr))
        .env("CHAT_SOCKET", format!("ws://{}/", server.addr))
        .env("ROOM_TOKEN", room_token)
        .env("AKID", AKID)
        .env("SECRET", SECRET)
        .env("SCREENSHOTS", &shots)
        .kill_on_drop(true);
    let run = tokio::time::timeout(Duration::from_secs(120), command.output()).await;
    let output = run.expect("the browser run ends within two minutes").unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success() && said.contains("console: every check passed"), "{said}");
    // The console's disconnect ran `$disconnect`, as a DeleteConnection does.
    backend.next_of("CONNECT").await;
    let disconnect = backend.next_of("DISCONNECT").await;
    assert_eq!(disconnect["requestContext"]["eventType"], "DISCONNECT");
    // The settings saved from the room's page are the room's.
    let stored = sdk.get_room().identifier(&arn).send().await.unwrap();
    assert_eq!((stored.name(), stored.maximum_message_length()), (Some("console-room"), Some(300)));
    let [config] = stored.logging_configuration_identifiers() else { panic!("one logging configuration: {stored:?}") };
    let config = sdk.get_logging_configuration().identifier(config).send().await.unwrap();
    assert_eq!(config.name(), Some("console-logs"), "created from the console, and kept while the room uses it");
    let shot_names = [
        "signin.png",
        "overview.png",
        "connections.png",
        "connection.png",
        "rooms.png",
        "room.png",
        "logging.png",
        "functions.png",
    ];
    for shot in shot_names.iter().chain(&["overview-phone.png"]) {
        assert!(shots.join(shot).metadata().is_ok_and(|m| m.len() > 1000), "{shot} was taken");
    }
    server.shutdown().await;
}

/// Reads lines of a child's stdout until one holds every part of `wanted`.
async fn line_with(
    lines: &mut tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    wanted: &[&str],
) -> String {
    let read = async {
        loop {
            let line = lines.next_line().await.unwrap().expect("the command is still running");
            if wanted.iter().all(|w| line.contains(w)) {
                return line;
            }
        }
    };
    tokio::time::timeout(DEADLINE, read).await.unwrap_or_else(|_| panic!("no line with {wanted:?} within {DEADLINE:?}"))
}

fn tail(endpoint: &str, args: &[&str]) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["tail", "--admin-endpoint", endpoint, "--backlog", "100"])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

#[tokio::test]
async fn tail_streams_the_log_and_connections_and_rooms_list_what_is_live() {
    use tokio::io::AsyncBufReadExt;
    let backend = echo_backend().await;
    let server = server_with(&backend, |_| {}).await;
    let endpoint = format!("http://{}", server.admin_addr);
    let mut ws = server.connect("/prod").await;
    send_text(&mut ws, "hi").await;
    assert_eq!(recv_text(&mut ws).await, "echo: hi");

    let mut json_tail = tail(&endpoint, &["--stage", "prod", "--json"]);
    let mut lines = tokio::io::BufReader::new(json_tail.stdout.take().unwrap()).lines();
    let frame: Value = serde_json::from_str(&line_with(&mut lines, &["\"type\":\"frameIn\""]).await).unwrap();
    assert_eq!(frame["data"], "hi");
    let id = frame["connection"].as_str().unwrap().to_owned();
    let route: Value = serde_json::from_str(&line_with(&mut lines, &["\"type\":\"route\""]).await).unwrap();
    assert_eq!(route["answer"], "echo: hi");
    send_text(&mut ws, "live").await;
    line_with(&mut lines, &["\"type\":\"frameIn\"", "\"data\":\"live\""]).await;

    let mut text_tail = tail(&endpoint, &["--connection", &id, "--route", "$default"]);
    let mut text = tokio::io::BufReader::new(text_tail.stdout.take().unwrap()).lines();
    let line = line_with(&mut text, &["route $default → answered 200"]).await;
    assert!(line.contains(&format!("prod {id}")) && line.contains("answer echo: hi"), "{line}");

    // The server runs in this test's runtime: the commands are awaited, never waited for in a blocking call.
    let command = |args: &[&str]| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"));
        command.args(args).kill_on_drop(true);
        command
    };
    let run = async |args: &[&str]| {
        let output = tokio::time::timeout(DEADLINE, command(args).output()).await.unwrap().unwrap();
        assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    let listed: Value = serde_json::from_str(&run(&["connections", "--admin-endpoint", &endpoint]).await).unwrap();
    assert_eq!((&listed["Total"], &listed["Connections"][0]["id"]), (&json!(1), &json!(id)), "{listed}");
    let rooms = run(&["rooms", "--admin-endpoint", &endpoint, "--output", "text"]).await;
    assert!(rooms.contains("prod\t") || rooms.contains("\tprod"), "{rooms}");
    let unreachable = command(&["connections", "--admin-endpoint", "http://127.0.0.1:1"]).output().await.unwrap();
    assert!(!unreachable.status.success());
    assert!(String::from_utf8_lossy(&unreachable.stderr).contains("cannot reach the console"));
    server.shutdown().await;
}

#[tokio::test]
async fn rooms_list_their_members_stream_their_frames_and_take_the_control_planes_actions() {
    use crate::chat::{SEND, frame, join, room, send, token};
    let server = TestServer::start("", |_| {}).await;
    let sdk = server.chat_sdk();
    let arn = room(&sdk).await;
    let mut ann = join(&server, &token(&sdk, &arn, "ann", &[SEND], &[]).await).await;
    let http = reqwest::Client::new();
    let (_, listed) = get(&http, &console_url(&server, "/api/rooms")).await;
    let id = listed["rooms"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(listed["rooms"][0]["members"], 1, "{listed}");
    let (status, page) = get(&http, &console_url(&server, &format!("/api/rooms/{id}"))).await;
    assert_eq!((status, &page["members"][0]["user"], &page["room"]["arn"]), (200, &json!("ann"), &json!(arn)));
    let (_, overview) = get(&http, &console_url(&server, "/api/overview")).await;
    assert_eq!(overview["rooms"], json!([{ "room": id, "members": 1 }]));

    let mut stream =
        http.get(console_url(&server, "/api/events")).query(&[("room", id.as_str())]).send().await.unwrap();
    read_stream_until(&mut stream, &[": subscribed"]).await;
    let act = |action: &str, input: Value| {
        post(&http, console_url(&server, &format!("/api/rooms/{id}/{action}"))).body(input.to_string()).send()
    };
    let sent = act("send-event", json!({ "eventName": "console-notice", "attributes": { "a": "b" } })).await.unwrap();
    assert_eq!(sent.status(), 200);
    let event = frame(&mut ann).await;
    assert_eq!(
        (&event["Type"], &event["EventName"], &event["Attributes"]),
        (&json!("EVENT"), &json!("console-notice"), &json!({ "a": "b" }))
    );
    read_stream_until(&mut stream, &["event: frameOut", "console-notice"]).await;
    send(&mut ann, json!({ "Action": "SEND_MESSAGE", "RequestId": "r1", "Content": "hello room" })).await;
    assert_eq!(frame(&mut ann).await["Content"], "hello room");
    read_stream_until(&mut stream, &["event: frameIn", "hello room"]).await;
    let refused = act("send-event", json!({ "eventName": "" })).await.unwrap();
    assert_eq!(refused.status(), 400, "the control plane's validation answers");
    assert_eq!(act("send-event", json!([])).await.unwrap().status(), 400);
    assert_eq!(act("rename", json!({})).await.unwrap().status(), 404);

    // The room's settings and the logging configurations are edited through the control plane, whose validation
    // answers in AWS's words, at the top of the answer where the page shows it.
    let message = async |response: reqwest::Response| {
        let status = response.status().as_u16();
        (status, serde_json::from_slice::<Value>(&response.bytes().await.unwrap()).unwrap())
    };
    let logging = |path: &str, input: Value| {
        post(&http, console_url(&server, &format!("/api/logging/{path}"))).body(input.to_string()).send()
    };
    let s3 = |bucket: &str| json!({ "s3": { "bucketName": bucket } });
    let input = json!({ "name": "console-logs", "destinationConfiguration": s3("console-bucket") });
    let (status, created) = message(logging("create", input).await.unwrap()).await;
    assert_eq!((status, &created["status"]), (200, &json!(200)), "{created}");
    let config = created["answer"]["arn"].as_str().unwrap().to_owned();
    let (status, refused) =
        message(logging("create", json!({ "destinationConfiguration": s3("Bad Bucket!") })).await.unwrap()).await;
    assert_eq!(status, 400);
    let said = refused["message"].as_str().unwrap();
    assert!(
        said.starts_with("1 validation error detected: Value at 'destinationConfiguration.s3.bucketName'"),
        "{said}"
    );
    let (_, listed) = get(&http, &console_url(&server, "/api/logging")).await;
    assert_eq!(listed["loggingConfigurations"][0]["arn"], config.as_str(), "{listed}");
    let (status, refused) = message(act("update", json!({ "maximumMessageLength": 0 })).await.unwrap()).await;
    assert_eq!(status, 400);
    assert_eq!(
        refused["message"],
        "1 validation error detected: Value at 'maximumMessageLength' failed to satisfy constraint: Member must have \
         value greater than or equal to 1"
    );
    let settings =
        json!({ "name": "renamed", "maximumMessageLength": 300, "loggingConfigurationIdentifiers": [config] });
    let (status, updated) = message(act("update", settings).await.unwrap()).await;
    assert_eq!((status, &updated["answer"]["name"]), (200, &json!("renamed")), "{updated}");
    let stored = sdk.get_room().identifier(&arn).send().await.unwrap();
    assert_eq!(
        (stored.name(), stored.maximum_message_length(), stored.logging_configuration_identifiers()),
        (Some("renamed"), Some(300), &[config.clone()][..])
    );
    let path = config.replace(':', "%3A").replace('/', "%2F");
    let (status, in_use) = message(logging(&format!("{path}/delete"), json!({})).await.unwrap()).await;
    assert_eq!(status, 409, "a configuration a room uses stays: {in_use}");
    assert!(in_use["message"].as_str().unwrap().contains("is in use by"), "{in_use}");
    let (status, _) =
        message(logging(&format!("{path}/update"), json!({ "name": "renamed-logs" })).await.unwrap()).await;
    assert_eq!(status, 200);
    let stored = sdk.get_logging_configuration().identifier(&config).send().await.unwrap();
    assert_eq!(stored.name(), Some("renamed-logs"));
    assert_eq!(act("update", json!({ "loggingConfigurationIdentifiers": [] })).await.unwrap().status(), 200);
    let (status, deleted) = message(logging(&format!("{path}/delete"), json!({})).await.unwrap()).await;
    assert_eq!((status, &deleted["status"]), (200, &json!(204)));
    assert!(sdk.get_logging_configuration().identifier(&config).send().await.is_err(), "deleted");
    assert_eq!(logging("rename", json!({})).await.unwrap().status(), 404);

    let gone = act("disconnect-user", json!({ "userId": "ann", "reason": "from the console" })).await.unwrap();
    assert_eq!(gone.status(), 200);
    let disconnected = frame(&mut ann).await;
    assert_eq!(disconnected["EventName"], "aws:DISCONNECT_USER");
    assert_eq!(disconnected["Attributes"], json!({ "Reason": "from the console", "UserId": "ann" }));
    assert_eq!(recv_close(&mut ann).await.0, 1000);
    server.shutdown().await;
}

#[tokio::test]
async fn the_overview_serves_the_recent_history_of_its_rates() {
    let backend = echo_backend().await;
    let server = server_with(&backend, |_| {}).await;
    let http = reqwest::Client::new();
    let mut ws = server.connect("/prod").await;
    send_text(&mut ws, "counted").await;
    assert_eq!(recv_text(&mut ws).await, "echo: counted");
    // No page was open: the server sampled the totals itself, and a page that opens now draws them.
    let overview = eventually("a sample counts the message", || async {
        let (_, overview) = get(&http, &console_url(&server, "/api/overview")).await;
        let last = overview["history"].as_array()?.last()?.clone();
        (last["totals"]["framesIn"] == 1 && last["connections"] == 1).then_some(overview)
    })
    .await;
    assert_eq!(overview["sampleMs"], 2000);
    let history = overview["history"].as_array().unwrap();
    assert_eq!(
        (&history[0]["totals"]["framesIn"], &history[0]["connections"]),
        (&json!(0), &json!(0)),
        "the first sample is from the start: {overview}"
    );
    let times: Vec<i64> = history.iter().map(|s| s["at"].as_i64().unwrap()).collect();
    assert!(times.is_sorted(), "oldest first: {times:?}");
    server.shutdown().await;
}

/// A `provided.al2023` runtime in shell, a real client of the Runtime API (with curl): it echoes its event, fails
/// when the event says `fail`, and outlives its timeout when it says `sleep`.
const SHELL_RUNTIME: &str = r#"#!/bin/sh
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation"
echo "runtime started"
while true; do
  headers=$(mktemp)
  event=$(curl -sS -D "$headers" "$api/next")
  id=$(grep -i '^lambda-runtime-aws-request-id:' "$headers" | cut -d' ' -f2 | tr -d '\r')
  rm -f "$headers"
  echo "handling $event"
  case "$event" in
    *fail*) curl -sS -o /dev/null -X POST -H 'Lambda-Runtime-Function-Error-Type: AskedToFail' \
      -d '{"errorMessage":"asked to fail","errorType":"AskedToFail"}' "$api/$id/error" ;;
    *sleep*) sleep 5 ;;
    *) curl -sS -o /dev/null -X POST -d "$event" "$api/$id/response" ;;
  esac
done
"#;

/// A code directory holding [`SHELL_RUNTIME`] as `bootstrap`.
fn shell_function() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let code = tempfile::tempdir().unwrap();
    let bootstrap = code.path().join("bootstrap");
    std::fs::write(&bootstrap, SHELL_RUNTIME).unwrap();
    std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755)).unwrap();
    code
}

/// `[[functions]]`: [`SHELL_RUNTIME`] as `shell`, with a timeout of one second.
fn shell_function_toml(code: &std::path::Path) -> String {
    let lines = [
        "[[functions]]",
        "name = \"shell\"",
        "runtime = \"provided.al2023\"",
        "handler = \"bootstrap\"",
        "timeout = 1",
    ];
    format!("{}\ncode = \"{}\"\n", lines.join("\n"), code.display())
}

#[tokio::test]
async fn the_functions_page_lists_each_invocation_with_its_result_and_the_log() {
    let code = shell_function();
    let server = TestServer::start(&shell_function_toml(code.path()), |_| {}).await;
    let http = reqwest::Client::new();
    let (status, listed) = get(&http, &console_url(&server, "/api/functions")).await;
    let function = &listed["functions"][0];
    assert_eq!((status, &function["name"], &function["invocations"]), (200, &json!("shell"), &json!([])), "{listed}");
    let lambda = crate::lambda::sdk(&server);
    let invoke = |payload: &'static str| lambda.invoke().function_name("shell").payload(Blob::new(payload)).send();
    let answered = invoke(r#"{"say":"hi"}"#).await.unwrap();
    assert_eq!(answered.function_error(), None);
    let failed = invoke(r#"{"fail":true}"#).await.unwrap();
    assert_eq!(failed.function_error(), Some("Unhandled"));
    let slow = invoke(r#"{"sleep":true}"#).await.unwrap();
    let timed_out: Value = serde_json::from_slice(slow.payload().unwrap().as_ref()).unwrap();
    assert_eq!(timed_out["errorType"], "Sandbox.Timedout");

    // The output of a process is read by another task: it may reach the log just after the answer.
    let function = eventually("the log holds the runtime's output", || async {
        let (_, listed) = get(&http, &console_url(&server, "/api/functions")).await;
        let function = listed["functions"][0].clone();
        let log: Vec<&str> = function["lines"].as_array()?.iter().filter_map(|l| l["text"].as_str()).collect();
        log.iter().any(|l| l.contains("handling {\"sleep\":true}")).then_some(function)
    })
    .await;
    let invocations = function["invocations"].as_array().unwrap();
    let results: Vec<Value> = invocations.iter().map(|i| json!([i["result"], i["errorType"]])).collect();
    assert_eq!(
        results,
        [json!(["ok", null]), json!(["error", "AskedToFail"]), json!(["timeout", "Sandbox.Timedout"])],
        "{function}"
    );
    assert!(invocations[2]["durationMs"].as_f64().unwrap() >= 1000.0, "the timeout ran its second: {function}");
    let log: Vec<&str> = function["lines"].as_array().unwrap().iter().map(|l| l["text"].as_str().unwrap()).collect();
    for wanted in ["runtime started", "handling {\"say\":\"hi\"}", "Status: timeout\tError Type: Sandbox.Timedout"] {
        assert!(log.iter().any(|l| l.contains(wanted)), "{wanted:?} in {log:#?}");
    }
    let request = invocations[0]["requestId"].as_str().unwrap();
    assert!(log.iter().any(|l| l.starts_with(&format!("REPORT RequestId: {request}\t"))), "{log:#?}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_live_stream_whose_client_stops_reading_is_closed_and_its_subscription_freed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let backend = echo_backend().await;
    let server = server_with(&backend, |a| a.limits.console_stall_secs = Some(1)).await;
    let capture = server.state().capture.clone().unwrap();
    // A real TCP client with a small receive buffer subscribes, reads the first bytes, then reads no more.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut reader = socket.connect(server.admin_addr).await.unwrap();
    let request = "GET /@switchboard/console/api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    reader.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !String::from_utf8_lossy(&head).contains(": subscribed") {
        let mut chunk = [0u8; 1024];
        let n = tokio::time::timeout(DEADLINE, reader.read(&mut chunk)).await.unwrap().unwrap();
        assert!(n > 0, "the stream ended at once");
        head.extend_from_slice(&chunk[..n]);
    }
    assert!(capture.watched(), "the stream subscribed to the capture");
    // Heartbeats come every quarter of the bound and the kernel's buffers take them: twice the bound without
    // traffic does not stall the stream.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(capture.watched(), "a quiet stream is not stalled");

    // Traffic the stream carries, until the buffers between the server and the client are full and the server sees
    // it stalled: then it closes the connection, which drops the subscription.
    let mut ws = server.connect("/prod").await;
    let message = "x".repeat(4000);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut sent = 0;
    while capture.watched() {
        assert!(tokio::time::Instant::now() < deadline, "still subscribed after {sent} messages");
        send_text(&mut ws, &message).await;
        assert_eq!(recv_text(&mut ws).await, format!("echo: {message}"));
        sent += 1;
    }
    eprintln!("the stream stalled after {sent} messages");
    // The client that reads again finds what the buffers held, then the end of the connection.
    let drained = tokio::time::timeout(DEADLINE, async {
        let mut chunk = vec![0u8; 64 * 1024];
        while let Ok(n) = reader.read(&mut chunk).await {
            if n == 0 {
                break;
            }
        }
    });
    assert!(drained.await.is_ok(), "the server closed the stalled connection");
    // The admin listener and the console serve on.
    let (status, _) = get(&reqwest::Client::new(), &console_url(&server, "/api/overview")).await;
    assert_eq!(status, 200);
    server.shutdown().await;
}

#[tokio::test]
#[ignore = "needs Redis and PostgreSQL: SWITCHBOARD_TEST_REDIS_URL, SWITCHBOARD_TEST_POSTGRES_URL"]
async fn in_a_cluster_each_nodes_console_lists_and_counts_every_nodes_connections() {
    let env = crate::cluster::ClusterEnv::get();
    let mut backend = echo_backend().await;
    let a = crate::cluster::node(&env, &backend).await;
    let b = crate::cluster::node(&env, &backend).await;
    let (_on_a, id_a) = crate::cluster::client(&a, &mut backend).await;
    let (_on_b, id_b) = crate::cluster::client(&b, &mut backend).await;
    let http = reqwest::Client::new();
    let mut served_by = Vec::new();
    for server in [&a, &b] {
        let overview = eventually("the overview counts both nodes' connections", || async {
            let (_, overview) = get(&http, &console_url(server, "/api/overview")).await;
            (overview["nodes"].as_array().is_some_and(|n| n.len() == 2) && overview["connections"] == 2)
                .then_some(overview)
        })
        .await;
        assert_eq!((&overview["scope"], &overview["missing"]), (&json!("cluster"), &json!([])), "{overview}");
        assert_eq!(overview["stages"], json!([{ "api": "switchboard", "stage": "prod", "connections": 2 }]));
        served_by.push(overview["node"].as_u64().unwrap());

        let (_, list) = get(&http, &console_url(server, "/api/connections?stage=prod")).await;
        assert_eq!(list["total"], 2, "{list}");
        let mut ids: Vec<&str> = list["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
        ids.sort_unstable();
        let mut expected = [id_a.as_str(), id_b.as_str()];
        expected.sort_unstable();
        assert_eq!(ids, expected, "{list}");
        // Pages and searches span the nodes too: the newest first.
        let (_, second) = get(&http, &console_url(server, "/api/connections?pageSize=1&page=1")).await;
        assert_eq!((&second["total"], &second["items"][0]["id"]), (&json!(2), &json!(id_a)), "{second}");
        let (_, searched) = get(
            &http,
            &console_url(
                server,
                &format!("/api/connections?q={}", id_b.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D")),
            ),
        )
        .await;
        assert_eq!((&searched["total"], &searched["items"][0]["id"]), (&json!(1), &json!(id_b)), "{searched}");
    }
    assert_ne!(served_by[0], served_by[1], "each page says which node serves it");
    let (status, elsewhere) = get(&http, &console_url(&a, &format!("/api/connections/{id_b}"))).await;
    assert_eq!(status, 404);
    let said = elsewhere["message"].as_str().unwrap();
    assert!(said.ends_with(&format!("is on node {}: its traffic is on that node's console.", served_by[1])), "{said}");
    let (_, list) = get(&http, &console_url(&a, "/api/connections")).await;
    let node_of = |id: &str| list["items"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap()["node"].clone();
    assert_eq!((node_of(&id_a), node_of(&id_b)), (json!(served_by[0]), json!(served_by[1])), "{list}");
    a.shutdown().await;
    b.shutdown().await;
    env.cleanup().await;
}
