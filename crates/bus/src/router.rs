//! Local delivery of bus messages to subscriptions, the wire envelope (publisher id and per-channel sequence) and the
//! gap accounting that turns lost messages into a count.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use parking_lot::Mutex;
use tokio::sync::mpsc;

use crate::BusStats;
use crate::auth::{Signer, TAG};

/// First byte of every enveloped message, without and with a tag.
const MAGIC: u8 = 0xB5;
const MAGIC_TAGGED: u8 = 0xB6;
const HEADER: usize = 1 + 8 + 8;

/// A message received on a subscribed channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub channel: Arc<str>,
    pub payload: Bytes,
    /// The publishing bus client (random per process).
    pub origin: u64,
    /// A loss notice rather than a message (empty payload, origin 0): messages published on this channel before it
    /// may never have reached this subscription — the subscription was re-established after the bus was away, or
    /// this subscription's inbox overflowed. Never sent for nothing lost but never silent about a loss.
    pub lost: bool,
}

impl Message {
    fn notice(channel: Arc<str>) -> Message {
        Message { channel, payload: Bytes::new(), origin: 0, lost: true }
    }
}

/// A live subscription; dropping it unsubscribes (the channel is left once its last subscription is gone).
#[derive(Debug)]
pub struct Subscription {
    channel: Arc<str>,
    id: u64,
    rx: mpsc::Receiver<Message>,
    router: Arc<Router>,
}

impl Subscription {
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// The next message, in the bus's order; `None` once the bus is gone.
    pub async fn recv(&mut self) -> Option<Message> {
        self.rx.recv().await
    }

    /// A message if one is waiting.
    pub fn try_recv(&mut self) -> Option<Message> {
        self.rx.try_recv().ok()
    }
}

impl futures_util::Stream for Subscription {
    type Item = Message;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        self.rx.poll_recv(cx)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.router.remove(&self.channel, self.id);
    }
}

/// One subscription's sending side, and whether it owes its subscriber a loss notice.
#[derive(Debug)]
struct Subscriber {
    id: u64,
    tx: mpsc::Sender<Message>,
    owes_notice: bool,
}

impl Subscriber {
    /// Hands `message` over, after the loss notice owed if any; a full inbox drops it and owes a notice.
    fn send(&mut self, message: Message, router: &Router) {
        if self.owes_notice {
            if self.tx.try_send(Message::notice(message.channel.clone())).is_err() {
                router.missed.fetch_add(1, Ordering::Relaxed);
                return;
            }
            self.owes_notice = false;
            router.loss_notices.fetch_add(1, Ordering::Relaxed);
        }
        if self.tx.try_send(message).is_err() {
            router.missed.fetch_add(1, Ordering::Relaxed);
            self.owes_notice = true;
        }
    }

    /// Sends a loss notice now, or owes it when the inbox is full.
    fn notify_loss(&mut self, channel: &Arc<str>, router: &Router) {
        match self.tx.try_send(Message::notice(channel.clone())) {
            Ok(()) => {
                self.owes_notice = false;
                router.loss_notices.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => self.owes_notice = true,
        }
    }
}

#[derive(Debug)]
struct ChannelState {
    name: Arc<str>,
    subscribers: Vec<Subscriber>,
    /// What was received from each publisher on this channel.
    last_seen: HashMap<u64, Track>,
}

/// The sequence numbers seen from one publisher on one channel. Messages may arrive out of sequence order (one
/// publisher's concurrent publishes), so a gap counts as missed only while it stays unfilled.
#[derive(Debug, Clone, Copy)]
struct Track {
    lowest: u64,
    highest: u64,
    received: u64,
    /// Which of the `REPLAY_WINDOW` sequence numbers up to `highest` arrived (bit `d` for `highest - d`).
    seen: u128,
}

/// How far behind the highest sequence number of its publisher a message may arrive and still be taken.
const REPLAY_WINDOW: u64 = 128;

impl Track {
    /// Records `seq`; false for a sequence number that already arrived (a replay) or is too far behind to tell.
    fn first_sight(&mut self, seq: u64) -> bool {
        if seq > self.highest {
            let shift = seq - self.highest;
            self.seen = if shift >= REPLAY_WINDOW { 0 } else { self.seen << shift };
            self.seen |= 1;
            self.highest = seq;
        } else {
            let behind = self.highest - seq;
            if behind >= REPLAY_WINDOW || self.seen & (1 << behind) != 0 {
                return false;
            }
            self.seen |= 1 << behind;
        }
        self.lowest = self.lowest.min(seq);
        self.received += 1;
        true
    }

    fn missing(&self) -> u64 {
        (self.highest - self.lowest + 1).saturating_sub(self.received)
    }
}

impl ChannelState {
    fn missing(&self) -> u64 {
        self.last_seen.values().map(Track::missing).sum()
    }
}

/// Subscriptions of one bus client, the sequence numbers it publishes with, and its counters.
#[derive(Debug)]
pub(crate) struct Router {
    origin: u64,
    capacity: usize,
    channels: Mutex<HashMap<Arc<str>, ChannelState>>,
    sequences: Mutex<HashMap<String, u64>>,
    next_id: AtomicU64,
    /// Told the name of a channel that lost its last subscription.
    emptied: Option<mpsc::UnboundedSender<Arc<str>>>,
    pub(crate) published: AtomicU64,
    pub(crate) publish_failed: AtomicU64,
    pub(crate) received: AtomicU64,
    /// Messages dropped for a full inbox, and gaps of channels no longer subscribed.
    pub(crate) missed: AtomicU64,
    pub(crate) reconnects: AtomicU64,
    pub(crate) degradations: AtomicU64,
    pub(crate) canaries_ok: AtomicU64,
    pub(crate) canaries_failed: AtomicU64,
    /// Loss notices handed to subscriptions.
    pub(crate) loss_notices: AtomicU64,
    /// Messages and records that failed the cluster key's check (or lacked a tag), dropped.
    pub(crate) rejected: AtomicU64,
}

impl Router {
    pub(crate) fn new(capacity: usize, emptied: Option<mpsc::UnboundedSender<Arc<str>>>) -> Router {
        Router {
            origin: rand::random(),
            capacity,
            channels: Mutex::new(HashMap::new()),
            sequences: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            emptied,
            published: AtomicU64::new(0),
            publish_failed: AtomicU64::new(0),
            received: AtomicU64::new(0),
            missed: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            degradations: AtomicU64::new(0),
            canaries_ok: AtomicU64::new(0),
            canaries_failed: AtomicU64::new(0),
            loss_notices: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
        }
    }

    pub(crate) fn origin(&self) -> u64 {
        self.origin
    }

    /// Adds a subscription to `channel`; true when it is the channel's first.
    pub(crate) fn add(self: &Arc<Self>, channel: &str) -> (Subscription, bool) {
        let (tx, rx) = mpsc::channel(self.capacity);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let channel: Arc<str> = channel.into();
        let first = {
            let mut channels = self.channels.lock();
            let state = channels.entry(channel.clone()).or_insert_with(|| ChannelState {
                name: channel.clone(),
                subscribers: Vec::new(),
                last_seen: HashMap::new(),
            });
            state.subscribers.push(Subscriber { id, tx, owes_notice: false });
            state.subscribers.len() == 1
        };
        (Subscription { channel, id, rx, router: self.clone() }, first)
    }

    fn remove(&self, channel: &Arc<str>, id: u64) {
        let emptied = {
            let mut channels = self.channels.lock();
            let Some(state) = channels.get_mut(channel) else {
                return;
            };
            state.subscribers.retain(|s| s.id != id);
            if state.subscribers.is_empty() {
                self.missed.fetch_add(state.missing(), Ordering::Relaxed);
                channels.remove(channel);
                true
            } else {
                false
            }
        };
        if emptied && let Some(tx) = &self.emptied {
            let _ = tx.send(channel.clone());
        }
    }

    /// Whether anything subscribes to `channel` now.
    pub(crate) fn has(&self, channel: &str) -> bool {
        self.channels.lock().contains_key(channel)
    }

    /// Every channel with a subscription.
    pub(crate) fn channels(&self) -> Vec<Arc<str>> {
        self.channels.lock().keys().cloned().collect()
    }

    /// The next sequence number of this client on `channel`. Every publish attempt takes one, so that subscribers
    /// count a failed publish as missed too.
    pub(crate) fn next_sequence(&self, channel: &str) -> u64 {
        let mut sequences = self.sequences.lock();
        let seq = sequences.entry(channel.to_owned()).or_insert(0);
        *seq += 1;
        *seq
    }

    /// Hands a message to the subscribers of `channel`, counting gaps in the publisher's sequence.
    pub(crate) fn dispatch(&self, channel: &str, origin: u64, seq: u64, payload: Bytes) {
        let mut channels = self.channels.lock();
        let Some(state) = channels.get_mut(channel) else {
            return;
        };
        let track = state.last_seen.entry(origin).or_insert(Track { lowest: seq, highest: seq, received: 0, seen: 0 });
        if !track.first_sight(seq) {
            // A publisher never sends a sequence number twice: this is a replay.
            self.rejected.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.received.fetch_add(1, Ordering::Relaxed);
        let message = Message { channel: state.name.clone(), payload, origin, lost: false };
        for subscriber in &mut state.subscribers {
            subscriber.send(message.clone(), self);
        }
    }

    /// Tells every subscription that messages may have been lost (its subscription was re-established after a loss).
    pub(crate) fn notify_loss(&self) {
        let mut channels = self.channels.lock();
        for state in channels.values_mut() {
            for subscriber in &mut state.subscribers {
                subscriber.notify_loss(&state.name, self);
            }
        }
    }

    pub(crate) fn stats(&self) -> BusStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        BusStats {
            published: get(&self.published),
            publish_failed: get(&self.publish_failed),
            received: get(&self.received),
            missed: get(&self.missed) + self.channels.lock().values().map(ChannelState::missing).sum::<u64>(),
            reconnects: get(&self.reconnects),
            degradations: get(&self.degradations),
            canaries_ok: get(&self.canaries_ok),
            canaries_failed: get(&self.canaries_failed),
            loss_notices: get(&self.loss_notices),
            rejected: get(&self.rejected),
        }
    }
}

/// How far a tagged message's time may be from the receiver's clock (replays of older messages are refused).
const FRESHNESS_MS: u64 = 60_000;

/// Wraps a payload with its publisher and sequence number, and with a cluster key its time (Unix milliseconds) and the
/// tag over them, the channel (its Redis name) and the payload.
pub(crate) fn encode(origin: u64, seq: u64, payload: &[u8], signer: Option<(&Signer, &str)>) -> Bytes {
    let mut out = BytesMut::with_capacity(HEADER + 8 + TAG + payload.len());
    out.put_u8(if signer.is_some() { MAGIC_TAGGED } else { MAGIC });
    out.put_u64(origin);
    out.put_u64(seq);
    if let Some((signer, channel)) = signer {
        out.put_u64(now_ms());
        out.put_slice(&signer.tag(&[channel.as_bytes(), &out[1..HEADER + 8], payload]));
    }
    out.put_slice(payload);
    out.freeze()
}

/// Unwraps what [`encode`] made with the same key (or without one when `signer` is `None`); `None` for anything else:
/// a message from a foreign publisher, one whose tag does not check, or a tagged one too far from this clock.
pub(crate) fn decode(mut raw: Bytes, signer: Option<(&Signer, &str)>) -> Option<(u64, u64, Bytes)> {
    let magic = if signer.is_some() { MAGIC_TAGGED } else { MAGIC };
    let header = if signer.is_some() { HEADER + 8 + TAG } else { HEADER };
    if raw.len() < header || raw[0] != magic {
        return None;
    }
    if let Some((signer, channel)) = signer {
        let stamped = HEADER + 8;
        if !signer.verify(&[channel.as_bytes(), &raw[1..stamped], &raw[header..]], &raw[stamped..header]) {
            return None;
        }
        let at = u64::from_be_bytes(raw[HEADER..stamped].try_into().ok()?);
        if now_ms().abs_diff(at) > FRESHNESS_MS {
            return None;
        }
    }
    raw.advance(1);
    let origin = raw.get_u64();
    let seq = raw.get_u64();
    raw.advance(header - HEADER);
    Some((origin, seq, raw))
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}
