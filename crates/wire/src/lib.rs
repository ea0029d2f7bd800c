//! AWS-compatible wire shapes: the one error table, the table of handshake refusals, JSON bodies and timestamp
//! formats.
//!
//! This crate is the only place where the JSON that crosses the network is defined. It does no IO and reads
//! no clock: callers pass times in.

pub mod apigw;
mod error;
pub mod ivschat;
mod refusal;
pub mod timefmt;

pub use error::{ApiError, BodyStyle, ErrorCode};
pub use refusal::{Refusal, RefusalStyle};
