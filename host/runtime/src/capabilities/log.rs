//! `log`: plugin log records, written to the host's log with the instance's identity attached.

use wasmtime::component::{HasSelf, Linker};

use crate::bindings::driver::chatter::plugin::log::{self, Level};
use crate::host_state::HostState;

pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    log::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)
}

impl log::Host for HostState {
    fn write(&mut self, level: Level, mut message: String) -> wasmtime::Result<()> {
        let cap = self.limits.host_call_bytes;
        if message.len() > cap {
            let mut end = cap;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
            message.push_str(" … [truncated at the per-call byte cap]");
        }
        let id = &self.identity;
        let machine = id.machine.as_ref().map(|m| m.as_str()).unwrap_or("-");
        macro_rules! emit {
            ($level:ident) => {
                tracing::$level!(
                    target: "plugin",
                    plugin = %id.plugin, version = %id.version, org = %id.org, machine,
                    "{message}"
                )
            };
        }
        match level {
            Level::Trace => emit!(trace),
            Level::Debug => emit!(debug),
            Level::Info => emit!(info),
            Level::Warn => emit!(warn),
            Level::Error => emit!(error),
        }
        Ok(())
    }
}
