//! The extensions of the `@connections` management API (`aws_models::apigatewaymanagementapi_ext`), signed for
//! `execute-api` and reached at the management API's endpoint (`https://host/{stage}`, `https://host` or
//! `https://host/@apis/{apiId}/{stage}`) plus `/@switchboard/ext/apigatewaymanagementapi/{Operation}`.

use std::sync::Arc;

use apigw::management::Call;
use aws_models::apigatewaymanagementapi_ext::Operation;
use http::Response;
use http::request::Parts;
use wire::ApiError;

use super::ExtensionCall;
use crate::http::Body;
use crate::state::AppState;

pub(super) async fn serve(
    state: &Arc<AppState>,
    parts: &Parts,
    call: ExtensionCall<'_>,
) -> Result<Response<Body>, ApiError> {
    let path = call.path;
    let Some(operation) = Operation::from_name(call.operation.name) else { return Err(ApiError::forbidden()) };
    match operation {
        Operation::CloseConnection => {
            let host = crate::http::management::request_host(parts);
            let close = Call::close(&state.apis, (path.api, path.stage), host, call.str("ConnectionId"), &call.body)?;
            crate::http::management::run(state, parts, &close, call.body).await
        }
    }
}
