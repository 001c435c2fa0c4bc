//! Logging into the host's log, attributed to this plugin instance by the host.
//!
//! ```no_run
//! chatter_sdk::log::info(&format!("connected to {}", "agent"));
//! ```

use crate::bindings::driver::chatter::plugin::log::{Level, write};

/// Logs at trace level.
pub fn trace(message: &str) {
    write(Level::Trace, message);
}

/// Logs at debug level.
pub fn debug(message: &str) {
    write(Level::Debug, message);
}

/// Logs at info level.
pub fn info(message: &str) {
    write(Level::Info, message);
}

/// Logs at warn level.
pub fn warn(message: &str) {
    write(Level::Warn, message);
}

/// Logs at error level.
pub fn error(message: &str) {
    write(Level::Error, message);
}
