//! CreateChatToken, SendEvent, DeleteMessage and DisconnectUser: what reaches the messaging layer and
//! what the caller gets back, including the messaging layer's failures.

use serde_json::json;
use store::ResourceKind;

use super::*;
use crate::ChatTokenCapability;

#[tokio::test]
async fn create_chat_token() {
    let h = harness().await;
    let id = h.room(json!({})).await;
    let resp = h
        .post(
            "CreateChatToken",
            json!({
                "roomIdentifier": format!("{ROOM_ARN_PREFIX}{id}"),
                "userId": "user-1",
                "capabilities": ["SEND_MESSAGE", "DELETE_MESSAGE", "SEND_MESSAGE"],
                "sessionDurationInMinutes": 180,
                "attributes": {"displayName": "Ann"}
            }),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(
        resp.body,
        r#"{"token":"tok_user-1_SEND_MESSAGE-DELETE_MESSAGE","tokenExpirationTime":"2024-01-01T00:01:00.001Z","sessionExpirationTime":"2024-01-01T03:00:00.001Z"}"#
    );
    let request = h.issuer.requests.lock().pop().unwrap();
    assert_eq!(request.room.id, id);
    assert_eq!(request.room_arn, format!("{ROOM_ARN_PREFIX}{id}"));
    assert_eq!(request.capabilities, [ChatTokenCapability::SendMessage, ChatTokenCapability::DeleteMessage]);
    assert_eq!(request.session_duration, time::Duration::minutes(180));
    assert_eq!(request.attributes.get("displayName").map(String::as_str), Some("Ann"));

    // Defaults: view only, 60 minutes.
    h.ok("CreateChatToken", json!({"roomIdentifier": id, "userId": "u"})).await;
    let request = h.issuer.requests.lock().pop().unwrap();
    assert!(request.capabilities.is_empty());
    assert_eq!(request.session_duration, time::Duration::minutes(60));
    assert!(request.attributes.is_empty());
}

#[tokio::test]
async fn send_event() {
    let h = harness().await;
    let room = h.room(json!({})).await;
    let resp = h
        .post("SendEvent", json!({"roomIdentifier": format!("{ROOM_ARN_PREFIX}{room}"), "eventName": "app:notice", "attributes": {"a": "1"}}))
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let id = resp.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(pin(&resp.body, &[(&id, "id")]), r#"{"id":"<id>"}"#);
    match h.events.take().as_slice() {
        [Call::SendEvent(room_id, event)] => {
            assert_eq!(room_id, &room);
            assert_eq!(event.id, id);
            assert_eq!(event.event_name, "app:notice");
            assert_eq!(event.attributes.get("a").map(String::as_str), Some("1"));
            assert_eq!(event.send_time, T0 + time::Duration::milliseconds(1));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn delete_message() {
    let h = harness().await;
    let room = h.room(json!({})).await;
    let v = h.ok("DeleteMessage", json!({"roomIdentifier": room, "id": "M2YcHkgffEvU", "reason": "spam"})).await;
    let id = v["id"].as_str().unwrap();
    assert_eq!(id.len(), 12);
    match h.events.take().as_slice() {
        [Call::DeleteMessage(room_id, d)] => {
            assert_eq!(room_id, &room);
            assert_eq!((d.id.as_str(), d.message_id.as_str(), d.reason.as_deref()), (id, "M2YcHkgffEvU", Some("spam")));
        }
        other => panic!("{other:?}"),
    }
    h.ok("DeleteMessage", json!({"roomIdentifier": room, "id": "M2YcHkgffEvU"})).await;
    assert!(matches!(h.events.take().as_slice(), [Call::DeleteMessage(_, d)] if d.reason.is_none()));
}

#[tokio::test]
async fn disconnect_user() {
    let h = harness().await;
    let room = h.room(json!({})).await;
    let resp = h.post("DisconnectUser", json!({"roomIdentifier": room, "userId": "victim", "reason": "bye"})).await;
    assert_eq!((resp.status, resp.body.as_str()), (200, "{}"));
    match h.events.take().as_slice() {
        [Call::DisconnectUser(room_id, d)] => {
            assert_eq!(room_id, &room);
            assert_eq!((d.user_id.as_str(), d.reason.as_deref()), ("victim", Some("bye")));
            assert_eq!(d.id.len(), 12);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn messaging_layer_failures() {
    let h = harness().await;
    let room = h.room(json!({})).await;
    *h.events.failure.lock() = Some(Failure::Throttled(100));
    let resp = h.post("DeleteMessage", json!({"roomIdentifier": room, "id": "M2YcHkgffEvU"})).await;
    assert_error(
        &resp,
        429,
        "ThrottlingException",
        &format!(
            r#"{{"message":"Rate exceeded: at most 100 requests per second","resourceId":"{room}","resourceType":"ROOM","limit":100}}"#
        ),
    );
    *h.events.failure.lock() = Some(Failure::Failed);
    let resp = h.post("SendEvent", json!({"roomIdentifier": room, "eventName": "e"})).await;
    assert_error(&resp, 500, "InternalServerException", r#"{"message":"An internal error occurred; please retry"}"#);
    *h.issuer.fail.lock() = true;
    let resp = h.post("CreateChatToken", json!({"roomIdentifier": room, "userId": "u"})).await;
    assert_eq!(resp.status, 500);
}

#[tokio::test]
async fn chat_operations_on_a_missing_room() {
    let h = harness().await;
    let missing = "AAAAAAAAAAAA";
    let body = crate::errors::not_found(&h.cp.config, ResourceKind::Room, missing).body();
    let expected = format!(
        r#"{{"message":"Room not found: {ROOM_ARN_PREFIX}{missing}","resourceId":"{missing}","resourceType":"ROOM"}}"#
    );
    assert_eq!(String::from_utf8(body).unwrap(), expected);
    for (op, body) in [
        ("CreateChatToken", json!({"roomIdentifier": missing, "userId": "u"})),
        ("SendEvent", json!({"roomIdentifier": missing, "eventName": "e"})),
        ("DeleteMessage", json!({"roomIdentifier": missing, "id": "M2YcHkgffEvU"})),
        ("DisconnectUser", json!({"roomIdentifier": missing, "userId": "u"})),
    ] {
        assert_error(&h.post(op, body).await, 404, "ResourceNotFoundException", &expected);
    }
    assert!(h.events.take().is_empty());
}
