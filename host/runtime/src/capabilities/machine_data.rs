//! `machine-data`: the read-only view a report has of its organization's derived machine data.
//! Derived timelines do not exist yet: a report sees no machines, and asking for one by id is
//! `not-found`, as it is for any machine outside the organization.

use wasmtime::component::{HasSelf, Linker};

use crate::bindings::driver::chatter::plugin::types::{Error, ErrorCode, TimeRange};
use crate::bindings::report::chatter::plugin::machine_data::{
    self, Alarm, Cycle, MachineInfo, StateInterval,
};
use crate::capabilities::require;
use crate::host_state::HostState;
use crate::manifest::Capability;

pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    machine_data::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)
}

fn not_found(state: &HostState, machine: &str) -> Error {
    Error {
        code: ErrorCode::NotFound,
        message: format!(
            "organization `{}` has no machine `{machine}`",
            state.identity.org
        ),
    }
}

impl machine_data::Host for HostState {
    fn machines(&mut self) -> wasmtime::Result<Vec<MachineInfo>> {
        Ok(Vec::new())
    }

    fn timeline(
        &mut self,
        machine: String,
        _range: TimeRange,
    ) -> wasmtime::Result<Result<Vec<StateInterval>, Error>> {
        Ok(require(self, Capability::MachineData).and_then(|()| Err(not_found(self, &machine))))
    }

    fn cycles(
        &mut self,
        machine: String,
        _range: TimeRange,
    ) -> wasmtime::Result<Result<Vec<Cycle>, Error>> {
        Ok(require(self, Capability::MachineData).and_then(|()| Err(not_found(self, &machine))))
    }

    fn alarms(
        &mut self,
        machine: String,
        _range: TimeRange,
    ) -> wasmtime::Result<Result<Vec<Alarm>, Error>> {
        Ok(require(self, Capability::MachineData).and_then(|()| Err(not_found(self, &machine))))
    }
}
