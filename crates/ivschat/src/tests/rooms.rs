//! CreateRoom, GetRoom, UpdateRoom, DeleteRoom and ListRooms: happy paths with pinned bodies, defaults,
//! the bare-id extension and the live effects of updates and deletes.

use http::Method;
use serde_json::json;

use super::*;

#[tokio::test]
async fn create_room_with_defaults() {
    let h = harness().await;
    let resp = h.post("CreateRoom", json!({})).await;
    assert_eq!(resp.status, 200);
    let id = resp.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 12);
    assert_eq!(
        pin(&resp.body, &[(&id, "id")]),
        r#"{"arn":"arn:aws:ivschat:us-west-2:123456789012:room/<id>","id":"<id>","name":"","createTime":"2024-01-01T00:00:00.000Z","updateTime":"2024-01-01T00:00:00.000Z","maximumMessageRatePerSecond":10,"maximumMessageLength":500,"tags":{},"loggingConfigurationIdentifiers":[]}"#
    );
    // An empty body is `{}`.
    assert_eq!(h.call(Method::POST, "/CreateRoom", None, b"").await.status, 200);
    assert!(h.events.take().is_empty(), "creating a room has no live effect");
}

#[tokio::test]
async fn create_room_with_every_member() {
    let h = harness().await;
    let lc = h.lc("archive").await;
    let resp = h
        .post(
            "CreateRoom",
            json!({
                "name": "lobby_1-a",
                "maximumMessageRatePerSecond": 100,
                "maximumMessageLength": 1,
                "messageReviewHandler": {"uri": "arn:aws:lambda:us-west-2:123456789012:function:review", "fallbackResult": "DENY"},
                "tags": {"team": "chat", "empty": ""},
                "loggingConfigurationIdentifiers": [format!("{LC_ARN_PREFIX}{lc}"), lc]
            }),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let id = resp.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(
        pin(&resp.body, &[(&id, "id"), (&lc, "lc")]),
        r#"{"arn":"arn:aws:ivschat:us-west-2:123456789012:room/<id>","id":"<id>","name":"lobby_1-a","createTime":"2024-01-01T00:00:00.001Z","updateTime":"2024-01-01T00:00:00.001Z","maximumMessageRatePerSecond":100,"maximumMessageLength":1,"messageReviewHandler":{"uri":"arn:aws:lambda:us-west-2:123456789012:function:review","fallbackResult":"DENY"},"tags":{"empty":"","team":"chat"},"loggingConfigurationIdentifiers":["arn:aws:ivschat:us-west-2:123456789012:logging-configuration/<lc>"]}"#
    );
}

#[tokio::test]
async fn handler_without_uri_is_no_handler_and_fallback_defaults_to_allow() {
    let h = harness().await;
    let none = h.ok("CreateRoom", json!({"messageReviewHandler": {"fallbackResult": "DENY"}})).await;
    assert!(none.get("messageReviewHandler").is_none());
    let empty = h.ok("CreateRoom", json!({"messageReviewHandler": {"uri": ""}})).await;
    assert!(empty.get("messageReviewHandler").is_none());
    let allow = h
        .ok("CreateRoom", json!({"messageReviewHandler": {"uri": "arn:aws:lambda:us-west-2:123456789012:function:f"}}))
        .await;
    assert_eq!(allow["messageReviewHandler"]["fallbackResult"], "ALLOW");
}

#[tokio::test]
async fn review_handler_uri_may_be_an_http_url() {
    let h = harness().await;
    let room = h.ok("CreateRoom", json!({"messageReviewHandler": {"uri": "http://127.0.0.1:3000/review"}})).await;
    assert_eq!(room["messageReviewHandler"]["uri"], "http://127.0.0.1:3000/review");
    let id = room["id"].as_str().unwrap();
    let updated = h
        .ok("UpdateRoom", json!({"identifier": id, "messageReviewHandler": {"uri": "https://review.example/x"}}))
        .await;
    assert_eq!(updated["messageReviewHandler"]["uri"], "https://review.example/x");
    for bad in ["http://", "http:///x", "ftp://host/x", "http://a b"] {
        let reply = h.post("CreateRoom", json!({"messageReviewHandler": {"uri": bad}})).await;
        assert_eq!(reply.status, 400, "{bad}");
    }
}

#[tokio::test]
async fn get_room_by_arn_and_by_bare_id() {
    let h = harness().await;
    let created = h.ok("CreateRoom", json!({"name": "r", "tags": {"k": "v"}})).await;
    let id = created["id"].as_str().unwrap();
    let by_arn = h.post("GetRoom", json!({"identifier": format!("{ROOM_ARN_PREFIX}{id}")})).await;
    assert_eq!(by_arn.status, 200);
    assert_eq!(by_arn.json(), created);
    let by_id = h.ok("GetRoom", json!({"identifier": id})).await;
    assert_eq!(by_id, created);
}

#[tokio::test]
async fn update_room_changes_members_and_reaches_the_live_room() {
    let h = harness().await;
    let lc1 = h.lc("one").await;
    let lc2 = h.lc("two").await;
    let id = h
        .room(json!({
            "name": "before",
            "tags": {"k": "v"},
            "messageReviewHandler": {"uri": "arn:aws:lambda:us-west-2:123456789012:function:f", "fallbackResult": "DENY"},
            "loggingConfigurationIdentifiers": [lc1.clone()]
        }))
        .await;
    let resp = h
        .post(
            "UpdateRoom",
            json!({
                "identifier": format!("{ROOM_ARN_PREFIX}{id}"),
                "name": "after",
                "maximumMessageRatePerSecond": 5,
                "maximumMessageLength": 200,
                "messageReviewHandler": {"fallbackResult": "ALLOW"},
                "loggingConfigurationIdentifiers": [format!("{LC_ARN_PREFIX}{lc2}")]
            }),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(
        pin(&resp.body, &[(&id, "id"), (&lc2, "lc2")]),
        r#"{"arn":"arn:aws:ivschat:us-west-2:123456789012:room/<id>","id":"<id>","name":"after","createTime":"2024-01-01T00:00:00.002Z","updateTime":"2024-01-01T00:00:00.003Z","maximumMessageRatePerSecond":5,"maximumMessageLength":200,"messageReviewHandler":{"uri":"arn:aws:lambda:us-west-2:123456789012:function:f","fallbackResult":"ALLOW"},"tags":{"k":"v"},"loggingConfigurationIdentifiers":["arn:aws:ivschat:us-west-2:123456789012:logging-configuration/<lc2>"]}"#
    );
    match h.events.take().as_slice() {
        [Call::Updated(room)] => {
            assert_eq!(room.id, id);
            assert_eq!(room.maximum_message_rate_per_second, 5);
            assert_eq!(room.maximum_message_length, 200);
            assert_eq!(room.logging_configuration_ids, vec![lc2.clone()]);
        }
        other => panic!("{other:?}"),
    }

    // An empty uri removes the handler; an update with only the identifier keeps everything else.
    let cleared = h.ok("UpdateRoom", json!({"identifier": id, "messageReviewHandler": {"uri": ""}})).await;
    assert!(cleared.get("messageReviewHandler").is_none());
    let same = h.ok("UpdateRoom", json!({"identifier": id})).await;
    assert_eq!(same["name"], "after");
    assert_eq!(same["maximumMessageLength"], 200);
    assert_eq!(same["updateTime"], "2024-01-01T00:00:00.005Z");
    // An empty list detaches every logging configuration.
    let detached = h.ok("UpdateRoom", json!({"identifier": id, "loggingConfigurationIdentifiers": []})).await;
    assert_eq!(detached["loggingConfigurationIdentifiers"], json!([]));
}

#[tokio::test]
async fn delete_room_answers_204_and_ends_the_room() {
    let h = harness().await;
    let id = h.room(json!({"tags": {"k": "v"}})).await;
    let resp = h.post("DeleteRoom", json!({"identifier": format!("{ROOM_ARN_PREFIX}{id}")})).await;
    assert_eq!((resp.status, resp.body.as_str(), resp.error_type), (204, "", None));
    match h.events.take().as_slice() {
        [Call::Deleted(room)] => assert_eq!(room.id, id),
        other => panic!("{other:?}"),
    }
    assert_eq!(h.post("GetRoom", json!({"identifier": id})).await.status, 404);
    assert_eq!(h.post("DeleteRoom", json!({"identifier": id})).await.status, 404);
    let tags = h.call(Method::GET, &format!("/tags/{ROOM_ARN_PREFIX}{id}"), None, b"").await;
    assert_eq!(tags.status, 404);
}

#[tokio::test]
async fn list_rooms_sorted_by_update_time_with_filters() {
    let h = harness().await;
    let lc = h.lc("l").await;
    let handler = "arn:aws:lambda:us-west-2:123456789012:function:f";
    let a = h.room(json!({"name": "a"})).await;
    let b = h.room(json!({"name": "b", "messageReviewHandler": {"uri": handler}})).await;
    let c = h.room(json!({"name": "a", "loggingConfigurationIdentifiers": [lc.clone()]})).await;
    h.ok("UpdateRoom", json!({"identifier": a})).await; // a moves to the front

    let ids = |v: &Value| -> Vec<String> {
        v["rooms"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect()
    };
    let all = h.ok("ListRooms", json!({})).await;
    assert_eq!(ids(&all), [a.clone(), c.clone(), b.clone()]);
    assert!(all.get("nextToken").is_none());
    let summary = all["rooms"][2].to_string();
    assert_eq!(
        pin(&summary, &[(&b, "b")]),
        r#"{"arn":"arn:aws:ivschat:us-west-2:123456789012:room/<b>","id":"<b>","name":"b","messageReviewHandler":{"uri":"arn:aws:lambda:us-west-2:123456789012:function:f","fallbackResult":"ALLOW"},"createTime":"2024-01-01T00:00:00.002Z","updateTime":"2024-01-01T00:00:00.002Z","tags":{},"loggingConfigurationIdentifiers":[]}"#
    );
    assert_eq!(ids(&h.ok("ListRooms", json!({"name": "a"})).await), [a.clone(), c.clone()]);
    assert_eq!(ids(&h.ok("ListRooms", json!({"messageReviewHandlerUri": handler})).await), [b.as_str()]);
    assert_eq!(ids(&h.ok("ListRooms", json!({"loggingConfigurationIdentifier": lc})).await), [c.as_str()]);
    assert_eq!(
        ids(&h
            .ok("ListRooms", json!({"loggingConfigurationIdentifier": format!("{LC_ARN_PREFIX}{lc}"), "name": "b"}))
            .await),
        Vec::<String>::new()
    );
    // Empty filter values filter nothing.
    assert_eq!(ids(&h.ok("ListRooms", json!({"name": "", "messageReviewHandlerUri": ""})).await).len(), 3);
    assert_eq!(h.ok("ListRooms", json!({"name": "zzz"})).await, json!({"rooms": []}));
}

#[tokio::test]
async fn live_effects_follow_only_committed_changes() {
    let h = harness().await;
    let id = h.room(json!({})).await;
    h.events.take();
    // Refused before or by the store: nothing reaches live rooms.
    assert_eq!(h.post("UpdateRoom", json!({"identifier": id, "maximumMessageLength": 0})).await.status, 400);
    assert_eq!(h.post("UpdateRoom", json!({"identifier": "AAAAAAAAAAAA", "name": "x"})).await.status, 404);
    assert_eq!(h.post("DeleteRoom", json!({"identifier": "AAAAAAAAAAAA"})).await.status, 404);
    assert!(h.events.take().is_empty(), "no live effect without a committed change");
    // Committed: the live room receives what the store now holds.
    h.ok("UpdateRoom", json!({"identifier": id, "maximumMessageLength": 42})).await;
    let stored = h.ok("GetRoom", json!({"identifier": id})).await;
    match h.events.take().as_slice() {
        [Call::Updated(room)] => {
            assert_eq!(stored["maximumMessageLength"], 42);
            assert_eq!(room.maximum_message_length, 42);
        }
        other => panic!("{other:?}"),
    }
}
