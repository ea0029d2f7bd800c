//! Lambda's asynchronous invocations (`InvocationType: Event`): accepted into a bounded queue, each run in the
//! background on the registry's tracker and retried as Lambda retries them — a function error twice more, a throttle
//! or service error with backoff until the event is too old — and given up at shutdown.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::arn::FunctionRef;
use crate::error::{InvokeError, ServiceError};
use crate::pool::PoolCore;

/// Lambda's limit on an asynchronous invocation's payload: 1 MB.
pub const MAX_EVENT_PAYLOAD_BYTES: usize = 1024 * 1024;

/// After a function error Lambda runs the event up to two more times, about one and two minutes later; here one
/// and two seconds later.
const FUNCTION_ERROR_DELAYS: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(2)];

/// Throttles and service errors are retried with backoff from this delay, doubling up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// An event still throttled this long after it was accepted is discarded (Lambda's default is six hours).
pub const MAX_EVENT_AGE: Duration = Duration::from_secs(300);

/// Runs one accepted event to its end; `slot` is its place in the queue, held until then.
pub(crate) async fn run(
    pool: Arc<PoolCore>,
    target: FunctionRef,
    payload: Bytes,
    slot: OwnedSemaphorePermit,
    shutdown: CancellationToken,
) {
    let accepted = Instant::now();
    let mut attempts = 0usize;
    let mut backoff = FIRST_BACKOFF;
    loop {
        let result = tokio::select! {
            result = pool.invoke(&target, payload.clone(), None) => result,
            () = shutdown.cancelled() => {
                pool.log.line("Switchboard: the server is shutting down; an asynchronous invocation is discarded.");
                break;
            }
        };
        let delay = match result {
            Ok(_) => break,
            Err(InvokeError::Function { payload }) => {
                let Some(delay) = FUNCTION_ERROR_DELAYS.get(attempts).copied() else {
                    pool.log.line(&format!(
                        "Switchboard: an asynchronous invocation failed {} times and is discarded: {}",
                        attempts + 1,
                        String::from_utf8_lossy(&payload)
                    ));
                    break;
                };
                attempts += 1;
                delay
            }
            Err(InvokeError::Service { kind: ServiceError::ResourceNotFound, message }) => {
                pool.log.line(&format!("Switchboard: an asynchronous invocation is discarded: {message}"));
                break;
            }
            Err(err @ InvokeError::Service { .. }) => {
                if accepted.elapsed() + backoff > MAX_EVENT_AGE {
                    pool.log.line(&format!(
                        "Switchboard: an asynchronous invocation reached its maximum age and is discarded: {err}"
                    ));
                    break;
                }
                let delay = backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                delay
            }
        };
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = shutdown.cancelled() => break,
        }
    }
    drop(slot);
}
