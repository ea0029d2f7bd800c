//! TagResource, UntagResource and ListTagsForResource at `/tags/{resourceArn}` (percent-encoded label,
//! repeated `tagKeys` query parameter), on rooms and logging configurations.

use http::Method;
use serde_json::json;

use super::*;

fn encoded(arn: &str) -> String {
    percent_encoding::utf8_percent_encode(arn, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[tokio::test]
async fn tag_untag_list_on_a_room() {
    let h = harness().await;
    let id = h.room(json!({"tags": {"a": "1"}})).await;
    let path = format!("/tags/{}", encoded(&format!("{ROOM_ARN_PREFIX}{id}")));

    let tagged = h.call(Method::POST, &path, None, br#"{"tags": {"b": "2", "c": "x y"}}"#).await;
    assert_eq!((tagged.status, tagged.body.as_str()), (200, "{}"));
    let listed = h.call(Method::GET, &path, None, b"").await;
    assert_eq!((listed.status, listed.body.as_str()), (200, r#"{"tags":{"a":"1","b":"2","c":"x y"}}"#));

    let untagged = h.call(Method::DELETE, &path, Some("tagKeys=a&tagKeys=c&tagKeys=absent"), b"").await;
    assert_eq!((untagged.status, untagged.body.as_str()), (200, "{}"));
    let listed = h.call(Method::GET, &path, None, b"").await;
    assert_eq!(listed.body, r#"{"tags":{"b":"2"}}"#);
    // GetRoom shows the same tags; an unencoded ARN in the path works too.
    assert_eq!(h.ok("GetRoom", json!({"identifier": id})).await["tags"], json!({"b": "2"}));
    let raw = h.call(Method::GET, &format!("/tags/{ROOM_ARN_PREFIX}{id}"), None, b"").await;
    assert_eq!(raw.body, r#"{"tags":{"b":"2"}}"#);
}

#[tokio::test]
async fn tags_on_a_logging_configuration() {
    let h = harness().await;
    let id = h.lc("l").await;
    let path = format!("/tags/{}", encoded(&format!("{LC_ARN_PREFIX}{id}")));
    assert_eq!(h.call(Method::POST, &path, None, br#"{"tags":{"k":"v"}}"#).await.status, 200);
    assert_eq!(h.call(Method::GET, &path, None, b"").await.body, r#"{"tags":{"k":"v"}}"#);
    assert_eq!(h.ok("GetLoggingConfiguration", json!({"identifier": id})).await["tags"], json!({"k": "v"}));
}

#[tokio::test]
async fn at_most_fifty_tags_in_total() {
    let h = harness().await;
    let tags: serde_json::Map<String, Value> = (0..50).map(|i| (format!("k{i}"), json!("v"))).collect();
    let id = h.room(json!({"tags": tags})).await;
    let path = format!("/tags/{}", encoded(&format!("{ROOM_ARN_PREFIX}{id}")));
    // Overwriting is fine; one more is not.
    assert_eq!(h.call(Method::POST, &path, None, br#"{"tags":{"k0":"w"}}"#).await.status, 200);
    let resp = h.call(Method::POST, &path, None, br#"{"tags":{"k50":"v"}}"#).await;
    assert_error(
        &resp,
        400,
        "ValidationException",
        r#"{"message":"1 validation error detected: Value at 'tags' failed to satisfy constraint: A resource can have at most 50 tags","reason":"FIELD_VALIDATION_FAILED","fieldList":[{"name":"tags","message":"A resource can have at most 50 tags"}]}"#,
    );
}
