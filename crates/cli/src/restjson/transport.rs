//! One attempt of a call: the request signed with SigV4 (`aws-sigv4`, the official signer, with the Rust SDK's
//! settings) for the service's signing name and the target's region and credentials, sent with `reqwest` under the
//! AWS CLI's timeouts, logged under `--debug`, and its failures told as the AWS CLI tells them.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use http::HeaderMap;

use super::Request;
use super::response;
use crate::env::Target;
use crate::model::Service;
use crate::{CliError, chain};

/// What the command line says it is.
const USER_AGENT: &str = concat!("switchboard-cli/", env!("CARGO_PKG_VERSION"), " aws-cli/2");

/// Sends signed requests for one service to one target.
pub(crate) struct Client {
    http: reqwest::Client,
    credentials: Credentials,
    region: String,
    signing_name: &'static str,
    /// `amz-sdk-invocation-id`: one id for every attempt of the call.
    invocation: String,
}

/// A service's answer, read whole.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Answer {
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub(crate) fn error(&self) -> (Option<String>, String) {
        response::error(&self.headers, &self.body)
    }
}

/// Why an attempt got no answer.
#[derive(Debug)]
pub(crate) enum SendError {
    Sign(String),
    Http(reqwest::Error),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Sign(text) => f.write_str(text),
            SendError::Http(err) => f.write_str(&chain(err)),
        }
    }
}

impl SendError {
    /// The AWS CLI's line for a request to `url` that got no answer.
    pub(crate) fn into_cli_error(self, url: &str) -> CliError {
        match self {
            SendError::Sign(text) => CliError::other(format!("Cannot sign the request to \"{url}\": {text}")),
            SendError::Http(err) if err.is_timeout() => {
                let which = if err.is_connect() { "Connect" } else { "Read" };
                CliError::other(format!("{which} timeout on endpoint URL: \"{url}\""))
            }
            SendError::Http(err) if err.is_builder() => {
                CliError::other(format!("Cannot send the request to \"{url}\": {}", chain(&err)))
            }
            SendError::Http(err) if err.is_body() || err.is_decode() => {
                CliError::other(format!("An error occurred when reading the answer from \"{url}\": {}", chain(&err)))
            }
            SendError::Http(_) => CliError::other(format!("Could not connect to the endpoint URL: \"{url}\"")),
        }
    }
}

impl Client {
    /// A client with the AWS CLI's timeouts (`--cli-connect-timeout`, `--cli-read-timeout`; 0 waits forever).
    pub(crate) fn new(target: &Target, service: &Service) -> Result<Client, CliError> {
        let duration = |secs: u64| (secs > 0).then(|| Duration::from_secs(secs));
        let mut builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
        if let Some(timeout) = duration(target.connect_timeout) {
            builder = builder.connect_timeout(timeout);
        }
        if let Some(timeout) = duration(target.read_timeout) {
            builder = builder.read_timeout(timeout);
        }
        let http = builder.build().map_err(|err| CliError::other(format!("Cannot start the HTTP client: {err}")))?;
        Ok(Client {
            http,
            credentials: target.credentials.clone(),
            region: target.region.clone(),
            signing_name: service.signing_name,
            invocation: ids::uuid_v4(),
        })
    }

    /// Attempt `attempt` of `request`.
    pub(crate) async fn send(&self, request: &Request, attempt: u32) -> Result<Answer, SendError> {
        let url = reqwest::Url::parse(&request.url).map_err(|err| SendError::Sign(err.to_string()))?;
        let host = match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => return Err(SendError::Sign("the endpoint URL has no host".to_owned())),
        };
        let mut headers = vec![("host".to_owned(), host)];
        headers.extend(request.headers.iter().cloned());
        headers.push(("amz-sdk-invocation-id".to_owned(), self.invocation.clone()));
        headers.push(("amz-sdk-request".to_owned(), format!("attempt={attempt}; max={}", super::MAX_ATTEMPTS)));
        headers.extend(self.signature(request, &headers)?);
        headers.push(("user-agent".to_owned(), USER_AGENT.to_owned()));
        if tracing::enabled!(tracing::Level::DEBUG) {
            tracing::debug!(method = request.method, url = request.url, headers = %joined(&headers),
                body = %printable(&request.body), "Sending the request.");
        }
        let method = http::Method::from_bytes(request.method.as_bytes()).map_err(|e| SendError::Sign(e.to_string()))?;
        let mut builder = self.http.request(method, url);
        for (name, value) in &headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let response = builder.body(request.body.clone()).send().await.map_err(SendError::Http)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(SendError::Http)?;
        if tracing::enabled!(tracing::Level::DEBUG) {
            let shown: Vec<(String, String)> = headers
                .iter()
                .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                .collect();
            tracing::debug!(status, headers = %joined(&shown), body = %printable(&body), "Received the response.");
        }
        Ok(Answer { status, headers, body })
    }

    /// The `Authorization`, `X-Amz-Date` (and `X-Amz-Security-Token`) headers of the request.
    fn signature(&self, request: &Request, headers: &[(String, String)]) -> Result<Vec<(String, String)>, SendError> {
        let identity: Identity = self.credentials.clone().into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(self.signing_name)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|err| SendError::Sign(err.to_string()))?
            .into();
        let signable = SignableRequest::new(
            request.method,
            request.url.as_str(),
            headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
            SignableBody::Bytes(&request.body),
        )
        .map_err(|err| SendError::Sign(err.to_string()))?;
        let (instructions, _) = sign(signable, &params).map_err(|err| SendError::Sign(chain(&err)))?.into_parts();
        Ok(instructions.headers().map(|(n, v)| (n.to_owned(), v.to_owned())).collect())
    }
}

fn joined(headers: &[(String, String)]) -> String {
    headers.iter().map(|(name, value)| format!("{name}: {value}")).collect::<Vec<_>>().join(", ")
}

fn printable(bytes: &[u8]) -> String {
    const LIMIT: usize = 4096;
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(LIMIT)]).into_owned();
    if bytes.len() > LIMIT { format!("{text}… ({} bytes)", bytes.len()) } else { text }
}
