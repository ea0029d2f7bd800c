//! The hosted functions by name: one pool of execution environments each, the tasks that run them, and the
//! shutdown that kills every environment.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::arn::{FunctionRef, function_arn};
use crate::error::{InvokeError, ServiceError, ThrottleReason};
use crate::events::MAX_EVENT_PAYLOAD_BYTES;
use crate::invoke::{Invoke, InvokeFuture};
use crate::log::Capture;
use crate::pool::PoolCore;
use crate::runtime::RuntimeApiServer;
use crate::settings::Settings;
use crate::spec::{FunctionSpec, SpecError};

/// Every function this server hosts.
#[derive(Debug)]
pub struct Functions {
    pub(crate) pools: BTreeMap<String, Arc<PoolCore>>,
    settings: Arc<Settings>,
    /// Supervisors, output readers and watchers.
    tracker: TaskTracker,
    /// Cancelled at shutdown: stops every environment and watcher.
    shutdown: CancellationToken,
    /// Places in the queue of asynchronous invocations (`settings.event_queue`).
    events: Arc<Semaphore>,
}

/// How long an invocation's output may take to reach its capture after the runtime answered: its last lines are
/// read from the process's pipes by another task.
const OUTPUT_SETTLE: Duration = Duration::from_millis(50);

impl Functions {
    /// Hosts `specs` (each validated; names unique). Environments start on demand; with `settings.watch`, each
    /// function's code directory is watched from now on (which needs a Tokio runtime).
    pub fn new(
        specs: Vec<FunctionSpec>,
        settings: Settings,
        runtime_api: Arc<dyn RuntimeApiServer>,
    ) -> Result<Functions, SpecError> {
        let settings = Arc::new(settings);
        let tracker = TaskTracker::new();
        let shutdown = CancellationToken::new();
        let mut pools = BTreeMap::new();
        for spec in specs {
            spec.validate()?;
            if let Err(err) = crate::launch::command(&spec, &settings) {
                tracing::warn!(function = %spec.name, %err, "This function cannot start; its invocations will fail.");
            }
            let name = spec.name.clone();
            let pool = PoolCore::new(spec, settings.clone(), runtime_api.clone(), tracker.clone(), shutdown.clone());
            if pools.insert(name.clone(), Arc::new(pool)).is_some() {
                return Err(SpecError::Duplicate(name));
            }
        }
        if settings.watch {
            for pool in pools.values() {
                // The first fingerprint is taken here, before any invocation can start an environment: a change
                // made after that is seen, however late the watcher's first check runs.
                let since = crate::watch::baseline(pool);
                tracker.spawn(crate::watch::watch(pool.clone(), since));
            }
        }
        let events = Arc::new(Semaphore::new(settings.event_queue));
        Ok(Functions { pools, settings, tracker, shutdown, events })
    }

    pub fn is_empty(&self) -> bool {
        self.pools.is_empty()
    }

    /// The hosted functions' definitions, by name.
    pub fn specs(&self) -> impl Iterator<Item = &FunctionSpec> {
        self.pools.values().map(|pool| &pool.spec)
    }

    pub fn spec(&self, name: &str) -> Option<&FunctionSpec> {
        self.pools.get(name).map(|pool| &pool.spec)
    }

    /// Function `name`'s last invocations and log lines, for the console.
    pub fn activity(&self, name: &str) -> Option<crate::Activity> {
        Some(self.pools.get(name)?.log.recent.activity())
    }

    /// The settings every hosted function runs with (region, account, limits).
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Runs `function` as [`Invoke::invoke`] does and also answers the invocation's log (`START`, its output, `END`
    /// and `REPORT`), at most its last 4 KB, as `X-Amz-Log-Type: Tail` does.
    pub async fn invoke_with_log(
        &self,
        function: &FunctionRef,
        payload: Bytes,
    ) -> (Result<Bytes, InvokeError>, String) {
        let Some(pool) = self.pools.get(&function.name) else {
            return (Err(self.not_found(&function.name)), String::new());
        };
        let capture = Arc::new(Capture::default());
        let result = pool.invoke(function, payload, Some(capture.clone())).await;
        tokio::time::sleep(OUTPUT_SETTLE).await;
        (result, capture.tail())
    }

    /// Accepts an asynchronous invocation (Lambda's `Event`): checked now (the function exists, the payload is at
    /// most 1 MB, the queue has room), run in the background with Lambda's retries.
    pub fn invoke_event(&self, function: &FunctionRef, payload: Bytes) -> Result<(), InvokeError> {
        let Some(pool) = self.pools.get(&function.name) else {
            return Err(self.not_found(&function.name));
        };
        if payload.len() > MAX_EVENT_PAYLOAD_BYTES {
            return Err(InvokeError::Service {
                kind: ServiceError::RequestTooLarge,
                message: format!(
                    "Request must be smaller than {MAX_EVENT_PAYLOAD_BYTES} bytes for the InvokeFunction operation"
                ),
            });
        }
        if self.shutdown.is_cancelled() {
            return Err(InvokeError::Service {
                kind: ServiceError::Service,
                message: "the server is shutting down".to_owned(),
            });
        }
        let Ok(slot) = self.events.clone().try_acquire_owned() else {
            return Err(InvokeError::Service {
                kind: ServiceError::TooManyRequests(ThrottleReason::Concurrent),
                message: format!(
                    "Rate Exceeded. The queue of asynchronous invocations is full ({} events).",
                    self.settings.event_queue
                ),
            });
        };
        let run = crate::events::run(pool.clone(), function.clone(), payload, slot, self.shutdown.clone());
        self.tracker.spawn(run);
        Ok(())
    }

    /// Asynchronous invocations accepted and not yet ended.
    pub fn queued_events(&self) -> usize {
        self.settings.event_queue - self.events.available_permits()
    }

    fn not_found(&self, name: &str) -> InvokeError {
        InvokeError::not_found(&function_arn(&self.settings.region, &self.settings.account_id, name))
    }

    /// The execution environments of `name` alive now.
    pub fn environments(&self, name: &str) -> usize {
        self.pools.get(name).map_or(0, |pool| pool.environments())
    }

    /// Every environment alive now, of every function.
    pub fn all_environments(&self) -> usize {
        self.pools.values().map(|pool| pool.environments()).sum()
    }

    /// Stops every environment (its process group killed), refuses new invocations, and waits at most `grace` for
    /// the supervisors to reap them; `false` when some were still running then.
    pub async fn shutdown(&self, grace: Duration) -> bool {
        self.shutdown.cancel();
        self.tracker.close();
        tokio::time::timeout(grace, self.tracker.wait()).await.is_ok()
    }
}

impl Invoke for Functions {
    fn invoke<'a>(&'a self, function: &'a FunctionRef, payload: Bytes) -> InvokeFuture<'a> {
        Box::pin(async move {
            let Some(pool) = self.pools.get(&function.name) else {
                return Err(self.not_found(&function.name));
            };
            pool.invoke(function, payload, None).await
        })
    }
}
