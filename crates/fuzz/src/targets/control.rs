//! `ivschat_control` and `apigatewayv2_control`: a sequence of requests (the text form of [`crate::request`],
//! separated by `---` lines) through [`ivschat::ControlPlane::handle`] and [`apigatewayv2::ControlPlane::handle`]
//! over a SQLite store in a temporary directory: routing by method and path, path labels and query parameters, each
//! operation's JSON body against the model's shapes and AWS's rules, and the operations themselves; a path under
//! `/@switchboard/ext/ivschat/` goes to ivschat's extension operations (`ControlPlane::handle_extension`).
//!
//! `{name}` in a later request stands for the last string member `name` of an earlier answer (`{apiId}`, `{arn}`,
//! `{routeId}`, …), so that sequences reach what they created. Whatever an input creates is deleted at its end, which
//! must succeed, so inputs stay independent. Every refusal is a client error: a 5xx means the server failed.

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

use chat::{ChatConfig, ChatService};
use http::Method;
use hub::{Hub, HubConfig};
use serde_json::Value;
use store::{SqliteStore, Store};
use wire::ApiError;

use crate::fixture::{block_on, once};
use crate::request::{Request, split_requests};

/// Where the server serves ivschat's extension operations (`/@switchboard/ext/ivschat/{Operation}`).
const EXTENSION_PATH: &str = "/@switchboard/ext/ivschat/";

/// Requests one input runs at most: longer sequences add time, not coverage.
const MAX_REQUESTS: usize = 16;

thread_local! {
    static IVSCHAT: OnceCell<Rc<IvsChat>> = const { OnceCell::new() };
    static APIGATEWAYV2: OnceCell<Rc<ApiGatewayV2>> = const { OnceCell::new() };
}

struct IvsChat {
    control: ivschat::ControlPlane,
    _dir: tempfile::TempDir,
}

pub(super) struct ApiGatewayV2 {
    pub(super) control: apigatewayv2::ControlPlane,
    _dir: tempfile::TempDir,
}

async fn sqlite() -> (Arc<SqliteStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    (Arc::new(SqliteStore::open(dir.path()).await.expect("a SQLite store")), dir)
}

impl IvsChat {
    fn new() -> IvsChat {
        block_on(async {
            let (store, dir) = sqlite().await;
            let store: Arc<dyn Store> = store;
            let chat = ChatService::new(
                store.clone(),
                Hub::new(HubConfig::default()),
                ChatConfig::new(dir.path(), "us-east-1", "123456789012"),
            )
            .expect("the chat service");
            let mut config = ivschat::Config::new("us-east-1", "123456789012");
            config.pagination_key = b"fuzz".to_vec();
            let control = ivschat::ControlPlane::new(store, chat.clone(), chat, config);
            IvsChat { control, _dir: dir }
        })
    }
}

impl ApiGatewayV2 {
    pub(super) fn new() -> ApiGatewayV2 {
        block_on(async {
            let (store, dir) = sqlite().await;
            let mut config = apigatewayv2::Config::new("us-east-1", "123456789012", "ws://127.0.0.1:4510");
            config.pagination_key = b"fuzz".to_vec();
            ApiGatewayV2 { control: apigatewayv2::ControlPlane::new(store, config), _dir: dir }
        })
    }
}

/// The string members of answers so far, by name.
#[derive(Default)]
struct Names(BTreeMap<String, String>);

impl Names {
    fn fill(&self, text: &str) -> String {
        let mut out = text.to_owned();
        if out.contains('{') {
            for (name, value) in &self.0 {
                out = out.replace(&format!("{{{name}}}"), value);
            }
        }
        out
    }

    fn learn(&mut self, body: &[u8]) {
        if let Ok(Value::Object(members)) = serde_json::from_slice::<Value>(body) {
            for (name, value) in members {
                if let Value::String(value) = value {
                    self.0.insert(name, value);
                }
            }
        }
    }
}

/// An answer's shape: a success has JSON or nothing; a refusal is a client error with AWS's JSON body.
fn check(result: &Result<(u16, Vec<u8>), ApiError>) {
    match result {
        Ok((status, body)) => {
            assert!((200..300).contains(status), "success with {status}");
            if !body.is_empty() {
                serde_json::from_slice::<Value>(body).expect("a JSON answer");
            }
        }
        Err(err) => {
            assert!(err.status().is_client_error(), "a request failed the server: {err:?}");
            serde_json::from_slice::<Value>(&err.body()).expect("a JSON error body");
        }
    }
}

/// Runs each request of `data` through `handle`, returning the answers' bodies by the request's method and path.
async fn run<F, Fut>(data: &[u8], mut handle: F) -> Vec<(Method, String, Vec<u8>)>
where
    F: FnMut(Method, String, Option<String>, Vec<u8>) -> Fut,
    Fut: std::future::Future<Output = Result<(u16, Vec<u8>), ApiError>>,
{
    let mut names = Names::default();
    let mut created = Vec::new();
    for part in split_requests(data).take(MAX_REQUESTS) {
        let Some(request) = Request::parse(part) else { continue };
        let Ok(method) = Method::from_bytes(request.method.as_bytes()) else { continue };
        let path = names.fill(request.path);
        let query = request.query.map(|q| names.fill(q));
        let body = match std::str::from_utf8(request.body) {
            Ok(text) => names.fill(text).into_bytes(),
            Err(_) => request.body.to_vec(),
        };
        let result = handle(method.clone(), path.clone(), query, body).await;
        check(&result);
        if let Ok((_, body)) = result {
            names.learn(&body);
            created.push((method, path, body));
        }
    }
    created
}

/// One request to the ivschat control plane, or to its extensions, as the server hands them over once their path
/// named one.
async fn ivschat_call(
    control: &ivschat::ControlPlane,
    method: Method,
    path: String,
    query: Option<String>,
    body: Vec<u8>,
) -> Result<(u16, Vec<u8>), ApiError> {
    let reply = match path.strip_prefix(EXTENSION_PATH).and_then(ivschat::Extension::from_name) {
        Some(extension) => control.handle_extension(extension, &body).await?,
        None => control.handle(&method, &path, query.as_deref(), &body).await?,
    };
    Ok((reply.status.as_u16(), reply.body))
}

pub fn ivschat_control(data: &[u8]) {
    let fixture = once(&IVSCHAT, IvsChat::new);
    block_on(async {
        let control = &fixture.control;
        let answers = run(data, |method, path, query, body| ivschat_call(control, method, path, query, body)).await;
        // Rooms first: a logging configuration a room uses cannot be deleted.
        for operation in ["/CreateRoom", "/CreateLoggingConfiguration"] {
            let delete = operation.replace("Create", "Delete");
            for (_, _, body) in answers.iter().filter(|(method, path, _)| method == Method::POST && path == operation) {
                let Ok(Value::Object(created)) = serde_json::from_slice::<Value>(body) else { continue };
                let Some(arn) = created.get("arn").and_then(Value::as_str) else { continue };
                let body = serde_json::json!({ "identifier": arn }).to_string();
                let deleted = control.handle(&Method::POST, &delete, None, body.as_bytes()).await;
                // Deleted already by the input itself, or deleted now.
                match deleted {
                    Ok(reply) => assert_eq!(reply.status.as_u16(), 204),
                    Err(err) => assert_eq!(err.status().as_u16(), 404, "{delete} {arn}: {err:?}"),
                }
            }
        }
    });
}

pub fn apigatewayv2_control(data: &[u8]) {
    let fixture = once(&APIGATEWAYV2, ApiGatewayV2::new);
    block_on(async {
        let control = &fixture.control;
        let answers = run(data, |method, path, query, body| async move {
            let reply = control.handle(&method, &path, query.as_deref(), &body).await?;
            Ok((reply.status.as_u16(), reply.body))
        })
        .await;
        for (_, _, body) in answers.iter().filter(|(method, path, _)| method == Method::POST && path == "/v2/apis") {
            let Ok(Value::Object(created)) = serde_json::from_slice::<Value>(body) else { continue };
            let Some(api_id) = created.get("apiId").and_then(Value::as_str) else { continue };
            // What the data plane would serve of each stage: the deployment read back and turned into routes.
            if let Ok(stages) = control.handle(&Method::GET, &format!("/v2/apis/{api_id}/stages"), None, b"").await
                && let Ok(Value::Object(stages)) = serde_json::from_slice::<Value>(&stages.body)
            {
                for stage in stages.get("items").and_then(Value::as_array).into_iter().flatten() {
                    let Some(name) = stage.get("stageName").and_then(Value::as_str) else { continue };
                    if let Ok(Some(deployed)) = control.deployed_stage(api_id, name).await {
                        let _ = apigw::deployed::runtime(api_id, name, &deployed.stage, &deployed.definitions);
                    }
                }
            }
            let path = format!("/v2/apis/{api_id}");
            match control.handle(&Method::DELETE, &path, None, b"").await {
                Ok(reply) => assert_eq!(reply.status.as_u16(), 204),
                Err(err) => assert_eq!(err.status().as_u16(), 404, "{path}: {err:?}"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed(path: &str) -> Vec<u8> {
        std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(path)).unwrap()
    }

    fn requests(data: &[u8]) -> usize {
        split_requests(data).count()
    }

    /// The lifecycle seeds reach every operation they name: each of their requests succeeds, so `{name}`s are
    /// filled from earlier answers and the fuzzer starts from deep inside the control planes.
    #[test]
    fn lifecycle_seeds_succeed_request_by_request() {
        let ivschat = once(&IVSCHAT, IvsChat::new);
        let ivschat = &ivschat.control;
        for name in ["ivschat_control/room-lifecycle", "ivschat_control/logging-and-tags", "ivschat_control/extensions"]
        {
            let data = seed(name);
            let answers =
                block_on(run(&data, |method, path, query, body| ivschat_call(ivschat, method, path, query, body)));
            assert_eq!(
                answers.len(),
                requests(&data),
                "{name}: {:?}",
                answers.iter().map(|a| &a.1).collect::<Vec<_>>()
            );
        }
        let apigatewayv2 = once(&APIGATEWAYV2, ApiGatewayV2::new);
        let apigatewayv2 = &apigatewayv2.control;
        for name in ["apigatewayv2_control/api-lifecycle", "apigatewayv2_control/mock-and-templates"] {
            let data = seed(name);
            let answers = block_on(run(&data, |method, path, query, body| async move {
                let reply = apigatewayv2.handle(&method, &path, query.as_deref(), &body).await?;
                Ok((reply.status.as_u16(), reply.body))
            }));
            assert_eq!(
                answers.len(),
                requests(&data),
                "{name}: {:?}",
                answers.iter().map(|a| &a.1).collect::<Vec<_>>()
            );
        }
    }
}
