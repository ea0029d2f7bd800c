//! Tests of the data directory's files: private modes, first writer wins, refusal of damaged keys.

use super::*;

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn key_is_created_once_private_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join(CHAT_TOKEN_KEY_FILE);
    let first = load_or_create_key(&path).unwrap();
    assert_eq!(load_or_create_key(&path).unwrap(), first);
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);
    assert!(!path.with_extension("tmp").exists());
}

#[test]
fn damaged_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(PAGINATION_KEY_FILE);
    std::fs::write(&path, b"short").unwrap();
    let err = load_or_create_key(&path).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData);
    assert!(err.to_string().contains("not a 32-byte key"), "{err}");
}

#[test]
fn credentials_round_trip_privately() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(CREDENTIALS_FILE);
    assert_eq!(read_credentials(&path).unwrap(), None);
    let pair = KeyPair { access_key_id: "AKID".to_owned(), secret_access_key: "secret".to_owned() };
    write_credentials(&path, std::slice::from_ref(&pair)).unwrap();
    assert_eq!(read_credentials(&path).unwrap(), Some(vec![pair]));
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);
    std::fs::write(&path, "credentials = 3").unwrap();
    assert!(read_credentials(&path).unwrap_err().to_string().contains("invalid credentials file"));
}
