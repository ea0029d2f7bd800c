//! The records a [`crate::Store`] keeps, and the inputs and filters its methods take.

use std::collections::BTreeMap;
use std::fmt;

use time::OffsetDateTime;

/// Tags of one resource, key → value (sorted by key).
pub type Tags = BTreeMap<String, String>;

/// Which kind of resource an id names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKind {
    Room,
    LoggingConfiguration,
}

impl ResourceKind {
    /// The ARN resource-type segment: `room` or `logging-configuration`.
    pub fn arn_segment(self) -> &'static str {
        match self {
            ResourceKind::Room => "room",
            ResourceKind::LoggingConfiguration => "logging-configuration",
        }
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.arn_segment())
    }
}

/// A resource by kind and id: what tags hang off.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ResourceRef {
    pub kind: ResourceKind,
    pub id: String,
}

impl ResourceRef {
    pub fn room(id: impl Into<String>) -> ResourceRef {
        ResourceRef { kind: ResourceKind::Room, id: id.into() }
    }

    pub fn logging_configuration(id: impl Into<String>) -> ResourceRef {
        ResourceRef { kind: ResourceKind::LoggingConfiguration, id: id.into() }
    }
}

impl fmt::Display for ResourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.id)
    }
}

/// What a room does when its review handler fails or times out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FallbackResult {
    #[default]
    Allow,
    Deny,
}

impl FallbackResult {
    pub fn as_str(self) -> &'static str {
        match self {
            FallbackResult::Allow => "ALLOW",
            FallbackResult::Deny => "DENY",
        }
    }

    pub fn parse(s: &str) -> Option<FallbackResult> {
        match s {
            "ALLOW" => Some(FallbackResult::Allow),
            "DENY" => Some(FallbackResult::Deny),
            _ => None,
        }
    }
}

/// A room's message review handler; a room without one has `None`, never an empty `uri`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageReviewHandler {
    pub uri: String,
    pub fallback_result: FallbackResult,
}

/// A chat room as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Room {
    pub id: String,
    /// Empty when the room has no name.
    pub name: String,
    pub create_time: OffsetDateTime,
    pub update_time: OffsetDateTime,
    pub maximum_message_rate_per_second: u32,
    pub maximum_message_length: u32,
    pub message_review_handler: Option<MessageReviewHandler>,
    /// Ids (not ARNs) of attached logging configurations, in the order given.
    pub logging_configuration_ids: Vec<String>,
    pub tags: Tags,
    /// What the room retains (an extension; [`crate::History::OFF`] unless set by
    /// [`crate::HistoryStore::set_room_history`]).
    pub history: crate::History,
    /// At most one message per user per this many seconds (an extension; 0, the default: no slow mode), set by
    /// [`crate::ModerationStore::set_slow_mode`].
    pub slow_mode_seconds: u32,
    /// Whether the room sends `switchboard:join` / `switchboard:leave` events to its members (an extension; off by
    /// default), set by [`crate::ModerationStore::set_presence_events`].
    pub presence_events: bool,
}

/// Input of [`crate::Store::create_room`]; `create_time` is also the first `update_time`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRoom {
    pub id: String,
    pub name: String,
    pub create_time: OffsetDateTime,
    pub maximum_message_rate_per_second: u32,
    pub maximum_message_length: u32,
    pub message_review_handler: Option<MessageReviewHandler>,
    pub logging_configuration_ids: Vec<String>,
    pub tags: Tags,
}

/// A change to a review handler, merged with the current one inside the store's transaction.
///
/// A missing `uri` keeps the current one; an empty resulting `uri` removes the handler. A missing
/// `fallback_result` keeps the current one (or `ALLOW` when there was no handler).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HandlerPatch {
    pub uri: Option<String>,
    pub fallback_result: Option<FallbackResult>,
}

impl HandlerPatch {
    /// The handler after applying this patch to `current`; `None` when the resulting `uri` is empty.
    pub fn apply(self, current: Option<&MessageReviewHandler>) -> Option<MessageReviewHandler> {
        let uri = self.uri.or_else(|| current.map(|h| h.uri.clone())).unwrap_or_default();
        let fallback_result =
            self.fallback_result.or_else(|| current.map(|h| h.fallback_result)).unwrap_or(FallbackResult::Allow);
        (!uri.is_empty()).then_some(MessageReviewHandler { uri, fallback_result })
    }
}

/// Input of [`crate::Store::update_room`]: `None` members are left unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomPatch {
    pub update_time: OffsetDateTime,
    pub name: Option<String>,
    pub maximum_message_rate_per_second: Option<u32>,
    pub maximum_message_length: Option<u32>,
    pub message_review_handler: Option<HandlerPatch>,
    /// Replaces the whole list when present.
    pub logging_configuration_ids: Option<Vec<String>>,
}

impl RoomPatch {
    /// A patch that changes nothing but `update_time`.
    pub fn at(update_time: OffsetDateTime) -> RoomPatch {
        RoomPatch {
            update_time,
            name: None,
            maximum_message_rate_per_second: None,
            maximum_message_length: None,
            message_review_handler: None,
            logging_configuration_ids: None,
        }
    }
}

/// Filters of ListRooms; each present member must match exactly.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoomFilter {
    pub name: Option<String>,
    pub message_review_handler_uri: Option<String>,
    pub logging_configuration_id: Option<String>,
}

/// Where a logging configuration sends chat logs: exactly one destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    S3 { bucket_name: String },
    CloudWatchLogs { log_group_name: String },
    Firehose { delivery_stream_name: String },
}

/// The model's LoggingConfigurationState; this implementation only ever stores `Active`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LoggingConfigurationState {
    Creating,
    CreateFailed,
    Deleting,
    DeleteFailed,
    Updating,
    UpdateFailed,
    #[default]
    Active,
}

impl LoggingConfigurationState {
    pub fn as_str(self) -> &'static str {
        match self {
            LoggingConfigurationState::Creating => "CREATING",
            LoggingConfigurationState::CreateFailed => "CREATE_FAILED",
            LoggingConfigurationState::Deleting => "DELETING",
            LoggingConfigurationState::DeleteFailed => "DELETE_FAILED",
            LoggingConfigurationState::Updating => "UPDATING",
            LoggingConfigurationState::UpdateFailed => "UPDATE_FAILED",
            LoggingConfigurationState::Active => "ACTIVE",
        }
    }

    pub fn parse(s: &str) -> Option<LoggingConfigurationState> {
        Some(match s {
            "CREATING" => LoggingConfigurationState::Creating,
            "CREATE_FAILED" => LoggingConfigurationState::CreateFailed,
            "DELETING" => LoggingConfigurationState::Deleting,
            "DELETE_FAILED" => LoggingConfigurationState::DeleteFailed,
            "UPDATING" => LoggingConfigurationState::Updating,
            "UPDATE_FAILED" => LoggingConfigurationState::UpdateFailed,
            "ACTIVE" => LoggingConfigurationState::Active,
            _ => return None,
        })
    }
}

/// A logging configuration as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggingConfiguration {
    pub id: String,
    /// Empty when it has no name.
    pub name: String,
    pub create_time: OffsetDateTime,
    pub update_time: OffsetDateTime,
    pub destination: Destination,
    pub state: LoggingConfigurationState,
    pub tags: Tags,
}

/// Input of [`crate::Store::create_logging_configuration`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewLoggingConfiguration {
    pub id: String,
    pub name: String,
    pub create_time: OffsetDateTime,
    pub destination: Destination,
    pub tags: Tags,
}

/// Input of [`crate::Store::update_logging_configuration`]: `None` members are left unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggingConfigurationPatch {
    pub update_time: OffsetDateTime,
    pub name: Option<String>,
    pub destination: Option<Destination>,
}

/// Where a listing resumes: the sort key of the last row already returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// `update_time` of that row, in milliseconds since the Unix epoch.
    pub update_time_ms: i64,
    pub id: String,
}

/// One page of a listing; `next` is set when more rows follow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

impl<T> Page<T> {
    /// A page of at most `limit` rows from `items`, which the query fetched with `limit + 1` rows: when the extra
    /// row came, it is dropped and `next` resumes after the page's last row (`key` gives a row's cursor).
    pub(crate) fn of(mut items: Vec<T>, limit: usize, key: impl Fn(&T) -> Cursor) -> Page<T> {
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(key)
        } else {
            None
        };
        Page { items, next }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_resumes_after_its_last_row_only_when_more_follow() {
        let key = |n: &i64| Cursor { update_time_ms: *n, id: n.to_string() };
        let page = Page::of(vec![1, 2, 3], 2, key);
        assert_eq!(page, Page { items: vec![1, 2], next: Some(Cursor { update_time_ms: 2, id: "2".into() }) });
        assert_eq!(Page::of(vec![1, 2], 2, key), Page { items: vec![1, 2], next: None });
        assert_eq!(Page::of(Vec::new(), 2, key), Page { items: Vec::new(), next: None });
    }
}
