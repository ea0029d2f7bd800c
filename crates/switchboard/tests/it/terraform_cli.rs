//! The real `terraform` binary and `hashicorp/aws` provider against the server: `apply` of a small WebSocket stack
//! (API, MOCK integration with its response, two-way `$default` route, a deployment and a stage with an access log), a
//! message through its endpoint, a `plan` that finds nothing to change, and `destroy`.
//!
//! Neither the binary nor the provider comes from a registry this project reaches, so the test runs only where
//! `terraform` is on `PATH` and the provider can be installed: from the filesystem mirror in
//! `SWITCHBOARD_TF_PLUGINS` (a folder holding `registry.terraform.io/hashicorp/aws/…`), else `/opt/tf-plugins`
//! when it has one, else Terraform's registry. Without them it says so and passes, as the other fixtures do.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::apigatewayv2::sdk;
use crate::harness::*;

/// How long one `terraform` command may take.
const COMMAND_DEADLINE: Duration = Duration::from_secs(300);

/// The filesystem mirror that holds the AWS provider, if there is one.
fn plugin_mirror() -> Option<PathBuf> {
    let dir = std::env::var_os("SWITCHBOARD_TF_PLUGINS").map(PathBuf::from).unwrap_or("/opt/tf-plugins".into());
    dir.join("registry.terraform.io/hashicorp/aws").is_dir().then_some(dir)
}

fn terraform_on_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join("terraform")).find(|candidate| candidate.is_file())
}

/// Runs `terraform {args}` in `dir` (on the blocking pool, so the server keeps serving), within the deadline: its
/// exit code and output.
async fn terraform(binary: &Path, dir: &Path, args: &[&str]) -> (i32, String) {
    let (binary, dir) = (binary.to_owned(), dir.to_owned());
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let log = dir.join(format!("{}.log", args[0]));
        let out = std::fs::File::create(&log).unwrap();
        let mut child = Command::new(&binary)
            .args(&args)
            .current_dir(&dir)
            .env("TF_CLI_CONFIG_FILE", dir.join("cli.tfrc"))
            .env("TF_IN_AUTOMATION", "1")
            .env("CHECKPOINT_DISABLE", "1")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        // Polled every 50 ms until the deadline, then killed.
        let mut polls = COMMAND_DEADLINE.as_millis() / 50;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if polls == 0 {
                let _ = child.kill();
                panic!("terraform {args:?} did not finish within {COMMAND_DEADLINE:?}");
            }
            polls -= 1;
            std::thread::sleep(Duration::from_millis(50));
        };
        (status.code().unwrap_or(-1), std::fs::read_to_string(&log).unwrap_or_default())
    })
    .await
    .unwrap()
}

/// The stack, its provider pointed at `endpoint` with the server's key pair.
fn stack(endpoint: &str) -> String {
    format!(
        r#"
terraform {{
  required_providers {{
    aws = {{ source = "hashicorp/aws" }}
  }}
}}
provider "aws" {{
  region                      = "{REGION}"
  access_key                  = "{AKID}"
  secret_key                  = "{SECRET}"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  endpoints {{
    apigatewayv2 = "{endpoint}"
  }}
}}
resource "aws_apigatewayv2_api" "ws" {{
  name                       = "tf-ws"
  protocol_type              = "WEBSOCKET"
  route_selection_expression = "$request.body.action"
  tags                       = {{ team = "chat" }}
}}
resource "aws_apigatewayv2_integration" "mock" {{
  api_id                        = aws_apigatewayv2_api.ws.id
  integration_type              = "MOCK"
  request_templates             = {{ "$default" = "{{\"statusCode\": 200}}" }}
  template_selection_expression = "\\$default"
}}
resource "aws_apigatewayv2_integration_response" "mock" {{
  api_id                   = aws_apigatewayv2_api.ws.id
  integration_id           = aws_apigatewayv2_integration.mock.id
  integration_response_key = "$default"
  response_templates       = {{ "$default" = "pong" }}
}}
resource "aws_apigatewayv2_route" "default" {{
  api_id                              = aws_apigatewayv2_api.ws.id
  route_key                           = "$default"
  target                              = "integrations/${{aws_apigatewayv2_integration.mock.id}}"
  route_response_selection_expression = "$default"
}}
resource "aws_apigatewayv2_route_response" "default" {{
  api_id             = aws_apigatewayv2_api.ws.id
  route_id           = aws_apigatewayv2_route.default.id
  route_response_key = "$default"
}}
resource "aws_apigatewayv2_deployment" "one" {{
  api_id     = aws_apigatewayv2_api.ws.id
  depends_on = [aws_apigatewayv2_route_response.default, aws_apigatewayv2_integration_response.mock]
}}
resource "aws_apigatewayv2_stage" "prod" {{
  api_id        = aws_apigatewayv2_api.ws.id
  name          = "prod"
  deployment_id = aws_apigatewayv2_deployment.one.id
  access_log_settings {{
    destination_arn = "arn:aws:logs:{REGION}:000000000000:log-group:tf-ws"
    format          = jsonencode({{ requestId = "$context.requestId", eventType = "$context.eventType" }})
  }}
}}
output "endpoint" {{
  value = aws_apigatewayv2_api.ws.api_endpoint
}}
"#
    )
}

#[tokio::test]
async fn terraform_applies_plans_nothing_more_and_destroys_a_websocket_stack() {
    let Some(binary) = terraform_on_path() else {
        eprintln!("terraform is not on PATH; skipping the Terraform CLI test");
        return;
    };
    let server = TestServer::start("", |_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let cli_config = match plugin_mirror() {
        Some(mirror) => {
            format!("provider_installation {{\n  filesystem_mirror {{\n    path = \"{}\"\n  }}\n}}\n", mirror.display())
        }
        None => String::new(),
    };
    std::fs::write(dir.path().join("cli.tfrc"), cli_config).unwrap();
    std::fs::write(dir.path().join("main.tf"), stack(&format!("http://{}", server.addr))).unwrap();

    let (code, output) = terraform(&binary, dir.path(), &["init", "-input=false", "-no-color"]).await;
    if code != 0 {
        let unreachable = ["could not connect", "Failed to query available provider packages", "no such host"];
        assert!(unreachable.iter().any(|text| output.contains(text)), "terraform init failed:\n{output}");
        eprintln!("the hashicorp/aws provider cannot be installed here; skipping the Terraform CLI test");
        return;
    }
    let (code, output) = terraform(&binary, dir.path(), &["apply", "-auto-approve", "-input=false", "-no-color"]).await;
    assert_eq!(code, 0, "terraform apply:\n{output}");

    // The stack serves: a message through its endpoint gets the MOCK's answer, and the stage logs it.
    let (_, endpoint) = terraform(&binary, dir.path(), &["output", "-raw", "endpoint"]).await;
    assert!(endpoint.starts_with(&format!("ws://{}/@apis/", server.addr)), "{endpoint}");
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("{endpoint}/prod")).await.unwrap();
    send_text(&mut ws, r#"{"action":"ping"}"#).await;
    assert_eq!(recv_text(&mut ws).await, "pong");
    let log = server.data_dir().path().join("access-logs/cloudwatch/tf-ws.log");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !std::fs::read_to_string(&log).unwrap_or_default().contains(r#""eventType":"MESSAGE""#) {
        assert!(tokio::time::Instant::now() < deadline, "no MESSAGE line in {}", log.display());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // What Terraform reads back matches what it wrote: nothing to change.
    let (code, output) =
        terraform(&binary, dir.path(), &["plan", "-detailed-exitcode", "-input=false", "-no-color"]).await;
    assert_eq!(code, 0, "terraform plan found changes:\n{output}");

    let (code, output) =
        terraform(&binary, dir.path(), &["destroy", "-auto-approve", "-input=false", "-no-color"]).await;
    assert_eq!(code, 0, "terraform destroy:\n{output}");
    assert!(sdk(&server).get_apis().send().await.unwrap().items().is_empty(), "destroy removed the API");
    server.shutdown().await;
}
