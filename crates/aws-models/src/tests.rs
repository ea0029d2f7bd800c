//! The generated tables hold together: every `Operation` enum matches its service's table, and a few facts of the
//! models the server and the command line rely on read as botocore has them.

use crate::extension::ExtensionPath;
use crate::{
    Kind, Location, Service, apigatewaymanagementapi, apigatewaymanagementapi_ext, apigatewayv2, ivschat, ivschat_ext,
    lambda,
};

const SERVICES: [&Service; 6] = [
    &apigatewaymanagementapi::SERVICE,
    &apigatewayv2::SERVICE,
    &ivschat::SERVICE,
    &lambda::SERVICE,
    &apigatewaymanagementapi_ext::SERVICE,
    &ivschat_ext::SERVICE,
];

#[test]
fn extension_models_extend_their_service_at_their_own_paths() {
    for service in SERVICES.into_iter().filter(|s| s.extension.is_some()) {
        let ext = service.extension.unwrap();
        assert!(ext.extension.is_none());
        assert_eq!(
            (ext.name, ext.signing_name, ext.service_id, ext.endpoint_prefix, ext.protocol),
            (service.name, service.signing_name, service.service_id, service.endpoint_prefix, service.protocol)
        );
        for op in ext.operations {
            assert!(service.operation(op.name).is_none() && service.command(op.cli_name).is_none(), "{}", op.name);
            let uri = format!("{}{}/{}", crate::extension::MARKER, service.name, op.name);
            assert_eq!((op.http.method, op.http.request_uri), ("POST", uri.as_str()), "{}", op.name);
            let path = ExtensionPath::parse(op.http.request_uri).unwrap();
            assert_eq!(path.operation_of(service).map(|(_, found)| found.name), Some(op.name));
            let staged = format!("/prod{uri}");
            assert_eq!(ExtensionPath::parse(&staged).unwrap().stage, Some("prod"));
        }
        let all: Vec<&str> = service.with_extension().map(|(_, op)| op.name).collect();
        assert_eq!(all.len(), service.operations.len() + ext.operations.len());
    }
    assert_eq!(apigatewaymanagementapi::SERVICE.extension.map(|e| e.name), Some("apigatewaymanagementapi"));
}

#[test]
fn operation_enums_follow_the_tables() {
    for op in ivschat::Operation::ALL {
        assert_eq!(op.model().name, op.name());
        assert_eq!(ivschat::Operation::from_name(op.name()), Some(op));
        assert_eq!(op.to_string(), op.name());
    }
    assert_eq!(ivschat::Operation::ALL.len(), ivschat::SERVICE.operations.len());
    for op in apigatewaymanagementapi::Operation::ALL {
        assert_eq!(op.model().name, op.name());
    }
    for op in apigatewayv2::Operation::ALL {
        assert_eq!(op.model().name, op.name());
    }
    for op in lambda::Operation::ALL {
        assert_eq!(op.model().name, op.name());
    }
    assert_eq!(ivschat::Operation::from_name("createRoom"), None);
}

#[test]
fn operations_are_sorted_and_found_by_name_and_command() {
    for service in SERVICES {
        assert!(service.operations.windows(2).all(|w| w[0].name < w[1].name), "{}", service.name);
        for op in service.operations {
            assert_eq!(service.operation(op.name).map(|o| o.name), Some(op.name));
            assert_eq!(service.command(op.cli_name).map(|o| o.name), Some(op.name));
            assert!(matches!(op.input.kind, Kind::Structure(_)), "{} {}", service.name, op.name);
        }
    }
}

#[test]
fn ivschat_facts() {
    let create_room = ivschat::Operation::CreateRoom.model();
    assert_eq!((create_room.http.method, create_room.http.request_uri), ("POST", "/CreateRoom"));
    assert_eq!(ivschat::Operation::DeleteRoom.model().http.response_code, 204);
    let untag = ivschat::Operation::UntagResource.model();
    assert_eq!((untag.http.method, untag.http.request_uri), ("DELETE", "/tags/{resourceArn}"));
    let tag_keys = untag.input.member("tagKeys").unwrap();
    assert_eq!(
        (tag_keys.location, tag_keys.location_name, tag_keys.required),
        (Location::Querystring, "tagKeys", true)
    );
    assert_eq!(untag.input.member("resourceArn").unwrap().location, Location::Uri);
    let room_name = &ivschat::shapes::ROOM_NAME;
    assert_eq!((room_name.min_len(), room_name.max_len(), room_name.pattern), (0, 128, Some("[a-zA-Z0-9-_]*")));
    assert_eq!(
        (ivschat::shapes::ROOM_MAX_MESSAGE_LENGTH.min, ivschat::shapes::ROOM_MAX_MESSAGE_LENGTH.max),
        (Some(1), Some(500))
    );
    assert!(matches!(ivschat::shapes::DESTINATION_CONFIGURATION.kind, Kind::Union(_)));
    assert!(matches!(ivschat::shapes::FALLBACK_RESULT.kind, Kind::Enum(["ALLOW", "DENY"])));
    let validation = ivschat::shapes::VALIDATION_EXCEPTION.error.unwrap();
    assert_eq!((validation.status, validation.sender_fault), (400, true));
    assert!(create_room.errors.iter().any(|e| e.name == "ConflictException"));
}

#[test]
fn management_api_facts() {
    let post = apigatewaymanagementapi::Operation::PostToConnection.model();
    assert_eq!((post.http.method, post.http.request_uri), ("POST", "/@connections/{connectionId}"));
    let data = post.input.member("Data").unwrap();
    assert_eq!(
        (data.location, data.doc),
        (Location::Payload, "The data to be sent to the client specified by its connection id.")
    );
    assert_eq!(data.shape.max, Some(131_072));
    let gone = apigatewaymanagementapi::shapes::GONE_EXCEPTION.error.unwrap();
    assert_eq!(gone.status, 410);
    assert_eq!(apigatewaymanagementapi::SERVICE.signing_name, "execute-api");
}

#[test]
fn the_error_table_agrees_with_the_models_it_serves() {
    for service in [
        &apigatewaymanagementapi::SERVICE,
        &apigatewaymanagementapi_ext::SERVICE,
        &ivschat::SERVICE,
        &ivschat_ext::SERVICE,
        &apigatewayv2::SERVICE,
    ] {
        for error in service.operations.iter().flat_map(|op| op.errors) {
            let info = error.error.unwrap();
            let code = wire::ErrorCode::from_aws_type(info.code.unwrap_or(error.name));
            let code = code.unwrap_or_else(|| panic!("{} {} is not in wire::ErrorCode", service.name, error.name));
            assert_eq!(code.status().as_u16(), info.status, "{} {}", service.name, error.name);
        }
    }
    // Lambda: of the operations Switchboard serves, the errors it answers are in the table with the model's status.
    let served = [lambda::Operation::Invoke, lambda::Operation::GetFunction, lambda::Operation::ListFunctions];
    let answered = [
        "ResourceNotFoundException",
        "TooManyRequestsException",
        "RequestTooLargeException",
        "InvalidParameterValueException",
        "InvalidRequestContentException",
        "ServiceException",
    ];
    for name in answered {
        let error = served.iter().flat_map(|op| op.model().errors).find(|e| e.name == name);
        let info = error.and_then(|e| e.error).unwrap_or_else(|| panic!("lambda {name} is not in the model"));
        let code = wire::ErrorCode::from_aws_type(name).unwrap_or_else(|| panic!("lambda {name} is not in the table"));
        assert_eq!(code.status().as_u16(), info.status, "lambda {name}");
    }
}

#[test]
fn paginators_come_from_botocore() {
    let list_functions = lambda::Operation::ListFunctions.model().paginator.unwrap();
    assert_eq!(
        (list_functions.input_token, list_functions.output_token, list_functions.limit_key, list_functions.result_key),
        ("Marker", "NextMarker", Some("MaxItems"), "Functions")
    );
    assert!(lambda::Operation::Invoke.model().paginator.is_none());
    assert!(ivschat::SERVICE.operations.iter().all(|op| op.paginator.is_none()), "ivschat has none in botocore");
}

#[test]
fn a_refused_member_is_named_by_its_path_in_the_body() {
    let input = &apigatewaymanagementapi_ext::shapes::UPDATE_CONNECTION_REQUEST;
    let refused = |body: &str| crate::input::read_body(input, "UpdateConnection", body.as_bytes()).unwrap_err();
    for (body, message) in [
        (r#"{"ConnectionId":"c","JoinGroups":"a"}"#, "Member JoinGroups must be a list"),
        (
            r#"{"ConnectionId":"c","JoinGroups":["a",""]}"#,
            "Member JoinGroups.1 must be between 1 and 128 characters long",
        ),
        (r#"{"ConnectionId":"c","Metadata":{"":"v"}}"#, "Member Metadata key must be between 1 and 64 characters long"),
        (r#"{"ConnectionId":"c","Metadata":{"k":7}}"#, "Member Metadata.k must be a string"),
        (r#"{"ConnectionId":"c","RemoveMetadata":["k",1]}"#, "Member RemoveMetadata.1 must be a string"),
    ] {
        assert_eq!(refused(body), message, "{body}");
    }
    let ids: Vec<String> = (0..10_000).map(|i| format!("id-{i}")).collect();
    let many = serde_json::json!({"ConnectionIds": ids, "Data": "eA=="}).to_string();
    let post = &apigatewaymanagementapi_ext::shapes::POST_TO_CONNECTIONS_REQUEST;
    assert!(crate::input::read_body(post, "PostToConnections", many.as_bytes()).is_ok());
}
