//! A Switchboard installation on this machine as the server and the command line both see it: the address a local
//! server listens on by default, its data directory, and the files it keeps there (credentials and 32-byte keys,
//! written readable by their owner only and atomically), and its log files (`logs`).
//!
//! This is the one writer of key material on disk; everything above it receives keys as values.

use std::io::{Error, ErrorKind, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub mod logs;

/// The address `switchboard serve` listens on, and the endpoint the command line calls, when none is configured.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:4510";

/// File of the generated access key pairs inside the data directory.
pub const CREDENTIALS_FILE: &str = "credentials.toml";

/// File of the key that signs IVS Chat pagination tokens.
pub const PAGINATION_KEY_FILE: &str = "pagination.key";

/// File of the key that signs chat tokens.
pub const CHAT_TOKEN_KEY_FILE: &str = "chat-token.key";

/// The data directory when none is configured: `$XDG_DATA_HOME/switchboard`, `~/.local/share/switchboard`, else
/// `.switchboard` in the working directory.
pub fn default_data_dir() -> PathBuf {
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join("switchboard");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(home).join(".local/share/switchboard");
    }
    PathBuf::from(".switchboard")
}

/// An access key pair accepted in SigV4 signatures.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KeyPair {
    pub access_key_id: String,
    pub secret_access_key: String,
}

#[derive(Debug, Deserialize, Serialize)]
struct CredentialsFile {
    credentials: Vec<KeyPair>,
}

/// Reads the stored pairs of a credentials file, if there are any.
pub fn read_credentials(path: &Path) -> Result<Option<Vec<KeyPair>>, Error> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let file: CredentialsFile = toml::from_str(&text).map_err(|err| {
                Error::new(ErrorKind::InvalidData, format!("invalid credentials file {}: {err}", path.display()))
            })?;
            Ok(Some(file.credentials).filter(|c| !c.is_empty()))
        }
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(None),
        Err(err) => Err(context(err, "cannot read", path)),
    }
}

/// Stores pairs in a credentials file (mode 0600).
pub fn write_credentials(path: &Path, pairs: &[KeyPair]) -> Result<(), Error> {
    let text = toml::to_string(&CredentialsFile { credentials: pairs.to_vec() })
        .map_err(|err| Error::new(ErrorKind::InvalidData, err))?;
    write_private(path, text)
}

/// The 32-byte key kept in `path`, created (mode 0600) on first use. Two processes starting on one directory agree:
/// the first key written wins and both use it.
pub fn load_or_create_key(path: &Path) -> Result<[u8; 32], Error> {
    if let Some(key) = read_key(path)? {
        return Ok(key);
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|err| context(err, "cannot create", parent))?;
    }
    let key: [u8; 32] = rand::random();
    let tmp = write_tmp(path, &key)?;
    match std::fs::hard_link(&tmp, path) {
        Ok(()) => {
            let _ = std::fs::remove_file(&tmp);
            sync_parent(path)?;
            Ok(key)
        }
        Err(err) if err.kind() == ErrorKind::AlreadyExists => {
            let _ = std::fs::remove_file(&tmp);
            read_key(path)?.ok_or_else(|| Error::new(ErrorKind::NotFound, format!("{} vanished", path.display())))
        }
        // File systems without hard links: last writer wins, as with `write_private`.
        Err(_) => {
            std::fs::rename(&tmp, path).map_err(|err| context(err, "cannot write", path))?;
            sync_parent(path)?;
            Ok(key)
        }
    }
}

/// Writes `contents` to `path` readable by its owner only, atomically (a temporary file renamed over it).
pub fn write_private(path: &Path, contents: impl AsRef<[u8]>) -> Result<(), Error> {
    let tmp = write_tmp(path, contents.as_ref())?;
    std::fs::rename(&tmp, path).map_err(|err| context(err, "cannot write", path))?;
    sync_parent(path)
}

/// Syncs the directory holding `path`, so that its new name survives a power cut as its synced contents do.
fn sync_parent(path: &Path) -> Result<(), Error> {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    #[cfg(unix)]
    std::fs::File::open(parent).and_then(|dir| dir.sync_all()).map_err(|err| context(err, "cannot sync", parent))?;
    Ok(())
}

fn read_key(path: &Path) -> Result<Option<[u8; 32]>, Error> {
    match std::fs::read(path) {
        Ok(bytes) => bytes
            .try_into()
            .map(Some)
            .map_err(|_| Error::new(ErrorKind::InvalidData, format!("{} is not a 32-byte key", path.display()))),
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(None),
        Err(err) => Err(context(err, "cannot read", path)),
    }
}

/// Writes and syncs `path.tmp` with mode 0600; returns its path.
fn write_tmp(path: &Path, contents: &[u8]) -> Result<PathBuf, Error> {
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(|err| context(err, "cannot write", &tmp))?;
    file.write_all(contents)?;
    file.sync_all()?;
    Ok(tmp)
}

fn context(err: Error, what: &str, path: &Path) -> Error {
    Error::new(err.kind(), format!("{what} {}: {err}", path.display()))
}

#[cfg(test)]
mod tests;
