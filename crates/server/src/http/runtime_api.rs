//! The Lambda Runtime API (version 2018-06-01) of hosted functions: one listener on `127.0.0.1:0` per execution
//! environment, so the address in `AWS_LAMBDA_RUNTIME_API` alone tells which environment a request is from, serving
//! that environment's [`RuntimeHandle`].
//!
//! Any path that ends in a Runtime API resource is served, whatever precedes it (clients build
//! `http://{AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/…`; some drop the version): `GET …/runtime/invocation/next`
//! (200, the event, `Lambda-Runtime-*` headers; it waits as long as the environment lives), `POST
//! …/runtime/invocation/{id}/response` and `…/error`, `POST …/runtime/init/error` (202 `{"status":"OK"}`), with AWS's
//! errors: 400 `InvalidRequestID`, 413 `RequestEntityTooLarge`, 403 for a call the state does not allow, 500 once
//! the environment is stopping (the runtime should exit), 404 for anything else.
//!
//! Listeners and their connections run on the server's [`Background`]: they outlive the connection work that
//! shutdown drains first (a `$disconnect` still invokes functions during the grace period), and each stops when its
//! environment's [`Binding`] is dropped, which happens once the environment's process is gone.

use std::convert::Infallible;
use std::future::Future;
use std::net::Ipv4Addr;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use functions::{Binding, MAX_PAYLOAD_BYTES, NextInvocation, RuntimeApiError, RuntimeApiServer, RuntimeHandle};
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tasks::Background;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::{Body, BodyError, read_body};

/// Binds the Runtime API listeners of hosted functions' environments.
#[derive(Debug)]
pub(crate) struct RuntimeApiListeners {
    pub(crate) background: Background,
}

impl RuntimeApiServer for RuntimeApiListeners {
    fn bind(&self, handle: RuntimeHandle) -> Pin<Box<dyn Future<Output = std::io::Result<Binding>> + Send + '_>> {
        Box::pin(async move {
            let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
            let addr = listener.local_addr()?;
            let stop = CancellationToken::new();
            self.background.spawn(accept(listener, handle, stop.clone(), self.background.clone()));
            Ok(Binding::new(addr, stop))
        })
    }
}

/// Accepts the environment's connections until its binding is dropped.
async fn accept(listener: TcpListener, handle: RuntimeHandle, stop: CancellationToken, background: Background) {
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((tcp, _)) = accepted else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let (handle, stop) = (handle.clone(), stop.clone());
        background.spawn(async move {
            let service = service_fn(move |req| answer(handle.clone(), req));
            let connection = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tcp), service);
            tokio::select! {
                () = stop.cancelled() => {}
                _ = connection => {}
            }
        });
    }
}

/// A Runtime API resource.
#[derive(Debug, PartialEq, Eq)]
enum Resource<'a> {
    Next,
    Response(&'a str),
    Error(&'a str),
    InitError,
}

/// The resource a path names, whatever precedes `runtime/`.
fn resource(path: &str) -> Option<Resource<'_>> {
    let at = path.rfind("/runtime/")?;
    let rest = &path[at + "/runtime/".len()..];
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    match rest {
        "invocation/next" => Some(Resource::Next),
        "init/error" => Some(Resource::InitError),
        _ => {
            let (id, what) = rest.strip_prefix("invocation/")?.split_once('/')?;
            if id.is_empty() || id.contains('/') {
                return None;
            }
            match what {
                "response" => Some(Resource::Response(id)),
                "error" => Some(Resource::Error(id)),
                _ => None,
            }
        }
    }
}

async fn answer(handle: RuntimeHandle, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let (parts, body) = req.into_parts();
    let error_type =
        parts.headers.get("lambda-runtime-function-error-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let outcome = match (&parts.method, resource(parts.uri.path())) {
        (&Method::GET, Some(Resource::Next)) => return Ok(next(&handle).await),
        (&Method::POST, Some(Resource::Response(id))) => match read_body(body, MAX_PAYLOAD_BYTES).await {
            Ok(payload) => handle.respond(id, payload),
            Err(BodyError::TooLarge) => Err(handle.response_too_large(id)),
            Err(BodyError::Unreadable) => Err(unreadable()),
        },
        (&Method::POST, Some(Resource::Error(id))) => match read_body(body, MAX_PAYLOAD_BYTES).await {
            Ok(document) => handle.fail(id, error_type.as_deref(), &document),
            Err(BodyError::TooLarge) => Err(functions::RuntimeApiError::too_large()),
            Err(BodyError::Unreadable) => Err(unreadable()),
        },
        (&Method::POST, Some(Resource::InitError)) => match read_body(body, MAX_PAYLOAD_BYTES).await {
            Ok(document) => handle.init_error(error_type.as_deref(), &document),
            Err(BodyError::TooLarge) => Err(functions::RuntimeApiError::too_large()),
            Err(BodyError::Unreadable) => Err(unreadable()),
        },
        _ => Err(RuntimeApiError {
            status: 404,
            error_type: "NotFound",
            message: format!("No Runtime API resource at {} {}", parts.method, parts.uri.path()),
        }),
    };
    Ok(match outcome {
        Ok(()) => json(StatusCode::ACCEPTED, r#"{"status":"OK"}"#.to_owned()),
        Err(err) => error(&err),
    })
}

/// `GET …/invocation/next`: the event and its `Lambda-Runtime-*` headers.
async fn next(handle: &RuntimeHandle) -> Response<Body> {
    let invocation: NextInvocation = match handle.next().await {
        Ok(invocation) => invocation,
        Err(err) => return error(&err),
    };
    let mut response = Response::new(Body::from(invocation.payload));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let mut set = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set("lambda-runtime-aws-request-id", &invocation.request_id);
    set("lambda-runtime-deadline-ms", &invocation.deadline_ms.to_string());
    set("lambda-runtime-invoked-function-arn", &invocation.function_arn);
    set("lambda-runtime-trace-id", &invocation.trace_id);
    response
}

fn unreadable() -> RuntimeApiError {
    RuntimeApiError { status: 400, error_type: "InvalidRequest", message: "Could not read the request body".to_owned() }
}

fn error(err: &RuntimeApiError) -> Response<Body> {
    json(StatusCode::from_u16(err.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), err.body())
}

fn json(status: StatusCode, body: String) -> Response<Body> {
    let mut response = Response::new(Body::from(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

#[cfg(test)]
mod client_tests;
#[cfg(test)]
mod tests;
