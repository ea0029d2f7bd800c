//! The one table that maps every error Switchboard returns to its AWS type name and HTTP status.

use http::StatusCode;
use serde_json::{Map, Value};

/// How an error's body is rendered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyStyle {
    /// No body at all (`Content-Length: 0`), as API Gateway sends for `GoneException`.
    Empty,
    /// `{"message": "..."}` plus any modeled members.
    Message,
}

macro_rules! error_codes {
    ($($variant:ident => $aws:literal, $status:literal, $style:ident;)*) => {
        /// Every error Switchboard can return from an AWS-compatible HTTP API.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($variant,)*
        }

        impl ErrorCode {
            /// All codes, in table order (used by the tests that pin every body).
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The AWS error type, sent in `x-amzn-ErrorType`.
            pub fn aws_type(self) -> &'static str {
                match self { $(ErrorCode::$variant => $aws,)* }
            }

            /// The code whose AWS type is `aws_type`, if it is in the table.
            pub fn from_aws_type(aws_type: &str) -> Option<ErrorCode> {
                match aws_type { $($aws => Some(ErrorCode::$variant),)* _ => None }
            }

            /// The HTTP status.
            pub fn status(self) -> StatusCode {
                match self {
                    $(ErrorCode::$variant => match StatusCode::from_u16($status) {
                        Ok(status) => status,
                        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
                    },)*
                }
            }

            /// Whether the body is empty or carries a message.
            pub fn body_style(self) -> BodyStyle {
                match self { $(ErrorCode::$variant => BodyStyle::$style,)* }
            }
        }
    };
}

error_codes! {
    // API Gateway management API (`apigatewaymanagementapi`), reference apigw.md §1.6.5.
    Gone => "GoneException", 410, Empty;
    BadRequest => "BadRequestException", 400, Message;
    PayloadTooLarge => "PayloadTooLargeException", 413, Message;
    LimitExceeded => "LimitExceededException", 429, Message;
    Forbidden => "ForbiddenException", 403, Message;
    // SigV4 and other common AWS errors.
    MissingAuthenticationToken => "MissingAuthenticationTokenException", 403, Message;
    IncompleteSignature => "IncompleteSignatureException", 400, Message;
    InvalidSignature => "InvalidSignatureException", 403, Message;
    UnrecognizedClient => "UnrecognizedClientException", 403, Message;
    ContentSha256Mismatch => "XAmzContentSHA256Mismatch", 400, Message;
    // Amazon IVS Chat (`ivschat`), reference ivschat.md §4.
    Validation => "ValidationException", 400, Message;
    ServiceQuotaExceeded => "ServiceQuotaExceededException", 402, Message;
    AccessDenied => "AccessDeniedException", 403, Message;
    PendingVerification => "PendingVerification", 403, Message;
    ResourceNotFound => "ResourceNotFoundException", 404, Message;
    Conflict => "ConflictException", 409, Message;
    Throttling => "ThrottlingException", 429, Message;
    InternalServer => "InternalServerException", 500, Message;
    // API Gateway V2 (`apigatewayv2`); it shares BadRequest, AccessDenied and Conflict with the rows above.
    NotFound => "NotFoundException", 404, Message;
    TooManyRequests => "TooManyRequestsException", 429, Message;
    // AWS Lambda (`lambda`): bodies carry `Type` (`User` or `Service`) and, for throttles, `Reason`; it shares
    // ResourceNotFound and TooManyRequests with the rows above.
    InvalidParameterValue => "InvalidParameterValueException", 400, Message;
    InvalidRequestContent => "InvalidRequestContentException", 400, Message;
    RequestTooLarge => "RequestTooLargeException", 413, Message;
    LambdaService => "ServiceException", 500, Message;
    // Switchboard's extension operations (`models/switchboard/`): errors AWS has no type for.
    UnknownOperation => "UnknownOperationException", 404, Message;
    GroupLimitExceeded => "GroupLimitExceededException", 400, Message;
    MetadataLimitExceeded => "MetadataLimitExceededException", 400, Message;
}

/// An AWS-shaped error: a code from the table, a message and any modeled members.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// Modeled members besides `message` (`reason`, `fieldList`, `resourceId`, …), in insertion order.
    pub members: Map<String, Value>,
    /// The body's key for the message: `message`, or `Message` where the model spells it so (Lambda's
    /// `ResourceNotFoundException` and `ServiceException`).
    pub message_key: &'static str,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError { code, message: message.into(), members: Map::new(), message_key: "message" }
    }

    /// The message under `Message` rather than `message`, as the model of the error spells it.
    pub fn with_capital_message(mut self) -> ApiError {
        self.message_key = "Message";
        self
    }

    /// Adds a modeled member to the body.
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> ApiError {
        self.members.insert(name.to_owned(), value.into());
        self
    }

    /// `403 ForbiddenException {"message":"Forbidden"}`: unknown stage, path or method.
    pub fn forbidden() -> ApiError {
        ApiError::new(ErrorCode::Forbidden, "Forbidden")
    }

    /// `410 GoneException` with an empty body.
    pub fn gone() -> ApiError {
        ApiError::new(ErrorCode::Gone, "")
    }

    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    /// The response body: empty, or `{"message": …, <members>}` with `message` (or `Message`) first.
    pub fn body(&self) -> Vec<u8> {
        match self.code.body_style() {
            BodyStyle::Empty => Vec::new(),
            BodyStyle::Message => {
                let mut map = Map::with_capacity(1 + self.members.len());
                map.insert(self.message_key.to_owned(), Value::String(self.message.clone()));
                for (k, v) in &self.members {
                    map.insert(k.clone(), v.clone());
                }
                serde_json::to_vec(&Value::Object(map)).unwrap_or_default()
            }
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.aws_type(), self.message)
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests;
