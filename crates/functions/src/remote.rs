//! Functions this server does not host, called through the Lambda Invoke API with the official SDK
//! (`aws-sdk-lambda`): at the endpoint of their `[[remote_functions]]` entry or the global `--lambda-endpoint` (or
//! Lambda's own endpoint for the region), with configured keys or the standard credential chain, in the region their
//! ARN names. [`Router`] is the one [`Invoke`] integrations and authorizers call: hosted functions first.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_lambda::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_lambda::operation::invoke::InvokeError as SdkInvokeError;
use aws_sdk_lambda::primitives::Blob;
use bytes::Bytes;
use parking_lot::Mutex;

use crate::arn::{FunctionRef, function_arn};
use crate::error::{InvokeError, ServiceError, ThrottleReason};
use crate::invoke::{Invoke, InvokeFuture};
use crate::registry::Functions;

/// A key pair to sign remote calls with (else the standard credential chain signs them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keys {
    pub access_key_id: String,
    pub secret_access_key: String,
}

/// One function called remotely: where, in which region, with which keys (each defaulting to the global setting).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteFunction {
    pub name: String,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub keys: Option<Keys>,
}

/// Where functions that are not hosted are called.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemoteSettings {
    /// `--lambda-endpoint`: every function that is not hosted is called there.
    pub endpoint: Option<String>,
    pub keys: Option<Keys>,
    pub functions: Vec<RemoteFunction>,
    /// The server's region: the region of a function named without an ARN.
    pub region: String,
}

/// Where one call goes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Target {
    endpoint: Option<String>,
    region: String,
    access_key_id: Option<String>,
}

impl RemoteSettings {
    /// Where a call of `function` goes; `None` when it is not a remote function.
    fn target(&self, function: &FunctionRef) -> Option<(Target, Option<&Keys>)> {
        let entry = self.functions.iter().find(|f| f.name == function.name);
        if entry.is_none() && self.endpoint.is_none() {
            return None;
        }
        let endpoint = entry.and_then(|f| f.endpoint.clone()).or_else(|| self.endpoint.clone());
        let region = entry.and_then(|f| f.region.clone()).or_else(|| function.region.clone());
        let keys = entry.and_then(|f| f.keys.as_ref()).or(self.keys.as_ref());
        let region = region.unwrap_or_else(|| self.region.clone());
        let access_key_id = keys.map(|k| k.access_key_id.clone());
        Some((Target { endpoint, region, access_key_id }, keys))
    }
}

/// The SDK clients of the remote functions, one per endpoint, region and key pair.
#[derive(Debug)]
pub struct Remote {
    settings: RemoteSettings,
    clients: Mutex<HashMap<Target, aws_sdk_lambda::Client>>,
}

/// How long a connection to a remote Lambda API may take; the whole call has its caller's deadline.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

impl Remote {
    pub fn new(settings: RemoteSettings) -> Remote {
        Remote { settings, clients: Mutex::new(HashMap::new()) }
    }

    async fn client(&self, target: &Target, keys: Option<&Keys>) -> aws_sdk_lambda::Client {
        if let Some(client) = self.clients.lock().get(target) {
            return client.clone();
        }
        let region = aws_sdk_lambda::config::Region::new(target.region.clone());
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).region(region);
        if let Some(keys) = keys {
            let credentials = aws_sdk_lambda::config::Credentials::new(
                &keys.access_key_id,
                &keys.secret_access_key,
                None,
                None,
                "switchboard-remote-functions",
            );
            loader = loader.credentials_provider(credentials);
        }
        if let Some(endpoint) = &target.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        let timeouts = aws_config::timeout::TimeoutConfig::builder().connect_timeout(CONNECT_TIMEOUT).build();
        let config = loader.timeout_config(timeouts).load().await;
        let client = aws_sdk_lambda::Client::new(&config);
        self.clients.lock().entry(target.clone()).or_insert(client).clone()
    }

    /// Invokes `function` (RequestResponse) where it lives, when it is a remote function.
    async fn invoke(&self, function: &FunctionRef, payload: Bytes) -> Option<Result<Bytes, InvokeError>> {
        let (target, keys) = self.settings.target(function)?;
        let client = self.client(&target, keys).await;
        // A full ARN when the reference had its account (the region is the call's), else the name.
        let name = match &function.account {
            Some(account) => function_arn(&target.region, account, &function.name),
            None => function.name.clone(),
        };
        let call = client
            .invoke()
            .function_name(name)
            .set_qualifier(function.qualifier.clone())
            .payload(Blob::new(payload.to_vec()))
            .send()
            .await;
        let where_ = target.endpoint.as_deref().unwrap_or("Lambda");
        Some(match call {
            Ok(out) => {
                let payload = out.payload.map(|b| Bytes::from(b.into_inner())).unwrap_or_default();
                if out.function_error.is_some() { Err(InvokeError::Function { payload }) } else { Ok(payload) }
            }
            Err(SdkError::ServiceError(err)) => Err(service_error(err.into_err())),
            Err(err) => Err(InvokeError::Service {
                kind: ServiceError::Service,
                message: format!("cannot call the Lambda API at {where_}: {}", DisplayErrorContext(err)),
            }),
        })
    }
}

/// A remote Lambda's refusal, as the hosted functions' own.
fn service_error(err: SdkInvokeError) -> InvokeError {
    let message = format!("{}: {}", err.code().unwrap_or("Unknown"), err.message().unwrap_or_default());
    let kind = match &err {
        SdkInvokeError::ResourceNotFoundException(_) => ServiceError::ResourceNotFound,
        SdkInvokeError::RequestTooLargeException(_) => ServiceError::RequestTooLarge,
        SdkInvokeError::TooManyRequestsException(throttle) => {
            let reserved = throttle.reason().is_some_and(|r| r.as_str().starts_with("ReservedFunction"));
            ServiceError::TooManyRequests(if reserved { ThrottleReason::Reserved } else { ThrottleReason::Concurrent })
        }
        _ => ServiceError::Service,
    };
    InvokeError::Service { kind, message }
}

/// Every function an integration or authorizer may name: hosted here, else remote, else not found.
#[derive(Debug)]
pub struct Router {
    hosted: Arc<Functions>,
    remote: Remote,
}

impl Router {
    pub fn new(hosted: Arc<Functions>, remote: RemoteSettings) -> Router {
        Router { hosted, remote: Remote::new(remote) }
    }
}

impl Invoke for Router {
    fn invoke<'a>(&'a self, function: &'a FunctionRef, payload: Bytes) -> InvokeFuture<'a> {
        Box::pin(async move {
            if self.hosted.spec(&function.name).is_none()
                && let Some(result) = self.remote.invoke(function, payload.clone()).await
            {
                return result;
            }
            self.hosted.invoke(function, payload).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(id: &str) -> Option<Keys> {
        Some(Keys { access_key_id: id.to_owned(), secret_access_key: "s".to_owned() })
    }

    #[test]
    fn a_call_goes_to_its_functions_entry_else_the_global_endpoint() {
        let mut settings = RemoteSettings {
            endpoint: None,
            keys: keys("GLOBAL"),
            functions: vec![RemoteFunction {
                name: "own".to_owned(),
                endpoint: Some("http://127.0.0.1:2".to_owned()),
                region: Some("eu-west-1".to_owned()),
                keys: None,
            }],
            region: "us-east-1".to_owned(),
        };
        let arn = |name: &str| FunctionRef::parse(&format!("arn:aws:lambda:ap-south-1:123456789012:function:{name}"));
        assert_eq!(settings.target(&arn("other").unwrap()), None, "no global endpoint: not remote");
        let (own, own_keys) = settings.target(&arn("own").unwrap()).unwrap();
        assert_eq!(
            own,
            Target {
                endpoint: Some("http://127.0.0.1:2".to_owned()),
                region: "eu-west-1".to_owned(),
                access_key_id: Some("GLOBAL".to_owned())
            }
        );
        assert_eq!(own_keys, keys("GLOBAL").as_ref());
        settings.endpoint = Some("http://127.0.0.1:1".to_owned());
        let (other, _) = settings.target(&arn("other").unwrap()).unwrap();
        assert_eq!((other.endpoint.as_deref(), other.region.as_str()), (Some("http://127.0.0.1:1"), "ap-south-1"));
        let (named, _) = settings.target(&FunctionRef::parse("bare").unwrap()).unwrap();
        assert_eq!(named.region, "us-east-1", "a name without an ARN is in the server's region");
    }
}
