//! The extension operations over a real store: validation, live effects, and paging through retained frames.

use serde_json::{Value, json};
use store::{EntryKind, History, NewEntry};

use crate::Extension;
use crate::tests::{Call, H, ROOM_ARN_PREFIX, T0, harness};

impl H {
    async fn ext(&self, ext: Extension, body: Value) -> (u16, Value) {
        match self.cp.handle_extension(ext, body.to_string().as_bytes()).await {
            Ok(reply) => (reply.status.as_u16(), serde_json::from_slice(&reply.body).unwrap()),
            Err(e) => {
                (e.status().as_u16(), json!({"type": e.code.aws_type(), "body": String::from_utf8(e.body()).unwrap()}))
            }
        }
    }
}

#[test]
fn the_extension_model_states_the_limits_the_store_enforces() {
    use aws_models::ivschat_ext::shapes as model;
    assert_eq!(model::MAX_HISTORY_ENTRIES.max, Some(i64::from(store::MAX_HISTORY_ENTRIES)));
    assert_eq!(model::MAX_HISTORY_AGE_SECONDS.max, Some(i64::from(store::MAX_HISTORY_AGE_SECONDS)));
    assert_eq!(model::BAN_DURATION_SECONDS.max, Some(i64::from(store::MAX_BAN_SECONDS)));
    assert_eq!(model::SLOW_MODE_SECONDS.max, Some(i64::from(store::MAX_SLOW_MODE_SECONDS)));
}

#[tokio::test]
async fn put_room_history_sets_the_limits_and_tells_the_live_room() {
    let h = harness().await;
    let id = h.room(json!({})).await;
    h.events.take();
    let (status, body) =
        h.ext(Extension::PutRoomHistory, json!({"roomIdentifier": id, "maxEntries": 100, "maxAgeSeconds": 3600})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"roomArn": format!("{ROOM_ARN_PREFIX}{id}"), "maxEntries": 100, "maxAgeSeconds": 3600}));
    match h.events.take().as_slice() {
        [Call::Updated(room)] => assert_eq!(room.history, History { max_entries: 100, max_age_seconds: 3600 }),
        calls => panic!("expected one update, got {calls:?}"),
    }
    let (status, _) =
        h.ext(Extension::PutRoomHistory, json!({"roomIdentifier": id, "maxEntries": 0, "maxAgeSeconds": 0})).await;
    assert_eq!(status, 200, "both zero switches history off");

    for bad in [
        json!({"roomIdentifier": id, "maxEntries": 1001, "maxAgeSeconds": 1}),
        json!({"roomIdentifier": id, "maxEntries": 1, "maxAgeSeconds": 604_801}),
        json!({"roomIdentifier": id, "maxEntries": 0, "maxAgeSeconds": 60}),
        json!({"roomIdentifier": id, "maxEntries": 10}),
    ] {
        let (status, body) = h.ext(Extension::PutRoomHistory, bad.clone()).await;
        assert_eq!((status, body["type"].as_str()), (400, Some("ValidationException")), "{bad}");
    }
    let (status, body) = h
        .ext(Extension::PutRoomHistory, json!({"roomIdentifier": "AbCdEfGhIjKl", "maxEntries": 1, "maxAgeSeconds": 1}))
        .await;
    assert_eq!((status, body["type"].as_str()), (404, Some("ResourceNotFoundException")));
}

#[tokio::test]
async fn list_room_messages_pages_through_retained_frames_both_ways() {
    let h = harness().await;
    let id = h.room(json!({})).await;
    let (status, body) = h.ext(Extension::ListRoomMessages, json!({"roomIdentifier": id})).await;
    assert_eq!((status, body), (200, json!({"messages": []})), "nothing retained without history");
    h.ext(Extension::PutRoomHistory, json!({"roomIdentifier": id, "maxEntries": 10, "maxAgeSeconds": 604_800})).await;
    let entries = (1..=5)
        .map(|n| NewEntry {
            room_id: id.clone(),
            id: format!("message{n:05}"),
            kind: EntryKind::Message,
            send_time: T0 + time::Duration::milliseconds(n),
            sender: Some("ann".to_owned()),
            payload: format!(r#"{{"Type":"MESSAGE","Id":"message{n:05}","Content":"m{n}"}}"#),
            deletes: None,
        })
        .collect();
    h.cp.store().append_history(entries, T0).await.unwrap();

    let ids = |body: &Value| -> Vec<String> {
        body["messages"].as_array().unwrap().iter().map(|m| m["Id"].as_str().unwrap().to_owned()).collect()
    };
    let (_, first) = h.ext(Extension::ListRoomMessages, json!({"roomIdentifier": id, "maxResults": 2})).await;
    assert_eq!(ids(&first), ["message00005", "message00004"]);
    assert_eq!(first["messages"][0], json!({"Type": "MESSAGE", "Id": "message00005", "Content": "m5"}));
    let token = first["nextToken"].as_str().unwrap();
    let (_, second) =
        h.ext(Extension::ListRoomMessages, json!({"roomIdentifier": id, "maxResults": 2, "nextToken": token})).await;
    assert_eq!(ids(&second), ["message00003", "message00002"]);
    let (_, oldest) = h.ext(Extension::ListRoomMessages, json!({"roomIdentifier": id, "order": "OLDEST_FIRST"})).await;
    assert_eq!(ids(&oldest), ["message00001", "message00002", "message00003", "message00004", "message00005"]);
    assert!(oldest.get("nextToken").is_none());

    // A token of one order is not a token of the other; bad values are validation errors.
    for bad in [
        json!({"roomIdentifier": id, "order": "OLDEST_FIRST", "nextToken": token}),
        json!({"roomIdentifier": id, "order": "SIDEWAYS"}),
        json!({"roomIdentifier": id, "maxResults": 101}),
    ] {
        let (status, body) = h.ext(Extension::ListRoomMessages, bad.clone()).await;
        assert_eq!((status, body["type"].as_str()), (400, Some("ValidationException")), "{bad}");
    }
}

#[tokio::test]
async fn a_ban_disconnects_the_user_and_refuses_their_tokens_until_it_ends() {
    let h = harness().await;
    let id = h.room(json!({})).await;
    h.events.take();
    let ban = json!({"roomIdentifier": id, "userId": "mallory", "durationSeconds": 3600});
    let (status, body) = h.ext(Extension::BanUser, ban).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["userId"], "mallory");
    assert_eq!(body["roomArn"], format!("{ROOM_ARN_PREFIX}{id}"));
    match h.events.take().as_slice() {
        [Call::DisconnectUser(room, d)] => {
            assert_eq!((room, d.user_id.as_str(), d.reason.as_deref()), (&id, "mallory", Some("Banned")));
        }
        calls => panic!("expected one disconnection, got {calls:?}"),
    }
    let refused = h.post("CreateChatToken", json!({"roomIdentifier": id, "userId": "mallory"})).await;
    assert_eq!((refused.status, refused.error_type), (403, Some("AccessDeniedException")), "{}", refused.body);
    assert!(refused.body.contains("banned"), "{}", refused.body);
    h.ok("CreateChatToken", json!({"roomIdentifier": id, "userId": "alice"})).await;

    // Banning for 0 seconds lifts the ban, without disconnecting anyone.
    let lift = json!({"roomIdentifier": id, "userId": "mallory", "durationSeconds": 0, "reason": "appeal"});
    assert_eq!(h.ext(Extension::BanUser, lift).await.0, 200);
    assert!(h.events.take().is_empty());
    h.ok("CreateChatToken", json!({"roomIdentifier": id, "userId": "mallory"})).await;

    let too_long = json!({"roomIdentifier": id, "userId": "mallory", "durationSeconds": 31_536_001});
    assert_eq!(h.ext(Extension::BanUser, too_long).await.0, 400);
    let no_room = json!({"roomIdentifier": "AbCdEfGhIjKl", "userId": "mallory", "durationSeconds": 1});
    assert_eq!(h.ext(Extension::BanUser, no_room).await.0, 404);
}

#[tokio::test]
async fn delete_user_messages_deletes_each_retained_message_of_the_user() {
    let h = harness().await;
    let id = h.room(json!({})).await;
    h.ext(Extension::PutRoomHistory, json!({"roomIdentifier": id, "maxEntries": 10, "maxAgeSeconds": 604_800})).await;
    let entries = [("message00001", "mallory"), ("message00002", "alice"), ("message00003", "mallory")]
        .into_iter()
        .map(|(message, sender)| NewEntry {
            room_id: id.clone(),
            id: message.to_owned(),
            kind: EntryKind::Message,
            send_time: T0,
            sender: Some(sender.to_owned()),
            payload: "{}".to_owned(),
            deletes: None,
        })
        .collect();
    h.cp.store().append_history(entries, T0).await.unwrap();
    h.events.take();
    let purge = json!({"roomIdentifier": id, "userId": "mallory", "reason": "spam"});
    let (status, body) = h.ext(Extension::DeleteUserMessages, purge).await;
    assert_eq!((status, body), (200, json!({"deletedMessageIds": ["message00001", "message00003"]})));
    let deleted: Vec<(String, Option<String>)> = h
        .events
        .take()
        .into_iter()
        .map(|call| match call {
            Call::DeleteMessage(_, d) => (d.message_id, d.reason),
            other => panic!("expected deletions only, got {other:?}"),
        })
        .collect();
    let spam = Some("spam".to_owned());
    assert_eq!(deleted, [("message00001".to_owned(), spam.clone()), ("message00003".to_owned(), spam)]);
}

#[tokio::test]
async fn put_room_slow_mode_sets_the_interval_and_tells_the_live_room() {
    let h = harness().await;
    let id = h.room(json!({})).await;
    h.events.take();
    let (status, body) = h.ext(Extension::PutRoomSlowMode, json!({"roomIdentifier": id, "seconds": 30})).await;
    assert_eq!((status, body), (200, json!({"roomArn": format!("{ROOM_ARN_PREFIX}{id}"), "seconds": 30})));
    match h.events.take().as_slice() {
        [Call::Updated(room)] => assert_eq!(room.slow_mode_seconds, 30),
        calls => panic!("expected one update, got {calls:?}"),
    }
    assert_eq!(h.ext(Extension::PutRoomSlowMode, json!({"roomIdentifier": id, "seconds": 3601})).await.0, 400);
}

#[tokio::test]
async fn list_room_presence_merges_a_users_connections_and_pages_by_user_id() {
    let h = harness().await;
    let id = h.room(json!({})).await;
    let connected = |user: &str, at: i64, name: &str| crate::Connected {
        user_id: user.to_owned(),
        attributes: [("name".to_owned(), name.to_owned())].into(),
        connected_at_ms: 1_704_067_200_000 + at,
    };
    *h.events.present.lock() = vec![
        (id.clone(), connected("bob", 5, "Bob")),
        (id.clone(), connected("ann", 9, "Ann's laptop")),
        (id.clone(), connected("ann", 2, "Ann's phone")),
        (id.clone(), connected("carl", 1, "Carl")),
        ("AbCdEfGhIjKl".to_owned(), connected("dora", 1, "elsewhere")),
    ];
    let (status, first) = h.ext(Extension::ListRoomPresence, json!({"roomIdentifier": id, "maxResults": 2})).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(
        first["users"],
        json!([
            {"userId": "ann", "attributes": {"name": "Ann's phone"}, "connectionCount": 2,
             "connectedSince": "2024-01-01T00:00:00.002Z"},
            {"userId": "bob", "attributes": {"name": "Bob"}, "connectionCount": 1,
             "connectedSince": "2024-01-01T00:00:00.005Z"},
        ])
    );
    let token = first["nextToken"].as_str().unwrap();
    let (_, rest) = h.ext(Extension::ListRoomPresence, json!({"roomIdentifier": id, "nextToken": token})).await;
    assert_eq!(rest["users"].as_array().unwrap().len(), 1);
    assert_eq!(rest["users"][0]["userId"], "carl");
    assert!(rest.get("nextToken").is_none());
    *h.events.failure.lock() = Some(crate::tests::Failure::Failed);
    assert_eq!(h.ext(Extension::ListRoomPresence, json!({"roomIdentifier": id})).await.0, 500);
}

#[tokio::test]
async fn put_room_presence_events_turns_them_on_and_off_and_tells_the_live_room() {
    let h = harness().await;
    let id = h.room(json!({})).await;
    h.events.take();
    for enabled in [true, false] {
        let (status, body) =
            h.ext(Extension::PutRoomPresenceEvents, json!({"roomIdentifier": id, "enabled": enabled})).await;
        assert_eq!((status, body), (200, json!({"roomArn": format!("{ROOM_ARN_PREFIX}{id}"), "enabled": enabled})));
        match h.events.take().as_slice() {
            [Call::Updated(room)] => assert_eq!(room.presence_events, enabled),
            calls => panic!("expected one update, got {calls:?}"),
        }
    }
    let (status, body) = h.ext(Extension::PutRoomPresenceEvents, json!({"roomIdentifier": id, "enabled": "yes"})).await;
    assert_eq!((status, body["type"].as_str()), (400, Some("ValidationException")));
    assert!(body["body"].as_str().unwrap().contains("Member must be a boolean"), "{body}");
    assert_eq!(h.ext(Extension::PutRoomPresenceEvents, json!({"roomIdentifier": id})).await.0, 400);
    let missing = json!({"roomIdentifier": "AbCdEfGhIjKl", "enabled": true});
    assert_eq!(h.ext(Extension::PutRoomPresenceEvents, missing).await.0, 404);
    assert!(h.events.take().is_empty(), "refused calls change nothing live");
}
