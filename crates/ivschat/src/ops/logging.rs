//! CreateLoggingConfiguration, GetLoggingConfiguration, UpdateLoggingConfiguration,
//! DeleteLoggingConfiguration and ListLoggingConfigurations.

use aws_models::ivschat::shapes as model;
use serde_json::{Map, Value};
use store::{Destination, LoggingConfigurationPatch, NewLoggingConfiguration, ResourceKind};
use wire::ApiError;

use super::{ID_ATTEMPTS, id_taken};
use crate::operation::Operation;
use crate::pagination::Listing;
use crate::validate::{
    BUCKET_NAME, DELIVERY_STREAM_NAME, LC_IDENTIFIER_RULE, LOG_GROUP_NAME, LOGGING_CONFIGURATION_NAME, Object,
    PAGINATION_TOKEN, Reader, Str,
};
use crate::{ControlPlane, errors, shapes};

const DEFAULT_PAGE: usize = 50;
const UNION_MEMBERS: [&str; 3] = ["s3", "cloudWatchLogs", "firehose"];

/// The DestinationConfiguration union: exactly one of `s3`, `cloudWatchLogs`, `firehose`.
fn read_destination(r: &mut Reader, input: &mut Object, required: bool) -> Option<Destination> {
    let mut d = r.object(input, "destinationConfiguration", required)?;
    let set = UNION_MEMBERS.iter().filter(|m| d.has(m)).count();
    if set != 1 {
        r.fail(
            d.path().to_owned(),
            "Member must have exactly one of the following members set: s3, cloudWatchLogs, firehose",
        );
        return None;
    }
    let member = |r: &mut Reader, d: &mut Object, name: &str, field: &str, rule: Str| {
        let mut m = r.object(d, name, false)?;
        let value = r.string(&mut m, field, true, rule);
        r.end(m);
        value
    };
    let destination = if d.has("s3") {
        member(r, &mut d, "s3", "bucketName", BUCKET_NAME).map(|bucket_name| Destination::S3 { bucket_name })
    } else if d.has("cloudWatchLogs") {
        member(r, &mut d, "cloudWatchLogs", "logGroupName", LOG_GROUP_NAME)
            .map(|log_group_name| Destination::CloudWatchLogs { log_group_name })
    } else {
        member(r, &mut d, "firehose", "deliveryStreamName", DELIVERY_STREAM_NAME)
            .map(|delivery_stream_name| Destination::Firehose { delivery_stream_name })
    };
    r.end(d);
    destination
}

impl ControlPlane {
    pub(crate) async fn create_logging_configuration(&self, mut input: Object) -> Result<Value, ApiError> {
        let mut r = self.reader();
        let name = r.string(&mut input, "name", false, LOGGING_CONFIGURATION_NAME);
        let destination = read_destination(&mut r, &mut input, true);
        let tags = r.tags(&mut input, false);
        r.end(input);
        r.finish()?;
        let Some(destination) = destination else { return Err(errors::internal(&"destination missing")) };
        self.admit(Operation::CreateLoggingConfiguration, None)?;

        let now = self.now();
        for attempt in 0..ID_ATTEMPTS {
            let config = NewLoggingConfiguration {
                id: ids::resource_id(),
                name: name.clone().unwrap_or_default(),
                create_time: now,
                destination: destination.clone(),
                tags: tags.clone().unwrap_or_default(),
            };
            let result =
                self.store.create_logging_configuration(config, self.config.quotas.max_logging_configurations).await;
            if id_taken(&result, attempt) {
                continue;
            }
            let lc = result.map_err(|e| self.store_error(e))?;
            return Ok(shapes::logging_configuration(&self.config, &lc));
        }
        Err(errors::internal(&"no free logging configuration id"))
    }

    fn read_lc_identifier(&self, input: Object) -> Result<String, ApiError> {
        let mut input = input;
        let mut r = self.reader();
        let identifier = r.string(&mut input, "identifier", true, LC_IDENTIFIER_RULE);
        r.end(input);
        r.finish()?;
        self.resolve(&identifier.unwrap_or_default(), ResourceKind::LoggingConfiguration)
    }

    pub(crate) async fn get_logging_configuration(&self, input: Object) -> Result<Value, ApiError> {
        let id = self.read_lc_identifier(input)?;
        self.admit(Operation::GetLoggingConfiguration, Some(&id))?;
        let lc = self.store.get_logging_configuration(&id).await.map_err(|e| self.store_error(e))?;
        Ok(shapes::logging_configuration(&self.config, &lc))
    }

    pub(crate) async fn update_logging_configuration(&self, mut input: Object) -> Result<Value, ApiError> {
        let mut r = self.reader();
        let identifier = r.string(&mut input, "identifier", true, LC_IDENTIFIER_RULE);
        let name = r.string(&mut input, "name", false, LOGGING_CONFIGURATION_NAME);
        let destination = read_destination(&mut r, &mut input, false);
        r.end(input);
        r.finish()?;
        let id = self.resolve(&identifier.unwrap_or_default(), ResourceKind::LoggingConfiguration)?;
        self.admit(Operation::UpdateLoggingConfiguration, Some(&id))?;
        let patch = LoggingConfigurationPatch { update_time: self.now(), name, destination };
        let lc = self.store.update_logging_configuration(&id, patch).await.map_err(|e| self.store_error(e))?;
        Ok(shapes::logging_configuration(&self.config, &lc))
    }

    pub(crate) async fn delete_logging_configuration(&self, input: Object) -> Result<(), ApiError> {
        let id = self.read_lc_identifier(input)?;
        self.admit(Operation::DeleteLoggingConfiguration, Some(&id))?;
        self.store.delete_logging_configuration(&id).await.map_err(|e| self.store_error(e))?;
        Ok(())
    }

    pub(crate) async fn list_logging_configurations(&self, mut input: Object) -> Result<Value, ApiError> {
        let mut r = self.reader();
        let next_token = r.string(&mut input, "nextToken", false, PAGINATION_TOKEN);
        let max_results = r.integer(&mut input, "maxResults", false, &model::MAX_LOGGING_CONFIGURATION_RESULTS);
        r.end(input);
        r.finish()?;
        self.admit(Operation::ListLoggingConfigurations, None)?;
        let after = self.decode_token(Listing::LoggingConfigurations, b"", next_token)?;
        let limit = max_results.map_or(DEFAULT_PAGE, |n| usize::try_from(n).unwrap_or(DEFAULT_PAGE));
        let page =
            self.store.list_logging_configurations(after.as_ref(), limit).await.map_err(|e| self.store_error(e))?;
        let mut out = Map::new();
        out.insert(
            "loggingConfigurations".into(),
            page.items.iter().map(|lc| shapes::logging_configuration(&self.config, lc)).collect(),
        );
        if let Some(next) = &page.next {
            out.insert("nextToken".into(), self.pages.encode(Listing::LoggingConfigurations, b"", next).into());
        }
        Ok(Value::Object(out))
    }
}
