//! Resources Switchboard does not create (tables, permissions, roles, queues, …): listed once at start, and given
//! placeholders so that a template referring to them still runs: `Ref` gives what the service would name the resource
//! (its name property when the template sets one, else `{stack}-{logicalId}`), `Fn::GetAtt` an ARN of the right
//! shape. A handler that talks to the real table reaches it with whatever credentials the environment has.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::eval::{Resolved, text};
use crate::params::Pseudo;

/// How a known type names its resource, and what `Ref` and its ARN look like.
struct Known {
    kind: &'static str,
    name_property: &'static str,
    /// `{p}` partition, `{r}` region, `{a}` account, `{n}` name, `{s}` URL suffix.
    reference: &'static str,
    arn: &'static str,
}

const KNOWN: &[Known] = &[
    Known {
        kind: "AWS::DynamoDB::Table",
        name_property: "TableName",
        reference: "{n}",
        arn: "arn:{p}:dynamodb:{r}:{a}:table/{n}",
    },
    Known {
        kind: "AWS::Serverless::SimpleTable",
        name_property: "TableName",
        reference: "{n}",
        arn: "arn:{p}:dynamodb:{r}:{a}:table/{n}",
    },
    Known { kind: "AWS::IAM::Role", name_property: "RoleName", reference: "{n}", arn: "arn:{p}:iam::{a}:role/{n}" },
    Known { kind: "AWS::S3::Bucket", name_property: "BucketName", reference: "{n}", arn: "arn:{p}:s3:::{n}" },
    Known {
        kind: "AWS::SQS::Queue",
        name_property: "QueueName",
        reference: "https://sqs.{r}.{s}/{a}/{n}",
        arn: "arn:{p}:sqs:{r}:{a}:{n}",
    },
    Known {
        kind: "AWS::SNS::Topic",
        name_property: "TopicName",
        reference: "arn:{p}:sns:{r}:{a}:{n}",
        arn: "arn:{p}:sns:{r}:{a}:{n}",
    },
    Known {
        kind: "AWS::Logs::LogGroup",
        name_property: "LogGroupName",
        reference: "{n}",
        arn: "arn:{p}:logs:{r}:{a}:log-group:{n}:*",
    },
];

/// The placeholders of resource `id` of type `kind`, and the line that says what they are. `name` is the value of the
/// type's name property, when the template sets one that evaluates.
pub(crate) fn placeholder(id: &str, kind: &str, name: Option<&Value>, pseudo: &Pseudo) -> (Resolved, String) {
    let known = KNOWN.iter().find(|k| k.kind == kind);
    let name = name.and_then(text).unwrap_or_else(|| match known {
        Some(_) => format!("{}-{id}", pseudo.stack_name),
        None => id.to_owned(),
    });
    let fill = |pattern: &str| {
        pattern
            .replace("{p}", &pseudo.partition)
            .replace("{r}", &pseudo.region)
            .replace("{a}", &pseudo.account_id)
            .replace("{s}", &pseudo.url_suffix)
            .replace("{n}", &name)
    };
    let (reference, arn) = match known {
        Some(k) => (fill(k.reference), fill(k.arn)),
        None => {
            // arn:aws:{service}:{region}:{account}:{type}/{name} for AWS::{Service}::{Type}.
            let mut parts = kind.split("::").skip(1);
            let service = parts.next().unwrap_or("unknown").to_ascii_lowercase();
            let resource = parts.next().unwrap_or("resource").to_ascii_lowercase();
            (name.clone(), fill(&format!("arn:{{p}}:{service}:{{r}}:{{a}}:{resource}/{{n}}")))
        }
    };
    let mut attributes = BTreeMap::from([("Arn".to_owned(), Value::String(arn.clone()))]);
    if kind.ends_with("::Table") || kind == "AWS::Serverless::SimpleTable" {
        attributes.insert("StreamArn".to_owned(), Value::String(format!("{arn}/stream/1970-01-01T00:00:00.000")));
    }
    let note = format!("Ref → {reference}, Fn::GetAtt → {arn}");
    (Resolved { reference: Value::String(reference), attributes, fallback: Some(Value::String(arn)) }, note)
}

/// The name property of `kind`, if Switchboard knows one.
pub(crate) fn name_property(kind: &str) -> Option<&'static str> {
    KNOWN.iter().find(|k| k.kind == kind).map(|k| k.name_property)
}

/// The raw properties of a resource, or an empty mapping.
pub(crate) fn properties(resource: &Value) -> Map<String, Value> {
    resource.get("Properties").and_then(Value::as_object).cloned().unwrap_or_default()
}
