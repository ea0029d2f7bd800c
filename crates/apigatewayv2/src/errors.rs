//! Every apigatewayv2 error body this crate produces, built on `wire::ApiError` (restJson1: `x-amzn-ErrorType`,
//! lowerCamel `message` and the modeled members), and the mapping from store errors.

use store::{ApiStoreError, StoreError};
use wire::{ApiError, ErrorCode};

/// `400 BadRequestException`.
pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::BadRequest, message)
}

/// `404 NotFoundException` for a resource of `resource_type` (`Api`, `Route`, …), as AWS words it.
pub(crate) fn not_found(resource_type: &str, account_id: &str, id: &str) -> ApiError {
    let what = if resource_type == "Api" { "API" } else { resource_type };
    ApiError::new(ErrorCode::NotFound, format!("Invalid {what} identifier specified {account_id}:{id}"))
        .with("resourceType", resource_type)
}

/// `409 ConflictException`.
pub(crate) fn conflict(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::Conflict, message)
}

/// `429 TooManyRequestsException` for a quota (`limitType` names it).
pub(crate) fn quota(limit_type: &str, limit: u64) -> ApiError {
    ApiError::new(ErrorCode::TooManyRequests, format!("Limit of {limit} {limit_type} reached"))
        .with("limitType", limit_type)
}

/// An operation of the model outside the WebSocket subset.
pub(crate) fn unsupported_operation(name: &str) -> ApiError {
    bad_request(format!("{name} is not supported by Switchboard, which serves the WebSocket API operations only"))
}

/// A path that no operation of the model binds.
pub(crate) fn unknown_path(method: &str, path: &str) -> ApiError {
    let shown: String = path.chars().take(200).collect();
    ApiError::new(ErrorCode::NotFound, format!("No apigatewayv2 operation at {method} {shown}"))
}

/// `500 InternalServerException`-style retryable failure; the detail is logged, not sent.
pub(crate) fn internal(detail: &dyn std::fmt::Display) -> ApiError {
    tracing::error!(error = %detail, "apigatewayv2 internal error");
    ApiError::new(ErrorCode::InternalServer, "An internal error occurred; please retry")
}

/// Maps a store failure to its AWS error.
pub(crate) fn from_store(account_id: &str, err: ApiStoreError) -> ApiError {
    match err {
        ApiStoreError::ApiNotFound { id } => not_found("Api", account_id, &id),
        ApiStoreError::SnapshotNotFound { deployment_id, .. } => not_found("Deployment", account_id, &deployment_id),
        ApiStoreError::QuotaExceeded { limit } => quota("Apis", limit),
        err @ (ApiStoreError::AlreadyExists { .. }
        | ApiStoreError::Stale { .. }
        | ApiStoreError::Store(StoreError::Backend(_) | StoreError::Timeout(_))
        | ApiStoreError::Store(_)) => internal(&err),
    }
}
