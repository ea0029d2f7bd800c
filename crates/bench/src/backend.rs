//! The `$connect` integration of the benchmarks: a Lambda-style function over HTTP that accepts every connection and
//! remembers each client's connection id by the `i` query parameter the generator sends.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// Connection ids by client index.
pub type Ids = Arc<Mutex<HashMap<usize, String>>>;

/// A running integration; it stops with the runtime.
pub struct Backend {
    pub addr: SocketAddr,
    pub ids: Ids,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl Backend {
    /// Listens on `addr` (an ephemeral loopback port by default).
    pub async fn start(addr: Option<SocketAddr>) -> anyhow::Result<Backend> {
        let listener = TcpListener::bind(addr.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)))).await?;
        let addr = listener.local_addr()?;
        let ids: Ids = Arc::default();
        let shared = ids.clone();
        let accept = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let ids = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let ids = ids.clone();
                        async move {
                            let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                            if let Ok(event) = serde_json::from_slice::<serde_json::Value>(&body) {
                                let id = event["requestContext"]["connectionId"].as_str();
                                let index = event["queryStringParameters"]["i"].as_str().and_then(|i| i.parse().ok());
                                if let (Some(id), Some(index)) = (id, index) {
                                    ids.lock().unwrap_or_else(|e| e.into_inner()).insert(index, id.to_owned());
                                }
                            }
                            let answer = Bytes::from_static(br#"{"statusCode":200}"#);
                            Ok::<_, Infallible>(http::Response::new(Full::new(answer)))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(tcp), service)
                        .await;
                });
            }
        });
        Ok(Backend { addr, ids, accept })
    }

    pub fn url(&self) -> String {
        format!("http://{}/connect", self.addr)
    }
}
