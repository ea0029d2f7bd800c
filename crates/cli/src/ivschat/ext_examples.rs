//! The examples of the help pages of Switchboard's ivschat extensions (`switchboard ivschat put-room-history` …).

use aws_models::ivschat_ext::Operation;

use crate::model::Example;

/// The examples of an extension operation's help page.
pub(crate) fn of(operation: Operation) -> &'static [Example] {
    match operation {
        Operation::PutRoomHistory => PUT_ROOM_HISTORY,
        Operation::ListRoomMessages => LIST_ROOM_MESSAGES,
        Operation::BanUser => BAN_USER,
        Operation::DeleteUserMessages => DELETE_USER_MESSAGES,
        Operation::PutRoomSlowMode => PUT_ROOM_SLOW_MODE,
        Operation::ListRoomPresence => LIST_ROOM_PRESENCE,
        Operation::PutRoomPresenceEvents => PUT_ROOM_PRESENCE_EVENTS,
    }
}

static PUT_ROOM_HISTORY: &[Example] = &[Example {
    title: "To make a room retain its last messages",
    text: "The following put-room-history example makes the room retain its last 500 messages and events for at \
           most a day (a Switchboard extension), for list-room-messages and for clients that reconnect asking to \
           recover what they missed.",
    command: "switchboard ivschat put-room-history \\\n    --room-identifier g1H2I3j4k5L6 \\\n    \
              --max-entries 500 --max-age-seconds 86400",
    output: r#"{
    "roomArn": "arn:aws:ivschat:us-east-1:000000000000:room/g1H2I3j4k5L6",
    "maxEntries": 500,
    "maxAgeSeconds": 86400
}"#,
}];

static LIST_ROOM_MESSAGES: &[Example] = &[Example {
    title: "To list a room's last messages, newest first",
    text: "The following list-room-messages example lists the room's retained frames, newest first, each as the \
           room's members received it (a Switchboard extension).",
    command: "switchboard ivschat list-room-messages \\\n    --room-identifier g1H2I3j4k5L6 --max-results 2",
    output: r#"{
    "messages": [
        {
            "Type": "MESSAGE",
            "Id": "KPq9ZQk0Dx8w",
            "RequestId": "2e7f1c9a-5b1d-4c35-9b85-0e4b0b5e8f0a",
            "Content": "hello",
            "SendTime": "2026-12-06T14:00:00.123456789Z",
            "Sender": {
                "UserId": "ann",
                "Attributes": {}
            }
        }
    ]
}"#,
}];

static BAN_USER: &[Example] = &[Example {
    title: "To ban a user from a room for an hour",
    text: "The following ban-user example closes the user's connections to the room and refuses their new \
           connections and chat tokens for an hour (a Switchboard extension).",
    command: "switchboard ivschat ban-user \\\n    --room-identifier g1H2I3j4k5L6 --user-id mallory \\\n    \
              --duration-seconds 3600 --reason \"Spam\"",
    output: r#"{
    "roomArn": "arn:aws:ivschat:us-east-1:000000000000:room/g1H2I3j4k5L6",
    "userId": "mallory",
    "bannedUntil": "2026-12-06T15:00:00.000Z"
}"#,
}];

static DELETE_USER_MESSAGES: &[Example] = &[Example {
    title: "To delete every retained message of a user",
    text: "The following delete-user-messages example deletes each retained message of the user in the room, as \
           delete-message would (a Switchboard extension).",
    command: "switchboard ivschat delete-user-messages \\\n    --room-identifier g1H2I3j4k5L6 --user-id mallory",
    output: r#"{
    "deletedMessageIds": [
        "KPq9ZQk0Dx8w"
    ]
}"#,
}];

static PUT_ROOM_SLOW_MODE: &[Example] = &[Example {
    title: "To let each user send one message every 10 seconds",
    text: "The following put-room-slow-mode example limits each user of the room to one message per 10 seconds \
           (a Switchboard extension); 0 turns slow mode off.",
    command: "switchboard ivschat put-room-slow-mode --room-identifier g1H2I3j4k5L6 --seconds 10",
    output: r#"{
    "roomArn": "arn:aws:ivschat:us-east-1:000000000000:room/g1H2I3j4k5L6",
    "seconds": 10
}"#,
}];

static LIST_ROOM_PRESENCE: &[Example] = &[Example {
    title: "To list who is connected to a room",
    text: "The following list-room-presence example lists the users connected to the room on every node, by user id \
           (a Switchboard extension).",
    command: "switchboard ivschat list-room-presence --room-identifier g1H2I3j4k5L6",
    output: r#"{
    "users": [
        {
            "userId": "ann",
            "attributes": {
                "displayName": "Ann"
            },
            "connectionCount": 2,
            "connectedSince": "2026-12-06T14:00:00.123Z"
        }
    ]
}"#,
}];

static PUT_ROOM_PRESENCE_EVENTS: &[Example] = &[Example {
    title: "To announce users joining and leaving a room",
    text: "The following put-room-presence-events example makes the room send its members a switchboard:join event \
           when a user's first connection joins and a switchboard:leave event when their last one ends (a \
           Switchboard extension); --enabled false turns them off.",
    command: "switchboard ivschat put-room-presence-events --room-identifier g1H2I3j4k5L6 --enabled true",
    output: r#"{
    "roomArn": "arn:aws:ivschat:us-east-1:000000000000:room/g1H2I3j4k5L6",
    "enabled": true
}"#,
}];
