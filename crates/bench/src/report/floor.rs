//! The report's generator-headroom section: the floor's highest rates in the same run, which the generator is known
//! to drive, with the generator's CPU there, and every Switchboard and Sockudo figure as a share of them.

use std::collections::BTreeSet;
use std::fmt::Write;

use super::{Spread, Sweep, fanout_groups, sustained};
use crate::run::{FanoutRow, Results};
use crate::target::Kind;

/// "Before the knee": p99 within a second, no loss, no disconnect.
const KNEE_P99_US: u64 = 1_000_000;

/// The floor's highest median deliveries/s in a fan-out sweep, the generator's CPU share in that phase, and whether
/// the floor's sweep ended below its knee (the generator's ceiling is then higher still).
pub(super) fn ceiling(rows: &[FanoutRow], cores: usize, members: usize, payload: usize) -> Option<(f64, f64, bool)> {
    let groups = fanout_groups(rows);
    let sweep: Vec<_> = groups
        .iter()
        .filter(|((k, c, m, p, _), _)| (*k, *c, *m, *p) == (Kind::Floor, cores, members, payload))
        .map(|(_, rs)| rs)
        .collect();
    let best = sweep
        .iter()
        .map(|rs| {
            let rate = Spread::of(rs.iter().map(|r| r.deliveries_per_second()).collect()).median;
            let generator = Spread::of(rs.iter().map(|r| r.cost.generator_load() * 100.0).collect()).median;
            (rate, generator)
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))?;
    let last = sweep.last()?;
    let below_knee = last.iter().all(|r| {
        r.lost() == 0
            && r.disconnected.is_empty()
            && r.latency.p99 <= KNEE_P99_US
            && r.accepted as f64 >= 0.95 * r.published as f64
    });
    Some((best.0, best.1, below_knee))
}

fn share(value: Option<f64>, ceiling: f64) -> String {
    match value {
        Some(v) if ceiling > 0.0 => format!("{v:.0} ({:.0} %)", v / ceiling * 100.0),
        _ => "—".to_owned(),
    }
}

/// Writes the section when the floor was measured.
pub(super) fn headroom(results: &Results, md: &mut String) {
    let floor_posts: Vec<f64> =
        results.post.iter().filter(|r| r.target == Kind::Floor).map(|r| r.requests as f64 / r.seconds).collect();
    let sweeps: BTreeSet<(usize, usize, usize)> =
        results.fanout.iter().filter(|r| r.target == Kind::Floor).map(|r| (r.cores, r.members, r.payload)).collect();
    if floor_posts.is_empty() && sweeps.is_empty() {
        return;
    }
    let _ = writeln!(md, "### 6. The floor and the generator's headroom\n");
    let _ = writeln!(
        md,
        "The floor (`switchboard-bench floor-server`, pinned like the servers) accepts the same WebSocket clients and, \
         per publish, writes one pre-encoded frame to every member with one `write` each (frames pending together: \
         one `write` of all of them), from one thread per core: the least work a server can do per delivery on this \
         machine. The same workers and publisher drove it, so the generator reaches at least the floor's highest \
         rate; where the generator's CPU there is well below 90 %, the floor's knee is the server core's, and the \
         generator's ceiling lies higher still. A Switchboard or Sockudo figure close to the floor's with the \
         generator near 90 % may be the generator's limit rather than the server's. \"≥\" marks a floor sweep that \
         ended below its knee. Sustained = the highest median deliveries/s with p99 ≤ 1 s, no loss and no \
         disconnect.\n"
    );
    if !floor_posts.is_empty() {
        let ceiling = Spread::of(floor_posts).median;
        let of = |kind: Kind| {
            let v: Vec<f64> =
                results.post.iter().filter(|r| r.target == kind).map(|r| r.requests as f64 / r.seconds).collect();
            (!v.is_empty()).then(|| Spread::of(v).median)
        };
        let _ = writeln!(
            md,
            "HTTP publish path (section 2): generator ceiling ≥ {ceiling:.0} requests/s (the floor's); Switchboard \
             {}, Sockudo {} (requests/s, share of the floor's).\n",
            share(of(Kind::Switchboard), ceiling),
            share(of(Kind::Sockudo), ceiling),
        );
    }
    if sweeps.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "| Cores | N | Payload B | floor's highest deliveries/s | generator CPU % there | Switchboard sustained (share) | Sockudo sustained (share) |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|");
    for (cores, members, payload) in sweeps {
        let Some((ceiling, generator, below_knee)) = ceiling(&results.fanout, cores, members, payload) else {
            continue;
        };
        let of = |kind: Kind| sustained(&results.fanout, (kind, cores, members, payload) as Sweep, KNEE_P99_US);
        let _ = writeln!(
            md,
            "| {cores} | {members} | {payload} | {}{ceiling:.0} | {generator:.0} | {} | {} |",
            if below_knee { "≥ " } else { "" },
            share(of(Kind::Switchboard), ceiling),
            share(of(Kind::Sockudo), ceiling),
        );
    }
    let _ = writeln!(md);
}
