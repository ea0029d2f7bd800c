//! [`Outbound`]: a message on its way to clients with its WebSocket frame header encoded once, and [`write_all`],
//! which puts a session's batch on the socket straight from the shared payloads, a `writev` at a time (a small
//! single frame copied whole into one `write`).
//!
//! A server's frames are never masked, so the bytes of a frame are the same for every recipient: a fan-out to N
//! members encodes its header once and copies its payload only into the kernel, where writing it through the
//! WebSocket codec would encode it N times into N write buffers that each keep their capacity afterwards.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::AsyncWrite;
use tokio::time::Sleep;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// The longest frame header a server writes: 2 bytes, then 8 of extended length, unmasked.
const MAX_HEADER: usize = 10;

const OP_CONTINUATION: u8 = 0x0;
const OP_TEXT: u8 = 0x1;
const OP_BINARY: u8 = 0x2;

/// The header of one frame from a server (RFC 6455 §5.2): FIN and opcode, then the payload's length in 1, 3 or 9
/// bytes, with no mask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Header {
    bytes: [u8; MAX_HEADER],
    len: u8,
}

impl Header {
    fn new(fin: bool, opcode: u8, payload: usize) -> Header {
        let mut bytes = [0; MAX_HEADER];
        bytes[0] = if fin { 0x80 | opcode } else { opcode };
        let len = if let Ok(short @ 0..=125) = u8::try_from(payload) {
            bytes[1] = short;
            2
        } else if let Ok(medium) = u16::try_from(payload) {
            bytes[1] = 126;
            bytes[2..4].copy_from_slice(&medium.to_be_bytes());
            4
        } else {
            bytes[1] = 127;
            bytes[2..10].copy_from_slice(&(payload as u64).to_be_bytes());
            10
        };
        Header { bytes, len }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// A message on its way to a client: a text or binary payload shared by every clone, and the header of the single
/// frame that carries it, encoded when the message is made. One message made once serves every recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outbound {
    payload: Bytes,
    header: Header,
}

impl Outbound {
    pub fn text(text: Utf8Bytes) -> Outbound {
        Outbound::new(OP_TEXT, text.into())
    }

    pub fn binary(bytes: Bytes) -> Outbound {
        Outbound::new(OP_BINARY, bytes)
    }

    /// Text when the bytes are UTF-8, binary otherwise.
    pub fn from_bytes(bytes: Bytes) -> Outbound {
        let opcode = if std::str::from_utf8(&bytes).is_ok() { OP_TEXT } else { OP_BINARY };
        Outbound::new(opcode, bytes)
    }

    fn new(opcode: u8, payload: Bytes) -> Outbound {
        Outbound { header: Header::new(true, opcode, payload.len()), payload }
    }

    /// The payload's length in bytes.
    pub fn len(&self) -> usize {
        self.payload.len()
    }

    pub fn is_empty(&self) -> bool {
        self.payload.is_empty()
    }

    pub fn is_text(&self) -> bool {
        self.opcode() == OP_TEXT
    }

    /// The payload of a text message.
    pub fn as_text(&self) -> Option<&str> {
        self.is_text().then(|| std::str::from_utf8(&self.payload).ok()).flatten()
    }

    pub fn payload(&self) -> &Bytes {
        &self.payload
    }

    fn opcode(&self) -> u8 {
        self.header.bytes[0] & 0x0F
    }

    /// How many frames carry this message when no frame may carry more than `max_frame` bytes of payload.
    fn frame_count(&self, max_frame: usize) -> usize {
        self.payload.len().div_ceil(max_frame).max(1)
    }

    /// The message's frame copied whole, when it goes as a single frame of at most [`COPY_UP_TO`] bytes, header
    /// included.
    pub(crate) fn small_frame(&self, max_frame: usize) -> Option<SmallFrame> {
        if self.frame_count(max_frame) != 1 {
            return None;
        }
        SmallFrame::new(self.header.as_bytes(), &self.payload)
    }

    /// The `index`th of those frames: its header and its part of the payload.
    fn frame(&self, index: usize, max_frame: usize) -> (Header, &[u8]) {
        let count = self.frame_count(max_frame);
        if count == 1 {
            return (self.header, &self.payload);
        }
        let start = index * max_frame;
        let part = &self.payload[start..(start + max_frame).min(self.payload.len())];
        let opcode = if index == 0 { self.opcode() } else { OP_CONTINUATION };
        (Header::new(index + 1 == count, opcode, part.len()), part)
    }
}

impl From<Utf8Bytes> for Outbound {
    fn from(text: Utf8Bytes) -> Outbound {
        Outbound::text(text)
    }
}

impl From<String> for Outbound {
    fn from(text: String) -> Outbound {
        Outbound::new(OP_TEXT, text.into())
    }
}

impl From<&'static str> for Outbound {
    fn from(text: &'static str) -> Outbound {
        Outbound::new(OP_TEXT, Bytes::from_static(text.as_bytes()))
    }
}

/// Frames one `writev` takes at most (two slices each, a header and a payload part; Linux takes 1,024 slices).
const FRAMES_PER_WRITE: usize = 512;

/// A single frame up to this long, header included, is written from one copy of its bytes rather than from the
/// shared payload: the kernel's `writev` of two slices costs more than copying them (0.1–0.3 µs more than a `write`
/// of the same 102 B to a loopback socket, of about 6.4 µs; `docs/benchmarks.md`, "Idle memory: the connection's
/// task").
pub(crate) const COPY_UP_TO: usize = 512;

/// A frame of at most [`COPY_UP_TO`] bytes, header included, copied whole into one buffer on the stack.
pub(crate) struct SmallFrame {
    bytes: [u8; COPY_UP_TO],
    len: usize,
}

impl SmallFrame {
    /// The frame of `header` and `part`, when it fits (checked before the buffer is made).
    fn new(header: &[u8], part: &[u8]) -> Option<SmallFrame> {
        let len = header.len() + part.len();
        if len > COPY_UP_TO {
            return None;
        }
        let mut bytes = [0; COPY_UP_TO];
        bytes[..header.len()].copy_from_slice(header);
        bytes[header.len()..len].copy_from_slice(part);
        Some(SmallFrame { bytes, len })
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// Where writing a batch stands: the message, its frame and the bytes of that frame already written.
#[derive(Debug, Default)]
struct Cursor {
    message: usize,
    frame: usize,
    offset: usize,
}

impl Cursor {
    /// The frames of `batch` from the cursor's frame on, each as its header and its part of the payload.
    fn frames<'a>(
        &self,
        batch: &'a [Outbound],
        max_frame: usize,
    ) -> impl Iterator<Item = (Header, &'a [u8])> + use<'a> {
        let first = self.frame;
        batch[self.message..].iter().enumerate().flat_map(move |(i, message)| {
            let from = if i == 0 { first } else { 0 };
            (from..message.frame_count(max_frame)).map(move |index| message.frame(index, max_frame))
        })
    }

    /// Moves past `written` bytes.
    fn advance(&mut self, batch: &[Outbound], max_frame: usize, mut written: usize) {
        while written > 0 {
            let (header, part) = batch[self.message].frame(self.frame, max_frame);
            let left = header.as_bytes().len() + part.len() - self.offset;
            if written < left {
                self.offset += written;
                return;
            }
            written -= left;
            self.offset = 0;
            self.frame += 1;
            if self.frame == batch[self.message].frame_count(max_frame) {
                (self.message, self.frame) = (self.message + 1, 0);
            }
        }
    }
}

/// Why a batch was not written.
#[derive(Debug)]
pub(crate) enum WriteError {
    /// The socket took no more of it for the stall limit: the peer stopped reading.
    Stalled,
    /// The socket failed (the connection broke).
    Failed,
}

/// Writes every message of `batch` to `stream`, each as frames of at most `max_frame` bytes of payload, then
/// flushes. Each `writev` takes the headers and the shared payloads as they are; only a single frame of at most
/// [`COPY_UP_TO`] bytes is copied, into a buffer on the stack.
///
/// A batch the socket cannot take at once has `stall` from then on to be written. Most batches are written at the
/// first try, without reading the clock or setting a timer. The first `written` bytes of the batch's frames were
/// written already (by a sender, `Connection::send`).
pub(crate) fn write_all<'a, S>(
    stream: &'a mut S,
    batch: &'a [Outbound],
    max_frame: usize,
    stall: Duration,
    written: usize,
) -> WriteAll<'a, S>
where
    S: AsyncWrite + Unpin,
{
    let max_frame = max_frame.max(1);
    let mut cursor = Cursor::default();
    cursor.advance(batch, max_frame, written);
    WriteAll { stream, batch, max_frame, stall, cursor, deadline: None }
}

/// The future of [`write_all`]: a named one rather than an `async fn`, because every session's task keeps room for it,
/// and an `async fn` keeps its arguments beside its own state.
#[derive(Debug)]
pub(crate) struct WriteAll<'a, S> {
    stream: &'a mut S,
    batch: &'a [Outbound],
    max_frame: usize,
    stall: Duration,
    cursor: Cursor,
    /// Set when the socket first has no room; boxed, so that the future keeps no room for a timer it rarely needs.
    deadline: Option<Pin<Box<Sleep>>>,
}

impl<S: AsyncWrite + Unpin> Future for WriteAll<'_, S> {
    type Output = Result<(), WriteError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let done = match poll_write_all(Pin::new(&mut *this.stream), cx, this.batch, this.max_frame, &mut this.cursor) {
            Poll::Ready(Ok(())) => Pin::new(&mut *this.stream).poll_flush(cx),
            other => other,
        };
        match done {
            Poll::Ready(result) => Poll::Ready(result.map_err(|_| WriteError::Failed)),
            Poll::Pending => {
                let deadline = this.deadline.get_or_insert_with(|| Box::pin(tokio::time::sleep(this.stall)));
                deadline.as_mut().poll(cx).map(|()| Err(WriteError::Stalled))
            }
        }
    }
}

fn poll_write_all<S>(
    mut stream: Pin<&mut S>,
    cx: &mut Context<'_>,
    batch: &[Outbound],
    max_frame: usize,
    cursor: &mut Cursor,
) -> Poll<io::Result<()>>
where
    S: AsyncWrite,
{
    loop {
        let mut frames = cursor.frames(batch, max_frame);
        let written = match (frames.next(), frames.next()) {
            (None, _) => return Poll::Ready(Ok(())),
            // One frame left, as for most deliveries: a small one copied whole into a buffer on the stack and written
            // with `write`, a larger one as its two slices.
            (Some((header, part)), None) => match SmallFrame::new(header.as_bytes(), part) {
                Some(frame) => ready!(stream.as_mut().poll_write(cx, &frame.as_bytes()[cursor.offset..]))?,
                None => {
                    let mut slices = [IoSlice::new(header.as_bytes()), IoSlice::new(part)];
                    ready!(poll_write_from(stream.as_mut(), cx, &mut slices, cursor.offset))?
                }
            },
            (Some(first), Some(second)) => {
                let frames: Vec<(Header, &[u8])> =
                    [first, second].into_iter().chain(frames).take(FRAMES_PER_WRITE).collect();
                let mut slices: Vec<IoSlice<'_>> = frames
                    .iter()
                    .flat_map(|(header, part)| [IoSlice::new(header.as_bytes()), IoSlice::new(part)])
                    .collect();
                ready!(poll_write_from(stream.as_mut(), cx, &mut slices, cursor.offset))?
            }
        };
        if written == 0 {
            return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
        }
        cursor.advance(batch, max_frame, written);
    }
}

/// One vectored write of `slices` from `offset` bytes in.
fn poll_write_from<S: AsyncWrite>(
    stream: Pin<&mut S>,
    cx: &mut Context<'_>,
    slices: &mut [IoSlice<'_>],
    offset: usize,
) -> Poll<io::Result<usize>> {
    let mut unwritten = slices;
    IoSlice::advance_slices(&mut unwritten, offset);
    stream.poll_write_vectored(cx, unwritten)
}

#[cfg(test)]
mod tests;
