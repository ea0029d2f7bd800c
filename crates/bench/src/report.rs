//! The Markdown report: tables of medians with min and max over the runs, each figure beside its ratio to the floor
//! measured in the same run (and Switchboard's to Sockudo), the generator's headroom, and SVG charts. It replaces only
//! the generated part of an existing file (between the markers), so hand-written analysis around it survives a re-run.

mod floor;
mod growth;
mod slow;

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use crate::run::{Client, FanoutRow, Results};
use crate::svg::{COLORS, Series, line_chart};
use crate::target::Kind;

pub const BEGIN: &str = "<!-- switchboard-bench:begin -->";
pub const END: &str = "<!-- switchboard-bench:end -->";

/// Median, min and max of some samples.
#[derive(Clone, Copy, Debug, Default)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub n: usize,
}

impl Spread {
    pub fn of(mut v: Vec<f64>) -> Spread {
        if v.is_empty() {
            return Spread::default();
        }
        v.sort_by(|a, b| a.total_cmp(b));
        let n = v.len();
        let median = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
        Spread { median, min: v[0], max: v[n - 1], n }
    }

    /// `median (min–max)` with `digits` decimals, scaled by `scale`.
    pub fn show(&self, scale: f64, digits: usize) -> String {
        if self.n <= 1 {
            return format!("{:.*}", digits, self.median * scale);
        }
        format!("{:.*} ({:.*}–{:.*})", digits, self.median * scale, digits, self.min * scale, digits, self.max * scale)
    }
}

pub fn client_name(c: Client) -> &'static str {
    match c {
        Client::Apigw => "API Gateway",
        Client::Chat => "IVS Chat",
        Client::Pusher => "Pusher",
    }
}

/// The clients of an idle-memory row, saying when Switchboard's console was off.
fn idle_clients(client: Client, console_off: bool) -> String {
    if console_off { format!("{}, console off", client_name(client)) } else { client_name(client).to_owned() }
}

/// Fan-out rows grouped by (target, cores, members, payload, rate in thousandths).
type FanoutKey = (Kind, usize, usize, usize, u64);

fn fanout_groups(rows: &[FanoutRow]) -> BTreeMap<FanoutKey, Vec<&FanoutRow>> {
    let mut groups: BTreeMap<FanoutKey, Vec<&FanoutRow>> = BTreeMap::new();
    for r in rows {
        groups.entry((r.target, r.cores, r.members, r.payload, (r.rate * 1000.0) as u64)).or_default().push(r);
    }
    groups
}

/// A fan-out sweep: (target, cores, members, payload).
pub type Sweep = (Kind, usize, usize, usize);

/// Highest median deliveries/s of a sweep among rates with zero loss, no disconnect and p99 within `p99_limit_us`:
/// the rate before the latency knee.
pub fn sustained(rows: &[FanoutRow], sweep: Sweep, p99_limit_us: u64) -> Option<f64> {
    fanout_groups(rows)
        .into_iter()
        .filter(|((t, c, m, p, _), _)| (*t, *c, *m, *p) == sweep)
        .filter(|(_, rs)| {
            rs.iter().all(|r| r.lost() == 0 && r.disconnected.is_empty())
                && Spread::of(rs.iter().map(|r| r.latency.p99 as f64).collect()).median <= p99_limit_us as f64
        })
        .map(|(_, rs)| Spread::of(rs.iter().map(|r| r.deliveries_per_second()).collect()).median)
        .max_by(|a, b| a.total_cmp(b))
}

/// Median server CPU µs per delivery over the phases below the knee.
pub fn cpu_per_delivery(rows: &[FanoutRow], sweep: Sweep) -> Option<f64> {
    let v: Vec<f64> = rows
        .iter()
        .filter(|r| (r.target, r.cores, r.members, r.payload) == sweep && r.lost() == 0)
        .filter(|r| r.delivered > 0 && r.latency.p99 < 1_000_000)
        .map(|r| r.cost.server_cpu * 1e6 / r.delivered as f64)
        .collect();
    (!v.is_empty()).then(|| Spread::of(v).median)
}

/// Renders the generated part of the report and writes the charts next to `out` (in `{stem}/`).
pub fn render(results: &Results, out: &Path) -> anyhow::Result<String> {
    let stem = out.file_stem().and_then(|s| s.to_str()).unwrap_or("benchmarks").to_owned();
    let chart_dir = out.parent().unwrap_or(Path::new(".")).join(&stem);
    std::fs::create_dir_all(&chart_dir)?;
    let mut md = String::new();
    let env = &results.environment;
    let _ = writeln!(md, "{BEGIN}\n");
    let _ = writeln!(md, "### Run\n");
    let _ = writeln!(md, "| | |\n|---|---|");
    let _ = writeln!(md, "| Started | {} |", env.started);
    let _ = writeln!(md, "| Machine | {} |", env.host_cpus);
    let _ = writeln!(md, "| Kernel | {} |", env.kernel);
    let _ = writeln!(md, "| Load average (1 min) before → after | {:.2} → {:.2} |", env.load_before, env.load_after);
    let _ = writeln!(md, "| Switchboard | {} |", env.switchboard_version);
    let _ =
        writeln!(md, "| Sockudo | {} |", if env.sockudo_version.is_empty() { "not run" } else { &env.sockudo_version });
    let _ = writeln!(md, "| Command | `{}` |", env.command);
    for note in &env.notes {
        let _ = writeln!(md, "| Note | {note} |");
    }
    let _ = writeln!(md);

    if !results.idle.is_empty() {
        let _ = writeln!(md, "### 1. Idle memory per connection\n");
        let _ = writeln!(
            md,
            "Server VmRSS after all clients connected and a settle period, minus VmRSS before, divided by the clients \
             (median (min–max) over the runs, fresh server per run). Kernel socket memory (slab, both ends of each \
             loopback connection) is not in any RSS and is shown apart.\n"
        );
        let _ = writeln!(
            md,
            "| Server | Clients | N | Runs | RSS B/conn | RssAnon B/conn | RSS before → after (MiB) | kernel slab B/conn (both ends) | ramp conn/s | server CPU µs/connect |"
        );
        let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|");
        let mut groups: BTreeMap<(Kind, Client, bool, usize), Vec<_>> = BTreeMap::new();
        for r in &results.idle {
            groups.entry((r.target, r.client, !r.console, r.n)).or_default().push(r);
        }
        for ((kind, client, console_off, n), rs) in &groups {
            let per = Spread::of(rs.iter().map(|r| r.per_connection()).collect());
            let anon = Spread::of(
                rs.iter().map(|r| (r.anon_after as f64 - r.anon_before as f64) / r.connected.max(1) as f64).collect(),
            );
            let before = Spread::of(rs.iter().map(|r| r.rss_before as f64).collect());
            let after = Spread::of(rs.iter().map(|r| r.rss_after as f64).collect());
            let slab = Spread::of(rs.iter().map(|r| r.slab_delta as f64 / r.connected.max(1) as f64).collect());
            let rate = Spread::of(rs.iter().map(|r| r.connected as f64 / r.ramp_seconds.max(1e-9)).collect());
            let cpu = Spread::of(rs.iter().map(|r| r.ramp.server_cpu * 1e6 / r.connected.max(1) as f64).collect());
            let connected = rs.iter().map(|r| r.connected).min().unwrap_or(0);
            let n_show = if connected < *n { format!("{n} ({connected} connected)") } else { n.to_string() };
            let _ = writeln!(
                md,
                "| {} | {} | {n_show} | {} | {} | {} | {:.1} → {:.1} | {} | {} | {} |",
                kind.name(),
                idle_clients(*client, *console_off),
                rs.len(),
                per.show(1.0, 0),
                anon.show(1.0, 0),
                before.median / 1048576.0,
                after.median / 1048576.0,
                slab.show(1.0, 0),
                rate.show(1.0, 0),
                cpu.show(1.0, 0),
            );
        }
        let series: Vec<Series> = groups
            .keys()
            .map(|(k, c, off, _)| (*k, *c, *off))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .enumerate()
            .map(|(i, (kind, client, off))| Series {
                name: format!("{} ({})", kind.name(), idle_clients(client, off)),
                color: COLORS[i % COLORS.len()],
                dashed: kind == Kind::Sockudo,
                points: groups
                    .iter()
                    .filter(|((k, c, o, _), _)| *k == kind && *c == client && *o == off)
                    .map(|((_, _, _, n), rs)| {
                        (*n as f64, Spread::of(rs.iter().map(|r| r.per_connection() / 1024.0).collect()).median)
                    })
                    .collect(),
            })
            .collect();
        let chart = line_chart("Server RSS per idle connection", "connections", "KiB per connection", &series, true);
        std::fs::write(chart_dir.join("memory.svg"), chart)?;
        let _ = writeln!(md, "\n![memory per connection]({stem}/memory.svg)\n");
    }

    if !results.broadcast.is_empty() {
        let _ = writeln!(md, "### 5. Extensions: PostToConnections and PostToGroup\n");
        let _ = writeln!(
            md,
            "Every receiver joined one group (UpdateConnection); then calls one after another on one keep-alive \
             connection: PostToConnections naming every receiver (at most 10,000 ids) in the order they connected, the same \
             naming them in a random order, and PostToGroup to the group.\n"
        );
        let _ = writeln!(md, "| Operation | receivers | calls | calls/s | deliveries/s | HTTP p50 / p99 ms |");
        let _ = writeln!(md, "|---|---|---|---|---|---|");
        for r in &results.broadcast {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {:.1} | {:.0} | {:.1} / {:.1} |",
                r.operation,
                r.receivers,
                r.calls,
                r.calls as f64 / r.seconds,
                r.delivered as f64 / r.seconds,
                r.http.p50 as f64 / 1000.0,
                r.http.p99 as f64 / 1000.0
            );
        }
        let _ = writeln!(md);
    }
    if !results.post.is_empty() {
        let rs = &results.post;
        let _ = writeln!(md, "### 2. Management API: PostToConnection\n");
        let _ = writeln!(
            md,
            "Closed loop: {} keep-alive HTTP/1.1 connections each send requests ({} B bodies) back to back, each to \
             one of {} connected clients, round robin: Switchboard's PostToConnection (SigV4-signed); Sockudo's HTTP \
             events API (`POST /apps/{{id}}/events`, HMAC-signed query) to a channel of its own per client; the \
             floor's `POST /prod/@connections/{{i}}` (one `write` per request; signed like Switchboard's, which it \
             does not check, so the generator's work per request is the same). Latency is measured by the generator: \
             request → response, and post → frame received by the client. The generator reaches at least the \
             floor's requests/s; \"⚠ saturated\" marks a generator at ≥ 90 % of its core, which may then be the \
             limit.\n",
            rs[0].concurrency, rs[0].payload, rs[0].receivers
        );
        let _ = writeln!(
            md,
            "| Server | Runs | requests/s | × floor | × Sockudo | HTTP p50 / p99 ms | post→receive p50 / p99 / max ms | server CPU µs/request | CPU × floor | server core busy % | generator CPU % | statuses |"
        );
        let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|---|---|");
        let mut by_kind: BTreeMap<Kind, Vec<&crate::run::PostRow>> = BTreeMap::new();
        for r in rs {
            by_kind.entry(r.target).or_default().push(r);
        }
        let rps = |rs: &[&crate::run::PostRow]| Spread::of(rs.iter().map(|r| r.requests as f64 / r.seconds).collect());
        let cpu = |rs: &[&crate::run::PostRow]| {
            Spread::of(rs.iter().map(|r| r.cost.server_cpu * 1e6 / r.requests.max(1) as f64).collect())
        };
        let floor = by_kind.get(&Kind::Floor).map(|fs| (rps(fs).median, cpu(fs).median));
        let sockudo = by_kind.get(&Kind::Sockudo).map(|ss| rps(ss).median);
        for (kind, rs) in &by_kind {
            let med = |f: &dyn Fn(&crate::run::PostRow) -> f64| Spread::of(rs.iter().map(|r| f(r)).collect());
            let statuses: BTreeMap<u16, u64> =
                rs.iter().flat_map(|r| r.statuses.clone()).fold(BTreeMap::new(), |mut m, (k, v)| {
                    *m.entry(k).or_default() += v;
                    m
                });
            let generator = med(&|r| r.cost.generator_load() * 100.0);
            let other = |kind: Kind, base: Option<f64>, value: f64| match kind {
                Kind::Floor => "—".to_owned(),
                _ => ratio(value, base),
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {:.2} / {:.2} | {:.2} / {:.2} / {:.1} | {} | {} | {} | {}{} | {:?} |",
                kind.name(),
                rs.len(),
                rps(rs).show(1.0, 0),
                other(*kind, floor.map(|f| f.0), rps(rs).median),
                if *kind == Kind::Switchboard { other(*kind, sockudo, rps(rs).median) } else { "—".to_owned() },
                med(&|r| r.http.p50 as f64).median / 1000.0,
                med(&|r| r.http.p99 as f64).median / 1000.0,
                med(&|r| r.delivery.p50 as f64).median / 1000.0,
                med(&|r| r.delivery.p99 as f64).median / 1000.0,
                med(&|r| r.delivery.max as f64).median / 1000.0,
                cpu(rs).show(1.0, 1),
                other(*kind, floor.map(|f| f.1), cpu(rs).median),
                med(&|r| r.cost.server_core_busy * 100.0).show(1.0, 0),
                generator.show(1.0, 0),
                if generator.median >= 90.0 { " ⚠ saturated" } else { "" },
                statuses,
            );
        }
        let _ = writeln!(md);
    }

    if !results.connect.is_empty() {
        let _ = writeln!(md, "### 4. Connection setup\n");
        let _ = writeln!(
            md,
            "Handshakes per second while the generator opens {} connections with up to {} handshakes in flight per \
             worker; with an integration, every handshake waits for a `$connect` call to a local Lambda-style function \
             (which runs in the generator process, on the generator's core).\n",
            results.connect[0].attempted, results.connect[0].concurrency
        );
        let _ = writeln!(
            md,
            "| Server | `$connect` integration | Runs | handshakes/s | × floor | server CPU µs/handshake | CPU × floor | generator CPU % | failed |"
        );
        let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|");
        let mut groups: BTreeMap<(Kind, bool), Vec<_>> = BTreeMap::new();
        for r in &results.connect {
            groups.entry((r.target, r.with_integration)).or_default().push(r);
        }
        let rate_of = |rs: &[&crate::run::ConnectRow]| {
            Spread::of(rs.iter().map(|r| r.connected as f64 / r.seconds.max(1e-9)).collect())
        };
        let cpu_of = |rs: &[&crate::run::ConnectRow]| {
            Spread::of(rs.iter().map(|r| r.cost.server_cpu * 1e6 / r.connected.max(1) as f64).collect())
        };
        let floor = groups.get(&(Kind::Floor, false)).map(|fs| (rate_of(fs).median, cpu_of(fs).median));
        for ((kind, with), rs) in &groups {
            let (rate, cpu) = (rate_of(rs), cpu_of(rs));
            let vs = |value: f64, base: Option<f64>| {
                if *kind == Kind::Floor { "—".to_owned() } else { ratio(value, base) }
            };
            let generator = Spread::of(rs.iter().map(|r| r.cost.generator_load() * 100.0).collect());
            let failed: usize = rs.iter().map(|r| r.attempted - r.connected).sum();
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {failed} |",
                kind.name(),
                if *with { "yes" } else { "no" },
                rs.len(),
                rate.show(1.0, 0),
                vs(rate.median, floor.map(|f| f.0)),
                cpu.show(1.0, 0),
                vs(cpu.median, floor.map(|f| f.1)),
                generator.show(1.0, 0),
            );
        }
        let _ = writeln!(md);
    }

    if !results.fanout.is_empty() {
        let _ = writeln!(md, "### 3. Room fan-out\n");
        let _ = writeln!(
            md,
            "One room (Switchboard: an IVS Chat room; Sockudo: one public channel) of N members; the publisher sends at \
             a fixed rate (open loop) for the phase, with a send timestamp in every payload; the rate steps up until \
             the knee (p99 over the limit, a loss, a disconnect or the publisher falling behind). Server CPU is the \
             server process's user+system time per delivery; \"core busy\" is all of the server core's busy time \
             (softirq included, whoever used it) per delivery. Generator CPU is every generator process on its core; \
             ≥ 90 % means the generator, not the server, may be the limit.\n"
        );
        let _ = writeln!(
            md,
            "\"× floor\" divides the median p99 and the median server CPU per delivery by the floor's at the same \
             cores, members, payload and rate in the same run (— where the floor was not measured).\n"
        );
        let _ = writeln!(
            md,
            "| Server | Cores | Publish | N | Payload B | Rate/s | Runs | deliveries/s | server CPU µs/delivery | CPU × floor | core-0 busy µs/delivery (softirq %) | p50 ms | p99 ms | p99 × floor | max ms | lost | disconnects | generator CPU % |"
        );
        let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        let groups = fanout_groups(&results.fanout);
        for (&(kind, cores, members, payload, rate), rs) in &groups {
            let f = |g: &dyn Fn(&FanoutRow) -> f64| Spread::of(rs.iter().map(|r| g(r)).collect());
            let floor = groups.get(&(Kind::Floor, cores, members, payload, rate)).filter(|_| kind != Kind::Floor);
            let floor_of =
                |g: &dyn Fn(&FanoutRow) -> f64| floor.map(|fs| Spread::of(fs.iter().map(|r| g(r)).collect()));
            let cpu = |r: &FanoutRow| r.cost.server_cpu * 1e6 / r.delivered.max(1) as f64;
            let p99 = |r: &FanoutRow| r.latency.p99 as f64;
            let lost: u64 = rs.iter().map(|r| r.lost()).sum();
            let disconnects: u64 = rs.iter().flat_map(|r| r.disconnected.values()).sum();
            let codes: std::collections::BTreeSet<u16> =
                rs.iter().flat_map(|r| r.disconnected.keys().copied()).collect();
            let generator = f(&|r| r.cost.generator_load() * 100.0);
            let saturated = if generator.median >= 90.0 { " ⚠ saturated" } else { "" };
            let _ = writeln!(
                md,
                "| {} | {cores} | {} | {members} | {payload} | {} | {} | {} | {} | {} | {} ({:.0}) | {} | {} | {} | {} | {lost} | {}{} | {}{saturated} |",
                kind.name(),
                rs[0].publish,
                rs[0].rate,
                rs.len(),
                f(&|r| r.deliveries_per_second()).show(1.0, 0),
                f(&cpu).show(1.0, 2),
                ratio(f(&cpu).median, floor_of(&cpu).map(|s| s.median)),
                f(&|r| r.cost.server_core_busy * r.cost.seconds * 1e6 / r.delivered.max(1) as f64).show(1.0, 2),
                f(&|r| r.cost.server_core_softirq / r.cost.server_core_busy.max(1e-9) * 100.0).median,
                f(&|r| r.latency.p50 as f64).show(1e-3, 1),
                f(&p99).show(1e-3, 1),
                ratio(f(&p99).median, floor_of(&p99).map(|s| s.median)),
                f(&|r| r.latency.max as f64).show(1e-3, 1),
                disconnects,
                if codes.is_empty() { String::new() } else { format!(" (codes {codes:?})") },
                generator.show(1.0, 0),
            );
        }
        let _ = writeln!(md);
        let sweeps: std::collections::BTreeSet<(usize, usize, usize)> =
            results.fanout.iter().map(|r| (r.cores, r.members, r.payload)).collect();
        for (cores, members, payload) in sweeps {
            let mut series = Vec::new();
            let kinds: std::collections::BTreeSet<Kind> = results.fanout.iter().map(|r| r.target).collect();
            for (i, kind) in kinds.into_iter().enumerate() {
                for (q, name, dashed) in [(0usize, "p50", true), (1, "p99", false)] {
                    let points: Vec<(f64, f64)> = fanout_groups(&results.fanout)
                        .into_iter()
                        .filter(|((k, c, m, p, _), _)| (*k, *c, *m, *p) == (kind, cores, members, payload))
                        .map(|(_, rs)| {
                            let v = Spread::of(
                                rs.iter()
                                    .map(|r| if q == 0 { r.latency.p50 } else { r.latency.p99 } as f64 / 1000.0)
                                    .collect(),
                            );
                            (rs[0].rate * members as f64, v.median.max(0.01))
                        })
                        .collect();
                    if !points.is_empty() {
                        series.push(Series {
                            name: format!("{} {name}", kind.name()),
                            color: COLORS[i % COLORS.len()],
                            dashed,
                            points,
                        });
                    }
                }
            }
            let file = match cores {
                1 => format!("fanout-{members}-{payload}.svg"),
                _ => format!("fanout-{members}-{payload}-{cores}cores.svg"),
            };
            let chart = line_chart(
                &format!("Fan-out latency, {members} members, {payload} B, {cores} core(s)"),
                "deliveries/s demanded (rate × members)",
                "latency ms (log)",
                &series,
                true,
            );
            std::fs::write(chart_dir.join(&file), chart)?;
            let _ = writeln!(md, "![fan-out latency {members} members {payload} B {cores} cores]({stem}/{file})\n");
        }
    }
    floor::headroom(results, &mut md);
    growth::section(results, &chart_dir, &stem, &mut md)?;
    slow::section(results, &mut md);
    let _ = writeln!(md, "{END}");
    Ok(md)
}

/// `value / floor` as `1.23×`, or — without a floor figure.
fn ratio(value: f64, floor: Option<f64>) -> String {
    match floor {
        Some(floor) if floor > 0.0 => format!("{:.2}×", value / floor),
        _ => "—".to_owned(),
    }
}

/// Writes the report: replaces the generated part of `out` if it has the markers, else writes a new file.
pub fn write(results: &Results, out: &Path) -> anyhow::Result<()> {
    let generated = render(results, out)?;
    let existing = std::fs::read_to_string(out).unwrap_or_default();
    let text = match (existing.find(BEGIN), existing.find(END)) {
        (Some(b), Some(e)) if b < e => {
            format!("{}{}{}", &existing[..b], generated.trim_end(), &existing[e + END.len()..])
        }
        _ => format!("# Benchmarks\n\nGenerated by `switchboard-bench`.\n\n{generated}"),
    };
    std::fs::write(out, text)?;
    Ok(())
}
