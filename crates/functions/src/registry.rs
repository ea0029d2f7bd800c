//! The hosted functions by name: one pool of execution environments each, the tasks that run them, and the
//! shutdown that kills every environment.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::arn::{FunctionRef, function_arn};
use crate::error::InvokeError;
use crate::invoke::{Invoke, InvokeFuture};
use crate::pool::PoolCore;
use crate::runtime::RuntimeApiServer;
use crate::settings::Settings;
use crate::spec::{FunctionSpec, SpecError};

/// Every function this server hosts.
#[derive(Debug)]
pub struct Functions {
    pools: BTreeMap<String, Arc<PoolCore>>,
    settings: Arc<Settings>,
    /// Supervisors, output readers and watchers.
    tracker: TaskTracker,
    /// Cancelled at shutdown: stops every environment and watcher.
    shutdown: CancellationToken,
}

impl Functions {
    /// Hosts `specs` (each validated; names unique). Environments start on demand; with `settings.watch`, each
    /// function's code directory is watched from now on (which needs a Tokio runtime).
    pub fn new(
        specs: Vec<FunctionSpec>,
        settings: Settings,
        runtime_api: Arc<dyn RuntimeApiServer>,
    ) -> Result<Functions, SpecError> {
        let settings = Arc::new(settings);
        let tracker = TaskTracker::new();
        let shutdown = CancellationToken::new();
        let mut pools = BTreeMap::new();
        for spec in specs {
            spec.validate()?;
            if let Err(err) = crate::launch::command(&spec, &settings) {
                tracing::warn!(function = %spec.name, %err, "This function cannot start; its invocations will fail.");
            }
            let name = spec.name.clone();
            let pool = PoolCore::new(spec, settings.clone(), runtime_api.clone(), tracker.clone(), shutdown.clone());
            if pools.insert(name.clone(), Arc::new(pool)).is_some() {
                return Err(SpecError::Duplicate(name));
            }
        }
        if settings.watch {
            for pool in pools.values() {
                tracker.spawn(crate::watch::watch(pool.clone()));
            }
        }
        Ok(Functions { pools, settings, tracker, shutdown })
    }

    pub fn is_empty(&self) -> bool {
        self.pools.is_empty()
    }

    /// The hosted functions' definitions, by name.
    pub fn specs(&self) -> impl Iterator<Item = &FunctionSpec> {
        self.pools.values().map(|pool| &pool.spec)
    }

    pub fn spec(&self, name: &str) -> Option<&FunctionSpec> {
        self.pools.get(name).map(|pool| &pool.spec)
    }

    /// The execution environments of `name` alive now.
    pub fn environments(&self, name: &str) -> usize {
        self.pools.get(name).map_or(0, |pool| pool.environments())
    }

    /// Every environment alive now, of every function.
    pub fn all_environments(&self) -> usize {
        self.pools.values().map(|pool| pool.environments()).sum()
    }

    /// Stops every environment (its process group killed), refuses new invocations, and waits at most `grace` for
    /// the supervisors to reap them; `false` when some were still running then.
    pub async fn shutdown(&self, grace: Duration) -> bool {
        self.shutdown.cancel();
        self.tracker.close();
        tokio::time::timeout(grace, self.tracker.wait()).await.is_ok()
    }
}

impl Invoke for Functions {
    fn invoke<'a>(&'a self, function: &'a FunctionRef, payload: Bytes) -> InvokeFuture<'a> {
        Box::pin(async move {
            let Some(pool) = self.pools.get(&function.name) else {
                let arn = function_arn(&self.settings.region, &self.settings.account_id, &function.name);
                return Err(InvokeError::not_found(&arn));
            };
            pool.invoke(function, payload).await
        })
    }
}
