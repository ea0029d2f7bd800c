//! The `switchboard apigatewaymanagementapi` and `switchboard ivschat` command lines end to end: the binary run as a
//! process (clean environment, its own HOME) against live servers, WebSocket and chat clients that see what it
//! sends, every option form, skeleton, error and exit code of issue 5, and the seed documents' examples verbatim
//! (only the program name and the endpoint adapted).
//! `switchboard apigatewayv2` runs against Switchboard's control plane, and against a recording HTTP server where
//! the exact bytes it sends are pinned.

use std::net::TcpListener;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::harness::*;

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

/// One run of the binary.
#[derive(Debug)]
pub(crate) struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Exit code 0, nothing on stderr; the answer on stdout.
    #[track_caller]
    pub(crate) fn ok(&self) -> &str {
        assert_eq!((self.code, self.stderr.as_str()), (0, ""), "{self:?}");
        &self.stdout
    }

    /// Exit code 0 and nothing at all printed (post-to-connection, delete-connection, delete-room, …).
    #[track_caller]
    pub(crate) fn silent(&self) {
        assert_eq!(self.ok(), "", "{self:?}");
    }

    #[track_caller]
    pub(crate) fn json(&self) -> Value {
        let out = self.ok();
        serde_json::from_str(out).unwrap_or_else(|_| panic!("not JSON: {out}"))
    }

    /// The exit code, nothing on stdout, and exactly one line on stderr (no panic, no trace), which is returned.
    #[track_caller]
    pub(crate) fn fails(&self, code: i32) -> &str {
        assert_eq!(self.code, code, "{self:?}");
        assert_eq!(self.stdout, "", "{self:?}");
        assert_eq!(self.stderr.lines().count(), 1, "one line: {self:?}");
        assert!(self.stderr.ends_with('\n'), "{self:?}");
        assert!(!self.stderr.contains("panicked") && !self.stderr.contains("RUST_BACKTRACE"), "{self:?}");
        self.stderr.trim_end()
    }
}

/// The binary with a clean environment: a fresh HOME, no AWS_* or SWITCHBOARD_* variables but those given, and the
/// instance metadata service off (no test may reach anything but loopback).
pub(crate) struct Cli {
    home: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Cli {
    /// The test servers' key pair in the environment.
    pub(crate) fn new() -> Cli {
        Cli::bare().env("AWS_ACCESS_KEY_ID", AKID).env("AWS_SECRET_ACCESS_KEY", SECRET)
    }

    /// No credentials, no region, no endpoint.
    pub(crate) fn bare() -> Cli {
        let home = tempfile::tempdir().unwrap();
        let data = home.path().join("no-server-here");
        Cli { home, env: Vec::new() }
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("SWITCHBOARD_DATA_DIR", data.to_str().unwrap())
    }

    pub(crate) fn env(mut self, name: &str, value: &str) -> Cli {
        self.env.retain(|(n, _)| n != name);
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    fn home(&self) -> &Path {
        self.home.path()
    }

    /// Writes a file under HOME and returns its path.
    pub(crate) fn file(&self, name: &str, contents: &[u8]) -> PathBuf {
        let path = self.home().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        path
    }

    pub(crate) async fn run(&self, args: &[&str]) -> Run {
        let mut command = std::process::Command::new(BIN);
        command.args(args).env_clear().env("HOME", self.home());
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        for (name, value) in &self.env {
            command.env(name, value);
        }
        let output = tokio::task::spawn_blocking(move || command.output()).await.unwrap().unwrap();
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }
}

/// A gateway server, its backend, and one connected WebSocket client with its connection id.
pub(crate) async fn connected() -> (TestServer, Backend, Ws, String) {
    let mut backend = Backend::ok().await;
    let server = TestServer::with_backend(&backend).await;
    let ws = server.connect("/prod").await;
    let connect = backend.next_of("CONNECT").await;
    let id = connect["requestContext"]["connectionId"].as_str().unwrap().to_owned();
    (server, backend, ws, id)
}

/// A loopback port that refuses connections while this lives: bound, so nothing else can take it, and never
/// listening, so the kernel answers every attempt to connect with a reset.
struct ClosedPort {
    _bound: tokio::net::TcpSocket,
    port: u16,
}

fn closed_port() -> ClosedPort {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = socket.local_addr().unwrap().port();
    ClosedPort { _bound: socket, port }
}

fn is_timestamp(v: &Value) -> bool {
    // 2020-04-30T20:10:33.236000+00:00, as the AWS CLI v2 prints timestamps.
    v.as_str().is_some_and(|s| {
        let (main, offset) = s.split_at(s.len().saturating_sub(6));
        offset == "+00:00"
            && main.len() >= 19
            && main.as_bytes()[10] == b'T'
            && (main.len() == 19 || (main.len() == 26 && main.as_bytes()[19] == b'.'))
    })
}

// ---------------------------------------------------------------------------------------------------------------
// apigatewaymanagementapi

#[tokio::test]
async fn seed_post_to_connection_runs_as_written() {
    let (server, _backend, mut ws, id) = connected().await;
    let endpoint = server.url("/prod");
    // aws apigatewaymanagementapi post-to-connection \
    //   --connection-id L0SM9cOFvHcCIhw= \
    //   --data "Hello from API Gateway!" \
    //   --endpoint-url https://aabbccddee.execute-api.us-west-2.amazonaws.com/prod
    // "This command produces no output."
    let run = Cli::new()
        .run(&[
            "apigatewaymanagementapi",
            "post-to-connection",
            "--connection-id",
            &id,
            "--data",
            "Hello from API Gateway!",
            "--endpoint-url",
            &endpoint,
        ])
        .await;
    run.silent();
    assert_eq!(recv_text(&mut ws).await, "Hello from API Gateway!");
}

#[tokio::test]
async fn data_option_forms() {
    let (server, _backend, mut ws, id) = connected().await;
    let endpoint = server.url("/prod");
    let cli = Cli::new();
    let post = |args: Vec<String>| {
        let mut all = vec!["apigatewaymanagementapi".to_owned(), "post-to-connection".to_owned()];
        all.extend(args);
        all.extend(["--endpoint-url".to_owned(), endpoint.clone()]);
        all
    };
    let run = |args: Vec<String>| {
        let cli = &cli;
        async move { cli.run(&args.iter().map(String::as_str).collect::<Vec<_>>()).await }
    };

    // --name=value, and the camelCase spelling.
    run(post(vec![format!("--connectionId={id}"), "--data=inline value".to_owned()])).await.silent();
    assert_eq!(recv_text(&mut ws).await, "inline value");

    // file:// is text, fileb:// raw bytes.
    let text = cli.file("data/text.txt", "text from a file\n".as_bytes());
    run(post(vec!["--connection-id".into(), id.clone(), "--data".into(), format!("file://{}", text.display())]))
        .await
        .silent();
    assert_eq!(recv_text(&mut ws).await, "text from a file\n");
    let bytes = cli.file("data/bytes.bin", "bytes ✓ from fileb".as_bytes());
    run(post(vec!["--connection-id".into(), id.clone(), "--data".into(), format!("fileb://{}", bytes.display())]))
        .await
        .silent();
    assert_eq!(recv_text(&mut ws).await, "bytes ✓ from fileb");

    // --cli-binary-format base64: the AWS CLI v2 behaviour.
    let base64 = ["--cli-binary-format".to_owned(), "base64".to_owned()];
    let mut args =
        vec!["--connection-id".into(), id.clone(), "--data".into(), "SGVsbG8gZnJvbSBBUEkgR2F0ZXdheSE=".into()];
    args.extend(base64.clone());
    run(post(args)).await.silent();
    assert_eq!(recv_text(&mut ws).await, "Hello from API Gateway!");
    let mut args = vec!["--connection-id".into(), id.clone(), "--data".into(), "Hello from API Gateway!".into()];
    args.extend(base64.clone());
    assert_eq!(run(post(args)).await.fails(255), "Invalid base64: \"Hello from API Gateway!\"");
    // file:// text is decoded in base64 mode; fileb:// bytes never are.
    let encoded = cli.file("data/encoded.txt", b"ZnJvbSBhIGJhc2U2NCBmaWxl");
    let mut args = vec!["--connection-id".into(), id.clone(), "--data".into(), format!("file://{}", encoded.display())];
    args.extend(base64.clone());
    run(post(args)).await.silent();
    assert_eq!(recv_text(&mut ws).await, "from a base64 file");
    let mut args =
        vec!["--connection-id".into(), id.clone(), "--data".into(), format!("fileb://{}", encoded.display())];
    args.extend(base64);
    run(post(args)).await.silent();
    assert_eq!(recv_text(&mut ws).await, "ZnJvbSBhIGJhc2U2NCBmaWxl");

    // The profile's cli_binary_format, as in ~/.aws/config.
    cli.file(".aws/config", b"[default]\ncli_binary_format = base64\n");
    run(post(vec!["--connection-id".into(), id.clone(), "--data".into(), "cHJvZmlsZQ==".into()])).await.silent();
    assert_eq!(recv_text(&mut ws).await, "profile");
    let mut args = vec!["--connection-id".into(), id.clone(), "--data".into(), "as written".into()];
    args.extend(["--cli-binary-format".to_owned(), "raw-in-base64-out".to_owned()]);
    run(post(args)).await.silent();
    assert_eq!(recv_text(&mut ws).await, "as written");
}

#[tokio::test]
async fn get_connection_prints_the_aws_cli_members_in_every_format() {
    let (server, _backend, _ws, id) = connected().await;
    let endpoint = server.url("/prod");
    let cli = Cli::new();
    let get = |extra: &'static [&'static str]| {
        let mut args =
            vec!["apigatewaymanagementapi", "get-connection", "--connection-id", &id, "--endpoint-url", &endpoint];
        args.extend(extra);
        args.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let run = |args: Vec<String>| {
        let cli = &cli;
        async move { cli.run(&args.iter().map(String::as_str).collect::<Vec<_>>()).await }
    };

    let json_run = run(get(&[])).await;
    let answer = json_run.json();
    assert!(json_run.stdout.starts_with("{\n    \"ConnectedAt\": \""), "4-space JSON: {}", json_run.stdout);
    let keys: Vec<&str> = answer.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["ConnectedAt", "Identity", "LastActiveAt"]);
    assert!(is_timestamp(&answer["ConnectedAt"]) && is_timestamp(&answer["LastActiveAt"]), "{answer}");
    assert_eq!(answer["Identity"]["SourceIp"], "127.0.0.1");

    let text = run(get(&["--output", "text"])).await;
    let lines: Vec<&str> = text.ok().lines().collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(
        lines[0],
        format!("{}\t{}", answer["ConnectedAt"].as_str().unwrap(), answer["LastActiveAt"].as_str().unwrap())
    );
    assert!(lines[1].starts_with("IDENTITY\t127.0.0.1"), "{lines:?}");

    let yaml = run(get(&["--output", "yaml"])).await;
    assert!(
        yaml.ok().starts_with(&format!(
            "ConnectedAt: '{}'\nIdentity:\n  SourceIp: 127.0.0.1\n",
            answer["ConnectedAt"].as_str().unwrap()
        )),
        "{yaml:?}"
    );

    assert_eq!(run(get(&["--query", "Identity.SourceIp"])).await.ok(), "\"127.0.0.1\"\n");
    assert_eq!(run(get(&["--query", "Identity.SourceIp", "--output", "text"])).await.ok(), "127.0.0.1\n");
    assert_eq!(run(get(&["--query", "keys(@)"])).await.json(), json!(["ConnectedAt", "Identity", "LastActiveAt"]));
    let bad = run(get(&["--query", "Identity.["])).await;
    assert!(
        bad.fails(252).starts_with("switchboard: error: argument --query: Bad value for --query Identity.["),
        "{bad:?}"
    );
}

#[tokio::test]
async fn delete_connection_closes_then_the_id_is_gone() {
    let (server, _backend, mut ws, id) = connected().await;
    let endpoint = server.url("/prod");
    let cli = Cli::new();
    cli.run(&["apigatewaymanagementapi", "delete-connection", "--connection-id", &id, "--endpoint-url", &endpoint])
        .await
        .silent();
    assert_eq!(recv_close(&mut ws).await, (1000, "Connection Closed Normally".to_owned()));

    let gone = cli
        .run(&[
            "apigatewaymanagementapi",
            "post-to-connection",
            "--connection-id",
            &id,
            "--data",
            "x",
            "--endpoint-url",
            &endpoint,
        ])
        .await;
    assert_eq!(gone.fails(254), "An error occurred (GoneException) when calling the PostToConnection operation:");
    let gone = cli
        .run(&["apigatewaymanagementapi", "get-connection", "--connection-id", &id, "--endpoint-url", &endpoint])
        .await;
    assert_eq!(gone.fails(254), "An error occurred (GoneException) when calling the GetConnection operation:");
    let bad = cli
        .run(&["apigatewaymanagementapi", "delete-connection", "--connection-id", "nope", "--endpoint-url", &endpoint])
        .await;
    assert_eq!(
        bad.fails(254),
        "An error occurred (BadRequestException) when calling the DeleteConnection operation: Invalid connectionId: nope"
    );
}

#[tokio::test]
async fn cli_input_json_and_yaml_with_command_line_overrides() {
    let (server, _backend, mut ws, id) = connected().await;
    let endpoint = server.url("/prod");
    let cli = Cli::new();
    let base = ["apigatewaymanagementapi", "post-to-connection", "--endpoint-url", &endpoint];
    let run = |extra: Vec<String>| {
        let cli = &cli;
        let mut args: Vec<String> = base.iter().map(|s| s.to_string()).collect();
        args.extend(extra);
        async move { cli.run(&args.iter().map(String::as_str).collect::<Vec<_>>()).await }
    };

    let input = json!({"ConnectionId": id, "Data": "from json"}).to_string();
    run(vec!["--cli-input-json".into(), input.clone()]).await.silent();
    assert_eq!(recv_text(&mut ws).await, "from json");
    // Command-line values override the input.
    run(vec!["--cli-input-json".into(), input.clone(), "--data".into(), "overridden".into()]).await.silent();
    assert_eq!(recv_text(&mut ws).await, "overridden");
    // file:// input.
    let path = cli.file("input.json", input.as_bytes());
    run(vec!["--cli-input-json".into(), format!("file://{}", path.display())]).await.silent();
    assert_eq!(recv_text(&mut ws).await, "from json");
    // YAML: plain text, and !!binary for bytes.
    run(vec!["--cli-input-yaml".into(), format!("ConnectionId: '{id}'\nData: from yaml\n")]).await.silent();
    assert_eq!(recv_text(&mut ws).await, "from yaml");
    let path = cli.file("input.yaml", format!("ConnectionId: '{id}'\nData: !!binary aGVsbG8geWFtbA==\n").as_bytes());
    run(vec!["--cli-input-yaml".into(), format!("file://{}", path.display())]).await.silent();
    assert_eq!(recv_text(&mut ws).await, "hello yaml");

    let both = run(vec!["--cli-input-json".into(), input, "--cli-input-yaml".into(), "Data: x".into()]).await;
    assert_eq!(both.fails(252), "Only one --cli-input- parameter may be specified.");
    let bad = run(vec!["--cli-input-json".into(), "{bad".into()]).await;
    assert_eq!(bad.fails(252), "Error parsing parameter 'cli-input-json': Invalid JSON received.");
    let unknown =
        run(vec!["--cli-input-json".into(), json!({"ConnectionId": id, "Data": "x", "Foo": 1}).to_string()]).await;
    assert_eq!(
        unknown.fails(252),
        "Parameter validation failed: Unknown parameter in input: \"Foo\", must be one of: Data, ConnectionId"
    );
    let missing = run(vec!["--cli-input-json".into(), json!({"ConnectionId": id}).to_string()]).await;
    assert_eq!(missing.fails(252), "Parameter validation failed: Missing required parameter in input: \"Data\"");
    let unreadable = run(vec!["--cli-input-yaml".into(), "file:///nonexistent/switchboard.yaml".into()]).await;
    assert!(
        unreadable.fails(252).starts_with(
            "Error parsing parameter 'cli-input-yaml': Unable to load paramfile file:///nonexistent/switchboard.yaml:"
        ),
        "{unreadable:?}"
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Skeletons: no server, no credentials, no network.

#[tokio::test]
async fn generate_cli_skeleton_prints_what_the_aws_cli_prints() {
    let cli = Cli::bare();
    let post = ["apigatewaymanagementapi", "post-to-connection", "--generate-cli-skeleton"];
    let json_skeleton = "{\n    \"Data\": null,\n    \"ConnectionId\": \"\"\n}\n";
    assert_eq!(cli.run(&post).await.ok(), json_skeleton);
    assert_eq!(cli.run(&[&post[..], &["input"]].concat()).await.ok(), json_skeleton);
    assert_eq!(
        cli.run(&[&post[..], &["yaml-input"]].concat()).await.ok(),
        "Data: !!binary ''  # [REQUIRED] The data to be sent to the client specified by its connection id.\n\
         ConnectionId: '' # [REQUIRED] The identifier of the connection that a specific client is using.\n"
    );
    cli.run(&[&post[..], &["output", "--connection-id", "x", "--data", "y"]].concat()).await.silent();
    assert_eq!(
        cli.run(&["apigatewaymanagementapi", "delete-connection", "--generate-cli-skeleton", "yaml-input"]).await.ok(),
        "ConnectionId: ''  # [REQUIRED] \n"
    );
    assert_eq!(
        cli.run(&["apigatewaymanagementapi", "get-connection", "--generate-cli-skeleton"]).await.ok(),
        "{\n    \"ConnectionId\": \"\"\n}\n"
    );
    // `output` validates the command's inputs, then prints the sample answer.
    let needs_id = cli.run(&["apigatewaymanagementapi", "get-connection", "--generate-cli-skeleton", "output"]).await;
    assert_eq!(needs_id.fails(252), "switchboard: error: the following arguments are required: --connection-id");
    assert_eq!(
        cli.run(&[
            "apigatewaymanagementapi",
            "get-connection",
            "--connection-id",
            "x",
            "--generate-cli-skeleton",
            "output"
        ])
        .await
        .ok(),
        "{\n    \"ConnectedAt\": \"1970-01-01T00:00:00\",\n    \"Identity\": {\n        \"SourceIp\": \"SourceIp\",\n        \
         \"UserAgent\": \"UserAgent\"\n    },\n    \"LastActiveAt\": \"1970-01-01T00:00:00\"\n}\n"
    );

    let send = ["ivschat", "send-event", "--generate-cli-skeleton"];
    assert_eq!(
        cli.run(&send).await.ok(),
        "{\n    \"roomIdentifier\": \"\",\n    \"eventName\": \"\",\n    \"attributes\": {\n        \"KeyName\": \"\"\n    }\n}\n"
    );
    assert_eq!(
        cli.run(&[&send[..], &["yaml-input"]].concat()).await.ok(),
        "roomIdentifier: ''  # [REQUIRED] Identifier of the room to which the event will be sent.\n\
         eventName: '' # [REQUIRED] Application-defined name of the event to send to clients.\n\
         attributes: # Application-defined metadata to attach to the event sent to clients.\n  KeyName: ''\n"
    );
    assert_eq!(
        cli.run(&[&send[..], &["output", "--room-identifier", "r", "--event-name", "e"]].concat()).await.json(),
        json!({"id": "id"})
    );
    assert_eq!(
        cli.run(&[
            "ivschat",
            "create-chat-token",
            "--room-identifier",
            "r",
            "--user-id",
            "u",
            "--generate-cli-skeleton",
            "output"
        ])
        .await
        .ok(),
        "{\n    \"token\": \"token\",\n    \"tokenExpirationTime\": \"1970-01-01T00:00:00\",\n    \
         \"sessionExpirationTime\": \"1970-01-01T00:00:00\"\n}\n"
    );
    assert_eq!(
        cli.run(&[
            "ivschat",
            "list-tags-for-resource",
            "--resource-arn",
            "a",
            "--generate-cli-skeleton",
            "output",
            "--output",
            "yaml"
        ])
        .await
        .ok(),
        "tags:\n  KeyName: ''\n"
    );
    cli.run(&["ivschat", "delete-room", "--identifier", "a", "--generate-cli-skeleton", "output"]).await.silent();
    let create_room = cli.run(&["ivschat", "create-room", "--generate-cli-skeleton"]).await.json();
    assert_eq!(
        create_room,
        json!({"name": "", "maximumMessageRatePerSecond": 0, "maximumMessageLength": 0,
            "messageReviewHandler": {"uri": "", "fallbackResult": "ALLOW"}, "tags": {"KeyName": ""},
            "loggingConfigurationIdentifiers": [""]})
    );
    let yaml = cli.run(&["ivschat", "create-room", "--generate-cli-skeleton", "yaml-input"]).await;
    assert!(
        yaml.ok().contains(
            "messageReviewHandler: # Configuration information for optional review of messages.\n  uri: ''  # "
        ),
        "{yaml:?}"
    );
    assert!(yaml.ok().contains("\n  fallbackResult: ALLOW # "), "{yaml:?}");
    assert!(yaml.ok().contains("Valid values are: ALLOW, DENY.\n"), "{yaml:?}");
    assert!(yaml.ok().contains("\nloggingConfigurationIdentifiers: # Array of logging-configuration identifiers attached to the room.\n- ''\n"), "{yaml:?}");

    let bad = cli.run(&[&send[..], &["json"]].concat()).await;
    assert_eq!(
        bad.fails(252),
        "switchboard: error: argument --generate-cli-skeleton: Invalid choice 'json', valid choices are: input | yaml-input | output"
    );
}

#[tokio::test]
async fn every_skeleton_of_every_command_reads_back_as_input() {
    let cli = Cli::bare();
    for (service, operations) in [
        ("apigatewaymanagementapi", &["delete-connection", "get-connection", "post-to-connection"][..]),
        ("ivschat", &IVSCHAT_OPERATIONS[..]),
    ] {
        for operation in operations {
            let json = cli.run(&[service, operation, "--generate-cli-skeleton", "input"]).await;
            let parsed: Value = serde_json::from_str(json.ok()).unwrap();
            assert!(parsed.is_object() && json.ok().starts_with("{\n    \""), "{service} {operation}: {json:?}");
            let yaml = cli.run(&[service, operation, "--generate-cli-skeleton", "yaml-input"]).await;
            assert!(yaml.ok().contains("# [REQUIRED]") || !yaml.ok().is_empty(), "{service} {operation}");
            let help = cli.run(&[service, operation, "help"]).await;
            assert!(help.ok().contains(&format!("NAME\n       {operation} -")), "{service} {operation}");
        }
    }
}

const IVSCHAT_OPERATIONS: [&str; 17] = [
    "create-chat-token",
    "create-logging-configuration",
    "create-room",
    "delete-logging-configuration",
    "delete-message",
    "delete-room",
    "disconnect-user",
    "get-logging-configuration",
    "get-room",
    "list-logging-configurations",
    "list-rooms",
    "list-tags-for-resource",
    "send-event",
    "tag-resource",
    "untag-resource",
    "update-logging-configuration",
    "update-room",
];

// ---------------------------------------------------------------------------------------------------------------
// help

#[tokio::test]
async fn help_shows_the_documentation_as_the_seeds_do() {
    let cli = Cli::bare();
    let post = cli.run(&["apigatewaymanagementapi", "post-to-connection", "help"]).await;
    for text in [
        "Sends the provided data to the specified connection.",
        "--data <value>",
        "--connection-id <value>",
        "[--cli-input-json | --cli-input-yaml]",
        "[--generate-cli-skeleton <value>]",
        "--data (blob)\n          The data to be sent to the client specified by its connection id.",
        "--connection-id (string)\n          The identifier of the connection that a specific client is using.",
        "To send data to a WebSocket connection",
        "--data \"Hello from API Gateway!\"",
        "This command produces no output.",
    ] {
        assert!(post.ok().contains(text), "missing {text:?} in\n{}", post.stdout);
    }
    let send = cli.run(&["ivschat", "send-event", "help"]).await;
    for text in [
        "Sends an event to a room. Use this within your application’s business",
        "[--attributes <value>]",
        "--event-name <value>",
        "--room-identifier <value>",
        "--attributes (map)",
        "key -> (string)",
        "value -> (string)",
        "Shorthand Syntax:\n\n          KeyName1=string,KeyName2=string",
        "JSON Syntax:\n\n          {\"string\": \"string\"\n            ...}",
        "To send an event to a room",
        "--roomIdentifier \"arn:aws:ivschat:us-west-2:12345689012:room/g1H2I3j4k5L6\"",
        "id -> (string)\n          An identifier generated by Amazon IVS Chat.",
    ] {
        assert!(send.ok().contains(text), "missing {text:?} in\n{}", send.stdout);
    }
    let service = cli.run(&["ivschat", "help"]).await;
    for operation in IVSCHAT_OPERATIONS {
        assert!(service.ok().contains(&format!("o {operation}\n")), "{operation}");
    }
    assert!(cli.run(&["apigatewaymanagementapi", "help"]).await.ok().contains("o post-to-connection"));
    assert_eq!(cli.run(&["ivschat", "--help"]).await.ok(), service.stdout);
    let usage = cli.run(&["--help"]).await;
    assert!(usage.ok().contains("apigatewaymanagementapi") && usage.ok().contains("ivschat"), "{usage:?}");
}

// ---------------------------------------------------------------------------------------------------------------
// Errors and exit codes

#[tokio::test]
async fn bad_command_lines_exit_252_with_one_line() {
    let cli = Cli::new();
    let cases: &[(&[&str], &str)] = &[
        (
            &["ivschat"],
            "switchboard: error: the following arguments are required: operation (see 'switchboard ivschat help')",
        ),
        (
            &["ivschat", "sendEvent"],
            "switchboard: error: argument operation: Invalid choice 'sendEvent', valid choices are: create-chat-token | ",
        ),
        (
            &["ivschat", "send-event", "--room-identifier", "r"],
            "switchboard: error: the following arguments are required: --event-name",
        ),
        (
            &["ivschat", "send-event"],
            "switchboard: error: the following arguments are required: --room-identifier, --event-name",
        ),
        (
            &["ivschat", "send-event", "--room-identifier", "r", "--event-name", "e", "--bogus", "1"],
            "switchboard: error: Unknown options: --bogus, 1",
        ),
        (
            &["ivschat", "send-event", "--room-identifier"],
            "switchboard: error: argument --room-identifier: expected one argument",
        ),
        (
            &["ivschat", "send-event", "--room-identifier", "r", "--event-name", "e", "--attributes", "a"],
            "Error parsing parameter '--attributes': Expected: '=', received: 'EOF' for input: a",
        ),
        (
            &["ivschat", "send-event", "--room-identifier", "r", "--event-name", "e", "--attributes", "a=1,"],
            "Error parsing parameter '--attributes': Expected: '<second>', received: '<none>' for input: a=1,",
        ),
        (
            &["ivschat", "send-event", "--room-identifier", "r", "--event-name", "e", "--attributes", "{\"a\": }"],
            "Error parsing parameter '--attributes': Invalid JSON: ",
        ),
        (
            &["ivschat", "send-event", "--room-identifier", "r", "--event-name", "e", "--attributes", "{\"a\": 1}"],
            "Parameter validation failed: Invalid type for parameter attributes.a, value: 1, type: <class 'int'>, valid types: <class 'str'>",
        ),
        (
            &["ivschat", "send-event", "--room-identifier", "r", "--event-name", ""],
            "Parameter validation failed: Invalid length for parameter eventName, value: 0, valid min length: 1",
        ),
        (
            &[
                "ivschat",
                "send-event",
                "--room-identifier",
                "r",
                "--event-name",
                "e",
                "--attributes",
                "file:///nonexistent/attributes.json",
            ],
            "Error parsing parameter '--attributes': Unable to load paramfile file:///nonexistent/attributes.json: ",
        ),
        (
            &["ivschat", "list-rooms", "--max-results", "many"],
            "Error parsing parameter '--max-results': invalid literal for int() with base 10: 'many'",
        ),
        (
            &[
                "ivschat",
                "create-logging-configuration",
                "--destination-configuration",
                "s3={bucketName=b},firehose={deliveryStreamName=d}",
            ],
            "Parameter validation failed: Invalid number of parameters set for tagged union structure destinationConfiguration. Can only set one of the following keys: s3, cloudWatchLogs, firehose.",
        ),
        (
            &["--output", "table", "ivschat", "list-rooms"],
            "switchboard: error: argument --output: Invalid choice 'table', valid choices are: json | text | yaml",
        ),
        (
            &["ivschat", "list-rooms", "--endpoint-url", "127.0.0.1:4510"],
            "Bad value for --endpoint-url \"127.0.0.1:4510\": Must be of the form http://<hostname>/ or https://<hostname>/",
        ),
        (
            &[
                "apigatewaymanagementapi",
                "post-to-connection",
                "--connection-id",
                "x",
                "--data",
                "fileb:///nonexistent/data.bin",
            ],
            "Error parsing parameter '--data': Unable to load paramfile fileb:///nonexistent/data.bin: ",
        ),
    ];
    for (args, expected) in cases {
        let run = cli.run(args).await;
        let line = run.fails(252);
        assert!(line.starts_with(expected), "{args:?}: {line:?} does not start with {expected:?}");
    }
}

#[tokio::test]
async fn configuration_errors_exit_253() {
    let cli = Cli::bare();
    // No region for an endpoint other than a local server (nothing is sent).
    let run = cli
        .run(&[
            "apigatewaymanagementapi",
            "get-connection",
            "--connection-id",
            "x",
            "--endpoint-url",
            "https://aabbccddee.execute-api.us-west-2.amazonaws.com/prod",
        ])
        .await;
    assert_eq!(
        run.fails(253),
        "You must specify a region. You can also configure your region by running \"aws configure\"."
    );
    // An unknown profile.
    let run = cli.run(&["ivschat", "list-rooms", "--profile", "nope"]).await;
    assert_eq!(run.fails(253), "The config profile (nope) could not be found");
    let run = Cli::bare().env("AWS_PROFILE", "nope").run(&["ivschat", "list-rooms"]).await;
    assert_eq!(run.fails(253), "The config profile (nope) could not be found");
    // A local server, but no credentials anywhere and none stored in its data directory.
    let server = TestServer::start("", |_| {}).await;
    let run = Cli::bare().env("SWITCHBOARD_LISTEN", &server.addr.to_string()).run(&["ivschat", "list-rooms"]).await;
    assert!(
        run.fails(253)
            .starts_with("Unable to locate credentials. You can configure credentials by running \"aws configure\"."),
        "{run:?}"
    );
}

#[tokio::test]
async fn service_errors_exit_254_and_unreachable_endpoints_255() {
    let server = TestServer::start("", |_| {}).await;
    let endpoint = server.url("/prod");
    let wrong_key = Cli::bare().env("AWS_ACCESS_KEY_ID", "AKIDUNKNOWN000000000").env("AWS_SECRET_ACCESS_KEY", "x");
    let run = wrong_key
        .run(&["apigatewaymanagementapi", "get-connection", "--connection-id", "x", "--endpoint-url", &endpoint])
        .await;
    assert_eq!(
        run.fails(254),
        "An error occurred (UnrecognizedClientException) when calling the GetConnection operation: The security token \
         included in the request is invalid."
    );
    let wrong_secret = Cli::bare().env("AWS_ACCESS_KEY_ID", AKID).env("AWS_SECRET_ACCESS_KEY", "not-the-secret");
    let run = wrong_secret.run(&["ivschat", "list-rooms", "--endpoint-url", &server.url("")]).await;
    assert!(
        run.fails(254)
            .starts_with("An error occurred (InvalidSignatureException) when calling the ListRooms operation: "),
        "{run:?}"
    );
    let run = Cli::new()
        .run(&[
            "ivschat",
            "get-room",
            "--identifier",
            "arn:aws:ivschat:us-east-1:000000000000:room/AAAAAAAAAAAA",
            "--endpoint-url",
            &server.url(""),
        ])
        .await;
    assert!(
        run.fails(254)
            .starts_with("An error occurred (ResourceNotFoundException) when calling the GetRoom operation: "),
        "{run:?}"
    );

    let closed = closed_port();
    let port = closed.port;
    let run = Cli::new()
        .run(&[
            "apigatewaymanagementapi",
            "post-to-connection",
            "--connection-id",
            "L0SM9cOFvHcCIhw=",
            "--data",
            "x",
            "--endpoint-url",
            &format!("http://127.0.0.1:{port}/prod"),
        ])
        .await;
    assert_eq!(
        run.fails(255),
        format!(
            "Could not connect to the endpoint URL: \"http://127.0.0.1:{port}/prod/@connections/L0SM9cOFvHcCIhw%3D\""
        )
    );
    let run = Cli::new().run(&["ivschat", "list-rooms", "--endpoint-url", &format!("http://127.0.0.1:{port}")]).await;
    assert_eq!(run.fails(255), format!("Could not connect to the endpoint URL: \"http://127.0.0.1:{port}/ListRooms\""));

    // A server that accepts the connection but never answers: --cli-read-timeout.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let run = Cli::new().run(&["ivschat", "list-rooms", "--endpoint-url", &url, "--cli-read-timeout", "1"]).await;
    assert_eq!(run.fails(255), format!("Read timeout on endpoint URL: \"{url}/ListRooms\""));
    drop(silent);
}

// ---------------------------------------------------------------------------------------------------------------
// Endpoint, region and credentials resolution

#[tokio::test]
async fn endpoint_from_flag_environment_profile_or_the_local_default() {
    let (server, _backend, _ws, id) = connected().await;
    let stage = server.url("/prod");
    let get = ["apigatewaymanagementapi", "get-connection", "--connection-id", &id];
    let works = |run: Run| assert_eq!(run.json()["Identity"]["SourceIp"], "127.0.0.1", "{run:?}");

    works(Cli::new().env("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI", &stage).run(&get).await);
    works(Cli::new().env("AWS_ENDPOINT_URL", &stage).run(&get).await);
    // The service-specific variable wins over the global one, the flag over both.
    let refusing = closed_port();
    let closed = format!("http://127.0.0.1:{}", refusing.port);
    works(
        Cli::new()
            .env("AWS_ENDPOINT_URL", &closed)
            .env("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI", &stage)
            .run(&get)
            .await,
    );
    works(
        Cli::new()
            .env("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI", &closed)
            .run(&[&get[..], &["--endpoint-url", &stage]].concat())
            .await,
    );
    // Global options before the service name.
    works(Cli::new().run(&[&["--endpoint-url", stage.as_str(), "--region", "eu-west-1"][..], &get[..]].concat()).await);

    // A profile with its own endpoint, region and keys.
    let cli = Cli::bare();
    cli.file(".aws/config", format!("[profile sb]\nregion = us-west-2\nendpoint_url = {stage}\n").as_bytes());
    cli.file(
        ".aws/credentials",
        format!("[sb]\naws_access_key_id = {AKID}\naws_secret_access_key = {SECRET}\n").as_bytes(),
    );
    works(cli.run(&[&get[..], &["--profile", "sb"]].concat()).await);
    works(Cli::bare().env("AWS_PROFILE", "sb").env("HOME", cli.home().to_str().unwrap()).run(&get).await);
    // The profile's [services] section.
    let cli = Cli::new();
    cli.file(
        ".aws/config",
        format!(
            "[default]\nservices = local\n\n[services local]\napigatewaymanagementapi =\n  endpoint_url = {stage}\n"
        )
        .as_bytes(),
    );
    works(cli.run(&get).await);

    // Nothing configured: the local server (SWITCHBOARD_LISTEN, else 127.0.0.1:4510), on the stage-less path.
    works(Cli::new().env("SWITCHBOARD_LISTEN", &server.addr.to_string()).run(&get).await);
    let unspecified = format!("0.0.0.0:{}", server.addr.port());
    works(Cli::new().env("SWITCHBOARD_LISTEN", &unspecified).run(&get).await);
}

#[tokio::test]
async fn a_local_server_without_credentials_uses_the_pair_it_generated() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_owned();
    let server = TestServer::start("", |args| {
        args.access_key_id = None;
        args.secret_access_key = None;
        args.data_dir = Some(dir);
    })
    .await;
    assert!(data.path().join("credentials.toml").exists());
    let cli = Cli::bare()
        .env("SWITCHBOARD_LISTEN", &server.addr.to_string())
        .env("SWITCHBOARD_DATA_DIR", data.path().to_str().unwrap());
    let created = cli.run(&["ivschat", "create-room", "--name", "generated-keys"]).await.json();
    assert_eq!(created["name"], "generated-keys");
    let listed = cli.run(&["ivschat", "list-rooms", "--query", "rooms[].name", "--output", "text"]).await;
    assert_eq!(listed.ok(), "generated-keys\n");
    // Credentials in the environment win over the stored pair (and these are not the server's).
    let run =
        cli.env("AWS_ACCESS_KEY_ID", AKID).env("AWS_SECRET_ACCESS_KEY", SECRET).run(&["ivschat", "list-rooms"]).await;
    assert!(run.fails(254).starts_with("An error occurred (UnrecognizedClientException)"), "{run:?}");
}

#[tokio::test]
async fn debug_logs_resolution_and_requests_but_never_the_secret() {
    let (server, _backend, _ws, id) = connected().await;
    let run = Cli::new()
        .run(&[
            "apigatewaymanagementapi",
            "get-connection",
            "--connection-id",
            &id,
            "--endpoint-url",
            &server.url("/prod"),
            "--debug",
        ])
        .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(serde_json::from_str::<Value>(&run.stdout).is_ok(), "the answer still goes to stdout: {run:?}");
    for text in [
        "Resolved the endpoint.",
        "source=--endpoint-url",
        "Resolved the credentials.",
        "source=the environment",
        "Sending the request.",
        "method=\"GET\"",
        "/prod/@connections/",
        "Received the response.",
        "status=200",
    ] {
        assert!(run.stderr.contains(text), "missing {text:?} in {}", run.stderr);
    }
    assert!(!run.stderr.contains(SECRET), "the secret never appears");
    assert!(!run.stderr.contains("\u{1b}["), "no colours when stderr is not a terminal");
}

// ---------------------------------------------------------------------------------------------------------------
// ivschat, end to end with chat clients

/// Connects a chat client with the token.
async fn join(server: &TestServer, token: &str) -> Ws {
    let mut request = format!("ws://{}/", server.addr).into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", token.parse().unwrap());
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

async fn frame(ws: &mut Ws) -> Value {
    serde_json::from_str(&recv_text(ws).await).unwrap()
}

#[tokio::test]
async fn seed_send_event_runs_as_written_and_reaches_the_room() {
    let server = TestServer::start("", |_| {}).await;
    let cli = Cli::new().env("AWS_ENDPOINT_URL_IVSCHAT", &server.url(""));
    let arn = cli.run(&["ivschat", "create-room", "--query", "arn", "--output", "text"]).await.ok().trim().to_owned();
    let token = cli
        .run(&[
            "ivschat",
            "create-chat-token",
            "--room-identifier",
            &arn,
            "--user-id",
            "viewer",
            "--query",
            "token",
            "--output",
            "text",
        ])
        .await
        .ok()
        .trim()
        .to_owned();
    let mut viewer = join(&server, &token).await;

    // aws ivschat send-event \
    //   --roomIdentifier "arn:aws:ivschat:us-west-2:12345689012:room/g1H2I3j4k5L6" \
    //   --eventName "SystemMessage" \
    //   --attributes \
    //   "msgType"="user-notification", \
    //   "msgText"="This chat room will close in 15 minutes."
    // (as the shell passes those words)
    let run = cli
        .run(&[
            "ivschat",
            "send-event",
            "--roomIdentifier",
            &arn,
            "--eventName",
            "SystemMessage",
            "--attributes",
            "msgType=user-notification,",
            "msgText=This chat room will close in 15 minutes.",
        ])
        .await;
    let out = run.ok();
    let id = run.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(out, format!("{{\n    \"id\": \"{id}\"\n}}\n"));
    assert!(id.len() == 12 && id.bytes().all(|b| b.is_ascii_alphanumeric()), "{id}");
    let event = frame(&mut viewer).await;
    assert_eq!(event["Type"], "EVENT");
    assert_eq!(event["Id"], id.as_str());
    assert_eq!(event["EventName"], "SystemMessage");
    assert_eq!(
        event["Attributes"],
        json!({"msgType": "user-notification", "msgText": "This chat room will close in 15 minutes."})
    );

    // The same with the AWS CLI's own spellings: kebab-case, one shorthand word with a quoted value, then JSON.
    cli.run(&[
        "ivschat",
        "send-event",
        "--room-identifier",
        &arn,
        "--event-name",
        "app:a",
        "--attributes",
        r#"a="x,y",b=2"#,
    ])
    .await
    .ok();
    assert_eq!(frame(&mut viewer).await["Attributes"], json!({"a": "x,y", "b": "2"}));
    cli.run(&[
        "ivschat",
        "send-event",
        "--room-identifier",
        &arn,
        "--event-name",
        "app:b",
        "--attributes",
        r#"{"k": "v=w,z"}"#,
    ])
    .await
    .ok();
    assert_eq!(frame(&mut viewer).await["Attributes"], json!({"k": "v=w,z"}));
}

#[tokio::test]
async fn every_ivschat_operation_end_to_end() {
    let server = TestServer::start("", |_| {}).await;
    let cli = Cli::new().env("AWS_ENDPOINT_URL_IVSCHAT", &server.url(""));
    let run = |args: &[&str]| {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let cli = &cli;
        async move { cli.run(&args.iter().map(String::as_str).collect::<Vec<_>>()).await }
    };

    // Logging configurations: a tagged union in shorthand, then in JSON.
    let created = run(&[
        "ivschat",
        "create-logging-configuration",
        "--destination-configuration",
        "cloudWatchLogs={logGroupName=chat-logs}",
        "--name",
        "lc",
        "--tags",
        "k=v",
    ])
    .await
    .json();
    assert_eq!(created["destinationConfiguration"], json!({"cloudWatchLogs": {"logGroupName": "chat-logs"}}));
    assert_eq!((created["state"].as_str(), created["tags"].clone()), (Some("ACTIVE"), json!({"k": "v"})));
    assert!(is_timestamp(&created["createTime"]), "{created}");
    let lc = created["arn"].as_str().unwrap().to_owned();
    assert_eq!(run(&["ivschat", "get-logging-configuration", "--identifier", &lc]).await.json()["name"], "lc");
    let updated = run(&[
        "ivschat",
        "update-logging-configuration",
        "--identifier",
        &lc,
        "--name",
        "lc2",
        "--destination-configuration",
        r#"{"s3": {"bucketName": "chat-bucket"}}"#,
    ])
    .await
    .json();
    assert_eq!(
        (updated["name"].clone(), updated["destinationConfiguration"].clone()),
        (json!("lc2"), json!({"s3": {"bucketName": "chat-bucket"}}))
    );
    assert_eq!(
        run(&["ivschat", "list-logging-configurations", "--query", "loggingConfigurations[].name"]).await.json(),
        json!(["lc2"])
    );

    // Rooms: integers, a structure in shorthand, a map, a list of one word; --cli-input-yaml.
    let room = run(&[
        "ivschat",
        "create-room",
        "--name",
        "r1",
        "--maximum-message-length",
        "256",
        "--message-review-handler",
        "uri=arn:aws:lambda:us-west-2:123456789012:function:review,fallbackResult=DENY",
        "--tags",
        "a=1,b=2",
        "--logging-configuration-identifiers",
        &lc,
    ])
    .await
    .json();
    assert_eq!(room["maximumMessageLength"], 256);
    assert_eq!(
        room["messageReviewHandler"],
        json!({"uri": "arn:aws:lambda:us-west-2:123456789012:function:review", "fallbackResult": "DENY"})
    );
    assert_eq!(room["loggingConfigurationIdentifiers"], json!([lc]));
    let keys: Vec<&str> = room.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "arn",
            "id",
            "name",
            "createTime",
            "updateTime",
            "maximumMessageRatePerSecond",
            "maximumMessageLength",
            "messageReviewHandler",
            "tags",
            "loggingConfigurationIdentifiers"
        ]
    );
    let arn = room["arn"].as_str().unwrap().to_owned();
    assert_eq!(run(&["ivschat", "get-room", "--identifier", &arn]).await.json()["name"], "r1");
    let updated = run(&[
        "ivschat",
        "update-room",
        "--identifier",
        &arn,
        "--maximum-message-rate-per-second",
        "5",
        "--message-review-handler",
        "uri=",
        "--logging-configuration-identifiers",
    ])
    .await
    .json();
    assert_eq!(
        (updated["maximumMessageRatePerSecond"].clone(), updated["loggingConfigurationIdentifiers"].clone()),
        (json!(5), json!([]))
    );
    assert!(updated.get("messageReviewHandler").is_none(), "an empty uri disassociates: {updated}");
    let yaml_room = run(&[
        "ivschat",
        "create-room",
        "--cli-input-yaml",
        "name: r2\nmaximumMessageRatePerSecond: 7\ntags:\n  team: blue\n",
    ])
    .await
    .json();
    assert_eq!((yaml_room["name"].clone(), yaml_room["maximumMessageRatePerSecond"].clone()), (json!("r2"), json!(7)));
    let listed = run(&["ivschat", "list-rooms", "--name", "r1", "--output", "text"]).await;
    assert!(listed.ok().starts_with(&format!("ROOMS\t{arn}\t")), "{listed:?}");
    assert_eq!(
        run(&["ivschat", "list-rooms", "--max-results", "1", "--query", "length(rooms)"]).await.json(),
        json!(1)
    );

    // Tags.
    run(&["ivschat", "tag-resource", "--resource-arn", &arn, "--tags", "c=3"]).await.silent();
    run(&["ivschat", "untag-resource", "--resource-arn", &arn, "--tag-keys", "a", "b"]).await.silent();
    assert_eq!(
        run(&["ivschat", "list-tags-for-resource", "--resource-arn", &arn]).await.json(),
        json!({"tags": {"c": "3"}})
    );

    // Tokens (a list of enum words, a map, an integer), then the moderation operations seen by a chat client.
    let token = run(&[
        "ivschat",
        "create-chat-token",
        "--room-identifier",
        &arn,
        "--user-id",
        "ann",
        "--capabilities",
        "SEND_MESSAGE",
        "DELETE_MESSAGE",
        "--attributes",
        "displayName=Ann",
        "--session-duration-in-minutes",
        "30",
    ])
    .await
    .json();
    assert!(is_timestamp(&token["tokenExpirationTime"]) && is_timestamp(&token["sessionExpirationTime"]), "{token}");
    let mut ann = join(&server, token["token"].as_str().unwrap()).await;
    let deleted =
        run(&["ivschat", "delete-message", "--room-identifier", &arn, "--id", "ABC123def456", "--reason", "spam"])
            .await
            .json();
    assert!(deleted["id"].as_str().is_some_and(|id| id.len() == 12), "{deleted}");
    let event = frame(&mut ann).await;
    assert_eq!(
        (event["EventName"].as_str(), event["Attributes"]["MessageID"].as_str()),
        (Some("aws:DELETE_MESSAGE"), Some("ABC123def456"))
    );
    run(&["ivschat", "disconnect-user", "--room-identifier", &arn, "--user-id", "ann", "--reason", "bye"])
        .await
        .silent();
    let event = frame(&mut ann).await;
    assert_eq!(event["EventName"], "aws:DISCONNECT_USER");

    // Deletions print nothing; what is gone is a service error.
    run(&["ivschat", "delete-room", "--identifier", &arn]).await.silent();
    let gone = run(&["ivschat", "get-room", "--identifier", &arn]).await;
    assert_eq!(
        gone.fails(254),
        format!(
            "An error occurred (ResourceNotFoundException) when calling the GetRoom operation: Room not found: {arn}"
        )
    );
    run(&["ivschat", "delete-logging-configuration", "--identifier", &lc]).await.silent();
    let invalid = run(&["ivschat", "create-room", "--maximum-message-length", "501"]).await;
    assert!(
        invalid
            .fails(254)
            .starts_with("An error occurred (ValidationException) when calling the CreateRoom operation: "),
        "{invalid:?}"
    );
}

// ---------------------------------------------------------------------------------------------------------------
// apigatewayv2 against Switchboard's own control plane

#[tokio::test]
async fn apigatewayv2_commands_define_an_api_on_the_server() {
    let server = TestServer::start("", |_| {}).await;
    let endpoint = server.url("");
    let cli = Cli::new();
    let at = ["--endpoint-url", endpoint.as_str(), "--region", REGION];
    let create = [
        "apigatewayv2",
        "create-api",
        "--name",
        "chat",
        "--protocol-type",
        "WEBSOCKET",
        "--route-selection-expression",
        "$request.body.action",
    ];
    let api = cli.run(&[&create[..], &at[..]].concat()).await.json();
    let id = api["ApiId"].as_str().unwrap().to_owned();
    assert_eq!(api["ApiEndpoint"], json!(format!("ws://{}/@apis/{id}", server.addr)));
    let route = cli
        .run(&[&["apigatewayv2", "create-route", "--api-id", &id, "--route-key", "$default"], &at[..]].concat())
        .await
        .json();
    assert_eq!(route["RouteKey"], json!("$default"));
    let routes = cli.run(&[&["apigatewayv2", "get-routes", "--api-id", &id], &at[..]].concat()).await.json();
    assert_eq!(routes["Items"].as_array().unwrap().len(), 1);
    // A modeled error, as the AWS CLI reports one.
    let failed = cli.run(&[&["apigatewayv2", "get-api", "--api-id", "nosuchapi0"], &at[..]].concat()).await;
    let line = failed.fails(254);
    assert!(line.contains("NotFoundException"), "{line}");
    server.shutdown().await;
}

// apigatewayv2, against a recording server: the exact requests

#[tokio::test]
async fn apigatewayv2_requests_go_out_signed_as_the_aws_cli_sends_them() {
    let answer = json!({
        "apiEndpoint": "ws://127.0.0.1:4510",
        "apiId": "a1b2c3d4e5",
        "createdDate": "2024-01-01T00:00:00Z",
        "name": "chat",
        "protocolType": "WEBSOCKET",
        "routeSelectionExpression": "$request.body.action",
        "notInTheModel": 1
    });
    let mut backend = Backend::start(move |_| Reply::Json(answer.clone())).await;
    let endpoint = backend.url().trim_end_matches("/fn").to_owned();
    let cli = Cli::new();
    let run = cli
        .run(&[
            "apigatewayv2",
            "create-api",
            "--name",
            "chat",
            "--protocol-type",
            "WEBSOCKET",
            "--route-selection-expression",
            "$request.body.action",
            "--endpoint-url",
            &endpoint,
            "--region",
            "eu-west-1",
        ])
        .await;
    // The answer in the model's member names and order, timestamps as the AWS CLI prints them.
    assert_eq!(
        run.ok(),
        "{\n    \"ApiEndpoint\": \"ws://127.0.0.1:4510\",\n    \"ApiId\": \"a1b2c3d4e5\",\n    \"CreatedDate\": \
         \"2024-01-01T00:00:00+00:00\",\n    \"Name\": \"chat\",\n    \"ProtocolType\": \"WEBSOCKET\",\n    \
         \"RouteSelectionExpression\": \"$request.body.action\"\n}\n"
    );
    let (parts, body) = (backend.next_request().await, backend.next().await);
    assert_eq!((parts.method.as_str(), parts.uri.path(), parts.uri.query()), ("POST", "/v2/apis", None));
    assert_eq!(parts.headers["content-type"], "application/json");
    assert_eq!(parts.headers["amz-sdk-request"], "attempt=1; max=3");
    assert_eq!(
        body,
        json!({"name": "chat", "protocolType": "WEBSOCKET", "routeSelectionExpression": "$request.body.action"})
    );
    // Signed for the model's signing name (`apigateway`) in the region asked for, as a SigV4 verifier sees it. The
    // recorder keeps the body as JSON; the command line sends it compact and in member order, so these are its bytes.
    let bytes = serde_json::to_vec(&body).unwrap();
    let secrets = |id: &str| (id == AKID).then(|| SECRET.to_owned());
    let principal = sigv4::Verifier::new("apigateway")
        .verify(&sigv4::SignedRequest::from_parts(&parts, &bytes), &secrets, time::OffsetDateTime::now_utc())
        .expect("a valid signature");
    assert_eq!((principal.access_key_id.as_str(), principal.region.as_str()), (AKID, "eu-west-1"));

    // Query members, and an answer with none of the output's members: a paginated command prints its empty list,
    // as the AWS CLI's paginator does (MaxResults given by hand is the size of each page).
    let run = cli.run(&["apigatewayv2", "get-apis", "--max-results", "5", "--endpoint-url", &endpoint]).await;
    assert_eq!(run.json(), json!({"Items": []}));
    let (parts, body) = (backend.next_request().await, backend.next().await);
    assert_eq!((parts.method.as_str(), parts.uri.to_string().as_str()), ("GET", "/v2/apis?maxResults=5"));
    assert!(!parts.headers.contains_key("content-type"));
    assert_eq!(body, "", "no body");
    // Labels percent-encoded as AWS does (`:` and `/` too), a map in the JSON body.
    let run = cli
        .run(&[
            "apigatewayv2",
            "delete-route-request-parameter",
            "--api-id",
            "a1b2c3d4e5",
            "--route-id",
            "r1s2t3u",
            "--request-parameter-key",
            "route.request.header.Auth",
            "--endpoint-url",
            &endpoint,
        ])
        .await;
    run.silent();
    let (parts, _) = (backend.next_request().await, backend.next().await);
    assert_eq!(parts.method, "DELETE");
    assert_eq!(parts.uri.path(), "/v2/apis/a1b2c3d4e5/routes/r1s2t3u/requestparameters/route.request.header.Auth");
    let arn = "arn:aws:apigateway:eu-west-1::/apis/a1b2c3d4e5";
    let run = cli
        .run(&[
            "apigatewayv2",
            "tag-resource",
            "--resource-arn",
            arn,
            "--tags",
            "team=chat",
            "--endpoint-url",
            &endpoint,
        ])
        .await;
    run.silent();
    let (parts, body) = (backend.next_request().await, backend.next().await);
    assert_eq!(parts.method, "POST");
    assert_eq!(parts.uri.path(), "/v2/tags/arn%3Aaws%3Aapigateway%3Aeu-west-1%3A%3A%2Fapis%2Fa1b2c3d4e5");
    assert_eq!(body, json!({"tags": {"team": "chat"}}));
}

#[tokio::test]
async fn apigatewayv2_help_skeletons_and_validation_come_from_its_model() {
    let cli = Cli::new();
    let page = cli.run(&["apigatewayv2", "help"]).await;
    for command in
        ["o create-api", "o get-apis", "o create-route", "o update-stage", "o delete-route-request-parameter"]
    {
        assert!(page.ok().contains(command), "{command}: {page:?}");
    }
    let page = cli.run(&["apigatewayv2", "update-stage", "help"]).await;
    for text in ["--stage-variables (map)", "KeyName1=string,KeyName2=string", "--api-id (string)", "--stage-name"] {
        assert!(page.ok().contains(text), "{text}: {page:?}");
    }
    assert!(page.ok().lines().all(|l| l.chars().count() <= 120));
    let skeleton = cli.run(&["apigatewayv2", "create-route", "--generate-cli-skeleton"]).await.json();
    assert_eq!(skeleton["RouteKey"], "");
    assert_eq!(skeleton["RequestParameters"], json!({"KeyName": {"Required": true}}));
    // Required members are checked before anything is sent (nothing listens on that port).
    let refusing = closed_port();
    let nowhere = format!("http://127.0.0.1:{}", refusing.port);
    let run = cli.run(&["apigatewayv2", "create-api", "--name", "x", "--endpoint-url", &nowhere]).await;
    assert_eq!(run.fails(252), "switchboard: error: the following arguments are required: --protocol-type");
    let run = cli.run(&["apigatewayv2", "get-apis", "--endpoint-url", &nowhere]).await;
    assert!(run.fails(255).starts_with("Could not connect to the endpoint URL: "), "{run:?}");
}
