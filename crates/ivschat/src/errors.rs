//! Every ivschat error body this crate produces, built on `wire::ApiError`, and the mapping from
//! store errors.

use serde_json::{Value, json};
use store::{ResourceKind, StoreError};
use wire::{ApiError, ErrorCode};

use crate::config::Config;

/// `resourceType` on every error. The model's ResourceType enum has the single value `ROOM`, which AWS also
/// uses for logging configurations (reference §3).
pub(crate) const RESOURCE_TYPE: &str = "ROOM";

/// One entry of a ValidationException's `fieldList`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FieldError {
    pub(crate) name: String,
    pub(crate) message: String,
}

/// `400 ValidationException`, reason `FIELD_VALIDATION_FAILED`, in the Coral style:
/// `N validation error(s) detected: Value at 'f' failed to satisfy constraint: …; …`.
pub(crate) fn field_validation(errors: &[FieldError]) -> ApiError {
    let n = errors.len();
    let details: Vec<String> =
        errors.iter().map(|e| format!("Value at '{}' failed to satisfy constraint: {}", e.name, e.message)).collect();
    let message = format!("{n} validation error{} detected: {}", if n == 1 { "" } else { "s" }, details.join("; "));
    let list: Vec<Value> = errors.iter().map(|e| json!({"name": e.name, "message": e.message})).collect();
    ApiError::new(ErrorCode::Validation, message)
        .with("reason", "FIELD_VALIDATION_FAILED")
        .with("fieldList", Value::Array(list))
}

/// A single-field ValidationException.
pub(crate) fn field(name: &str, message: &str) -> ApiError {
    field_validation(&[FieldError { name: name.to_owned(), message: message.to_owned() }])
}

/// `400 ValidationException`, reason `OTHER`: a problem with the request as a whole.
pub(crate) fn other(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::Validation, message).with("reason", "OTHER")
}

/// `400 ValidationException`, reason `UNKNOWN_OPERATION`.
pub(crate) fn unknown_operation(method: &str, path: &str) -> ApiError {
    let mut shown: String = path.chars().take(200).collect();
    if shown.len() < path.len() {
        shown.push('…');
    }
    ApiError::new(ErrorCode::Validation, format!("Unknown operation: {method} {shown}"))
        .with("reason", "UNKNOWN_OPERATION")
}

fn label(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Room => "Room",
        ResourceKind::LoggingConfiguration => "Logging configuration",
    }
}

/// `404 ResourceNotFoundException` for `id`, named in the message by its ARN.
pub(crate) fn not_found(config: &Config, kind: ResourceKind, id: &str) -> ApiError {
    let arn = crate::arn::format(&config.region, &config.account_id, kind, id);
    ApiError::new(ErrorCode::ResourceNotFound, format!("{} not found: {arn}", label(kind)))
        .with("resourceId", id)
        .with("resourceType", RESOURCE_TYPE)
}

/// `402 ServiceQuotaExceededException`; `resourceId` is the account the quota belongs to.
pub(crate) fn quota_exceeded(config: &Config, kind: ResourceKind, limit: u64) -> ApiError {
    let what = match kind {
        ResourceKind::Room => "rooms",
        ResourceKind::LoggingConfiguration => "logging configurations",
    };
    ApiError::new(
        ErrorCode::ServiceQuotaExceeded,
        format!("Quota exceeded: this account may have at most {limit} {what}"),
    )
    .with("resourceId", config.account_id.as_str())
    .with("resourceType", RESOURCE_TYPE)
    .with("limit", limit)
}

/// `429 ThrottlingException`.
pub(crate) fn throttled(resource_id: &str, limit: u32) -> ApiError {
    ApiError::new(ErrorCode::Throttling, format!("Rate exceeded: at most {limit} requests per second"))
        .with("resourceId", resource_id)
        .with("resourceType", RESOURCE_TYPE)
        .with("limit", limit)
}

/// `500 InternalServerException`; the detail is logged, not sent.
pub(crate) fn internal(detail: &dyn std::fmt::Display) -> ApiError {
    tracing::error!(error = %detail, "ivschat internal error");
    ApiError::new(ErrorCode::InternalServer, "An internal error occurred; please retry")
}

/// Maps a store failure to its AWS error.
pub(crate) fn from_store(config: &Config, err: StoreError) -> ApiError {
    match err {
        StoreError::NotFound { kind, id } => not_found(config, kind, &id),
        StoreError::Conflict { kind, id, blocker } => {
            let arn = crate::arn::format(&config.region, &config.account_id, kind, &id);
            let blocker_arn = crate::arn::format(&config.region, &config.account_id, blocker.kind, &blocker.id);
            ApiError::new(ErrorCode::Conflict, format!("{} {arn} is in use by {blocker_arn}", label(kind)))
                .with("resourceId", id)
                .with("resourceType", RESOURCE_TYPE)
        }
        StoreError::QuotaExceeded { kind, limit } => quota_exceeded(config, kind, limit),
        StoreError::TooManyTags { limit } => field("tags", &format!("A resource can have at most {limit} tags")),
        // A store timeout (a lock held by a frozen node, a slow database) is worth retrying: the SDKs retry a 500.
        err @ (StoreError::AlreadyExists { .. } | StoreError::Backend(_) | StoreError::Timeout(_)) => internal(&err),
    }
}
