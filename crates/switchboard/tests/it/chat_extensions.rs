//! Switchboard's extensions of IVS Chat (`models/switchboard/ivschat-ext`) end to end: raw signed HTTP at
//! `/@switchboard/ext/ivschat/{Operation}`, real chat WebSockets (history, recovery after a reconnect, bans, purges,
//! slow mode), and the `switchboard ivschat` commands the extension model gives.

use std::time::Duration;

use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::chat::{SEND, assert_silent, frame, join, refused, room, send, token};
use crate::cli::Cli;
use crate::harness::*;

/// A signed extension call; its status, error type and JSON body.
async fn ext(server: &TestServer, operation: &str, body: Value) -> (u16, String, Value) {
    let raw = Raw {
        body: body.to_string().into_bytes(),
        service: "ivschat",
        ..Raw::new("POST", format!("/@switchboard/ext/ivschat/{operation}"))
    };
    let (status, error_type, text) = parts(raw.send(server).await).await;
    (status, error_type, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub(crate) async fn ok(server: &TestServer, operation: &str, body: Value) -> Value {
    let (status, error_type, answer) = ext(server, operation, body).await;
    assert_eq!((status, error_type.as_str()), (200, ""), "{operation}: {answer}");
    answer
}

async fn message(ws: &mut Ws, content: &str) {
    send(ws, json!({"Action": "SEND_MESSAGE", "RequestId": content, "Content": content})).await;
}

#[tokio::test]
async fn a_reconnecting_client_recovers_what_it_missed_once_then_live_messages() {
    let server = TestServer::start("", |_| {}).await;
    let sdk = server.chat_sdk();
    let arn = room(&sdk).await;
    ok(&server, "PutRoomHistory", json!({"roomIdentifier": arn, "maxEntries": 100, "maxAgeSeconds": 3600})).await;
    let mut ann = join(&server, &token(&sdk, &arn, "ann", &[SEND], &[]).await).await;
    let mut bob = join(&server, &token(&sdk, &arn, "bob", &[SEND], &[]).await).await;
    message(&mut ann, "one").await;
    let seen = frame(&mut ann).await;
    frame(&mut bob).await;
    drop(ann);

    // While ann is away: two messages and an event.
    message(&mut bob, "two").await;
    message(&mut bob, "three").await;
    sdk.send_event().room_identifier(&arn).event_name("app:tick").send().await.unwrap();
    let missed = [frame(&mut bob).await, frame(&mut bob).await, frame(&mut bob).await];

    // History lists them as members received them, newest first by default.
    let listed = ok(&server, "ListRoomMessages", json!({"roomIdentifier": arn, "order": "OLDEST_FIRST"})).await;
    let listed = listed["messages"].as_array().unwrap().clone();
    assert_eq!(listed.len(), 4);
    assert_eq!(listed[0], seen);
    assert_eq!(listed[1..], missed);

    // Ann reconnects asking to recover after the last message she saw: the missed frames in order, then live ones.
    let recover = [("switchboard:recover-after", seen["Id"].as_str().unwrap())];
    let mut ann = join(&server, &token(&sdk, &arn, "ann", &[SEND], &recover).await).await;
    for expected in &missed {
        assert_eq!(&frame(&mut ann).await, expected);
    }
    message(&mut bob, "four").await;
    let live = frame(&mut ann).await;
    assert_eq!(live["Content"], "four");
    assert_eq!(live["Sender"]["Attributes"], json!({}), "the recovery request is no sender attribute");
    assert_silent(&mut ann, Duration::from_millis(200)).await;

    // Asking for a position history does not hold: told so, then live frames only.
    let recover = [("switchboard:recover-after", "AbCdEfGhIjKl")];
    let mut carl = join(&server, &token(&sdk, &arn, "carl", &[], &recover).await).await;
    let gap = frame(&mut carl).await;
    assert_eq!((gap["Type"].as_str(), gap["EventName"].as_str()), (Some("EVENT"), Some("switchboard:recovery-gap")));
    assert_eq!(gap["Attributes"], json!({"LastMessageId": "AbCdEfGhIjKl", "Reason": "NOT_RETAINED"}));
    message(&mut bob, "five").await;
    assert_eq!(frame(&mut carl).await["Content"], "five");
    server.shutdown().await;
}

#[tokio::test]
async fn bans_purges_and_slow_mode_through_raw_signed_http() {
    let server = TestServer::start("", |_| {}).await;
    let sdk = server.chat_sdk();
    let arn = room(&sdk).await;
    ok(&server, "PutRoomHistory", json!({"roomIdentifier": arn, "maxEntries": 100, "maxAgeSeconds": 3600})).await;
    let mut mallory = join(&server, &token(&sdk, &arn, "mallory", &[SEND], &[]).await).await;
    let mut ann = join(&server, &token(&sdk, &arn, "ann", &[SEND], &[]).await).await;
    for text in ["spam", "more spam"] {
        message(&mut mallory, text).await;
        frame(&mut ann).await;
    }
    message(&mut ann, "hello").await;
    frame(&mut ann).await;

    let purge = ok(&server, "DeleteUserMessages", json!({"roomIdentifier": arn, "userId": "mallory"})).await;
    let deleted = purge["deletedMessageIds"].as_array().unwrap().clone();
    assert_eq!(deleted.len(), 2);
    for id in &deleted {
        let event = frame(&mut ann).await;
        assert_eq!((event["EventName"].as_str(), &event["Attributes"]["MessageID"]), (Some("aws:DELETE_MESSAGE"), id));
    }
    let listed = ok(&server, "ListRoomMessages", json!({"roomIdentifier": arn})).await;
    let contents: Vec<&Value> = listed["messages"].as_array().unwrap().iter().map(|m| &m["Content"]).collect();
    assert!(contents.contains(&&json!("hello")) && !contents.contains(&&json!("spam")), "{listed}");

    // A ban closes mallory's connection and refuses a token issued before it and any new one.
    let later = token(&sdk, &arn, "mallory", &[], &[]).await;
    let ban = json!({"roomIdentifier": arn, "userId": "mallory", "durationSeconds": 60});
    let banned = ok(&server, "BanUser", ban).await;
    assert_eq!(banned["userId"], "mallory");
    // Mallory had her messages, ann's and the two deletions first.
    for _ in 0..5 {
        frame(&mut mallory).await;
    }
    let event = frame(&mut mallory).await;
    assert_eq!(
        (event["EventName"].as_str(), event["Attributes"]["Reason"].as_str()),
        (Some("aws:DISCONNECT_USER"), Some("Banned"))
    );
    assert_eq!(recv_close(&mut mallory).await.0, 1000);
    assert_eq!(refused(&server, Some(&later)).await, (403, json!({"message": "The user is banned from this room"})));
    let denied = sdk.create_chat_token().room_identifier(&arn).user_id("mallory").send().await.unwrap_err();
    assert!(denied.into_service_error().is_access_denied_exception());

    assert_eq!(frame(&mut ann).await["EventName"], "aws:DISCONNECT_USER", "the room saw mallory go");

    // Slow mode: one message per user per interval, then ERROR 429.
    ok(&server, "PutRoomSlowMode", json!({"roomIdentifier": arn, "seconds": 60})).await;
    message(&mut ann, "first").await;
    assert_eq!(frame(&mut ann).await["Content"], "first");
    message(&mut ann, "second").await;
    let error = frame(&mut ann).await;
    assert_eq!((error["Type"].as_str(), error["ErrorCode"].as_i64()), (Some("ERROR"), Some(429)));

    // Errors in AWS's shape; the AWS API is unchanged.
    let (status, error_type, _) = ext(&server, "BanUser", json!({"roomIdentifier": arn, "userId": "x"})).await;
    assert_eq!((status, error_type.as_str()), (400, "ValidationException"));
    let missing = json!({"roomIdentifier": "AbCdEfGhIjKl", "maxEntries": 1, "maxAgeSeconds": 1});
    let (status, error_type, _) = ext(&server, "PutRoomHistory", missing).await;
    assert_eq!((status, error_type.as_str()), (404, "ResourceNotFoundException"));
    let room = sdk.get_room().identifier(&arn).send().await.unwrap();
    assert_eq!(room.maximum_message_rate_per_second(), Some(100));
    server.shutdown().await;
}

/// A command's words with the room's `--room-identifier`.
fn args<'a>(words: &'a [String], arn: &'a str) -> Vec<&'a str> {
    words.iter().map(String::as_str).chain(["--room-identifier", arn]).collect()
}

#[tokio::test]
async fn the_command_line_knows_the_chat_extensions() {
    let server = TestServer::start("", |_| {}).await;
    let sdk = server.chat_sdk();
    let arn = room(&sdk).await;
    let endpoint = server.url("");
    let cli = Cli::new();
    let tail = ["--endpoint-url", endpoint.as_str(), "--region", REGION];
    let with = |args: &[&'static str]| -> Vec<String> {
        ["ivschat"].iter().chain(args).chain(&tail).map(|s| s.to_string()).collect()
    };
    let put = cli
        .run(&args(&with(&["put-room-history", "--max-entries", "5", "--max-age-seconds", "60"]), &arn))
        .await
        .json();
    assert_eq!(put, json!({"roomArn": arn, "maxEntries": 5, "maxAgeSeconds": 60}));
    sdk.send_event().room_identifier(&arn).event_name("app:hello").send().await.unwrap();
    let listed = cli.run(&args(&with(&["list-room-messages"]), &arn)).await.json();
    assert_eq!(listed["messages"][0]["EventName"], "app:hello");
    let slow = cli.run(&args(&with(&["put-room-slow-mode", "--seconds", "5"]), &arn)).await.json();
    assert_eq!(slow["seconds"], 5);
    let presence = cli.run(&args(&with(&["put-room-presence-events", "--enabled", "true"]), &arn)).await.json();
    assert_eq!(presence, json!({"roomArn": arn, "enabled": true}));
    let help = cli.run(&["ivschat", "help"]).await;
    assert!(help.ok().contains("SWITCHBOARD EXTENSIONS") && help.ok().contains("o list-room-messages"), "{help:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs Redis and PostgreSQL: SWITCHBOARD_TEST_REDIS_URL, SWITCHBOARD_TEST_POSTGRES_URL"]
async fn a_reconnect_that_lands_on_the_other_node_recovers_there_and_bans_hold_on_every_node() {
    use crate::cluster::{ClusterEnv, node};
    let env = ClusterEnv::get();
    let backend = Backend::ok().await;
    let (a, b) = (node(&env, &backend).await, node(&env, &backend).await);
    let (sdk_a, sdk_b) = (a.chat_sdk(), b.chat_sdk());
    let arn = room(&sdk_a).await;
    ok(&b, "PutRoomHistory", json!({"roomIdentifier": arn, "maxEntries": 100, "maxAgeSeconds": 3600})).await;
    let mut ann = join(&a, &token(&sdk_a, &arn, "ann", &[SEND], &[]).await).await;
    let mut bob = join(&b, &token(&sdk_b, &arn, "bob", &[SEND], &[]).await).await;
    message(&mut ann, "one").await;
    let seen = frame(&mut ann).await;
    assert_eq!(frame(&mut bob).await, seen);
    drop(ann);

    message(&mut bob, "two").await;
    sdk_a.send_event().room_identifier(&arn).event_name("app:tick").send().await.unwrap();
    let missed = [frame(&mut bob).await, frame(&mut bob).await];

    // Ann's reconnection lands on node b: the frames she missed, from the shared store, then live ones.
    let recover = [("switchboard:recover-after", seen["Id"].as_str().unwrap())];
    let mut ann = join(&b, &token(&sdk_a, &arn, "ann", &[SEND], &recover).await).await;
    for expected in &missed {
        assert_eq!(&frame(&mut ann).await, expected);
    }
    message(&mut bob, "three").await;
    assert_eq!(frame(&mut ann).await["Content"], "three");
    frame(&mut bob).await;

    // A ban made through node a closes bob's connection on node b and is refused on both.
    let later = token(&sdk_b, &arn, "bob", &[], &[]).await;
    ok(&a, "BanUser", json!({"roomIdentifier": arn, "userId": "bob", "durationSeconds": 60})).await;
    assert_eq!(frame(&mut bob).await["EventName"], "aws:DISCONNECT_USER");
    assert_eq!(recv_close(&mut bob).await.0, 1000);
    assert_eq!(refused(&a, Some(&later)).await.0, 403);
    assert!(sdk_b.create_chat_token().room_identifier(&arn).user_id("bob").send().await.is_err());
    a.shutdown().await;
    b.shutdown().await;
    env.cleanup().await;
}

async fn presence(server: &TestServer, arn: &str) -> Vec<(String, u64)> {
    let listed = ok(server, "ListRoomPresence", json!({"roomIdentifier": arn})).await;
    let users = listed["users"].as_array().unwrap().iter();
    users.map(|u| (u["userId"].as_str().unwrap().to_owned(), u["connectionCount"].as_u64().unwrap())).collect()
}

#[tokio::test]
async fn presence_lists_each_connected_user_once_with_their_connections() {
    let server = TestServer::start("", |_| {}).await;
    let sdk = server.chat_sdk();
    let arn = room(&sdk).await;
    assert!(presence(&server, &arn).await.is_empty());
    let _phone = join(&server, &token(&sdk, &arn, "ann", &[], &[("name", "Ann")]).await).await;
    let _laptop = join(&server, &token(&sdk, &arn, "ann", &[], &[("name", "Ann")]).await).await;
    let bob = join(&server, &token(&sdk, &arn, "bob", &[], &[]).await).await;
    assert_eq!(presence(&server, &arn).await, [("ann".to_owned(), 2), ("bob".to_owned(), 1)]);
    let listed = ok(&server, "ListRoomPresence", json!({"roomIdentifier": arn, "maxResults": 1})).await;
    assert_eq!(listed["users"][0]["attributes"], json!({"name": "Ann"}));
    assert!(listed["users"][0]["connectedSince"].as_str().unwrap().ends_with('Z'));
    assert!(listed["nextToken"].is_string());
    drop(bob);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while presence(&server, &arn).await.len() != 1 {
        assert!(std::time::Instant::now() < deadline, "bob left the room");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs Redis and PostgreSQL: SWITCHBOARD_TEST_REDIS_URL, SWITCHBOARD_TEST_POSTGRES_URL"]
async fn presence_spans_the_cluster_and_forgets_a_node_that_died() {
    use crate::cluster::{ClusterEnv, Process, node};
    let env = ClusterEnv::get();
    let backend = Backend::ok().await;
    let (a, b) = (node(&env, &backend).await, node(&env, &backend).await);
    let mut victim = Process::start(&env, &backend);
    let sdk = a.chat_sdk();
    let arn = room(&sdk).await;
    let _ann = join(&a, &token(&sdk, &arn, "ann", &[], &[]).await).await;
    let _bob = join(&b, &token(&sdk, &arn, "bob", &[], &[]).await).await;
    let mut request = format!("ws://{}/", victim.addr).into_client_request().unwrap();
    let carl = token(&sdk, &arn, "carl", &[], &[]).await;
    request.headers_mut().insert("Sec-WebSocket-Protocol", carl.parse().unwrap());
    let _carl = tokio_tungstenite::connect_async(request).await.unwrap();
    let everyone: Vec<(String, u64)> = ["ann", "bob", "carl"].iter().map(|u| ((*u).to_owned(), 1)).collect();
    assert_eq!(presence(&a, &arn).await, everyone);
    assert_eq!(presence(&b, &arn).await, everyone);

    victim.child.kill().unwrap();
    victim.child.wait().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while presence(&b, &arn).await.len() != 2 {
        assert!(std::time::Instant::now() < deadline, "the dead node's user is still listed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(presence(&a, &arn).await, everyone[..2]);
    a.shutdown().await;
    b.shutdown().await;
    env.cleanup().await;
}

#[tokio::test]
async fn presence_events_announce_a_users_first_join_and_last_leave_while_on() {
    let server = TestServer::start("", |_| {}).await;
    let sdk = server.chat_sdk();
    let arn = room(&sdk).await;
    let marker = |name: &'static str| sdk.send_event().room_identifier(&arn).event_name(name).send();
    ok(&server, "PutRoomHistory", json!({"roomIdentifier": arn, "maxEntries": 100, "maxAgeSeconds": 3600})).await;
    let mut ann = join(&server, &token(&sdk, &arn, "ann", &[], &[]).await).await;

    // Off by default: bob's coming and going is not announced.
    drop(join(&server, &token(&sdk, &arn, "bob", &[], &[]).await).await);
    let on = ok(&server, "PutRoomPresenceEvents", json!({"roomIdentifier": arn, "enabled": true})).await;
    assert_eq!(on, json!({"roomArn": arn, "enabled": true}));
    marker("app:one").await.unwrap();
    assert_eq!(frame(&mut ann).await["EventName"], "app:one");

    // On: bob's first connection joins, his second does not, and his messages follow his join.
    let mut bob = join(&server, &token(&sdk, &arn, "bob", &[SEND], &[]).await).await;
    let joined = frame(&mut ann).await;
    assert_eq!((joined["Type"].as_str(), joined["RequestId"].as_str()), (Some("EVENT"), Some("")));
    assert_eq!(
        (joined["EventName"].as_str(), &joined["Attributes"]),
        (Some("switchboard:join"), &json!({"UserId": "bob"}))
    );
    assert_eq!(frame(&mut bob).await, joined, "bob hears his own join");
    let bob_again = join(&server, &token(&sdk, &arn, "bob", &[], &[]).await).await;
    message(&mut bob, "hello").await;
    assert_eq!(frame(&mut ann).await["Content"], "hello", "bob's second connection is not announced");

    // Only bob's last connection to end announces his leave.
    drop(bob);
    drop(bob_again);
    let left = frame(&mut ann).await;
    assert_eq!(
        (left["EventName"].as_str(), &left["Attributes"]),
        (Some("switchboard:leave"), &json!({"UserId": "bob"}))
    );
    marker("app:two").await.unwrap();
    assert_eq!(frame(&mut ann).await["EventName"], "app:two", "one leave");

    // Off again: nothing more is announced. The room's history retained what was.
    let off = ok(&server, "PutRoomPresenceEvents", json!({"roomIdentifier": arn, "enabled": false})).await;
    assert_eq!(off["enabled"], false);
    drop(join(&server, &token(&sdk, &arn, "carl", &[], &[]).await).await);
    marker("app:three").await.unwrap();
    assert_eq!(frame(&mut ann).await["EventName"], "app:three");
    let listed = ok(&server, "ListRoomMessages", json!({"roomIdentifier": arn, "order": "OLDEST_FIRST"})).await;
    let names: Vec<&str> =
        listed["messages"].as_array().unwrap().iter().map(|m| m["EventName"].as_str().unwrap_or("MESSAGE")).collect();
    assert_eq!(names, ["app:one", "switchboard:join", "MESSAGE", "switchboard:leave", "app:two", "app:three"]);
    let (status, error_type, _) =
        ext(&server, "PutRoomPresenceEvents", json!({"roomIdentifier": arn, "enabled": 1})).await;
    assert_eq!((status, error_type.as_str()), (400, "ValidationException"));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs Redis and PostgreSQL: SWITCHBOARD_TEST_REDIS_URL, SWITCHBOARD_TEST_POSTGRES_URL"]
async fn presence_events_reach_every_node_and_each_node_announces_its_own_first_and_last() {
    use crate::cluster::{ClusterEnv, node};
    let env = ClusterEnv::get();
    let backend = Backend::ok().await;
    let (a, b) = (node(&env, &backend).await, node(&env, &backend).await);
    let (sdk_a, sdk_b) = (a.chat_sdk(), b.chat_sdk());
    let arn = room(&sdk_a).await;
    let mut ann = join(&a, &token(&sdk_a, &arn, "ann", &[], &[]).await).await;
    // Turned on through node b: the setting reaches ann's live room on node a through the room's channel.
    ok(&b, "PutRoomPresenceEvents", json!({"roomIdentifier": arn, "enabled": true})).await;
    let announced = |f: Value| (f["EventName"].as_str().unwrap().to_owned(), f["Attributes"]["UserId"].clone());
    let of = |name: &str, user: &str| (name.to_owned(), json!(user));
    let mut bob_b = join(&b, &token(&sdk_b, &arn, "bob", &[], &[]).await).await;
    let joined = frame(&mut ann).await;
    assert_eq!(announced(joined.clone()), of("switchboard:join", "bob"), "node b's join reaches node a");
    assert_eq!(frame(&mut bob_b).await, joined, "one frame for every node");
    // Bob's first connection through node a is announced too: first and last are per node.
    let bob_a = join(&a, &token(&sdk_a, &arn, "bob", &[], &[]).await).await;
    assert_eq!(announced(frame(&mut ann).await), of("switchboard:join", "bob"));
    assert_eq!(announced(frame(&mut bob_b).await), of("switchboard:join", "bob"));
    drop(bob_a);
    assert_eq!(announced(frame(&mut ann).await), of("switchboard:leave", "bob"));
    assert_eq!(announced(frame(&mut bob_b).await), of("switchboard:leave", "bob"), "node a's leave reaches node b");
    drop(bob_b);
    assert_eq!(announced(frame(&mut ann).await), of("switchboard:leave", "bob"));
    a.shutdown().await;
    b.shutdown().await;
    env.cleanup().await;
}
