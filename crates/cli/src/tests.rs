//! Unit tests of the command line without a server: every help example parses and validates, skeletons match the
//! AWS CLI's output byte for byte, and bad words fail with the right kind of error.

use serde_json::{Value, json};

use super::args::{self, BinaryFormat, Command};
use super::model::MemberExt;
use super::{CliError, ErrorKind, SERVICES, help, params, skeleton};

/// Splits a shell command line as `sh` would for the examples: quotes, backslash escapes and continuations.
fn shell_words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut chars = command.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('\n') | None => {}
                Some(next) => {
                    current.push(next);
                    in_word = true;
                }
            },
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    current.push(q);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' if matches!(chars.peek(), Some('"' | '\\' | '$')) => {
                            current.push(chars.next().unwrap_or('\\'))
                        }
                        _ => current.push(q),
                    }
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            c => {
                current.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(current);
    }
    words
}

pub(crate) fn parse(command: &str) -> Result<(args::Call, serde_json::Map<String, Value>), CliError> {
    let words = shell_words(command);
    assert_eq!(words[0], "switchboard");
    let invocation = args::parse(&words[1..], &SERVICES)?;
    let Command::Call(call) = invocation.command else {
        panic!("{command} is not a call");
    };
    let params = params::build(&call, invocation.globals.binary_format.unwrap_or_default())?;
    Ok((call, params))
}

fn error(command: &str) -> CliError {
    match parse(command) {
        Ok((_, params)) => panic!("{command} parsed to {params:?}"),
        Err(err) => err,
    }
}

#[test]
fn every_help_example_parses_and_validates() {
    let mut count = 0;
    for service in SERVICES {
        for (service, operation) in service.with_extension() {
            for example in super::model::examples(service, operation) {
                let (call, _) = parse(example.command).unwrap_or_else(|e| panic!("{}: {}", example.command, e.message));
                assert_eq!(call.operation.name, operation.name);
                count += 1;
            }
        }
    }
    assert!(count >= 20, "{count} examples");
}

#[test]
fn the_seed_examples_parse_as_intended() {
    let (_, params) = parse(
        r#"switchboard ivschat send-event \
    --roomIdentifier "arn:aws:ivschat:us-west-2:12345689012:room/g1H2I3j4k5L6" \
    --eventName "SystemMessage" \
    --attributes \
    "msgType"="user-notification", \
    "msgText"="This chat room will close in 15 minutes.""#,
    )
    .unwrap();
    assert_eq!(
        Value::Object(params),
        json!({
            "roomIdentifier": "arn:aws:ivschat:us-west-2:12345689012:room/g1H2I3j4k5L6",
            "eventName": "SystemMessage",
            "attributes": {"msgType": "user-notification", "msgText": "This chat room will close in 15 minutes."}
        })
    );
    let (_, params) = parse(
        r#"switchboard apigatewaymanagementapi post-to-connection \
--connection-id L0SM9cOFvHcCIhw= \
--data "Hello from API Gateway!" \
--endpoint-url https://aabbccddee.execute-api.us-west-2.amazonaws.com/prod"#,
    )
    .unwrap();
    // "Hello from API Gateway!" as base64: the blob is carried encoded and sent as these 23 bytes.
    assert_eq!(
        Value::Object(params),
        json!({"ConnectionId": "L0SM9cOFvHcCIhw=", "Data": "SGVsbG8gZnJvbSBBUEkgR2F0ZXdheSE="})
    );
}

#[test]
fn input_skeletons_match_the_aws_cli() {
    let apigw = SERVICES[0];
    let ivschat = SERVICES[1];
    let op = |service: &super::Service, name: &str| service.command(name).unwrap();
    assert_eq!(
        skeleton::input_json(op(apigw, "post-to-connection")),
        "{\n    \"Data\": null,\n    \"ConnectionId\": \"\"\n}\n"
    );
    assert_eq!(skeleton::input_json(op(apigw, "get-connection")), "{\n    \"ConnectionId\": \"\"\n}\n");
    assert_eq!(
        skeleton::input_yaml(op(apigw, "post-to-connection")),
        "Data: !!binary ''  # [REQUIRED] The data to be sent to the client specified by its connection id.\n\
         ConnectionId: '' # [REQUIRED] The identifier of the connection that a specific client is using.\n"
    );
    assert_eq!(skeleton::input_yaml(op(apigw, "delete-connection")), "ConnectionId: ''  # [REQUIRED] \n");
    assert_eq!(
        skeleton::input_json(op(ivschat, "send-event")),
        "{\n    \"roomIdentifier\": \"\",\n    \"eventName\": \"\",\n    \"attributes\": {\n        \"KeyName\": \"\"\n    }\n}\n"
    );
    assert_eq!(
        skeleton::input_yaml(op(ivschat, "send-event")),
        "roomIdentifier: ''  # [REQUIRED] Identifier of the room to which the event will be sent.\n\
         eventName: '' # [REQUIRED] Application-defined name of the event to send to clients.\n\
         attributes: # Application-defined metadata to attach to the event sent to clients.\n  KeyName: ''\n"
    );
    let create_room: Value = serde_json::from_str(&skeleton::input_json(op(ivschat, "create-room"))).unwrap();
    assert_eq!(
        create_room,
        json!({"name": "", "maximumMessageRatePerSecond": 0, "maximumMessageLength": 0,
            "messageReviewHandler": {"uri": "", "fallbackResult": "ALLOW"}, "tags": {"KeyName": ""},
            "loggingConfigurationIdentifiers": [""]})
    );
    let logging: Value =
        serde_json::from_str(&skeleton::input_json(op(ivschat, "create-logging-configuration"))).unwrap();
    assert_eq!(
        logging,
        json!({"name": "", "destinationConfiguration": {"s3": {"bucketName": ""}, "cloudWatchLogs": {"logGroupName": ""},
            "firehose": {"deliveryStreamName": ""}}, "tags": {"KeyName": ""}})
    );
    let untag: Value = serde_json::from_str(&skeleton::input_json(op(ivschat, "untag-resource"))).unwrap();
    assert_eq!(untag, json!({"resourceArn": "", "tagKeys": [""]}));
}

#[test]
fn every_yaml_skeleton_reads_back_as_the_json_skeleton() {
    for service in SERVICES {
        for (_, operation) in service.with_extension() {
            let yaml = yaml::parse(&skeleton::input_yaml(operation)).unwrap();
            let json: Value = serde_json::from_str(&skeleton::input_json(operation)).unwrap();
            let keys = |v: &Value| v.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
            let yaml::Node::Map(entries) = yaml else { panic!("{} is not a mapping", operation.cli_name) };
            assert_eq!(
                entries.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
                keys(&json),
                "{}",
                operation.cli_name
            );
        }
    }
}

#[test]
fn output_samples_use_member_names() {
    let ivschat = SERVICES[1];
    let sample = |name: &str| skeleton::output_sample(ivschat.command(name).unwrap());
    assert_eq!(
        sample("create-chat-token"),
        Some(
            json!({"token": "token", "tokenExpirationTime": "1970-01-01T00:00:00", "sessionExpirationTime": "1970-01-01T00:00:00"})
        )
    );
    assert_eq!(sample("list-tags-for-resource"), Some(json!({"tags": {"KeyName": ""}})));
    assert_eq!(sample("send-event"), Some(json!({"id": "id"})));
    assert_eq!(sample("delete-room"), None);
    assert_eq!(sample("disconnect-user"), None);
    assert_eq!(
        skeleton::output_sample(SERVICES[0].command("get-connection").unwrap()),
        Some(
            json!({"ConnectedAt": "1970-01-01T00:00:00", "Identity": {"SourceIp": "SourceIp", "UserAgent": "UserAgent"},
            "LastActiveAt": "1970-01-01T00:00:00"})
        )
    );
}

#[test]
fn options_values_and_inputs() {
    let (_, p) = parse("switchboard ivschat create-chat-token --room-identifier r --user-id u --capabilities SEND_MESSAGE DELETE_MESSAGE --session-duration-in-minutes 30").unwrap();
    assert_eq!(p["capabilities"], json!(["SEND_MESSAGE", "DELETE_MESSAGE"]));
    assert_eq!(p["sessionDurationInMinutes"], json!(30));
    let (_, p) = parse(r#"switchboard ivschat create-chat-token --room-identifier=r --userId u --capabilities '["SEND_MESSAGE"]' --attributes '{"a": "1"}'"#).unwrap();
    assert_eq!(p["capabilities"], json!(["SEND_MESSAGE"]));
    assert_eq!(p["attributes"], json!({"a": "1"}));
    let (_, p) = parse("switchboard ivschat update-room --identifier r --message-review-handler uri=,fallbackResult=DENY --logging-configuration-identifiers").unwrap();
    assert_eq!(p["messageReviewHandler"], json!({"uri": "", "fallbackResult": "DENY"}));
    assert_eq!(p["loggingConfigurationIdentifiers"], json!([]));
    let (_, p) = parse(r#"switchboard ivschat send-event --cli-input-json '{"roomIdentifier": "r", "eventName": "e"}' --event-name override"#).unwrap();
    assert_eq!(Value::Object(p), json!({"roomIdentifier": "r", "eventName": "override"}));
    let (_, p) =
        parse("switchboard ivschat send-event --cli-input-yaml 'roomIdentifier: r\neventName: e\nattributes: {a: b}'")
            .unwrap();
    assert_eq!(p["attributes"], json!({"a": "b"}));
    let (_, p) = parse(r#"switchboard apigatewaymanagementapi post-to-connection --cli-input-json '{"ConnectionId": "x=", "Data": "aGVsbG8="}'"#).unwrap();
    assert_eq!(p["Data"], json!("YUdWc2JHOD0="), "raw by default: the text itself");
    let (_, p) = parse(r#"switchboard apigatewaymanagementapi post-to-connection --cli-binary-format base64 --cli-input-json '{"ConnectionId": "x=", "Data": "aGVsbG8="}'"#).unwrap();
    assert_eq!(p["Data"], json!("aGVsbG8="), "base64: decoded");
    let (_, p) = parse("switchboard apigatewaymanagementapi post-to-connection --cli-input-yaml 'ConnectionId: x=\nData: !!binary aGVsbG8='").unwrap();
    assert_eq!(p["Data"], json!("aGVsbG8="), "!!binary is bytes whatever the format");
    let (_, p) = parse("switchboard --region us-west-2 ivschat get-room --identifier r --debug --output text").unwrap();
    assert_eq!(p["identifier"], json!("r"));
}

#[test]
fn bad_words_are_usage_errors() {
    let cases = [
        ("switchboard ivschat send-event --room-identifier r", "the following arguments are required: --event-name"),
        ("switchboard ivschat send-event --bogus 1 --room-identifier r --event-name e", "Unknown options: --bogus, 1"),
        ("switchboard ivschat send-event --room-identifier r --event-name e extra", "Unknown options: extra"),
        ("switchboard ivschat nope", "argument operation: Invalid choice 'nope'"),
        ("switchboard ivschat", "the following arguments are required: operation"),
        ("switchboard ivschat send-event --room-identifier", "argument --room-identifier: expected one argument"),
        (
            "switchboard ivschat send-event --room-identifier r --event-name e --attributes a",
            "Error parsing parameter '--attributes': Expected: '=', received: 'EOF' for input: a",
        ),
        (
            "switchboard ivschat send-event --room-identifier r --event-name e --attributes '{bad'",
            "Error parsing parameter '--attributes': Invalid JSON",
        ),
        (
            "switchboard ivschat send-event --room-identifier r --event-name e --attributes a=x,y",
            "Invalid type for parameter attributes.a, value: ['x', 'y'], type: <class 'list'>, valid types: <class 'str'>",
        ),
        (
            "switchboard ivschat send-event --room-identifier r --event-name ''",
            "Invalid length for parameter eventName, value: 0, valid min length: 1",
        ),
        (
            "switchboard ivschat list-rooms --max-results 0",
            "Invalid value for parameter maxResults, value: 0, valid min value: 1",
        ),
        ("switchboard ivschat list-rooms --max-results x", "invalid literal for int() with base 10: 'x'"),
        (
            "switchboard ivschat send-event --cli-input-json '{\"foo\": 1}'",
            "Unknown parameter in input: \"foo\", must be one of: roomIdentifier, eventName, attributes",
        ),
        (
            "switchboard ivschat send-event --cli-input-json '{\"roomIdentifier\": \"r\"}'",
            "Missing required parameter in input: \"eventName\"",
        ),
        (
            "switchboard ivschat send-event --cli-input-json '{bad'",
            "Error parsing parameter 'cli-input-json': Invalid JSON received.",
        ),
        (
            "switchboard ivschat send-event --cli-input-json '{}' --cli-input-yaml '{}'",
            "Only one --cli-input- parameter may be specified.",
        ),
        (
            "switchboard ivschat send-event --cli-input-yaml 'a: [1'",
            "Error parsing parameter 'cli-input-yaml': Invalid YAML received",
        ),
        (
            "switchboard ivschat send-event --cli-input-json file:///nonexistent/input.json",
            "Unable to load paramfile file:///nonexistent/input.json",
        ),
        (
            "switchboard ivschat create-logging-configuration --destination-configuration s3={bucketName=b},firehose={deliveryStreamName=d}",
            "Invalid number of parameters set for tagged union structure destinationConfiguration. Can only set one of the following keys: s3, cloudWatchLogs, firehose.",
        ),
        (
            "switchboard ivschat create-logging-configuration --destination-configuration '{}'",
            "Must set one of the following keys for tagged union structure destinationConfiguration",
        ),
        (
            "switchboard ivschat create-logging-configuration --destination-configuration s3={}",
            "Missing required parameter in destinationConfiguration.s3: \"bucketName\"",
        ),
        (
            "switchboard ivschat send-event --room-identifier r --event-name e --generate-cli-skeleton nope",
            "Invalid choice 'nope', valid choices are: input | yaml-input | output",
        ),
        ("switchboard --output table ivschat list-rooms", "argument --output: Invalid choice 'table'"),
        (
            "switchboard ivschat list-rooms --cli-binary-format nope",
            "argument --cli-binary-format: Invalid choice 'nope'",
        ),
    ];
    for (command, expected) in cases {
        let err = error(command);
        assert_eq!(err.kind, ErrorKind::Usage, "{command}: {}", err.message);
        assert!(err.message.contains(expected), "{command}: {} does not contain {expected}", err.message);
        assert!(!err.message.contains('\n'), "{command}: one line");
    }
}

#[test]
fn base64_mode_refuses_text_that_is_not_base64() {
    let err = error(
        r#"switchboard apigatewaymanagementapi post-to-connection --connection-id x= --data "Hello from API Gateway!" --cli-binary-format base64"#,
    );
    assert_eq!(err.kind, ErrorKind::Other);
    assert_eq!(err.message, "Invalid base64: \"Hello from API Gateway!\"");
    let (_, p) = parse("switchboard apigatewaymanagementapi post-to-connection --connection-id x= --data SGVsbG8gZnJvbSBBUEkgR2F0ZXdheSE= --cli-binary-format base64").unwrap();
    assert_eq!(p["Data"], json!("SGVsbG8gZnJvbSBBUEkgR2F0ZXdheSE="));
}

#[test]
fn help_pages_render_for_every_command() {
    for service in SERVICES {
        let page = super::help::service_page(service);
        for (service, operation) in service.with_extension() {
            assert!(page.contains(&format!("o {}", operation.cli_name)));
            let page = super::help::operation_page(service, operation);
            // Every member, but the token and page size of a paginated command, which the paging options replace.
            let paging = operation.paginator.map_or(vec![], |p| [Some(p.input_token), p.limit_key].to_vec());
            for member in operation.input_members().iter().filter(|m| !paging.contains(&Some(m.name))) {
                assert!(page.contains(&member.option()), "{} documents {}", operation.cli_name, member.name);
            }
            assert!(page.lines().all(|l| l.chars().count() <= 120), "{}: no runaway lines", operation.cli_name);
        }
    }
    let send_event = super::help::operation_page(SERVICES[1], SERVICES[1].command("send-event").unwrap());
    assert!(send_event.contains("KeyName1=string,KeyName2=string"));
    assert!(send_event.contains("{\"string\": \"string\""));
    let create_logging =
        super::help::operation_page(SERVICES[1], SERVICES[1].command("create-logging-configuration").unwrap());
    assert!(
        create_logging.contains(
            "s3={bucketName=string},cloudWatchLogs={logGroupName=string},firehose={deliveryStreamName=string}"
        )
    );
}

#[test]
fn binary_format_default_is_raw() {
    assert_eq!(BinaryFormat::default(), BinaryFormat::Raw);
}

#[test]
fn every_command_dispatches_on_a_generated_operation() {
    for service in SERVICES {
        for (service, operation) in service.with_extension() {
            let op = super::model::Op::of(service, operation);
            assert!(op.is_some(), "{} {}", service.name, operation.name);
        }
    }
    // An answer without members prints nothing, as the AWS CLI's: DisconnectUser answers `{}` in the model.
    let disconnect = SERVICES[1].command("disconnect-user").unwrap();
    assert!(disconnect.output.is_some_and(|shape| shape.members().is_empty()));
    assert!(super::model::printed_output(disconnect).is_none());
}

#[test]
fn lambda_invoke_takes_its_outfile_as_the_aws_cli_does() {
    let (call, params) =
        parse(r#"switchboard lambda invoke --function-name f --payload '{"a":1}' out.json --log-type Tail"#).unwrap();
    assert_eq!(call.outfile.as_deref(), Some("out.json"));
    assert_eq!(Value::Object(params), json!({"FunctionName": "f", "Payload": "eyJhIjoxfQ==", "LogType": "Tail"}));
    let missing = error("switchboard lambda invoke --function-name f");
    assert_eq!(
        (missing.kind, missing.message.as_str()),
        (ErrorKind::Usage, "switchboard: error: the following arguments are required: outfile")
    );
    let extra = error("switchboard lambda invoke --function-name f a.json b.json");
    assert_eq!(extra.message, "switchboard: error: Unknown options: b.json");
    let (call, _) = parse("switchboard lambda list-functions --max-items 5").unwrap();
    assert_eq!(call.outfile, None);
    assert!(error("switchboard lambda list-functions out.json").message.contains("Unknown options: out.json"));
    let written = super::write_payload(json!({"StatusCode": 200, "Payload": "eyJhIjoxfQ=="}), "/dev/null").unwrap();
    assert_eq!(written, json!({"StatusCode": 200}));
}

#[test]
fn paginated_commands_take_the_paging_options_and_no_paginate_gives_members_back() {
    // `--max-items` of list-functions is the CLI's total, not the request's MaxItems, unless --no-paginate.
    let (call, params) = parse("switchboard lambda list-functions --max-items 5 --page-size 2").unwrap();
    assert_eq!((call.paging.max_items.as_deref(), call.paging.page_size.as_deref()), (Some("5"), Some("2")));
    assert_eq!(Value::Object(params), json!({}));
    let (_, params) = parse("switchboard lambda list-functions --max-items 5 --no-paginate").unwrap();
    assert_eq!(Value::Object(params), json!({"MaxItems": 5}));
    let refused = error("switchboard apigatewayv2 get-apis --no-paginate --page-size 1 --starting-token t");
    assert_eq!(
        (refused.kind, refused.message.as_str()),
        (
            ErrorKind::Usage,
            "switchboard: error: Cannot specify --no-paginate along with pagination arguments: --starting-token, \
             --page-size"
        )
    );
    // An operation without a paginator has no paging options (ivschat has none in botocore).
    assert!(error("switchboard ivschat list-rooms --max-items 1").message.contains("Unknown options: --max-items"));
    // The help of a paginated command shows the paging options in place of the token and page-size members.
    let page =
        help::operation_page(&aws_models::apigatewayv2::SERVICE, aws_models::apigatewayv2::Operation::GetApis.model());
    assert!(page.contains("[--starting-token <value>]") && page.contains("[--max-items <value>]"), "{page}");
    assert!(!page.contains("--next-token") && !page.contains("--max-results"), "{page}");
}
