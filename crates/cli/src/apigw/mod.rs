//! `switchboard apigatewaymanagementapi`: PostToConnection, GetConnection and DeleteConnection through the
//! official `aws-sdk-apigatewaymanagement` client, with the answer in the AWS CLI's member casing.

pub(crate) mod examples;

use aws_models::apigatewaymanagementapi::Operation;
use aws_sdk_apigatewaymanagement::config::{BehaviorVersion, Region};
use aws_sdk_apigatewaymanagement::primitives::{Blob, DateTime};
use base64::Engine;
use serde_json::{Map, Value};

use super::CliError;
use super::env::Target;
use super::output::timestamp;
use super::sdk::{self, Recorder};

/// Calls `op`; `Some` answer to print.
pub(crate) async fn call(
    target: &Target,
    op: Operation,
    params: &Map<String, Value>,
) -> Result<Option<Value>, CliError> {
    let operation = op.model();
    let recorder = Recorder::default();
    let config = aws_sdk_apigatewaymanagement::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(target.region.clone()))
        .credentials_provider(target.credentials.clone())
        .endpoint_url(target.endpoint.clone())
        .timeout_config(sdk::timeouts(target))
        .interceptor(recorder.clone())
        .build();
    let client = aws_sdk_apigatewaymanagement::Client::from_conf(config);
    let connection_id = params.get("ConnectionId").and_then(Value::as_str).unwrap_or_default().to_owned();
    match op {
        Operation::PostToConnection => {
            let encoded = params.get("Data").and_then(Value::as_str).unwrap_or_default();
            let data = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|_| CliError::other("the data of the request is not valid"))?;
            client
                .post_to_connection()
                .connection_id(connection_id)
                .data(Blob::new(data))
                .send()
                .await
                .map_err(|err| sdk::error(err, operation, &recorder, target))?;
            Ok(None)
        }
        Operation::GetConnection => {
            let answer = client
                .get_connection()
                .connection_id(connection_id)
                .send()
                .await
                .map_err(|err| sdk::error(err, operation, &recorder, target))?;
            let mut out = Map::new();
            if let Some(at) = answer.connected_at() {
                out.insert("ConnectedAt".to_owned(), time(at));
            }
            if let Some(identity) = answer.identity() {
                let mut map = Map::new();
                if let Some(ip) = identity.source_ip() {
                    map.insert("SourceIp".to_owned(), Value::String(ip.to_owned()));
                }
                if let Some(agent) = identity.user_agent() {
                    map.insert("UserAgent".to_owned(), Value::String(agent.to_owned()));
                }
                out.insert("Identity".to_owned(), Value::Object(map));
            }
            if let Some(at) = answer.last_active_at() {
                out.insert("LastActiveAt".to_owned(), time(at));
            }
            Ok(Some(Value::Object(out)))
        }
        Operation::DeleteConnection => {
            client
                .delete_connection()
                .connection_id(connection_id)
                .send()
                .await
                .map_err(|err| sdk::error(err, operation, &recorder, target))?;
            Ok(None)
        }
    }
}

fn time(at: &DateTime) -> Value {
    Value::String(timestamp(at.secs(), at.subsec_nanos()))
}
