//! `state`: an instance's private key-value state. It lives in the instance's
//! [`InstanceContext`](crate::InstanceContext), shared with the supervisor, so a restarted
//! instance finds what it saved; its total size is capped.

use wasmtime::component::{HasSelf, Linker};

use crate::bindings::driver::chatter::plugin::state;
use crate::bindings::driver::chatter::plugin::types::{Error, ErrorCode};
use crate::capabilities::{require, within_call_cap};
use crate::host_state::HostState;
use crate::manifest::Capability;

pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    state::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)
}

impl state::Host for HostState {
    fn get(&mut self, key: String) -> wasmtime::Result<Option<Vec<u8>>> {
        if require(self, Capability::State).is_err() {
            return Ok(None);
        }
        let entries = self.context.state.lock().map_err(|_| poisoned())?;
        Ok(entries.get(&key).cloned())
    }

    fn set(&mut self, key: String, value: Vec<u8>) -> wasmtime::Result<Result<(), Error>> {
        if let Err(denied) = require(self, Capability::State)
            .and_then(|()| within_call_cap(self, "a state value", key.len() + value.len()))
        {
            return Ok(Err(denied));
        }
        let cap = self.limits.state_bytes;
        let mut entries = self.context.state.lock().map_err(|_| poisoned())?;
        let others: usize = entries
            .iter()
            .filter(|(k, _)| **k != key)
            .map(|(k, v)| k.len() + v.len())
            .sum();
        let total = others + key.len() + value.len();
        if total > cap {
            return Ok(Err(Error {
                code: ErrorCode::Denied,
                message: format!("state would grow to {total} bytes, over the cap of {cap} bytes"),
            }));
        }
        entries.insert(key, value);
        Ok(Ok(()))
    }

    fn remove(&mut self, key: String) -> wasmtime::Result<()> {
        if require(self, Capability::State).is_ok() {
            self.context
                .state
                .lock()
                .map_err(|_| poisoned())?
                .remove(&key);
        }
        Ok(())
    }
}

fn poisoned() -> wasmtime::Error {
    wasmtime::Error::msg("plugin state lock poisoned by an earlier panic")
}
