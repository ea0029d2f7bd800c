//! The connection registry record: the facts of a connection's `$connect` that its `$disconnect` needs, kept where
//! another node can find them (a cluster's survivors deliver a dead node's `$disconnect` events from these).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use wire::apigw::{IamCaller, Identity};

use crate::ApiSet;
use crate::connect::ConnContext;
use crate::model::ApiRuntime;

/// What a survivor needs to deliver a connection's `$disconnect`. Its JSON is what nodes share: field names stay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub api: String,
    pub stage: String,
    /// Unix milliseconds.
    pub at: i64,
    pub ip: String,
    pub ua: Option<String>,
    pub host: String,
    /// `requestContext.authorizer` of the connection's events, when `$connect` had an authorizer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<serde_json::Map<String, serde_json::Value>>,
    /// The IAM caller of an `AWS_IAM` `$connect`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam: Option<Box<IamCaller>>,
    /// Whether the API is one defined through apigatewayv2 (`/@apis/{id}/{stage}`), served from its stage's current
    /// deployment in the shared store, rather than one of the configuration's (`--route`, `[[apis]]`, chosen by path
    /// or `Host`), which every node has.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deployed: bool,
}

impl Record {
    pub fn of(ctx: &ConnContext) -> Record {
        Record {
            api: ctx.api.api.api_id.clone(),
            stage: ctx.stage.clone(),
            at: (ctx.connected_at.unix_timestamp_nanos() / 1_000_000) as i64,
            ip: ctx.identity.source_ip.clone(),
            ua: ctx.identity.user_agent.clone(),
            host: ctx.domain_name.clone(),
            auth: ctx.authorizer.clone(),
            iam: ctx.caller.clone(),
            deployed: false,
        }
    }

    /// The record of a connection to a deployed stage (see [`Record::deployed`]).
    pub fn of_deployed(ctx: &ConnContext) -> Record {
        Record { deployed: true, ..Record::of(ctx) }
    }

    /// The context of connection `id` for its `$disconnect` event (without the handshake's headers and query,
    /// which the record does not keep); `None` when this node does not have the record's API.
    pub fn context(&self, apis: &ApiSet, id: &str) -> Option<ConnContext> {
        Some(self.context_of(apis.by_id(&self.api)?.clone(), id))
    }

    /// The context of connection `id` for its `$disconnect` event, on `api` (what the record's API serves now).
    pub fn context_of(&self, api: Arc<ApiRuntime>, id: &str) -> ConnContext {
        let stage_variables = api.stage(&self.stage).map(|s| s.stage_variables.clone()).unwrap_or_default();
        let connected_at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.at) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        ConnContext {
            api,
            stage: self.stage.clone(),
            stage_variables,
            connection_id: id.to_owned(),
            connected_at,
            identity: Identity { source_ip: self.ip.clone(), user_agent: self.ua.clone() },
            domain_name: self.host.clone(),
            headers: Vec::new(),
            query: Vec::new(),
            authorizer: self.auth.clone(),
            caller: self.iam.clone(),
            api_key: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Record;

    #[test]
    fn a_record_gives_back_the_disconnect_context() {
        let apis = crate::testing::one_api();
        let record = Record {
            api: "a".to_owned(),
            stage: "prod".to_owned(),
            at: 1_700_000_000_123,
            ip: "192.0.2.1".to_owned(),
            ua: None,
            host: "example.com".to_owned(),
            auth: None,
            iam: None,
            deployed: false,
        };
        let json = serde_json::to_string(&record).unwrap();
        assert_eq!(
            json,
            r#"{"api":"a","stage":"prod","at":1700000000123,"ip":"192.0.2.1","ua":null,"host":"example.com"}"#
        );
        let ctx = record.context(&apis, "id").unwrap();
        assert_eq!(ctx.stage_variables["v"], "1");
        assert_eq!(Record::of(&ctx), record);
        assert!(Record { api: "other".to_owned(), ..record.clone() }.context(&apis, "id").is_none());
        // A deployed stage's record says so; a configured API's JSON stays as it was.
        let deployed = Record::of_deployed(&ctx);
        assert!(serde_json::to_string(&deployed).unwrap().ends_with(r#","deployed":true}"#));
        assert_eq!(serde_json::from_str::<Record>(&json).unwrap(), record);
        // An `AWS_IAM` connection's caller reaches its `$disconnect` on a survivor too.
        let caller = Box::new(wire::apigw::IamCaller::of_account("AKID", "000000000000"));
        let signed = Record { iam: Some(caller.clone()), ..record.clone() };
        let json = serde_json::to_string(&signed).unwrap();
        assert!(json.ends_with(r#""iam":{"accessKey":"AKID","accountId":"000000000000","caller":"000000000000","user":"000000000000","userArn":"arn:aws:iam::000000000000:root"}}"#), "{json}");
        let back: Record = serde_json::from_str(&json).unwrap();
        assert_eq!(back.context(&apis, "id").unwrap().caller, Some(caller));
    }
}
