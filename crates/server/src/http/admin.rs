//! The admin listener (`--admin-listen`, loopback by default): the full health document and the metrics, which the
//! internet-facing listener does not serve (it answers only the health status, for load balancers), and the web
//! console ([`super::console`]).
//!
//! It runs on the server's [`Background`], so that it keeps answering — `"status":"shutting-down"` — while shutdown
//! drains connections, and stops last. Its connections are bounded ([`MAX_ADMIN_CONNECTIONS`]), each request head
//! has the header timeout, as on the public listener, and a connection whose client stops reading the console's live
//! stream is closed (`--console-stall-secs`, [`console::live::Watch`]).

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tasks::Background;
use tokio::net::TcpListener;

use super::{Body, RESERVED_PREFIX, console, empty_response, json_response};
use crate::state::AppState;

/// Connections the admin listener serves at once; past it, new ones are closed at once.
pub(crate) const MAX_ADMIN_CONNECTIONS: usize = 64;

/// Accepts admin connections until the background tasks stop.
pub(crate) async fn accept(listener: TcpListener, state: Arc<AppState>, background: Background) {
    let open = Arc::new(tokio::sync::Semaphore::new(MAX_ADMIN_CONNECTIONS));
    loop {
        let Ok((tcp, peer)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "Too many admin connections; closed.");
            continue;
        };
        let state = state.clone();
        background.spawn(async move {
            let _permit = permit;
            let header_timeout = state.config.limits.header_timeout;
            let watch = Arc::new(console::live::Watch::new(state.config.limits.console_stall));
            let stalled = watch.clone();
            let service = service_fn(move |req: Request<Incoming>| {
                let state = state.clone();
                let watch = watch.clone();
                async move {
                    let path = req.uri().path().to_owned();
                    let console = path.strip_prefix(RESERVED_PREFIX).and_then(|p| p.strip_prefix(console::CONSOLE));
                    Ok::<_, Infallible>(match console {
                        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                            console::handle(&state, rest, req, &watch).await
                        }
                        _ => answer(&state, &req).map(BodyExt::boxed),
                    })
                }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(tcp), service);
            tokio::select! {
                result = connection => if let Err(err) = result {
                    tracing::debug!(%peer, %err, "Admin connection ended with an error.");
                },
                () = stalled.stalled() => tracing::debug!(%peer, "An admin client stopped reading its live stream; closed."),
            }
        });
    }
}

/// `GET /@switchboard/health` (the full document) and `GET /@switchboard/metrics`; 404 for anything else.
fn answer<B>(state: &AppState, req: &Request<B>) -> Response<Body> {
    if req.method() != Method::GET {
        return empty_response(StatusCode::METHOD_NOT_ALLOWED);
    }
    match req.uri().path().strip_prefix(RESERVED_PREFIX) {
        Some("health") => {
            let body = serde_json::json!({
                "status": status(state),
                "connections": state.hub.len(),
                "cluster": crate::cluster::health_json(&state.cluster),
            });
            json_response(StatusCode::OK, body.to_string())
        }
        Some("metrics") => {
            let cluster = &state.cluster;
            state.metrics.observe_bus(&cluster.bus().pubsub().stats(), cluster.fences.load(Ordering::Relaxed));
            state.metrics.observe_chat(state.chat.stats());
            state.metrics.tasks.set(i64::try_from(state.tasks.len()).unwrap_or(i64::MAX));
            let mut response = Response::new(Body::from(state.metrics.render()));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
            );
            response
        }
        _ => empty_response(StatusCode::NOT_FOUND),
    }
}

/// `shutting-down` once shutdown began; `degraded` while the cluster bus is away or this node fenced itself (it still
/// serves its own clients until it is fenced, then its chat clients only); else `ok`.
pub(crate) fn status(state: &AppState) -> &'static str {
    if state.shutdown.is_cancelled() {
        "shutting-down"
    } else if state.cluster.bus().health() == bus::Health::Degraded || state.cluster.is_fenced() {
        "degraded"
    } else {
        "ok"
    }
}
