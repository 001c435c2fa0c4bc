//! Password hashing with Argon2id, off the async threads and a few at a time, so a burst of
//! sign-ins cannot starve the server of threads or memory.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use super::secret::random_bytes;

/// Shortest password accepted.
pub const MIN_LEN: usize = 10;
/// Longest password accepted: hashing cost grows with length.
pub const MAX_LEN: usize = 256;

/// Why a password is not accepted, said to the user.
pub fn check_strength(password: &str, email: &str) -> Result<(), &'static str> {
    let length = password.chars().count();
    if length < MIN_LEN {
        return Err("Choose a password of at least 10 characters.");
    }
    if length > MAX_LEN {
        return Err("Choose a password of at most 256 characters.");
    }
    if password.eq_ignore_ascii_case(email) {
        return Err("Choose a password other than your e-mail address.");
    }
    Ok(())
}

/// Hashes and checks passwords.
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    params: Params,
    /// A hash of a password nobody has, checked when an e-mail is unknown so that the answer
    /// takes as long as for a known one.
    decoy: Arc<String>,
}

impl PasswordHasher {
    /// A hasher running at most `concurrency` hashes at once with OWASP's recommended Argon2id
    /// cost (19 MiB, 2 passes, 1 lane).
    pub fn new(concurrency: usize) -> anyhow::Result<Self> {
        let params = Params::new(19 * 1024, 2, 1, None)
            .map_err(|error| anyhow::anyhow!("Argon2 parameters: {error}"))?;
        let decoy = hash_blocking(&params, &hex::encode(random_bytes::<16>()?))?;
        Ok(Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            params,
            decoy: Arc::new(decoy),
        })
    }

    /// The PHC string of `password`'s hash, with a fresh salt.
    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let params = self.params.clone();
        let password = password.to_owned();
        self.run(move || hash_blocking(&params, &password)).await?
    }

    /// Whether `password` matches `phc`; with `None`, checks a decoy and answers false, taking
    /// as long as a real check.
    pub async fn verify(&self, password: &str, phc: Option<&str>) -> anyhow::Result<bool> {
        let known = phc.is_some();
        let phc = phc.map_or_else(|| self.decoy.as_str().to_owned(), str::to_owned);
        let password = password.to_owned();
        let matches = self
            .run(move || {
                let parsed = PasswordHash::new(&phc)
                    .map_err(|error| anyhow::anyhow!("stored password hash: {error}"))?;
                Ok::<_, anyhow::Error>(
                    Argon2::default()
                        .verify_password(password.as_bytes(), &parsed)
                        .is_ok(),
                )
            })
            .await??;
        Ok(known && matches)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let _permit = self.permits.acquire().await?;
        Ok(tokio::task::spawn_blocking(work).await?)
    }
}

fn hash_blocking(params: &Params, password: &str) -> anyhow::Result<String> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()?)
        .map_err(|error| anyhow::anyhow!("password salt: {error}"))?;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let hash = argon2
        .hash_password(password.as_bytes(), &salt)
        .map_err(|error| anyhow::anyhow!("hashing a password: {error}"))?;
    Ok(hash.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hasher = PasswordHasher::new(2).unwrap();
        let phc = hasher.hash("correct horse battery").await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            hasher
                .verify("correct horse battery", Some(&phc))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify("wrong horse battery", Some(&phc))
                .await
                .unwrap()
        );
        assert!(!hasher.verify("correct horse battery", None).await.unwrap());
    }

    #[test]
    fn weak_passwords_are_refused_with_a_reason() {
        assert!(check_strength("short", "a@b.c").is_err());
        assert!(check_strength("a@example.com", "a@example.com").is_err());
        assert!(check_strength("long enough pass", "a@b.c").is_ok());
    }
}
