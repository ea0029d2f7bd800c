//! The seam between environments and the Runtime API's HTTP listeners: the server (the only crate that knows HTTP
//! servers) implements [`RuntimeApiServer`], binding one loopback listener per environment that serves that
//! environment's [`RuntimeHandle`](crate::RuntimeHandle); the listener stops when the [`Binding`] is dropped, which
//! happens when the environment's process is gone.

use std::fmt::Debug;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;

use tokio_util::sync::{CancellationToken, DropGuard};

use crate::environment::RuntimeHandle;

/// Binds Runtime API listeners.
pub trait RuntimeApiServer: Send + Sync + Debug {
    /// A listener on `127.0.0.1:0` serving `handle` until the returned binding is dropped. Any path that ends in
    /// the Runtime API's resources is served (clients build `http://{AWS_LAMBDA_RUNTIME_API}/2018-06-01/…`).
    fn bind(&self, handle: RuntimeHandle) -> Pin<Box<dyn Future<Output = io::Result<Binding>> + Send + '_>>;
}

/// A bound listener: its address, and the guard whose drop stops it.
#[derive(Debug)]
pub struct Binding {
    pub addr: SocketAddr,
    _stop: DropGuard,
}

impl Binding {
    /// A listener on `addr` that stops when `stop` is cancelled, which dropping the binding does.
    pub fn new(addr: SocketAddr, stop: CancellationToken) -> Binding {
        Binding { addr, _stop: stop.drop_guard() }
    }
}
