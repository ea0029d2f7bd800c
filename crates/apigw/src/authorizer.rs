//! REQUEST authorizers on `$connect`, as API Gateway runs them for WebSocket APIs: every identity source must be
//! present (else 401, the authorizer not called); the authorizer function gets the REQUEST event and answers an IAM
//! policy — an explicit `Deny` of `execute-api:Invoke` on the method ARN answers 403, no matching `Allow` 403 too;
//! a failure, a timeout, an answer over 8 KB or an unreadable one 500, and the function error `Unauthorized` 401.
//! Allowed, `principalId`, the `context` values and `integrationLatency` become `requestContext.authorizer`.

use std::time::Duration;

use serde_json::{Map, Value};
use tokio::time::Instant;
use wire::Refusal;

use crate::connect::ConnContext;
use crate::events::authorizer_event;
use crate::integration::{Call, FunctionCall, Invoker, resolve_parameter};
use crate::model::Authorizer;

/// API Gateway's limit on an authorizer's run.
pub(crate) const AUTHORIZER_TIMEOUT: Duration = Duration::from_secs(10);

/// API Gateway's limit on an authorizer's answer.
pub(crate) const MAX_RESULT_BYTES: usize = 8 * 1024;

/// Runs `authorizer` for the `$connect` of `ctx`: what `requestContext.authorizer` carries from now on and the
/// answer's `usageIdentifierKey` (the API key of `$context.authorizer.usageIdentifierKey`), or the refusal.
pub(crate) async fn authorize(
    invoker: &Invoker,
    authorizer: &Authorizer,
    ctx: &ConnContext,
    request_id: &str,
) -> Result<(Map<String, Value>, Option<String>), Refusal> {
    let call = Call::connect(ctx, request_id);
    for source in &authorizer.identity_source {
        if resolve_parameter(source, &call).is_none_or(|value| value.is_empty()) {
            tracing::debug!(%source, "The authorizer's identity source is missing.");
            return Err(Refusal::Unauthorized);
        }
    }
    let method_arn = format!(
        "arn:aws:execute-api:{}:{}:{}/{}/$connect",
        invoker.region, invoker.account_id, ctx.api.api.api_id, ctx.stage
    );
    let event = authorizer_event(ctx, &call.facts(), &method_arn);
    let started = Instant::now();
    let answer = invoker
        .call_function(&authorizer.authorizer_uri, serde_json::to_vec(&event).unwrap_or_default(), AUTHORIZER_TIMEOUT)
        .await;
    let latency = started.elapsed().as_millis() as u64;
    let answer = match answer {
        FunctionCall::Answered(answer) => answer,
        FunctionCall::FunctionError(error) => {
            let document: Value = serde_json::from_slice(&error).unwrap_or_default();
            if document.get("errorMessage").and_then(Value::as_str) == Some("Unauthorized") {
                return Err(Refusal::Unauthorized);
            }
            tracing::warn!(error = %String::from_utf8_lossy(&error), "The authorizer failed.");
            return Err(Refusal::AuthorizerFailed);
        }
        FunctionCall::Failed(reason) => {
            tracing::warn!(%reason, "The authorizer failed.");
            return Err(Refusal::AuthorizerFailed);
        }
        FunctionCall::TimedOut => {
            tracing::warn!("The authorizer timed out.");
            return Err(Refusal::AuthorizerFailed);
        }
    };
    if answer.len() > MAX_RESULT_BYTES {
        tracing::warn!(bytes = answer.len(), "The authorizer's answer is over 8 KB.");
        return Err(Refusal::AuthorizerFailed);
    }
    let context = decide(&answer, &method_arn, latency)?;
    let read: Value = serde_json::from_slice(&answer).unwrap_or_default();
    let usage_identifier_key = read.get("usageIdentifierKey").and_then(Value::as_str).map(str::to_owned);
    Ok((context, usage_identifier_key))
}

/// The authorizer's answer read as API Gateway reads it.
fn decide(answer: &[u8], method_arn: &str, latency: u64) -> Result<Map<String, Value>, Refusal> {
    let failed = |why: &str| {
        tracing::warn!(why, "The authorizer's answer is not a valid policy.");
        Refusal::AuthorizerFailed
    };
    let answer: Value = serde_json::from_slice(answer).map_err(|_| failed("not JSON"))?;
    let principal = match answer.get("principalId") {
        Some(Value::String(p)) => p.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(Refusal::AuthorizerNotAllowed),
    };
    let statements = match answer.get("policyDocument").and_then(|d| d.get("Statement")) {
        Some(Value::Array(items)) => items.clone(),
        Some(item @ Value::Object(_)) => vec![item.clone()],
        _ => return Err(failed("no policyDocument.Statement")),
    };
    let mut allowed = false;
    for statement in &statements {
        let applies = any_matches(statement.get("Action"), "execute-api:Invoke")
            && any_matches(statement.get("Resource"), method_arn);
        match statement.get("Effect").and_then(Value::as_str) {
            Some("Deny") if applies => return Err(Refusal::AuthorizerDenied),
            Some("Allow") if applies => allowed = true,
            Some("Allow" | "Deny") => {}
            _ => return Err(failed("a statement's Effect is neither Allow nor Deny")),
        }
    }
    if !allowed {
        return Err(Refusal::AuthorizerNotAllowed);
    }
    let mut authorizer = Map::new();
    authorizer.insert("principalId".to_owned(), Value::String(principal));
    match answer.get("context") {
        None | Some(Value::Null) => {}
        Some(Value::Object(context)) => {
            for (key, value) in context {
                match value {
                    Value::String(_) | Value::Number(_) | Value::Bool(_) => {
                        authorizer.insert(key.clone(), value.clone());
                    }
                    // API Gateway takes only string, number and boolean context values: a null, an object or a list
                    // is a configuration error of the authorizer (500), not a value left out.
                    _ => return Err(failed("a context value is not a string, number or boolean")),
                }
            }
        }
        Some(_) => return Err(failed("context is not an object")),
    }
    authorizer.insert("integrationLatency".to_owned(), Value::from(latency));
    Ok(authorizer)
}

/// Whether a policy's `Action` or `Resource` (a string or a list of them) matches `wanted`.
fn any_matches(patterns: Option<&Value>, wanted: &str) -> bool {
    match patterns {
        Some(Value::String(pattern)) => wildcard(pattern, wanted),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).any(|p| wildcard(p, wanted)),
        _ => false,
    }
}

/// IAM's wildcards: `*` matches any run of characters, `?` any one character; the rest matches itself.
fn wildcard(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((star_p, star_t)) = star {
            pi = star_p + 1;
            ti = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const ARN: &str = "arn:aws:execute-api:us-east-1:000000000000:abcdefghij/prod/$connect";

    fn policy(effect: &str, resource: Value) -> Vec<u8> {
        json!({
            "principalId": "alice",
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}
            ]},
            "context": {"user": "alice", "level": 7, "admin": true},
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn policies_decide_as_iam_does() {
        let allowed = decide(&policy("Allow", json!(ARN)), ARN, 12).unwrap();
        assert_eq!(
            Value::Object(allowed),
            json!({"principalId": "alice", "user": "alice", "level": 7, "admin": true, "integrationLatency": 12})
        );
        for resource in [
            json!("arn:aws:execute-api:us-east-1:000000000000:abcdefghij/*"),
            json!(["arn:aws:execute-api:*:*:*/prod/$connect"]),
            json!("*"),
            json!("arn:aws:execute-api:us-east-1:000000000000:abcdefghij/pro?/$connect"),
        ] {
            assert!(decide(&policy("Allow", resource.clone()), ARN, 0).is_ok(), "{resource}");
        }
        assert_eq!(decide(&policy("Deny", json!(ARN)), ARN, 0), Err(Refusal::AuthorizerDenied));
        let elsewhere = json!("arn:aws:execute-api:us-east-1:000000000000:other/prod/$connect");
        assert_eq!(decide(&policy("Allow", elsewhere), ARN, 0), Err(Refusal::AuthorizerNotAllowed));
        let mixed = json!({"principalId": "p", "policyDocument": {"Statement": [
            {"Action": ["execute-api:*"], "Effect": "Allow", "Resource": "*"},
            {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": ARN},
        ]}});
        assert_eq!(decide(mixed.to_string().as_bytes(), ARN, 0), Err(Refusal::AuthorizerDenied), "a deny wins");
        let other_action = json!({"principalId": "p", "policyDocument": {"Statement":
            {"Action": "execute-api:ManageConnections", "Effect": "Allow", "Resource": "*"}}});
        assert_eq!(decide(other_action.to_string().as_bytes(), ARN, 0), Err(Refusal::AuthorizerNotAllowed));
        let no_principal = json!({"policyDocument": {"Statement": []}});
        assert_eq!(decide(no_principal.to_string().as_bytes(), ARN, 0), Err(Refusal::AuthorizerNotAllowed));
        let nested = json!({"principalId": "p", "context": {"a": {"b": 1}}, "policyDocument": {"Statement":
            {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "*"}}});
        assert_eq!(decide(nested.to_string().as_bytes(), ARN, 0), Err(Refusal::AuthorizerFailed));
        for value in [json!(null), json!([1]), json!({})] {
            let answer = json!({"principalId": "p", "context": {"ok": "x", "bad": value}, "policyDocument":
                {"Statement": {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "*"}}});
            assert_eq!(decide(answer.to_string().as_bytes(), ARN, 0), Err(Refusal::AuthorizerFailed), "{value}");
        }
        let null_context = json!({"principalId": "p", "context": null, "policyDocument": {"Statement":
            {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "*"}}});
        assert!(decide(null_context.to_string().as_bytes(), ARN, 0).is_ok(), "a null context is no context");
        assert_eq!(decide(b"not json", ARN, 0), Err(Refusal::AuthorizerFailed));
        assert_eq!(decide(br#"{"principalId":"p"}"#, ARN, 0), Err(Refusal::AuthorizerFailed));
    }

    #[test]
    fn wildcards_match_as_iam_matches_them() {
        for (pattern, text, expected) in [
            ("*", "anything", true),
            ("a*c", "abbbc", true),
            ("a*c", "abbb", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("*/prod/*", "x/prod/$connect", true),
            ("exact", "exact", true),
            ("exact", "exactly", false),
        ] {
            assert_eq!(wildcard(pattern, text), expected, "{pattern} {text}");
        }
    }
}
