//! What both services share around the AWS SDK for Rust: an interceptor that counts attempts, remembers the URL
//! and logs requests and responses under `--debug`, the timeouts, and the translation of SDK errors into the AWS
//! CLI's messages and exit codes.

use std::sync::Arc;
use std::time::Duration;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::Headers;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::timeout::TimeoutConfig;
use parking_lot::Mutex;

use super::CliError;
use super::env::Target;
use super::model::Operation;

/// Attempts and the last URL of one call, shared with the interceptor.
#[derive(Clone, Debug, Default)]
pub(crate) struct Recorder {
    state: Arc<Mutex<Recorded>>,
}

#[derive(Debug, Default)]
struct Recorded {
    attempts: u32,
    url: Option<String>,
}

impl Recorder {
    fn attempts(&self) -> u32 {
        self.state.lock().attempts
    }

    fn url(&self) -> Option<String> {
        self.state.lock().url.clone()
    }
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "SwitchboardCliRecorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        {
            let mut state = self.state.lock();
            state.attempts += 1;
            state.url = Some(request.uri().to_owned());
        }
        if tracing::enabled!(tracing::Level::DEBUG) {
            let body = request.body().bytes().map(printable).unwrap_or_else(|| "(streaming)".to_owned());
            tracing::debug!(method = request.method(), url = request.uri(), headers = %headers(request.headers()),
                %body, "Sending the request.");
        }
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(response) = context.response().filter(|_| tracing::enabled!(tracing::Level::DEBUG)) {
            let body = response.body().bytes().map(printable).unwrap_or_else(|| "(not buffered)".to_owned());
            tracing::debug!(status = response.status().as_u16(), headers = %headers(response.headers()), %body,
                "Received the response.");
        }
        Ok(())
    }
}

fn headers(headers: &Headers) -> String {
    headers.iter().map(|(name, value)| format!("{name}: {value}")).collect::<Vec<_>>().join(", ")
}

fn printable(bytes: &[u8]) -> String {
    const LIMIT: usize = 4096;
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(LIMIT)]).into_owned();
    if bytes.len() > LIMIT { format!("{text}… ({} bytes)", bytes.len()) } else { text }
}

/// The AWS CLI's timeouts (60 s each; 0 waits forever).
pub(crate) fn timeouts(target: &Target) -> TimeoutConfig {
    let duration = |secs: u64| (secs > 0).then(|| Duration::from_secs(secs));
    let mut builder = TimeoutConfig::builder();
    builder.set_connect_timeout(duration(target.connect_timeout));
    builder.set_read_timeout(duration(target.read_timeout));
    builder.build()
}

/// An SDK error as the AWS CLI reports it.
pub(crate) fn error<E>(
    err: SdkError<E, HttpResponse>,
    operation: &Operation,
    recorder: &Recorder,
    target: &Target,
) -> CliError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let url = recorder.url().unwrap_or_else(|| target.endpoint.clone());
    tracing::debug!(error = %chain(&err), attempts = recorder.attempts(), "The call failed.");
    match &err {
        SdkError::ServiceError(context) => {
            let service_error = context.err();
            let code =
                service_error.code().map(str::to_owned).unwrap_or_else(|| context.raw().status().as_u16().to_string());
            let retries = match recorder.attempts() {
                n if n > 1 => format!(" (reached max retries: {})", n - 1),
                _ => String::new(),
            };
            let message = service_error.message().unwrap_or_default();
            CliError::service(format!(
                "An error occurred ({code}) when calling the {} operation{retries}: {message}",
                operation.name
            ))
        }
        SdkError::DispatchFailure(failure) if failure.is_timeout() => {
            let which = if chain(&err).contains("read timeout") { "Read" } else { "Connect" };
            CliError::other(format!("{which} timeout on endpoint URL: \"{url}\""))
        }
        SdkError::DispatchFailure(failure) if failure.is_user() => {
            CliError::other(format!("Cannot send the request to \"{url}\": {}", chain(&err)))
        }
        SdkError::DispatchFailure(_) => CliError::other(format!("Could not connect to the endpoint URL: \"{url}\"")),
        SdkError::TimeoutError(_) => CliError::other(format!("Read timeout on endpoint URL: \"{url}\"")),
        SdkError::ResponseError(_) => CliError::other(format!(
            "An error occurred when reading the answer of the {} operation from \"{url}\": {}",
            operation.name,
            chain(&err)
        )),
        _ => CliError::other(format!("Cannot call the {} operation: {}", operation.name, chain(&err))),
    }
}

/// An error with its sources, on one line.
pub(crate) fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
