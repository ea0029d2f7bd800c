//! The front door's one decision: where a request goes, from its method, path and headers alone ([`classify`]).
//!
//! One listener serves every API, so each destination is recognised by something no other destination can send:
//!
//! - `/@switchboard/…` is reserved: stage names cannot contain `@` and no AWS API path starts with it.
//! - `{endpoint}/@switchboard/ext/{service}/{Operation}` is a Switchboard extension operation of `service`
//!   (operations AWS does not have, described by `models/switchboard/<service>-ext/`), where `{endpoint}` is the
//!   path of the endpoint a client of that service gives: nothing (`/@switchboard/ext/ivschat/…`), a stage
//!   (`/prod/@switchboard/ext/apigatewaymanagementapi/…`, as `--endpoint-url https://host/prod` makes it) or a
//!   defined API's stage (`/@apis/{apiId}/prod/@switchboard/ext/…`); see `aws_models::extension`.
//! - `/@connections/{id}` and `/{stage}/@connections/{id}` are the management API (any signature; it checks its own).
//! - `/@apis/{apiId}/{stage}/@connections/{id}` is the management API of an API defined through the control plane.
//! - A WebSocket upgrade is the chat socket at `/`, a defined API's socket at `/@apis/{apiId}/{stage}` (its
//!   `{ApiEndpoint}/{stage}`) and a configured API's socket at `/{stage}`.
//! - Anything else is a call to a SigV4 service, chosen by the service name of the request's credential scope
//!   (`Authorization` header or presigned `X-Amz-Credential`) in the registry [`Service::ALL`]. A request signed for
//!   `execute-api` that is not a management call is refused 403 `Forbidden`, as API Gateway refuses unknown paths.
//!   Unsigned requests and scopes naming no registered service go to [`Service::FALLBACK`], whose signature check
//!   answers them (`MissingAuthenticationTokenException`, or `InvalidSignatureException` for the wrong scope).

use apigw::management::Target;
pub(crate) use aws_models::extension::ExtensionPath;
use http::request::Parts;
use http::{HeaderName, header};

use super::RESERVED_PREFIX;

/// The SigV4 service name of API Gateway's `@connections` management API.
pub(crate) const EXECUTE_API: &str = "execute-api";

/// Where a request goes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Front<'a> {
    /// `/@switchboard/{rest}`: on this listener, only the health status (the admin listener serves the rest).
    Reserved(&'a str),
    /// `{endpoint}/@switchboard/ext/{service}/{Operation}`: a Switchboard extension operation.
    Extension(ExtensionPath<'a>),
    /// The `@connections` management API.
    Management(Target<'a>),
    /// `GET /` with `Upgrade: websocket`: an IVS Chat messaging socket.
    ChatSocket,
    /// `GET /{stage}` with `Upgrade: websocket`: an API Gateway WebSocket API socket.
    ApiSocket,
    /// `GET /@apis/{apiId}/{stage}` with `Upgrade: websocket`: the socket of an API defined through the control
    /// plane (its `{ApiEndpoint}/{stage}`).
    ApiEndpointSocket { api_id: &'a str, stage: &'a str },
    /// A call to a SigV4 service's HTTP API.
    Service(Service),
    /// Signed for `execute-api` but not a management call: API Gateway's 403 `Forbidden`.
    Forbidden,
}

impl Front<'_> {
    /// Names the destination in logs (the `destination` of a request's span).
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Front::Reserved(_) => "reserved",
            Front::Extension(_) => "extension",
            Front::Management(_) => "management",
            Front::ChatSocket => "chat_socket",
            Front::ApiSocket | Front::ApiEndpointSocket { .. } => "api_socket",
            Front::Service(service) => service.scope_name(),
            Front::Forbidden => "forbidden",
        }
    }
}

/// A SigV4 service with an HTTP API on this listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Service {
    /// The Amazon IVS Chat control plane.
    IvsChat,
    /// The API Gateway V2 (`apigatewayv2`) control plane, signed for `apigateway`.
    ApiGateway,
    /// The Lambda API (Invoke, GetFunction, ListFunctions) of the hosted functions, signed for `lambda`.
    Lambda,
}

impl Service {
    /// The registry: every service, found by its credential scope name. A new service is a variant here, its entry
    /// in this list and its arm in the front door's dispatch.
    pub(crate) const ALL: &'static [Service] = &[Service::IvsChat, Service::ApiGateway, Service::Lambda];

    /// Where unsigned requests and unknown scopes go, so that their signature check refuses them as it always has.
    pub(crate) const FALLBACK: Service = Service::IvsChat;

    /// The service name of the credential scope requests to it are signed for.
    pub(crate) fn scope_name(self) -> &'static str {
        match self {
            Service::IvsChat => "ivschat",
            Service::ApiGateway => "apigateway",
            Service::Lambda => "lambda",
        }
    }

    fn by_scope_name(name: &str) -> Option<Service> {
        Service::ALL.iter().copied().find(|service| service.scope_name() == name)
    }
}

/// Where a request goes.
pub(crate) fn classify(parts: &Parts) -> Front<'_> {
    let path = parts.uri.path();
    if let Some(extension) = ExtensionPath::parse(path) {
        return Front::Extension(extension);
    }
    if let Some(rest) = path.strip_prefix(RESERVED_PREFIX) {
        return Front::Reserved(rest);
    }
    if let Some(target) = Target::parse(path) {
        return Front::Management(target);
    }
    if is_upgrade(parts) {
        if let Some((api_id, stage)) = apigw::deployed::endpoint_path(path) {
            return Front::ApiEndpointSocket { api_id, stage };
        }
        return if path == "/" { Front::ChatSocket } else { Front::ApiSocket };
    }
    match credential_service(&parts.headers, parts.uri.query()) {
        Some(EXECUTE_API) => Front::Forbidden,
        scope => Front::Service(scope.and_then(Service::by_scope_name).unwrap_or(Service::FALLBACK)),
    }
}

/// A WebSocket handshake: `GET` with `Upgrade: websocket` and `Connection: upgrade` (tokens in any case).
fn is_upgrade(parts: &Parts) -> bool {
    let has_token = |name: HeaderName, token: &str| {
        parts
            .headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    };
    parts.method == http::Method::GET
        && has_token(header::UPGRADE, "websocket")
        && has_token(header::CONNECTION, "upgrade")
}

/// The service named in a request's credential scope (`Authorization` header or presigned `X-Amz-Credential`),
/// without verifying anything: used only to pick which API answers.
fn credential_service<'a>(headers: &'a http::HeaderMap, query: Option<&'a str>) -> Option<&'a str> {
    let scope = match headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        Some(auth) => auth.split("Credential=").nth(1)?.split([',', ' ']).next()?,
        None => query?.split('&').find_map(|pair| pair.strip_prefix("X-Amz-Credential="))?,
    };
    // AKID/date/region/service/aws4_request, possibly percent-encoded in a query.
    let mut parts = scope.split("/").flat_map(|p| p.split("%2F"));
    parts.nth(3)
}

#[cfg(test)]
mod tests;
