//! Fixtures for the crate's unit tests.

use crate::{Api, ApiSet, Stage};

/// One API, `a`, with one stage, `prod` (stage variable `v = "1"`), and no routes.
pub(crate) fn one_api() -> ApiSet {
    let stage =
        Stage { stage_name: "prod".to_owned(), stage_variables: [("v".to_owned(), "1".into())].into_iter().collect() };
    let api = Api {
        api_id: "a".to_owned(),
        name: None,
        route_selection_expression: crate::model::default_selection_expression(),
        stages: vec![stage],
        routes: Vec::new(),
        integrations: Vec::new(),
        route_responses: Vec::new(),
        authorizers: Vec::new(),
    };
    ApiSet::new(vec![api]).unwrap()
}
