//! The report's slow-consumer section: the readers' latency with and without members that never read, and what the
//! server held meanwhile.

use std::fmt::Write;

use super::Spread;
use crate::run::{Results, SlowRow};
use crate::target::Kind;

/// Writes the section when the scenario ran.
pub(super) fn section(results: &Results, md: &mut String) {
    if results.slow.is_empty() {
        return;
    }
    let _ = writeln!(md, "### 8. Slow consumers\n");
    let _ = writeln!(
        md,
        "One room on one core, the same publish rate twice on fresh servers: every member reading, then a share of the \
         members connected but never reading. The readers' p99 is from the publish to each reader's delivery \
         (median (min–max) over the runs); RSS is the server's before the second phase's first message and after its \
         last delivery. What each stalled member was sent shows whether it outgrew the kernel's socket buffers, \
         beyond which a server must hold it (Switchboard: at most the outbox, 1 MiB each by default, then the \
         member is closed with 1008).\n"
    );
    let _ = writeln!(
        md,
        "| Server | Members | Stalled | Rate /s | Payload B | Runs | readers' p99 ms, all reading | readers' p99 ms, with stalled | × | lost | sent to each stalled member | RSS before → after (MiB) |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|---|---|");
    for kind in [Kind::Switchboard, Kind::Sockudo] {
        let rows: Vec<&SlowRow> = results.slow.iter().filter(|r| r.target == kind).collect();
        let Some(first) = rows.first() else { continue };
        let spread = |f: &dyn Fn(&SlowRow) -> f64| Spread::of(rows.iter().map(|r| f(r)).collect());
        let lost: u64 = rows.iter().map(|r| r.without.lost() + r.with.lost()).sum();
        let sent = spread(&|r| (r.with.accepted as usize * r.with.payload) as f64);
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {lost} | {:.0} KB | {} → {} |",
            kind.name(),
            first.members,
            first.stalled,
            first.with.rate,
            first.with.payload,
            rows.len(),
            spread(&|r| r.without.latency.p99 as f64).show(1e-3, 1),
            spread(&|r| r.with.latency.p99 as f64).show(1e-3, 1),
            spread(&SlowRow::p99_ratio).show(1.0, 2),
            sent.median / 1000.0,
            spread(&|r| r.rss_before as f64).show(1.0 / 1048576.0, 1),
            spread(&|r| r.rss_after as f64).show(1.0 / 1048576.0, 1),
        );
    }
    let _ = writeln!(md);
}
