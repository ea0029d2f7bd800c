//! Behaviour of [`ApiStore`] every backend must show: documents with optimistic versions, the API quota, snapshots
//! written and deleted with their document, and paging by id.

use crate::apis::{ApiChange, ApiStore, ApiStoreError, NewApi, Snapshot};
use crate::behaviour::t;

fn new_api(id: &str, at: i64) -> NewApi {
    NewApi { id: id.to_owned(), create_time: t(at), document: format!(r#"{{"name":"{id}"}}"#) }
}

fn change(id: &str, expected_version: i64, document: &str) -> ApiChange {
    ApiChange {
        id: id.to_owned(),
        expected_version,
        update_time: t(10),
        document: document.to_owned(),
        add_snapshot: None,
        drop_snapshots: Vec::new(),
    }
}

fn snapshot(api_id: &str, deployment_id: &str) -> Snapshot {
    Snapshot {
        api_id: api_id.to_owned(),
        deployment_id: deployment_id.to_owned(),
        create_time: t(20),
        definitions: format!(r#"{{"deployment":"{deployment_id}"}}"#),
    }
}

pub(crate) async fn api_documents_are_versioned(store: impl ApiStore) {
    let created = store.create_api(new_api("aaaaaaaaaa", 0), 10).await.unwrap();
    assert_eq!((created.version, created.create_time, created.update_time), (1, t(0), t(0)));
    assert_eq!(created.document, r#"{"name":"aaaaaaaaaa"}"#);
    assert!(matches!(
        store.create_api(new_api("aaaaaaaaaa", 1), 10).await,
        Err(ApiStoreError::AlreadyExists { id }) if id == "aaaaaaaaaa"
    ));
    let saved = store.save_api(change("aaaaaaaaaa", 1, "{}")).await.unwrap();
    assert_eq!((saved.version, saved.update_time, saved.document.as_str()), (2, t(10), "{}"));
    // A writer that read version 1 lost the race: nothing it sent is written.
    let stale = store.save_api(change("aaaaaaaaaa", 1, r#"{"lost":true}"#)).await;
    assert!(matches!(stale, Err(ApiStoreError::Stale { expected: 1, .. })), "{stale:?}");
    assert_eq!(store.get_api("aaaaaaaaaa").await.unwrap(), saved);
    // update_time only moves forward.
    assert_eq!(store.save_api(change("aaaaaaaaaa", 2, "{}")).await.unwrap().update_time, t(11));
    assert!(matches!(store.get_api("bbbbbbbbbb").await, Err(ApiStoreError::ApiNotFound { .. })));
    assert!(matches!(store.save_api(change("bbbbbbbbbb", 1, "{}")).await, Err(ApiStoreError::ApiNotFound { .. })));
    assert_eq!(store.delete_api("aaaaaaaaaa").await.unwrap().version, 3);
    assert!(matches!(store.delete_api("aaaaaaaaaa").await, Err(ApiStoreError::ApiNotFound { .. })));
}

pub(crate) async fn the_api_quota_holds(store: impl ApiStore) {
    store.create_api(new_api("aaaaaaaaaa", 0), 2).await.unwrap();
    store.create_api(new_api("bbbbbbbbbb", 0), 2).await.unwrap();
    assert!(matches!(
        store.create_api(new_api("cccccccccc", 0), 2).await,
        Err(ApiStoreError::QuotaExceeded { limit: 2 })
    ));
    store.delete_api("bbbbbbbbbb").await.unwrap();
    store.create_api(new_api("cccccccccc", 0), 2).await.unwrap();
}

pub(crate) async fn snapshots_come_and_go_with_their_document(store: impl ApiStore) {
    store.create_api(new_api("aaaaaaaaaa", 0), 10).await.unwrap();
    let mut first = change("aaaaaaaaaa", 1, "{}");
    first.add_snapshot = Some(snapshot("aaaaaaaaaa", "dep0001"));
    store.save_api(first).await.unwrap();
    assert_eq!(store.get_snapshot("aaaaaaaaaa", "dep0001").await.unwrap(), snapshot("aaaaaaaaaa", "dep0001"));
    // A stale change writes no snapshot either.
    let mut stale = change("aaaaaaaaaa", 1, "{}");
    stale.add_snapshot = Some(snapshot("aaaaaaaaaa", "dep0002"));
    assert!(matches!(store.save_api(stale).await, Err(ApiStoreError::Stale { .. })));
    assert!(matches!(store.get_snapshot("aaaaaaaaaa", "dep0002").await, Err(ApiStoreError::SnapshotNotFound { .. })));
    let mut second = change("aaaaaaaaaa", 2, "{}");
    second.add_snapshot = Some(snapshot("aaaaaaaaaa", "dep0002"));
    second.drop_snapshots = vec!["dep0001".to_owned()];
    store.save_api(second).await.unwrap();
    assert!(matches!(store.get_snapshot("aaaaaaaaaa", "dep0001").await, Err(ApiStoreError::SnapshotNotFound { .. })));
    store.get_snapshot("aaaaaaaaaa", "dep0002").await.unwrap();
    store.delete_api("aaaaaaaaaa").await.unwrap();
    assert!(matches!(store.get_snapshot("aaaaaaaaaa", "dep0002").await, Err(ApiStoreError::SnapshotNotFound { .. })));
}

pub(crate) async fn apis_page_by_id(store: impl ApiStore) {
    for (i, id) in ["cccccccccc", "aaaaaaaaaa", "eeeeeeeeee", "bbbbbbbbbb", "dddddddddd"].iter().enumerate() {
        store.create_api(new_api(id, i as i64), 10).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_apis(after.as_ref(), 2).await.unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.iter().map(|a| a.id.clone()));
        // Deleting a row already returned does not disturb what follows.
        if seen.len() == 2 {
            store.delete_api("aaaaaaaaaa").await.unwrap();
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, ["aaaaaaaaaa", "bbbbbbbbbb", "cccccccccc", "dddddddddd", "eeeeeeeeee"]);
}
