//! The PostToConnection scenario: a closed loop of signed management calls against connected clients, and the
//! drain that waits for their deliveries.

use super::*;

/// A fresh server whose `$connect` integration records connection ids, with `--post-receivers` clients connected.
pub(super) struct Receivers {
    pub(super) server: Server,
    pub(super) workers: Workers,
    pub(super) connected: usize,
    /// Their connection ids, in the order the clients connected.
    pub(super) ids: Vec<String>,
    /// The `$connect` integration when the run has none of its own; kept for as long as the clients.
    pub(super) backend: Option<Backend>,
}

pub(super) async fn receivers(ctx: &Ctx<'_>, scenario: &str) -> anyhow::Result<Receivers> {
    let o = ctx.options;
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

pub(super) async fn post(ctx: &Ctx<'_>) -> anyhow::Result<PostRow> {
    let o = ctx.options;
    let Receivers { server, mut workers, connected, ids, backend: _backend } = receivers(ctx, "post").await?;
    let ids: Rc<Vec<String>> = Rc::new(ids.iter().map(|id| id.replace('=', "%3D")).collect());
    // Warm-up, then the measured phase.
    let payload_size = 100;
    ctx.live.begin("post: warm-up", 0);
    let _ =
        post_load(server.addr, &ids, o.post_concurrency, Duration::from_millis(300), payload_size, &ctx.live).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = workers.stats().await?;
    let before = workers.stats().await?;
    let meter = ctx.meter(&server, &workers);
    ctx.live.begin("post: PostToConnection", 0);
    let load = post_load(server.addr, &ids, o.post_concurrency, o.post_duration, payload_size, &ctx.live).await?;
    let after = drain(&mut workers, before.delivered + load.ok, Duration::from_secs(3)).await?;
    let cost = meter.stop();
    workers.stop().await;
    Ok(PostRow {
        target: Kind::Switchboard,
        receivers: connected,
        concurrency: o.post_concurrency,
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

/// Closed loop: `concurrency` keep-alive connections each send signed PostToConnection requests back to back.
async fn post_load(
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
                let path = format!("/prod/@connections/{id}");
                let n = seq.fetch_add(1, Ordering::Relaxed);
                let sent = payload::now_micros();
                let body = payload::make(payload_size, sent, n);
                let signed = signer.sign("POST", &path, &conn.host, body.as_bytes(), OffsetDateTime::now_utc());
                let headers =
                    [("X-Amz-Date", signed.amz_date.as_str()), ("Authorization", signed.authorization.as_str())];
                let response = conn.post(&path, &headers, body.as_bytes()).await?;
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
