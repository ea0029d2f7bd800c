//! [`Spread`]: whether a fan-out's thread writes its deliveries to idle members' sockets itself
//! ([`Connection::send`]) or leaves them to the members' sessions, which the runtime's other workers can run.
//!
//! On one worker the sender writes every delivery it can: a session woken for it would run on the same thread, after
//! a wake-up and a poll of memory the fan-out left long ago. On several, a sender writing to members would keep that
//! work on its own thread while it walks the room, where the sessions it wakes instead are taken by every worker; so
//! it leaves every delivery to the sessions. Measured with the completion scenario on two cores on both kinds of
//! machine (`docs/benchmarks.md`, "Fan-out, tenth step"): the sessions alone reached 10,000 members soonest, and each
//! share the sender wrote itself made it later (1, 2 and 4 of every 5 on the Xeon kind: 9, 12 and 52 % later), for
//! the same CPU per delivery. A connection's outbox keeps its messages in order whoever writes them.
//!
//! Only while the server has time to spare: a sender's write is one system call per delivery, where a session woken
//! late writes whatever piled up for its member in one. When the worker was busy for more than `BUSY_FOR_SESSIONS`
//! of the time since the previous fan-out on this thread began (or never rested at all: tokio counts a worker's busy
//! time when it parks), fan-outs come about as fast as the server writes them, and every
//! delivery is left to the sessions (at 800 messages/s to 1,000 members, writing each delivery itself gave 1/7 of the
//! deliveries the sessions give: `docs/benchmarks.md`, "Fan-out, eighth step").

use std::cell::Cell;
use std::time::Duration;

use tokio::time::Instant;

use crate::{Connection, Outbound, SendError};

/// The share of the worker's time, since the previous fan-out on its thread began, past which a fan-out leaves its
/// deliveries to the sessions.
const BUSY_FOR_SESSIONS: f64 = 0.75;

/// The runtime's one worker's parks and busy time when a fan-out began.
#[derive(Clone, Copy, Debug)]
struct Load {
    at: Instant,
    parks: u64,
    busy: Duration,
}

thread_local! {
    /// The load when the last fan-out on this thread began.
    static LAST_FAN_OUT: Cell<Option<Load>> = const { Cell::new(None) };
}

/// A fan-out's choice of who writes its deliveries. Made for one fan-out, on the runtime that runs it.
#[derive(Debug)]
pub struct Spread {
    /// Whether the sender writes the deliveries it can itself.
    sender_writes: bool,
}

impl Spread {
    /// The choice for the current runtime: the sender writes on one worker (or outside a runtime), unless the worker
    /// was busy since the last fan-out on this thread began (see the module); the sessions do on several.
    pub fn new() -> Spread {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return Spread { sender_writes: true };
        };
        let metrics = runtime.metrics();
        let workers = metrics.num_workers();
        if workers > 1 {
            return Spread { sender_writes: false };
        }
        let now = Load {
            at: Instant::now(),
            parks: metrics.worker_park_count(0),
            busy: metrics.worker_total_busy_duration(0),
        };
        let busy = LAST_FAN_OUT.replace(Some(now)).is_some_and(|last| {
            let time = now.at.saturating_duration_since(last.at).mul_f64(BUSY_FOR_SESSIONS);
            now.parks == last.parks || now.busy.saturating_sub(last.busy) > time
        });
        Spread { sender_writes: !busy }
    }

    /// [`Connection::send`] for the next member.
    pub fn send(&self, conn: &Connection, message: Outbound) -> Result<(), SendError> {
        conn.send_as(message, self.sender_writes)
    }

    /// [`Connection::deliver`] for the next member.
    pub fn deliver(&self, conn: &Connection, message: Outbound) -> bool {
        conn.deliver_as(message, self.sender_writes)
    }
}

impl Default for Spread {
    fn default() -> Spread {
        Spread::new()
    }
}
