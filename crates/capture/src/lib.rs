//! Recent traffic of this node's connections, for the console and `switchboard tail`: what each connection sent and
//! received, the route decisions and management calls made about it, the limits it hit, and how it opened and closed.
//!
//! Bounded in memory: events live in one global queue of at most [`Limits::max_events`] events and
//! [`Limits::max_bytes`] bytes (the oldest go first, whichever connection they are about), each connection's view is
//! its last [`Limits::per_connection`] of them, and frames and integration events are cut to [`Limits::max_data`]
//! characters. Live subscribers read a `tokio::sync::broadcast` channel: recording never waits for them, and a
//! subscriber that falls behind skips what it missed. Frames written to clients are recorded only while a live
//! subscriber exists ([`Capture::watched`]), so that a room's fan-out costs nothing more when nobody looks. Nothing here knows HTTP; secrets are masked by the recorders
//! with [`mask`] and [`mask_headers`] before anything is stored.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use compact_str::CompactString;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::broadcast;

mod headers;
mod history;
mod mask;
#[cfg(test)]
mod tests;

pub use headers::Headers;
pub use history::{History, KEPT_SAMPLES, SAMPLE_EVERY, Sample};
pub use mask::{mask, mask_event, mask_headers, mask_query};

/// How much a [`Capture`] keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Events one connection's view holds.
    pub per_connection: usize,
    /// Events kept in all.
    pub max_events: usize,
    /// Bytes kept in all (each event counts its text plus [`EVENT_OVERHEAD`]).
    pub max_bytes: usize,
    /// Characters of a frame, event or answer kept; the rest is cut and the event says how long it was.
    pub max_data: usize,
    /// Events a live subscriber may fall behind before it skips.
    pub live_buffer: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { per_connection: 200, max_events: 20_000, max_bytes: 32 << 20, max_data: 4096, live_buffer: 1024 }
    }
}

/// What each kept event costs the byte budget beyond its text.
pub const EVENT_OVERHEAD: usize = 256;

/// Who an event is about: a connection of an API stage or a chat room member, or a room.
///
/// Kept small, since every kept event holds one (see the size of [`Event`]): a connection id's 16 characters inline,
/// and the stage or the room as one of two shapes rather than four optional names.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Subject {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection: Option<CompactString>,
    #[serde(flatten)]
    pub scope: Option<Scope>,
}

/// What a [`Subject`] belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Scope {
    /// A stage of an API Gateway WebSocket API.
    Stage { api: Arc<str>, stage: Arc<str> },
    /// A chat room, and the member's user when the subject is a member's connection.
    Room {
        room: Arc<str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        user: Option<Arc<str>>,
    },
}

impl Subject {
    /// The stage's name, for a subject of an API stage.
    pub fn stage(&self) -> Option<&str> {
        match &self.scope {
            Some(Scope::Stage { stage, .. }) => Some(stage),
            _ => None,
        }
    }

    /// The room's id, for a subject of a chat room.
    pub fn room(&self) -> Option<&str> {
        match &self.scope {
            Some(Scope::Room { room, .. }) => Some(room),
            _ => None,
        }
    }
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum What {
    /// A handshake was accepted; its headers masked, its authorizer's context if it had one (boxed: few handshakes
    /// have one, and a `Value` inline would make every event larger, see the size of [`Event`]).
    Opened { path: String, source_ip: String, headers: Headers, authorizer: Option<Box<Value>> },
    /// A message from the client.
    FrameIn { data: String, bytes: usize },
    /// A message written to the client (route responses, posts, error frames, room frames).
    FrameOut { data: String, bytes: usize },
    /// A message routed to an integration: the event it received, its answer, how long it took.
    Route {
        route: String,
        request_id: String,
        event: String,
        /// `answered`, `failed`, `timedOut` or `unsupported` (no request template and passthrough refused).
        outcome: &'static str,
        status: Option<u16>,
        answer: Option<String>,
        latency_ms: u64,
    },
    /// A management call about the connection (the `@connections` API, the console's, a forwarded one).
    Management { operation: &'static str, status: u16 },
    /// A limit refused something: `routeThrottle`, `noRoute`, `validation`, `outboxFull`, `slowConsumer`,
    /// `payloadTooLarge`.
    Limit { limit: &'static str, detail: String },
    /// The connection ended.
    Closed { code: u16, reason: String, cause: String },
}

impl What {
    /// The `type` a filter or a subscriber sees.
    pub fn kind(&self) -> &'static str {
        match self {
            What::Opened { .. } => "opened",
            What::FrameIn { .. } => "frameIn",
            What::FrameOut { .. } => "frameOut",
            What::Route { .. } => "route",
            What::Management { .. } => "management",
            What::Limit { .. } => "limit",
            What::Closed { .. } => "closed",
        }
    }

    fn text_len(&self) -> usize {
        match self {
            What::Opened { path, headers, authorizer, .. } => {
                path.len() + headers.text_len() + authorizer.as_ref().map_or(0, |a| a.to_string().len())
            }
            What::FrameIn { data, .. } | What::FrameOut { data, .. } => data.len(),
            What::Route { route, event, answer, .. } => {
                route.len() + event.len() + answer.as_ref().map_or(0, String::len)
            }
            What::Management { .. } => 0,
            What::Limit { detail, .. } => detail.len(),
            What::Closed { reason, .. } => reason.len(),
        }
    }
}

// The capture keeps up to 20,000 events, each in an `Arc`: 16 B of counts and this struct, which jemalloc rounds up to
// its next size class (…, 192, 224, 256, 320, …). At 208 B it takes 224. A subject of four optional names and a
// connection id in a `String` made it 240 B, in the 256 class, with 16 B more for the id's own allocation; an
// `Opened` with its authorizer's `Value` inline made it 320.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Event>() <= 208);

/// One recorded event.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Increases by one per event on this node.
    pub seq: u64,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    #[serde(flatten)]
    pub subject: Subject,
    #[serde(flatten)]
    pub what: What,
}

/// Which events a reader wants; every field given must match.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Filter {
    pub connection: Option<String>,
    pub stage: Option<String>,
    pub room: Option<String>,
    /// Route decisions of this route key only.
    pub route: Option<String>,
}

impl Filter {
    pub fn matches(&self, event: &Event) -> bool {
        let subject = &event.subject;
        let same = |want: &Option<String>, have: Option<&str>| want.as_deref().is_none_or(|want| have == Some(want));
        let route =
            self.route.as_deref().is_none_or(|want| matches!(&event.what, What::Route { route, .. } if route == want));
        same(&self.connection, subject.connection.as_deref())
            && route
            && same(&self.stage, subject.stage())
            && same(&self.room, subject.room())
    }
}

/// Totals since start, which the console turns into rates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    pub frames_in: u64,
    pub frames_out: u64,
    pub routes: u64,
    pub limits: u64,
    pub opened: u64,
    pub closed: u64,
}

/// The recorder: shared by everything that records, and by the console that reads.
#[derive(Debug)]
pub struct Capture {
    limits: Limits,
    kept: Mutex<Kept>,
    live: broadcast::Sender<Arc<Event>>,
    seq: AtomicU64,
    totals: [AtomicU64; 6],
    /// Live subscribers now: frames written to clients are recorded only while there is one ([`Capture::watched`]).
    watchers: Arc<AtomicUsize>,
    /// The totals' recent past, which [`Capture::sample`] extends.
    history: History,
}

/// A live feed of the capture (see [`Capture::subscribe`]); while it lives, frames written to clients are recorded.
#[derive(Debug)]
pub struct Subscription {
    live: broadcast::Receiver<Arc<Event>>,
    watchers: Arc<AtomicUsize>,
}

impl Subscription {
    /// The next event, or how many this subscriber skipped because it fell behind.
    pub async fn recv(&mut self) -> Result<Arc<Event>, broadcast::error::RecvError> {
        self.live.recv().await
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.watchers.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The kept events, oldest first, each with what it counts against the byte budget. There is no index by connection:
/// one would cost every connection an entry (≈ 150 B, the capture keeps an `opened` event per connection up to its
/// bound), where a console asking for one connection's events scans at most [`Limits::max_events`] events.
#[derive(Debug, Default)]
struct Kept {
    order: VecDeque<(Arc<Event>, usize)>,
    bytes: usize,
}

impl Capture {
    pub fn new(limits: Limits) -> Capture {
        let (live, _) = broadcast::channel(limits.live_buffer.max(1));
        let watchers = Arc::new(AtomicUsize::new(0));
        let history = History::default();
        Capture {
            limits,
            kept: Mutex::default(),
            live,
            seq: AtomicU64::new(0),
            totals: Default::default(),
            watchers,
            history,
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Cuts `text` to the kept length (on a character boundary), saying how long it was.
    pub fn cut(&self, text: &str) -> String {
        if text.len() <= self.limits.max_data {
            return text.to_owned();
        }
        let mut end = self.limits.max_data;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}… ({} bytes in all)", &text[..end], text.len())
    }

    /// Records an event: kept, counted and offered to live subscribers, without waiting for any of them.
    pub fn record(&self, subject: Subject, what: What) {
        let slot = match &what {
            What::FrameIn { .. } => 0,
            What::FrameOut { .. } => 1,
            What::Route { .. } => 2,
            What::Limit { .. } => 3,
            What::Opened { .. } => 4,
            What::Closed { .. } => 5,
            What::Management { .. } => usize::MAX,
        };
        if let Some(total) = self.totals.get(slot) {
            total.fetch_add(1, Ordering::Relaxed);
        }
        let at = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
        let size = what.text_len() + EVENT_OVERHEAD;
        let mut kept = self.kept.lock();
        // Numbered under the lock, so the kept order is the numbering's.
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let event = Arc::new(Event { seq, at, subject, what });
        kept.order.push_back((event.clone(), size));
        kept.bytes += size;
        while kept.order.len() > self.limits.max_events || kept.bytes > self.limits.max_bytes {
            let Some((_, old_size)) = kept.order.pop_front() else { break };
            kept.bytes -= old_size;
        }
        drop(kept);
        // No subscriber is not an error; a full channel overwrites its oldest, which lagging subscribers skip.
        let _ = self.live.send(event);
    }

    /// The newest `limit` events that match, oldest first; for one connection, among its newest
    /// [`Limits::per_connection`].
    pub fn recent(&self, filter: &Filter, limit: usize) -> Vec<Arc<Event>> {
        let kept = self.kept.lock();
        let newest = kept.order.iter().rev().map(|(e, _)| e);
        let mut found: Vec<Arc<Event>> = match filter.connection.as_deref() {
            Some(connection) => newest
                .filter(|e| e.subject.connection.as_deref() == Some(connection))
                .take(self.limits.per_connection)
                .filter(|e| filter.matches(e))
                .take(limit)
                .cloned()
                .collect(),
            None => newest.filter(|e| filter.matches(e)).take(limit).cloned().collect(),
        };
        drop(kept);
        found.reverse();
        found
    }

    /// A live feed of every event recorded from now on.
    pub fn subscribe(&self) -> Subscription {
        self.watchers.fetch_add(1, Ordering::Relaxed);
        Subscription { live: self.live.subscribe(), watchers: self.watchers.clone() }
    }

    /// Whether someone reads the live feed (a console page, `switchboard tail`). Frames written to clients are
    /// recorded only then: a room's fan-out writes one frame per member, and recording each of them for nobody would
    /// cost every delivery a lock and a copy. Everything else (frames from clients, route decisions, limits, opens,
    /// closes, management calls) is recorded always.
    pub fn watched(&self) -> bool {
        self.watchers.load(Ordering::Relaxed) > 0
    }

    pub fn totals(&self) -> Totals {
        let [frames_in, frames_out, routes, limits, opened, closed] =
            self.totals.each_ref().map(|total| total.load(Ordering::Relaxed));
        Totals { frames_in, frames_out, routes, limits, opened, closed }
    }

    /// Adds a sample of the totals now, with the live connection count, to the history.
    pub fn sample(&self, connections: usize) {
        let at = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
        self.history.push(Sample { at, connections, totals: self.totals() });
    }

    /// The kept samples, oldest first (at most [`KEPT_SAMPLES`]).
    pub fn history(&self) -> Vec<Sample> {
        self.history.samples()
    }

    /// Events and bytes kept now.
    pub fn kept(&self) -> (usize, usize) {
        let kept = self.kept.lock();
        (kept.order.len(), kept.bytes)
    }
}
