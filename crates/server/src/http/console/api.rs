//! The console's JSON API (`/@switchboard/console/api/…`): the overview, the live connections and one connection's
//! page, the rooms and logging configurations (through the chat control plane), the hosted functions' recent
//! invocations and logs, and the actions on a connection, which go through the management API's own code
//! ([`crate::http::management::run_call`]), so they behave as PostToConnection and DeleteConnection do.

use std::collections::BTreeMap;
use std::sync::Arc;

use apigw::management::console::{ConsolePage, ConsoleQuery};
use apigw::management::ext::NodeCall;
use apigw::management::{Call, Op};
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use hub::{Connection, ConnectionId, Scope};
use hyper::body::Incoming;
use serde_json::{Value, json};

use super::{AdminBody, json as json_response, live, signin, status};
use crate::http::read_body;
use crate::state::AppState;

/// Connections on one page of the list, at most.
pub(crate) const MAX_PAGE_SIZE: usize = 200;

/// How long the console waits for the bus's list of nodes.
const MEMBERS_DEADLINE: std::time::Duration = std::time::Duration::from_secs(2);

/// How long the console waits for a node's page of connections; a node that has not answered by then is listed as
/// missing.
const NODE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(3);

/// Pages of the connections list, at most (each node answers up to the end of the page asked for).
pub(crate) const MAX_PAGES: usize = 50;

/// Bytes of the body of a call to the chat control plane (SendEvent's attributes, UpdateRoom's settings), at most.
const MAX_CONTROL_BODY_BYTES: usize = 64 * 1024;

/// Bytes of a sign-in body, at most.
const MAX_SIGNIN_BYTES: usize = 4096;

/// The header every state-changing call carries. A page of another site cannot send it without a CORS preflight,
/// which the console never allows, so such a page cannot post to a console it cannot read.
pub(crate) const CALLER_HEADER: &str = "x-switchboard-console";

pub(super) async fn handle(
    state: &Arc<AppState>,
    call: &str,
    req: Request<Incoming>,
    watch: &Arc<live::Watch>,
) -> Response<AdminBody> {
    let method = req.method().clone();
    if !signin::host_allowed(state, req.headers()) {
        return status(StatusCode::FORBIDDEN);
    }
    if method == Method::POST && !req.headers().contains_key(CALLER_HEADER) {
        return status(StatusCode::FORBIDDEN);
    }
    let query = Query::of(req.uri().query());
    match (&method, call) {
        (&Method::GET, "session") => {
            let signed_in = signin::allowed(state, req.headers());
            return json_response(
                StatusCode::OK,
                &json!({ "signInRequired": super::needs_signin(state), "signedIn": signed_in }),
            );
        }
        (&Method::POST, "signin") => return sign_in(state, req).await,
        (&Method::POST, "signout") => return with_cookie(status(StatusCode::NO_CONTENT), &signin::sign_out()),
        _ => {}
    }
    if !signin::allowed(state, req.headers()) {
        return status(StatusCode::UNAUTHORIZED);
    }
    match (&method, call.split('/').collect::<Vec<_>>().as_slice()) {
        (&Method::GET, ["overview"]) => json_response(StatusCode::OK, &overview(state).await),
        (&Method::GET, ["connections"]) => json_response(StatusCode::OK, &connections(state, &query).await),
        (&Method::GET, ["connections", id]) => connection(state, id),
        (&Method::POST, ["connections", id, "send"]) => {
            let limit = state.config.limits.max_message_bytes;
            match read_body(req.into_body(), limit).await {
                Ok(body) => act(state, id, Op::Post, body).await,
                Err(_) => status(StatusCode::PAYLOAD_TOO_LARGE),
            }
        }
        (&Method::POST, ["connections", id, "disconnect"]) => act(state, id, Op::Delete, bytes::Bytes::new()).await,
        (&Method::GET, ["rooms"]) => rooms(state).await,
        (&Method::GET, ["rooms", id]) => room(state, id).await,
        (&Method::POST, ["rooms", id, action]) => {
            let Some((operation, field)) = room_operation(action) else { return status(StatusCode::NOT_FOUND) };
            match read_body(req.into_body(), MAX_CONTROL_BODY_BYTES).await {
                Ok(body) => control_action(state, operation, Some((field, id)), &body).await,
                Err(_) => status(StatusCode::PAYLOAD_TOO_LARGE),
            }
        }
        (&Method::GET, ["functions"]) => json_response(StatusCode::OK, &functions(state)),
        (&Method::GET, ["logging"]) => {
            let (code, listed) = chat_call(state, "ListLoggingConfigurations", &json!({ "maxResults": 50 })).await;
            json_response(code, &listed)
        }
        (&Method::POST, ["logging", rest @ ..]) => {
            let (operation, identifier) = match rest {
                ["create"] => ("CreateLoggingConfiguration", None),
                [id, "update"] => ("UpdateLoggingConfiguration", Some(("identifier", *id))),
                [id, "delete"] => ("DeleteLoggingConfiguration", Some(("identifier", *id))),
                _ => return status(StatusCode::NOT_FOUND),
            };
            match read_body(req.into_body(), MAX_CONTROL_BODY_BYTES).await {
                Ok(body) => control_action(state, operation, identifier, &body).await,
                Err(_) => status(StatusCode::PAYLOAD_TOO_LARGE),
            }
        }
        (&Method::GET, ["events"]) => {
            let last = req.headers().get("last-event-id").and_then(|v| v.to_str().ok()?.parse().ok());
            live::events(state, &query, last, watch)
        }
        (
            _,
            ["overview" | "connections" | "events" | "rooms" | "logging" | "functions"]
            | ["connections" | "rooms", _]
            | ["connections", _, "send" | "disconnect"],
        ) => status(StatusCode::METHOD_NOT_ALLOWED),
        _ => status(StatusCode::NOT_FOUND),
    }
}

async fn sign_in(state: &AppState, req: Request<Incoming>) -> Response<AdminBody> {
    if !state.console_signins.try_take() {
        return status(StatusCode::TOO_MANY_REQUESTS);
    }
    let Ok(body) = read_body(req.into_body(), MAX_SIGNIN_BYTES).await else {
        return status(StatusCode::PAYLOAD_TOO_LARGE);
    };
    match signin::sign_in(state, &body) {
        Some(cookie) => with_cookie(status(StatusCode::OK), &cookie),
        None => status(StatusCode::UNAUTHORIZED),
    }
}

fn with_cookie(mut response: Response<AdminBody>, cookie: &str) -> Response<AdminBody> {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// A query string's parameters, percent-decoded; the last of a repeated name wins.
pub(crate) struct Query(BTreeMap<String, String>);

impl Query {
    pub(crate) fn of(query: Option<&str>) -> Query {
        let decode =
            |s: &str| percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned();
        let pairs = query.unwrap_or_default().split('&').filter(|p| !p.is_empty()).map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        });
        Query(pairs.collect())
    }

    /// A non-empty parameter.
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).filter(|v| !v.is_empty()).cloned()
    }

    fn number(&self, name: &str, default: usize) -> usize {
        self.get(name).and_then(|v| v.parse().ok()).unwrap_or(default)
    }
}

/// The cluster's APIs and stages with their live connections and rooms with their members (every node asked), this
/// node's capture totals and their history (which the page turns into rates), and the cluster's health. It says which
/// node serves it and which nodes did not answer.
async fn overview(state: &AppState) -> Value {
    let query = ConsoleQuery::default();
    let cluster = cluster_pages(state, &query).await;
    let mut stages: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut rooms: BTreeMap<String, usize> = BTreeMap::new();
    for page in cluster.pages.iter() {
        for (api, stage, n) in &page.stages {
            *stages.entry((api.clone(), stage.clone())).or_default() += n;
        }
        for (room, n) in &page.rooms {
            *rooms.entry(room.clone()).or_default() += n;
        }
    }
    // The configured APIs' stages are listed even without connections.
    for api in state.apis.apis() {
        for stage in &api.api.stages {
            stages.entry((api.api.api_id.to_string(), stage.stage_name.clone())).or_default();
        }
    }
    let capture = state.capture.as_ref();
    let (kept_events, kept_bytes) = capture.map_or((0, 0), |c| c.kept());
    json!({
        "node": state.cluster.node(),
        "scope": if cluster.missing.is_empty() { "cluster" } else { "partial" },
        "status": crate::http::admin::status(state),
        "connections": cluster.pages.iter().map(|p| p.connections).sum::<usize>(),
        "stages": stages.into_iter().map(|((api, stage), n)| json!({"api": api, "stage": stage, "connections": n})).collect::<Vec<_>>(),
        "rooms": rooms.into_iter().map(|(room, n)| json!({"room": room, "members": n})).collect::<Vec<_>>(),
        "totals": capture.map(|c| c.totals()),
        "history": capture.map(|c| c.history()),
        "sampleMs": capture::SAMPLE_EVERY.as_millis() as u64,
        "kept": { "events": kept_events, "bytes": kept_bytes },
        "cluster": crate::cluster::health_json(&state.cluster),
        "nodes": cluster.nodes,
        "missing": cluster.missing,
    })
}

/// What the cluster's nodes answered to a [`ConsoleQuery`]: the nodes asked (`None` when the bus could not list
/// them: then this node alone answered), the pages of those that answered, and the nodes that did not.
struct ClusterPages {
    nodes: Option<Vec<u16>>,
    pages: Vec<ConsolePage>,
    missing: Vec<u16>,
}

/// Asks every node of the cluster (this one directly, the others through the bus, all at once, each within the
/// forwarding deadline) for its page of connections.
async fn cluster_pages(state: &AppState, query: &ConsoleQuery) -> ClusterPages {
    let here = state.cluster.node();
    let nodes = match tokio::time::timeout(MEMBERS_DEADLINE, state.cluster.nodes()).await {
        Ok(Ok(nodes)) => Some(nodes),
        _ => None,
    };
    let asked = nodes.clone().unwrap_or_else(|| vec![here]);
    let call = NodeCall::Console(query.clone());
    let answers = futures_util::future::join_all(asked.iter().map(|&node| {
        let call = &call;
        async move {
            let reply = tokio::time::timeout(NODE_DEADLINE, state.cluster.on_node(&state.hub, node, call)).await;
            let page = reply.ok().and_then(Result::ok).and_then(|reply| serde_json::from_str(&reply.json?).ok());
            (node, page)
        }
    }))
    .await;
    let mut pages = Vec::new();
    let mut missing = Vec::new();
    for (node, page) in answers {
        match page {
            Some(page) => pages.push(page),
            None => missing.push(node),
        }
    }
    ClusterPages { nodes, pages, missing }
}

fn describe(conn: &Connection) -> Value {
    apigw::management::console::describe(conn)
}

/// A page of the cluster's live connections, newest first, filtered by `stage`, `room`, `group` and a search `q` (a
/// part of the id, source address, user agent or user): each node answers its newest up to the end of the page.
async fn connections(state: &AppState, query: &Query) -> Value {
    let page_size = query.number("pageSize", 50).clamp(1, MAX_PAGE_SIZE);
    let page = query.number("page", 0).min(MAX_PAGES - 1);
    let wanted = ConsoleQuery {
        stage: query.get("stage"),
        room: query.get("room"),
        group: query.get("group"),
        search: query.get("q"),
        limit: (page + 1) * page_size,
    };
    let cluster = cluster_pages(state, &wanted).await;
    let total: usize = cluster.pages.iter().map(|p| p.total).sum();
    let mut found: Vec<Value> = cluster.pages.into_iter().flat_map(|p| p.items).collect();
    let newest = |item: &Value| (item["connectedAt"].as_str().unwrap_or_default().to_owned(), item["id"].to_string());
    found.sort_by_key(|item| std::cmp::Reverse(newest(item)));
    let items: Vec<Value> = found.into_iter().skip(page * page_size).take(page_size).collect();
    json!({ "total": total, "page": page, "pageSize": page_size, "items": items, "missing": cluster.missing })
}

/// The hosted functions, each with its definition, its live execution environments, and its last invocations and
/// log lines (bounded by the `functions` crate: [`functions::KEPT_INVOCATIONS`], [`functions::KEPT_LINES`]).
fn functions(state: &AppState) -> Value {
    let functions: Vec<Value> = state
        .functions
        .specs()
        .map(|spec| {
            let activity = state.functions.activity(&spec.name).unwrap_or_default();
            json!({
                "name": spec.name,
                "runtime": spec.runtime.name(),
                "handler": spec.handler,
                "timeoutSeconds": spec.timeout.as_secs_f64(),
                "memoryMb": spec.memory_mb,
                "environments": state.functions.environments(&spec.name),
                "invocations": activity.invocations,
                "lines": activity.lines,
            })
        })
        .collect();
    json!({ "functions": functions })
}

/// A connection id as a path segment (its `=` may be percent-encoded).
fn connection_id(segment: &str) -> Option<ConnectionId> {
    ConnectionId::parse(&percent_encoding::percent_decode_str(segment).decode_utf8().ok()?)
}

/// One connection: what it is while it is live, and its recent events (kept after it closed, while the capture
/// holds them).
fn connection(state: &AppState, id: &str) -> Response<AdminBody> {
    let Some(id) = connection_id(id) else { return status(StatusCode::BAD_REQUEST) };
    let live = state.hub.get(id).map(|conn| describe(&conn));
    let filter = capture::Filter { connection: Some(id.to_string()), ..Default::default() };
    let events = state.capture.as_ref().map(|c| c.recent(&filter, usize::MAX)).unwrap_or_default();
    if live.is_none() && events.is_empty() {
        if id.node() != state.cluster.node() {
            let message = format!("Connection {id} is on node {}: its traffic is on that node's console.", id.node());
            return json_response(StatusCode::NOT_FOUND, &json!({ "message": message }));
        }
        return status(StatusCode::NOT_FOUND);
    }
    let events: Vec<Value> = events.iter().map(|e| serde_json::to_value(&**e).unwrap_or_default()).collect();
    json_response(StatusCode::OK, &json!({ "id": id.to_string(), "live": live, "events": events }))
}

/// PostToConnection or DeleteConnection, through the management API's code (this node's, or forwarded).
async fn act(state: &Arc<AppState>, id: &str, op: Op, body: bytes::Bytes) -> Response<AdminBody> {
    let Some(id) = connection_id(id) else { return status(StatusCode::BAD_REQUEST) };
    let call = Call { op, id, api: None, stage: None };
    match crate::http::management::run_call(state, &call, body, None).await {
        Ok(reply) => json_response(StatusCode::OK, &json!({ "status": reply.status })),
        Err(err) => {
            let code = err.code.status();
            json_response(code, &json!({ "status": code.as_u16(), "message": err.message }))
        }
    }
}

/// Calls an operation of the IVS Chat control plane as a signed client would: its status and JSON answer.
async fn chat_call(state: &AppState, operation: &str, input: &Value) -> (StatusCode, Value) {
    let body = input.to_string();
    match state.control.handle(&Method::POST, &format!("/{operation}"), None, body.as_bytes()).await {
        Ok(reply) => (reply.status, serde_json::from_slice(&reply.body).unwrap_or(Value::Null)),
        Err(err) => (err.code.status(), json!({ "message": err.message })),
    }
}

/// The members on this node of each room, by room id.
fn members_by_room(state: &AppState) -> BTreeMap<String, Vec<Arc<Connection>>> {
    let mut rooms: BTreeMap<String, Vec<Arc<Connection>>> = BTreeMap::new();
    for conn in state.hub.snapshot() {
        if let Scope::Chat { room_id, .. } = &conn.info().scope {
            rooms.entry(room_id.to_string()).or_default().push(conn.clone());
        }
    }
    rooms
}

/// The rooms (ListRooms, up to 50) with their members on this node.
async fn rooms(state: &AppState) -> Response<AdminBody> {
    let (code, listed) = chat_call(state, "ListRooms", &json!({ "maxResults": 50 })).await;
    if code != StatusCode::OK {
        return json_response(code, &listed);
    }
    let members = members_by_room(state);
    let rooms: Vec<Value> = listed["rooms"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|room| {
            let id = room["id"].as_str().unwrap_or_default();
            let mut room = room.clone();
            room["members"] = json!(members.get(id).map_or(0, Vec::len));
            room
        })
        .collect();
    json_response(StatusCode::OK, &json!({ "rooms": rooms }))
}

/// A room's settings (GetRoom) and its members on this node.
async fn room(state: &AppState, id: &str) -> Response<AdminBody> {
    let (code, room) = chat_call(state, "GetRoom", &json!({ "identifier": id })).await;
    if code != StatusCode::OK {
        return json_response(code, &room);
    }
    let room_id = room["id"].as_str().unwrap_or(id).to_owned();
    let members: Vec<Value> =
        members_by_room(state).remove(&room_id).unwrap_or_default().iter().map(|c| describe(c)).collect();
    json_response(StatusCode::OK, &json!({ "room": room, "members": members }))
}

/// The control plane's operation a room's action runs, and the input field that names the room.
fn room_operation(action: &str) -> Option<(&'static str, &'static str)> {
    Some(match action {
        "send-event" => ("SendEvent", "roomIdentifier"),
        "delete-message" => ("DeleteMessage", "roomIdentifier"),
        "disconnect-user" => ("DisconnectUser", "roomIdentifier"),
        "update" => ("UpdateRoom", "identifier"),
        _ => return None,
    })
}

/// An operation of the chat control plane (a room's action or settings, a logging configuration's creation, update
/// or deletion), so it is checked, logged and delivered as a signed call's would be. The body is the operation's
/// input without the identifier, which `identifier` (its field's name and value) adds. The answer carries the
/// operation's status and answer, and on an error its message (AWS's) at the top, where the page reads it.
async fn control_action(
    state: &AppState,
    operation: &str,
    identifier: Option<(&str, &str)>,
    body: &[u8],
) -> Response<AdminBody> {
    let Ok(Value::Object(mut input)) = serde_json::from_slice::<Value>(body) else {
        return json_response(StatusCode::BAD_REQUEST, &json!({ "message": "The body is not a JSON object" }));
    };
    if let Some((field, id)) = identifier {
        let id = percent_encoding::percent_decode_str(id).decode_utf8_lossy();
        input.insert(field.to_owned(), json!(id));
    }
    let (code, answer) = chat_call(state, operation, &Value::Object(input)).await;
    let mut reply = json!({ "status": code.as_u16(), "answer": answer });
    if !code.is_success() {
        reply["message"] = answer["message"].clone();
        return json_response(code, &reply);
    }
    // A success is 200 with the operation's own status inside: a 204 would carry no body.
    json_response(StatusCode::OK, &reply)
}
