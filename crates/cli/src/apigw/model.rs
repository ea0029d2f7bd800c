//! The API Gateway Management API service model (`apigatewaymanagementapi` 2018-11-29) as command-line tables,
//! and the examples of its help pages.

use crate::model::{Example, Kind, Member, Operation, Service, Shape};

static STRING: Shape = Shape { name: "__string", kind: Kind::String, min: None };

static DELETE_CONNECTION_REQUEST: Shape = Shape {
    name: "DeleteConnectionRequest",
    kind: Kind::Structure(&[Member { name: "ConnectionId", shape: &STRING, required: true, doc: "" }]),
    min: None,
};

static GET_CONNECTION_REQUEST: Shape = Shape {
    name: "GetConnectionRequest",
    kind: Kind::Structure(&[Member { name: "ConnectionId", shape: &STRING, required: true, doc: "" }]),
    min: None,
};

static TIMESTAMP_ISO8601: Shape = Shape { name: "__timestampIso8601", kind: Kind::Timestamp, min: None };

static IDENTITY: Shape = Shape {
    name: "Identity",
    kind: Kind::Structure(&[
        Member {
            name: "SourceIp",
            shape: &STRING,
            required: true,
            doc: "The source IP address of the TCP connection making the request to API Gateway.",
        },
        Member { name: "UserAgent", shape: &STRING, required: true, doc: "The User Agent of the API caller." },
    ]),
    min: None,
};

static GET_CONNECTION_RESPONSE: Shape = Shape {
    name: "GetConnectionResponse",
    kind: Kind::Structure(&[
        Member {
            name: "ConnectedAt",
            shape: &TIMESTAMP_ISO8601,
            required: false,
            doc: "The time in ISO 8601 format for when the connection was established.",
        },
        Member { name: "Identity", shape: &IDENTITY, required: false, doc: "" },
        Member {
            name: "LastActiveAt",
            shape: &TIMESTAMP_ISO8601,
            required: false,
            doc: "The time in ISO 8601 format for when the connection was last active.",
        },
    ]),
    min: None,
};

static DATA: Shape = Shape { name: "Data", kind: Kind::Blob, min: None };

static POST_TO_CONNECTION_REQUEST: Shape = Shape {
    name: "PostToConnectionRequest",
    kind: Kind::Structure(&[
        Member {
            name: "Data",
            shape: &DATA,
            required: true,
            doc: "The data to be sent to the client specified by its connection id.",
        },
        Member {
            name: "ConnectionId",
            shape: &STRING,
            required: true,
            doc: "The identifier of the connection that a specific client is using.",
        },
    ]),
    min: None,
};

static OPERATIONS: &[Operation] = &[
    Operation {
        name: "DeleteConnection",
        cli_name: "delete-connection",
        doc: "Delete the connection with the provided id.",
        input: &DELETE_CONNECTION_REQUEST,
        output: None,
        examples: EXAMPLES_DELETE_CONNECTION,
    },
    Operation {
        name: "GetConnection",
        cli_name: "get-connection",
        doc: "Get information about the connection with the provided id.",
        input: &GET_CONNECTION_REQUEST,
        output: Some(&GET_CONNECTION_RESPONSE),
        examples: EXAMPLES_GET_CONNECTION,
    },
    Operation {
        name: "PostToConnection",
        cli_name: "post-to-connection",
        doc: "Sends the provided data to the specified connection.",
        input: &POST_TO_CONNECTION_REQUEST,
        output: None,
        examples: EXAMPLES_POST_TO_CONNECTION,
    },
];

pub(crate) static SERVICE: Service = Service {
    name: "apigatewaymanagementapi",
    service_id: "ApiGatewayManagementApi",
    doc: "The Amazon API Gateway Management API allows you to directly manage runtime aspects of your \
         deployed APIs. To use it, you must explicitly set the SDK's endpoint to point to the endpoint \
         of your deployed API. The endpoint will be of the form \
         https://{api-id}.execute-api.{region}.amazonaws.com/{stage}, or will be the endpoint \
         corresponding to your API's custom domain and base path, if applicable.",
    operations: OPERATIONS,
};

static EXAMPLES_POST_TO_CONNECTION: &[Example] = &[Example {
    title: "To send data to a WebSocket connection",
    text: "The following post-to-connection example sends a message to a client that's connected to the specified \
           WebSocket API. --data is sent as written (use --cli-binary-format base64 for the AWS CLI v2 behaviour, \
           or fileb://FILE for raw bytes).",
    command: "switchboard apigatewaymanagementapi post-to-connection \\\n    --connection-id L0SM9cOFvHcCIhw= \\\n    \
              --data \"Hello from API Gateway!\" \\\n    --endpoint-url http://127.0.0.1:4510/prod",
    output: "",
}];

static EXAMPLES_GET_CONNECTION: &[Example] = &[Example {
    title: "To get information about a WebSocket connection",
    text: "The following get-connection example describes a connection to the specified WebSocket API.",
    command: "switchboard apigatewaymanagementapi get-connection \\\n    --connection-id L0SM9cOFvHcCIhw= \\\n    \
              --endpoint-url http://127.0.0.1:4510/prod",
    output: "{\n    \"ConnectedAt\": \"2020-04-30T20:10:33.236000+00:00\",\n    \"Identity\": {\n        \
             \"SourceIp\": \"192.0.2.1\",\n        \"UserAgent\": \"wscat\"\n    },\n    \
             \"LastActiveAt\": \"2020-04-30T20:10:42.997000+00:00\"\n}",
}];

static EXAMPLES_DELETE_CONNECTION: &[Example] = &[Example {
    title: "To delete a WebSocket connection",
    text: "The following delete-connection example disconnects a client from the specified WebSocket API.",
    command: "switchboard apigatewaymanagementapi delete-connection \\\n    --connection-id L0SM9cOFvHcCIhw= \\\n    \
              --endpoint-url http://127.0.0.1:4510/prod",
    output: "",
}];
