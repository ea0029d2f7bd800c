//! The command line's one client, generic over the restJson1 models: `request` builds an operation's HTTP request
//! from its model and checked parameters, `transport` signs it with SigV4 and sends it (timeouts, `--debug` logs),
//! this file retries as the AWS CLI's standard mode does, and `response` reads the answer back into the output
//! shape, or into the AWS CLI's error line and exit code.

mod request;
mod response;
mod transport;

use std::time::Duration;

use serde_json::{Map, Value};

use crate::CliError;
use crate::env::Target;
use crate::model::{Operation, Service};

pub(crate) use request::{Request, build};
pub(crate) use response::decode;
pub(crate) use transport::Client;

/// The AWS CLI's standard retry mode: at most this many attempts of one call.
const MAX_ATTEMPTS: u32 = 3;

/// The ceiling of the backoff between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(20);

/// Error codes retried as throttling (botocore's and the AWS SDKs' standard list).
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// Error codes retried as transient, besides the 500, 502, 503 and 504 statuses.
const TRANSIENT: &[&str] = &["RequestTimeout", "RequestTimeoutException"];

/// Calls `operation` of `service` with `params` at `target`; `Some` answer to print.
pub(crate) async fn call(
    target: &Target,
    service: &Service,
    operation: &Operation,
    params: &Map<String, Value>,
) -> Result<Option<Value>, CliError> {
    let request = build(operation, params, &target.endpoint)?;
    let client = Client::new(target, service)?;
    let mut attempt = 1;
    loop {
        let outcome = client.send(&request, attempt).await;
        let retry = match &outcome {
            Ok(answer) if answer.is_success() => false,
            Ok(answer) => {
                let (code, _) = answer.error();
                retryable(answer.status, code.as_deref())
            }
            // Connection failures and timeouts are transient.
            Err(_) => true,
        };
        if !retry || attempt == MAX_ATTEMPTS {
            return finish(outcome, operation, &request, attempt);
        }
        let backoff = backoff(attempt);
        tracing::debug!(attempt, backoff_ms = backoff.as_millis() as u64, "Retrying the call.");
        tokio::time::sleep(backoff).await;
        attempt += 1;
    }
}

fn finish(
    outcome: Result<transport::Answer, transport::SendError>,
    operation: &Operation,
    request: &Request,
    attempts: u32,
) -> Result<Option<Value>, CliError> {
    let answer = match outcome {
        Ok(answer) => answer,
        Err(err) => {
            tracing::debug!(error = %err, attempts, "The call failed.");
            return Err(err.into_cli_error(&request.url));
        }
    };
    if !answer.is_success() {
        let (code, message) = answer.error();
        let code = code.unwrap_or_else(|| answer.status.to_string());
        let retries = if attempts > 1 { format!(" (reached max retries: {})", attempts - 1) } else { String::new() };
        tracing::debug!(%code, attempts, "The service answered an error.");
        return Err(CliError::service(format!(
            "An error occurred ({code}) when calling the {} operation{retries}: {message}",
            operation.name
        )));
    }
    decode(operation, answer.status, &answer.headers, &answer.body).map_err(|err| {
        CliError::other(format!(
            "An error occurred when reading the answer of the {} operation from \"{}\": {err}",
            operation.name, request.url
        ))
    })
}

/// Whether an error answer is worth another attempt: throttling, transient codes, and 500/502/503/504.
fn retryable(status: u16, code: Option<&str>) -> bool {
    matches!(status, 500 | 502 | 503 | 504) || code.is_some_and(|c| THROTTLING.contains(&c) || TRANSIENT.contains(&c))
}

/// The standard mode's backoff before attempt `attempt + 1`: a random share of 2^(attempt - 1) seconds, at most
/// 20 s ("full jitter").
fn backoff(attempt: u32) -> Duration {
    let ceiling = Duration::from_secs(1u64 << (attempt - 1).min(5)).min(MAX_BACKOFF);
    ceiling.mul_f64(rand::random::<f64>())
}

#[cfg(test)]
mod tests;
