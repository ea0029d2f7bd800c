//! Fixtures for the crate's unit tests.

use crate::connect::ConnContext;
use crate::record::Record;
use crate::{Api, ApiSet, Stage};

/// One API, `a`, with one stage, `prod` (stage variable `v = "1"`), and no routes.
pub(crate) fn one_api() -> ApiSet {
    let variables = [("v".to_owned(), "1".into())].into_iter().collect();
    let stage = Stage { stage_name: "prod".to_owned(), stage_variables: variables, ..Stage::default() };
    ApiSet::new(vec![Api::with_stages("a", vec![stage])]).unwrap()
}

/// Connection `id`'s context on API `a` of `apis`, as its registry record gives it.
pub(crate) fn connection(apis: &ApiSet) -> ConnContext {
    let record = Record {
        api: "a".into(),
        stage: "prod".into(),
        at: 0,
        ip: "127.0.0.1".into(),
        ua: None,
        host: String::new(),
        auth: None,
        iam: None,
        deployed: false,
    };
    record.context(apis, "id").unwrap()
}
