//! Service-level tests without a network: tokens against the store, membership, and what the control plane's
//! effects do to the members' hub connections.

use std::collections::BTreeMap;

use hub::{ConnectionInfo, HubConfig, Scope};
use ivschat::ChatTokenCapability;
use store::{NewRoom, SqliteStore};

use super::*;

mod failing;
mod history;
mod presence;

struct Fixture {
    service: Arc<ChatService>,
    hub: Hub,
    room: Room,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    fixture_on(bus::Bus::alone()).await
}

/// A service on `bus`, with one room allowing 10 messages per second.
async fn fixture_on(bus: bus::Bus) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).await.unwrap());
    let now = OffsetDateTime::now_utc();
    let room = store
        .create_room(
            NewRoom {
                id: "g1H2I3j4k5L6".to_owned(),
                name: String::new(),
                create_time: now,
                maximum_message_rate_per_second: 10,
                maximum_message_length: 500,
                message_review_handler: None,
                logging_configuration_ids: Vec::new(),
                tags: BTreeMap::new(),
            },
            10,
        )
        .await
        .unwrap();
    let hub = Hub::new(HubConfig::default());
    let config = ChatConfig::new(dir.path(), "us-east-1", "000000000000");
    let service = ChatService::with_bus(store, hub.clone(), config, bus, &bus::Background::new()).unwrap();
    Fixture { service, hub, room, _dir: dir }
}

impl Fixture {
    async fn token(&self, user: &str, capabilities: Vec<ChatTokenCapability>) -> IssuedToken {
        let request = TokenRequest {
            room: self.room.clone(),
            room_arn: ivschat::resource_arn("us-east-1", "000000000000", store::ResourceKind::Room, &self.room.id),
            user_id: user.to_owned(),
            capabilities,
            session_duration: time::Duration::minutes(60),
            attributes: BTreeMap::new(),
            now: OffsetDateTime::now_utc(),
        };
        self.service.issue(request).await.unwrap()
    }

    async fn member(&self, user: &str) -> (Member, Arc<Connection>) {
        self.member_with(user, Vec::new()).await
    }

    async fn member_with(&self, user: &str, capabilities: Vec<ChatTokenCapability>) -> (Member, Arc<Connection>) {
        let token = self.token(user, capabilities).await.token;
        let ticket = self.service.admit(&token).await.unwrap();
        assert_eq!((ticket.room_id(), ticket.user_id()), (self.room.id.as_str(), user));
        let conn = self.hub.new_connection(ConnectionInfo {
            scope: Scope::Chat { room_id: ticket.room_id().into(), user_id: ticket.user_id().into() },
            connected_at: OffsetDateTime::now_utc(),
            source_ip: "127.0.0.1".to_owned(),
            user_agent: None,
        });
        (self.service.join(ticket, conn.clone()).unwrap(), conn)
    }
}

#[tokio::test]
async fn issued_tokens_are_redeemed_once() {
    let f = fixture().await;
    let issued = f.token("ann", vec![ChatTokenCapability::SendMessage]).await;
    assert_eq!(issued.session_expiration_time, issued.token_expiration_time, "60-minute token, 60-minute session");
    f.service.admit(&issued.token).await.unwrap();
    let again = f.service.admit(&issued.token).await.unwrap_err();
    assert_eq!((again.status().as_u16(), again.message()), (401, "The chat token has already been used"));
    assert_eq!(f.service.admit("").await.unwrap_err().status().as_u16(), 401);
}

#[tokio::test]
async fn token_lifetime_is_configurable_and_capped_by_the_session() {
    let f = fixture().await;
    let mut config = f.service.config().clone();
    config.token_lifetime = Duration::from_secs(60);
    let hub = Hub::new(HubConfig::default());
    let service = ChatService::new(f.service.store.clone(), hub, config).unwrap();
    let now = OffsetDateTime::now_utc();
    let request = |minutes| TokenRequest {
        room: f.room.clone(),
        room_arn: String::new(),
        user_id: "u".to_owned(),
        capabilities: Vec::new(),
        session_duration: time::Duration::minutes(minutes),
        attributes: BTreeMap::new(),
        now,
    };
    let issued = service.issue(request(60)).await.unwrap();
    assert_eq!(issued.token_expiration_time, now + time::Duration::minutes(1));
    assert_eq!(issued.session_expiration_time, now + time::Duration::minutes(60));
    let short = service.issue(request(1)).await.unwrap();
    assert_eq!(short.token_expiration_time, short.session_expiration_time);
}

#[tokio::test]
async fn events_reach_members_and_members_leave_when_dropped() {
    let f = fixture().await;
    let (ann, ann_conn) = f.member("ann").await;
    let (_bob, bob_conn) = f.member("bob").await;
    let live = f.service.rooms.get(&f.room.id).unwrap();
    assert_eq!(live.member_count(), 2);
    let event = ChatEvent {
        id: "abcdefABCDEF".to_owned(),
        event_name: "app:x".to_owned(),
        attributes: BTreeMap::new(),
        send_time: OffsetDateTime::now_utc(),
    };
    f.service.send_event(&f.room, event).await.unwrap();
    assert_eq!(ann_conn.outbox_stats().queued_messages, 1);
    assert_eq!(bob_conn.outbox_stats(), ann_conn.outbox_stats());
    drop(ann);
    assert_eq!(live.member_count(), 1);
}

#[tokio::test]
async fn disconnect_user_closes_only_that_users_connections() {
    let f = fixture().await;
    let (_a1, ann_phone) = f.member("ann").await;
    let (_a2, ann_laptop) = f.member("ann").await;
    let (_b, bob) = f.member("bob").await;
    let disconnection = UserDisconnection {
        id: "abcdefABCDEF".to_owned(),
        user_id: "ann".to_owned(),
        reason: None,
        send_time: OffsetDateTime::now_utc(),
    };
    f.service.disconnect_user(&f.room, disconnection).await.unwrap();
    assert!(!ann_phone.is_open() && !ann_laptop.is_open());
    assert!(bob.is_open());
    // The event is still queued for the disconnected connections: it is written before their close.
    assert_eq!(ann_phone.outbox_stats().queued_messages, 1);
    assert_eq!(bob.outbox_stats().queued_messages, 1);
}

#[tokio::test]
async fn deleted_rooms_close_their_members_and_refuse_tokens() {
    let f = fixture().await;
    let (_ann, conn) = f.member("ann").await;
    let token = f.token("late", Vec::new()).await.token;
    let ticket = f.service.admit(&token).await.unwrap();
    f.service.store.delete_room(&f.room.id).await.unwrap();
    f.service.room_deleted(&f.room).await;
    assert!(!conn.is_open());
    // A ticket taken before the deletion cannot join any more.
    let late = f.hub.new_connection(conn.info().clone());
    assert_eq!(f.service.join(ticket, late).unwrap_err().status().as_u16(), 404);
    let token = f.token("later", Vec::new()).await.token;
    let refusal = f.service.admit(&token).await.unwrap_err();
    assert_eq!((refusal.status().as_u16(), refusal.message()), (404, "Room not found"));
}

#[tokio::test]
async fn updates_reach_live_rooms() {
    let f = fixture().await;
    let (_ann, _conn) = f.member("ann").await;
    let mut updated = f.room.clone();
    updated.maximum_message_length = 7;
    updated.update_time += time::Duration::seconds(1);
    f.service.room_updated(&updated).await;
    assert_eq!(f.service.rooms.get(&f.room.id).unwrap().settings().maximum_message_length, 7);
}

#[tokio::test]
async fn fan_out_is_chosen_once_from_the_bus() {
    let background = bus::Background::new();
    let rooms = Arc::default();
    let alone = cluster::fanout(&bus::Bus::alone(), &background, &rooms);
    assert!(alone.rate_allows("r", 1).await && alone.rate_allows("r", 1).await, "alone, the room's bucket decides");
    let shared = bus::connect(Some("memory://chat-fan-out-is-chosen-once"), "", &background).await.unwrap();
    let (a, b) = (cluster::fanout(&shared, &background, &rooms), cluster::fanout(&shared, &background, &rooms));
    assert!(a.rate_allows("r", 1).await);
    assert!(!b.rate_allows("r", 1).await, "one rate window for every node");
}

#[tokio::test]
async fn an_error_to_a_member_with_a_full_outbox_is_dropped_and_the_member_stays() {
    use hub::session::Inbound;
    let f = fixture().await;
    let (member, conn) = f.member("ann").await;
    // Fill the outbox until it refuses even a one-byte message.
    let chunk = "x".repeat(64 * 1024);
    while conn.send(hub::Outbound::from(chunk.clone())).is_ok() {}
    while conn.send(hub::Outbound::from("x")).is_ok() {}
    let full = conn.outbox_stats();
    let mut session = actions::ChatSession { member: Box::new(member) };
    session.on_text(&conn, hub::Utf8Bytes::from("not json")).await;
    assert!(conn.is_open(), "an ERROR frame never closes the connection");
    assert_eq!(conn.outbox_stats(), full, "the ERROR frame was dropped");
    assert_eq!(f.service.lost_errors.load(std::sync::atomic::Ordering::Relaxed), 1);
    // A member with room gets its ERROR frame.
    let (bob, bob_conn) = f.member("bob").await;
    actions::ChatSession { member: Box::new(bob) }.on_text(&bob_conn, hub::Utf8Bytes::from("not json")).await;
    assert_eq!(bob_conn.outbox_stats().queued_messages, 1);
    assert_eq!(f.service.lost_errors.load(std::sync::atomic::Ordering::Relaxed), 1);
}

#[tokio::test]
async fn delete_and_disconnect_requests_count_against_the_room_rate() {
    use hub::session::Inbound;
    let f = fixture().await;
    let moderator = vec![ChatTokenCapability::DeleteMessage, ChatTokenCapability::DisconnectUser];
    let (member, ann) = f.member_with("ann", moderator).await;
    let (_bob, bob) = f.member("bob").await;
    // Two frames per second (a new rate starts with a full second's worth).
    let mut slow = f.room.clone();
    slow.maximum_message_rate_per_second = 2;
    slow.update_time += time::Duration::seconds(1);
    f.service.room_updated(&slow).await;
    let mut session = actions::ChatSession { member: Box::new(member) };
    let delete = r#"{"Action":"DELETE_MESSAGE","RequestId":"d","Id":"abcdefABCDEF"}"#;
    let disconnect = r#"{"Action":"DISCONNECT_USER","RequestId":"u","UserId":"nobody"}"#;
    for text in [delete, disconnect, delete, disconnect] {
        session.on_text(&ann, hub::Utf8Bytes::from(text)).await;
    }
    assert_eq!(bob.outbox_stats().queued_messages, 2, "only the room's rate reaches the members");
    // The requester has its two events and an ERROR frame (429) for each refused request.
    assert_eq!(ann.outbox_stats().queued_messages, 4);
    assert!(ann.is_open(), "a rate error never closes the connection");
}

#[tokio::test]
async fn a_token_is_admitted_once_and_its_use_is_recorded_in_the_store() {
    let f = fixture().await;
    let token = f.token("ann", Vec::new()).await.token;
    assert!(f.service.admit(&token).await.is_ok());
    assert_eq!(f.service.admit(&token).await.unwrap_err(), Refusal::ChatTokenUsed);
    let claims = f.service.tokens.verify(&token, OffsetDateTime::now_utc()).unwrap();
    let again = f.service.store.redeem_token(claims.nonce(), claims.token_expires()).await.unwrap();
    assert!(!again, "the store holds the redemption");
}

#[tokio::test]
async fn a_store_that_cannot_record_single_use_refuses_tokens_retryably() {
    let f = fixture().await;
    let token = f.token("ann", Vec::new()).await.token;
    // A real fault: the store's table of redemptions is gone, so recording this one fails.
    let db = rusqlite::Connection::open(f._dir.path().join(store::DATABASE_FILE)).unwrap();
    db.execute_batch("DROP TABLE chat_token_redemptions").unwrap();
    let refusal = f.service.admit(&token).await.unwrap_err();
    assert_eq!(refusal, Refusal::ChatTokenUncheckable);
    assert_eq!((refusal.status().as_u16(), refusal.message()), (503, "Service Unavailable"));
}

#[tokio::test]
async fn a_frame_the_bus_does_not_take_reaches_nobody_and_the_sender_hears_of_it() {
    use hub::session::Inbound;
    let pubsub: Arc<dyn bus::PubSub> = Arc::new(failing::UnpublishablePubSub::default());
    let f = fixture_on(bus::Bus::new(pubsub, Arc::new(bus::LocalBus::new()), true)).await;
    let (member, ann) = f.member_with("ann", vec![ChatTokenCapability::SendMessage]).await;
    let (_bob, bob) = f.member("bob").await;
    let mut session = actions::ChatSession { member: Box::new(member) };
    session.on_text(&ann, hub::Utf8Bytes::from(r#"{"Action":"SEND_MESSAGE","RequestId":"r","Content":"hi"}"#)).await;
    assert_eq!(bob.outbox_stats().queued_messages, 0, "no member on this node gets what the others cannot");
    assert_eq!(ann.outbox_stats().queued_messages, 1, "the sender gets an ERROR frame instead of its message");
    assert!(ann.is_open());
    assert_eq!(f.service.unsent_frames.load(std::sync::atomic::Ordering::Relaxed), 1);
    // The control plane's events fail retryably (InternalServerException) instead of reaching this node only.
    let event = ChatEvent {
        id: "abcdefABCDEF".to_owned(),
        event_name: "app:x".to_owned(),
        attributes: BTreeMap::new(),
        send_time: OffsetDateTime::now_utc(),
    };
    assert!(matches!(f.service.send_event(&f.room, event).await, Err(EffectError::Failed(_))));
    assert_eq!(bob.outbox_stats().queued_messages, 0);
    assert_eq!(f.service.unsent_frames.load(std::sync::atomic::Ordering::Relaxed), 2);
}

#[test]
fn the_token_key_never_shows_in_debug_output() {
    let mut config = ChatConfig::new("/tmp", "us-east-1", "000000000000");
    config.token_key = crate::TokenKey([0xab; 32]);
    let printed = format!("{config:?}");
    assert!(printed.contains("TokenKey(<redacted>)"), "{printed}");
    assert!(!printed.contains("171"), "the key's bytes are not printed: {printed}");
}
