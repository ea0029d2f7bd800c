//! `--generate-cli-skeleton`: the input skeleton as 4-space JSON (botocore's `ArgumentGenerator`), as YAML with
//! `# [REQUIRED]` and documentation comments (the AWS CLI v2's `YAMLArgumentGenerator` printed by ruamel.yaml), and
//! the sample output built from member names.

use serde_json::{Map, Value};

use super::model::{Kind, Member, Operation, Shape, first_sentence, printed_output};
use super::output;

/// `--generate-cli-skeleton` or `--generate-cli-skeleton input`.
pub(crate) fn input_json(operation: &Operation) -> String {
    output::json(&generate(operation.input, "", false))
}

/// `--generate-cli-skeleton output`: what the operation answers, with member names for strings; `None` when it
/// answers nothing.
pub(crate) fn output_sample(operation: &Operation) -> Option<Value> {
    printed_output(operation).map(|shape| generate(shape, "", true))
}

/// botocore's `ArgumentGenerator`: `""` for strings (the member name with `use_member_names`), `0`, `null` for
/// blobs, one element per list, one `KeyName` per map; enums take their first value.
fn generate(shape: &Shape, name: &str, use_member_names: bool) -> Value {
    match shape.kind {
        Kind::Structure(members) | Kind::Union(members) => {
            let mut map = Map::new();
            for member in members {
                map.insert(member.name.to_owned(), generate(member.shape, member.name, use_member_names));
            }
            Value::Object(map)
        }
        Kind::List(item) => {
            let item_name = if use_member_names { item.name } else { "" };
            Value::Array(vec![generate(item, item_name, use_member_names)])
        }
        Kind::Map(_, value) => {
            let mut map = Map::new();
            map.insert("KeyName".to_owned(), generate(value, "", use_member_names));
            Value::Object(map)
        }
        Kind::String if use_member_names => Value::String(name.to_owned()),
        Kind::Enum(_) if use_member_names => Value::String(name.to_owned()),
        Kind::String => Value::String(String::new()),
        Kind::Enum(values) => Value::String(values.first().copied().unwrap_or_default().to_owned()),
        Kind::Integer | Kind::Long => Value::Number(0.into()),
        Kind::Double => serde_json::Number::from_f64(0.0).map_or(Value::Null, Value::Number),
        Kind::Boolean => Value::Bool(true),
        Kind::Blob => Value::Null,
        Kind::Timestamp => Value::String("1970-01-01T00:00:00".to_owned()),
    }
}

/// `--generate-cli-skeleton yaml-input`.
pub(crate) fn input_yaml(operation: &Operation) -> String {
    let mut out = String::new();
    yaml_structure(operation.input.members(), 0, &mut out);
    out
}

/// The members of a structure, one per line with their comment. As ruamel.yaml places end-of-line comments, the
/// first comment of a mapping (and one after an uncommented key) is preceded by two spaces, the others by one.
fn yaml_structure(members: &[Member], indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    let mut commented: Vec<&str> = Vec::new();
    for member in members {
        let mut line = format!("{pad}{}:", member.name);
        let mut nested = String::new();
        match member.shape.kind {
            Kind::Structure(children) | Kind::Union(children) => yaml_structure(children, indent + 2, &mut nested),
            Kind::Map(_, value) => yaml_map_value(value, indent + 2, &mut nested),
            Kind::List(item) => yaml_list_item(item, indent, &mut nested),
            _ => {
                line.push(' ');
                line.push_str(&yaml_scalar(member.shape));
            }
        }
        if let Some(comment) = yaml_comment(member) {
            // ruamel.yaml takes the column of the previous key's comment, or failing that of the last commented key
            // sorted before this one; without either the comment is written " # …" at column 0.
            let previous = members.iter().take_while(|m| m.name != member.name).last().map(|m| m.name);
            let aligned = match previous {
                Some(prev) if commented.contains(&prev) => true,
                _ => members
                    .iter()
                    .map(|m| m.name)
                    .take_while(|name| *name != member.name)
                    .take_while(|name| *name < member.name)
                    .any(|name| commented.contains(&name)),
            };
            line.push_str(if aligned { " # " } else { "  # " });
            line.push_str(&comment);
            commented.push(member.name);
        }
        out.push_str(&line);
        out.push('\n');
        out.push_str(&nested);
    }
}

fn yaml_map_value(value: &Shape, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value.kind {
        Kind::Structure(children) | Kind::Union(children) => {
            out.push_str(&format!("{pad}KeyName:\n"));
            yaml_structure(children, indent + 2, out);
        }
        Kind::Map(_, inner) => {
            out.push_str(&format!("{pad}KeyName:\n"));
            yaml_map_value(inner, indent + 2, out);
        }
        Kind::List(item) => {
            out.push_str(&format!("{pad}KeyName:\n"));
            yaml_list_item(item, indent, out);
        }
        _ => out.push_str(&format!("{pad}KeyName: {}\n", yaml_scalar(value))),
    }
}

/// The one element of a list skeleton; sequences in mappings are not indented.
fn yaml_list_item(item: &Shape, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match item.kind {
        Kind::Structure(children) | Kind::Union(children) => {
            let mut nested = String::new();
            yaml_structure(children, indent + 2, &mut nested);
            out.push_str(&pad);
            out.push_str("- ");
            out.push_str(nested.get(indent + 2..).unwrap_or_default());
        }
        Kind::List(inner) => {
            let mut nested = String::new();
            yaml_list_item(inner, indent + 2, &mut nested);
            out.push_str(&pad);
            out.push_str("- ");
            out.push_str(nested.get(indent + 2..).unwrap_or_default());
        }
        Kind::Map(_, value) => {
            let mut nested = String::new();
            yaml_map_value(value, indent + 2, &mut nested);
            out.push_str(&pad);
            out.push_str("- ");
            out.push_str(nested.get(indent + 2..).unwrap_or_default());
        }
        _ => out.push_str(&format!("{pad}- {}\n", yaml_scalar(item))),
    }
}

fn yaml_scalar(shape: &Shape) -> String {
    match shape.kind {
        Kind::Integer | Kind::Long => "0".to_owned(),
        Kind::Double => "0.0".to_owned(),
        Kind::Boolean => "true".to_owned(),
        Kind::Blob => "!!binary ''".to_owned(),
        Kind::Enum(values) => yaml::string(values.first().copied().unwrap_or_default()),
        _ => "''".to_owned(),
    }
}

/// `[REQUIRED]`, the first sentence of the documentation and the valid values of an enum, joined by spaces.
fn yaml_comment(member: &Member) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    if member.required {
        parts.push("[REQUIRED]".to_owned());
    }
    parts.push(first_sentence(member.doc).to_owned());
    if let Kind::Enum(values) = member.shape.kind {
        parts.push(format!("Valid values are: {}.", values.join(", ")));
    }
    let comment = parts.join(" ");
    (!comment.trim().is_empty()).then_some(comment)
}
