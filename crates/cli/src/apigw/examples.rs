//! The examples of the `switchboard apigatewaymanagementapi` help pages, after the AWS CLI's own.

use aws_models::apigatewaymanagementapi::Operation;
use aws_models::apigatewaymanagementapi_ext::Operation as ExtOperation;

use crate::model::Example;

/// The examples of `operation`'s help page.
pub(crate) fn of(operation: Operation) -> &'static [Example] {
    match operation {
        Operation::DeleteConnection => DELETE_CONNECTION,
        Operation::GetConnection => GET_CONNECTION,
        Operation::PostToConnection => POST_TO_CONNECTION,
    }
}

static POST_TO_CONNECTION: &[Example] = &[Example {
    title: "To send data to a WebSocket connection",
    text: "The following post-to-connection example sends a message to a client that's connected to the specified \
           WebSocket API. --data is sent as written (use --cli-binary-format base64 for the AWS CLI v2 behaviour, \
           or fileb://FILE for raw bytes).",
    command: "switchboard apigatewaymanagementapi post-to-connection \\\n    --connection-id L0SM9cOFvHcCIhw= \\\n    \
              --data \"Hello from API Gateway!\" \\\n    --endpoint-url http://127.0.0.1:4510/prod",
    output: "",
}];

static GET_CONNECTION: &[Example] = &[Example {
    title: "To get information about a WebSocket connection",
    text: "The following get-connection example describes a connection to the specified WebSocket API.",
    command: "switchboard apigatewaymanagementapi get-connection \\\n    --connection-id L0SM9cOFvHcCIhw= \\\n    \
              --endpoint-url http://127.0.0.1:4510/prod",
    output: "{\n    \"ConnectedAt\": \"2020-04-30T20:10:33.236000+00:00\",\n    \"Identity\": {\n        \
             \"SourceIp\": \"192.0.2.1\",\n        \"UserAgent\": \"wscat\"\n    },\n    \
             \"LastActiveAt\": \"2020-04-30T20:10:42.997000+00:00\"\n}",
}];

static DELETE_CONNECTION: &[Example] = &[Example {
    title: "To delete a WebSocket connection",
    text: "The following delete-connection example disconnects a client from the specified WebSocket API.",
    command: "switchboard apigatewaymanagementapi delete-connection \\\n    --connection-id L0SM9cOFvHcCIhw= \\\n    \
              --endpoint-url http://127.0.0.1:4510/prod",
    output: "",
}];

/// The examples of an extension operation's help page.
pub(crate) fn of_extension(operation: ExtOperation) -> &'static [Example] {
    match operation {
        ExtOperation::CloseConnection => CLOSE_CONNECTION,
        ExtOperation::ListConnections => LIST_CONNECTIONS,
        ExtOperation::PostToConnections => POST_TO_CONNECTIONS,
        ExtOperation::PostToGroup => POST_TO_GROUP,
        ExtOperation::UpdateConnection => UPDATE_CONNECTION,
    }
}

static CLOSE_CONNECTION: &[Example] = &[Example {
    title: "To close a WebSocket connection with a close code and reason",
    text: "The following close-connection example disconnects a client with the application's close code 4001 \
           and a reason the client can show (a Switchboard extension; DeleteConnection always sends 1000).",
    command: "switchboard apigatewaymanagementapi close-connection \\\n    --connection-id L0SM9cOFvHcCIhw= \\\n    \
              --close-code 4001 --close-reason \"Session replaced\" \\\n    \
              --endpoint-url http://127.0.0.1:4510/prod",
    output: "",
}];

static LIST_CONNECTIONS: &[Example] = &[Example {
    title: "To list the connections of a group",
    text: "The following list-connections example lists the connections of the stage that are in the group \
           room-42, with their groups and metadata, across every node of a cluster (a Switchboard extension).",
    command: "switchboard apigatewaymanagementapi list-connections --group room-42 \\\n    \
              --endpoint-url http://127.0.0.1:4510/prod",
    output: "",
}];

static POST_TO_CONNECTIONS: &[Example] = &[Example {
    title: "To send data to many connections in one call",
    text: "The following post-to-connections example sends one message to two connections and prints each id's \
           outcome (a Switchboard extension).",
    command: "switchboard apigatewaymanagementapi post-to-connections \\\n    \
              --connection-ids L0SM9cOFvHcCIhw= L0SM9cOFvHcCIhx= --data \"Hello, everyone\" \\\n    \
              --endpoint-url http://127.0.0.1:4510/prod",
    output: "",
}];

static POST_TO_GROUP: &[Example] = &[Example {
    title: "To send data to every member of a group",
    text: "The following post-to-group example sends one message to every connection in the group room-42 \
           (a Switchboard extension).",
    command: "switchboard apigatewaymanagementapi post-to-group --group room-42 --data \"Hello, room\" \\\n    \
              --endpoint-url http://127.0.0.1:4510/prod",
    output: "",
}];

static UPDATE_CONNECTION: &[Example] = &[Example {
    title: "To add a connection to a group and set its metadata",
    text: "The following update-connection example adds a connection to the group room-42 and sets its user \
           metadata (a Switchboard extension).",
    command: "switchboard apigatewaymanagementapi update-connection --connection-id L0SM9cOFvHcCIhw= \\\n    \
              --join-groups room-42 --metadata user=alice \\\n    \
              --endpoint-url http://127.0.0.1:4510/prod",
    output: "",
}];
