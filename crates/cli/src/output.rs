//! Printing answers as the AWS CLI does: `--query` (JMESPath) first, then `json` (4-space indent), `text`
//! (tab-separated, `awscli/text.py`) or `yaml`; an empty answer prints nothing. Timestamps are ISO 8601 with
//! `+00:00`, as the AWS CLI v2 prints them.

use serde::Serialize;
use serde_json::Value;

use super::CliError;

/// `--output`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Json,
    Text,
    Yaml,
}

impl Format {
    /// `--output`, else `AWS_DEFAULT_OUTPUT`, else the profile's `output`, else JSON.
    pub(crate) fn resolve(flag: Option<&str>, profile: Option<&str>) -> Result<Format, CliError> {
        let env = std::env::var("AWS_DEFAULT_OUTPUT").ok().filter(|v| !v.is_empty());
        let (value, origin) = match (flag, env, profile) {
            (Some(flag), _, _) => (flag.to_owned(), "--output"),
            (None, Some(env), _) => (env, "AWS_DEFAULT_OUTPUT"),
            (None, None, Some(profile)) => (profile.to_owned(), "the profile's output"),
            (None, None, None) => return Ok(Format::Json),
        };
        match value.as_str() {
            "json" => Ok(Format::Json),
            "text" => Ok(Format::Text),
            "yaml" | "yaml-stream" => Ok(Format::Yaml),
            _ => Err(CliError::config(format!(
                "Invalid output format '{value}' from {origin}: valid choices are json, text and yaml"
            ))),
        }
    }
}

/// A compiled `--query`.
pub(crate) struct Query(jmespath::Expression<'static>);

impl Query {
    pub(crate) fn compile(expression: &str) -> Result<Query, CliError> {
        jmespath::compile(expression).map(Query).map_err(|err| {
            let reason = err.to_string();
            let reason = reason.lines().next().unwrap_or_default().to_owned();
            CliError::usage(format!(
                "switchboard: error: argument --query: Bad value for --query {expression}: {reason}"
            ))
        })
    }

    fn search(&self, value: &Value) -> Result<Value, CliError> {
        let result = self.0.search(value).map_err(|err| CliError::usage(format!("Bad value for --query: {err}")))?;
        serde_json::to_value(&*result).map_err(|err| CliError::other(format!("cannot render the query result: {err}")))
    }
}

/// What to print for `value`.
pub(crate) fn render(value: Value, format: Format, query: Option<&Query>) -> Result<String, CliError> {
    let value = match query {
        Some(query) => query.search(&value)?,
        None => value,
    };
    if value.as_object().is_some_and(|map| map.is_empty()) {
        return Ok(String::new());
    }
    Ok(match format {
        Format::Json => json(&value),
        Format::Text => text(&value),
        Format::Yaml => yaml::dump(&value),
    })
}

/// Python's `json.dumps(value, indent=4)` and a newline.
pub(crate) fn json(value: &Value) -> String {
    let mut buf = Vec::new();
    let mut serializer =
        serde_json::Serializer::with_formatter(&mut buf, serde_json::ser::PrettyFormatter::with_indent(b"    "));
    if value.serialize(&mut serializer).is_err() {
        return String::new();
    }
    let mut text = String::from_utf8(buf).unwrap_or_default();
    text.push('\n');
    text
}

/// The AWS CLI's text format: scalars of a mapping on one tab-separated line (keys sorted), nested values on lines
/// of their own headed by the upper-cased key.
pub(crate) fn text(value: &Value) -> String {
    let mut out = String::new();
    format_text(value, None, None, &mut out);
    out
}

fn format_text(value: &Value, identifier: Option<&str>, scalar_keys: Option<&[String]>, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut scalars: Vec<String> = Vec::new();
            let mut nested: Vec<(&String, &Value)> = Vec::new();
            match scalar_keys {
                None => {
                    let mut keys: Vec<&String> = map.keys().collect();
                    keys.sort();
                    for key in keys {
                        let item = &map[key];
                        if is_container(item) {
                            nested.push((key, item));
                        } else {
                            scalars.push(python_str(item));
                        }
                    }
                }
                Some(keys) => {
                    for key in keys {
                        scalars.push(map.get(key).map(python_str).unwrap_or_default());
                    }
                    let mut rest: Vec<&String> = map.keys().filter(|k| !keys.contains(k)).collect();
                    rest.sort();
                    nested.extend(rest.into_iter().map(|k| (k, &map[k])));
                }
            }
            if !scalars.is_empty() {
                if let Some(identifier) = identifier {
                    scalars.insert(0, identifier.to_uppercase());
                }
                out.push_str(&scalars.join("\t"));
                out.push('\n');
            }
            for (key, item) in nested {
                format_text(item, Some(key), None, out);
            }
        }
        Value::Array(items) => {
            if items.is_empty() {
                return;
            }
            if items.iter().any(Value::is_object) {
                let mut keys: Vec<String> = items
                    .iter()
                    .filter_map(Value::as_object)
                    .flat_map(|map| map.iter().filter(|(_, v)| !is_container(v)).map(|(k, _)| k.clone()))
                    .collect();
                keys.sort();
                keys.dedup();
                for item in items {
                    format_text(item, identifier, Some(&keys), out);
                }
            } else if items.iter().any(Value::is_array) {
                let scalars: Vec<&Value> = items.iter().filter(|v| !is_container(v)).collect();
                if !scalars.is_empty() {
                    scalar_list(&scalars, identifier, out);
                }
                for item in items.iter().filter(|v| is_container(v)) {
                    format_text(item, identifier, None, out);
                }
            } else {
                scalar_list(&items.iter().collect::<Vec<_>>(), identifier, out);
            }
        }
        scalar => {
            out.push_str(&python_str(scalar));
            out.push('\n');
        }
    }
}

fn scalar_list(items: &[&Value], identifier: Option<&str>, out: &mut String) {
    match identifier {
        Some(identifier) => {
            for item in items {
                out.push_str(&format!("{}\t{}\n", identifier.to_uppercase(), python_str(item)));
            }
        }
        None => {
            out.push_str(&items.iter().map(|v| python_str(v)).collect::<Vec<_>>().join("\t"));
            out.push('\n');
        }
    }
}

fn is_container(value: &Value) -> bool {
    value.is_object() || value.is_array()
}

/// Python's `str()` of a scalar.
fn python_str(value: &Value) -> String {
    match value {
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A timestamp as the AWS CLI v2 prints it: `2020-04-30T20:10:33.236000+00:00` (microseconds only when not zero).
pub(crate) fn timestamp(seconds: i64, nanos: u32) -> String {
    let Some(base) = date_time(seconds) else {
        return seconds.to_string();
    };
    let micros = nanos / 1000;
    if micros == 0 { format!("{base}+00:00") } else { format!("{base}.{micros:06}+00:00") }
}

/// `2020-04-30T20:10:33` of seconds since the epoch, in UTC; `None` out of range.
pub(crate) fn date_time(seconds: i64) -> Option<String> {
    let time = time::OffsetDateTime::from_unix_timestamp(seconds).ok()?;
    Some(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        time.year(),
        u8::from(time.month()),
        time.day(),
        time.hour(),
        time.minute(),
        time.second()
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn json_is_indented_by_four_spaces() {
        assert_eq!(
            json(&json!({"id": "x", "a": {"b": []}})),
            "{\n    \"id\": \"x\",\n    \"a\": {\n        \"b\": []\n    }\n}\n"
        );
    }

    #[test]
    fn text_follows_awscli_text_py() {
        let value = json!({
            "ConnectedAt": "2020-04-30T20:10:33.236000+00:00",
            "Identity": {"SourceIp": "192.0.2.1", "UserAgent": "wscat"},
            "LastActiveAt": "2020-04-30T20:10:42.997000+00:00"
        });
        assert_eq!(
            text(&value),
            "2020-04-30T20:10:33.236000+00:00\t2020-04-30T20:10:42.997000+00:00\nIDENTITY\t192.0.2.1\twscat\n"
        );
        let rooms = json!({"rooms": [{"id": "a", "name": "x", "tags": {"k": "v"}}, {"id": "b"}], "nextToken": "t"});
        assert_eq!(text(&rooms), "t\nROOMS\ta\tx\nTAGS\tv\nROOMS\tb\t\n");
        assert_eq!(text(&json!({"ids": ["a", "b"]})), "IDS\ta\nIDS\tb\n");
        assert_eq!(text(&json!(["a", "b"])), "a\tb\n");
        assert_eq!(text(&json!(null)), "None\n");
        assert_eq!(text(&json!({"n": 5, "b": true})), "True\t5\n");
    }

    #[test]
    fn empty_answers_print_nothing_and_queries_apply_first() {
        assert_eq!(render(json!({}), Format::Json, None).unwrap(), "");
        let query = Query::compile("Identity.SourceIp").unwrap();
        assert_eq!(render(json!({"Identity": {"SourceIp": "1"}}), Format::Json, Some(&query)).unwrap(), "\"1\"\n");
        assert_eq!(render(json!({"Identity": {"SourceIp": "1"}}), Format::Text, Some(&query)).unwrap(), "1\n");
        assert!(Query::compile("foo[").is_err());
    }

    #[test]
    fn timestamps_as_the_aws_cli_v2_prints_them() {
        assert_eq!(timestamp(1_588_277_433, 236_000_000), "2020-04-30T20:10:33.236000+00:00");
        assert_eq!(timestamp(1_647_405_849, 0), "2022-03-16T04:44:09+00:00");
    }
}
