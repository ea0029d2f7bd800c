//! The capture's bounds, views, filters, live feed and masks.

use std::sync::Arc;

use super::{
    Capture, Filter, History, KEPT_SAMPLES, Limits, Sample, Scope, Subject, Totals, What, mask, mask_event,
    mask_headers, mask_query,
};

fn of(connection: &str, stage: &str) -> Subject {
    let scope = Scope::Stage { api: Arc::from("api"), stage: Arc::from(stage) };
    Subject { connection: Some(connection.into()), scope: Some(scope) }
}

fn frame(data: &str) -> What {
    What::FrameIn { data: data.to_owned(), bytes: data.len() }
}

#[test]
fn each_connection_keeps_its_last_events_and_the_whole_is_capped() {
    let limits = Limits { per_connection: 3, max_events: 10, ..Limits::default() };
    let capture = Capture::new(limits);
    for i in 0..5 {
        capture.record(of("a", "prod"), frame(&format!("a{i}")));
    }
    let only_a = Filter { connection: Some("a".into()), ..Filter::default() };
    let seen: Vec<_> = capture.recent(&only_a, 100).iter().map(|e| e.what.clone()).collect();
    assert_eq!(seen, vec![frame("a2"), frame("a3"), frame("a4")]);
    for i in 0..20 {
        capture.record(of("b", "prod"), frame(&format!("b{i}")));
    }
    assert_eq!(capture.kept().0, 10, "the global cap holds");
    assert!(capture.recent(&only_a, 100).is_empty(), "a's events were the oldest and went first");
    assert_eq!(capture.recent(&Filter::default(), 4).len(), 4);
    assert_eq!(capture.totals().frames_in, 25);
}

#[test]
fn the_byte_budget_evicts_and_data_is_cut() {
    let limits = Limits { max_bytes: 4 * (super::EVENT_OVERHEAD + 100), max_data: 100, ..Limits::default() };
    let capture = Capture::new(limits);
    let long = "é".repeat(80);
    let cut = capture.cut(&long);
    assert!(cut.starts_with(&"é".repeat(50)) && cut.ends_with("(160 bytes in all)"), "{cut}");
    for _ in 0..10 {
        capture.record(of("a", "prod"), frame(&"x".repeat(100)));
    }
    let (events, bytes) = capture.kept();
    assert_eq!(events, 4);
    assert!(bytes <= limits.max_bytes);
}

#[test]
fn filters_choose_by_stage_room_and_route() {
    let capture = Capture::new(Limits::default());
    capture.record(of("a", "prod"), frame("one"));
    capture.record(of("b", "dev"), frame("two"));
    let route = What::Route {
        route: "sendmessage".into(),
        request_id: "r".into(),
        event: "{}".into(),
        outcome: "answered",
        status: Some(200),
        answer: None,
        latency_ms: 3,
    };
    capture.record(of("b", "dev"), route);
    let room = Subject { connection: None, scope: Some(Scope::Room { room: Arc::from("room-1"), user: None }) };
    capture.record(room, frame("three"));
    let count = |filter: Filter| capture.recent(&filter, 100).len();
    assert_eq!(count(Filter { stage: Some("dev".into()), ..Filter::default() }), 2);
    assert_eq!(count(Filter { route: Some("sendmessage".into()), ..Filter::default() }), 1);
    assert_eq!(count(Filter { route: Some("other".into()), ..Filter::default() }), 0);
    assert_eq!(count(Filter { room: Some("room-1".into()), ..Filter::default() }), 1);
    assert_eq!(count(Filter::default()), 4);
}

#[tokio::test]
async fn live_subscribers_get_events_and_a_lagging_one_skips_without_blocking() {
    let capture = Capture::new(Limits { live_buffer: 4, ..Limits::default() });
    let mut live = capture.subscribe();
    capture.record(of("a", "prod"), frame("first"));
    assert_eq!(live.recv().await.unwrap().what, frame("first"));
    for i in 0..10 {
        capture.record(of("a", "prod"), frame(&i.to_string()));
    }
    assert!(matches!(live.recv().await, Err(tokio::sync::broadcast::error::RecvError::Lagged(6))));
    assert_eq!(live.recv().await.unwrap().what, frame("6"));
}

#[test]
fn the_capture_is_watched_while_a_live_subscriber_lives() {
    let capture = Capture::new(Limits::default());
    assert!(!capture.watched());
    let (one, two) = (capture.subscribe(), capture.subscribe());
    assert!(capture.watched());
    drop(one);
    assert!(capture.watched(), "one still reads");
    drop(two);
    assert!(!capture.watched());
}

#[test]
fn events_serialize_flat_with_their_type() {
    let capture = Capture::new(Limits::default());
    let closed = || What::Closed { code: 1000, reason: "bye".into(), cause: "client".into() };
    let member = Scope::Room { room: Arc::from("room-1"), user: Some(Arc::from("ann")) };
    capture.record(of("a", "prod"), closed());
    capture.record(Subject { connection: Some("b".into()), scope: Some(member) }, closed());
    capture.record(
        Subject { connection: None, scope: Some(Scope::Room { room: Arc::from("room-1"), user: None }) },
        closed(),
    );
    capture.record(Subject::default(), closed());
    let seen: Vec<_> = capture
        .recent(&Filter::default(), 4)
        .iter()
        .map(|event| {
            let mut json = serde_json::to_value(&**event).unwrap();
            let fields = json.as_object_mut().unwrap();
            assert!(fields.remove("seq").is_some_and(|seq| seq.is_u64()) && fields.remove("at").is_some());
            json
        })
        .collect();
    let closed = serde_json::json!({"type": "closed", "code": 1000, "reason": "bye", "cause": "client"});
    let with = |subject: serde_json::Value| {
        let mut json = subject;
        json.as_object_mut().unwrap().extend(closed.as_object().unwrap().clone());
        json
    };
    assert_eq!(
        seen,
        [
            with(serde_json::json!({"connection": "a", "api": "api", "stage": "prod"})),
            with(serde_json::json!({"connection": "b", "room": "room-1", "user": "ann"})),
            with(serde_json::json!({"room": "room-1"})),
            closed.clone(),
        ]
    );
}

#[test]
fn secrets_are_masked() {
    assert_eq!(mask("short"), "… (5 characters)");
    assert_eq!(mask("abcdefghijklmnopqrstuvwxyz"), "abcd… (26 characters)");
    let headers = mask_headers([
        ("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/execute-api/aws4_request"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("Sec-WebSocket-Protocol", "eyJhbGciOiJIUzI1NiJ9.payload.signature"),
        ("X-Custom-Token", "t0k3n-value-long-enough"),
        ("User-Agent", "test"),
    ]);
    let headers: Vec<(&str, &str)> = headers.iter().collect();
    for (name, value) in &headers[..4] {
        assert!(value.contains("characters)") && value.len() < 30, "{name}: {value}");
    }
    assert_eq!(headers[4], ("User-Agent", "test"));
    let path = mask_query("/prod?X-Amz-Signature=0123456789abcdef0123&user=ann&token=abc");
    assert_eq!(path, "/prod?X-Amz-Signature=0123… (20 characters)&user=ann&token=… (3 characters)");
}

#[test]
fn proxy_events_have_their_secrets_masked() {
    let event = serde_json::json!({
        "headers": { "Authorization": "Bearer abcdefghijklmnop", "Host": "example" },
        "multiValueHeaders": { "Authorization": ["Bearer abcdefghijklmnop"], "Host": ["example"] },
        "queryStringParameters": { "token": "0123456789abcdef", "room": "lobby" },
        "multiValueQueryStringParameters": { "token": ["0123456789abcdef"] },
        "requestContext": { "routeKey": "$connect" },
    });
    let masked: serde_json::Value = serde_json::from_str(&mask_event(&event.to_string())).unwrap();
    assert_eq!(masked["headers"]["Authorization"], "Bear… (23 characters)");
    assert_eq!(masked["multiValueHeaders"]["Authorization"][0], "Bear… (23 characters)");
    assert_eq!(masked["queryStringParameters"]["token"], "0123… (16 characters)");
    assert_eq!(masked["multiValueQueryStringParameters"]["token"][0], "0123… (16 characters)");
    assert_eq!(
        (&masked["headers"]["Host"], &masked["queryStringParameters"]["room"]),
        (&event["headers"]["Host"], &event["queryStringParameters"]["room"])
    );
    assert_eq!(mask_event("plain text"), "plain text");
}

#[test]
fn the_history_keeps_the_newest_samples_of_the_totals_oldest_first() {
    let capture = Capture::new(Limits::default());
    capture.sample(0);
    capture.record(of("c1", "prod"), frame("one"));
    capture.record(of("c1", "prod"), What::Limit { limit: "routeThrottle", detail: String::new() });
    capture.sample(1);
    let history = capture.history();
    assert_eq!(history.len(), 2);
    assert_eq!((history[0].connections, history[0].totals), (0, Totals::default()));
    assert_eq!((history[1].connections, history[1].totals.frames_in, history[1].totals.limits), (1, 1, 1));
    assert!(history[0].at <= history[1].at);
    for _ in 0..KEPT_SAMPLES * 2 {
        capture.sample(7);
    }
    let history = capture.history();
    assert_eq!(history.len(), KEPT_SAMPLES, "bounded");
    assert!(history.iter().all(|s| s.connections == 7), "the oldest went first");

    let ring = History::new(3);
    for at in 0..5 {
        ring.push(Sample { at, connections: 0, totals: Totals::default() });
    }
    assert_eq!(ring.samples().iter().map(|s| s.at).collect::<Vec<_>>(), [2, 3, 4]);
}
