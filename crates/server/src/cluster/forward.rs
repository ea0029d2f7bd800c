//! Forwarding management calls: a call for a connection of another node goes to that node's bus channel as a
//! request with a reply channel; the owner runs [`apigw::management::apply_within`] and answers its result unchanged.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use apigw::management::{Call, Op, Reply};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bus::Subscription;
use bytes::Bytes;
use hub::ConnectionId;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use wire::{ApiError, ErrorCode};

use super::Cluster;
use crate::state::AppState;

/// The bus channel of a node: requests for it and replies to it.
pub(super) fn node_channel(node: u16) -> String {
    format!("node:{node}")
}

/// An error as it crosses the bus.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct WireError {
    code: String,
    message: String,
}

impl From<&ApiError> for WireError {
    fn from(err: &ApiError) -> WireError {
        WireError { code: err.code.aws_type().to_owned(), message: err.message.clone() }
    }
}

impl From<WireError> for ApiError {
    fn from(err: WireError) -> ApiError {
        ApiError::new(ErrorCode::from_aws_type(&err.code).unwrap_or(ErrorCode::InternalServer), err.message)
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "lowercase")]
enum Envelope {
    Request {
        id: u64,
        from: u16,
        op: Op,
        conn: String,
        /// The API of an `/@apis/{apiId}/…` path (absent in messages of nodes that predate it).
        #[serde(default)]
        api: Option<String>,
        stage: Option<String>,
        body: String,
    },
    Reply {
        id: u64,
        result: Result<Reply, WireError>,
    },
}

impl Cluster {
    /// Runs a management call on the node that holds its connection.
    pub(crate) async fn forward(&self, call: &Call<'_>, body: Bytes) -> Result<Reply, ApiError> {
        let node = call.id.node();
        match self.bus.state().holder(node).await {
            Ok(Some(_)) => {}
            Ok(None) => return Err(ApiError::gone()),
            Err(err) => {
                tracing::warn!(%err, node, "Cannot route a management call: the cluster bus is unavailable.");
                return Err(unreachable_node());
            }
        }
        let id = self.next_request.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending.lock().insert(id, tx);
        let envelope = Envelope::Request {
            id,
            from: self.node(),
            op: call.op,
            conn: call.id.to_string(),
            api: call.api.map(str::to_owned),
            stage: call.stage.map(str::to_owned),
            body: BASE64.encode(&body),
        };
        let payload = Bytes::from(serde_json::to_vec(&envelope).unwrap_or_default());
        let result = match self.bus.pubsub().publish(&node_channel(node), payload).await {
            Ok(()) => match tokio::time::timeout(self.settings.forward_timeout, rx).await {
                Ok(Ok(result)) => result.map_err(ApiError::from),
                _ => Err(unreachable_node()),
            },
            Err(_) => Err(unreachable_node()),
        };
        self.pending.lock().remove(&id);
        result
    }
}

fn unreachable_node() -> ApiError {
    ApiError::new(ErrorCode::InternalServer, "The node holding this connection cannot be reached now; retry later")
}

/// Answers management calls forwarded to this node, and routes replies to the calls it forwarded.
pub(super) async fn serve_inbox(state: Arc<AppState>, mut inbox: Subscription) {
    loop {
        let message = tokio::select! {
            _ = state.shutdown.cancelled() => return,
            message = inbox.recv() => match message { Some(m) => m, None => return },
        };
        let Ok(envelope) = serde_json::from_slice::<Envelope>(&message.payload) else {
            tracing::debug!("Ignoring a malformed cluster message.");
            continue;
        };
        match envelope {
            Envelope::Reply { id, result } => {
                if let Some(waiter) = state.cluster.pending.lock().remove(&id) {
                    let _ = waiter.send(result);
                }
            }
            Envelope::Request { id, from, op, conn, api, stage, body } => {
                let body = Bytes::from(BASE64.decode(body.as_bytes()).unwrap_or_default());
                let result = match ConnectionId::parse(&conn) {
                    Some(conn) => {
                        apigw::management::apply_within(&state.hub, op, conn, api.as_deref(), stage.as_deref(), body)
                    }
                    None => Err(ApiError::gone()),
                };
                let reply = Envelope::Reply { id, result: result.map_err(|e| WireError::from(&e)) };
                let payload = Bytes::from(serde_json::to_vec(&reply).unwrap_or_default());
                let bus = state.cluster.bus.clone();
                state.tasks.spawn(async move {
                    let _ = bus.pubsub().publish(&node_channel(from), payload).await;
                });
            }
        }
    }
}
