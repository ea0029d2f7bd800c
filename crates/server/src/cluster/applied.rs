//! Forwarded calls this node applied, remembered for a while by the client's invocation id: when the forwarding node
//! gave up waiting (a retryable 500) after this node had applied the call, the SDK's retry — same
//! `amz-sdk-invocation-id` — is answered from here instead of being applied a second time (a message posted twice).

use std::collections::HashMap;
use std::time::Duration;

use apigw::management::{Op, Reply};
use parking_lot::Mutex;
use tokio::time::Instant;

use super::forward::WireError;

/// How long an applied call is remembered: longer than an SDK's retries of one call take.
const REMEMBER_FOR: Duration = Duration::from_secs(120);

/// The most calls remembered at once; past it (after forgetting the expired), new calls are not remembered.
const MAX_REMEMBERED: usize = 16_384;

/// The longest invocation id looked at (SDKs send a 36-character UUID).
const MAX_INVOCATION_ID: usize = 128;

/// The outcome of a forwarded call as it crosses the bus.
pub(super) type Outcome = Result<Reply, WireError>;

#[derive(Debug, Default)]
pub(super) struct Applied(Mutex<HashMap<String, (Instant, Outcome)>>);

impl Applied {
    /// The key of a call worth remembering: one that changes something (not GetConnection), with a usable
    /// invocation id.
    pub(super) fn key(op: Op, conn: &str, invocation: Option<&str>) -> Option<String> {
        let invocation = invocation?;
        let usable = !invocation.is_empty()
            && invocation.len() <= MAX_INVOCATION_ID
            && invocation.bytes().all(|b| b.is_ascii_graphic());
        (op != Op::Get && usable).then(|| format!("{}/{conn}/{invocation}", op.name()))
    }

    /// The outcome of the call of `key` if it was applied within the last two minutes.
    pub(super) fn get(&self, key: &str) -> Option<Outcome> {
        let entries = self.0.lock();
        let (at, outcome) = entries.get(key)?;
        (at.elapsed() < REMEMBER_FOR).then(|| outcome.clone())
    }

    /// Remembers the outcome of the call of `key` (the caller passes only calls that took effect).
    pub(super) fn remember(&self, key: String, outcome: &Outcome) {
        let now = Instant::now();
        let mut entries = self.0.lock();
        if entries.len() >= MAX_REMEMBERED {
            entries.retain(|_, (at, _)| now.duration_since(*at) < REMEMBER_FOR);
            if entries.len() >= MAX_REMEMBERED {
                return;
            }
        }
        entries.insert(key, (now, outcome.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changes_with_a_usable_invocation_id_are_remembered() {
        assert_eq!(Applied::key(Op::Post, "c", Some("inv-1")).as_deref(), Some("PostToConnection/c/inv-1"));
        assert!(Applied::key(Op::Delete, "c", Some("inv-1")).is_some());
        for (op, invocation) in [
            (Op::Get, Some("inv-1")),
            (Op::Post, None),
            (Op::Post, Some("")),
            (Op::Post, Some("with space")),
            (Op::Post, Some(&*"x".repeat(MAX_INVOCATION_ID + 1))),
        ] {
            assert_eq!(Applied::key(op, "c", invocation), None, "{op:?} {invocation:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn outcomes_are_remembered_for_a_while_and_in_bounded_number() {
        let applied = Applied::default();
        let ok: Outcome = Ok(Reply { status: 200, json: None });
        applied.remember("k".to_owned(), &ok);
        assert_eq!(applied.get("k").map(|o| o.map(|r| r.status).ok()), Some(Some(200)));
        tokio::time::advance(REMEMBER_FOR).await;
        assert!(applied.get("k").is_none(), "forgotten after two minutes");
        for i in 0..MAX_REMEMBERED + 10 {
            applied.remember(format!("k{i}"), &ok);
        }
        assert_eq!(applied.0.lock().len(), MAX_REMEMBERED, "bounded");
        tokio::time::advance(REMEMBER_FOR).await;
        applied.remember("fresh".to_owned(), &ok);
        assert!(applied.get("fresh").is_some(), "room is made by forgetting expired calls");
    }
}
