//! Tests of the front door's classification, one request per destination.

use apigw::management::Target;
use http::request::Parts;

use super::{ExtensionPath, Front, Service, classify, credential_service};

#[test]
fn finds_the_service_in_the_scope() {
    let mut headers = http::HeaderMap::new();
    assert_eq!(credential_service(&headers, None), None);
    headers.insert(
        http::header::AUTHORIZATION,
        "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/ivschat/aws4_request, SignedHeaders=host, Signature=x"
            .parse()
            .unwrap(),
    );
    assert_eq!(credential_service(&headers, None), Some("ivschat"));
    let empty = http::HeaderMap::new();
    let query =
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20240101%2Fus-east-1%2Fexecute-api%2Faws4_request";
    assert_eq!(credential_service(&empty, Some(query)), Some("execute-api"));
}

/// A request: method, path and query, and headers.
fn request(method: &str, uri: &str, headers: &[(&str, &str)]) -> Parts {
    let mut builder = http::Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(()).unwrap().into_parts().0
}

fn signed_for(service: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=x"
    )
}

fn extension(
    api: Option<&'static str>,
    stage: Option<&'static str>,
    service: &'static str,
    operation: &'static str,
) -> Front<'static> {
    Front::Extension(ExtensionPath { api, stage, service, operation })
}

const UPGRADE: &[(&str, &str)] = &[("upgrade", "websocket"), ("connection", "keep-alive, Upgrade")];

#[test]
fn every_destination_from_a_table_of_requests() {
    let ivschat = signed_for("ivschat");
    let execute_api = signed_for("execute-api");
    let lambda = signed_for("lambda");
    let elsewhere = signed_for("s3");
    let apigateway = signed_for("apigateway");
    let presigned = "/ListRooms?X-Amz-Credential=AKID%2F20240101%2Fus-east-1%2Fivschat%2Faws4_request";
    let cases: Vec<(Parts, Front<'static>)> = vec![
        (request("GET", "/@switchboard/health", &[]), Front::Reserved("health")),
        (request("GET", "/@switchboard/metrics", &[("authorization", &execute_api)]), Front::Reserved("metrics")),
        (request("GET", "/@switchboard/other", &[]), Front::Reserved("other")),
        (request("POST", "/@switchboard/ext/reset", &[]), extension(None, None, "reset", "")),
        (request("POST", "/@switchboard/ext/", &[]), extension(None, None, "", "")),
        (
            request("POST", "/@switchboard/ext/ivschat/ListRoomMessages", &[("authorization", &ivschat)]),
            extension(None, None, "ivschat", "ListRoomMessages"),
        ),
        (
            request("POST", "/prod/@switchboard/ext/apigatewaymanagementapi/CloseConnection", &[]),
            extension(None, Some("prod"), "apigatewaymanagementapi", "CloseConnection"),
        ),
        (
            request("POST", "/@apis/abcdefghij/prod/@switchboard/ext/apigatewaymanagementapi/X", &[]),
            extension(Some("abcdefghij"), Some("prod"), "apigatewaymanagementapi", "X"),
        ),
        // Not an endpoint's path before the marker: no extension.
        (
            request("POST", "/a/b/@switchboard/ext/apigatewaymanagementapi/X", &[("authorization", &execute_api)]),
            Front::Forbidden,
        ),
        (
            request("POST", "/@apis/abc/@switchboard/ext/ivschat/X", &[("authorization", &ivschat)]),
            Front::Service(Service::IvsChat),
        ),
        (
            request("POST", "/prod/@connections/abc", &[("authorization", &execute_api)]),
            Front::Management(Target { api: None, stage: Some("prod"), raw_id: "abc" }),
        ),
        (request("GET", "/@connections/abc", &[]), Front::Management(Target { api: None, stage: None, raw_id: "abc" })),
        (
            request("GET", "/prod/@connections/abc", UPGRADE),
            Front::Management(Target { api: None, stage: Some("prod"), raw_id: "abc" }),
        ),
        (request("GET", "/", UPGRADE), Front::ChatSocket),
        (request("GET", "/prod", UPGRADE), Front::ApiSocket),
        (request("GET", "/prod/", UPGRADE), Front::ApiSocket),
        (
            request("GET", "/@apis/abcdefghij/prod", UPGRADE),
            Front::ApiEndpointSocket { api_id: "abcdefghij", stage: "prod" },
        ),
        (
            request("POST", "/@apis/abcdefghij/prod/@connections/abc", &[("authorization", &execute_api)]),
            Front::Management(Target { api: Some("abcdefghij"), stage: Some("prod"), raw_id: "abc" }),
        ),
        // Not an upgrade: a POST, or no `Connection: upgrade`.
        (request("POST", "/prod", UPGRADE), Front::Service(Service::IvsChat)),
        (request("GET", "/prod", &[("upgrade", "websocket")]), Front::Service(Service::IvsChat)),
        (request("POST", "/ListRooms", &[("authorization", &ivschat)]), Front::Service(Service::IvsChat)),
        (request("POST", presigned, &[]), Front::Service(Service::IvsChat)),
        (request("GET", "/v2/apis", &[("authorization", &apigateway)]), Front::Service(Service::ApiGateway)),
        (
            request("POST", "/2015-03-31/functions/f/invocations", &[("authorization", &lambda)]),
            Front::Service(Service::Lambda),
        ),
        (request("GET", "/prod/elsewhere", &[("authorization", &execute_api)]), Front::Forbidden),
        // Unsigned, or signed for a service no API here serves: the fallback service's signature check refuses it.
        (request("POST", "/ListRooms", &[]), Front::Service(Service::FALLBACK)),
        (request("POST", "/2015-03-31/functions", &[("authorization", &elsewhere)]), Front::Service(Service::FALLBACK)),
    ];
    for (parts, expected) in &cases {
        assert_eq!(&classify(parts), expected, "{} {}", parts.method, parts.uri);
    }
}

#[test]
fn the_registry_names_each_service_once() {
    for service in Service::ALL {
        let matches = Service::ALL.iter().filter(|s| s.scope_name() == service.scope_name()).count();
        assert_eq!(matches, 1, "{service:?}");
        assert_ne!(service.scope_name(), super::EXECUTE_API);
    }
    assert!(Service::ALL.contains(&Service::FALLBACK));
}

#[test]
fn each_destination_has_its_own_name_in_logs() {
    let destinations = [
        Front::Reserved("health"),
        extension(None, None, "reset", ""),
        Front::Management(Target { api: None, stage: None, raw_id: "abc" }),
        Front::ChatSocket,
        Front::ApiSocket,
        Front::Service(Service::IvsChat),
        Front::Forbidden,
    ];
    let names: Vec<&str> = destinations.iter().map(Front::name).collect();
    assert_eq!(names, ["reserved", "extension", "management", "chat_socket", "api_socket", "ivschat", "forbidden"]);
    assert_eq!(Front::Service(Service::ApiGateway).name(), "apigateway");
    assert_eq!(Front::Service(Service::Lambda).name(), "lambda");
}
