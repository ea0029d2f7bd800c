//! `websocket`: the bytes a client sends after the handshake, read by the server's WebSocket stack as it is
//! configured (`hub::session::websocket_config` with the default limits: 32 KiB frames, 128 KiB messages) and run
//! through the one session loop every socket has (`hub::session::run`), with an echo route as the inbound handler.
//! The session must end (the input's end is the connection's), with a close code it may send or report.

use std::cell::OnceCell;
use std::rc::Rc;
use std::sync::Arc;

use hub::session::{Inbound, SessionConfig, websocket_config};
use hub::{Connection, ConnectionInfo, Hub, HubConfig, Outbound, Scope, Utf8Bytes};
use time::OffsetDateTime;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::Role;

use crate::fixture::{block_on, once};
use crate::replay::Replay;

/// The server's defaults (`--max-message-bytes`, `--max-frame-bytes`): AWS's limits.
const MAX_MESSAGE_BYTES: usize = 128 * 1024;
const MAX_FRAME_BYTES: usize = 32 * 1024;

thread_local! {
    static HUB: OnceCell<Rc<Hub>> = const { OnceCell::new() };
}

/// Sends every text message back, as an echo route would.
struct Echo;

impl Inbound for Echo {
    async fn on_text(&mut self, conn: &Arc<Connection>, text: Utf8Bytes) {
        let _ = conn.send(Outbound::from(text.to_string()));
    }
}

pub fn websocket(data: &[u8]) {
    let Some((&first, frames)) = data.split_first() else { return };
    let hub = once(&HUB, || Hub::new(HubConfig::default()));
    let conn = hub.new_connection(ConnectionInfo {
        scope: Scope::Api { api_id: Arc::from("a"), stage: Arc::from("prod") },
        connected_at: OffsetDateTime::UNIX_EPOCH,
        source_ip: "192.0.2.1".to_owned(),
        user_agent: None,
    });
    let (replay, _) = Replay::new(frames.to_vec(), usize::from(first).max(1) * 64);
    let config = SessionConfig { max_outbound_frame: MAX_FRAME_BYTES, ..SessionConfig::default() };
    let end = block_on(async {
        // As the server reads a socket: through `LeanStream`, with its WebSocket settings.
        let mut ws = WebSocketStream::from_raw_socket(
            hub::LeanStream::new(replay),
            Role::Server,
            Some(websocket_config(MAX_MESSAGE_BYTES, MAX_FRAME_BYTES)),
        )
        .await;
        hub::session::run(&mut ws, conn.clone(), &config, &mut Echo).await
    });
    // The codes a session ends with: the client's own (any it may send), or one of the server's.
    assert!(matches!(end.code, 1000..=1003 | 1005..=1011 | 1012..=1014 | 3000..=4999), "session ended with {end:?}");
    assert!(!conn.is_open(), "the connection outlived its session");
}
