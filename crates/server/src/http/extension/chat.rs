//! The extensions of the IVS Chat control plane (`aws_models::ivschat_ext`: room history, bans, purges, slow mode,
//! presence and presence events), signed for `ivschat` and reached at
//! `https://host/@switchboard/ext/ivschat/{Operation}`; the semantics are `ivschat::ControlPlane::handle_extension`'s.

use std::sync::Arc;

use http::Response;
use wire::ApiError;

use super::ExtensionCall;
use crate::http::{Body, reply_response};
use crate::state::AppState;

pub(super) async fn serve(state: &Arc<AppState>, call: ExtensionCall<'_>) -> Result<Response<Body>, ApiError> {
    let Some(operation) = ivschat::Extension::from_name(call.operation.name) else {
        return Err(super::unknown(call.path));
    };
    let reply = state.control.handle_extension(operation, &call.body).await?;
    Ok(reply_response(reply.status, reply.content_type(), reply.body))
}
