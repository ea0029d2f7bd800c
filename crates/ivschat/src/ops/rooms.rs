//! CreateRoom, GetRoom, UpdateRoom, DeleteRoom and ListRooms.

use aws_models::ivschat::shapes as model;
use serde_json::{Map, Value};
use store::{FallbackResult, HandlerPatch, MessageReviewHandler, NewRoom, ResourceKind, RoomFilter, RoomPatch};
use wire::ApiError;

use super::{ID_ATTEMPTS, id_taken};
use crate::operation::Operation;
use crate::pagination::{self, Listing};
use crate::validate::{
    FALLBACK_RESULTS, LAMBDA_ARN_RULE, LC_IDENTIFIER_RULE, MAX_ROOM_LOGGING_CONFIGURATIONS, Object, PAGINATION_TOKEN,
    ROOM_IDENTIFIER_RULE, ROOM_NAME, Reader,
};
use crate::{ControlPlane, errors, shapes};

/// Room defaults (model docs): 10 messages per second, 500 code points.
const DEFAULT_RATE: u32 = 10;
const DEFAULT_LENGTH: u32 = 500;
const DEFAULT_PAGE: usize = 50;

fn read_handler(r: &mut Reader, input: &mut Object) -> Option<HandlerPatch> {
    let mut h = r.object(input, "messageReviewHandler", false)?;
    let uri = r.string(&mut h, "uri", false, LAMBDA_ARN_RULE);
    let fallback_result =
        r.enumeration(&mut h, "fallbackResult", false, FALLBACK_RESULTS).and_then(|s| FallbackResult::parse(&s));
    r.end(h);
    Some(HandlerPatch { uri, fallback_result })
}

fn read_logging_identifiers(r: &mut Reader, input: &mut Object) -> Option<Vec<String>> {
    r.string_list(
        input,
        "loggingConfigurationIdentifiers",
        false,
        Some(MAX_ROOM_LOGGING_CONFIGURATIONS),
        LC_IDENTIFIER_RULE,
    )
}

fn as_u32(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

impl ControlPlane {
    pub(crate) async fn create_room(&self, mut input: Object) -> Result<Value, ApiError> {
        let mut r = self.reader();
        let name = r.string(&mut input, "name", false, ROOM_NAME);
        let rate =
            r.integer(&mut input, "maximumMessageRatePerSecond", false, &model::ROOM_MAX_MESSAGE_RATE_PER_SECOND);
        let length = r.integer(&mut input, "maximumMessageLength", false, &model::ROOM_MAX_MESSAGE_LENGTH);
        let handler = read_handler(&mut r, &mut input);
        let tags = r.tags(&mut input, false);
        let logging = read_logging_identifiers(&mut r, &mut input);
        r.end(input);
        r.finish()?;
        self.admit(Operation::CreateRoom, None)?;

        let logging_configuration_ids = self.logging_ids(logging.unwrap_or_default())?;
        let message_review_handler = handler.and_then(|h| match h.uri {
            Some(uri) if !uri.is_empty() => {
                Some(MessageReviewHandler { uri, fallback_result: h.fallback_result.unwrap_or_default() })
            }
            _ => None,
        });
        let now = self.now();
        for attempt in 0..ID_ATTEMPTS {
            let room = NewRoom {
                id: ids::resource_id(),
                name: name.clone().unwrap_or_default(),
                create_time: now,
                maximum_message_rate_per_second: rate.map_or(DEFAULT_RATE, as_u32),
                maximum_message_length: length.map_or(DEFAULT_LENGTH, as_u32),
                message_review_handler: message_review_handler.clone(),
                logging_configuration_ids: logging_configuration_ids.clone(),
                tags: tags.clone().unwrap_or_default(),
            };
            let result = self.store.create_room(room, self.config.quotas.max_rooms).await;
            if id_taken(&result, attempt) {
                continue;
            }
            let room = result.map_err(|e| self.store_error(e))?;
            return Ok(shapes::room(&self.config, &room));
        }
        Err(errors::internal(&"no free room id"))
    }

    pub(crate) async fn get_room(&self, mut input: Object) -> Result<Value, ApiError> {
        let mut r = self.reader();
        let identifier = r.string(&mut input, "identifier", true, ROOM_IDENTIFIER_RULE);
        r.end(input);
        r.finish()?;
        let identifier = identifier.unwrap_or_default();
        let id = self.resolve(&identifier, ResourceKind::Room)?;
        self.admit(Operation::GetRoom, Some(&id))?;
        let room = self.store.get_room(&id).await.map_err(|e| self.store_error(e))?;
        Ok(shapes::room(&self.config, &room))
    }

    pub(crate) async fn update_room(&self, mut input: Object) -> Result<Value, ApiError> {
        let mut r = self.reader();
        let identifier = r.string(&mut input, "identifier", true, ROOM_IDENTIFIER_RULE);
        let name = r.string(&mut input, "name", false, ROOM_NAME);
        let rate =
            r.integer(&mut input, "maximumMessageRatePerSecond", false, &model::ROOM_MAX_MESSAGE_RATE_PER_SECOND);
        let length = r.integer(&mut input, "maximumMessageLength", false, &model::ROOM_MAX_MESSAGE_LENGTH);
        let handler = read_handler(&mut r, &mut input);
        let logging = read_logging_identifiers(&mut r, &mut input);
        r.end(input);
        r.finish()?;
        let id = self.resolve(&identifier.unwrap_or_default(), ResourceKind::Room)?;
        self.admit(Operation::UpdateRoom, Some(&id))?;

        let patch = RoomPatch {
            update_time: self.now(),
            name,
            maximum_message_rate_per_second: rate.map(as_u32),
            maximum_message_length: length.map(as_u32),
            message_review_handler: handler,
            logging_configuration_ids: logging.map(|l| self.logging_ids(l)).transpose()?,
        };
        let room = self.store.update_room(&id, patch).await.map_err(|e| self.store_error(e))?;
        self.events.room_updated(&room).await;
        Ok(shapes::room(&self.config, &room))
    }

    pub(crate) async fn delete_room(&self, mut input: Object) -> Result<(), ApiError> {
        let mut r = self.reader();
        let identifier = r.string(&mut input, "identifier", true, ROOM_IDENTIFIER_RULE);
        r.end(input);
        r.finish()?;
        let id = self.resolve(&identifier.unwrap_or_default(), ResourceKind::Room)?;
        self.admit(Operation::DeleteRoom, Some(&id))?;
        let room = self.store.delete_room(&id).await.map_err(|e| self.store_error(e))?;
        self.events.room_deleted(&room).await;
        Ok(())
    }

    pub(crate) async fn list_rooms(&self, mut input: Object) -> Result<Value, ApiError> {
        let mut r = self.reader();
        let name = r.string(&mut input, "name", false, ROOM_NAME);
        let next_token = r.string(&mut input, "nextToken", false, PAGINATION_TOKEN);
        let max_results = r.integer(&mut input, "maxResults", false, &model::MAX_ROOM_RESULTS);
        let uri = r.string(&mut input, "messageReviewHandlerUri", false, LAMBDA_ARN_RULE);
        let logging = r.string(&mut input, "loggingConfigurationIdentifier", false, LC_IDENTIFIER_RULE);
        r.end(input);
        r.finish()?;
        self.admit(Operation::ListRooms, None)?;

        // An empty filter value filters nothing.
        let logging_id = match logging {
            Some(identifier) => {
                let id = self.resolve(&identifier, ResourceKind::LoggingConfiguration)?;
                self.store.get_logging_configuration(&id).await.map_err(|e| self.store_error(e))?;
                Some(id)
            }
            None => None,
        };
        let filter = RoomFilter {
            name: name.filter(|s| !s.is_empty()),
            message_review_handler_uri: uri.filter(|s| !s.is_empty()),
            logging_configuration_id: logging_id,
        };
        let scope = pagination::scope(&[
            filter.name.as_deref(),
            filter.message_review_handler_uri.as_deref(),
            filter.logging_configuration_id.as_deref(),
        ]);
        let after = self.decode_token(Listing::Rooms, &scope, next_token)?;
        let limit = max_results.map_or(DEFAULT_PAGE, |n| usize::try_from(n).unwrap_or(DEFAULT_PAGE));
        let page = self.store.list_rooms(&filter, after.as_ref(), limit).await.map_err(|e| self.store_error(e))?;

        let mut out = Map::new();
        out.insert("rooms".into(), page.items.iter().map(|room| shapes::room_summary(&self.config, room)).collect());
        if let Some(next) = &page.next {
            out.insert("nextToken".into(), self.pages.encode(Listing::Rooms, &scope, next).into());
        }
        Ok(Value::Object(out))
    }

    /// The cursor in a `nextToken` (absent or empty: the first page).
    pub(crate) fn decode_token(
        &self,
        listing: Listing,
        scope: &[u8],
        token: Option<String>,
    ) -> Result<Option<store::Cursor>, ApiError> {
        match token.filter(|t| !t.is_empty()) {
            None => Ok(None),
            Some(token) => match self.pages.decode(listing, scope, &token) {
                Some(cursor) => Ok(Some(cursor)),
                None => Err(errors::field(
                    "nextToken",
                    "Member must be a nextToken returned by a previous call with the same filters",
                )),
            },
        }
    }
}
