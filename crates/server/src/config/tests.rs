//! Tests of configuration merging: flags over environment over file over defaults.

use super::*;

fn args() -> ServeArgs {
    ServeArgs::default()
}

#[test]
fn defaults() {
    let config = Config::merge(args(), FileConfig::default()).unwrap();
    assert_eq!(config.listen.to_string(), DEFAULT_LISTEN);
    assert_eq!(config.admin_listen.to_string(), "127.0.0.1:4511", "loopback, next to the public port");
    assert_eq!(config.region, "us-east-1");
    assert_eq!(config.apis.len(), 1);
    assert_eq!(config.apis[0].api_id, "switchboard");
    assert_eq!(config.apis[0].stages[0].stage_name, "prod");
    assert_eq!(config.limits.max_message_bytes, 131072);
    assert_eq!(config.limits.max_frame_bytes, 32768);
    assert_eq!(config.limits.idle_timeout, Duration::from_secs(600));
    assert_eq!(config.limits.max_connection, Duration::from_secs(7200));
    assert!(!config.insecure_no_auth);
    assert_eq!(config.limits.new_connections_per_second_per_address, 100);
    assert_eq!(config.limits.max_unauthenticated_requests, 1024);
    assert_eq!(config.limits.max_unauthenticated_requests_per_address, 256);
}

#[test]
fn flags_override_file_and_routes_become_integrations() {
    let file: FileConfig = toml::from_str(
        r#"
        listen = "127.0.0.1:9999"
        region = "eu-west-1"
        stage = "dev"
        routes = { "$default" = "http://127.0.0.1:3000/a" }
        [limits]
        idle_timeout_secs = 5
        "#,
    )
    .unwrap();
    let mut a = args();
    a.region = Some("us-west-2".to_owned());
    a.routes = vec!["$connect=http://127.0.0.1:3000/a".to_owned(), "send=http://127.0.0.1:3000/b".to_owned()];
    a.route_responses = vec!["send".to_owned()];
    let config = Config::merge(a, file).unwrap();
    assert_eq!(config.listen.port(), 9999);
    assert_eq!(config.admin_listen.to_string(), "127.0.0.1:10000");
    assert_eq!(config.region, "us-west-2");
    assert_eq!(config.limits.idle_timeout, Duration::from_secs(5));
    let api = &config.apis[0];
    assert_eq!(api.stages[0].stage_name, "dev");
    assert_eq!(api.routes.len(), 3);
    assert_eq!(api.integrations.len(), 2, "one integration per distinct URL");
    let send = api.routes.iter().find(|r| r.route_key == "send").unwrap();
    assert_eq!(send.route_response_selection_expression.as_deref(), Some("$default"));
    apigw::ApiSet::new(config.apis).unwrap();
}

#[test]
fn file_apis_replace_the_default_unless_flags_shape_it() {
    let text = r#"
        [[apis]]
        api_id = "chat"
        stages = [{ stage_name = "live" }]
    "#;
    let config = Config::merge(args(), toml::from_str(text).unwrap()).unwrap();
    assert_eq!(config.apis.iter().map(|a| a.api_id.as_str()).collect::<Vec<_>>(), ["chat"]);
    let mut a = args();
    a.stage = Some("prod".to_owned());
    let config = Config::merge(a, toml::from_str(text).unwrap()).unwrap();
    assert_eq!(config.apis.iter().map(|a| a.api_id.as_str()).collect::<Vec<_>>(), ["switchboard", "chat"]);
}

#[test]
fn bad_input_is_refused_with_a_clear_message() {
    let mut a = args();
    a.routes = vec!["no-equals-sign".to_owned()];
    assert!(Config::merge(a, FileConfig::default()).unwrap_err().to_string().contains("KEY=URL"));
    let mut a = args();
    a.access_key_id = Some("A".to_owned());
    assert!(Config::merge(a, FileConfig::default()).unwrap_err().to_string().contains("together"));
    let mut a = args();
    a.account_id = Some("12".to_owned());
    assert!(Config::merge(a, FileConfig::default()).unwrap_err().to_string().contains("12 digits"));
    let mut a = args();
    a.route_responses = vec!["x".to_owned()];
    assert!(Config::merge(a, FileConfig::default()).is_err());
    assert!(toml::from_str::<FileConfig>("nonsense = 1").is_err());
    // A shared store without a shared bus: nodes could not reach each other's connections.
    let mut a = args();
    a.cluster.store_url = Some("postgres://db/x".to_owned());
    let err = Config::merge(a, FileConfig::default()).unwrap_err().to_string();
    assert!(err.contains("needs a shared bus (--bus-url"), "{err}");
    let mut a = args();
    (a.cluster.store_url, a.cluster.bus_url) = (Some("postgres://db/x".to_owned()), Some("redis://r/".to_owned()));
    assert!(Config::merge(a, FileConfig::default()).is_ok());
}

#[test]
fn durations_longer_than_a_year_are_refused_not_overflowed() {
    let mut a = args();
    a.limits.max_connection_secs = Some(u64::MAX);
    let err = Config::merge(a, FileConfig::default()).unwrap_err().to_string();
    assert_eq!(err, format!("max_connection_secs must be at most 31622400 seconds (a year), got {} seconds", u64::MAX));
    let file: FileConfig = toml::from_str("[chat]\nreview_timeout_ms = 18446744073709551615").unwrap();
    let err = Config::merge(args(), file).unwrap_err().to_string();
    assert!(err.starts_with("review_timeout_ms must be at most 31622400 seconds"), "{err}");
    let mut a = args();
    a.cluster.node_ttl_ms = Some(u64::MAX);
    assert!(
        Config::merge(a, FileConfig::default()).unwrap_err().to_string().starts_with("node_ttl_ms must be at most")
    );
    let mut a = args();
    a.limits.idle_timeout_secs = Some(MAX_DURATION.as_secs());
    assert_eq!(Config::merge(a, FileConfig::default()).unwrap().limits.idle_timeout, MAX_DURATION, "a year is allowed");
}

#[test]
fn the_store_and_forward_settings_are_file_keys() {
    let file = toml::from_str("store_pool_size = 4\nstore_deadline_ms = 1500\nforward_timeout_ms = 700").unwrap();
    let cluster = Config::merge(args(), file).unwrap().cluster;
    assert_eq!(cluster.store, store::PostgresSettings { pool_size: 4, deadline: Duration::from_millis(1500) });
    assert_eq!(cluster.forward_timeout, Duration::from_millis(700));
}

#[test]
fn front_door_limits_have_defaults_and_are_checked() {
    let limits = Config::merge(args(), FileConfig::default()).unwrap().limits;
    assert_eq!(limits.header_timeout, Duration::from_secs(10));
    assert_eq!(limits.max_header_bytes, 16384);
    assert_eq!((limits.max_pending_connections, limits.max_pending_connections_per_address), (4096, 512));
    assert_eq!((limits.max_connections, limits.max_connections_per_address), (100_000, 10_000));
    assert_eq!(limits.http2_max_streams, 100);

    let file: FileConfig =
        toml::from_str("[limits]\nheader_timeout_ms = 250\nmax_connections_per_address = 3").unwrap();
    let limits = Config::merge(args(), file).unwrap().limits;
    assert_eq!((limits.header_timeout, limits.max_connections_per_address), (Duration::from_millis(250), 3));

    let mut a = args();
    a.limits.max_header_bytes = Some(MIN_HEADER_BYTES - 1);
    assert!(Config::merge(a, FileConfig::default()).is_err(), "hyper's buffer is never smaller");
    let mut a = args();
    a.limits.header_timeout_ms = Some(0);
    assert!(Config::merge(a, FileConfig::default()).is_err());
    let mut a = args();
    a.limits.max_pending_connections_per_address = Some(0);
    assert!(Config::merge(a, FileConfig::default()).is_err());
}

#[test]
fn the_console_stall_bound_defaults_to_a_minute_and_is_positive() {
    assert_eq!(Config::merge(args(), FileConfig::default()).unwrap().limits.console_stall, Duration::from_secs(60));
    let file: FileConfig = toml::from_str("[limits]\nconsole_stall_secs = 5").unwrap();
    assert_eq!(Config::merge(args(), file).unwrap().limits.console_stall, Duration::from_secs(5));
    let mut a = args();
    a.limits.console_stall_secs = Some(0);
    let refused = Config::merge(a, FileConfig::default()).unwrap_err().to_string();
    assert!(refused.contains("console_stall_secs must be positive"), "{refused}");
}

#[test]
fn a_template_replaces_the_default_api_and_takes_overrides_from_file_and_flags() {
    let file: FileConfig = toml::from_str(
        r#"
        watch = true
        [template]
        file = "/projects/chat-app/template.yaml"
        parameter_overrides = { TableName = "from_file", Stage = "dev" }
        "#,
    )
    .unwrap();
    let mut a = args();
    a.template.parameter_overrides = vec!["TableName=from_flags".to_owned()];
    let config = Config::merge(a, file).unwrap();
    let template = config.template.unwrap();
    assert_eq!(template.stack_name, "chat-app", "the directory names the stack");
    assert_eq!(template.parameter_overrides["TableName"], "from_flags");
    assert_eq!(template.parameter_overrides["Stage"], "dev");
    assert!(config.watch);
    assert!(config.apis.is_empty(), "no default API beside the template's");

    let mut a = args();
    a.template.template = Some("t.yaml".into());
    a.template.stack_name = Some("9lives".to_owned());
    assert!(Config::merge(a, FileConfig::default()).unwrap_err().to_string().contains("must start with a letter"));
    let mut a = args();
    a.template.parameter_overrides = vec!["A=1".to_owned()];
    assert!(Config::merge(a, FileConfig::default()).unwrap_err().to_string().contains("need --template"));
    let mut a = args();
    a.template.template = Some("t.yaml".into());
    a.template.parameter_overrides = vec!["novalue".to_owned()];
    assert!(Config::merge(a, FileConfig::default()).unwrap_err().to_string().contains("must look like Key=Value"));
}

#[test]
fn the_file_defines_hosted_functions_and_their_settings() {
    let file: FileConfig = toml::from_str(
        r#"
        function_concurrency = 3
        function_queue_timeout_ms = 0
        function_node = "/opt/node22/bin/node"
        watch = true
        [function_environment]
        AWS_ENDPOINT_URL_DYNAMODB = "http://127.0.0.1:8000"
        [[functions]]
        name = "chat"
        runtime = "provided.al2023"
        handler = "bootstrap"
        code = "/srv/chat"
        reserved_concurrency = 0
        [lambda]
        endpoint = "http://127.0.0.1:4511"
        [[remote_functions]]
        name = "auth"
        region = "eu-west-1"
        "#,
    )
    .unwrap();
    let config = Config::merge(args(), file).unwrap();
    let remote = &config.functions.remote;
    assert_eq!((remote.endpoint.as_deref(), remote.region.as_str()), (Some("http://127.0.0.1:4511"), "us-east-1"));
    assert_eq!((remote.functions[0].name.as_str(), remote.functions[0].region.as_deref()), ("auth", Some("eu-west-1")));
    let functions = &config.functions;
    assert_eq!((functions.concurrency, functions.queue_timeout, functions.watch), (3, Duration::ZERO, true));
    assert_eq!(functions.specs[0].name, "chat");
    assert_eq!(functions.specs[0].reserved_concurrency, Some(0));
    assert_eq!((functions.python.to_str(), functions.node.to_str()), (Some("python3"), Some("/opt/node22/bin/node")));
    assert_eq!(functions.environment["AWS_ENDPOINT_URL_DYNAMODB"], "http://127.0.0.1:8000");
    let mut defaults = FunctionsConfig::default();
    defaults.remote.region = "us-east-1".to_owned();
    assert_eq!(Config::merge(args(), FileConfig::default()).unwrap().functions, defaults);
    let unknown = toml::from_str::<FileConfig>("[[functions]]\nname = \"f\"\ncolour = 1\n").unwrap_err();
    assert!(unknown.to_string().contains("colour"), "{unknown}");
}

#[test]
fn strict_aws_limits_pin_what_aws_fixes_and_turn_on_its_throttles() {
    let defaults = Config::merge(args(), FileConfig::default()).unwrap();
    assert_eq!(defaults.limits.aws, AwsLimits::Default);
    assert_eq!(defaults.limits.management_requests_per_second, 0, "no @connections throttle by default");
    assert!(!defaults.ivschat.strict_rate_limits);

    let file: FileConfig = toml::from_str(r#"aws_limits = "strict""#).unwrap();
    let strict = Config::merge(args(), file).unwrap();
    assert_eq!(strict.limits.aws, AwsLimits::Strict);
    assert_eq!(strict.limits.management_requests_per_second, 10_000);
    assert_eq!(strict.limits.management_burst(), 5_000);
    assert_eq!(strict.limits.new_connections_per_second, 500);
    assert_eq!((strict.limits.max_message_bytes, strict.limits.max_frame_bytes), (131_072, 32_768));
    assert_eq!(strict.limits.idle_timeout, Duration::from_secs(600));
    assert_eq!(strict.limits.max_connection, Duration::from_secs(7200));
    assert!(strict.ivschat.strict_rate_limits);

    // What AWS lets an account raise may be set; what it fixes may not differ, from a flag or from the file.
    let mut raised = args();
    raised.aws_limits = Some(AwsLimits::Strict);
    raised.limits.new_connections_per_second = Some(2_000);
    raised.limits.management_requests_per_second = Some(40);
    let raised = Config::merge(raised, FileConfig::default()).unwrap();
    assert_eq!(raised.limits.new_connections_per_second, 2_000);
    assert_eq!((raised.limits.management_requests_per_second, raised.limits.management_burst()), (40, 20));

    let mut fixed = args();
    fixed.aws_limits = Some(AwsLimits::Strict);
    fixed.limits.idle_timeout_secs = Some(5);
    let err = Config::merge(fixed, FileConfig::default()).unwrap_err().to_string();
    assert!(err.contains("idle_timeout_secs is 600 on AWS") && err.contains("with 5"), "{err}");
    let file: FileConfig = toml::from_str("aws_limits = \"strict\"\n[limits]\nmax_frame_bytes = 65536").unwrap();
    let err = Config::merge(args(), file).unwrap_err().to_string();
    assert!(err.contains("max_frame_bytes is 32768 on AWS"), "{err}");
    // The AWS value itself may be spelled out.
    let file: FileConfig = toml::from_str("aws_limits = \"strict\"\n[limits]\nmax_message_bytes = 131072").unwrap();
    assert!(Config::merge(args(), file).is_ok());
}

#[test]
fn the_files_apis_may_validate_messages_with_models() {
    let file: FileConfig = toml::from_str(
        r#"
        [[apis]]
        api_id = "checked"
        stages = [{ stage_name = "prod" }]
        models = [{ name = "Send", schema = '{"type": "object", "required": ["text"]}' }]
        routes = [{ route_key = "send", model_selection_expression = "$request.body.action", request_models = { send = "Send" } }]
        "#,
    )
    .unwrap();
    let config = Config::merge(args(), file).unwrap();
    let apis = apigw::ApiSet::new(config.apis).unwrap();
    let route = apigw::ApiSet::by_id(&apis, "checked").unwrap().route("send").unwrap();
    let validator = route.validator.as_ref().unwrap();
    assert!(validator.accepts(r#"{"action":"send","text":"hi"}"#));
    assert!(!validator.accepts(r#"{"action":"send"}"#));
}

#[test]
fn the_admin_listener_is_set_by_flag_or_file_and_defaults_to_loopback() {
    let file: FileConfig = toml::from_str(r#"admin_listen = "127.0.0.1:9100""#).unwrap();
    assert_eq!(Config::merge(args(), file).unwrap().admin_listen.to_string(), "127.0.0.1:9100");
    let mut a = args();
    a.listen = Some("0.0.0.0:0".parse().unwrap());
    let config = Config::merge(a, FileConfig::default()).unwrap();
    assert_eq!(config.admin_listen.to_string(), "127.0.0.1:0", "never the public interface unless asked");
    let mut a = args();
    a.admin_listen = Some("[::1]:9200".parse().unwrap());
    assert_eq!(Config::merge(a, FileConfig::default()).unwrap().admin_listen.to_string(), "[::1]:9200");
}

#[test]
fn api_keys_come_from_the_file_then_the_flags_and_are_as_long_as_api_gateways() {
    let text = "[[api_keys]]\nvalue = \"file-key-0123456789abcdef\"\nname = \"ci\"\napis = [\"chat\"]\n";
    let mut a = args();
    a.api_keys = vec!["flag-key-0123456789abcdef".to_owned()];
    let config = Config::merge(a, toml::from_str(text).unwrap()).unwrap();
    let keys: Vec<(&str, &[String])> = config.api_keys.iter().map(|k| (k.value.as_str(), k.apis.as_slice())).collect();
    assert_eq!(keys, [("file-key-0123456789abcdef", &["chat".to_owned()][..]), ("flag-key-0123456789abcdef", &[])]);
    let mut a = args();
    a.api_keys = vec!["short".to_owned()];
    let err = Config::merge(a, FileConfig::default()).unwrap_err().to_string();
    assert!(err.contains("20 to 128 characters"), "{err}");
    let unknown = toml::from_str::<FileConfig>("[[api_keys]]\nvalue = \"file-key-0123456789abcdef\"\nplan = \"x\"\n");
    assert!(unknown.is_err(), "unknown members are refused");
}

#[test]
fn the_console_is_on_unless_a_flag_or_the_file_turns_it_off() {
    use super::Switch;
    assert_eq!(Config::merge(args(), FileConfig::default()).unwrap().console, Switch::On);
    let file: FileConfig = toml::from_str(r#"console = "off""#).unwrap();
    assert_eq!(Config::merge(args(), file).unwrap().console, Switch::Off);
    let mut a = args();
    a.console = Some(Switch::Off);
    let file: FileConfig = toml::from_str(r#"console = "on""#).unwrap();
    assert_eq!(Config::merge(a, file).unwrap().console, Switch::Off, "the flag wins over the file");
}
