//! The pool's state machine with real processes (`bootstrap` shell scripts), the test playing each environment's
//! runtime client through its handle: warm reuse, concurrency and throttling, timeouts, crashes, init errors, idle
//! stops, code changes and shutdown.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::testing::{Handles, settings, spec, write_script};
use crate::{
    FunctionRef, FunctionSpec, Functions, Invoke, InvokeError, RuntimeHandle, ServiceError, Settings, ThrottleReason,
};

/// A server of one function whose `bootstrap` runs `script`, and the handles of its environments as they start.
struct Host {
    functions: Arc<Functions>,
    handles: mpsc::UnboundedReceiver<RuntimeHandle>,
    _dir: tempfile::TempDir,
}

impl Host {
    fn new(script: &str, change: impl FnOnce(&mut FunctionSpec, &mut Settings)) -> Host {
        let dir = tempfile::tempdir().unwrap();
        write_script(dir.path(), "bootstrap", script);
        let mut spec = spec("f", dir.path());
        let mut settings = settings(dir.path());
        change(&mut spec, &mut settings);
        let (tx, handles) = mpsc::unbounded_channel();
        let functions = Functions::new(vec![spec], settings, Arc::new(Handles(tx))).unwrap();
        Host { functions: Arc::new(functions), handles, _dir: dir }
    }

    /// Starts an invocation in the background.
    fn invoke(&self, payload: &'static str) -> tokio::task::JoinHandle<Result<Bytes, InvokeError>> {
        let functions = self.functions.clone();
        tokio::spawn(async move {
            let target = FunctionRef::parse("f").unwrap();
            functions.invoke(&target, Bytes::from_static(payload.as_bytes())).await
        })
    }

    /// The next environment's handle; the deadline is generous because a loaded machine (the whole suite on two
    /// cores) can take seconds to start a process.
    async fn next_handle(&mut self) -> RuntimeHandle {
        tokio::time::timeout(DEADLINE, self.handles.recv()).await.unwrap().unwrap()
    }

    fn environments(&self) -> usize {
        self.functions.environments("f")
    }

    async fn until_environments(&self, n: usize) {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        while tokio::time::Instant::now() < deadline {
            if self.environments() == n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("{} environments, want {n}", self.environments());
    }
}

/// How long a test waits for an environment to start or go.
const DEADLINE: Duration = Duration::from_secs(30);

const RUNS: &str = "exec sleep 30";

fn error_type(result: &Result<Bytes, InvokeError>) -> String {
    result.as_ref().map_or_else(InvokeError::error_type, |ok| panic!("expected an error, got {ok:?}"))
}

#[tokio::test]
async fn one_environment_serves_one_invocation_at_a_time_and_is_reused_while_warm() {
    let mut host = Host::new(RUNS, |_, _| {});
    let first = host.invoke(r#"{"n":1}"#);
    let runtime = host.next_handle().await;
    let next = runtime.next().await.unwrap();
    assert_eq!(next.payload, r#"{"n":1}"#);
    assert_eq!(next.function_arn, "arn:aws:lambda:us-east-1:000000000000:function:f");
    assert!(next.trace_id.starts_with("Root=1-"), "{}", next.trace_id);
    runtime.respond(&next.request_id, Bytes::from_static(b"\"one\"")).unwrap();
    assert_eq!(first.await.unwrap().unwrap(), "\"one\"");
    assert_eq!(runtime.respond(&next.request_id, Bytes::new()).unwrap_err().status, 400, "answered already");

    let second = host.invoke(r#"{"n":2}"#);
    let next = runtime.next().await.unwrap();
    assert_eq!(next.payload, r#"{"n":2}"#, "the warm environment takes the second invocation");
    assert_eq!(runtime.respond("someone-else", Bytes::new()).unwrap_err().error_type, "InvalidRequestID");
    runtime.fail(&next.request_id, Some("Handled"), b"not json").unwrap();
    let failed = second.await.unwrap();
    assert_eq!(error_type(&failed), "Handled");
    assert_eq!(host.environments(), 1);
    assert!(host.handles.try_recv().is_err(), "no second environment was started");
    assert!(host.functions.shutdown(Duration::from_secs(5)).await);
    assert_eq!(host.environments(), 0);
}

#[tokio::test]
async fn past_the_limit_invocations_wait_a_bounded_time_then_are_throttled() {
    let mut host = Host::new(RUNS, |_, s| {
        s.concurrency = 1;
        s.queue_timeout = Duration::from_millis(300);
    });
    let first = host.invoke("1");
    let runtime = host.next_handle().await;
    let next = runtime.next().await.unwrap();
    let throttled = host.invoke("2").await.unwrap();
    match throttled {
        Err(InvokeError::Service { kind: ServiceError::TooManyRequests(ThrottleReason::Concurrent), .. }) => {}
        other => panic!("{other:?}"),
    }
    // A waiting invocation runs as soon as the environment is free.
    let waiting = host.invoke("3");
    tokio::time::sleep(Duration::from_millis(50)).await;
    runtime.respond(&next.request_id, Bytes::from_static(b"1")).unwrap();
    let next = runtime.next().await.unwrap();
    runtime.respond(&next.request_id, Bytes::from_static(b"3")).unwrap();
    assert_eq!(first.await.unwrap().unwrap(), "1");
    assert_eq!(waiting.await.unwrap().unwrap(), "3");
    host.functions.shutdown(Duration::from_secs(5)).await;

    let host = Host::new(RUNS, |f, _| f.reserved_concurrency = Some(0));
    let throttled = host.invoke("1").await.unwrap();
    let body = throttled.as_ref().unwrap_err().service_body().unwrap();
    assert!(body.contains("ReservedFunctionConcurrentInvocationLimitExceeded"), "{body}");
    assert_eq!(host.environments(), 0);
}

#[tokio::test]
async fn an_invocation_over_its_timeout_kills_its_environment_and_the_next_starts_fresh() {
    let mut host = Host::new(RUNS, |f, _| f.timeout = Duration::from_secs(1));
    let late = host.invoke("1");
    let runtime = host.next_handle().await;
    let next = runtime.next().await.unwrap();
    let deadline_in = next.deadline_ms - (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    assert!((0..=1000).contains(&deadline_in), "{deadline_in}");
    let result = late.await.unwrap();
    assert_eq!(error_type(&result), "Sandbox.Timedout");
    assert!(result.unwrap_err().to_string().contains("Task timed out after 1.00 seconds"));
    host.until_environments(0).await;
    assert_eq!(runtime.respond(&next.request_id, Bytes::new()).unwrap_err().status, 500, "the environment is gone");

    let again = host.invoke("2");
    let fresh = host.next_handle().await;
    let next = fresh.next().await.unwrap();
    fresh.respond(&next.request_id, Bytes::from_static(b"2")).unwrap();
    assert_eq!(again.await.unwrap().unwrap(), "2");
    host.functions.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_crash_is_reported_with_its_status_and_the_next_invocation_starts_a_new_environment() {
    let mut host = Host::new("echo 'cannot start' >&2; exit 3", |_, _| {});
    let result = host.invoke("1").await.unwrap();
    let _ = host.next_handle().await;
    assert_eq!(error_type(&result), "Runtime.ExitError");
    assert!(result.unwrap_err().to_string().contains("Runtime exited with error: exit status 3"));
    host.until_environments(0).await;
    let log = std::fs::read_to_string(host._dir.path().join("functions/f.log")).unwrap();
    assert!(log.contains("cannot start"), "{log}");
    let again = host.invoke("2").await.unwrap();
    let _ = host.next_handle().await;
    assert_eq!(error_type(&again), "Runtime.ExitError", "a new environment was started, and crashed too");

    // A crash during an invocation fails that invocation.
    let mut host = Host::new(RUNS, |_, _| {});
    let running = host.invoke("1");
    let runtime = host.next_handle().await;
    let _next = runtime.next().await.unwrap();
    host.functions.shutdown(Duration::from_secs(5)).await;
    assert_eq!(error_type(&running.await.unwrap()), "Runtime.ExitError");
}

#[tokio::test]
async fn an_init_error_answers_the_first_invocation_and_stops_the_environment() {
    let mut host = Host::new(RUNS, |_, _| {});
    let first = host.invoke("1");
    let runtime = host.next_handle().await;
    let document = br#"{"errorMessage":"No module named 'app'","errorType":"Runtime.ImportModuleError"}"#;
    runtime.init_error(Some("Runtime.ImportModuleError"), document).unwrap();
    let result = first.await.unwrap();
    assert_eq!(result, Err(InvokeError::Function { payload: Bytes::from_static(document) }));
    assert_eq!(runtime.next().await.unwrap_err().status, 500);
    host.until_environments(0).await;
    host.functions.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn payloads_over_six_megabytes_are_refused_both_ways() {
    let mut host = Host::new(RUNS, |_, _| {});
    let big: &'static str = Box::leak("x".repeat(crate::MAX_PAYLOAD_BYTES + 1).into_boxed_str());
    let refused = host.invoke(big).await.unwrap();
    assert_eq!(error_type(&refused), "RequestTooLargeException");
    let answer = host.invoke("1");
    let runtime = host.next_handle().await;
    let next = runtime.next().await.unwrap();
    let err = runtime.respond(&next.request_id, Bytes::from(vec![b'x'; crate::MAX_PAYLOAD_BYTES + 1])).unwrap_err();
    assert_eq!((err.status, err.error_type), (413, "RequestEntityTooLarge"));
    assert_eq!(error_type(&answer.await.unwrap()), "Function.ResponseSizeTooLarge");
    let missing = host.functions.invoke(&FunctionRef::parse("g").unwrap(), Bytes::new()).await;
    assert_eq!(error_type(&missing), "ResourceNotFoundException");
    host.functions.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn idle_environments_stop_and_shutdown_kills_every_environment() {
    let mut host = Host::new(RUNS, |_, s| s.idle_timeout = Duration::from_millis(300));
    let first = host.invoke("1");
    let runtime = host.next_handle().await;
    let next = runtime.next().await.unwrap();
    runtime.respond(&next.request_id, Bytes::new()).unwrap();
    first.await.unwrap().unwrap();
    host.until_environments(0).await;
    assert_eq!(runtime.next().await.unwrap_err().status, 500, "a stopped environment gives its runtime 500");

    let mut host = Host::new(RUNS, |_, _| {});
    let calls: Vec<_> = (0..3).map(|_| host.invoke("1")).collect();
    let mut pids = Vec::new();
    for _ in 0..3 {
        let handle = host.next_handle().await;
        pids.push(handle.0.pid().unwrap());
    }
    host.until_environments(3).await;
    assert!(host.functions.shutdown(Duration::from_secs(5)).await);
    assert_eq!(host.environments(), 0);
    for pid in pids {
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "process {pid} was killed and reaped");
    }
    for call in calls {
        assert!(call.await.unwrap().is_err());
    }
}

/// The watcher's first fingerprint is taken when the functions are created, not when its task first runs: a change
/// made in between (a loaded machine can delay the task) is a change.
#[tokio::test]
async fn a_change_made_before_the_watchers_first_check_is_seen() {
    let host = Host::new(RUNS, |_, s| {
        s.watch = true;
        s.watch_interval = Duration::from_millis(50);
    });
    // Nothing was awaited since the functions were created: on this single-threaded runtime the watcher has not run.
    std::fs::write(host._dir.path().join("version.txt"), "2").unwrap();
    let pool = host.functions.pools["f"].clone();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while pool.generation.load(std::sync::atomic::Ordering::Acquire) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "the change was never seen");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    host.functions.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_code_change_sends_new_invocations_to_new_environments() {
    let mut host = Host::new(RUNS, |_, s| {
        s.watch = true;
        s.watch_interval = Duration::from_millis(50);
    });
    let first = host.invoke("1");
    let old = host.next_handle().await;
    let next = old.next().await.unwrap();
    old.respond(&next.request_id, Bytes::new()).unwrap();
    first.await.unwrap().unwrap();
    std::fs::write(host._dir.path().join("version.txt"), "2").unwrap();
    host.until_environments(0).await;
    let second = host.invoke("2");
    let new = host.next_handle().await;
    let next = new.next().await.unwrap();
    new.respond(&next.request_id, Bytes::from_static(b"new")).unwrap();
    assert_eq!(second.await.unwrap().unwrap(), "new");
    host.functions.shutdown(Duration::from_secs(5)).await;
}
