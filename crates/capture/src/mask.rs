//! Secrets shown only in part: tokens, keys and signatures in headers and query strings keep their first characters
//! and their length, never their value.

use std::borrow::Cow;

use crate::Headers;

/// Header names whose values are always masked.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "x-amz-security-token",
    "sec-websocket-key",
    // IVS Chat clients carry their chat token as the subprotocol.
    "sec-websocket-protocol",
];

/// Words that make a header or query parameter's value secret wherever they appear in its name.
const SECRET_WORDS: &[&str] = &["token", "secret", "signature", "credential", "password", "key", "auth"];

/// Characters of a secret shown before the mask.
const SHOWN: usize = 4;

/// `abcd… (40 characters)`: the first few characters of a long value, nothing of a short one.
pub fn mask(value: &str) -> String {
    let count = value.chars().count();
    let shown: String = if count > 3 * SHOWN { value.chars().take(SHOWN).collect() } else { String::new() };
    format!("{shown}… ({count} characters)")
}

fn is_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_HEADERS.contains(&name.as_str()) || SECRET_WORDS.iter().any(|word| name.contains(word))
}

/// Headers as the console shows them: secrets masked.
pub fn mask_headers<'a>(headers: impl IntoIterator<Item = (&'a str, &'a str)>) -> Headers {
    headers
        .into_iter()
        .map(|(name, value)| {
            let value = if is_secret(name) { Cow::Owned(mask(value)) } else { Cow::Borrowed(value) };
            (name, value)
        })
        .collect()
}

/// A Lambda proxy event (`$connect`'s carries the handshake's headers and query) with secret-sounding headers and
/// query parameters masked, in `headers`, `multiValueHeaders`, `queryStringParameters` and
/// `multiValueQueryStringParameters`; text that is not a JSON object is returned as it is.
pub fn mask_event(event: &str) -> String {
    let Ok(serde_json::Value::Object(mut map)) = serde_json::from_str::<serde_json::Value>(event) else {
        return event.to_owned();
    };
    for field in ["headers", "multiValueHeaders", "queryStringParameters", "multiValueQueryStringParameters"] {
        let Some(serde_json::Value::Object(values)) = map.get_mut(field) else { continue };
        for (name, value) in values.iter_mut() {
            if !is_secret(name) {
                continue;
            }
            match value {
                serde_json::Value::String(text) => *text = mask(text),
                serde_json::Value::Array(items) => {
                    for item in items.iter_mut() {
                        if let serde_json::Value::String(text) = item {
                            *text = mask(text);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    serde_json::Value::Object(map).to_string()
}

/// A path and query with the values of secret-sounding parameters masked (presigned URLs, tokens in the query).
pub fn mask_query(path_and_query: &str) -> String {
    let Some((path, query)) = path_and_query.split_once('?') else { return path_and_query.to_owned() };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) if is_secret(name) => format!("{name}={}", mask(value)),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{path}?{}", pairs.join("&"))
}
