//! Properties of route selection (`apigw::selection`): no expression and no message makes it panic, and every
//! expression of the forms the reference describes (apigw.md §3.2: `$request.body.x`, `${request.body.x}`, several
//! variables in one pass, literals, `\$` escapes) evaluates as a reference reading of those rules does.

use apigw::selection::SelectionExpression;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// One piece of a generated expression.
#[derive(Clone, Debug)]
enum Piece {
    /// Literal text; starts with a character that cannot continue a variable name, so pieces cannot merge.
    Literal(String),
    /// `\$` followed by a word: a literal `$word`.
    Escaped(String),
    /// A path below `request.body`, written `${request.body.a.b}` (braced) or `$request.body.a.b`.
    Variable { path: Vec<String>, braced: bool },
}

impl Piece {
    fn text(&self) -> String {
        match self {
            Piece::Literal(text) => text.clone(),
            Piece::Escaped(word) => format!("\\${word}"),
            Piece::Variable { path, braced: true } => format!("${{request.body.{}}}", path.join(".")),
            Piece::Variable { path, braced: false } => format!("$request.body.{}", path.join(".")),
        }
    }
}

const KEYS: &[&str] = &["action", "service", "data", "n", "list", "flag", "none"];

fn key() -> impl Strategy<Value = String> {
    prop::sample::select(KEYS).prop_map(str::to_owned)
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        "[/:# ][a-z]{0,4}".prop_map(Piece::Literal),
        "[a-z]{1,6}".prop_map(Piece::Escaped),
        (prop::collection::vec(key(), 1..3), any::<bool>()).prop_map(|(path, braced)| Piece::Variable { path, braced }),
    ]
}

/// A sequence of pieces; an unbraced variable is followed only by a literal (whose first character ends it).
fn expression() -> impl Strategy<Value = Vec<Piece>> {
    prop::collection::vec(piece(), 1..5).prop_map(|mut pieces| {
        for i in 0..pieces.len() {
            let unbraced = matches!(pieces[i], Piece::Variable { braced: false, .. });
            let next_is_literal = matches!(pieces.get(i + 1), None | Some(Piece::Literal(_)));
            if unbraced
                && !next_is_literal
                && let Piece::Variable { braced, .. } = &mut pieces[i]
            {
                *braced = true;
            }
        }
        pieces
    })
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[a-z0-9 ]{0,6}".prop_map(Value::String),
        any::<i32>().prop_map(|n| json!(n)),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
        prop::collection::vec("[a-z]{0,3}".prop_map(Value::String), 0..3).prop_map(Value::Array),
    ]
}

/// A message body: an object over [`KEYS`], one level of nesting.
fn body() -> impl Strategy<Value = Value> {
    let inner = prop::collection::btree_map(key(), leaf(), 0..4)
        .prop_map(|m| Value::Object(m.into_iter().collect::<Map<String, Value>>()));
    prop::collection::btree_map(key(), prop_oneof![3 => leaf(), 1 => inner], 0..6)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

/// The reference's stringification: strings as they are, arrays as `[a, b]`, a missing value (or null) as nothing,
/// other values as their JSON text.
fn stringify(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(items) => format!("[{}]", items.iter().map(stringify).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}

/// The reference reading: one pass over the pieces, each variable replaced by its value in the message.
fn reference(pieces: &[Piece], body: &Value) -> String {
    pieces
        .iter()
        .map(|piece| match piece {
            Piece::Literal(text) => text.clone(),
            Piece::Escaped(word) => format!("${word}"),
            Piece::Variable { path, .. } => {
                path.iter().try_fold(body, |value, key| value.get(key)).map(stringify).unwrap_or_default()
            }
        })
        .collect()
}

#[test]
fn the_reference_table() {
    let body = r#"{"service":"chat","action":"join","data":{"room":"room1234"}}"#;
    for (expression, expected) in [
        ("$request.body.action", "join"),
        ("${request.body.action}", "join"),
        ("${request.body.service}/${request.body.action}", "chat/join"),
        ("${request.body.action}-${request.body.invalidPath}", "join-"),
        ("action", "action"),
        ("\\$default", "$default"),
    ] {
        let parsed = SelectionExpression::parse(expression).unwrap();
        assert_eq!(parsed.evaluate(body).as_deref(), Some(expected), "{expression}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn selection_never_panics(expression in "\\PC{0,40}", message in "\\PC{0,60}") {
        if let Ok(parsed) = SelectionExpression::parse(&expression) {
            let _ = parsed.evaluate(&message);
        }
    }

    #[test]
    fn selection_never_panics_on_near_expressions(
        expression in "[$\\\\{}.\\[\\]'\"a-z0-9_-]{0,30}",
        message in "[{}\\[\\]\":,a-z0-9 ]{0,40}",
    ) {
        if let Ok(parsed) = SelectionExpression::parse(&expression) {
            let _ = parsed.evaluate(&message);
        }
    }

    #[test]
    fn selection_agrees_with_the_reference_reading(pieces in expression(), body in body()) {
        let text: String = pieces.iter().map(Piece::text).collect();
        let parsed = SelectionExpression::parse(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let message = body.to_string();
        prop_assert_eq!(parsed.evaluate(&message), Some(reference(&pieces, &body)), "{}", text);
        // A message that is not JSON goes to `$default` when the expression reads the message.
        let reads = pieces.iter().any(|p| matches!(p, Piece::Variable { .. }));
        let not_json = parsed.evaluate("not json");
        prop_assert_eq!(not_json.is_none(), reads, "{}", text);
    }
}
