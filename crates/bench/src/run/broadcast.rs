//! The broadcast scenario: connected clients all joined to one group (UpdateConnection), then rounds of
//! PostToConnections naming every client (up to 10,000 ids per call) in the order they connected, rounds of it naming
//! them in a random order (as a caller listing ids from its own table does), and rounds of PostToGroup, each call
//! signed like PostToConnection; measures the call's latency and counts the deliveries the clients saw.

use super::post::{Receivers, receivers};
use super::*;

/// One broadcast measurement: `calls` calls of `operation`, each reaching `receivers` clients.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BroadcastRow {
    pub operation: String,
    pub receivers: usize,
    pub calls: u64,
    pub seconds: f64,
    pub http: Quantiles,
    pub delivered: u64,
}

/// The label of the rows of PostToConnections naming the receivers in a random order.
const SHUFFLED: &str = "PostToConnections, ids in random order";

/// The extension operation's path at the `prod` stage.
fn path(operation: &str) -> String {
    format!("/prod/@switchboard/ext/apigatewaymanagementapi/{operation}")
}

/// One signed extension call over `conn`; its status.
async fn call(conn: &mut http1::Conn, signer: &mut SigV4, operation: &str, body: &str) -> anyhow::Result<u16> {
    let path = path(operation);
    let signed = signer.sign("POST", &path, &conn.host, body.as_bytes(), OffsetDateTime::now_utc());
    let headers = [("X-Amz-Date", signed.amz_date.as_str()), ("Authorization", signed.authorization.as_str())];
    Ok(conn.post(&path, &headers, body.as_bytes()).await?.status)
}

pub(super) async fn broadcast(ctx: &Ctx<'_>, rounds: u64) -> anyhow::Result<Vec<BroadcastRow>> {
    let Receivers { server, mut workers, ids, backend: _backend, .. } =
        receivers(ctx, Kind::Switchboard, "broadcast").await?;
    let ids: Vec<String> = ids.into_iter().take(10_000).collect();
    let mut conn = http1::Conn::open(None, server.addr).await?;
    let mut signer = SigV4::new(target::ACCESS_KEY_ID, target::SECRET_ACCESS_KEY, target::REGION, "execute-api");
    for id in &ids {
        let body = serde_json::json!({"ConnectionId": id, "JoinGroups": ["bench"]}).to_string();
        let status = call(&mut conn, &mut signer, "UpdateConnection", &body).await?;
        if status != 200 {
            bail!("broadcast: UpdateConnection answered {status}");
        }
    }
    let data = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(payload::make(100, payload::now_micros(), 0))
    };
    let shuffled = {
        use rand::SeedableRng;
        use rand::seq::SliceRandom;
        let mut shuffled = ids.clone();
        shuffled.shuffle(&mut rand::rngs::StdRng::seed_from_u64(16));
        shuffled
    };
    let calls = [
        ("PostToConnections", "PostToConnections", serde_json::json!({"ConnectionIds": ids, "Data": data})),
        (SHUFFLED, "PostToConnections", serde_json::json!({"ConnectionIds": shuffled, "Data": data})),
        ("PostToGroup", "PostToGroup", serde_json::json!({"Group": "bench", "Data": data})),
    ];
    let mut rows = Vec::new();
    for (label, operation, body) in calls {
        let body = body.to_string();
        let before = workers.stats().await?;
        ctx.live.begin(&format!("broadcast: {label} to {} connections", ids.len()), 0);
        let started = Instant::now();
        let mut latency = Histogram::default();
        for _ in 0..rounds {
            let sent = payload::now_micros();
            let status = call(&mut conn, &mut signer, operation, &body).await?;
            if status != 200 {
                bail!("broadcast: {operation} answered {status}");
            }
            latency.record(payload::now_micros().saturating_sub(sent));
            ctx.live.sent(1);
        }
        let seconds = started.elapsed().as_secs_f64();
        let expected = before.delivered + rounds * ids.len() as u64;
        let after = drain(&mut workers, expected, Duration::from_secs(10)).await?;
        rows.push(BroadcastRow {
            operation: label.to_owned(),
            receivers: ids.len(),
            calls: rounds,
            seconds,
            http: Quantiles::of(&latency),
            delivered: after.delivered - before.delivered,
        });
    }
    workers.stop().await;
    Ok(rows)
}
