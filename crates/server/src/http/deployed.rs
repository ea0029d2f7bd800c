//! The stages of APIs defined through the apigatewayv2 control plane, as their sockets serve them: each deployed
//! stage converted into the model the router executes once per version of its API's document.
//!
//! Freshness: a stage is re-read (the API's document, then the deployment's snapshot: two keyed reads) when it was
//! last read more than [`RECHECK`] ago, on the next handshake or message that needs it. So a new deployment, or a
//! change of stage variables, reaches open connections' next messages on every node of a cluster within
//! [`RECHECK`], without any message between nodes; the conversion is redone only when the document's version moved.
//!
//! Open connections learn that their stage is gone through one [`StageWatch`] per stage on this node: a single task
//! checks the stage every [`STAGE_CHECK`] while any connection holds the watch, and when the stage or its API no
//! longer serves anything marks the watch gone and closes the stage's connections — no timer per connection, and
//! nothing a session looks at on each of its turns.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use apigatewayv2::{ControlPlane, DeployedStage};
use apigw::connect::LiveStage;
use apigw::model::ApiRuntime;
use hub::{CloseCause, CloseRequest, Connection, Scope};
use parking_lot::Mutex;
use tokio::time::Instant;
use wire::ApiError;

use crate::state::AppState;

/// How long a stage read from the store is served before it is read again.
pub(crate) const RECHECK: Duration = Duration::from_millis(500);

/// How often a stage with open connections on this node is checked for deletion (through the cache, so a node reads
/// the store once per stage per [`RECHECK`] at most).
pub(crate) const STAGE_CHECK: Duration = Duration::from_secs(1);

/// Every deployed stage this node served recently, by `(api id, stage name)`, and the watches of those with open
/// connections.
#[derive(Debug, Default)]
pub(crate) struct DeployedStages {
    entries: Mutex<HashMap<(String, String), Entry>>,
    watches: Mutex<HashMap<(String, String), Weak<StageWatch>>>,
}

/// What the open connections of one deployed stage share: `gone` is set once the stage or its API is deleted.
#[derive(Debug)]
pub(crate) struct StageWatch {
    api_id: String,
    stage: String,
    gone: AtomicBool,
}

impl StageWatch {
    /// Closes `conn` (1001) when the stage is gone already: a connection registered after the check closed the
    /// stage's connections. The hub's shard lock orders the two: either the check's pass saw the connection, or the
    /// flag was set before it was registered and is seen here.
    pub(crate) fn close_if_gone(&self, conn: &Connection) {
        if self.gone.load(Ordering::SeqCst) {
            conn.close(stage_gone());
        }
    }
}

/// How a deleted API or stage closes its connections (their `$disconnect` follows as for any end).
fn stage_gone() -> CloseRequest {
    CloseRequest::going_away(CloseCause::Deleted)
}

#[derive(Clone, Debug)]
struct Entry {
    version: i64,
    served: Arc<ApiRuntime>,
    read_at: Instant,
}

impl DeployedStages {
    /// What `stage` of `api_id` serves now; `None` when the API or stage does not exist or the stage has no
    /// deployment (or none that can be served, logged).
    pub(crate) async fn get(
        &self,
        control: &ControlPlane,
        api_id: &str,
        stage: &str,
    ) -> Result<Option<Arc<ApiRuntime>>, ApiError> {
        let key = (api_id.to_owned(), stage.to_owned());
        let cached = {
            let mut entries = self.entries.lock();
            let entry = entries.get_mut(&key);
            match entry {
                Some(entry) if entry.read_at.elapsed() < RECHECK => return Ok(Some(entry.served.clone())),
                // This caller reads the store; the others keep serving the entry meanwhile.
                Some(entry) => {
                    entry.read_at = Instant::now();
                    Some(entry.clone())
                }
                None => None,
            }
        };
        let deployed = match control.deployed_stage(api_id, stage).await {
            Ok(deployed) => deployed,
            // A store that cannot answer now changes nothing that is served.
            Err(err) => return cached.map(|entry| Some(entry.served)).ok_or(err),
        };
        let mut entries = self.entries.lock();
        let Some(deployed) = deployed else {
            // Nothing is kept for stages that serve nothing, so unknown names cost no memory.
            entries.remove(&key);
            return Ok(None);
        };
        let served = match cached {
            Some(entry) if entry.version == deployed.version => entry.served,
            // A deployment that cannot be converted (logged) leaves the previous one served.
            cached => match (convert(&deployed, stage), cached) {
                (Some(runtime), _) => Arc::new(runtime),
                (None, Some(entry)) => entry.served,
                (None, None) => return Ok(None),
            },
        };
        let read_at = Instant::now();
        entries.insert(key, Entry { version: deployed.version, served: served.clone(), read_at });
        Ok(Some(served))
    }
}

impl DeployedStages {
    /// The watch of `stage` of `api_id` for one more connection. The first connection of a stage starts its check,
    /// which ends once no connection holds the watch, at shutdown, or when it found the stage gone.
    pub(crate) fn watch(state: &Arc<AppState>, api_id: &str, stage: &str) -> Arc<StageWatch> {
        let key = (api_id.to_owned(), stage.to_owned());
        let mut watches = state.deployed.watches.lock();
        if let Some(watch) = watches.get(&key).and_then(Weak::upgrade) {
            return watch;
        }
        let watch = Arc::new(StageWatch { api_id: key.0.clone(), stage: key.1.clone(), gone: AtomicBool::new(false) });
        watches.insert(key, Arc::downgrade(&watch));
        state.tasks.spawn(check(state.clone(), Arc::downgrade(&watch)));
        watch
    }
}

/// Checks a watched stage every [`STAGE_CHECK`] while a connection holds the watch; when the stage serves nothing any
/// more, marks the watch gone and closes the stage's connections on this node with 1001.
async fn check(state: Arc<AppState>, watch: Weak<StageWatch>) {
    loop {
        tokio::select! {
            () = state.shutdown.cancelled() => return,
            () = tokio::time::sleep(STAGE_CHECK) => {}
        }
        let Some(live) = watch.upgrade() else { break };
        let current = state.deployed.get(&state.apigatewayv2, &live.api_id, &live.stage).await;
        if current.ok().flatten().is_none() {
            live.gone.store(true, Ordering::SeqCst);
            let of_stage = |scope: &Scope| matches!(scope, Scope::Api { api_id, stage } if **api_id == *live.api_id && **stage == *live.stage);
            for conn in state.hub.snapshot().iter().filter(|conn| of_stage(&conn.info().scope)) {
                conn.close(stage_gone());
            }
            break;
        }
    }
    // Forget the watch unless a newer one for the same stage replaced it.
    let mut watches = state.deployed.watches.lock();
    watches.retain(|_, held| !held.ptr_eq(&watch) && held.strong_count() > 0);
}

/// A connection's view of its deployed stage, for its [`apigw::router::MessageRouter`].
#[derive(Debug)]
pub(crate) struct Live {
    pub(crate) state: Arc<AppState>,
    pub(crate) watch: Arc<StageWatch>,
}

impl LiveStage for Live {
    fn current(&self) -> Pin<Box<dyn Future<Output = Option<Arc<ApiRuntime>>> + Send + '_>> {
        Box::pin(async move {
            let state = &self.state;
            state.deployed.get(&state.apigatewayv2, &self.watch.api_id, &self.watch.stage).await.ok().flatten()
        })
    }
}

fn convert(deployed: &DeployedStage, stage: &str) -> Option<ApiRuntime> {
    match apigw::deployed::runtime(&deployed.api_id, stage, &deployed.stage, &deployed.definitions) {
        Ok(runtime) => Some(runtime),
        Err(err) => {
            tracing::warn!(%err, deployment = %deployed.deployment_id, "A deployment cannot be served.");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use apigatewayv2::{Config, ControlPlane};
    use http::Method;
    use serde_json::{Value, json};

    use super::{DeployedStages, RECHECK};

    async fn call(control: &ControlPlane, method: Method, path: &str, body: Value) -> Value {
        let body = if body.is_null() { Vec::new() } else { body.to_string().into_bytes() };
        let reply = control.handle(&method, path, None, &body).await.unwrap();
        serde_json::from_slice(&reply.body).unwrap_or(Value::Null)
    }

    #[tokio::test]
    async fn a_stage_is_converted_once_per_version_and_reread_after_the_recheck_interval() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(store::SqliteStore::open(dir.path()).await.unwrap());
        let control = ControlPlane::new(store, Config::new("us-east-1", "123456789012", "ws://127.0.0.1:1"));
        let api = call(
            &control,
            Method::POST,
            "/v2/apis",
            json!({"name": "a", "protocolType": "WEBSOCKET", "routeSelectionExpression": "$request.body.action"}),
        )
        .await;
        let base = format!("/v2/apis/{}", api["apiId"].as_str().unwrap());
        let api_id = api["apiId"].as_str().unwrap();
        call(&control, Method::POST, &format!("{base}/routes"), json!({"routeKey": "one"})).await;
        call(&control, Method::POST, &format!("{base}/stages"), json!({"stageName": "prod"})).await;
        let stages = DeployedStages::default();
        assert!(stages.get(&control, api_id, "prod").await.unwrap().is_none(), "no deployment yet");
        call(&control, Method::POST, &format!("{base}/deployments"), json!({"stageName": "prod"})).await;
        let first = stages.get(&control, api_id, "prod").await.unwrap().unwrap();
        assert!(first.route("one").is_some());

        // A redeployment is seen only once the copy is older than the recheck interval.
        call(&control, Method::POST, &format!("{base}/routes"), json!({"routeKey": "two"})).await;
        call(&control, Method::POST, &format!("{base}/deployments"), json!({"stageName": "prod"})).await;
        assert!(Arc::ptr_eq(&first, &stages.get(&control, api_id, "prod").await.unwrap().unwrap()));
        tokio::time::sleep(RECHECK).await;
        let second = stages.get(&control, api_id, "prod").await.unwrap().unwrap();
        assert!(second.route("two").is_some());
        // An unchanged document is not converted again.
        tokio::time::sleep(RECHECK).await;
        assert!(Arc::ptr_eq(&second, &stages.get(&control, api_id, "prod").await.unwrap().unwrap()));

        call(&control, Method::DELETE, &format!("{base}/stages/prod"), Value::Null).await;
        tokio::time::sleep(RECHECK).await;
        assert!(stages.get(&control, api_id, "prod").await.unwrap().is_none());
        assert!(stages.entries.lock().is_empty(), "nothing kept for a stage that serves nothing");
    }
}
