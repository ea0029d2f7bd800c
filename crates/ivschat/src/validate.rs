//! Reading a JSON request against the model: member types, required members, lengths, patterns, ranges,
//! enums and map/list limits, collecting every failure into one ValidationException. The limits, patterns and enum
//! values come from the generated IVS Chat model (`aws_models::ivschat::shapes`); the checks of the patterns are
//! written here (no regular expressions at run time).

use std::collections::BTreeMap;

use aws_models::ivschat::shapes as model;
use aws_models::{Kind, Shape};
use serde_json::{Map, Value};
use wire::ApiError;

use crate::errors::{self, FieldError};

/// A string constraint: length in code points and an optional pattern.
#[derive(Clone, Copy)]
pub(crate) struct Str {
    pub(crate) min: usize,
    pub(crate) max: usize,
    pub(crate) pattern: Option<Pattern>,
}

/// A pattern: its check and the regular expression shown in the error message.
#[derive(Clone, Copy)]
pub(crate) struct Pattern {
    pub(crate) matches: fn(&str) -> bool,
    regex: &'static str,
    /// Whether the message shows `regex` anchored (`^…$`), as AWS quotes the model's patterns.
    anchored: bool,
}

impl std::fmt::Display for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.anchored { write!(f, "^{}$", self.regex) } else { f.write_str(self.regex) }
    }
}

impl Str {
    pub(crate) const fn len(min: usize, max: usize) -> Str {
        Str { min, max, pattern: None }
    }

    /// The length limits of a string shape of the model.
    pub(crate) const fn of(shape: &Shape) -> Str {
        Str::len(shape.min_len(), shape.max_len())
    }

    /// The length limits and the pattern of a string shape of the model, the pattern checked by `matches`.
    const fn model(shape: &'static Shape, matches: fn(&str) -> bool) -> Str {
        let Some(regex) = shape.pattern else { panic!("the shape has no pattern") };
        Str { pattern: Some(Pattern { matches, regex, anchored: true }), ..Str::of(shape) }
    }

    /// The length limits of a string shape of the model and a pattern of Switchboard's.
    const fn with(shape: &Shape, pattern: Pattern) -> Str {
        Str { pattern: Some(pattern), ..Str::of(shape) }
    }
}

/// The values of an enum shape of the model.
const fn enum_values(shape: &'static Shape) -> &'static [&'static str] {
    match shape.kind {
        Kind::Enum(values) => values,
        _ => panic!("the shape is not an enum"),
    }
}

/// A map of strings: entry count, key and value lengths, and total size in bytes.
#[derive(Clone, Copy)]
pub(crate) struct StrMap {
    pub(crate) max_entries: Option<usize>,
    pub(crate) key: Str,
    pub(crate) value: Str,
    pub(crate) max_total_bytes: Option<usize>,
}

/// A JSON object being read; members are removed as they are read so the rest are the unknown ones.
pub(crate) struct Object {
    path: String,
    members: Map<String, Value>,
}

impl Object {
    pub(crate) fn new(members: Map<String, Value>) -> Object {
        Object { path: String::new(), members }
    }

    fn path_of(&self, name: &str) -> String {
        if self.path.is_empty() { name.to_owned() } else { format!("{}.{name}", self.path) }
    }

    /// Removes a member; JSON `null` counts as absent.
    fn take(&mut self, name: &str) -> Option<Value> {
        self.members.remove(name).filter(|v| !v.is_null())
    }

    /// This object's own path (`""` for the request itself).
    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// Whether a (non-null) member is present, without reading it.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.members.get(name).is_some_and(|v| !v.is_null())
    }
}

/// Collects field errors while typed values are read out of [`Object`]s.
pub(crate) struct Reader {
    errors: Vec<FieldError>,
    reject_unknown: bool,
}

impl Reader {
    pub(crate) fn new(reject_unknown: bool) -> Reader {
        Reader { errors: Vec::new(), reject_unknown }
    }

    pub(crate) fn fail(&mut self, name: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError { name: name.into(), message: message.into() });
    }

    fn missing(&mut self, path: &str, required: bool) {
        if required {
            self.fail(path, "Member must not be null");
        }
    }

    /// Checks `value` against `rule`, recording the first failure under `path`.
    pub(crate) fn check_str(&mut self, path: &str, value: &str, rule: Str) -> bool {
        let len = value.chars().count();
        if len < rule.min {
            self.fail(path, format!("Member must have length greater than or equal to {}", rule.min));
            return false;
        }
        if len > rule.max {
            self.fail(path, format!("Member must have length less than or equal to {}", rule.max));
            return false;
        }
        if let Some(p) = rule.pattern
            && !(p.matches)(value)
        {
            self.fail(path, format!("Member must satisfy regular expression pattern: {p}"));
            return false;
        }
        true
    }

    /// A string member; `None` when absent or invalid.
    pub(crate) fn string(&mut self, obj: &mut Object, name: &str, required: bool, rule: Str) -> Option<String> {
        let path = obj.path_of(name);
        match obj.take(name) {
            None => {
                self.missing(&path, required);
                None
            }
            Some(Value::String(s)) => self.check_str(&path, &s, rule).then_some(s),
            Some(_) => {
                self.fail(path, "Member must be a string");
                None
            }
        }
    }

    /// An enum member; `None` when absent or invalid.
    pub(crate) fn enumeration(
        &mut self,
        obj: &mut Object,
        name: &str,
        required: bool,
        values: &[&str],
    ) -> Option<String> {
        let path = obj.path_of(name);
        let s = self.string(obj, name, required, Str::len(0, usize::MAX))?;
        if values.contains(&s.as_str()) {
            Some(s)
        } else {
            self.fail(path, format!("Member must satisfy enum value set: [{}]", values.join(", ")));
            None
        }
    }

    /// An integer member within the `[min, max]` of its model shape.
    pub(crate) fn integer(&mut self, obj: &mut Object, name: &str, required: bool, shape: &Shape) -> Option<i64> {
        let (min, max) = (shape.min.unwrap_or(i64::MIN), shape.max.unwrap_or(i64::MAX));
        let path = obj.path_of(name);
        match obj.take(name) {
            None => {
                self.missing(&path, required);
                None
            }
            Some(Value::Number(n)) => match n.as_i64() {
                Some(v) if v < min => {
                    self.fail(path, format!("Member must have value greater than or equal to {min}"));
                    None
                }
                Some(v) if v > max => {
                    self.fail(path, format!("Member must have value less than or equal to {max}"));
                    None
                }
                Some(v) => Some(v),
                None if n.is_u64() => {
                    self.fail(path, format!("Member must have value less than or equal to {max}"));
                    None
                }
                None => {
                    self.fail(path, "Member must be an integer");
                    None
                }
            },
            Some(_) => {
                self.fail(path, "Member must be an integer");
                None
            }
        }
    }

    /// A boolean member.
    pub(crate) fn boolean(&mut self, obj: &mut Object, name: &str, required: bool) -> Option<bool> {
        let path = obj.path_of(name);
        match obj.take(name) {
            None => {
                self.missing(&path, required);
                None
            }
            Some(Value::Bool(b)) => Some(b),
            Some(_) => {
                self.fail(path, "Member must be a boolean");
                None
            }
        }
    }

    /// A nested structure member.
    pub(crate) fn object(&mut self, obj: &mut Object, name: &str, required: bool) -> Option<Object> {
        let path = obj.path_of(name);
        match obj.take(name) {
            None => {
                self.missing(&path, required);
                None
            }
            Some(Value::Object(members)) => Some(Object { path, members }),
            Some(_) => {
                self.fail(path, "Member must be a structure");
                None
            }
        }
    }

    /// A list of strings, at most `max_items` long, each checked against `item`.
    pub(crate) fn string_list(
        &mut self,
        obj: &mut Object,
        name: &str,
        required: bool,
        max_items: Option<usize>,
        item: Str,
    ) -> Option<Vec<String>> {
        let path = obj.path_of(name);
        let items = match obj.take(name) {
            None => {
                self.missing(&path, required);
                return None;
            }
            Some(Value::Array(items)) => items,
            Some(_) => {
                self.fail(path, "Member must be a list");
                return None;
            }
        };
        self.strings(
            &path,
            items.into_iter().map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err(()),
            }),
            max_items,
            item,
        )
    }

    /// Checks already-extracted list items (also used for query-string lists).
    pub(crate) fn strings(
        &mut self,
        path: &str,
        items: impl ExactSizeIterator<Item = Result<String, ()>>,
        max_items: Option<usize>,
        item: Str,
    ) -> Option<Vec<String>> {
        if let Some(max) = max_items
            && items.len() > max
        {
            self.fail(path, format!("Member must have length less than or equal to {max}"));
            return None;
        }
        let before = self.errors.len();
        let mut out = Vec::with_capacity(items.len());
        for (i, v) in items.enumerate() {
            let item_path = format!("{path}.{i}");
            match v {
                Ok(s) => {
                    if self.check_str(&item_path, &s, item) {
                        out.push(s);
                    }
                }
                Err(()) => self.fail(item_path, "Member must be a string"),
            }
        }
        (self.errors.len() == before).then_some(out)
    }

    /// A map of strings to strings.
    pub(crate) fn string_map(
        &mut self,
        obj: &mut Object,
        name: &str,
        required: bool,
        rule: StrMap,
    ) -> Option<BTreeMap<String, String>> {
        let path = obj.path_of(name);
        let members = match obj.take(name) {
            None => {
                self.missing(&path, required);
                return None;
            }
            Some(Value::Object(members)) => members,
            Some(_) => {
                self.fail(path, "Member must be a map");
                return None;
            }
        };
        if let Some(max) = rule.max_entries
            && members.len() > max
        {
            self.fail(path, format!("Member must have length less than or equal to {max}"));
            return None;
        }
        let mut out = BTreeMap::new();
        let mut total = 0usize;
        for (k, v) in members {
            let Value::String(v) = v else {
                self.fail(path, "Map values must be strings");
                return None;
            };
            let klen = k.chars().count();
            if klen < rule.key.min || klen > rule.key.max {
                self.fail(path, format!("Map keys must have length between {} and {}", rule.key.min, rule.key.max));
                return None;
            }
            let vlen = v.chars().count();
            if vlen < rule.value.min || vlen > rule.value.max {
                self.fail(
                    path,
                    format!("Map values must have length between {} and {}", rule.value.min, rule.value.max),
                );
                return None;
            }
            total += k.len() + v.len();
            out.insert(k, v);
        }
        if let Some(max) = rule.max_total_bytes
            && total > max
        {
            self.fail(
                path,
                format!("Member must have a total size of keys and values less than or equal to {max} bytes"),
            );
            return None;
        }
        Some(out)
    }

    /// A resource's `tags` (the [`TAGS`] bounds); keys with the `aws:` prefix, in any case, are AWS's own and
    /// refused, as AWS's tagging rules that the IVS Chat model refers to say.
    pub(crate) fn tags(&mut self, obj: &mut Object, required: bool) -> Option<BTreeMap<String, String>> {
        let path = obj.path_of("tags");
        let tags = self.string_map(obj, "tags", required, TAGS)?;
        if tags.keys().any(|key| key.get(..4).is_some_and(|prefix| prefix.eq_ignore_ascii_case("aws:"))) {
            self.fail(path, RESERVED_TAG_KEY);
            return None;
        }
        Some(tags)
    }

    /// Ends reading `obj`: whatever was not read is an unknown member.
    pub(crate) fn end(&mut self, obj: Object) {
        if !self.reject_unknown {
            return;
        }
        for name in obj.members.keys() {
            let path = obj.path_of(name);
            self.fail(path, "Member is not defined by the input shape");
        }
    }

    /// `Ok` when nothing failed, else one ValidationException listing every failure.
    pub(crate) fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() { Ok(()) } else { Err(errors::field_validation(&self.errors)) }
    }
}

/// Parses a request body: empty means `{}`; anything but a JSON object is a ValidationException.
pub(crate) fn parse_body(body: &[u8]) -> Result<Object, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Object::new(Map::new()));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(members)) => Ok(Object::new(members)),
        Ok(_) => Err(errors::other("The request body must be a JSON object")),
        Err(e) => Err(errors::other(format!("The request body is not valid JSON: {e}"))),
    }
}

// ---- Patterns of the model (botocore `service-2.json`, anchored as in Smithy), checked by hand. ----

fn all(s: &str, ok: impl Fn(u8) -> bool) -> bool {
    !s.is_empty() && s.bytes().all(ok)
}

/// `[a-zA-Z0-9-_]*` (RoomName, LoggingConfigurationName).
fn is_name(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// LambdaArn: empty, or `arn:aws:lambda:[a-z0-9-]+:[0-9]{12}:function:.+`. Switchboard extension: an `http://` or
/// `https://` URL of a review handler served over HTTP is accepted too (the message keeps AWS's pattern). The
/// message quotes the pattern as AWS does, from the Smithy model: botocore's copy is rewritten
/// (`$|^arn:…:function:.+.*`), so the text is kept here.
pub(crate) const LAMBDA_ARN: Pattern = Pattern {
    matches: |s| {
        if s.is_empty() || is_http_url(s) {
            return true;
        }
        let Some(rest) = s.strip_prefix("arn:aws:lambda:") else { return false };
        let Some((region, rest)) = rest.split_once(':') else { return false };
        let Some((account, rest)) = rest.split_once(':') else { return false };
        let Some(function) = rest.strip_prefix("function:") else { return false };
        all(region, |b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit())
            && !function.is_empty()
    },
    regex: "^$|^arn:aws:lambda:[a-z0-9-]+:[0-9]{12}:function:.+",
    anchored: false,
};

/// `http(s)://` followed by a host and no whitespace.
fn is_http_url(s: &str) -> bool {
    let rest = s.strip_prefix("http://").or_else(|| s.strip_prefix("https://"));
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/') && !r.chars().any(char::is_whitespace))
}

/// ResourceArn of the tag operations. The model's `[a-z-]/` matches a single character (a model bug), so
/// the resource type is checked, and quoted, as `(room|logging-configuration)`.
pub(crate) const RESOURCE_ARN: Pattern = Pattern {
    matches: |s| crate::arn::parse(s).is_some(),
    regex: "^arn:aws:ivschat:[a-z0-9-]+:[0-9]+:(room|logging-configuration)/[a-zA-Z0-9-]+$",
    anchored: false,
};

// ---- Shapes' constraints, from the model. ----

pub(crate) const ROOM_NAME: Str = Str::model(&model::ROOM_NAME, is_name);
pub(crate) const LOGGING_CONFIGURATION_NAME: Str = Str::model(&model::LOGGING_CONFIGURATION_NAME, is_name);
/// RoomIdentifier: a room ARN or (extension) a bare room id.
pub(crate) const ROOM_IDENTIFIER_RULE: Str =
    Str::model(&model::ROOM_IDENTIFIER, |s| crate::arn::is_identifier(s, store::ResourceKind::Room));
/// LoggingConfigurationIdentifier: a logging-configuration ARN or (extension) a bare id.
pub(crate) const LC_IDENTIFIER_RULE: Str = Str::model(&model::LOGGING_CONFIGURATION_IDENTIFIER, |s| {
    crate::arn::is_identifier(s, store::ResourceKind::LoggingConfiguration)
});
pub(crate) const LAMBDA_ARN_RULE: Str = Str::with(&model::LAMBDA_ARN, LAMBDA_ARN);
pub(crate) const PAGINATION_TOKEN: Str = Str::of(&model::PAGINATION_TOKEN);
pub(crate) const USER_ID: Str = Str::of(&model::USER_ID);
pub(crate) const REASON: Str = Str::of(&model::REASON);
pub(crate) const EVENT_NAME: Str = Str::of(&model::EVENT_NAME);
pub(crate) const MESSAGE_ID: Str = Str::model(&model::MESSAGE_ID, |s| all(s, |b| b.is_ascii_alphanumeric()));
pub(crate) const TAG_KEY: Str = Str::of(&model::TAG_KEY);
pub(crate) const RESOURCE_ARN_RULE: Str = Str::with(&model::RESOURCE_ARN, RESOURCE_ARN);
pub(crate) const BUCKET_NAME: Str = Str::model(&model::BUCKET_NAME, |s| {
    all(s, |b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
});
pub(crate) const LOG_GROUP_NAME: Str = Str::model(&model::LOG_GROUP_NAME, |s| {
    all(s, |b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'/' | b'#'))
});
pub(crate) const DELIVERY_STREAM_NAME: Str = Str::model(&model::DELIVERY_STREAM_NAME, |s| {
    all(s, |b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
});
/// At most this many logging configurations per room.
pub(crate) const MAX_ROOM_LOGGING_CONFIGURATIONS: usize = model::LOGGING_CONFIGURATION_IDENTIFIER_LIST.max_len();

/// Tags: at most 50, keys 1–128, values 0–256.
/// The message of a tag key with the reserved prefix.
pub(crate) const RESERVED_TAG_KEY: &str = "Tag keys cannot start with 'aws:' (case insensitive)";

pub(crate) const TAGS: StrMap = StrMap {
    max_entries: Some(crate::config::MAX_TAGS),
    key: Str::of(&model::TAG_KEY),
    value: Str::of(&model::TAG_VALUE),
    max_total_bytes: None,
};

/// Chat token and event attributes: "1 KB total" (keys plus values, in bytes).
pub(crate) const ATTRIBUTES: StrMap = StrMap {
    max_entries: None,
    key: Str::len(0, usize::MAX),
    value: Str::len(0, usize::MAX),
    max_total_bytes: Some(crate::config::MAX_ATTRIBUTE_BYTES),
};

pub(crate) const FALLBACK_RESULTS: &[&str] = enum_values(&model::FALLBACK_RESULT);
pub(crate) const CAPABILITIES: &[&str] = enum_values(&model::CHAT_TOKEN_CAPABILITY);

#[cfg(test)]
mod tests;
