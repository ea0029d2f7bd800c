//! What the targets that need a runtime share within one thread: a current-thread Tokio runtime, and fixtures built
//! once on it and kept for the process (a fuzzer runs millions of inputs through one).

use std::future::Future;

thread_local! {
    static RUNTIME: tokio::runtime::Runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a current-thread runtime");
}

/// Runs `future` to completion on this thread's runtime.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    RUNTIME.with(|runtime| runtime.block_on(future))
}

/// A fixture made once per thread and kept for the process.
pub(crate) fn once<T: 'static>(
    cell: &'static std::thread::LocalKey<std::cell::OnceCell<&'static T>>,
    make: impl FnOnce() -> T,
) -> &'static T {
    cell.with(|cell| *cell.get_or_init(|| Box::leak(Box::new(make()))))
}
