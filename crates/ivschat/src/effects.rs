//! What the control plane asks of the live messaging layer: broadcasting events into rooms, applying room
//! changes to live rooms, and issuing chat tokens. The messaging layer implements these traits.

use std::collections::BTreeMap;

use async_trait::async_trait;
use store::Room;
use time::OffsetDateTime;

/// Why a live effect failed.
#[derive(Debug, thiserror::Error)]
pub enum EffectError {
    /// A messaging-side rate limit (e.g. DeleteMessage across all rooms) refused it: ThrottlingException.
    #[error("rate limit of {limit} per second exceeded")]
    Throttled { limit: u32 },
    /// Anything else: InternalServerException (the detail is logged, not sent).
    #[error("{0}")]
    Failed(String),
}

/// SendEvent: an application event to broadcast to every connection in the room
/// (`{"Type":"EVENT","Id":id,"RequestId":"","EventName":…,"Attributes":…,"SendTime":…}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatEvent {
    /// The event `Id`, also returned to the caller as SendEvent's `id`.
    pub id: String,
    pub event_name: String,
    pub attributes: BTreeMap<String, String>,
    pub send_time: OffsetDateTime,
}

/// DeleteMessage: broadcast `aws:DELETE_MESSAGE` with `MessageId`, `MessageID` and `Reason`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageDeletion {
    /// The event `Id`, also returned to the caller as DeleteMessage's `id`.
    pub id: String,
    pub message_id: String,
    pub reason: Option<String>,
    pub send_time: OffsetDateTime,
}

/// DisconnectUser: broadcast `aws:DISCONNECT_USER` with `UserId` and `Reason`, then close every connection
/// of that user in the room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserDisconnection {
    /// The event `Id`.
    pub id: String,
    pub user_id: String,
    pub reason: Option<String>,
    pub send_time: OffsetDateTime,
}

/// Live effects of control-plane calls on rooms. Called after the store has committed.
#[async_trait]
pub trait RoomEvents: Send + Sync + 'static {
    async fn send_event(&self, room: &Room, event: ChatEvent) -> Result<(), EffectError>;

    async fn delete_message(&self, room: &Room, deletion: MessageDeletion) -> Result<(), EffectError>;

    async fn disconnect_user(&self, room: &Room, disconnection: UserDisconnection) -> Result<(), EffectError>;

    /// UpdateRoom committed: apply the new rate, length, review handler and logging configurations to the
    /// live room. Infallible from the caller's view: the change is already durable.
    async fn room_updated(&self, room: &Room);

    /// DeleteRoom committed: end the room (close its connections, refuse its tokens).
    async fn room_deleted(&self, room: &Room);

    /// Who is connected to `room` on every node (an extension: ListRoomPresence): one entry per connection.
    async fn presence(&self, room: &Room) -> Result<Vec<Connected>, EffectError>;
}

/// One connection to a room, as presence lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connected {
    pub user_id: String,
    /// The token's attributes.
    pub attributes: BTreeMap<String, String>,
    /// When the connection was accepted, in Unix milliseconds.
    pub connected_at_ms: i64,
}

/// A capability granted by a chat token (model enum ChatTokenCapability).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChatTokenCapability {
    SendMessage,
    DisconnectUser,
    DeleteMessage,
}

impl ChatTokenCapability {
    pub fn as_str(self) -> &'static str {
        match self {
            ChatTokenCapability::SendMessage => "SEND_MESSAGE",
            ChatTokenCapability::DisconnectUser => "DISCONNECT_USER",
            ChatTokenCapability::DeleteMessage => "DELETE_MESSAGE",
        }
    }

    pub fn parse(s: &str) -> Option<ChatTokenCapability> {
        match s {
            "SEND_MESSAGE" => Some(ChatTokenCapability::SendMessage),
            "DISCONNECT_USER" => Some(ChatTokenCapability::DisconnectUser),
            "DELETE_MESSAGE" => Some(ChatTokenCapability::DeleteMessage),
            _ => None,
        }
    }
}

/// A validated CreateChatToken request for an existing room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRequest {
    pub room: Room,
    pub room_arn: String,
    pub user_id: String,
    /// Without duplicates, in request order; empty means view only.
    pub capabilities: Vec<ChatTokenCapability>,
    /// 1–180 minutes (default 60).
    pub session_duration: time::Duration,
    /// At most 1 KB of keys and values in total.
    pub attributes: BTreeMap<String, String>,
    pub now: OffsetDateTime,
}

/// What CreateChatToken returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedToken {
    /// Must use only RFC 7230 `tchar`s (it travels as a WebSocket subprotocol): base64url without padding.
    pub token: String,
    pub token_expiration_time: OffsetDateTime,
    pub session_expiration_time: OffsetDateTime,
}

/// Issues chat tokens (CreateChatToken); implemented by the messaging layer, which also redeems them.
#[async_trait]
pub trait TokenIssuer: Send + Sync + 'static {
    async fn issue(&self, request: TokenRequest) -> Result<IssuedToken, EffectError>;
}
