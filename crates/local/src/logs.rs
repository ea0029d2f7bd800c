//! Log files under the data directory: a name a client chose as one path segment that cannot leave its folder, and
//! batches of lines appended to their files. Chat logs and API access logs both write through here.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

/// One path segment from a name: `%`, `/` and `\` percent-encoded, a leading `.` as `%2E`, nothing as `%00`.
pub fn segment(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, c) in name.chars().enumerate() {
        match c {
            '%' => out.push_str("%25"),
            '/' => out.push_str("%2F"),
            '\\' => out.push_str("%5C"),
            '.' if i == 0 => out.push_str("%2E"),
            c => out.push(c),
        }
    }
    if out.is_empty() {
        out.push_str("%00");
    }
    out
}

/// Appends each file's text, creating the file and its folders when missing; every file is tried, and the last
/// error is answered.
pub fn append(files: BTreeMap<PathBuf, String>) -> std::io::Result<()> {
    let mut result = Ok(());
    for (path, text) in files {
        let written = (|| {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&path)?;
            file.write_all(text.as_bytes())
        })();
        if written.is_err() {
            result = written;
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_inside_the_root() {
        assert_eq!(segment("chat-logs"), "chat-logs");
        assert_eq!(segment("/aws/ivschat/lobby"), "%2Faws%2Fivschat%2Flobby");
        assert_eq!(segment(".."), "%2E.");
        assert_eq!(segment("."), "%2E");
        assert_eq!(segment("a%b"), "a%25b");
        assert_eq!(segment("a\\b"), "a%5Cb");
        assert_eq!(segment(""), "%00");
    }

    #[test]
    fn lines_are_appended_to_new_and_existing_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b.log");
        append([(path.clone(), "one\n".to_owned())].into()).unwrap();
        append([(path.clone(), "two\n".to_owned())].into()).unwrap();
        assert_eq!(std::fs::read_to_string(path).unwrap(), "one\ntwo\n");
    }
}
