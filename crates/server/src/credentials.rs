//! Access keys accepted in SigV4 signatures: configured ones, or a pair generated on first start and kept in the
//! data directory (mode 0600).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use local::{CREDENTIALS_FILE, KeyPair};
use rand::Rng;

/// The key pairs a server accepts, by access key id.
#[derive(Clone, Debug, Default)]
pub struct Keyring {
    secrets: HashMap<String, String>,
    /// The pair to show users (the first configured or the generated one).
    primary: Option<KeyPair>,
}

/// Where the keyring came from, for the start-up banner.
#[derive(Debug, PartialEq, Eq)]
pub enum KeySource {
    Configured,
    Stored(PathBuf),
    Generated(PathBuf),
}

impl Keyring {
    pub fn new(pairs: Vec<KeyPair>) -> Keyring {
        let primary = pairs.first().cloned();
        let secrets = pairs.into_iter().map(|p| (p.access_key_id, p.secret_access_key)).collect();
        Keyring { secrets, primary }
    }

    /// Configured pairs if any; else the data directory's stored pair, generated and stored on first use.
    pub fn load_or_generate(configured: Vec<KeyPair>, data_dir: &Path) -> anyhow::Result<(Keyring, KeySource)> {
        if !configured.is_empty() {
            return Ok((Keyring::new(configured), KeySource::Configured));
        }
        let path = data_dir.join(CREDENTIALS_FILE);
        if let Some(pairs) = local::read_credentials(&path)? {
            return Ok((Keyring::new(pairs), KeySource::Stored(path)));
        }
        let pair = generate();
        std::fs::create_dir_all(data_dir).with_context(|| format!("cannot create {}", data_dir.display()))?;
        local::write_credentials(&path, std::slice::from_ref(&pair))?;
        Ok((Keyring::new(vec![pair]), KeySource::Generated(path)))
    }

    /// The map of secrets by access key id, as the SigV4 verifier looks them up.
    pub fn secrets(&self) -> &HashMap<String, String> {
        &self.secrets
    }

    pub fn secret(&self, access_key_id: &str) -> Option<&str> {
        self.secrets.get(access_key_id).map(String::as_str)
    }

    pub fn primary(&self) -> Option<&KeyPair> {
        self.primary.as_ref()
    }
}

/// An AWS-looking pair: a 20-character `SBAK…` key id and a 40-character secret.
fn generate() -> KeyPair {
    const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    const SECRET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut rng = rand::rng();
    let mut pick = |alphabet: &[u8], n: usize| -> String {
        (0..n).map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())])).collect()
    };
    KeyPair { access_key_id: format!("SBAK{}", pick(UPPER, 16)), secret_access_key: pick(SECRET, 40) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_then_reuses_with_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let (first, source) = Keyring::load_or_generate(Vec::new(), dir.path()).unwrap();
        assert!(matches!(source, KeySource::Generated(_)));
        let pair = first.primary().unwrap().clone();
        assert_eq!(pair.access_key_id.len(), 20);
        assert_eq!(pair.secret_access_key.len(), 40);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(CREDENTIALS_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (second, source) = Keyring::load_or_generate(Vec::new(), dir.path()).unwrap();
        assert!(matches!(source, KeySource::Stored(_)));
        assert_eq!(second.primary(), Some(&pair));
        assert_eq!(second.secret(&pair.access_key_id), Some(pair.secret_access_key.as_str()));
    }

    #[test]
    fn configured_pairs_win() {
        let dir = tempfile::tempdir().unwrap();
        let pair = KeyPair { access_key_id: "AKID".to_owned(), secret_access_key: "s".to_owned() };
        let (ring, source) = Keyring::load_or_generate(vec![pair.clone()], dir.path()).unwrap();
        assert_eq!(source, KeySource::Configured);
        assert_eq!(ring.secret("AKID"), Some("s"));
        assert!(!dir.path().join(CREDENTIALS_FILE).exists());
    }
}
