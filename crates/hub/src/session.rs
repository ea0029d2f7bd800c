//! The one task per connection that owns the WebSocket: reads client frames, writes the outbox in batches, and
//! enforces timeouts and limits until the connection ends, then reports how it ended.

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{Instant, Sleep, sleep_until, timeout};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};
use tracing::Instrument;

use crate::connection::Outboxed;
use crate::outbound::{WriteAll, WriteError};
use crate::{CloseCause, CloseRequest, Connection, Outbound, outbound};

/// Limits and timeouts of a session.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// Close after this long without a message in either direction (pings do not count unless
    /// `pings_are_activity`).
    pub idle_timeout: Duration,
    /// Close after this long whatever happens.
    pub max_duration: Duration,
    /// A batch still not written this long after the socket first had no room for it ends the connection as a slow
    /// consumer.
    pub write_timeout: Duration,
    /// Outbound messages larger than this are sent as several frames.
    pub max_outbound_frame: usize,
    /// How long to wait for the peer's close frame after sending ours.
    pub close_timeout: Duration,
    pub pings_are_activity: bool,
    /// Where the console's traffic capture records frames in and out; `None` (off) costs one check per message.
    pub capture: Option<Arc<capture::Capture>>,
}

impl Default for SessionConfig {
    fn default() -> SessionConfig {
        SessionConfig {
            idle_timeout: Duration::from_secs(600),
            max_duration: Duration::from_secs(7200),
            write_timeout: Duration::from_secs(30),
            max_outbound_frame: 32 * 1024,
            close_timeout: Duration::from_secs(2),
            pings_are_activity: false,
            capture: None,
        }
    }
}

/// The WebSocket codec's read step, which is also what it keeps allocated per connection: a client message up to
/// this size is read in one step (the socket itself is read in larger steps by [`crate::LeanStream`], which holds
/// what it read ahead only until taken).
const WS_READ_STEP: usize = 128;

/// Far enough ahead to be never, near enough not to overflow an [`Instant`] (as tokio's own "far future").
const NEVER: Duration = Duration::from_secs(86_400 * 365 * 30);

/// The WebSocket settings of every socket the server accepts: client messages and frames bounded as configured
/// (AWS: 128 KiB and 32 KiB), a close for anything larger before it is buffered, and a 128 B read step.
pub fn websocket_config(max_message_bytes: usize, max_frame_bytes: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(WS_READ_STEP)
        .max_message_size(Some(max_message_bytes))
        .max_frame_size(Some(max_frame_bytes))
}

/// What the session does with complete messages from the client.
pub trait Inbound: Send {
    /// A complete text message. Waiting here slows down reading from this client only.
    fn on_text(&mut self, conn: &Arc<Connection>, text: Utf8Bytes) -> impl Future<Output = ()> + Send;

    /// The session reached [`SessionConfig::max_duration`]: what it closes with, once the messages queued so far are
    /// written (this may queue a last one on `conn`). 1001 "Going away" by default.
    fn on_max_duration(&mut self, _conn: &Arc<Connection>) -> CloseRequest {
        CloseRequest::going_away(CloseCause::MaxDuration)
    }
}

/// Who ended the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndCause {
    /// The client sent a close frame.
    Client,
    /// The TCP connection broke without a close frame.
    Abnormal,
    /// The server closed it.
    Server(CloseCause),
}

/// How a session ended: the WebSocket close code and reason reported to `$disconnect`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionEnd {
    pub code: u16,
    pub reason: String,
    pub cause: EndCause,
}

/// Runs a session until the connection ends. Never panics on client input; every path returns a [`SessionEnd`].
///
/// Whatever closes it from outside goes through its [`Connection`] (a close request, or [`crate::Hub::shut_down`] for
/// every connection at once): a session watches its outbox, its socket and one timer, and nothing else on each turn.
///
/// The socket is borrowed, not moved: an `async fn` keeps its arguments for as long as it runs, so a socket passed
/// down by value through the callers' futures would take room in each of them, in the task of every idle connection.
pub async fn run<S, I>(
    ws: &mut WebSocketStream<S>,
    conn: Arc<Connection>,
    config: &SessionConfig,
    inbound: &mut I,
) -> SessionEnd
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    I: Inbound,
{
    let started = Instant::now();
    let max_deadline = started + config.max_duration;
    let mut idle_deadline = started + config.idle_timeout;
    let mut batch: Vec<Outbound> = Vec::new();
    // Made once and kept across turns of the loop, so that a turn (one per delivery when messages come one at a
    // time) neither adds nor removes an entry in the timer wheel. It runs to the deadline it was set to; when it fires
    // early because activity moved the deadline, it is set again.
    let mut timer = pin!(sleep_until(idle_deadline.min(max_deadline)));

    // Whether the next turn polls the socket and the timer whatever the outbox says: after either was ready, as what
    // they registered to be woken went with it, and on the first turn, before they registered anything.
    let mut stirred = true;

    let end = loop {
        match poll_fn(|cx| poll_turn(cx, &conn, &mut batch, ws, timer.as_mut(), &mut stirred)).await {
            Turn::Close(request) => break Box::pin(close_with(ws, request, config)).await,
            Turn::Batch { head_written } => {
                if let Some(capture) = config.capture.as_deref().filter(|capture| capture.watched()) {
                    record_out(capture, &conn, &batch);
                }
                let written = write_batch(ws, &batch, head_written, config).await;
                batch.clear();
                match written {
                    Ok(()) => idle_deadline = Instant::now() + config.idle_timeout,
                    Err(WriteError::Failed) => break abnormal(),
                    // The peer stopped reading: a close frame could not be written either.
                    Err(WriteError::Stalled) => break server_end(CloseRequest::slow_consumer()),
                }
            }
            Turn::Socket(message) => match message {
                Some(Ok(Message::Text(text))) => {
                    idle_deadline = Instant::now() + config.idle_timeout;
                    conn.touch();
                    if let Some(capture) = &config.capture {
                        let what = capture::What::FrameIn { data: capture.cut(text.as_str()), bytes: text.len() };
                        capture.record(conn.subject(), what);
                    }
                    // Boxed, like the closing paths: the task of an idle session is sized by its waits alone. In a
                    // span of its own, which the idle session does not keep.
                    Box::pin(inbound.on_text(&conn, text).instrument(conn.span())).await;
                }
                Some(Ok(Message::Binary(_))) => {
                    let request = CloseRequest::new(1003, "Binary frames are not supported", CloseCause::Violation);
                    break Box::pin(close_with(ws, request, config)).await;
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {
                    if config.pings_are_activity {
                        idle_deadline = Instant::now() + config.idle_timeout;
                    }
                    // Sends the pong tungstenite queued, before anything else is written (see `write_batch`); a client
                    // that pings but does not read stalls it. Boxed, as rare: its timer would be the largest thing the
                    // task of every session keeps room for.
                    match Box::pin(timeout(config.write_timeout, ws.flush())).await {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => break abnormal(),
                        Err(_) => break server_end(CloseRequest::slow_consumer()),
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) = match frame {
                        Some(frame) => (u16::from(frame.code), frame.reason.to_string()),
                        None => (1005, "Client-side close frame status not set".to_owned()),
                    };
                    // Reading on sends tungstenite's close reply and waits for the TCP close.
                    let _ = Box::pin(timeout(config.close_timeout, drain(ws))).await;
                    break SessionEnd { code, reason, cause: EndCause::Client };
                }
                Some(Ok(Message::Frame(_))) => {}
                Some(Err(WsError::Capacity(_))) => {
                    let request = CloseRequest::new(1009, "Message too big", CloseCause::Violation);
                    break Box::pin(close_with(ws, request, config)).await;
                }
                Some(Err(WsError::Utf8(_))) => {
                    let request = CloseRequest::new(1007, "Invalid UTF-8 in text frame", CloseCause::Violation);
                    break Box::pin(close_with(ws, request, config)).await;
                }
                Some(Err(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake))) => break abnormal(),
                Some(Err(WsError::Protocol(_))) => {
                    let request = CloseRequest::new(1002, "Protocol error", CloseCause::Violation);
                    break Box::pin(close_with(ws, request, config)).await;
                }
                Some(Err(_)) | None => break abnormal(),
            },
            Turn::Timer => {
                let now = Instant::now();
                if now >= max_deadline {
                    // The close goes through the outbox, after what is queued: it is the session's next work, and
                    // no deadline is left to time.
                    conn.close_after_queued(inbound.on_max_duration(&conn));
                    timer.as_mut().reset(now + NEVER);
                    continue;
                }
                // Senders' own writes are activity too.
                if let Some(written_at) = conn.written_at() {
                    idle_deadline = idle_deadline.max(written_at + config.idle_timeout);
                }
                if now < idle_deadline {
                    timer.as_mut().reset(idle_deadline.min(max_deadline));
                    continue;
                }
                break Box::pin(close_with(ws, CloseRequest::going_away(CloseCause::IdleTimeout), config)).await;
            }
        }
    };
    conn.finish();
    end
}

/// What a session's turn is about, first ready first, in this order.
enum Turn {
    /// The outbox's messages, moved into the batch; its first `head_written` bytes are written already.
    Batch {
        head_written: usize,
    },
    /// The outbox's close request.
    Close(CloseRequest),
    Socket(Option<Result<Message, WsError>>),
    Timer,
}

/// One look for the session's next turn: the outbox first, then the socket and the timer, these two only when they
/// may be ready (`stirred`, or the outbox says one of them woke the session). They are polled with the connection as
/// their waker ([`Connection`]'s `Wake`), which notes in the outbox that they did: a turn that only a delivery woke
/// costs one look at the outbox, not three polls.
///
/// Polling the socket may write to it (the codec answers a ping or a close as it reads), so senders leave the socket
/// to the session from the look at the outbox that decides to poll it until neither is ready ([`Connection::rest`]).
fn poll_turn<S>(
    cx: &mut Context<'_>,
    conn: &Arc<Connection>,
    batch: &mut Vec<Outbound>,
    ws: &mut WebSocketStream<S>,
    timer: Pin<&mut Sleep>,
    stirred: &mut bool,
) -> Poll<Turn>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match conn.poll_outbox(cx, batch, *stirred) {
        Outboxed::Batch { head_written } => return Poll::Ready(Turn::Batch { head_written }),
        Outboxed::Close(request) => return Poll::Ready(Turn::Close(request)),
        Outboxed::Empty { stirred: woken } if !woken && !*stirred => return Poll::Pending,
        Outboxed::Empty { .. } => {}
    }
    let waker = Waker::from(Arc::clone(conn));
    let mut cx = Context::from_waker(&waker);
    let turn = match ws.poll_next_unpin(&mut cx) {
        Poll::Ready(message) => Poll::Ready(Turn::Socket(message)),
        Poll::Pending => timer.poll(&mut cx).map(|()| Turn::Timer),
    };
    *stirred = turn.is_ready();
    if turn.is_pending() {
        conn.rest();
    }
    turn
}

/// Records each message of a batch about to be written.
fn record_out(capture: &capture::Capture, conn: &Connection, batch: &[Outbound]) {
    for message in batch {
        let data = match message.as_text() {
            Some(text) => capture.cut(text),
            None => format!("({} bytes of binary)", message.len()),
        };
        capture.record(conn.subject(), capture::What::FrameOut { data, bytes: message.len() });
    }
}

/// Writes a batch straight to the socket under the codec, each message from its shared payload and the header
/// made with it ([`crate::outbound`]), so that the codec's write buffer holds nothing but pongs and the close frame.
///
/// The codec holds nothing to write here: the pong it queues on reading a ping is flushed by the loop before it goes
/// on (a flush that fails or stalls ends the session), and the close frame ends it. So no frame of ours can land in
/// the middle of one of the codec's.
fn write_batch<'a, S>(
    ws: &'a mut WebSocketStream<S>,
    batch: &'a [Outbound],
    head_written: usize,
    config: &SessionConfig,
) -> WriteAll<'a, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    outbound::write_all(ws.get_mut(), batch, config.max_outbound_frame, config.write_timeout, head_written)
}

async fn close_with<S>(ws: &mut WebSocketStream<S>, request: CloseRequest, config: &SessionConfig) -> SessionEnd
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let frame = CloseFrame { code: request.code.into(), reason: Utf8Bytes::from(request.reason.to_string()) };
    let closing = async {
        if ws.close(Some(frame)).await.is_ok() {
            drain(ws).await;
        }
    };
    let _ = timeout(config.close_timeout, closing).await;
    server_end(request)
}

/// Reads until the stream ends, discarding what arrives (used while closing).
async fn drain<S>(ws: &mut WebSocketStream<S>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    while let Some(Ok(_)) = ws.next().await {}
}

fn server_end(request: CloseRequest) -> SessionEnd {
    SessionEnd { code: request.code, reason: request.reason.into_owned(), cause: EndCause::Server(request.cause) }
}

fn abnormal() -> SessionEnd {
    SessionEnd { code: 1006, reason: String::new(), cause: EndCause::Abnormal }
}

#[cfg(test)]
pub(crate) mod tests;
