//! `selection`: a route (or template) selection expression on the first line, a message on the rest, through
//! [`apigw::selection::SelectionExpression`]: parsing as the configuration and the control plane's deployments do,
//! then evaluating against the message as the router does.

use apigw::selection::SelectionExpression;

pub fn selection(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (expression, message) = text.split_once('\n').unwrap_or((text, ""));
    let Ok(parsed) = SelectionExpression::parse(expression) else { return };
    let first = parsed.evaluate(message);
    // A pure function of the message.
    assert_eq!(first, parsed.evaluate(message));
    // An expression without variables is a literal: it evaluates to itself whatever the message.
    if !expression.contains('$') {
        assert_eq!(first.as_deref(), Some(expression));
    }
    // A message that is not JSON cannot be evaluated against an expression that reads it.
    if serde_json::from_str::<serde_json::Value>(message).is_err() && first.is_some() {
        assert_eq!(parsed.evaluate("not json"), first, "{expression:?} read a message that is not JSON");
    }
}
