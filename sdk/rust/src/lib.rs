//! # chatter-sdk
//!
//! Write plugins for [Chatter](https://github.com/chatter-cnc/chatter), the open platform for CNC
//! machine shops, in Rust. A plugin is a WebAssembly component that the Chatter host loads in a
//! sandbox; this crate hides the component plumbing behind one trait per kind of plugin:
//!
//! | kind | trait | export macro | what it does |
//! |---|---|---|---|
//! | driver | [`Driver`] | [`export_driver!`] | reads one machine and reports [`Observation`]s |
//! | integration | [`Integration`] | [`export_integration!`] | imports artifacts from a third-party account |
//! | report | [`Report`] | [`export_report!`] | turns derived machine data into documents |
//!
//! Build with `cargo build --target wasm32-wasip2 --release`: the output `.wasm` file is the
//! component. Next to it, a `plugin.toml` manifest names the plugin, its kind and what it may do;
//! `chatter plugin check` validates both.
//!
//! ## A complete driver
//!
//! ```no_run
//! use chatter_sdk::{DataItem, Driver, Error, Machine, Observation, config, now};
//!
//! /// Reports a spindle speed that is always the configured value.
//! struct Steady {
//!     rpm: f64,
//! }
//!
//! impl Driver for Steady {
//!     fn open(_machine: &Machine) -> Result<Self, Error> {
//!         let rpm = config::parse("rpm")?.unwrap_or(1200.0);
//!         Ok(Steady { rpm })
//!     }
//!
//!     fn data_items(&self) -> Vec<DataItem> {
//!         vec![DataItem::sample("spindle-speed", "SPINDLE_SPEED", "REVOLUTION/MINUTE")]
//!     }
//!
//!     fn poll(&mut self) -> Result<Vec<Observation>, Error> {
//!         Ok(vec![Observation::sample("spindle-speed", now(), self.rpm)])
//!     }
//! }
//!
//! chatter_sdk::export_driver!(Steady);
//! ```
//!
//! The host calls [`Driver::open`] once per machine (and again after a restart), then
//! [`Driver::poll`] on the machine's schedule. Everything a plugin can reach is in the modules
//! [`log`], [`diagnostics`], [`config`], [`state`] and, for drivers, [`net`]; there is no filesystem, no
//! environment and no other network.

#![doc(html_no_source)]

#[doc(hidden)]
pub mod bindings;
mod driver;
mod integration;
mod observation;
mod report;

pub mod config;
pub mod diagnostics;
pub mod log;
pub mod net;
pub mod state;

pub use driver::{Driver, Machine};
pub use integration::{Account, Artifact, Integration, SyncSummary, artifacts, http};
pub use observation::now;
pub use report::{Day, Report, ReportRequest, ShiftPeriod, machine_data, output};

pub use bindings::driver::chatter::plugin::types::{
    Category, Condition, ConditionLevel, DataItem, Error, ErrorCode, Observation, TimeRange,
    Timestamp, Value,
};

/// Re-exported so the export macros work without authors depending on it.
#[doc(hidden)]
pub use wit_bindgen;

#[doc(hidden)]
pub use driver::{__open as __driver_open, __poll as __driver_poll};
