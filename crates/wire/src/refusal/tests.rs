//! Pins the status, body and headers of every handshake refusal in the table.

use super::*;

/// One line per refusal: the exact status and body a client receives.
#[test]
fn every_refusal_body_is_pinned() {
    let expected: &[(Refusal, u16, &str)] = &[
        (Refusal::ShuttingDown, 503, r#"{"message":"Service Unavailable"}"#),
        (Refusal::NotWebSocket13, 400, r#"{"message":"Bad Request: Sec-WebSocket-Key and version 13 required"}"#),
        (Refusal::TooManyConnections, 429, r#"{"message":"Too Many Requests"}"#),
        (Refusal::MaxConnections, 503, r#"{"message":"Service Unavailable"}"#),
        (Refusal::MaxConnectionsPerAddress, 429, r#"{"message":"Too Many Requests"}"#),
        (Refusal::Fenced, 503, r#"{"message":"Service Unavailable"}"#),
        (Refusal::UriTooLong, 414, r#"{"message":"Request-URI Too Long"}"#),
        (Refusal::IntegrationFailed, 502, r#"{"message": "Internal server error"}"#),
        (Refusal::IntegrationTimedOut, 504, r#"{"message": "Endpoint request timed out"}"#),
        (Refusal::Unauthorized, 401, r#"{"message": "Unauthorized"}"#),
        (
            Refusal::AuthorizerDenied,
            403,
            r#"{"message": "User is not authorized to access this resource with an explicit deny"}"#,
        ),
        (Refusal::AuthorizerNotAllowed, 403, r#"{"message": "User is not authorized to access this resource"}"#),
        (Refusal::AuthorizerFailed, 500, r#"{"message": "Internal server error"}"#),
        (Refusal::ApiKeyMissing, 403, r#"{"message":"Forbidden"}"#),
        (
            Refusal::ChatTokenMissing,
            401,
            r#"{"message":"A chat token is required as the Sec-WebSocket-Protocol header"}"#,
        ),
        (Refusal::ChatTokenMalformed, 401, r#"{"message":"The chat token is malformed"}"#),
        (Refusal::ChatTokenForged, 401, r#"{"message":"The chat token is invalid"}"#),
        (Refusal::ChatTokenExpired, 401, r#"{"message":"The chat token has expired"}"#),
        (Refusal::ChatTokenUsed, 401, r#"{"message":"The chat token has already been used"}"#),
        (Refusal::ChatTokenNotAHeader, 401, r#"{"message":"Unauthorized"}"#),
        (Refusal::ChatTokenUncheckable, 503, r#"{"message":"Service Unavailable"}"#),
        (Refusal::RoomNotFound, 404, r#"{"message":"Room not found"}"#),
        (Refusal::UserBanned, 403, r#"{"message":"The user is banned from this room"}"#),
        (Refusal::Internal, 500, r#"{"message":"Internal Server Error"}"#),
    ];
    assert_eq!(expected.len(), Refusal::ALL.len(), "every refusal in the table has a pinned body");
    for (refusal, status, body) in expected {
        assert_eq!(refusal.status().as_u16(), *status, "{refusal:?}");
        assert_eq!(refusal.body(), *body, "{refusal:?}");
    }
}

#[test]
fn only_a_wrong_version_names_the_right_one() {
    for refusal in Refusal::ALL {
        let expected: &[(&str, &str)] =
            if *refusal == Refusal::NotWebSocket13 { &[("sec-websocket-version", "13")] } else { &[] };
        assert_eq!(refusal.headers(), expected, "{refusal:?}");
    }
}
