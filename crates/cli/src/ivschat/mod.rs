//! `switchboard ivschat`: the 17 IVS Chat operations through the official `aws-sdk-ivschat` client, with answers in
//! the model's lowerCamel member names and order, as the AWS CLI prints them.

pub(crate) mod examples;

use std::collections::HashMap;

use aws_models::ivschat::Operation;
use aws_sdk_ivschat::config::{BehaviorVersion, Region};
use aws_sdk_ivschat::primitives::DateTime;
use aws_sdk_ivschat::types::{
    ChatTokenCapability, CloudWatchLogsDestinationConfiguration, DestinationConfiguration, FallbackResult,
    FirehoseDestinationConfiguration, LoggingConfigurationSummary, MessageReviewHandler, RoomSummary,
    S3DestinationConfiguration,
};
use serde_json::{Map, Value};

use super::CliError;
use super::env::Target;
use super::model::printed_output;
use super::output::timestamp;
use super::sdk::{self, Recorder};

/// The members of a room (CreateRoom, GetRoom and UpdateRoom answer the same ones).
macro_rules! room {
    ($out:expr) => {{
        let out = $out;
        Json::new()
            .string("arn", out.arn.as_deref())
            .string("id", out.id.as_deref())
            .string("name", out.name.as_deref())
            .time("createTime", out.create_time.as_ref())
            .time("updateTime", out.update_time.as_ref())
            .int("maximumMessageRatePerSecond", out.maximum_message_rate_per_second)
            .int("maximumMessageLength", out.maximum_message_length)
            .handler("messageReviewHandler", out.message_review_handler.as_ref())
            .map("tags", out.tags.as_ref())
            .strings("loggingConfigurationIdentifiers", out.logging_configuration_identifiers.as_deref())
    }};
}

/// The members of a logging configuration (Create, Get and Update answer the same ones).
macro_rules! logging_configuration {
    ($out:expr) => {{
        let out = $out;
        Json::new()
            .string("arn", out.arn.as_deref())
            .string("id", out.id.as_deref())
            .time("createTime", out.create_time.as_ref())
            .time("updateTime", out.update_time.as_ref())
            .string("name", out.name.as_deref())
            .destination("destinationConfiguration", out.destination_configuration.as_ref())
            .string("state", out.state.as_ref().map(|s| s.as_str()))
            .map("tags", out.tags.as_ref())
    }};
}

/// Calls `op`; `Some` answer to print.
pub(crate) async fn call(
    target: &Target,
    op: Operation,
    params: &Map<String, Value>,
) -> Result<Option<Value>, CliError> {
    let operation = op.model();
    let recorder = Recorder::default();
    let config = aws_sdk_ivschat::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(target.region.clone()))
        .credentials_provider(target.credentials.clone())
        .endpoint_url(target.endpoint.clone())
        .timeout_config(sdk::timeouts(target))
        .interceptor(recorder.clone())
        .build();
    let client = aws_sdk_ivschat::Client::from_conf(config);
    let p = Params(params);
    macro_rules! send {
        ($request:expr) => {
            $request.send().await.map_err(|err| sdk::error(err, operation, &recorder, target))?
        };
    }
    let answer = match op {
        Operation::CreateChatToken => {
            let out = send!(
                client
                    .create_chat_token()
                    .set_room_identifier(p.string("roomIdentifier"))
                    .set_user_id(p.string("userId"))
                    .set_capabilities(
                        p.strings("capabilities")
                            .map(|c| c.iter().map(|v| ChatTokenCapability::from(v.as_str())).collect())
                    )
                    .set_session_duration_in_minutes(p.int("sessionDurationInMinutes")?)
                    .set_attributes(p.map("attributes"))
            );
            Json::new()
                .string("token", out.token.as_deref())
                .time("tokenExpirationTime", out.token_expiration_time.as_ref())
                .time("sessionExpirationTime", out.session_expiration_time.as_ref())
        }
        Operation::CreateLoggingConfiguration => {
            let out = send!(
                client
                    .create_logging_configuration()
                    .set_name(p.string("name"))
                    .set_destination_configuration(p.destination("destinationConfiguration")?)
                    .set_tags(p.map("tags"))
            );
            logging_configuration!(out)
        }
        Operation::CreateRoom => {
            let out = send!(
                client
                    .create_room()
                    .set_name(p.string("name"))
                    .set_maximum_message_rate_per_second(p.int("maximumMessageRatePerSecond")?)
                    .set_maximum_message_length(p.int("maximumMessageLength")?)
                    .set_message_review_handler(p.handler("messageReviewHandler"))
                    .set_tags(p.map("tags"))
                    .set_logging_configuration_identifiers(p.strings("loggingConfigurationIdentifiers"))
            );
            room!(out)
        }
        Operation::DeleteLoggingConfiguration => {
            send!(client.delete_logging_configuration().set_identifier(p.string("identifier")));
            Json::new()
        }
        Operation::DeleteMessage => {
            let out = send!(
                client
                    .delete_message()
                    .set_room_identifier(p.string("roomIdentifier"))
                    .set_id(p.string("id"))
                    .set_reason(p.string("reason"))
            );
            Json::new().string("id", out.id.as_deref())
        }
        Operation::DeleteRoom => {
            send!(client.delete_room().set_identifier(p.string("identifier")));
            Json::new()
        }
        Operation::DisconnectUser => {
            send!(
                client
                    .disconnect_user()
                    .set_room_identifier(p.string("roomIdentifier"))
                    .set_user_id(p.string("userId"))
                    .set_reason(p.string("reason"))
            );
            Json::new()
        }
        Operation::GetLoggingConfiguration => {
            let out = send!(client.get_logging_configuration().set_identifier(p.string("identifier")));
            logging_configuration!(out)
        }
        Operation::GetRoom => {
            let out = send!(client.get_room().set_identifier(p.string("identifier")));
            room!(out)
        }
        Operation::ListLoggingConfigurations => {
            let out = send!(
                client
                    .list_logging_configurations()
                    .set_next_token(p.string("nextToken"))
                    .set_max_results(p.int("maxResults")?)
            );
            Json::new()
                .value(
                    "loggingConfigurations",
                    Some(Value::Array(out.logging_configurations.iter().map(logging_summary).collect())),
                )
                .string("nextToken", out.next_token.as_deref())
        }
        Operation::ListRooms => {
            let out = send!(
                client
                    .list_rooms()
                    .set_name(p.string("name"))
                    .set_next_token(p.string("nextToken"))
                    .set_max_results(p.int("maxResults")?)
                    .set_message_review_handler_uri(p.string("messageReviewHandlerUri"))
                    .set_logging_configuration_identifier(p.string("loggingConfigurationIdentifier"))
            );
            Json::new()
                .value("rooms", Some(Value::Array(out.rooms.iter().map(room_summary).collect())))
                .string("nextToken", out.next_token.as_deref())
        }
        Operation::ListTagsForResource => {
            let out = send!(client.list_tags_for_resource().set_resource_arn(p.string("resourceArn")));
            Json::new().map("tags", Some(&out.tags))
        }
        Operation::SendEvent => {
            let out = send!(
                client
                    .send_event()
                    .set_room_identifier(p.string("roomIdentifier"))
                    .set_event_name(p.string("eventName"))
                    .set_attributes(p.map("attributes"))
            );
            Json::new().string("id", out.id.as_deref())
        }
        Operation::TagResource => {
            send!(client.tag_resource().set_resource_arn(p.string("resourceArn")).set_tags(p.map("tags")));
            Json::new()
        }
        Operation::UntagResource => {
            send!(client.untag_resource().set_resource_arn(p.string("resourceArn")).set_tag_keys(p.strings("tagKeys")));
            Json::new()
        }
        Operation::UpdateLoggingConfiguration => {
            let out = send!(
                client
                    .update_logging_configuration()
                    .set_identifier(p.string("identifier"))
                    .set_name(p.string("name"))
                    .set_destination_configuration(p.destination("destinationConfiguration")?)
            );
            logging_configuration!(out)
        }
        Operation::UpdateRoom => {
            let out = send!(
                client
                    .update_room()
                    .set_identifier(p.string("identifier"))
                    .set_name(p.string("name"))
                    .set_maximum_message_rate_per_second(p.int("maximumMessageRatePerSecond")?)
                    .set_maximum_message_length(p.int("maximumMessageLength")?)
                    .set_message_review_handler(p.handler("messageReviewHandler"))
                    .set_logging_configuration_identifiers(p.strings("loggingConfigurationIdentifiers"))
            );
            room!(out)
        }
    };
    Ok(printed_output(operation).map(|_| answer.done()))
}

fn room_summary(room: &RoomSummary) -> Value {
    Json::new()
        .string("arn", room.arn.as_deref())
        .string("id", room.id.as_deref())
        .string("name", room.name.as_deref())
        .handler("messageReviewHandler", room.message_review_handler.as_ref())
        .time("createTime", room.create_time.as_ref())
        .time("updateTime", room.update_time.as_ref())
        .map("tags", room.tags.as_ref())
        .strings("loggingConfigurationIdentifiers", room.logging_configuration_identifiers.as_deref())
        .done()
}

fn logging_summary(config: &LoggingConfigurationSummary) -> Value {
    Json::new()
        .string("arn", config.arn.as_deref())
        .string("id", config.id.as_deref())
        .time("createTime", config.create_time.as_ref())
        .time("updateTime", config.update_time.as_ref())
        .string("name", config.name.as_deref())
        .destination("destinationConfiguration", config.destination_configuration.as_ref())
        .string("state", config.state.as_ref().map(|s| s.as_str()))
        .map("tags", config.tags.as_ref())
        .done()
}

/// Checked parameters, read as the SDK wants them.
struct Params<'a>(&'a Map<String, Value>);

impl Params<'_> {
    fn string(&self, key: &str) -> Option<String> {
        self.0.get(key).and_then(Value::as_str).map(str::to_owned)
    }

    fn int(&self, key: &str) -> Result<Option<i32>, CliError> {
        let Some(value) = self.0.get(key).and_then(Value::as_i64) else {
            return Ok(None);
        };
        i32::try_from(value).map(Some).map_err(|_| {
            CliError::usage(format!(
                "Parameter validation failed: Invalid value for parameter {key}, value: {value}, valid range: \
                 {}-{}",
                i32::MIN,
                i32::MAX
            ))
        })
    }

    fn strings(&self, key: &str) -> Option<Vec<String>> {
        let items = self.0.get(key)?.as_array()?;
        Some(items.iter().filter_map(Value::as_str).map(str::to_owned).collect())
    }

    fn map(&self, key: &str) -> Option<HashMap<String, String>> {
        let map = self.0.get(key)?.as_object()?;
        Some(map.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
    }

    fn handler(&self, key: &str) -> Option<MessageReviewHandler> {
        let map = self.0.get(key)?.as_object()?;
        Some(
            MessageReviewHandler::builder()
                .set_uri(map.get("uri").and_then(Value::as_str).map(str::to_owned))
                .set_fallback_result(map.get("fallbackResult").and_then(Value::as_str).map(FallbackResult::from))
                .build(),
        )
    }

    fn destination(&self, key: &str) -> Result<Option<DestinationConfiguration>, CliError> {
        let Some(map) = self.0.get(key).and_then(Value::as_object) else {
            return Ok(None);
        };
        let field = |destination: &str, name: &str| {
            map.get(destination).and_then(|d| d.get(name)).and_then(Value::as_str).map(str::to_owned)
        };
        let invalid =
            |err: aws_sdk_ivschat::error::BuildError| CliError::usage(format!("Parameter validation failed: {err}"));
        let destination = if map.contains_key("s3") {
            DestinationConfiguration::S3(
                S3DestinationConfiguration::builder()
                    .set_bucket_name(field("s3", "bucketName"))
                    .build()
                    .map_err(invalid)?,
            )
        } else if map.contains_key("cloudWatchLogs") {
            DestinationConfiguration::CloudWatchLogs(
                CloudWatchLogsDestinationConfiguration::builder()
                    .set_log_group_name(field("cloudWatchLogs", "logGroupName"))
                    .build()
                    .map_err(invalid)?,
            )
        } else {
            DestinationConfiguration::Firehose(
                FirehoseDestinationConfiguration::builder()
                    .set_delivery_stream_name(field("firehose", "deliveryStreamName"))
                    .build()
                    .map_err(invalid)?,
            )
        };
        Ok(Some(destination))
    }
}

/// An answer being built: members in model order, absent ones left out.
struct Json(Map<String, Value>);

impl Json {
    fn new() -> Json {
        Json(Map::new())
    }

    fn value(mut self, key: &str, value: Option<Value>) -> Json {
        if let Some(value) = value {
            self.0.insert(key.to_owned(), value);
        }
        self
    }

    fn string(self, key: &str, value: Option<&str>) -> Json {
        self.value(key, value.map(|v| Value::String(v.to_owned())))
    }

    fn int(self, key: &str, value: Option<i32>) -> Json {
        self.value(key, value.map(|v| Value::Number(v.into())))
    }

    fn time(self, key: &str, value: Option<&DateTime>) -> Json {
        self.value(key, value.map(|t| Value::String(timestamp(t.secs(), t.subsec_nanos()))))
    }

    fn map(self, key: &str, value: Option<&HashMap<String, String>>) -> Json {
        self.value(
            key,
            value.map(|map| {
                // The SDK's maps are unordered; print keys sorted, which is stable.
                let mut entries: Vec<(&String, &String)> = map.iter().collect();
                entries.sort();
                Value::Object(entries.into_iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect())
            }),
        )
    }

    fn strings(self, key: &str, value: Option<&[String]>) -> Json {
        self.value(key, value.map(|items| Value::Array(items.iter().cloned().map(Value::String).collect())))
    }

    fn handler(self, key: &str, value: Option<&MessageReviewHandler>) -> Json {
        self.value(
            key,
            value.map(|h| {
                Json::new()
                    .string("uri", h.uri.as_deref())
                    .string("fallbackResult", h.fallback_result.as_ref().map(|f| f.as_str()))
                    .done()
            }),
        )
    }

    fn destination(self, key: &str, value: Option<&DestinationConfiguration>) -> Json {
        let value = value.map(|d| {
            let (name, inner) = match d {
                DestinationConfiguration::S3(s3) => ("s3", Json::new().string("bucketName", Some(&s3.bucket_name))),
                DestinationConfiguration::CloudWatchLogs(cw) => {
                    ("cloudWatchLogs", Json::new().string("logGroupName", Some(&cw.log_group_name)))
                }
                DestinationConfiguration::Firehose(f) => {
                    ("firehose", Json::new().string("deliveryStreamName", Some(&f.delivery_stream_name)))
                }
                _ => ("unknown", Json::new()),
            };
            Json::new().value(name, Some(inner.done())).done()
        });
        self.value(key, value)
    }

    fn done(self) -> Value {
        Value::Object(self.0)
    }
}
