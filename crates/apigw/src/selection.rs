//! Route selection expressions (`$request.body.action`, `${request.body.a}/${request.body.b}`, `\$default`).

use serde_json::Value;

/// A parsed selection expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectionExpression {
    parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Literal(String),
    /// A path below `request.body`: field names and array indexes.
    Body(Vec<Step>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Field(String),
    Index(usize),
}

/// Why an expression was refused at configuration time.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExpressionError {
    #[error("unterminated `${{` in selection expression `{0}`")]
    Unterminated(String),
    #[error("selection expression `{expr}` uses `${var}`; WebSocket route selection supports only `$request.body.*`")]
    UnsupportedVariable { expr: String, var: String },
    #[error("invalid JSON path `{path}` in selection expression `{expr}`")]
    BadPath { expr: String, path: String },
}

impl SelectionExpression {
    pub fn parse(expr: &str) -> Result<SelectionExpression, ExpressionError> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = expr.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' if matches!(chars.peek(), Some((_, '$'))) => {
                    chars.next();
                    literal.push('$');
                }
                '$' => {
                    let (var, next) = if expr[i + 1..].starts_with('{') {
                        let close =
                            expr[i + 2..].find('}').ok_or_else(|| ExpressionError::Unterminated(expr.to_owned()))?;
                        (&expr[i + 2..i + 2 + close], i + 2 + close + 1)
                    } else {
                        let rest = &expr[i + 1..];
                        let len = rest
                            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '[' | ']')))
                            .unwrap_or(rest.len());
                        (&rest[..len], i + 1 + len)
                    };
                    while chars.peek().is_some_and(|(j, _)| *j < next) {
                        chars.next();
                    }
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Body(parse_var(expr, var)?));
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(SelectionExpression { parts })
    }

    /// Evaluates against a message. `None` when the expression needs the body and the body is not JSON: such
    /// messages go to `$default`.
    pub fn evaluate(&self, body: &str) -> Option<String> {
        let needs_body = self.parts.iter().any(|p| matches!(p, Part::Body(_)));
        let json: Option<Value> = if needs_body { Some(serde_json::from_str(body).ok()?) } else { None };
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Body(steps) => {
                    if let Some(value) = json.as_ref().and_then(|json| lookup(json, steps)) {
                        stringify(value, &mut out);
                    }
                }
            }
        }
        Some(out)
    }
}

fn parse_var(expr: &str, var: &str) -> Result<Vec<Step>, ExpressionError> {
    let Some(path) = var.strip_prefix("request.body") else {
        return Err(ExpressionError::UnsupportedVariable { expr: expr.to_owned(), var: var.to_owned() });
    };
    let bad = || ExpressionError::BadPath { expr: expr.to_owned(), path: var.to_owned() };
    let mut steps = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let len = after.find(['.', '[']).unwrap_or(after.len());
            if len == 0 {
                return Err(bad());
            }
            steps.push(Step::Field(after[..len].to_owned()));
            rest = &after[len..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let close = after.find(']').ok_or_else(bad)?;
            let inner = after[..close].trim_matches(|c| c == '\'' || c == '"');
            steps.push(match inner.parse::<usize>() {
                Ok(index) => Step::Index(index),
                Err(_) if !inner.is_empty() => Step::Field(inner.to_owned()),
                Err(_) => return Err(bad()),
            });
            rest = &after[close + 1..];
        } else {
            return Err(bad());
        }
    }
    Ok(steps)
}

fn lookup<'a>(mut value: &'a Value, steps: &[Step]) -> Option<&'a Value> {
    for step in steps {
        value = match (step, value) {
            (Step::Field(name), Value::Object(map)) => map.get(name)?,
            (Step::Index(i), Value::Array(items)) => items.get(*i)?,
            _ => return None,
        };
    }
    Some(value)
}

/// API Gateway stringifies non-string results; arrays read `[item1, item2]`.
fn stringify(value: &Value, out: &mut String) {
    match value {
        Value::String(s) => out.push_str(s),
        Value::Null => {}
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                stringify(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(expr: &str, body: &str) -> Option<String> {
        SelectionExpression::parse(expr).unwrap().evaluate(body)
    }

    const BODY: &str = r#"{"service":"chat","action":"join","data":{"room":"room1234"},"n":3,"list":["a","b"]}"#;

    #[test]
    fn reference_table() {
        assert_eq!(eval("$request.body.action", BODY).as_deref(), Some("join"));
        assert_eq!(eval("${request.body.action}", BODY).as_deref(), Some("join"));
        assert_eq!(eval("${request.body.service}/${request.body.action}", BODY).as_deref(), Some("chat/join"));
        assert_eq!(eval("${request.body.action}-${request.body.invalidPath}", BODY).as_deref(), Some("join-"));
        assert_eq!(eval("action", BODY).as_deref(), Some("action"));
        assert_eq!(eval("\\$default", BODY).as_deref(), Some("$default"));
    }

    #[test]
    fn nested_paths_numbers_and_arrays() {
        assert_eq!(eval("$request.body.data.room", BODY).as_deref(), Some("room1234"));
        assert_eq!(eval("$request.body.n", BODY).as_deref(), Some("3"));
        assert_eq!(eval("$request.body.list", BODY).as_deref(), Some("[a, b]"));
        assert_eq!(eval("$request.body.list[1]", BODY).as_deref(), Some("b"));
        assert_eq!(eval("${request.body['action']}", BODY).as_deref(), Some("join"));
    }

    #[test]
    fn non_json_bodies_cannot_be_evaluated() {
        assert_eq!(eval("$request.body.action", "hello"), None);
        assert_eq!(eval("$request.body.action", ""), None);
        assert_eq!(eval("static", "hello").as_deref(), Some("static"));
        assert_eq!(eval("$request.body.action", "[1,2]").as_deref(), Some(""));
    }

    #[test]
    fn bad_expressions_are_refused() {
        assert!(matches!(SelectionExpression::parse("${request.body.a"), Err(ExpressionError::Unterminated(_))));
        assert!(matches!(
            SelectionExpression::parse("$request.header.x"),
            Err(ExpressionError::UnsupportedVariable { .. })
        ));
        assert!(matches!(SelectionExpression::parse("$request.body..a"), Err(ExpressionError::BadPath { .. })));
    }
}
