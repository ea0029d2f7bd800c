//! Presence events through the service: a user's first join and last leave on this node announced in the room's
//! order while the room's setting is on, nothing while it is off.

use std::collections::BTreeMap;

use store::{History, Listing, Order};
use time::OffsetDateTime;

use super::{Fixture, fixture};
use crate::*;

impl Fixture {
    /// Sets the room's presence events and tells the live room.
    async fn presence_events(&mut self, enabled: bool) {
        let now = OffsetDateTime::now_utc();
        self.room = self.service.store.set_presence_events(&self.room.id, enabled, now).await.unwrap();
        self.service.room_updated(&self.room).await;
    }

    /// The room's retained frames as (event name, its `UserId` or `Id`), oldest first, once there are `count`
    /// (polled: announcements are sent by the service's task).
    async fn announced(&self, count: usize) -> Vec<(String, String)> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let listing = Listing { order: Order::OldestFirst, after: None, limit: 100 };
            let page = self.service.store.list_history(&self.room.id, listing, OffsetDateTime::now_utc()).await;
            let frames: Vec<serde_json::Value> =
                page.unwrap().items.iter().map(|entry| serde_json::from_str(&entry.payload).unwrap()).collect();
            if frames.len() >= count || tokio::time::Instant::now() > deadline {
                let named = |f: &serde_json::Value| {
                    let who = f["Attributes"]["UserId"].as_str().or(f["Id"].as_str()).unwrap_or_default();
                    (f["EventName"].as_str().unwrap_or_default().to_owned(), who.to_owned())
                };
                return frames.iter().map(named).collect();
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// An application event (a marker in the room's order).
    async fn marker(&self, id: &str) {
        let event = ChatEvent {
            id: id.to_owned(),
            event_name: "app:marker".to_owned(),
            attributes: BTreeMap::new(),
            send_time: OffsetDateTime::now_utc(),
        };
        self.service.send_event(&self.room, event).await.unwrap();
    }
}

fn pair(name: &str, who: &str) -> (String, String) {
    (name.to_owned(), who.to_owned())
}

#[tokio::test]
async fn a_users_first_join_and_last_leave_are_announced_while_presence_events_are_on() {
    let mut f = fixture().await;
    let now = OffsetDateTime::now_utc();
    let history = History { max_entries: 100, max_age_seconds: 3600 };
    f.room = f.service.store.set_room_history(&f.room.id, history, now).await.unwrap();
    f.service.room_updated(&f.room).await;

    // Off (the default): nobody is announced.
    let (ann, ann_conn) = f.member("ann").await;
    drop(ann);
    f.marker("marker000001").await;
    assert_eq!(f.announced(1).await, [pair("app:marker", "marker000001")]);

    f.presence_events(true).await;
    let (_carl, carl) = f.member("carl").await;
    let (bob1, _) = f.member("bob").await;
    let (bob2, _) = f.member("bob").await;
    drop(bob1);
    f.marker("marker000002").await;
    drop(bob2);
    let (j, l) = (frames::EVENT_JOIN, frames::EVENT_LEAVE);
    let expected = [pair("app:marker", "marker000001"), pair(j, "carl"), pair(j, "bob")];
    assert_eq!(f.announced(5).await[..3], expected, "bob's second connection is not announced");
    assert_eq!(f.announced(5).await[3..], [pair("app:marker", "marker000002"), pair(l, "bob")], "only bob's last");
    assert_eq!(carl.outbox_stats().queued_messages, 4, "members receive what the room retains");
    assert_eq!(ann_conn.outbox_stats().queued_messages, 0, "ann left before any of it");

    // Off again: comings and goings stop being announced.
    f.presence_events(false).await;
    let (dora, _) = f.member("dora").await;
    drop(dora);
    f.marker("marker000003").await;
    // On once more: erin's join is sent after anything queued for dora before it (one queue, in order).
    f.presence_events(true).await;
    let (_erin, _) = f.member("erin").await;
    let all = f.announced(7).await;
    assert_eq!(all[5..], [pair("app:marker", "marker000003"), pair(j, "erin")], "dora is not announced");
    assert_eq!(all.len(), 7);

    // A user who joined while they were off is counted when they come on: their last leave is announced.
    f.presence_events(false).await;
    let (gus1, _) = f.member("gus").await;
    let (gus2, _) = f.member("gus").await;
    f.presence_events(true).await;
    drop(gus1);
    f.marker("marker000004").await;
    drop(gus2);
    let all = f.announced(9).await;
    assert_eq!(all[7..], [pair("app:marker", "marker000004"), pair(l, "gus")], "gus's last leave only");
}

#[tokio::test]
async fn a_session_is_told_once_its_join_was_sent_and_the_leave_follows_the_member() {
    let mut f = fixture().await;
    f.presence_events(true).await;
    let (_ann, ann) = f.member("ann").await;
    let (bob, _) = f.member("bob").await;
    let mut bob = Box::new(bob);
    let announced = bob.arrival.as_mut().unwrap().announced.take().expect("bob's first connection is announced");
    tokio::time::timeout(Duration::from_secs(5), announced).await.unwrap().unwrap();
    assert_eq!(ann.outbox_stats().queued_messages, 2, "ann's join, then bob's");
    drop(bob);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while ann.outbox_stats().queued_messages < 3 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(ann.outbox_stats().queued_messages, 3, "bob's leave");
}

#[tokio::test]
async fn in_a_cluster_announcements_go_through_the_rooms_channel_and_first_and_last_are_per_node() {
    let background = bus::Background::new();
    let shared = bus::connect(Some("memory://chat-presence-events"), "", &background).await.unwrap();
    let mut f = super::fixture_on(shared.clone()).await;
    f.presence_events(true).await;
    let hub = Hub::new(hub::HubConfig::default());
    let config = f.service.config().clone();
    let other = ChatService::with_bus(f.service.store.clone(), hub.clone(), config, shared, &background).unwrap();
    let node_b = Fixture { service: other, hub, room: f.room.clone(), _dir: tempfile::tempdir().unwrap() };

    let (_ann, ann) = f.member("ann").await;
    let (bob_a, _) = f.member("bob").await;
    let (bob_b, bob_b_conn) = node_b.member("bob").await;
    let wait = |conn: Arc<Connection>, count: usize| async move {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while conn.outbox_stats().queued_messages < count && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        conn.outbox_stats().queued_messages
    };
    assert_eq!(wait(ann.clone(), 3).await, 3, "ann's join, bob's on node A, bob's on node B");
    assert_eq!(wait(bob_b_conn.clone(), 1).await, 1, "node B's member hears its own join through the bus");
    drop(bob_a);
    assert_eq!(wait(ann.clone(), 4).await, 4, "bob left node A");
    assert_eq!(wait(bob_b_conn, 2).await, 2, "and node B heard it");
    drop(bob_b);
    assert_eq!(wait(ann, 5).await, 5, "bob left node B");
}

#[tokio::test]
async fn announcements_past_the_queue_are_dropped_and_counted() {
    let f = fixture().await;
    let room = f.service.rooms.load(f.service.store.as_ref(), &f.room.id).await.unwrap();
    let (announcer, _waiting) = presence::Announcer::new();
    let user: Arc<str> = "ann".into();
    for _ in 0..presence::ANNOUNCEMENT_QUEUE {
        announcer.leave(&room, user.clone());
    }
    assert_eq!(announcer.dropped(), 0);
    assert!(announcer.join(&room, &user).is_none(), "no answer to wait for: the join was dropped");
    announcer.leave(&room, user);
    assert_eq!(announcer.dropped(), 2);
}
