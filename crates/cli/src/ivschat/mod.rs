//! `switchboard ivschat`: the examples of its help pages (its calls go through `restjson`).

pub(crate) mod examples;
pub(crate) mod ext_examples;
