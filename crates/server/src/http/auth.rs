//! SigV4 checks for the AWS-compatible APIs, through the one `sigv4` verifier, scoped per service.

use sigv4::{SignedRequest, Verifier};
use time::OffsetDateTime;
use wire::{ApiError, ErrorCode};

use crate::state::AppState;

/// The SigV4 service a request must be signed for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Service {
    /// The `@connections` management API.
    ExecuteApi,
}

impl Service {
    fn name(self) -> &'static str {
        match self {
            Service::ExecuteApi => "execute-api",
        }
    }
}

/// Verifies the request's signature unless auth is switched off; refusals are AWS-shaped errors.
pub(crate) fn verify(
    state: &AppState,
    parts: &http::request::Parts,
    body: &[u8],
    service: Service,
) -> Result<(), ApiError> {
    let Some(keys) = &state.keys else {
        return Ok(());
    };
    let verifier = Verifier::new(service.name());
    let lookup = |access_key_id: &str| keys.secret(access_key_id).map(str::to_owned);
    match verifier.verify(&SignedRequest::from_parts(parts, body), &lookup, OffsetDateTime::now_utc()) {
        Ok(_principal) => Ok(()),
        Err(err) => {
            let code = ErrorCode::from_aws_type(err.error_type()).unwrap_or(ErrorCode::InvalidSignature);
            Err(ApiError::new(code, err.to_string()))
        }
    }
}
