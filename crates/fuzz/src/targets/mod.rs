//! The targets, grouped by the crate whose parser they drive.

mod chat;
mod cli;
mod control;
mod management;
mod mapping;
mod selection;
mod sigv4;
mod template;
mod websocket;

pub use chat::{chat_frame, chat_token};
pub use cli::{cli_shorthand, cli_yaml};
pub use control::{apigatewayv2_control, ivschat_control};
pub use management::management_path;
pub use mapping::mapping;
pub use selection::selection;
pub use sigv4::sigv4;
pub use template::template;
pub use websocket::websocket;
