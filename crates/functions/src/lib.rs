//! Lambda functions as Switchboard runs them: what defines one (`spec`), whichever source it comes from — a
//! template, `[[functions]]` in the config file, or flags — and how it is hosted.
//!
//! Hosting is HTTP-free: [`Functions`] keeps a pool of execution environments per function (child processes, one
//! invocation at a time each, started on demand up to a concurrency limit, reused while warm, stopped when idle)
//! and answers [`Invoke::invoke`]. Each environment's runtime client speaks the Lambda Runtime API to a listener the
//! server binds through [`RuntimeApiServer`], over that environment's [`RuntimeHandle`]. Functions that are not
//! hosted are invoked through the Lambda Invoke API (`remote`); the Lambda API of the hosted ones is `api`.

pub mod api;
pub mod arn;
pub mod clients;
mod environment;
pub mod error;
pub mod events;
mod invoke;
pub mod launch;
mod log;
mod pool;
mod process;
mod recent;
mod registry;
pub mod remote;
mod runtime;
pub mod settings;
pub mod spec;
mod watch;

#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;

pub use arn::FunctionRef;
pub use environment::{NextInvocation, RuntimeHandle};
pub use error::{InvokeError, MAX_PAYLOAD_BYTES, RuntimeApiError, ServiceError, ThrottleReason};
pub use invoke::{Invoke, InvokeFuture};
pub use recent::{Activity, Invocation, KEPT_INVOCATIONS, KEPT_LINES, LogLine, MAX_LINE_BYTES};
pub use registry::Functions;
pub use runtime::{Binding, RuntimeApiServer};
pub use settings::Settings;
pub use spec::{FunctionSpec, Runtime, SpecError};
