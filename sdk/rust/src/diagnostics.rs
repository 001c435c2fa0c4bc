//! Counters about the plugin's own work, shown beside the instance's health in the API: what an
//! operator needs to see to trust (or distrust) the data — lines that could not be parsed,
//! reconnections, data the machine no longer had when the plugin asked for it.
//!
//! ```no_run
//! chatter_sdk::diagnostics::count("bad-lines", 1);
//! ```

/// Adds `delta` to the counter called `name`. Names are at most 64 bytes; an instance keeps at
/// most 32 counters, and the host ignores further names.
pub fn count(name: &str, delta: u64) {
    crate::bindings::driver::chatter::plugin::diagnostics::count(name, delta);
}
