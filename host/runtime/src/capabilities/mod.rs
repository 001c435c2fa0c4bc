//! Capabilities: everything a plugin can reach, one module each, all of the same shape — a
//! host implementation of one WIT interface plus an `add_to_linker` function. The runtime
//! composes a linker per plugin kind from them ([`linker_for`]).
//!
//! Capabilities are deny-by-default: the manifest asks, the operator or organization grants
//! ([`InstanceContext::grants`](crate::InstanceContext)), and each host function checks the
//! grant before it does anything. WASI is linked with an empty context (std guests import it
//! even when they do no I/O): no arguments, environment, stdio, files or sockets.

pub mod artifacts;
pub mod authorized_http;
pub mod config;
pub mod diagnostics;
pub mod log;
pub mod machine_data;
pub mod machine_network;
pub mod report_output;
pub mod state;

use wasmtime::Engine;
use wasmtime::component::{HasSelf, Linker};

use crate::bindings::driver::chatter::plugin::types::{self, Error, ErrorCode};
use crate::host_state::HostState;
use crate::manifest::{Capability, PluginKind};

/// Builds the linker for plugins of `kind`: WASI (empty), the interfaces every world has, and
/// the capabilities of that kind's world.
pub(crate) fn linker_for(engine: &Engine, kind: PluginKind) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    types::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)?;
    log::add_to_linker(&mut linker)?;
    diagnostics::add_to_linker(&mut linker)?;
    config::add_to_linker(&mut linker)?;
    match kind {
        PluginKind::Driver => {
            state::add_to_linker(&mut linker)?;
            machine_network::add_to_linker(&mut linker)?;
        }
        PluginKind::Integration => {
            state::add_to_linker(&mut linker)?;
            authorized_http::add_to_linker(&mut linker)?;
            artifacts::add_to_linker(&mut linker)?;
        }
        PluginKind::Report => {
            machine_data::add_to_linker(&mut linker)?;
            report_output::add_to_linker(&mut linker)?;
        }
    }
    Ok(linker)
}

impl types::Host for HostState {}

/// The error a host function returns when the instance lacks a grant.
pub(crate) fn denied(capability: Capability) -> Error {
    Error {
        code: ErrorCode::Denied,
        message: format!("the `{capability}` capability is not granted to this plugin"),
    }
}

/// Checks that the instance holds `capability`.
pub(crate) fn require(state: &HostState, capability: Capability) -> Result<(), Error> {
    if state.context.grants.contains(&capability) {
        Ok(())
    } else {
        Err(denied(capability))
    }
}

/// Refuses a payload larger than the instance's per-call byte cap.
pub(crate) fn within_call_cap(state: &HostState, what: &str, len: usize) -> Result<(), Error> {
    let cap = state.limits.host_call_bytes;
    if len <= cap {
        Ok(())
    } else {
        Err(Error {
            code: ErrorCode::Denied,
            message: format!("{what} of {len} bytes exceeds the per-call cap of {cap} bytes"),
        })
    }
}
