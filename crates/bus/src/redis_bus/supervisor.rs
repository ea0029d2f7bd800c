//! The Redis bus's background: the supervisor of the subscription connection (connect, subscribe, route, start over)
//! and the health watch (a canary through Redis every interval).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use redis::Client;
use redis::aio::ConnectionManager;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep, timeout};

use super::{Control, Shared, unavailable};
use crate::router::decode;
use crate::{BusError, Health};

/// Owns the subscription connection: connects, subscribes, routes messages, and starts over when it breaks.
pub(super) async fn supervise(
    shared: Arc<Shared>,
    client: Client,
    mut control: mpsc::UnboundedReceiver<Control>,
    mut emptied: mpsc::UnboundedReceiver<Arc<str>>,
) {
    let mut backoff = Duration::from_millis(50);
    let mut first = true;
    let prefix = format!("{}:ch:", shared.config.namespace);
    let canary_channel = shared.canary_channel();
    while !shared.closed.load(Ordering::Acquire) {
        let connected = timeout(shared.config.op_timeout, client.get_async_pubsub()).await;
        let pubsub = match connected {
            Ok(Ok(pubsub)) => pubsub,
            failed => {
                let reason = match failed {
                    Ok(Err(err)) => err.to_string(),
                    _ => "connect timed out".to_owned(),
                };
                tracing::debug!(%reason, "Cannot open the cluster bus subscription; retrying.");
                shared.set_health(Health::Degraded);
                // Subscriptions asked for meanwhile are recorded in the router; applied on connect.
                let wait = sleep(backoff);
                tokio::pin!(wait);
                loop {
                    tokio::select! {
                        _ = &mut wait => break,
                        Some(Control::Subscribe(_, ack)) = control.recv() => { let _ = ack.send(()); }
                        Some(_) = emptied.recv() => {}
                    }
                }
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        let (mut sink, mut stream) = pubsub.split();
        let mut channels: Vec<String> = shared.router.channels().iter().map(|c| shared.channel_key(c)).collect();
        channels.push(canary_channel.clone());
        let mut ok = true;
        for chunk in channels.chunks(256) {
            if !matches!(timeout(shared.config.op_timeout * 2, sink.subscribe(chunk)).await, Ok(Ok(()))) {
                ok = false;
                break;
            }
        }
        if !ok {
            shared.set_health(Health::Degraded);
            sleep(backoff).await;
            continue;
        }
        backoff = Duration::from_millis(50);
        if !first {
            shared.router.reconnects.fetch_add(1, Ordering::Relaxed);
            tracing::info!(channels = channels.len(), "Cluster bus subscription re-established.");
            // Redis kept nothing for us while we were away: every subscription hears of it before what comes next.
            shared.router.notify_loss();
        }
        first = false;
        shared.subscribed.store(true, Ordering::Release);
        shared.consecutive_canary_failures.store(0, Ordering::Relaxed);
        loop {
            tokio::select! {
                message = stream.next() => {
                    let Some(message) = message else { break };
                    let name = message.get_channel_name();
                    let payload = Bytes::copy_from_slice(message.get_payload_bytes());
                    if name == canary_channel {
                        if let Ok(bytes) = <[u8; 8]>::try_from(&payload[..]) {
                            shared.canaries_heard.fetch_add(1, Ordering::Relaxed);
                            let nonce = u64::from_be_bytes(bytes);
                            if let Some(done) = shared.canaries.lock().remove(&nonce) {
                                let _ = done.send(());
                            }
                        }
                    } else if let Some(channel) = name.strip_prefix(&prefix) {
                        match decode(payload, shared.signer.as_ref().map(|signer| (signer, name))) {
                            Some((origin, seq, payload)) => shared.router.dispatch(channel, origin, seq, payload),
                            None => {
                                shared.router.rejected.fetch_add(1, Ordering::Relaxed);
                                tracing::debug!(channel, "Dropped a bus message that failed the cluster key's check.");
                            }
                        }
                    }
                }
                control_message = control.recv() => match control_message {
                    Some(Control::Subscribe(channel, ack)) => {
                        let done = timeout(shared.config.op_timeout, sink.subscribe(shared.channel_key(&channel))).await;
                        let _ = ack.send(());
                        if !matches!(done, Ok(Ok(()))) { break; }
                    }
                    None => return,
                },
                Some(channel) = emptied.recv() => {
                    if !shared.router.has(&channel) {
                        let done = timeout(shared.config.op_timeout, sink.unsubscribe(shared.channel_key(&channel))).await;
                        if !matches!(done, Ok(Ok(()))) { break; }
                    }
                }
                _ = shared.recycle.notified() => {
                    tracing::warn!("Cluster bus subscription stopped delivering canaries; reconnecting.");
                    break;
                }
            }
        }
        shared.subscribed.store(false, Ordering::Release);
        shared.set_health(Health::Degraded);
    }
}

/// Publishes a canary every interval; the bus is connected while they come back in time. After four failures in a
/// row during which no canary came back at all, the subscription is deaf and is started over; canaries that come
/// back late keep the bus degraded but the subscription as it is.
pub(super) async fn watch_health(shared: std::sync::Weak<Shared>, conn: ConnectionManager) {
    // Canaries heard when the current run of failures began.
    let mut heard_before = 0;
    loop {
        let Some(shared) = shared.upgrade() else { return };
        if shared.closed.load(Ordering::Acquire) {
            return;
        }
        let interval = shared.config.canary_interval;
        if shared.subscribed.load(Ordering::Acquire) {
            let result = run_canary(&shared, conn.clone(), interval.max(Duration::from_millis(200))).await;
            match result {
                Ok(_) => {
                    shared.consecutive_canary_failures.store(0, Ordering::Relaxed);
                    shared.set_health(Health::Connected);
                }
                Err(_) => {
                    let failures = shared.consecutive_canary_failures.fetch_add(1, Ordering::Relaxed) + 1;
                    let heard = shared.canaries_heard.load(Ordering::Relaxed);
                    if failures == 1 {
                        heard_before = heard;
                    }
                    if failures >= 2 {
                        shared.set_health(Health::Degraded);
                    }
                    if failures >= 4 && heard == heard_before {
                        // Connected but deaf: a dead subscription must never look healthy. Start it over.
                        shared.consecutive_canary_failures.store(0, Ordering::Relaxed);
                        shared.recycle.notify_one();
                    } else if failures >= 4 {
                        // Late, not deaf. The next verdict needs three more failures with nothing heard.
                        shared.consecutive_canary_failures.store(1, Ordering::Relaxed);
                        heard_before = heard;
                    }
                }
            }
        } else {
            shared.set_health(Health::Degraded);
        }
        drop(shared);
        sleep(interval).await;
    }
}

pub(super) async fn run_canary(
    shared: &Shared,
    mut conn: ConnectionManager,
    wait: Duration,
) -> Result<Duration, BusError> {
    let nonce: u64 = rand::random();
    let (tx, rx) = oneshot::channel();
    shared.canaries.lock().insert(nonce, tx);
    let started = Instant::now();
    let mut publish = redis::cmd("PUBLISH");
    publish.arg(shared.canary_channel()).arg(&nonce.to_be_bytes()[..]);
    let result = async {
        match timeout(wait, publish.query_async::<i64>(&mut conn)).await {
            Ok(Ok(_)) => {}
            Ok(Err(err)) => return Err(unavailable(err)),
            Err(_) => return Err(BusError::Unavailable("canary publish timed out".to_owned())),
        }
        match timeout(wait.saturating_sub(started.elapsed()), rx).await {
            Ok(Ok(())) => Ok(started.elapsed()),
            _ => Err(BusError::Unavailable("canary did not come back".to_owned())),
        }
    }
    .await;
    shared.canaries.lock().remove(&nonce);
    match result {
        Ok(_) => shared.router.canaries_ok.fetch_add(1, Ordering::Relaxed),
        Err(_) => shared.router.canaries_failed.fetch_add(1, Ordering::Relaxed),
    };
    result
}
