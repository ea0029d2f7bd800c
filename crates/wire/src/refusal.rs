//! The one table of WebSocket handshake refusals: the HTTP status and body of every handshake Switchboard refuses
//! itself, for both kinds of socket. (A `$connect` integration's own answer passes through as it answered; an
//! unknown stage is the API error `ForbiddenException`.)

use http::StatusCode;

/// How a refusal's body is spelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefusalStyle {
    /// `{"message":"…"}`, as Switchboard writes its own refusals.
    Compact,
    /// `{"message": "…"}`, byte for byte as API Gateway answers a failed or timed-out `$connect`.
    Gateway,
}

/// One refusal per line: `Variant => status, body style, message;`.
macro_rules! refusals {
    ($($variant:ident => $status:literal, $style:ident, $message:literal;)*) => {
        /// Why a WebSocket handshake is refused.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Refusal { $($variant,)* }

        impl Refusal {
            /// All refusals, in table order (used by the tests that pin every body).
            pub const ALL: &'static [Refusal] = &[$(Refusal::$variant,)*];

            /// The refusal's line of the table.
            fn row(self) -> (u16, RefusalStyle, &'static str) {
                match self { $(Refusal::$variant => ($status, RefusalStyle::$style, $message),)* }
            }
        }
    };
}

refusals! {
    // Both kinds of socket.
    ShuttingDown => 503, Compact, "Service Unavailable";
    NotWebSocket13 => 400, Compact, "Bad Request: Sec-WebSocket-Key and version 13 required";
    TooManyConnections => 429, Compact, "Too Many Requests";
    // The caps on live connections: all of them, and those of one client address.
    MaxConnections => 503, Compact, "Service Unavailable";
    MaxConnectionsPerAddress => 429, Compact, "Too Many Requests";
    // API sockets of a cluster node fenced off the cluster bus (its connections' ends cannot be recorded).
    Fenced => 503, Compact, "Service Unavailable";
    // API sockets (reference apigw.md §2): the URL limit, and `$connect` integrations that failed or timed out.
    UriTooLong => 414, Compact, "Request-URI Too Long";
    IntegrationFailed => 502, Gateway, "Internal server error";
    IntegrationTimedOut => 504, Gateway, "Endpoint request timed out";
    // REQUEST authorizers on `$connect` (reference apigw.md §3.5): no identity, or the authorizer said
    // `Unauthorized`; a policy that denies, or allows nothing that matches; an authorizer that failed or timed out.
    Unauthorized => 401, Gateway, "Unauthorized";
    AuthorizerDenied => 403, Gateway, "User is not authorized to access this resource with an explicit deny";
    AuthorizerNotAllowed => 403, Gateway, "User is not authorized to access this resource";
    AuthorizerFailed => 500, Gateway, "Internal server error";
    // A `$connect` route with `ApiKeyRequired` and no API key the server accepts.
    ApiKeyMissing => 403, Compact, "Forbidden";
    // Chat sockets: the chat token (the `Sec-WebSocket-Protocol` value) and its room.
    ChatTokenMissing => 401, Compact, "A chat token is required as the Sec-WebSocket-Protocol header";
    ChatTokenMalformed => 401, Compact, "The chat token is malformed";
    ChatTokenForged => 401, Compact, "The chat token is invalid";
    ChatTokenExpired => 401, Compact, "The chat token has expired";
    ChatTokenUsed => 401, Compact, "The chat token has already been used";
    ChatTokenNotAHeader => 401, Compact, "Unauthorized";
    // The token's single use cannot be recorded now (the store is unreachable): the client may retry.
    ChatTokenUncheckable => 503, Compact, "Service Unavailable";
    RoomNotFound => 404, Compact, "Room not found";
    // A user banned from the room (an extension: BanUser), until the ban ends.
    UserBanned => 403, Compact, "The user is banned from this room";
    Internal => 500, Compact, "Internal Server Error";
}

impl Refusal {
    /// The HTTP status.
    pub fn status(self) -> StatusCode {
        StatusCode::from_u16(self.row().0).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The text of the body's `message`.
    pub fn message(self) -> &'static str {
        self.row().2
    }

    /// How the body is spelled.
    pub fn style(self) -> RefusalStyle {
        self.row().1
    }

    /// The response body.
    pub fn body(self) -> String {
        let message = serde_json::Value::from(self.message());
        match self.style() {
            RefusalStyle::Compact => serde_json::json!({ "message": message }).to_string(),
            RefusalStyle::Gateway => format!(r#"{{"message": {message}}}"#),
        }
    }

    /// Response headers besides `Content-Type`: the WebSocket version this server speaks, for a client that sent
    /// another.
    pub fn headers(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Refusal::NotWebSocket13 => &[("sec-websocket-version", "13")],
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests;
