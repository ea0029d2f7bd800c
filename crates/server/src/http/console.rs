//! The web console on the admin listener: `/@switchboard/console` serves a page (HTML, JS and CSS embedded in the
//! binary, no build step) and `/@switchboard/console/api/…` the JSON it reads, the live event stream
//! (`api/events`, Server-Sent Events, which `switchboard tail` reads too) and the send and disconnect actions.
//!
//! Served only when the console is on (`--console`, default on). When the admin listener is bound to a loopback
//! address nobody signs in; bound to any other address (`0.0.0.0` included, however it is reached), every API call
//! needs the session cookie that signing in with one of the server's key pairs sets ([`signin`]).

pub(crate) mod api;
pub(crate) mod live;
pub(crate) mod record;
pub(crate) mod signin;

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;

use crate::state::AppState;

/// What the admin listener answers with: whole bodies, or the event stream.
pub(crate) type AdminBody = BoxBody<Bytes, Infallible>;

/// The console's path below the reserved prefix.
pub(crate) const CONSOLE: &str = "console";

const INDEX: &str = include_str!("console/assets/index.html");
const SCRIPT: &str = include_str!("console/assets/app.js");
const STYLE: &str = include_str!("console/assets/app.css");

/// Answers a request for `/@switchboard/console…` (`rest` is what follows `console`).
/// `watch` is the admin connection's, which its task closes when a live stream stalls.
pub(crate) async fn handle(
    state: &Arc<AppState>,
    rest: &str,
    req: Request<Incoming>,
    watch: &Arc<live::Watch>,
) -> Response<AdminBody> {
    if state.capture.is_none() {
        return text(StatusCode::NOT_FOUND, "text/plain", "The console is off (--console off).\n");
    }
    let asset = |content_type, body| {
        if req.method() == Method::GET {
            text(StatusCode::OK, content_type, body)
        } else {
            status(StatusCode::METHOD_NOT_ALLOWED)
        }
    };
    match rest {
        "" | "/" => asset("text/html; charset=utf-8", INDEX),
        "/app.js" => asset("text/javascript; charset=utf-8", SCRIPT),
        "/app.css" => asset("text/css; charset=utf-8", STYLE),
        _ => match rest.strip_prefix("/api/") {
            Some(call) => api::handle(state, call, req, watch).await,
            None => status(StatusCode::NOT_FOUND),
        },
    }
}

/// Samples the capture's totals every [`capture::SAMPLE_EVERY`] for the overview's history, as a background task
/// that ends with the server; nothing when the console is off.
pub(crate) fn keep_history(state: &Arc<AppState>, background: &tasks::Background) {
    let Some(capture) = state.capture.clone() else { return };
    let state = Arc::downgrade(state);
    background.spawn(async move {
        let mut every = tokio::time::interval(capture::SAMPLE_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let Some(state) = state.upgrade() else { return };
            capture.sample(state.hub.len());
        }
    });
}

/// Whether the console asks for signing in: its listener is bound to an address other than loopback.
pub(crate) fn needs_signin(state: &AppState) -> bool {
    !state.config.admin_listen.ip().is_loopback()
}

pub(crate) fn text(code: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<AdminBody> {
    let mut response = Response::new(Full::new(body.into()).boxed());
    *response.status_mut() = code;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"),
    );
    response
}

pub(crate) fn json(code: StatusCode, value: &serde_json::Value) -> Response<AdminBody> {
    text(code, "application/json", value.to_string())
}

pub(crate) fn status(code: StatusCode) -> Response<AdminBody> {
    json(code, &serde_json::json!({ "message": code.canonical_reason().unwrap_or("") }))
}
