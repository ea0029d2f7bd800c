//! `switchboard lambda`: the examples of its help pages (its calls go through `restjson`; `invoke` writes its payload
//! to the positional `outfile`, see `args::takes_outfile`).

pub(crate) mod examples;
