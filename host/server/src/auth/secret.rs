//! Secrets handed to clients — session ids, API and device tokens, e-mail links — and what is
//! stored of them: only their SHA-256, so a copy of the store opens nothing.

use hmac::{Hmac, Mac as _};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// What personal API tokens start with, so a leaked one is recognizable (by secret scanners
/// too).
pub const API_TOKEN_PREFIX: &str = "cht_";
/// What device tokens of edge connectors start with.
pub const DEVICE_TOKEN_PREFIX: &str = "chd_";
/// What device tokens of wall displays start with.
pub const DISPLAY_TOKEN_PREFIX: &str = "chs_";
/// How many hex characters after the prefix make a token's public id.
const PUBLIC_ID_LEN: usize = 8;

/// What a device token of `kind` starts with.
pub fn device_prefix(kind: chatter_model::DeviceKind) -> &'static str {
    match kind {
        chatter_model::DeviceKind::Edge => DEVICE_TOKEN_PREFIX,
        chatter_model::DeviceKind::Display => DISPLAY_TOKEN_PREFIX,
    }
}

/// A new secret: `prefix` followed by 32 random bytes in hex.
#[derive(Debug)]
pub struct NewSecret {
    /// The secret, to hand to the client once.
    pub secret: String,
    /// Its SHA-256, to store.
    pub hash: String,
    /// Its public id: the first characters after the prefix.
    pub public_id: String,
}

/// Makes a new secret starting with `prefix` (may be empty).
pub fn new_secret(prefix: &str) -> std::io::Result<NewSecret> {
    let secret = format!("{prefix}{}", hex::encode(random_bytes::<32>()?));
    let public_id = secret[prefix.len()..prefix.len() + PUBLIC_ID_LEN].to_owned();
    Ok(NewSecret {
        hash: hash(&secret),
        secret,
        public_id,
    })
}

/// `N` bytes from the operating system's random source.
pub fn random_bytes<const N: usize>() -> std::io::Result<[u8; N]> {
    let mut bytes = [0; N];
    getrandom::fill(&mut bytes).map_err(std::io::Error::other)?;
    Ok(bytes)
}

/// A random lower-case hex string of `2 * N` characters, for ids.
pub fn random_hex<const N: usize>() -> std::io::Result<String> {
    Ok(hex::encode(random_bytes::<N>()?))
}

/// Lower-case hex SHA-256 of a secret: how the store keys what the secret opens.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether two secrets are equal, in time that does not depend on where they differ.
pub fn equal(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// A signature of `message` under the installation's secret, in hex: for links that must work
/// without signing in (unsubscribe) and must not be forgeable.
pub fn sign(key: &[u8; 32], message: &str) -> String {
    hex::encode(mac(key, message).finalize().into_bytes())
}

/// Whether `signature` is [`sign`]'s for `message`, checked in constant time.
pub fn verify(key: &[u8; 32], message: &str, signature: &str) -> bool {
    let Ok(signature) = hex::decode(signature) else {
        return false;
    };
    mac(key, message).verify_slice(&signature).is_ok()
}

fn mac(key: &[u8; 32], message: &str) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as hmac::digest::KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(message.as_bytes());
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_and_stored_as_hashes() {
        let token = new_secret(API_TOKEN_PREFIX).unwrap();
        assert!(token.secret.starts_with("cht_"));
        assert_eq!(token.secret.len(), 4 + 64);
        assert_eq!(token.hash, hash(&token.secret));
        assert_eq!(token.public_id, token.secret[4..12]);
        assert_ne!(
            new_secret("").unwrap().secret,
            new_secret("").unwrap().secret
        );
    }

    #[test]
    fn signatures_verify_only_their_message_and_key() {
        let key = [7; 32];
        let signature = sign(&key, "unsubscribe:u1");
        assert!(verify(&key, "unsubscribe:u1", &signature));
        assert!(!verify(&key, "unsubscribe:u2", &signature));
        assert!(!verify(&[8; 32], "unsubscribe:u1", &signature));
        assert!(!verify(&key, "unsubscribe:u1", "zz"));
        let mut tampered = signature.into_bytes();
        tampered[0] = if tampered[0] == b'0' { b'1' } else { b'0' };
        assert!(!verify(
            &key,
            "unsubscribe:u1",
            &String::from_utf8(tampered).unwrap()
        ));
    }
}
