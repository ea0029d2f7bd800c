//! `cli_shorthand` and `cli_yaml`: the command line's readers of option values in the AWS CLI's shorthand syntax and
//! of `--cli-input-yaml` documents (`cli::parse_shorthand`, `cli::parse_yaml_input`).

pub fn cli_shorthand(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match cli::parse_shorthand(text) {
        // The top level is always `key=value,…`.
        Ok(value) => assert!(value.is_object(), "{value}"),
        Err(message) => assert!(!message.is_empty()),
    }
}

pub fn cli_yaml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(value) = cli::parse_yaml_input(text) {
        // Whatever was read is JSON the request can carry.
        serde_json::to_string(&value).expect("parameters serialise");
    }
}
