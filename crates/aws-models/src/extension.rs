//! Where Switchboard's extension operations are reached: `{endpoint}/@switchboard/ext/{service}/{Operation}`, the
//! extension model's `requestUri` after the path of the endpoint a client of the extended service gives — nothing
//! (`https://host`), a stage (`https://host/prod`) or a defined API's stage (`https://host/@apis/{apiId}/prod`).
//! The marker contains `@`, which no stage name, AWS path or other reserved path has at that place.

use crate::{Operation, Service};

/// The marker of an extension operation's path, after the endpoint's path.
pub const MARKER: &str = "/@switchboard/ext/";

/// The path prefix of a defined API's endpoint (as `apigw::deployed::APIS_PREFIX`).
const APIS_PREFIX: &str = "/@apis/";

/// The path of an extension operation, taken apart.
#[derive(Debug, PartialEq, Eq)]
pub struct ExtensionPath<'a> {
    /// The API of an `/@apis/{apiId}/{stage}` endpoint.
    pub api: Option<&'a str>,
    /// The stage of a `/{stage}` or `/@apis/{apiId}/{stage}` endpoint.
    pub stage: Option<&'a str>,
    /// The extended service's name (`apigatewaymanagementapi`).
    pub service: &'a str,
    /// The operation's name (`CloseConnection`); empty when the path has none.
    pub operation: &'a str,
}

impl<'a> ExtensionPath<'a> {
    /// Recognises `{endpoint}/@switchboard/ext/{service}/{operation}` with an empty, `/{stage}` or
    /// `/@apis/{apiId}/{stage}` endpoint path.
    pub fn parse(path: &'a str) -> Option<ExtensionPath<'a>> {
        let at = path.find(MARKER)?;
        let (endpoint, rest) = (&path[..at], &path[at + MARKER.len()..]);
        let (service, operation) = rest.split_once('/').unwrap_or((rest, ""));
        let segment = |s: &str| !s.is_empty() && !s.contains(['/', '@']);
        let (api, stage) = if endpoint.is_empty() {
            (None, None)
        } else if let Some(defined) = endpoint.strip_prefix(APIS_PREFIX) {
            let (api, stage) = defined.split_once('/')?;
            (segment(api) && segment(stage)).then_some((Some(api), Some(stage)))?
        } else {
            let stage = endpoint.strip_prefix('/').filter(|s| segment(s))?;
            (None, Some(stage))
        };
        Some(ExtensionPath { api, stage, service, operation })
    }

    /// The extension operation the path names, of `service` (an AWS model whose `extension` it looks in), with the
    /// extension model it belongs to.
    pub fn operation_of(&self, service: &'static Service) -> Option<(&'static Service, &'static Operation)> {
        let model = service.extension.filter(|_| self.service == service.name)?;
        Some((model, model.operation(self.operation)?))
    }
}

#[cfg(test)]
mod tests {
    use super::ExtensionPath;

    #[test]
    fn endpoints_before_the_marker() {
        let parse = |path| ExtensionPath::parse(path).map(|p| (p.api, p.stage, p.service, p.operation));
        assert_eq!(parse("/@switchboard/ext/ivschat/ListX"), Some((None, None, "ivschat", "ListX")));
        assert_eq!(parse("/prod/@switchboard/ext/s/Op"), Some((None, Some("prod"), "s", "Op")));
        assert_eq!(parse("/@apis/a1/prod/@switchboard/ext/s/Op"), Some((Some("a1"), Some("prod"), "s", "Op")));
        assert_eq!(parse("/@switchboard/ext/"), Some((None, None, "", "")));
        for path in
            ["/a/b/@switchboard/ext/s/Op", "/@apis/a1/@switchboard/ext/s/Op", "/@x/@switchboard/ext/s/Op", "/prod"]
        {
            assert_eq!(parse(path), None, "{path}");
        }
    }
}
