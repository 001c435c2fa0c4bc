//! `diagnostics`: named counters a plugin keeps about its own work (bad input lines,
//! reconnections, data lost upstream). Bounded in number and name length so a plugin cannot grow
//! host memory through them.

use wasmtime::component::{HasSelf, Linker};

use crate::bindings::driver::chatter::plugin::diagnostics;
use crate::host_state::HostState;

/// Longest counter name kept, in bytes.
pub const MAX_NAME_BYTES: usize = 64;
/// Most counters one instance may keep.
pub const MAX_COUNTERS: usize = 32;

pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    diagnostics::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)
}

impl diagnostics::Host for HostState {
    fn count(&mut self, name: String, delta: u64) -> wasmtime::Result<()> {
        if name.is_empty() || name.len() > MAX_NAME_BYTES {
            return Ok(());
        }
        let mut counters = self
            .context
            .counters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(value) = counters.get_mut(&name) {
            *value = value.saturating_add(delta);
        } else if counters.len() < MAX_COUNTERS {
            counters.insert(name, delta);
        }
        Ok(())
    }
}
