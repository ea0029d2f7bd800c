//! The live event stream (`GET /@switchboard/console/api/events`): Server-Sent Events of the capture, filtered by
//! `connection`, `stage`, `room` and `route`, optionally preceded by the last `backlog` events that match (at most
//! [`MAX_BACKLOG`]; a reconnecting client's `Last-Event-ID` skips those it had), with a comment line every
//! [`HEARTBEAT`] (or a quarter of `--console-stall-secs`, if that is shorter) so proxies and clients see it alive.
//!
//! Each subscriber reads the capture's broadcast channel: recording never waits for it, and one that falls behind
//! by more than the channel holds skips what it missed and is told (`event: lagged`). The stream is the body of a
//! response on the admin listener, so it lives in that connection's tracked task; it ends when the server shuts down
//! or the client goes away.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use capture::{Event, Filter};
use futures_util::StreamExt;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use super::api::Query;
use super::{AdminBody, status};
use crate::state::AppState;

/// How often an idle stream sends a heartbeat comment.
pub(crate) const HEARTBEAT: Duration = Duration::from_secs(15);

/// Past events a subscriber may ask to receive first.
pub(crate) const MAX_BACKLOG: usize = 1000;

/// When the live stream of one admin connection last handed out a chunk; the connection's task closes the
/// connection once that is `stalled_after` ago (`--console-stall-secs`; a stream yields a chunk at least every
/// [`heartbeat`] of it, so only a client that stopped reading gets there), and a client that stops reading holds
/// no admin slot, and no subscription to the capture, for ever.
#[derive(Debug)]
pub(crate) struct Watch {
    last_chunk: parking_lot::Mutex<Option<tokio::time::Instant>>,
    stalled_after: Duration,
}

/// How often a stream whose connection is closed after `stalled_after` without a read sends a heartbeat.
pub(crate) fn heartbeat(stalled_after: Duration) -> Duration {
    HEARTBEAT.min(stalled_after / 4).max(Duration::from_millis(1))
}

impl Watch {
    pub(crate) fn new(stalled_after: Duration) -> Watch {
        Watch { last_chunk: parking_lot::Mutex::default(), stalled_after }
    }

    fn progressed(&self) {
        *self.last_chunk.lock() = Some(tokio::time::Instant::now());
    }

    /// Returns once a stream of this connection stalled.
    pub(crate) async fn stalled(&self) {
        loop {
            tokio::time::sleep(self.stalled_after / 4).await;
            let last = *self.last_chunk.lock();
            if last.is_some_and(|last| last.elapsed() > self.stalled_after) {
                return;
            }
        }
    }
}

struct Feed {
    live: capture::Subscription,
    backlog: VecDeque<Arc<Event>>,
    /// The newest event sent from the backlog; live events up to it were sent already.
    sent_up_to: u64,
    filter: Filter,
    shutdown: CancellationToken,
    heartbeat: tokio::time::Interval,
}

/// The stream a subscriber asked for; `last_event_id` (the header a reconnecting `EventSource` sends) skips what it
/// had received already, the backlog included.
pub(super) fn events(
    state: &Arc<AppState>,
    query: &Query,
    last_event_id: Option<u64>,
    watch: &Arc<Watch>,
) -> Response<AdminBody> {
    let Some(capture) = &state.capture else { return status(StatusCode::NOT_FOUND) };
    let filter = Filter {
        connection: query.get("connection"),
        stage: query.get("stage"),
        room: query.get("room"),
        route: query.get("route"),
    };
    // Subscribed before the backlog is read, so nothing falls between them.
    let live = capture.subscribe();
    let wanted = query.get("backlog").and_then(|n| n.parse().ok()).unwrap_or(0usize).min(MAX_BACKLOG);
    let seen = last_event_id.unwrap_or(0);
    let mut backlog: VecDeque<_> = if wanted > 0 { capture.recent(&filter, wanted).into() } else { VecDeque::new() };
    backlog.retain(|event| event.seq > seen);
    let every = heartbeat(watch.stalled_after);
    let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let feed = Feed { live, backlog, sent_up_to: seen, filter, shutdown: state.shutdown.clone(), heartbeat };
    watch.progressed();
    let stream = futures_util::stream::unfold((feed, watch.clone()), |(mut feed, watch)| async move {
        let Some(chunk) = feed.next().await else {
            *watch.last_chunk.lock() = None;
            return None;
        };
        watch.progressed();
        Some((Ok(Frame::data(chunk)), (feed, watch)))
    });
    // The first bytes go out at once, so a client knows it is subscribed.
    let hello = futures_util::stream::once(async { Ok(Frame::data(Bytes::from_static(b": subscribed\n\n"))) });
    let mut response = Response::new(BodyExt::boxed(StreamBody::new(hello.chain(stream))));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

impl Feed {
    /// The next chunk to send, or `None` when the stream ends.
    async fn next(&mut self) -> Option<Bytes> {
        if let Some(event) = self.backlog.pop_front() {
            self.sent_up_to = event.seq;
            return Some(render(&event));
        }
        loop {
            tokio::select! {
                () = self.shutdown.cancelled() => return None,
                _ = self.heartbeat.tick() => return Some(Bytes::from_static(b": heartbeat\n\n")),
                received = self.live.recv() => match received {
                    Ok(event) if event.seq > self.sent_up_to && self.filter.matches(&event) => {
                        self.heartbeat.reset();
                        return Some(render(&event));
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(skipped)) => {
                        return Some(Bytes::from(format!("event: lagged\ndata: {{\"skipped\":{skipped}}}\n\n")));
                    }
                    Err(RecvError::Closed) => return None,
                },
            }
        }
    }
}

/// One event in the stream's format: its number as the id, its type as the event name, the JSON as data (one line:
/// JSON text has no raw newlines).
fn render(event: &Event) -> Bytes {
    let data = serde_json::to_string(event).unwrap_or_default();
    Bytes::from(format!("id: {}\nevent: {}\ndata: {data}\n\n", event.seq, event.what.kind()))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{HEARTBEAT, Watch, heartbeat};

    const STALLED_AFTER: Duration = Duration::from_secs(60);

    #[test]
    fn a_short_stall_bound_sends_heartbeats_more_often() {
        assert_eq!(heartbeat(STALLED_AFTER), HEARTBEAT);
        assert_eq!(heartbeat(Duration::from_secs(2)), Duration::from_millis(500));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_is_stalled_only_once_nothing_was_taken_for_the_limit() {
        let watch = Watch::new(STALLED_AFTER);
        let idle = tokio::time::timeout(STALLED_AFTER * 3, watch.stalled()).await;
        assert!(idle.is_err(), "a connection without a live stream never stalls");
        watch.progressed();
        let reading = async {
            loop {
                tokio::time::sleep(Duration::from_secs(15)).await;
                watch.progressed();
            }
        };
        tokio::select! {
            () = watch.stalled() => panic!("a stream read every 15 s stalled"),
            () = tokio::time::sleep(STALLED_AFTER * 3) => {}
            () = reading => {}
        }
        watch.progressed();
        let started = tokio::time::Instant::now();
        let stalled = tokio::time::timeout(STALLED_AFTER * 2, watch.stalled()).await;
        assert!(stalled.is_ok(), "a stream nobody read for {STALLED_AFTER:?} stalled");
        let waited = started.elapsed();
        assert!(
            waited > STALLED_AFTER && waited <= STALLED_AFTER + STALLED_AFTER / 4 + Duration::from_secs(15),
            "{waited:?}"
        );
    }
}
