//! A socket for the session targets: reads replay the client's bytes in chunks, writes are counted and dropped, so
//! a session never waits on it and ends when the input does.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How many bytes the server wrote to a [`Replay`].
#[derive(Clone, Debug, Default)]
pub(crate) struct Written(Arc<AtomicUsize>);

impl Written {
    pub(crate) fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Debug)]
pub(crate) struct Replay {
    input: Vec<u8>,
    at: usize,
    chunk: usize,
    written: Written,
}

impl Replay {
    /// A socket that delivers `input` at most `chunk` bytes per read, then its end.
    pub(crate) fn new(input: Vec<u8>, chunk: usize) -> (Replay, Written) {
        let written = Written::default();
        (Replay { input, at: 0, chunk: chunk.max(1), written: written.clone() }, written)
    }
}

impl AsyncRead for Replay {
    fn poll_read(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let end = self.input.len().min(self.at + self.chunk).min(self.at + buf.remaining());
        buf.put_slice(&self.input[self.at..end]);
        self.at = end;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Replay {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.written.0.fetch_add(buf.len(), Ordering::Relaxed);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// One client text frame carrying `payload`: final, masked (with a zero key, so the payload reads as it is).
pub(crate) fn masked_text_frame(payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x81];
    match payload.len() {
        len @ 0..=125 => frame.push(0x80 | len as u8),
        len @ 126..=0xffff => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&[0; 4]);
    frame.extend_from_slice(payload);
    frame
}

#[cfg(test)]
mod tests {
    use super::masked_text_frame;

    #[test]
    fn frames_have_rfc_6455_lengths() {
        assert_eq!(masked_text_frame(b"hi"), [0x81, 0x82, 0, 0, 0, 0, b'h', b'i']);
        assert_eq!(&masked_text_frame(&[b'x'; 200])[..4], [0x81, 0xfe, 0, 200]);
        assert_eq!(&masked_text_frame(&[b'x'; 70_000])[..10], [0x81, 0xff, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
    }
}
