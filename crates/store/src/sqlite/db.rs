//! The SQLite connection's own thread: every call of the store runs there, one at a time, in the order it came.
//!
//! One connection serves the whole store (SQLite takes one writer at a time anyway), so one thread is all it needs.
//! Callers wait for their answer as tasks, never as threads: a burst of calls (a burst of chat handshakes redeems a
//! token and reads the room's bans each) queues closures, where a blocking-pool thread per waiting call cost a stack
//! and an allocator cache each and outlived the burst by the pool's keep-alive. The thread ends, closing the
//! connection, when the last handle to the store is dropped.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::StoreError;

/// The name of the connection's thread (`ps -L`, `top -H`).
pub(crate) const THREAD_NAME: &str = "sqlite-store";

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// A handle to the connection's thread.
pub(crate) struct Db {
    jobs: mpsc::Sender<Job>,
}

impl Db {
    /// Moves `conn` to a thread of its own.
    pub(crate) fn start(conn: Connection) -> Result<Db, StoreError> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name(THREAD_NAME.to_owned())
            .spawn(move || {
                let mut conn = conn;
                for job in queue {
                    // A panic fails its own call (its answer is dropped unsent), not every later one; the
                    // transaction it was in rolls back as it unwinds.
                    let _ = catch_unwind(AssertUnwindSafe(|| job(&mut conn)));
                }
            })
            .map_err(|e| StoreError::Backend(format!("cannot start the store's thread: {e}")))?;
        Ok(Db { jobs })
    }

    /// Runs `f` with the connection on its thread, after the calls queued before it; the caller waits as a task.
    /// `f` runs even when the caller stopped waiting.
    pub(crate) async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> T + Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        self.submit(move |conn| {
            let _ = answer.send(f(conn));
        })?;
        answered.await.map_err(|_| StoreError::Backend("a store call failed on the store's thread".to_owned()))
    }

    /// Queues `f` for the connection's thread without waiting for it.
    pub(crate) fn submit(&self, f: impl FnOnce(&mut Connection) + Send + 'static) -> Result<(), StoreError> {
        self.jobs.send(Box::new(f)).map_err(|_| StoreError::Backend("the store's thread has ended".to_owned()))
    }
}
