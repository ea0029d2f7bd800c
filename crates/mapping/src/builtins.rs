//! `$input` (the body, its JSONPath reads, the request's parameters) and `$util` (escaping, URL and base64
//! coding, JSON parsing), as API Gateway defines them.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde_json::Value;
use serde_json_path::JsonPath;

use crate::value::text;
use crate::{Inputs, MAX_OUTPUT_BYTES, TemplateError};

/// `$input.body`, `$input.json(path)`, `$input.path(path)`, `$input.params()` and `$input.params(name)`.
pub(crate) fn input(
    inputs: &Inputs<'_>,
    body: &Value,
    name: &str,
    args: &[Option<Value>],
) -> Result<Option<Value>, TemplateError> {
    let path_arg = || args.first().and_then(Option::as_ref).map(text).unwrap_or_default();
    match (name, args.len()) {
        ("body", 0) => Ok(Some(Value::String(inputs.body.to_owned()))),
        ("json", 1) => {
            let found = query(body, &path_arg())?;
            Ok(Some(Value::String(found.map(|v| v.to_string()).unwrap_or_default())))
        }
        ("path", 1) => query(body, &path_arg()),
        ("params", 0) => Ok(Some(inputs.params.clone())),
        ("params", 1) => {
            let wanted = path_arg();
            let found = ["path", "querystring", "header"].iter().find_map(|kind| {
                let map = inputs.params.get(kind)?.as_object()?;
                map.iter().find(|(k, _)| **k == wanted || (*kind == "header" && k.eq_ignore_ascii_case(&wanted)))
            });
            Ok(Some(found.map_or_else(|| Value::String(String::new()), |(_, v)| v.clone())))
        }
        _ => Ok(None),
    }
}

/// The body as JSON; a body that is not JSON is read as one string.
pub(crate) fn parse_body(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_owned()))
}

/// A JSONPath query: one match is that value, several a list of them, none null.
fn query(body: &Value, path: &str) -> Result<Option<Value>, TemplateError> {
    let path = JsonPath::parse(path).map_err(|err| TemplateError::Eval(format!("JSONPath `{path}`: {err}")))?;
    let nodes = path.query(body).all();
    Ok(match nodes.as_slice() {
        [] => None,
        [one] => Some((*one).clone()),
        many => Some(Value::Array(many.iter().map(|v| (*v).clone()).collect())),
    })
}

/// `application/x-www-form-urlencoded` as Java's `URLEncoder` writes it: `.-*_` kept, space as `+`.
const FORM: &AsciiSet = &NON_ALPHANUMERIC.remove(b'.').remove(b'-').remove(b'*').remove(b'_');

/// `$util.escapeJavaScript`, `urlEncode`, `urlDecode`, `base64Encode`, `base64Decode`, `parseJson`.
pub(crate) fn util(name: &str, args: &[Option<Value>]) -> Result<Option<Value>, TemplateError> {
    let [arg] = args else { return Ok(None) };
    let Some(arg) = arg.as_ref() else { return Ok(None) };
    let s = text(arg);
    let string = |s: String| Ok(Some(Value::String(s)));
    match name {
        "escapeJavaScript" => string(escape_javascript(&s)),
        "urlEncode" => string(utf8_percent_encode(&s, FORM).to_string().replace("%20", "+")),
        "urlDecode" => {
            let spaced = s.replace('+', " ");
            match percent_decode_str(&spaced).decode_utf8() {
                Ok(decoded) => string(decoded.into_owned()),
                Err(_) => Err(TemplateError::Eval("urlDecode: the decoded bytes are not UTF-8".to_owned())),
            }
        }
        "base64Encode" => {
            if s.len() > MAX_OUTPUT_BYTES / 4 * 3 {
                return Err(TemplateError::Limit(format!("a string is at most {MAX_OUTPUT_BYTES} bytes")));
            }
            string(STANDARD.encode(s.as_bytes()))
        }
        "base64Decode" => match STANDARD.decode(s.trim().as_bytes()) {
            Ok(bytes) => string(String::from_utf8_lossy(&bytes).into_owned()),
            Err(err) => Err(TemplateError::Eval(format!("base64Decode: {err}"))),
        },
        "parseJson" => match serde_json::from_str::<Value>(&s) {
            Ok(value) => Ok(Some(value)),
            Err(err) => Err(TemplateError::Eval(format!("parseJson: {err}"))),
        },
        _ => Ok(None),
    }
}

/// Escapes as Apache Commons Lang's `escapeJavaScript` does, which API Gateway uses: quotes (both), backslash and
/// `/` escaped, control characters by their short escapes or `\u00XX`, and every character past ASCII as `\uXXXX`
/// (UTF-16 units).
fn escape_javascript(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '/' => out.push_str("\\/"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7f => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04X}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}
