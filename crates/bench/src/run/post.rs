//! The PostToConnection scenario: a closed loop of signed management calls against connected clients, and the
//! drain that waits for their deliveries. Its peers on the same path: Sockudo's HTTP events API (one event per
//! request to a channel of one subscriber) and the floor's `/prod/@connections/{i}` (one write per request).

use super::*;

/// A fresh server with `--post-receivers` clients connected: Switchboard's `$connect` integration records their
/// connection ids; Sockudo's clients each subscribe to a channel of their own; the floor knows them by index.
pub(super) struct Receivers {
    pub(super) server: Server,
    pub(super) workers: Workers,
    pub(super) connected: usize,
    /// Their connection ids (Sockudo: channel names), in the order of the clients' indexes.
    pub(super) ids: Vec<String>,
    /// The `$connect` integration when the run has none of its own; kept for as long as the clients.
    pub(super) backend: Option<Backend>,
}

pub(super) async fn receivers(ctx: &Ctx<'_>, kind: Kind, scenario: &str) -> anyhow::Result<Receivers> {
    let o = ctx.options;
    if kind != Kind::Switchboard {
        let server = ctx.start(kind, &SwitchboardOptions::default())?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let spec = ctx.spec_on(server.addr, client_of(kind, false), o.post_receivers, "c{i}");
        ctx.live.begin(&format!("{scenario}: {} receivers", kind.name()), o.post_receivers as u64);
        let mut workers = Workers::spawn(&o.worker_bin, &spec).await?;
        let ready = workers.ready(&ctx.live).await?;
        if ready.connected < o.post_receivers {
            bail!("{scenario}: {} of {} receivers connected: {:?}", ready.connected, o.post_receivers, ready.errors);
        }
        let prefix = if kind == Kind::Sockudo { "c" } else { "" };
        let ids = (0..o.post_receivers).map(|i| format!("{prefix}{i}")).collect();
        return Ok(Receivers { server, workers, connected: ready.connected, ids, backend: None });
    }
    let own = if ctx.backend.is_none() { Some(Backend::start(None).await?) } else { None };
    let backend = ctx.backend.as_ref().or(own.as_ref()).context("no backend")?;
    backend.ids.lock().unwrap_or_else(|e| e.into_inner()).clear();
    let server = ctx.start(
        Kind::Switchboard,
        &SwitchboardOptions { connect_route: Some(backend.url()), ..SwitchboardOptions::default() },
    )?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let spec = ctx.spec(server.addr, Client::Apigw, o.post_receivers);
    ctx.live.begin(&format!("{scenario}: receivers"), o.post_receivers as u64);
    let mut workers = Workers::spawn(&o.worker_bin, &spec).await?;
    let ready = workers.ready(&ctx.live).await?;
    if ready.connected == 0 {
        bail!("{scenario}: no receiver connected: {:?}", ready.errors);
    }
    let ids = {
        let map = backend.ids.lock().unwrap_or_else(|e| e.into_inner());
        let mut ids: Vec<(usize, String)> = map.iter().map(|(i, id)| (*i, id.clone())).collect();
        ids.sort();
        ids.into_iter().map(|(_, id)| id).collect::<Vec<_>>()
    };
    if ids.is_empty() {
        bail!("{scenario}: the $connect integration saw no connection id");
    }
    Ok(Receivers { server, workers, connected: ready.connected, ids, backend: own })
}

pub(super) async fn post(ctx: &Ctx<'_>, kind: Kind) -> anyhow::Result<PostRow> {
    let Receivers { server, mut workers, connected, ids, backend: _backend } = receivers(ctx, kind, "post").await?;
    let ids: Rc<Vec<String>> = Rc::new(ids.iter().map(|id| id.replace('=', "%3D")).collect());
    let row = measure(ctx, kind, &server, &mut workers, &ids, ctx.options.post_concurrency).await?;
    workers.stop().await;
    Ok(PostRow { receivers: connected, ..row })
}

/// A warm-up, then the measured closed loop of `concurrency` connections to `server`, and the deliveries it caused.
pub(super) async fn measure(
    ctx: &Ctx<'_>,
    kind: Kind,
    server: &Server,
    workers: &mut Workers,
    ids: &Rc<Vec<String>>,
    concurrency: usize,
) -> anyhow::Result<PostRow> {
    let payload_size = 100;
    ctx.live.begin("post: warm-up", 0);
    let warm_up = Duration::from_millis(300);
    let _ = post_load(kind, server.addr, ids, concurrency, warm_up, payload_size, &ctx.live).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = workers.stats().await?;
    let before = workers.stats().await?;
    let meter = ctx.meter(server, workers);
    let call = match kind {
        Kind::Switchboard => "PostToConnection",
        Kind::Sockudo => "Sockudo's HTTP events API",
        Kind::Floor => "the floor's PostToConnection",
    };
    ctx.live.begin(&format!("post: {call}"), 0);
    let load =
        post_load(kind, server.addr, ids, concurrency, ctx.options.post_duration, payload_size, &ctx.live).await?;
    let after = drain(workers, before.delivered + load.ok, Duration::from_secs(3)).await?;
    let cost = meter.stop();
    Ok(PostRow {
        target: kind,
        receivers: ids.len(),
        concurrency,
        payload: payload_size,
        requests: load.requests,
        statuses: load.statuses,
        seconds: load.seconds,
        http: Quantiles::of(&load.latency),
        delivery: Quantiles::of(&after.latency),
        delivered: after.delivered - before.delivered,
        cost,
    })
}

struct PostLoad {
    requests: u64,
    ok: u64,
    statuses: BTreeMap<u16, u64>,
    seconds: f64,
    latency: Histogram,
}

/// Closed loop: `concurrency` keep-alive connections each send requests back to back, each to one receiver.
async fn post_load(
    kind: Kind,
    server: SocketAddr,
    ids: &Rc<Vec<String>>,
    concurrency: usize,
    duration: Duration,
    payload_size: usize,
    live: &Rc<Live>,
) -> anyhow::Result<PostLoad> {
    let started = Instant::now();
    let deadline = started + duration;
    let seq = Rc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for c in 0..concurrency {
        let ids = ids.clone();
        let seq = seq.clone();
        let live = live.clone();
        tasks.push(tokio::task::spawn_local(async move {
            let mut conn = http1::Conn::open(None, server).await?;
            let mut signer =
                SigV4::new(target::ACCESS_KEY_ID, target::SECRET_ACCESS_KEY, target::REGION, "execute-api");
            let mut latency = Histogram::default();
            let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
            let mut k = c;
            while Instant::now() < deadline {
                let id = &ids[k % ids.len()];
                k += concurrency;
                let n = seq.fetch_add(1, Ordering::Relaxed);
                let sent = payload::now_micros();
                let data = payload::make(payload_size, sent, n);
                let response = match kind {
                    Kind::Sockudo => {
                        let body = format!(r#"{{"name":"m","channel":"{id}","data":"{data}"}}"#);
                        let path = format!("/apps/{}/events", target::PUSHER_APP_ID);
                        let unix = OffsetDateTime::now_utc().unix_timestamp();
                        let query =
                            pusher_query(target::PUSHER_KEY, target::PUSHER_SECRET, &path, body.as_bytes(), unix);
                        let headers = [("Content-Type", "application/json")];
                        conn.post(&format!("{path}?{query}"), &headers, body.as_bytes()).await?
                    }
                    Kind::Switchboard | Kind::Floor => {
                        let path = format!("/prod/@connections/{id}");
                        let signed = signer.sign("POST", &path, &conn.host, data.as_bytes(), OffsetDateTime::now_utc());
                        let headers = [
                            ("X-Amz-Date", signed.amz_date.as_str()),
                            ("Authorization", signed.authorization.as_str()),
                        ];
                        conn.post(&path, &headers, data.as_bytes()).await?
                    }
                };
                latency.record(payload::now_micros().saturating_sub(sent));
                live.sent(1);
                *statuses.entry(response.status).or_default() += 1;
            }
            anyhow::Ok((latency, statuses))
        }));
    }
    let mut load =
        PostLoad { requests: 0, ok: 0, statuses: BTreeMap::new(), seconds: 0.0, latency: Histogram::default() };
    for task in tasks {
        let (latency, statuses) = task.await??;
        load.latency.merge(&latency);
        for (status, n) in statuses {
            *load.statuses.entry(status).or_default() += n;
        }
    }
    load.seconds = started.elapsed().as_secs_f64();
    load.requests = load.statuses.values().sum();
    load.ok = load.statuses.get(&200).copied().unwrap_or(0);
    Ok(load)
}

/// Polls the workers until `expected` deliveries were counted or nothing arrived for a second (at most `limit`).
pub(super) async fn drain(
    workers: &mut Workers,
    expected: u64,
    limit: Duration,
) -> anyhow::Result<crate::workers::Merged> {
    let started = Instant::now();
    let mut merged_latency = Histogram::default();
    let mut last = u64::MAX;
    let mut last_change = Instant::now();
    loop {
        let stats = workers.stats().await?;
        merged_latency.merge(&stats.latency);
        if stats.delivered >= expected || started.elapsed() > limit || last_change.elapsed() > Duration::from_secs(1) {
            let mut stats = stats;
            stats.latency = merged_latency;
            return Ok(stats);
        }
        if stats.delivered != last {
            last = stats.delivered;
            last_change = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
