//! `template`: the text of a SAM or CloudFormation template read (`template::Template::from_text`: YAML with its
//! short forms, or JSON; the sections and resources checked) and, when it reads, applied as stack `fuzz`
//! (`template::apply`: parameters, pseudo parameters, intrinsics, conditions, dependency order, function
//! definitions, and the `AWS::ApiGatewayV2::*` resources through a real control plane over SQLite). The stack is the
//! same for every input, so each apply also converges from what the previous input left (as `--watch` re-applies).

use std::cell::OnceCell;
use std::path::Path;
use std::rc::Rc;

use crate::fixture::{block_on, once};
use crate::targets::control::ApiGatewayV2;

thread_local! {
    static CONTROL: OnceCell<Rc<(ApiGatewayV2, tempfile::TempDir)>> = const { OnceCell::new() };
}

pub fn template(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(template) = template::Template::from_text(text, Path::new("fuzz/template.yaml")) else { return };
    let fixture = once(&CONTROL, || (ApiGatewayV2::new(), tempfile::tempdir().expect("a temporary directory")));
    let (control, data_dir) = (&fixture.0.control, &fixture.1);
    let options = template::Options {
        stack_name: "fuzz".to_owned(),
        region: "us-east-1".to_owned(),
        account_id: "123456789012".to_owned(),
        parameter_overrides: Default::default(),
        data_dir: data_dir.path().to_path_buf(),
    };
    match block_on(template::apply(&template, &options, control)) {
        // What was applied names its stack, and its outputs are strings a person is shown.
        Ok(applied) => assert_eq!(applied.stack_name, "fuzz"),
        Err(err) => assert!(!err.to_string().is_empty()),
    }
}
