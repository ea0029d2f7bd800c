//! The text form of an HTTP request that the request-shaped targets read, so that seeds are readable and written by
//! hand: a request line, header lines, a blank line, the body.
//!
//! ```text
//! POST /CreateRoom?x=1 HTTP/1.1
//! host: example.amazonaws.com
//! content-type: application/json
//!
//! {"name":"room"}
//! ```
//!
//! Reading never fails on bytes that are not quite this (the fuzzer's): a missing method or path reads as empty, a
//! header line that is not a valid name and value is skipped, lines end at `\n` with an optional `\r`.

use http::{HeaderMap, HeaderName, HeaderValue};

/// One request, borrowed from the input.
#[derive(Debug)]
pub struct Request<'a> {
    pub method: &'a str,
    /// The path, still percent-encoded.
    pub path: &'a str,
    /// The query without `?`.
    pub query: Option<&'a str>,
    pub headers: HeaderMap,
    pub body: &'a [u8],
}

impl<'a> Request<'a> {
    /// Reads `data`; `None` when the request line is not UTF-8.
    pub fn parse(data: &'a [u8]) -> Option<Request<'a>> {
        let (head, body) = split_head(data);
        let mut lines = head.split(|&b| b == b'\n').map(|line| line.strip_suffix(b"\r").unwrap_or(line));
        let request_line = std::str::from_utf8(lines.next().unwrap_or_default()).ok()?;
        let mut words = request_line.splitn(3, ' ');
        let method = words.next().unwrap_or_default();
        let target = words.next().unwrap_or_default();
        let (path, query) = match target.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (target, None),
        };
        let mut headers = HeaderMap::new();
        for line in lines {
            let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
            let (name, value) = line.split_at(colon);
            let value = value.get(1..).unwrap_or_default();
            let value = value.strip_prefix(b" ").unwrap_or(value);
            if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value)) {
                headers.append(name, value);
            }
        }
        Some(Request { method, path, query, headers, body })
    }
}

/// The head (up to the first blank line) and the body after it; all head when there is no blank line.
fn split_head(data: &[u8]) -> (&[u8], &[u8]) {
    for (at, window) in data.windows(2).enumerate() {
        if window == b"\n\n" {
            return (&data[..at], &data[at + 2..]);
        }
        if window == b"\n\r" && data.get(at + 2) == Some(&b'\n') {
            return (&data[..at], &data[at + 3..]);
        }
    }
    (data, &[])
}

/// Splits an input holding several requests, separated by lines of `---`.
pub fn split_requests(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let current = rest?;
        match find(current, b"\n---\n") {
            Some(at) => {
                rest = Some(&current[at + 5..]);
                Some(&current[..at])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_text_form() {
        let request =
            Request::parse(b"POST /a%20b?x=1&y HTTP/1.1\r\nHost: h\r\nbad header\r\nx-a: 1\r\n\r\n{}").unwrap();
        assert_eq!((request.method, request.path, request.query), ("POST", "/a%20b", Some("x=1&y")));
        assert_eq!(request.headers.len(), 2);
        assert_eq!(request.headers["host"], "h");
        assert_eq!(request.body, b"{}");

        let bare = Request::parse(b"GET").unwrap();
        assert_eq!((bare.method, bare.path, bare.query, bare.body), ("GET", "", None, &b""[..]));
        assert!(Request::parse(b"\xff /").is_none());
    }

    #[test]
    fn splits_requests_on_dashes() {
        let parts: Vec<&[u8]> = split_requests(b"GET /a\n---\nGET /b\n\nbody\n---\n").collect();
        assert_eq!(parts, vec![&b"GET /a"[..], b"GET /b\n\nbody", b""]);
    }
}
