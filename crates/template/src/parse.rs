//! A template's text into one JSON value: JSON as it is; YAML through the `yaml` crate, with CloudFormation's short
//! forms (`!Ref X`, `!GetAtt A.B`, `!Sub …`, …) turned into their long forms (`{"Ref": "X"}`,
//! `{"Fn::GetAtt": ["A", "B"]}`, `{"Fn::Sub": …}`), as CloudFormation reads them.

use base64::Engine;
use serde_json::{Map, Number, Value};
use yaml::Node;

/// The tags CloudFormation's YAML knows, besides `!Ref`, `!Condition` and `!GetAtt`, each standing for `Fn::{tag}`.
const FUNCTION_TAGS: [&str; 17] = [
    "Base64",
    "Cidr",
    "FindInMap",
    "GetAZs",
    "ImportValue",
    "Join",
    "Select",
    "Split",
    "Sub",
    "Transform",
    "And",
    "Equals",
    "If",
    "Not",
    "Or",
    "ToJsonString",
    "Length",
];

/// Parses `text`: JSON when it starts with `{`, else YAML. Errors are one line.
pub(crate) fn parse(text: &str) -> Result<Value, String> {
    if text.trim_start().starts_with('{') {
        return serde_json::from_str(text).map_err(|err| format!("is not valid JSON: {err}"));
    }
    let node = yaml::parse(text).map_err(|err| format!("is not valid YAML: {err}"))?;
    to_json(node)
}

fn to_json(node: Node) -> Result<Value, String> {
    Ok(match node {
        Node::Null => Value::Null,
        Node::Bool(b) => Value::Bool(b),
        Node::Int(i) => Value::Number(i.into()),
        Node::Float(f) => Number::from_f64(f).map_or_else(|| Value::String(f.to_string()), Value::Number),
        Node::Str(s) => Value::String(s),
        Node::Binary(bytes) => Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)),
        Node::Seq(items) => Value::Array(items.into_iter().map(to_json).collect::<Result<_, _>>()?),
        Node::Map(entries) => {
            let mut map = Map::new();
            for (key, value) in entries {
                map.insert(key, to_json(value)?);
            }
            Value::Object(map)
        }
        Node::Tagged(tag, inner) => {
            let inner = to_json(*inner)?;
            let (name, argument) = match tag.as_str() {
                "Ref" | "Condition" => (tag.clone(), inner),
                "GetAtt" => match inner {
                    // `!GetAtt Resource.Attribute`: the resource is what comes before the first dot.
                    Value::String(s) => match s.split_once('.') {
                        Some((resource, attribute)) => (
                            "Fn::GetAtt".to_owned(),
                            Value::Array(vec![Value::String(resource.to_owned()), Value::String(attribute.to_owned())]),
                        ),
                        None => return Err(format!("!GetAtt {s} must name Resource.Attribute")),
                    },
                    other => ("Fn::GetAtt".to_owned(), other),
                },
                other if FUNCTION_TAGS.contains(&other) => (format!("Fn::{other}"), inner),
                other => return Err(format!("uses the unknown tag !{other}")),
            };
            let mut map = Map::new();
            map.insert(name, argument);
            Value::Object(map)
        }
    })
}
