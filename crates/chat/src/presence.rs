//! Presence events (an extension, off by default, turned on per room by `PutRoomPresenceEvents`): a room whose
//! presence events are on sends its members the EVENT [`frames::EVENT_JOIN`] when a user's first connection to the
//! room on this node joins, and [`frames::EVENT_LEAVE`] when their last connection here ends, each with the attribute
//! `UserId`.
//!
//! Whether a change is announced is decided under the room's lock as members join and leave (`LiveRoom::join`,
//! `LiveRoom::leave`, which count each user's connections on this node). The announcements go into one queue per
//! node, sent in order by one task through [`ChatService::emit`] like any frame of the room — so in a cluster
//! through the room's bus channel, in the room's one order, and in a room with history stored (and replayed to
//! recovering members) like any EVENT. A member's session waits for its join to be sent (at most [`JOIN_WAIT`])
//! before it reads the client's requests, so a user's join precedes their messages; a leave is queued when the
//! connection has left, after the last of its messages. The task checks the room's setting again when it sends, so
//! turning presence events off stops those still queued.
//!
//! "First" and "last" are per node: a user connected through two nodes is announced by each (a join from each
//! node's first connection, a leave from each node's last), so a client that counts joins minus leaves per user
//! knows who is present. Not covered: the leaves of a node that dies (its members' connections end with it, and
//! nobody announces them; `ListRoomPresence` stays exact), announcements past [`ANNOUNCEMENT_QUEUE`] waiting on one
//! node (dropped and counted), and announcements the bus or the store did not take (lost like any frame then).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use wire::ivschat::{self as frames, Attributes};

use crate::ChatService;
use crate::rooms::{LiveRoom, Outgoing};

/// Announcements waiting to be sent on one node; past this, new ones are dropped (and counted).
pub(crate) const ANNOUNCEMENT_QUEUE: usize = 4_096;
/// Longest a new member's session waits for its join to be sent before it serves the client anyway.
pub(crate) const JOIN_WAIT: Duration = Duration::from_secs(2);
/// The attribute naming the user who joined or left, as `aws:DISCONNECT_USER` names it.
pub(crate) const USER_ID_ATTRIBUTE: &str = "UserId";

/// A user's first join or last leave, waiting to be sent into its room.
pub(crate) struct Announcement {
    room: Arc<LiveRoom>,
    user_id: Arc<str>,
    name: &'static str,
    /// Told when the announcement was sent (or given up), for a join whose session waits for it.
    sent: Option<oneshot::Sender<()>>,
}

/// This node's queue of announcements (see the module documentation).
#[derive(Debug)]
pub(crate) struct Announcer {
    queue: mpsc::Sender<Announcement>,
    /// Announcements dropped because the queue was full.
    dropped: AtomicU64,
}

impl Announcer {
    /// The announcer and the queue's other end, for [`announce`].
    pub(crate) fn new() -> (Announcer, mpsc::Receiver<Announcement>) {
        let (queue, announcements) = mpsc::channel(ANNOUNCEMENT_QUEUE);
        (Announcer { queue, dropped: AtomicU64::new(0) }, announcements)
    }

    /// Queues the join of `user_id`; the answer is told once it was sent.
    pub(crate) fn join(&self, room: &Arc<LiveRoom>, user_id: &Arc<str>) -> Option<oneshot::Receiver<()>> {
        let (sent, answer) = oneshot::channel();
        self.queue(Announcement {
            room: room.clone(),
            user_id: user_id.clone(),
            name: frames::EVENT_JOIN,
            sent: Some(sent),
        })
        .then_some(answer)
    }

    /// Queues the leave of `user_id`.
    pub(crate) fn leave(&self, room: &Arc<LiveRoom>, user_id: Arc<str>) {
        self.queue(Announcement { room: room.clone(), user_id, name: frames::EVENT_LEAVE, sent: None });
    }

    /// Announcements dropped so far because the queue was full.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn queue(&self, announcement: Announcement) -> bool {
        if self.queue.try_send(announcement).is_ok() {
            return true;
        }
        let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        if dropped.is_power_of_two() {
            tracing::warn!(dropped, "Too many presence events are waiting; new ones are being dropped.");
        }
        false
    }
}

/// Sends the queued announcements in order, while the service lives.
pub(crate) async fn announce(service: Weak<ChatService>, mut announcements: mpsc::Receiver<Announcement>) {
    while let Some(Announcement { room, user_id, name, sent }) = announcements.recv().await {
        let Some(service) = service.upgrade() else { return };
        let settings = room.settings();
        if settings.presence_events {
            let id = ids::resource_id();
            let attributes = Attributes::from([(USER_ID_ATTRIBUTE.to_owned(), user_id.to_string())]);
            let outgoing = Outgoing::Event { id: &id, request_id: "", name, attributes: Some(&attributes) };
            let to = (settings.logging_ids, settings.history);
            if let Err(unsent) = service.emit(&room.id, Some(&room), to, outgoing, None).await {
                tracing::debug!(?unsent, room_id = %room.id, name, "A presence event reached nobody.");
            }
        }
        if let Some(sent) = sent {
            let _ = sent.send(());
        }
    }
}
