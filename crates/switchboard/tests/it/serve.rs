//! The server as a whole: TLS, health and metrics, and the `switchboard serve` process (banner, generated
//! credentials, SIGTERM).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::*;

#[tokio::test]
async fn tls_serves_https_and_the_management_api() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let server = TestServer::start("", |a| {
        a.tls_cert = Some(cert_path.clone());
        a.tls_key = Some(key_path.clone());
    })
    .await;
    let client = reqwest::Client::builder()
        .no_proxy()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .resolve("localhost", server.addr)
        .build()
        .unwrap();
    let base = format!("https://localhost:{}", server.addr.port());
    let health = client.get(format!("{base}/@switchboard/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.version(), http::Version::HTTP_2, "HTTP/2 is negotiated over TLS (ALPN)");
    let unsigned = client.get(format!("{base}/prod/@connections/L0SM9cOFvHcCIhw%3D")).send().await.unwrap();
    assert_eq!(unsigned.status(), 403);
    assert_eq!(unsigned.headers()["x-amzn-errortype"], "MissingAuthenticationTokenException");
    // Plain HTTP on a TLS listener is not served.
    assert!(reqwest::Client::new().get(server.url("/@switchboard/health")).send().await.is_err());
    server.shutdown().await;
}

/// The admin listener serves the full health document and the metrics; the internet-facing one answers only the
/// health status (for load balancers) and refuses the metrics as any other reserved path.
#[tokio::test]
async fn health_and_metrics_are_served_on_the_admin_listener_only() {
    let server = TestServer::start("", |_| {}).await;
    assert!(server.admin_addr.ip().is_loopback());
    assert_ne!(server.admin_addr, server.addr);
    let _ws = server.connect("/prod").await;
    let health: serde_json::Value = serde_json::from_str(
        &reqwest::get(server.admin_url("/@switchboard/health")).await.unwrap().text().await.unwrap(),
    )
    .unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["connections"], 1);
    assert!(health.get("cluster").is_some(), "{health}");
    let _ = Raw::new("GET", "/prod/@connections/L0SM9cOFvHcCIhw%3D").send(&server).await;
    let metrics = server.metrics().await;
    assert!(metrics.contains("switchboard_connections_opened_total 1"), "{metrics}");
    assert!(
        metrics.contains(r#"switchboard_api_requests_total{operation="GetConnection",status="410"} 1"#),
        "{metrics}"
    );
    let unknown = reqwest::get(server.admin_url("/@switchboard/other")).await.unwrap();
    assert_eq!(unknown.status(), 404);

    // The public listener: the status alone, no counts or cluster facts; no metrics.
    let public = reqwest::get(server.url("/@switchboard/health")).await.unwrap();
    assert_eq!(public.status(), 200);
    let public: serde_json::Value = serde_json::from_str(&public.text().await.unwrap()).unwrap();
    assert_eq!(public, serde_json::json!({ "status": "ok" }));
    for path in ["/@switchboard/metrics", "/@switchboard/other"] {
        let refused = reqwest::get(server.url(path)).await.unwrap();
        assert_eq!(refused.status(), 403, "{path}");
        assert!(!refused.text().await.unwrap().contains("switchboard_"), "{path}");
    }
    server.shutdown().await;
}

/// `switchboard serve --listen 127.0.0.1:0` and `extra` flags, with `home` as its HOME and nothing else in its
/// environment, and the banner it printed (up to the `Try:` line).
pub(crate) async fn serve_process(
    home: &std::path::Path,
    extra: &[&std::ffi::OsStr],
) -> (std::process::Child, Vec<String>) {
    serve_process_with_env(home, extra, &[]).await
}

/// [`serve_process`] with `variables` in its environment too.
async fn serve_process_with_env(
    home: &std::path::Path,
    extra: &[&std::ffi::OsStr],
    variables: &[(&str, &str)],
) -> (std::process::Child, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(variables.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let lines = tokio::task::spawn_blocking(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            let done = line.starts_with("Try:");
            lines.push(line);
            if done {
                break;
            }
        }
        lines
    });
    let lines = tokio::time::timeout(Duration::from_secs(30), lines).await.unwrap().unwrap();
    (child, lines)
}

/// `switchboard serve` with no arguments but a data directory: banner, generated credentials, then SIGTERM.
#[tokio::test]
async fn serve_process_prints_how_to_call_it_and_stops_on_sigterm() {
    let home = tempfile::tempdir().unwrap();
    let (child, lines) = serve_process(home.path(), &[]).await;
    let text = lines.join("\n");
    assert!(text.contains("Switchboard is listening on 127.0.0.1:"), "{text}");
    assert!(text.contains("ws://127.0.0.1:"), "{text}");
    let export = lines.iter().find(|l| l.contains("export AWS_ACCESS_KEY_ID=")).expect("credentials are printed");
    let creds = home.path().join(".local/share/switchboard/credentials.toml");
    let stored = std::fs::read_to_string(&creds).unwrap();
    let akid = export.split("AWS_ACCESS_KEY_ID=").nth(1).unwrap().split_whitespace().next().unwrap();
    assert!(stored.contains(akid));
    let addr: std::net::SocketAddr =
        text.split("listening on ").nth(1).unwrap().split_whitespace().next().unwrap().parse().unwrap();

    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/prod")).await.unwrap();
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    assert_eq!(recv_close(&mut ws).await.0, 1001);
    let exit = tokio::task::spawn_blocking(move || {
        let mut child = child;
        child.wait().unwrap()
    })
    .await
    .unwrap();
    assert!(exit.success(), "{exit:?}");
}

/// The generated secret is printed once, at its making, with both region variables; later starts name the file.
#[tokio::test]
async fn the_secret_is_printed_when_generated_and_never_again() {
    let home = tempfile::tempdir().unwrap();
    let creds = home.path().join(".local/share/switchboard/credentials.toml");
    let (mut first, lines) = serve_process(home.path(), &[]).await;
    first.kill().unwrap();
    first.wait().unwrap();
    let export = lines.iter().find(|l| l.contains("AWS_SECRET_ACCESS_KEY=")).expect("the new secret is printed");
    let secret = export.split("AWS_SECRET_ACCESS_KEY=").nth(1).unwrap().trim();
    assert!(std::fs::read_to_string(&creds).unwrap().contains(secret));
    assert!(lines.iter().any(|l| l == "  export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1"), "{lines:#?}");

    let (mut second, lines) = serve_process(home.path(), &[]).await;
    second.kill().unwrap();
    second.wait().unwrap();
    let text = lines.join("\n");
    assert!(!text.contains(secret), "{text}");
    assert!(text.contains(&format!("its secret stored in {}", creds.display())), "{text}");
    assert!(lines.iter().any(|l| l == "  export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1"), "{text}");
}

/// Every setting can come from its `SWITCHBOARD_*` variable; a flag wins over the variable.
#[tokio::test]
async fn settings_come_from_the_environment_and_flags_win() {
    let home = tempfile::tempdir().unwrap();
    let variables = [
        ("SWITCHBOARD_API_ID", "fromenv"),
        ("SWITCHBOARD_STAGE", "envstage"),
        ("SWITCHBOARD_ACCESS_KEY_ID", "AKIDFROMENVIRONMENT1"),
        ("SWITCHBOARD_SECRET_ACCESS_KEY", "secret-from-the-environment"),
        ("SWITCHBOARD_ADMIN_LISTEN", "127.0.0.1:0"),
    ];
    let flags = [std::ffi::OsStr::new("--stage"), std::ffi::OsStr::new("flagstage")];
    let (mut child, lines) = serve_process_with_env(home.path(), &flags, &variables).await;
    child.kill().unwrap();
    child.wait().unwrap();
    let text = lines.join("\n");
    assert!(text.contains("WebSocket API fromenv: ws://127.0.0.1:"), "{text}");
    assert!(text.contains("/flagstage") && !text.contains("envstage"), "the flag wins: {text}");
    assert!(text.contains("Configured credentials: access key AKIDFROMENVIRONMENT1"), "{text}");
    assert!(!text.contains("secret-from-the-environment"), "{text}");
    let health = text.split("Health: ").nth(1).unwrap().split_whitespace().next().unwrap();
    assert!(health.starts_with("http://127.0.0.1:"), "the admin listener from the variable: {health}");
}
