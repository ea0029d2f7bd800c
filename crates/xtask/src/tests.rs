//! The generated models are fresh (the generator run in memory writes exactly the files on disk), and the pieces
//! of the generator behave as botocore's.

use super::{codegen, html};

#[test]
fn generated_models_are_fresh() {
    let root = codegen::workspace_root();
    for (path, code) in codegen::generate_all(&root).unwrap() {
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == code,
            "{} is stale: run `cargo xtask codegen` and commit the result",
            path.strip_prefix(&root).unwrap_or(&path).display()
        );
    }
    let lib = std::fs::read_to_string(root.join("crates/aws-models/src/lib.rs")).unwrap();
    assert!(
        lib.contains(&format!("pub const BOTOCORE_VERSION: &str = \"{}\";", codegen::BOTOCORE_VERSION)),
        "aws-models names the botocore release of the vendored models"
    );
}

/// The folders in `dir`, sorted by name.
fn folders(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn every_vendored_service_is_generated() {
    let root = codegen::workspace_root();
    let models = root.join(format!("models/botocore-{}", codegen::BOTOCORE_VERSION));
    let vendored = folders(&models);
    let generated: Vec<&str> = codegen::SERVICES.iter().map(|(service, _)| *service).collect();
    assert_eq!(vendored, generated);
}

#[test]
fn every_extension_model_is_generated_and_extends_a_generated_service() {
    let root = codegen::workspace_root();
    let written = folders(&root.join("models/switchboard"));
    let generated: Vec<String> = codegen::EXTENSIONS.iter().map(|(service, _)| format!("{service}-ext")).collect();
    assert_eq!(written, generated);
    for (service, _) in codegen::EXTENSIONS {
        assert!(codegen::SERVICES.iter().any(|(s, _)| s == service), "{service} extends no generated AWS service");
    }
}

#[test]
fn html_becomes_paragraphs_and_items() {
    assert_eq!(
        html::to_text("<p>Room name. The value does not need to be unique.</p>"),
        "Room name. The value does not need to be unique."
    );
    assert_eq!(
        html::to_text("<p> <b>Notes:</b> </p> <ul> <li> <p>One <i>a</i>.</p> </li> <li> <p>Two.</p> </li> </ul>"),
        "Notes:\n\n* One a.\n\n* Two."
    );
    assert_eq!(
        html::to_text("<p>(see <a href=\"https://x\"> Service Quotas</a>.) Default: <code>ALLOW</code>. </p>"),
        "(see Service Quotas.) Default: ALLOW."
    );
    assert_eq!(html::to_text("<p>a &lt;b&gt; &amp; c</p><p/>"), "a <b> & c");
    assert_eq!(html::to_text(""), "");
}
