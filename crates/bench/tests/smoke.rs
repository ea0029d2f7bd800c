//! The harness in smoke mode against an in-process Switchboard and the floor server: every scenario runs with tiny
//! sizes, on loopback, within a bounded time, and writes its JSON results and Markdown report, with Switchboard's
//! figures beside the floor's; and a 20-second soak holds the server flat.

use std::process::Command;
use std::time::Duration;

use bench::run::{Client, Results, SoakResult};
use bench::target::Kind;
use server::Server;
use server::config::{Config, FileConfig, ServeArgs};

/// The soak reads this process's memory and descriptors: the two tests run one at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn smoke_run_measures_every_scenario_and_writes_a_report() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The bench's $connect integration listens here; the server is configured with it as its $connect route.
    let backend = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mut args = ServeArgs {
        listen: Some("127.0.0.1:0".parse().unwrap()),
        data_dir: Some(dir.path().join("data")),
        access_key_id: Some(bench::target::ACCESS_KEY_ID.to_owned()),
        secret_access_key: Some(bench::target::SECRET_ACCESS_KEY.to_owned()),
        routes: vec![format!("$connect=http://{backend}/connect")],
        ..ServeArgs::default()
    };
    args.limits.new_connections_per_second = Some(0);
    let config = Config::merge(args, FileConfig::default()).unwrap();
    let server = runtime.block_on(Server::start(config)).unwrap();
    let addr = server.local_addr();

    let json = dir.path().join("results.json");
    let report = dir.path().join("benchmarks.md");
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard-bench"))
        .args(["run", "--smoke", "--no-pin", "--scenarios", "idle,post,connect,fanout,completion,slow"])
        .args(["--targets", "switchboard,floor", "--max-minutes", "2"])
        .arg("--switchboard-addr")
        .arg(addr.to_string())
        .arg("--switchboard-pid")
        .arg(std::process::id().to_string())
        .arg("--backend-addr")
        .arg(backend.to_string())
        .arg("--json-out")
        .arg(&json)
        .arg("--out")
        .arg(&report)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read as it comes, so that the child never waits on a full pipe.
    let mut stderr = child.stderr.take().unwrap();
    let said = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let status = finish(&mut child, Duration::from_secs(150));
    let said = said.join().unwrap();
    assert!(status.success(), "switchboard-bench failed: {status}\n{said}");
    // Progress within each measurement: connections open of their target, messages sent, time elapsed.
    for wanted in ["  idle: Switchboard Apigw n=", "  post: PostToConnection: ", "  connect: Switchboard: "] {
        let line = said.lines().find(|l| l.starts_with(wanted));
        assert!(line.is_some_and(|l| l.ends_with(" s")), "no progress line {wanted:?}:\n{said}");
    }
    assert!(said.lines().any(|l| l.contains(" connections open, ")), "{said}");
    assert!(said.lines().any(|l| l.starts_with("  post: PostToConnection: ") && !l.contains(": 0 messages")), "{said}");

    let results: Results = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    // A scenario that fails becomes a note in the report; here it fails the test.
    let failures: Vec<_> = results.environment.notes.iter().filter(|n| n.contains("failed")).collect();
    assert!(failures.is_empty(), "scenarios failed: {failures:#?}");
    let idle: Vec<_> = results.idle.iter().filter(|r| r.client == Client::Apigw).collect();
    assert!(!idle.is_empty() && idle.iter().all(|r| r.connected == r.n), "idle: {:?}", results.idle);
    assert!(idle.iter().any(|r| r.target == Kind::Switchboard && !r.console), "console off: {:?}", results.idle);
    for kind in [Kind::Switchboard, Kind::Floor] {
        let post = results.post.iter().find(|r| r.target == kind).expect("a post row per target");
        assert!(post.statuses.get(&200).copied().unwrap_or(0) > 0, "post: {post:?}");
        assert!(post.delivered > 0 && post.delivery.count > 0, "post: {post:?}");
        assert!(results.idle.iter().any(|r| r.target == kind && r.connected == r.n), "idle: {:?}", results.idle);
        let fanout: Vec<_> = results.fanout.iter().filter(|r| r.target == kind).collect();
        assert!(fanout.len() >= 2 && fanout.iter().all(|r| r.delivered > 0), "fanout: {fanout:?}");
        // Every timed message reached every member of both room sizes.
        let completion: Vec<_> = results.completion.iter().filter(|r| r.target == kind).collect();
        assert_eq!(completion.len(), 2, "completion: {completion:?}");
        for row in completion {
            assert!(row.completion_us.len() == 2 && row.completion_us.iter().all(|us| *us > 0), "{row:?}");
            assert_eq!(row.delivered, row.expected, "{row:?}");
        }
    }
    assert!(
        !results.connect.is_empty() && results.connect.iter().all(|r| r.connected == r.attempted),
        "connect: {:?}",
        results.connect
    );
    assert!(!results.fanout.is_empty(), "fan-out measured nothing");
    for row in &results.fanout {
        assert_eq!(row.lost(), 0, "fanout lost messages: {row:?}");
    }
    // With a tenth of the room not reading, every reader still gets every message.
    let slow = results.slow.iter().find(|r| r.target == Kind::Switchboard).expect("a slow-consumer row");
    assert!(slow.stalled == 5 && slow.with.expected > 0, "slow: {slow:?}");
    assert_eq!((slow.without.lost(), slow.with.lost()), (0, 0), "slow: {slow:?}");
    assert!(slow.rss_before > 0 && slow.with.latency.count > 0, "slow: {slow:?}");
    let text = std::fs::read_to_string(&report).unwrap();
    for heading in [
        "### 1. Idle memory",
        "### 2. Management API",
        "### 4. Connection setup",
        "### 6. The floor and the generator's headroom",
        "### 7. Growth curves",
        "### 8. Slow consumers",
    ] {
        assert!(text.contains(heading), "report lacks {heading}:\n{text}");
    }
    assert!(text.contains("| Switchboard | API Gateway, console off | 50 |"), "no console-off row:\n{text}");
    // Switchboard's fan-out and completion rows carry a ratio to the floor measured at the same size and rate.
    let ratios = |prefix: &str| {
        text.lines().filter(|l| l.starts_with(prefix) && l.contains("× |") && !l.contains("| — | — |")).count()
    };
    assert!(ratios("| Switchboard | 1 | SendEvent |") >= 2, "no floor ratio in the fan-out table:\n{text}");
    assert!(ratios("| Switchboard | 1 | 20 |") == 1 && ratios("| Switchboard | 1 | 50 |") == 1, "completion:\n{text}");
    assert!(ratios("| Switchboard | no | 1 |") == 1, "no floor ratio in the connection table:\n{text}");
    assert!(text.contains("HTTP publish path (section 2): generator ceiling ≥"), "no post ceiling:\n{text}");
    for chart in ["memory", "rss", "completion", "fanout-50-100"] {
        assert!(dir.path().join(format!("benchmarks/{chart}.svg")).is_file(), "no {chart}.svg");
    }
    runtime.block_on(server.shutdown());
}

/// Waits for `child` for at most `limit`.
fn finish(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the run did not stop by itself");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_short_soak_of_mixed_traffic_holds_memory_descriptors_and_tasks_flat() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let backend = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let args = ServeArgs {
        listen: Some("127.0.0.1:0".parse().unwrap()),
        data_dir: Some(dir.path().join("data")),
        access_key_id: Some(bench::target::ACCESS_KEY_ID.to_owned()),
        secret_access_key: Some(bench::target::SECRET_ACCESS_KEY.to_owned()),
        routes: vec![format!("$connect=http://{backend}/connect"), format!("$default=http://{backend}/connect")],
        ..ServeArgs::default()
    };
    let config = Config::merge(args, FileConfig::default()).unwrap();
    let server = runtime.block_on(Server::start(config)).unwrap();
    let json = dir.path().join("soak.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard-bench"))
        .args(["soak", "--seconds", "20", "--rate", "60", "--warmup-secs", "6", "--sample-secs", "2"])
        .arg("--switchboard-addr")
        .arg(server.local_addr().to_string())
        .arg("--switchboard-pid")
        .arg(std::process::id().to_string())
        .arg("--admin-addr")
        .arg(server.admin_addr().to_string())
        .arg("--backend-addr")
        .arg(backend.to_string())
        .arg("--json-out")
        .arg(&json)
        .spawn()
        .unwrap();
    let status = finish(&mut child, Duration::from_secs(60));
    let result: SoakResult = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert!(status.success(), "the soak failed: {:?}", result.violations);
    assert!(result.samples.len() >= 8 && result.samples.iter().all(|s| s.tasks.is_some()), "{:?}", result.samples);
    assert!(result.ok.iter().all(|n| *n > 0), "every kind of traffic ran: {:?}", result.ok);
    runtime.block_on(server.shutdown());
}
