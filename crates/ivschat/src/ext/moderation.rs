//! Moderation beyond DisconnectUser (extension operations):
//!
//! - `BanUser` `{roomIdentifier, userId, durationSeconds, reason?}` bans a user from a room until now + the duration
//!   (0 lifts a ban; at most a year) and answers `{roomArn, userId, bannedUntil}`. The user's current connections are
//!   closed as DisconnectUser closes them (the room receives `aws:DISCONNECT_USER` with the reason, default
//!   "Banned"); until the ban ends, their handshakes are refused 403 and CreateChatToken for them answers
//!   AccessDeniedException.
//! - `DeleteUserMessages` `{roomIdentifier, userId, reason?}` deletes every retained message of the user, each as
//!   DeleteMessage does (an `aws:DELETE_MESSAGE` event to the room, the message gone from history), oldest first, and
//!   answers `{deletedMessageIds}` (at most a room's history limit, 1,000).
//! - `PutRoomSlowMode` `{roomIdentifier, seconds}` lets each user send at most one message per `seconds` (0: off; at
//!   most 3,600) in the room and answers `{roomArn, seconds}`; a message sooner gets the chat protocol's ERROR 429,
//!   as the room's rate limit does.

use aws_models::ivschat_ext::shapes as model;
use serde_json::{Value, json};
use store::Room;
use time::OffsetDateTime;
use wire::timefmt::rfc3339_millis;
use wire::{ApiError, ErrorCode};

use crate::ControlPlane;
use crate::effects::{MessageDeletion, UserDisconnection};
use crate::validate::{Object, REASON, ROOM_IDENTIFIER_RULE, USER_ID};

/// The reason of the `aws:DISCONNECT_USER` event of a ban that gives none.
const BANNED: &str = "Banned";

impl ControlPlane {
    /// CreateChatToken's refusal of a banned user.
    pub(crate) async fn refuse_banned(&self, room: &Room, user_id: &str, now: OffsetDateTime) -> Result<(), ApiError> {
        match self.store.banned_until(&room.id, user_id, now).await.map_err(|e| self.store_error(e))? {
            None => Ok(()),
            Some(until) => Err(ApiError::new(
                ErrorCode::AccessDenied,
                format!("User {user_id} is banned from this room until {}", rfc3339_millis(until)),
            )),
        }
    }

    /// The room and user of a moderation call.
    fn target(&self, r: &mut crate::validate::Reader, input: &mut Object) -> (Option<String>, Option<String>) {
        let identifier = r.string(input, "roomIdentifier", true, ROOM_IDENTIFIER_RULE);
        let user_id = r.string(input, "userId", true, USER_ID);
        (identifier, user_id)
    }

    pub(super) async fn room_of(&self, identifier: Option<String>) -> Result<Room, ApiError> {
        let id = self.resolve(&identifier.unwrap_or_default(), store::ResourceKind::Room)?;
        self.store.get_room(&id).await.map_err(|e| self.store_error(e))
    }

    pub(super) async fn ban_user(&self, mut input: Object) -> Result<Value, ApiError> {
        let mut r = self.reader();
        let (identifier, user_id) = self.target(&mut r, &mut input);
        let seconds = r.integer(&mut input, "durationSeconds", true, &model::BAN_DURATION_SECONDS);
        let reason = r.string(&mut input, "reason", false, REASON);
        r.end(input);
        r.finish()?;
        let (room, user_id) = (self.room_of(identifier).await?, user_id.unwrap_or_default());
        let now = self.now();
        let until = now + time::Duration::seconds(seconds.unwrap_or_default());
        self.store.ban_user(&room.id, &user_id, until, now).await.map_err(|e| self.store_error(e))?;
        if until > now {
            let disconnection = UserDisconnection {
                id: ids::resource_id(),
                user_id: user_id.clone(),
                reason: Some(reason.unwrap_or_else(|| BANNED.to_owned())),
                send_time: now,
            };
            self.events.disconnect_user(&room, disconnection).await.map_err(|e| self.effect_error(&room, e))?;
        }
        Ok(json!({"roomArn": self.room_arn(&room.id), "userId": user_id, "bannedUntil": rfc3339_millis(until)}))
    }

    pub(super) async fn delete_user_messages(&self, mut input: Object) -> Result<Value, ApiError> {
        let mut r = self.reader();
        let (identifier, user_id) = self.target(&mut r, &mut input);
        let reason = r.string(&mut input, "reason", false, REASON);
        r.end(input);
        r.finish()?;
        let (room, user_id) = (self.room_of(identifier).await?, user_id.unwrap_or_default());
        let ids = self.store.user_messages(&room.id, &user_id, self.now()).await.map_err(|e| self.store_error(e))?;
        for message_id in &ids {
            let deletion = MessageDeletion {
                id: ids::resource_id(),
                message_id: message_id.clone(),
                reason: reason.clone(),
                send_time: self.now(),
            };
            self.events.delete_message(&room, deletion).await.map_err(|e| self.effect_error(&room, e))?;
        }
        Ok(json!({"deletedMessageIds": ids}))
    }

    pub(super) async fn put_room_slow_mode(&self, mut input: Object) -> Result<Value, ApiError> {
        let mut r = self.reader();
        let identifier = r.string(&mut input, "roomIdentifier", true, ROOM_IDENTIFIER_RULE);
        let seconds = r.integer(&mut input, "seconds", true, &model::SLOW_MODE_SECONDS);
        r.end(input);
        r.finish()?;
        let room = self.room_of(identifier).await?;
        let seconds = u32::try_from(seconds.unwrap_or_default()).unwrap_or_default();
        let room = self.store.set_slow_mode(&room.id, seconds, self.now()).await.map_err(|e| self.store_error(e))?;
        self.events.room_updated(&room).await;
        Ok(json!({"roomArn": self.room_arn(&room.id), "seconds": room.slow_mode_seconds}))
    }
}
