//! IVS Chat messaging against a real server: tokens from the official `aws-sdk-ivschat` client, WebSocket clients on
//! `/` with the token as subprotocol, every action, frame, capability and limit, the review handler, the control
//! plane's events, session expiry, logging destinations, slow consumers and a room of 1,000 members.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aws_sdk_ivschat::types::{
    ChatTokenCapability, CloudWatchLogsDestinationConfiguration, DestinationConfiguration, FallbackResult,
    FirehoseDestinationConfiguration, MessageReviewHandler, S3DestinationConfiguration,
};
use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::harness::*;

pub(crate) const SEND: ChatTokenCapability = ChatTokenCapability::SendMessage;
const DELETE: ChatTokenCapability = ChatTokenCapability::DeleteMessage;
const DISCONNECT: ChatTokenCapability = ChatTokenCapability::DisconnectUser;

/// A room allowing 100 messages per second; returns its ARN.
pub(crate) async fn room(sdk: &aws_sdk_ivschat::Client) -> String {
    let room = sdk.create_room().maximum_message_rate_per_second(100).send().await.unwrap();
    room.arn().unwrap().to_owned()
}

pub(crate) async fn token(
    sdk: &aws_sdk_ivschat::Client,
    arn: &str,
    user: &str,
    capabilities: &[ChatTokenCapability],
    attributes: &[(&str, &str)],
) -> String {
    let mut request = sdk.create_chat_token().room_identifier(arn).user_id(user);
    for capability in capabilities {
        request = request.capabilities(capability.clone());
    }
    for (k, v) in attributes {
        request = request.attributes(*k, *v);
    }
    request.send().await.unwrap().token().unwrap().to_owned()
}

fn chat_request(server: &TestServer, token: Option<&str>) -> http::Request<()> {
    let mut request = format!("ws://{}/", server.addr).into_client_request().unwrap();
    if let Some(token) = token {
        request.headers_mut().insert("Sec-WebSocket-Protocol", token.parse().unwrap());
    }
    request
}

/// Connects with the token as subprotocol and checks that the server echoed it.
pub(crate) async fn join(server: &TestServer, token: &str) -> Ws {
    let (ws, response) = tokio_tungstenite::connect_async(chat_request(server, Some(token))).await.unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], token);
    ws
}

/// A refused handshake's status and body.
pub(crate) async fn refused(server: &TestServer, token: Option<&str>) -> (u16, Value) {
    match tokio_tungstenite::connect_async(chat_request(server, token)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let body = response.body().clone().unwrap_or_default();
            (response.status().as_u16(), serde_json::from_slice(&body).unwrap_or(Value::Null))
        }
        Ok(_) => panic!("the handshake was accepted"),
        Err(err) => panic!("unexpected error: {err}"),
    }
}

pub(crate) async fn frame(ws: &mut Ws) -> Value {
    let text = recv_text(ws).await;
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

pub(crate) async fn send(ws: &mut Ws, value: Value) {
    send_text(ws, &value.to_string()).await;
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

fn is_id(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.len() == 12 && s.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Asserts that no data frame arrives within `wait`.
/// Nothing but control frames arrives for `wait`, and the connection is still open at the end of it.
pub(crate) async fn assert_silent(ws: &mut Ws, wait: Duration) {
    let until = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(until, ws.next()).await {
            Err(_) => return,
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
            Ok(other) => panic!("expected silence on an open connection, got {other:?}"),
        }
    }
}

fn assert_send_time(v: &Value) {
    let t = v.as_str().unwrap();
    assert!(t.ends_with('Z') && t.len() >= 20, "{t}");
    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).unwrap();
}

#[tokio::test]
async fn tokens_are_single_use_and_checked_at_the_handshake() {
    let server = TestServer::start("", |_| {}).await;
    let sdk = server.chat_sdk();
    let arn = room(&sdk).await;

    let before = time::OffsetDateTime::now_utc();
    let issued = sdk
        .create_chat_token()
        .room_identifier(&arn)
        .user_id("ann")
        .capabilities(SEND)
        .session_duration_in_minutes(30)
        .attributes("avatar", "https://example.com/a.png")
        .send()
        .await
        .unwrap();
    let token = issued.token().unwrap().to_owned();
    assert!(
        token.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)),
        "RFC 7230 token characters only: {token}"
    );
    let session_end = issued.session_expiration_time().unwrap().secs();
    let token_end = issued.token_expiration_time().unwrap().secs();
    assert!((session_end - before.unix_timestamp() - 30 * 60).abs() <= 2, "session of 30 minutes");
    assert_eq!(token_end, session_end, "the token lifetime (60 minutes) is capped by the session");

    let mut ws = join(&server, &token).await;
    assert_eq!(refused(&server, Some(&token)).await, (401, json!({"message": "The chat token has already been used"})));
    let (status, body) = refused(&server, None).await;
    assert_eq!(status, 401, "{body}");
    // One character of the signature changed, away from its end: the last character of unpadded base64 may carry
    // bits a strict decoder refuses (then the token is malformed, not forged).
    let mut forged = token.clone().into_bytes();
    let inside = forged.len() - 5;
    forged[inside] = if forged[inside] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    assert_eq!(refused(&server, Some(&forged)).await, (401, json!({"message": "The chat token is invalid"})));
    assert_eq!(refused(&server, Some("garbage")).await.0, 401);

    let orphan = token_for_deleted_room(&sdk).await;
    assert_eq!(refused(&server, Some(&orphan)).await, (404, json!({"message": "Room not found"})));

    // The accepted connection works.
    send(&mut ws, json!({"Action": "SEND_MESSAGE", "Content": "hi"})).await;
    assert_eq!(frame(&mut ws).await["Content"], "hi");
    server.shutdown().await;
}

#[tokio::test]
async fn a_token_issued_before_a_restart_connects_once_after_it() {
    let server = TestServer::start("", |_| {}).await;
    let sdk = server.chat_sdk();
    let arn = room(&sdk).await;
    let used = token(&sdk, &arn, "ann", &[], &[]).await;
    let unused = token(&sdk, &arn, "bob", &[], &[]).await;
    drop(join(&server, &used).await);
    let dir = server.data_dir();
    server.shutdown().await;

    let server = TestServer::start_in(dir, "", |_| {}).await;
    assert_eq!(refused(&server, Some(&used)).await, (401, json!({"message": "The chat token has already been used"})));
    let mut ws = join(&server, &unused).await;
    assert_eq!(refused(&server, Some(&unused)).await.0, 401, "and only once");
    send(&mut ws, json!({"Action": "SEND_MESSAGE", "Content": "after the restart"})).await;
    assert!(frame(&mut ws).await.is_object());
    server.shutdown().await;
}

async fn token_for_deleted_room(sdk: &aws_sdk_ivschat::Client) -> String {
    let arn = room(sdk).await;
    let token = token(sdk, &arn, "bob", &[], &[]).await;
    sdk.delete_room().identifier(&arn).send().await.unwrap();
    token
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    let server = TestServer::start("[chat]\ntoken_lifetime_secs = 1\n", |_| {}).await;
    let sdk = server.chat_sdk();
    let arn = room(&sdk).await;
    let issued = sdk.create_chat_token().room_identifier(&arn).user_id("ann").send().await.unwrap();
    let lifetime = issued.token_expiration_time().unwrap().secs() - time::OffsetDateTime::now_utc().unix_timestamp();
    assert!((0..=1).contains(&lifetime), "{lifetime}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        refused(&server, Some(issued.token().unwrap())).await,
        (401, json!({"message": "The chat token has expired"}))
    );
    server.shutdown().await;
}

#[tokio::test]
async fn messages_reach_every_member_including_the_sender() {
    let server = TestServer::start("", |_| {}).await;
    let sdk = server.chat_sdk();
    let arn = room(&sdk).await;
    let mut ann =
        join(&server, &token(&sdk, &arn, "ann", &[SEND], &[("username", "ann"), ("avatar", "a.png")]).await).await;
    let mut viewer = join(&server, &token(&sdk, &arn, "viewer", &[], &[]).await).await;

    send(
        &mut ann,
        json!({"Action":"SEND_MESSAGE","RequestId":"3adc8761-e00f-4333-8086-9990747d7e40","Content":"hello","Attributes":{"k":"v"}}),
    )
    .await;
    let text = recv_text(&mut ann).await;
    assert_eq!(recv_text(&mut viewer).await, text, "one encoding for every recipient");
    let message: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(keys(&message), ["Type", "Id", "RequestId", "Attributes", "Content", "SendTime", "Sender"]);
    assert_eq!(message["Type"], "MESSAGE");
    assert!(is_id(&message["Id"]), "{message}");
    assert_eq!(message["RequestId"], "3adc8761-e00f-4333-8086-9990747d7e40");
    assert_eq!(message["Attributes"], json!({"k": "v"}));
    assert_eq!(message["Content"], "hello");
    assert_send_time(&message["SendTime"]);
    assert_eq!(keys(&message["Sender"]), ["UserId", "Attributes"]);
    assert_eq!(message["Sender"], json!({"UserId": "ann", "Attributes": {"avatar": "a.png", "username": "ann"}}));

    // No attributes: `"Attributes":null`; no RequestId: `""`; token without attributes: `{}`.
    send(&mut ann, json!({"Action":"SEND_MESSAGE","Content":"ünïcödé 👋"})).await;
    let text = recv_text(&mut viewer).await;
    assert!(text.contains(r#""RequestId":"","Attributes":null,"Content":"ünïcödé 👋""#), "{text}");
    let second: Value = serde_json::from_str(&text).unwrap();
    assert_ne!(second["Id"], message["Id"]);
    assert!(second["SendTime"].as_str().unwrap() > message["SendTime"].as_str().unwrap());
    assert_eq!(frame(&mut ann).await["Id"], second["Id"]);

    // A viewer may not send: ERROR 403 to the viewer only.
    send(&mut viewer, json!({"Action":"SEND_MESSAGE","RequestId":"r-403","Content":"psst"})).await;
    let error = frame(&mut viewer).await;
    assert_eq!(keys(&error), ["Type", "Id", "RequestId", "ErrorCode", "ErrorMessage"]);
    assert_eq!(error["Type"], "ERROR");
    assert!(is_id(&error["Id"]));
    assert_eq!(error["RequestId"], "r-403");
    assert_eq!(error["ErrorCode"], 403);
    assert_eq!(error["ErrorMessage"], "The chat token does not have the SEND_MESSAGE capability");
    assert_silent(&mut ann, Duration::from_millis(200)).await;
    server.shutdown().await;
}

#[tokio::test]
async fn delete_and_disconnect_actions_with_capabilities() {
    let server = TestServer::start("", |_| {}).await;
    let sdk = server.chat_sdk();
    let arn = room(&sdk).await;
    let mut moderator = join(&server, &token(&sdk, &arn, "mod", &[SEND, DELETE, DISCONNECT], &[]).await).await;
    let mut victim_phone = join(&server, &token(&sdk, &arn, "victim", &[SEND, DELETE], &[]).await).await;
    let mut victim_laptop = join(&server, &token(&sdk, &arn, "victim", &[SEND], &[]).await).await;
    let mut bystander = join(&server, &token(&sdk, &arn, "bystander", &[], &[]).await).await;

    send(&mut victim_laptop, json!({"Action":"SEND_MESSAGE","Content":"spam"})).await;
    let spam = frame(&mut moderator).await;
    for ws in [&mut victim_phone, &mut victim_laptop, &mut bystander] {
        assert_eq!(frame(ws).await, spam);
    }
    let spam_id = spam["Id"].as_str().unwrap();

    // Without the capability: 403.
    send(&mut victim_laptop, json!({"Action":"DELETE_MESSAGE","RequestId":"d1","Id":spam_id})).await;
    let error = frame(&mut victim_laptop).await;
    assert_eq!((error["ErrorCode"].clone(), error["RequestId"].clone()), (json!(403), json!("d1")));
    send(&mut victim_phone, json!({"Action":"DISCONNECT_USER","RequestId":"x1","UserId":"mod"})).await;
    assert_eq!(frame(&mut victim_phone).await["ErrorCode"], 403);

    send(&mut moderator, json!({"Action":"DELETE_MESSAGE","RequestId":"4f5c156f","Id":spam_id,"Reason":"spam"})).await;
    let deleted = frame(&mut moderator).await;
    assert_eq!(keys(&deleted), ["Type", "Id", "RequestId", "EventName", "Attributes", "SendTime"]);
    assert_eq!(deleted["Type"], "EVENT");
    assert!(is_id(&deleted["Id"]));
    assert_eq!(deleted["RequestId"], "4f5c156f");
    assert_eq!(deleted["EventName"], "aws:DELETE_MESSAGE");
    assert_eq!(deleted["Attributes"], json!({"MessageID": spam_id, "MessageId": spam_id, "Reason": "spam"}));
    assert_send_time(&deleted["SendTime"]);
    for ws in [&mut victim_phone, &mut victim_laptop, &mut bystander] {
        assert_eq!(frame(ws).await, deleted);
    }

    send(&mut moderator, json!({"Action":"DISCONNECT_USER","RequestId":"cc293ea6","UserId":"victim","Reason":"bye"}))
        .await;
    let kicked = frame(&mut moderator).await;
    assert_eq!(kicked["EventName"], "aws:DISCONNECT_USER");
    assert_eq!(kicked["RequestId"], "cc293ea6");
    assert_eq!(kicked["Attributes"], json!({"Reason": "bye", "UserId": "victim"}));
    assert_eq!(frame(&mut bystander).await, kicked);
    // Each of the user's connections receives the event, then a clean close.
    for ws in [&mut victim_phone, &mut victim_laptop] {
        assert_eq!(frame(ws).await, kicked);
        assert_eq!(recv_close(ws).await, (1000, "Disconnected by moderator".to_owned()));
    }
    // Everyone else stays.
    send(&mut moderator, json!({"Action":"SEND_MESSAGE","Content":"order restored"})).await;
    assert_eq!(frame(&mut bystander).await["Content"], "order restored");
    assert_eq!(frame(&mut moderator).await["Content"], "order restored");
    server.shutdown().await;
}

#[tokio::test]
async fn room_limits_apply_and_change_live() {
    let server = TestServer::start("", |_| {}).await;
    let sdk = server.chat_sdk();
    let room = sdk.create_room().maximum_message_length(5).maximum_message_rate_per_second(2).send().await.unwrap();
    let arn = room.arn().unwrap().to_owned();
    let mut ann = join(&server, &token(&sdk, &arn, "ann", &[SEND], &[]).await).await;

    send(&mut ann, json!({"Action":"SEND_MESSAGE","RequestId":"long","Content":"123456"})).await;
    let error = frame(&mut ann).await;
    assert_eq!(
        (error["ErrorCode"].clone(), error["ErrorMessage"].clone(), error["RequestId"].clone()),
        (json!(400), json!("Message exceeds maximum length"), json!("long"))
    );
    // Code points, not bytes.
    send(&mut ann, json!({"Action":"SEND_MESSAGE","Content":"ééééé"})).await;
    assert_eq!(frame(&mut ann).await["Content"], "ééééé");
    let big: serde_json::Map<String, Value> = (0..12).map(|i| (format!("k{i}"), json!("v".repeat(90)))).collect();
    send(&mut ann, json!({"Action":"SEND_MESSAGE","RequestId":"big","Content":"x","Attributes":big})).await;
    let error = frame(&mut ann).await;
    assert_eq!((error["ErrorCode"].clone(), error["RequestId"].clone()), (json!(413), json!("big")));

    // Two per second: the burst's third message is refused.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for i in 0..3 {
        send(&mut ann, json!({"Action":"SEND_MESSAGE","RequestId":format!("r{i}"),"Content":"x"})).await;
    }
    let replies = [frame(&mut ann).await, frame(&mut ann).await, frame(&mut ann).await];
    assert_eq!(replies.iter().filter(|f| f["Type"] == "MESSAGE").count(), 2);
    let limited = replies.iter().find(|f| f["Type"] == "ERROR").unwrap();
    assert_eq!(
        (limited["ErrorCode"].clone(), limited["ErrorMessage"].clone(), limited["RequestId"].clone()),
        (json!(429), json!("rate limit exceeded"), json!("r2"))
    );

    // UpdateRoom takes effect on the live room.
    sdk.update_room()
        .identifier(&arn)
        .maximum_message_length(10)
        .maximum_message_rate_per_second(100)
        .send()
        .await
        .unwrap();
    send(&mut ann, json!({"Action":"SEND_MESSAGE","Content":"123456"})).await;
    let accepted = frame(&mut ann).await;
    assert_eq!(accepted["Content"], "123456", "{accepted}");
    for _ in 0..20 {
        send(&mut ann, json!({"Action":"SEND_MESSAGE","Content":"fast"})).await;
    }
    for _ in 0..20 {
        assert_eq!(frame(&mut ann).await["Type"], "MESSAGE");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn delete_and_disconnect_requests_are_rate_limited_like_messages() {
    let server = TestServer::start("", |_| {}).await;
    let sdk = server.chat_sdk();
    let room = sdk.create_room().maximum_message_rate_per_second(2).send().await.unwrap();
    let arn = room.arn().unwrap().to_owned();
    let mut moderator = join(&server, &token(&sdk, &arn, "mod", &[DELETE, DISCONNECT], &[]).await).await;
    let mut bystander = join(&server, &token(&sdk, &arn, "bystander", &[], &[]).await).await;

    // Two per second, whatever the action: the burst's third request is refused, to the requester only.
    send(&mut moderator, json!({"Action":"DELETE_MESSAGE","RequestId":"d1","Id":"abcdefABCDEF"})).await;
    send(&mut moderator, json!({"Action":"DISCONNECT_USER","RequestId":"u1","UserId":"nobody"})).await;
    send(&mut moderator, json!({"Action":"DELETE_MESSAGE","RequestId":"d2","Id":"abcdefABCDEF"})).await;
    let replies = [frame(&mut moderator).await, frame(&mut moderator).await, frame(&mut moderator).await];
    assert_eq!(replies.iter().filter(|f| f["Type"] == "EVENT").count(), 2);
    let limited = replies.iter().find(|f| f["Type"] == "ERROR").unwrap();
    assert_eq!(
        (limited["ErrorCode"].clone(), limited["ErrorMessage"].clone(), limited["RequestId"].clone()),
        (json!(429), json!("rate limit exceeded"), json!("d2"))
    );
    assert_eq!(frame(&mut bystander).await["RequestId"], "d1");
    assert_eq!(frame(&mut bystander).await["RequestId"], "u1");
    assert_silent(&mut bystander, Duration::from_millis(200)).await;
    server.shutdown().await;
}

#[tokio::test]
async fn bad_input_gets_error_frames_and_never_closes_other_clients() {
    let server = TestServer::start("", |_| {}).await;
    let sdk = server.chat_sdk();
    let arn = room(&sdk).await;
    let mut rogue = join(&server, &token(&sdk, &arn, "rogue", &[SEND, DELETE, DISCONNECT], &[]).await).await;
    let mut other = join(&server, &token(&sdk, &arn, "other", &[SEND], &[]).await).await;

    // A `RequestId` over 128 characters is not echoed, not even truncated.
    let too_long_request_id = json!({"RequestId":"r".repeat(129),"Action":"SEND_MESSAGE","Content":"x"}).to_string();
    let cases = [
        ("not json", "", 400, "The request must be a JSON object"),
        ("[1,2]", "", 400, "The request must be a JSON object"),
        (r#"{"RequestId":7,"Action":"SEND_MESSAGE"}"#, "", 400, "RequestId must be a string"),
        (r#"{"RequestId":"a"}"#, "a", 400, "Action is required"),
        (r#"{"RequestId":"b","Action":"SHOUT"}"#, "b", 400, "Unsupported action"),
        (r#"{"RequestId":"c","Action":"SEND_MESSAGE","Content":42}"#, "c", 400, "Content must be a string"),
        (r#"{"RequestId":"d","Action":"SEND_MESSAGE"}"#, "d", 400, "Content is required"),
        (
            r#"{"RequestId":"e","Action":"SEND_MESSAGE","Content":"x","Attributes":{"a":[1]}}"#,
            "e",
            400,
            "Attributes must be an object of string values",
        ),
        (
            r#"{"RequestId":"f","Action":"DELETE_MESSAGE","Id":"short"}"#,
            "f",
            400,
            "Id must be a message id: 12 letters and digits",
        ),
        (
            r#"{"RequestId":"g","Action":"DISCONNECT_USER","UserId":""}"#,
            "g",
            400,
            "UserId must be 1 to 128 characters long",
        ),
        (r#"{"RequestId":"h","Action":"DISCONNECT_USER"}"#, "h", 400, "UserId is required"),
        (&too_long_request_id, "", 400, "RequestId must be at most 128 characters long"),
    ];
    for (text, request_id, code, message) in cases {
        send_text(&mut rogue, text).await;
        let error = frame(&mut rogue).await;
        assert_eq!(error["Type"], "ERROR", "{text}");
        assert_eq!(error["RequestId"], request_id, "{text}");
        assert_eq!(error["ErrorCode"], code, "{text}");
        assert_eq!(error["ErrorMessage"], message, "{text}");
    }
    let oversize = "x".repeat(501);
    send(&mut rogue, json!({"Action":"SEND_MESSAGE","RequestId":"i","Content":oversize})).await;
    assert_eq!(frame(&mut rogue).await["ErrorCode"], 400);
    assert_silent(&mut other, Duration::from_millis(100)).await;

    // The rogue's connection is still open, and so is everyone else's.
    send(&mut rogue, json!({"Action":"SEND_MESSAGE","Content":"still here"})).await;
    assert_eq!(frame(&mut other).await["Content"], "still here");
    assert_eq!(frame(&mut rogue).await["Content"], "still here");

    // A binary frame ends the rogue's connection only.
    rogue.send(Message::binary(vec![0u8, 1, 2])).await.unwrap();
    assert_eq!(recv_close(&mut rogue).await.0, 1003);
    send(&mut other, json!({"Action":"SEND_MESSAGE","Content":"fine"})).await;
    assert_eq!(frame(&mut other).await["Content"], "fine");
    server.shutdown().await;
}

#[tokio::test]
async fn control_plane_events_reach_every_connection() {
    let server = TestServer::start("", |_| {}).await;
    let sdk = server.chat_sdk();
    let arn = room(&sdk).await;
    let mut clients = Vec::new();
    for user in ["ann", "bob", "bob", "cy"] {
        clients.push(join(&server, &token(&sdk, &arn, user, &[], &[]).await).await);
    }

    // The seed: `aws ivschat send-event --room-identifier ARN --event-name SystemMessage --attributes …`.
    let sent = sdk
        .send_event()
        .room_identifier(&arn)
        .event_name("SystemMessage")
        .attributes("msgType", "user-notification")
        .attributes("msgText", "This chat room will close in 15 minutes.")
        .send()
        .await
        .unwrap();
    for ws in &mut clients {
        let event = frame(ws).await;
        assert_eq!(keys(&event), ["Type", "Id", "RequestId", "EventName", "Attributes", "SendTime"]);
        assert_eq!(event["Id"], sent.id().unwrap());
        assert_eq!(event["RequestId"], "");
        assert_eq!(event["EventName"], "SystemMessage");
        assert_eq!(
            event["Attributes"],
            json!({"msgText": "This chat room will close in 15 minutes.", "msgType": "user-notification"})
        );
        assert_send_time(&event["SendTime"]);
    }
    sdk.send_event().room_identifier(&arn).event_name("app:ping").send().await.unwrap();
    for ws in &mut clients {
        let text = recv_text(ws).await;
        assert!(text.contains(r#""EventName":"app:ping","Attributes":null"#), "{text}");
    }

    let deleted = sdk
        .delete_message()
        .room_identifier(&arn)
        .id("M2YcHkgffEvU")
        .reason("Deleted by moderator")
        .send()
        .await
        .unwrap();
    for ws in &mut clients {
        let event = frame(ws).await;
        assert_eq!(event["Id"], deleted.id().unwrap());
        assert_eq!(event["EventName"], "aws:DELETE_MESSAGE");
        assert_eq!(
            event["Attributes"],
            json!({"MessageID": "M2YcHkgffEvU", "MessageId": "M2YcHkgffEvU", "Reason": "Deleted by moderator"})
        );
    }

    sdk.disconnect_user().room_identifier(&arn).user_id("bob").reason("Kicked by moderator").send().await.unwrap();
    for ws in &mut clients {
        let event = frame(ws).await;
        assert_eq!(event["EventName"], "aws:DISCONNECT_USER");
        assert_eq!(event["RequestId"], "");
        assert_eq!(event["Attributes"], json!({"Reason": "Kicked by moderator", "UserId": "bob"}));
    }
    let (mut ann, mut bob1, mut bob2, mut cy) = {
        let mut it = clients.into_iter();
        (it.next().unwrap(), it.next().unwrap(), it.next().unwrap(), it.next().unwrap())
    };
    assert_eq!(recv_close(&mut bob1).await.0, 1000);
    assert_eq!(recv_close(&mut bob2).await.0, 1000);
    sdk.send_event().room_identifier(&arn).event_name("after").send().await.unwrap();
    assert_eq!(frame(&mut ann).await["EventName"], "after");
    assert_eq!(frame(&mut cy).await["EventName"], "after");

    // DeleteRoom closes the room's connections.
    sdk.delete_room().identifier(&arn).send().await.unwrap();
    assert_eq!(recv_close(&mut ann).await, (1001, "Room deleted".to_owned()));
    assert_eq!(recv_close(&mut cy).await.0, 1001);
    server.shutdown().await;
}

#[tokio::test]
async fn session_expiry_sends_error_401_then_closes() {
    let server = TestServer::start("", |_| {}).await;
    let sdk = server.chat_sdk();
    let arn = room(&sdk).await;
    let issued = sdk
        .create_chat_token()
        .room_identifier(&arn)
        .user_id("ann")
        .session_duration_in_minutes(1)
        .send()
        .await
        .unwrap();
    let mut ws = join(&server, issued.token().unwrap()).await;
    let started = Instant::now();
    let error = loop {
        // `frame` waits 5 s at most; wait for the session's end instead.
        match tokio::time::timeout(Duration::from_secs(70), ws.next()).await.unwrap().unwrap().unwrap() {
            Message::Text(text) => break serde_json::from_str::<Value>(&text).unwrap(),
            _ => continue,
        }
    };
    assert!(started.elapsed() > Duration::from_secs(55), "{:?}", started.elapsed());
    assert_eq!(error["Type"], "ERROR");
    assert_eq!(error["ErrorCode"], 401);
    assert_eq!(error["ErrorMessage"], "Session expired");
    assert_eq!(recv_close(&mut ws).await, (1000, "Session expired".to_owned()));
    server.shutdown().await;
}

#[tokio::test]
async fn review_handler_allows_rewrites_denies_and_falls_back() {
    let handler = Backend::start(|payload| match payload["Content"].as_str().unwrap_or_default() {
        "rewrite" => Reply::Json(json!({"ReviewResult":"ALLOW","Content":"r*****e","Attributes":{"flag":"y"}})),
        "deny" => Reply::Json(json!({"ReviewResult":"DENY","Attributes":{"Reason":"Not on my watch"}})),
        "slow" => Reply::Delay(Duration::from_millis(600), json!({"ReviewResult":"DENY"})),
        "broken" => Reply::Status(500),
        "nonsense" => Reply::Json(json!({"ReviewResult":"MAYBE"})),
        _ => Reply::Json(json!({"ReviewResult":"ALLOW"})),
    })
    .await;
    let lambda = "arn:aws:lambda:us-east-1:000000000000:function:review";
    let config = format!("[chat.review_handlers]\n\"{lambda}\" = \"{}\"\n", handler.url());
    let server = TestServer::start(&config, |_| {}).await;
    let mut handler = handler;
    let sdk = server.chat_sdk();

    // An HTTP URL as the handler, fallback ALLOW.
    let room = sdk
        .create_room()
        .maximum_message_rate_per_second(100)
        .message_review_handler(MessageReviewHandler::builder().uri(handler.url()).build())
        .send()
        .await
        .unwrap();
    let arn = room.arn().unwrap().to_owned();
    let mut ann = join(&server, &token(&sdk, &arn, "ann", &[SEND], &[("role", "fan")]).await).await;
    let mut bob = join(&server, &token(&sdk, &arn, "bob", &[], &[]).await).await;

    send(&mut ann, json!({"Action":"SEND_MESSAGE","RequestId":"1","Content":"hello","Attributes":{"a":"b"}})).await;
    let payload = handler.next().await;
    let delivered = frame(&mut bob).await;
    assert_eq!(keys(&payload), ["Content", "MessageId", "RoomArn", "Attributes", "Sender"]);
    assert_eq!(payload["Content"], "hello");
    assert_eq!(payload["MessageId"], delivered["Id"], "the review sees the Id the message is delivered with");
    assert_eq!(payload["RoomArn"], arn.as_str());
    assert_eq!(payload["Attributes"], json!({"a": "b"}));
    assert_eq!(payload["Sender"], json!({"Attributes": {"role": "fan"}, "UserId": "ann", "Ip": "127.0.0.1"}));
    assert_eq!(frame(&mut ann).await, delivered);

    send(&mut ann, json!({"Action":"SEND_MESSAGE","Content":"rewrite"})).await;
    let rewritten = frame(&mut bob).await;
    assert_eq!(
        (rewritten["Content"].clone(), rewritten["Attributes"].clone()),
        (json!("r*****e"), json!({"flag": "y"}))
    );
    frame(&mut ann).await;

    send(&mut ann, json!({"Action":"SEND_MESSAGE","RequestId":"no","Content":"deny"})).await;
    let error = frame(&mut ann).await;
    assert_eq!(
        (error["ErrorCode"].clone(), error["ErrorMessage"].clone(), error["RequestId"].clone()),
        (json!(406), json!("Not on my watch"), json!("no"))
    );
    assert_silent(&mut bob, Duration::from_millis(100)).await;

    // Timeout (200 ms), failure and invalid answers take the fallback result: ALLOW…
    for content in ["slow", "broken", "nonsense"] {
        send(&mut ann, json!({"Action":"SEND_MESSAGE","Content":content})).await;
        assert_eq!(frame(&mut bob).await["Content"], content);
        assert_eq!(frame(&mut ann).await["Content"], content);
    }
    // …then DENY, changed live, with the handler now named by a mapped Lambda ARN.
    sdk.update_room()
        .identifier(&arn)
        .message_review_handler(
            MessageReviewHandler::builder().uri(lambda).fallback_result(FallbackResult::Deny).build(),
        )
        .send()
        .await
        .unwrap();
    for content in ["slow", "broken"] {
        send(&mut ann, json!({"Action":"SEND_MESSAGE","Content":content})).await;
        assert_eq!(frame(&mut ann).await["ErrorCode"], 406, "{content}");
    }
    send(&mut ann, json!({"Action":"SEND_MESSAGE","Content":"fine"})).await;
    assert_eq!(frame(&mut bob).await["Content"], "fine");
    assert_silent(&mut bob, Duration::from_millis(100)).await;
    server.shutdown().await;
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// Waits until `check` finds what it wants in the file tree, for up to 10 seconds.
async fn eventually<T>(mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(Instant::now() < deadline, "not written within 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn lines(text: &str) -> Vec<Value> {
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[tokio::test]
async fn logging_configurations_record_every_message_and_event() {
    let mut firehose = Backend::ok().await;
    let config = format!(
        "[chat]\nlog_flush_ms = 50\ns3_flush_ms = 200\n[chat.firehose_endpoints]\nlive-stream = \"{}\"\n",
        firehose.url()
    );
    let server = TestServer::start(&config, |_| {}).await;
    let data = server.data_dir();
    let sdk = server.chat_sdk();
    let mut logging = Vec::new();
    for destination in [
        DestinationConfiguration::CloudWatchLogs(
            CloudWatchLogsDestinationConfiguration::builder().log_group_name("/aws/ivschat/lobby").build().unwrap(),
        ),
        DestinationConfiguration::S3(
            S3DestinationConfiguration::builder().bucket_name("chat-archive").build().unwrap(),
        ),
        DestinationConfiguration::Firehose(
            FirehoseDestinationConfiguration::builder().delivery_stream_name("live-stream").build().unwrap(),
        ),
    ] {
        let created = sdk.create_logging_configuration().destination_configuration(destination).send().await.unwrap();
        logging.push(created.arn().unwrap().to_owned());
    }
    let room = sdk
        .create_room()
        .maximum_message_rate_per_second(100)
        .set_logging_configuration_identifiers(Some(logging.clone()))
        .send()
        .await
        .unwrap();
    let (arn, room_id) = (room.arn().unwrap().to_owned(), room.id().unwrap().to_owned());
    let mut ann = join(&server, &token(&sdk, &arn, "ann", &[SEND], &[]).await).await;
    send(&mut ann, json!({"Action":"SEND_MESSAGE","RequestId":"r1","Content":"logged"})).await;
    let message = recv_text(&mut ann).await;
    sdk.send_event().room_identifier(&arn).event_name("app:note").attributes("k", "v").send().await.unwrap();
    let event = recv_text(&mut ann).await;
    let expected = |record: &Value, kind: &str, frame: &str| {
        let keys: Vec<&str> = record.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["event_timestamp", "type", "payload", "version"]);
        assert_eq!(record["type"], kind);
        assert_eq!(record["version"], "1.0");
        assert_eq!(record["payload"], serde_json::from_str::<Value>(frame).unwrap());
        let stamp = record["event_timestamp"].as_str().unwrap();
        assert_eq!(stamp.len(), "2023-01-05T14:33:32.894Z".len(), "{stamp}");
        assert!(record["payload"]["SendTime"].as_str().unwrap().starts_with(&stamp[..stamp.len() - 1]));
    };

    // CloudWatch Logs: NDJSON per log group and stream.
    let cloudwatch = data
        .path()
        .join(format!("chat-logs/cloudwatch/%2Faws%2Fivschat%2Flobby/aws/IVSChatLogs/1.0/room_{room_id}.ndjson"));
    let records = eventually(|| {
        let records = lines(&std::fs::read_to_string(&cloudwatch).ok()?);
        (records.len() >= 2).then_some(records)
    })
    .await;
    expected(&records[0], "MESSAGE", &message);
    expected(&records[1], "EVENT", &event);

    // S3: gzip NDJSON objects with AWS's key layout.
    let prefix = data
        .path()
        .join(format!("chat-logs/s3/chat-archive/AWSLogs/000000000000/IVSChatLogs/1.0/us-east-1/room_{room_id}"));
    let objects = eventually(|| {
        let files = files_under(&prefix);
        let mut records = Vec::new();
        for file in &files {
            let mut text = String::new();
            flate2::read::GzDecoder::new(std::fs::File::open(file).ok()?).read_to_string(&mut text).ok()?;
            records.extend(lines(&text));
        }
        (records.len() >= 2).then_some((files, records))
    })
    .await;
    let name = objects.0[0].file_name().unwrap().to_str().unwrap().to_owned();
    assert!(name.starts_with(&format!("000000000000_IVSChatLogs_1.0_us-east-1_room_{room_id}_")), "{name}");
    assert!(name.ends_with(".log.gz"), "{name}");
    expected(&objects.1[0], "MESSAGE", &message);
    expected(&objects.1[1], "EVENT", &event);

    // Firehose: HTTP endpoint delivery requests with base64 records.
    let mut delivered = Vec::new();
    while delivered.len() < 2 {
        let request = firehose.next().await;
        assert_eq!(keys(&request), ["requestId", "timestamp", "records"]);
        for record in request["records"].as_array().unwrap() {
            let data = base64::engine::general_purpose::STANDARD.decode(record["data"].as_str().unwrap()).unwrap();
            delivered.push(serde_json::from_slice::<Value>(&data).unwrap());
        }
    }
    expected(&delivered[0], "MESSAGE", &message);
    expected(&delivered[1], "EVENT", &event);
    server.shutdown().await;
}

#[tokio::test]
async fn s3_compatible_endpoint_and_unmapped_firehose_streams() {
    let mut s3 = Backend::ok().await;
    let config = format!(
        "[chat]\nlog_flush_ms = 50\ns3_flush_ms = 100\n[chat.s3]\nendpoint = \"{}\"\naccess_key_id = \"minio\"\nsecret_access_key = \"minio-secret\"\n",
        s3.url().trim_end_matches("/fn")
    );
    let server = TestServer::start(&config, |_| {}).await;
    let sdk = server.chat_sdk();
    let s3_config = sdk
        .create_logging_configuration()
        .destination_configuration(DestinationConfiguration::S3(
            S3DestinationConfiguration::builder().bucket_name("archive").build().unwrap(),
        ))
        .send()
        .await
        .unwrap();
    let stream = sdk
        .create_logging_configuration()
        .destination_configuration(DestinationConfiguration::Firehose(
            FirehoseDestinationConfiguration::builder().delivery_stream_name("unmapped").build().unwrap(),
        ))
        .send()
        .await
        .unwrap();
    let room = sdk
        .create_room()
        .logging_configuration_identifiers(s3_config.arn().unwrap())
        .logging_configuration_identifiers(stream.arn().unwrap())
        .send()
        .await
        .unwrap();
    // Nobody is connected: events are logged all the same.
    sdk.send_event().room_identifier(room.arn().unwrap()).event_name("quiet").send().await.unwrap();

    let request = s3.next_request().await;
    assert_eq!(request.method, http::Method::PUT);
    let path = request.uri.path().to_owned();
    assert!(
        path.starts_with(&format!(
            "/archive/AWSLogs/000000000000/IVSChatLogs/1.0/us-east-1/room_{}/",
            room.id().unwrap()
        )),
        "{path}"
    );
    let authorization = request.headers["authorization"].to_str().unwrap();
    assert!(authorization.starts_with("AWS4-HMAC-SHA256 Credential=minio/"), "{authorization}");
    assert!(authorization.contains("/us-east-1/s3/aws4_request"), "{authorization}");
    assert_eq!(request.headers["x-amz-content-sha256"].len(), 64);

    let file = server.data_dir().path().join("chat-logs/firehose/unmapped.ndjson");
    let records = eventually(|| Some(lines(&std::fs::read_to_string(&file).ok()?)).filter(|r| !r.is_empty())).await;
    assert_eq!(records[0]["payload"]["EventName"], "quiet");
    server.shutdown().await;
}

/// A client whose socket receive buffer is tiny, so that it stops draining the server quickly.
async fn join_with_small_buffer(server: &TestServer, token: &str) -> Ws {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket.connect(server.addr).await.unwrap();
    let (ws, _) = tokio_tungstenite::client_async(
        chat_request(server, Some(token)),
        tokio_tungstenite::MaybeTlsStream::Plain(tcp),
    )
    .await
    .unwrap();
    ws
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_member_is_disconnected_without_delaying_the_others() {
    // More than the kernel can buffer for the stalled socket (tcp_wmem's 4 MiB maximum plus a tiny receive buffer)
    // and the 256 KiB outbox, which leaves the reader room to fall behind on a busy machine without being cut off.
    const EVENTS: usize = 6000;
    let server = TestServer::start("", |a| a.limits.outbox_bytes = Some(256 * 1024)).await;
    let sdk = server.chat_sdk();
    let arn = room(&sdk).await;
    let mut stalled = join_with_small_buffer(&server, &token(&sdk, &arn, "stalled", &[], &[]).await).await;
    let mut reader = join(&server, &token(&sdk, &arn, "reader", &[], &[]).await).await;
    let reading = tokio::spawn(async move {
        for _ in 0..EVENTS {
            assert_eq!(frame(&mut reader).await["EventName"], "bulk");
        }
    });

    let payload = "p".repeat(1000);
    let started = Instant::now();
    for chunk in (0..EVENTS).collect::<Vec<_>>().chunks(32) {
        let sends = chunk
            .iter()
            .map(|_| sdk.send_event().room_identifier(&arn).event_name("bulk").attributes("data", &payload).send());
        for sent in futures_util::future::join_all(sends).await {
            sent.unwrap();
        }
    }
    // Were delivery to wait on the stalled member, the reader would never get them all: a minute is a liveness bound,
    // not a speed target.
    tokio::time::timeout(Duration::from_secs(60), reading).await.expect("the reader was held up").unwrap();
    eprintln!("{EVENTS} events of 1 KB through a room with a stalled member in {:?}", started.elapsed());

    // The stalled member reads what reached it, then the close for slow consumers.
    let mut received = 0;
    let code = loop {
        let next = tokio::time::timeout(Duration::from_secs(10), stalled.next()).await;
        let Ok(next) = next else { panic!("no end within 10 s after {received} frames") };
        match next {
            Some(Ok(Message::Text(_))) => received += 1,
            Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => break None,
        }
    };
    assert!(received < EVENTS, "the stalled member was cut off ({received} of {EVENTS})");
    assert_eq!(code, Some(1008));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_of_1000_members_receives_every_message_in_order() {
    const MEMBERS: usize = 1000;
    const MESSAGES: usize = 20;
    let server = TestServer::start("", |a| {
        a.limits.new_connections_per_second = Some(0);
        a.limits.new_connections_per_second_per_address = Some(0);
    })
    .await;
    let sdk = server.chat_sdk();
    let arn = room(&sdk).await;

    let started = Instant::now();
    let mut tokens = Vec::new();
    for chunk in (0..MEMBERS).collect::<Vec<_>>().chunks(50) {
        let batch = chunk.iter().map(|i| {
            let sdk = sdk.clone();
            let arn = arn.clone();
            async move { token(&sdk, &arn, &format!("member-{i}"), &[], &[]).await }
        });
        tokens.extend(futures_util::future::join_all(batch).await);
    }
    let mut members = Vec::new();
    for chunk in tokens.chunks(100) {
        members.extend(futures_util::future::join_all(chunk.iter().map(|t| join(&server, t))).await);
    }
    let joined = started.elapsed();
    let mut sender = join(&server, &token(&sdk, &arn, "speaker", &[SEND], &[]).await).await;

    let readers: Vec<_> = members
        .into_iter()
        .map(|mut ws| {
            tokio::spawn(async move {
                let mut seen = Vec::with_capacity(MESSAGES);
                while seen.len() < MESSAGES {
                    let message = frame(&mut ws).await;
                    seen.push((
                        message["Content"].as_str().unwrap().to_owned(),
                        message["Id"].as_str().unwrap().to_owned(),
                    ));
                }
                seen
            })
        })
        .collect();
    let fan_out = Instant::now();
    for i in 0..MESSAGES {
        send(&mut sender, json!({"Action":"SEND_MESSAGE","RequestId":format!("r{i}"),"Content":format!("m{i}")})).await;
    }
    let expected: Vec<String> = (0..MESSAGES).map(|i| format!("m{i}")).collect();
    let mut ids: Option<Vec<String>> = None;
    for reader in readers {
        let seen = reader.await.unwrap();
        let contents: Vec<String> = seen.iter().map(|(c, _)| c.clone()).collect();
        assert_eq!(contents, expected, "every member receives every message in order");
        let these: Vec<String> = seen.into_iter().map(|(_, id)| id).collect();
        match &ids {
            None => ids = Some(these),
            Some(first) => assert_eq!(&these, first, "one Id per message for everyone"),
        }
    }
    let delivered = fan_out.elapsed();
    assert_eq!(ids.unwrap().into_iter().collect::<HashSet<_>>().len(), MESSAGES);
    eprintln!("1,000 members: tokens and handshakes in {joined:?}; {} deliveries in {delivered:?}", MEMBERS * MESSAGES);
    server.shutdown().await;
}

/// A chat handshake that is not WebSocket version 13 answers 400 (and names the version it wants).
#[tokio::test]
async fn a_handshake_of_another_websocket_version_answers_400() {
    let server = TestServer::start("", |_| {}).await;
    let request = reqwest::Client::new()
        .get(server.url("/"))
        .header("upgrade", "websocket")
        .header("connection", "upgrade")
        .header("sec-websocket-version", "8")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("sec-websocket-protocol", "token");
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["sec-websocket-version"], "13");
    server.shutdown().await;
}
