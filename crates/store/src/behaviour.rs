//! Behaviour every [`Store`] must show, written once and run against each backend: every operation, atomic checks
//! and keyset pagination under concurrent change. A backend's test module instantiates them with
//! [`behaviour_tests!`], giving an `open` expression that yields `Option<(guard, store)>` (`None` skips: the backend
//! is not available in this run).

use std::collections::HashSet;

use time::OffsetDateTime;
use time::macros::datetime;

use crate::model::{
    Cursor, Destination, FallbackResult, HandlerPatch, LoggingConfigurationPatch, LoggingConfigurationState,
    MessageReviewHandler, NewLoggingConfiguration, NewRoom, Page, ResourceKind, ResourceRef, Room, RoomFilter,
    RoomPatch, Tags,
};
use crate::{Store, StoreError};

mod apis;
mod history;
pub(crate) use apis::{
    api_documents_are_versioned, apis_page_by_id, snapshots_come_and_go_with_their_document, the_api_quota_holds,
};
pub(crate) use history::{
    deleted_messages_leave_history_but_keep_their_place, history_ages_out_and_goes_with_its_room,
    history_is_retained_in_order_within_its_count, moderation_bans_until_a_time_purges_and_slows,
    presence_events_are_a_room_setting_off_by_default,
};

/// Instantiates every behaviour test for one backend.
macro_rules! behaviour_tests {
    ($open:expr $(; #[$attr:meta])?) => {
        $crate::behaviour::behaviour_tests!(@each $open; {$($attr)?};
            room_lifecycle, room_checks_are_atomic, logging_configuration_lifecycle_and_conflict,
            deleting_a_room_releases_its_logging_configurations, tag_untag_list, list_rooms_sorts_and_filters,
            ties_on_update_time_are_broken_by_id, pagination_survives_creates_and_deletes_between_pages,
            list_logging_configurations_pages, concurrent_writers_respect_the_quota, update_time_only_moves_forward,
            api_documents_are_versioned, the_api_quota_holds, snapshots_come_and_go_with_their_document,
            apis_page_by_id, chat_tokens_are_redeemed_once, history_is_retained_in_order_within_its_count,
            deleted_messages_leave_history_but_keep_their_place, history_ages_out_and_goes_with_its_room,
            moderation_bans_until_a_time_purges_and_slows, presence_events_are_a_room_setting_off_by_default);
    };
    (@each $open:expr; $attrs:tt; $($name:ident),*) => {
        $( $crate::behaviour::behaviour_tests!(@one $open; $attrs; $name); )*
    };
    (@one $open:expr; {$($attr:meta)?}; $name:ident) => {
        #[tokio::test]
        $(#[$attr])?
        async fn $name() {
            let (guard, store) = $open.await;
            let outcome =
                futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe($crate::behaviour::$name(store)))
                    .await;
            $crate::behaviour::Cleanup::cleanup(guard).await;
            if let Err(panic) = outcome {
                std::panic::resume_unwind(panic);
            }
        }
    };
}
pub(crate) use behaviour_tests;

/// What a backend's test leaves behind, removed once the test ended (passed or not) and its store is dropped.
pub(crate) trait Cleanup {
    async fn cleanup(self);
}

impl Cleanup for tempfile::TempDir {
    async fn cleanup(self) {}
}

pub(crate) fn t(ms: i64) -> OffsetDateTime {
    datetime!(2024-01-01 00:00 UTC) + time::Duration::milliseconds(ms)
}

pub(crate) fn new_room(id: &str, at: OffsetDateTime) -> NewRoom {
    NewRoom {
        id: id.to_owned(),
        name: String::new(),
        create_time: at,
        maximum_message_rate_per_second: 10,
        maximum_message_length: 500,
        message_review_handler: None,
        logging_configuration_ids: Vec::new(),
        tags: Tags::new(),
    }
}

pub(crate) fn new_lc(id: &str, at: OffsetDateTime) -> NewLoggingConfiguration {
    NewLoggingConfiguration {
        id: id.to_owned(),
        name: format!("lc-{id}"),
        create_time: at,
        destination: Destination::S3 { bucket_name: "bucket".to_owned() },
        tags: Tags::new(),
    }
}

pub(crate) fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

pub(crate) async fn room_lifecycle<S: Store + Clone>(store: S) {
    store.create_logging_configuration(new_lc("lc0000000001", t(0)), 10).await.unwrap();
    let mut room = new_room("room00000001", t(1));
    room.name = "lobby".to_owned();
    room.message_review_handler = Some(MessageReviewHandler {
        uri: "arn:aws:lambda:us-east-1:123456789012:function:f".to_owned(),
        fallback_result: FallbackResult::Deny,
    });
    room.logging_configuration_ids = vec!["lc0000000001".to_owned()];
    room.tags = tags(&[("a", "1")]);
    let created = store.create_room(room, 10).await.unwrap();
    assert_eq!(created.create_time, t(1));
    assert_eq!(created.update_time, t(1));
    assert_eq!(created.logging_configuration_ids, vec!["lc0000000001"]);
    assert_eq!(created.tags, tags(&[("a", "1")]));
    assert_eq!(store.get_room("room00000001").await.unwrap(), created);

    // Keep the uri, change only the fallback; then change the other members.
    let mut patch = RoomPatch::at(t(5));
    patch.message_review_handler = Some(HandlerPatch { uri: None, fallback_result: Some(FallbackResult::Allow) });
    let updated = store.update_room("room00000001", patch).await.unwrap();
    let handler = updated.message_review_handler.clone().unwrap();
    assert_eq!(handler.uri, "arn:aws:lambda:us-east-1:123456789012:function:f");
    assert_eq!(handler.fallback_result, FallbackResult::Allow);
    assert_eq!(updated.update_time, t(5));
    assert_eq!(updated.create_time, t(1));

    let mut patch = RoomPatch::at(t(6));
    patch.name = Some("hall".to_owned());
    patch.maximum_message_rate_per_second = Some(100);
    patch.maximum_message_length = Some(1);
    patch.message_review_handler = Some(HandlerPatch { uri: Some(String::new()), fallback_result: None });
    patch.logging_configuration_ids = Some(Vec::new());
    let updated = store.update_room("room00000001", patch).await.unwrap();
    assert_eq!(updated.name, "hall");
    assert_eq!(updated.maximum_message_rate_per_second, 100);
    assert_eq!(updated.maximum_message_length, 1);
    assert_eq!(updated.message_review_handler, None);
    assert!(updated.logging_configuration_ids.is_empty());
    assert_eq!(updated.tags, tags(&[("a", "1")]), "tags survive an update");

    let deleted = store.delete_room("room00000001").await.unwrap();
    assert_eq!(deleted, updated);
    assert!(matches!(store.get_room("room00000001").await, Err(StoreError::NotFound { kind: ResourceKind::Room, .. })));
    assert!(matches!(store.delete_room("room00000001").await, Err(StoreError::NotFound { .. })));
    assert!(matches!(store.update_room("room00000001", RoomPatch::at(t(7))).await, Err(StoreError::NotFound { .. })));
    // Its tags went with it: a new room with the same id starts bare.
    let again = store.create_room(new_room("room00000001", t(8)), 10).await.unwrap();
    assert!(again.tags.is_empty());
}

pub(crate) async fn room_checks_are_atomic<S: Store + Clone>(store: S) {
    store.create_room(new_room("room00000001", t(0)), 2).await.unwrap();
    let err = store.create_room(new_room("room00000001", t(1)), 2).await.unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists { kind: ResourceKind::Room, .. }), "{err}");

    let mut bad = new_room("room00000002", t(1));
    bad.logging_configuration_ids = vec!["missing00001".to_owned()];
    bad.tags = tags(&[("k", "v")]);
    let err = store.create_room(bad, 2).await.unwrap_err();
    match err {
        StoreError::NotFound { kind: ResourceKind::LoggingConfiguration, id } => assert_eq!(id, "missing00001"),
        other => panic!("{other}"),
    }
    assert_eq!(store.count_rooms().await.unwrap(), 1, "the failed create left nothing behind");
    assert!(matches!(store.list_tags(&ResourceRef::room("room00000002")).await, Err(StoreError::NotFound { .. })));

    store.create_room(new_room("room00000002", t(2)), 2).await.unwrap();
    let err = store.create_room(new_room("room00000003", t(3)), 2).await.unwrap_err();
    assert!(matches!(err, StoreError::QuotaExceeded { kind: ResourceKind::Room, limit: 2 }), "{err}");

    let mut patch = RoomPatch::at(t(4));
    patch.name = Some("x".to_owned());
    patch.logging_configuration_ids = Some(vec!["missing00001".to_owned()]);
    assert!(matches!(store.update_room("room00000002", patch).await, Err(StoreError::NotFound { .. })));
    assert_eq!(store.get_room("room00000002").await.unwrap().name, "", "failed update changed nothing");
}

pub(crate) async fn logging_configuration_lifecycle_and_conflict<S: Store + Clone>(store: S) {
    let mut lc = new_lc("lc0000000001", t(0));
    lc.tags = tags(&[("team", "chat")]);
    let created = store.create_logging_configuration(lc, 1).await.unwrap();
    assert_eq!(created.state, LoggingConfigurationState::Active);
    assert_eq!(created.tags, tags(&[("team", "chat")]));
    let err = store.create_logging_configuration(new_lc("lc0000000002", t(1)), 1).await.unwrap_err();
    assert!(matches!(err, StoreError::QuotaExceeded { kind: ResourceKind::LoggingConfiguration, limit: 1 }));
    assert_eq!(store.count_logging_configurations().await.unwrap(), 1);

    let updated = store
        .update_logging_configuration(
            "lc0000000001",
            LoggingConfigurationPatch {
                update_time: t(2),
                name: None,
                destination: Some(Destination::Firehose { delivery_stream_name: "s".to_owned() }),
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.name, "lc-lc0000000001");
    assert_eq!(updated.destination, Destination::Firehose { delivery_stream_name: "s".to_owned() });
    assert_eq!(updated.update_time, t(2));
    assert_eq!(store.get_logging_configuration("lc0000000001").await.unwrap(), updated);

    let mut room = new_room("room00000001", t(3));
    room.logging_configuration_ids = vec!["lc0000000001".to_owned()];
    store.create_room(room, 10).await.unwrap();
    match store.delete_logging_configuration("lc0000000001").await.unwrap_err() {
        StoreError::Conflict { kind: ResourceKind::LoggingConfiguration, id, blocker } => {
            assert_eq!(id, "lc0000000001");
            assert_eq!(blocker, ResourceRef::room("room00000001"));
        }
        other => panic!("{other}"),
    }
    let mut patch = RoomPatch::at(t(4));
    patch.logging_configuration_ids = Some(Vec::new());
    store.update_room("room00000001", patch).await.unwrap();
    let deleted = store.delete_logging_configuration("lc0000000001").await.unwrap();
    assert_eq!(deleted.id, "lc0000000001");
    assert!(matches!(
        store.get_logging_configuration("lc0000000001").await,
        Err(StoreError::NotFound { kind: ResourceKind::LoggingConfiguration, .. })
    ));
    assert!(matches!(
        store.list_tags(&ResourceRef::logging_configuration("lc0000000001")).await,
        Err(StoreError::NotFound { .. })
    ));
}

pub(crate) async fn deleting_a_room_releases_its_logging_configurations<S: Store + Clone>(store: S) {
    store.create_logging_configuration(new_lc("lc0000000001", t(0)), 10).await.unwrap();
    let mut room = new_room("room00000001", t(1));
    room.logging_configuration_ids = vec!["lc0000000001".to_owned()];
    store.create_room(room, 10).await.unwrap();
    store.delete_room("room00000001").await.unwrap();
    store.delete_logging_configuration("lc0000000001").await.unwrap();
}

pub(crate) async fn tag_untag_list<S: Store + Clone>(store: S) {
    store.create_room(new_room("room00000001", t(0)), 10).await.unwrap();
    let room = ResourceRef::room("room00000001");
    store.tag_resource(&room, &tags(&[("a", "1"), ("b", "2")]), 50).await.unwrap();
    store.tag_resource(&room, &tags(&[("b", "3"), ("c", "")]), 50).await.unwrap();
    assert_eq!(store.list_tags(&room).await.unwrap(), tags(&[("a", "1"), ("b", "3"), ("c", "")]));
    store.untag_resource(&room, &["a".to_owned(), "zz".to_owned()]).await.unwrap();
    assert_eq!(store.list_tags(&room).await.unwrap(), tags(&[("b", "3"), ("c", "")]));

    // The limit counts the tags the resource would end with; overwriting existing keys is free.
    let many: Tags = (0..48).map(|i| (format!("k{i}"), String::new())).collect();
    store.tag_resource(&room, &many, 50).await.unwrap();
    store.tag_resource(&room, &tags(&[("b", "4"), ("c", "5")]), 50).await.unwrap();
    let err = store.tag_resource(&room, &tags(&[("one-more", "")]), 50).await.unwrap_err();
    assert!(matches!(err, StoreError::TooManyTags { limit: 50 }));
    assert_eq!(store.list_tags(&room).await.unwrap().len(), 50);

    let missing = ResourceRef::logging_configuration("lc0000000009");
    for err in [
        store.tag_resource(&missing, &tags(&[("a", "1")]), 50).await.unwrap_err(),
        store.untag_resource(&missing, &["a".to_owned()]).await.unwrap_err(),
        store.list_tags(&missing).await.unwrap_err(),
    ] {
        assert!(matches!(err, StoreError::NotFound { kind: ResourceKind::LoggingConfiguration, .. }), "{err}");
    }
    // Tags of the same id under the other kind are separate.
    assert!(matches!(
        store.list_tags(&ResourceRef::logging_configuration("room00000001")).await,
        Err(StoreError::NotFound { .. })
    ));
}

pub(crate) async fn list_rooms_sorts_and_filters<S: Store + Clone>(store: S) {
    store.create_logging_configuration(new_lc("lc0000000001", t(0)), 10).await.unwrap();
    for (i, (name, uri, lc)) in [
        ("a", None, false),
        ("b", Some("arn:aws:lambda:us-east-1:123456789012:function:f"), true),
        ("a", Some("arn:aws:lambda:us-east-1:123456789012:function:f"), false),
        ("c", None, true),
    ]
    .into_iter()
    .enumerate()
    {
        let mut room = new_room(&format!("room0000000{i}"), t(i as i64 * 10));
        room.name = name.to_owned();
        room.message_review_handler =
            uri.map(|u| MessageReviewHandler { uri: u.to_owned(), fallback_result: FallbackResult::Allow });
        if lc {
            room.logging_configuration_ids = vec!["lc0000000001".to_owned()];
        }
        store.create_room(room, 10).await.unwrap();
    }
    // Updating room 0 moves it to the front.
    store.update_room("room00000000", RoomPatch::at(t(100))).await.unwrap();

    let ids = |page: Page<Room>| page.items.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let all = store.list_rooms(&RoomFilter::default(), None, 50).await.unwrap();
    assert_eq!(all.next, None);
    assert_eq!(ids(all), ["room00000000", "room00000003", "room00000002", "room00000001"]);

    let by_name = RoomFilter { name: Some("a".to_owned()), ..RoomFilter::default() };
    assert_eq!(ids(store.list_rooms(&by_name, None, 50).await.unwrap()), ["room00000000", "room00000002"]);
    let by_uri = RoomFilter {
        message_review_handler_uri: Some("arn:aws:lambda:us-east-1:123456789012:function:f".to_owned()),
        ..RoomFilter::default()
    };
    assert_eq!(ids(store.list_rooms(&by_uri, None, 50).await.unwrap()), ["room00000002", "room00000001"]);
    let by_lc = RoomFilter { logging_configuration_id: Some("lc0000000001".to_owned()), ..RoomFilter::default() };
    assert_eq!(ids(store.list_rooms(&by_lc, None, 50).await.unwrap()), ["room00000003", "room00000001"]);
    let both = RoomFilter { name: Some("b".to_owned()), ..by_lc };
    assert_eq!(ids(store.list_rooms(&both, None, 50).await.unwrap()), ["room00000001"]);
}

pub(crate) async fn ties_on_update_time_are_broken_by_id<S: Store + Clone>(store: S) {
    for id in ["roomB0000000", "roomA0000000", "roomC0000000"] {
        store.create_room(new_room(id, t(0)), 10).await.unwrap();
    }
    let first = store.list_rooms(&RoomFilter::default(), None, 2).await.unwrap();
    assert_eq!(first.items.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["roomC0000000", "roomB0000000"]);
    let next = first.next.clone().unwrap();
    assert_eq!(
        next,
        Cursor { update_time_ms: (t(0).unix_timestamp_nanos() / 1_000_000) as i64, id: "roomB0000000".to_owned() }
    );
    let second = store.list_rooms(&RoomFilter::default(), Some(&next), 2).await.unwrap();
    assert_eq!(second.items.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["roomA0000000"]);
    assert_eq!(second.next, None);
}

pub(crate) async fn pagination_survives_creates_and_deletes_between_pages<S: Store + Clone>(store: S) {
    // 40 rooms, several sharing a millisecond.
    let initial: Vec<String> = (0..40).map(|i| format!("room{i:08}")).collect();
    for (i, id) in initial.iter().enumerate() {
        store.create_room(new_room(id, t(i as i64 / 3)), 1000).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut deleted = HashSet::new();
    let mut cursor = None;
    let mut round = 0;
    loop {
        let page = store.list_rooms(&RoomFilter::default(), cursor.as_ref(), 7).await.unwrap();
        seen.extend(page.items.iter().map(|r| r.id.clone()));
        // Between pages: create newer rooms, delete one already seen and one not yet seen, and delete the
        // very row the cursor points at.
        round += 1;
        store.create_room(new_room(&format!("new{round:09}"), t(1000 + round)), 1000).await.unwrap();
        if let Some(last) = page.items.first() {
            store.delete_room(&last.id).await.unwrap();
        }
        if let Some(c) = &page.next {
            let _ = store.delete_room(&c.id).await;
            let unseen = initial.iter().rev().find(|id| !seen.contains(id) && !deleted.contains(*id)).cloned();
            if let Some(unseen) = unseen {
                store.delete_room(&unseen).await.unwrap();
                deleted.insert(unseen);
            }
        }
        match page.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let unique: HashSet<_> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "no room is returned twice: {seen:?}");
    assert!(seen.iter().all(|id| id.starts_with("room")), "rooms created after the first page are newer");
    for id in &initial {
        assert!(seen.contains(id) || deleted.contains(id), "{id} existed throughout yet was skipped");
    }
    // And the order held: update_time descending, id descending.
    let expected: Vec<String> = initial.iter().rev().filter(|id| seen.contains(id)).cloned().collect();
    let mut sorted = expected.clone();
    sorted.sort_by(|a, b| {
        let ka = (initial.iter().position(|x| x == a).unwrap() / 3, a.clone());
        let kb = (initial.iter().position(|x| x == b).unwrap() / 3, b.clone());
        kb.cmp(&ka)
    });
    assert_eq!(seen, sorted);
}

pub(crate) async fn list_logging_configurations_pages<S: Store + Clone>(store: S) {
    for i in 0..5 {
        store.create_logging_configuration(new_lc(&format!("lc{i:010}"), t(i)), 10).await.unwrap();
    }
    let first = store.list_logging_configurations(None, 3).await.unwrap();
    assert_eq!(
        first.items.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["lc0000000004", "lc0000000003", "lc0000000002"]
    );
    store.delete_logging_configuration("lc0000000001").await.unwrap();
    let second = store.list_logging_configurations(first.next.as_ref(), 3).await.unwrap();
    assert_eq!(second.items.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["lc0000000000"]);
    assert_eq!(second.next, None);
}

pub(crate) async fn concurrent_writers_respect_the_quota<S: Store + Clone>(store: S) {
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move { store.create_room(new_room(&format!("room{i:08}"), t(i)), 5).await }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::QuotaExceeded { limit: 5, .. }) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(ok, 5);
    assert_eq!(store.count_rooms().await.unwrap(), 5);
}

pub(crate) async fn update_time_only_moves_forward<S: Store + Clone>(store: S) {
    store.create_room(new_room("room00000001", t(10)), 10).await.unwrap();
    // An update stamped earlier (another node's clock) still lands after the current one.
    let mut patch = RoomPatch::at(t(5));
    patch.name = Some("late".to_owned());
    let updated = store.update_room("room00000001", patch).await.unwrap();
    assert_eq!(updated.update_time, t(11));
    assert_eq!(updated.name, "late");
    let updated = store.update_room("room00000001", RoomPatch::at(t(50))).await.unwrap();
    assert_eq!(updated.update_time, t(50));
}

pub(crate) async fn chat_tokens_are_redeemed_once<S: Store + Clone>(store: S) {
    let later = OffsetDateTime::now_utc() + time::Duration::minutes(5);
    assert!(store.redeem_token("nonce-a", later).await.unwrap(), "the first redemption");
    assert!(!store.redeem_token("nonce-a", later).await.unwrap(), "a second redemption");

    // Concurrent redemptions of one nonce: exactly one is first. Of distinct nonces: each is.
    let racing = (0..32).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.redeem_token("nonce-b", later).await.unwrap() })
    });
    let firsts = futures_util::future::join_all(racing).await.into_iter().filter(|first| *first.as_ref().unwrap());
    assert_eq!(firsts.count(), 1);
    let distinct = (0..32).map(|i| {
        let store = store.clone();
        tokio::spawn(async move { store.redeem_token(&format!("distinct-{i}"), later).await.unwrap() })
    });
    assert!(futures_util::future::join_all(distinct).await.into_iter().all(|first| first.unwrap()));

    // Records of expired tokens go as redemptions go on (a token is refused once expired before it gets here).
    let past = OffsetDateTime::now_utc() - time::Duration::seconds(1);
    assert!(store.redeem_token("expired", past).await.unwrap());
    store.redeem_token("purges", later).await.unwrap();
    assert!(store.redeem_token("expired", past).await.unwrap(), "the expired record was removed");
    assert!(!store.redeem_token("nonce-a", later).await.unwrap(), "unexpired records stay");
}
