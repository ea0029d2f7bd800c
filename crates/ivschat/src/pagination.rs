//! The ivschat listings' pagination tokens: [`store::PageTokens`] (opaque, tamper-evident, bound to the listing and
//! its filters), numbered per listing here.

use store::{Cursor, PageTokens};

pub(crate) use store::page_scope as scope;

/// Which listing a token belongs to; a token of one is refused by the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Listing {
    Rooms = 1,
    LoggingConfigurations = 2,
    /// ListRoomMessages (an extension); the cursor's `update_time_ms` holds the history `seq`.
    RoomMessages = 3,
    /// ListRoomPresence (an extension); the cursor's `id` holds the last user id.
    RoomPresence = 4,
}

/// Encodes and verifies the tokens of the ivschat listings.
pub(crate) struct TokenCodec {
    tokens: PageTokens,
}

impl TokenCodec {
    pub(crate) fn new(key: &[u8]) -> TokenCodec {
        TokenCodec { tokens: PageTokens::new(key) }
    }

    pub(crate) fn encode(&self, listing: Listing, scope: &[u8], cursor: &Cursor) -> String {
        self.tokens.encode(listing as u8, scope, cursor)
    }

    /// The cursor in `token`, or `None` if it was altered, forged, or made for another listing or filters.
    pub(crate) fn decode(&self, listing: Listing, scope: &[u8], token: &str) -> Option<Cursor> {
        self.tokens.decode(listing as u8, scope, token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bound_to_their_listing() {
        let codec = TokenCodec::new(b"key");
        let cursor = Cursor { update_time_ms: 1_704_067_200_123, id: "g1H2I3j4k5L6".to_owned() };
        let scope_a = scope(&[Some("lobby"), None, None]);
        let token = codec.encode(Listing::Rooms, &scope_a, &cursor);
        assert_eq!(codec.decode(Listing::Rooms, &scope_a, &token), Some(cursor));
        assert_eq!(codec.decode(Listing::LoggingConfigurations, &scope_a, &token), None);
    }
}
