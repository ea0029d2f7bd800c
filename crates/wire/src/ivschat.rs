//! Amazon IVS Chat messaging on the wire: the client's actions, the MESSAGE, EVENT and ERROR frames of the chat
//! WebSocket (field names and order as the real service sends them), the message review handler's request and
//! answer, logged records and the Firehose HTTP endpoint delivery request.
//!
//! Frames are serialised from borrowed parts so that the caller encodes one frame once for every recipient.
//! Attribute maps are sorted by key, as the real service (a Go map) sends them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

/// Attributes of a message, an event, a sender or a review: string keys to string values.
pub type Attributes = BTreeMap<String, String>;

/// The system event of a deleted message (`MessageId`, `MessageID`, `Reason`).
pub const EVENT_DELETE_MESSAGE: &str = "aws:DELETE_MESSAGE";
/// The system event of a disconnected user (`UserId`, `Reason`).
pub const EVENT_DISCONNECT_USER: &str = "aws:DISCONNECT_USER";
/// Switchboard's event (an extension) telling a reconnecting client that history no longer reaches back to the
/// message it asked to recover after (`LastMessageId`, `Reason`): what it missed cannot be replayed.
pub const EVENT_RECOVERY_GAP: &str = "switchboard:recovery-gap";
/// Switchboard's event (an extension, sent by rooms whose presence events are on) of a user's first connection to a
/// room on a node (`UserId`).
pub const EVENT_JOIN: &str = "switchboard:join";
/// Switchboard's event (an extension, sent by rooms whose presence events are on) of the end of a user's last
/// connection to a room on a node (`UserId`).
pub const EVENT_LEAVE: &str = "switchboard:leave";
/// The chat token attribute (an extension, set by the backend at CreateChatToken) naming the last message id a
/// reconnecting client saw: it receives every retained frame after it before live ones.
pub const RECOVER_AFTER_ATTRIBUTE: &str = "switchboard:recover-after";
/// The `version` of every logged record.
pub const LOG_RECORD_VERSION: &str = "1.0";
/// Longest `RequestId` a client may send, in code points. AWS documents no limit; the official client sends a UUIDv4
/// (36), and the id is copied into every recipient's frame, so a longer one is refused with ERROR 400.
pub const MAX_REQUEST_ID_CHARS: usize = 128;

/// A frame the server sends on the chat WebSocket: `{"Type":…,"Id":…,…}` with `Type` first.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "Type")]
pub enum Frame<'a> {
    #[serde(rename = "MESSAGE")]
    Message(Message<'a>),
    #[serde(rename = "EVENT")]
    Event(Event<'a>),
    #[serde(rename = "ERROR")]
    Error(ErrorFrame<'a>),
}

impl Frame<'_> {
    /// The frame's JSON text.
    pub fn to_json(&self) -> String {
        // Serialising borrowed strings and string maps cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// MESSAGE: `{"Type":"MESSAGE","Id","RequestId","Attributes","Content","SendTime","Sender":{"UserId","Attributes"}}`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Message<'a> {
    pub id: &'a str,
    /// The sender's `RequestId`, delivered to every recipient; `""` when the sender gave none.
    pub request_id: &'a str,
    /// `null` when the sender gave none.
    pub attributes: Option<&'a Attributes>,
    pub content: &'a str,
    /// [`rfc3339_nano`].
    pub send_time: &'a str,
    pub sender: Sender<'a>,
}

/// A message's `Sender`: the token's user id and attributes (`{}` when the token has none).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Sender<'a> {
    pub user_id: &'a str,
    pub attributes: &'a Attributes,
}

/// EVENT: `{"Type":"EVENT","Id","RequestId","EventName","Attributes","SendTime"}`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Event<'a> {
    pub id: &'a str,
    /// The requester's `RequestId`; `""` for events sent through the API.
    pub request_id: &'a str,
    pub event_name: &'a str,
    /// `null` when there are none.
    pub attributes: Option<&'a Attributes>,
    /// [`rfc3339_nano`].
    pub send_time: &'a str,
}

/// ERROR: `{"Type":"ERROR","Id","RequestId","ErrorCode","ErrorMessage"}`, sent to the requester only.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ErrorFrame<'a> {
    pub id: &'a str,
    /// The failed request's `RequestId`; `""` when it had none, could not be read or was too long.
    pub request_id: &'a str,
    /// A JSON number.
    pub error_code: u16,
    pub error_message: &'a str,
}

/// The `ErrorCode`s of ERROR frames (the IVS Chat Messaging API's table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChatErrorCode {
    /// The request is malformed or invalid.
    BadRequest,
    /// The session has expired (clients reconnect with a new token).
    Unauthorized,
    /// The token's capabilities do not permit the action.
    Forbidden,
    /// The room cannot be found.
    NotFound,
    /// The message review handler denied the message.
    NotAcceptable,
    /// Fields are too large.
    PayloadTooLarge,
    /// The room's message rate was exceeded.
    TooManyRequests,
    InternalServerError,
}

impl ChatErrorCode {
    pub const ALL: [ChatErrorCode; 8] = [
        ChatErrorCode::BadRequest,
        ChatErrorCode::Unauthorized,
        ChatErrorCode::Forbidden,
        ChatErrorCode::NotFound,
        ChatErrorCode::NotAcceptable,
        ChatErrorCode::PayloadTooLarge,
        ChatErrorCode::TooManyRequests,
        ChatErrorCode::InternalServerError,
    ];

    /// The frame's `ErrorCode`.
    pub fn code(self) -> u16 {
        match self {
            ChatErrorCode::BadRequest => 400,
            ChatErrorCode::Unauthorized => 401,
            ChatErrorCode::Forbidden => 403,
            ChatErrorCode::NotFound => 404,
            ChatErrorCode::NotAcceptable => 406,
            ChatErrorCode::PayloadTooLarge => 413,
            ChatErrorCode::TooManyRequests => 429,
            ChatErrorCode::InternalServerError => 500,
        }
    }
}

/// `Attributes` of `aws:DELETE_MESSAGE`: `MessageID` (which the official clients require), `MessageId` (its
/// documented successor) and `Reason` when one was given.
pub fn delete_message_attributes(message_id: &str, reason: Option<&str>) -> Attributes {
    let mut attributes = Attributes::new();
    attributes.insert("MessageID".to_owned(), message_id.to_owned());
    attributes.insert("MessageId".to_owned(), message_id.to_owned());
    if let Some(reason) = reason {
        attributes.insert("Reason".to_owned(), reason.to_owned());
    }
    attributes
}

/// `Attributes` of `aws:DISCONNECT_USER`: `UserId` and `Reason` when one was given.
pub fn disconnect_user_attributes(user_id: &str, reason: Option<&str>) -> Attributes {
    let mut attributes = Attributes::new();
    attributes.insert("UserId".to_owned(), user_id.to_owned());
    if let Some(reason) = reason {
        attributes.insert("Reason".to_owned(), reason.to_owned());
    }
    attributes
}

const SECONDS: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");

/// `SendTime`: RFC 3339 in UTC with nanoseconds, trailing zeros trimmed, and `Z` (Go's `RFC3339Nano`), e.g.
/// `2022-12-02T08:25:51.13691272Z`; a whole second has no fraction.
pub fn rfc3339_nano(t: OffsetDateTime) -> String {
    let utc = t.to_offset(time::UtcOffset::UTC);
    let mut out = utc.format(SECONDS).unwrap_or_default();
    let nanos = utc.nanosecond();
    if nanos != 0 {
        let fraction = format!("{nanos:09}");
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// A logged record: `{"event_timestamp":…,"type":…,"payload":…,"version":"1.0"}` (the order of real records), where
/// `payload` is the exact frame clients received and `event_timestamp` its send time in milliseconds.
pub fn log_record(event_timestamp: OffsetDateTime, record_type: &str, payload_json: &str) -> String {
    let timestamp = crate::timefmt::rfc3339_millis(event_timestamp);
    let record_type = serde_json::to_string(record_type).unwrap_or_default();
    format!(
        r#"{{"event_timestamp":"{timestamp}","type":{record_type},"payload":{payload_json},"version":"{LOG_RECORD_VERSION}"}}"#
    )
}

/// What the message review handler receives (the Lambda payload of IVS Chat).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReviewRequest<'a> {
    pub content: &'a str,
    /// The id the message will have when delivered.
    pub message_id: &'a str,
    pub room_arn: &'a str,
    /// The message's attributes (`{}` when none).
    pub attributes: &'a Attributes,
    pub sender: ReviewSender<'a>,
}

/// The sender in a [`ReviewRequest`].
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReviewSender<'a> {
    pub attributes: &'a Attributes,
    pub user_id: &'a str,
    pub ip: &'a str,
}

/// The review handler's answer: `ReviewResult` `ALLOW` or `DENY`, optionally rewritten `Content` and `Attributes`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReviewResponse {
    pub review_result: String,
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub attributes: Option<Attributes>,
}

/// A Firehose HTTP endpoint delivery request: `{"requestId","timestamp","records":[{"data"}]}`, `data` in base64.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FirehoseDelivery<'a> {
    pub request_id: &'a str,
    /// Milliseconds since the Unix epoch.
    pub timestamp: i64,
    pub records: Vec<FirehoseRecord>,
}

/// One record of a [`FirehoseDelivery`].
#[derive(Clone, Debug, Serialize)]
pub struct FirehoseRecord {
    /// The record, base64-encoded.
    pub data: String,
}

/// A client's request on the chat WebSocket, as the official clients send it
/// (`{"Action":"SEND_MESSAGE","RequestId":…,"Content":…,"Attributes":…}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionRequest {
    /// `""` when absent.
    pub request_id: String,
    pub action: Action,
}

/// The three actions of the chat WebSocket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    SendMessage { content: String, attributes: Option<Attributes> },
    DeleteMessage { id: String, reason: Option<String> },
    DisconnectUser { user_id: String, reason: Option<String> },
}

/// A request that could not be read: answered with ERROR 400.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadRequest {
    /// The request's `RequestId` when it could be read and is at most [`MAX_REQUEST_ID_CHARS`] long, else `""`.
    pub request_id: String,
    pub message: String,
}

/// Reads one text frame of a client. Unknown members are ignored; `null` counts as absent.
pub fn parse_action(text: &str) -> Result<ActionRequest, BadRequest> {
    let bad =
        |request_id: &str, message: &str| BadRequest { request_id: request_id.to_owned(), message: message.to_owned() };
    let Ok(Value::Object(mut object)) = serde_json::from_str::<Value>(text) else {
        return Err(bad("", "The request must be a JSON object"));
    };
    let request_id = match object.remove("RequestId") {
        None | Some(Value::Null) => String::new(),
        // Too long: the answer carries no id rather than a truncated one the client never sent (which it could
        // take for the id of another request) or the oversized one the limit exists to avoid copying.
        Some(Value::String(id)) if id.len() > MAX_REQUEST_ID_CHARS && id.chars().count() > MAX_REQUEST_ID_CHARS => {
            let message = format!("RequestId must be at most {MAX_REQUEST_ID_CHARS} characters long");
            return Err(bad("", &message));
        }
        Some(Value::String(id)) => id,
        Some(_) => return Err(bad("", "RequestId must be a string")),
    };
    let mut string = |name: &str, required: bool| -> Result<Option<String>, BadRequest> {
        match object.remove(name) {
            None | Some(Value::Null) if required => Err(bad(&request_id, &format!("{name} is required"))),
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(value)) => Ok(Some(value)),
            Some(_) => Err(bad(&request_id, &format!("{name} must be a string"))),
        }
    };
    let action = match string("Action", true)?.unwrap_or_default().as_str() {
        "SEND_MESSAGE" => {
            let content = string("Content", true)?.unwrap_or_default();
            let attributes = match object.remove("Attributes") {
                None | Some(Value::Null) => None,
                Some(Value::Object(map)) => {
                    let mut attributes = Attributes::new();
                    for (key, value) in map {
                        let Value::String(value) = value else {
                            return Err(bad(&request_id, "Attributes must be an object of string values"));
                        };
                        attributes.insert(key, value);
                    }
                    Some(attributes)
                }
                Some(_) => return Err(bad(&request_id, "Attributes must be an object of string values")),
            };
            Action::SendMessage { content, attributes }
        }
        "DELETE_MESSAGE" => {
            let id = string("Id", true)?.unwrap_or_default();
            Action::DeleteMessage { id, reason: string("Reason", false)? }
        }
        "DISCONNECT_USER" => {
            let user_id = string("UserId", true)?.unwrap_or_default();
            Action::DisconnectUser { user_id, reason: string("Reason", false)? }
        }
        _ => return Err(bad(&request_id, "Unsupported action")),
    };
    Ok(ActionRequest { request_id, action })
}

#[cfg(test)]
mod tests;
