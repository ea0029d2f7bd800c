//! The cross-node scenario: PostToConnection sent to one node of a cluster (Redis bus, PostgreSQL store) for
//! receivers connected to the other nodes, against the number of nodes (one node: the same calls, all local).

use super::post::measure;
use super::*;

/// One cross-node measurement: the calls went to the first node (its CPU is the cost).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClusterRow {
    pub nodes: usize,
    pub post: PostRow,
    /// How long the receivers took to connect, all nodes at once (absent from results of builds before it).
    #[serde(default)]
    pub ramp_seconds: f64,
    /// Each node's VmRSS once every receiver was connected, in bytes (absent from results of builds before it).
    #[serde(default)]
    pub node_rss: Vec<u64>,
}

/// How to reach the cluster's nodes.
#[derive(Clone, Debug)]
pub enum Nodes {
    /// Start `switchboard` processes sharing this bus and store, in this namespace.
    Start { bus_url: String, store_url: String, namespace: String },
    /// Nodes someone else started (their `$connect` route must point at `--backend-addr`).
    Running(Vec<SocketAddr>),
}

pub(super) async fn cluster(ctx: &Ctx<'_>, nodes: usize) -> anyhow::Result<ClusterRow> {
    let o = ctx.options;
    let own = if ctx.backend.is_none() { Some(Backend::start(None).await?) } else { None };
    let backend = ctx.backend.as_ref().or(own.as_ref()).context("no backend")?;
    backend.ids.lock().unwrap_or_else(|e| e.into_inner()).clear();
    let mut servers = Vec::new();
    for k in 0..nodes.max(1) {
        let server = match &o.cluster {
            Nodes::Running(addrs) => {
                let addr = *addrs.get(k).with_context(|| format!("{nodes} nodes asked, {} given", addrs.len()))?;
                let launch = Launch::External { addr, pid: std::process::id() };
                Server::start(Kind::Switchboard, &launch, None, &SwitchboardOptions::default())?
            }
            Nodes::Start { bus_url, store_url, namespace } => {
                let extra_args = ["--bus-url", bus_url, "--store-url", store_url, "--cluster-namespace", namespace];
                let options = SwitchboardOptions {
                    connect_route: Some(backend.url()),
                    extra_args: extra_args.iter().map(|a| (*a).to_owned()).collect(),
                    ..SwitchboardOptions::default()
                };
                ctx.start(Kind::Switchboard, &options)?
            }
        };
        servers.push(server);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Receivers on every node but the first, which the calls go to (on it alone for one node).
    let holders = if servers.len() == 1 { &servers[..] } else { &servers[1..] };
    let n = o.post_receivers;
    ctx.live.begin(&format!("cluster of {nodes}: receivers"), n as u64);
    let mut workers: Option<Workers> = None;
    for (j, server) in holders.iter().enumerate() {
        let (first, end) = (n * j / holders.len(), n * (j + 1) / holders.len());
        let mut spec = ctx.spec(server.addr, Client::Apigw, end - first);
        spec.first = first;
        let more = Workers::spawn(&o.worker_bin, &spec).await?;
        match &mut workers {
            Some(all) => all.extend(more),
            None => workers = Some(more),
        }
    }
    let mut workers = workers.context("no node")?;
    let ready = workers.ready(&ctx.live).await?;
    if ready.connected < n {
        bail!("cluster of {nodes}: {} of {n} receivers connected: {:?}", ready.connected, ready.errors);
    }
    let ids = {
        let map = backend.ids.lock().unwrap_or_else(|e| e.into_inner());
        let mut ids: Vec<(usize, String)> = map.iter().map(|(i, id)| (*i, id.replace('=', "%3D"))).collect();
        ids.sort();
        ids.into_iter().map(|(_, id)| id).collect::<Vec<_>>()
    };
    if ids.len() < n {
        bail!("cluster of {nodes}: the $connect integration saw {} of {n} connection ids", ids.len());
    }
    let node_rss = servers.iter().map(|server| procfs::rss(server.pid).map_or(0, |(rss, _)| rss)).collect();
    let ids = Rc::new(ids);
    let post = measure(ctx, Kind::Switchboard, &servers[0], &mut workers, &ids, o.cluster_concurrency).await?;
    workers.stop().await;
    drop(servers);
    Ok(ClusterRow { nodes, post, ramp_seconds: ready.seconds, node_rss })
}
