//! A Switchboard server in this process, on an ephemeral loopback port with its own data directory and the test key
//! pair, and the official AWS SDK clients pointed at it.

use std::net::SocketAddr;
use std::sync::Arc;

use server::Server;
use server::config::{Config, FileConfig, ServeArgs};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::{AKID, Backend, REGION, SECRET, Ws};

/// A server on an ephemeral loopback port with its own data directory and a known key pair.
pub struct TestServer {
    server: Option<Server>,
    pub addr: SocketAddr,
    /// The admin listener: full health and metrics.
    pub admin_addr: SocketAddr,
    dir: Arc<tempfile::TempDir>,
}

impl TestServer {
    pub async fn start(file_toml: &str, tweak: impl FnOnce(&mut ServeArgs)) -> TestServer {
        TestServer::start_in(Arc::new(tempfile::tempdir().unwrap()), file_toml, tweak).await
    }

    /// A server on the data directory of an earlier one (a restart).
    pub async fn start_in(
        dir: Arc<tempfile::TempDir>,
        file_toml: &str,
        tweak: impl FnOnce(&mut ServeArgs),
    ) -> TestServer {
        let mut args = ServeArgs {
            listen: Some("127.0.0.1:0".parse().unwrap()),
            data_dir: Some(dir.path().to_owned()),
            access_key_id: Some(AKID.to_owned()),
            secret_access_key: Some(SECRET.to_owned()),
            ..ServeArgs::default()
        };
        tweak(&mut args);
        let file: FileConfig = toml::from_str(file_toml).unwrap();
        let config = Config::merge(args, file).unwrap();
        let server = Server::start(config).await.unwrap();
        let (addr, admin_addr) = (server.local_addr(), server.admin_addr());
        TestServer { server: Some(server), addr, admin_addr, dir }
    }

    /// The data directory, to restart a server on it.
    pub fn data_dir(&self) -> Arc<tempfile::TempDir> {
        self.dir.clone()
    }

    /// A server whose default API routes `$connect`, `$disconnect` and `$default` to `backend`.
    pub async fn with_backend(backend: &Backend) -> TestServer {
        let url = backend.url();
        TestServer::start("", |a| {
            a.routes = vec![format!("$connect={url}"), format!("$disconnect={url}"), format!("$default={url}")];
        })
        .await
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A URL of the admin listener (`/@switchboard/health`, `/@switchboard/metrics`).
    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.admin_addr)
    }

    /// The admin listener's metrics, as text.
    pub async fn metrics(&self) -> String {
        reqwest::get(self.admin_url("/@switchboard/metrics")).await.unwrap().text().await.unwrap()
    }

    pub async fn connect(&self, path: &str) -> Ws {
        self.try_connect(path, &[]).await.unwrap()
    }

    pub async fn try_connect(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
        let mut request = format!("ws://{}{path}", self.addr).into_client_request().unwrap();
        for (name, value) in headers {
            request.headers_mut().insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                http::HeaderValue::from_str(value).unwrap(),
            );
        }
        tokio_tungstenite::connect_async(request).await.map(|(ws, _)| ws)
    }

    /// The official SDK client, pointed at `/{stage}`.
    pub fn sdk(&self, stage: &str) -> aws_sdk_apigatewaymanagement::Client {
        let creds = aws_credential_types::Credentials::new(AKID, SECRET, None, None, "test");
        let config = aws_sdk_apigatewaymanagement::Config::builder()
            .behavior_version(aws_sdk_apigatewaymanagement::config::BehaviorVersion::latest())
            .region(aws_sdk_apigatewaymanagement::config::Region::new(REGION))
            .credentials_provider(creds)
            .endpoint_url(self.url(&format!("/{stage}")))
            .build();
        aws_sdk_apigatewaymanagement::Client::from_conf(config)
    }

    /// The official IVS Chat SDK client, pointed at the server.
    pub fn chat_sdk(&self) -> aws_sdk_ivschat::Client {
        chat_sdk_at(&self.url(""))
    }

    /// The running server's shared state (what it was configured with, what its template did).
    pub fn state(&self) -> &std::sync::Arc<server::AppState> {
        self.server.as_ref().expect("running").state()
    }

    /// See `Server::hold_connections_open`: shutdown leaves the open HTTP connections open while the guard lives.
    pub fn hold_connections_open(&self) -> server::ConnectionsHeld {
        self.server.as_ref().expect("running").hold_connections_open()
    }

    pub async fn shutdown(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }
}

/// The official IVS Chat SDK client with the test key pair, pointed at `url` (a server of this process or another).
pub fn chat_sdk_at(url: &str) -> aws_sdk_ivschat::Client {
    let creds = aws_credential_types::Credentials::new(AKID, SECRET, None, None, "test");
    let config = aws_sdk_ivschat::Config::builder()
        .behavior_version(aws_sdk_ivschat::config::BehaviorVersion::latest())
        .region(aws_sdk_ivschat::config::Region::new(REGION))
        .credentials_provider(creds)
        .endpoint_url(url)
        .build();
    aws_sdk_ivschat::Client::from_conf(config)
}
