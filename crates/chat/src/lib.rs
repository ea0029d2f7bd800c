//! Amazon IVS Chat messaging (being written): chat tokens, the chat WebSocket protocol, room fan-out, review and
//! logging. This first version only fixes the API the server wires.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use hub::Hub;
use ivschat::{
    ChatEvent, EffectError, IssuedToken, MessageDeletion, RoomEvents, TokenIssuer, TokenRequest, UserDisconnection,
};
use store::{Room, Store};

/// Settings of the messaging layer.
#[derive(Clone, Debug)]
pub struct ChatConfig {
    /// Where the token key lives.
    pub data_dir: PathBuf,
    pub region: String,
    pub account_id: String,
}

/// The live rooms of this node.
pub struct ChatService {
    #[allow(dead_code)]
    store: Arc<dyn Store>,
    #[allow(dead_code)]
    hub: Hub,
    #[allow(dead_code)]
    config: ChatConfig,
}

impl std::fmt::Debug for ChatService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatService").finish_non_exhaustive()
    }
}

impl ChatService {
    pub fn new(store: Arc<dyn Store>, hub: Hub, config: ChatConfig) -> std::io::Result<Arc<ChatService>> {
        Ok(Arc::new(ChatService { store, hub, config }))
    }
}

#[async_trait]
impl RoomEvents for ChatService {
    async fn send_event(&self, _room: &Room, _event: ChatEvent) -> Result<(), EffectError> {
        Ok(())
    }

    async fn delete_message(&self, _room: &Room, _deletion: MessageDeletion) -> Result<(), EffectError> {
        Ok(())
    }

    async fn disconnect_user(&self, _room: &Room, _disconnection: UserDisconnection) -> Result<(), EffectError> {
        Ok(())
    }

    async fn room_updated(&self, _room: &Room) {}

    async fn room_deleted(&self, _room: &Room) {}
}

#[async_trait]
impl TokenIssuer for ChatService {
    async fn issue(&self, _request: TokenRequest) -> Result<IssuedToken, EffectError> {
        Err(EffectError::Failed("chat tokens are not issued yet".to_owned()))
    }
}
