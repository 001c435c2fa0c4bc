//! Chatter's plugin runtime: loads WebAssembly components, checks them against the WIT package
//! `chatter:plugin`, runs them in a sandbox with per-instance limits, and supervises drivers.
//!
//! The runtime knows wasmtime and nothing about HTTP, so the server, the CLI (`chatter plugin
//! check`) and tests all use it the same way:
//!
//! 1. [`Runtime::new`] builds the one [`wasmtime::Engine`] of the process (pooling allocator,
//!    epoch ticker, artifact cache) and a linker per plugin kind.
//! 2. [`PluginPackage`] reads a component and its [`Manifest`]; [`Runtime::load`] validates the
//!    pair and pre-instantiates it into a [`LoadedPlugin`].
//! 3. [`IntegrationInstance`] runs an integration for one organization's connection;
//!    [`ReportInstance`] generates one report over the machine data an organization lets it
//!    read.
//! 4. [`DriverInstance`] runs one instance of a driver for one machine; [`supervise_driver`]
//!    keeps one alive per machine, restarting it with backoff and quarantining it when it keeps
//!    failing.
//!
//! Everything a plugin can reach is a capability in [`capabilities`]; nothing else (filesystem,
//! environment, network, host secrets) exists inside the sandbox.

pub mod bindings;
pub mod cache;
pub mod capabilities;
mod component_check;
mod engine;
mod fault;
mod host_state;
mod instance;
mod integration;
mod limits;
pub mod manifest;
mod package;
mod report;
mod supervisor;

pub use cache::ArtifactCache;
pub use engine::{Runtime, RuntimeConfig, RuntimeError};
pub use fault::Fault;
pub use host_state::{InstanceContext, SharedCounters, SharedState};
pub use instance::DriverInstance;
pub use integration::{IntegrationInstance, SyncOutcome};
pub use limits::EffectiveLimits;
pub use manifest::{Manifest, ManifestError, PluginKind};
pub use package::{LoadError, LoadedPlugin, PluginPackage};
pub use report::{Day, ReportInstance, ReportOutcome, ReportRequest, ShiftPeriod};
pub use supervisor::{
    DriverHealth, DriverStatus, FaultRecord, ObservationSink, ReportedError, SupervisedDriver,
    SupervisionPolicy, supervise_driver,
};

/// The version of the WIT package `chatter:plugin` this host implements.
pub const API_VERSION: &str = "0.1.0";
