//! [`TcpSocket`]: a plain TCP socket under a session whose writing side its [`crate::Connection`] shares, so that a
//! sender that finds the connection idle writes a small message to the socket itself, without waking the session.
//!
//! A fan-out to N members otherwise costs N wake-ups of N session tasks, each a poll of memory last touched N
//! deliveries ago, before the N writes the kernel needs anyway. Who may write when is the connection's to decide
//! (`Connection::send`, under its outbox's lock); this file only gives both sides the socket: the session through
//! `AsyncRead` and `AsyncWrite` on a shared reference, senders through `SharedSocket::try_send`, which never waits.

use std::io::{self, IoSlice};
use std::net::Shutdown;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::Outbound;
use crate::session::SessionConfig;

/// The TCP stream under a plain session: the session reads and writes it as any stream, and [`TcpSocket::shared`]
/// hands its connection the same socket for the writes of senders.
#[derive(Debug)]
pub struct TcpSocket {
    shared: Arc<SharedSocket>,
}

/// A socket that senders may write to, and what they need to frame a message as the session would.
#[derive(Debug)]
pub struct SharedSocket {
    stream: TcpStream,
    /// The session's [`SessionConfig::max_outbound_frame`]: a message that takes more than one frame is the
    /// session's to write.
    max_frame: usize,
    /// The console's capture: while it is watched, every message goes through the session, which records it.
    capture: Option<Arc<capture::Capture>>,
    /// The most a sender's write hands the kernel, so that a test cuts a frame where it chooses (the kernel cuts
    /// where its buffers end).
    #[cfg(test)]
    cut_at: std::sync::atomic::AtomicUsize,
}

impl TcpSocket {
    /// A session's socket over `stream`, framed as `config` says.
    pub fn new(stream: TcpStream, config: &SessionConfig) -> TcpSocket {
        let max_frame = config.max_outbound_frame.max(1);
        let shared = SharedSocket {
            stream,
            max_frame,
            capture: config.capture.clone(),
            #[cfg(test)]
            cut_at: usize::MAX.into(),
        };
        TcpSocket { shared: Arc::new(shared) }
    }

    /// The socket, for its connection ([`crate::Connection::share_socket`]).
    pub fn shared(&self) -> Arc<SharedSocket> {
        self.shared.clone()
    }
}

/// What a sender's write of a message came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sent {
    /// The socket took the whole frame.
    Whole,
    /// The socket took this many bytes of the frame: the rest is the session's to write, before anything else.
    Part(u16),
    /// Nothing was written: the message is not a small single frame, the capture is watched, the socket has no
    /// room, or it failed (which the session finds on its next write).
    Not,
}

impl SharedSocket {
    /// Writes `message` as a single frame of at most [`crate::outbound::COPY_UP_TO`] bytes, as much of it as the
    /// socket takes now, without waiting. Not while the console's capture is watched: then every message goes
    /// through the session, which records it.
    pub(crate) fn try_send(&self, message: &Outbound) -> Sent {
        if self.capture.as_deref().is_some_and(capture::Capture::watched) {
            return Sent::Not;
        }
        let Some(frame) = message.small_frame(self.max_frame) else {
            return Sent::Not;
        };
        let bytes = frame.as_bytes();
        let len = bytes.len();
        #[cfg(test)]
        let bytes = &bytes[..len.min(self.cut_at.load(std::sync::atomic::Ordering::Relaxed))];
        match self.stream.try_write(bytes) {
            Ok(n) if n == len => Sent::Whole,
            Ok(n @ 1..) => Sent::Part(n as u16),
            _ => Sent::Not,
        }
    }
}

#[cfg(test)]
impl SharedSocket {
    /// From now on, a sender's write hands the kernel at most `bytes` of a frame.
    pub(crate) fn cut_writes_at(&self, bytes: usize) {
        self.cut_at.store(bytes, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Waits until `ready` says the socket may be, then tries `io`, until it does not find the socket blocked (which also
/// clears the readiness tokio kept, so that `ready` waits for the next).
fn poll_io<T>(
    cx: &mut Context<'_>,
    ready: impl Fn(&mut Context<'_>) -> Poll<io::Result<()>>,
    mut io: impl FnMut() -> io::Result<T>,
) -> Poll<io::Result<T>> {
    loop {
        ready!(ready(cx))?;
        match io() {
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => continue,
            result => return Poll::Ready(result),
        }
    }
}

impl AsyncRead for TcpSocket {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let stream = &self.shared.stream;
        poll_io(cx, |cx| stream.poll_read_ready(cx), || stream.try_read_buf(buf).map(drop))
    }
}

impl AsyncWrite for TcpSocket {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let stream = &self.shared.stream;
        poll_io(cx, |cx| stream.poll_write_ready(cx), || stream.try_write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let stream = &self.shared.stream;
        poll_io(cx, |cx| stream.poll_write_ready(cx), || stream.try_write_vectored(bufs))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(socket2::SockRef::from(&self.shared.stream).shutdown(Shutdown::Write))
    }
}

#[cfg(test)]
mod tests;
