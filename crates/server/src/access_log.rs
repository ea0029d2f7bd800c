//! The access logs of API stages (`AccessLogSettings`): sockets hand lines over without waiting; one writer task
//! appends them, in batches, to one file per destination ARN under `{data_dir}/access-logs/`, named as chat logs
//! name their destinations (`local::logs::segment`):
//!
//! - `arn:aws:logs:{region}:{account}:log-group:{name}` (a trailing `:*` allowed) → `cloudwatch/{name}.log`;
//! - `arn:aws:firehose:{region}:{account}:deliverystream/{name}` → `firehose/{name}.log`;
//! - any other ARN → `other/{arn}.log`.
//!
//! The queue holds [`QUEUE_LINES`] lines; a line that finds it full is dropped and counted
//! (`switchboard_access_log_lines_dropped_total` on the admin listener), so a slow disk never holds up a socket.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use apigw::access_log::AccessLogSink;
use prometheus_client::metrics::counter::Counter;
use tasks::Background;
use tokio::sync::{mpsc, oneshot};

/// Where access logs are written, inside the data directory.
pub(crate) const ACCESS_LOG_DIR: &str = "access-logs";

/// Lines waiting for the writer before new ones are dropped.
pub(crate) const QUEUE_LINES: usize = 10_000;

/// Lines the writer appends in one go at most.
const BATCH_LINES: usize = 1_000;

enum Command {
    Line(PathBuf, String),
    Flush(oneshot::Sender<()>),
}

/// The sockets' side: a bounded queue into the writer task.
#[derive(Debug)]
pub struct AccessLogWriter {
    tx: mpsc::Sender<Command>,
    root: PathBuf,
    dropped: Counter,
}

impl AccessLogWriter {
    /// Starts the writer on `background`; lines go under `root`, and the ones dropped are counted in `dropped`.
    pub fn start(root: PathBuf, queue: usize, dropped: Counter, background: &Background) -> Arc<AccessLogWriter> {
        let (tx, rx) = mpsc::channel(queue.max(1));
        background.spawn(run(rx));
        Arc::new(AccessLogWriter { tx, root, dropped })
    }

    /// The count of lines dropped, for the metrics.
    pub fn dropped_counter(&self) -> Counter {
        self.dropped.clone()
    }

    /// Appends everything queued so far (shutdown, tests); gives up after `wait`.
    pub async fn flush(&self, wait: Duration) {
        let (ack, done) = oneshot::channel();
        let _ = tokio::time::timeout(wait, async {
            if self.tx.send(Command::Flush(ack)).await.is_ok() {
                let _ = done.await;
            }
        })
        .await;
    }
}

impl AccessLogSink for AccessLogWriter {
    fn write(&self, destination_arn: &str, mut line: String) {
        line.push('\n');
        if let Err(mpsc::error::TrySendError::Full(_)) =
            self.tx.try_send(Command::Line(file_of(&self.root, destination_arn), line))
        {
            self.dropped.inc();
            if self.dropped.get().is_power_of_two() {
                tracing::warn!(dropped = self.dropped.get(), "The access log queue is full; lines are being dropped.");
            }
        }
    }
}

/// The file of a destination ARN under `root`.
pub(crate) fn file_of(root: &Path, arn: &str) -> PathBuf {
    let mut fields = arn.splitn(6, ':');
    let service = fields.nth(2).unwrap_or_default();
    let resource = fields.nth(2).unwrap_or_default();
    let (folder, name) = match (service, resource.split_once(['/', ':'])) {
        ("logs", Some(("log-group", group))) => ("cloudwatch", group.strip_suffix(":*").unwrap_or(group)),
        ("firehose", Some(("deliverystream", stream))) => ("firehose", stream),
        _ => ("other", arn),
    };
    root.join(folder).join(format!("{}.log", local::logs::segment(name)))
}

async fn run(mut rx: mpsc::Receiver<Command>) {
    while let Some(first) = rx.recv().await {
        let mut files: BTreeMap<PathBuf, String> = BTreeMap::new();
        let mut acks = Vec::new();
        let mut next = Some(first);
        let mut lines = 0;
        while let Some(command) = next.take() {
            match command {
                Command::Line(path, line) => {
                    files.entry(path).or_default().push_str(&line);
                    lines += 1;
                }
                Command::Flush(ack) => acks.push(ack),
            }
            if lines < BATCH_LINES {
                next = rx.try_recv().ok();
            }
        }
        if !files.is_empty()
            && let Ok(Err(err)) = tokio::task::spawn_blocking(move || local::logs::append(files)).await
        {
            tracing::warn!(%err, "Cannot write access logs.");
        }
        for ack in acks {
            let _ = ack.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_arns_map_to_one_file_each() {
        let root = Path::new("/d");
        for (arn, file) in [
            ("arn:aws:logs:us-east-1:000000000000:log-group:ws-access", "/d/cloudwatch/ws-access.log"),
            ("arn:aws:logs:us-east-1:000000000000:log-group:/aws/ws/prod:*", "/d/cloudwatch/%2Faws%2Fws%2Fprod.log"),
            (
                "arn:aws:firehose:us-east-1:000000000000:deliverystream/amazon-apigateway-x",
                "/d/firehose/amazon-apigateway-x.log",
            ),
            ("arn:aws:s3:::bucket", "/d/other/arn:aws:s3:::bucket.log"),
            ("arn:aws:logs:us-east-1:000000000000:log-group:..", "/d/cloudwatch/%2E..log"),
        ] {
            assert_eq!(file_of(root, arn), Path::new(file), "{arn}");
        }
    }

    #[tokio::test]
    async fn lines_are_appended_and_a_full_queue_drops_and_counts() {
        let dir = tempfile::tempdir().unwrap();
        let background = Background::new();
        let dropped = Counter::default();
        let writer = AccessLogWriter::start(dir.path().to_owned(), 4, dropped.clone(), &background);
        let arn = "arn:aws:logs:us-east-1:000000000000:log-group:g";
        // The writer task has not run yet on this single-threaded runtime: four lines fit, the rest are dropped.
        for i in 0..6 {
            writer.write(arn, format!("line {i}"));
        }
        assert_eq!(dropped.get(), 2);
        writer.flush(Duration::from_secs(5)).await;
        let text = std::fs::read_to_string(dir.path().join("cloudwatch/g.log")).unwrap();
        assert_eq!(text, "line 0\nline 1\nline 2\nline 3\n");
        background.stop(Duration::from_secs(1)).await;
    }
}
