//! The one way to call a function, whoever runs it: hosted here ([`Functions`](crate::Functions)) or remote through
//! the Lambda Invoke API ([`Router`](crate::remote::Router) picks). Integrations and authorizers call through this
//! trait.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;

use crate::arn::FunctionRef;
use crate::error::InvokeError;

/// An invocation's answer, to come.
pub type InvokeFuture<'a> = Pin<Box<dyn Future<Output = Result<Bytes, InvokeError>> + Send + 'a>>;

/// Calls functions synchronously (Lambda's `RequestResponse`).
pub trait Invoke: Send + Sync + Debug {
    /// Runs `function` with `payload` (JSON) and answers its result payload, or why there is none.
    fn invoke<'a>(&'a self, function: &'a FunctionRef, payload: Bytes) -> InvokeFuture<'a>;
}
