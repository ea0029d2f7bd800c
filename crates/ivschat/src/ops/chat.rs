//! CreateChatToken, SendEvent, DeleteMessage and DisconnectUser: calls into the live messaging layer.

use aws_models::ivschat::shapes as model;
use serde_json::{Value, json};
use wire::ApiError;
use wire::timefmt::rfc3339_millis;

use crate::effects::{ChatEvent, ChatTokenCapability, MessageDeletion, TokenRequest, UserDisconnection};
use crate::operation::Operation;
use crate::validate::{
    ATTRIBUTES, CAPABILITIES, EVENT_NAME, MESSAGE_ID, Object, REASON, ROOM_IDENTIFIER_RULE, Str, USER_ID,
};
use crate::{ControlPlane, shapes};

const DEFAULT_SESSION_MINUTES: i64 = 60;

impl ControlPlane {
    pub(crate) async fn create_chat_token(&self, mut input: Object) -> Result<Value, ApiError> {
        let mut r = self.reader();
        let identifier = r.string(&mut input, "roomIdentifier", true, ROOM_IDENTIFIER_RULE);
        let user_id = r.string(&mut input, "userId", true, USER_ID);
        let capability_names = r.string_list(&mut input, "capabilities", false, None, Str::len(0, usize::MAX));
        let minutes = r.integer(&mut input, "sessionDurationInMinutes", false, &model::SESSION_DURATION_IN_MINUTES);
        let attributes = r.string_map(&mut input, "attributes", false, ATTRIBUTES);
        let mut capabilities = Vec::new();
        for (i, name) in capability_names.unwrap_or_default().iter().enumerate() {
            match ChatTokenCapability::parse(name) {
                Some(c) if !capabilities.contains(&c) => capabilities.push(c),
                Some(_) => {}
                None => r.fail(
                    format!("capabilities.{i}"),
                    format!("Member must satisfy enum value set: [{}]", CAPABILITIES.join(", ")),
                ),
            }
        }
        r.end(input);
        r.finish()?;

        let room = self.admitted_room(Operation::CreateChatToken, &identifier.unwrap_or_default()).await?;
        let (user_id, now) = (user_id.unwrap_or_default(), self.now());
        self.refuse_banned(&room, &user_id, now).await?;
        let request = TokenRequest {
            room_arn: shapes::room_arn(&self.config, &room.id),
            room: room.clone(),
            user_id,
            capabilities,
            session_duration: time::Duration::minutes(minutes.unwrap_or(DEFAULT_SESSION_MINUTES)),
            attributes: attributes.unwrap_or_default(),
            now,
        };
        let issued = self.tokens.issue(request).await.map_err(|e| self.effect_error(&room, e))?;
        Ok(json!({
            "token": issued.token,
            "tokenExpirationTime": rfc3339_millis(issued.token_expiration_time),
            "sessionExpirationTime": rfc3339_millis(issued.session_expiration_time),
        }))
    }

    pub(crate) async fn send_event(&self, mut input: Object) -> Result<Value, ApiError> {
        let mut r = self.reader();
        let identifier = r.string(&mut input, "roomIdentifier", true, ROOM_IDENTIFIER_RULE);
        let event_name = r.string(&mut input, "eventName", true, EVENT_NAME);
        let attributes = r.string_map(&mut input, "attributes", false, ATTRIBUTES);
        r.end(input);
        r.finish()?;
        let room = self.admitted_room(Operation::SendEvent, &identifier.unwrap_or_default()).await?;
        let event = ChatEvent {
            id: ids::resource_id(),
            event_name: event_name.unwrap_or_default(),
            attributes: attributes.unwrap_or_default(),
            send_time: self.now(),
        };
        let id = event.id.clone();
        self.events.send_event(&room, event).await.map_err(|e| self.effect_error(&room, e))?;
        Ok(json!({"id": id}))
    }

    pub(crate) async fn delete_message(&self, mut input: Object) -> Result<Value, ApiError> {
        let mut r = self.reader();
        let identifier = r.string(&mut input, "roomIdentifier", true, ROOM_IDENTIFIER_RULE);
        let message_id = r.string(&mut input, "id", true, MESSAGE_ID);
        let reason = r.string(&mut input, "reason", false, REASON);
        r.end(input);
        r.finish()?;
        let room = self.admitted_room(Operation::DeleteMessage, &identifier.unwrap_or_default()).await?;
        let deletion = MessageDeletion {
            id: ids::resource_id(),
            message_id: message_id.unwrap_or_default(),
            reason,
            send_time: self.now(),
        };
        let id = deletion.id.clone();
        self.events.delete_message(&room, deletion).await.map_err(|e| self.effect_error(&room, e))?;
        Ok(json!({"id": id}))
    }

    pub(crate) async fn disconnect_user(&self, mut input: Object) -> Result<Value, ApiError> {
        let mut r = self.reader();
        let identifier = r.string(&mut input, "roomIdentifier", true, ROOM_IDENTIFIER_RULE);
        let user_id = r.string(&mut input, "userId", true, USER_ID);
        let reason = r.string(&mut input, "reason", false, REASON);
        r.end(input);
        r.finish()?;
        let room = self.admitted_room(Operation::DisconnectUser, &identifier.unwrap_or_default()).await?;
        let disconnection = UserDisconnection {
            id: ids::resource_id(),
            user_id: user_id.unwrap_or_default(),
            reason,
            send_time: self.now(),
        };
        self.events.disconnect_user(&room, disconnection).await.map_err(|e| self.effect_error(&room, e))?;
        Ok(json!({}))
    }
}
