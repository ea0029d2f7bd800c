//! The slow-consumer scenario: a room's fan-out at a steady rate, once with every member reading and once with a
//! share of them connected but never reading, on fresh servers; what the readers see, and what the server holds.

use super::fanout::{Phase, measure, room_with};
use super::*;

/// The same fan-out without and with stalled members.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SlowRow {
    pub target: Kind,
    pub members: usize,
    /// Members that never read in the second phase.
    pub stalled: usize,
    pub run: usize,
    /// Every member reading.
    pub without: FanoutRow,
    /// `stalled` members not reading; its deliveries, latency and losses are the readers' only.
    pub with: FanoutRow,
    /// The server's VmRSS in bytes before the stalled phase's first message and after its last delivery.
    pub rss_before: u64,
    pub rss_after: u64,
}

impl SlowRow {
    /// The readers' p99 with stalled members over the p99 without them.
    pub fn p99_ratio(&self) -> f64 {
        self.with.latency.p99 as f64 / self.without.latency.p99.max(1) as f64
    }
}

pub(super) async fn slow(ctx: &Ctx<'_>, kind: Kind, members: usize, run: usize) -> anyhow::Result<SlowRow> {
    let o = ctx.options;
    let every = (100.0 / o.slow_percent.clamp(0.01, 50.0)).round().max(2.0) as usize;
    let stalled = members.div_ceil(every);
    let phase = Phase { cores: 1, members, readers: members, size: o.slow_payload, rate: o.slow_rate, run };

    let without = {
        let mut room = room_with(ctx, kind, 1, members, 0).await?;
        let row = measure(ctx, &mut room, phase).await;
        room.workers.stop().await;
        row?
    };
    // A fresh server (the first one is gone with its room) whose stalled members hold their sockets unread.
    let mut room = room_with(ctx, kind, 1, members, every).await?;
    let (rss_before, _) = procfs::rss(room.server.pid).context("cannot read the server's RSS")?;
    let with = measure(ctx, &mut room, Phase { readers: members - stalled, ..phase }).await;
    let rss_after = procfs::rss(room.server.pid).map_or(0, |(rss, _)| rss);
    room.workers.stop().await;
    Ok(SlowRow { target: kind, members, stalled, run, without, with: with?, rss_before, rss_after })
}
