//! The completion scenario: how long one message takes to reach the last member of a room, against the room's size.
//! One room per size on a fresh server; single messages, each sent once the previous one has reached every member.

use super::fanout::{Room, publish, room};
use super::*;

/// Single messages to a room of `members`: from the send to the last member, and the server's CPU per delivery.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CompletionRow {
    pub target: Kind,
    pub cores: usize,
    pub members: usize,
    pub payload: usize,
    pub run: usize,
    /// µs from each message's send to its last delivery (messages that did not reach everyone are left out).
    pub completion_us: Vec<u64>,
    pub messages: u64,
    pub expected: u64,
    pub delivered: u64,
    pub cost: Cost,
}

impl CompletionRow {
    /// The median completion time in µs (0 when no message reached every member).
    pub fn median_us(&self) -> f64 {
        crate::report::Spread::of(self.completion_us.iter().map(|v| *v as f64).collect()).median
    }
}

/// Payload of the timed messages.
pub(super) const PAYLOAD: usize = 100;

pub(super) async fn completion(
    ctx: &Ctx<'_>,
    kind: Kind,
    cores: usize,
    members: usize,
    run: usize,
) -> anyhow::Result<CompletionRow> {
    let Room { server, mut workers, publisher, .. } = room(ctx, kind, cores, members).await?;
    let mut row = CompletionRow {
        target: kind,
        cores,
        members,
        payload: PAYLOAD,
        run,
        completion_us: Vec::new(),
        messages: 0,
        expected: 0,
        delivered: 0,
        cost: Cost::default(),
    };
    let meter = ctx.meter(&server, &workers);
    ctx.live.begin(&format!("completion: {} {members} members", kind.name()), 0);
    for _ in 0..ctx.options.completion_messages.max(1) {
        let before = workers.stats().await?;
        let outcome = publish(server.addr, &publisher, 1.0, Duration::from_secs(1), PAYLOAD, &ctx.live).await?;
        let expected = outcome.accepted * members as u64;
        let after = drain(&mut workers, before.delivered + expected, Duration::from_secs(15)).await?;
        let delivered = after.delivered - before.delivered;
        row.messages += outcome.published;
        row.expected += expected;
        row.delivered += delivered;
        if expected > 0 && delivered >= expected {
            row.completion_us.push(after.latency.max());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    row.cost = meter.stop();
    workers.stop().await;
    drop(server);
    Ok(row)
}
