//! The 17 operations of the IVS Chat control plane (the generated [`Operation`] of the model: names, HTTP
//! bindings) and what the control plane adds to them: the routing of the HTTP bindings and AWS's per-operation
//! rate quotas, which the model does not carry.

pub use aws_models::ivschat::Operation;

/// Whether the operation is one of the three at `/tags/{resourceArn}`.
pub(crate) fn is_tag_operation(op: Operation) -> bool {
    op.model().http.request_uri.starts_with("/tags/")
}

/// The operation served at `POST /<name>`, if any (the tag operations are not).
pub(crate) fn from_post_name(name: &str) -> Option<Operation> {
    let op = Operation::from_name(name)?;
    let http = op.model().http;
    (http.method == "POST" && http.request_uri.strip_prefix('/') == Some(name)).then_some(op)
}

/// AWS's published rate quota in requests per second per account ("IVS Chat Service Quotas").
pub(crate) fn aws_tps(op: Operation) -> u32 {
    match op {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_follow_the_models_http_bindings() {
        let tags: Vec<Operation> = Operation::ALL.into_iter().filter(|op| is_tag_operation(*op)).collect();
        assert_eq!(tags, [Operation::ListTagsForResource, Operation::TagResource, Operation::UntagResource]);
        for op in Operation::ALL.into_iter().filter(|op| !is_tag_operation(*op)) {
            assert_eq!(from_post_name(op.name()), Some(op));
        }
        assert_eq!(from_post_name("TagResource"), None);
        assert_eq!(from_post_name("createRoom"), None);
        let deletes: Vec<Operation> =
            Operation::ALL.into_iter().filter(|op| op.model().http.response_code == 204).collect();
        assert_eq!(deletes, [Operation::DeleteLoggingConfiguration, Operation::DeleteRoom]);
    }
}
