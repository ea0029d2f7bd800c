//! YAML both ways: reading a document (YAML 1.2 core schema, `!!binary` for blobs, and local tags such as
//! CloudFormation's `!Ref` kept on their node) with the `saphyr-parser` event parser, and writing JSON values in the
//! block style of the AWS CLI v2's YAML printer. The command line reads `--cli-input-yaml` and writes
//! `--output yaml` with it; the template loader reads SAM and CloudFormation templates.

use std::collections::HashMap;

use base64::Engine;
use saphyr_parser::{Event, Parser, ScalarStyle, Tag};
use serde_json::Value;

/// A YAML node: JSON's values, binary data, and nodes carrying a local tag.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Binary(Vec<u8>),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
    /// A node with a local tag (`!Ref Name` is `Tagged("Ref", Str("Name"))`): the tag without its `!`, and the node
    /// as it would read untagged (a tagged scalar is always a string).
    Tagged(String, Box<Node>),
}

/// Sequences and mappings nested deeper than this are refused (as deep as JSON input may nest).
pub const MAX_DEPTH: usize = 128;
/// Nodes a document may hold once its aliases are expanded: far above any operation's input or template, and low
/// enough that a few lines of anchors each repeating the last ("billion laughs") cannot take the memory they ask for.
pub const MAX_NODES: usize = 100_000;

/// Parses the first document of `text`; an empty text is an empty mapping.
pub fn parse(text: &str) -> Result<Node, String> {
    let mut builder = Builder::default();
    for event in Parser::new_from_str(text) {
        let (event, _) = event.map_err(|err| err.to_string())?;
        if builder.event(event)? {
            break;
        }
    }
    Ok(builder.root.unwrap_or(Node::Map(Vec::new())))
}

/// A collection being read.
struct Open {
    node: Node,
    anchor: usize,
    tag: Option<String>,
    key: Option<String>,
}

#[derive(Default)]
struct Builder {
    /// Open collections: the node, its anchor, its local tag and, for mappings, the pending key.
    stack: Vec<Open>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    /// Nodes read so far, aliases counted as the nodes they repeat.
    nodes: usize,
}

impl Builder {
    /// Feeds one event; `true` once the first document is complete.
    fn event(&mut self, event: Event<'_>) -> Result<bool, String> {
        match event {
            Event::Scalar(value, style, anchor, tag) => {
                self.count(1)?;
                let node = match local(tag.as_deref()) {
                    Some(tag) => Node::Tagged(tag, Box::new(Node::Str(value.to_string()))),
                    None => scalar(&value, style, tag.as_deref())?,
                };
                self.insert(node, anchor)?;
            }
            Event::SequenceStart(anchor, tag) => self.open(Node::Seq(Vec::new()), anchor, tag.as_deref())?,
            Event::MappingStart(anchor, tag) => self.open(Node::Map(Vec::new()), anchor, tag.as_deref())?,
            Event::SequenceEnd | Event::MappingEnd => {
                let open = self.stack.pop().ok_or("unbalanced YAML collection")?;
                let node = match open.tag {
                    Some(tag) => Node::Tagged(tag, Box::new(open.node)),
                    None => open.node,
                };
                self.insert(node, open.anchor)?;
            }
            Event::Alias(anchor) => {
                let nodes = size(self.anchors.get(&anchor).ok_or("unknown YAML alias")?);
                self.count(nodes)?;
                let node = self.anchors[&anchor].clone();
                self.insert(node, 0)?;
            }
            Event::DocumentEnd => return Ok(self.root.is_some()),
            _ => {}
        }
        Ok(false)
    }

    fn open(&mut self, node: Node, anchor: usize, tag: Option<&Tag>) -> Result<(), String> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(format!("collections are nested deeper than {MAX_DEPTH} levels"));
        }
        self.count(1)?;
        self.stack.push(Open { node, anchor, tag: local(tag), key: None });
        Ok(())
    }

    fn count(&mut self, nodes: usize) -> Result<(), String> {
        self.nodes = self.nodes.saturating_add(nodes);
        if self.nodes > MAX_NODES {
            return Err(format!("the document holds more than {MAX_NODES} nodes once its aliases are expanded"));
        }
        Ok(())
    }

    fn insert(&mut self, node: Node, anchor: usize) -> Result<(), String> {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        let Some(open) = self.stack.last_mut() else {
            self.root = Some(node);
            return Ok(());
        };
        match (&mut open.node, &mut open.key) {
            (Node::Seq(items), _) => items.push(node),
            (Node::Map(entries), key) => match key.take() {
                None => *key = Some(key_text(&node)?),
                Some(k) => {
                    if entries.iter().any(|(existing, _)| *existing == k) {
                        return Err(format!("duplicate key \"{k}\""));
                    }
                    entries.push((k, node));
                }
            },
            _ => return Err("invalid YAML structure".to_owned()),
        }
        Ok(())
    }
}

/// The nodes of `node`, itself included (its depth is bounded by [`MAX_DEPTH`]).
fn size(node: &Node) -> usize {
    match node {
        Node::Seq(items) => 1 + items.iter().map(size).sum::<usize>(),
        Node::Map(entries) => 1 + entries.iter().map(|(_, item)| size(item)).sum::<usize>(),
        Node::Tagged(_, inner) => 1 + size(inner),
        _ => 1,
    }
}

/// The name of a local tag (`!Ref` → `Ref`); `None` for no tag, the core schema's and the non-specific `!`.
fn local(tag: Option<&Tag>) -> Option<String> {
    tag.filter(|t| t.handle == "!" && !t.suffix.is_empty()).map(|t| t.suffix.clone())
}

fn key_text(node: &Node) -> Result<String, String> {
    Ok(match node {
        Node::Str(s) => s.clone(),
        Node::Int(i) => i.to_string(),
        Node::Float(f) => f.to_string(),
        Node::Bool(b) => b.to_string(),
        Node::Null => "null".to_owned(),
        _ => return Err("mapping keys must be scalars".to_owned()),
    })
}

/// Resolves a scalar with the YAML 1.2 core schema; `!!binary` is base64.
fn scalar(value: &str, style: ScalarStyle, tag: Option<&Tag>) -> Result<Node, String> {
    if let Some(tag) = tag.filter(|t| t.is_yaml_core_schema()) {
        return match tag.suffix.as_str() {
            "binary" => {
                let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
                base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .map(Node::Binary)
                    .map_err(|_| format!("invalid !!binary value: {value}"))
            }
            "str" => Ok(Node::Str(value.to_string())),
            "int" => value.parse().map(Node::Int).map_err(|_| format!("invalid !!int value: {value}")),
            "float" => value.parse().map(Node::Float).map_err(|_| format!("invalid !!float value: {value}")),
            "bool" => value.parse().map(Node::Bool).map_err(|_| format!("invalid !!bool value: {value}")),
            "null" => Ok(Node::Null),
            other => Err(format!("unsupported tag !!{other}")),
        };
    }
    if style != ScalarStyle::Plain {
        return Ok(Node::Str(value.to_string()));
    }
    Ok(resolve_plain(value))
}

fn resolve_plain(value: &str) -> Node {
    match value {
        "" | "~" | "null" | "Null" | "NULL" => return Node::Null,
        "true" | "True" | "TRUE" => return Node::Bool(true),
        "false" | "False" | "FALSE" => return Node::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Node::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Node::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Node::Float(f64::NAN),
        _ => {}
    }
    let digits = |s: &str, radix: u32| !s.is_empty() && s.chars().all(|c| c.is_digit(radix));
    let unsigned = value.strip_prefix(['-', '+']).unwrap_or(value);
    if digits(unsigned, 10)
        && let Ok(i) = value.parse()
    {
        return Node::Int(i);
    }
    if let Some(hex) = value.strip_prefix("0x").filter(|h| digits(h, 16))
        && let Ok(i) = i64::from_str_radix(hex, 16)
    {
        return Node::Int(i);
    }
    if let Some(oct) = value.strip_prefix("0o").filter(|o| digits(o, 8))
        && let Ok(i) = i64::from_str_radix(oct, 8)
    {
        return Node::Int(i);
    }
    let float_like = unsigned.chars().next().is_some_and(|c| c.is_ascii_digit() || c == '.')
        && unsigned.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'));
    if float_like && let Ok(f) = value.parse::<f64>() {
        return Node::Float(f);
    }
    Node::Str(value.to_owned())
}

/// `value` in the AWS CLI v2's YAML output style: block mappings and sequences (sequences in mappings not
/// indented), plain scalars where YAML allows them, single quotes otherwise.
pub fn dump(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => block(value, 0, &mut out),
        Value::Array(items) if !items.is_empty() => block(value, 0, &mut out),
        scalar_value => {
            out.push_str(&inline(scalar_value));
            out.push('\n');
            if !matches!(scalar_value, Value::Object(_) | Value::Array(_)) {
                out.push_str("...\n");
            }
        }
    }
    out
}

fn is_block(value: &Value) -> bool {
    match value {
        Value::Object(map) => !map.is_empty(),
        Value::Array(items) => !items.is_empty(),
        _ => false,
    }
}

/// A non-empty mapping or sequence whose lines start at column `indent`.
fn block(value: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                out.push_str(&pad);
                out.push_str(&string(key));
                out.push(':');
                match item {
                    Value::Object(_) if is_block(item) => {
                        out.push('\n');
                        block(item, indent + 2, out);
                    }
                    Value::Array(_) if is_block(item) => {
                        out.push('\n');
                        block(item, indent, out);
                    }
                    _ => {
                        out.push(' ');
                        out.push_str(&inline(item));
                        out.push('\n');
                    }
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                if is_block(item) {
                    let mut nested = String::new();
                    block(item, indent + 2, &mut nested);
                    out.push_str(&pad);
                    out.push_str("- ");
                    out.push_str(nested.get(indent + 2..).unwrap_or_default());
                } else {
                    out.push_str(&pad);
                    out.push_str("- ");
                    out.push_str(&inline(item));
                    out.push('\n');
                }
            }
        }
        _ => {}
    }
}

fn inline(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Array(_) => "[]".to_owned(),
        Value::Object(_) => "{}".to_owned(),
    }
}

/// A string scalar: plain when that reads back as the same string, else single-quoted, else double-quoted with
/// escapes (control characters and line breaks).
pub fn string(s: &str) -> String {
    if s.chars().any(|c| c.is_control() || c == '\u{feff}') {
        return serde_json::to_string(s).unwrap_or_else(|_| format!("'{}'", s.replace('\'', "''")));
    }
    if plain_is_safe(s) {
        return s.to_owned();
    }
    format!("'{}'", s.replace('\'', "''"))
}

fn plain_is_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) {
        return false;
    }
    let second_is_space = s.chars().nth(1).is_none_or(char::is_whitespace);
    if "#,[]{}&*!|>'\"%@`".contains(first) || (matches!(first, '-' | '?' | ':') && second_is_space) {
        return false;
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') {
        return false;
    }
    // Strings that a YAML reader would take for something else.
    let lower = s.to_ascii_lowercase();
    if matches!(lower.as_str(), "yes" | "no" | "on" | "off" | "=" | "<<") {
        return false;
    }
    if !matches!(resolve_plain(s), Node::Str(_)) {
        return false;
    }
    let bytes = s.as_bytes();
    let timestamp =
        bytes.len() >= 8 && bytes[..4].iter().all(u8::is_ascii_digit) && bytes[4] == b'-' && bytes[5].is_ascii_digit();
    // YAML 1.1 readers also take `1_000`, `0b1`, `0777` and `1:30` (base 60) for numbers.
    let unsigned = s.trim_start_matches(['-', '+']);
    let numeric = s.replace('_', "").parse::<f64>().is_ok()
        || (unsigned.starts_with(|c: char| c.is_ascii_digit())
            && (unsigned.contains(':') || unsigned.starts_with("0b") || unsigned.starts_with("0x"))
            && unsigned.chars().all(|c| c.is_ascii_hexdigit() || matches!(c, '_' | ':' | '.' | 'x')));
    !timestamp && !numeric
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_the_core_schema_and_binary() {
        let node =
            parse("Data: !!binary aGVsbG8geWFtbA==\nConnectionId: 'abc='\nn: 3\nf: 1.5\nb: true\nz: ~\n").unwrap();
        assert_eq!(
            node,
            Node::Map(vec![
                ("Data".into(), Node::Binary(b"hello yaml".to_vec())),
                ("ConnectionId".into(), Node::Str("abc=".into())),
                ("n".into(), Node::Int(3)),
                ("f".into(), Node::Float(1.5)),
                ("b".into(), Node::Bool(true)),
                ("z".into(), Node::Null),
            ])
        );
        assert_eq!(parse("").unwrap(), Node::Map(vec![]));
        assert_eq!(parse("a: yes\n").unwrap(), Node::Map(vec![("a".into(), Node::Str("yes".into()))]));
        assert_eq!(
            parse("a: &x [1, 2]\nb: *x\n").unwrap(),
            Node::Map(vec![
                ("a".into(), Node::Seq(vec![Node::Int(1), Node::Int(2)])),
                ("b".into(), Node::Seq(vec![Node::Int(1), Node::Int(2)])),
            ])
        );
    }

    #[test]
    fn keeps_local_tags_on_scalars_and_collections() {
        let node =
            parse("a: !Ref Name\nb: !GetAtt [Fn, Arn]\nc: !Sub\n  - '${x}'\n  - {x: 1}\nd: !!str 5\ne: ! 7\n").unwrap();
        let tagged = |tag: &str, node: Node| Node::Tagged(tag.to_owned(), Box::new(node));
        assert_eq!(
            node,
            Node::Map(vec![
                ("a".into(), tagged("Ref", Node::Str("Name".into()))),
                ("b".into(), tagged("GetAtt", Node::Seq(vec![Node::Str("Fn".into()), Node::Str("Arn".into())]))),
                (
                    "c".into(),
                    tagged(
                        "Sub",
                        Node::Seq(vec![Node::Str("${x}".into()), Node::Map(vec![("x".into(), Node::Int(1))])])
                    )
                ),
                ("d".into(), Node::Str("5".into())),
                ("e".into(), Node::Int(7)),
            ])
        );
        // A tagged scalar is a string, whatever it looks like.
        assert_eq!(parse("!Ref 12").unwrap(), tagged("Ref", Node::Str("12".into())));
    }

    #[test]
    fn rejects_bad_yaml_in_one_line() {
        assert!(parse("a: [1, 2").is_err());
        assert!(parse("a: 1\na: 2\n").unwrap_err().contains("duplicate"));
        assert!(parse("a: !!binary '@@'").is_err());
    }

    #[test]
    fn dumps_in_block_style() {
        let value = json!({
            "ConnectedAt": "2020-04-30T20:10:33.236000+00:00",
            "Identity": {"SourceIp": "192.0.2.1", "UserAgent": "wscat"},
            "rooms": [{"arn": "a", "tags": {}}, {"arn": "b", "ids": ["x", ""]}],
            "n": 5,
            "empty": []
        });
        assert_eq!(
            dump(&value),
            "ConnectedAt: '2020-04-30T20:10:33.236000+00:00'\nIdentity:\n  SourceIp: 192.0.2.1\n  UserAgent: wscat\n\
             rooms:\n- arn: a\n  tags: {}\n- arn: b\n  ids:\n  - x\n  - ''\nn: 5\nempty: []\n"
        );
        assert_eq!(dump(&json!("x")), "x\n...\n");
        assert_eq!(dump(&json!(["a"])), "- a\n");
    }

    #[test]
    fn quotes_what_would_read_back_differently() {
        for s in ["", "true", "yes", "null", "12", "1.5", "-3", " a", "a: b", "#x", "- a", "2020-01-01", "'q'"] {
            assert_ne!(string(s), s, "{s:?} must be quoted");
        }
        for s in ["abc", "arn:aws:ivschat:us-west-2:123:room/x", "a,b", "hello world", "-abc", "192.0.2.1"] {
            assert_eq!(string(s), s, "{s:?} is plain");
        }
        assert_eq!(string("it's"), "it's");
        assert_eq!(string("'it'"), "'''it'''");
        assert_eq!(string("a\nb"), "\"a\\nb\"");
    }

    /// Found by the `cli_yaml` fuzz target's regressions: deep nesting overflowed the stack, and anchors repeating
    /// the last one ("billion laughs") asked for memory exponential in the text's length.
    #[test]
    fn nesting_and_alias_expansion_are_bounded() {
        let nested = |depth: usize| format!("{}x{}", "[".repeat(depth), "]".repeat(depth));
        assert!(parse(&nested(MAX_DEPTH)).is_ok());
        assert!(parse(&nested(MAX_DEPTH + 1)).unwrap_err().contains("nested deeper than 128 levels"));
        assert!(parse(&"[".repeat(100_000)).is_err());

        let mut laughs = vec!["l0: &l0 [x, x, x, x, x, x, x, x, x, x]".to_owned()];
        for i in 1..10 {
            laughs.push(format!("l{i}: &l{i} [{}]", vec![format!("*l{}", i - 1); 10].join(", ")));
        }
        let err = parse(&laughs.join("\n")).unwrap_err();
        assert!(err.contains("more than 100000 nodes"), "{err}");
        // Aliases within the budget still expand.
        let Node::Map(entries) = parse("a: &a [1, 2]\nb: *a\nc: *a").unwrap() else { panic!("a mapping") };
        assert_eq!(entries[2], ("c".to_owned(), Node::Seq(vec![Node::Int(1), Node::Int(2)])));
    }
}
