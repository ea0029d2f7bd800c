//! Non-proxy integrations without a network: MOCK with request templates, template selection, passthrough
//! behaviours, integration responses chosen by status, and templates that fail.

use std::collections::HashMap;

use wire::apigw::EventType;

use crate::integration::{Answer, Call, Invoker, Outcome};
use crate::model::{Integration, IntegrationResponse, IntegrationType, PassthroughBehavior};

fn templates(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn response(key: &str, pairs: &[(&str, &str)], selection: Option<&str>) -> IntegrationResponse {
    IntegrationResponse {
        integration_response_key: key.to_owned(),
        response_templates: templates(pairs),
        template_selection_expression: selection.map(str::to_owned),
        content_handling_strategy: None,
    }
}

async fn send(integration: &Integration, body: &str) -> Outcome {
    let apis = crate::testing::one_api();
    let ctx = crate::testing::connection(&apis);
    let call = Call {
        ctx: &ctx,
        event_type: EventType::Message,
        route_key: "send",
        request_id: "req",
        message_id: Some("msg"),
        body: Some(body),
        disconnect: None,
    };
    Invoker::new().invoke(integration, &call).await
}

fn answer(status: u16, body: &str) -> Outcome {
    Outcome::Answer(Answer { status, headers: Vec::new(), body: Some(body.to_owned()) })
}

#[tokio::test]
async fn a_mock_maps_its_request_and_picks_the_integration_response_by_status() {
    let mut mock = Integration::new("m", IntegrationType::Mock, None);
    mock.template_selection_expression = Some("${request.body.kind}".to_owned());
    mock.request_templates = templates(&[
        ("missing", r#"{"statusCode": 404}"#),
        ("$default", r#"#if($input.path('$.n') > 1){"statusCode": 200}#else{"statusCode": 201}#end"#),
    ]);
    mock.integration_responses = vec![
        response("/4\\d\\d/", &[("$default", "no $input.path('$.kind')")], None),
        response(
            "$default",
            &[("$default", "other"), ("200", "ok $context.connectionId $stageVariables.v")],
            Some("${integration.response.statuscode}"),
        ),
    ];
    assert_eq!(send(&mock, r#"{"kind": "x", "n": 2}"#).await, answer(200, "ok id 1"));
    assert_eq!(send(&mock, r#"{"kind": "x", "n": 1}"#).await, answer(201, "other"));
    // The MOCK has no backend body: the 4xx response's template reads an empty `$input`.
    assert_eq!(send(&mock, r#"{"kind": "missing"}"#).await, answer(404, "no $input.path('$.kind')"));
    // A 4xx key matches the whole status only.
    mock.integration_responses.remove(1);
    assert_eq!(send(&mock, r#"{"n": 2}"#).await, Outcome::Answer(Answer { status: 200, ..Answer::default() }));
}

#[tokio::test]
async fn passthrough_behaviours_decide_what_no_template_matches() {
    let mut mock = Integration::new("m", IntegrationType::Mock, None);
    mock.template_selection_expression = Some("${request.body.kind}".to_owned());
    mock.response_templates = templates(&[("$default", "$input.body|done")]);
    // WHEN_NO_MATCH (the default): the message itself is the payload, so its statusCode is the MOCK's.
    assert_eq!(send(&mock, r#"{"statusCode": 202}"#).await, answer(202, "|done"));
    mock.passthrough_behavior = PassthroughBehavior::WhenNoTemplates;
    assert_eq!(send(&mock, "{}").await, answer(200, "|done"), "no templates at all: passed through");
    mock.request_templates = templates(&[("a", r#"{"statusCode": 200}"#)]);
    assert_eq!(send(&mock, r#"{"kind": "b"}"#).await, Outcome::Unsupported);
    assert_eq!(send(&mock, r#"{"kind": "a"}"#).await, answer(200, "|done"));
    mock.passthrough_behavior = PassthroughBehavior::Never;
    assert_eq!(send(&mock, r#"{"kind": "b"}"#).await, Outcome::Unsupported);
    mock.passthrough_behavior = PassthroughBehavior::WhenNoMatch;
    assert_eq!(send(&mock, r#"{"kind": "b", "statusCode": 203}"#).await, answer(203, "|done"));
}

#[tokio::test]
async fn templates_that_fail_answer_an_integration_failure() {
    let mut mock = Integration::new("m", IntegrationType::Mock, None);
    for (request, response) in [("#if(", "x"), ("$util.parseJson('{')", "x"), ("{}", "#foreach($i in [1..5000])#end")] {
        mock.request_templates = templates(&[("$default", request)]);
        mock.response_templates = templates(&[("$default", response)]);
        assert!(matches!(send(&mock, "{}").await, Outcome::Failed(_)), "{request} / {response}");
    }
    // A configuration whose template does not read is refused at start.
    mock.response_templates = templates(&[("$default", "#end")]);
    let apis = crate::ApiSet::new(vec![{
        let mut api = crate::testing::one_api().by_id("a").unwrap().api.clone();
        api.integrations = vec![mock];
        api
    }]);
    let err = apis.unwrap_err().to_string();
    assert!(err.contains("integration `m`") && err.contains("template"), "{err}");
}

#[test]
fn the_readmes_non_proxy_example_is_a_configuration_that_reads() {
    #[derive(serde::Deserialize)]
    struct File {
        apis: Vec<crate::Api>,
    }
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let start = readme.find("# A non-proxy HTTP integration").expect("the README's example");
    let block = &readme[start..start + readme[start..].find("```").unwrap()];
    let file: File = toml::from_str(block).unwrap();
    let apis = crate::ApiSet::new(file.apis).unwrap();
    let svc = apis.by_id("mapped").unwrap().route("say").unwrap().integration.clone().unwrap();
    assert_eq!((svc.integration_type, svc.passthrough_behavior), (IntegrationType::Http, PassthroughBehavior::Never));
    let keys: Vec<&str> = svc.integration_responses.iter().map(|r| r.integration_response_key.as_str()).collect();
    assert_eq!(keys, ["/2\\d\\d/", "$default"]);
}
