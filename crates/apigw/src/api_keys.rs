//! API keys for routes with `ApiKeyRequired`: the keys the server accepts (from its configuration; there are no
//! usage plans), and the key a connection presents, found at `$connect` by its API's `ApiKeySelectionExpression`
//! (`$request.header.x-api-key` or `$context.authorizer.usageIdentifierKey`) and kept for its later messages.

use serde::Deserialize;

use crate::connect::ConnContext;

/// API Gateway's default `ApiKeySelectionExpression`.
pub const DEFAULT_SELECTION: &str = "$request.header.x-api-key";

/// The expression that takes the key from the REQUEST authorizer's answer.
pub const AUTHORIZER_SELECTION: &str = "$context.authorizer.usageIdentifierKey";

/// One accepted key.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ApiKey {
    pub value: String,
    /// A name for people; not checked.
    #[serde(default)]
    pub name: Option<String>,
    /// The API ids the key opens; every API when empty.
    #[serde(default)]
    pub apis: Vec<String>,
}

/// Every key the server accepts.
#[derive(Clone, Debug, Default)]
pub struct ApiKeys {
    keys: Vec<ApiKey>,
}

impl ApiKeys {
    pub fn new(keys: Vec<ApiKey>) -> ApiKeys {
        ApiKeys { keys }
    }

    /// Whether `presented` is a key for API `api_id`.
    pub fn accepts(&self, api_id: &str, presented: Option<&str>) -> bool {
        let Some(presented) = presented.filter(|p| !p.is_empty()) else { return false };
        self.keys.iter().any(|key| {
            constant_time_eq(key.value.as_bytes(), presented.as_bytes())
                && (key.apis.is_empty() || key.apis.iter().any(|api| api == api_id))
        })
    }
}

/// The key the handshake of `ctx` presents, by `expression` (read after the authorizer ran, before the handshake's
/// headers are dropped).
pub(crate) fn presented(expression: &str, ctx: &ConnContext, usage_identifier_key: Option<&str>) -> Option<String> {
    if expression == AUTHORIZER_SELECTION {
        return usage_identifier_key.map(str::to_owned);
    }
    let header = expression.strip_prefix("$request.header.")?;
    ctx.headers.iter().rev().find(|(name, _)| name.eq_ignore_ascii_case(header)).map(|(_, value)| value.clone())
}

/// Compares without stopping at the first difference, so timing tells nothing about a key.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_open_their_apis_only() {
        let keys = ApiKeys::new(vec![
            ApiKey { value: "everywhere".into(), name: None, apis: Vec::new() },
            ApiKey { value: "chat-only".into(), name: Some("ci".into()), apis: vec!["chat".into()] },
        ]);
        assert!(keys.accepts("chat", Some("everywhere")));
        assert!(keys.accepts("other", Some("everywhere")));
        assert!(keys.accepts("chat", Some("chat-only")));
        assert!(!keys.accepts("other", Some("chat-only")));
        assert!(!keys.accepts("chat", Some("chat-onl")));
        assert!(!keys.accepts("chat", Some("")));
        assert!(!keys.accepts("chat", None));
        assert!(!ApiKeys::default().accepts("chat", Some("everywhere")));
    }

    #[test]
    fn the_selection_expression_finds_the_presented_key() {
        let apis = crate::testing::one_api();
        let mut ctx = crate::testing::connection(&apis);
        ctx.headers = vec![("Host".into(), "h".into()), ("X-Api-Key".into(), "k1".into())];
        assert_eq!(presented(DEFAULT_SELECTION, &ctx, Some("u")), Some("k1".to_owned()));
        assert_eq!(presented("$request.header.other", &ctx, None), None);
        assert_eq!(presented(AUTHORIZER_SELECTION, &ctx, Some("u")), Some("u".to_owned()));
        assert_eq!(presented(AUTHORIZER_SELECTION, &ctx, None), None);
    }
}
