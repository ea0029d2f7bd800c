//! Chat logging: every MESSAGE and EVENT of a room with logging configurations becomes a record
//! `{"event_timestamp","type","payload","version"}` delivered to each configuration's destination.
//!
//! Fan-out hands records to one writer task through a queue bounded in records and in bytes, and never waits: when
//! either bound is reached the record is dropped and counted (a warning says so). The writer batches records and
//! flushes them every flush interval (S3 objects every S3 flush interval), and on [`LogSink::flush`]:
//!
//! - `cloudWatchLogs` → `{root}/cloudwatch/{logGroupName}/aws/IVSChatLogs/1.0/room_{roomId}.ndjson`, appended;
//! - `s3` → gzip NDJSON objects with AWS's key layout, under `{root}/s3/{bucketName}/` or PUT (SigV4) to an
//!   S3-compatible endpoint when one is configured;
//! - `firehose` → a Firehose HTTP endpoint delivery request POSTed to the stream's configured URL, else appended to
//!   `{root}/firehose/{deliveryStreamName}.ndjson`.
//!
//! Names from the API become one path segment each (`/` and `%` percent-encoded, a leading `.` as `%2E`), so no
//! name can leave `{root}`. A logging configuration's destination is looked up in the store and cached for a few
//! seconds, so UpdateLoggingConfiguration takes effect without a restart.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bus::Background;
use hub::Utf8Bytes;
use local::logs::segment;
use sha2::{Digest, Sha256};
use store::{Destination, Store, StoreError};
use time::OffsetDateTime;
use time::macros::format_description;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use wire::ivschat::{FirehoseDelivery, FirehoseRecord, log_record};

use crate::S3Endpoint;

/// How long a logging configuration's destination is cached.
const DESTINATION_TTL: Duration = Duration::from_secs(5);
/// Buffered bytes that force a flush before the interval is over.
const MAX_BUFFERED_BYTES: usize = 8 << 20;
/// Records per Firehose request (Firehose's own batch limit).
const FIREHOSE_BATCH: usize = 500;
/// Attempts of one HTTP delivery before its batch is dropped.
const ATTEMPTS: u32 = 3;
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// One frame to log.
#[derive(Clone, Debug)]
pub(crate) struct Record {
    pub(crate) room_id: Arc<str>,
    pub(crate) logging_ids: Arc<[String]>,
    /// `MESSAGE` or `EVENT`.
    pub(crate) kind: &'static str,
    pub(crate) send_time: OffsetDateTime,
    /// The frame exactly as clients received it.
    pub(crate) payload: Utf8Bytes,
}

impl Record {
    /// What the record counts against the queue's byte bound while it waits: its payload and its slot.
    fn queued_bytes(&self) -> usize {
        self.payload.len() + std::mem::size_of::<Command>()
    }
}

/// Where and how often the writer delivers.
#[derive(Clone, Debug)]
pub(crate) struct LogSettings {
    /// Root of the file destinations.
    pub(crate) root: PathBuf,
    pub(crate) region: String,
    pub(crate) account_id: String,
    pub(crate) flush_interval: Duration,
    pub(crate) s3_flush_interval: Duration,
    /// Records waiting for the writer before new ones are dropped.
    pub(crate) queue: usize,
    /// Bytes of records ([`Record::queued_bytes`]) waiting for the writer before new ones are dropped; a record is
    /// always accepted into an empty queue.
    pub(crate) queue_bytes: usize,
    /// Delivery stream name → Firehose HTTP endpoint URL.
    pub(crate) firehose: BTreeMap<String, String>,
    pub(crate) firehose_access_key: Option<String>,
    pub(crate) s3: Option<S3Endpoint>,
}

enum Command {
    Record(Record),
    Flush(oneshot::Sender<()>),
}

/// The fan-out side of logging: a bounded queue into the writer task.
#[derive(Debug)]
pub(crate) struct LogSink {
    tx: mpsc::Sender<Command>,
    /// Bytes of the records in the queue: added here when one is queued, taken off by the writer when it takes one.
    queued_bytes: Arc<AtomicUsize>,
    queue_bytes: usize,
    dropped: AtomicU64,
}

impl LogSink {
    /// Starts the writer task on the current Tokio runtime.
    /// Starts the writer on `background`.
    pub(crate) fn start(
        settings: LogSettings,
        store: Arc<dyn Store>,
        client: reqwest::Client,
        background: &Background,
    ) -> LogSink {
        let (tx, rx) = mpsc::channel(settings.queue.max(1));
        let queued_bytes = Arc::new(AtomicUsize::new(0));
        let queue_bytes = settings.queue_bytes;
        let writer = Writer {
            queued_bytes: queued_bytes.clone(),
            settings,
            store,
            client,
            destinations: HashMap::new(),
            files: BTreeMap::new(),
            firehose: BTreeMap::new(),
            s3: BTreeMap::new(),
            buffered: 0,
            s3_buffered: 0,
            last_s3_flush: Instant::now(),
        };
        background.spawn(writer.run(rx));
        LogSink { tx, queued_bytes, queue_bytes, dropped: AtomicU64::new(0) }
    }

    /// Queues a record without waiting; drops it (and counts it) when the queue holds its limit of records or bytes.
    pub(crate) fn record(&self, record: Record) {
        let cost = record.queued_bytes();
        let admitted = self.queued_bytes.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |queued| {
            queued.checked_add(cost).filter(|&total| queued == 0 || total <= self.queue_bytes)
        });
        if admitted.is_err() {
            self.count_drop();
            return;
        }
        if let Err(refused) = self.tx.try_send(Command::Record(record)) {
            self.queued_bytes.fetch_sub(cost, Ordering::Relaxed);
            if let mpsc::error::TrySendError::Full(_) = refused {
                self.count_drop();
            }
        }
    }

    fn count_drop(&self) {
        let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        if dropped.is_power_of_two() {
            tracing::warn!(dropped, "The chat log queue is full; records are being dropped.");
        }
    }

    /// Delivers everything queued so far (shutdown, tests); gives up after `wait`.
    pub(crate) async fn flush(&self, wait: Duration) {
        let (ack, done) = oneshot::channel();
        let _ = tokio::time::timeout(wait, async {
            if self.tx.send(Command::Flush(ack)).await.is_ok() {
                let _ = done.await;
            }
        })
        .await;
    }
}

struct S3Batch {
    first: OffsetDateTime,
    lines: String,
}

struct Writer {
    settings: LogSettings,
    /// The sink's count of queued bytes; the writer takes each record's share off when it receives it.
    queued_bytes: Arc<AtomicUsize>,
    store: Arc<dyn Store>,
    client: reqwest::Client,
    /// Logging configuration id → its destination (`None`: gone) and when it was looked up.
    destinations: HashMap<String, (Option<Destination>, Instant)>,
    /// File → NDJSON to append.
    files: BTreeMap<PathBuf, String>,
    /// Delivery stream → records.
    firehose: BTreeMap<String, Vec<String>>,
    /// (bucket, room) → the next object.
    s3: BTreeMap<(String, Arc<str>), S3Batch>,
    buffered: usize,
    s3_buffered: usize,
    last_s3_flush: Instant,
}

impl Writer {
    async fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        let mut tick = tokio::time::interval(self.settings.flush_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                command = rx.recv() => match command {
                    Some(Command::Record(record)) => {
                        self.queued_bytes.fetch_sub(record.queued_bytes(), Ordering::Relaxed);
                        self.add(record).await;
                        if self.buffered >= MAX_BUFFERED_BYTES || self.s3_buffered >= MAX_BUFFERED_BYTES {
                            self.flush(false).await;
                        }
                    }
                    Some(Command::Flush(ack)) => {
                        self.flush(true).await;
                        let _ = ack.send(());
                    }
                    None => {
                        self.flush(true).await;
                        return;
                    }
                },
                _ = tick.tick() => self.flush(false).await,
            }
        }
    }

    async fn add(&mut self, record: Record) {
        let line = log_record(record.send_time, record.kind, &record.payload);
        for id in record.logging_ids.iter() {
            let Some(destination) = self.destination(id).await else {
                continue;
            };
            match destination {
                Destination::CloudWatchLogs { log_group_name } => {
                    let path = self
                        .settings
                        .root
                        .join("cloudwatch")
                        .join(segment(&log_group_name))
                        .join("aws/IVSChatLogs/1.0")
                        .join(format!("room_{}.ndjson", record.room_id));
                    self.append(path, &line);
                }
                Destination::Firehose { delivery_stream_name } => {
                    if self.settings.firehose.contains_key(&delivery_stream_name) {
                        self.buffered += line.len();
                        self.firehose.entry(delivery_stream_name).or_default().push(line.clone());
                    } else {
                        let path = self
                            .settings
                            .root
                            .join("firehose")
                            .join(format!("{}.ndjson", segment(&delivery_stream_name)));
                        self.append(path, &line);
                    }
                }
                Destination::S3 { bucket_name } => {
                    let batch = self
                        .s3
                        .entry((bucket_name, record.room_id.clone()))
                        .or_insert_with(|| S3Batch { first: record.send_time, lines: String::new() });
                    batch.lines.push_str(&line);
                    batch.lines.push('\n');
                    self.s3_buffered += line.len() + 1;
                }
            }
        }
    }

    fn append(&mut self, path: PathBuf, line: &str) {
        let text = self.files.entry(path).or_default();
        text.push_str(line);
        text.push('\n');
        self.buffered += line.len() + 1;
    }

    async fn destination(&mut self, id: &str) -> Option<Destination> {
        if let Some((destination, at)) = self.destinations.get(id)
            && at.elapsed() < DESTINATION_TTL
        {
            return destination.clone();
        }
        let destination = match self.store.get_logging_configuration(id).await {
            Ok(configuration) => Some(configuration.destination),
            Err(StoreError::NotFound { .. }) => None,
            Err(err) => {
                tracing::warn!(logging_configuration = id, %err, "Cannot read a logging configuration; records for it are dropped.");
                None
            }
        };
        self.destinations.insert(id.to_owned(), (destination.clone(), Instant::now()));
        destination
    }

    async fn flush(&mut self, all: bool) {
        if !self.files.is_empty() {
            let files = std::mem::take(&mut self.files);
            if let Ok(Err(err)) = tokio::task::spawn_blocking(move || local::logs::append(files)).await {
                tracing::warn!(%err, "Cannot write chat logs.");
            }
        }
        for (stream, records) in std::mem::take(&mut self.firehose) {
            self.deliver_firehose(&stream, &records).await;
        }
        self.buffered = 0;
        let s3_due = self.last_s3_flush.elapsed() >= self.settings.s3_flush_interval;
        if all || s3_due || self.s3_buffered >= MAX_BUFFERED_BYTES {
            for ((bucket, room_id), batch) in std::mem::take(&mut self.s3) {
                self.put_s3(&bucket, &room_id, batch).await;
            }
            self.s3_buffered = 0;
            self.last_s3_flush = Instant::now();
        }
    }

    async fn deliver_firehose(&self, stream: &str, records: &[String]) {
        let Some(url) = self.settings.firehose.get(stream) else {
            return;
        };
        let source_arn =
            format!("arn:aws:firehose:{}:{}:deliverystream/{stream}", self.settings.region, self.settings.account_id);
        for chunk in records.chunks(FIREHOSE_BATCH) {
            let request_id = ids::uuid_v4();
            let delivery = FirehoseDelivery {
                request_id: &request_id,
                timestamp: crate::token::unix_ms(OffsetDateTime::now_utc()),
                records: chunk.iter().map(|r| FirehoseRecord { data: STANDARD.encode(r) }).collect(),
            };
            let body = serde_json::to_vec(&delivery).unwrap_or_default();
            let sent = self
                .send_with_retries(|| {
                    let mut request = self
                        .client
                        .post(url)
                        .timeout(HTTP_TIMEOUT)
                        .header(http::header::CONTENT_TYPE, "application/json")
                        .header("X-Amz-Firehose-Protocol-Version", "1.0")
                        .header("X-Amz-Firehose-Request-Id", &request_id)
                        .header("X-Amz-Firehose-Source-Arn", &source_arn);
                    if let Some(key) = &self.settings.firehose_access_key {
                        request = request.header("X-Amz-Firehose-Access-Key", key);
                    }
                    request.body(body.clone())
                })
                .await;
            if let Err(err) = sent {
                tracing::warn!(stream, records = chunk.len(), %err, "Firehose delivery failed; records dropped.");
            }
        }
    }

    async fn put_s3(&self, bucket: &str, room_id: &str, batch: S3Batch) {
        let key = s3_key(&self.settings.account_id, &self.settings.region, room_id, batch.first);
        let object = match tokio::task::spawn_blocking(move || gzip(batch.lines.as_bytes())).await {
            Ok(Ok(object)) => object,
            _ => {
                tracing::warn!(bucket, "Cannot compress a chat log object; records dropped.");
                return;
            }
        };
        let Some(endpoint) = &self.settings.s3 else {
            let path = self.settings.root.join("s3").join(segment(bucket)).join(&key);
            let written = tokio::task::spawn_blocking(move || write_file(&path, &object)).await;
            if let Ok(Err(err)) = written {
                tracing::warn!(bucket, %err, "Cannot write a chat log object.");
            }
            return;
        };
        let Ok(url) = reqwest::Url::parse(&format!("{}/{bucket}/{key}", endpoint.endpoint.trim_end_matches('/')))
        else {
            tracing::warn!(endpoint = %endpoint.endpoint, "The S3 endpoint is not a URL; records dropped.");
            return;
        };
        let sent = self.send_with_retries(|| self.signed_put(endpoint, &url, &object)).await;
        if let Err(err) = sent {
            tracing::warn!(bucket, key, %err, "S3 delivery failed; records dropped.");
        }
    }

    fn signed_put(&self, endpoint: &S3Endpoint, url: &reqwest::Url, object: &[u8]) -> reqwest::RequestBuilder {
        let host = match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => String::new(),
        };
        let mut headers = http::HeaderMap::new();
        let mut insert = |name: &'static str, value: &str| {
            if let Ok(value) = http::HeaderValue::from_str(value) {
                headers.insert(name, value);
            }
        };
        insert("host", &host);
        insert("content-type", "application/x-gzip");
        insert("x-amz-content-sha256", &hex::encode(Sha256::digest(object)));
        let region = endpoint.region.as_deref().unwrap_or(&self.settings.region);
        let signature = sigv4::sign(
            &sigv4::SignedRequest::new("PUT", url.path(), None, &headers, object),
            &sigv4::SigningParams {
                access_key_id: &endpoint.access_key_id,
                secret_access_key: &endpoint.secret_access_key,
                session_token: None,
                region,
                service: "s3",
                time: OffsetDateTime::now_utc(),
            },
        );
        let mut request = self.client.put(url.clone()).timeout(HTTP_TIMEOUT).body(object.to_vec());
        for (name, value) in &headers {
            request = request.header(name, value);
        }
        request.header("x-amz-date", signature.amz_date).header(http::header::AUTHORIZATION, signature.authorization)
    }

    async fn send_with_retries(&self, build: impl Fn() -> reqwest::RequestBuilder) -> Result<(), String> {
        let mut last = String::new();
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(250 << attempt)).await;
            }
            match build().send().await {
                Ok(response) if response.status().is_success() => return Ok(()),
                Ok(response) => last = format!("status {}", response.status()),
                Err(err) => last = err.to_string(),
            }
        }
        Err(last)
    }
}

/// `AWSLogs/{account}/IVSChatLogs/1.0/{region}/room_{id}/{YYYY}/{MM}/{DD}/{HH}/`
/// `{account}_IVSChatLogs_1.0_{region}_room_{id}_{YYYYMMDDTHHmmZ}_{random}.log.gz`.
pub(crate) fn s3_key(account: &str, region: &str, room_id: &str, first: OffsetDateTime) -> String {
    let utc = first.to_offset(time::UtcOffset::UTC);
    let folders = utc.format(format_description!("[year]/[month]/[day]/[hour]")).unwrap_or_default();
    let stamp = utc.format(format_description!("[year][month][day]T[hour][minute]Z")).unwrap_or_default();
    let suffix = hex::encode(rand::random::<[u8; 8]>());
    format!(
        "AWSLogs/{account}/IVSChatLogs/1.0/{region}/room_{room_id}/{folders}/\
         {account}_IVSChatLogs_1.0_{region}_room_{room_id}_{stamp}_{suffix}.log.gz"
    )
}

fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, bytes)
}

fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes)?;
    encoder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn s3_keys_have_the_aws_layout() {
        let key = s3_key("123456789012", "us-west-2", "g1H2I3j4k5L6", datetime!(2024-01-19 16:22:35.5 UTC));
        let prefix = "AWSLogs/123456789012/IVSChatLogs/1.0/us-west-2/room_g1H2I3j4k5L6/2024/01/19/16/\
                      123456789012_IVSChatLogs_1.0_us-west-2_room_g1H2I3j4k5L6_20240119T1622Z_";
        assert!(key.starts_with(prefix), "{key}");
        assert!(key.ends_with(".log.gz"));
        assert_eq!(key.len(), prefix.len() + 16 + ".log.gz".len());
    }

    #[tokio::test]
    async fn the_queue_is_bounded_in_bytes_as_well_as_in_records() {
        const QUEUE_BYTES: usize = 16 * 1024;
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(store::SqliteStore::open(dir.path()).await.unwrap());
        let settings = LogSettings {
            root: dir.path().join("logs"),
            region: "us-east-1".to_owned(),
            account_id: "000000000000".to_owned(),
            flush_interval: Duration::from_secs(60),
            s3_flush_interval: Duration::from_secs(60),
            queue: 1000,
            queue_bytes: QUEUE_BYTES,
            firehose: BTreeMap::new(),
            firehose_access_key: None,
            s3: None,
        };
        let sink = LogSink::start(settings, store, reqwest::Client::new(), &Background::new());
        let record = Record {
            room_id: "g1H2I3j4k5L6".into(),
            logging_ids: Arc::from(vec!["abcdefABCDEF".to_owned()]),
            kind: "MESSAGE",
            send_time: OffsetDateTime::now_utc(),
            payload: Utf8Bytes::from("m".repeat(1024)),
        };
        // The writer does not run before this test yields: 100 records of 1 KiB are far below the record bound and
        // far above the byte bound.
        for _ in 0..100 {
            sink.record(record.clone());
        }
        let queued = QUEUE_BYTES / record.queued_bytes();
        assert_eq!(sink.dropped.load(Ordering::Relaxed), (100 - queued) as u64);
        assert_eq!(sink.queued_bytes.load(Ordering::Relaxed), queued * record.queued_bytes());
        // The writer gives the bytes back as it takes records, and the queue accepts records again.
        sink.flush(Duration::from_secs(10)).await;
        assert_eq!(sink.queued_bytes.load(Ordering::Relaxed), 0);
        sink.record(record.clone());
        assert_eq!(sink.dropped.load(Ordering::Relaxed), (100 - queued) as u64);
    }

    #[test]
    fn gzip_round_trip() {
        let packed = gzip(b"{\"a\":1}\n").unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&packed[..]), &mut text).unwrap();
        assert_eq!(text, "{\"a\":1}\n");
    }
}
