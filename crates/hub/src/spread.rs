//! [`Spread`]: how a fan-out shares its deliveries between the thread that makes it, which writes to idle members'
//! sockets itself ([`Connection::send`]), and the members' sessions, which the runtime's other workers can run.
//!
//! On one worker the sender writes every delivery it can: a session woken for it would run on the same thread, after
//! a wake-up and a poll of memory the fan-out left long ago. On several, a sender writing to every member would leave
//! the other workers idle while it works through the room alone; so it writes a share of the members and wakes the
//! sessions of the rest, which the other workers take from its queue. Each delivery's path is free to choose: a
//! connection's outbox keeps its messages in order whoever writes them.

use crate::{Connection, Outbound, SendError};

/// The share of a fan-out's deliveries its sender writes itself when the runtime has several workers: 2 of every 5.
/// Measured with the completion scenario on two cores (`docs/benchmarks.md`, "Fan-out, eighth step"): 2 and 1 of 5
/// match the sessions alone there, 3 of 5 takes 30 % longer and every delivery 45 % (the second core is the load
/// generator's too, so the workers there are not two whole cores; with a whole second core the balance is near
/// half).
const SEVERAL_WORKERS_SHARE: (u32, u32) = (2, 5);

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
    /// The sender's share for the current runtime: every delivery on one worker (or outside a runtime), else
    /// [`SEVERAL_WORKERS_SHARE`].
    pub fn new() -> Spread {
        let workers = tokio::runtime::Handle::try_current().map_or(1, |runtime| runtime.metrics().num_workers());
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
