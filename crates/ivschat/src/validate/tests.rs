//! The constraints read from the generated model are the ones the control plane always enforced: lengths, ranges,
//! enum values and the pattern texts its messages quote.

use super::*;

#[test]
fn pattern_texts_are_the_models_anchored() {
    let text = |rule: Str| rule.pattern.map(|p| p.to_string()).unwrap_or_default();
    assert_eq!(text(ROOM_NAME), "^[a-zA-Z0-9-_]*$");
    assert_eq!(text(LOGGING_CONFIGURATION_NAME), "^[a-zA-Z0-9-_]*$");
    assert_eq!(text(MESSAGE_ID), "^[a-zA-Z0-9]+$");
    assert_eq!(text(BUCKET_NAME), "^[a-z0-9-.]+$");
    assert_eq!(text(LOG_GROUP_NAME), "^[\\.\\-_/#A-Za-z0-9]+$");
    assert_eq!(text(DELIVERY_STREAM_NAME), "^[a-zA-Z0-9_.-]+$");
    assert_eq!(text(ROOM_IDENTIFIER_RULE), "^arn:aws:ivschat:[a-z0-9-]+:[0-9]+:room/[a-zA-Z0-9-]+$");
    assert_eq!(text(LC_IDENTIFIER_RULE), "^arn:aws:ivschat:[a-z0-9-]+:[0-9]+:logging-configuration/[a-zA-Z0-9-]+$");
    assert_eq!(text(LAMBDA_ARN_RULE), "^$|^arn:aws:lambda:[a-z0-9-]+:[0-9]{12}:function:.+");
    assert_eq!(
        text(RESOURCE_ARN_RULE),
        "^arn:aws:ivschat:[a-z0-9-]+:[0-9]+:(room|logging-configuration)/[a-zA-Z0-9-]+$"
    );
}

#[test]
fn limits_are_the_models() {
    let limits = |rule: Str| (rule.min, rule.max);
    assert_eq!(limits(ROOM_NAME), (0, 128));
    assert_eq!(limits(ROOM_IDENTIFIER_RULE), (1, 128));
    assert_eq!(limits(LC_IDENTIFIER_RULE), (1, 128));
    assert_eq!(limits(LAMBDA_ARN_RULE), (0, 170));
    assert_eq!(limits(PAGINATION_TOKEN), (0, 1024));
    assert_eq!(limits(USER_ID), (1, 128));
    assert_eq!(limits(REASON), (1, 256));
    assert_eq!(limits(EVENT_NAME), (1, 100));
    assert_eq!(limits(MESSAGE_ID), (12, 12));
    assert_eq!(limits(TAG_KEY), (1, 128));
    assert_eq!(limits(RESOURCE_ARN_RULE), (1, 128));
    assert_eq!(limits(BUCKET_NAME), (3, 63));
    assert_eq!(limits(LOG_GROUP_NAME), (1, 512));
    assert_eq!(limits(DELIVERY_STREAM_NAME), (1, 64));
    assert_eq!((TAGS.max_entries, limits(TAGS.key), limits(TAGS.value)), (Some(50), (1, 128), (0, 256)));
    assert_eq!(MAX_ROOM_LOGGING_CONFIGURATIONS, 3);
    assert_eq!(FALLBACK_RESULTS, ["ALLOW", "DENY"]);
    assert_eq!(CAPABILITIES, ["SEND_MESSAGE", "DISCONNECT_USER", "DELETE_MESSAGE"]);
    let range = |shape: &Shape| (shape.min, shape.max);
    assert_eq!(range(&model::SESSION_DURATION_IN_MINUTES), (Some(1), Some(180)));
    assert_eq!(range(&model::ROOM_MAX_MESSAGE_RATE_PER_SECOND), (Some(1), Some(100)));
    assert_eq!(range(&model::ROOM_MAX_MESSAGE_LENGTH), (Some(1), Some(500)));
    assert_eq!(range(&model::MAX_ROOM_RESULTS), (Some(1), Some(50)));
    assert_eq!(range(&model::MAX_LOGGING_CONFIGURATION_RESULTS), (Some(1), Some(50)));
}

#[test]
fn patterns_check_as_before() {
    let ok = |rule: Str, s: &str| rule.pattern.is_none_or(|p| (p.matches)(s));
    assert!(ok(ROOM_NAME, "room-1_a") && !ok(ROOM_NAME, "room 1"));
    assert!(ok(MESSAGE_ID, "abcdABCD1234") && !ok(MESSAGE_ID, "abcd-ABCD123"));
    assert!(ok(BUCKET_NAME, "my.bucket-1") && !ok(BUCKET_NAME, "My"));
    assert!(ok(LOG_GROUP_NAME, "/aws/chat#1") && !ok(LOG_GROUP_NAME, "a b"));
    assert!(ok(DELIVERY_STREAM_NAME, "s_1.a-b") && !ok(DELIVERY_STREAM_NAME, "a/b"));
    assert!(ok(LAMBDA_ARN_RULE, "") && ok(LAMBDA_ARN_RULE, "arn:aws:lambda:us-west-2:123456789012:function:f"));
    assert!(
        ok(LAMBDA_ARN_RULE, "http://127.0.0.1:9000/review") && !ok(LAMBDA_ARN_RULE, "arn:aws:lambda:x:1:function:f")
    );
}
