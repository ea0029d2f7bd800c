//! `switchboard apigatewaymanagementapi`: the examples of its help pages, its extensions' included (its calls go through `restjson`).

pub(crate) mod examples;
