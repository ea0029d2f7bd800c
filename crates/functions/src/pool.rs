//! One function's execution environments: started on demand up to its concurrency limit, reused while warm (the
//! most recently used first), stopped when idle or when its code changed; past the limit an invocation waits a
//! bounded time, then is throttled as Lambda throttles.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::arn::FunctionRef;
use crate::environment::{Environment, Invocation, Outcome};
use crate::error::{InvokeError, MAX_PAYLOAD_BYTES, ServiceError, ThrottleReason};
use crate::log::{Capture, FunctionLog};
use crate::runtime::RuntimeApiServer;
use crate::settings::Settings;
use crate::spec::FunctionSpec;

/// How often an invocation whose environment ended before taking it moves to another one.
const MAX_REDELIVERIES: usize = 3;

/// Beyond the init and invocation deadlines the environment enforces, the longest an invoker waits for its answer.
const ANSWER_MARGIN: Duration = Duration::from_secs(5);

/// One hosted function.
#[derive(Debug)]
pub(crate) struct PoolCore {
    pub(crate) spec: FunctionSpec,
    pub(crate) settings: Arc<Settings>,
    pub(crate) runtime_api: Arc<dyn RuntimeApiServer>,
    pub(crate) tracker: TaskTracker,
    pub(crate) shutdown: CancellationToken,
    pub(crate) log: Arc<FunctionLog>,
    limit: u32,
    permits: Arc<Semaphore>,
    throttle: ThrottleReason,
    /// Warm environments, the most recently used last.
    idle: Mutex<Vec<Arc<Environment>>>,
    /// Environments alive (started and not yet exited).
    pub(crate) alive: Mutex<Vec<Arc<Environment>>>,
    /// Moves when the code changes: environments of an older generation are not reused.
    pub(crate) generation: AtomicU64,
}

impl PoolCore {
    pub(crate) fn new(
        spec: FunctionSpec,
        settings: Arc<Settings>,
        runtime_api: Arc<dyn RuntimeApiServer>,
        tracker: TaskTracker,
        shutdown: CancellationToken,
    ) -> PoolCore {
        let (limit, throttle) = match spec.reserved_concurrency {
            Some(reserved) => (reserved, ThrottleReason::Reserved),
            None => (settings.concurrency, ThrottleReason::Concurrent),
        };
        let log = Arc::new(FunctionLog::open(&settings.log_dir, &spec.name, settings.max_log_bytes));
        PoolCore {
            permits: Arc::new(Semaphore::new(limit as usize)),
            limit,
            throttle,
            log,
            spec,
            settings,
            runtime_api,
            tracker,
            shutdown,
            idle: Mutex::new(Vec::new()),
            alive: Mutex::new(Vec::new()),
            generation: AtomicU64::new(0),
        }
    }

    /// Runs one invocation; its log goes to `capture` too, when given.
    pub(crate) async fn invoke(
        self: &Arc<Self>,
        target: &FunctionRef,
        payload: Bytes,
        capture: Option<Arc<Capture>>,
    ) -> Result<Bytes, InvokeError> {
        if payload.len() > MAX_PAYLOAD_BYTES {
            return Err(InvokeError::request_too_large());
        }
        let mut permit = self.permit().await?;
        let id = ids::uuid_v4();
        let arn = target.invoked_arn(&self.settings.region, &self.settings.account_id);
        for _ in 0..MAX_REDELIVERIES {
            let env = self.take_or_start().await?;
            let (done, answer) = oneshot::channel();
            let invocation = Invocation {
                id: id.clone(),
                payload: payload.clone(),
                arn: arn.clone(),
                timeout: self.spec.timeout,
                permit,
                done,
                capture: capture.clone(),
            };
            if let Err(back) = env.assign(invocation) {
                permit = back.permit;
                continue;
            }
            let wait = self.settings.init_timeout * 2 + self.spec.timeout + ANSWER_MARGIN;
            match tokio::time::timeout(wait, answer).await {
                Ok(Ok(Outcome::Done(result))) => return result,
                Ok(Ok(Outcome::Undelivered(back))) => permit = back,
                Ok(Err(_)) | Err(_) => {
                    // The environment vanished without answering, or outlived every deadline it enforces.
                    env.retire();
                    return Err(service(format!("RequestId: {id}: the execution environment did not answer")));
                }
            }
        }
        Err(service(format!("RequestId: {id}: no execution environment took the invocation")))
    }

    /// A concurrency permit, waited for at most the queue timeout.
    async fn permit(&self) -> Result<OwnedSemaphorePermit, InvokeError> {
        if self.limit == 0 {
            return Err(InvokeError::throttled(self.throttle));
        }
        let acquire = self.permits.clone().acquire_owned();
        match tokio::time::timeout(self.settings.queue_timeout, acquire).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) => Err(service("the server is shutting down".to_owned())),
            Err(_) => Err(InvokeError::throttled(self.throttle)),
        }
    }

    /// A warm environment of the current code, else a new one (the caller holds a permit, so the limit holds).
    async fn take_or_start(self: &Arc<Self>) -> Result<Arc<Environment>, InvokeError> {
        if self.shutdown.is_cancelled() {
            return Err(service("the server is shutting down".to_owned()));
        }
        let generation = self.generation.load(Ordering::Acquire);
        loop {
            let Some(env) = self.idle.lock().pop() else { break };
            if !env.is_dead() && env.generation == generation {
                return Ok(env);
            }
            env.retire();
        }
        crate::process::start(self, generation).await
    }

    /// An environment whose invocation ended: warm again, unless its code is old or the server stops.
    pub(crate) fn returned(&self, env: Arc<Environment>) {
        let current = env.generation == self.generation.load(Ordering::Acquire);
        if current && !self.shutdown.is_cancelled() && !env.is_dead() {
            let mut idle = self.idle.lock();
            idle.retain(|e| !e.is_dead() && !Arc::ptr_eq(e, &env));
            idle.push(env);
        } else {
            env.retire();
        }
    }

    /// The code changed: new invocations start new environments; warm ones stop now, busy ones when they finish.
    pub(crate) fn code_changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        let drained: Vec<_> = std::mem::take(&mut *self.idle.lock());
        for env in drained {
            env.retire();
        }
        self.log.line("Switchboard: the code changed; new invocations run it in new execution environments.");
    }

    /// Environments alive now.
    pub(crate) fn environments(&self) -> usize {
        self.alive.lock().len()
    }

    pub(crate) fn started(&self, env: &Arc<Environment>) {
        self.alive.lock().push(env.clone());
    }

    pub(crate) fn ended(&self, env: &Arc<Environment>) {
        self.alive.lock().retain(|e| !Arc::ptr_eq(e, env));
        self.idle.lock().retain(|e| !Arc::ptr_eq(e, env));
    }
}

fn service(message: String) -> InvokeError {
    InvokeError::Service { kind: ServiceError::Service, message }
}
