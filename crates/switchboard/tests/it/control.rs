//! The IVS Chat control plane through the official `aws-sdk-ivschat` client and raw signed requests: every
//! operation, modeled errors, pagination under concurrent changes, tags and a restart.

use std::collections::HashSet;

use aws_sdk_ivschat::types::{CloudWatchLogsDestinationConfiguration, DestinationConfiguration};
use serde_json::Value;

use crate::harness::*;

fn cloudwatch(group: &str) -> DestinationConfiguration {
    DestinationConfiguration::CloudWatchLogs(
        CloudWatchLogsDestinationConfiguration::builder().log_group_name(group).build().unwrap(),
    )
}

#[tokio::test]
async fn every_operation_through_the_sdk() {
    let server = TestServer::start("", |a| a.region = Some("us-west-2".to_owned())).await;
    let sdk = server.chat_sdk();

    let logging = sdk
        .create_logging_configuration()
        .name("archive")
        .destination_configuration(cloudwatch("chat-logs"))
        .tags("team", "video")
        .send()
        .await
        .unwrap();
    let logging_arn = logging.arn().unwrap().to_owned();
    assert!(logging_arn.starts_with("arn:aws:ivschat:us-west-2:000000000000:logging-configuration/"), "{logging_arn}");
    assert_eq!(logging.id().unwrap().len(), 12);

    let room = sdk
        .create_room()
        .name("lobby")
        .maximum_message_length(200)
        .maximum_message_rate_per_second(5)
        .logging_configuration_identifiers(&logging_arn)
        .tags("env", "test")
        .send()
        .await
        .unwrap();
    let room_arn = room.arn().unwrap().to_owned();
    let room_id = room.id().unwrap().to_owned();
    assert_eq!(room_arn, format!("arn:aws:ivschat:us-west-2:000000000000:room/{room_id}"));
    assert_eq!(room.maximum_message_length(), Some(200));
    assert!(room.create_time().is_some());

    let got = sdk.get_room().identifier(&room_arn).send().await.unwrap();
    assert_eq!(got.name(), Some("lobby"));
    assert_eq!(got.logging_configuration_identifiers(), std::slice::from_ref(&logging_arn));
    // Extension: a bare id works wherever an ARN is expected.
    assert_eq!(sdk.get_room().identifier(&room_id).send().await.unwrap().arn(), Some(room_arn.as_str()));

    let updated = sdk.update_room().identifier(&room_arn).maximum_message_length(300).send().await.unwrap();
    assert_eq!(updated.maximum_message_length(), Some(300));
    assert_eq!(updated.name(), Some("lobby"));

    let rooms = sdk.list_rooms().send().await.unwrap();
    assert_eq!(rooms.rooms().len(), 1);
    let filtered = sdk.list_rooms().name("nope").send().await.unwrap();
    assert!(filtered.rooms().is_empty());

    let got_logging = sdk.get_logging_configuration().identifier(&logging_arn).send().await.unwrap();
    assert_eq!(got_logging.state().map(|s| s.as_str()), Some("ACTIVE"));
    sdk.update_logging_configuration().identifier(&logging_arn).name("archive2").send().await.unwrap();
    assert_eq!(sdk.list_logging_configurations().send().await.unwrap().logging_configurations().len(), 1);

    let event = sdk
        .send_event()
        .room_identifier(&room_arn)
        .event_name("SystemMessage")
        .attributes("msgType", "user-notification")
        .send()
        .await
        .unwrap();
    assert_eq!(event.id().unwrap().len(), 12);
    let deleted =
        sdk.delete_message().room_identifier(&room_arn).id("abcdABCD1234").reason("spam").send().await.unwrap();
    assert_eq!(deleted.id().unwrap().len(), 12);
    sdk.disconnect_user().room_identifier(&room_arn).user_id("victim").reason("bye").send().await.unwrap();

    sdk.tag_resource().resource_arn(&room_arn).tags("owner", "me").send().await.unwrap();
    let tags = sdk.list_tags_for_resource().resource_arn(&room_arn).send().await.unwrap();
    assert_eq!(tags.tags().get("owner").map(String::as_str), Some("me"));
    assert_eq!(tags.tags().get("env").map(String::as_str), Some("test"));
    sdk.untag_resource().resource_arn(&room_arn).tag_keys("owner").tag_keys("env").send().await.unwrap();
    assert!(sdk.list_tags_for_resource().resource_arn(&room_arn).send().await.unwrap().tags().is_empty());

    // Attached configurations cannot be deleted.
    let conflict =
        sdk.delete_logging_configuration().identifier(&logging_arn).send().await.unwrap_err().into_service_error();
    assert!(conflict.is_conflict_exception(), "{conflict:?}");

    sdk.delete_room().identifier(&room_arn).send().await.unwrap();
    sdk.delete_logging_configuration().identifier(&logging_arn).send().await.unwrap();
    let missing = sdk.get_room().identifier(&room_arn).send().await.unwrap_err().into_service_error();
    match missing {
        aws_sdk_ivschat::operation::get_room::GetRoomError::ResourceNotFoundException(e) => {
            assert_eq!(e.resource_id(), room_id);
        }
        other => panic!("{other:?}"),
    }
    server.shutdown().await;
}

#[tokio::test]
async fn modeled_errors_reach_the_sdk_typed() {
    let server = TestServer::start("[ivschat.rate_limits]\nDisconnectUser = 0\n", |a| {
        a.ivschat.ivschat_max_rooms = Some(1);
    })
    .await;
    let sdk = server.chat_sdk();

    let invalid = sdk.create_room().maximum_message_length(501).send().await.unwrap_err().into_service_error();
    match invalid {
        aws_sdk_ivschat::operation::create_room::CreateRoomError::ValidationException(e) => {
            assert_eq!(e.reason().as_str(), "FIELD_VALIDATION_FAILED");
            assert_eq!(e.field_list()[0].name(), "maximumMessageLength");
        }
        other => panic!("{other:?}"),
    }
    let room = sdk.create_room().send().await.unwrap();
    let quota = sdk.create_room().send().await.unwrap_err().into_service_error();
    assert!(quota.is_service_quota_exceeded_exception(), "{quota:?}");
    let throttled = sdk
        .disconnect_user()
        .room_identifier(room.arn().unwrap())
        .user_id("u")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(throttled.is_throttling_exception(), "{throttled:?}");
    let missing = sdk.send_event().room_identifier("abcdABCD1234").event_name("x").send().await.unwrap_err();
    assert!(missing.into_service_error().is_resource_not_found_exception());
    server.shutdown().await;
}

#[tokio::test]
async fn raw_error_bodies() {
    let server = TestServer::start("", |_| {}).await;
    let chat = |method, path: &str, body: &str| Raw {
        service: "ivschat",
        body: body.as_bytes().to_vec(),
        ..Raw::new(method, path.to_owned())
    };

    let (status, error_type, body) = parts(chat("POST", "/NoSuchOperation", "{}").send(&server).await).await;
    assert_eq!((status, error_type.as_str()), (400, "ValidationException"));
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["reason"], "UNKNOWN_OPERATION");

    let (status, error_type, body) = parts(chat("POST", "/CreateRoom", "{not json").send(&server).await).await;
    assert_eq!((status, error_type.as_str()), (400, "ValidationException"), "{body}");

    let (status, error_type, body) =
        parts(chat("POST", "/GetRoom", r#"{"identifier":"abcdABCD1234"}"#).send(&server).await).await;
    assert_eq!((status, error_type.as_str()), (404, "ResourceNotFoundException"));
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["resourceId"], "abcdABCD1234");
    assert_eq!(body["resourceType"], "ROOM");

    let unsigned = Raw { sign: false, ..chat("POST", "/ListRooms", "{}") };
    let (status, error_type, _) = parts(unsigned.send(&server).await).await;
    assert_eq!((status, error_type.as_str()), (403, "MissingAuthenticationTokenException"));

    let wrong_key = Raw { secret: "nope", ..chat("POST", "/ListRooms", "{}") };
    let (status, error_type, _) = parts(wrong_key.send(&server).await).await;
    assert_eq!((status, error_type.as_str()), (403, "InvalidSignatureException"));

    let oversize = chat("POST", "/CreateRoom", &format!(r#"{{"name":"{}"}}"#, "n".repeat(300 * 1024)));
    let (status, error_type, _) = parts(oversize.send(&server).await).await;
    assert_eq!((status, error_type.as_str()), (400, "ValidationException"));

    let (status, _, body) = parts(chat("POST", "/CreateRoom", "{}").send(&server).await).await;
    assert_eq!(status, 200);
    let arn = serde_json::from_str::<Value>(&body).unwrap()["arn"].as_str().unwrap().to_owned();
    let encoded: String = percent_encoding::utf8_percent_encode(&arn, percent_encoding::NON_ALPHANUMERIC).to_string();
    let (status, _, body) = parts(chat("DELETE", &format!("/tags/{encoded}?tagKeys=a"), "").send(&server).await).await;
    assert_eq!((status, body.as_str()), (200, "{}"));
    let (status, _, body) =
        parts(chat("POST", "/DeleteRoom", &format!(r#"{{"identifier":"{arn}"}}"#)).send(&server).await).await;
    assert_eq!((status, body.as_str()), (204, ""));
    server.shutdown().await;
}

#[tokio::test]
async fn pagination_stays_correct_while_rooms_come_and_go() {
    let server = TestServer::start("", |_| {}).await;
    let sdk = server.chat_sdk();
    let mut ids = Vec::new();
    for i in 0..9 {
        ids.push(sdk.create_room().name(format!("r{i}")).send().await.unwrap().id().unwrap().to_owned());
    }
    let mut seen: Vec<String> = Vec::new();
    let mut token: Option<String> = None;
    let mut deleted = HashSet::new();
    for page in 0.. {
        let out = sdk.list_rooms().max_results(3).set_next_token(token.clone()).send().await.unwrap();
        seen.extend(out.rooms().iter().map(|r| r.id().unwrap().to_owned()));
        if page == 0 {
            // Between pages: delete a room not seen yet, create new ones.
            let victim = ids.iter().find(|id| !seen.contains(id)).unwrap().clone();
            sdk.delete_room().identifier(&victim).send().await.unwrap();
            deleted.insert(victim);
            sdk.create_room().name("late").send().await.unwrap();
        }
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
        assert!(page < 10, "pagination does not end");
    }
    let unique: HashSet<_> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "no room listed twice: {seen:?}");
    for id in ids.iter().filter(|id| !deleted.contains(*id)) {
        assert!(unique.contains(id), "room {id} that existed throughout was skipped");
    }

    let tampered = sdk.list_rooms().next_token("AAAA-not-a-token").send().await.unwrap_err().into_service_error();
    assert!(tampered.is_validation_exception(), "{tampered:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_restart_keeps_rooms_logging_configurations_tags_and_page_tokens() {
    let server = TestServer::start("", |_| {}).await;
    let sdk = server.chat_sdk();
    let logging = sdk.create_logging_configuration().destination_configuration(cloudwatch("g")).send().await.unwrap();
    let room = sdk
        .create_room()
        .name("kept")
        .logging_configuration_identifiers(logging.arn().unwrap())
        .tags("k", "v")
        .send()
        .await
        .unwrap();
    sdk.create_room().name("second").send().await.unwrap();
    let first_page = sdk.list_rooms().max_results(1).send().await.unwrap();
    let token = first_page.next_token().unwrap().to_owned();
    let dir = server.data_dir();
    server.shutdown().await;

    let server = TestServer::start_in(dir, "", |_| {}).await;
    let sdk = server.chat_sdk();
    let got = sdk.get_room().identifier(room.arn().unwrap()).send().await.unwrap();
    assert_eq!(got.name(), Some("kept"));
    assert_eq!(got.logging_configuration_identifiers(), [logging.arn().unwrap().to_owned()]);
    let tags = sdk.list_tags_for_resource().resource_arn(room.arn().unwrap()).send().await.unwrap();
    assert_eq!(tags.tags().get("k").map(String::as_str), Some("v"));
    let second_page = sdk.list_rooms().max_results(1).next_token(token).send().await.unwrap();
    assert_eq!(second_page.rooms().len(), 1);
    assert_ne!(second_page.rooms()[0].id(), first_page.rooms()[0].id());
    server.shutdown().await;
}
