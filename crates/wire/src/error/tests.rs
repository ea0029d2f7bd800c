//! Pins the status, type and body of every error in the table.

use super::*;

/// One line per code: the exact status, `x-amzn-ErrorType` and body a client receives.
#[test]
fn every_error_body_is_pinned() {
    let expected: &[(ErrorCode, u16, &str, &str)] = &[
        (ErrorCode::Gone, 410, "GoneException", ""),
        (ErrorCode::BadRequest, 400, "BadRequestException", r#"{"message":"m"}"#),
        (ErrorCode::PayloadTooLarge, 413, "PayloadTooLargeException", r#"{"message":"m"}"#),
        (ErrorCode::LimitExceeded, 429, "LimitExceededException", r#"{"message":"m"}"#),
        (ErrorCode::Forbidden, 403, "ForbiddenException", r#"{"message":"m"}"#),
        (ErrorCode::MissingAuthenticationToken, 403, "MissingAuthenticationTokenException", r#"{"message":"m"}"#),
        (ErrorCode::IncompleteSignature, 400, "IncompleteSignatureException", r#"{"message":"m"}"#),
        (ErrorCode::InvalidSignature, 403, "InvalidSignatureException", r#"{"message":"m"}"#),
        (ErrorCode::UnrecognizedClient, 403, "UnrecognizedClientException", r#"{"message":"m"}"#),
        (ErrorCode::ContentSha256Mismatch, 400, "XAmzContentSHA256Mismatch", r#"{"message":"m"}"#),
        (ErrorCode::Validation, 400, "ValidationException", r#"{"message":"m"}"#),
        (ErrorCode::ServiceQuotaExceeded, 402, "ServiceQuotaExceededException", r#"{"message":"m"}"#),
        (ErrorCode::AccessDenied, 403, "AccessDeniedException", r#"{"message":"m"}"#),
        (ErrorCode::PendingVerification, 403, "PendingVerification", r#"{"message":"m"}"#),
        (ErrorCode::ResourceNotFound, 404, "ResourceNotFoundException", r#"{"message":"m"}"#),
        (ErrorCode::Conflict, 409, "ConflictException", r#"{"message":"m"}"#),
        (ErrorCode::Throttling, 429, "ThrottlingException", r#"{"message":"m"}"#),
        (ErrorCode::InternalServer, 500, "InternalServerException", r#"{"message":"m"}"#),
        (ErrorCode::NotFound, 404, "NotFoundException", r#"{"message":"m"}"#),
        (ErrorCode::TooManyRequests, 429, "TooManyRequestsException", r#"{"message":"m"}"#),
        (ErrorCode::InvalidParameterValue, 400, "InvalidParameterValueException", r#"{"message":"m"}"#),
        (ErrorCode::InvalidRequestContent, 400, "InvalidRequestContentException", r#"{"message":"m"}"#),
        (ErrorCode::RequestTooLarge, 413, "RequestTooLargeException", r#"{"message":"m"}"#),
        (ErrorCode::LambdaService, 500, "ServiceException", r#"{"message":"m"}"#),
        (ErrorCode::UnknownOperation, 404, "UnknownOperationException", r#"{"message":"m"}"#),
        (ErrorCode::GroupLimitExceeded, 400, "GroupLimitExceededException", r#"{"message":"m"}"#),
        (ErrorCode::MetadataLimitExceeded, 400, "MetadataLimitExceededException", r#"{"message":"m"}"#),
    ];
    assert_eq!(expected.len(), ErrorCode::ALL.len(), "every code in the table has a pinned body");
    for (code, status, aws_type, body) in expected {
        let err = ApiError::new(*code, "m");
        assert_eq!(err.status().as_u16(), *status, "{code:?}");
        assert_eq!(code.aws_type(), *aws_type, "{code:?}");
        assert_eq!(ErrorCode::from_aws_type(aws_type), Some(*code));
        assert_eq!(String::from_utf8(err.body()).unwrap(), *body, "{code:?}");
    }
}

#[test]
fn modeled_members_follow_message_in_order() {
    let err = ApiError::new(ErrorCode::ResourceNotFound, "Room not found")
        .with("resourceId", "abcdEFGH1234")
        .with("resourceType", "ROOM");
    assert_eq!(
        String::from_utf8(err.body()).unwrap(),
        r#"{"message":"Room not found","resourceId":"abcdEFGH1234","resourceType":"ROOM"}"#
    );
}

#[test]
fn forbidden_matches_api_gateway() {
    let err = ApiError::forbidden();
    assert_eq!(err.status().as_u16(), 403);
    assert_eq!(String::from_utf8(err.body()).unwrap(), r#"{"message":"Forbidden"}"#);
    assert!(ApiError::gone().body().is_empty());
}

/// The apigatewayv2 bodies with their modeled members, as the model names them (lowerCamel on the wire).
#[test]
fn apigatewayv2_bodies_are_pinned() {
    let cases = [
        (
            ApiError::new(ErrorCode::NotFound, "Invalid API identifier specified 123456789012:abcdefghij")
                .with("resourceType", "Api"),
            404,
            r#"{"message":"Invalid API identifier specified 123456789012:abcdefghij","resourceType":"Api"}"#,
        ),
        (
            ApiError::new(ErrorCode::BadRequest, "Unsupported protocol type: HTTP"),
            400,
            r#"{"message":"Unsupported protocol type: HTTP"}"#,
        ),
        (
            ApiError::new(ErrorCode::Conflict, "Route with key $default already exists for this API"),
            409,
            r#"{"message":"Route with key $default already exists for this API"}"#,
        ),
        (
            ApiError::new(ErrorCode::TooManyRequests, "Too Many Requests").with("limitType", "Routes"),
            429,
            r#"{"message":"Too Many Requests","limitType":"Routes"}"#,
        ),
        (ApiError::new(ErrorCode::AccessDenied, "Access denied"), 403, r#"{"message":"Access denied"}"#),
    ];
    for (err, status, body) in cases {
        assert_eq!(err.status().as_u16(), status, "{err}");
        assert_eq!(String::from_utf8(err.body()).unwrap(), body, "{err}");
    }
}

/// Lambda's bodies: `Type` after the message, and a throttle's `Reason`.
#[test]
fn lambda_bodies_are_pinned() {
    let cases = [
        (
            ApiError::new(
                ErrorCode::ResourceNotFound,
                "Function not found: arn:aws:lambda:us-east-1:000000000000:function:f",
            )
            .with_capital_message()
            .with("Type", "User"),
            404,
            r#"{"Message":"Function not found: arn:aws:lambda:us-east-1:000000000000:function:f","Type":"User"}"#,
        ),
        (
            ApiError::new(ErrorCode::TooManyRequests, "Rate Exceeded.")
                .with("Type", "User")
                .with("Reason", "ReservedFunctionConcurrentInvocationLimitExceeded"),
            429,
            r#"{"message":"Rate Exceeded.","Type":"User","Reason":"ReservedFunctionConcurrentInvocationLimitExceeded"}"#,
        ),
        (
            ApiError::new(ErrorCode::LambdaService, "the server is shutting down")
                .with_capital_message()
                .with("Type", "Service"),
            500,
            r#"{"Message":"the server is shutting down","Type":"Service"}"#,
        ),
    ];
    for (err, status, body) in cases {
        assert_eq!(err.status().as_u16(), status);
        assert_eq!(String::from_utf8(err.body()).unwrap(), body);
    }
}
