//! Pins the exact frames, records and review shapes of the IVS Chat messaging protocol.

use super::*;
use time::macros::datetime;

fn attrs(pairs: &[(&str, &str)]) -> Attributes {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

#[test]
fn message_frame_field_order_and_null_attributes() {
    let sender = attrs(&[("username", "ann"), ("avatar", "a.png")]);
    let frame = Frame::Message(Message {
        id: "M2YcHkgffEvU",
        request_id: "8fe65e61-1fa2-4563-a90d-c53521e0e63c",
        attributes: None,
        content: "Hi",
        send_time: "2022-12-02T08:21:20.754555595Z",
        sender: Sender { user_id: "ann", attributes: &sender },
    });
    assert_eq!(
        frame.to_json(),
        r#"{"Type":"MESSAGE","Id":"M2YcHkgffEvU","RequestId":"8fe65e61-1fa2-4563-a90d-c53521e0e63c","Attributes":null,"Content":"Hi","SendTime":"2022-12-02T08:21:20.754555595Z","Sender":{"UserId":"ann","Attributes":{"avatar":"a.png","username":"ann"}}}"#
    );
    let empty = Attributes::new();
    let given = attrs(&[("k", "v")]);
    let frame = Frame::Message(Message {
        id: "WhO6MW6iRdS5",
        request_id: "",
        attributes: Some(&given),
        content: "bbiab!",
        send_time: "2023-01-05T14:33:32.894089757Z",
        sender: Sender { user_id: "u", attributes: &empty },
    });
    assert_eq!(
        frame.to_json(),
        r#"{"Type":"MESSAGE","Id":"WhO6MW6iRdS5","RequestId":"","Attributes":{"k":"v"},"Content":"bbiab!","SendTime":"2023-01-05T14:33:32.894089757Z","Sender":{"UserId":"u","Attributes":{}}}"#
    );
}

#[test]
fn system_event_frames() {
    let deleted = delete_message_attributes("M2YcHkgffEvU", Some("Deleted by moderator"));
    let frame = Frame::Event(Event {
        id: "IxTh2Ad9fZIr",
        request_id: "",
        event_name: EVENT_DELETE_MESSAGE,
        attributes: Some(&deleted),
        send_time: "2022-12-02T08:25:51.13691272Z",
    });
    assert_eq!(
        frame.to_json(),
        r#"{"Type":"EVENT","Id":"IxTh2Ad9fZIr","RequestId":"","EventName":"aws:DELETE_MESSAGE","Attributes":{"MessageID":"M2YcHkgffEvU","MessageId":"M2YcHkgffEvU","Reason":"Deleted by moderator"},"SendTime":"2022-12-02T08:25:51.13691272Z"}"#
    );
    let kicked = disconnect_user_attributes("victim", Some("Kicked by moderator"));
    let frame = Frame::Event(Event {
        id: "Z8Cd2OchZR9K",
        request_id: "cc293ea6",
        event_name: EVENT_DISCONNECT_USER,
        attributes: Some(&kicked),
        send_time: "2022-12-02T08:40:48.492927465Z",
    });
    assert_eq!(
        frame.to_json(),
        r#"{"Type":"EVENT","Id":"Z8Cd2OchZR9K","RequestId":"cc293ea6","EventName":"aws:DISCONNECT_USER","Attributes":{"Reason":"Kicked by moderator","UserId":"victim"},"SendTime":"2022-12-02T08:40:48.492927465Z"}"#
    );
    assert_eq!(delete_message_attributes("x", None).len(), 2);
    let frame = Frame::Event(Event { id: "a", request_id: "", event_name: "e", attributes: None, send_time: "t" });
    assert_eq!(
        frame.to_json(),
        r#"{"Type":"EVENT","Id":"a","RequestId":"","EventName":"e","Attributes":null,"SendTime":"t"}"#
    );
}

#[test]
fn error_frame_and_codes() {
    let frame = Frame::Error(ErrorFrame {
        id: "IG5mcmlvdGlv",
        request_id: "497f6eca-6276-4993-bfeb-53cbbbba6f08",
        error_code: ChatErrorCode::BadRequest.code(),
        error_message: "Message exceeds maximum length",
    });
    assert_eq!(
        frame.to_json(),
        r#"{"Type":"ERROR","Id":"IG5mcmlvdGlv","RequestId":"497f6eca-6276-4993-bfeb-53cbbbba6f08","ErrorCode":400,"ErrorMessage":"Message exceeds maximum length"}"#
    );
    let codes: Vec<u16> = ChatErrorCode::ALL.iter().map(|c| c.code()).collect();
    assert_eq!(codes, [400, 401, 403, 404, 406, 413, 429, 500]);
}

#[test]
fn send_time_is_go_rfc3339_nano() {
    assert_eq!(rfc3339_nano(datetime!(2022-12-02 08:25:51.136912720 UTC)), "2022-12-02T08:25:51.13691272Z");
    assert_eq!(rfc3339_nano(datetime!(2022-12-02 08:21:20.754555595 UTC)), "2022-12-02T08:21:20.754555595Z");
    assert_eq!(rfc3339_nano(datetime!(2024-01-01 00:00:00 UTC)), "2024-01-01T00:00:00Z");
    assert_eq!(rfc3339_nano(datetime!(2024-01-01 01:00:00.5 +1)), "2024-01-01T00:00:00.5Z");
}

#[test]
fn log_record_shape() {
    let payload = r#"{"Type":"EVENT","Id":"a"}"#;
    assert_eq!(
        log_record(datetime!(2023-01-05 14:33:32.894089757 UTC), "EVENT", payload),
        r#"{"event_timestamp":"2023-01-05T14:33:32.894Z","type":"EVENT","payload":{"Type":"EVENT","Id":"a"},"version":"1.0"}"#
    );
}

#[test]
fn review_shapes() {
    let attributes = Attributes::new();
    let sender = attrs(&[("role", "viewer")]);
    let request = ReviewRequest {
        content: "hello",
        message_id: "abcdefABCDEF",
        room_arn: "arn:aws:ivschat:us-east-1:000000000000:room/g1H2I3j4k5L6",
        attributes: &attributes,
        sender: ReviewSender { attributes: &sender, user_id: "ann", ip: "127.0.0.1" },
    };
    assert_eq!(
        serde_json::to_string(&request).unwrap(),
        r#"{"Content":"hello","MessageId":"abcdefABCDEF","RoomArn":"arn:aws:ivschat:us-east-1:000000000000:room/g1H2I3j4k5L6","Attributes":{},"Sender":{"Attributes":{"role":"viewer"},"UserId":"ann","Ip":"127.0.0.1"}}"#
    );
    let answer: ReviewResponse =
        serde_json::from_str(r#"{"ReviewResult":"ALLOW","Content":"h***o","Attributes":{"a":"b"},"Extra":1}"#).unwrap();
    assert_eq!(answer.review_result, "ALLOW");
    assert_eq!(answer.content.as_deref(), Some("h***o"));
    assert_eq!(answer.attributes, Some(attrs(&[("a", "b")])));
    assert!(serde_json::from_str::<ReviewResponse>(r#"{"ReviewResult":"ALLOW","Attributes":{"a":1}}"#).is_err());
    assert!(serde_json::from_str::<ReviewResponse>(r#"{"Content":"x"}"#).is_err());
}

#[test]
fn firehose_delivery_shape() {
    let delivery =
        FirehoseDelivery { request_id: "r", timestamp: 1, records: vec![FirehoseRecord { data: "e30=".to_owned() }] };
    assert_eq!(
        serde_json::to_string(&delivery).unwrap(),
        r#"{"requestId":"r","timestamp":1,"records":[{"data":"e30="}]}"#
    );
}

#[test]
fn parses_the_official_clients_frames() {
    let parsed =
        parse_action(r#"{"Action":"SEND_MESSAGE","RequestId":"3adc8761","Content":"hello","Attributes":{"k":"v"}}"#);
    assert_eq!(
        parsed,
        Ok(ActionRequest {
            request_id: "3adc8761".to_owned(),
            action: Action::SendMessage { content: "hello".to_owned(), attributes: Some(attrs(&[("k", "v")])) },
        })
    );
    let parsed = parse_action(r#"{"Action":"DELETE_MESSAGE","RequestId":"4f5c","Id":"LViTCNfg6tNi","Reason":"spam"}"#);
    assert_eq!(
        parsed.unwrap().action,
        Action::DeleteMessage { id: "LViTCNfg6tNi".to_owned(), reason: Some("spam".to_owned()) }
    );
    let parsed = parse_action(r#"{"Action":"DISCONNECT_USER","UserId":"victim","Attributes":null}"#).unwrap();
    assert_eq!(parsed.request_id, "");
    assert_eq!(parsed.action, Action::DisconnectUser { user_id: "victim".to_owned(), reason: None });
    let parsed = parse_action(r#"{"Action":"SEND_MESSAGE","Content":"x","Attributes":null}"#).unwrap();
    assert_eq!(parsed.action, Action::SendMessage { content: "x".to_owned(), attributes: None });
}

#[test]
fn bad_requests_keep_the_request_id_when_readable() {
    let bad = |text: &str| parse_action(text).unwrap_err();
    assert_eq!(bad("not json").message, "The request must be a JSON object");
    assert_eq!(bad("[1]").message, "The request must be a JSON object");
    assert_eq!(
        bad(r#"{"RequestId":5}"#),
        BadRequest { request_id: String::new(), message: "RequestId must be a string".to_owned() }
    );
    assert_eq!(
        bad(r#"{"RequestId":"r"}"#),
        BadRequest { request_id: "r".to_owned(), message: "Action is required".to_owned() }
    );
    assert_eq!(bad(r#"{"RequestId":"r","Action":1}"#).message, "Action must be a string");
    assert_eq!(bad(r#"{"RequestId":"r","Action":"SHOUT"}"#).message, "Unsupported action");
    assert_eq!(bad(r#"{"Action":"SEND_MESSAGE"}"#).message, "Content is required");
    assert_eq!(bad(r#"{"Action":"SEND_MESSAGE","Content":7}"#).message, "Content must be a string");
    assert_eq!(
        bad(r#"{"Action":"SEND_MESSAGE","Content":"x","Attributes":{"a":1}}"#).message,
        "Attributes must be an object of string values"
    );
    assert_eq!(
        bad(r#"{"Action":"SEND_MESSAGE","Content":"x","Attributes":"a"}"#).message,
        "Attributes must be an object of string values"
    );
    assert_eq!(bad(r#"{"Action":"DELETE_MESSAGE"}"#).message, "Id is required");
    assert_eq!(bad(r#"{"Action":"DELETE_MESSAGE","Id":"x","Reason":false}"#).message, "Reason must be a string");
    assert_eq!(bad(r#"{"Action":"DISCONNECT_USER","UserId":[]}"#).message, "UserId must be a string");
}

#[test]
fn a_request_id_over_128_characters_is_refused_and_not_echoed() {
    // 128 code points are fine however many bytes they take; the official client's UUIDv4 is 36.
    let longest = "é".repeat(128);
    let text = serde_json::json!({"Action":"SEND_MESSAGE","RequestId":longest,"Content":"x"}).to_string();
    assert_eq!(parse_action(&text).unwrap().request_id, longest);
    // One more is refused before anything else is read, and the oversized id is not copied into the answer.
    let text = serde_json::json!({"Action":"SHOUT","RequestId":"r".repeat(129)}).to_string();
    assert_eq!(
        parse_action(&text),
        Err(BadRequest {
            request_id: String::new(),
            message: "RequestId must be at most 128 characters long".to_owned()
        })
    );
}
