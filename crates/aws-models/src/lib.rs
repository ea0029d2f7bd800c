//! The AWS service models Switchboard speaks, as static tables generated from the botocore models vendored under
//! `models/botocore-<version>/` by `cargo xtask codegen`: one module per service (`ivschat`,
//! `apigatewaymanagementapi`, `apigatewayv2`, `lambda`), each with its [`Service`], a `shapes` module of one static
//! [`Shape`] per model shape, and an `Operation` enum. This file holds the table types; the service modules are
//! generated and never edited by hand (a test of `xtask` fails when they are stale).
//!
//! Switchboard's own operations of a service (its extensions) are described the same way, in botocore's format under
//! `models/switchboard/<service>-ext/`, and generated into `<service>_ext` modules: a [`Service`] of the same name,
//! signing name and endpoint, which the AWS model's [`Service::extension`] points to.
//!
//! Documentation is plain text: paragraphs are separated by blank lines, list items start with `* `.

#[rustfmt::skip]
pub mod apigatewaymanagementapi;
#[rustfmt::skip]
pub mod apigatewaymanagementapi_ext;
#[rustfmt::skip]
pub mod apigatewayv2;
#[rustfmt::skip]
pub mod ivschat;
#[rustfmt::skip]
pub mod ivschat_ext;
#[rustfmt::skip]
pub mod lambda;
pub mod extension;
pub mod input;
mod names;

pub use names::kebab;

/// The botocore release the models come from.
pub const BOTOCORE_VERSION: &str = "1.44.18";

/// One service model.
pub struct Service {
    /// botocore's name for the service (its folder under `botocore/data`), the AWS CLI's command name.
    pub name: &'static str,
    /// The model's `apiVersion`.
    pub api_version: &'static str,
    /// The model's `serviceId`: `AWS_ENDPOINT_URL_<SERVICE_ID>` and the `[services]` profile key derive from it.
    pub service_id: &'static str,
    pub full_name: &'static str,
    /// The SigV4 signing name (the service of the credential scope).
    pub signing_name: &'static str,
    pub endpoint_prefix: &'static str,
    /// `rest-json` for every service generated so far.
    pub protocol: &'static str,
    pub doc: &'static str,
    /// Sorted by name.
    pub operations: &'static [Operation],
    /// Switchboard's extension model of this service (its `_ext` module), if it has one.
    pub extension: Option<&'static Service>,
}

impl Service {
    /// The operation of this model name (`SendEvent`).
    pub fn operation(&self, name: &str) -> Option<&'static Operation> {
        self.operations.iter().find(|op| op.name == name)
    }

    /// The operation of this command name (`send-event`).
    pub fn command(&self, cli_name: &str) -> Option<&'static Operation> {
        self.operations.iter().find(|op| op.cli_name == cli_name)
    }

    /// The service's operations, then its extension model's, each with the model it belongs to.
    pub fn with_extension(&'static self) -> impl Iterator<Item = (&'static Service, &'static Operation)> {
        let extension = self.extension.into_iter().flat_map(|ext| ext.operations.iter().map(move |op| (ext, op)));
        self.operations.iter().map(move |op| (self, op)).chain(extension)
    }
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// One operation and its HTTP binding.
pub struct Operation {
    pub name: &'static str,
    /// botocore's `xform_name(name, '-')`, the AWS CLI's command name (`send-event` for `SendEvent`).
    pub cli_name: &'static str,
    pub http: Http,
    /// A structure shape.
    pub input: &'static Shape,
    pub output: Option<&'static Shape>,
    /// The error shapes the operation may answer (their [`Shape::error`] says the status).
    pub errors: &'static [&'static Shape],
    /// How botocore pages the operation's answers, for the operations that page.
    pub paginator: Option<Paginator>,
    pub doc: &'static str,
}

impl Operation {
    pub fn input_members(&self) -> &'static [Member] {
        self.input.members()
    }
}

impl std::fmt::Debug for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// The HTTP binding of an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Http {
    pub method: &'static str,
    /// The path template, with `{label}` and `{label+}` placeholders and possibly a query (`/path?versions`).
    pub request_uri: &'static str,
    /// The status of a successful answer.
    pub response_code: u16,
}

/// How an operation pages its answers (botocore's `paginators-1.json`): the member of the request that takes the
/// token of the next page, the member of the answer that carries it, the request's page size and the answer's
/// list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paginator {
    pub input_token: &'static str,
    pub output_token: &'static str,
    pub limit_key: Option<&'static str>,
    pub result_key: &'static str,
}

/// A shape of the service model.
pub struct Shape {
    pub name: &'static str,
    pub kind: Kind,
    /// The model's `min`: a minimum length (strings, blobs, lists, maps) or value (numbers).
    pub min: Option<i64>,
    /// The model's `max`, as `min`.
    pub max: Option<i64>,
    /// The model's regular expression, as botocore writes it (unanchored).
    pub pattern: Option<&'static str>,
    pub doc: &'static str,
    /// Set for the error shapes.
    pub error: Option<ErrorInfo>,
}

impl Shape {
    /// The members of a structure or union; none for other shapes.
    pub fn members(&self) -> &'static [Member] {
        match self.kind {
            Kind::Structure(members) | Kind::Union(members) => members,
            _ => &[],
        }
    }

    pub fn member(&self, name: &str) -> Option<&'static Member> {
        self.members().iter().find(|m| m.name == name)
    }

    /// The minimum length of a string, list or map shape as a count; 0 when the model sets none.
    pub const fn min_len(&self) -> usize {
        match self.min {
            Some(min) if min > 0 => min as usize,
            _ => 0,
        }
    }

    /// The maximum length of a string, list or map shape as a count; `usize::MAX` when the model sets none.
    pub const fn max_len(&self) -> usize {
        match self.max {
            Some(max) if max >= 0 => max as usize,
            _ => usize::MAX,
        }
    }
}

impl std::fmt::Debug for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// The type of a shape.
#[derive(Debug)]
pub enum Kind {
    String,
    /// A string with a closed set of values.
    Enum(&'static [&'static str]),
    Integer,
    Long,
    Double,
    Boolean,
    Blob,
    Timestamp,
    List(&'static Shape),
    /// A map from the first shape (a string) to the second.
    Map(&'static Shape, &'static Shape),
    Structure(&'static [Member]),
    /// A structure of which exactly one member must be set.
    Union(&'static [Member]),
}

/// A member of a structure.
pub struct Member {
    pub name: &'static str,
    pub shape: &'static Shape,
    pub required: bool,
    /// Where the member travels in a request or answer.
    pub location: Location,
    /// The name of the member at its location (header name, URI label, query key, JSON key).
    pub location_name: &'static str,
    /// The member's documentation, or failing that its shape's (as botocore resolves it).
    pub doc: &'static str,
}

impl std::fmt::Debug for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// Where a member travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// A member of the JSON body.
    Body,
    /// The whole body (the structure's `payload`).
    Payload,
    /// A `{label}` of the request URI.
    Uri,
    Querystring,
    Header,
    /// Every header with the location name as prefix.
    Headers,
    /// The answer's HTTP status.
    StatusCode,
}

/// What makes a shape an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorInfo {
    /// The HTTP status of the error.
    pub status: u16,
    /// The error code when it differs from the shape name.
    pub code: Option<&'static str>,
    /// Whether the caller is at fault (a 4xx) rather than the service.
    pub sender_fault: bool,
}

#[cfg(test)]
mod tests;
