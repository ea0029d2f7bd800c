//! The heartbeat's renewals, apart from the node's runtime. A runtime busy with thousands of handshakes or
//! `$disconnect`s runs a woken task seconds late; a renewal waiting in that queue would let the node fence itself
//! (`fence.rs`) and survivors bury it while it serves. On a shared bus the renewals run on a thread of their own, in a
//! runtime of their own, over a bus connection of their own ([`bus::ClusterState::renewer`]), which the kernel
//! schedules whatever the node's runtime holds. They record each renewal that succeeded at once
//! ([`Cluster::renewed_at`]); what an answer asks for (registry repairs, recovery after a lapse, the deferred ends)
//! runs in the node's runtime (`membership::heartbeat`), which takes the answers from a watch channel.
//!
//! A node's runtime that takes no answer for [`STALL_LIMIT`] heartbeat TTLs is stuck, not busy: renewals stop, so that
//! the node lapses and survivors deliver the `$disconnect` of its connections.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use bus::{BusError, Renewal, Renewer};
use tokio::sync::watch;
use tokio::time::Instant;

use super::Cluster;
use crate::state::AppState;

/// TTLs without an answer taken after which the node's runtime counts as stuck.
const STALL_LIMIT: u32 = 10;

/// One renewal's answer, about the incarnation it renewed.
#[derive(Debug)]
pub(super) struct Answer {
    pub(super) sent: Instant,
    pub(super) token: String,
    pub(super) outcome: Result<Renewal, BusError>,
}

/// The node's side: the answers, newest only, and the renewing thread if there is one.
pub(super) struct Answers {
    rx: watch::Receiver<Option<Arc<Answer>>>,
    taken: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl Answers {
    /// The newest answer not taken yet; `None` once the renewals ended (at shutdown).
    pub(super) async fn next(&mut self) -> Option<Arc<Answer>> {
        loop {
            self.rx.changed().await.ok()?;
            let answer = self.rx.borrow_and_update().clone();
            self.taken.fetch_add(1, Ordering::Relaxed);
            if answer.is_some() {
                return answer;
            }
        }
    }

    /// Waits for the renewing thread to end (it ends at shutdown).
    pub(super) async fn join(self) {
        drop(self.rx);
        if let Some(thread) = self.thread {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

/// Starts renewing: on a thread of its own for a shared bus, else (a node alone, or no thread to be had) as a task of
/// the node's runtime.
pub(super) fn start(state: &Arc<AppState>) -> Answers {
    let (tx, rx) = watch::channel(None);
    let taken = Arc::new(AtomicU64::new(0));
    let thread = if state.cluster.bus.is_shared() {
        let (state, tx, taken) = (state.clone(), tx.clone(), taken.clone());
        std::thread::Builder::new()
            .name("switchboard-heartbeat".to_owned())
            .spawn(move || match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime.block_on(async {
                    let renewer = state.cluster.bus.state().renewer();
                    renew(&state, renewer, &tx, &taken).await;
                }),
                Err(err) => tracing::error!(%err, "Cannot start the heartbeat's runtime; the node will lapse."),
            })
            .inspect_err(|err| tracing::warn!(%err, "No thread for the heartbeat; it renews in the node's runtime."))
            .ok()
    } else {
        None
    };
    if thread.is_none() {
        let (state, taken) = (state.clone(), taken.clone());
        state.clone().tasks.spawn(async move { renew(&state, None, &tx, &taken).await });
    }
    Answers { rx, taken, thread }
}

/// Renews every interval until shutdown, until the node's side is gone, or while the node's runtime is stuck.
async fn renew(
    state: &AppState,
    renewer: Option<Box<dyn Renewer>>,
    answers: &watch::Sender<Option<Arc<Answer>>>,
    taken: &AtomicU64,
) {
    let cluster: &Cluster = &state.cluster;
    let ttl = cluster.settings.liveness_ttl;
    let mut due = Instant::now() + cluster.interval();
    let (mut seen, mut seen_at) = (taken.load(Ordering::Relaxed), Instant::now());
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => return,
            _ = tokio::time::sleep_until(due) => {}
        }
        if answers.is_closed() {
            return;
        }
        let sent = Instant::now();
        due = sent + cluster.interval();
        let now_taken = taken.load(Ordering::Relaxed);
        if now_taken != seen {
            (seen, seen_at) = (now_taken, sent);
        }
        let stuck = sent.duration_since(seen_at) >= ttl * STALL_LIMIT;
        if stuck && sent.duration_since(seen_at) < ttl * STALL_LIMIT + cluster.interval() {
            tracing::error!(
                node = cluster.node(),
                "The node's runtime took no heartbeat answer for {STALL_LIMIT} TTLs: stuck, so the heartbeat stops                  until it takes one."
            );
        }
        let me = cluster.me.read().clone();
        // Stuck, the node is not renewed; the answer saying so is what the runtime takes when it moves again.
        let outcome = match &renewer {
            _ if stuck => Err(BusError::Unavailable("not renewed: the node's runtime was stuck".to_owned())),
            Some(renewer) => renewer.renew(&me, ttl).await,
            None => cluster.bus.state().renew(&me, ttl).await,
        };
        if matches!(outcome, Ok(Renewal::Renewed)) {
            cluster.renewed_at(sent);
        }
        if answers.send(Some(Arc::new(Answer { sent, token: me.token, outcome }))).is_err() {
            return;
        }
    }
}
