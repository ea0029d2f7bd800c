//! The shared handle to one live connection: identity, activity clock and a byte-bounded outbox.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::task::{Context, Wake};

use compact_str::ToCompactString;
use futures_util::task::AtomicWaker;
use parking_lot::Mutex;
use time::OffsetDateTime;
use tokio::time::Instant;

use crate::socket::{Sent, SharedSocket};
use crate::tags::{TagCell, Tags};
use crate::{ConnectionId, Outbound};

/// What a connection belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// A client of an API Gateway–style WebSocket API stage.
    Api { api_id: Arc<str>, stage: Arc<str> },
    /// A member of an Amazon IVS Chat room, admitted with a chat token.
    Chat { room_id: Arc<str>, user_id: Arc<str> },
}

/// Facts about a connection fixed at handshake time.
#[derive(Clone, Debug)]
pub struct ConnectionInfo {
    pub scope: Scope,
    pub connected_at: OffsetDateTime,
    pub source_ip: String,
    /// Boxed rather than a `String`: see the size of [`Connection`].
    pub user_agent: Option<Box<str>>,
}

/// Why a connection is being closed by the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseCause {
    /// A management call (DeleteConnection) asked for it.
    Deleted,
    /// No message in either direction for the idle timeout.
    IdleTimeout,
    /// The maximum connection duration was reached.
    MaxDuration,
    /// The client did not drain its outbox fast enough.
    SlowConsumer,
    /// The server is shutting down.
    Shutdown,
    /// The client broke a limit or the protocol (oversize or binary frame, bad UTF-8).
    Violation,
}

/// A request to close a connection with a WebSocket close code and reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseRequest {
    pub code: u16,
    pub reason: Cow<'static, str>,
    pub cause: CloseCause,
}

impl CloseRequest {
    pub fn new(code: u16, reason: impl Into<Cow<'static, str>>, cause: CloseCause) -> CloseRequest {
        CloseRequest { code, reason: reason.into(), cause }
    }

    /// DeleteConnection: 1000, "Connection Closed Normally" (as API Gateway reports it).
    pub fn deleted() -> CloseRequest {
        CloseRequest::new(1000, "Connection Closed Normally", CloseCause::Deleted)
    }

    /// 1001, "Going away" (as API Gateway closes for an idle timeout or the maximum duration), for `cause`.
    pub fn going_away(cause: CloseCause) -> CloseRequest {
        CloseRequest::new(1001, "Going away", cause)
    }

    /// Server shutdown: 1001, "Going away".
    pub fn shutdown() -> CloseRequest {
        CloseRequest::going_away(CloseCause::Shutdown)
    }

    /// Outbox overflow or a stalled socket: 1008, "Slow consumer".
    pub fn slow_consumer() -> CloseRequest {
        CloseRequest::new(1008, "Slow consumer", CloseCause::SlowConsumer)
    }
}

/// Why a send was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendError {
    /// The outbox holds its limit of bytes already.
    Full,
    /// The connection is closing or closed.
    Closed,
}

/// What each queued message costs an outbox beyond its payload: its slot in the queue (an [`Outbound`], which carries
/// its frame header) and the shared payload's reference-counted header and allocation, rounded up. With it the byte
/// limit bounds memory, not only payload: an empty message is not free, and a 1 MiB outbox holds about 8,000 one-byte
/// messages rather than a million.
pub const OUTBOX_MESSAGE_OVERHEAD: usize = 128;

const _: () = assert!(std::mem::size_of::<Outbound>() <= OUTBOX_MESSAGE_OVERHEAD / 2);

/// Counters of one outbox, for metrics and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutboxStats {
    pub queued_messages: usize,
    /// Payload bytes of the queued messages.
    pub queued_bytes: usize,
}

impl OutboxStats {
    /// What the queued messages count against the outbox limit: payload plus [`OUTBOX_MESSAGE_OVERHEAD`] each.
    pub fn charged_bytes(&self) -> usize {
        self.queued_bytes.saturating_add(self.queued_messages.saturating_mul(OUTBOX_MESSAGE_OVERHEAD))
    }
}

#[derive(Debug, Default)]
struct Outbox {
    queue: VecDeque<Outbound>,
    /// Payload bytes of `queue`.
    bytes: usize,
    /// Boxed: asked for once in a connection's life, and 24 B less in every connection.
    close: Option<Box<CloseRequest>>,
    /// The session's socket, shared for senders' writes ([`Connection::send`]) until the session ends.
    socket: Option<Arc<SharedSocket>>,
    /// When a sender last wrote to the socket: activity, which the session's idle timeout counts.
    written_at: Option<Instant>,
    /// Bytes of the first queued message a sender wrote already: the rest of its frame is the session's to write,
    /// before anything else. At most a small frame's length ([`Outbound::small_frame`]).
    head_written: u16,
    /// Whether the messages queued before the close request are written before the close frame.
    flush_before_close: bool,
    /// Set once the session has taken the close request or ended; no send succeeds after it.
    finished: bool,
    /// Set when the session's socket or timer woke it (see [`Connection`]'s `Wake`), taken when the session finds the
    /// outbox empty: whether that turn must poll them.
    stirred: bool,
    /// The session may be writing to the socket: it holds a batch it has not written whole, or it is polling the
    /// socket (where the codec answers pings and closes) or the codec may hold part of a frame. Senders queue, then.
    session_writes: bool,
}

impl Outbox {
    fn stats(&self) -> OutboxStats {
        OutboxStats { queued_messages: self.queue.len(), queued_bytes: self.bytes }
    }

    /// Bytes counted against the limit.
    fn charged(&self) -> usize {
        self.stats().charged_bytes()
    }

    /// Moves every queued message into `batch` for the session to write, the first from `head_written` on.
    fn take_all(&mut self, batch: &mut Vec<Outbound>) -> Outboxed {
        batch.extend(self.queue.drain(..));
        self.bytes = 0;
        self.session_writes = true;
        Outboxed::Batch { head_written: usize::from(std::mem::take(&mut self.head_written)) }
    }
}

// Every live connection holds one `Connection` in an `Arc`: 16 B of counts and this struct, which jemalloc rounds up
// to its next size class (256, 320, 384, …). At 304 B it takes 320; 8 B more would take 384, 64 B more per connection.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Connection>() <= 304);

/// A live connection as the rest of the server sees it.
///
/// The session task is the only reader of the outbox; any number of tasks may send. Sending never waits: a full
/// outbox refuses the message and the caller chooses the policy (429 for PostToConnection, disconnect for fan-out).
#[derive(Debug)]
pub struct Connection {
    id: ConnectionId,
    info: ConnectionInfo,
    /// Unix milliseconds of the last message in either direction.
    last_active_ms: AtomicI64,
    limit: usize,
    outbox: Mutex<Outbox>,
    /// Wakes the session task when the outbox gains a message or a close request: a lock-free slot for one waker,
    /// so a send costs no lock beyond the outbox's and a burst of sends wakes the session once.
    wake: AtomicWaker,
    /// Groups and metadata; changed only through [`crate::Hub::update_tags`], under the group index's lock.
    pub(crate) tags: Mutex<TagCell>,
}

impl Connection {
    /// Who the console's capture says an event is about: this connection, and its stage or room.
    pub fn subject(&self) -> capture::Subject {
        let scope = match &self.info.scope {
            Scope::Api { api_id, stage } => capture::Scope::Stage { api: api_id.clone(), stage: stage.clone() },
            Scope::Chat { room_id, user_id } => {
                capture::Scope::Room { room: room_id.clone(), user: Some(user_id.clone()) }
            }
        };
        capture::Subject { connection: Some(self.id.to_compact_string()), scope: Some(scope) }
    }

    /// A span for work about this connection, so that its events carry the connection's id, its kind and what it
    /// belongs to: `api` and `stage` for an API socket, `room` and `user` for a chat socket. It has no parent.
    ///
    /// Made for each piece of work (the handshake's end, a client message, the close) and dropped with it, never
    /// held by an idle connection: a span takes room in the subscriber's registry for as long as it exists (about
    /// 400 B with its fields), and a task instrumented with one enters and leaves it at every wake-up.
    pub fn span(&self) -> tracing::Span {
        match &self.info.scope {
            Scope::Api { api_id, stage } => tracing::error_span!(
                parent: None,
                "connection",
                connection_id = %self.id,
                kind = "api",
                api = &**api_id,
                stage = &**stage,
            ),
            Scope::Chat { room_id, user_id } => tracing::error_span!(
                parent: None,
                "connection",
                connection_id = %self.id,
                kind = "chat",
                room = &**room_id,
                user = &**user_id,
            ),
        }
    }

    pub(crate) fn new(id: ConnectionId, info: ConnectionInfo, limit: usize) -> Connection {
        let now = (info.connected_at.unix_timestamp_nanos() / 1_000_000) as i64;
        Connection {
            id,
            info,
            last_active_ms: AtomicI64::new(now),
            limit,
            outbox: Mutex::new(Outbox::default()),
            wake: AtomicWaker::new(),
            tags: Mutex::new(TagCell::default()),
        }
    }

    pub fn id(&self) -> ConnectionId {
        self.id
    }

    pub fn info(&self) -> &ConnectionInfo {
        &self.info
    }

    /// The connection's groups and metadata now.
    pub fn tags(&self) -> Tags {
        self.tags.lock().tags.clone()
    }

    /// Last message in either direction.
    pub fn last_active(&self) -> OffsetDateTime {
        let ms = self.last_active_ms.load(Ordering::Relaxed);
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(self.info.connected_at)
    }

    /// Records activity now.
    pub fn touch(&self) {
        let now = (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
        self.last_active_ms.fetch_max(now, Ordering::Relaxed);
    }

    /// Queues a text message, charged its payload plus [`OUTBOX_MESSAGE_OVERHEAD`] against the limit. A message is
    /// always accepted into an empty outbox, whatever its size, so that one message up to the API's maximum can
    /// always be delivered.
    ///
    /// When the outbox is empty and the session is not writing, a small message is written to the socket here, by
    /// the sender, without waking the session (see [`crate::TcpSocket`]): under the outbox's lock, which every
    /// decision to write takes, and without waiting (what the socket does not take at once is queued for the
    /// session, which finishes the frame before anything else).
    pub fn send(&self, message: Outbound) -> Result<(), SendError> {
        self.send_as(message, true)
    }

    /// [`Connection::send`], where the sender writes to the socket only if `may_write` (see [`crate::Spread`]).
    pub(crate) fn send_as(&self, message: Outbound, may_write: bool) -> Result<(), SendError> {
        let len = message.len();
        {
            let mut outbox = self.outbox.lock();
            if outbox.finished || outbox.close.is_some() {
                return Err(SendError::Closed);
            }
            if !outbox.queue.is_empty() && outbox.charged().saturating_add(len + OUTBOX_MESSAGE_OVERHEAD) > self.limit {
                return Err(SendError::Full);
            }
            if may_write
                && outbox.queue.is_empty()
                && !outbox.session_writes
                && let Some(socket) = &outbox.socket
            {
                let sent = socket.try_send(&message);
                if sent != Sent::Not {
                    outbox.written_at = Some(Instant::now());
                }
                match sent {
                    Sent::Whole => return Ok(()),
                    Sent::Part(written) => outbox.head_written = written,
                    Sent::Not => {}
                }
            }
            outbox.queue.push_back(message);
            outbox.bytes += len;
        }
        self.wake.wake();
        Ok(())
    }

    /// Fan-out delivery: queues the message, or closes the connection as a slow consumer when its outbox is full.
    /// Returns whether the message was queued.
    pub fn deliver(&self, message: Outbound) -> bool {
        self.deliver_as(message, true)
    }

    /// [`Connection::deliver`], where the sender writes to the socket only if `may_write` (see [`crate::Spread`]).
    pub(crate) fn deliver_as(&self, message: Outbound, may_write: bool) -> bool {
        match self.send_as(message, may_write) {
            Ok(()) => true,
            Err(SendError::Full) => {
                self.close(CloseRequest::slow_consumer());
                false
            }
            Err(SendError::Closed) => false,
        }
    }

    /// Asks the session to close the connection. The first request wins; later ones are ignored.
    /// Queued messages that were not written yet are dropped.
    pub fn close(&self, request: CloseRequest) -> bool {
        {
            let mut outbox = self.outbox.lock();
            if outbox.finished || outbox.close.is_some() {
                return false;
            }
            outbox.close = Some(Box::new(request));
        }
        self.wake.wake();
        true
    }

    /// Asks the session to close the connection once the messages already queued are written (a final event or
    /// error frame followed by a close). Like [`Connection::close`], the first request wins and no message is
    /// accepted after it.
    pub fn close_after_queued(&self, request: CloseRequest) -> bool {
        {
            let mut outbox = self.outbox.lock();
            if outbox.finished || outbox.close.is_some() {
                return false;
            }
            outbox.close = Some(Box::new(request));
            outbox.flush_before_close = !outbox.queue.is_empty();
        }
        self.wake.wake();
        true
    }

    /// Whether the connection still accepts messages.
    pub fn is_open(&self) -> bool {
        let outbox = self.outbox.lock();
        !outbox.finished && outbox.close.is_none()
    }

    pub fn outbox_stats(&self) -> OutboxStats {
        self.outbox.lock().stats()
    }

    /// Shares the session's socket with senders, who write small messages to it while the connection is idle
    /// ([`Connection::send`]), until the session ends. Only before the session runs, and only while nothing was
    /// written to the socket but the handshake.
    pub fn share_socket(&self, socket: Arc<SharedSocket>) {
        let mut outbox = self.outbox.lock();
        if !outbox.finished {
            outbox.socket = Some(socket);
        }
    }

    /// When a sender last wrote to the socket itself (activity the session did not see).
    pub(crate) fn written_at(&self) -> Option<Instant> {
        self.outbox.lock().written_at
    }

    /// Bytes of the first queued message's frame a sender wrote.
    #[cfg(test)]
    pub(crate) fn head_written(&self) -> usize {
        usize::from(self.outbox.lock().head_written)
    }

    /// Session side: it polled its socket and timer and neither was ready, so it writes nothing until its next turn
    /// (the codec holds no part of a frame: a pong it queued was flushed, a close reply ended the session).
    pub(crate) fn rest(&self) {
        self.outbox.lock().session_writes = false;
    }

    /// Waits until there is something to do, then moves every queued message into `batch` (returning `None`) or
    /// returns the close request: [`Connection::poll_outbox`] without the session's socket and timer.
    #[cfg(test)]
    pub(crate) async fn next_outbound(&self, batch: &mut Vec<Outbound>) -> Option<CloseRequest> {
        use std::task::Poll;
        std::future::poll_fn(|cx| match self.poll_outbox(cx, batch, false) {
            Outboxed::Batch { .. } => Poll::Ready(None),
            Outboxed::Close(request) => Poll::Ready(Some(request)),
            Outboxed::Empty { .. } => Poll::Pending,
        })
        .await
    }

    /// Session side: moves every queued message into `batch`, or takes the close request, or registers `cx` to be
    /// woken by the next send or close. The waker is registered before the outbox is looked at, so a send that comes
    /// after the look wakes it and one that came before is seen.
    ///
    /// From a batch until the session finds the outbox empty, senders leave the socket to the session; from an empty
    /// outbox on too, when the session is about to poll its socket (`polling`, or its socket or timer woke it: the
    /// answer is `stirred`), until [`Connection::rest`].
    pub(crate) fn poll_outbox(&self, cx: &mut Context<'_>, batch: &mut Vec<Outbound>, polling: bool) -> Outboxed {
        self.wake.register(cx.waker());
        let mut outbox = self.outbox.lock();
        if outbox.flush_before_close && !outbox.queue.is_empty() {
            // The close waits for the next call, after this batch is written.
            outbox.flush_before_close = false;
            return outbox.take_all(batch);
        }
        if outbox.close.is_some() && outbox.head_written > 0 {
            // A frame a sender began is finished before the close frame, whatever else is dropped.
            outbox.queue.truncate(1);
            return outbox.take_all(batch);
        }
        if let Some(close) = outbox.close.take() {
            outbox.finished = true;
            outbox.queue = VecDeque::new();
            outbox.bytes = 0;
            return Outboxed::Close(*close);
        }
        if !outbox.queue.is_empty() {
            let taken = outbox.take_all(batch);
            if outbox.queue.capacity() > 64 {
                // Give a burst's memory back: idle connections should cost next to nothing.
                outbox.queue = VecDeque::new();
            }
            return taken;
        }
        let stirred = std::mem::take(&mut outbox.stirred);
        outbox.session_writes = stirred || polling;
        Outboxed::Empty { stirred }
    }

    /// Session side: no message is accepted any more, and the socket is the session's alone until it drops it.
    pub(crate) fn finish(&self) {
        let mut outbox = self.outbox.lock();
        outbox.finished = true;
        outbox.queue = VecDeque::new();
        outbox.bytes = 0;
        outbox.head_written = 0;
        outbox.socket = None;
    }
}

/// What the session found in its outbox.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outboxed {
    /// The queued messages, moved into the batch; the first from `head_written` bytes of its frame on (a sender wrote
    /// the others).
    Batch { head_written: usize },
    /// The close request: the outbox is finished.
    Close(CloseRequest),
    /// Nothing to do; the session is woken by the next send or close. `stirred`: its socket or timer woke it since it
    /// last found the outbox empty.
    Empty { stirred: bool },
}

/// A connection is the waker its session gives its socket and its timer: a wake-up from either is noted in the
/// outbox and passed on to the session. A turn that the outbox alone woke (one per delivery, when messages come one
/// at a time) then skips polling them, which is most of a turn's cost besides the write.
impl Wake for Connection {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.outbox.lock().stirred = true;
        self.wake.wake();
    }
}
