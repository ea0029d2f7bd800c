//! Room history and recovery through the service: frames stored before members receive them, deletions applied,
//! and a recovering member receiving what it missed once, or a gap event.

use std::collections::BTreeMap;

use hub::{ConnectionInfo, Scope};
use store::{History, Listing, Order};
use time::OffsetDateTime;

use super::{Fixture, fixture};
use crate::*;

impl Fixture {
    /// Switches the room's history on (10 entries, an hour) and tells the live rooms.
    async fn with_history(&mut self, max_entries: u32) {
        let history = History { max_entries, max_age_seconds: 3600 };
        self.room =
            self.service.store.set_room_history(&self.room.id, history, OffsetDateTime::now_utc()).await.unwrap();
        self.service.room_updated(&self.room).await;
    }

    async fn event(&self, id: &str) {
        let attributes = BTreeMap::new();
        let event = ChatEvent {
            id: id.to_owned(),
            event_name: "app:x".to_owned(),
            attributes,
            send_time: OffsetDateTime::now_utc(),
        };
        self.service.send_event(&self.room, event).await.unwrap();
    }

    async fn events(&self, ids: &[&str]) {
        for id in ids {
            self.event(id).await;
        }
    }

    async fn stored(&self) -> Vec<String> {
        let listing = Listing { order: Order::OldestFirst, after: None, limit: 100 };
        let page = self.service.store.list_history(&self.room.id, listing, OffsetDateTime::now_utc()).await.unwrap();
        page.items.into_iter().map(|entry| entry.id).collect()
    }

    /// A member whose token asks to recover after `after`: joined (its live frames held back), not yet recovered.
    async fn recovering(&self, user: &str, after: &str) -> (Member, Arc<Connection>) {
        let request = TokenRequest {
            room: self.room.clone(),
            room_arn: String::new(),
            user_id: user.to_owned(),
            capabilities: Vec::new(),
            session_duration: time::Duration::minutes(60),
            attributes: BTreeMap::from([(frames::RECOVER_AFTER_ATTRIBUTE.to_owned(), after.to_owned())]),
            now: OffsetDateTime::now_utc(),
        };
        let token = self.service.issue(request).await.unwrap().token;
        let ticket = self.service.admit(&token).await.unwrap();
        let conn = self.hub.new_connection(ConnectionInfo {
            scope: Scope::Chat { room_id: ticket.room_id().into(), user_id: ticket.user_id().into() },
            connected_at: OffsetDateTime::now_utc(),
            source_ip: "127.0.0.1".to_owned(),
            user_agent: None,
        });
        let member = self.service.join(ticket, conn.clone()).unwrap();
        assert!(member.attributes.is_empty(), "the recovery request is not a sender attribute");
        assert_eq!(member.arrival.as_ref().unwrap().recover_after.as_deref(), Some(after));
        (member, conn)
    }
}

/// What a session does first for a member that asked to recover.
async fn recover(member: &Member) {
    let after = member.arrival.as_ref().and_then(|arrival| arrival.recover_after.as_deref());
    member.recover(after.expect("asked to recover")).await;
}

fn queued(conn: &Connection) -> usize {
    conn.outbox_stats().queued_messages
}

#[tokio::test]
async fn frames_of_a_room_with_history_are_stored_in_order_and_deletions_apply() {
    let mut f = fixture().await;
    f.event("beforeHistor").await;
    f.with_history(3).await;
    let (_ann, ann) = f.member("ann").await;
    f.events(&["event0000001", "event0000002", "event0000003"]).await;
    assert_eq!(queued(&ann), 3, "members receive the stored frames");
    assert_eq!(f.stored().await, ["event0000001", "event0000002", "event0000003"]);
    f.event("event0000004").await;
    assert_eq!(f.stored().await, ["event0000002", "event0000003", "event0000004"], "at most 3 retained");

    let deletion = MessageDeletion {
        id: "deletion0001".to_owned(),
        message_id: "event0000003".to_owned(),
        reason: None,
        send_time: OffsetDateTime::now_utc(),
    };
    f.service.delete_message(&f.room, deletion).await.unwrap();
    // Only messages are deleted from history; the deletion event itself is retained.
    assert_eq!(f.stored().await, ["event0000003", "event0000004", "deletion0001"]);
}

#[tokio::test]
async fn a_recovering_member_receives_what_it_missed_once_then_live_frames() {
    let mut f = fixture().await;
    f.with_history(10).await;
    f.events(&["event0000001", "event0000002", "event0000003"]).await;
    let (bob, bob_conn) = f.recovering("bob", "event0000001").await;
    // Sent while bob recovers: held back, then sent once though the history read has it too.
    f.event("event0000004").await;
    assert_eq!(queued(&bob_conn), 0, "live frames wait for the replay");
    recover(&bob).await;
    assert_eq!(queued(&bob_conn), 3, "event 2, 3 and 4, each once");
    f.event("event0000005").await;
    assert_eq!(queued(&bob_conn), 4, "then live");
}

#[tokio::test]
async fn a_recovering_member_that_falls_more_than_the_hold_behind_is_closed_as_a_slow_consumer() {
    let f = fixture().await;
    let (bob, bob_conn) = f.recovering("bob", "event0000001").await;
    for n in 0..crate::rooms::RECOVERY_HOLD {
        f.event(&format!("held{n:08}")).await;
    }
    assert!(bob_conn.is_open(), "the hold is full, not over");
    assert_eq!(queued(&bob_conn), 0, "every frame held back");
    f.event("overTheHold1").await;
    assert!(!bob_conn.is_open(), "one more closes it, as a slow consumer");
    recover(&bob).await;
    f.event("afterClosed1").await;
    assert_eq!(queued(&bob_conn), 0, "nothing held is replayed to, or queued for, a closed member");
}

#[tokio::test]
async fn a_member_recovering_from_beyond_history_is_told_of_the_gap() {
    let mut f = fixture().await;
    f.with_history(2).await;
    f.events(&["event0000001", "event0000002", "event0000003"]).await;
    let (bob, bob_conn) = f.recovering("bob", "event0000001").await;
    f.event("event0000004").await;
    recover(&bob).await;
    assert_eq!(queued(&bob_conn), 2, "the gap event, then the frame held back; no partial replay");
    // A room without history has nothing to replay either.
    f.service.store.set_room_history(&f.room.id, History::OFF, OffsetDateTime::now_utc()).await.unwrap();
    let (carl, carl_conn) = f.recovering("carl", "event0000004").await;
    recover(&carl).await;
    assert_eq!(queued(&carl_conn), 1, "the gap event");
}

#[tokio::test]
async fn a_banned_user_is_refused_without_using_the_token_up_until_the_ban_ends() {
    let f = fixture().await;
    let token = f.token("mallory", Vec::new()).await.token;
    let now = OffsetDateTime::now_utc();
    f.service.store.ban_user(&f.room.id, "mallory", now + time::Duration::hours(1), now).await.unwrap();
    let refusal = f.service.admit(&token).await.unwrap_err();
    assert_eq!((refusal.status().as_u16(), refusal.message()), (403, "The user is banned from this room"));
    f.service.store.ban_user(&f.room.id, "mallory", now, now).await.unwrap();
    f.service.admit(&token).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn slow_mode_lets_each_user_send_one_message_per_interval() {
    use hub::session::Inbound;
    let mut f = fixture().await;
    f.room = f.service.store.set_slow_mode(&f.room.id, 10, OffsetDateTime::now_utc()).await.unwrap();
    f.service.room_updated(&f.room).await;
    let sender = vec![ivschat::ChatTokenCapability::SendMessage];
    let (ann, ann_conn) = f.member_with("ann", sender.clone()).await;
    let (bob, _bob_conn) = f.member_with("bob", sender).await;
    let (_carl, carl) = f.member("carl").await;
    let (mut ann, mut bob) =
        (actions::ChatSession { member: Box::new(ann) }, actions::ChatSession { member: Box::new(bob) });
    let send = hub::Utf8Bytes::from(r#"{"Action":"SEND_MESSAGE","RequestId":"r","Content":"hi"}"#);
    ann.on_text(&ann_conn, send.clone()).await;
    ann.on_text(&ann_conn, send.clone()).await;
    bob.on_text(&ann_conn, send.clone()).await;
    assert_eq!(queued(&carl), 2, "one message of each user");
    assert_eq!(queued(&ann_conn), 3, "ann's message, her ERROR 429, bob's message");
    tokio::time::advance(std::time::Duration::from_secs(10)).await;
    ann.on_text(&ann_conn, send).await;
    assert_eq!(queued(&carl), 3, "the interval is over");
}

#[tokio::test]
async fn presence_lists_this_nodes_connections_to_the_room() {
    let f = fixture().await;
    assert!(f.service.presence(&f.room).await.unwrap().is_empty());
    let (_a1, _) = f.member("ann").await;
    let (_a2, _) = f.member("ann").await;
    let (bob, _) = f.member("bob").await;
    let mut users: Vec<String> = f.service.presence(&f.room).await.unwrap().into_iter().map(|c| c.user_id).collect();
    users.sort();
    assert_eq!(users, ["ann", "ann", "bob"]);
    drop(bob);
    assert_eq!(f.service.presence(&f.room).await.unwrap().len(), 2);
}
