//! `switchboard serve` from start to end: configuration, logging, the start-up banner, signals and shutdown.

use std::process::ExitCode;

use crate::Server;
use crate::config::{Config, ServeArgs};
use crate::credentials::KeySource;

/// Runs a server with these flags until SIGINT or SIGTERM; exit code 2 for a configuration error.
pub fn serve(args: ServeArgs) -> ExitCode {
    let config = match Config::load(args) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("switchboard: {err:#}");
            return ExitCode::from(2);
        }
    };
    crate::logging::init(config.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("switchboard: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let server = match Server::start(config).await {
            Ok(server) => server,
            Err(err) => {
                eprintln!("switchboard: {err:#}");
                return ExitCode::FAILURE;
            }
        };
        print_banner(&server);
        wait_for_signal().await;
        tracing::info!("Shutting down.");
        server.shutdown().await;
        ExitCode::SUCCESS
    })
}

#[allow(clippy::print_stdout)]
fn print_banner(server: &Server) {
    let state = server.state();
    let config = &state.config;
    let addr = server.local_addr();
    let scheme = if config.tls.is_some() { ("wss", "https") } else { ("ws", "http") };
    println!("Switchboard is listening on {addr}");
    for api in state.apis.apis() {
        for stage in &api.api.stages {
            println!("  WebSocket API {}: {}://{addr}/{}", api.api.api_id, scheme.0, stage.stage_name);
            println!(
                "  Management API:  {}://{addr}/{}   (aws apigatewaymanagementapi --endpoint-url …)",
                scheme.1, stage.stage_name
            );
        }
    }
    for spec in state.functions.specs() {
        let arn = functions::arn::function_arn(&config.region, &config.account_id, &spec.name);
        println!("  Function {} ({}): {arn}   code {}", spec.name, spec.runtime.name(), spec.code_dir.display());
    }
    let admin = server.admin_addr();
    println!("  Health: http://{admin}/@switchboard/health   Metrics: http://{admin}/@switchboard/metrics");
    if let Some(applied) = state.stack.applied.lock().as_ref() {
        println!();
        for line in applied.report() {
            println!("{line}");
        }
    }
    match (server.key_source(), state.keys.as_ref().and_then(|k| k.primary())) {
        (None, _) => {
            println!();
            println!("WARNING: --insecure-no-auth is set: requests are NOT authenticated. Never expose this server.");
        }
        (Some(source), Some(pair)) => {
            let region = &config.region;
            // The secret is shown once, when it is made; later starts name the file that keeps it.
            match source {
                KeySource::Generated(path) => {
                    println!("\nGenerated credentials, stored in {}:", path.display());
                    println!(
                        "  export AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={}",
                        pair.access_key_id, pair.secret_access_key
                    );
                    println!("  export AWS_REGION={region} AWS_DEFAULT_REGION={region}");
                }
                KeySource::Stored(path) => {
                    println!(
                        "\nCredentials: access key {}, its secret stored in {}",
                        pair.access_key_id,
                        path.display()
                    );
                    println!("  export AWS_REGION={region} AWS_DEFAULT_REGION={region}");
                }
                KeySource::Configured => println!("\nConfigured credentials: access key {}", pair.access_key_id),
            }
        }
        (Some(_), None) => {}
    }
    println!(
        "\nTry: aws apigatewaymanagementapi post-to-connection --endpoint-url {}://{addr}/{} --connection-id ID --data hello",
        scheme.1,
        state.apis.apis().next().and_then(|a| a.api.stages.first()).map_or("prod", |s| s.stage_name.as_str())
    );
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
