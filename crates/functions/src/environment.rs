//! One execution environment's state machine, shared by the pool that assigns it invocations, the Runtime API
//! handle its runtime client calls through, and the supervisor that owns its process.
//!
//! Lambda's model: one invocation at a time. An invocation is *pending* once assigned, *running* once the runtime
//! took it with `next` (its deadline starts then), and ends with a response, an error, a timeout or the process's
//! exit. Every state has a deadline the supervisor enforces ([`Environment::deadline`], [`Environment::expire`]):
//! the init phase's, the running invocation's timeout, and the idle time; so does a pending invocation, which the
//! runtime must take within the init timeout.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::sync::{Notify, OwnedSemaphorePermit, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::error::{InvokeError, MAX_PAYLOAD_BYTES, RuntimeApiError};
use crate::log::{Capture, FunctionLog, Report, keep_last, peak_memory_mb};
use crate::pool::PoolCore;

/// The most output kept per environment to report a crash with.
const TAIL_BYTES: usize = 4096;

/// How long a runtime that reported an init error has to exit by itself before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(1);

/// An invocation assigned to an environment.
#[derive(Debug)]
pub(crate) struct Invocation {
    pub(crate) id: String,
    pub(crate) payload: Bytes,
    pub(crate) arn: String,
    pub(crate) timeout: Duration,
    /// One of the function's concurrency permits, released when the invocation ends.
    pub(crate) permit: OwnedSemaphorePermit,
    pub(crate) done: oneshot::Sender<Outcome>,
    /// Where the invocation's own log goes, when its caller wants it (`X-Amz-Log-Type: Tail`).
    pub(crate) capture: Option<Arc<Capture>>,
}

/// How an invocation ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    Done(Result<Bytes, InvokeError>),
    /// The environment ended before its runtime took the invocation: it may run on another one.
    Undelivered(OwnedSemaphorePermit),
}

#[derive(Debug)]
struct Running {
    id: String,
    delivered_at: Instant,
    deadline: Instant,
    timeout: Duration,
    permit: OwnedSemaphorePermit,
    done: oneshot::Sender<Outcome>,
    /// The init phase, reported with the environment's first invocation.
    init: Option<Duration>,
    capture: Option<Arc<Capture>>,
}

#[derive(Debug)]
struct State {
    /// Set when the environment must stop (or stopped); nothing is assigned to it from then on.
    dead: bool,
    /// The init phase's length, once the runtime first asked for an invocation.
    initialized: Option<Duration>,
    init_reported: bool,
    pending: Option<(Invocation, Instant)>,
    current: Option<Running>,
    idle_since: Instant,
    /// What the runtime posted to `init/error`, and when: nothing is assigned to the environment any more.
    init_error: Option<(Bytes, Instant)>,
}

/// What the Runtime API hands a runtime from `next`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NextInvocation {
    pub request_id: String,
    pub payload: Bytes,
    /// `Lambda-Runtime-Deadline-Ms`: the invocation's deadline in Unix milliseconds.
    pub deadline_ms: i64,
    pub function_arn: String,
    pub trace_id: String,
}

/// One environment.
#[derive(Debug)]
pub(crate) struct Environment {
    pub(crate) generation: u64,
    pub(crate) function: String,
    pool: Weak<PoolCore>,
    log: Arc<FunctionLog>,
    memory_mb: u32,
    init_timeout: Duration,
    idle_timeout: Duration,
    started_at: Instant,
    state: Mutex<State>,
    /// Wakes a runtime waiting in `next`.
    wake: Notify,
    /// Wakes the supervisor: the state's deadline may have moved.
    pub(crate) changed: Notify,
    /// Stops the process (a child of the registry's shutdown token).
    pub(crate) stop: CancellationToken,
    pid: AtomicU32,
    tail: Mutex<String>,
    /// The capture of the last invocation a runtime took: its output lands there until the next one starts.
    capture: Mutex<Option<Arc<Capture>>>,
}

impl Environment {
    pub(crate) fn new(pool: &Arc<PoolCore>, generation: u64, stop: CancellationToken) -> Environment {
        let now = Instant::now();
        Environment {
            generation,
            function: pool.spec.name.clone(),
            pool: Arc::downgrade(pool),
            log: pool.log.clone(),
            memory_mb: pool.spec.memory_mb,
            init_timeout: pool.settings.init_timeout,
            idle_timeout: pool.settings.idle_timeout,
            started_at: now,
            state: Mutex::new(State {
                dead: false,
                initialized: None,
                init_reported: false,
                pending: None,
                current: None,
                idle_since: now,
                init_error: None,
            }),
            wake: Notify::new(),
            changed: Notify::new(),
            stop,
            pid: AtomicU32::new(0),
            tail: Mutex::new(String::new()),
            capture: Mutex::new(None),
        }
    }

    pub(crate) fn set_pid(&self, pid: Option<u32>) {
        self.pid.store(pid.unwrap_or(0), Ordering::Relaxed);
    }

    pub(crate) fn pid(&self) -> Option<u32> {
        Some(self.pid.load(Ordering::Relaxed)).filter(|p| *p != 0)
    }

    /// Stopping, or failed its init: nothing can be assigned to it.
    pub(crate) fn is_dead(&self) -> bool {
        let state = self.state.lock();
        state.dead || state.init_error.is_some()
    }

    /// Asks the supervisor to stop the environment.
    pub(crate) fn retire(&self) {
        self.state.lock().dead = true;
        self.wake.notify_one();
        self.changed.notify_one();
    }

    /// Assigns an invocation; gives it back when the environment is stopping or has one already.
    pub(crate) fn assign(&self, invocation: Invocation) -> Result<(), Box<Invocation>> {
        let mut state = self.state.lock();
        if state.dead || state.init_error.is_some() || state.pending.is_some() || state.current.is_some() {
            return Err(Box::new(invocation));
        }
        state.pending = Some((invocation, Instant::now()));
        drop(state);
        self.wake.notify_one();
        self.changed.notify_one();
        Ok(())
    }

    /// A line of the process's output: to the function's log, and to the tail a crash is reported with.
    pub(crate) fn output(&self, line: &str) {
        self.log.line(line);
        if let Some(capture) = self.capture.lock().as_ref() {
            capture.output(line);
        }
        let mut tail = self.tail.lock();
        tail.push_str(line);
        tail.push('\n');
        keep_last(&mut tail, TAIL_BYTES);
    }

    /// When the supervisor must look again at this environment: now when it is stopping, else the end of its
    /// init phase, its running invocation's deadline, the time its pending one must be taken by, or the end of its
    /// idle time.
    pub(crate) fn deadline(&self) -> Instant {
        let state = self.state.lock();
        if state.dead {
            return Instant::now();
        }
        if let Some((_, at)) = &state.init_error {
            return *at + EXIT_GRACE;
        }
        if state.initialized.is_none() {
            return self.started_at + self.init_timeout;
        }
        if let Some(running) = &state.current {
            return running.deadline;
        }
        if let Some((_, since)) = &state.pending {
            return *since + self.init_timeout;
        }
        state.idle_since + self.idle_timeout
    }

    /// Enforces the deadline that passed, if any; `true` when the environment must stop.
    pub(crate) fn expire(self: &Arc<Self>, now: Instant) -> bool {
        let mut state = self.state.lock();
        if state.dead {
            return true;
        }
        if let Some((_, at)) = &state.init_error {
            state.dead = now >= *at + EXIT_GRACE;
            return state.dead;
        }
        if state.initialized.is_none() && now >= self.started_at + self.init_timeout {
            state.dead = true;
            let pending = state.pending.take();
            drop(state);
            let seconds = self.init_timeout.as_secs_f64();
            self.log
                .line(&format!("INIT_REPORT Init Duration: {:.2} ms\tPhase: init\tStatus: timeout", seconds * 1000.0));
            if let Some((invocation, _)) = pending {
                let message = format!(
                    "RequestId: {} Error: the runtime did not ask for an invocation within {seconds:.2} seconds of its start",
                    invocation.id
                );
                let _ = invocation.done.send(Outcome::Done(Err(InvokeError::function("Runtime.InitTimeout", message))));
            }
            return true;
        }
        if state.current.as_ref().is_some_and(|r| now >= r.deadline) {
            let running = state.current.take();
            state.dead = true;
            drop(state);
            if let Some(running) = running {
                let message = format!(
                    "RequestId: {} Error: Task timed out after {:.2} seconds",
                    running.id,
                    running.timeout.as_secs_f64()
                );
                let error = InvokeError::function("Sandbox.Timedout", message);
                self.end(running, Err(error), Some(("timeout", "Sandbox.Timedout")), false);
            }
            return true;
        }
        if state.pending.as_ref().is_some_and(|(_, since)| now >= *since + self.init_timeout) {
            // The runtime answered its last invocation and never came back for the next.
            state.dead = true;
            let pending = state.pending.take();
            drop(state);
            if let Some((invocation, _)) = pending {
                let _ = invocation.done.send(Outcome::Undelivered(invocation.permit));
            }
            return true;
        }
        let idle = state.pending.is_none() && state.current.is_none();
        if idle && now >= state.idle_since + self.idle_timeout {
            state.dead = true;
            return true;
        }
        false
    }

    /// The process exited (`status` as Lambda words it: `exit status 3`, `signal: 9`): whatever it had not answered
    /// fails, or moves to another environment if the runtime never took it; an exit nobody asked for is reported
    /// with the output's tail.
    pub(crate) fn exited(self: &Arc<Self>, status: &str) {
        let mut state = self.state.lock();
        let expected = state.dead || state.init_error.is_some();
        state.dead = true;
        let pending = state.pending.take();
        let current = state.current.take();
        let initialized = state.initialized.is_some();
        let init_error = state.init_error.as_ref().map(|(payload, _)| payload.clone());
        drop(state);
        self.wake.notify_one();
        let reason = format!("Runtime exited with error: {status}");
        if !expected {
            let tail = self.tail.lock().clone();
            tracing::warn!(target: "lambda", function = %self.function, %status, output = %tail, "The execution environment exited.");
        }
        if let Some(running) = current {
            let message = format!("RequestId: {} Error: {reason}", running.id);
            let error = InvokeError::function("Runtime.ExitError", message);
            self.end(running, Err(error), Some(("error", "Runtime.ExitError")), false);
        }
        if let Some((invocation, _)) = pending {
            let outcome = match init_error {
                Some(payload) => Outcome::Done(Err(InvokeError::Function { payload })),
                None if initialized && !expected => Outcome::Undelivered(invocation.permit),
                None => {
                    let message = format!("RequestId: {} Error: {reason}", invocation.id);
                    Outcome::Done(Err(InvokeError::function("Runtime.ExitError", message)))
                }
            };
            let _ = invocation.done.send(outcome);
        }
    }

    /// Ends the running invocation: `END` and `REPORT`, the answer, and the environment back to its pool (when it
    /// lives on) before the concurrency permit is released, so that the next invocation finds it warm.
    fn end(
        self: &Arc<Self>,
        running: Running,
        result: Result<Bytes, InvokeError>,
        status: Option<(&str, &str)>,
        reusable: bool,
    ) {
        let report = Report {
            request_id: &running.id,
            duration: running.delivered_at.elapsed(),
            memory_mb: self.memory_mb,
            max_memory_used_mb: self.pid().and_then(peak_memory_mb),
            init: running.init,
            status,
        };
        self.log.end(&report, running.capture.as_deref());
        self.state.lock().idle_since = Instant::now();
        let _ = running.done.send(Outcome::Done(result));
        if reusable && let Some(pool) = self.pool.upgrade() {
            pool.returned(self.clone());
        }
        drop(running.permit);
        self.changed.notify_one();
    }

    fn take_current(&self, id: &str) -> Result<Running, RuntimeApiError> {
        let mut state = self.state.lock();
        if state.current.as_ref().is_some_and(|r| r.id == id) {
            return state.current.take().ok_or_else(|| RuntimeApiError::invalid_request_id(id));
        }
        if state.dead {
            return Err(RuntimeApiError::dead());
        }
        Err(RuntimeApiError::invalid_request_id(id))
    }
}

/// The Runtime API of one environment, as its listener serves it: what `next`, `…/response`, `…/error` and
/// `init/error` do.
#[derive(Clone, Debug)]
pub struct RuntimeHandle(pub(crate) Arc<Environment>);

impl RuntimeHandle {
    /// The function this environment runs.
    pub fn function(&self) -> &str {
        &self.0.function
    }

    /// `GET …/invocation/next`: waits until an invocation is assigned (as long as the environment lives: it ends
    /// with 500 when the environment stops).
    pub async fn next(&self) -> Result<NextInvocation, RuntimeApiError> {
        loop {
            let woken = self.0.wake.notified();
            if let Some(answer) = self.take_next() {
                return answer;
            }
            self.0.changed.notify_one();
            woken.await;
        }
    }

    /// The pending invocation, now running, if there is one (`None`: wait); an error once the environment stops.
    fn take_next(&self) -> Option<Result<NextInvocation, RuntimeApiError>> {
        let env = &self.0;
        let mut state = env.state.lock();
        if state.dead || state.init_error.is_some() {
            return Some(Err(RuntimeApiError::dead()));
        }
        if state.initialized.is_none() {
            state.initialized = Some(env.started_at.elapsed());
        }
        if let Some(running) = state.current.take() {
            drop(state);
            let message = format!(
                "RequestId: {} Error: the runtime asked for the next invocation without answering this one",
                running.id
            );
            let error = InvokeError::function("Runtime.Unknown", message);
            env.end(running, Err(error), Some(("error", "Runtime.Unknown")), true);
            state = env.state.lock();
        }
        let (invocation, _) = state.pending.take()?;
        let now = Instant::now();
        let init = if state.init_reported { None } else { state.initialized };
        state.init_reported = true;
        let next = NextInvocation {
            request_id: invocation.id.clone(),
            payload: invocation.payload,
            deadline_ms: deadline_ms(invocation.timeout),
            function_arn: invocation.arn,
            trace_id: trace_id(&invocation.id),
        };
        state.current = Some(Running {
            id: invocation.id,
            delivered_at: now,
            deadline: now + invocation.timeout,
            timeout: invocation.timeout,
            permit: invocation.permit,
            done: invocation.done,
            init,
            capture: invocation.capture.clone(),
        });
        drop(state);
        *env.capture.lock() = invocation.capture.clone();
        env.log.start(&next.request_id, invocation.capture.as_deref());
        env.changed.notify_one();
        Some(Ok(next))
    }

    /// `POST …/invocation/{id}/response`.
    pub fn respond(&self, id: &str, body: Bytes) -> Result<(), RuntimeApiError> {
        if body.len() > MAX_PAYLOAD_BYTES {
            return Err(self.response_too_large(id));
        }
        let running = self.0.take_current(id)?;
        self.0.end(running, Ok(body), None, true);
        Ok(())
    }

    /// A response over the payload limit (the listener read no further than the limit): the invocation fails with
    /// `Function.ResponseSizeTooLarge` and the runtime is answered 413 (or 400 for another request id).
    pub fn response_too_large(&self, id: &str) -> RuntimeApiError {
        let running = match self.0.take_current(id) {
            Ok(running) => running,
            Err(err) => return err,
        };
        let message =
            format!("Response payload size exceeded maximum allowed payload size ({MAX_PAYLOAD_BYTES} bytes).");
        let error = InvokeError::function("Function.ResponseSizeTooLarge", message);
        self.0.end(running, Err(error), Some(("error", "Function.ResponseSizeTooLarge")), true);
        RuntimeApiError::too_large()
    }

    /// `POST …/invocation/{id}/error`: the function failed; `body` is the error document, else one is built from
    /// the `Lambda-Runtime-Function-Error-Type` header.
    pub fn fail(&self, id: &str, error_type: Option<&str>, body: &[u8]) -> Result<(), RuntimeApiError> {
        let running = self.0.take_current(id)?;
        let (payload, kind) = error_document(error_type, body, "Unhandled");
        self.0.end(running, Err(InvokeError::Function { payload }), Some(("error", &kind)), true);
        Ok(())
    }

    /// `POST /runtime/init/error`: initialisation failed; the first invocation answers this error and the
    /// environment stops (403 once the runtime took an invocation).
    pub fn init_error(&self, error_type: Option<&str>, body: &[u8]) -> Result<(), RuntimeApiError> {
        let env = &self.0;
        let mut state = env.state.lock();
        if state.initialized.is_some() {
            return Err(RuntimeApiError::forbidden("init/error is allowed only before the first invocation"));
        }
        if state.dead || state.init_error.is_some() {
            return Err(RuntimeApiError::dead());
        }
        let (payload, kind) = error_document(error_type, body, "Runtime.Unknown");
        state.init_error = Some((payload.clone(), Instant::now()));
        let pending = state.pending.take();
        drop(state);
        let elapsed = env.started_at.elapsed().as_secs_f64() * 1000.0;
        env.log.line(&format!(
            "INIT_REPORT Init Duration: {elapsed:.2} ms\tPhase: init\tStatus: error\tError Type: {kind}"
        ));
        tracing::warn!(target: "lambda", function = %env.function, error = %String::from_utf8_lossy(&payload), "The function's init failed.");
        if let Some((invocation, _)) = pending {
            let _ = invocation.done.send(Outcome::Done(Err(InvokeError::Function { payload })));
        }
        env.changed.notify_one();
        Ok(())
    }
}

/// Lambda's error document from what a runtime posted: the body when it is one (`errorType`, `errorMessage`),
/// else `{"errorMessage": body, "errorType": header}`; with the error's type.
fn error_document(header: Option<&str>, body: &[u8], default_type: &str) -> (Bytes, String) {
    let parsed =
        serde_json::from_slice::<Value>(body).ok().filter(|v| v.get("errorType").is_some_and(Value::is_string));
    if let Some(document) = parsed {
        let kind = document["errorType"].as_str().unwrap_or(default_type).to_owned();
        return (Bytes::copy_from_slice(body), kind);
    }
    let kind = header.filter(|h| !h.is_empty()).unwrap_or(default_type).to_owned();
    let message = String::from_utf8_lossy(body).into_owned();
    (Bytes::from(json!({ "errorMessage": message, "errorType": kind }).to_string()), kind)
}

/// `now + timeout` in Unix milliseconds.
fn deadline_ms(timeout: Duration) -> i64 {
    let now = time::OffsetDateTime::now_utc();
    let millis = (now.unix_timestamp_nanos() / 1_000_000) as i64;
    millis.saturating_add(i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX))
}

/// An X-Ray trace header for an invocation (`Root=1-{time}-{24 hex}`), from its request id.
fn trace_id(request_id: &str) -> String {
    let seconds = time::OffsetDateTime::now_utc().unix_timestamp();
    let hex: String = request_id.chars().filter(char::is_ascii_hexdigit).take(24).collect();
    format!("Root=1-{seconds:08x}-{hex:0<24};Parent={};Sampled=0", &format!("{hex:0<16}")[..16])
}
