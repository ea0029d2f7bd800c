//! Behaviour of [`HistoryStore`] every backend must show: retention by count and age, ordering and paging both ways,
//! deletions as tombstones, recovery positions and gaps, and history going with its room.

use time::OffsetDateTime;

use crate::behaviour::new_room;
use crate::history::{EntryKind, History, HistoryStore, Listing, NewEntry, Order, Since};
use crate::{Store, StoreError};

const ROOM: &str = "roomhistory1";

/// Now, whole milliseconds (what the store keeps).
fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now - time::Duration::nanoseconds(i64::from(now.nanosecond() % 1_000_000))
}

fn message(id: &str, at: OffsetDateTime) -> NewEntry {
    NewEntry {
        room_id: ROOM.to_owned(),
        id: id.to_owned(),
        kind: EntryKind::Message,
        send_time: at,
        sender: Some("alice".to_owned()),
        payload: format!(r#"{{"Type":"MESSAGE","Id":"{id}"}}"#),
        deletes: None,
    }
}

fn deletion(id: &str, of: &str, at: OffsetDateTime) -> NewEntry {
    NewEntry {
        kind: EntryKind::Event,
        sender: None,
        payload: format!(r#"{{"Type":"EVENT","Id":"{id}"}}"#),
        deletes: Some(of.to_owned()),
        ..message(id, at)
    }
}

async fn ids(store: &impl HistoryStore, order: Order, at: OffsetDateTime) -> Vec<String> {
    let page = store.list_history(ROOM, Listing { order, after: None, limit: 100 }, at).await.unwrap();
    page.items.into_iter().map(|e| e.id).collect()
}

fn since_ids(since: Since) -> Option<Vec<String>> {
    match since {
        Since::Entries(entries) => Some(entries.into_iter().map(|e| e.id).collect()),
        Since::Gap => None,
    }
}

pub(crate) async fn history_is_retained_in_order_within_its_count<S: Store + Clone>(store: S) {
    let at = now();
    let room = store.create_room(new_room(ROOM, at), 10).await.unwrap();
    assert_eq!(room.history, History::OFF);
    // Off: nothing is retained, and recovery has nothing to go on.
    assert_eq!(store.append_history(vec![message("m0", at)], at).await.unwrap(), vec![false]);
    assert!(ids(&store, Order::NewestFirst, at).await.is_empty());
    assert_eq!(store.history_after(ROOM, "m0", at).await.unwrap(), Since::Gap);

    let history = History { max_entries: 3, max_age_seconds: 60 };
    let later = at + time::Duration::milliseconds(1);
    let room = store.set_room_history(ROOM, history, later).await.unwrap();
    assert_eq!((room.history, room.update_time), (history, later));
    assert_eq!(store.get_room(ROOM).await.unwrap().history, history);

    let batch = (1..=5).map(|n| message(&format!("m{n}"), at + time::Duration::milliseconds(n))).collect();
    assert_eq!(store.append_history(batch, at).await.unwrap(), vec![true; 5]);
    assert_eq!(ids(&store, Order::NewestFirst, at).await, ["m5", "m4", "m3"]);
    assert_eq!(ids(&store, Order::OldestFirst, at).await, ["m3", "m4", "m5"]);
    let first =
        store.list_history(ROOM, Listing { order: Order::OldestFirst, after: None, limit: 2 }, at).await.unwrap();
    assert_eq!(first.items.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["m3", "m4"]);
    assert_eq!(first.items[0].payload, r#"{"Type":"MESSAGE","Id":"m3"}"#);
    assert_eq!((first.items[0].kind, first.items[0].sender.as_deref()), (EntryKind::Message, Some("alice")));
    assert_eq!(first.items[0].send_time, at + time::Duration::milliseconds(3));
    let second =
        store.list_history(ROOM, Listing { order: Order::OldestFirst, after: first.next, limit: 2 }, at).await.unwrap();
    assert_eq!((second.items.len(), second.items[0].id.as_str(), second.next), (1, "m5", None));
    let newest =
        store.list_history(ROOM, Listing { order: Order::NewestFirst, after: None, limit: 2 }, at).await.unwrap();
    let rest = store
        .list_history(ROOM, Listing { order: Order::NewestFirst, after: newest.next, limit: 2 }, at)
        .await
        .unwrap();
    assert_eq!(rest.items.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["m3"]);

    // Recovery: after a retained id, everything later; after a trimmed or unknown one, a gap.
    assert_eq!(since_ids(store.history_after(ROOM, "m3", at).await.unwrap()), Some(vec!["m4".into(), "m5".into()]));
    assert_eq!(since_ids(store.history_after(ROOM, "m5", at).await.unwrap()), Some(Vec::new()));
    assert_eq!(store.history_after(ROOM, "m2", at).await.unwrap(), Since::Gap);
    assert_eq!(store.history_after(ROOM, "nope", at).await.unwrap(), Since::Gap);

    // Lowering the count trims at once; switching history off forgets everything.
    store.set_room_history(ROOM, History { max_entries: 1, ..history }, at).await.unwrap();
    assert_eq!(ids(&store, Order::NewestFirst, at).await, ["m5"]);
    let room = store.set_room_history(ROOM, History::OFF, at).await.unwrap();
    assert_eq!(room.history, History::OFF);
    store.set_room_history(ROOM, history, at).await.unwrap();
    assert!(ids(&store, Order::NewestFirst, at).await.is_empty());
}

pub(crate) async fn deleted_messages_leave_history_but_keep_their_place<S: Store + Clone>(store: S) {
    let at = now();
    store.create_room(new_room(ROOM, at), 10).await.unwrap();
    store.set_room_history(ROOM, History { max_entries: 10, max_age_seconds: 60 }, at).await.unwrap();
    let ms = |n| at + time::Duration::milliseconds(n);
    let batch = vec![message("m1", ms(1)), message("m2", ms(2)), message("m3", ms(3)), deletion("e4", "m2", ms(4))];
    assert_eq!(store.append_history(batch, at).await.unwrap(), vec![true; 4]);
    assert_eq!(ids(&store, Order::OldestFirst, at).await, ["m1", "m3", "e4"]);
    let page =
        store.list_history(ROOM, Listing { order: Order::NewestFirst, after: None, limit: 1 }, at).await.unwrap();
    assert_eq!(page.items[0].kind, EntryKind::Event);
    // A client whose last message was deleted still recovers from its place.
    assert_eq!(since_ids(store.history_after(ROOM, "m2", at).await.unwrap()), Some(vec!["m3".into(), "e4".into()]));
    assert_eq!(since_ids(store.history_after(ROOM, "m1", at).await.unwrap()), Some(vec!["m3".into(), "e4".into()]));
}

pub(crate) async fn history_ages_out_and_goes_with_its_room<S: Store + Clone>(store: S) {
    let at = now();
    store.create_room(new_room(ROOM, at), 10).await.unwrap();
    store.set_room_history(ROOM, History { max_entries: 10, max_age_seconds: 2 }, at).await.unwrap();
    let old = at - time::Duration::seconds(3);
    store.append_history(vec![message("m1", old), message("m2", at)], old).await.unwrap();
    // m1 is past the age limit at `at`: hidden before any trim, and no recovery position any more.
    assert_eq!(ids(&store, Order::OldestFirst, at).await, ["m2"]);
    assert_eq!(ids(&store, Order::OldestFirst, old).await, ["m1", "m2"]);
    assert_eq!(store.history_after(ROOM, "m1", at).await.unwrap(), Since::Gap);
    store.append_history(vec![message("m3", at)], at).await.unwrap();
    assert_eq!(ids(&store, Order::OldestFirst, old).await, ["m2", "m3"], "the append trimmed m1");

    store.delete_room(ROOM).await.unwrap();
    assert!(matches!(
        store.list_history(ROOM, Listing { order: Order::NewestFirst, after: None, limit: 10 }, at).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(store.history_after(ROOM, "m2", at).await, Err(StoreError::NotFound { .. })));
    assert!(matches!(
        store.set_room_history(ROOM, History { max_entries: 1, max_age_seconds: 1 }, at).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(store.append_history(vec![message("m4", at)], at).await.unwrap(), vec![false]);
    store.create_room(new_room(ROOM, at), 10).await.unwrap();
    store.set_room_history(ROOM, History { max_entries: 10, max_age_seconds: 60 }, at).await.unwrap();
    assert!(ids(&store, Order::OldestFirst, at).await.is_empty(), "a new room of the same id starts empty");
}

pub(crate) async fn moderation_bans_until_a_time_purges_and_slows<S: Store + Clone>(store: S) {
    let at = now();
    let later = |s| at + time::Duration::seconds(s);
    assert!(matches!(store.ban_user(ROOM, "mallory", later(60), at).await, Err(StoreError::NotFound { .. })));
    store.create_room(new_room(ROOM, at), 10).await.unwrap();
    assert_eq!(store.banned_until(ROOM, "mallory", at).await.unwrap(), None);
    store.ban_user(ROOM, "mallory", later(60), at).await.unwrap();
    assert_eq!(store.banned_until(ROOM, "mallory", at).await.unwrap(), Some(later(60)));
    assert_eq!(store.banned_until(ROOM, "mallory", later(60)).await.unwrap(), None, "over at its end");
    assert_eq!(store.banned_until(ROOM, "alice", at).await.unwrap(), None);
    store.ban_user(ROOM, "mallory", later(5), at).await.unwrap();
    assert_eq!(store.banned_until(ROOM, "mallory", at).await.unwrap(), Some(later(5)), "a new ban replaces the old");

    store.set_room_history(ROOM, History { max_entries: 10, max_age_seconds: 60 }, at).await.unwrap();
    let by = |id: &str, sender: &str| NewEntry { sender: Some(sender.to_owned()), ..message(id, at) };
    let batch = vec![by("m1", "mallory"), by("m2", "alice"), by("m3", "mallory"), by("m4", "mallory")];
    store.append_history(batch, at).await.unwrap();
    store.append_history(vec![deletion("e5", "m3", at)], at).await.unwrap();
    assert_eq!(store.user_messages(ROOM, "mallory", at).await.unwrap(), ["m1", "m4"]);
    assert!(store.user_messages(ROOM, "nobody", at).await.unwrap().is_empty());

    let room = store.set_slow_mode(ROOM, 5, later(1)).await.unwrap();
    assert_eq!((room.slow_mode_seconds, room.update_time), (5, later(1)));
    assert_eq!(store.get_room(ROOM).await.unwrap().slow_mode_seconds, 5);
    assert_eq!(store.set_slow_mode(ROOM, 0, later(2)).await.unwrap().slow_mode_seconds, 0);
    store.set_slow_mode(ROOM, 7, later(3)).await.unwrap();

    store.delete_room(ROOM).await.unwrap();
    assert!(matches!(store.set_slow_mode(ROOM, 1, at).await, Err(StoreError::NotFound { .. })));
    let room = store.create_room(new_room(ROOM, at), 10).await.unwrap();
    assert_eq!(room.slow_mode_seconds, 0, "slow mode goes with its room");
    assert_eq!(store.banned_until(ROOM, "mallory", at).await.unwrap(), None, "bans go with their room");
}

pub(crate) async fn presence_events_are_a_room_setting_off_by_default<S: Store + Clone>(store: S) {
    let at = now();
    let later = |s| at + time::Duration::seconds(s);
    assert!(matches!(store.set_presence_events(ROOM, true, at).await, Err(StoreError::NotFound { .. })));
    let room = store.create_room(new_room(ROOM, at), 10).await.unwrap();
    assert!(!room.presence_events, "off by default");
    store.set_slow_mode(ROOM, 7, later(1)).await.unwrap();
    let room = store.set_presence_events(ROOM, true, later(2)).await.unwrap();
    assert_eq!((room.presence_events, room.update_time, room.slow_mode_seconds), (true, later(2), 7));
    assert!(store.set_presence_events(ROOM, true, later(3)).await.unwrap().presence_events, "on twice stays on");
    assert!(store.get_room(ROOM).await.unwrap().presence_events);
    let listed = store.list_rooms(&Default::default(), None, 10).await.unwrap();
    assert!(listed.items.len() == 1 && listed.items[0].presence_events, "listed rooms carry the setting");
    let room = store.set_presence_events(ROOM, false, later(1)).await.unwrap();
    assert!(!room.presence_events && room.update_time > later(3), "off, and update_time moved forward");
    assert_eq!(store.get_room(ROOM).await.unwrap().slow_mode_seconds, 7, "slow mode untouched");
    store.set_presence_events(ROOM, true, later(4)).await.unwrap();
    store.delete_room(ROOM).await.unwrap();
    assert!(
        !store.create_room(new_room(ROOM, at), 10).await.unwrap().presence_events,
        "the setting goes with its room"
    );
}
