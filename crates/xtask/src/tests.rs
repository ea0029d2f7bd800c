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

/// `dist`'s split on a small program built as the release profile builds (line tables): the shipped copy has no
/// debug information or symbols, and its panics still name the function, file and line through the `.debug` file.
#[test]
fn a_split_binary_is_stripped_and_its_backtraces_still_name_the_code() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("boom.rs");
    std::fs::write(
        &source,
        "#[inline(never)]\nfn explode(n: usize) -> usize {\n    if n > 0 { panic!(\"boom\") }\n    n\n}\n\
         fn main() {\n    println!(\"{}\", explode(std::env::args().count()));\n}\n",
    )
    .unwrap();
    let built = dir.path().join("boom");
    let rustc = std::process::Command::new("rustc")
        .args(["-O", "-C", "debuginfo=line-tables-only", "-o"])
        .arg(&built)
        .arg(&source)
        .output()
        .unwrap();
    assert!(rustc.status.success(), "{}", String::from_utf8_lossy(&rustc.stderr));
    let (binary, debug) = crate::dist::split(&built, &dir.path().join("dist")).unwrap();
    let size = |p: &std::path::Path| std::fs::metadata(p).unwrap().len();
    assert!(size(&binary) < size(&built), "stripped: {} < {}", size(&binary), size(&built));
    let sections = std::process::Command::new("objdump").arg("-h").arg(&binary).output().unwrap();
    let sections = String::from_utf8_lossy(&sections.stdout);
    assert!(sections.contains(".gnu_debuglink") && !sections.contains(".debug_line"), "{sections}");
    let run = || {
        let output = std::process::Command::new(&binary).env("RUST_BACKTRACE", "1").output().unwrap();
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    // The frame of `explode`, named and placed (the panic message's own location is compiled in, not debug info).
    let frame = |backtrace: &str| {
        let lines: Vec<&str> = backtrace.lines().collect();
        lines.windows(2).any(|w| {
            w[0].ends_with("boom::explode") && w[1].trim_start().starts_with("at ") && w[1].contains("boom.rs:3")
        })
    };
    let backtrace = run();
    assert!(frame(&backtrace), "{backtrace}");
    std::fs::remove_file(&debug).unwrap();
    let without = run();
    assert!(
        !frame(&without) && !without.contains("boom::explode"),
        "names and lines come from the .debug file: {without}"
    );
}
