//! The 17 operations of the IVS Chat control plane, their names and AWS's per-operation rate quotas.

use http::StatusCode;

/// One control-plane operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    CreateChatToken,
    CreateLoggingConfiguration,
    CreateRoom,
    DeleteLoggingConfiguration,
    DeleteMessage,
    DeleteRoom,
    DisconnectUser,
    GetLoggingConfiguration,
    GetRoom,
    ListLoggingConfigurations,
    ListRooms,
    ListTagsForResource,
    SendEvent,
    TagResource,
    UntagResource,
    UpdateLoggingConfiguration,
    UpdateRoom,
}

impl Operation {
    /// All operations, in alphabetical order.
    pub const ALL: [Operation; 17] = [
        Operation::CreateChatToken,
        Operation::CreateLoggingConfiguration,
        Operation::CreateRoom,
        Operation::DeleteLoggingConfiguration,
        Operation::DeleteMessage,
        Operation::DeleteRoom,
        Operation::DisconnectUser,
        Operation::GetLoggingConfiguration,
        Operation::GetRoom,
        Operation::ListLoggingConfigurations,
        Operation::ListRooms,
        Operation::ListTagsForResource,
        Operation::SendEvent,
        Operation::TagResource,
        Operation::UntagResource,
        Operation::UpdateLoggingConfiguration,
        Operation::UpdateRoom,
    ];

    /// The model's operation name (also the path of the 14 `POST /<Name>` operations).
    pub fn name(self) -> &'static str {
        match self {
            Operation::CreateChatToken => "CreateChatToken",
            Operation::CreateLoggingConfiguration => "CreateLoggingConfiguration",
            Operation::CreateRoom => "CreateRoom",
            Operation::DeleteLoggingConfiguration => "DeleteLoggingConfiguration",
            Operation::DeleteMessage => "DeleteMessage",
            Operation::DeleteRoom => "DeleteRoom",
            Operation::DisconnectUser => "DisconnectUser",
            Operation::GetLoggingConfiguration => "GetLoggingConfiguration",
            Operation::GetRoom => "GetRoom",
            Operation::ListLoggingConfigurations => "ListLoggingConfigurations",
            Operation::ListRooms => "ListRooms",
            Operation::ListTagsForResource => "ListTagsForResource",
            Operation::SendEvent => "SendEvent",
            Operation::TagResource => "TagResource",
            Operation::UntagResource => "UntagResource",
            Operation::UpdateLoggingConfiguration => "UpdateLoggingConfiguration",
            Operation::UpdateRoom => "UpdateRoom",
        }
    }

    /// Whether the operation is one of the three at `/tags/{resourceArn}`.
    pub fn is_tag_operation(self) -> bool {
        matches!(self, Operation::ListTagsForResource | Operation::TagResource | Operation::UntagResource)
    }

    /// The operation served at `POST /<name>`, if any (the tag operations are not).
    pub fn from_post_name(name: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|op| !op.is_tag_operation() && op.name() == name)
    }

    /// The success status: 204 for the two deletes, 200 otherwise.
    pub fn success_status(self) -> StatusCode {
        match self {
            Operation::DeleteRoom | Operation::DeleteLoggingConfiguration => StatusCode::NO_CONTENT,
            _ => StatusCode::OK,
        }
    }

    /// AWS's published rate quota in requests per second per account ("IVS Chat Service Quotas").
    pub fn aws_tps(self) -> u32 {
        match self {
            Operation::CreateChatToken => 200,
            Operation::DeleteMessage | Operation::DisconnectUser | Operation::SendEvent => 100,
            Operation::CreateLoggingConfiguration
            | Operation::DeleteLoggingConfiguration
            | Operation::GetLoggingConfiguration
            | Operation::ListLoggingConfigurations
            | Operation::UpdateLoggingConfiguration => 3,
            Operation::CreateRoom
            | Operation::DeleteRoom
            | Operation::GetRoom
            | Operation::ListRooms
            | Operation::UpdateRoom => 5,
            Operation::ListTagsForResource | Operation::TagResource | Operation::UntagResource => 10,
        }
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
