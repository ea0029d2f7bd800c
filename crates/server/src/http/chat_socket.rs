//! IVS Chat messaging sockets: `GET /` with `Upgrade: websocket` and the chat token as the `Sec-WebSocket-Protocol`
//! (as on IVS's edge endpoint). The token is redeemed before the 101, which echoes it as the selected subprotocol;
//! the connection then joins its room and a chat session serves it.
//!
//! Refusals (the handshake table's `ChatToken*`, `RoomNotFound`, `TooManyConnections`, …) answer `{"message": …}`
//! with 400 (not a WebSocket version 13 handshake), 401 (no token, or a malformed, forged, expired, already used or
//! pre-restart token), 404 (the token's room does not exist), 429 (over the new connection rate, of the client's
//! address or in total; only handshakes whose token is genuine count) or 503 (shutting down).

use std::net::SocketAddr;
use std::sync::Arc;

use chat::Member;
use http::request::Parts;
use http::{HeaderValue, Response, header};
use hub::Connection;
use hub::session::{EndCause, SessionEnd};
use wire::Refusal;

use super::Body;
use super::socket::{Admitted, SocketKind, Ws, new_connection, refuse, take_connect_slot};
use crate::state::AppState;

/// A chat socket: its room membership until the session takes it (dropping it leaves the room).
pub(super) struct ChatSocket {
    member: Option<Box<Member>>,
}

/// The token: the first value of `Sec-WebSocket-Protocol` (clients send exactly one), `""` when there is none.
fn token(parts: &Parts) -> String {
    parts
        .headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').map(str::trim).find(|t| !t.is_empty()))
        .unwrap_or_default()
        .to_owned()
}

impl SocketKind for ChatSocket {
    const MAX_URL_LENGTH: Option<usize> = None;

    async fn admit(
        state: &Arc<AppState>,
        peer: SocketAddr,
        parts: &Parts,
        _request_id: &str,
    ) -> Result<Admitted<ChatSocket>, Response<Body>> {
        let token = token(parts);
        // The token's signature first, so that a flood of forged tokens spends no one's connection budget; the rate
        // before it is redeemed, so that a refused client keeps its token.
        state.chat.check_token(&token).map_err(refuse)?;
        take_connect_slot(state, peer).map_err(refuse)?;
        let ticket = state.chat.admit(&token).await.map_err(refuse)?;
        let conn = new_connection(state, peer, parts, ticket.scope());
        let member = state.chat.join(ticket, conn.clone()).map_err(refuse)?;
        let protocol = HeaderValue::from_str(&token).map_err(|_| refuse(Refusal::ChatTokenNotAHeader))?;
        let headers = vec![(header::SEC_WEBSOCKET_PROTOCOL, protocol)];
        Ok(Admitted { conn, headers, socket: ChatSocket { member: Some(Box::new(member)) } })
    }

    async fn serve(&mut self, ws: &mut Ws, _conn: &Arc<Connection>, state: &AppState) -> SessionEnd {
        match self.member.take() {
            Some(member) => chat::ChatService::serve(member, ws, &state.session).await,
            None => SessionEnd { code: 1006, reason: String::new(), cause: EndCause::Abnormal },
        }
    }
}
