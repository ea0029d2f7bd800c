//! What one chat connection asks for: SEND_MESSAGE, DELETE_MESSAGE and DISCONNECT_USER, each checked against the
//! token's capabilities and the room's live limits (the room's rate counts all three). A failed request gets an
//! ERROR frame on this connection only; the connection stays open, even when its outbox is full (the frame is
//! dropped then, and counted).

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use aws_models::ivschat::shapes as model;
use hub::session::Inbound;
use hub::{CloseRequest, Connection, Outbound, SendError, Utf8Bytes};
use ivschat::ChatTokenCapability;
use wire::ivschat::{
    self as frames, Action, Attributes, ChatErrorCode, ErrorFrame, Frame, ReviewRequest, ReviewSender, parse_action,
};

use crate::fanout::Unsent;
use crate::review::Verdict;
use crate::rooms::Outgoing;
use crate::{ChatService, Member};

/// Attributes of a message may hold this many bytes of keys and values ("1 KB total", as the API's).
pub(crate) const MAX_ATTRIBUTE_BYTES: usize = ivschat::MAX_ATTRIBUTE_BYTES;
/// Longest `Reason` of DELETE_MESSAGE and DISCONNECT_USER, in code points (the API's model shape `Reason`).
const MAX_REASON_CHARS: usize = model::REASON.max_len();
/// Shortest and longest `UserId` of DISCONNECT_USER, in code points (the API's model shape `UserID`).
const USER_ID_CHARS: (usize, usize) = (model::USER_ID.min_len(), model::USER_ID.max_len());
/// The length of a message id (the API's model shape `MessageID`: letters and digits).
const MESSAGE_ID_LEN: usize = model::MESSAGE_ID.max_len();

/// The ERROR 500 of a request that reached nobody because the cluster bus is away: nothing was sent, so a retry
/// cannot duplicate it.
const NOT_SENT: &str = "The request was not sent to the room; try again";

/// Bytes of keys and values.
pub(crate) fn attribute_bytes(attributes: &Attributes) -> usize {
    attributes.iter().map(|(k, v)| k.len() + v.len()).sum()
}

type Failure = (ChatErrorCode, Cow<'static, str>);

fn bad_request(message: impl Into<Cow<'static, str>>) -> Failure {
    (ChatErrorCode::BadRequest, message.into())
}

/// The session's inbound handler: one per chat connection.
#[derive(Debug)]
pub(crate) struct ChatSession {
    /// Boxed: a session's task keeps it for as long as the connection lives, moved from future to future.
    pub(crate) member: Box<Member>,
}

impl Inbound for ChatSession {
    async fn on_text(&mut self, _conn: &Arc<Connection>, text: Utf8Bytes) {
        let (request_id, result) = match parse_action(&text) {
            Ok(request) => {
                let result = self.member.handle(&request.request_id, request.action).await;
                (request.request_id, result)
            }
            Err(bad) => (bad.request_id, Err((ChatErrorCode::BadRequest, Cow::Owned(bad.message)))),
        };
        if let Err((code, message)) = result {
            self.member.send_error(&request_id, code, &message);
        }
    }

    /// The chat session expired: `ERROR 401` "Session expired", then a close (1000).
    fn on_max_duration(&mut self, conn: &Arc<Connection>) -> CloseRequest {
        conn.span().in_scope(|| self.member.send_error("", ChatErrorCode::Unauthorized, "Session expired"));
        crate::rooms::session_expired()
    }
}

/// Queues an ERROR frame for one connection with the non-closing send: an error never closes a connection, so when
/// the outbox is full the frame is dropped and counted instead (a warning says so), unlike fan-out, which closes a
/// member that cannot keep up.
pub(crate) fn send_error(
    service: &ChatService,
    conn: &Connection,
    request_id: &str,
    code: ChatErrorCode,
    message: &str,
) {
    let id = ids::resource_id();
    let frame = Frame::Error(ErrorFrame { id: &id, request_id, error_code: code.code(), error_message: message });
    if let Err(SendError::Full) = conn.send(Outbound::from(frame.to_json())) {
        let dropped = service.lost_errors.fetch_add(1, Ordering::Relaxed) + 1;
        if dropped.is_power_of_two() {
            tracing::warn!(dropped, "A chat member's outbox is full; ERROR frames to it are being dropped.");
        }
    }
}

impl Member {
    /// Sends an ERROR frame to this connection only; see [`send_error`].
    pub(crate) fn send_error(&self, request_id: &str, code: ChatErrorCode, message: &str) {
        send_error(&self.service, &self.conn, request_id, code, message);
    }

    async fn handle(&self, request_id: &str, action: Action) -> Result<(), Failure> {
        match action {
            Action::SendMessage { content, attributes } => self.send_message(request_id, content, attributes).await,
            Action::DeleteMessage { id, reason } => self.delete_message(request_id, &id, reason.as_deref()).await,
            Action::DisconnectUser { user_id, reason } => {
                self.disconnect_user(request_id, &user_id, reason.as_deref()).await
            }
        }
    }

    fn require(&self, capability: ChatTokenCapability) -> Result<(), Failure> {
        if self.capabilities.allows(capability) {
            Ok(())
        } else {
            let message = format!("The chat token does not have the {} capability", capability.as_str());
            Err((ChatErrorCode::Forbidden, Cow::Owned(message)))
        }
    }

    /// Takes one frame from the room's rate (`maximumMessageRatePerSecond`, in a cluster across every node): every
    /// request that fans out to the room's members counts, SEND_MESSAGE, DELETE_MESSAGE and DISCONNECT_USER alike.
    async fn take_rate(&self, rate: u32) -> Result<(), Failure> {
        if self.room.try_take_message() && self.service.cluster_rate_allows(&self.room.id, rate).await {
            Ok(())
        } else {
            Err((ChatErrorCode::TooManyRequests, Cow::Borrowed("rate limit exceeded")))
        }
    }

    /// Slow mode (an extension): at most one message per user per `seconds` in the room, on this node and (in fixed
    /// windows of `seconds`) across the cluster; refused as the room's rate limit is, with ERROR 429.
    async fn slow_mode(&self, seconds: u32) -> Result<(), Failure> {
        if seconds == 0 {
            return Ok(());
        }
        let key = format!("chat-slow:{}:{}", self.room.id, self.user_id);
        let window = std::time::Duration::from_secs(u64::from(seconds));
        if self.room.slow_mode_allows(&self.user_id, seconds)
            && self.service.fanout.window_allows(&key, 1, window).await
        {
            Ok(())
        } else {
            Err((ChatErrorCode::TooManyRequests, Cow::Owned(format!("slow mode: one message per {seconds} seconds"))))
        }
    }

    async fn send_message(
        &self,
        request_id: &str,
        content: String,
        attributes: Option<Attributes>,
    ) -> Result<(), Failure> {
        self.require(ChatTokenCapability::SendMessage)?;
        let settings = self.room.settings();
        if content.chars().count() > settings.maximum_message_length as usize {
            return Err(bad_request("Message exceeds maximum length"));
        }
        if attributes.as_ref().is_some_and(|a| attribute_bytes(a) > MAX_ATTRIBUTE_BYTES) {
            return Err((ChatErrorCode::PayloadTooLarge, Cow::Borrowed("Request contains fields that are too large")));
        }
        self.slow_mode(settings.slow_mode_seconds).await?;
        self.take_rate(settings.maximum_message_rate_per_second).await?;
        let id = ids::resource_id();
        let (content, attributes) = match &settings.review {
            None => (content, attributes),
            Some(handler) => {
                let empty = Attributes::new();
                let room_arn = self.service.room_arn(&self.room.id);
                let request = ReviewRequest {
                    content: &content,
                    message_id: &id,
                    room_arn: &room_arn,
                    attributes: attributes.as_ref().unwrap_or(&empty),
                    sender: ReviewSender {
                        attributes: &self.attributes,
                        user_id: &self.user_id,
                        ip: &self.conn.info().source_ip,
                    },
                };
                let verdict = self
                    .service
                    .reviewer
                    .review(handler, &request, attributes.as_ref(), settings.maximum_message_length)
                    .await;
                match verdict {
                    Verdict::Allow { content, attributes } => (content, attributes),
                    Verdict::Deny { message } => return Err((ChatErrorCode::NotAcceptable, Cow::Owned(message))),
                }
            }
        };
        let outgoing = Outgoing::Message {
            id: &id,
            request_id,
            attributes: attributes.as_ref(),
            content: &content,
            sender_id: &self.user_id,
            sender_attributes: &self.attributes,
        };
        self.broadcast(outgoing, None).await
    }

    async fn delete_message(&self, request_id: &str, message_id: &str, reason: Option<&str>) -> Result<(), Failure> {
        self.require(ChatTokenCapability::DeleteMessage)?;
        if message_id.len() != MESSAGE_ID_LEN || !message_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(bad_request(format!("Id must be a message id: {MESSAGE_ID_LEN} letters and digits")));
        }
        check_reason(reason)?;
        self.take_rate(self.room.settings().maximum_message_rate_per_second).await?;
        let id = ids::resource_id();
        let attributes = frames::delete_message_attributes(message_id, reason);
        let outgoing =
            Outgoing::Event { id: &id, request_id, name: frames::EVENT_DELETE_MESSAGE, attributes: Some(&attributes) };
        self.broadcast(outgoing, None).await
    }

    async fn disconnect_user(&self, request_id: &str, user_id: &str, reason: Option<&str>) -> Result<(), Failure> {
        self.require(ChatTokenCapability::DisconnectUser)?;
        let chars = user_id.chars().count();
        let (min, max) = USER_ID_CHARS;
        if chars < min || chars > max {
            return Err(bad_request(format!("UserId must be {min} to {max} characters long")));
        }
        check_reason(reason)?;
        self.take_rate(self.room.settings().maximum_message_rate_per_second).await?;
        let id = ids::resource_id();
        let attributes = frames::disconnect_user_attributes(user_id, reason);
        let outgoing =
            Outgoing::Event { id: &id, request_id, name: frames::EVENT_DISCONNECT_USER, attributes: Some(&attributes) };
        self.broadcast(outgoing, Some(user_id)).await
    }

    async fn broadcast(&self, outgoing: Outgoing<'_>, disconnect: Option<&str>) -> Result<(), Failure> {
        let settings = self.room.settings();
        let to = (settings.logging_ids, settings.history);
        match self.service.emit(&self.room.id, Some(&self.room), to, outgoing, disconnect).await {
            Ok(()) => Ok(()),
            Err(Unsent::Gone) => Err((ChatErrorCode::NotFound, Cow::Borrowed("Room not found"))),
            Err(Unsent::BusUnavailable | Unsent::HistoryUnavailable) => {
                Err((ChatErrorCode::InternalServerError, Cow::Borrowed(NOT_SENT)))
            }
        }
    }
}

fn check_reason(reason: Option<&str>) -> Result<(), Failure> {
    match reason {
        Some(reason) if reason.chars().count() > MAX_REASON_CHARS => {
            Err(bad_request(format!("Reason must be at most {MAX_REASON_CHARS} characters long")))
        }
        _ => Ok(()),
    }
}
