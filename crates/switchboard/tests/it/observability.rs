//! What operators see: metrics have no label a client chooses.

use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

use crate::harness::*;

#[tokio::test]
async fn a_client_close_code_creates_no_metrics_series() {
    let mut backend = Backend::ok().await;
    let server = TestServer::with_backend(&backend).await;
    let mut ws = server.connect("/prod").await;
    backend.next_of("CONNECT").await;
    ws.send(Message::Close(Some(CloseFrame { code: 4321.into(), reason: "bye".into() }))).await.unwrap();
    backend.next_of("DISCONNECT").await;
    let metrics = reqwest::get(server.url("/@switchboard/metrics")).await.unwrap().text().await.unwrap();
    assert!(metrics.contains(r#"switchboard_connections_closed_total{cause="client"} 1"#), "{metrics}");
    assert!(!metrics.contains("4321"), "a client-chosen close code became a series: {metrics}");
    server.shutdown().await;
}
