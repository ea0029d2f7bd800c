//! The runtime clients Switchboard ships for the Python and Node runtimes (`runtimes/` beside `src/`, embedded in
//! the binary), written to `{data_dir}/runtimes/` when an environment needs them: atomically (a temporary file renamed
//! over the old one), and only when the file there differs, so concurrent servers on one data directory and a
//! hand-edited or deleted copy all end with the client of the running binary.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A runtime client: its file name and its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Client {
    pub file: &'static str,
    pub text: &'static str,
}

/// The Python client (`python3.x`): standard library only; hands over to `awslambdaric` when the function's Python
/// can import it.
pub const PYTHON: Client =
    Client { file: "switchboard_runtime.py", text: include_str!("../runtimes/switchboard_runtime.py") };

/// The Node client (`nodejsNN.x`): an ES module using nothing but Node.
pub const NODE: Client =
    Client { file: "switchboard-runtime.mjs", text: include_str!("../runtimes/switchboard-runtime.mjs") };

/// Writes `client` into `dir` unless it is there already, unchanged; its path.
pub fn install(dir: &Path, client: Client) -> io::Result<PathBuf> {
    let path = dir.join(client.file);
    if std::fs::read(&path).is_ok_and(|text| text == client.text.as_bytes()) {
        return Ok(path);
    }
    std::fs::create_dir_all(dir)?;
    let temporary = dir.join(format!(".{}.{}.tmp", client.file, ids::uuid_v4()));
    let written = std::fs::File::create(&temporary).and_then(|mut file| {
        file.write_all(client.text.as_bytes())?;
        file.sync_all()
    });
    let renamed = written.and_then(|()| std::fs::rename(&temporary, &path));
    if renamed.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    renamed.map(|()| path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_written_once_and_rewritten_when_changed_or_gone() {
        let dir = tempfile::tempdir().unwrap();
        let runtimes = dir.path().join("runtimes");
        let path = install(&runtimes, PYTHON).unwrap();
        assert_eq!(path, runtimes.join("switchboard_runtime.py"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), PYTHON.text);
        let written = std::fs::metadata(&path).unwrap().modified().unwrap();
        install(&runtimes, PYTHON).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), written, "an unchanged file is left alone");
        std::fs::write(&path, "edited").unwrap();
        install(&runtimes, PYTHON).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), PYTHON.text);
        std::fs::remove_file(&path).unwrap();
        install(&runtimes, NODE).unwrap();
        install(&runtimes, PYTHON).unwrap();
        let mut names: Vec<String> =
            std::fs::read_dir(&runtimes).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        assert_eq!(names, ["switchboard-runtime.mjs", "switchboard_runtime.py"], "no temporary file is left");
    }

    #[test]
    fn an_unwritable_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, "x").unwrap();
        assert!(install(&file.join("runtimes"), NODE).is_err());
    }
}
