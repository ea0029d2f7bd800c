//! The fan-out scenario and its set-up: rooms and chat tokens through the control plane, publishers at a fixed
//! rate, and the probe that tells whether a server speaks the IVS Chat data plane.

use super::*;

/// Control plane: `POST /{operation}` signed for `ivschat`; returns the JSON answer.
pub(super) async fn ivschat(
    conn: &mut http1::Conn,
    operation: &str,
    body: &serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    let mut signer = SigV4::new(target::ACCESS_KEY_ID, target::SECRET_ACCESS_KEY, target::REGION, "ivschat");
    let body = serde_json::to_vec(body)?;
    let path = format!("/{operation}");
    let signed = signer.sign("POST", &path, &conn.host, &body, OffsetDateTime::now_utc());
    let headers = [
        ("Content-Type", "application/json"),
        ("X-Amz-Date", signed.amz_date.as_str()),
        ("Authorization", signed.authorization.as_str()),
    ];
    let response = conn.post(&path, &headers, &body).await?;
    if !(200..300).contains(&response.status) {
        bail!("{operation} answered {}: {}", response.status, String::from_utf8_lossy(&response.body));
    }
    Ok(serde_json::from_slice(&response.body).unwrap_or(serde_json::Value::Null))
}

pub(super) async fn create_room(server: SocketAddr) -> anyhow::Result<String> {
    let mut conn = http1::Conn::open(None, server).await?;
    let room = ivschat(
        &mut conn,
        "CreateRoom",
        &serde_json::json!({"name": "bench", "maximumMessageRatePerSecond": 100, "maximumMessageLength": 500}),
    )
    .await?;
    room["arn"].as_str().map(str::to_owned).context("CreateRoom answered no arn")
}

/// `n` chat tokens for users `u{first}…`, created over 16 connections.
pub(super) async fn chat_tokens(server: SocketAddr, room: &str, n: usize, first: usize) -> anyhow::Result<Vec<String>> {
    let lanes = 16.min(n.max(1));
    let mut tasks = Vec::new();
    for lane in 0..lanes {
        let room = room.to_owned();
        tasks.push(tokio::task::spawn_local(async move {
            let mut conn = http1::Conn::open(None, server).await?;
            let mut out = Vec::new();
            let mut i = lane;
            while i < n {
                let body = serde_json::json!({
                    "roomIdentifier": room, "userId": format!("u{}", first + i),
                    "capabilities": ["SEND_MESSAGE"], "sessionDurationInMinutes": 180,
                });
                let token = ivschat(&mut conn, "CreateChatToken", &body).await?;
                out.push((i, token["token"].as_str().context("CreateChatToken answered no token")?.to_owned()));
                i += lanes;
            }
            anyhow::Ok(out)
        }));
    }
    let mut tokens = vec![String::new(); n];
    for task in tasks {
        for (i, token) in task.await?? {
            tokens[i] = token;
        }
    }
    Ok(tokens)
}

/// A publisher of fan-out messages.
pub(super) enum Publisher {
    /// Sockudo's HTTP API, Switchboard's SendEvent or the floor's `/publish`: open loop over a pool of keep-alive
    /// connections.
    Http { kind: Kind, room: Option<String> },
    /// SEND_MESSAGE from one member's WebSocket.
    Message { token: String },
}

pub(super) struct PublishOutcome {
    pub(super) published: u64,
    pub(super) accepted: u64,
    pub(super) skipped: u64,
    pub(super) latency: Histogram,
}

pub(super) async fn publish(
    server: SocketAddr,
    publisher: &Publisher,
    rate: f64,
    duration: Duration,
    size: usize,
    live: &Rc<Live>,
) -> anyhow::Result<PublishOutcome> {
    let ticks = (rate * duration.as_secs_f64()).round() as u64;
    let interval = Duration::from_secs_f64(1.0 / rate);
    match publisher {
        Publisher::Message { token } => {
            let client = crate::ws::connect(None, server, "/", Some(token), Duration::from_secs(10)).await?;
            let crate::ws::Client { mut stream, mut reader } = client;
            let errors = Rc::new(AtomicU64::new(0));
            let counted = errors.clone();
            let (mut read_half, mut write_half) = stream.split();
            let drain = async move {
                // Counts ERROR frames (refused messages) on the publisher's own socket.
                loop {
                    while let Some((frame, total)) = reader.next_frame() {
                        if memchr::memmem::find(frame.payload, b"\"Type\":\"ERROR\"").is_some() {
                            counted.fetch_add(1, Ordering::Relaxed);
                        }
                        reader.consume(total);
                    }
                    if reader.fill(&mut read_half).await.unwrap_or(0) == 0 {
                        break;
                    }
                }
            };
            let send = async {
                let started = tokio::time::Instant::now();
                let mut frame = Vec::with_capacity(size + 128);
                for seq in 0..ticks {
                    tokio::time::sleep_until(started + interval.mul_f64(seq as f64)).await;
                    let content = payload::make(size, payload::now_micros(), seq);
                    let text = format!(r#"{{"Action":"SEND_MESSAGE","RequestId":"r{seq}","Content":"{content}"}}"#);
                    frame.clear();
                    crate::ws::encode_client_frame(crate::ws::OP_TEXT, text.as_bytes(), &mut frame);
                    tokio::io::AsyncWriteExt::write_all(&mut write_half, &frame).await?;
                    live.sent(1);
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
                anyhow::Ok(())
            };
            tokio::select! {
                sent = send => sent?,
                _ = drain => {}
            }
            let refused = errors.load(Ordering::Relaxed);
            Ok(PublishOutcome {
                published: ticks,
                accepted: ticks.saturating_sub(refused),
                skipped: 0,
                latency: Histogram::default(),
            })
        }
        Publisher::Http { kind, room } => {
            // Up to 64 keep-alive connections (one for a single message, so that nothing else reaches the server).
            let lane_count = ticks.clamp(1, 64);
            let (tx, rx) = tokio::sync::mpsc::channel::<u64>(256);
            let rx = Rc::new(tokio::sync::Mutex::new(rx));
            let mut lanes = Vec::new();
            for _ in 0..lane_count {
                let rx = rx.clone();
                let live = live.clone();
                let (kind, room) = (*kind, room.clone());
                lanes.push(tokio::task::spawn_local(async move {
                    let mut conn = http1::Conn::open(None, server).await?;
                    let mut signer =
                        SigV4::new(target::ACCESS_KEY_ID, target::SECRET_ACCESS_KEY, target::REGION, "ivschat");
                    let (mut accepted, mut latency) = (0u64, Histogram::default());
                    loop {
                        let Some(seq) = rx.lock().await.recv().await else { break };
                        let sent = payload::now_micros();
                        let data = payload::make(size, sent, seq);
                        let status = match kind {
                            Kind::Floor => conn.post("/publish", &[], data.as_bytes()).await.map_or(0, |r| r.status),
                            Kind::Sockudo => {
                                let body = format!(r#"{{"name":"tick","channels":["bench"],"data":"{data}"}}"#);
                                let path = format!("/apps/{}/events", target::PUSHER_APP_ID);
                                let unix = OffsetDateTime::now_utc().unix_timestamp();
                                let query = pusher_query(
                                    target::PUSHER_KEY,
                                    target::PUSHER_SECRET,
                                    &path,
                                    body.as_bytes(),
                                    unix,
                                );
                                let headers = [("Content-Type", "application/json")];
                                conn.post(&format!("{path}?{query}"), &headers, body.as_bytes())
                                    .await
                                    .map_or(0, |r| r.status)
                            }
                            Kind::Switchboard => {
                                let body = serde_json::to_vec(&serde_json::json!({
                                    "roomIdentifier": room, "eventName": "bench", "attributes": {"p": data},
                                }))?;
                                let signed =
                                    signer.sign("POST", "/SendEvent", &conn.host, &body, OffsetDateTime::now_utc());
                                let headers = [
                                    ("Content-Type", "application/json"),
                                    ("X-Amz-Date", signed.amz_date.as_str()),
                                    ("Authorization", signed.authorization.as_str()),
                                ];
                                conn.post("/SendEvent", &headers, &body).await.map_or(0, |r| r.status)
                            }
                        };
                        latency.record(payload::now_micros().saturating_sub(sent));
                        live.sent(1);
                        if (200..300).contains(&status) {
                            accepted += 1;
                        }
                    }
                    anyhow::Ok((accepted, latency))
                }));
            }
            let started = tokio::time::Instant::now();
            let mut skipped = 0;
            for seq in 0..ticks {
                tokio::time::sleep_until(started + interval.mul_f64(seq as f64)).await;
                if tx.try_send(seq).is_err() {
                    skipped += 1;
                }
            }
            drop(tx);
            let mut outcome = PublishOutcome { published: ticks, accepted: 0, skipped, latency: Histogram::default() };
            for lane in lanes {
                let (accepted, latency) = lane.await??;
                outcome.accepted += accepted;
                outcome.latency.merge(&latency);
            }
            Ok(outcome)
        }
    }
}

/// A fresh server on `cores` cores with one room of `members` connected members, and how to publish to it.
pub(super) struct Room {
    pub(super) server: Server,
    pub(super) workers: Workers,
    pub(super) client: Client,
    pub(super) publisher: Publisher,
    pub(super) label: &'static str,
}

pub(super) async fn room(ctx: &Ctx<'_>, kind: Kind, cores: usize, members: usize) -> anyhow::Result<Room> {
    room_with(ctx, kind, cores, members, 0).await
}

/// [`room`] where every `stall_every`-th member (0: none) stops reading once connected.
pub(super) async fn room_with(
    ctx: &Ctx<'_>,
    kind: Kind,
    cores: usize,
    members: usize,
    stall_every: usize,
) -> anyhow::Result<Room> {
    let o = ctx.options;
    let client = client_of(kind, o.chat);
    let server = ctx.start(kind, &SwitchboardOptions { cores, ..SwitchboardOptions::default() })?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut spec = ctx.spec(server.addr, client, members);
    spec.stall_every = stall_every;
    let (publisher, label) = match client {
        Client::Chat => {
            let room = create_room(server.addr).await?;
            let mut tokens = chat_tokens(server.addr, &room, members + 1, 0).await?;
            let token = tokens.pop().context("no publisher token")?;
            spec.subprotocols = tokens;
            match o.chat_publish {
                ChatPublish::Message => (Publisher::Message { token }, "SEND_MESSAGE"),
                ChatPublish::Event => (Publisher::Http { kind, room: Some(room) }, "SendEvent"),
            }
        }
        _ if kind == Kind::Floor => (Publisher::Http { kind, room: None }, "POST /publish"),
        _ => (Publisher::Http { kind, room: None }, "HTTP events API"),
    };
    ctx.live.begin(&format!("fanout: {} members", kind.name()), members as u64);
    let mut workers = Workers::spawn(&o.worker_bin, &spec).await?;
    let ready = workers.ready(&ctx.live).await?;
    if ready.connected < members {
        bail!("only {} of {members} members connected: {:?}", ready.connected, ready.errors);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok(Room { server, workers, client, publisher, label })
}

pub(super) async fn fanout(
    ctx: &Ctx<'_>,
    kind: Kind,
    cores: usize,
    members: usize,
    size: usize,
    run: usize,
    progress: &dyn Fn(&str),
) -> anyhow::Result<Vec<FanoutRow>> {
    let o = ctx.options;
    let mut room = room(ctx, kind, cores, members).await?;
    let rates = o.fanout_rates.get(&members).cloned().unwrap_or_else(|| vec![10.0]);
    let mut rows = Vec::new();
    for rate in rates {
        let row = measure(ctx, &mut room, Phase { cores, members, readers: members, size, rate, run }).await?;
        progress(&format!(
            "  rate {rate}/s: {:.0} deliveries/s, p50 {:.1} ms, p99 {:.1} ms, lost {}, server {:.2} µs/delivery, generator {:.0} %",
            row.deliveries_per_second(),
            row.latency.p50 as f64 / 1000.0,
            row.latency.p99 as f64 / 1000.0,
            row.lost(),
            row.cost.server_cpu * 1e6 / row.delivered.max(1) as f64,
            row.cost.generator_load() * 100.0,
        ));
        let knee = row.latency.p99 > o.stop_p99.as_micros() as u64
            || row.lost() > 0
            || !row.disconnected.is_empty()
            || (row.accepted as f64) < 0.95 * row.published as f64;
        rows.push(row);
        if knee || !server_alive(&room.server) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    room.workers.stop().await;
    Ok(rows)
}

/// One publish phase of a fan-out measurement.
#[derive(Clone, Copy)]
pub(super) struct Phase {
    pub(super) cores: usize,
    pub(super) members: usize,
    /// Members that read (the others stall), whose deliveries are expected and timed.
    pub(super) readers: usize,
    pub(super) size: usize,
    pub(super) rate: f64,
    pub(super) run: usize,
}

/// Publishes to `room` at `phase.rate` for the fan-out duration and waits for the readers' deliveries.
pub(super) async fn measure(ctx: &Ctx<'_>, room: &mut Room, phase: Phase) -> anyhow::Result<FanoutRow> {
    let Phase { cores, members, readers, size, rate, run } = phase;
    let kind = room.server.kind;
    let before = room.workers.stats().await?;
    let start_us = payload::now_micros();
    let meter = ctx.meter(&room.server, &room.workers);
    ctx.live.begin(&format!("fanout: {} {members} members at {rate}/s", kind.name()), 0);
    let outcome =
        publish(room.server.addr, &room.publisher, rate, ctx.options.fanout_duration, size, &ctx.live).await?;
    let expected = outcome.accepted * readers as u64;
    let after = drain(&mut room.workers, before.delivered + expected, Duration::from_secs(15)).await?;
    let cost = meter.stop();
    let delivered = after.delivered - before.delivered;
    let mut disconnected = after.closed.clone();
    for (code, n) in &before.closed {
        if let Some(v) = disconnected.get_mut(code) {
            *v -= n;
        }
    }
    disconnected.retain(|_, n| *n > 0);
    Ok(FanoutRow {
        target: kind,
        client: room.client,
        publish: room.label.to_owned(),
        members,
        payload: size,
        cores,
        frame_bytes: 0,
        rate,
        run,
        published: outcome.published,
        accepted: outcome.accepted,
        skipped: outcome.skipped,
        expected,
        delivered,
        disconnected,
        seconds: (after.last_receive_us.saturating_sub(start_us)) as f64 / 1e6,
        latency: Quantiles::of(&after.latency),
        publish_latency: Quantiles::of(&outcome.latency),
        cost,
    })
}

pub(super) fn server_alive(server: &Server) -> bool {
    std::path::Path::new(&format!("/proc/{}", server.pid)).exists()
}

/// Whether this Switchboard serves the IVS Chat data plane: a chat token's WebSocket upgrade at `/` succeeds.
pub async fn probe_chat(options: &Options) -> bool {
    let ctx = Ctx::new(options, None, true);
    let Ok(server) = ctx.start(Kind::Switchboard, &SwitchboardOptions::default()) else { return false };
    let probe = async {
        let room = create_room(server.addr).await?;
        let token = chat_tokens(server.addr, &room, 1, 0).await?.pop().context("no token")?;
        crate::ws::connect(None, server.addr, "/", Some(&token), Duration::from_secs(5)).await?;
        anyhow::Ok(())
    };
    tokio::time::timeout(Duration::from_secs(15), probe).await.is_ok_and(|r| r.is_ok())
}
