//! The examples of the `switchboard ivschat` help pages, after the AWS CLI's own (`send-event` is the seed
//! document's example, which runs as written).

use aws_models::ivschat::Operation;

use crate::model::Example;

/// The examples of `operation`'s help page.
pub(crate) fn of(operation: Operation) -> &'static [Example] {
    match operation {
        Operation::CreateChatToken => CREATE_CHAT_TOKEN,
        Operation::CreateLoggingConfiguration => CREATE_LOGGING_CONFIGURATION,
        Operation::CreateRoom => CREATE_ROOM,
        Operation::DeleteLoggingConfiguration => DELETE_LOGGING_CONFIGURATION,
        Operation::DeleteMessage => DELETE_MESSAGE,
        Operation::DeleteRoom => DELETE_ROOM,
        Operation::DisconnectUser => DISCONNECT_USER,
        Operation::GetLoggingConfiguration => GET_LOGGING_CONFIGURATION,
        Operation::GetRoom => GET_ROOM,
        Operation::ListLoggingConfigurations => LIST_LOGGING_CONFIGURATIONS,
        Operation::ListRooms => LIST_ROOMS,
        Operation::ListTagsForResource => LIST_TAGS_FOR_RESOURCE,
        Operation::SendEvent => SEND_EVENT,
        Operation::TagResource => TAG_RESOURCE,
        Operation::UntagResource => UNTAG_RESOURCE,
        Operation::UpdateLoggingConfiguration => UPDATE_LOGGING_CONFIGURATION,
        Operation::UpdateRoom => UPDATE_ROOM,
    }
}

static CREATE_CHAT_TOKEN: &[Example] = &[Example {
    title: "To create a chat token",
    text: "The following create-chat-token example creates an encrypted chat token that is used to establish an \
           individual WebSocket connection to a room. The token is valid for one minute, and a connection \
           (session) established with the token is valid for the specified duration.",
    command: r#"switchboard ivschat create-chat-token \
    --room-identifier "arn:aws:ivschat:us-west-2:12345689012:room/g1H2I3j4k5L6" \
    --user-id "11112222-3333-4444-5555-666677778888" \
    --capabilities DELETE_MESSAGE DISCONNECT_USER SEND_MESSAGE \
    --attributes "displayName=SampleUserName" \
    --session-duration-in-minutes 30"#,
    output: r#"{
    "token": "ACEGmnoq#1rstu2...BDFH3vxwy!4hlm!#5",
    "tokenExpirationTime": "2022-03-16T04:44:09+00:00",
    "sessionExpirationTime": "2022-03-16T05:14:09+00:00"
}"#,
}];

static CREATE_LOGGING_CONFIGURATION: &[Example] = &[Example {
    title: "To create a chat logging configuration",
    text: "The following create-logging-configuration example creates a logging configuration that records \
           the messages of the rooms it is attached to in a CloudWatch Logs log group (shorthand for a tagged \
           union: exactly one destination).",
    command: r#"switchboard ivschat create-logging-configuration \
    --destination-configuration cloudWatchLogs={logGroupName=chat-logs} \
    --name "test-logging-config" \
    --tags "key1=value1""#,
    output: r#"{
    "arn": "arn:aws:ivschat:us-west-2:123456789012:logging-configuration/ABcdef34ghIJ",
    "createTime": "2022-09-14T17:48:00+00:00",
    "destinationConfiguration": {
        "cloudWatchLogs": {
            "logGroupName": "chat-logs"
        }
    },
    "id": "ABcdef34ghIJ",
    "name": "test-logging-config",
    "state": "ACTIVE",
    "tags": {
        "key1": "value1"
    },
    "updateTime": "2022-09-14T17:48:00+00:00"
}"#,
}];

static CREATE_ROOM: &[Example] = &[Example {
    title: "To create a room",
    text: "The following create-room example creates a room with a message review handler, in shorthand \
           syntax (the same value in JSON: '{\"uri\": \"…\", \"fallbackResult\": \"DENY\"}').",
    command: r#"switchboard ivschat create-room \
    --name "test-room-1" \
    --maximum-message-length 256 \
    --maximum-message-rate-per-second 5 \
    --message-review-handler uri=arn:aws:lambda:us-west-2:123456789012:function:review,fallbackResult=DENY \
    --tags "key1=value1,key2=value2""#,
    output: r#"{
    "arn": "arn:aws:ivschat:us-west-2:12345689012:room/g1H2I3j4k5L6",
    "id": "g1H2I3j4k5L6",
    "name": "test-room-1",
    "createTime": "2022-03-16T04:44:09+00:00",
    "updateTime": "2022-03-16T04:44:09+00:00",
    "maximumMessageRatePerSecond": 5,
    "maximumMessageLength": 256,
    "messageReviewHandler": {
        "uri": "arn:aws:lambda:us-west-2:123456789012:function:review",
        "fallbackResult": "DENY"
    },
    "tags": {
        "key1": "value1",
        "key2": "value2"
    },
    "loggingConfigurationIdentifiers": []
}"#,
}];

static DELETE_LOGGING_CONFIGURATION: &[Example] = &[Example {
    title: "To delete a chat logging configuration",
    text: "The following delete-logging-configuration example deletes the specified logging configuration.",
    command: r#"switchboard ivschat delete-logging-configuration \
    --identifier "arn:aws:ivschat:us-west-2:123456789012:logging-configuration/ABcdef34ghIJ""#,
    output: "",
}];

static DELETE_MESSAGE: &[Example] = &[Example {
    title: "To delete messages from a specified room",
    text: "The following delete-message example sends an event to the specified room, which directs clients to \
           delete the specified message: that is, unrender it from view and delete it from the client's chat \
           history.",
    command: r#"switchboard ivschat delete-message \
    --room-identifier "arn:aws:ivschat:us-west-2:12345689012:room/g1H2I3j4k5L6" \
    --id "ABC123def456" \
    --reason "Message contains profanity""#,
    output: r#"{
    "id": "12345689012"
}"#,
}];

static DELETE_ROOM: &[Example] = &[Example {
    title: "To delete a room",
    text: "The following delete-room example deletes the specified room. Connected clients are disconnected.",
    command: r#"switchboard ivschat delete-room \
    --identifier "arn:aws:ivschat:us-west-2:12345689012:room/g1H2I3j4k5L6""#,
    output: "",
}];

static DISCONNECT_USER: &[Example] = &[Example {
    title: "To disconnect a user from a room",
    text: "The following disconnect-user example disconnects all connections of the specified user from the \
           specified room.",
    command: r#"switchboard ivschat disconnect-user \
    --room-identifier "arn:aws:ivschat:us-west-2:12345689012:room/g1H2I3j4k5L6" \
    --user-id "ABC123def456" \
    --reason "Violated terms of service""#,
    output: "",
}];

static GET_LOGGING_CONFIGURATION: &[Example] = &[Example {
    title: "To get information about a chat logging configuration",
    text: "The following get-logging-configuration example gets information about the specified logging \
           configuration.",
    command: r#"switchboard ivschat get-logging-configuration \
    --identifier "arn:aws:ivschat:us-west-2:123456789012:logging-configuration/ABcdef34ghIJ""#,
    output: r#"{
    "arn": "arn:aws:ivschat:us-west-2:123456789012:logging-configuration/ABcdef34ghIJ",
    "id": "ABcdef34ghIJ",
    "createTime": "2022-09-14T17:48:00+00:00",
    "updateTime": "2022-09-14T17:48:00+00:00",
    "name": "test-logging-config",
    "destinationConfiguration": {
        "s3": {
            "bucketName": "demo-logging-bucket"
        }
    },
    "state": "ACTIVE",
    "tags": {}
}"#,
}];

static GET_ROOM: &[Example] = &[Example {
    title: "To get information about a room",
    text: "The following get-room example gets information about the specified room.",
    command: r#"switchboard ivschat get-room \
    --identifier "arn:aws:ivschat:us-west-2:12345689012:room/g1H2I3j4k5L6""#,
    output: r#"{
    "arn": "arn:aws:ivschat:us-west-2:12345689012:room/g1H2I3j4k5L6",
    "id": "g1H2I3j4k5L6",
    "name": "test-room-1",
    "createTime": "2022-03-16T04:44:09+00:00",
    "updateTime": "2022-03-16T04:44:09+00:00",
    "maximumMessageRatePerSecond": 10,
    "maximumMessageLength": 500,
    "tags": {},
    "loggingConfigurationIdentifiers": []
}"#,
}];

static LIST_LOGGING_CONFIGURATIONS: &[Example] = &[Example {
    title: "To list logging configurations",
    text: "The following list-logging-configurations example lists the logging configurations of the account, \
           at most 2 per page; pass the nextToken of the answer to --next-token for the next page.",
    command: r#"switchboard ivschat list-logging-configurations \
    --max-results 2"#,
    output: r#"{
    "loggingConfigurations": [
        {
            "arn": "arn:aws:ivschat:us-west-2:123456789012:logging-configuration/ABcdef34ghIJ",
            "id": "ABcdef34ghIJ",
            "createTime": "2022-09-14T17:48:00+00:00",
            "updateTime": "2022-09-14T17:48:00+00:00",
            "name": "test-logging-config",
            "destinationConfiguration": {
                "s3": {
                    "bucketName": "demo-logging-bucket"
                }
            },
            "state": "ACTIVE",
            "tags": {}
        }
    ],
    "nextToken": "eyJwYWdlIjogMn0"
}"#,
}];

static LIST_ROOMS: &[Example] = &[Example {
    title: "To get summary information about all your rooms",
    text: "The following list-rooms example gets summary information about the rooms named test-room-1; \
           --query picks their ARNs.",
    command: r#"switchboard ivschat list-rooms \
    --name test-room-1 \
    --query 'rooms[].arn'"#,
    output: r#"[
    "arn:aws:ivschat:us-west-2:12345689012:room/g1H2I3j4k5L6"
]"#,
}];

static LIST_TAGS_FOR_RESOURCE: &[Example] = &[Example {
    title: "To list all tags for a resource",
    text: "The following list-tags-for-resource example lists all tags of the specified room.",
    command: r#"switchboard ivschat list-tags-for-resource \
    --resource-arn "arn:aws:ivschat:us-west-2:12345689012:room/g1H2I3j4k5L6""#,
    output: r#"{
    "tags": {
        "key1": "value1",
        "key2": "value2"
    }
}"#,
}];

static SEND_EVENT: &[Example] = &[
    Example {
        title: "To send an event to a room",
        text: "The following send-event example sends the given event to the specified room. (This is the AWS \
               CLI's own example, with its camelCase options and its attribute list split over two words after a \
               trailing comma: Switchboard runs it as written.)",
        command: r#"switchboard ivschat send-event \
    --roomIdentifier "arn:aws:ivschat:us-west-2:12345689012:room/g1H2I3j4k5L6" \
    --eventName "SystemMessage" \
    --attributes \
        "msgType"="user-notification", \
        "msgText"="This chat room will close in 15 minutes.""#,
        output: r#"{
    "id": "12345689012"
}"#,
    },
    Example {
        title: "The same event with the AWS CLI's own spelling",
        text: "Kebab-case options and one shorthand word, as the AWS CLI itself requires.",
        command: r#"switchboard ivschat send-event \
    --room-identifier "arn:aws:ivschat:us-west-2:12345689012:room/g1H2I3j4k5L6" \
    --event-name "SystemMessage" \
    --attributes msgType=user-notification,msgText="This chat room will close in 15 minutes.""#,
        output: r#"{
    "id": "12345689012"
}"#,
    },
];

static TAG_RESOURCE: &[Example] = &[Example {
    title: "To add a tag to a resource",
    text: "The following tag-resource example adds or updates tags of the specified room.",
    command: r#"switchboard ivschat tag-resource \
    --resource-arn "arn:aws:ivschat:us-west-2:12345689012:room/g1H2I3j4k5L6" \
    --tags "tagkey1=tagkeyvalue1","tagkey2=tagkeyvalue2""#,
    output: "",
}];

static UNTAG_RESOURCE: &[Example] = &[Example {
    title: "To remove a tag from a resource",
    text: "The following untag-resource example removes the specified tags from the specified room (a list \
           option takes one word per element).",
    command: r#"switchboard ivschat untag-resource \
    --resource-arn "arn:aws:ivschat:us-west-2:12345689012:room/g1H2I3j4k5L6" \
    --tag-keys tagkey1 tagkey2"#,
    output: "",
}];

static UPDATE_LOGGING_CONFIGURATION: &[Example] = &[Example {
    title: "To edit a room logging configuration",
    text: "The following update-logging-configuration example changes the destination of the specified \
           logging configuration, in JSON syntax.",
    command: r#"switchboard ivschat update-logging-configuration \
    --destination-configuration '{"s3": {"bucketName": "demo-logging-bucket"}}' \
    --identifier "arn:aws:ivschat:us-west-2:123456789012:logging-configuration/ABcdef34ghIJ" \
    --name "test-logging-config""#,
    output: r#"{
    "arn": "arn:aws:ivschat:us-west-2:123456789012:logging-configuration/ABcdef34ghIJ",
    "id": "ABcdef34ghIJ",
    "createTime": "2022-09-14T17:48:00+00:00",
    "updateTime": "2022-09-14T18:02:00+00:00",
    "name": "test-logging-config",
    "destinationConfiguration": {
        "s3": {
            "bucketName": "demo-logging-bucket"
        }
    },
    "state": "ACTIVE",
    "tags": {}
}"#,
}];

static UPDATE_ROOM: &[Example] = &[Example {
    title: "To update a room's configuration",
    text: "The following update-room example updates the specified room's configuration; an empty uri \
           disassociates its message review handler.",
    command: r#"switchboard ivschat update-room \
    --identifier "arn:aws:ivschat:us-west-2:12345689012:room/g1H2I3j4k5L6" \
    --maximum-message-length 256 \
    --maximum-message-rate-per-second 2 \
    --message-review-handler uri="""#,
    output: r#"{
    "arn": "arn:aws:ivschat:us-west-2:12345689012:room/g1H2I3j4k5L6",
    "id": "g1H2I3j4k5L6",
    "name": "test-room-1",
    "createTime": "2022-03-16T04:44:09+00:00",
    "updateTime": "2022-03-16T05:20:12+00:00",
    "maximumMessageRatePerSecond": 2,
    "maximumMessageLength": 256,
    "tags": {},
    "loggingConfigurationIdentifiers": []
}"#,
}];
