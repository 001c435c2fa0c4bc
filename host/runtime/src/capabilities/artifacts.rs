//! `artifacts`: where an integration stores what it imports. The organization's library does
//! not exist yet, so storing is refused with a message saying so; `contains` is always false.

use wasmtime::component::{HasSelf, Linker};

use crate::bindings::driver::chatter::plugin::types::{Error, ErrorCode};
use crate::bindings::integration::chatter::plugin::artifacts::{self, Artifact};
use crate::capabilities::require;
use crate::host_state::HostState;
use crate::manifest::Capability;

pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    artifacts::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)
}

impl artifacts::Host for HostState {
    fn put(&mut self, artifact: Artifact) -> wasmtime::Result<Result<(), Error>> {
        if let Err(denied) = require(self, Capability::Artifacts) {
            return Ok(Err(denied));
        }
        Ok(Err(Error {
            code: ErrorCode::Denied,
            message: format!(
                "organization `{}` has no artifact library on this host; `{}` was not stored",
                self.identity.org, artifact.source_id
            ),
        }))
    }

    fn contains(&mut self, _source_id: String) -> wasmtime::Result<bool> {
        Ok(false)
    }
}
