//! Output shapes: rooms, room summaries, logging configurations and destinations as the model's JSON.

use serde_json::{Map, Value, json};
use store::{Destination, LoggingConfiguration, ResourceKind, Room, Tags};
use wire::timefmt::rfc3339_millis;

use crate::config::Config;

pub(crate) fn room_arn(config: &Config, id: &str) -> String {
    crate::arn::format(&config.region, &config.account_id, ResourceKind::Room, id)
}

pub(crate) fn logging_configuration_arn(config: &Config, id: &str) -> String {
    crate::arn::format(&config.region, &config.account_id, ResourceKind::LoggingConfiguration, id)
}

pub(crate) fn tags(tags: &Tags) -> Value {
    Value::Object(tags.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect())
}

fn logging_arns(config: &Config, room: &Room) -> Value {
    room.logging_configuration_ids.iter().map(|id| Value::String(logging_configuration_arn(config, id))).collect()
}

fn handler(room: &Room) -> Option<Value> {
    room.message_review_handler.as_ref().map(|h| json!({"uri": h.uri, "fallbackResult": h.fallback_result.as_str()}))
}

/// CreateRoom / GetRoom / UpdateRoom output. `messageReviewHandler` is omitted when the room has none.
pub(crate) fn room(config: &Config, room: &Room) -> Value {
    let mut out = Map::new();
    out.insert("arn".into(), room_arn(config, &room.id).into());
    out.insert("id".into(), room.id.clone().into());
    out.insert("name".into(), room.name.clone().into());
    out.insert("createTime".into(), rfc3339_millis(room.create_time).into());
    out.insert("updateTime".into(), rfc3339_millis(room.update_time).into());
    out.insert("maximumMessageRatePerSecond".into(), room.maximum_message_rate_per_second.into());
    out.insert("maximumMessageLength".into(), room.maximum_message_length.into());
    if let Some(h) = handler(room) {
        out.insert("messageReviewHandler".into(), h);
    }
    out.insert("tags".into(), tags(&room.tags));
    out.insert("loggingConfigurationIdentifiers".into(), logging_arns(config, room));
    Value::Object(out)
}

/// RoomSummary (ListRooms).
pub(crate) fn room_summary(config: &Config, room: &Room) -> Value {
    let mut out = Map::new();
    out.insert("arn".into(), room_arn(config, &room.id).into());
    out.insert("id".into(), room.id.clone().into());
    out.insert("name".into(), room.name.clone().into());
    if let Some(h) = handler(room) {
        out.insert("messageReviewHandler".into(), h);
    }
    out.insert("createTime".into(), rfc3339_millis(room.create_time).into());
    out.insert("updateTime".into(), rfc3339_millis(room.update_time).into());
    out.insert("tags".into(), tags(&room.tags));
    out.insert("loggingConfigurationIdentifiers".into(), logging_arns(config, room));
    Value::Object(out)
}

/// The DestinationConfiguration union: exactly one member.
pub(crate) fn destination(d: &Destination) -> Value {
    match d {
        Destination::S3 { bucket_name } => json!({"s3": {"bucketName": bucket_name}}),
        Destination::CloudWatchLogs { log_group_name } => json!({"cloudWatchLogs": {"logGroupName": log_group_name}}),
        Destination::Firehose { delivery_stream_name } => {
            json!({"firehose": {"deliveryStreamName": delivery_stream_name}})
        }
    }
}

/// Create/Get/UpdateLoggingConfiguration output and LoggingConfigurationSummary (same members).
pub(crate) fn logging_configuration(config: &Config, lc: &LoggingConfiguration) -> Value {
    json!({
        "arn": logging_configuration_arn(config, &lc.id),
        "id": lc.id,
        "createTime": rfc3339_millis(lc.create_time),
        "updateTime": rfc3339_millis(lc.update_time),
        "name": lc.name,
        "destinationConfiguration": destination(&lc.destination),
        "state": lc.state.as_str(),
        "tags": tags(&lc.tags),
    })
}
