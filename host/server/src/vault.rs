//! The token vault: third-party credentials (an integration's OAuth access and refresh tokens)
//! encrypted at rest with XChaCha20-Poly1305.
//!
//! - Each sealed value is bound to what it belongs to — the organization and the connection —
//!   as associated data, so a value copied into another organization's or connection's record
//!   does not open.
//! - Each sealed value names the key that sealed it (a fingerprint, never the key), so keys can
//!   be rotated: the operator makes a new key current and keeps the old ones as *previous* until
//!   every value has been sealed again with [`Vault::reseal`].
//! - Nonces are 192 random bits, safe to draw at random for as many values as a shop will ever
//!   hold.
//!
//! The keys come from the operator (a file or an environment variable), never from the store,
//! so a copy of the store alone opens nothing.

use std::fmt;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use chatter_model::OrgId;
pub use chatter_model::Sealed;
use sha2::{Digest as _, Sha256};

use crate::auth::secret;

/// Bytes of a vault key.
const KEY_LEN: usize = 32;
/// Bytes of a nonce.
const NONCE_LEN: usize = 24;
/// What every associated data starts with, so a sealed value cannot be mistaken for another
/// format's, and the format can change.
const CONTEXT: &[u8] = b"chatter-vault-v1";

/// Why the vault could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// A key's text is not a key.
    #[error("{source_name}: a vault key is {KEY_LEN} bytes written as {} hex characters ({problem})", KEY_LEN * 2)]
    BadKey {
        /// Where the key came from (a file, a variable).
        source_name: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A key could not be read.
    #[error("{source_name}: {problem}")]
    Unreadable {
        /// Where the key should have come from.
        source_name: String,
        /// Why it could not be read.
        problem: String,
    },
    /// A value was sealed with a key the vault does not hold.
    #[error(
        "sealed with key {0}, which is neither the current vault key nor one of the previous keys: add it to the previous keys"
    )]
    UnknownKey(String),
    /// The value does not open with its key for this organization and connection: it was
    /// sealed for another, or altered.
    #[error(
        "the sealed value does not open for this organization and connection: it belongs to another one, or it was altered"
    )]
    DoesNotOpen,
    /// A sealed value's fields are not what sealing writes.
    #[error("a sealed value is malformed: {0}")]
    Malformed(String),
    /// No randomness for a nonce.
    #[error("no randomness for a nonce: {0}")]
    Random(#[from] std::io::Error),
}

/// What a sealed value belongs to, bound into it.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// The organization.
    pub org: &'a OrgId,
    /// The connection (an integration account) within it.
    pub connection: &'a str,
}

impl Scope<'_> {
    /// The associated data: the format, then each part with its length, so that no two scopes
    /// share a byte string.
    fn associated_data(&self) -> Vec<u8> {
        let mut data = CONTEXT.to_vec();
        for part in [self.org.as_str(), self.connection] {
            data.extend_from_slice(&(part.len() as u64).to_be_bytes());
            data.extend_from_slice(part.as_bytes());
        }
        data
    }
}

/// A vault key and its fingerprint.
pub struct VaultKey {
    fingerprint: String,
    cipher: XChaCha20Poly1305,
}

impl fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultKey")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl VaultKey {
    /// A new random key, as the text an operator keeps in a file or a variable.
    pub fn generate() -> std::io::Result<String> {
        secret::random_hex::<KEY_LEN>()
    }

    /// The key written as `text` (hex; surrounding whitespace ignored), which came from
    /// `source_name` (named in errors).
    pub fn parse(source_name: &str, text: &str) -> Result<VaultKey, VaultError> {
        let bad = |problem: String| VaultError::BadKey {
            source_name: source_name.to_owned(),
            problem,
        };
        let text = text.trim();
        let bytes = hex::decode(text).map_err(|error| bad(error.to_string()))?;
        let key: [u8; KEY_LEN] = bytes
            .try_into()
            .map_err(|bytes: Vec<u8>| bad(format!("it has {} bytes", bytes.len())))?;
        let fingerprint = hex::encode(
            Sha256::new_with_prefix(b"chatter-vault-key")
                .chain_update(key)
                .finalize(),
        );
        Ok(VaultKey {
            fingerprint: fingerprint[..16].to_owned(),
            cipher: XChaCha20Poly1305::new(&key.into()),
        })
    }

    /// The key in the file at `path`.
    pub fn from_file(path: &Path) -> Result<VaultKey, VaultError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| VaultError::Unreadable {
            source_name: name.clone(),
            problem: error.to_string(),
        })?;
        VaultKey::parse(&name, &text)
    }

    /// The key in the environment variable `variable`.
    pub fn from_env(variable: &str) -> Result<VaultKey, VaultError> {
        let name = format!("environment variable {variable}");
        let text = std::env::var(variable).map_err(|error| VaultError::Unreadable {
            source_name: name.clone(),
            problem: error.to_string(),
        })?;
        VaultKey::parse(&name, &text)
    }

    /// Its fingerprint: what sealed values name it by.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
}

/// `[vault]`: where the operator keeps the vault's keys.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct KeySources {
    /// A file holding the current key.
    pub key_file: Option<PathBuf>,
    /// An environment variable holding the current key (used when no file is named).
    pub key_env: Option<String>,
    /// Files holding previous keys, still accepted for opening while values are resealed.
    pub previous_key_files: Vec<PathBuf>,
}

/// The current key, which seals, and the previous keys, which only open.
#[derive(Debug)]
pub struct Vault {
    current: VaultKey,
    previous: Vec<VaultKey>,
}

impl Vault {
    /// A vault sealing with `current` and opening with it and `previous`.
    pub fn new(current: VaultKey, previous: Vec<VaultKey>) -> Vault {
        Vault { current, previous }
    }

    /// The vault whose keys `sources` name; `None` when they name no current key.
    pub fn load(sources: &KeySources) -> Result<Option<Vault>, VaultError> {
        let current = match (&sources.key_file, &sources.key_env) {
            (Some(path), _) => VaultKey::from_file(path)?,
            (None, Some(variable)) => VaultKey::from_env(variable)?,
            (None, None) => return Ok(None),
        };
        let previous = sources
            .previous_key_files
            .iter()
            .map(|path| VaultKey::from_file(path))
            .collect::<Result<_, _>>()?;
        Ok(Some(Vault::new(current, previous)))
    }

    /// Seals `secret` for `scope` with the current key.
    pub fn seal(&self, scope: Scope<'_>, secret: &[u8]) -> Result<Sealed, VaultError> {
        let nonce = secret::random_bytes::<NONCE_LEN>()?;
        let aad = scope.associated_data();
        let ciphertext = self
            .current
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: secret,
                    aad: &aad,
                },
            )
            .map_err(|_| VaultError::Malformed("the secret is too long to seal".to_owned()))?;
        Ok(Sealed {
            key: self.current.fingerprint.clone(),
            nonce: hex::encode(nonce),
            ciphertext: hex::encode(ciphertext),
        })
    }

    /// Opens `sealed` for `scope`.
    pub fn open(&self, scope: Scope<'_>, sealed: &Sealed) -> Result<Vec<u8>, VaultError> {
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|key| key.fingerprint == sealed.key)
            .ok_or_else(|| VaultError::UnknownKey(sealed.key.clone()))?;
        let nonce = hex::decode(&sealed.nonce)
            .ok()
            .filter(|nonce| nonce.len() == NONCE_LEN)
            .ok_or_else(|| {
                VaultError::Malformed(format!("the nonce is not {NONCE_LEN} bytes of hex"))
            })?;
        let ciphertext = hex::decode(&sealed.ciphertext).map_err(|error| {
            VaultError::Malformed(format!("the ciphertext is not hex: {error}"))
        })?;
        let aad = scope.associated_data();
        key.cipher
            .decrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| VaultError::DoesNotOpen)
    }

    /// Whether `sealed` was sealed with the current key (if not, [`Vault::reseal`] it).
    pub fn is_current(&self, sealed: &Sealed) -> bool {
        sealed.key == self.current.fingerprint
    }

    /// `sealed` sealed again with the current key: how stored values move to a new key.
    pub fn reseal(&self, scope: Scope<'_>, sealed: &Sealed) -> Result<Sealed, VaultError> {
        let secret = self.open(scope, sealed)?;
        self.seal(scope, &secret)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn key() -> VaultKey {
        VaultKey::parse("test", &VaultKey::generate().unwrap()).unwrap()
    }

    fn org(id: &str) -> OrgId {
        OrgId::new(id).unwrap()
    }

    const TOKEN: &[u8] = b"refresh-token-7f3a";

    #[test]
    fn a_sealed_secret_opens_for_its_scope_only() {
        let vault = Vault::new(key(), Vec::new());
        let acme = org("acme");
        let scope = Scope {
            org: &acme,
            connection: "autodesk-1",
        };
        let sealed = vault.seal(scope, TOKEN).unwrap();
        assert!(!sealed.ciphertext.contains(&hex::encode(TOKEN)));
        assert_eq!(vault.open(scope, &sealed).unwrap(), TOKEN);

        // Copied to another organization's row, or another connection's: it does not open.
        let other = org("umbrella");
        let elsewhere = Scope {
            org: &other,
            connection: "autodesk-1",
        };
        assert!(matches!(
            vault.open(elsewhere, &sealed),
            Err(VaultError::DoesNotOpen)
        ));
        let sibling = Scope {
            org: &acme,
            connection: "autodesk-2",
        };
        assert!(matches!(
            vault.open(sibling, &sealed),
            Err(VaultError::DoesNotOpen)
        ));
        // Parts are length-prefixed: moving a character from one to the other changes the scope.
        let (a, b) = (org("ab"), org("a"));
        let one = vault
            .seal(
                Scope {
                    org: &a,
                    connection: "c",
                },
                TOKEN,
            )
            .unwrap();
        assert!(
            vault
                .open(
                    Scope {
                        org: &b,
                        connection: "bc"
                    },
                    &one
                )
                .is_err()
        );
    }

    #[test]
    fn an_altered_value_does_not_open() {
        let vault = Vault::new(key(), Vec::new());
        let acme = org("acme");
        let scope = Scope {
            org: &acme,
            connection: "c",
        };
        let sealed = vault.seal(scope, TOKEN).unwrap();
        let mut flipped = sealed.clone();
        let first = u8::from_str_radix(&flipped.ciphertext[..2], 16).unwrap() ^ 1;
        flipped
            .ciphertext
            .replace_range(..2, &format!("{first:02x}"));
        assert!(matches!(
            vault.open(scope, &flipped),
            Err(VaultError::DoesNotOpen)
        ));
        let mut cut = sealed.clone();
        cut.nonce.truncate(10);
        assert!(matches!(
            vault.open(scope, &cut),
            Err(VaultError::Malformed(_))
        ));
        // The same secret sealed twice gives two different values (fresh nonces).
        assert_ne!(vault.seal(scope, TOKEN).unwrap(), sealed);
    }

    #[test]
    fn keys_rotate_without_losing_a_secret() {
        let old_text = VaultKey::generate().unwrap();
        let old = Vault::new(VaultKey::parse("old", &old_text).unwrap(), Vec::new());
        let acme = org("acme");
        let scope = Scope {
            org: &acme,
            connection: "c",
        };
        let sealed = old.seal(scope, TOKEN).unwrap();

        // The new key seals; the old one still opens what it sealed, until resealed.
        let new_text = VaultKey::generate().unwrap();
        let new = || VaultKey::parse("new", &new_text).unwrap();
        let rotated = Vault::new(new(), vec![VaultKey::parse("old", &old_text).unwrap()]);
        assert!(!rotated.is_current(&sealed));
        assert_eq!(rotated.open(scope, &sealed).unwrap(), TOKEN);
        let resealed = rotated.reseal(scope, &sealed).unwrap();
        assert!(rotated.is_current(&resealed));
        assert_ne!(resealed.key, sealed.key);

        // Once the old key is dropped, only resealed values open, and the error names the key.
        let after = Vault::new(new(), Vec::new());
        assert_eq!(after.open(scope, &resealed).unwrap(), TOKEN);
        let error = after.open(scope, &sealed).unwrap_err();
        assert!(error.to_string().contains(&sealed.key), "{error}");
    }

    #[test]
    fn bad_keys_are_named_with_their_source() {
        let short = VaultKey::parse("/etc/chatter/vault.key", "abcd").unwrap_err();
        assert!(
            short.to_string().starts_with("/etc/chatter/vault.key: "),
            "{short}"
        );
        assert!(short.to_string().contains("it has 2 bytes"), "{short}");
        let not_hex = VaultKey::parse("CHATTER_VAULT_KEY", &"z".repeat(64)).unwrap_err();
        assert!(matches!(not_hex, VaultError::BadKey { .. }), "{not_hex}");
        let missing = VaultKey::from_file(Path::new("/nonexistent/vault.key")).unwrap_err();
        assert!(
            missing.to_string().starts_with("/nonexistent/vault.key: "),
            "{missing}"
        );
    }

    #[test]
    fn keys_load_from_a_file_with_previous_keys() {
        let dir = tempfile::tempdir().unwrap();
        let (current, previous) = (dir.path().join("current.key"), dir.path().join("old.key"));
        std::fs::write(&current, format!("{}\n", VaultKey::generate().unwrap())).unwrap();
        std::fs::write(&previous, VaultKey::generate().unwrap()).unwrap();
        let sources = KeySources {
            key_file: Some(current),
            key_env: None,
            previous_key_files: vec![previous],
        };
        let vault = Vault::load(&sources).unwrap().unwrap();
        assert_eq!(vault.previous.len(), 1);
        assert!(Vault::load(&KeySources::default()).unwrap().is_none());
    }

    #[test]
    fn nothing_secret_is_printed() {
        let text = VaultKey::generate().unwrap();
        let key = VaultKey::parse("k", &text).unwrap();
        let acme = org("acme");
        let vault = Vault::new(key, Vec::new());
        let sealed = vault
            .seal(
                Scope {
                    org: &acme,
                    connection: "c",
                },
                TOKEN,
            )
            .unwrap();
        let printed = format!("{vault:?} {sealed:?}");
        assert!(
            !printed.contains(&text) && !printed.contains(&sealed.ciphertext),
            "{printed}"
        );
    }
}
