//! The floor (`switchboard-bench floor-server`): the least possible work per delivery, measured with the same
//! scenarios as the servers under test. It accepts WebSocket upgrades and keeps the sockets; `POST /publish` encodes
//! its body once as a text frame and writes it to every member with one blocking `write` each, from `--threads`
//! writer threads (members spread round robin, each member's frames in order), and answers when all are written;
//! `POST /prod/@connections/{i}` writes, from the request's thread, to the member whose upgrade carried `?i={i}`.
//! No reading, no queue, no allocation per delivery: what is left is the kernel's cost of a loopback write and the
//! wake-up of its reader. Frames published while a writer was busy go out together, one `write` per member (unless
//! `--no-batch`).

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use sha1::{Digest, Sha1};

/// The line a started floor server prints, followed by its address.
pub const LISTENING: &str = "floor server listening on ";
/// Largest request head and body the floor reads.
pub const MAX_HEAD: usize = 16 * 1024;
pub const MAX_BODY: usize = 1024 * 1024;
/// Pending connections the listener queues (the kernel caps it at `net.core.somaxconn`).
const BACKLOG: i32 = 4096;
/// Threads that answer WebSocket upgrades.
const HANDSHAKE_THREADS: usize = 8;
/// Most bytes of pending frames a batched write joins.
pub const MAX_BATCH: usize = 64 * 1024;
/// How long a request (a handshake, a head, a body) may take to arrive or a write to a member may stall, and how long
/// a keep-alive connection may idle.
const REQUEST_DEADLINE: Duration = Duration::from_secs(10);
const IDLE_DEADLINE: Duration = Duration::from_secs(120);

/// A member's socket (`None` once closed); its lock is only ever taken for one write, uncontended but for a post
/// and a publish to the same member at once.
type Member = Arc<Mutex<Option<TcpStream>>>;

/// What a writer thread is asked to do.
enum Command {
    Add(Member),
    /// Write the frame to every member; answer how many writes succeeded.
    All(Arc<[u8]>, Sender<usize>),
}

/// One writer thread's members, in the order they came; a member whose write failed or stalled for
/// [`REQUEST_DEADLINE`] is closed.
struct Writer {
    members: Vec<Member>,
}

/// Writes `frame` to `member`; closes it on failure.
fn write_to(member: &Member, frame: &[u8]) -> bool {
    let mut slot = member.lock().unwrap_or_else(|e| e.into_inner());
    let written = slot.as_mut().is_some_and(|m| m.write_all(frame).is_ok());
    if !written {
        *slot = None;
    }
    written
}

impl Writer {
    /// Runs the commands in order. With `batch`, frames published while earlier ones were being written (up to
    /// [`MAX_BATCH`] bytes) go out together, one `write` per member, as a server that drains a queue would do.
    fn run(mut self, commands: Receiver<Command>, batch: bool) {
        let mut frames: Vec<u8> = Vec::new();
        let mut waiting: Vec<Sender<usize>> = Vec::new();
        let mut next = None;
        loop {
            let command = match next.take() {
                Some(command) => command,
                None => match commands.recv() {
                    Ok(command) => command,
                    Err(_) => return,
                },
            };
            match command {
                Command::Add(member) => self.members.push(member),
                Command::All(frame, done) => {
                    frames.clear();
                    frames.extend_from_slice(&frame);
                    waiting.push(done);
                    while batch && frames.len() < MAX_BATCH {
                        match commands.try_recv() {
                            Ok(Command::All(frame, done)) => {
                                frames.extend_from_slice(&frame);
                                waiting.push(done);
                            }
                            Ok(other) => {
                                next = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    let mut written = 0;
                    for member in &self.members {
                        written += usize::from(write_to(member, &frames));
                    }
                    for done in waiting.drain(..) {
                        let _ = done.send(written);
                    }
                }
            }
        }
    }
}

/// The writer threads, the members by client index, and the count of members so far.
struct Floor {
    writers: Vec<Sender<Command>>,
    by_index: Mutex<HashMap<usize, Member>>,
    next: Mutex<usize>,
}

impl Floor {
    /// Adds a member, then writes `answer` (its 101) to it. The member is registered before its answer is written,
    /// under its own lock, which every write to it takes: a client that has read its 101 gets every later publish and
    /// post, and nothing is written to it before the 101.
    fn add(&self, index: Option<usize>, stream: TcpStream, answer: &[u8]) -> io::Result<()> {
        stream.set_write_timeout(Some(REQUEST_DEADLINE))?;
        let member: Member = Arc::new(Mutex::new(Some(stream)));
        let mut slot = member.lock().unwrap_or_else(|e| e.into_inner());
        {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            self.by_index.lock().unwrap_or_else(|e| e.into_inner()).insert(index.unwrap_or(*next), member.clone());
            let _ = self.writers[*next % self.writers.len()].send(Command::Add(member.clone()));
            *next += 1;
        }
        let written = slot.as_mut().map_or(Ok(()), |stream| stream.write_all(answer));
        if written.is_err() {
            *slot = None;
        }
        written
    }

    /// Writes `payload` as one text frame to every member; returns how many writes succeeded.
    fn publish(&self, payload: &[u8]) -> usize {
        let frame: Arc<[u8]> = text_frame(payload).into();
        let (done, answers) = channel();
        for writer in &self.writers {
            let _ = writer.send(Command::All(frame.clone(), done.clone()));
        }
        drop(done);
        answers.iter().sum()
    }

    /// Writes `payload` to the member with this client index, from the calling thread.
    fn post(&self, index: usize, payload: &[u8]) -> bool {
        let member = self.by_index.lock().unwrap_or_else(|e| e.into_inner()).get(&index).cloned();
        member.is_some_and(|member| write_to(&member, &text_frame(payload)))
    }
}

/// An unmasked WebSocket text frame (server to client) holding `payload`.
pub fn text_frame(payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(payload.len() + 10);
    frame.push(0x81);
    match payload.len() {
        n if n < 126 => frame.push(n as u8),
        n if n <= 0xffff => {
            frame.push(126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(payload);
    frame
}

/// `Sec-WebSocket-Accept` for a client's key (RFC 6455 §4.2.2).
pub fn accept_key(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.trim().as_bytes());
    sha.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64::engine::general_purpose::STANDARD.encode(sha.finalize())
}

/// Serves until the process is killed: prints [`LISTENING`] and the address, then accepts.
pub fn serve(listen: SocketAddr, threads: usize, batch: bool) -> anyhow::Result<()> {
    // A backlog as deep as the servers' (std's 128 would overflow under a burst of handshakes, and each dropped SYN
    // costs its client a one-second retransmission).
    let socket = socket2::Socket::new(socket2::Domain::for_address(listen), socket2::Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.bind(&listen.into())?;
    socket.listen(BACKLOG)?;
    let listener: TcpListener = socket.into();
    println!("{LISTENING}{}", listener.local_addr()?);
    io::stdout().flush()?;
    run(listener, threads, batch);
    Ok(())
}

/// Accepts on `listener` for as long as it lasts, with `threads` writer threads (batching pending frames or not).
pub fn run(listener: TcpListener, threads: usize, batch: bool) {
    let mut writers = Vec::new();
    for _ in 0..threads.max(1) {
        let (tx, rx) = channel();
        std::thread::spawn(move || Writer { members: Vec::new() }.run(rx, batch));
        writers.push(tx);
    }
    let floor = Arc::new(Floor { writers, by_index: Mutex::default(), next: Mutex::new(0) });
    // Upgrades are answered by a few handshake threads (each within REQUEST_DEADLINE), so a member costs the floor no
    // thread and no buffer of its own and one slow client holds up no other; HTTP connections (the publishers) get a
    // thread each.
    let (accepted, queue) = channel::<TcpStream>();
    let queue = Arc::new(Mutex::new(queue));
    for _ in 0..HANDSHAKE_THREADS {
        let (queue, floor) = (queue.clone(), floor.clone());
        std::thread::spawn(move || {
            loop {
                let next = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
                let Ok(stream) = next else { return };
                let mut buf = Vec::with_capacity(1024);
                if let Ok(Some(http)) = upgrade(stream, &floor, &mut buf) {
                    let floor = floor.clone();
                    let _ = std::thread::Builder::new().stack_size(256 * 1024).spawn(move || {
                        let _ = requests(http, buf, &floor);
                    });
                }
            }
        });
    }
    for stream in listener.incoming().flatten() {
        let _ = accepted.send(stream);
    }
}

/// A parsed request head.
#[derive(Debug, PartialEq, Eq)]
pub struct Head {
    pub method: String,
    pub target: String,
    pub content_length: usize,
    pub websocket_key: Option<String>,
    pub close: bool,
}

/// Parses a request head (up to and including the blank line).
pub fn parse_head(head: &[u8]) -> Result<Head, &'static str> {
    let text = std::str::from_utf8(head).map_err(|_| "request head is not UTF-8")?;
    let mut lines = text.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let (Some(method), Some(target), Some(version)) = (first.next(), first.next(), first.next()) else {
        return Err("malformed request line");
    };
    if !version.starts_with("HTTP/1.") {
        return Err("not HTTP/1.x");
    }
    let mut parsed = Head {
        method: method.to_owned(),
        target: target.to_owned(),
        content_length: 0,
        websocket_key: None,
        close: false,
    };
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':').ok_or("malformed header")?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            parsed.content_length = value.parse().map_err(|_| "malformed Content-Length")?;
        } else if name.eq_ignore_ascii_case("sec-websocket-key") {
            parsed.websocket_key = Some(value.to_owned());
        } else if name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close") {
            parsed.close = true;
        }
    }
    Ok(parsed)
}

/// The client index in `?i=N`, if any.
fn query_index(target: &str) -> Option<usize> {
    let query = target.split_once('?')?.1;
    query.split('&').find_map(|kv| kv.strip_prefix("i=")).and_then(|v| v.parse().ok())
}

fn respond(stream: &mut TcpStream, status: &str, body: &str) -> io::Result<()> {
    let response =
        format!("HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len());
    stream.write_all(response.as_bytes())
}

/// Reads the first request head: a WebSocket upgrade is answered and handed to a writer (`None`); any other request
/// is left in `buf` and its connection returned.
fn upgrade(mut stream: TcpStream, floor: &Floor, buf: &mut Vec<u8>) -> io::Result<Option<TcpStream>> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(REQUEST_DEADLINE))?;
    let Some(head_end) = read_head(&mut stream, buf)? else { return Ok(None) };
    let head = match parse_head(&buf[..head_end]) {
        Ok(head) if head.method != "GET" => return Ok(Some(stream)),
        Ok(head) => head,
        Err(why) => {
            respond(&mut stream, "400 Bad Request", &format!(r#"{{"message":"{why}"}}"#))?;
            return Ok(None);
        }
    };
    let Some(key) = &head.websocket_key else {
        respond(&mut stream, "400 Bad Request", r#"{"message":"not a WebSocket upgrade"}"#)?;
        return Ok(None);
    };
    let answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(key)
    );
    stream.set_read_timeout(None)?;
    floor.add(query_index(&head.target), stream, answer.as_bytes())?;
    Ok(None)
}

/// Reads until `buf` holds a request head; its length, or `None` at the end of the stream or past [`MAX_HEAD`].
fn read_head(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<Option<usize>> {
    loop {
        let end = memchr::memmem::find(buf, b"\r\n\r\n").map(|pos| pos + 4);
        if let Some(end) = end.filter(|end| *end <= MAX_HEAD) {
            return Ok(Some(end));
        }
        if end.is_some() || buf.len() > MAX_HEAD {
            respond(stream, "431 Request Header Fields Too Large", r#"{"message":"head too large"}"#)?;
            return Ok(None);
        }
        if read_more(stream, buf)? == 0 {
            return Ok(None);
        }
    }
}

/// Keep-alive HTTP requests: `POST /publish` and `POST …/@connections/{i}`.
fn requests(mut stream: TcpStream, mut buf: Vec<u8>, floor: &Floor) -> io::Result<()> {
    loop {
        stream.set_read_timeout(Some(if buf.is_empty() { IDLE_DEADLINE } else { REQUEST_DEADLINE }))?;
        if buf.is_empty() && read_more(&mut stream, &mut buf)? == 0 {
            return Ok(());
        }
        stream.set_read_timeout(Some(REQUEST_DEADLINE))?;
        let Some(head_end) = read_head(&mut stream, &mut buf)? else { return Ok(()) };
        let head = match parse_head(&buf[..head_end]) {
            Ok(head) => head,
            Err(why) => return respond(&mut stream, "400 Bad Request", &format!(r#"{{"message":"{why}"}}"#)),
        };
        if head.content_length > MAX_BODY {
            return respond(&mut stream, "413 Payload Too Large", r#"{"message":"body too large"}"#);
        }
        while buf.len() < head_end + head.content_length {
            if read_more(&mut stream, &mut buf)? == 0 {
                return Ok(());
            }
        }
        let body = &buf[head_end..head_end + head.content_length];
        let path = head.target.split('?').next().unwrap_or_default();
        match (head.method.as_str(), path) {
            ("POST", "/publish") => {
                let written = floor.publish(body);
                respond(&mut stream, "200 OK", &format!(r#"{{"written":{written}}}"#))?;
            }
            ("POST", p) if p.contains("/@connections/") => {
                let index = p.rsplit('/').next().and_then(|i| i.parse().ok());
                if index.is_some_and(|i| floor.post(i, body)) {
                    respond(&mut stream, "200 OK", "")?;
                } else {
                    respond(&mut stream, "410 Gone", r#"{"message":"GoneException"}"#)?;
                }
            }
            _ => respond(&mut stream, "404 Not Found", r#"{"message":"POST /publish or /prod/@connections/{i}"}"#)?,
        }
        buf.drain(..head_end + head.content_length);
        if head.close {
            return Ok(());
        }
    }
}

fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<usize> {
    let mut chunk = [0u8; 4096];
    let n = stream.read(&mut chunk)?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A floor on an ephemeral port, with two writer threads (the thread stays until the test process ends).
    fn start() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || run(listener, 2, true));
        addr
    }

    fn exchange(stream: &mut TcpStream, request: &[u8]) -> String {
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        stream.write_all(request).unwrap();
        let mut buf = Vec::new();
        while memchr::memmem::find(&buf, b"\r\n\r\n").is_none() {
            assert!(read_more(stream, &mut buf).unwrap() > 0, "closed: {}", String::from_utf8_lossy(&buf));
        }
        String::from_utf8_lossy(&buf).into_owned()
    }

    fn member(addr: SocketAddr, index: usize) -> TcpStream {
        let mut ws = TcpStream::connect(addr).unwrap();
        let upgrade = format!("GET /prod?i={index} HTTP/1.1\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
        let answer = exchange(&mut ws, upgrade.as_bytes());
        assert!(answer.starts_with("HTTP/1.1 101 ") && answer.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "{answer}");
        ws
    }

    fn frame_of(ws: &mut TcpStream, payload: &[u8]) {
        let mut got = vec![0u8; payload.len() + 2];
        ws.read_exact(&mut got).unwrap();
        assert_eq!(got, text_frame(payload));
    }

    #[test]
    fn members_get_every_publish_and_their_own_posts_in_order() {
        let addr = start();
        let mut members: Vec<TcpStream> = (0..3).map(|i| member(addr, i)).collect();
        let mut http = TcpStream::connect(addr).unwrap();
        for body in ["one", "two"] {
            let request = format!("POST /publish HTTP/1.1\r\nContent-Length: {}\r\n\r\n{body}", body.len());
            let answer = exchange(&mut http, request.as_bytes());
            assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
        }
        let post = exchange(&mut http, b"POST /prod/@connections/1 HTTP/1.1\r\nContent-Length: 4\r\n\r\nmine");
        assert!(post.starts_with("HTTP/1.1 200 "), "{post}");
        let gone = exchange(&mut http, b"POST /prod/@connections/9 HTTP/1.1\r\nContent-Length: 1\r\n\r\nx");
        assert!(gone.starts_with("HTTP/1.1 410 "), "{gone}");
        for (i, ws) in members.iter_mut().enumerate() {
            frame_of(ws, b"one");
            frame_of(ws, b"two");
            if i == 1 {
                frame_of(ws, b"mine");
            }
        }
    }

    #[test]
    fn requests_over_the_limits_are_refused() {
        let addr = start();
        let mut big_body = TcpStream::connect(addr).unwrap();
        let request = format!("POST /publish HTTP/1.1\r\nContent-Length: {}\r\n\r\n", MAX_BODY + 1);
        assert!(exchange(&mut big_body, request.as_bytes()).starts_with("HTTP/1.1 413 "));
        let mut big_head = TcpStream::connect(addr).unwrap();
        let request = format!("POST /publish HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(MAX_HEAD + 1));
        assert!(exchange(&mut big_head, request.as_bytes()).starts_with("HTTP/1.1 431 "));
        let mut not_an_upgrade = TcpStream::connect(addr).unwrap();
        assert!(exchange(&mut not_an_upgrade, b"GET / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 400 "));
    }

    #[test]
    fn the_accept_key_is_rfc_6455s_example() {
        assert_eq!(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn frames_carry_their_length_in_the_right_form() {
        assert_eq!(text_frame(b"hi"), b"\x81\x02hi");
        let medium = text_frame(&[b'x'; 300]);
        assert_eq!(&medium[..4], &[0x81, 126, 1, 44]);
        assert_eq!(medium.len(), 304);
        let large = text_frame(&vec![b'x'; 70_000]);
        assert_eq!(&large[..2], &[0x81, 127]);
        assert_eq!(u64::from_be_bytes(large[2..10].try_into().unwrap()), 70_000);
    }

    #[test]
    fn heads_parse_and_bad_ones_are_refused() {
        let head = parse_head(b"GET /prod?i=7 HTTP/1.1\r\nHost: x\r\nSec-WebSocket-Key: abc\r\n\r\n").unwrap();
        assert_eq!(head.websocket_key.as_deref(), Some("abc"));
        assert_eq!(query_index(&head.target), Some(7));
        let post = parse_head(b"POST /publish HTTP/1.1\r\nContent-Length: 12\r\nConnection: close\r\n\r\n").unwrap();
        assert_eq!((post.content_length, post.close), (12, true));
        assert!(parse_head(b"POST /publish HTTP/1.1\r\nContent-Length: many\r\n\r\n").is_err());
        assert!(parse_head(b"GARBAGE\r\n\r\n").is_err());
    }
}
