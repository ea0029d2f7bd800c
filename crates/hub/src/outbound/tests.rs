//! The frames [`write_all`] puts on the wire, byte for byte against tungstenite's own encoding, whatever the sizes,
//! the frame limit and however little the socket takes per call.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;
use tokio::io::AsyncWrite;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

use super::{COPY_UP_TO, Outbound, WriteError, write_all};

/// What tungstenite writes for `message` split into frames of at most `max_frame` bytes of payload.
fn reference(message: &Outbound, max_frame: usize) -> Vec<u8> {
    let kind = if message.is_text() { Data::Text } else { Data::Binary };
    let payload = message.payload();
    let mut out = Vec::new();
    let mut start = 0;
    loop {
        let end = (start + max_frame).min(payload.len());
        let opcode = if start == 0 { OpCode::Data(kind) } else { OpCode::Data(Data::Continue) };
        Frame::message(payload.slice(start..end), opcode, end == payload.len()).format(&mut out).unwrap();
        if end == payload.len() {
            return out;
        }
        start = end;
    }
}

/// A socket that takes at most the next of `steps` bytes per call (cycling), and is not ready every third call.
struct Trickle {
    taken: Vec<u8>,
    steps: Vec<usize>,
    calls: usize,
    vectored: bool,
}

impl Trickle {
    fn new(steps: Vec<usize>, vectored: bool) -> Trickle {
        Trickle { taken: Vec::new(), steps, calls: 0, vectored }
    }

    fn take(&mut self, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        self.calls += 1;
        if self.calls.is_multiple_of(3) {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let mut room = self.steps[self.calls % self.steps.len()];
        let before = self.taken.len();
        for buf in bufs {
            let n = room.min(buf.len());
            self.taken.extend_from_slice(&buf[..n]);
            room -= n;
            if room == 0 || !self.vectored {
                break;
            }
        }
        Poll::Ready(Ok(self.taken.len() - before))
    }
}

impl AsyncWrite for Trickle {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.get_mut().take(cx, &[io::IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().take(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.vectored
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

fn written(batch: &[Outbound], max_frame: usize, steps: Vec<usize>, vectored: bool) -> Vec<u8> {
    written_from(batch, max_frame, steps, vectored, 0)
}

/// What the session writes of `batch` when a sender wrote its first `already` bytes.
fn written_from(batch: &[Outbound], max_frame: usize, steps: Vec<usize>, vectored: bool, already: usize) -> Vec<u8> {
    let mut socket = Trickle::new(steps, vectored);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    runtime.block_on(write_all(&mut socket, batch, max_frame, Duration::from_secs(30), already)).unwrap();
    socket.taken
}

#[test]
fn each_length_form_is_encoded_as_tungstenite_encodes_it() {
    for len in [0, 1, 125, 126, 127, 65_535, 65_536, 70_000] {
        for message in [Outbound::from("t".repeat(len)), Outbound::binary(Bytes::from(vec![0xFF; len]))] {
            let expected = reference(&message, usize::MAX);
            assert_eq!(written(std::slice::from_ref(&message), usize::MAX, vec![usize::MAX], true), expected);
        }
    }
}

#[test]
fn a_message_over_the_frame_limit_goes_as_a_first_frame_and_continuations() {
    let message = Outbound::from("abcdefghij".to_owned());
    let bytes = written(std::slice::from_ref(&message), 4, vec![usize::MAX], true);
    // Text "abcd" (no FIN), continuation "efgh" (no FIN), continuation "ij" with FIN.
    assert_eq!(bytes, b"\x01\x04abcd\x00\x04efgh\x80\x02ij");
    assert_eq!(bytes, reference(&message, 4));
}

#[test]
fn a_socket_that_takes_nothing_is_an_error_not_a_loop() {
    struct Full;
    impl AsyncWrite for Full {
        fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, _: &[u8]) -> Poll<io::Result<usize>> {
            Poll::Ready(Ok(0))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let written = runtime.block_on(write_all(&mut Full, &[Outbound::from("x")], 16, Duration::from_secs(30), 0));
    assert!(matches!(written, Err(WriteError::Failed)), "{written:?}");
}

/// A socket that never has room again: the write waits for the stall limit, then gives up.
#[tokio::test(start_paused = true)]
async fn a_socket_without_room_for_the_stall_limit_stalls_the_write() {
    struct Stuck;
    impl AsyncWrite for Stuck {
        fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, _: &[u8]) -> Poll<io::Result<usize>> {
            Poll::Pending
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }
    let started = tokio::time::Instant::now();
    let written = write_all(&mut Stuck, &[Outbound::from("x")], 16, Duration::from_secs(30), 0).await;
    assert!(matches!(written, Err(WriteError::Stalled)), "{written:?}");
    assert_eq!(started.elapsed(), Duration::from_secs(30));
}

#[test]
fn text_is_told_from_binary_and_read_back() {
    assert_eq!(Outbound::from_bytes(Bytes::from_static(b"hi")).as_text(), Some("hi"));
    let binary = Outbound::from_bytes(Bytes::from_static(&[0xC3, 0x28]));
    assert!(!binary.is_text());
    assert_eq!(binary.as_text(), None);
    assert_eq!(binary.len(), 2);
}

proptest! {
    /// Any batch, any frame limit, any socket: the bytes on the wire are tungstenite's frames for each message in
    /// order, none lost, none repeated, however the writes were cut.
    ///
    /// A sender's frame (`small_frame`, for a message small enough) is the same frame, and when a sender wrote part of
    /// the first one, the session writes the rest of the same bytes.
    #[test]
    fn a_batch_reaches_the_socket_as_tungstenite_would_frame_it(
        lengths in prop::collection::vec((0usize..600, any::<bool>()), 1..80),
        max_frame in 1usize..700,
        steps in prop::collection::vec(1usize..700, 1..5),
        vectored in any::<bool>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let batch: Vec<Outbound> = lengths
            .iter()
            .enumerate()
            .map(|(i, &(len, text))| {
                let fill = b'a' + (i % 26) as u8;
                if text {
                    Outbound::from(String::from_utf8(vec![fill; len]).unwrap())
                } else {
                    Outbound::binary(Bytes::from(vec![fill ^ 0x80; len]))
                }
            })
            .collect();
        let expected: Vec<u8> = batch.iter().flat_map(|message| reference(message, max_frame)).collect();
        prop_assert_eq!(&written(&batch, max_frame, steps.clone(), vectored), &expected);

        let first = reference(&batch[0], max_frame);
        let copied = batch[0].small_frame(max_frame);
        let small = batch[0].len() <= max_frame && first.len() <= COPY_UP_TO;
        prop_assert_eq!(copied.is_some(), small);
        if let Some(frame) = copied {
            prop_assert_eq!(frame.as_bytes(), &first[..]);
            let already = cut.index(frame.as_bytes().len());
            prop_assert_eq!(&written_from(&batch, max_frame, steps, vectored, already)[..], &expected[already..]);
        }
    }
}
