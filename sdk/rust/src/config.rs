//! The configuration the organization gave this plugin instance, already validated by the host
//! against the manifest's `[config]` schema.

use std::str::FromStr;

use crate::Error;
use crate::bindings::driver::chatter::plugin::config as host;

/// The value of `key` as text, or `None` when unset and without default.
pub fn get(key: &str) -> Option<String> {
    host::get(key)
}

/// The value of `key` parsed as `T`; an unparsable value is an `invalid-config` error naming
/// the key.
pub fn parse<T: FromStr>(key: &str) -> Result<Option<T>, Error> {
    match get(key) {
        None => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|_| {
            Error::invalid_config(format!(
                "config `{key}` = {text:?} is not a valid {}",
                std::any::type_name::<T>()
            ))
        }),
    }
}

/// Every key with a value, sorted by key.
pub fn entries() -> Vec<(String, String)> {
    host::entries()
}
