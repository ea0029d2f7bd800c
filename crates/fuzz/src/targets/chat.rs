//! `chat_token` and `chat_frame`: IVS Chat's handshake token and the frames of a chat connection, on a real
//! [`chat::ChatService`] over a SQLite store in a temporary directory, with one room.
//!
//! `chat_token` presents the input as a token ([`ChatService::admit`]: format, signature, claims, expiry, single use,
//! room), then the input as the claims of a token signed with the service's key (the format `chat/src/token.rs`
//! documents), so that claims past the signature check are read too. `chat_frame` admits a fresh member and runs
//! its session ([`ChatService::serve`]) over a socket that sends each line of the input as one text frame:
//! `wire::ivschat::parse_action`, the actions' checks and limits, fan-out and ERROR frames.

use std::cell::OnceCell;
use std::rc::Rc;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chat::{ChatConfig, ChatService, Refusal, TokenKey};
use hmac::{Hmac, Mac};
use hub::session::{SessionConfig, websocket_config};
use hub::{ConnectionInfo, Hub, HubConfig, Scope};
use ivschat::{ChatTokenCapability, TokenIssuer, TokenRequest};
use sha2::Sha256;
use store::{NewRoom, Room, SqliteStore, Store};
use time::OffsetDateTime;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::Role;
use wire::ivschat::MAX_REQUEST_ID_CHARS;

use crate::fixture::{block_on, once};
use crate::replay::{Replay, masked_text_frame};

/// The fixture room's id: seeds name it in their claims (`"r"`).
pub(crate) const ROOM_ID: &str = "g1H2I3j4k5L6";
const KEY: [u8; 32] = [7; 32];

thread_local! {
    static FIXTURE: OnceCell<Rc<Fixture>> = const { OnceCell::new() };
}

struct Fixture {
    service: Arc<ChatService>,
    hub: Hub,
    room: Room,
    _dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        block_on(async {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).await.expect("a SQLite store"));
            let room = store
                .create_room(
                    NewRoom {
                        id: ROOM_ID.to_owned(),
                        name: "fuzz".to_owned(),
                        create_time: OffsetDateTime::now_utc(),
                        maximum_message_rate_per_second: 1000,
                        maximum_message_length: 500,
                        message_review_handler: None,
                        logging_configuration_ids: Vec::new(),
                        tags: Default::default(),
                    },
                    10,
                )
                .await
                .expect("the fixture room");
            let hub = Hub::new(HubConfig::default());
            let mut config = ChatConfig::new(dir.path(), "us-east-1", "123456789012");
            config.token_key = TokenKey(KEY);
            let service = ChatService::new(store, hub.clone(), config).expect("the chat service");
            Fixture { service, hub, room, _dir: dir }
        })
    }
}

fn is_token_refusal(refusal: Refusal) -> bool {
    matches!(
        refusal,
        Refusal::ChatTokenMissing
            | Refusal::ChatTokenMalformed
            | Refusal::ChatTokenForged
            | Refusal::ChatTokenExpired
            | Refusal::ChatTokenUsed
            | Refusal::RoomNotFound
    )
}

pub fn chat_token(data: &[u8]) {
    let fixture = once(&FIXTURE, Fixture::new);
    let text = String::from_utf8_lossy(data);
    block_on(async {
        // Bytes this process did not sign never admit anyone.
        match fixture.service.admit(&text).await {
            Ok(ticket) => panic!("an unsigned token was admitted: {ticket:?}"),
            Err(refusal) => assert!(is_token_refusal(refusal), "{refusal:?}"),
        }
        // The input as claims, signed with the service's key: admitted at most once.
        let payload = URL_SAFE_NO_PAD.encode(data);
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&KEY).expect("HMAC takes any key length");
        mac.update(payload.as_bytes());
        let token = format!("{payload}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()));
        match fixture.service.admit(&token).await {
            Ok(ticket) => {
                assert_eq!(ticket.room_id(), ROOM_ID);
                drop(ticket);
                let again = fixture.service.admit(&token).await;
                assert!(matches!(again, Err(Refusal::ChatTokenUsed)), "a token was admitted twice: {again:?}");
            }
            Err(refusal) => {
                assert!(is_token_refusal(refusal), "{refusal:?}");
                assert_ne!(refusal, Refusal::ChatTokenForged, "a correctly signed token was called forged");
            }
        }
    });
}

pub fn chat_frame(data: &[u8]) {
    let fixture = once(&FIXTURE, Fixture::new);
    let mut frames = Vec::new();
    for line in data.split(|&b| b == b'\n') {
        if let Ok(text) = std::str::from_utf8(line) {
            let read = wire::ivschat::parse_action(text);
            let request_id = match &read {
                Ok(request) => &request.request_id,
                Err(bad) => &bad.request_id,
            };
            assert!(request_id.chars().count() <= MAX_REQUEST_ID_CHARS, "an over-long RequestId was kept");
        }
        frames.extend_from_slice(&masked_text_frame(line));
    }
    let frames_sent = !data.is_empty();
    let written = block_on(async {
        let now = OffsetDateTime::now_utc();
        let request = TokenRequest {
            room: fixture.room.clone(),
            room_arn: format!("arn:aws:ivschat:us-east-1:123456789012:room/{ROOM_ID}"),
            user_id: "fuzzer".to_owned(),
            capabilities: vec![
                ChatTokenCapability::SendMessage,
                ChatTokenCapability::DeleteMessage,
                ChatTokenCapability::DisconnectUser,
            ],
            session_duration: time::Duration::minutes(60),
            attributes: Default::default(),
            now,
        };
        let issued = fixture.service.issue(request).await.expect("a token");
        let ticket = fixture.service.admit(&issued.token).await.expect("a fresh token is admitted");
        let conn = fixture.hub.new_connection(ConnectionInfo {
            scope: Scope::Chat { room_id: Arc::from(ROOM_ID), user_id: Arc::from("fuzzer") },
            connected_at: now,
            source_ip: "192.0.2.1".to_owned(),
            user_agent: None,
        });
        fixture.hub.register(conn.clone());
        let member = fixture.service.join(ticket, conn.clone()).expect("the member joins");
        let (replay, written) = Replay::new(frames, 4096);
        // As the server reads a socket: through `LeanStream`, with its WebSocket settings.
        let io = hub::LeanStream::new(replay);
        let mut ws =
            WebSocketStream::from_raw_socket(io, Role::Server, Some(websocket_config(128 * 1024, 32 * 1024))).await;
        let end = ChatService::serve(Box::new(member), &mut ws, &SessionConfig::default()).await;
        fixture.hub.unregister(conn.id());
        assert!(!conn.is_open(), "the connection outlived its session ({end:?})");
        written.get()
    });
    // Every frame is answered: a MESSAGE or EVENT to the room (the sender included), or an ERROR to the sender.
    if frames_sent {
        assert!(written > 0, "frames were sent and nothing came back");
    }
}
