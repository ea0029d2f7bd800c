//! The logging-configuration operations: happy paths with pinned bodies, each destination kind, updates,
//! the ConflictException while attached, and listing.

use serde_json::json;

use super::*;

#[tokio::test]
async fn create_get_update_delete() {
    let h = harness().await;
    let resp = h
        .post(
            "CreateLoggingConfiguration",
            json!({"name": "archive", "destinationConfiguration": {"cloudWatchLogs": {"logGroupName": "/ivs/chat#1"}}, "tags": {"t": "1"}}),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let id = resp.json()["id"].as_str().unwrap().to_owned();
    let created = r#"{"arn":"arn:aws:ivschat:us-west-2:123456789012:logging-configuration/<id>","id":"<id>","createTime":"2024-01-01T00:00:00.000Z","updateTime":"2024-01-01T00:00:00.000Z","name":"archive","destinationConfiguration":{"cloudWatchLogs":{"logGroupName":"/ivs/chat#1"}},"state":"ACTIVE","tags":{"t":"1"}}"#;
    assert_eq!(pin(&resp.body, &[(&id, "id")]), created);

    let got = h.post("GetLoggingConfiguration", json!({"identifier": format!("{LC_ARN_PREFIX}{id}")})).await;
    assert_eq!(pin(&got.body, &[(&id, "id")]), created);
    assert_eq!(h.ok("GetLoggingConfiguration", json!({"identifier": id})).await, got.json());

    let updated = h
        .post(
            "UpdateLoggingConfiguration",
            json!({"identifier": id, "destinationConfiguration": {"firehose": {"deliveryStreamName": "stream_1.a-b"}}}),
        )
        .await;
    assert_eq!(
        pin(&updated.body, &[(&id, "id")]),
        r#"{"arn":"arn:aws:ivschat:us-west-2:123456789012:logging-configuration/<id>","id":"<id>","createTime":"2024-01-01T00:00:00.000Z","updateTime":"2024-01-01T00:00:00.001Z","name":"archive","destinationConfiguration":{"firehose":{"deliveryStreamName":"stream_1.a-b"}},"state":"ACTIVE","tags":{"t":"1"}}"#
    );
    let renamed = h.ok("UpdateLoggingConfiguration", json!({"identifier": id, "name": ""})).await;
    assert_eq!(renamed["name"], "");
    assert_eq!(renamed["destinationConfiguration"], json!({"firehose": {"deliveryStreamName": "stream_1.a-b"}}));

    let deleted = h.post("DeleteLoggingConfiguration", json!({"identifier": format!("{LC_ARN_PREFIX}{id}")})).await;
    assert_eq!((deleted.status, deleted.body.as_str()), (204, ""));
    assert_eq!(h.post("GetLoggingConfiguration", json!({"identifier": id})).await.status, 404);
}

#[tokio::test]
async fn s3_destination_and_defaults() {
    let h = harness().await;
    let v = h
        .ok("CreateLoggingConfiguration", json!({"destinationConfiguration": {"s3": {"bucketName": "my.bucket-1"}}}))
        .await;
    assert_eq!(v["name"], "");
    assert_eq!(v["tags"], json!({}));
    assert_eq!(v["destinationConfiguration"], json!({"s3": {"bucketName": "my.bucket-1"}}));
}

#[tokio::test]
async fn delete_while_attached_is_a_conflict_until_detached() {
    let h = harness().await;
    let lc = h.lc("l").await;
    let room = h.room(json!({"loggingConfigurationIdentifiers": [lc.clone()]})).await;
    let resp = h.post("DeleteLoggingConfiguration", json!({"identifier": lc})).await;
    assert_error(
        &resp,
        409,
        "ConflictException",
        &format!(
            r#"{{"message":"Logging configuration {LC_ARN_PREFIX}{lc} is in use by {ROOM_ARN_PREFIX}{room}","resourceId":"{lc}","resourceType":"ROOM"}}"#
        ),
    );
    h.ok("UpdateRoom", json!({"identifier": room, "loggingConfigurationIdentifiers": []})).await;
    assert_eq!(h.post("DeleteLoggingConfiguration", json!({"identifier": lc})).await.status, 204);
}

#[tokio::test]
async fn list_logging_configurations_newest_first() {
    let h = harness().await;
    let a = h.lc("a").await;
    let b = h.lc("b").await;
    let c = h.lc("c").await;
    h.ok("UpdateLoggingConfiguration", json!({"identifier": a, "name": "a2"})).await;
    let all = h.ok("ListLoggingConfigurations", json!({})).await;
    let ids: Vec<&str> =
        all["loggingConfigurations"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [a.as_str(), c.as_str(), b.as_str()]);
    assert_eq!(all["loggingConfigurations"][0]["name"], "a2");
    assert_eq!(all["loggingConfigurations"][0]["state"], "ACTIVE");
    assert!(all.get("nextToken").is_none());

    let first = h.ok("ListLoggingConfigurations", json!({"maxResults": 2})).await;
    assert_eq!(first["loggingConfigurations"].as_array().unwrap().len(), 2);
    let token = first["nextToken"].as_str().unwrap();
    let rest = h.ok("ListLoggingConfigurations", json!({"maxResults": 2, "nextToken": token})).await;
    assert_eq!(rest["loggingConfigurations"][0]["id"], b.as_str());
    assert!(rest.get("nextToken").is_none());
}
