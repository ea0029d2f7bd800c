//! An execution environment's process: started with its runtime's command line and Lambda's variables in its own
//! process group, its output read line by line into the function's log, and supervised until it ends — every
//! deadline of its state machine enforced, and the whole group killed when it must stop (timeout, idle, code change,
//! shutdown) or dropped.

use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::environment::{Environment, RuntimeHandle};
use crate::error::{InvokeError, ServiceError};
use crate::launch;
use crate::pool::PoolCore;
use crate::runtime::Binding;

/// How long a killed process may take to be reaped, and its output to be read to its end.
const REAP_TIMEOUT: Duration = Duration::from_secs(2);

/// The longest line of output kept whole; longer ones are cut there.
const MAX_LINE_BYTES: usize = 64 * 1024;

/// Starts an environment of `pool`'s function for code `generation`: its Runtime API listener, then its process.
pub(crate) async fn start(pool: &Arc<PoolCore>, generation: u64) -> Result<Arc<Environment>, InvokeError> {
    let launch = launch::command(&pool.spec, &pool.settings)
        .map_err(|err| InvokeError::function("Runtime.InvalidEntrypoint", err.to_string()))?;
    let env = Arc::new(Environment::new(pool, generation, pool.shutdown.child_token()));
    let binding = pool.runtime_api.bind(RuntimeHandle(env.clone())).await.map_err(|err| InvokeError::Service {
        kind: ServiceError::Service,
        message: format!("cannot listen for the Runtime API: {err}"),
    })?;
    let stream = log_stream();
    let variables = launch::variables(&pool.spec, &launch, &pool.settings, binding.addr, &stream);
    let mut command = Command::new(&launch.program);
    command
        .args(&launch.args)
        .current_dir(&pool.spec.code_dir)
        .env_clear()
        .envs(variables)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(|err| {
        let setting = launch.setting.map(|s| format!(" (its program is set by {s})")).unwrap_or_default();
        let message = format!("cannot start {}: {err}{setting}", launch.program.display());
        InvokeError::function("Runtime.InvalidEntrypoint", message)
    })?;
    env.set_pid(child.id());
    pool.started(&env);
    let pumps = [
        child.stdout.take().map(|out| pool.tracker.spawn(pump(out, env.clone()))),
        child.stderr.take().map(|err| pool.tracker.spawn(pump(err, env.clone()))),
    ];
    tracing::debug!(target: "lambda", function = %pool.spec.name, pid = ?env.pid(), runtime_api = %binding.addr, client = launch.client, "Execution environment started.");
    pool.tracker.spawn(supervise(pool.clone(), env.clone(), child, binding, pumps));
    Ok(env)
}

/// Owns the process until it ends: enforces the environment's deadlines, kills the process group when the
/// environment must stop, reports the exit, and closes the Runtime API listener.
async fn supervise(
    pool: Arc<PoolCore>,
    env: Arc<Environment>,
    mut child: Child,
    binding: Binding,
    pumps: [Option<JoinHandle<()>>; 2],
) {
    let status = loop {
        let deadline = env.deadline();
        let changed = env.changed.notified();
        tokio::select! {
            status = child.wait() => break status.ok(),
            () = env.stop.cancelled() => {
                env.retire();
                break kill(&env, &mut child).await;
            }
            () = tokio::time::sleep_until(deadline) => {
                if env.expire(Instant::now()) {
                    break kill(&env, &mut child).await;
                }
            }
            () = changed => {}
        }
    };
    // The group may outlive its leader; its output ends when the last of it is gone.
    kill_group(&env);
    for pump in pumps.into_iter().flatten() {
        let _ = tokio::time::timeout(REAP_TIMEOUT, pump).await;
    }
    env.exited(&describe(status));
    pool.ended(&env);
    drop(binding);
    tracing::debug!(target: "lambda", function = %pool.spec.name, "Execution environment stopped.");
}

/// Kills the environment's process group and reaps the process.
async fn kill(env: &Environment, child: &mut Child) -> Option<ExitStatus> {
    kill_group(env);
    let _ = child.start_kill();
    tokio::time::timeout(REAP_TIMEOUT, child.wait()).await.ok().and_then(Result::ok)
}

fn kill_group(env: &Environment) {
    let group = env.pid().and_then(|pid| rustix::process::Pid::from_raw(i32::try_from(pid).ok()?));
    if let Some(group) = group {
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    }
}

/// Lambda's words for an exit: `exit status 3`, `signal: killed`.
fn describe(status: Option<ExitStatus>) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status {
        Some(status) => match (status.code(), status.signal()) {
            (Some(code), _) => format!("exit status {code}"),
            (None, Some(9)) => "signal: killed".to_owned(),
            (None, Some(signal)) => format!("signal: {signal}"),
            (None, None) => status.to_string(),
        },
        None => "unknown".to_owned(),
    }
}

/// Reads one output stream line by line into the environment's log.
async fn pump<R: AsyncRead + Unpin>(stream: R, env: Arc<Environment>) {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        match (&mut reader).take(MAX_LINE_BYTES as u64).read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line);
                env.output(text.trim_end_matches(['\n', '\r']));
            }
        }
    }
}

/// `AWS_LAMBDA_LOG_STREAM_NAME`: `YYYY/MM/DD/[$LATEST]{32 hex}`.
fn log_stream() -> String {
    let today = time::OffsetDateTime::now_utc().date();
    let (year, month, day) = (today.year(), u8::from(today.month()), today.day());
    format!("{year}/{month:02}/{day:02}/[$LATEST]{}", ids::uuid_v4().replace('-', ""))
}
