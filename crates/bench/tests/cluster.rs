//! The cluster scenario against two in-process nodes sharing this machine's Redis and PostgreSQL
//! (`SWITCHBOARD_TEST_REDIS_URL`, `SWITCHBOARD_TEST_POSTGRES_URL`): with two nodes every PostToConnection goes to the
//! first node for receivers on the second, and all of them arrive. Ignored by a plain `cargo test`; `.ci/run` runs
//! it with `--include-ignored`.

use std::process::Command;
use std::time::Duration;

use bench::run::Results;
use server::Server;
use server::config::{Config, FileConfig, ServeArgs};

#[test]
#[ignore = "needs Redis and PostgreSQL (SWITCHBOARD_TEST_REDIS_URL, SWITCHBOARD_TEST_POSTGRES_URL)"]
fn the_cluster_scenario_posts_across_nodes() {
    let redis = test_support::service_url("SWITCHBOARD_TEST_REDIS_URL");
    let postgres = test_support::service_url("SWITCHBOARD_TEST_POSTGRES_URL");
    let namespace = format!("sbbench_{}", std::process::id());
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let backend = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mut nodes = Vec::new();
    for k in 0..2 {
        let mut args = ServeArgs {
            listen: Some("127.0.0.1:0".parse().unwrap()),
            data_dir: Some(dir.path().join(format!("node{k}"))),
            access_key_id: Some(bench::target::ACCESS_KEY_ID.to_owned()),
            secret_access_key: Some(bench::target::SECRET_ACCESS_KEY.to_owned()),
            routes: vec![format!("$connect=http://{backend}/connect")],
            ..ServeArgs::default()
        };
        args.limits.new_connections_per_second = Some(0);
        args.cluster.bus_url = Some(redis.clone());
        args.cluster.store_url = Some(postgres.clone());
        args.cluster.cluster_namespace = Some(namespace.clone());
        let config = Config::merge(args, FileConfig::default()).unwrap();
        nodes.push(runtime.block_on(Server::start(config)).unwrap());
    }
    let addrs: Vec<String> = nodes.iter().map(|n| n.local_addr().to_string()).collect();

    let json = dir.path().join("results.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard-bench"))
        .args(["run", "--smoke", "--no-pin", "--scenarios", "cluster", "--max-minutes", "2"])
        .args(["--targets", "switchboard", "--chat", "no", "--cluster-nodes", "1,2"])
        .arg("--cluster-addrs")
        .arg(addrs.join(","))
        .arg("--backend-addr")
        .arg(backend.to_string())
        .arg("--json-out")
        .arg(&json)
        .arg("--out")
        .arg(dir.path().join("benchmarks.md"))
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the cluster run did not stop by itself");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "switchboard-bench failed: {status}");
    let results: Results = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert!(results.environment.notes.iter().all(|n| !n.contains("failed")), "{:?}", results.environment.notes);
    assert_eq!(results.cluster.iter().map(|r| r.nodes).collect::<Vec<_>>(), [1, 2]);
    for row in &results.cluster {
        let ok = row.post.statuses.get(&200).copied().unwrap_or(0);
        assert!(ok > 0 && ok == row.post.requests, "{row:?}");
        assert_eq!(row.post.delivered, ok, "every accepted post reached its receiver: {row:?}");
        assert!(row.ramp_seconds > 0.0 && row.node_rss.len() == row.nodes, "{row:?}");
        assert!(row.node_rss.iter().all(|rss| *rss > 0), "each node's RSS: {row:?}");
    }
    let text = std::fs::read_to_string(dir.path().join("benchmarks.md")).unwrap();
    assert!(text.contains("**Across a cluster**") && dir.path().join("benchmarks/nodes.svg").is_file(), "{text}");
    runtime.block_on(async {
        for node in nodes {
            node.shutdown().await;
        }
        if let Ok(store) = store::PostgresStore::connect_in(&postgres, &namespace).await {
            let _ = store.drop_schema().await;
        }
    });
}
