//! [`Spread`]: how a fan-out shares its deliveries between the thread that makes it, which writes to idle members'
//! sockets itself ([`Connection::send`]), and the members' sessions, which the runtime's other workers can run.
//!
//! On one worker the sender writes every delivery it can: a session woken for it would run on the same thread, after
//! a wake-up and a poll of memory the fan-out left long ago. On several, a sender writing to every member would leave
//! the other workers idle while it works through the room alone; so it writes a share of the members and wakes the
//! sessions of the rest, which the other workers take from its queue. Each delivery's path is free to choose: a
//! connection's outbox keeps its messages in order whoever writes them.
//!
//! Only while the server has time to spare: a sender's write is one system call per delivery, where a session woken
//! late writes whatever piled up for its member in one. When the workers were busy for more than
//! `BUSY_FOR_SESSIONS` of the time since the previous fan-out on this thread began (or none rested at all: tokio
//! counts a worker's busy time when it parks), fan-outs come about as fast as the server writes them, and every
//! delivery is left to the sessions (at 800 messages/s to 1,000 members, writing each delivery itself gave 1/7 of the
//! deliveries the sessions give: `docs/benchmarks.md`, "Fan-out, eighth step").

use std::cell::Cell;
use std::time::Duration;

use tokio::time::Instant;

use crate::{Connection, Outbound, SendError};

/// The share of a fan-out's deliveries its sender writes itself when the runtime has several workers: 2 of every 5.
/// Measured with the completion scenario on two cores (`docs/benchmarks.md`, "Fan-out, eighth step"): 2 and 1 of 5
/// match the sessions alone there, 3 of 5 takes 30 % longer and every delivery 45 % (the second core is the load
/// generator's too, so the workers there are not two whole cores; with a whole second core the balance is near
/// half).
const SEVERAL_WORKERS_SHARE: (u32, u32) = (2, 5);

/// The share of the workers' time, since the previous fan-out on a thread began, past which a fan-out leaves its
/// deliveries to the sessions.
const BUSY_FOR_SESSIONS: f64 = 0.75;

/// The runtime's workers' parks and busy time, summed, when a fan-out began.
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

/// A fan-out's choice, member by member, of who writes each delivery. Made for one fan-out, on the runtime that runs
/// it.
#[derive(Debug)]
pub struct Spread {
    /// Of every `of` deliveries, the sender may write `share` itself.
    share: u32,
    of: u32,
    next: u32,
}

impl Spread {
    /// The sender's share for the current runtime: none when the workers were busy since the last fan-out on this
    /// thread began (see the module); else every delivery on one worker (or outside a runtime), and
    /// `SEVERAL_WORKERS_SHARE` (2 of every 5) on several.
    pub fn new() -> Spread {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return Spread { share: 1, of: 1, next: 0 };
        };
        let metrics = runtime.metrics();
        let workers = metrics.num_workers();
        let now = Load {
            at: Instant::now(),
            parks: (0..workers).map(|worker| metrics.worker_park_count(worker)).sum(),
            busy: (0..workers).map(|worker| metrics.worker_total_busy_duration(worker)).sum(),
        };
        let busy = LAST_FAN_OUT.replace(Some(now)).is_some_and(|last| {
            let time = now.at.saturating_duration_since(last.at).mul_f64(workers as f64 * BUSY_FOR_SESSIONS);
            now.parks == last.parks || now.busy.saturating_sub(last.busy) > time
        });
        if busy {
            return Spread { share: 0, of: 1, next: 0 };
        }
        let (share, of) = if workers <= 1 { (1, 1) } else { SEVERAL_WORKERS_SHARE };
        Spread { share, of, next: 0 }
    }

    /// Whether the sender may write the next delivery itself.
    fn take(&mut self) -> bool {
        let mine = self.next < self.share;
        self.next = (self.next + 1) % self.of;
        mine
    }

    /// [`Connection::send`] for the next member.
    pub fn send(&mut self, conn: &Connection, message: Outbound) -> Result<(), SendError> {
        conn.send_as(message, self.take())
    }

    /// [`Connection::deliver`] for the next member.
    pub fn deliver(&mut self, conn: &Connection, message: Outbound) -> bool {
        conn.deliver_as(message, self.take())
    }
}

impl Default for Spread {
    fn default() -> Spread {
        Spread::new()
    }
}
