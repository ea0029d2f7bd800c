//! A function's log: its processes' output and Lambda's `START` / `END` / `REPORT` lines, to the server's log
//! (target `lambda`, field `function`) and to `{data_dir}/functions/{name}.log`, which is bounded: past its limit it
//! becomes `{name}.log.1` and a new file starts; and, for the console, to its [`Recent`] invocations and lines.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use parking_lot::Mutex;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::recent::Recent;

/// One function's log.
#[derive(Debug)]
pub(crate) struct FunctionLog {
    name: String,
    /// The last invocations and lines, for the console.
    pub(crate) recent: Recent,
    file: Mutex<Option<LogFile>>,
    max_bytes: u64,
}

#[derive(Debug)]
struct LogFile {
    path: PathBuf,
    file: File,
    len: u64,
}

/// What one invocation's `REPORT` line says.
#[derive(Debug)]
pub(crate) struct Report<'a> {
    pub(crate) request_id: &'a str,
    pub(crate) duration: Duration,
    pub(crate) memory_mb: u32,
    pub(crate) max_memory_used_mb: Option<u64>,
    /// The environment's init phase, on its first invocation.
    pub(crate) init: Option<Duration>,
    /// `timeout` or `error`, with the error type, when the invocation did not answer.
    pub(crate) status: Option<(&'a str, &'a str)>,
}

impl FunctionLog {
    /// The log of function `name`, its file in `dir` (created); a file that cannot be opened leaves only the server's
    /// log, with a warning.
    pub(crate) fn open(dir: &Path, name: &str, max_bytes: u64) -> FunctionLog {
        let path = dir.join(format!("{name}.log"));
        let file = std::fs::create_dir_all(dir).and_then(|()| LogFile::open(path.clone()));
        let file = match file {
            Ok(file) => Some(file),
            Err(err) => {
                tracing::warn!(function = name, path = %path.display(), %err, "Cannot open the function's log file.");
                None
            }
        };
        FunctionLog { name: name.to_owned(), recent: Recent::default(), file: Mutex::new(file), max_bytes }
    }

    /// One line of a process's output, or of Lambda's own.
    pub(crate) fn line(&self, text: &str) {
        tracing::info!(target: "lambda", function = %self.name, "{text}");
        self.recent.line(text);
        let stamp = OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default();
        let record = format!("{stamp}\t{text}\n");
        let mut file = self.file.lock();
        let Some(log) = file.as_mut() else { return };
        if log.len + record.len() as u64 > self.max_bytes && log.len > 0 {
            let rotated = log.path.with_extension("log.1");
            let reopened = std::fs::rename(&log.path, &rotated).and_then(|()| LogFile::open(log.path.clone()));
            match reopened {
                Ok(fresh) => *log = fresh,
                Err(err) => {
                    tracing::warn!(function = %self.name, %err, "Cannot rotate the function's log file; it stops here.");
                    *file = None;
                    return;
                }
            }
        }
        if log.file.write_all(record.as_bytes()).is_ok() {
            log.len += record.len() as u64;
        }
    }

    /// `START`, as Lambda writes it when a runtime takes an invocation; also to the invocation's capture.
    pub(crate) fn start(&self, request_id: &str, capture: Option<&Capture>) {
        let line = format!("START RequestId: {request_id} Version: $LATEST");
        if let Some(capture) = capture {
            capture.start(&line);
        }
        self.line(&line);
    }

    /// `END` and `REPORT`, as Lambda writes them after each invocation; also to the invocation's capture.
    pub(crate) fn end(&self, report: &Report<'_>, capture: Option<&Capture>) {
        self.recent.invocation(report.request_id, report.duration, report.status);
        let end = format!("END RequestId: {}", report.request_id);
        let rendered = report.render();
        if let Some(capture) = capture {
            capture.finish(&format!("{end}\n{rendered}\n"));
        }
        self.line(&end);
        self.line(&rendered);
    }
}

/// One invocation's log as `X-Amz-Log-Type: Tail` answers it: `START`, the function's output while it ran, `END`
/// and `REPORT`; only the last [`TAIL_BYTES`] of the output are kept.
#[derive(Debug, Default)]
pub(crate) struct Capture {
    parts: Mutex<CaptureParts>,
}

#[derive(Debug, Default)]
struct CaptureParts {
    start: String,
    output: String,
    end: String,
}

/// How much of an invocation's log `X-Amz-Log-Result` carries: Lambda's last 4 KB.
pub(crate) const TAIL_BYTES: usize = 4096;

impl Capture {
    fn start(&self, line: &str) {
        self.parts.lock().start = format!("{line}\n");
    }

    /// A line of the function's output while the invocation runs.
    pub(crate) fn output(&self, line: &str) {
        let mut parts = self.parts.lock();
        parts.output.push_str(line);
        parts.output.push('\n');
        keep_last(&mut parts.output, TAIL_BYTES);
    }

    fn finish(&self, end: &str) {
        self.parts.lock().end = end.to_owned();
    }

    /// The last [`TAIL_BYTES`] of the invocation's log.
    pub(crate) fn tail(&self) -> String {
        let parts = self.parts.lock();
        let mut text = format!("{}{}{}", parts.start, parts.output, parts.end);
        keep_last(&mut text, TAIL_BYTES);
        text
    }
}

/// Drops the start of `text` so that at most `limit` bytes remain (cut at a character boundary).
pub(crate) fn keep_last(text: &mut String, limit: usize) {
    if text.len() > limit {
        let mut cut = text.len() - limit;
        while !text.is_char_boundary(cut) {
            cut += 1;
        }
        text.drain(..cut);
    }
}

impl Report<'_> {
    fn render(&self) -> String {
        let ms = self.duration.as_secs_f64() * 1000.0;
        let billed = self.duration.as_micros().div_ceil(1000).max(1);
        let mut line = format!(
            "REPORT RequestId: {}\tDuration: {ms:.2} ms\tBilled Duration: {billed} ms\tMemory Size: {} MB\tMax Memory Used: {} MB",
            self.request_id,
            self.memory_mb,
            self.max_memory_used_mb.unwrap_or(0),
        );
        if let Some(init) = self.init {
            line.push_str(&format!("\tInit Duration: {:.2} ms", init.as_secs_f64() * 1000.0));
        }
        if let Some((status, error_type)) = self.status {
            line.push_str(&format!("\tStatus: {status}\tError Type: {error_type}"));
        }
        line
    }
}

impl LogFile {
    fn open(path: PathBuf) -> std::io::Result<LogFile> {
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let len = file.metadata()?.len();
        Ok(LogFile { path, file, len })
    }
}

/// The peak resident memory of process `pid` in MB (`VmHWM` of `/proc/{pid}/status`), where the system has it.
pub(crate) fn peak_memory_mb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb.div_ceil(1024))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_read_as_lambdas() {
        let report = Report {
            request_id: "r1",
            duration: Duration::from_micros(12_345),
            memory_mb: 128,
            max_memory_used_mb: Some(20),
            init: Some(Duration::from_millis(100)),
            status: Some(("timeout", "Sandbox.Timedout")),
        };
        assert_eq!(
            report.render(),
            "REPORT RequestId: r1\tDuration: 12.35 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB\
             \tInit Duration: 100.00 ms\tStatus: timeout\tError Type: Sandbox.Timedout"
        );
        assert!(peak_memory_mb(std::process::id()).is_some_and(|mb| mb > 0));
    }

    #[test]
    fn a_capture_keeps_start_the_last_output_and_the_report_within_4_kb() {
        let dir = tempfile::tempdir().unwrap();
        let log = FunctionLog::open(dir.path(), "f", 1 << 20);
        let capture = Capture::default();
        log.start("r1", Some(&capture));
        capture.output("first");
        assert_eq!(capture.tail(), "START RequestId: r1 Version: $LATEST\nfirst\n");
        for n in 0..1000 {
            capture.output(&format!("line {n}"));
        }
        let report = Report {
            request_id: "r1",
            duration: Duration::from_millis(1),
            memory_mb: 128,
            max_memory_used_mb: None,
            init: None,
            status: None,
        };
        log.end(&report, Some(&capture));
        let tail = capture.tail();
        assert!(tail.len() <= TAIL_BYTES, "{}", tail.len());
        assert!(tail.contains("line 999\nEND RequestId: r1\nREPORT RequestId: r1\t"), "{tail}");
        assert!(!tail.contains("first"));
    }

    #[test]
    fn the_log_file_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let log = FunctionLog::open(dir.path(), "f", 200);
        for n in 0..20 {
            log.line(&format!("line {n} of some length"));
        }
        let current = std::fs::metadata(dir.path().join("f.log")).unwrap().len();
        let older = std::fs::read_to_string(dir.path().join("f.log.1")).unwrap();
        assert!(current <= 200 && older.len() <= 200, "{current} {}", older.len());
        assert!(std::fs::read_to_string(dir.path().join("f.log")).unwrap().contains("line 19"));
    }
}
