//! Fixtures for the crate's unit tests: definitions, settings, `bootstrap` scripts, and a Runtime API binder that
//! hands each environment's handle to the test, which then plays the runtime client through it.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::{Binding, FunctionSpec, Runtime, RuntimeApiServer, RuntimeHandle, Settings};

pub(crate) fn spec(name: &str, code_dir: &Path) -> FunctionSpec {
    FunctionSpec {
        name: name.to_owned(),
        runtime: Runtime::parse("provided.al2023").unwrap(),
        handler: "bootstrap".to_owned(),
        code_dir: code_dir.to_owned(),
        environment: BTreeMap::new(),
        timeout: Duration::from_secs(3),
        memory_mb: 128,
        reserved_concurrency: None,
    }
}

pub(crate) fn settings(data_dir: &Path) -> Settings {
    Settings::new(data_dir.join("functions"), "us-east-1", "000000000000", "http://127.0.0.1:1")
}

/// Writes an executable `#!/bin/sh` script.
pub(crate) fn write_script(dir: &Path, name: &str, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A binder whose environments are driven by the test: each handle is sent on the channel.
#[derive(Debug)]
pub(crate) struct Handles(pub(crate) mpsc::UnboundedSender<RuntimeHandle>);

impl RuntimeApiServer for Handles {
    fn bind(&self, handle: RuntimeHandle) -> Pin<Box<dyn Future<Output = std::io::Result<Binding>> + Send + '_>> {
        let _ = self.0.send(handle);
        Box::pin(async { Ok(Binding::new("127.0.0.1:9".parse().unwrap(), CancellationToken::new())) })
    }
}
