//! [`LeanStream`]: the byte stream under a session's WebSocket, whose read-ahead buffer exists only while it holds
//! bytes not yet taken, so that an idle connection keeps no read buffer of its own.
//!
//! The WebSocket codec reads in small steps (its `read_buffer_size`, kept small because the codec allocates that much
//! for every connection for as long as it lives). Each step would be a system call of its own; instead one read of up
//! to [`READ_AHEAD`] bytes lands in a buffer on the stack, what the step asked for is handed over, and only the rest
//! is copied to the heap, until the codec has taken it. Writes pass through untouched.

use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The most one read from the socket takes at once.
pub const READ_AHEAD: usize = 8 * 1024;

/// A stream whose read-ahead is held on the heap only between a read and the codec's last step through it.
#[derive(Debug)]
pub struct LeanStream<S> {
    inner: S,
    /// Bytes read from `inner` that the reader has not taken yet, from `taken` on; `None` once all were taken.
    ahead: Option<Box<[u8]>>,
    taken: usize,
}

impl<S> LeanStream<S> {
    pub fn new(inner: S) -> LeanStream<S> {
        LeanStream { inner, ahead: None, taken: 0 }
    }

    /// A stream whose first reads hand over `ahead`, bytes already read from `inner` by someone else (the HTTP
    /// server, past the upgrade request's head), before reading `inner` itself.
    pub fn with_ahead(inner: S, ahead: &[u8]) -> LeanStream<S> {
        LeanStream { inner, ahead: (!ahead.is_empty()).then(|| ahead.into()), taken: 0 }
    }

    /// Bytes read ahead and not taken yet.
    pub fn buffered(&self) -> usize {
        self.ahead.as_ref().map_or(0, |ahead| ahead.len() - self.taken)
    }

    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for LeanStream<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(ahead) = &this.ahead {
            let rest = &ahead[this.taken..];
            let n = rest.len().min(buf.remaining());
            buf.put_slice(&rest[..n]);
            this.taken += n;
            if this.taken == ahead.len() {
                this.ahead = None;
                this.taken = 0;
            }
            return Poll::Ready(Ok(()));
        }
        if buf.remaining() >= READ_AHEAD {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        let mut chunk = [MaybeUninit::<u8>::uninit(); READ_AHEAD];
        let mut read = ReadBuf::uninit(&mut chunk);
        ready!(Pin::new(&mut this.inner).poll_read(cx, &mut read))?;
        let filled = read.filled();
        let n = filled.len().min(buf.remaining());
        buf.put_slice(&filled[..n]);
        if n < filled.len() {
            this.ahead = Some(filled[n..].into());
            this.taken = 0;
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for LeanStream<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::{LeanStream, READ_AHEAD};

    #[tokio::test]
    async fn small_reads_take_one_read_ahead_and_release_it_once_taken() {
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let mut lean = LeanStream::new(server);
        let sent: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        client.write_all(&sent).await.unwrap();
        let mut got = Vec::new();
        let mut step = [0u8; 14];
        let n = lean.read(&mut step).await.unwrap();
        got.extend_from_slice(&step[..n]);
        assert_eq!(lean.buffered(), 1000 - 14, "one read took everything that was there");
        while got.len() < sent.len() {
            let n = lean.read(&mut step).await.unwrap();
            got.extend_from_slice(&step[..n]);
        }
        assert_eq!(got, sent);
        assert_eq!(lean.buffered(), 0);
        assert!(lean.ahead.is_none(), "nothing is held once everything was taken");
    }

    #[tokio::test]
    async fn bytes_read_ahead_elsewhere_come_before_the_stream() {
        let (mut client, server) = tokio::io::duplex(1024);
        let mut lean = LeanStream::with_ahead(server, b"first, ");
        client.write_all(b"then the stream").await.unwrap();
        drop(client);
        let mut got = Vec::new();
        let mut step = [0u8; 4];
        loop {
            let n = lean.read(&mut step).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&step[..n]);
        }
        assert_eq!(got, b"first, then the stream");
        assert!(LeanStream::with_ahead(tokio::io::empty(), b"").ahead.is_none(), "nothing ahead holds nothing");
    }

    #[tokio::test]
    async fn large_reads_go_straight_to_the_stream_and_writes_pass_through() {
        let (mut client, server) = tokio::io::duplex(4 * READ_AHEAD);
        let mut lean = LeanStream::new(server);
        let sent = vec![7u8; 2 * READ_AHEAD];
        client.write_all(&sent).await.unwrap();
        let mut got = vec![0u8; 2 * READ_AHEAD];
        lean.read_exact(&mut got).await.unwrap();
        assert_eq!(got, sent);
        assert!(lean.ahead.is_none());
        lean.write_all(b"pong").await.unwrap();
        lean.flush().await.unwrap();
        let mut back = [0u8; 4];
        client.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"pong");
        drop(client);
        assert_eq!(lean.read(&mut [0u8; 8]).await.unwrap(), 0, "the end of the stream reads as 0");
    }
}
