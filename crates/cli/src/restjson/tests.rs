//! The restJson1 client against tables of operations from the real models (ivschat, apigatewaymanagementapi,
//! apigatewayv2, lambda): the requests that command lines and parameters build, the answers read back, the error
//! codes found, and retries against a local server that answers as told.

use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::{Request, build, call, decode, response};
use crate::env::Target;
use crate::model::{Kind, Location, Member, Operation, Shape};
use crate::{ErrorKind, SERVICES};

const ENDPOINT: &str = "http://127.0.0.1:4510";

/// What a request's body must be.
enum Body {
    Empty,
    Json(Value),
    Bytes(&'static [u8]),
}

/// The request of a whole command line, to [`ENDPOINT`] (or the command's `--endpoint-url`).
fn request_of(command: &str) -> Request {
    let (call, params) = crate::tests::parse(command).unwrap_or_else(|err| panic!("{command}: {}", err.message));
    let endpoint = command.split_once("--endpoint-url ").map_or(ENDPOINT, |(_, url)| url.trim());
    build(call.operation, &params, endpoint).unwrap()
}

#[track_caller]
fn check(request: &Request, method: &str, url: &str, content_type: Option<&str>, body: Body) {
    assert_eq!((request.method, request.url.as_str()), (method, url), "{request:?}");
    let header = |name: &str| request.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v);
    assert_eq!(header("content-type").map(String::as_str), content_type, "{request:?}");
    match body {
        Body::Empty => assert!(request.body.is_empty(), "{request:?}"),
        Body::Json(expected) => {
            let sent: Value = serde_json::from_slice(&request.body).expect("a JSON body");
            assert_eq!(sent, expected, "{request:?}");
        }
        Body::Bytes(expected) => assert_eq!(request.body, expected, "{request:?}"),
    }
}

const JSON: Option<&str> = Some("application/json");

#[test]
fn apigatewayv2_commands_build_the_requests_aws_cli_sends() {
    let arn = "arn:aws:apigateway:us-east-1::/apis/a1b2c3d4e5";
    let encoded_arn = "arn%3Aaws%3Aapigateway%3Aus-east-1%3A%3A%2Fapis%2Fa1b2c3d4e5";
    let cases: Vec<(String, &str, String, Option<&str>, Body)> = vec![
        (
            "create-api --name chat --protocol-type WEBSOCKET --route-selection-expression '$request.body.action'"
                .into(),
            "POST",
            "/v2/apis".into(),
            JSON,
            Body::Json(json!({
                "name": "chat", "protocolType": "WEBSOCKET", "routeSelectionExpression": "$request.body.action"
            })),
        ),
        (
            "create-api --name h --protocol-type HTTP --cors-configuration AllowOrigins=https://a.example,MaxAge=60"
                .into(),
            "POST",
            "/v2/apis".into(),
            JSON,
            Body::Json(json!({
                "corsConfiguration": {"allowOrigins": ["https://a.example"], "maxAge": 60},
                "name": "h",
                "protocolType": "HTTP"
            })),
        ),
        ("get-apis --max-results 5".into(), "GET", "/v2/apis?maxResults=5".into(), None, Body::Empty),
        ("get-apis".into(), "GET", "/v2/apis".into(), None, Body::Empty),
        (
            "get-apis --max-results 5 --next-token 'a b/c='".into(),
            "GET",
            "/v2/apis?maxResults=5&nextToken=a%20b%2Fc%3D".into(),
            None,
            Body::Empty,
        ),
        (
            "create-route --api-id a1b2c3d4e5 --route-key '$default'".into(),
            "POST",
            "/v2/apis/a1b2c3d4e5/routes".into(),
            JSON,
            Body::Json(json!({"routeKey": "$default"})),
        ),
        (
            "update-stage --api-id a1b2c3d4e5 --stage-name prod --stage-variables a=b".into(),
            "PATCH",
            "/v2/apis/a1b2c3d4e5/stages/prod".into(),
            JSON,
            Body::Json(json!({"stageVariables": {"a": "b"}})),
        ),
        (
            "delete-route-request-parameter --api-id a1b2c3d4e5 --route-id r1s2t3u --request-parameter-key \
             route.request.querystring.who"
                .into(),
            "DELETE",
            "/v2/apis/a1b2c3d4e5/routes/r1s2t3u/requestparameters/route.request.querystring.who".into(),
            None,
            Body::Empty,
        ),
        (
            format!("tag-resource --resource-arn {arn} --tags team=chat,tier=1"),
            "POST",
            format!("/v2/tags/{encoded_arn}"),
            JSON,
            Body::Json(json!({"tags": {"team": "chat", "tier": "1"}})),
        ),
        (
            format!("untag-resource --resource-arn {arn} --tag-keys team tier"),
            "DELETE",
            format!("/v2/tags/{encoded_arn}?tagKeys=team&tagKeys=tier"),
            None,
            Body::Empty,
        ),
        ("delete-api --api-id a1b2c3d4e5".into(), "DELETE", "/v2/apis/a1b2c3d4e5".into(), None, Body::Empty),
        (
            "create-deployment --api-id a1b2c3d4e5".into(),
            "POST",
            "/v2/apis/a1b2c3d4e5/deployments".into(),
            JSON,
            Body::Json(json!({})),
        ),
    ];
    for (command, method, path, content_type, body) in cases {
        let request = request_of(&format!("switchboard apigatewayv2 {command}"));
        check(&request, method, &format!("{ENDPOINT}{path}"), content_type, body);
    }
}

#[test]
fn ivschat_and_management_commands_build_their_requests() {
    let room = "arn:aws:ivschat:us-west-2:123456789012:room/g1H2I3j4k5L6";
    let encoded = "arn%3Aaws%3Aivschat%3Aus-west-2%3A123456789012%3Aroom%2Fg1H2I3j4k5L6";
    let cases: Vec<(String, &str, String, Option<&str>, Body)> = vec![
        (
            "ivschat list-rooms --max-results 2".into(),
            "POST",
            "/ListRooms".into(),
            JSON,
            Body::Json(json!({"maxResults": 2})),
        ),
        ("ivschat list-rooms".into(), "POST", "/ListRooms".into(), JSON, Body::Json(json!({}))),
        (
            format!("ivschat send-event --room-identifier {room} --event-name e --attributes k=v"),
            "POST",
            "/SendEvent".into(),
            JSON,
            Body::Json(json!({"attributes": {"k": "v"}, "eventName": "e", "roomIdentifier": room})),
        ),
        (
            "ivschat create-logging-configuration --destination-configuration s3={bucketName=bkt}".into(),
            "POST",
            "/CreateLoggingConfiguration".into(),
            JSON,
            Body::Json(json!({"destinationConfiguration": {"s3": {"bucketName": "bkt"}}})),
        ),
        (
            format!("ivschat list-tags-for-resource --resource-arn {room}"),
            "GET",
            format!("/tags/{encoded}"),
            None,
            Body::Empty,
        ),
        (
            format!("ivschat untag-resource --resource-arn {room} --tag-keys a b"),
            "DELETE",
            format!("/tags/{encoded}?tagKeys=a&tagKeys=b"),
            None,
            Body::Empty,
        ),
        (
            "apigatewaymanagementapi post-to-connection --connection-id L0SM9cOFvHcCIhw= --data 'Hello from API \
             Gateway!' --endpoint-url http://127.0.0.1:4510/prod"
                .into(),
            "POST",
            "/prod/@connections/L0SM9cOFvHcCIhw%3D".into(),
            Some("application/octet-stream"),
            Body::Bytes(b"Hello from API Gateway!"),
        ),
        (
            "apigatewaymanagementapi get-connection --connection-id abc --endpoint-url http://127.0.0.1:4510/prod/"
                .into(),
            "GET",
            "/prod/@connections/abc".into(),
            None,
            Body::Empty,
        ),
    ];
    for (command, method, path, content_type, body) in cases {
        let request = request_of(&format!("switchboard {command}"));
        check(&request, method, &format!("{ENDPOINT}{path}"), content_type, body);
    }
}

/// The parameters of a lambda operation, which the command line does not offer yet: its requests come from the
/// model all the same.
fn lambda(name: &str, params: Value) -> Request {
    let operation = aws_models::lambda::SERVICE.operation(name).unwrap();
    let Value::Object(params) = params else { panic!("an object") };
    build(operation, &params, "https://lambda.us-east-1.amazonaws.com").unwrap()
}

#[test]
fn lambda_requests_use_headers_queries_and_a_blob_payload() {
    let invoke = lambda(
        "Invoke",
        json!({
            "FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:echo",
            "InvocationType": "Event",
            "LogType": "Tail",
            "Qualifier": "$LATEST",
            "Payload": BASE64.encode(br#"{"a": 1}"#)
        }),
    );
    assert_eq!(
        invoke.url,
        "https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/\
         arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Aecho/invocations?Qualifier=%24LATEST"
    );
    assert_eq!(
        invoke.headers,
        [
            ("X-Amz-Invocation-Type".to_owned(), "Event".to_owned()),
            ("X-Amz-Log-Type".to_owned(), "Tail".to_owned()),
            ("Content-Type".to_owned(), "application/octet-stream".to_owned()),
        ]
    );
    assert_eq!(invoke.body, br#"{"a": 1}"#);
    // No payload: no body at all.
    let bare = lambda("Invoke", json!({"FunctionName": "echo"}));
    assert!(bare.body.is_empty() && bare.headers.is_empty(), "{bare:?}");

    let list = lambda("ListFunctions", json!({"MaxItems": 10, "Marker": "m/1", "FunctionVersion": "ALL"}));
    assert_eq!(list.method, "GET");
    assert!(list.url.ends_with("/2015-03-31/functions?FunctionVersion=ALL&Marker=m%2F1&MaxItems=10"), "{list:?}");
    let untag = lambda("UntagResource", json!({"Resource": "arn:x", "TagKeys": ["a", "b c"]}));
    assert!(untag.url.ends_with("/2017-03-31/tags/arn%3Ax?tagKeys=a&tagKeys=b%20c"), "{untag:?}");
    let tag = lambda("TagResource", json!({"Resource": "arn:x", "Tags": {"k": "v"}}));
    assert_eq!(serde_json::from_slice::<Value>(&tag.body).unwrap(), json!({"Tags": {"k": "v"}}));
}

static TIME: Shape =
    Shape { name: "Time", kind: Kind::Timestamp, min: None, max: None, pattern: None, doc: "", error: None };
static TEXT: Shape =
    Shape { name: "Text", kind: Kind::String, min: None, max: None, pattern: None, doc: "", error: None };
static BYTES: Shape =
    Shape { name: "Bytes", kind: Kind::Blob, min: None, max: None, pattern: None, doc: "", error: None };

const fn member(name: &'static str, shape: &'static Shape, location: Location, location_name: &'static str) -> Member {
    Member { name, shape, required: false, location, location_name, doc: "" }
}

static SYNTHETIC_INPUT: Shape = Shape {
    name: "SyntheticInput",
    kind: Kind::Structure(&[
        member("Key", &TEXT, Location::Uri, "Key"),
        member("Since", &TIME, Location::Querystring, "since"),
        member("Modified", &TIME, Location::Header, "If-Modified-Since"),
        member("At", &TIME, Location::Body, "at"),
        member("Data", &BYTES, Location::Body, "data"),
    ]),
    min: None,
    max: None,
    pattern: None,
    doc: "",
    error: None,
};

/// An operation made for the tests, at `request_uri`.
fn synthetic(request_uri: &'static str) -> Operation {
    Operation {
        name: "PutObject",
        cli_name: "put-object",
        http: aws_models::Http { method: "PUT", request_uri, response_code: 200 },
        input: &SYNTHETIC_INPUT,
        output: None,
        errors: &[],
        paginator: None,
        doc: "",
    }
}

#[test]
fn greedy_labels_keep_slashes_and_timestamps_follow_their_location() {
    // No model of ours has a greedy label: an operation made for the test has one, and a label nothing fills.
    let Value::Object(params) = json!({
        "Key": "a b/c+d.txt",
        "Since": "2020-04-30T20:10:33Z",
        "Modified": 1_588_277_433,
        "At": "2020-04-30T20:10:33.5Z",
        "Data": "AAE="
    }) else {
        unreachable!()
    };
    let err = build(&synthetic("/{Bucket}/{Key+}?x-id=PutObject"), &params, ENDPOINT).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Usage);
    assert!(err.message.contains("\"Bucket\""), "{}", err.message);

    let request = build(&synthetic("/b/{Key+}?x-id=PutObject"), &params, ENDPOINT).unwrap();
    assert_eq!(request.url, format!("{ENDPOINT}/b/a%20b/c%2Bd.txt?x-id=PutObject&since=2020-04-30T20%3A10%3A33Z"));
    assert_eq!(request.headers[0], ("If-Modified-Since".to_owned(), "Thu, 30 Apr 2020 20:10:33 GMT".to_owned()));
    assert_eq!(serde_json::from_slice::<Value>(&request.body).unwrap(), json!({"at": 1_588_277_433.5, "data": "AAE="}));
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(n, v)| (HeaderName::from_bytes(n.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap()))
        .collect()
}

fn operation(service: usize, name: &str) -> &'static Operation {
    SERVICES[service].operation(name).unwrap()
}

#[test]
fn answers_read_back_in_model_order_with_member_names() {
    let get_connection = operation(0, "GetConnection");
    let body = br#"{"lastActiveAt": "2020-04-30T20:10:42.997Z", "identity": {"userAgent": "wscat",
        "sourceIp": "192.0.2.1"}, "connectedAt": "2020-04-30T20:10:33.236Z", "extra": 1}"#;
    let answer = decode(get_connection, 200, &HeaderMap::new(), body).unwrap().unwrap();
    assert_eq!(
        serde_json::to_string(&answer).unwrap(),
        r#"{"ConnectedAt":"2020-04-30T20:10:33.236000+00:00","Identity":{"SourceIp":"192.0.2.1","UserAgent":"wscat"},"LastActiveAt":"2020-04-30T20:10:42.997000+00:00"}"#
    );

    // Epoch seconds and maps in the order they came.
    let get_room = operation(1, "GetRoom");
    let body = br#"{"id": "r", "createTime": 1647405849, "tags": {"z": "1", "a": "2"}, "maximumMessageLength": 500,
        "messageReviewHandler": null}"#;
    let answer = decode(get_room, 200, &HeaderMap::new(), body).unwrap().unwrap();
    assert_eq!(
        serde_json::to_string(&answer).unwrap(),
        r#"{"id":"r","createTime":"2022-03-16T04:44:09+00:00","maximumMessageLength":500,"tags":{"z":"1","a":"2"}}"#
    );

    let get_apis = operation(2, "GetApis");
    let body = br#"{"nextToken": "t", "items": [{"protocolType": "WEBSOCKET", "name": "chat", "apiId": "a1",
        "createdDate": "2024-01-01T00:00:00Z", "tags": {}}]}"#;
    let answer = decode(get_apis, 200, &HeaderMap::new(), body).unwrap().unwrap();
    assert_eq!(
        serde_json::to_string(&answer).unwrap(),
        r#"{"Items":[{"ApiId":"a1","CreatedDate":"2024-01-01T00:00:00+00:00","Name":"chat","ProtocolType":"WEBSOCKET","Tags":{}}],"NextToken":"t"}"#
    );

    // No members to print: nothing, whatever the body.
    assert_eq!(decode(operation(2, "DeleteApi"), 204, &HeaderMap::new(), b"").unwrap(), None);
    assert_eq!(decode(operation(1, "DisconnectUser"), 200, &HeaderMap::new(), b"{}").unwrap(), None);
    assert_eq!(decode(operation(0, "PostToConnection"), 200, &HeaderMap::new(), b"").unwrap(), None);
    // A body that is not JSON where JSON is due.
    assert!(decode(get_apis, 200, &HeaderMap::new(), b"<html>").is_err());
}

#[test]
fn lambda_answers_bind_the_status_headers_and_payload() {
    let invoke = aws_models::lambda::SERVICE.operation("Invoke").unwrap();
    let answer = decode(
        invoke,
        200,
        &headers(&[("X-Amz-Executed-Version", "$LATEST"), ("X-Amz-Function-Error", "Unhandled")]),
        br#"{"ok":true}"#,
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        serde_json::to_string(&answer).unwrap(),
        format!(
            r#"{{"StatusCode":200,"FunctionError":"Unhandled","Payload":"{}","ExecutedVersion":"$LATEST"}}"#,
            BASE64.encode(br#"{"ok":true}"#)
        )
    );
    let event = decode(invoke, 202, &HeaderMap::new(), b"").unwrap().unwrap();
    assert_eq!(event, json!({"StatusCode": 202}));
}

#[test]
fn error_codes_and_messages_where_rest_json_puts_them() {
    /// Headers and body of an answer, the code and message found in them.
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a [u8], Option<&'a str>, &'a str);
    let cases: &[Case<'_>] = &[
        (
            &[("x-amzn-ErrorType", "NotFoundException:http://internal.amazon.com/coral/com.amazonaws.x/")],
            br#"{"message": "Invalid API identifier specified", "resourceType": "Api"}"#,
            Some("NotFoundException"),
            "Invalid API identifier specified",
        ),
        (
            &[],
            br#"{"__type": "com.amazonaws.ivschat#ResourceNotFoundException", "message": "m"}"#,
            Some("ResourceNotFoundException"),
            "m",
        ),
        (
            &[],
            br#"{"code": "TooManyRequestsException", "Message": "slow down"}"#,
            Some("TooManyRequestsException"),
            "slow down",
        ),
        (&[], br#"{"errorMessage": "e"}"#, None, "e"),
        (&[], b"<html>bad gateway</html>", None, ""),
    ];
    for (pairs, body, code, message) in cases {
        let (found, text) = response::error(&headers(pairs), body);
        assert_eq!((found.as_deref(), text.as_str()), (*code, *message));
    }
}

#[test]
fn retries_are_for_throttling_transient_errors_and_5xx() {
    use super::{backoff, retryable};
    assert!(retryable(503, None) && retryable(500, Some("InternalServerError")) && retryable(504, None));
    assert!(retryable(429, Some("TooManyRequestsException")) && retryable(400, Some("ThrottlingException")));
    assert!(retryable(429, Some("LimitExceededException")) && retryable(408, Some("RequestTimeout")));
    assert!(!retryable(404, Some("NotFoundException")) && !retryable(501, None) && !retryable(429, None));
    for attempt in 1..=2 {
        assert!(backoff(attempt) <= std::time::Duration::from_secs(1 << (attempt - 1)));
    }
    assert!(backoff(10) <= std::time::Duration::from_secs(20));
}

/// A loopback server that answers each request with the next of `answers` (the last one repeated) and records
/// every request's head.
async fn answering(answers: Vec<(u16, &'static str)>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = heads.clone();
    tokio::spawn(async move {
        let mut answered = 0;
        while let Ok((mut tcp, _)) = listener.accept().await {
            let mut buffer = Vec::new();
            let mut chunk = [0u8; 4096];
            let head_end = loop {
                let n = tcp.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break None;
                }
                buffer.extend_from_slice(&chunk[..n]);
                if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                    break Some(i + 4);
                }
            };
            let Some(head_end) = head_end else { continue };
            let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
            let length: usize = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            while buffer.len() < head_end + length {
                let n = tcp.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                buffer.extend_from_slice(&chunk[..n]);
            }
            seen.lock().unwrap().push(head);
            let (status, body) = answers[answered.min(answers.len() - 1)];
            answered += 1;
            let response = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: \
                 close\r\n\r\n{body}",
                body.len()
            );
            let _ = tcp.write_all(response.as_bytes()).await;
            let _ = tcp.shutdown().await;
        }
    });
    (url, heads)
}

fn target(endpoint: &str) -> Target {
    Target {
        endpoint: endpoint.to_owned(),
        region: "us-west-2".to_owned(),
        credentials: aws_credential_types::Credentials::new("AKIDTEST", "secret", None, None, "test"),
        read_timeout: 5,
        connect_timeout: 5,
    }
}

#[tokio::test]
async fn a_throttled_call_is_tried_three_times_then_told_as_the_aws_cli_tells_it() {
    let throttled = (429, r#"{"__type": "ThrottlingException", "message": "Rate exceeded"}"#);
    let (url, heads) = answering(vec![throttled]).await;
    let list_rooms = operation(1, "ListRooms");
    let err = call(&target(&url), SERVICES[1], list_rooms, &Map::new()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Service);
    assert_eq!(
        err.message,
        "An error occurred (ThrottlingException) when calling the ListRooms operation (reached max retries: 2): \
         Rate exceeded"
    );
    let heads = heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 3);
    for (i, head) in heads.iter().enumerate() {
        let head = head.to_ascii_lowercase();
        assert!(head.starts_with("post /listrooms http/1.1\r\n"), "{head}");
        assert!(head.contains(&format!("amz-sdk-request: attempt={}; max=3\r\n", i + 1)), "{head}");
        assert!(head.contains("authorization: aws4-hmac-sha256 credential=akidtest/"), "{head}");
        assert!(head.contains("/us-west-2/ivschat/aws4_request"), "{head}");
        assert!(head.contains("content-type: application/json\r\n"), "{head}");
    }
}

#[tokio::test]
async fn a_5xx_then_a_success_answers_the_success() {
    let (url, heads) =
        answering(vec![(503, r#"{"message": "busy"}"#), (200, r#"{"rooms": [], "nextToken": "n"}"#)]).await;
    let answer = call(&target(&url), SERVICES[1], operation(1, "ListRooms"), &Map::new()).await.unwrap();
    assert_eq!(answer, Some(json!({"rooms": [], "nextToken": "n"})));
    assert_eq!(heads.lock().unwrap().len(), 2);
    // A client error is not retried, and an answer without a code is told by its status.
    let (url, heads) = answering(vec![(400, "")]).await;
    let err = call(&target(&url), SERVICES[1], operation(1, "ListRooms"), &Map::new()).await.unwrap_err();
    assert_eq!(err.message, "An error occurred (400) when calling the ListRooms operation: ");
    assert_eq!(heads.lock().unwrap().len(), 1);
}
