//! A minimal WebSocket client for load generation: bind-before-connect, a plain HTTP/1.1 upgrade, and a frame reader
//! that parses in place without allocating per message, so the generator costs far less per delivery than the
//! servers it measures.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// A fixed handshake key: the generator does not check `Sec-WebSocket-Accept` beyond the 101 status.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// Frame opcodes.
pub const OP_CONTINUATION: u8 = 0x0;
pub const OP_TEXT: u8 = 0x1;
pub const OP_BINARY: u8 = 0x2;
pub const OP_CLOSE: u8 = 0x8;
pub const OP_PING: u8 = 0x9;
pub const OP_PONG: u8 = 0xA;

/// Opens a TCP connection from `source` (bind before connect, any port) to `server`.
pub async fn tcp_connect(source: Option<IpAddr>, server: SocketAddr) -> io::Result<TcpStream> {
    let socket = if server.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    if let Some(ip) = source {
        socket.bind(SocketAddr::new(ip, 0))?;
    }
    let stream = socket.connect(server).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// A connected client: the stream and its read buffer (which may already hold frames sent right after the 101).
pub struct Client {
    pub stream: TcpStream,
    pub reader: FrameReader,
}

/// Connects and upgrades; `protocol` is sent as `Sec-WebSocket-Protocol`.
pub async fn connect(
    source: Option<IpAddr>,
    server: SocketAddr,
    path: &str,
    protocol: Option<&str>,
    deadline: Duration,
) -> io::Result<Client> {
    tokio::time::timeout(deadline, async {
        let mut stream = tcp_connect(source, server).await?;
        let mut request = format!(
            "GET {path} HTTP/1.1\r\nHost: {server}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\nUser-Agent: switchboard-bench\r\n"
        );
        if let Some(protocol) = protocol {
            request.push_str("Sec-WebSocket-Protocol: ");
            request.push_str(protocol);
            request.push_str("\r\n");
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut reader = FrameReader::new(2048);
        let head_end = loop {
            if let Some(pos) = memchr::memmem::find(reader.pending(), b"\r\n\r\n") {
                break pos + 4;
            }
            if reader.fill(&mut stream).await? == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed during the handshake"));
            }
        };
        let head = &reader.pending()[..head_end];
        let status_line = head.split(|b| *b == b'\n').next().unwrap_or_default();
        if !status_line.windows(5).any(|w| w == b" 101 ") {
            let line = String::from_utf8_lossy(status_line).trim().to_owned();
            return Err(io::Error::other(format!("handshake refused: {line}")));
        }
        reader.consume(head_end);
        Ok(Client { stream, reader })
    })
    .await
    .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "handshake timed out"))?
}

/// One parsed frame, borrowed from the reader's buffer.
#[derive(Debug)]
pub struct Frame<'a> {
    pub opcode: u8,
    pub fin: bool,
    pub payload: &'a [u8],
}

/// A growable read buffer that yields complete frames.
pub struct FrameReader {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl FrameReader {
    pub fn new(capacity: usize) -> FrameReader {
        FrameReader { buf: vec![0; capacity], start: 0, end: 0 }
    }

    pub fn pending(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    pub fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Reads more bytes; returns how many (0 at end of stream).
    pub async fn fill<R: AsyncRead + Unpin>(&mut self, stream: &mut R) -> io::Result<usize> {
        if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else {
                self.buf.resize(self.buf.len() * 2, 0);
            }
        }
        let n = stream.read(&mut self.buf[self.end..]).await?;
        self.end += n;
        Ok(n)
    }

    /// The length of the next complete frame's header and payload, if it is all buffered.
    fn frame_bounds(&self) -> Option<(u8, bool, usize, usize)> {
        let b = self.pending();
        if b.len() < 2 {
            return None;
        }
        let fin = b[0] & 0x80 != 0;
        let opcode = b[0] & 0x0f;
        let masked = b[1] & 0x80 != 0;
        let (len, mut header) = match b[1] & 0x7f {
            126 => {
                if b.len() < 4 {
                    return None;
                }
                (u64::from(u16::from_be_bytes([b[2], b[3]])), 4)
            }
            127 => {
                if b.len() < 10 {
                    return None;
                }
                (u64::from_be_bytes(b[2..10].try_into().ok()?), 10)
            }
            n => (u64::from(n), 2),
        };
        if masked {
            header += 4;
        }
        let total = header + usize::try_from(len).ok()?;
        (b.len() >= total).then_some((opcode, fin, header, total))
    }

    /// The next complete frame, if buffered; call [`FrameReader::consume`] with its length after using it.
    pub fn next_frame(&self) -> Option<(Frame<'_>, usize)> {
        let (opcode, fin, header, total) = self.frame_bounds()?;
        let payload = &self.buf[self.start + header..self.start + total];
        Some((Frame { opcode, fin, payload }, total))
    }
}

/// Encodes a masked client frame into `out`.
pub fn encode_client_frame(opcode: u8, payload: &[u8], out: &mut Vec<u8>) {
    const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
    out.push(0x80 | opcode);
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n <= 0xffff => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&MASK);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
}

/// Sends one masked client frame.
pub async fn send_frame(stream: &mut TcpStream, opcode: u8, payload: &[u8]) -> io::Result<()> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    encode_client_frame(opcode, payload, &mut out);
    stream.write_all(&out).await
}

/// The close code of a close frame's payload (1005 when absent).
pub fn close_code(payload: &[u8]) -> u16 {
    match payload {
        [a, b, ..] => u16::from_be_bytes([*a, *b]),
        _ => 1005,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_frames_of_every_length_form() {
        let mut reader = FrameReader::new(16);
        let mut wire = Vec::new();
        for len in [5usize, 200, 70_000] {
            wire.extend(crate::floor::text_frame(&vec![b'a'; len]));
        }
        reader.buf = wire.clone();
        reader.end = wire.len();
        for len in [5usize, 200, 70_000] {
            let (frame, total) = reader.next_frame().unwrap();
            assert_eq!((frame.opcode, frame.fin, frame.payload.len()), (OP_TEXT, true, len));
            reader.consume(total);
        }
        assert!(reader.next_frame().is_none());
    }

    #[test]
    fn masks_client_frames() {
        let mut out = Vec::new();
        encode_client_frame(OP_TEXT, b"hello", &mut out);
        assert_eq!(out[0], 0x81);
        assert_eq!(out[1], 0x85);
        let mask = &out[2..6];
        let unmasked: Vec<u8> = out[6..].iter().enumerate().map(|(i, b)| b ^ mask[i % 4]).collect();
        assert_eq!(unmasked, b"hello");
    }
}
