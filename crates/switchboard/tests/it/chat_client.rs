//! The official IVS chat client (`amazon-ivs-chat-messaging`, in Node with `ws`) against a real server, as an
//! application runs it: connecting with `regionOrUrl` set to the server, sending, receiving, deleting, being
//! disconnected, and reconnecting by itself after a broken connection with a token that asks to recover what it
//! missed (`switchboard:recover-after`), so that it gets every missed message once, with no change to the client.
//! The client is driven by `tests/fixtures/ivs-chat-client/driver.js`; the test skips when Node or npm is missing.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use aws_sdk_ivschat::types::ChatTokenCapability;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

use crate::chat::{SEND, frame, join, room, token};
use crate::harness::*;

/// How long any one report of the client may take.
const DEADLINE: Duration = Duration::from_secs(15);

/// One official client in a Node process.
struct OfficialClient {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

impl OfficialClient {
    fn start(fixture: &Path, url: &str) -> OfficialClient {
        let mut child = tokio::process::Command::new("node")
            .arg("driver.js")
            .current_dir(fixture)
            .env("CHAT_URL", url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        OfficialClient { child, stdin, lines }
    }

    async fn send(&mut self, command: Value) {
        self.stdin.write_all(format!("{command}\n").as_bytes()).await.unwrap();
        self.stdin.flush().await.unwrap();
    }

    /// The client's next report.
    async fn next(&mut self) -> Value {
        let line = tokio::time::timeout(DEADLINE, self.lines.next_line()).await.expect("the client reported in time");
        let line = line.unwrap().unwrap_or_else(|| panic!("the client exited: {:?}", self.child.try_wait()));
        serde_json::from_str(&line).unwrap()
    }

    /// The client's next report of `kind`, skipping lifecycle reports (`connecting`) in between.
    async fn next_of(&mut self, kind: &str) -> Value {
        loop {
            let report = self.next().await;
            match report["kind"].as_str() {
                Some(k) if k == kind => return report,
                Some("connecting") => continue,
                _ => panic!("expected {kind}, the client reported {report}"),
            }
        }
    }

    /// Answers the room's request for a token.
    async fn give_token(&mut self, token: String) {
        self.next_of("token-wanted").await;
        self.send(json!({"do": "token", "token": token})).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_client_sends_receives_deletes_and_is_disconnected() {
    let Some(fixture) = tokio::task::block_in_place(crate::deps::ivs_chat_client) else { return };
    let server = TestServer::start("", |_| {}).await;
    let sdk = server.chat_sdk();
    let arn = room(&sdk).await;
    let capabilities = [SEND, ChatTokenCapability::DeleteMessage, ChatTokenCapability::DisconnectUser];
    let mut client = OfficialClient::start(fixture, &format!("ws://{}", server.addr));
    client.send(json!({"do": "connect"})).await;
    client.give_token(token(&sdk, &arn, "ann", &capabilities, &[("colour", "blue")]).await).await;
    client.next_of("connect").await;
    let mut bob = join(&server, &token(&sdk, &arn, "bob", &[SEND], &[]).await).await;

    // A message with attributes, to the room and back to its sender, whose request is answered with it.
    client.send(json!({"do": "send", "content": "hello", "attributes": {"k": "v"}})).await;
    let received = client.next_of("message").await;
    assert_eq!(
        (&received["content"], &received["attributes"], &received["userId"], &received["senderAttributes"]),
        (&json!("hello"), &json!({"k": "v"}), &json!("ann"), &json!({"colour": "blue"}))
    );
    assert!(received["sendTime"].is_string(), "the client read SendTime as a date: {received}");
    let answered = client.next_of("answer").await;
    assert_eq!(answered["id"], received["id"]);
    let seen_by_bob = frame(&mut bob).await;
    assert_eq!((&seen_by_bob["Id"], &seen_by_bob["Content"]), (&received["id"], &json!("hello")));

    // A message from another member, and an event from the backend.
    crate::chat::send(&mut bob, json!({"Action": "SEND_MESSAGE", "RequestId": "b1", "Content": "hi ann"})).await;
    assert_eq!(client.next_of("message").await["content"], "hi ann");
    frame(&mut bob).await;
    sdk.send_event().room_identifier(&arn).event_name("app:notice").attributes("level", "info").send().await.unwrap();
    let event = client.next_of("event").await;
    assert_eq!((&event["eventName"], &event["attributes"]), (&json!("app:notice"), &json!({"level": "info"})));
    frame(&mut bob).await;

    // A deletion by the client reaches it as a messageDelete event and answers the request.
    client.send(json!({"do": "delete", "id": received["id"], "reason": "oops"})).await;
    let deleted = client.next_of("messageDelete").await;
    assert_eq!((&deleted["messageId"], &deleted["reason"]), (&received["id"], &json!("oops")));
    assert_eq!(client.next_of("answer").await["messageId"], received["id"]);
    assert_eq!(frame(&mut bob).await["Type"], "EVENT");

    // A request the server refuses comes back as the client's error with IVS's code.
    client.send(json!({"do": "send", "content": "x".repeat(501)})).await;
    let refused = client.next_of("error").await;
    assert_eq!((refused["command"].as_str(), refused["errorCode"].as_u64()), (Some("send"), Some(400)), "{refused}");

    // DisconnectUser from the backend: the client hears of it, then is disconnected by the server for good.
    sdk.disconnect_user().room_identifier(&arn).user_id("ann").reason("Kicked").send().await.unwrap();
    let kicked = client.next_of("userDisconnect").await;
    assert_eq!((&kicked["userId"], &kicked["reason"]), (&json!("ann"), &json!("Kicked")));
    assert_eq!(client.next_of("disconnect").await["reason"], "serverDisconnect");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_client_reconnects_by_itself_and_recovers_what_it_missed_once() {
    let Some(fixture) = tokio::task::block_in_place(crate::deps::ivs_chat_client) else { return };
    let server = TestServer::start("", |_| {}).await;
    let sdk = server.chat_sdk();
    let arn = room(&sdk).await;
    crate::chat_extensions::ok(
        &server,
        "PutRoomHistory",
        json!({"roomIdentifier": arn, "maxEntries": 100, "maxAgeSeconds": 3600}),
    )
    .await;
    // The client reaches the server through a relay the test cuts, as a network would break.
    let relay = Relay::start(RelayTarget::Tcp(server.addr)).await;
    let mut client = OfficialClient::start(fixture, &format!("ws://{}", relay.addr));
    client.send(json!({"do": "connect"})).await;
    client.give_token(token(&sdk, &arn, "ann", &[SEND], &[]).await).await;
    client.next_of("connect").await;
    let event = |name: &'static str| sdk.send_event().room_identifier(&arn).event_name(name).send();
    event("app:one").await.unwrap();
    let last_seen = client.next_of("event").await;
    assert_eq!(last_seen["eventName"], "app:one");

    // The connection breaks; what is sent meanwhile the client misses.
    relay.cut();
    let wanted = client.next_of("token-wanted").await;
    assert_eq!(wanted["kind"], "token-wanted", "the client reconnects by itself and asks for a token");
    for name in ["app:two", "app:three"] {
        event(name).await.unwrap();
    }
    relay.restore();

    // Its backend gives it a token asking to recover after the last id it saw: the missed events once, in order,
    // then live ones.
    let recover = [("switchboard:recover-after", last_seen["id"].as_str().unwrap())];
    let token = token(&sdk, &arn, "ann", &[SEND], &recover).await;
    client.send(json!({"do": "token", "token": token})).await;
    client.next_of("connect").await;
    assert_eq!(client.next_of("event").await["eventName"], "app:two");
    assert_eq!(client.next_of("event").await["eventName"], "app:three");
    event("app:four").await.unwrap();
    assert_eq!(client.next_of("event").await["eventName"], "app:four", "then live, nothing twice");
    client.send(json!({"do": "disconnect"})).await;
    assert_eq!(client.next_of("disconnect").await["reason"], "clientDisconnect");
    server.shutdown().await;
}
