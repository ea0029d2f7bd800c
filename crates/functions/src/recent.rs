//! What the console shows of a hosted function: its last invocations (when, how long, how they ended) and its last
//! log lines (its processes' output and Lambda's own lines), bounded in memory whatever the function writes.

use std::collections::VecDeque;
use std::time::Duration;

use parking_lot::Mutex;
use serde::Serialize;

/// Invocations kept per function.
pub const KEPT_INVOCATIONS: usize = 100;

/// Log lines kept per function.
pub const KEPT_LINES: usize = 500;

/// Bytes of a kept log line, at most; the rest is cut.
pub const MAX_LINE_BYTES: usize = 1024;

/// One invocation that ran in an execution environment.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Invocation {
    pub request_id: String,
    /// When it ended, in milliseconds since the Unix epoch.
    pub at: i64,
    pub duration_ms: f64,
    /// `ok`, `error` or `timeout`.
    pub result: String,
    /// The error's type (`Runtime.ExitError`, `Sandbox.Timedout`, a handler's own), when it did not answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
}

/// One line of the function's log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogLine {
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    pub text: String,
}

/// A function's recent activity, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Activity {
    pub invocations: Vec<Invocation>,
    pub lines: Vec<LogLine>,
}

/// The rings [`Activity`] is read from.
#[derive(Debug, Default)]
pub(crate) struct Recent {
    kept: Mutex<(VecDeque<Invocation>, VecDeque<LogLine>)>,
}

pub(crate) fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

impl Recent {
    pub(crate) fn line(&self, text: &str) {
        let mut end = text.len().min(MAX_LINE_BYTES);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let line = LogLine { at: now_ms(), text: text[..end].to_owned() };
        let mut kept = self.kept.lock();
        if kept.1.len() >= KEPT_LINES {
            kept.1.pop_front();
        }
        kept.1.push_back(line);
    }

    /// An invocation ended after `duration`; `status` is the `REPORT` line's (`timeout` or `error`, and the error's
    /// type) when it did not answer.
    pub(crate) fn invocation(&self, request_id: &str, duration: Duration, status: Option<(&str, &str)>) {
        let (result, error_type) = match status {
            None => ("ok".to_owned(), None),
            Some((status, error_type)) => (status.to_owned(), Some(error_type.to_owned())),
        };
        let invocation = Invocation {
            request_id: request_id.to_owned(),
            at: now_ms(),
            duration_ms: duration.as_secs_f64() * 1000.0,
            result,
            error_type,
        };
        let mut kept = self.kept.lock();
        if kept.0.len() >= KEPT_INVOCATIONS {
            kept.0.pop_front();
        }
        kept.0.push_back(invocation);
    }

    pub(crate) fn activity(&self) -> Activity {
        let kept = self.kept.lock();
        Activity { invocations: kept.0.iter().cloned().collect(), lines: kept.1.iter().cloned().collect() }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{KEPT_INVOCATIONS, KEPT_LINES, MAX_LINE_BYTES, Recent};

    #[test]
    fn the_newest_invocations_and_lines_are_kept_and_long_lines_are_cut() {
        let recent = Recent::default();
        recent.invocation("r0", Duration::from_millis(12), None);
        recent.invocation("r1", Duration::from_millis(3), Some(("timeout", "Sandbox.Timedout")));
        let activity = recent.activity();
        assert_eq!((activity.invocations[0].result.as_str(), activity.invocations[0].duration_ms), ("ok", 12.0));
        assert_eq!(activity.invocations[1].result, "timeout");
        assert_eq!(activity.invocations[1].error_type.as_deref(), Some("Sandbox.Timedout"));
        for i in 0..KEPT_INVOCATIONS + 5 {
            recent.invocation(&format!("n{i}"), Duration::ZERO, Some(("error", "Runtime.ExitError")));
        }
        for i in 0..KEPT_LINES + 5 {
            recent.line(&format!("line {i}"));
        }
        recent.line(&"é".repeat(MAX_LINE_BYTES));
        let activity = recent.activity();
        assert_eq!((activity.invocations.len(), activity.lines.len()), (KEPT_INVOCATIONS, KEPT_LINES));
        assert_eq!(activity.invocations[0].request_id, "n5", "the oldest went first");
        assert_eq!(activity.lines[0].text, "line 6");
        let long = &activity.lines[KEPT_LINES - 1].text;
        assert_eq!(long.len(), MAX_LINE_BYTES, "cut at a character boundary");
    }
}
