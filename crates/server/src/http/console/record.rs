//! What the server itself records in the console's capture: connections opening (handshake headers masked, the
//! authorizer's context) and closing (with the limit that closed them, if one did), and management calls.
//! Frames are recorded by the session (`hub::session`), route decisions by `apigw::router::MessageRouter`.

use apigw::management::Op;
use capture::{Subject, What};
use compact_str::ToCompactString;
use http::request::Parts;
use hub::session::{EndCause, SessionEnd};
use hub::{CloseCause, Connection, ConnectionId};

use crate::state::AppState;

/// A handshake was accepted.
pub(crate) fn opened(state: &AppState, conn: &Connection, parts: &Parts, authorizer: Option<serde_json::Value>) {
    let Some(capture) = &state.capture else { return };
    let headers = parts.headers.iter().filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)));
    let path = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let what = What::Opened {
        path: capture::mask_query(path),
        source_ip: conn.info().source_ip.clone(),
        headers: capture::mask_headers(headers),
        authorizer: authorizer.map(Box::new),
    };
    capture.record(conn.subject(), what);
}

/// A session ended; a close a limit caused is recorded as that limit too.
pub(crate) fn closed(state: &AppState, conn: &Connection, end: &SessionEnd) {
    let Some(capture) = &state.capture else { return };
    let limit = match end.cause {
        EndCause::Server(CloseCause::SlowConsumer) => Some("slowConsumer"),
        EndCause::Server(CloseCause::Violation) if end.code == 1009 => Some("payloadTooLarge"),
        _ => None,
    };
    if let Some(limit) = limit {
        capture.record(conn.subject(), What::Limit { limit, detail: format!("Closed {}: {}", end.code, end.reason) });
    }
    let cause = match end.cause {
        EndCause::Client => "client".to_owned(),
        EndCause::Abnormal => "abnormal".to_owned(),
        EndCause::Server(cause) => format!("server: {cause:?}"),
    };
    capture.record(conn.subject(), What::Closed { code: end.code, reason: end.reason.clone(), cause });
}

/// A management call about a connection ran here (or was forwarded from here); a 429 for a full outbox is a limit.
pub(crate) fn management(state: &AppState, op: Op, id: ConnectionId, status: u16) {
    let Some(capture) = &state.capture else { return };
    let subject = match state.hub.get(id) {
        Some(conn) => conn.subject(),
        None => Subject { connection: Some(id.to_compact_string()), scope: None },
    };
    if op == Op::Post && status == 429 {
        let what = What::Limit { limit: "outboxFull", detail: "PostToConnection: the outbox is full.".to_owned() };
        capture.record(subject.clone(), what);
    }
    capture.record(subject, What::Management { operation: op.name(), status });
}
