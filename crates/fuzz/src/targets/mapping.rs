//! `mapping`: a message on the first line, a mapping template on the rest, read and rendered by
//! [`mapping::Template`] as a non-proxy integration renders its request templates: with the message as `$input`, a
//! connection's `$context` and stage variables.

use mapping::{Inputs, MAX_OUTPUT_BYTES, Template, TemplateError};
use serde_json::json;

pub fn mapping(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (body, source) = text.split_once('\n').unwrap_or(("", text));
    let Ok(template) = Template::parse(source) else { return };
    let context = json!({"connectionId": "L0SM9cOFvHcCIhw=", "routeKey": "send", "eventType": "MESSAGE",
                         "identity": {"sourceIp": "127.0.0.1"}, "authorizer": {"principalId": "me"}});
    let stage_variables = json!({"env": "test", "url": "http://127.0.0.1:1/"});
    let params = json!({"header": {"Host": "localhost"}, "querystring": {"q": "1"}, "path": {}});
    let inputs = Inputs { body, context: &context, stage_variables: &stage_variables, params: &params };
    let first = template.render(&inputs);
    // Rendering is a pure function of the template and its inputs, within the output limit.
    assert_eq!(first, template.render(&inputs));
    if let Ok(out) = &first {
        assert!(out.len() <= MAX_OUTPUT_BYTES, "{} bytes written", out.len());
    }
    // Text with no reference, directive or escape in it is written as it is.
    if !source.contains(['$', '#', '\\']) {
        assert_eq!(first, Ok::<_, TemplateError>(source.to_owned()));
    }
}
