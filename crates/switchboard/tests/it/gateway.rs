//! The WebSocket data plane: `$connect`, routing, integrations, route responses, close paths and limits.

use std::time::Duration;

use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::harness::*;

#[tokio::test]
async fn lifecycle_with_the_official_sdk() {
    let mut backend = Backend::start(|event| {
        if event["requestContext"]["routeKey"] == "$connect" {
            Reply::Json(json!({ "statusCode": 200, "headers": { "Sec-WebSocket-Protocol": "chat" } }))
        } else {
            Reply::Json(json!({ "statusCode": 200 }))
        }
    })
    .await;
    let server = TestServer::with_backend(&backend).await;
    let mut ws = server
        .try_connect("/prod?token=abc&x=1&x=2", &[("Sec-WebSocket-Protocol", "chat"), ("User-Agent", "it-test")])
        .await
        .unwrap();

    let connect = backend.next().await;
    let ctx = &connect["requestContext"];
    assert_eq!(ctx["eventType"], "CONNECT");
    assert_eq!(ctx["routeKey"], "$connect");
    assert_eq!(ctx["stage"], "prod");
    assert_eq!(ctx["apiId"], "switchboard");
    assert_eq!(ctx["messageDirection"], "IN");
    assert_eq!(ctx["identity"]["sourceIp"], "127.0.0.1");
    assert_eq!(ctx["identity"]["userAgent"], "it-test");
    assert!(ctx["connectedAt"].is_i64() && ctx["requestTimeEpoch"].is_i64());
    assert_eq!(ctx["requestId"], ctx["extendedRequestId"]);
    assert!(ctx.get("messageId").is_none());
    assert_eq!(connect["isBase64Encoded"], false);
    assert!(connect.get("body").is_none());
    assert_eq!(connect["headers"]["Sec-WebSocket-Protocol"], "chat");
    assert_eq!(connect["headers"]["Host"], server.addr.to_string());
    assert_eq!(connect["queryStringParameters"]["token"], "abc");
    assert_eq!(connect["multiValueQueryStringParameters"]["x"], json!(["1", "2"]));
    let connection_id = ctx["connectionId"].as_str().unwrap().to_owned();
    assert_eq!(connection_id.len(), 16);
    assert!(connection_id.ends_with('='));

    let sdk = server.sdk("prod");
    post(&sdk, &connection_id, "Hello from API Gateway!").await.unwrap();
    assert_eq!(recv_text(&mut ws).await, "Hello from API Gateway!");

    let info = sdk.get_connection().connection_id(&connection_id).send().await.unwrap();
    let identity = info.identity().unwrap();
    assert_eq!(identity.source_ip(), Some("127.0.0.1"));
    assert_eq!(identity.user_agent(), Some("it-test"));
    assert!(info.connected_at().is_some() && info.last_active_at().is_some());

    send_text(&mut ws, "not json").await;
    let message = backend.next().await;
    assert_eq!(message["requestContext"]["eventType"], "MESSAGE");
    assert_eq!(message["requestContext"]["routeKey"], "$default");
    assert_eq!(message["requestContext"]["connectionId"], connection_id.as_str());
    assert_eq!(message["requestContext"]["messageId"].as_str().unwrap().len(), 16);
    assert_eq!(message["body"], "not json");
    assert!(message.get("headers").is_none());

    sdk.delete_connection().connection_id(&connection_id).send().await.unwrap();
    assert_eq!(recv_close(&mut ws).await, (1000, "Connection Closed Normally".to_owned()));
    let disconnect = backend.next().await;
    assert_eq!(disconnect["requestContext"]["eventType"], "DISCONNECT");
    assert_eq!(disconnect["requestContext"]["disconnectStatusCode"], 1000);
    assert_eq!(disconnect["requestContext"]["disconnectReason"], "Connection Closed Normally");
    assert_eq!(disconnect["headers"]["x-api-key"], "");
    assert_eq!(disconnect["headers"]["Host"], server.addr.to_string());

    let gone = post(&sdk, &connection_id, "late").await.unwrap_err().into_service_error();
    assert!(gone.is_gone_exception(), "{gone:?}");
    let gone = sdk.get_connection().connection_id(&connection_id).send().await.unwrap_err().into_service_error();
    assert!(gone.is_gone_exception(), "{gone:?}");
    backend.assert_quiet(Duration::from_millis(200)).await;
    server.shutdown().await;
}

#[tokio::test]
async fn client_close_reports_its_code_once() {
    let mut backend = Backend::ok().await;
    let server = TestServer::with_backend(&backend).await;
    let mut ws = server.connect("/prod").await;
    backend.next_of("CONNECT").await;
    ws.send(Message::Close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
        code: 4000.into(),
        reason: "bye".into(),
    })))
    .await
    .unwrap();
    let disconnect = backend.next_of("DISCONNECT").await;
    assert_eq!(disconnect["requestContext"]["disconnectStatusCode"], 4000);
    assert_eq!(disconnect["requestContext"]["disconnectReason"], "bye");

    // A TCP drop without a close frame.
    let ws = server.connect("/prod").await;
    backend.next_of("CONNECT").await;
    drop(ws);
    let disconnect = backend.next_of("DISCONNECT").await;
    assert_eq!(disconnect["requestContext"]["disconnectStatusCode"], 1006);
    backend.assert_quiet(Duration::from_millis(200)).await;
    server.shutdown().await;
}

#[tokio::test]
async fn connect_outcomes() {
    let backend = Backend::start(|event| match event["queryStringParameters"]["mode"].as_str() {
        Some("deny") => Reply::Json(json!({ "statusCode": 401, "body": "no" })),
        Some("crash") => Reply::Status(500),
        Some("slow") => Reply::Delay(Duration::from_secs(2), json!({ "statusCode": 200 })),
        Some("garbage") => Reply::Json(Value::String("not an object".to_owned())),
        _ => Reply::Json(json!({ "statusCode": 200 })),
    })
    .await;
    let file = format!(
        r#"
        [[apis]]
        api_id = "x"
        stages = [{{ stage_name = "prod" }}]
        integrations = [{{ integration_id = "f", integration_type = "AWS_PROXY", integration_uri = "{}", timeout_in_millis = 300 }}]
        routes = [{{ route_key = "$connect", target = "integrations/f" }}]
        "#,
        backend.url()
    );
    let server = TestServer::start(&file, |_| {}).await;
    let status = |r: Result<Ws, tokio_tungstenite::tungstenite::Error>| match r {
        Ok(_) => 101,
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("unexpected error {other}"),
    };
    assert_eq!(status(server.try_connect("/prod", &[]).await), 101);
    assert_eq!(status(server.try_connect("/prod?mode=garbage", &[]).await), 101, "a non-object answer accepts");
    assert_eq!(status(server.try_connect("/prod?mode=deny", &[]).await), 401);
    assert_eq!(status(server.try_connect("/prod?mode=crash", &[]).await), 502);
    assert_eq!(status(server.try_connect("/prod?mode=slow", &[]).await), 504);
    assert_eq!(status(server.try_connect("/nostage", &[]).await), 403);
    server.shutdown().await;

    // An integration that cannot be reached.
    let file = r#"
        [[apis]]
        api_id = "x"
        stages = [{ stage_name = "prod" }]
        integrations = [{ integration_id = "f", integration_type = "AWS_PROXY", integration_uri = "http://127.0.0.1:9/" }]
        routes = [{ route_key = "$connect", target = "f" }]
    "#;
    let server = TestServer::start(file, |_| {}).await;
    assert_eq!(status(server.try_connect("/prod", &[]).await), 502);
    server.shutdown().await;
}

#[tokio::test]
async fn posting_during_connect_is_gone() {
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let tx = std::sync::Mutex::new(tx);
    let backend = Backend::start(move |event| {
        if event["requestContext"]["routeKey"] == "$connect" {
            let _ = tx.lock().unwrap().send(event["requestContext"]["connectionId"].as_str().unwrap().to_owned());
            Reply::Delay(Duration::from_millis(500), json!({ "statusCode": 200 }))
        } else {
            Reply::Json(json!({}))
        }
    })
    .await;
    let server = TestServer::with_backend(&backend).await;
    let connecting = {
        let url = server.addr;
        tokio::spawn(
            async move { tokio_tungstenite::connect_async(format!("ws://{url}/prod")).await.map(|(ws, _)| ws) },
        )
    };
    let id = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(5)).unwrap()).await.unwrap();
    let err = post(&server.sdk("prod"), &id, "early").await.unwrap_err().into_service_error();
    assert!(err.is_gone_exception(), "{err:?}");
    let mut ws = connecting.await.unwrap().unwrap();
    post(&server.sdk("prod"), &id, "now").await.unwrap();
    assert_eq!(recv_text(&mut ws).await, "now");
    server.shutdown().await;
}

#[tokio::test]
async fn route_selection_route_responses_and_error_frames() {
    let mut backend = Backend::start(|event| {
        let body: Value = serde_json::from_str(event["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
        match body["action"].as_str() {
            Some("slow") => Reply::Delay(Duration::from_secs(2), json!({})),
            _ => Reply::Json(json!({ "statusCode": 200, "body": format!("echo:{}", event["requestContext"]["routeKey"].as_str().unwrap_or("")) })),
        }
    })
    .await;
    let file = format!(
        r#"
        [[apis]]
        api_id = "x"
        route_selection_expression = "${{request.body.service}}/${{request.body.action}}"
        stages = [{{ stage_name = "prod" }}]
        integrations = [
          {{ integration_id = "f", integration_type = "AWS_PROXY", integration_uri = "{url}", timeout_in_millis = 300 }},
          {{ integration_id = "dead", integration_type = "AWS_PROXY", integration_uri = "http://127.0.0.1:9/" }},
          {{ integration_id = "m", integration_type = "MOCK", request_templates = {{ "$default" = '{{"statusCode": 200}}' }}, response_templates = {{ "$default" = "mocked" }} }},
        ]
        routes = [
          {{ route_key = "chat/join", target = "f", route_response_selection_expression = "$default" }},
          {{ route_key = "chat/oneway", target = "f" }},
          {{ route_key = "chat/slow", target = "f" }},
          {{ route_key = "chat/boom", target = "dead" }},
          {{ route_key = "chat/mock", target = "m", route_response_selection_expression = "$default" }},
        ]
        route_responses = [{{ route_key = "chat/join" }}, {{ route_key = "chat/mock" }}]
        "#,
        url = backend.url()
    );
    let server = TestServer::start(&file, |_| {}).await;
    let mut ws = server.connect("/prod").await;

    send_text(&mut ws, r#"{"service":"chat","action":"join"}"#).await;
    assert_eq!(recv_text(&mut ws).await, "echo:chat/join");
    assert_eq!(backend.next().await["requestContext"]["routeKey"], "chat/join");

    send_text(&mut ws, r#"{"service":"chat","action":"mock"}"#).await;
    assert_eq!(recv_text(&mut ws).await, "mocked");

    // One-way route: the backend is called, nothing comes back.
    send_text(&mut ws, r#"{"service":"chat","action":"oneway"}"#).await;
    assert_eq!(backend.next().await["requestContext"]["routeKey"], "chat/oneway");

    // No match and no $default: Forbidden frame, connection stays open.
    send_text(&mut ws, r#"{"service":"chat","action":"nope"}"#).await;
    let frame: Value = serde_json::from_str(&recv_text(&mut ws).await).unwrap();
    assert_eq!(frame["message"], "Forbidden");
    assert_eq!(frame["connectionId"].as_str().unwrap().len(), 16);
    assert_eq!(frame["requestId"].as_str().unwrap().len(), 16);
    send_text(&mut ws, "garbage {").await;
    assert!(recv_text(&mut ws).await.starts_with(r#"{"message": "Forbidden", "connectionId":"#));

    send_text(&mut ws, r#"{"service":"chat","action":"boom"}"#).await;
    assert!(recv_text(&mut ws).await.starts_with(r#"{"message": "Internal server error", "connectionId":"#));

    send_text(&mut ws, r#"{"service":"chat","action":"slow"}"#).await;
    assert!(recv_text(&mut ws).await.starts_with(r#"{"message": "Endpoint request timed out", "connectionId":"#));

    send_text(&mut ws, r#"{"service":"chat","action":"join"}"#).await;
    assert_eq!(recv_text(&mut ws).await, "echo:chat/join", "the connection survived every error");
    server.shutdown().await;
}

#[tokio::test]
async fn frame_and_message_limits_close_with_the_right_codes() {
    let mut backend = Backend::ok().await;
    let server = TestServer::with_backend(&backend).await;

    let mut ws = server.connect("/prod").await;
    backend.next_of("CONNECT").await;
    ws.send(Message::text("x".repeat(33 * 1024))).await.unwrap();
    assert_eq!(recv_close(&mut ws).await.0, 1009);
    assert_eq!(backend.next_of("DISCONNECT").await["requestContext"]["disconnectStatusCode"], 1009);

    let mut ws = server.connect("/prod").await;
    backend.next_of("CONNECT").await;
    ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    assert_eq!(recv_close(&mut ws).await.0, 1003);
    assert_eq!(backend.next_of("DISCONNECT").await["requestContext"]["disconnectStatusCode"], 1003);

    // Outbound messages over 32 KiB arrive whole (sent as several frames).
    let mut ws = server.connect("/prod").await;
    let id = backend.next_of("CONNECT").await["requestContext"]["connectionId"].as_str().unwrap().to_owned();
    let big = "y".repeat(100 * 1024);
    post(&server.sdk("prod"), &id, big.clone()).await.unwrap();
    assert_eq!(recv_text(&mut ws).await, big);
    server.shutdown().await;
}

#[tokio::test]
async fn idle_timeout_and_maximum_duration() {
    let mut backend = Backend::ok().await;
    let url = backend.url();
    let server = TestServer::start("", |a| {
        a.routes = vec![format!("$connect={url}"), format!("$disconnect={url}")];
        a.limits.idle_timeout_secs = Some(1);
    })
    .await;
    let connected = std::time::Instant::now();
    let mut ws = server.connect("/prod").await;
    assert_eq!(recv_close(&mut ws).await, (1001, "Going away".to_owned()));
    assert!(
        connected.elapsed() >= Duration::from_millis(950),
        "closed before the idle timeout: {:?}",
        connected.elapsed()
    );
    let disconnect = backend.next_of("DISCONNECT").await;
    assert_eq!(disconnect["requestContext"]["disconnectStatusCode"], 1001);
    server.shutdown().await;

    let server = TestServer::start("", |a| {
        a.routes = vec![format!("$disconnect={url}")];
        a.limits.max_connection_secs = Some(2);
    })
    .await;
    let mut ws = server.connect("/prod").await;
    let started = std::time::Instant::now();
    // Activity does not extend the maximum duration.
    for _ in 0..3 {
        send_text(&mut ws, "ping").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(recv_close(&mut ws).await.0, 1001);
    let lived = started.elapsed();
    assert!(lived >= Duration::from_millis(1900) && lived < Duration::from_secs(5), "lived {lived:?}, limit 2 s");
    assert_eq!(backend.next_of("DISCONNECT").await["requestContext"]["disconnectStatusCode"], 1001);
    server.shutdown().await;
}

#[tokio::test]
async fn new_connection_rate_is_limited() {
    let server = TestServer::start("", |a| a.limits.new_connections_per_second = Some(2)).await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(match server.try_connect("/prod", &[]).await {
            Ok(_) => 101,
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => r.status().as_u16(),
            Err(e) => panic!("{e}"),
        });
    }
    assert_eq!(&statuses[..2], &[101, 101]);
    assert!(statuses[2..].contains(&429), "{statuses:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_closes_everyone_with_1001_and_delivers_every_disconnect() {
    let mut backend = Backend::ok().await;
    let server = TestServer::with_backend(&backend).await;
    let mut clients = Vec::new();
    for _ in 0..5 {
        clients.push(server.connect("/prod").await);
        backend.next_of("CONNECT").await;
    }
    let closing = tokio::spawn(async move {
        let mut codes = Vec::new();
        for ws in &mut clients {
            codes.push(recv_close(ws).await.0);
        }
        codes
    });
    let started = std::time::Instant::now();
    server.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(12), "shutdown is bounded by the grace period");
    assert_eq!(closing.await.unwrap(), vec![1001; 5]);
    let mut disconnects = std::collections::HashSet::new();
    for _ in 0..5 {
        let event = backend.next_of("DISCONNECT").await;
        assert_eq!(event["requestContext"]["disconnectStatusCode"], 1001);
        disconnects.insert(event["requestContext"]["connectionId"].as_str().unwrap().to_owned());
    }
    assert_eq!(disconnects.len(), 5, "exactly one $disconnect per connection");
    backend.assert_quiet(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn http_proxy_integration_gets_the_raw_body_and_mapped_context() {
    let mut backend = Backend::start(|_| Reply::Json(json!({ "ok": true }))).await;
    let file = format!(
        r#"
        [[apis]]
        api_id = "x"
        stages = [{{ stage_name = "prod", stage_variables = {{ tier = "gold" }} }}]
        integrations = [{{ integration_id = "h", integration_type = "HTTP_PROXY", integration_uri = "{url}", request_parameters = {{ "integration.request.header.connectionId" = "context.connectionId", "integration.request.header.x-tier" = "stageVariables.tier", "integration.request.querystring.route" = "context.routeKey", "integration.request.header.x-static" = "'fixed'" }} }}]
        routes = [{{ route_key = "$default", target = "h", route_response_selection_expression = "$default" }}]
        route_responses = [{{ route_key = "$default" }}]
        "#,
        url = backend.url()
    );
    let server = TestServer::start(&file, |_| {}).await;
    let mut ws = server.connect("/prod").await;
    send_text(&mut ws, "raw text body").await;
    assert_eq!(backend.next().await, Value::String("raw text body".to_owned()));
    let request = backend.next_request().await;
    assert_eq!(request.method, http::Method::POST);
    assert_eq!(request.uri.query(), Some("route=%24default"));
    assert_eq!(request.headers["connectionId"].to_str().unwrap().len(), 16);
    assert_eq!(request.headers["x-tier"], "gold");
    assert_eq!(request.headers["x-static"], "fixed");
    // Two-way: the HTTP response body comes back.
    assert_eq!(recv_text(&mut ws).await, r#"{"ok":true}"#);
    server.shutdown().await;
}

#[tokio::test]
async fn invalid_utf8_and_binary_posts() {
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

    let mut backend = Backend::ok().await;
    let server = TestServer::with_backend(&backend).await;

    // PostToConnection with bytes that are not UTF-8 arrives as a binary message, unchanged.
    let mut ws = server.connect("/prod").await;
    let id = backend.next_of("CONNECT").await["requestContext"]["connectionId"].as_str().unwrap().to_owned();
    let bytes = vec![0xff, 0x00, 0xfe];
    post(&server.sdk("prod"), &id, bytes.clone()).await.unwrap();
    let message = tokio::time::timeout(Duration::from_secs(5), futures_util::StreamExt::next(&mut ws))
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(message, Message::Binary(bytes.into()));

    // A text frame that is not UTF-8 closes with 1007; other clients are unaffected.
    let mut other = server.connect("/prod").await;
    let other_id = backend.next_of("CONNECT").await["requestContext"]["connectionId"].as_str().unwrap().to_owned();
    ws.send(Message::Frame(Frame::message(vec![0xc3, 0x28], OpCode::Data(Data::Text), true))).await.unwrap();
    assert_eq!(recv_close(&mut ws).await.0, 1007);
    assert_eq!(backend.next_of("DISCONNECT").await["requestContext"]["disconnectStatusCode"], 1007);
    post(&server.sdk("prod"), &other_id, "still here").await.unwrap();
    assert_eq!(recv_text(&mut other).await, "still here");
    server.shutdown().await;
}

#[tokio::test]
async fn a_stalled_client_is_disconnected_as_a_slow_consumer() {
    let mut backend = Backend::ok().await;
    let url = backend.url();
    let server = TestServer::start("", |a| {
        a.routes = vec![format!("$connect={url}"), format!("$disconnect={url}")];
        a.limits.write_timeout_secs = Some(1);
    })
    .await;
    // Never reads: the kernel buffers fill, then a write stalls for the write timeout.
    let _ws = server.connect("/prod").await;
    let id = backend.next_of("CONNECT").await["requestContext"]["connectionId"].as_str().unwrap().to_owned();
    let sdk = server.sdk("prod");
    let chunk = aws_sdk_apigatewaymanagement::primitives::Blob::new(vec![b'z'; 128 * 1024]);
    for _ in 0..200 {
        if sdk.post_to_connection().connection_id(&id).data(chunk.clone()).send().await.is_err() {
            break;
        }
    }
    let disconnect = backend.next_of("DISCONNECT").await;
    assert_eq!(disconnect["requestContext"]["disconnectStatusCode"], 1008);
    assert_eq!(disconnect["requestContext"]["disconnectReason"], "Slow consumer");
    let gone = sdk.get_connection().connection_id(&id).send().await.unwrap_err().into_service_error();
    assert!(gone.is_gone_exception());
    server.shutdown().await;
}

/// A message over the 128 KiB limit is refused with 1009 even when each of its frames is within the frame limit.
#[tokio::test]
async fn a_message_over_the_limit_in_several_frames_closes_1009() {
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    let mut backend = Backend::ok().await;
    let server = TestServer::with_backend(&backend).await;
    let mut ws = server.connect("/prod").await;
    backend.next_of("CONNECT").await;
    // Five frames of 30 KiB: each under the 32 KiB frame limit, 150 KiB in all.
    let chunk = vec![b'x'; 30 * 1024];
    for i in 0..5 {
        let opcode = if i == 0 { OpCode::Data(Data::Text) } else { OpCode::Data(Data::Continue) };
        let frame = Frame::message(chunk.clone(), opcode, i == 4);
        if ws.send(Message::Frame(frame)).await.is_err() {
            break;
        }
    }
    assert_eq!(recv_close(&mut ws).await.0, 1009);
    assert_eq!(backend.next_of("DISCONNECT").await["requestContext"]["disconnectStatusCode"], 1009);
    server.shutdown().await;
}

/// Pings keep nothing alive: a client that only pings is closed at the idle timeout.
#[tokio::test]
async fn pings_do_not_count_as_activity() {
    use futures_util::StreamExt;
    let server = TestServer::start("", |a| a.limits.idle_timeout_secs = Some(1)).await;
    let mut ws = server.connect("/prod").await;
    let connected = std::time::Instant::now();
    let mut pings = tokio::time::interval(Duration::from_millis(200));
    let mut pongs = 0;
    let close = loop {
        tokio::select! {
            _ = pings.tick() => ws.send(Message::Ping(Vec::new().into())).await.unwrap(),
            message = ws.next() => match message {
                Some(Ok(Message::Pong(_))) => pongs += 1,
                Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
                other => panic!("unexpected {other:?}"),
            },
        }
        assert!(connected.elapsed() < Duration::from_secs(5), "pings kept the connection open");
    };
    assert_eq!(close, Some(1001));
    assert!(pongs >= 2, "the server answered the pings ({pongs} pongs)");
    assert!(connected.elapsed() >= Duration::from_millis(950), "closed before the idle timeout");
    server.shutdown().await;
}

/// `--max-integrations-in-flight`: past the node's bound, a message from any connection is refused at once with 429
/// (not queued), and messages are served again once integrations finish.
#[tokio::test]
async fn past_the_nodes_integrations_in_flight_messages_are_shed_with_429_then_served_again() {
    let mut backend = Backend::start(|event| match event["body"].as_str() {
        Some(body) if body.starts_with("slow") => Reply::Delay(Duration::from_secs(3), json!({ "statusCode": 200 })),
        _ => Reply::Json(json!({ "statusCode": 200 })),
    })
    .await;
    let url = backend.url();
    let server = TestServer::start("", |a| {
        a.routes = vec![format!("$default={url}")];
        a.limits.max_integrations_in_flight = Some(3);
    })
    .await;
    let (mut one, mut two) = (server.connect("/prod").await, server.connect("/prod").await);
    for ws in [&mut one, &mut two] {
        for n in 0..4 {
            send_text(ws, &format!("slow {n}")).await;
        }
    }
    for _ in 0..3 {
        assert!(backend.next_of("MESSAGE").await["body"].as_str().unwrap().starts_with("slow"));
    }
    // Five of the eight were shed, each answered on its own connection.
    let mut shed = 0;
    for ws in [&mut one, &mut two] {
        while let Ok(text) = tokio::time::timeout(Duration::from_millis(500), recv_text(ws)).await {
            let frame: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(frame["message"], "Too Many Requests", "{frame}");
            shed += 1;
        }
    }
    assert_eq!(shed, 5);
    backend.assert_quiet(Duration::from_millis(200)).await;
    // Once the three in flight answered, messages are served again.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        send_text(&mut one, "again").await;
        tokio::select! {
            event = backend.next_of("MESSAGE") => {
                assert_eq!(event["body"], "again");
                break;
            }
            text = recv_text(&mut one) => {
                let frame: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(frame["message"], "Too Many Requests", "{frame}");
                assert!(std::time::Instant::now() < deadline, "never served again");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    server.shutdown().await;
}

/// `--max-in-flight`: with one integration in flight per connection, the next message's integration starts only
/// once the first answered.
#[tokio::test]
async fn max_in_flight_bounds_the_integrations_of_a_connection() {
    let mut backend = Backend::start(|event| match event["requestContext"]["eventType"].as_str() {
        Some("MESSAGE") => Reply::Delay(Duration::from_millis(800), json!({ "statusCode": 200 })),
        _ => Reply::Json(json!({ "statusCode": 200 })),
    })
    .await;
    let url = backend.url();
    let server = TestServer::start("", |a| {
        a.routes = vec![format!("$default={url}")];
        a.limits.max_in_flight = Some(1);
    })
    .await;
    let mut ws = server.connect("/prod").await;
    send_text(&mut ws, "first").await;
    send_text(&mut ws, "second").await;
    assert_eq!(backend.next_of("MESSAGE").await["body"], "first");
    let first_arrived = std::time::Instant::now();
    assert_eq!(backend.next_of("MESSAGE").await["body"], "second");
    let gap = first_arrived.elapsed();
    assert!(gap >= Duration::from_millis(700), "the second integration started while the first ran ({gap:?})");
    server.shutdown().await;
}

/// A client may send its first frames right behind the upgrade request, before the 101 reaches it: what the HTTP
/// server read past the request's head is read by the session first.
#[tokio::test]
async fn a_frame_sent_with_the_upgrade_request_is_read() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_tungstenite::tungstenite::protocol::Role;
    use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

    let server = TestServer::start("", |_| {}).await;
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut bytes = b"GET /prod HTTP/1.1\r\nhost: localhost\r\nconnection: Upgrade\r\nupgrade: websocket\r\n\
        sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        .to_vec();
    let mask = [1u8, 2, 3, 4];
    bytes.extend([0x81, 0x80 | 5]);
    bytes.extend(mask);
    bytes.extend(b"hello".iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    tcp.write_all(&bytes).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(tcp.read_u8().await.unwrap());
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    let mut ws = WebSocketStream::from_raw_socket(MaybeTlsStream::Plain(tcp), Role::Client, None).await;
    // No route takes it, so the answer is the Forbidden frame: the message was read and routed.
    let reply = recv_text(&mut ws).await;
    assert!(reply.starts_with(r#"{"message": "Forbidden", "connectionId":"#), "{reply}");
    server.shutdown().await;
}
