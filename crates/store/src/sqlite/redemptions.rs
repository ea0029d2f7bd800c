//! Chat token redemptions on SQLite with group commit: every handshake's redemption must be on disk before it is
//! admitted, and one `fsync` per handshake would cap handshakes at the disk's sync rate. Redemptions that arrive while
//! a commit is under way wait in a queue and are written together by the next one, each answered on its own channel.

use std::sync::Arc;

use parking_lot::Mutex;
use rusqlite::{Connection, TransactionBehavior, params};
use tokio::sync::oneshot;

use super::Db;
use crate::StoreError;

/// One redemption waiting for the next commit.
struct Pending {
    nonce: String,
    expires_ms: i64,
    answer: oneshot::Sender<Result<bool, StoreError>>,
}

/// The redemptions not yet taken by a commit, and whether a commit that will take them is queued already.
#[derive(Default)]
pub(super) struct Queue(Mutex<Waiting>);

#[derive(Default)]
struct Waiting {
    pending: Vec<Pending>,
    commit_queued: bool,
}

impl Queue {
    /// Queues a redemption, and a commit of whatever is queued when none is queued yet (one runs at a time, on the
    /// connection's thread), then returns this redemption's answer.
    pub(super) async fn redeem(
        self: &Arc<Self>,
        db: &Db,
        nonce: &str,
        expires_ms: i64,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let (answer, answered) = oneshot::channel();
        let queue_commit = {
            let mut waiting = self.0.lock();
            waiting.pending.push(Pending { nonce: nonce.to_owned(), expires_ms, answer });
            !std::mem::replace(&mut waiting.commit_queued, true)
        };
        if queue_commit {
            let queue = Arc::clone(self);
            let queued = db.submit(move |conn| {
                // Taken when the commit starts: whatever queued meanwhile goes into this one commit.
                let batch = {
                    let mut waiting = queue.0.lock();
                    waiting.commit_queued = false;
                    std::mem::take(&mut waiting.pending)
                };
                commit(conn, batch, now_ms);
            });
            if let Err(err) = queued {
                // The thread is gone: nothing will commit what waits, so it fails now.
                let mut waiting = self.0.lock();
                waiting.commit_queued = false;
                for pending in waiting.pending.drain(..) {
                    let _ = pending.answer.send(Err(StoreError::Backend(err.to_string())));
                }
            }
        }
        answered.await.map_err(|_| StoreError::Backend("a token redemption was dropped unanswered".to_owned()))?
    }
}

/// Writes `batch` in one transaction and answers each redemption: `true` for the first of its nonce ever, the same
/// error for all when the transaction fails (nothing of it was written).
fn commit(conn: &mut Connection, batch: Vec<Pending>, now_ms: i64) {
    let written = (|| -> Result<Vec<bool>, StoreError> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut firsts = Vec::with_capacity(batch.len());
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO chat_token_redemptions (expires_ms, nonce) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            )?;
            for pending in &batch {
                firsts.push(insert.execute(params![pending.expires_ms, pending.nonce])? == 1);
            }
        }
        tx.execute(
            "DELETE FROM chat_token_redemptions WHERE (expires_ms, nonce) IN
               (SELECT expires_ms, nonce FROM chat_token_redemptions WHERE expires_ms <= ?1 ORDER BY expires_ms LIMIT ?2)",
            params![now_ms, crate::TOKEN_PURGE_BATCH],
        )?;
        tx.commit()?;
        Ok(firsts)
    })();
    match written {
        Ok(firsts) => {
            for (pending, first) in batch.into_iter().zip(firsts) {
                let _ = pending.answer.send(Ok(first));
            }
        }
        Err(err) => {
            let text = err.to_string();
            for pending in batch {
                let _ = pending.answer.send(Err(StoreError::Backend(text.clone())));
            }
        }
    }
}
