//! Forwarding management calls: a call for a connection of another node goes to that node's bus channel as a
//! request with a reply channel; the owner runs [`apigw::management::apply_within`] and answers its result unchanged.
//! Extension calls about a node's connections in general ([`NodeCall`]: a page of ListConnections, a share of a
//! PostToConnections, PostToGroup) go the same way, once per node, and the node runs [`NodeCall::apply`].

use std::sync::Arc;

use apigw::management::ext::NodeCall;
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
use super::applied::Applied;
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
        /// The client's `amz-sdk-invocation-id`, the same on each retry of one call.
        #[serde(default)]
        invocation: Option<String>,
    },
    Reply {
        id: u64,
        result: Result<Reply, WireError>,
    },
    /// An extension call about the node's connections in general.
    Node {
        id: u64,
        from: u16,
        call: NodeCall,
    },
}

impl Cluster {
    /// Runs a management call on the node that holds its connection. `invocation` is the client's
    /// `amz-sdk-invocation-id`, by which the owner recognises a retry of a call it applied.
    pub(crate) async fn forward(
        &self,
        call: &Call<'_>,
        body: Bytes,
        invocation: Option<&str>,
    ) -> Result<Reply, ApiError> {
        let node = call.id.node();
        let request = |id| Envelope::Request {
            id,
            from: self.node(),
            op: call.op,
            conn: call.id.to_string(),
            api: call.api.map(str::to_owned),
            stage: call.stage.map(str::to_owned),
            body: BASE64.encode(&body),
            invocation: invocation.map(str::to_owned),
        };
        self.request(node, request).await
    }

    /// Runs an extension call on `node` for its own connections (410 when no such node is alive).
    pub(crate) async fn call_node(&self, node: u16, call: &NodeCall) -> Result<Reply, ApiError> {
        self.request(node, |id| Envelope::Node { id, from: self.node(), call: call.clone() }).await
    }

    /// Sends the request `envelope` makes with its id to `node` and waits for the answer, within the forward
    /// timeout.
    async fn request(&self, node: u16, envelope: impl FnOnce(u64) -> Envelope) -> Result<Reply, ApiError> {
        match self.bus.state().holder(node).await {
            Ok(Some(_)) => {}
            Ok(None) => return Err(ApiError::gone()),
            Err(err) => {
                tracing::warn!(%err, node, "Cannot route a management call: the cluster bus is unavailable.");
                return Err(unreachable_node());
            }
        }
        let (tx, rx) = oneshot::channel();
        let waiting = Waiting::new(self, tx);
        let payload = Bytes::from(serde_json::to_vec(&envelope(waiting.id)).unwrap_or_default());
        let result = match self.bus.pubsub().publish(&node_channel(node), payload).await {
            Ok(()) => match tokio::time::timeout(self.settings.forward_timeout, rx).await {
                Ok(Ok(result)) => result.map_err(ApiError::from),
                _ => Err(unreachable_node()),
            },
            Err(_) => Err(unreachable_node()),
        };
        drop(waiting);
        result
    }

    /// The nodes of the cluster now, in id order (this one included).
    pub(crate) async fn nodes(&self) -> Result<Vec<u16>, ApiError> {
        let members = self.bus.state().members().await.map_err(|err| {
            tracing::warn!(%err, "Cannot list the cluster's nodes: the cluster bus is unavailable.");
            unreachable_node()
        })?;
        let mut nodes: Vec<u16> = members.iter().map(|m| m.node).chain([self.node()]).collect();
        nodes.sort_unstable();
        nodes.dedup();
        Ok(nodes)
    }

    /// Runs `call` on `node`: here for this node, through the bus for another.
    pub(crate) async fn on_node(&self, hub: &hub::Hub, node: u16, call: &NodeCall) -> Result<Reply, ApiError> {
        if node == self.node() { call.apply(hub) } else { self.call_node(node, call).await }
    }
}

/// A forwarded call's place among the pending ones, given up when the call ends however it ends — answered, timed
/// out, or abandoned by its caller (a client that went away drops the future mid-wait).
struct Waiting<'a> {
    cluster: &'a Cluster,
    id: u64,
}

impl<'a> Waiting<'a> {
    fn new(cluster: &'a Cluster, reply: oneshot::Sender<Result<Reply, WireError>>) -> Waiting<'a> {
        let mut pending = cluster.pending.lock();
        let id = loop {
            let id = rand::random::<u64>();
            if !pending.contains_key(&id) {
                break id;
            }
        };
        pending.insert(id, reply);
        Waiting { cluster, id }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.cluster.pending.lock().remove(&self.id);
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
        if message.lost {
            // Calls lost meanwhile time out at their callers (a retryable 500); nothing to answer here.
            continue;
        }
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
            Envelope::Request { id, from, op, conn, api, stage, body, invocation } => {
                let key = Applied::key(op, &conn, invocation.as_deref());
                let remembered = key.as_deref().and_then(|key| state.cluster.applied.get(key));
                let result = remembered.unwrap_or_else(|| {
                    let body = Bytes::from(BASE64.decode(body.as_bytes()).unwrap_or_default());
                    let result = match ConnectionId::parse(&conn) {
                        Some(conn) => apigw::management::apply_within(
                            &state.hub,
                            op,
                            conn,
                            api.as_deref(),
                            stage.as_deref(),
                            body,
                        ),
                        None => Err(ApiError::gone()),
                    }
                    .map_err(|e| WireError::from(&e));
                    // Only what took effect: a refusal (429 for a full outbox, 410) is for the retry to meet anew.
                    if let (Some(key), Ok(_)) = (key, &result) {
                        state.cluster.applied.remember(key, &result);
                    }
                    result
                });
                reply(&state, from, id, result);
            }
            Envelope::Node { id, from, call } => {
                let result = call.apply(&state.hub).map_err(|e| WireError::from(&e));
                reply(&state, from, id, result);
            }
        }
    }
}

/// Answers request `id` of node `from`.
fn reply(state: &Arc<AppState>, from: u16, id: u64, result: Result<Reply, WireError>) {
    let reply = Envelope::Reply { id, result };
    let payload = Bytes::from(serde_json::to_vec(&reply).unwrap_or_default());
    let bus = state.cluster.bus.clone();
    state.tasks.spawn(async move {
        let _ = bus.pubsub().publish(&node_channel(from), payload).await;
    });
}
