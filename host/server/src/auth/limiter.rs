//! Limits on failed sign-ins, per account and per network address, so passwords cannot be
//! guessed quickly. Accounts are keyed by the address typed, known or not, so the limit itself
//! says nothing about which accounts exist.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed sign-ins one e-mail address may have in a window.
const PER_ACCOUNT: u32 = 5;
/// Failed sign-ins one network address may have in a window.
const PER_ADDRESS: u32 = 20;
/// How long failures count.
const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Entries kept before old ones are swept, so a flood of addresses cannot exhaust memory.
const SWEEP_AT: usize = 100_000;

/// Counts failed sign-ins.
#[derive(Debug, Default)]
pub struct SignInLimiter {
    failures: Mutex<HashMap<String, Failures>>,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    since: Instant,
}

impl SignInLimiter {
    /// How long the caller must wait before trying to sign in as `email` from `address`, if it
    /// must.
    pub fn check(&self, email: &str, address: &str) -> Option<Duration> {
        let now = Instant::now();
        let failures = self.lock();
        [
            (account_key(email), PER_ACCOUNT),
            (address_key(address), PER_ADDRESS),
        ]
        .into_iter()
        .filter_map(|(key, limit)| {
            let entry = failures.get(&key)?;
            let age = now.duration_since(entry.since);
            (entry.count >= limit && age < WINDOW).then(|| WINDOW - age)
        })
        .max()
    }

    /// Counts a failed sign-in.
    pub fn failed(&self, email: &str, address: &str) {
        let now = Instant::now();
        let mut failures = self.lock();
        if failures.len() >= SWEEP_AT {
            failures.retain(|_, entry| now.duration_since(entry.since) < WINDOW);
        }
        for key in [account_key(email), address_key(address)] {
            let entry = failures.entry(key).or_insert(Failures {
                count: 0,
                since: now,
            });
            if now.duration_since(entry.since) >= WINDOW {
                *entry = Failures {
                    count: 0,
                    since: now,
                };
            }
            entry.count += 1;
        }
    }

    /// Forgets the account's failures after it signed in.
    pub fn succeeded(&self, email: &str) {
        self.lock().remove(&account_key(email));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Failures>> {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn account_key(email: &str) -> String {
    format!("account:{email}")
}

fn address_key(address: &str) -> String {
    format!("address:{address}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_held_after_five_failures_from_anywhere() {
        let limiter = SignInLimiter::default();
        for attempt in 0..5 {
            assert!(
                limiter
                    .check("a@x.io", &format!("10.0.0.{attempt}"))
                    .is_none()
            );
            limiter.failed("a@x.io", &format!("10.0.0.{attempt}"));
        }
        assert!(limiter.check("a@x.io", "10.9.9.9").is_some());
        assert!(limiter.check("b@x.io", "10.9.9.9").is_none());
        limiter.succeeded("a@x.io");
        assert!(limiter.check("a@x.io", "10.9.9.9").is_none());
    }

    #[test]
    fn an_address_is_held_after_twenty_failures_on_any_accounts() {
        let limiter = SignInLimiter::default();
        for n in 0..20 {
            limiter.failed(&format!("user{n}@x.io"), "10.0.0.1");
        }
        assert!(limiter.check("new@x.io", "10.0.0.1").is_some());
        assert!(limiter.check("new@x.io", "10.0.0.2").is_none());
    }
}
