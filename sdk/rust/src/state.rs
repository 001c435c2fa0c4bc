//! A small private key-value store per plugin instance that survives restarts: keep
//! checkpoints here so a restarted driver resumes where it stopped.

use crate::Error;
use crate::bindings::driver::chatter::plugin::state as host;

/// The bytes stored under `key`.
pub fn get(key: &str) -> Option<Vec<u8>> {
    host::get(key)
}

/// Stores `value` under `key`; fails when the instance's state limit would be exceeded.
pub fn set(key: &str, value: &[u8]) -> Result<(), Error> {
    host::set(key, value)
}

/// Removes `key`.
pub fn remove(key: &str) {
    host::remove(key);
}
