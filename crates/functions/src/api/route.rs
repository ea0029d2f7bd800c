//! Which Lambda operation a request is, by the model's HTTP bindings (method and URI template, labels
//! percent-decoded), and its query parameters.

use aws_models::lambda::{Operation, SERVICE};
use percent_encoding::percent_decode_str;

/// The operation whose binding `method` and `path` match, with its `{FunctionName}` label when it has one; of
/// several matches, the one with the most literal segments. A trailing `/` is ignored (`/2015-03-31/functions/`).
pub(crate) fn route(method: &http::Method, path: &str) -> Option<(Operation, Option<String>)> {
    let path = path.strip_suffix('/').filter(|p| !p.is_empty()).unwrap_or(path);
    let segments: Vec<&str> = path.split('/').collect();
    let mut best: Option<(usize, Operation, Option<String>)> = None;
    for model in SERVICE.operations {
        if model.http.method != method.as_str() {
            continue;
        }
        let template = model.http.request_uri.split('?').next().unwrap_or_default();
        let parts: Vec<&str> = template.split('/').collect();
        if parts.len() != segments.len() {
            continue;
        }
        let mut literals = 0;
        let mut function_name = None;
        let matched = parts.iter().zip(&segments).all(|(part, segment)| {
            if let Some(label) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                if label == "FunctionName" {
                    function_name = Some(percent_decode_str(segment).decode_utf8_lossy().into_owned());
                }
                !segment.is_empty()
            } else {
                literals += 1;
                part == segment
            }
        });
        if matched
            && best.as_ref().is_none_or(|(n, ..)| literals > *n)
            && let Some(op) = Operation::from_name(model.name)
        {
            best = Some((literals, op, function_name));
        }
    }
    best.map(|(_, op, name)| (op, name))
}

/// The operation a request names, for metrics labels.
pub fn operation(method: &http::Method, path: &str) -> Option<Operation> {
    route(method, path).map(|(op, _)| op)
}

/// A request's query parameters, decoded.
#[derive(Debug, Default)]
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    pub(crate) fn parse(query: Option<&str>) -> Query {
        let decode = |s: &str| percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned();
        let pairs = query
            .unwrap_or_default()
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| match pair.split_once('=') {
                Some((key, value)) => (decode(key), decode(value)),
                None => (decode(pair), String::new()),
            })
            .collect();
        Query(pairs)
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_routed_by_the_models_bindings() {
        let post = http::Method::POST;
        let get = http::Method::GET;
        let arn = "arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af";
        assert_eq!(
            route(&post, &format!("/2015-03-31/functions/{arn}/invocations")),
            Some((Operation::Invoke, Some("arn:aws:lambda:us-east-1:000000000000:function:f".to_owned())))
        );
        assert_eq!(route(&get, "/2015-03-31/functions/f"), Some((Operation::GetFunction, Some("f".to_owned()))));
        assert_eq!(route(&get, "/2015-03-31/functions/"), Some((Operation::ListFunctions, None)));
        assert_eq!(route(&get, "/2015-03-31/functions"), Some((Operation::ListFunctions, None)));
        assert_eq!(
            route(&get, "/2015-03-31/functions/f/configuration").map(|r| r.0),
            Some(Operation::GetFunctionConfiguration)
        );
        assert_eq!(route(&get, "/nothing/here"), None);
        assert_eq!(route(&post, "/2015-03-31/functions//invocations"), None);
        let query = Query::parse(Some("Qualifier=%24LATEST&MaxItems=2&Marker"));
        assert_eq!(
            (query.get("Qualifier"), query.get("MaxItems"), query.get("Marker")),
            (Some("$LATEST"), Some("2"), Some(""))
        );
    }
}
