//! The `@connections` management API (reference apigw.md §1): PostToConnection, GetConnection and DeleteConnection
//! at `/{stage}/@connections/{id}`, `/@connections/{id}` and, for APIs defined through the control plane,
//! `/@apis/{apiId}/{stage}/@connections/{id}`, as plain calls on the hub.
//!
//! The server reads and verifies the request, then calls [`Call::parse`] and [`apply`] (on the node that holds the
//! connection; cluster forwarding runs [`apply`] on the owner node and carries its [`Reply`] back unchanged).

use std::borrow::Cow;

use bytes::Bytes;
use http::Method;
use hub::{CloseRequest, ConnectionId, Hub, Outbound, SendError};
use percent_encoding::percent_decode_str;
use serde::{Deserialize, Serialize};
use wire::apigw::{GetConnectionOutput, Identity};
use wire::{ApiError, ErrorCode, timefmt};

use crate::ApiSet;

/// A management operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    Post,
    Get,
    Delete,
    /// Switchboard's CloseConnection extension: DeleteConnection with the close code and reason of its body
    /// ([`CloseInput`]).
    Close,
    /// Switchboard's UpdateConnection extension: groups and metadata ([`ext`]).
    Update,
}

impl Op {
    /// The operation a method names, if any.
    pub fn of(method: &Method) -> Option<Op> {
        match *method {
            Method::POST => Some(Op::Post),
            Method::GET => Some(Op::Get),
            Method::DELETE => Some(Op::Delete),
            _ => None,
        }
    }

    /// The AWS operation name.
    pub fn name(self) -> &'static str {
        match self {
            Op::Post => "PostToConnection",
            Op::Get => "GetConnection",
            Op::Delete => "DeleteConnection",
            Op::Close => "CloseConnection",
            Op::Update => "UpdateConnection",
        }
    }
}

/// What a management operation answers, as the owner computed it: the status and JSON body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    pub status: u16,
    pub json: Option<String>,
}

/// A parsed management path.
#[derive(Debug, PartialEq, Eq)]
pub struct Target<'a> {
    /// `Some` for `/@apis/{apiId}/{stage}/@connections/{id}`: only that API's connections are reachable.
    pub api: Option<&'a str>,
    /// `None` for `/@connections/{id}` (no stage, as LocalStack and serverless-offline users configure it).
    pub stage: Option<&'a str>,
    /// The raw (still percent-encoded) connection id segment.
    pub raw_id: &'a str,
}

impl<'a> Target<'a> {
    /// Recognises `/@connections/{id}`, `/{stage}/@connections/{id}` and
    /// `/@apis/{apiId}/{stage}/@connections/{id}`, with `@` also as `%40`.
    pub fn parse(path: &'a str) -> Option<Target<'a>> {
        if let Some(rest) = path.strip_prefix(crate::deployed::APIS_PREFIX) {
            let (api, rest) = rest.split_once('/')?;
            let (stage, rest) = rest.split_once('/')?;
            let raw_id = split_marker(rest)?;
            return (!api.is_empty() && !stage.is_empty()).then_some(Target {
                api: Some(api),
                stage: Some(stage),
                raw_id,
            });
        }
        let rest = path.strip_prefix('/')?;
        let (stage, rest) = match split_marker(rest) {
            Some(after) => (None, after),
            None => {
                let (stage, after_stage) = rest.split_once('/')?;
                (Some(stage), split_marker(after_stage)?)
            }
        };
        Some(Target { api: None, stage, raw_id: rest })
    }
}

/// `@connections/…` → `…`.
fn split_marker(s: &str) -> Option<&str> {
    let (first, rest) = s.split_once('/')?;
    let decoded = percent_decode_str(first).decode_utf8().ok()?;
    (decoded == "@connections").then_some(rest)
}

/// A verified management request, ready to run on the node that holds its connection.
#[derive(Debug, PartialEq, Eq)]
pub struct Call<'a> {
    pub op: Op,
    pub id: ConnectionId,
    /// The API reached: that of an `/@apis/{apiId}/…` path, or the configured API the stage and `Host` choose.
    pub api: Option<&'a str>,
    /// The stage of the request path, if it had one.
    pub stage: Option<&'a str>,
}

impl<'a> Call<'a> {
    /// Checks a request whose signature was verified: a known method (else 403), a known stage of the configured
    /// APIs (else 403; the caller checks the stage of an `/@apis/{apiId}/…` path) and a well-formed connection id
    /// (else 400).
    ///
    /// The API reached is chosen as an upgrade chooses it: at `/{stage}/@connections/…`, the API of that stage whose
    /// id is the first label of `host` (`{apiId}.execute-api.…`), else the first declared with the stage; at
    /// `/@connections/…`, the API `host` names, if any (else connections of every API are reachable).
    pub fn parse(
        apis: &'a ApiSet,
        method: &Method,
        target: &Target<'a>,
        host: Option<&str>,
    ) -> Result<Call<'a>, ApiError> {
        let op = Op::of(method).ok_or_else(ApiError::forbidden)?;
        let api = reached(apis, target.api, target.stage, host)?;
        let id_text: Cow<'_, str> = percent_decode_str(target.raw_id).decode_utf8_lossy();
        Ok(Call { op, id: parse_id(&id_text)?, api, stage: target.stage })
    }
}

impl<'a> Call<'a> {
    /// Checks a verified CloseConnection extension call (its body's members checked against the model already):
    /// the API reached as [`Call::parse`] chooses it, the close code and reason ([`CloseInput::read`]) and the
    /// connection id.
    pub fn close(
        apis: &'a ApiSet,
        (api, stage): (Option<&'a str>, Option<&'a str>),
        host: Option<&str>,
        connection_id: &str,
        body: &[u8],
    ) -> Result<Call<'a>, ApiError> {
        let api = reached(apis, api, stage, host)?;
        // Checked here, so that a bad code or reason is refused before a call goes to another node.
        CloseInput::read(body)?;
        Ok(Call { op: Op::Close, id: parse_id(connection_id)?, api, stage })
    }
}

/// A connection id as a caller gave it: well-formed, or 400 `BadRequestException`.
pub fn parse_id(text: &str) -> Result<ConnectionId, ApiError> {
    ConnectionId::parse(text)
        .ok_or_else(|| ApiError::new(ErrorCode::BadRequest, format!("Invalid connectionId: {text}")))
}

/// The API a management call reaches, chosen as an upgrade chooses it: that of an `/@apis/{apiId}/…` path (whose
/// stage is checked by whoever serves that API); at `/{stage}/…`, the configured API of that stage whose id is the
/// first label of `host`, else the first declared with the stage (403 when none has it, as API Gateway answers an
/// unknown stage); at `/@connections/…`, the API `host` names, if any (else connections of every API are reachable).
pub fn reached<'a>(
    apis: &'a ApiSet,
    api: Option<&'a str>,
    stage: Option<&'a str>,
    host: Option<&str>,
) -> Result<Option<&'a str>, ApiError> {
    match (api, stage) {
        (Some(api), _) => Ok(Some(api)),
        (None, Some(stage)) => apis.resolve_id(stage, host).map(Some).ok_or_else(ApiError::forbidden),
        (None, None) => Ok(apis.named_by_host(host)),
    }
}

/// The body of CloseConnection (the extension model's `CloseConnectionRequest`) as the connection's node reads it:
/// the close code and reason its client receives.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CloseInput {
    pub close_code: Option<u16>,
    pub close_reason: Option<String>,
}

/// The longest close reason: a close frame's payload is at most 125 bytes, two of them the code (RFC 6455 §5.5).
pub const MAX_CLOSE_REASON_BYTES: usize = 123;

impl CloseInput {
    /// The body read as a CloseConnection input, code and reason checked: a code RFC 6455 lets a server send
    /// (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1011, §7.4.1) or a registered or private one (3000–4999, §7.4.2),
    /// and a reason of at most [`MAX_CLOSE_REASON_BYTES`] bytes.
    pub fn read(body: &[u8]) -> Result<CloseInput, ApiError> {
        let input: CloseInput = serde_json::from_slice(body)
            .map_err(|e| ApiError::new(ErrorCode::BadRequest, format!("Invalid CloseConnection request: {e}")))?;
        if let Some(code) = input.close_code
            && !matches!(code, 1000..=1003 | 1007..=1009 | 1011 | 3000..=4999)
        {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                format!(
                    "Invalid CloseCode: {code}; a server may send 1000-1003, 1007-1009, 1011 (RFC 6455) or 3000-4999"
                ),
            ));
        }
        if input.close_reason.as_ref().is_some_and(|r| r.len() > MAX_CLOSE_REASON_BYTES) {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                format!("Invalid CloseReason: longer than {MAX_CLOSE_REASON_BYTES} bytes of UTF-8"),
            ));
        }
        Ok(input)
    }

    /// The close the connection's client receives: the caller's code and reason, DeleteConnection's where absent.
    fn request(self) -> CloseRequest {
        let default = CloseRequest::deleted();
        let reason = match self.close_reason {
            Some(reason) => Cow::Owned(reason),
            None if self.close_code.is_none_or(|code| code == default.code) => default.reason,
            None => Cow::Borrowed(""),
        };
        CloseRequest { code: self.close_code.unwrap_or(default.code), reason, cause: default.cause }
    }
}

/// Runs a management operation on a connection of this hub (called for local requests and for requests other
/// nodes forward); `stage` is the stage of the request path, if it had one.
pub fn apply(hub: &Hub, op: Op, id: ConnectionId, stage: Option<&str>, body: Bytes) -> Result<Reply, ApiError> {
    apply_within(hub, op, id, None, stage, body)
}

/// [`apply`], reaching only connections of `api` when it is given (an `/@apis/{apiId}/…` path).
pub fn apply_within(
    hub: &Hub,
    op: Op,
    id: ConnectionId,
    api: Option<&str>,
    stage: Option<&str>,
    body: Bytes,
) -> Result<Reply, ApiError> {
    // A chat connection is not an API Gateway connection, nor is another API's or stage's.
    let conn = hub.get(id).filter(|conn| ext::reachable(conn, api, stage)).ok_or_else(ApiError::gone)?;

    match op {
        Op::Post => match conn.send(Outbound::from_bytes(body)) {
            Ok(()) => {
                conn.touch();
                Ok(Reply { status: 200, json: None })
            }
            Err(SendError::Full) => {
                Err(ApiError::new(ErrorCode::LimitExceeded, "The WebSocket client side buffer is full; retry later"))
            }
            Err(SendError::Closed) => Err(ApiError::gone()),
        },
        Op::Get => {
            if !conn.is_open() {
                return Err(ApiError::gone());
            }
            let info = conn.info();
            let output = GetConnectionOutput {
                connected_at: timefmt::rfc3339_millis(info.connected_at),
                identity: Identity {
                    source_ip: info.source_ip.clone(),
                    user_agent: info.user_agent.as_deref().map(str::to_owned),
                },
                last_active_at: timefmt::rfc3339_millis(conn.last_active()),
            };
            Ok(Reply { status: 200, json: Some(serde_json::to_string(&output).unwrap_or_default()) })
        }
        Op::Update => ext::update(hub, &conn, &body),
        Op::Delete | Op::Close => {
            let close = match op {
                Op::Close => CloseInput::read(&body)?.request(),
                _ => CloseRequest::deleted(),
            };
            if conn.close(close) { Ok(Reply { status: 204, json: None }) } else { Err(ApiError::gone()) }
        }
    }
}

pub mod console;
pub mod ext;
#[cfg(test)]
mod tests;
