//! Routing a method, raw path and raw query to one of the 17 operations.

use http::Method;
use percent_encoding::percent_decode_str;
use wire::ApiError;

use crate::errors;
use crate::operation::{self, Operation};

/// A routed request: the operation and, for the tag operations, the decoded `resourceArn` label and the
/// `tagKeys` query values (`None` when the parameter is absent).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Route {
    pub(crate) op: Operation,
    pub(crate) resource_arn: Option<Result<String, ()>>,
    pub(crate) tag_keys: Option<Vec<Result<String, ()>>>,
}

/// `POST /<Operation>`, or `/tags/{resourceArn}` with POST, DELETE or GET; anything else is
/// ValidationException `UNKNOWN_OPERATION`.
pub(crate) fn route(method: &Method, raw_path: &str, raw_query: Option<&str>) -> Result<Route, ApiError> {
    let unknown = || errors::unknown_operation(method.as_str(), raw_path);
    if let Some(label) = raw_path.strip_prefix("/tags/") {
        let op = match *method {
            Method::POST => Operation::TagResource,
            Method::DELETE => Operation::UntagResource,
            Method::GET => Operation::ListTagsForResource,
            _ => return Err(unknown()),
        };
        let resource_arn = Some(decode(label));
        let tag_keys = (op == Operation::UntagResource).then(|| query_values(raw_query, "tagKeys")).flatten();
        return Ok(Route { op, resource_arn, tag_keys });
    }
    let name = raw_path.strip_prefix('/').ok_or_else(unknown)?;
    match operation::from_post_name(name) {
        Some(op) if *method == Method::POST => Ok(Route { op, resource_arn: None, tag_keys: None }),
        _ => Err(unknown()),
    }
}

/// Percent-decodes as UTF-8 (`+` is a literal plus); `Err` for invalid UTF-8.
fn decode(s: &str) -> Result<String, ()> {
    percent_decode_str(s).decode_utf8().map(|c| c.into_owned()).map_err(|_| ())
}

/// Every value of the repeated query parameter `name`; `None` when it does not occur.
fn query_values(raw_query: Option<&str>, name: &str) -> Option<Vec<Result<String, ()>>> {
    let mut values = Vec::new();
    let mut seen = false;
    for pair in raw_query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if decode(k).as_deref() == Ok(name) {
            seen = true;
            values.push(decode(v));
        }
    }
    seen.then_some(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let r = route(&Method::POST, "/CreateRoom", None).unwrap();
        assert_eq!(r, Route { op: Operation::CreateRoom, resource_arn: None, tag_keys: None });
        for op in Operation::ALL.into_iter().filter(|op| !operation::is_tag_operation(*op)) {
            assert_eq!(route(&Method::POST, &format!("/{}", op.name()), None).unwrap().op, op);
        }
        let arn = "arn%3Aaws%3Aivschat%3Aus-west-2%3A123456789012%3Aroom%2FabcdABCD1234";
        let r = route(&Method::DELETE, &format!("/tags/{arn}"), Some("tagKeys=k1&x=1&tagKeys=a%20b%2Bc+d")).unwrap();
        assert_eq!(r.op, Operation::UntagResource);
        assert_eq!(r.resource_arn, Some(Ok("arn:aws:ivschat:us-west-2:123456789012:room/abcdABCD1234".to_owned())));
        assert_eq!(r.tag_keys, Some(vec![Ok("k1".to_owned()), Ok("a b+c+d".to_owned())]));
        assert_eq!(route(&Method::DELETE, "/tags/x", None).unwrap().tag_keys, None);
        assert_eq!(route(&Method::GET, "/tags/x", Some("tagKeys=a")).unwrap().tag_keys, None);
        assert_eq!(route(&Method::POST, "/tags/arn:aws:ivschat:r:1:room/a", None).unwrap().op, Operation::TagResource);
        assert_eq!(route(&Method::GET, "/tags/%FF", None).unwrap().resource_arn, Some(Err(())));
    }

    #[test]
    fn unknown_operations() {
        for (method, path) in [
            (Method::GET, "/CreateRoom"),
            (Method::POST, "/CreateRoom/"),
            (Method::POST, "/createroom"),
            (Method::POST, "/TagResource"),
            (Method::POST, "/"),
            (Method::POST, ""),
            (Method::PUT, "/tags/x"),
            (Method::POST, "/tags"),
        ] {
            let err = route(&method, path, None).unwrap_err();
            assert_eq!(err.members.get("reason").and_then(|v| v.as_str()), Some("UNKNOWN_OPERATION"), "{path}");
        }
    }
}
