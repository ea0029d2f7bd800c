//! The AWS CLI's automatic pagination, for the operations botocore gives a paginator (`paginators-1.json`, in
//! `aws_models::Paginator`): `--starting-token`, `--page-size` and `--max-items` take the place of the request's token
//! and page-size members, every page is fetched and their lists joined into one answer, and when `--max-items` stops
//! early the answer ends with the CLI's own `NextToken` (botocore's format: base64 of
//! `{"<input token>": …, "boto_truncate_amount": n}`), which `--starting-token` takes back. `--no-paginate`, or the
//! request's own token member given by hand, makes one call, as the AWS CLI does.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};

use crate::CliError;
use crate::args::Call;
use crate::model::{MemberExt, Operation};

/// The CLI's paging options of one command, as given.
#[derive(Debug, Default)]
pub(crate) struct PagingOptions {
    pub(crate) starting_token: Option<String>,
    pub(crate) page_size: Option<String>,
    pub(crate) max_items: Option<String>,
}

/// Whether `--{name}` is one of the CLI's paging options of `operation` (which then hide any member of that
/// spelling, as `lambda list-functions --max-items` hides the request's `MaxItems`).
pub(crate) fn is_paging_option(operation: &Operation, name: &str) -> bool {
    let Some(paginator) = operation.paginator else { return false };
    match name {
        "starting-token" | "max-items" => true,
        "page-size" => paginator.limit_key.is_some(),
        _ => false,
    }
}

impl PagingOptions {
    pub(crate) fn set(&mut self, name: &str, value: String) {
        match name {
            "starting-token" => self.starting_token = Some(value),
            "page-size" => self.page_size = Some(value),
            _ => self.max_items = Some(value),
        }
    }

    fn given(&self) -> impl Iterator<Item = (&'static str, &String)> {
        [("starting-token", &self.starting_token), ("page-size", &self.page_size), ("max-items", &self.max_items)]
            .into_iter()
            .filter_map(|(name, value)| Some((name, value.as_ref()?)))
    }
}

/// Settles the paging options once the whole line is read: with `--no-paginate`, an option that hid a member of
/// the same spelling is that member again, and any other is refused, as the AWS CLI refuses it.
pub(crate) fn settle(call: &mut Call, no_paginate: bool) -> Result<(), CliError> {
    if !no_paginate {
        return Ok(());
    }
    let paging = std::mem::take(&mut call.paging);
    let mut refused = Vec::new();
    for (name, value) in paging.given() {
        match call.operation.input_members().iter().find(|m| m.is_spelled(name)) {
            Some(member) => call.values.push((member, vec![value.clone()])),
            None => refused.push(format!("--{name}")),
        }
    }
    if refused.is_empty() {
        Ok(())
    } else {
        Err(CliError::usage(format!(
            "switchboard: error: Cannot specify --no-paginate along with pagination arguments: {}",
            refused.join(", ")
        )))
    }
}

/// How one command walks its pages.
#[derive(Debug)]
pub(crate) struct Plan {
    input_token: &'static str,
    output_token: &'static str,
    limit_key: Option<&'static str>,
    result_key: &'static str,
    /// The token of the first page (`None`: the beginning) and how many of its items were already shown.
    start: (Option<String>, usize),
    page_size: Option<i64>,
    max_items: Option<usize>,
}

impl Plan {
    /// The plan of `call`, or `None` for one call: no paginator, `--no-paginate`, or the request's own token member
    /// given by hand (in `params`).
    pub(crate) fn of(call: &Call, params: &Map<String, Value>, no_paginate: bool) -> Result<Option<Plan>, CliError> {
        let Some(paginator) = call.operation.paginator else { return Ok(None) };
        if no_paginate || params.get(paginator.input_token).is_some_and(|v| !v.is_null()) {
            return Ok(None);
        }
        let paging = &call.paging;
        let start = match &paging.starting_token {
            Some(token) => decode_token(token, paginator.input_token)?,
            None => (None, 0),
        };
        Ok(Some(Plan {
            input_token: paginator.input_token,
            output_token: paginator.output_token,
            limit_key: paginator.limit_key,
            result_key: paginator.result_key,
            start,
            page_size: paging.page_size.as_deref().map(|v| integer("page-size", v)).transpose()?,
            max_items: paging
                .max_items
                .as_deref()
                .map(|v| integer("max-items", v))
                .transpose()?
                .map(|n| n.max(0) as usize),
        }))
    }

    /// Fetches pages with `fetch` until the last, or until `--max-items` items; the joined answer.
    pub(crate) async fn run<F, Fut>(
        self,
        mut params: Map<String, Value>,
        mut fetch: F,
    ) -> Result<Option<Value>, CliError>
    where
        F: FnMut(Map<String, Value>) -> Fut,
        Fut: std::future::Future<Output = Result<Option<Value>, CliError>>,
    {
        if let (Some(key), Some(size)) = (self.limit_key, self.page_size) {
            params.insert(key.to_owned(), Value::from(size));
        }
        let (mut token, mut skip) = self.start.clone();
        let mut joined: Option<Map<String, Value>> = None;
        let mut items: Vec<Value> = Vec::new();
        let mut resume: Option<(Option<String>, usize)> = None;
        loop {
            match &token {
                Some(token) => params.insert(self.input_token.to_owned(), Value::String(token.clone())),
                None => params.remove(self.input_token),
            };
            let Some(Value::Object(mut page)) = fetch(params.clone()).await? else { break };
            let mut listed = match page.remove(self.result_key) {
                Some(Value::Array(listed)) => listed,
                _ => Vec::new(),
            };
            let next =
                page.remove(self.output_token).and_then(|v| v.as_str().map(str::to_owned)).filter(|t| !t.is_empty());
            joined.get_or_insert(page);
            let already = skip.min(listed.len());
            listed.drain(..already);
            if let Some(max) = self.max_items {
                let room = max.saturating_sub(items.len());
                if listed.len() > room {
                    items.extend(listed.into_iter().take(room));
                    resume = Some((token.clone(), skip + room));
                    break;
                }
                items.extend(listed);
                if items.len() >= max {
                    resume = next.map(|next| (Some(next), 0));
                    break;
                }
            } else {
                items.extend(listed);
            }
            match next {
                Some(next) if Some(&next) == token.as_ref() => {
                    return Err(CliError::other(format!("The same next token was received twice: {next}")));
                }
                Some(next) => token = Some(next),
                None => break,
            }
            skip = 0;
        }
        let Some(rest) = joined else { return Ok(None) };
        let mut answer = Map::new();
        answer.insert(self.result_key.to_owned(), Value::Array(items));
        answer.extend(rest);
        if let Some((token, truncate)) = resume {
            answer.insert(
                "NextToken".to_owned(),
                Value::String(encode_token(self.input_token, token.as_deref(), truncate)),
            );
        }
        Ok(Some(Value::Object(answer)))
    }
}

fn integer(option: &str, value: &str) -> Result<i64, CliError> {
    value
        .trim()
        .parse()
        .map_err(|_| CliError::usage(format!("switchboard: error: argument --{option}: invalid int value: '{value}'")))
}

/// The CLI's resume token, as botocore writes it (`json.dumps`, then base64).
fn encode_token(input_token: &str, token: Option<&str>, truncate: usize) -> String {
    let name = Value::String(input_token.to_owned());
    let value = token.map_or(Value::Null, |t| Value::String(t.to_owned()));
    let json = if truncate > 0 {
        format!("{{{name}: {value}, \"boto_truncate_amount\": {truncate}}}")
    } else {
        format!("{{{name}: {value}}}")
    };
    BASE64.encode(json)
}

/// A `--starting-token`: botocore's base64 JSON, else its older form (`token___amount`), which also takes a
/// service's own token as it is.
fn decode_token(text: &str, input_token: &str) -> Result<(Option<String>, usize), CliError> {
    let decoded = BASE64.decode(text).ok().and_then(|bytes| serde_json::from_slice::<Map<String, Value>>(&bytes).ok());
    if let Some(fields) = decoded {
        let token = match fields.get(input_token) {
            Some(Value::String(token)) => Some(token.clone()),
            None | Some(Value::Null) => None,
            Some(_) => return Err(bad_token(text)),
        };
        let truncate = match fields.get("boto_truncate_amount") {
            None => 0,
            Some(amount) => amount.as_u64().ok_or_else(|| bad_token(text))? as usize,
        };
        return Ok((token, truncate));
    }
    let mut parts: Vec<&str> = text.split("___").collect();
    let truncate = match parts.as_slice() {
        [_, .., last] if parts.len() > 1 => last.parse::<usize>().ok(),
        _ => None,
    };
    if truncate.is_some() {
        parts.pop();
    }
    let token = parts.join("___");
    if token.is_empty() {
        return Err(bad_token(text));
    }
    Ok((Some(token), truncate.unwrap_or(0)))
}

fn bad_token(text: &str) -> CliError {
    CliError::usage(format!("switchboard: error: Bad starting token: {text}"))
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value, json};

    use super::{Plan, decode_token, encode_token};

    fn plan(start: (Option<String>, usize), page_size: Option<i64>, max_items: Option<usize>) -> Plan {
        Plan {
            input_token: "NextToken",
            output_token: "NextToken",
            limit_key: Some("MaxResults"),
            result_key: "Items",
            start,
            page_size,
            max_items,
        }
    }

    /// A service of 5 items, `MaxResults` (default 2) a page, whose token is the index of the page's first item.
    async fn run(plan: Plan) -> (Value, Vec<Value>) {
        let sent = std::cell::RefCell::new(Vec::new());
        let answer = plan
            .run(Map::new(), |params| {
                sent.borrow_mut().push(Value::Object(params.clone()));
                async move {
                    let from: usize = params.get("NextToken").and_then(Value::as_str).map_or(0, |t| t.parse().unwrap());
                    let size = params.get("MaxResults").and_then(Value::as_u64).unwrap_or(2) as usize;
                    let to = (from + size).min(5);
                    let mut page = json!({"Items": (from..to).collect::<Vec<_>>(), "Other": "first"});
                    if to < 5 {
                        page["NextToken"] = json!(to.to_string());
                    }
                    Ok(Some(page))
                }
            })
            .await
            .unwrap()
            .unwrap();
        (answer, sent.into_inner())
    }

    #[tokio::test]
    async fn every_page_is_joined_and_the_services_token_is_not_shown() {
        let (answer, sent) = run(plan((None, 0), None, None)).await;
        assert_eq!(answer, json!({"Items": [0, 1, 2, 3, 4], "Other": "first"}));
        assert_eq!(sent, vec![json!({}), json!({"NextToken": "2"}), json!({"NextToken": "4"})]);
    }

    #[tokio::test]
    async fn page_size_is_the_limit_of_every_call() {
        let (answer, sent) = run(plan((None, 0), Some(3), None)).await;
        assert_eq!(answer["Items"], json!([0, 1, 2, 3, 4]));
        assert_eq!(sent, vec![json!({"MaxResults": 3}), json!({"MaxResults": 3, "NextToken": "3"})]);
    }

    #[tokio::test]
    async fn max_items_stops_inside_a_page_and_the_token_resumes_exactly_there() {
        let (first, _) = run(plan((None, 0), None, Some(3))).await;
        assert_eq!(first["Items"], json!([0, 1, 2]));
        let token = first["NextToken"].as_str().unwrap();
        assert_eq!(decode_token(token, "NextToken").unwrap(), (Some("2".to_owned()), 1));
        let (rest, sent) = run(plan(decode_token(token, "NextToken").unwrap(), None, None)).await;
        assert_eq!(rest, json!({"Items": [3, 4], "Other": "first"}));
        assert_eq!(sent[0], json!({"NextToken": "2"}));
    }

    #[tokio::test]
    async fn max_items_at_a_page_boundary_resumes_at_the_next_page() {
        let (first, sent) = run(plan((None, 0), None, Some(2))).await;
        assert_eq!((first["Items"].clone(), sent.len()), (json!([0, 1]), 1));
        assert_eq!(decode_token(first["NextToken"].as_str().unwrap(), "NextToken").unwrap(), (Some("2".into()), 0));
        let (all, _) = run(plan((None, 0), None, Some(9))).await;
        assert!(all.get("NextToken").is_none(), "{all}");
    }

    #[test]
    fn tokens_are_botocores() {
        // As botocore's TokenEncoder writes them: json.dumps of the dict, base64.
        assert_eq!(
            encode_token("Marker", Some("abc"), 2),
            "eyJNYXJrZXIiOiAiYWJjIiwgImJvdG9fdHJ1bmNhdGVfYW1vdW50IjogMn0="
        );
        assert_eq!(
            encode_token("NextToken", None, 1),
            "eyJOZXh0VG9rZW4iOiBudWxsLCAiYm90b190cnVuY2F0ZV9hbW91bnQiOiAxfQ=="
        );
        assert_eq!(decode_token("eyJNYXJrZXIiOiAiYWJjIn0=", "Marker").unwrap(), (Some("abc".into()), 0));
        // The older form, and a service's own token given as it is.
        assert_eq!(decode_token("abc___3", "Marker").unwrap(), (Some("abc".into()), 3));
        assert_eq!(decode_token("opaque-token", "Marker").unwrap(), (Some("opaque-token".into()), 0));
        assert!(decode_token("eyJNYXJrZXIiOiAxfQ==", "Marker").is_err(), "a token that is not text");
    }
}
