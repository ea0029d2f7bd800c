//! The data-driven core of the command line: services, operations and the shapes of their members as the AWS
//! service models describe them. Help, skeletons, `--cli-input-*`, shorthand parsing and validation all read these
//! tables; the per-service adapters only turn checked parameters into SDK calls.

/// One service of the command line (`switchboard <service> <operation>`).
pub(crate) struct Service {
    /// The command name, as the AWS CLI spells it (`apigatewaymanagementapi`, `ivschat`).
    pub(crate) name: &'static str,
    /// The model's `serviceId`: `AWS_ENDPOINT_URL_<SERVICE_ID>` and the `[services]` profile key derive from it.
    pub(crate) service_id: &'static str,
    pub(crate) doc: &'static str,
    /// Sorted by command name.
    pub(crate) operations: &'static [Operation],
}

impl Service {
    pub(crate) fn operation(&self, cli_name: &str) -> Option<&'static Operation> {
        self.operations.iter().find(|op| op.cli_name == cli_name)
    }
}

/// One operation and its command (`send-event` for `SendEvent`).
pub(crate) struct Operation {
    pub(crate) name: &'static str,
    pub(crate) cli_name: &'static str,
    pub(crate) doc: &'static str,
    /// A structure shape.
    pub(crate) input: &'static Shape,
    /// `None` when the operation answers nothing the AWS CLI would print.
    pub(crate) output: Option<&'static Shape>,
    pub(crate) examples: &'static [Example],
}

impl Operation {
    pub(crate) fn input_members(&self) -> &'static [Member] {
        self.input.members()
    }
}

/// An example of the operation's help page.
pub(crate) struct Example {
    pub(crate) title: &'static str,
    pub(crate) text: &'static str,
    pub(crate) command: &'static str,
    /// What the command prints; empty when it prints nothing.
    pub(crate) output: &'static str,
}

/// A shape of the service model.
pub(crate) struct Shape {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    /// The model's `min`: a minimum length (strings, lists, maps) or value (integers), which the AWS CLI checks
    /// before sending (maximums and patterns are left to the service).
    pub(crate) min: Option<i64>,
}

pub(crate) enum Kind {
    String,
    Enum(&'static [&'static str]),
    Integer,
    Blob,
    Timestamp,
    List(&'static Shape),
    /// A map from strings to the given shape.
    Map(&'static Shape),
    Structure(&'static [Member]),
    /// A structure of which exactly one member must be set.
    Union(&'static [Member]),
}

/// A member of a structure.
pub(crate) struct Member {
    pub(crate) name: &'static str,
    pub(crate) shape: &'static Shape,
    pub(crate) required: bool,
    /// Plain text; paragraphs are separated by blank lines, list items start with `* `.
    pub(crate) doc: &'static str,
}

impl Member {
    /// The option of the member: `--room-identifier` for `roomIdentifier`.
    pub(crate) fn option(&self) -> String {
        format!("--{}", kebab(self.name))
    }

    /// Whether `--{spelling}` names this member: its kebab-case option, or as a convenience the member name
    /// itself (`--roomIdentifier`) or its lowerCamel form (`--connectionId` for `ConnectionId`).
    pub(crate) fn is_spelled(&self, spelling: &str) -> bool {
        spelling == kebab(self.name) || spelling == self.name || spelling == lower_camel(self.name)
    }
}

impl Shape {
    pub(crate) fn members(&self) -> &'static [Member] {
        match self.kind {
            Kind::Structure(members) | Kind::Union(members) => members,
            _ => &[],
        }
    }

    /// The type name the AWS CLI shows in help pages.
    pub(crate) fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::String | Kind::Enum(_) => "string",
            Kind::Integer => "integer",
            Kind::Blob => "blob",
            Kind::Timestamp => "timestamp",
            Kind::List(_) => "list",
            Kind::Map(_) => "map",
            Kind::Structure(_) | Kind::Union(_) => "structure",
        }
    }

    /// Structures, maps and lists of those take shorthand syntax; scalars and lists of scalars do not.
    pub(crate) fn is_complex(&self) -> bool {
        match self.kind {
            Kind::Structure(_) | Kind::Union(_) | Kind::Map(_) => true,
            Kind::List(member) => member.is_complex(),
            _ => false,
        }
    }

    pub(crate) fn is_scalar(&self) -> bool {
        matches!(self.kind, Kind::String | Kind::Enum(_) | Kind::Integer | Kind::Blob | Kind::Timestamp)
    }

    pub(crate) fn member(&self, name: &str) -> Option<&'static Member> {
        self.members().iter().find(|m| m.name == name)
    }
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl std::fmt::Debug for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.cli_name)
    }
}

impl std::fmt::Debug for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// botocore's `xform_name(name, '-')`: `roomIdentifier` → `room-identifier`, `ConnectionId` → `connection-id`.
pub(crate) fn kebab(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev.is_ascii_lowercase() || prev.is_ascii_digit() || (prev.is_ascii_uppercase() && next_lower) {
                out.push('-');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    out
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
