//! What the targets that need a runtime share within one thread: a current-thread Tokio runtime, and fixtures built
//! once on it and kept for the thread (a fuzzer runs millions of inputs through one).

use std::future::Future;
use std::rc::Rc;

thread_local! {
    static RUNTIME: tokio::runtime::Runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a current-thread runtime");
}

/// Runs `future` to completion on this thread's runtime.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    RUNTIME.with(|runtime| runtime.block_on(future))
}

/// A fixture made once per thread; dropped (its temporary directory removed) when the thread ends, as test threads do.
pub(crate) fn once<T: 'static>(
    cell: &'static std::thread::LocalKey<std::cell::OnceCell<Rc<T>>>,
    make: impl FnOnce() -> T,
) -> Rc<T> {
    cell.with(|cell| cell.get_or_init(|| Rc::new(make())).clone())
}
