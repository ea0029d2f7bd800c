//! Tests of the background tracker: stopping ends pending tasks, waits for them, and refuses late ones.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::*;

#[tokio::test(start_paused = true)]
async fn stop_ends_pending_tasks_and_waits_for_them() {
    let background = Background::new();
    let ended = Arc::new(AtomicBool::new(false));
    let flag = ended.clone();
    struct SetOnDrop(Arc<AtomicBool>);
    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    background.spawn(async move {
        let _guard = SetOnDrop(flag);
        std::future::pending::<()>().await;
    });
    tokio::task::yield_now().await;
    assert_eq!(background.len(), 1);
    assert!(background.stop(Duration::from_secs(1)).await, "a pending task ends at once");
    assert!(ended.load(Ordering::SeqCst), "its state was dropped before stop returned");
    assert!(background.is_empty() && background.is_stopped());
}

#[tokio::test(start_paused = true)]
async fn finished_tasks_leave_and_late_ones_never_run() {
    let background = Background::new();
    background.spawn(async {}).await.unwrap();
    assert!(background.is_empty());
    assert!(background.stop(Duration::from_secs(1)).await);
    let ran = Arc::new(AtomicBool::new(false));
    let flag = ran.clone();
    background.spawn(async move { flag.store(true, Ordering::SeqCst) }).await.unwrap();
    assert!(!ran.load(Ordering::SeqCst), "a task spawned after stop is cancelled before it runs");
}
