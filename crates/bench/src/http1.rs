//! A minimal HTTP/1.1 keep-alive client: one request at a time per connection, `Content-Length` bodies only, which
//! is all the servers under test answer on these paths.

use std::io;
use std::net::{IpAddr, SocketAddr};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A response's status and body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// One keep-alive connection.
pub struct Conn {
    stream: Option<TcpStream>,
    buf: Vec<u8>,
    pub host: String,
    source: Option<IpAddr>,
    server: SocketAddr,
    /// Connections opened, the first included (servers that answer `Connection: close` need one per request).
    pub opened: u64,
}

impl Conn {
    pub async fn open(source: Option<IpAddr>, server: SocketAddr) -> io::Result<Conn> {
        let stream = crate::ws::tcp_connect(source, server).await?;
        Ok(Conn {
            stream: Some(stream),
            buf: Vec::with_capacity(1024),
            host: server.to_string(),
            source,
            server,
            opened: 1,
        })
    }

    /// Sends `POST path?query` with `headers` (each `Name: value`) and `body`, and reads the response.
    pub async fn post(&mut self, path_and_query: &str, headers: &[(&str, &str)], body: &[u8]) -> io::Result<Response> {
        let mut request = Vec::with_capacity(512 + body.len());
        request.extend_from_slice(b"POST ");
        request.extend_from_slice(path_and_query.as_bytes());
        request.extend_from_slice(b" HTTP/1.1\r\nHost: ");
        request.extend_from_slice(self.host.as_bytes());
        for (name, value) in headers {
            request.extend_from_slice(b"\r\n");
            request.extend_from_slice(name.as_bytes());
            request.extend_from_slice(b": ");
            request.extend_from_slice(value.as_bytes());
        }
        request.extend_from_slice(format!("\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes());
        request.extend_from_slice(body);
        if self.stream.is_none() {
            self.stream = Some(crate::ws::tcp_connect(self.source, self.server).await?);
            self.buf.clear();
            self.opened += 1;
        }
        let result = self.exchange(&request).await;
        if result.is_err() {
            self.stream = None;
        }
        result
    }

    async fn exchange(&mut self, request: &[u8]) -> io::Result<Response> {
        let stream = self.stream.as_mut().ok_or_else(|| io::Error::other("not connected"))?;
        stream.write_all(request).await?;
        let (response, close) = self.read_response().await?;
        if close {
            self.stream = None;
        }
        Ok(response)
    }

    /// The response, and whether the server closes the connection after it.
    async fn read_response(&mut self) -> io::Result<(Response, bool)> {
        let head_end = loop {
            if let Some(pos) = memchr::memmem::find(&self.buf, b"\r\n\r\n") {
                break pos + 4;
            }
            self.read_more().await?;
        };
        let head = std::str::from_utf8(&self.buf[..head_end]).map_err(io::Error::other)?;
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| io::Error::other("malformed status line"))?;
        let length: usize = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse().ok())
            .unwrap_or(0);
        let close = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .any(|(name, v)| name.trim().eq_ignore_ascii_case("connection") && v.trim().eq_ignore_ascii_case("close"));
        while self.buf.len() < head_end + length {
            self.read_more().await?;
        }
        let body = self.buf[head_end..head_end + length].to_vec();
        self.buf.drain(..head_end + length);
        Ok((Response { status, body }, close))
    }

    async fn read_more(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 4096];
        let stream = self.stream.as_mut().ok_or_else(|| io::Error::other("not connected"))?;
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed"));
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}
