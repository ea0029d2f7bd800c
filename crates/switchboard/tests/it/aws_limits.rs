//! `--aws-limits strict`: AWS's throttles answer as AWS does — the `@connections` account throttle (429
//! LimitExceededException), the API Gateway control plane's fixed quotas (429 TooManyRequestsException) and IVS
//! Chat's per-operation rates (429 ThrottlingException) — while a server on Switchboard's defaults throttles none.

use futures_util::future::join_all;
use server::config::AwsLimits;

use crate::harness::{Raw, TestServer, parts};

/// Sends `n` copies of a request at once; answers each one's status and `x-amzn-ErrorType`.
async fn burst(server: &TestServer, n: usize, request: impl Fn() -> Raw) -> Vec<(u16, String)> {
    let answers = join_all((0..n).map(|_| request().send(server))).await;
    let mut out = Vec::new();
    for answer in answers {
        let (status, error_type, _) = parts(answer).await;
        out.push((status, error_type));
    }
    out
}

fn throttled(answers: &[(u16, String)], error_type: &str) -> usize {
    answers.iter().filter(|(status, kind)| *status == 429 && kind == error_type).count()
}

#[tokio::test]
async fn strict_aws_limits_throttle_as_aws_does() {
    let server = TestServer::start("", |a| {
        a.aws_limits = Some(AwsLimits::Strict);
        // Raised as an account may raise it, but kept low: two a second, a burst of one.
        a.limits.management_requests_per_second = Some(2);
    })
    .await;

    // Six calls at once: the first takes the burst of one, then one refills every half second.
    let connections = burst(&server, 6, || Raw::new("GET", "/prod/@connections/L0SM9cOFvHcCIhw%3D")).await;
    assert!(throttled(&connections, "LimitExceededException") >= 2, "{connections:?}");
    assert!(connections.iter().any(|(status, _)| *status == 410), "{connections:?}");

    // CreateDeployment once every five seconds: the second of two back-to-back calls is throttled.
    let create_api = Raw {
        service: "apigateway",
        body: br#"{"name":"strict","protocolType":"WEBSOCKET","routeSelectionExpression":"$request.body.action"}"#
            .to_vec(),
        ..Raw::new("POST", "/v2/apis")
    };
    let (status, _, body) = parts(create_api.send(&server).await).await;
    assert_eq!(status, 201, "{body}");
    let api_id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["apiId"].as_str().unwrap().to_owned();
    let deploy = || Raw {
        service: "apigateway",
        body: b"{}".to_vec(),
        ..Raw::new("POST", format!("/v2/apis/{api_id}/deployments"))
    };
    let (first, _, _) = parts(deploy().send(&server).await).await;
    assert_ne!(first, 429);
    let (status, error_type, body) = parts(deploy().send(&server).await).await;
    assert_eq!((status, error_type.as_str()), (429, "TooManyRequestsException"), "{body}");
    assert!(body.contains("Too Many Requests"), "{body}");
    // Ten a second in all with a burst of forty: eighty GetApis at once cannot all pass.
    let listed = burst(&server, 80, || Raw { service: "apigateway", ..Raw::new("GET", "/v2/apis") }).await;
    assert!(throttled(&listed, "TooManyRequestsException") >= 10, "{listed:?}");

    // IVS Chat's GetRoom: five a second.
    let get_room = || Raw {
        service: "ivschat",
        body: br#"{"identifier":"AbCdEfGhIjKl"}"#.to_vec(),
        ..Raw::new("POST", "/GetRoom")
    };
    let rooms = burst(&server, 20, get_room).await;
    assert!(throttled(&rooms, "ThrottlingException") >= 5, "{rooms:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn switchboards_defaults_throttle_none_of_them() {
    let server = TestServer::start("", |_| {}).await;
    let connections = burst(&server, 30, || Raw::new("GET", "/prod/@connections/L0SM9cOFvHcCIhw%3D")).await;
    assert!(connections.iter().all(|(status, _)| *status == 410), "{connections:?}");
    let listed = burst(&server, 60, || Raw { service: "apigateway", ..Raw::new("GET", "/v2/apis") }).await;
    assert!(listed.iter().all(|(status, _)| *status == 200), "{listed:?}");
    server.shutdown().await;
}
