//! The Lambda API of the hosted functions over HTTP: restJson1 paths under `/2015-03-31/functions`, SigV4 service
//! `lambda`; the operations are `functions::api::LambdaApi`'s.

use std::net::IpAddr;
use std::sync::Arc;

use http::request::Parts;
use http::{HeaderName, HeaderValue, Response, StatusCode};
use hyper::body::Incoming;
use wire::ApiError;

use super::front::Service;
use super::{Body, BodyError, auth, counted, read_body};
use crate::state::AppState;

pub(super) async fn handle(state: &Arc<AppState>, peer: IpAddr, parts: &Parts, body: Incoming) -> Response<Body> {
    let operation = functions::api::operation(&parts.method, parts.uri.path()).map_or("Unknown", |op| op.name());
    counted(state, operation, serve(state, peer, parts, body).await)
}

async fn serve(state: &Arc<AppState>, peer: IpAddr, parts: &Parts, body: Incoming) -> Result<Response<Body>, ApiError> {
    let (body, unverified) = auth::check_head(state, peer, parts, body, Service::Lambda.scope_name())?;
    // One byte over the limit is enough for the API to refuse an oversize payload with Lambda's own error.
    let body = match read_body(body, functions::MAX_PAYLOAD_BYTES + 1).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => {
            return Err(functions::api::api_error(&functions::InvokeError::request_too_large()));
        }
        Err(BodyError::Unreadable) => {
            return Err(ApiError::new(wire::ErrorCode::InvalidRequestContent, "The request body could not be read")
                .with("Type", "User"));
        }
    };
    unverified.verify(&body)?;
    let reply = state.lambda.handle(&parts.method, parts.uri.path(), parts.uri.query(), &parts.headers, body).await?;
    let mut response = Response::new(Body::from(reply.body));
    *response.status_mut() = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    let headers = response.headers_mut();
    if let Some(content_type) = reply.content_type {
        headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    for (name, value) in reply.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    Ok(response)
}
