//! Every error body pinned exactly: routing, body parsing, each kind of model constraint, not-found,
//! conflicts, quotas and throttling.

use http::Method;
use serde_json::json;

use super::*;
use crate::{Operation, Quotas, RateLimits};

const V: &str = "ValidationException";

/// The body of a one-field FIELD_VALIDATION_FAILED error.
fn one(name: &str, message: &str) -> String {
    format!(
        r#"{{"message":"1 validation error detected: Value at '{name}' failed to satisfy constraint: {message}","reason":"FIELD_VALIDATION_FAILED","fieldList":[{{"name":"{name}","message":"{message}"}}]}}"#
    )
}

#[tokio::test]
async fn unknown_operations() {
    let h = harness().await;
    for (method, path, shown) in [
        (Method::POST, "/Nope", "POST /Nope"),
        (Method::GET, "/ListRooms", "GET /ListRooms"),
        (Method::PUT, "/tags/arn", "PUT /tags/arn"),
        (Method::POST, "/", "POST /"),
    ] {
        let resp = h.call(method, path, None, b"{}").await;
        assert_error(
            &resp,
            400,
            V,
            &format!(r#"{{"message":"Unknown operation: {shown}","reason":"UNKNOWN_OPERATION"}}"#),
        );
    }
}

#[tokio::test]
async fn unreadable_bodies() {
    let h = harness().await;
    let resp = h.call(Method::POST, "/CreateRoom", None, b"{\"name\": ").await;
    assert_error(
        &resp,
        400,
        V,
        r#"{"message":"The request body is not valid JSON: EOF while parsing a value at line 1 column 9","reason":"OTHER"}"#,
    );
    for body in [&b"[]"[..], b"\"x\"", b"null", b"42"] {
        let resp = h.call(Method::POST, "/GetRoom", None, body).await;
        assert_error(&resp, 400, V, r#"{"message":"The request body must be a JSON object","reason":"OTHER"}"#);
    }
    let resp = h.call(Method::POST, "/CreateRoom", None, b"\xff\xfe").await;
    assert_eq!((resp.status, resp.error_type), (400, Some(V)));

    let mut small = config();
    small.max_body_bytes = 16;
    let h = harness_with(small, tempfile::tempdir().unwrap(), 0).await;
    let resp = h.post("CreateRoom", json!({"name": "a-much-longer-name"})).await;
    assert_error(
        &resp,
        400,
        V,
        r#"{"message":"The request body is larger than the maximum of 16 bytes","reason":"OTHER"}"#,
    );
}

#[tokio::test]
async fn types_required_and_unknown_members() {
    let h = harness().await;
    assert_error(&h.post("GetRoom", json!({})).await, 400, V, &one("identifier", "Member must not be null"));
    assert_error(
        &h.post("GetRoom", json!({"identifier": null})).await,
        400,
        V,
        &one("identifier", "Member must not be null"),
    );
    assert_error(
        &h.post("GetRoom", json!({"identifier": 7})).await,
        400,
        V,
        &one("identifier", "Member must be a string"),
    );
    assert_error(
        &h.post("CreateRoom", json!({"maximumMessageLength": "5"})).await,
        400,
        V,
        &one("maximumMessageLength", "Member must be an integer"),
    );
    assert_error(
        &h.post("CreateRoom", json!({"maximumMessageLength": 5.5})).await,
        400,
        V,
        &one("maximumMessageLength", "Member must be an integer"),
    );
    assert_error(
        &h.post("CreateRoom", json!({"messageReviewHandler": "x"})).await,
        400,
        V,
        &one("messageReviewHandler", "Member must be a structure"),
    );
    assert_error(&h.post("CreateRoom", json!({"tags": []})).await, 400, V, &one("tags", "Member must be a map"));
    assert_error(
        &h.post("CreateRoom", json!({"loggingConfigurationIdentifiers": "x"})).await,
        400,
        V,
        &one("loggingConfigurationIdentifiers", "Member must be a list"),
    );
    assert_error(
        &h.post("CreateRoom", json!({"loggingConfigurationIdentifiers": [1]})).await,
        400,
        V,
        &one("loggingConfigurationIdentifiers.0", "Member must be a string"),
    );
    assert_error(
        &h.post("CreateRoom", json!({"tags": {"a": 1}})).await,
        400,
        V,
        &one("tags", "Map values must be strings"),
    );
    assert_error(
        &h.post("CreateRoom", json!({"foo": 1})).await,
        400,
        V,
        &one("foo", "Member is not defined by the input shape"),
    );
    assert_error(
        &h.post("CreateRoom", json!({"messageReviewHandler": {"url": "x"}})).await,
        400,
        V,
        &one("messageReviewHandler.url", "Member is not defined by the input shape"),
    );

    // Several failures at once, in model order.
    let resp = h.post("SendEvent", json!({"eventName": "", "attributes": {"a": 1}})).await;
    assert_error(
        &resp,
        400,
        V,
        r#"{"message":"3 validation errors detected: Value at 'roomIdentifier' failed to satisfy constraint: Member must not be null; Value at 'eventName' failed to satisfy constraint: Member must have length greater than or equal to 1; Value at 'attributes' failed to satisfy constraint: Map values must be strings","reason":"FIELD_VALIDATION_FAILED","fieldList":[{"name":"roomIdentifier","message":"Member must not be null"},{"name":"eventName","message":"Member must have length greater than or equal to 1"},{"name":"attributes","message":"Map values must be strings"}]}"#,
    );

    // Unknown members can be allowed.
    let mut lenient = config();
    lenient.reject_unknown_fields = false;
    let h = harness_with(lenient, tempfile::tempdir().unwrap(), 0).await;
    assert_eq!(h.post("CreateRoom", json!({"futureMember": true})).await.status, 200);
}

#[tokio::test]
async fn room_constraints() {
    let h = harness().await;
    let cases = [
        (json!({"name": "a b"}), "name", "Member must satisfy regular expression pattern: ^[a-zA-Z0-9-_]*$"),
        (json!({"name": "x".repeat(129)}), "name", "Member must have length less than or equal to 128"),
        (
            json!({"maximumMessageRatePerSecond": 0}),
            "maximumMessageRatePerSecond",
            "Member must have value greater than or equal to 1",
        ),
        (
            json!({"maximumMessageRatePerSecond": 101}),
            "maximumMessageRatePerSecond",
            "Member must have value less than or equal to 100",
        ),
        (
            json!({"maximumMessageLength": 0}),
            "maximumMessageLength",
            "Member must have value greater than or equal to 1",
        ),
        (
            json!({"maximumMessageLength": 501}),
            "maximumMessageLength",
            "Member must have value less than or equal to 500",
        ),
        (
            json!({"maximumMessageLength": 18446744073709551615u64}),
            "maximumMessageLength",
            "Member must have value less than or equal to 500",
        ),
        (
            json!({"maximumMessageLength": -1}),
            "maximumMessageLength",
            "Member must have value greater than or equal to 1",
        ),
        (
            json!({"messageReviewHandler": {"fallbackResult": "MAYBE"}}),
            "messageReviewHandler.fallbackResult",
            "Member must satisfy enum value set: [ALLOW, DENY]",
        ),
        (
            json!({"messageReviewHandler": {"uri": "arn:aws:lambda:us-west-2:1234:function:f"}}),
            "messageReviewHandler.uri",
            "Member must satisfy regular expression pattern: ^$|^arn:aws:lambda:[a-z0-9-]+:[0-9]{12}:function:.+",
        ),
        (
            json!({"messageReviewHandler": {"uri": format!("arn:aws:lambda:us-west-2:123456789012:function:{}", "f".repeat(150))}}),
            "messageReviewHandler.uri",
            "Member must have length less than or equal to 170",
        ),
        (
            json!({"loggingConfigurationIdentifiers": ["a", "b", "c", "d"]}),
            "loggingConfigurationIdentifiers",
            "Member must have length less than or equal to 3",
        ),
        (
            json!({"loggingConfigurationIdentifiers": [format!("{ROOM_ARN_PREFIX}abc")]}),
            "loggingConfigurationIdentifiers.0",
            "Member must satisfy regular expression pattern: ^arn:aws:ivschat:[a-z0-9-]+:[0-9]+:logging-configuration/[a-zA-Z0-9-]+$",
        ),
        (
            json!({"loggingConfigurationIdentifiers": [""]}),
            "loggingConfigurationIdentifiers.0",
            "Member must have length greater than or equal to 1",
        ),
        (json!({"tags": {"": "v"}}), "tags", "Map keys must have length between 1 and 128"),
        (json!({"tags": {"k".repeat(129): "v"}}), "tags", "Map keys must have length between 1 and 128"),
        (json!({"tags": {"k": "v".repeat(257)}}), "tags", "Map values must have length between 0 and 256"),
        (
            json!({"tags": (0..51).map(|i| (format!("k{i}"), json!(""))).collect::<serde_json::Map<_, _>>()}),
            "tags",
            "Member must have length less than or equal to 50",
        ),
    ];
    for (body, name, message) in cases {
        assert_error(&h.post("CreateRoom", body.clone()).await, 400, V, &one(name, message));
    }
    let cases = [
        (json!({"identifier": ""}), "identifier", "Member must have length greater than or equal to 1"),
        (
            json!({"identifier": "arn:aws:ivschat:us-west-2:123456789012:channel/abc"}),
            "identifier",
            "Member must satisfy regular expression pattern: ^arn:aws:ivschat:[a-z0-9-]+:[0-9]+:room/[a-zA-Z0-9-]+$",
        ),
        (
            json!({"identifier": format!("{ROOM_ARN_PREFIX}{}", "a".repeat(100))}),
            "identifier",
            "Member must have length less than or equal to 128",
        ),
        (
            json!({"identifier": "abc", "maximumMessageLength": 0}),
            "maximumMessageLength",
            "Member must have value greater than or equal to 1",
        ),
        (json!({"identifier": "abc", "tags": {}}), "tags", "Member is not defined by the input shape"),
    ];
    for (body, name, message) in cases {
        assert_error(&h.post("UpdateRoom", body.clone()).await, 400, V, &one(name, message));
    }
}

#[tokio::test]
async fn list_constraints_and_tokens() {
    let h = harness().await;
    for op in ["ListRooms", "ListLoggingConfigurations"] {
        assert_error(
            &h.post(op, json!({"maxResults": 0})).await,
            400,
            V,
            &one("maxResults", "Member must have value greater than or equal to 1"),
        );
        assert_error(
            &h.post(op, json!({"maxResults": 51})).await,
            400,
            V,
            &one("maxResults", "Member must have value less than or equal to 50"),
        );
        assert_error(
            &h.post(op, json!({"nextToken": "x".repeat(1025)})).await,
            400,
            V,
            &one("nextToken", "Member must have length less than or equal to 1024"),
        );
        assert_error(
            &h.post(op, json!({"nextToken": "garbage"})).await,
            400,
            V,
            &one("nextToken", "Member must be a nextToken returned by a previous call with the same filters"),
        );
        assert_eq!(h.post(op, json!({"nextToken": ""})).await.status, 200, "an empty token is the first page");
    }
    assert_error(
        &h.post("ListRooms", json!({"messageReviewHandlerUri": "not-an-arn"})).await,
        400,
        V,
        &one(
            "messageReviewHandlerUri",
            "Member must satisfy regular expression pattern: ^$|^arn:aws:lambda:[a-z0-9-]+:[0-9]{12}:function:.+",
        ),
    );
    assert_error(
        &h.post("ListRooms", json!({"loggingConfigurationIdentifier": "AAAAAAAAAAAA"})).await,
        404,
        "ResourceNotFoundException",
        &format!(
            r#"{{"message":"Logging configuration not found: {LC_ARN_PREFIX}AAAAAAAAAAAA","resourceId":"AAAAAAAAAAAA","resourceType":"ROOM"}}"#
        ),
    );
}

#[tokio::test]
async fn logging_configuration_constraints() {
    let h = harness().await;
    let union = "Member must have exactly one of the following members set: s3, cloudWatchLogs, firehose";
    let cases = [
        (json!({}), "destinationConfiguration", "Member must not be null"),
        (json!({"destinationConfiguration": {}}), "destinationConfiguration", union),
        (
            json!({"destinationConfiguration": {"s3": {"bucketName": "abc"}, "firehose": {"deliveryStreamName": "s"}}}),
            "destinationConfiguration",
            union,
        ),
        (json!({"destinationConfiguration": {"other": {}}}), "destinationConfiguration", union),
        (
            json!({"destinationConfiguration": {"s3": {"bucketName": "abc"}, "other": 1}}),
            "destinationConfiguration.other",
            "Member is not defined by the input shape",
        ),
        (
            json!({"destinationConfiguration": {"s3": {}}}),
            "destinationConfiguration.s3.bucketName",
            "Member must not be null",
        ),
        (
            json!({"destinationConfiguration": {"s3": "abc"}}),
            "destinationConfiguration.s3",
            "Member must be a structure",
        ),
        (
            json!({"destinationConfiguration": {"s3": {"bucketName": "ab"}}}),
            "destinationConfiguration.s3.bucketName",
            "Member must have length greater than or equal to 3",
        ),
        (
            json!({"destinationConfiguration": {"s3": {"bucketName": "b".repeat(64)}}}),
            "destinationConfiguration.s3.bucketName",
            "Member must have length less than or equal to 63",
        ),
        (
            json!({"destinationConfiguration": {"s3": {"bucketName": "Upper"}}}),
            "destinationConfiguration.s3.bucketName",
            "Member must satisfy regular expression pattern: ^[a-z0-9-.]+$",
        ),
        (
            json!({"destinationConfiguration": {"cloudWatchLogs": {"logGroupName": ""}}}),
            "destinationConfiguration.cloudWatchLogs.logGroupName",
            "Member must have length greater than or equal to 1",
        ),
        (
            json!({"destinationConfiguration": {"cloudWatchLogs": {"logGroupName": "a b"}}}),
            "destinationConfiguration.cloudWatchLogs.logGroupName",
            "Member must satisfy regular expression pattern: ^[\\.\\-_/#A-Za-z0-9]+$",
        ),
        (
            json!({"destinationConfiguration": {"cloudWatchLogs": {"logGroupName": "g".repeat(513)}}}),
            "destinationConfiguration.cloudWatchLogs.logGroupName",
            "Member must have length less than or equal to 512",
        ),
        (
            json!({"destinationConfiguration": {"firehose": {"deliveryStreamName": "s".repeat(65)}}}),
            "destinationConfiguration.firehose.deliveryStreamName",
            "Member must have length less than or equal to 64",
        ),
        (
            json!({"destinationConfiguration": {"firehose": {"deliveryStreamName": "a/b"}}}),
            "destinationConfiguration.firehose.deliveryStreamName",
            "Member must satisfy regular expression pattern: ^[a-zA-Z0-9_.-]+$",
        ),
        (
            json!({"name": "a:b", "destinationConfiguration": {"s3": {"bucketName": "abc"}}}),
            "name",
            "Member must satisfy regular expression pattern: ^[a-zA-Z0-9-_]*$",
        ),
    ];
    for (body, name, message) in cases {
        let resp = h.post("CreateLoggingConfiguration", body.clone()).await;
        // JSON-escape the expected message as it appears in the body.
        let expected = one(name, &message.replace('\\', "\\\\"));
        assert_error(&resp, 400, V, &expected);
    }
    assert_error(
        &h.post("GetLoggingConfiguration", json!({"identifier": format!("{ROOM_ARN_PREFIX}abc")})).await,
        400,
        V,
        &one(
            "identifier",
            "Member must satisfy regular expression pattern: ^arn:aws:ivschat:[a-z0-9-]+:[0-9]+:logging-configuration/[a-zA-Z0-9-]+$",
        ),
    );
    assert_error(
        &h.post("UpdateLoggingConfiguration", json!({"identifier": "abc", "destinationConfiguration": {}})).await,
        400,
        V,
        &one("destinationConfiguration", union),
    );
}

#[tokio::test]
async fn chat_constraints() {
    let h = harness().await;
    let room = h.room(json!({})).await;
    let big: serde_json::Map<String, Value> = (0..2).map(|i| (format!("k{i}"), json!("v".repeat(511)))).collect();
    let too_big = "Member must have a total size of keys and values less than or equal to 1024 bytes";
    let cases = [
        ("CreateChatToken", json!({"roomIdentifier": room}), "userId", "Member must not be null"),
        (
            "CreateChatToken",
            json!({"roomIdentifier": room, "userId": ""}),
            "userId",
            "Member must have length greater than or equal to 1",
        ),
        (
            "CreateChatToken",
            json!({"roomIdentifier": room, "userId": "u".repeat(129)}),
            "userId",
            "Member must have length less than or equal to 128",
        ),
        (
            "CreateChatToken",
            json!({"roomIdentifier": room, "userId": "u", "capabilities": ["VIEW"]}),
            "capabilities.0",
            "Member must satisfy enum value set: [SEND_MESSAGE, DISCONNECT_USER, DELETE_MESSAGE]",
        ),
        (
            "CreateChatToken",
            json!({"roomIdentifier": room, "userId": "u", "sessionDurationInMinutes": 0}),
            "sessionDurationInMinutes",
            "Member must have value greater than or equal to 1",
        ),
        (
            "CreateChatToken",
            json!({"roomIdentifier": room, "userId": "u", "sessionDurationInMinutes": 181}),
            "sessionDurationInMinutes",
            "Member must have value less than or equal to 180",
        ),
        ("CreateChatToken", json!({"roomIdentifier": room, "userId": "u", "attributes": big}), "attributes", too_big),
        (
            "SendEvent",
            json!({"roomIdentifier": room, "eventName": "e".repeat(101)}),
            "eventName",
            "Member must have length less than or equal to 100",
        ),
        ("SendEvent", json!({"roomIdentifier": room, "eventName": "e", "attributes": big}), "attributes", too_big),
        ("DeleteMessage", json!({"roomIdentifier": room}), "id", "Member must not be null"),
        (
            "DeleteMessage",
            json!({"roomIdentifier": room, "id": "short"}),
            "id",
            "Member must have length greater than or equal to 12",
        ),
        (
            "DeleteMessage",
            json!({"roomIdentifier": room, "id": "M2YcHkgffEv-"}),
            "id",
            "Member must satisfy regular expression pattern: ^[a-zA-Z0-9]+$",
        ),
        (
            "DeleteMessage",
            json!({"roomIdentifier": room, "id": "M2YcHkgffEvU", "reason": ""}),
            "reason",
            "Member must have length greater than or equal to 1",
        ),
        (
            "DisconnectUser",
            json!({"roomIdentifier": room, "userId": "u", "reason": "r".repeat(257)}),
            "reason",
            "Member must have length less than or equal to 256",
        ),
        ("DisconnectUser", json!({"userId": "u"}), "roomIdentifier", "Member must not be null"),
    ];
    for (op, body, name, message) in cases {
        assert_error(&h.post(op, body.clone()).await, 400, V, &one(name, message));
    }
    // Exactly 1 KB is fine.
    let exact: serde_json::Map<String, Value> = (0..2).map(|i| (format!("k{i}"), json!("v".repeat(510)))).collect();
    assert_eq!(
        h.post("SendEvent", json!({"roomIdentifier": room, "eventName": "e", "attributes": exact})).await.status,
        200
    );
}

#[tokio::test]
async fn tag_constraints() {
    let h = harness().await;
    let room = h.room(json!({})).await;
    let path = format!("/tags/{ROOM_ARN_PREFIX}{room}");
    let resp = h.call(Method::DELETE, &path, None, b"").await;
    assert_error(&resp, 400, V, &one("tagKeys", "Member must not be null"));
    let resp = h.call(Method::DELETE, &path, Some("tagKeys="), b"").await;
    assert_error(&resp, 400, V, &one("tagKeys.0", "Member must have length greater than or equal to 1"));
    let many: Vec<String> = (0..51).map(|i| format!("tagKeys=k{i}")).collect();
    let resp = h.call(Method::DELETE, &path, Some(&many.join("&")), b"").await;
    assert_error(&resp, 400, V, &one("tagKeys", "Member must have length less than or equal to 50"));
    let resp = h.call(Method::POST, &path, None, b"{}").await;
    assert_error(&resp, 400, V, &one("tags", "Member must not be null"));
    let resp = h.call(Method::POST, &path, None, br#"{"tags":{},"resourceArn":"x"}"#).await;
    assert_error(&resp, 400, V, &one("resourceArn", "Member is not defined by the input shape"));
    for bad in ["/tags/", "/tags/arn%3Aaws%3Aivschat%3Aus-west-2%3A1%3Achannel%2Fabc", "/tags/abc"] {
        let resp = h.call(Method::GET, bad, None, b"").await;
        let expected = if bad == "/tags/" {
            one("resourceArn", "Member must have length greater than or equal to 1")
        } else {
            one(
                "resourceArn",
                "Member must satisfy regular expression pattern: ^arn:aws:ivschat:[a-z0-9-]+:[0-9]+:(room|logging-configuration)/[a-zA-Z0-9-]+$",
            )
        };
        assert_error(&resp, 400, V, &expected);
    }
    let resp = h.call(Method::GET, "/tags/%C3%28", None, b"").await;
    assert_error(&resp, 400, V, &one("resourceArn", "Member must be valid percent-encoded UTF-8"));
    // Keys with AWS's reserved prefix, in any case, on TagResource and on creation.
    let reserved = one("tags", "Tag keys cannot start with 'aws:' (case insensitive)");
    for body in [r#"{"tags":{"aws:team":"a"}}"#, r#"{"tags":{"ok":"1","AWS:Team":"a"}}"#] {
        assert_error(&h.call(Method::POST, &path, None, body.as_bytes()).await, 400, V, &reserved);
    }
    let resp = h.call(Method::POST, "/CreateRoom", None, br#"{"tags":{"Aws:x":"1"}}"#).await;
    assert_error(&resp, 400, V, &reserved);
    assert_eq!(h.call(Method::GET, &path, None, b"").await.body, r#"{"tags":{}}"#, "nothing was set");
}

#[tokio::test]
async fn not_found_bodies() {
    let h = harness().await;
    let room_404 = |id: &str| {
        format!(r#"{{"message":"Room not found: {ROOM_ARN_PREFIX}{id}","resourceId":"{id}","resourceType":"ROOM"}}"#)
    };
    let lc_404 = |id: &str| {
        format!(
            r#"{{"message":"Logging configuration not found: {LC_ARN_PREFIX}{id}","resourceId":"{id}","resourceType":"ROOM"}}"#
        )
    };
    let nf = "ResourceNotFoundException";
    for op in ["GetRoom", "UpdateRoom", "DeleteRoom"] {
        assert_error(
            &h.post(op, json!({"identifier": format!("{ROOM_ARN_PREFIX}AAAAAAAAAAAA")})).await,
            404,
            nf,
            &room_404("AAAAAAAAAAAA"),
        );
    }
    for op in ["GetLoggingConfiguration", "UpdateLoggingConfiguration", "DeleteLoggingConfiguration"] {
        assert_error(&h.post(op, json!({"identifier": "BBBBBBBBBBBB"})).await, 404, nf, &lc_404("BBBBBBBBBBBB"));
    }
    // An ARN of another region or account names nothing here (the message shows this region's ARN).
    let room = h.room(json!({})).await;
    let foreign = format!("arn:aws:ivschat:eu-west-1:123456789012:room/{room}");
    assert_error(&h.post("GetRoom", json!({"identifier": foreign})).await, 404, nf, &room_404(&room));
    let foreign = format!("arn:aws:ivschat:us-west-2:999999999999:room/{room}");
    assert_error(&h.call(Method::GET, &format!("/tags/{foreign}"), None, b"").await, 404, nf, &room_404(&room));
    // Attaching a logging configuration that does not exist.
    assert_error(
        &h.post("CreateRoom", json!({"loggingConfigurationIdentifiers": ["CCCCCCCCCCCC"]})).await,
        404,
        nf,
        &lc_404("CCCCCCCCCCCC"),
    );
    assert_error(
        &h.post("UpdateRoom", json!({"identifier": room, "loggingConfigurationIdentifiers": ["CCCCCCCCCCCC"]})).await,
        404,
        nf,
        &lc_404("CCCCCCCCCCCC"),
    );
    for method in [Method::GET, Method::POST, Method::DELETE] {
        let (body, query) =
            if method == Method::POST { (&br#"{"tags":{"a":"b"}}"#[..], None) } else { (&b""[..], Some("tagKeys=a")) };
        let resp = h.call(method, &format!("/tags/{LC_ARN_PREFIX}DDDDDDDDDDDD"), query, body).await;
        assert_error(&resp, 404, nf, &lc_404("DDDDDDDDDDDD"));
    }
}

#[tokio::test]
async fn quotas() {
    let mut small = config();
    small.quotas = Quotas { max_rooms: 2, max_logging_configurations: 1 };
    let h = harness_with(small, tempfile::tempdir().unwrap(), 0).await;
    h.room(json!({})).await;
    h.room(json!({})).await;
    assert_error(
        &h.post("CreateRoom", json!({})).await,
        402,
        "ServiceQuotaExceededException",
        r#"{"message":"Quota exceeded: this account may have at most 2 rooms","resourceId":"123456789012","resourceType":"ROOM","limit":2}"#,
    );
    h.lc("one").await;
    assert_error(
        &h.post("CreateLoggingConfiguration", json!({"destinationConfiguration": {"s3": {"bucketName": "abc"}}})).await,
        402,
        "ServiceQuotaExceededException",
        r#"{"message":"Quota exceeded: this account may have at most 1 logging configurations","resourceId":"123456789012","resourceType":"ROOM","limit":1}"#,
    );
}

#[tokio::test]
async fn throttling_in_strict_mode() {
    let mut strict = config();
    strict.rate_limits = RateLimits::aws();
    let h = harness_with(strict, tempfile::tempdir().unwrap(), 0).await;
    for _ in 0..5 {
        assert_eq!(h.post("CreateRoom", json!({})).await.status, 200);
    }
    assert_error(
        &h.post("CreateRoom", json!({})).await,
        429,
        "ThrottlingException",
        r#"{"message":"Rate exceeded: at most 5 requests per second","resourceId":"123456789012","resourceType":"ROOM","limit":5}"#,
    );
    // Other operations have their own buckets; a throttled call targeting a room names it.
    let room = h.ok("ListRooms", json!({})).await["rooms"][0]["id"].as_str().unwrap().to_owned();
    for _ in 0..5 {
        assert_eq!(h.post("GetRoom", json!({"identifier": room})).await.status, 200);
    }
    assert_error(
        &h.post("GetRoom", json!({"identifier": room})).await,
        429,
        "ThrottlingException",
        &format!(
            r#"{{"message":"Rate exceeded: at most 5 requests per second","resourceId":"{room}","resourceType":"ROOM","limit":5}}"#
        ),
    );

    // Custom limits: none by default, one operation limited.
    let mut custom = config();
    custom.rate_limits.set(Operation::SendEvent, Some(1));
    assert!(config().rate_limits.is_empty());
    let h = harness_with(custom, tempfile::tempdir().unwrap(), 0).await;
    let room = h.room(json!({})).await;
    assert_eq!(h.post("SendEvent", json!({"roomIdentifier": room, "eventName": "e"})).await.status, 200);
    assert_eq!(h.post("SendEvent", json!({"roomIdentifier": room, "eventName": "e"})).await.status, 429);
    for _ in 0..20 {
        assert_eq!(h.post("GetRoom", json!({"identifier": room})).await.status, 200);
    }
}

#[test]
fn store_timeouts_are_retryable_internal_errors() {
    let err = crate::errors::from_store(&config(), store::StoreError::Timeout("lock_timeout".to_owned()));
    assert_eq!((err.status().as_u16(), err.code), (500, wire::ErrorCode::InternalServer));
    assert_eq!(err.body(), br#"{"message":"An internal error occurred; please retry"}"#);
}
