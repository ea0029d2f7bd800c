//! The Lambda API over real environments (`bootstrap` scripts), the test playing their runtime client: every
//! invocation type, the log tail, function and service errors, and the function listings.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{LambdaApi, Reply};
use crate::testing::{Handles, settings, spec, write_script};
use crate::{Functions, RuntimeHandle};

struct Api {
    api: LambdaApi,
    handles: tokio::sync::Mutex<mpsc::UnboundedReceiver<RuntimeHandle>>,
    _dir: tempfile::TempDir,
}

impl Api {
    /// Functions `f` (reserving `reserved`), `g` and `h`, whose `bootstrap` prints a line every 20 ms.
    fn new(reserved: Option<u32>, event_queue: usize) -> Api {
        let dir = tempfile::tempdir().unwrap();
        write_script(dir.path(), "bootstrap", "while true; do echo tick; sleep 0.02; done");
        let mut f = spec("f", dir.path());
        f.reserved_concurrency = reserved;
        f.environment.insert("TABLE".to_owned(), "t".to_owned());
        let mut settings = settings(dir.path());
        settings.event_queue = event_queue;
        settings.queue_timeout = Duration::from_millis(100);
        let (tx, handles) = mpsc::unbounded_channel();
        let specs = vec![f, spec("g", dir.path()), spec("h", dir.path())];
        let functions = Functions::new(specs, settings, Arc::new(Handles(tx))).unwrap();
        Api { api: LambdaApi::new(Arc::new(functions)), handles: tokio::sync::Mutex::new(handles), _dir: dir }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        query: Option<&str>,
        headers: &[(&'static str, &str)],
        body: &str,
    ) -> Result<Reply, wire::ApiError> {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        self.api.handle(&method, path, query, &map, Bytes::from(body.to_owned())).await
    }

    async fn next_handle(&self) -> RuntimeHandle {
        let mut handles = self.handles.lock().await;
        tokio::time::timeout(Duration::from_secs(5), handles.recv()).await.unwrap().unwrap()
    }
}

fn error_of(result: Result<Reply, wire::ApiError>) -> (u16, &'static str, Value) {
    let err = result.expect_err("an error");
    (err.status().as_u16(), err.code.aws_type(), serde_json::from_slice(&err.body()).unwrap())
}

fn header<'a>(reply: &'a Reply, name: &str) -> Option<&'a str> {
    reply.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
}

const INVOKE: &str = "/2015-03-31/functions/f/invocations";

#[tokio::test]
async fn request_response_answers_the_result_with_the_log_tail_or_the_function_error() {
    let host = Api::new(None, 10);
    let (reply, handle) =
        tokio::join!(host.call(Method::POST, INVOKE, None, &[("x-amz-log-type", "Tail")], r#"{"n":1}"#), async {
            let handle = host.next_handle().await;
            let next = handle.next().await.unwrap();
            assert_eq!(next.payload, Bytes::from_static(br#"{"n":1}"#));
            tokio::time::sleep(Duration::from_millis(60)).await;
            handle.respond(&next.request_id, Bytes::from_static(b"\"done\"")).unwrap();
            (handle, next.request_id)
        });
    let reply = reply.unwrap();
    let (handle, request_id) = handle;
    assert_eq!((reply.status, reply.body.as_ref()), (200, b"\"done\"".as_ref()));
    assert_eq!(header(&reply, "x-amz-executed-version"), Some("$LATEST"));
    assert_eq!(header(&reply, "x-amz-function-error"), None);
    let log = base64::engine::general_purpose::STANDARD.decode(header(&reply, "x-amz-log-result").unwrap()).unwrap();
    let log = String::from_utf8(log).unwrap();
    assert!(log.starts_with(&format!("START RequestId: {request_id} Version: $LATEST\n")), "{log}");
    assert!(log.contains("\ntick\n"), "the function's output while it ran: {log}");
    assert!(log.contains(&format!("END RequestId: {request_id}\nREPORT RequestId: {request_id}\t")), "{log}");

    // An empty payload is `{}`; a handled error answers 200 with X-Amz-Function-Error and the error document.
    let (reply, ()) = tokio::join!(host.call(Method::POST, INVOKE, Some("Qualifier=%24LATEST"), &[], ""), async {
        let next = handle.next().await.unwrap();
        assert_eq!(next.payload, Bytes::from_static(b"{}"));
        let error = br#"{"errorMessage":"boom","errorType":"Oops"}"#;
        handle.fail(&next.request_id, None, error).unwrap();
    });
    let reply = reply.unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(header(&reply, "x-amz-function-error"), Some("Unhandled"));
    assert_eq!(serde_json::from_slice::<Value>(&reply.body).unwrap()["errorType"], "Oops");
    assert_eq!(header(&reply, "x-amz-log-result"), None, "no tail unless asked");
}

#[tokio::test]
async fn bad_calls_are_refused_as_lambda_refuses_them() {
    let host = Api::new(Some(0), 10);
    let missing = host.call(Method::POST, "/2015-03-31/functions/nope/invocations", None, &[], "{}").await;
    assert_eq!(
        error_of(missing),
        (
            404,
            "ResourceNotFoundException",
            json!({"Message": "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope", "Type": "User"})
        )
    );
    let (status, kind, body) = error_of(host.call(Method::POST, INVOKE, None, &[], "{not json").await);
    assert_eq!((status, kind, &body["Type"]), (400, "InvalidRequestContentException", &json!("User")));
    assert!(body["message"].as_str().unwrap().starts_with("Could not parse request body into json"), "{body}");
    let mismatch = host.call(Method::POST, "/2015-03-31/functions/f:live/invocations", Some("Qualifier=7"), &[], "");
    let (status, kind, body) = error_of(mismatch.await);
    assert_eq!((status, kind), (400, "InvalidParameterValueException"));
    assert_eq!(body["message"], "The derived qualifier from the function name does not match the specified qualifier.");
    let bad_type = host.call(Method::POST, INVOKE, None, &[("x-amz-invocation-type", "Later")], "{}").await;
    assert_eq!(error_of(bad_type).0, 400);
    let bad_log = host.call(Method::POST, INVOKE, None, &[("x-amz-log-type", "All")], "{}").await;
    assert_eq!(error_of(bad_log).0, 400);
    let big = format!("\"{}\"", "x".repeat(crate::MAX_PAYLOAD_BYTES));
    assert_eq!(error_of(host.call(Method::POST, INVOKE, None, &[], &big).await).1, "RequestTooLargeException");
    let bad_name = host.call(Method::POST, "/2015-03-31/functions/bad%20name/invocations", None, &[], "{}").await;
    assert_eq!(error_of(bad_name).1, "InvalidParameterValueException");

    // Reserved concurrency 0 throttles, with Lambda's reason; a dry run only checks.
    let (status, kind, body) = error_of(host.call(Method::POST, INVOKE, None, &[], "{}").await);
    assert_eq!((status, kind), (429, "TooManyRequestsException"));
    assert_eq!(body["Reason"], "ReservedFunctionConcurrentInvocationLimitExceeded");
    let dry = host.call(Method::POST, INVOKE, None, &[("x-amz-invocation-type", "DryRun")], "{}").await.unwrap();
    assert_eq!((dry.status, dry.body.len()), (204, 0));

    let other = host.call(Method::DELETE, "/2015-03-31/functions/f", None, &[], "").await;
    let (status, kind, body) = error_of(other);
    assert_eq!((status, kind), (400, "InvalidParameterValueException"));
    assert!(body["message"].as_str().unwrap().contains("DeleteFunction is not supported"), "{body}");
}

#[tokio::test]
async fn events_are_accepted_into_a_bounded_queue_and_run_in_the_background() {
    let host = Api::new(None, 1);
    let event = [("x-amz-invocation-type", "Event")];
    let accepted = host.call(Method::POST, INVOKE, None, &event, r#"{"e":1}"#).await.unwrap();
    assert_eq!((accepted.status, accepted.body.len()), (202, 0));
    let (status, kind, _) = error_of(host.call(Method::POST, INVOKE, None, &event, "{}").await);
    assert_eq!((status, kind), (429, "TooManyRequestsException"), "the queue holds one event");
    let big = format!("\"{}\"", "x".repeat(crate::events::MAX_EVENT_PAYLOAD_BYTES));
    assert_eq!(error_of(host.call(Method::POST, INVOKE, None, &event, &big).await).0, 413);

    let handle = host.next_handle().await;
    let next = handle.next().await.unwrap();
    assert_eq!(next.payload, Bytes::from_static(br#"{"e":1}"#));
    // A function error runs the event again, on the warm environment.
    handle.fail(&next.request_id, Some("Oops"), b"").unwrap();
    let again = tokio::time::timeout(Duration::from_secs(5), handle.next()).await.unwrap().unwrap();
    assert_eq!(again.payload, Bytes::from_static(br#"{"e":1}"#));
    handle.respond(&again.request_id, Bytes::from_static(b"null")).unwrap();
    for _ in 0..100 {
        if host.api.functions.queued_events() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(host.api.functions.queued_events(), 0);
    let accepted = host.call(Method::POST, INVOKE, None, &event, "{}").await.unwrap();
    assert_eq!(accepted.status, 202, "the queue has room again");
    assert!(host.api.functions.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn functions_are_described_and_listed_page_by_page() {
    let host = Api::new(Some(2), 10);
    let reply = host.call(Method::GET, "/2015-03-31/functions/f", Some("Qualifier=live"), &[], "").await.unwrap();
    let answer: Value = serde_json::from_slice(&reply.body).unwrap();
    let configuration = &answer["Configuration"];
    assert_eq!(configuration["FunctionName"], "f");
    assert_eq!(configuration["FunctionArn"], "arn:aws:lambda:us-east-1:000000000000:function:f:live");
    assert_eq!(configuration["Runtime"], "provided.al2023");
    assert_eq!((&configuration["Timeout"], &configuration["MemorySize"]), (&json!(3), &json!(128)));
    assert_eq!((&configuration["State"], &configuration["LastUpdateStatus"]), (&json!("Active"), &json!("Successful")));
    assert_eq!(configuration["Environment"], json!({"Variables": {"TABLE": "t"}}));
    assert!(configuration["CodeSize"].as_u64().unwrap() > 0);
    assert!(configuration["LastModified"].as_str().unwrap().ends_with("+0000"));
    assert_eq!(answer["Concurrency"], json!({"ReservedConcurrentExecutions": 2}));

    let mut names = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let query = match &marker {
            Some(m) => format!("MaxItems=2&Marker={m}"),
            None => "MaxItems=2".to_owned(),
        };
        let reply = host.call(Method::GET, "/2015-03-31/functions/", Some(&query), &[], "").await.unwrap();
        let page: Value = serde_json::from_slice(&reply.body).unwrap();
        names.extend(
            page["Functions"].as_array().unwrap().iter().map(|f| f["FunctionName"].as_str().unwrap().to_owned()),
        );
        match page["NextMarker"].as_str() {
            Some(next) => marker = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(names, ["f", "g", "h"]);
    for bad in ["MaxItems=0", "MaxItems=10001", "Marker=%21%21", "FunctionVersion=SOME", "MasterRegion=us-east-1"] {
        let result = host.call(Method::GET, "/2015-03-31/functions", Some(bad), &[], "").await;
        assert_eq!(error_of(result).1, "InvalidParameterValueException", "{bad}");
    }
    let edge =
        host.call(Method::GET, "/2015-03-31/functions", Some("MasterRegion=us-east-1&FunctionVersion=ALL"), &[], "");
    assert_eq!(serde_json::from_slice::<Value>(&edge.await.unwrap().body).unwrap()["Functions"], json!([]));
}
