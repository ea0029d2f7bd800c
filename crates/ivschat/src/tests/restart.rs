//! Restart persistence: a new control plane over the reopened data directory sees every room, logging
//! configuration and tag, and (with the same key) accepts pagination tokens issued before the restart.

use http::Method;
use serde_json::json;

use super::*;

#[tokio::test]
async fn everything_survives_a_restart() {
    let h = harness().await;
    let lc = h.lc("archive").await;
    let room = h
        .room(json!({
            "name": "kept",
            "maximumMessageLength": 42,
            "messageReviewHandler": {"uri": "arn:aws:lambda:us-west-2:123456789012:function:f", "fallbackResult": "DENY"},
            "loggingConfigurationIdentifiers": [lc],
            "tags": {"a": "1"}
        }))
        .await;
    h.room(json!({"name": "second"})).await;
    let tags_path = format!("/tags/{ROOM_ARN_PREFIX}{room}");
    assert_eq!(h.call(Method::POST, &tags_path, None, br#"{"tags":{"b":"2"}}"#).await.status, 200);
    let lc_tags_path = format!("/tags/{LC_ARN_PREFIX}{lc}");
    assert_eq!(h.call(Method::POST, &lc_tags_path, None, br#"{"tags":{"c":"3"}}"#).await.status, 200);

    let room_before = h.post("GetRoom", json!({"identifier": room})).await.body;
    let lc_before = h.post("GetLoggingConfiguration", json!({"identifier": lc})).await.body;
    let list_before = h.post("ListRooms", json!({})).await.body;
    let token = h.ok("ListRooms", json!({"maxResults": 1})).await["nextToken"].as_str().unwrap().to_owned();
    let second_page_before = h.post("ListRooms", json!({"maxResults": 1, "nextToken": token})).await.body;

    let H { dir, cp, .. } = h;
    drop(cp);
    let h = harness_with(config(), dir, 1_000).await;

    assert_eq!(h.post("GetRoom", json!({"identifier": room})).await.body, room_before);
    assert_eq!(h.post("GetLoggingConfiguration", json!({"identifier": lc})).await.body, lc_before);
    assert_eq!(h.post("ListRooms", json!({})).await.body, list_before);
    assert_eq!(h.call(Method::GET, &tags_path, None, b"").await.body, r#"{"tags":{"a":"1","b":"2"}}"#);
    assert_eq!(h.call(Method::GET, &lc_tags_path, None, b"").await.body, r#"{"tags":{"c":"3"}}"#);
    assert_eq!(
        h.post("ListRooms", json!({"maxResults": 1, "nextToken": token})).await.body,
        second_page_before,
        "a token from before the restart still works with the same key"
    );
    // The attachment survived too: the configuration is still in use.
    assert_eq!(h.post("DeleteLoggingConfiguration", json!({"identifier": lc})).await.status, 409);
}
