//! The report's growth curves: server RSS against connections, fan-out completion time against room size (with the
//! floor's), sustained deliveries/s against the cores the server was pinned to, and cross-node PostToConnection
//! latency against the nodes of a cluster, as SVG charts beside tables.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::Path;

use super::{Spread, idle_clients, ratio, sustained};
use crate::run::{ClusterRow, CompletionRow, Results};
use crate::svg::{COLORS, Series, line_chart};
use crate::target::Kind;

/// Writes the section and its charts (into `chart_dir`, linked as `{stem}/…`).
pub(super) fn section(results: &Results, chart_dir: &Path, stem: &str, md: &mut String) -> anyhow::Result<()> {
    let cores_measured = results.fanout.iter().map(|r| r.cores).collect::<BTreeSet<_>>().len() > 1;
    if results.idle.is_empty() && results.completion.is_empty() && results.cluster.is_empty() && !cores_measured {
        return Ok(());
    }
    let _ = writeln!(md, "### 7. Growth curves\n");
    if !results.idle.is_empty() {
        let mut groups: BTreeMap<(Kind, crate::run::Client, bool), BTreeMap<usize, Vec<f64>>> = BTreeMap::new();
        for r in &results.idle {
            let growth = (r.rss_after as f64 - r.rss_before as f64) / 1048576.0;
            groups.entry((r.target, r.client, !r.console)).or_default().entry(r.n).or_default().push(growth);
        }
        let series: Vec<Series> = groups
            .into_iter()
            .enumerate()
            .map(|(i, ((kind, client, console_off), by_n))| Series {
                name: format!("{} ({})", kind.name(), idle_clients(client, console_off)),
                color: COLORS[i % COLORS.len()],
                dashed: kind != Kind::Switchboard,
                points: by_n.into_iter().map(|(n, v)| (n as f64, Spread::of(v).median)).collect(),
            })
            .collect();
        let chart = line_chart("Server RSS growth against connections", "idle connections", "MiB", &series, false);
        std::fs::write(chart_dir.join("rss.svg"), chart)?;
        let _ =
            writeln!(md, "Server RSS after minus before the idle clients connected (section 1), median of the runs.\n");
        let _ = writeln!(md, "![RSS against connections]({stem}/rss.svg)\n");
    }
    if !results.completion.is_empty() {
        completion(&results.completion, chart_dir, stem, md)?;
    }
    if cores_measured {
        let sweeps: BTreeSet<(Kind, usize, usize)> =
            results.fanout.iter().map(|r| (r.target, r.members, r.payload)).collect();
        let mut series = Vec::new();
        for (i, (kind, members, payload)) in sweeps.into_iter().enumerate() {
            let points: Vec<(f64, f64)> = (1..=2)
                .filter_map(|cores| {
                    Some((cores as f64, sustained(&results.fanout, (kind, cores, members, payload), 1_000_000)?))
                })
                .collect();
            if !points.is_empty() {
                series.push(Series {
                    name: format!("{} {members} × {payload} B", kind.name()),
                    color: COLORS[i % COLORS.len()],
                    dashed: kind != Kind::Switchboard,
                    points,
                });
            }
        }
        let chart = line_chart("Sustained deliveries/s against cores", "server cores", "deliveries/s", &series, false);
        std::fs::write(chart_dir.join("cores.svg"), chart)?;
        let _ = writeln!(
            md,
            "Sustained deliveries/s (section 3: p99 ≤ 1 s, no loss, no disconnect) with the server pinned to one core \
             and to two; on two cores the generator shares the second core with the server.\n"
        );
        let _ = writeln!(md, "![deliveries/s against cores]({stem}/cores.svg)\n");
    }
    if !results.cluster.is_empty() {
        cluster(&results.cluster, chart_dir, stem, md)?;
    }
    Ok(())
}

fn cluster(rows: &[ClusterRow], chart_dir: &Path, stem: &str, md: &mut String) -> anyhow::Result<()> {
    let _ = writeln!(
        md,
        "**Across a cluster**: nodes sharing Redis (bus) and PostgreSQL (store) on this machine, pinned like the \
         server; the receivers connect to every node but the first, all at once, then a closed loop of {} signed \
         PostToConnection requests in flight goes to the first node, each for one receiver (with one node, to it: \
         every call local). Node RSS is each node's once every receiver was connected (median node, and the \
         largest).\n",
        rows[0].post.concurrency
    );
    let _ = writeln!(
        md,
        "| Receivers | Nodes | Runs | connected/s | node RSS MiB | requests/s | HTTP p50 / p99 ms | post→receive p50 / p99 ms | statuses |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|");
    let mut groups: BTreeMap<(usize, usize), Vec<&ClusterRow>> = BTreeMap::new();
    for r in rows {
        groups.entry((r.post.receivers, r.nodes)).or_default().push(r);
    }
    let med = |rs: &[&ClusterRow], f: &dyn Fn(&ClusterRow) -> f64| Spread::of(rs.iter().map(|r| f(r)).collect());
    for ((receivers, nodes), rs) in &groups {
        let statuses: BTreeMap<u16, u64> =
            rs.iter().flat_map(|r| r.post.statuses.clone()).fold(BTreeMap::new(), |mut m, (k, v)| {
                *m.entry(k).or_default() += v;
                m
            });
        let mut rss: Vec<f64> = rs.iter().flat_map(|r| r.node_rss.iter().map(|b| *b as f64 / 1048576.0)).collect();
        let rss = match rss.len() {
            0 => "—".to_owned(),
            _ => {
                let largest = rss.iter().copied().fold(0.0, f64::max);
                format!("{:.0} (≤ {largest:.0})", Spread::of(std::mem::take(&mut rss)).median)
            }
        };
        let ramp = if rs.iter().all(|r| r.ramp_seconds > 0.0) {
            med(rs, &|r| *receivers as f64 / r.ramp_seconds).show(1.0, 0)
        } else {
            "—".to_owned()
        };
        let _ = writeln!(
            md,
            "| {receivers} | {nodes} | {} | {ramp} | {rss} | {} | {:.2} / {:.2} | {:.2} / {:.2} | {statuses:?} |",
            rs.len(),
            med(rs, &|r| r.post.requests as f64 / r.post.seconds).show(1.0, 0),
            med(rs, &|r| r.post.http.p50 as f64).median / 1000.0,
            med(rs, &|r| r.post.http.p99 as f64).median / 1000.0,
            med(rs, &|r| r.post.delivery.p50 as f64).median / 1000.0,
            med(rs, &|r| r.post.delivery.p99 as f64).median / 1000.0,
        );
    }
    let _ = writeln!(md);
    let sizes: BTreeSet<usize> = groups.keys().map(|(receivers, _)| *receivers).collect();
    let mut series = Vec::new();
    for (i, receivers) in sizes.into_iter().enumerate() {
        for (name, p50) in [("p50", true), ("p99", false)] {
            series.push(Series {
                name: format!("post→receive {name}, {receivers} receivers"),
                color: COLORS[i % COLORS.len()],
                dashed: p50,
                points: groups
                    .iter()
                    .filter(|((r, _), _)| *r == receivers)
                    .map(|((_, nodes), rs)| {
                        let q = |r: &ClusterRow| {
                            (if p50 { r.post.delivery.p50 } else { r.post.delivery.p99 }) as f64 / 1000.0
                        };
                        (*nodes as f64, med(rs, &q).median)
                    })
                    .collect(),
            });
        }
    }
    let chart = line_chart("Cross-node PostToConnection latency", "nodes", "ms", &series, false);
    std::fs::write(chart_dir.join("nodes.svg"), chart)?;
    let _ = writeln!(md, "![cross-node latency against nodes]({stem}/nodes.svg)\n");
    Ok(())
}

fn completion(rows: &[CompletionRow], chart_dir: &Path, stem: &str, md: &mut String) -> anyhow::Result<()> {
    let _ = writeln!(
        md,
        "**Fan-out completion**: one 100 B message at a time to a room of N members (the next once every member has \
         it), on a fresh server per run; completion is the time from the send to the last member's receipt (median \
         of the messages, then median (min–max) of the runs). \"× floor\" divides by the floor's at the same N and \
         cores.\n"
    );
    let _ = writeln!(
        md,
        "| Server | Cores | N | Runs | completion ms | × floor | server CPU µs/delivery | CPU × floor | messages that reached all |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|");
    let mut groups: BTreeMap<(Kind, usize, usize), Vec<&CompletionRow>> = BTreeMap::new();
    for r in rows {
        groups.entry((r.target, r.cores, r.members)).or_default().push(r);
    }
    let time = |rs: &[&CompletionRow]| Spread::of(rs.iter().map(|r| r.median_us() / 1000.0).collect());
    let cpu = |rs: &[&CompletionRow]| {
        Spread::of(rs.iter().map(|r| r.cost.server_cpu * 1e6 / r.delivered.max(1) as f64).collect())
    };
    for (&(kind, cores, members), rs) in &groups {
        let floor = groups.get(&(Kind::Floor, cores, members)).filter(|_| kind != Kind::Floor);
        let _ = writeln!(
            md,
            "| {} | {cores} | {members} | {} | {} | {} | {} | {} | {} of {} |",
            kind.name(),
            rs.len(),
            time(rs).show(1.0, 1),
            ratio(time(rs).median, floor.map(|f| time(f).median)),
            cpu(rs).show(1.0, 2),
            ratio(cpu(rs).median, floor.map(|f| cpu(f).median)),
            rs.iter().map(|r| r.completion_us.len()).sum::<usize>(),
            rs.iter().map(|r| r.messages).sum::<u64>(),
        );
    }
    let _ = writeln!(md);
    let lines: BTreeSet<(Kind, usize)> = groups.keys().map(|(k, c, _)| (*k, *c)).collect();
    let series: Vec<Series> = lines
        .into_iter()
        .enumerate()
        .map(|(i, (kind, cores))| Series {
            name: format!("{} ({cores} core{})", kind.name(), if cores == 1 { "" } else { "s" }),
            color: COLORS[i % COLORS.len()],
            dashed: kind != Kind::Switchboard,
            points: groups
                .iter()
                .filter(|((k, c, _), _)| (*k, *c) == (kind, cores))
                .map(|((_, _, n), rs)| (*n as f64, time(rs).median))
                .collect(),
        })
        .collect();
    let chart = line_chart("Fan-out completion against room size", "members", "ms to the last member", &series, false);
    std::fs::write(chart_dir.join("completion.svg"), chart)?;
    let _ = writeln!(md, "![completion against members]({stem}/completion.svg)\n");
    Ok(())
}
