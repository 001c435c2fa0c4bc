//! Chatter's simulator driver: a synthetic CNC machine that runs jobs (setup in MANUAL and MDI,
//! then cycles in AUTOMATIC with feed holds and tool changes), idles between them, raises faults
//! and warnings and is sometimes switched off, and reports all of it as MTConnect-style
//! observations. What it reports is a pure function of its `seed`; see the README.
//!
//! - `sim`: the simulation itself, free of host imports so it is tested natively;
//! - `settings`: the configuration, validated;
//! - `observations`: the simulation's changes as SDK observations;
//! - `driver`: the thin `Driver` the host calls.

mod driver;
mod observations;
mod settings;
mod sim;

// Natively (tests, benchmarks, tools) the simulator runs without a host: open it with
// `Simulator::new` and poll it with `Simulator::poll_at`, giving the real time yourself.
pub use driver::Simulator;
pub use settings::{DEFAULT_MAX_BATCH, DEFAULT_SPEED, LARGEST_MAX_BATCH, Settings};

#[cfg(test)]
mod tests;
