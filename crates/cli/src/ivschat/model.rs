//! The Amazon IVS Chat service model (`ivschat` 2020-07-14) as command-line tables: every operation's members,
//! their shapes, whether they are required, and their documentation (transcribed from the AWS model).

use crate::model::{Kind, Member, Operation, Service, Shape};

static ROOM_IDENTIFIER: Shape = Shape { name: "RoomIdentifier", kind: Kind::String, min: Some(1) };

static USER_ID: Shape = Shape { name: "UserID", kind: Kind::String, min: Some(1) };

static CHAT_TOKEN_CAPABILITY: Shape = Shape {
    name: "ChatTokenCapability",
    kind: Kind::Enum(&["SEND_MESSAGE", "DISCONNECT_USER", "DELETE_MESSAGE"]),
    min: None,
};

static CHAT_TOKEN_CAPABILITIES: Shape =
    Shape { name: "ChatTokenCapabilities", kind: Kind::List(&CHAT_TOKEN_CAPABILITY), min: None };

static SESSION_DURATION_IN_MINUTES: Shape =
    Shape { name: "SessionDurationInMinutes", kind: Kind::Integer, min: Some(1) };

static STRING: Shape = Shape { name: "String", kind: Kind::String, min: None };

static CHAT_TOKEN_ATTRIBUTES: Shape = Shape { name: "ChatTokenAttributes", kind: Kind::Map(&STRING), min: None };

static CREATE_CHAT_TOKEN_REQUEST: Shape = Shape {
    name: "CreateChatTokenRequest",
    kind: Kind::Structure(&[
        Member {
            name: "roomIdentifier",
            shape: &ROOM_IDENTIFIER,
            required: true,
            doc: "Identifier of the room that the client is trying to access. Currently this must be an \
                 ARN.",
        },
        Member {
            name: "userId",
            shape: &USER_ID,
            required: true,
            doc: "Application-provided ID that uniquely identifies the user associated with this token. \
                 This can be any UTF-8 encoded text.",
        },
        Member {
            name: "capabilities",
            shape: &CHAT_TOKEN_CAPABILITIES,
            required: false,
            doc: "Set of capabilities that the user is allowed to perform in the room. Default: None (the \
                 capability to view messages is implicitly included in all requests).",
        },
        Member {
            name: "sessionDurationInMinutes",
            shape: &SESSION_DURATION_IN_MINUTES,
            required: false,
            doc: "Session duration (in minutes), after which the session expires. Default: 60 (1 hour).",
        },
        Member {
            name: "attributes",
            shape: &CHAT_TOKEN_ATTRIBUTES,
            required: false,
            doc: "Application-provided attributes to encode into the token and attach to a chat session. \
                 Map keys and values can contain UTF-8 encoded text. The maximum length of this field is \
                 1 KB total.",
        },
    ]),
    min: None,
};

static CHAT_TOKEN: Shape = Shape { name: "ChatToken", kind: Kind::String, min: None };

static TIME: Shape = Shape { name: "Time", kind: Kind::Timestamp, min: None };

static CREATE_CHAT_TOKEN_RESPONSE: Shape = Shape {
    name: "CreateChatTokenResponse",
    kind: Kind::Structure(&[
        Member { name: "token", shape: &CHAT_TOKEN, required: false, doc: "The issued client token, encrypted." },
        Member {
            name: "tokenExpirationTime",
            shape: &TIME,
            required: false,
            doc: "Time after which the token is no longer valid and cannot be used to connect to a room. \
                 This is an ISO 8601 timestamp; note that this is returned as a string.",
        },
        Member {
            name: "sessionExpirationTime",
            shape: &TIME,
            required: false,
            doc: "Time after which an end user's session is no longer valid. This is an ISO 8601 \
                 timestamp; note that this is returned as a string.",
        },
    ]),
    min: None,
};

static LOGGING_CONFIGURATION_NAME: Shape = Shape { name: "LoggingConfigurationName", kind: Kind::String, min: None };

static BUCKET_NAME: Shape = Shape { name: "BucketName", kind: Kind::String, min: Some(3) };

static S3_DESTINATION_CONFIGURATION: Shape = Shape {
    name: "S3DestinationConfiguration",
    kind: Kind::Structure(&[Member {
        name: "bucketName",
        shape: &BUCKET_NAME,
        required: true,
        doc: "Name of the Amazon S3 bucket where chat activity will be logged.",
    }]),
    min: None,
};

static LOG_GROUP_NAME: Shape = Shape { name: "LogGroupName", kind: Kind::String, min: Some(1) };

static CLOUD_WATCH_LOGS_DESTINATION_CONFIGURATION: Shape = Shape {
    name: "CloudWatchLogsDestinationConfiguration",
    kind: Kind::Structure(&[Member {
        name: "logGroupName",
        shape: &LOG_GROUP_NAME,
        required: true,
        doc: "Name of the Amazon Cloudwatch Logs destination where chat activity will be logged.",
    }]),
    min: None,
};

static DELIVERY_STREAM_NAME: Shape = Shape { name: "DeliveryStreamName", kind: Kind::String, min: Some(1) };

static FIREHOSE_DESTINATION_CONFIGURATION: Shape = Shape {
    name: "FirehoseDestinationConfiguration",
    kind: Kind::Structure(&[Member {
        name: "deliveryStreamName",
        shape: &DELIVERY_STREAM_NAME,
        required: true,
        doc: "Name of the Amazon Kinesis Firehose delivery stream where chat activity will be logged.",
    }]),
    min: None,
};

static DESTINATION_CONFIGURATION: Shape = Shape {
    name: "DestinationConfiguration",
    kind: Kind::Union(&[
        Member {
            name: "s3",
            shape: &S3_DESTINATION_CONFIGURATION,
            required: false,
            doc: "An Amazon S3 destination configuration where chat activity will be logged.",
        },
        Member {
            name: "cloudWatchLogs",
            shape: &CLOUD_WATCH_LOGS_DESTINATION_CONFIGURATION,
            required: false,
            doc: "An Amazon CloudWatch Logs destination configuration where chat activity will be logged.",
        },
        Member {
            name: "firehose",
            shape: &FIREHOSE_DESTINATION_CONFIGURATION,
            required: false,
            doc: "An Amazon Kinesis Data Firehose destination configuration where chat activity will be \
                 logged.",
        },
    ]),
    min: None,
};

static TAG_VALUE: Shape = Shape { name: "TagValue", kind: Kind::String, min: None };

static TAGS: Shape = Shape { name: "Tags", kind: Kind::Map(&TAG_VALUE), min: None };

static CREATE_LOGGING_CONFIGURATION_REQUEST: Shape = Shape {
    name: "CreateLoggingConfigurationRequest",
    kind: Kind::Structure(&[
        Member {
            name: "name",
            shape: &LOGGING_CONFIGURATION_NAME,
            required: false,
            doc: "Logging-configuration name. The value does not need to be unique.",
        },
        Member {
            name: "destinationConfiguration",
            shape: &DESTINATION_CONFIGURATION,
            required: true,
            doc: "A complex type that contains a destination configuration for where chat content will be \
                 logged. There can be only one type of destination (cloudWatchLogs, firehose, or s3) in \
                 a destinationConfiguration.",
        },
        Member {
            name: "tags",
            shape: &TAGS,
            required: false,
            doc: "Tags to attach to the resource. Array of maps, each of the form string:string \
                 (key:value). See Best practices and strategies in Tagging Amazon Web Services Resources \
                 and Tag Editor for details, including restrictions that apply to tags and \"Tag naming \
                 limits and requirements\"; Amazon IVS Chat has no constraints on tags beyond what is \
                 documented there.",
        },
    ]),
    min: None,
};

static LOGGING_CONFIGURATION_ARN: Shape = Shape { name: "LoggingConfigurationArn", kind: Kind::String, min: Some(1) };

static LOGGING_CONFIGURATION_ID: Shape = Shape { name: "LoggingConfigurationID", kind: Kind::String, min: Some(12) };

static CREATE_LOGGING_CONFIGURATION_STATE: Shape =
    Shape { name: "CreateLoggingConfigurationState", kind: Kind::Enum(&["ACTIVE"]), min: None };

static CREATE_LOGGING_CONFIGURATION_RESPONSE: Shape = Shape {
    name: "CreateLoggingConfigurationResponse",
    kind: Kind::Structure(&[
        Member {
            name: "arn",
            shape: &LOGGING_CONFIGURATION_ARN,
            required: false,
            doc: "Logging-configuration ARN, assigned by the system.",
        },
        Member {
            name: "id",
            shape: &LOGGING_CONFIGURATION_ID,
            required: false,
            doc: "Logging-configuration ID, generated by the system. This is a relative identifier, the \
                 part of the ARN that uniquely identifies the logging configuration.",
        },
        Member {
            name: "createTime",
            shape: &TIME,
            required: false,
            doc: "Time when the logging configuration was created. This is an ISO 8601 timestamp; note \
                 that this is returned as a string.",
        },
        Member {
            name: "updateTime",
            shape: &TIME,
            required: false,
            doc: "Time of the logging configuration’s last update. This is an ISO 8601 timestamp; note \
                 that this is returned as a string.",
        },
        Member {
            name: "name",
            shape: &LOGGING_CONFIGURATION_NAME,
            required: false,
            doc: "Logging-configuration name, from the request (if specified).",
        },
        Member {
            name: "destinationConfiguration",
            shape: &DESTINATION_CONFIGURATION,
            required: false,
            doc: "A complex type that contains a destination configuration for where chat content will be \
                 logged, from the request. There is only one type of destination (cloudWatchLogs, \
                 firehose, or s3) in a destinationConfiguration.",
        },
        Member {
            name: "state",
            shape: &CREATE_LOGGING_CONFIGURATION_STATE,
            required: false,
            doc: "The state of the logging configuration. When the state is ACTIVE, the configuration is \
                 ready to log chat content.",
        },
        Member {
            name: "tags",
            shape: &TAGS,
            required: false,
            doc: "Tags attached to the resource, from the request (if specified). Array of maps, each of \
                 the form string:string (key:value).",
        },
    ]),
    min: None,
};

static ROOM_NAME: Shape = Shape { name: "RoomName", kind: Kind::String, min: None };

static ROOM_MAX_MESSAGE_RATE_PER_SECOND: Shape =
    Shape { name: "RoomMaxMessageRatePerSecond", kind: Kind::Integer, min: Some(1) };

static ROOM_MAX_MESSAGE_LENGTH: Shape = Shape { name: "RoomMaxMessageLength", kind: Kind::Integer, min: Some(1) };

static LAMBDA_ARN: Shape = Shape { name: "LambdaArn", kind: Kind::String, min: None };

static FALLBACK_RESULT: Shape = Shape { name: "FallbackResult", kind: Kind::Enum(&["ALLOW", "DENY"]), min: None };

static MESSAGE_REVIEW_HANDLER: Shape = Shape {
    name: "MessageReviewHandler",
    kind: Kind::Structure(&[
        Member {
            name: "uri",
            shape: &LAMBDA_ARN,
            required: false,
            doc: "Identifier of the message review handler. Currently this must be an ARN of a lambda \
                 function.",
        },
        Member {
            name: "fallbackResult",
            shape: &FALLBACK_RESULT,
            required: false,
            doc: "Specifies the fallback behavior (whether the message is allowed or denied) if the \
                 handler does not return a valid response, encounters an error, or times out. (For the \
                 timeout period, see Service Quotas.) If allowed, the message is delivered with returned \
                 content to all users connected to the room. If denied, the message is not delivered to \
                 any user. Default: ALLOW.",
        },
    ]),
    min: None,
};

static LOGGING_CONFIGURATION_IDENTIFIER: Shape =
    Shape { name: "LoggingConfigurationIdentifier", kind: Kind::String, min: Some(1) };

static LOGGING_CONFIGURATION_IDENTIFIER_LIST: Shape = Shape {
    name: "LoggingConfigurationIdentifierList",
    kind: Kind::List(&LOGGING_CONFIGURATION_IDENTIFIER),
    min: None,
};

static CREATE_ROOM_REQUEST: Shape = Shape {
    name: "CreateRoomRequest",
    kind: Kind::Structure(&[
        Member {
            name: "name",
            shape: &ROOM_NAME,
            required: false,
            doc: "Room name. The value does not need to be unique.",
        },
        Member {
            name: "maximumMessageRatePerSecond",
            shape: &ROOM_MAX_MESSAGE_RATE_PER_SECOND,
            required: false,
            doc: "Maximum number of messages per second that can be sent to the room (by all clients). \
                 Default: 10.",
        },
        Member {
            name: "maximumMessageLength",
            shape: &ROOM_MAX_MESSAGE_LENGTH,
            required: false,
            doc: "Maximum number of characters in a single message. Messages are expected to be UTF-8 \
                 encoded and this limit applies specifically to rune/code-point count, not number of \
                 bytes. Default: 500.",
        },
        Member {
            name: "messageReviewHandler",
            shape: &MESSAGE_REVIEW_HANDLER,
            required: false,
            doc: "Configuration information for optional review of messages.",
        },
        Member {
            name: "tags",
            shape: &TAGS,
            required: false,
            doc: "Tags to attach to the resource. Array of maps, each of the form string:string \
                 (key:value). See Best practices and strategies in Tagging Amazon Web Services Resources \
                 and Tag Editor for details, including restrictions that apply to tags and \"Tag naming \
                 limits and requirements\"; Amazon IVS Chat has no constraints beyond what is documented \
                 there.",
        },
        Member {
            name: "loggingConfigurationIdentifiers",
            shape: &LOGGING_CONFIGURATION_IDENTIFIER_LIST,
            required: false,
            doc: "Array of logging-configuration identifiers attached to the room.",
        },
    ]),
    min: None,
};

static ROOM_ARN: Shape = Shape { name: "RoomArn", kind: Kind::String, min: Some(1) };

static ROOM_ID: Shape = Shape { name: "RoomID", kind: Kind::String, min: Some(12) };

static CREATE_ROOM_RESPONSE: Shape = Shape {
    name: "CreateRoomResponse",
    kind: Kind::Structure(&[
        Member { name: "arn", shape: &ROOM_ARN, required: false, doc: "Room ARN, assigned by the system." },
        Member {
            name: "id",
            shape: &ROOM_ID,
            required: false,
            doc: "Room ID, generated by the system. This is a relative identifier, the part of the ARN \
                 that uniquely identifies the room.",
        },
        Member { name: "name", shape: &ROOM_NAME, required: false, doc: "Room name, from the request (if specified)." },
        Member {
            name: "createTime",
            shape: &TIME,
            required: false,
            doc: "Time when the room was created. This is an ISO 8601 timestamp; note that this is \
                 returned as a string.",
        },
        Member {
            name: "updateTime",
            shape: &TIME,
            required: false,
            doc: "Time of the room’s last update. This is an ISO 8601 timestamp; note that this is \
                 returned as a string.",
        },
        Member {
            name: "maximumMessageRatePerSecond",
            shape: &ROOM_MAX_MESSAGE_RATE_PER_SECOND,
            required: false,
            doc: "Maximum number of messages per second that can be sent to the room (by all clients), \
                 from the request (if specified).",
        },
        Member {
            name: "maximumMessageLength",
            shape: &ROOM_MAX_MESSAGE_LENGTH,
            required: false,
            doc: "Maximum number of characters in a single message, from the request (if specified).",
        },
        Member {
            name: "messageReviewHandler",
            shape: &MESSAGE_REVIEW_HANDLER,
            required: false,
            doc: "Configuration information for optional review of messages.",
        },
        Member {
            name: "tags",
            shape: &TAGS,
            required: false,
            doc: "Tags attached to the resource, from the request (if specified).",
        },
        Member {
            name: "loggingConfigurationIdentifiers",
            shape: &LOGGING_CONFIGURATION_IDENTIFIER_LIST,
            required: false,
            doc: "Array of logging configurations attached to the room, from the request (if specified).",
        },
    ]),
    min: None,
};

static DELETE_LOGGING_CONFIGURATION_REQUEST: Shape = Shape {
    name: "DeleteLoggingConfigurationRequest",
    kind: Kind::Structure(&[Member {
        name: "identifier",
        shape: &LOGGING_CONFIGURATION_IDENTIFIER,
        required: true,
        doc: "Identifier of the logging configuration to be deleted.",
    }]),
    min: None,
};

static MESSAGE_ID: Shape = Shape { name: "MessageID", kind: Kind::String, min: Some(12) };

static REASON: Shape = Shape { name: "Reason", kind: Kind::String, min: Some(1) };

static DELETE_MESSAGE_REQUEST: Shape = Shape {
    name: "DeleteMessageRequest",
    kind: Kind::Structure(&[
        Member {
            name: "roomIdentifier",
            shape: &ROOM_IDENTIFIER,
            required: true,
            doc: "Identifier of the room where the message should be deleted. Currently this must be an \
                 ARN.",
        },
        Member {
            name: "id",
            shape: &MESSAGE_ID,
            required: true,
            doc: "ID of the message to be deleted. This is the Id field in the received message (see \
                 Message (Subscribe) in the Chat Messaging API).",
        },
        Member { name: "reason", shape: &REASON, required: false, doc: "Reason for deleting the message." },
    ]),
    min: None,
};

static ID: Shape = Shape { name: "ID", kind: Kind::String, min: Some(12) };

static DELETE_MESSAGE_RESPONSE: Shape = Shape {
    name: "DeleteMessageResponse",
    kind: Kind::Structure(&[Member {
        name: "id",
        shape: &ID,
        required: false,
        doc: "Operation identifier, generated by Amazon IVS Chat.",
    }]),
    min: None,
};

static DELETE_ROOM_REQUEST: Shape = Shape {
    name: "DeleteRoomRequest",
    kind: Kind::Structure(&[Member {
        name: "identifier",
        shape: &ROOM_IDENTIFIER,
        required: true,
        doc: "Identifier of the room to be deleted. Currently this must be an ARN.",
    }]),
    min: None,
};

static DISCONNECT_USER_REQUEST: Shape = Shape {
    name: "DisconnectUserRequest",
    kind: Kind::Structure(&[
        Member {
            name: "roomIdentifier",
            shape: &ROOM_IDENTIFIER,
            required: true,
            doc: "Identifier of the room from which the user's clients should be disconnected. Currently \
                 this must be an ARN.",
        },
        Member {
            name: "userId",
            shape: &USER_ID,
            required: true,
            doc: "ID of the user (connection) to disconnect from the room.",
        },
        Member { name: "reason", shape: &REASON, required: false, doc: "Reason for disconnecting the user." },
    ]),
    min: None,
};

static GET_LOGGING_CONFIGURATION_REQUEST: Shape = Shape {
    name: "GetLoggingConfigurationRequest",
    kind: Kind::Structure(&[Member {
        name: "identifier",
        shape: &LOGGING_CONFIGURATION_IDENTIFIER,
        required: true,
        doc: "Identifier of the logging configuration to be retrieved.",
    }]),
    min: None,
};

static LOGGING_CONFIGURATION_STATE: Shape = Shape {
    name: "LoggingConfigurationState",
    kind: Kind::Enum(&[
        "CREATING",
        "CREATE_FAILED",
        "DELETING",
        "DELETE_FAILED",
        "UPDATING",
        "UPDATE_FAILED",
        "ACTIVE",
    ]),
    min: None,
};

static GET_LOGGING_CONFIGURATION_RESPONSE: Shape = Shape {
    name: "GetLoggingConfigurationResponse",
    kind: Kind::Structure(&[
        Member {
            name: "arn",
            shape: &LOGGING_CONFIGURATION_ARN,
            required: false,
            doc: "Logging-configuration ARN, from the request (if identifier was an ARN).",
        },
        Member {
            name: "id",
            shape: &LOGGING_CONFIGURATION_ID,
            required: false,
            doc: "Logging-configuration ID, generated by the system. This is a relative identifier, the \
                 part of the ARN that uniquely identifies the logging configuration.",
        },
        Member {
            name: "createTime",
            shape: &TIME,
            required: false,
            doc: "Time when the logging configuration was created. This is an ISO 8601 timestamp; note \
                 that this is returned as a string.",
        },
        Member {
            name: "updateTime",
            shape: &TIME,
            required: false,
            doc: "Time of the logging configuration’s last update. This is an ISO 8601 timestamp; note \
                 that this is returned as a string.",
        },
        Member {
            name: "name",
            shape: &LOGGING_CONFIGURATION_NAME,
            required: false,
            doc: "Logging-configuration name. This value does not need to be unique.",
        },
        Member {
            name: "destinationConfiguration",
            shape: &DESTINATION_CONFIGURATION,
            required: false,
            doc: "A complex type that contains a destination configuration for where chat content will be \
                 logged. There is only one type of destination (cloudWatchLogs, firehose, or s3) in a \
                 destinationConfiguration.",
        },
        Member {
            name: "state",
            shape: &LOGGING_CONFIGURATION_STATE,
            required: false,
            doc: "The state of the logging configuration. When the state is ACTIVE, the configuration is \
                 ready to log chat content.",
        },
        Member {
            name: "tags",
            shape: &TAGS,
            required: false,
            doc: "Tags attached to the resource. Array of maps, each of the form string:string \
                 (key:value).",
        },
    ]),
    min: None,
};

static GET_ROOM_REQUEST: Shape = Shape {
    name: "GetRoomRequest",
    kind: Kind::Structure(&[Member {
        name: "identifier",
        shape: &ROOM_IDENTIFIER,
        required: true,
        doc: "Identifier of the room for which the configuration is to be retrieved. Currently this \
                 must be an ARN.",
    }]),
    min: None,
};

static GET_ROOM_RESPONSE: Shape = Shape {
    name: "GetRoomResponse",
    kind: Kind::Structure(&[
        Member {
            name: "arn",
            shape: &ROOM_ARN,
            required: false,
            doc: "Room ARN, from the request (if identifier was an ARN).",
        },
        Member {
            name: "id",
            shape: &ROOM_ID,
            required: false,
            doc: "Room ID, generated by the system. This is a relative identifier, the part of the ARN \
                 that uniquely identifies the room.",
        },
        Member {
            name: "name",
            shape: &ROOM_NAME,
            required: false,
            doc: "Room name. The value does not need to be unique.",
        },
        Member {
            name: "createTime",
            shape: &TIME,
            required: false,
            doc: "Time when the room was created. This is an ISO 8601 timestamp; note that this is \
                 returned as a string.",
        },
        Member {
            name: "updateTime",
            shape: &TIME,
            required: false,
            doc: "Time of the room’s last update. This is an ISO 8601 timestamp; note that this is \
                 returned as a string.",
        },
        Member {
            name: "maximumMessageRatePerSecond",
            shape: &ROOM_MAX_MESSAGE_RATE_PER_SECOND,
            required: false,
            doc: "Maximum number of messages per second that can be sent to the room (by all clients). \
                 Default: 10.",
        },
        Member {
            name: "maximumMessageLength",
            shape: &ROOM_MAX_MESSAGE_LENGTH,
            required: false,
            doc: "Maximum number of characters in a single message. Messages are expected to be UTF-8 \
                 encoded and this limit applies specifically to rune/code-point count, not number of \
                 bytes. Default: 500.",
        },
        Member {
            name: "messageReviewHandler",
            shape: &MESSAGE_REVIEW_HANDLER,
            required: false,
            doc: "Configuration information for optional review of messages.",
        },
        Member {
            name: "tags",
            shape: &TAGS,
            required: false,
            doc: "Tags attached to the resource. Array of maps, each of the form string:string \
                 (key:value).",
        },
        Member {
            name: "loggingConfigurationIdentifiers",
            shape: &LOGGING_CONFIGURATION_IDENTIFIER_LIST,
            required: false,
            doc: "Array of logging configurations attached to the room.",
        },
    ]),
    min: None,
};

static PAGINATION_TOKEN: Shape = Shape { name: "PaginationToken", kind: Kind::String, min: None };

static MAX_LOGGING_CONFIGURATION_RESULTS: Shape =
    Shape { name: "MaxLoggingConfigurationResults", kind: Kind::Integer, min: Some(1) };

static LIST_LOGGING_CONFIGURATIONS_REQUEST: Shape = Shape {
    name: "ListLoggingConfigurationsRequest",
    kind: Kind::Structure(&[
        Member {
            name: "nextToken",
            shape: &PAGINATION_TOKEN,
            required: false,
            doc: "The first logging configurations to retrieve. This is used for pagination; see the \
                 nextToken response field.",
        },
        Member {
            name: "maxResults",
            shape: &MAX_LOGGING_CONFIGURATION_RESULTS,
            required: false,
            doc: "Maximum number of logging configurations to return. Default: 50.",
        },
    ]),
    min: None,
};

static LOGGING_CONFIGURATION_SUMMARY: Shape = Shape {
    name: "LoggingConfigurationSummary",
    kind: Kind::Structure(&[
        Member { name: "arn", shape: &LOGGING_CONFIGURATION_ARN, required: false, doc: "Logging-configuration ARN." },
        Member {
            name: "id",
            shape: &LOGGING_CONFIGURATION_ID,
            required: false,
            doc: "Logging-configuration ID, generated by the system. This is a relative identifier, the \
                 part of the ARN that uniquely identifies the room.",
        },
        Member {
            name: "createTime",
            shape: &TIME,
            required: false,
            doc: "Time when the logging configuration was created. This is an ISO 8601 timestamp; note \
                 that this is returned as a string.",
        },
        Member {
            name: "updateTime",
            shape: &TIME,
            required: false,
            doc: "Time of the logging configuration’s last update. This is an ISO 8601 timestamp; note \
                 that this is returned as a string.",
        },
        Member {
            name: "name",
            shape: &LOGGING_CONFIGURATION_NAME,
            required: false,
            doc: "Logging-configuration name. The value does not need to be unique.",
        },
        Member {
            name: "destinationConfiguration",
            shape: &DESTINATION_CONFIGURATION,
            required: false,
            doc: "A complex type that contains a destination configuration for where chat content will be \
                 logged.",
        },
        Member {
            name: "state",
            shape: &LOGGING_CONFIGURATION_STATE,
            required: false,
            doc: "The state of the logging configuration. When this is ACTIVE, the configuration is ready \
                 for logging chat content.",
        },
        Member {
            name: "tags",
            shape: &TAGS,
            required: false,
            doc: "Tags to attach to the resource. Array of maps, each of the form string:string \
                 (key:value). See Best practices and strategies in Tagging Amazon Web Services Resources \
                 and Tag Editor for details, including restrictions that apply to tags and \"Tag naming \
                 limits and requirements\"; Amazon IVS Chat has no constraints on tags beyond what is \
                 documented there.",
        },
    ]),
    min: None,
};

static LOGGING_CONFIGURATION_LIST: Shape =
    Shape { name: "LoggingConfigurationList", kind: Kind::List(&LOGGING_CONFIGURATION_SUMMARY), min: None };

static LIST_LOGGING_CONFIGURATIONS_RESPONSE: Shape = Shape {
    name: "ListLoggingConfigurationsResponse",
    kind: Kind::Structure(&[
        Member {
            name: "loggingConfigurations",
            shape: &LOGGING_CONFIGURATION_LIST,
            required: true,
            doc: "List of the matching logging configurations (summary information only). There is only \
                 one type of destination (cloudWatchLogs, firehose, or s3) in a \
                 destinationConfiguration.",
        },
        Member {
            name: "nextToken",
            shape: &PAGINATION_TOKEN,
            required: false,
            doc: "If there are more logging configurations than maxResults, use nextToken in the request \
                 to get the next set.",
        },
    ]),
    min: None,
};

static MAX_ROOM_RESULTS: Shape = Shape { name: "MaxRoomResults", kind: Kind::Integer, min: Some(1) };

static LIST_ROOMS_REQUEST: Shape = Shape {
    name: "ListRoomsRequest",
    kind: Kind::Structure(&[
        Member {
            name: "name",
            shape: &ROOM_NAME,
            required: false,
            doc: "Filters the list to match the specified room name.",
        },
        Member {
            name: "nextToken",
            shape: &PAGINATION_TOKEN,
            required: false,
            doc: "The first room to retrieve. This is used for pagination; see the nextToken response \
                 field.",
        },
        Member {
            name: "maxResults",
            shape: &MAX_ROOM_RESULTS,
            required: false,
            doc: "Maximum number of rooms to return. Default: 50.",
        },
        Member {
            name: "messageReviewHandlerUri",
            shape: &LAMBDA_ARN,
            required: false,
            doc: "Filters the list to match the specified message review handler URI.",
        },
        Member {
            name: "loggingConfigurationIdentifier",
            shape: &LOGGING_CONFIGURATION_IDENTIFIER,
            required: false,
            doc: "Logging-configuration identifier.",
        },
    ]),
    min: None,
};

static ROOM_SUMMARY: Shape = Shape {
    name: "RoomSummary",
    kind: Kind::Structure(&[
        Member { name: "arn", shape: &ROOM_ARN, required: false, doc: "Room ARN." },
        Member {
            name: "id",
            shape: &ROOM_ID,
            required: false,
            doc: "Room ID, generated by the system. This is a relative identifier, the part of the ARN \
                 that uniquely identifies the room.",
        },
        Member {
            name: "name",
            shape: &ROOM_NAME,
            required: false,
            doc: "Room name. The value does not need to be unique.",
        },
        Member {
            name: "messageReviewHandler",
            shape: &MESSAGE_REVIEW_HANDLER,
            required: false,
            doc: "Configuration information for optional review of messages.",
        },
        Member {
            name: "createTime",
            shape: &TIME,
            required: false,
            doc: "Time when the room was created. This is an ISO 8601 timestamp; note that this is \
                 returned as a string.",
        },
        Member {
            name: "updateTime",
            shape: &TIME,
            required: false,
            doc: "Time of the room’s last update. This is an ISO 8601 timestamp; note that this is \
                 returned as a string.",
        },
        Member {
            name: "tags",
            shape: &TAGS,
            required: false,
            doc: "Tags attached to the resource. Array of maps, each of the form string:string \
                 (key:value). See Best practices and strategies in Tagging Amazon Web Services Resources \
                 and Tag Editor for details, including restrictions that apply to tags and \"Tag naming \
                 limits and requirements\"; Amazon IVS Chat has no constraints beyond what is documented \
                 there.",
        },
        Member {
            name: "loggingConfigurationIdentifiers",
            shape: &LOGGING_CONFIGURATION_IDENTIFIER_LIST,
            required: false,
            doc: "List of logging-configuration identifiers attached to the room.",
        },
    ]),
    min: None,
};

static ROOM_LIST: Shape = Shape { name: "RoomList", kind: Kind::List(&ROOM_SUMMARY), min: None };

static LIST_ROOMS_RESPONSE: Shape = Shape {
    name: "ListRoomsResponse",
    kind: Kind::Structure(&[
        Member {
            name: "rooms",
            shape: &ROOM_LIST,
            required: true,
            doc: "List of the matching rooms (summary information only).",
        },
        Member {
            name: "nextToken",
            shape: &PAGINATION_TOKEN,
            required: false,
            doc: "If there are more rooms than maxResults, use nextToken in the request to get the next \
                 set.",
        },
    ]),
    min: None,
};

static RESOURCE_ARN: Shape = Shape { name: "ResourceArn", kind: Kind::String, min: Some(1) };

static LIST_TAGS_FOR_RESOURCE_REQUEST: Shape = Shape {
    name: "ListTagsForResourceRequest",
    kind: Kind::Structure(&[Member {
        name: "resourceArn",
        shape: &RESOURCE_ARN,
        required: true,
        doc: "The ARN of the resource to be retrieved. The ARN must be URL-encoded.",
    }]),
    min: None,
};

static LIST_TAGS_FOR_RESOURCE_RESPONSE: Shape = Shape {
    name: "ListTagsForResourceResponse",
    kind: Kind::Structure(&[Member {
        name: "tags",
        shape: &TAGS,
        required: true,
        doc: "Tags attached to the resource. Array of maps, each of the form string:string \
                 (key:value).",
    }]),
    min: None,
};

static EVENT_NAME: Shape = Shape { name: "EventName", kind: Kind::String, min: Some(1) };

static EVENT_ATTRIBUTES: Shape = Shape { name: "EventAttributes", kind: Kind::Map(&STRING), min: None };

static SEND_EVENT_REQUEST: Shape = Shape {
    name: "SendEventRequest",
    kind: Kind::Structure(&[
        Member {
            name: "roomIdentifier",
            shape: &ROOM_IDENTIFIER,
            required: true,
            doc: "Identifier of the room to which the event will be sent. Currently this must be an ARN.",
        },
        Member {
            name: "eventName",
            shape: &EVENT_NAME,
            required: true,
            doc: "Application-defined name of the event to send to clients.",
        },
        Member {
            name: "attributes",
            shape: &EVENT_ATTRIBUTES,
            required: false,
            doc: "Application-defined metadata to attach to the event sent to clients. The maximum length \
                 of the metadata is 1 KB total.",
        },
    ]),
    min: None,
};

static SEND_EVENT_RESPONSE: Shape = Shape {
    name: "SendEventResponse",
    kind: Kind::Structure(&[Member {
        name: "id",
        shape: &ID,
        required: false,
        doc: "An identifier generated by Amazon IVS Chat. This identifier must be used in subsequent \
                 operations for this message, such as DeleteMessage.",
    }]),
    min: None,
};

static TAG_RESOURCE_REQUEST: Shape = Shape {
    name: "TagResourceRequest",
    kind: Kind::Structure(&[
        Member {
            name: "resourceArn",
            shape: &RESOURCE_ARN,
            required: true,
            doc: "The ARN of the resource to be tagged. The ARN must be URL-encoded.",
        },
        Member {
            name: "tags",
            shape: &TAGS,
            required: true,
            doc: "Array of tags to be added or updated. Array of maps, each of the form string:string \
                 (key:value). See Best practices and strategies in Tagging Amazon Web Services Resources \
                 and Tag Editor for details, including restrictions that apply to tags and \"Tag naming \
                 limits and requirements\"; Amazon IVS Chat has no constraints beyond what is documented \
                 there.",
        },
    ]),
    min: None,
};

static TAG_KEY: Shape = Shape { name: "TagKey", kind: Kind::String, min: Some(1) };

static TAG_KEY_LIST: Shape = Shape { name: "TagKeyList", kind: Kind::List(&TAG_KEY), min: None };

static UNTAG_RESOURCE_REQUEST: Shape = Shape {
    name: "UntagResourceRequest",
    kind: Kind::Structure(&[
        Member {
            name: "resourceArn",
            shape: &RESOURCE_ARN,
            required: true,
            doc: "The ARN of the resource to be untagged. The ARN must be URL-encoded.",
        },
        Member {
            name: "tagKeys",
            shape: &TAG_KEY_LIST,
            required: true,
            doc: "Array of tags to be removed. Array of maps, each of the form string:string (key:value). \
                 See Best practices and strategies in Tagging Amazon Web Services Resources and Tag \
                 Editor for details, including restrictions that apply to tags and \"Tag naming limits \
                 and requirements\"; Amazon IVS Chat has no constraints beyond what is documented there.",
        },
    ]),
    min: None,
};

static UPDATE_LOGGING_CONFIGURATION_REQUEST: Shape = Shape {
    name: "UpdateLoggingConfigurationRequest",
    kind: Kind::Structure(&[
        Member {
            name: "identifier",
            shape: &LOGGING_CONFIGURATION_IDENTIFIER,
            required: true,
            doc: "Identifier of the logging configuration to be updated.",
        },
        Member {
            name: "name",
            shape: &LOGGING_CONFIGURATION_NAME,
            required: false,
            doc: "Logging-configuration name. The value does not need to be unique.",
        },
        Member {
            name: "destinationConfiguration",
            shape: &DESTINATION_CONFIGURATION,
            required: false,
            doc: "A complex type that contains a destination configuration for where chat content will be \
                 logged. There can be only one type of destination (cloudWatchLogs, firehose, or s3) in \
                 a destinationConfiguration.",
        },
    ]),
    min: None,
};

static UPDATE_LOGGING_CONFIGURATION_STATE: Shape =
    Shape { name: "UpdateLoggingConfigurationState", kind: Kind::Enum(&["ACTIVE"]), min: None };

static UPDATE_LOGGING_CONFIGURATION_RESPONSE: Shape = Shape {
    name: "UpdateLoggingConfigurationResponse",
    kind: Kind::Structure(&[
        Member {
            name: "arn",
            shape: &LOGGING_CONFIGURATION_ARN,
            required: false,
            doc: "Logging-configuration ARN, from the request (if identifier was an ARN).",
        },
        Member {
            name: "id",
            shape: &LOGGING_CONFIGURATION_ID,
            required: false,
            doc: "Logging-configuration ID, generated by the system. This is a relative identifier, the \
                 part of the ARN that uniquely identifies the room.",
        },
        Member {
            name: "createTime",
            shape: &TIME,
            required: false,
            doc: "Time when the logging configuration was created. This is an ISO 8601 timestamp; note \
                 that this is returned as a string.",
        },
        Member {
            name: "updateTime",
            shape: &TIME,
            required: false,
            doc: "Time of the logging configuration’s last update. This is an ISO 8601 timestamp; note \
                 that this is returned as a string.",
        },
        Member {
            name: "name",
            shape: &LOGGING_CONFIGURATION_NAME,
            required: false,
            doc: "Logging-configuration name, from the request (if specified).",
        },
        Member {
            name: "destinationConfiguration",
            shape: &DESTINATION_CONFIGURATION,
            required: false,
            doc: "A complex type that contains a destination configuration for where chat content will be \
                 logged, from the request. There is only one type of destination (cloudWatchLogs, \
                 firehose, or s3) in a destinationConfiguration.",
        },
        Member {
            name: "state",
            shape: &UPDATE_LOGGING_CONFIGURATION_STATE,
            required: false,
            doc: "The state of the logging configuration. When the state is ACTIVE, the configuration is \
                 ready to log chat content.",
        },
        Member {
            name: "tags",
            shape: &TAGS,
            required: false,
            doc: "Tags attached to the resource. Array of maps, each of the form string:string \
                 (key:value).",
        },
    ]),
    min: None,
};

static UPDATE_ROOM_REQUEST: Shape = Shape {
    name: "UpdateRoomRequest",
    kind: Kind::Structure(&[
        Member {
            name: "identifier",
            shape: &ROOM_IDENTIFIER,
            required: true,
            doc: "Identifier of the room to be updated. Currently this must be an ARN.",
        },
        Member {
            name: "name",
            shape: &ROOM_NAME,
            required: false,
            doc: "Room name. The value does not need to be unique.",
        },
        Member {
            name: "maximumMessageRatePerSecond",
            shape: &ROOM_MAX_MESSAGE_RATE_PER_SECOND,
            required: false,
            doc: "Maximum number of messages per second that can be sent to the room (by all clients). \
                 Default: 10.",
        },
        Member {
            name: "maximumMessageLength",
            shape: &ROOM_MAX_MESSAGE_LENGTH,
            required: false,
            doc: "The maximum number of characters in a single message. Messages are expected to be UTF-8 \
                 encoded and this limit applies specifically to rune/code-point count, not number of \
                 bytes. Default: 500.",
        },
        Member {
            name: "messageReviewHandler",
            shape: &MESSAGE_REVIEW_HANDLER,
            required: false,
            doc: "Configuration information for optional review of messages. Specify an empty uri string \
                 to disassociate a message review handler from the specified room.",
        },
        Member {
            name: "loggingConfigurationIdentifiers",
            shape: &LOGGING_CONFIGURATION_IDENTIFIER_LIST,
            required: false,
            doc: "Array of logging-configuration identifiers attached to the room.",
        },
    ]),
    min: None,
};

static UPDATE_ROOM_RESPONSE: Shape = Shape {
    name: "UpdateRoomResponse",
    kind: Kind::Structure(&[
        Member {
            name: "arn",
            shape: &ROOM_ARN,
            required: false,
            doc: "Room ARN, from the request (if identifier was an ARN).",
        },
        Member {
            name: "id",
            shape: &ROOM_ID,
            required: false,
            doc: "Room ID, generated by the system. This is a relative identifier, the part of the ARN \
                 that uniquely identifies the room.",
        },
        Member { name: "name", shape: &ROOM_NAME, required: false, doc: "Room name, from the request (if specified)." },
        Member {
            name: "createTime",
            shape: &TIME,
            required: false,
            doc: "Time when the room was created. This is an ISO 8601 timestamp; note that this is \
                 returned as a string.",
        },
        Member {
            name: "updateTime",
            shape: &TIME,
            required: false,
            doc: "Time of the room’s last update. This is an ISO 8601 timestamp; note that this is \
                 returned as a string.",
        },
        Member {
            name: "maximumMessageRatePerSecond",
            shape: &ROOM_MAX_MESSAGE_RATE_PER_SECOND,
            required: false,
            doc: "Maximum number of messages per second that can be sent to the room (by all clients), \
                 from the request (if specified).",
        },
        Member {
            name: "maximumMessageLength",
            shape: &ROOM_MAX_MESSAGE_LENGTH,
            required: false,
            doc: "Maximum number of characters in a single message, from the request (if specified).",
        },
        Member {
            name: "messageReviewHandler",
            shape: &MESSAGE_REVIEW_HANDLER,
            required: false,
            doc: "Configuration information for optional review of messages.",
        },
        Member {
            name: "tags",
            shape: &TAGS,
            required: false,
            doc: "Tags attached to the resource. Array of maps, each of the form string:string \
                 (key:value).",
        },
        Member {
            name: "loggingConfigurationIdentifiers",
            shape: &LOGGING_CONFIGURATION_IDENTIFIER_LIST,
            required: false,
            doc: "Array of logging configurations attached to the room, from the request (if specified).",
        },
    ]),
    min: None,
};

static OPERATIONS: &[Operation] = &[
    Operation {
        name: "CreateChatToken",
        cli_name: "create-chat-token",
        doc: "Creates an encrypted token that is used by a chat participant to establish an individual \
             WebSocket chat connection to a room. When the token is used to connect to chat, the \
             connection is valid for the session duration specified in the request. The token becomes \
             invalid at the token-expiration timestamp included in the response.\n\nUse the capabilities \
             field to permit an end user to send messages or moderate a room.\n\nThe attributes field \
             securely attaches structured data to the chat session; the data is included within each \
             message sent by the end user and received by other participants in the room. Common use \
             cases for attributes include passing end-user profile data like an icon, display name, \
             colors, badges, and other display features.\n\nEncryption keys are owned by Amazon IVS Chat \
             and never used directly by your application.",
        input: &CREATE_CHAT_TOKEN_REQUEST,
        output: Some(&CREATE_CHAT_TOKEN_RESPONSE),
        examples: super::examples::CREATE_CHAT_TOKEN,
    },
    Operation {
        name: "CreateLoggingConfiguration",
        cli_name: "create-logging-configuration",
        doc: "Creates a logging configuration that allows clients to store and record sent messages.",
        input: &CREATE_LOGGING_CONFIGURATION_REQUEST,
        output: Some(&CREATE_LOGGING_CONFIGURATION_RESPONSE),
        examples: super::examples::CREATE_LOGGING_CONFIGURATION,
    },
    Operation {
        name: "CreateRoom",
        cli_name: "create-room",
        doc: "Creates a room that allows clients to connect and pass messages.",
        input: &CREATE_ROOM_REQUEST,
        output: Some(&CREATE_ROOM_RESPONSE),
        examples: super::examples::CREATE_ROOM,
    },
    Operation {
        name: "DeleteLoggingConfiguration",
        cli_name: "delete-logging-configuration",
        doc: "Deletes the specified logging configuration.",
        input: &DELETE_LOGGING_CONFIGURATION_REQUEST,
        output: None,
        examples: super::examples::DELETE_LOGGING_CONFIGURATION,
    },
    Operation {
        name: "DeleteMessage",
        cli_name: "delete-message",
        doc: "Sends an event to a specific room which directs clients to delete a specific message; that \
             is, unrender it from view and delete it from the client’s chat history. This event’s \
             EventName is aws:DELETE_MESSAGE. This replicates the DeleteMessage WebSocket operation in \
             the Amazon IVS Chat Messaging API.",
        input: &DELETE_MESSAGE_REQUEST,
        output: Some(&DELETE_MESSAGE_RESPONSE),
        examples: super::examples::DELETE_MESSAGE,
    },
    Operation {
        name: "DeleteRoom",
        cli_name: "delete-room",
        doc: "Deletes the specified room.",
        input: &DELETE_ROOM_REQUEST,
        output: None,
        examples: super::examples::DELETE_ROOM,
    },
    Operation {
        name: "DisconnectUser",
        cli_name: "disconnect-user",
        doc: "Disconnects all connections using a specified user ID from a room. This replicates the \
             DisconnectUser WebSocket operation in the Amazon IVS Chat Messaging API.",
        input: &DISCONNECT_USER_REQUEST,
        output: None,
        examples: super::examples::DISCONNECT_USER,
    },
    Operation {
        name: "GetLoggingConfiguration",
        cli_name: "get-logging-configuration",
        doc: "Gets the specified logging configuration.",
        input: &GET_LOGGING_CONFIGURATION_REQUEST,
        output: Some(&GET_LOGGING_CONFIGURATION_RESPONSE),
        examples: super::examples::GET_LOGGING_CONFIGURATION,
    },
    Operation {
        name: "GetRoom",
        cli_name: "get-room",
        doc: "Gets the specified room.",
        input: &GET_ROOM_REQUEST,
        output: Some(&GET_ROOM_RESPONSE),
        examples: super::examples::GET_ROOM,
    },
    Operation {
        name: "ListLoggingConfigurations",
        cli_name: "list-logging-configurations",
        doc: "Gets summary information about all your logging configurations in the AWS region where the \
             API request is processed.",
        input: &LIST_LOGGING_CONFIGURATIONS_REQUEST,
        output: Some(&LIST_LOGGING_CONFIGURATIONS_RESPONSE),
        examples: super::examples::LIST_LOGGING_CONFIGURATIONS,
    },
    Operation {
        name: "ListRooms",
        cli_name: "list-rooms",
        doc: "Gets summary information about all your rooms in the AWS region where the API request is \
             processed. Results are sorted in descending order of updateTime.",
        input: &LIST_ROOMS_REQUEST,
        output: Some(&LIST_ROOMS_RESPONSE),
        examples: super::examples::LIST_ROOMS,
    },
    Operation {
        name: "ListTagsForResource",
        cli_name: "list-tags-for-resource",
        doc: "Gets information about AWS tags for the specified ARN.",
        input: &LIST_TAGS_FOR_RESOURCE_REQUEST,
        output: Some(&LIST_TAGS_FOR_RESOURCE_RESPONSE),
        examples: super::examples::LIST_TAGS_FOR_RESOURCE,
    },
    Operation {
        name: "SendEvent",
        cli_name: "send-event",
        doc: "Sends an event to a room. Use this within your application’s business logic to send events \
             to clients of a room; e.g., to notify clients to change the way the chat UI is rendered.",
        input: &SEND_EVENT_REQUEST,
        output: Some(&SEND_EVENT_RESPONSE),
        examples: super::examples::SEND_EVENT,
    },
    Operation {
        name: "TagResource",
        cli_name: "tag-resource",
        doc: "Adds or updates tags for the AWS resource with the specified ARN.",
        input: &TAG_RESOURCE_REQUEST,
        output: None,
        examples: super::examples::TAG_RESOURCE,
    },
    Operation {
        name: "UntagResource",
        cli_name: "untag-resource",
        doc: "Removes tags from the resource with the specified ARN.",
        input: &UNTAG_RESOURCE_REQUEST,
        output: None,
        examples: super::examples::UNTAG_RESOURCE,
    },
    Operation {
        name: "UpdateLoggingConfiguration",
        cli_name: "update-logging-configuration",
        doc: "Updates a specified logging configuration.",
        input: &UPDATE_LOGGING_CONFIGURATION_REQUEST,
        output: Some(&UPDATE_LOGGING_CONFIGURATION_RESPONSE),
        examples: super::examples::UPDATE_LOGGING_CONFIGURATION,
    },
    Operation {
        name: "UpdateRoom",
        cli_name: "update-room",
        doc: "Updates a room’s configuration.",
        input: &UPDATE_ROOM_REQUEST,
        output: Some(&UPDATE_ROOM_RESPONSE),
        examples: super::examples::UPDATE_ROOM,
    },
];

pub(crate) static SERVICE: Service = Service {
    name: "ivschat",
    service_id: "ivschat",
    doc: "Introduction\n\nThe Amazon IVS Chat control-plane API enables you to create and manage Amazon \
         IVS Chat resources. You also need to integrate with the Amazon IVS Chat Messaging API, to \
         enable users to interact with chat rooms in real time.\n\nThe API is an AWS regional service. \
         For a list of supported regions and Amazon IVS Chat HTTPS service endpoints, see the Amazon IVS \
         Chat information on the Amazon IVS page in the AWS General Reference.\n\nThis document \
         describes HTTP operations. There is a separate messaging API for managing Chat resources; see \
         the Amazon IVS Chat Messaging API Reference.\n\nNotes on terminology:\n\n* You create service \
         applications using the Amazon IVS Chat API. We refer to these as applications.\n\n* You create \
         front-end client applications (browser and Android/iOS apps) using the Amazon IVS Chat \
         Messaging API. We refer to these as clients.\n\nResources\n\nThe following resources are part \
         of Amazon IVS Chat:\n\n* LoggingConfiguration — A configuration that allows customers to store \
         and record sent messages in a chat room. See the Logging Configuration endpoints for more \
         information.\n\n* Room — The central Amazon IVS Chat resource through which clients connect to \
         and exchange chat messages. See the Room endpoints for more information.\n\nTagging\n\nA tag is \
         a metadata label that you assign to an AWS resource. A tag comprises a key and a value, both \
         set by you. For example, you might set a tag as topic:nature to label a particular video \
         category. See Best practices and strategies in Tagging Amazon Web Services Resources and Tag \
         Editor for details, including restrictions that apply to tags and \"Tag naming limits and \
         requirements\"; Amazon IVS Chat has no service-specific constraints beyond what is documented \
         there.\n\nTags can help you identify and organize your AWS resources. For example, you can use \
         the same tag for different resources to indicate that they are related. You can also use tags \
         to manage access (see Access Tags).\n\nThe Amazon IVS Chat API has these tag-related \
         operations: TagResource, UntagResource, and ListTagsForResource. The following resource \
         supports tagging: Room.\n\nAt most 50 tags can be applied to a resource.\n\nAPI Access \
         Security\n\nYour Amazon IVS Chat applications (service applications and clients) must be \
         authenticated and authorized to access Amazon IVS Chat resources. Note the differences between \
         these concepts:\n\n* Authentication is about verifying identity. Requests to the Amazon IVS \
         Chat API must be signed to verify your identity.\n\n* Authorization is about granting \
         permissions. Your IAM roles need to have permissions for Amazon IVS Chat API requests.\n\nUsers \
         (viewers) connect to a room using secure access tokens that you create using the \
         CreateChatToken operation through the AWS SDK. You call CreateChatToken for every user’s chat \
         session, passing identity and authorization information about the user.\n\nSigning API \
         Requests\n\nHTTP API requests must be signed with an AWS SigV4 signature using your AWS \
         security credentials. The AWS Command Line Interface (CLI) and the AWS SDKs take care of \
         signing the underlying API calls for you. However, if your application calls the Amazon IVS \
         Chat HTTP API directly, it’s your responsibility to sign the requests.\n\nYou generate a \
         signature using valid AWS credentials for an IAM role that has permission to perform the \
         requested action. For example, DeleteMessage requests must be made using an IAM role that has \
         the ivschat:DeleteMessage permission.\n\nFor more information:\n\n* Authentication and \
         generating signatures — See Authenticating Requests (Amazon Web Services Signature Version 4) \
         in the Amazon Web Services General Reference.\n\n* Managing Amazon IVS permissions — See \
         Identity and Access Management on the Security page of the Amazon IVS User Guide.\n\nAmazon \
         Resource Names (ARNs)\n\nARNs uniquely identify AWS resources. An ARN is required when you need \
         to specify a resource unambiguously across all of AWS, such as in IAM policies and API calls. \
         For more information, see Amazon Resource Names in the AWS General Reference.",
    operations: OPERATIONS,
};
