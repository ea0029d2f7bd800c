//! The canonical request (SigV4 task 1), written straight into a hasher or, for error texts, a buffer.
//!
//! Nothing here allocates on the common path: the request is streamed through a small stack
//! buffer into SHA-256. Only paths with `.`/`..`/empty segments need a vector of segments.

use http::HeaderMap;
use sha2::{Digest, Sha256};

/// Where canonical bytes go: a running SHA-256, or a `Vec<u8>` when the text itself is needed.
pub(crate) trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Sha256 {
    fn put(&mut self, bytes: &[u8]) {
        self.update(bytes);
    }
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

const BUF: usize = 256;

/// A stack buffer in front of a [`Sink`], so byte-at-a-time encoding costs few hasher calls.
struct Buffered<'s, S: Sink> {
    sink: &'s mut S,
    buf: [u8; BUF],
    len: usize,
}

impl<'s, S: Sink> Buffered<'s, S> {
    fn new(sink: &'s mut S) -> Self {
        Self { sink, buf: [0; BUF], len: 0 }
    }

    fn flush(&mut self) {
        if let Some(filled) = self.buf.get(..self.len) {
            self.sink.put(filled);
        }
        self.len = 0;
    }

    fn byte(&mut self, b: u8) {
        if self.len >= BUF {
            self.flush();
        }
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    fn bytes(&mut self, bytes: &[u8]) {
        if bytes.len() > BUF - self.len {
            self.flush();
            if bytes.len() >= BUF {
                self.sink.put(bytes);
                return;
            }
        }
        if let Some(dst) = self.buf.get_mut(self.len..self.len + bytes.len()) {
            dst.copy_from_slice(bytes);
            self.len += bytes.len();
        }
    }

    fn percent(&mut self, b: u8) {
        self.bytes(&[b'%', HEX_UPPER[usize::from(b >> 4)], HEX_UPPER[usize::from(b & 0xf)]]);
    }
}

impl<S: Sink> Drop for Buffered<'_, S> {
    fn drop(&mut self) {
        self.flush();
    }
}

const HEX_UPPER: [u8; 16] = *b"0123456789ABCDEF";

/// RFC 3986 unreserved characters: never percent-encoded in a canonical request.
pub(crate) fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// One `key[=value]` pair of the raw (still percent-encoded) query string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct QueryPair<'a> {
    pub(crate) key: &'a str,
    pub(crate) value: &'a str,
}

/// Splits a raw query string into pairs, in wire order; empty `&&` segments are skipped.
pub(crate) fn parse_query(raw: &str) -> Vec<QueryPair<'_>> {
    raw.split('&')
        .filter(|s| !s.is_empty())
        .map(|s| match s.split_once('=') {
            Some((key, value)) => QueryPair { key, value },
            None => QueryPair { key: s, value: "" },
        })
        .collect()
}

/// Sorts pairs the way the canonical query string orders them: by encoded key, then encoded value.
pub(crate) fn sort_query(pairs: &mut [QueryPair<'_>]) {
    pairs.sort_by(|a, b| {
        canonical_component(a.key)
            .cmp(canonical_component(b.key))
            .then_with(|| canonical_component(a.value).cmp(canonical_component(b.value)))
    });
}

/// Percent-decodes a query component (`+` is a space, invalid `%` escapes stay literal).
pub(crate) struct Decode<'a> {
    bytes: &'a [u8],
}

impl<'a> Decode<'a> {
    pub(crate) fn new(raw: &'a str) -> Self {
        Self { bytes: raw.as_bytes() }
    }
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

impl Iterator for Decode<'_> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        let (&first, rest) = self.bytes.split_first()?;
        match first {
            b'%' => {
                if let [h, l, tail @ ..] = rest
                    && let (Some(h), Some(l)) = (hex_val(*h), hex_val(*l))
                {
                    self.bytes = tail;
                    return Some(h << 4 | l);
                }
                self.bytes = rest;
                Some(b'%')
            }
            b'+' => {
                self.bytes = rest;
                Some(b' ')
            }
            other => {
                self.bytes = rest;
                Some(other)
            }
        }
    }
}

/// Decodes a query component into a string (lossy for non-UTF-8 bytes).
pub(crate) fn decode_component(raw: &str) -> std::borrow::Cow<'_, str> {
    if !raw.bytes().any(|b| b == b'%' || b == b'+') {
        return std::borrow::Cow::Borrowed(raw);
    }
    let bytes: Vec<u8> = Decode::new(raw).collect();
    match String::from_utf8(bytes) {
        Ok(s) => std::borrow::Cow::Owned(s),
        Err(e) => std::borrow::Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

/// Whether a raw query key decodes to `name` (ASCII case-insensitively), without allocating.
pub(crate) fn key_is(raw: &str, name: &str) -> bool {
    if !raw.bytes().any(|b| b == b'%' || b == b'+') {
        return raw.eq_ignore_ascii_case(name);
    }
    let mut decoded = Decode::new(raw);
    for expected in name.bytes() {
        match decoded.next() {
            Some(b) if b.eq_ignore_ascii_case(&expected) => {}
            _ => return false,
        }
    }
    decoded.next().is_none()
}

/// The canonical (decoded, then RFC 3986-encoded) bytes of a query component, for sorting.
fn canonical_component(raw: &str) -> impl Iterator<Item = u8> + '_ {
    Decode::new(raw).flat_map(|b| {
        let (bytes, len) = if is_unreserved(b) {
            ([b, 0, 0], 1)
        } else {
            ([b'%', HEX_UPPER[usize::from(b >> 4)], HEX_UPPER[usize::from(b & 0xf)]], 3)
        };
        bytes.into_iter().take(len)
    })
}

/// Everything that goes into a canonical request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CanonicalRequest<'a> {
    pub(crate) method: &'a str,
    /// The path exactly as on the wire.
    pub(crate) raw_path: &'a str,
    /// Sorted pairs, already without `X-Amz-Signature` for presigned requests.
    pub(crate) query: &'a [QueryPair<'a>],
    /// The `SignedHeaders` value as sent (`a;b;c`).
    pub(crate) signed_headers: &'a str,
    pub(crate) headers: &'a HeaderMap,
    /// Stands in for a missing `Host` header (HTTP/2 `:authority`).
    pub(crate) authority: Option<&'a str>,
    pub(crate) payload_hash: &'a str,
}

impl CanonicalRequest<'_> {
    /// Streams the canonical request into `sink`.
    pub(crate) fn write<S: Sink>(&self, sink: &mut S) {
        let mut out = Buffered::new(sink);
        out.bytes(self.method.as_bytes());
        out.byte(b'\n');
        write_canonical_uri(&mut out, self.raw_path);
        out.byte(b'\n');
        for (i, pair) in self.query.iter().enumerate() {
            if i > 0 {
                out.byte(b'&');
            }
            write_component(&mut out, pair.key);
            out.byte(b'=');
            write_component(&mut out, pair.value);
        }
        out.byte(b'\n');
        for name in self.signed_headers.split(';') {
            for b in name.bytes() {
                out.byte(b.to_ascii_lowercase());
            }
            out.byte(b':');
            self.write_header_value(&mut out, name);
            out.byte(b'\n');
        }
        out.byte(b'\n');
        out.bytes(self.signed_headers.as_bytes());
        out.byte(b'\n');
        out.bytes(self.payload_hash.as_bytes());
    }

    /// The SHA-256 of the canonical request.
    pub(crate) fn digest(&self) -> [u8; 32] {
        let mut hasher = Sha256::new();
        self.write(&mut hasher);
        hasher.finalize().into()
    }

    /// The canonical request as text (lossy for non-UTF-8 header bytes), for error messages.
    pub(crate) fn text(&self) -> String {
        let mut buf = Vec::with_capacity(256);
        self.write(&mut buf);
        match String::from_utf8(buf) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }
    }

    fn write_header_value<S: Sink>(&self, out: &mut Buffered<'_, S>, name: &str) {
        let mut values = self.headers.get_all(name).iter().peekable();
        if values.peek().is_none() {
            if name.eq_ignore_ascii_case("host")
                && let Some(authority) = self.authority
            {
                write_trimmed(out, authority.as_bytes());
            }
            return;
        }
        for (i, value) in values.enumerate() {
            if i > 0 {
                out.byte(b',');
            }
            write_trimmed(out, value.as_bytes());
        }
    }
}

/// Writes a header value with leading/trailing whitespace removed and inner runs collapsed to one space.
fn write_trimmed<S: Sink>(out: &mut Buffered<'_, S>, value: &[u8]) {
    let mut started = false;
    let mut pending_space = false;
    for &b in value {
        if b == b' ' || b == b'\t' {
            pending_space = started;
        } else {
            if pending_space {
                out.byte(b' ');
                pending_space = false;
            }
            out.byte(b);
            started = true;
        }
    }
}

/// Writes a decoded-then-encoded query component.
fn write_component<S: Sink>(out: &mut Buffered<'_, S>, raw: &str) {
    for b in Decode::new(raw) {
        if is_unreserved(b) {
            out.byte(b);
        } else {
            out.percent(b);
        }
    }
}

/// Writes the canonical URI: the raw path normalised (RFC 3986 dot segments, empty segments dropped)
/// and then encoded once more, so `%3D` becomes `%253D` and `@` becomes `%40`.
fn write_canonical_uri<S: Sink>(out: &mut Buffered<'_, S>, raw_path: &str) {
    let path = raw_path.as_bytes();
    if path.is_empty() {
        out.byte(b'/');
        return;
    }
    if !needs_normalization(path) {
        if path.first() != Some(&b'/') {
            out.byte(b'/');
        }
        write_path_bytes(out, path);
        return;
    }
    let mut segments: Vec<&[u8]> = Vec::new();
    for segment in path.split(|&b| b == b'/') {
        match segment {
            b"" | b"." => {}
            b".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    out.byte(b'/');
    for (i, segment) in segments.iter().enumerate() {
        if i > 0 {
            out.byte(b'/');
        }
        write_path_bytes(out, segment);
    }
    let ends_with_slash = [&b"/"[..], b"/.", b"/./", b"/..", b"/../"].iter().any(|end| path.ends_with(end));
    if !segments.is_empty() && ends_with_slash {
        out.byte(b'/');
    }
}

/// Whether a path has `.`/`..` segments or empty segments other than the first and last.
fn needs_normalization(path: &[u8]) -> bool {
    let last = path.split(|&b| b == b'/').count().saturating_sub(1);
    path.split(|&b| b == b'/').enumerate().any(|(i, segment)| match segment {
        b"." | b".." => true,
        b"" => i != 0 && i != last,
        _ => false,
    })
}

fn write_path_bytes<S: Sink>(out: &mut Buffered<'_, S>, bytes: &[u8]) {
    let mut rest = bytes;
    while !rest.is_empty() {
        let run = rest.iter().position(|&b| !(is_unreserved(b) || b == b'/')).unwrap_or(rest.len());
        let (safe, tail) = rest.split_at(run);
        out.bytes(safe);
        if let Some((&b, after)) = tail.split_first() {
            out.percent(b);
            rest = after;
        } else {
            rest = tail;
        }
    }
}

/// Lowercase hex of a byte string.
pub(crate) fn hex_lower<const N: usize>(bytes: &[u8; N], out: &mut [u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        if let [hi, lo] = pair {
            *hi = HEX[usize::from(b >> 4)];
            *lo = HEX[usize::from(b & 0xf)];
        }
    }
}

/// Lowercase hex SHA-256 of `data`.
pub(crate) fn sha256_hex(data: &[u8]) -> [u8; 64] {
    let digest: [u8; 32] = Sha256::digest(data).into();
    let mut out = [0u8; 64];
    hex_lower(&digest, &mut out);
    out
}

/// Views ASCII hex bytes as a `&str`.
pub(crate) fn ascii_str(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}
