//! The tracked spawner of tasks that live as long as a server: bus supervisors, the chat log writer, room listeners.
//!
//! Connection work (sessions, `$disconnect` calls, integrations) has its own tracker in the server, which shutdown
//! drains first; these tasks serve that work, so they are stopped after it, by [`Background::stop`]. Nothing in the
//! workspace calls `tokio::spawn` directly (a tidy test holds it): a task is either on a tracker or awaited.

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// A handle to one server's background tasks; clones share them.
#[derive(Clone, Debug, Default)]
pub struct Background {
    tracker: TaskTracker,
    stop: CancellationToken,
}

impl Background {
    pub fn new() -> Background {
        Background::default()
    }

    /// Spawns `task` on the tracker. Once [`Background::stop`] is called it is dropped at its next `.await` (a task
    /// spawned after that never runs); aborting the returned handle ends it earlier.
    pub fn spawn<F>(&self, task: F) -> JoinHandle<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let stop = self.stop.clone();
        self.tracker.spawn(async move {
            tokio::select! {
                biased;
                _ = stop.cancelled() => {}
                _ = task => {}
            }
        })
    }

    /// Stops every task and waits at most `grace` for them to end; `false` when some were still running then.
    pub async fn stop(&self, grace: Duration) -> bool {
        self.stop.cancel();
        self.tracker.close();
        tokio::time::timeout(grace, self.tracker.wait()).await.is_ok()
    }

    /// Whether [`Background::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        self.stop.is_cancelled()
    }

    /// Tasks still running.
    pub fn len(&self) -> usize {
        self.tracker.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tracker.is_empty()
    }
}

#[cfg(test)]
mod tests;
