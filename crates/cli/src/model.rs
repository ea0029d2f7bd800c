//! The command line's view of the AWS service models: the tables generated from botocore (`aws-models`) plus what
//! the command line adds to them (option spellings, help type names, examples, the typed operation of a call).
//! Help, skeletons, `--cli-input-*`, shorthand parsing, validation and the requests themselves (`restjson`) all
//! read these tables.

pub(crate) use aws_models::{Kind, Location, Member, Operation, Service, Shape, kebab};
use aws_models::{apigatewaymanagementapi, apigatewaymanagementapi_ext, apigatewayv2, ivschat, ivschat_ext, lambda};

/// An operation of one of the command line's services, typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Management(apigatewaymanagementapi::Operation),
    /// Switchboard's extensions of the management API.
    ManagementExt(apigatewaymanagementapi_ext::Operation),
    IvsChat(ivschat::Operation),
    /// Switchboard's extensions of ivschat.
    IvsChatExt(ivschat_ext::Operation),
    ApiGatewayV2(apigatewayv2::Operation),
    Lambda(lambda::Operation),
}

impl Op {
    /// The typed operation of `operation` of `service`.
    pub(crate) fn of(service: &Service, operation: &Operation) -> Option<Op> {
        if std::ptr::eq(service, &apigatewaymanagementapi::SERVICE) {
            apigatewaymanagementapi::Operation::from_name(operation.name).map(Op::Management)
        } else if std::ptr::eq(service, &apigatewaymanagementapi_ext::SERVICE) {
            apigatewaymanagementapi_ext::Operation::from_name(operation.name).map(Op::ManagementExt)
        } else if std::ptr::eq(service, &ivschat::SERVICE) {
            ivschat::Operation::from_name(operation.name).map(Op::IvsChat)
        } else if std::ptr::eq(service, &ivschat_ext::SERVICE) {
            ivschat_ext::Operation::from_name(operation.name).map(Op::IvsChatExt)
        } else if std::ptr::eq(service, &apigatewayv2::SERVICE) {
            apigatewayv2::Operation::from_name(operation.name).map(Op::ApiGatewayV2)
        } else if std::ptr::eq(service, &lambda::SERVICE) {
            lambda::Operation::from_name(operation.name).map(Op::Lambda)
        } else {
            None
        }
    }

    /// The examples of the operation's help page.
    pub(crate) fn examples(self) -> &'static [Example] {
        match self {
            Op::Management(op) => crate::apigw::examples::of(op),
            Op::ManagementExt(op) => crate::apigw::examples::of_extension(op),
            Op::IvsChat(op) => crate::ivschat::examples::of(op),
            Op::IvsChatExt(op) => crate::ivschat::ext_examples::of(op),
            Op::ApiGatewayV2(_) => &[],
            Op::Lambda(op) => crate::lambda::examples::of(op),
        }
    }
}

/// The examples of `operation`'s help page (none for an operation the command line does not adapt).
pub(crate) fn examples(service: &Service, operation: &Operation) -> &'static [Example] {
    Op::of(service, operation).map_or(&[], Op::examples)
}

/// What an operation answers as the AWS CLI prints it: `None` when the model has no output or an output without
/// members (an empty answer prints nothing, and its help shows the output as None).
pub(crate) fn printed_output(operation: &Operation) -> Option<&'static Shape> {
    operation.output.filter(|shape| !shape.members().is_empty())
}

/// An example of the operation's help page.
pub(crate) struct Example {
    pub(crate) title: &'static str,
    pub(crate) text: &'static str,
    pub(crate) command: &'static str,
    /// What the command prints; empty when it prints nothing.
    pub(crate) output: &'static str,
}

/// The command line's spellings of a member.
pub(crate) trait MemberExt {
    /// The option of the member: `--room-identifier` for `roomIdentifier`.
    fn option(&self) -> String;

    /// Whether `--{spelling}` names this member: its kebab-case option, or as a convenience the member name
    /// itself (`--roomIdentifier`) or its lowerCamel form (`--connectionId` for `ConnectionId`).
    fn is_spelled(&self, spelling: &str) -> bool;
}

impl MemberExt for Member {
    fn option(&self) -> String {
        format!("--{}", kebab(self.name))
    }

    fn is_spelled(&self, spelling: &str) -> bool {
        spelling == kebab(self.name) || spelling == self.name || spelling == lower_camel(self.name)
    }
}

/// How the command line reads and shows a shape.
pub(crate) trait ShapeExt {
    /// The type name the AWS CLI shows in help pages.
    fn type_name(&self) -> &'static str;

    /// Structures, maps and lists of those take shorthand syntax; scalars and lists of scalars do not.
    fn is_complex(&self) -> bool;

    fn is_scalar(&self) -> bool;
}

impl ShapeExt for Shape {
    fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::String | Kind::Enum(_) => "string",
            Kind::Integer => "integer",
            Kind::Long => "long",
            Kind::Double => "double",
            Kind::Boolean => "boolean",
            Kind::Blob => "blob",
            Kind::Timestamp => "timestamp",
            Kind::List(_) => "list",
            Kind::Map(..) => "map",
            Kind::Structure(_) | Kind::Union(_) => "structure",
        }
    }

    fn is_complex(&self) -> bool {
        match self.kind {
            Kind::Structure(_) | Kind::Union(_) | Kind::Map(..) => true,
            Kind::List(member) => member.is_complex(),
            _ => false,
        }
    }

    fn is_scalar(&self) -> bool {
        !matches!(self.kind, Kind::Structure(_) | Kind::Union(_) | Kind::Map(..) | Kind::List(_))
    }
}

fn lower_camel(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// The first sentence of a member's documentation, as YAML skeleton comments show it.
pub(crate) fn first_sentence(doc: &str) -> &str {
    let paragraph = doc.split("\n\n").next().unwrap_or_default().trim();
    match paragraph.find(". ") {
        Some(end) => &paragraph[..=end],
        None => paragraph,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kebab_matches_botocore() {
        assert_eq!(kebab("roomIdentifier"), "room-identifier");
        assert_eq!(kebab("ConnectionId"), "connection-id");
        assert_eq!(kebab("maximumMessageRatePerSecond"), "maximum-message-rate-per-second");
        assert_eq!(kebab("messageReviewHandlerUri"), "message-review-handler-uri");
        assert_eq!(kebab("sessionDurationInMinutes"), "session-duration-in-minutes");
        assert_eq!(kebab("userId"), "user-id");
        assert_eq!(kebab("resourceArn"), "resource-arn");
    }

    #[test]
    fn first_sentence_keeps_its_period() {
        assert_eq!(
            first_sentence("Identifier of the room to which the event will be sent. Currently this must be an ARN."),
            "Identifier of the room to which the event will be sent."
        );
        assert_eq!(first_sentence("One sentence."), "One sentence.");
        assert_eq!(first_sentence("First paragraph\n\nSecond. Third."), "First paragraph");
        assert_eq!(first_sentence(""), "");
    }
}
