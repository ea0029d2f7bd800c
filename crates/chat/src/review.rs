//! The message review handler: a room's `messageReviewHandler.uri` is an HTTP(S) URL (or a Lambda ARN mapped to one
//! in the configuration) that receives IVS Chat's review payload as a JSON POST and answers as the Lambda would.
//! No answer within the timeout (200 ms, as on AWS), a non-2xx status, an unmapped ARN or an answer that breaks
//! the room's limits all yield the room's `fallbackResult`.

use std::collections::BTreeMap;
use std::time::Duration;

use store::{FallbackResult, MessageReviewHandler};
use wire::ivschat::{Attributes, ReviewRequest, ReviewResponse};

use crate::actions::{MAX_ATTRIBUTE_BYTES, attribute_bytes};

/// What the review decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Deliver, with the (possibly rewritten) content and attributes.
    Allow { content: String, attributes: Option<Attributes> },
    /// Do not deliver; the sender gets ERROR 406 with this message.
    Deny { message: String },
}

/// Calls review handlers; one per service.
#[derive(Clone, Debug)]
pub(crate) struct Reviewer {
    client: reqwest::Client,
    timeout: Duration,
    /// Lambda ARN → URL.
    arns: BTreeMap<String, String>,
}

impl Reviewer {
    pub(crate) fn new(client: reqwest::Client, timeout: Duration, arns: BTreeMap<String, String>) -> Reviewer {
        Reviewer { client, timeout, arns }
    }

    /// Reviews one message. `max_length` is the room's maximum message length, which rewritten content must meet.
    pub(crate) async fn review(
        &self,
        handler: &MessageReviewHandler,
        request: &ReviewRequest<'_>,
        original: Option<&Attributes>,
        max_length: u32,
    ) -> Verdict {
        let fallback = || match handler.fallback_result {
            FallbackResult::Allow => {
                Verdict::Allow { content: request.content.to_owned(), attributes: original.cloned() }
            }
            FallbackResult::Deny => Verdict::Deny {
                message: "The message review handler failed and the room's fallback result is DENY".to_owned(),
            },
        };
        let Some(url) = self.url(&handler.uri) else {
            tracing::warn!(uri = %handler.uri, "The message review handler has no URL; using the fallback result.");
            return fallback();
        };
        let body = serde_json::to_vec(request).unwrap_or_default();
        let call = async {
            let response = self
                .client
                .post(url)
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(body)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if !response.status().is_success() {
                return Err(format!("status {}", response.status()));
            }
            let bytes = response.bytes().await.map_err(|e| e.to_string())?;
            serde_json::from_slice::<ReviewResponse>(&bytes).map_err(|e| e.to_string())
        };
        let answer = match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(err)) => {
                tracing::debug!(%url, %err, "The message review handler failed; using the fallback result.");
                return fallback();
            }
            Err(_) => {
                tracing::debug!(%url, "The message review handler timed out; using the fallback result.");
                return fallback();
            }
        };
        match answer.review_result.as_str() {
            "ALLOW" => {
                let content = answer.content.unwrap_or_else(|| request.content.to_owned());
                let attributes = answer.attributes.or_else(|| original.cloned());
                let too_long = content.chars().count() > max_length as usize;
                let too_large = attributes.as_ref().is_some_and(|a| attribute_bytes(a) > MAX_ATTRIBUTE_BYTES);
                if too_long || too_large {
                    tracing::debug!(%url, "The message review handler's answer breaks the room's limits; using the fallback result.");
                    return fallback();
                }
                Verdict::Allow { content, attributes }
            }
            "DENY" => {
                let message = answer
                    .attributes
                    .and_then(|mut a| a.remove("Reason"))
                    .filter(|r| !r.is_empty())
                    .unwrap_or_else(|| "The message was rejected by the message review handler".to_owned());
                Verdict::Deny { message }
            }
            other => {
                tracing::debug!(%url, result = other, "The message review handler's answer is invalid; using the fallback result.");
                fallback()
            }
        }
    }

    fn url<'a>(&'a self, uri: &'a str) -> Option<&'a str> {
        if uri.starts_with("http://") || uri.starts_with("https://") {
            return Some(uri);
        }
        self.arns.get(uri).map(String::as_str)
    }
}
