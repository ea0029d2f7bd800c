//! What an invocation answers when it does not succeed, shaped as Lambda shapes it: a function error (the function
//! ran and failed, timed out or crashed: Lambda's `X-Amz-Function-Error` with the error document as payload) or a
//! service error (Lambda refused the call: throttled, too large, no such function), and the Runtime API's own errors.

use bytes::Bytes;
use serde_json::json;

/// Lambda's limit on a synchronous invocation's request and response payloads: 6 MB.
pub const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;

/// Why an invocation has no result.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvokeError {
    /// The function ran and failed (`X-Amz-Function-Error: Unhandled`); `payload` is Lambda's error document
    /// `{"errorMessage", "errorType", "stackTrace"?}`.
    #[error("function error: {}", String::from_utf8_lossy(.payload))]
    Function { payload: Bytes },
    /// Lambda did not run the function.
    #[error("{}: {message}", .kind.error_type())]
    Service { kind: ServiceError, message: String },
}

/// A Lambda service error: the `Invoke` operation's error shapes this server can answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceError {
    /// No function of that name is hosted (404).
    ResourceNotFound,
    /// Over the function's concurrency (429); the reason says which limit.
    TooManyRequests(ThrottleReason),
    /// The request payload is over [`MAX_PAYLOAD_BYTES`] (413).
    RequestTooLarge,
    /// The server is shutting down or could not start an environment (500).
    Service,
}

/// `TooManyRequestsException`'s `Reason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThrottleReason {
    /// The function's reserved concurrency is used up (or is 0).
    Reserved,
    /// The server's per-function concurrency is used up.
    Concurrent,
}

impl ThrottleReason {
    pub fn as_str(self) -> &'static str {
        match self {
            ThrottleReason::Reserved => "ReservedFunctionConcurrentInvocationLimitExceeded",
            ThrottleReason::Concurrent => "ConcurrentInvocationLimitExceeded",
        }
    }
}

impl ServiceError {
    /// The error's type, as `x-amzn-ErrorType` names it.
    pub fn error_type(self) -> &'static str {
        match self {
            ServiceError::ResourceNotFound => "ResourceNotFoundException",
            ServiceError::TooManyRequests(_) => "TooManyRequestsException",
            ServiceError::RequestTooLarge => "RequestTooLargeException",
            ServiceError::Service => "ServiceException",
        }
    }

    /// The HTTP status Lambda answers with.
    pub fn status(self) -> u16 {
        match self {
            ServiceError::ResourceNotFound => 404,
            ServiceError::TooManyRequests(_) => 429,
            ServiceError::RequestTooLarge => 413,
            ServiceError::Service => 500,
        }
    }
}

impl InvokeError {
    /// A function error of `error_type` with `message`, as Lambda's runtime reports one.
    pub fn function(error_type: &str, message: impl Into<String>) -> InvokeError {
        let document = json!({ "errorMessage": message.into(), "errorType": error_type });
        InvokeError::Function { payload: Bytes::from(document.to_string()) }
    }

    pub fn not_found(arn: &str) -> InvokeError {
        InvokeError::Service { kind: ServiceError::ResourceNotFound, message: format!("Function not found: {arn}") }
    }

    pub fn throttled(reason: ThrottleReason) -> InvokeError {
        InvokeError::Service { kind: ServiceError::TooManyRequests(reason), message: "Rate Exceeded.".to_owned() }
    }

    pub fn request_too_large() -> InvokeError {
        InvokeError::Service {
            kind: ServiceError::RequestTooLarge,
            message: format!("Request must be smaller than {MAX_PAYLOAD_BYTES} bytes for the InvokeFunction operation"),
        }
    }

    /// The service error's JSON body (`{"Type", "message", "Reason"?}`), as Lambda's restJson1 errors carry it; `None`
    /// for a function error, whose payload is the answer.
    pub fn service_body(&self) -> Option<String> {
        let InvokeError::Service { kind, message } = self else { return None };
        let mut body = json!({ "Type": "User", "message": message });
        if let ServiceError::TooManyRequests(reason) = kind {
            body["Reason"] = json!(reason.as_str());
        }
        if *kind == ServiceError::Service {
            body["Type"] = json!("Service");
        }
        Some(body.to_string())
    }

    /// `errorType` of a function error's document, or the service error's type.
    pub fn error_type(&self) -> String {
        match self {
            InvokeError::Function { payload } => serde_json::from_slice::<serde_json::Value>(payload)
                .ok()
                .and_then(|v| v.get("errorType").and_then(|t| t.as_str()).map(str::to_owned))
                .unwrap_or_else(|| "Unhandled".to_owned()),
            InvokeError::Service { kind, .. } => kind.error_type().to_owned(),
        }
    }
}

/// An error the Runtime API answers a runtime client: its status and `{"errorMessage", "errorType"}` body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimeApiError {
    pub status: u16,
    pub error_type: &'static str,
    pub message: String,
}

impl RuntimeApiError {
    /// 400: the request id is not the invocation this environment is running.
    pub fn invalid_request_id(id: &str) -> RuntimeApiError {
        RuntimeApiError {
            status: 400,
            error_type: "InvalidRequestID",
            message: format!("Invalid request ID: {id} is not the invocation in progress"),
        }
    }

    /// 413: a response over [`MAX_PAYLOAD_BYTES`].
    pub fn too_large() -> RuntimeApiError {
        RuntimeApiError {
            status: 413,
            error_type: "RequestEntityTooLarge",
            message: format!("Payload size exceeded maximum allowed payload size ({MAX_PAYLOAD_BYTES} bytes)."),
        }
    }

    /// 500: the environment is being stopped; the runtime should exit.
    pub fn dead() -> RuntimeApiError {
        RuntimeApiError {
            status: 500,
            error_type: "Runtime.ExecutionEnvironmentStopped",
            message: "The execution environment is stopping; exit.".to_owned(),
        }
    }

    /// 403: a call this environment's state does not allow (an init error after the first invocation).
    pub fn forbidden(message: impl Into<String>) -> RuntimeApiError {
        RuntimeApiError { status: 403, error_type: "InvalidStateTransition", message: message.into() }
    }

    /// The JSON body.
    pub fn body(&self) -> String {
        json!({ "errorMessage": self.message, "errorType": self.error_type }).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_shaped_as_lambda_shapes_them() {
        let throttled = InvokeError::throttled(ThrottleReason::Reserved);
        assert_eq!(throttled.error_type(), "TooManyRequestsException");
        assert_eq!(
            throttled.service_body().unwrap(),
            r#"{"Type":"User","message":"Rate Exceeded.","Reason":"ReservedFunctionConcurrentInvocationLimitExceeded"}"#
        );
        let timeout = InvokeError::function("Sandbox.Timedout", "Task timed out after 1.00 seconds");
        assert_eq!(timeout.error_type(), "Sandbox.Timedout");
        assert_eq!(timeout.service_body(), None);
        assert_eq!(ServiceError::RequestTooLarge.status(), 413);
        assert_eq!(
            RuntimeApiError::invalid_request_id("x").body(),
            r#"{"errorMessage":"Invalid request ID: x is not the invocation in progress","errorType":"InvalidRequestID"}"#
        );
    }
}
