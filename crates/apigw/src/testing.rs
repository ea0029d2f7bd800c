//! Fixtures for the crate's unit tests.

use crate::{Api, ApiSet, Stage};

/// One API, `a`, with one stage, `prod` (stage variable `v = "1"`), and no routes.
pub(crate) fn one_api() -> ApiSet {
    let variables = [("v".to_owned(), "1".into())].into_iter().collect();
    let stage = Stage { stage_name: "prod".to_owned(), stage_variables: variables, ..Stage::default() };
    ApiSet::new(vec![Api::with_stages("a", vec![stage])]).unwrap()
}

/// A connection of [`one_api`]'s `prod` stage, as a cluster survivor would rebuild it (no handshake headers).
pub(crate) fn context() -> crate::connect::ConnContext {
    let record = crate::record::Record {
        api: "a".into(),
        stage: "prod".into(),
        at: 0,
        ip: String::new(),
        ua: None,
        host: String::new(),
        auth: None,
        iam: None,
        deployed: false,
    };
    record.context(&one_api(), "id").expect("the record names the API")
}
