//! Organizations, machines and the records that belong to a machine.

use chatter_model::{Machine, MachineId, OrgId, Organization};
use sled::Transactional;
use sled::transaction::ConflictableTransactionResult;

use super::{SledStore, Table};
use crate::codec;
use crate::error::StoreError;
use crate::keys;

impl SledStore {
    pub(super) fn write_organization(&self, org: &Organization) -> Result<(), StoreError> {
        let value = codec::to_json("an organization", org)?;
        let key = keys::org(&org.id);
        if !self.trees.organizations.contains(&key)? {
            // A crash in the middle of `delete_organization` can leave machines, tokens or
            // memberships behind; a new organization with the id must not inherit them.
            self.purge_organization(&org.id)?;
        }
        self.trees.organizations.insert(&key, value)
    }

    pub(super) fn write_machine(&self, machine: &Machine) -> Result<(), StoreError> {
        if !self
            .trees
            .organizations
            .contains(&keys::org(&machine.org))?
        {
            return Err(StoreError::UnknownOrganization(machine.org.clone()));
        }
        let value = codec::to_json("a machine", machine)?;
        let key = keys::machine(&machine.org, &machine.id);
        let _guard = self.locks.lock(&machine.org, &machine.id);
        if !self.trees.machines.contains(&key)? {
            // A crash in the middle of `delete_machine` can leave observations behind; a new
            // machine must not inherit them. Purging before inserting keeps this safe to repeat.
            self.purge_series(&machine.org, &machine.id)?;
            self.purge_derived(&machine.org, &machine.id)?;
        }
        // Checked again with the insert, so a machine cannot slip in after its organization's
        // removal has listed the machines to remove.
        self.insert_for_org(&self.trees.machines, &machine.org, &key, &value)
    }

    /// Writes a record keyed like the machine (data items, plugin state) if the machine exists.
    pub(super) fn write_machine_record(
        &self,
        table: &Table,
        org: &OrgId,
        machine: &MachineId,
        value: Vec<u8>,
    ) -> Result<(), StoreError> {
        let key = keys::machine(org, machine);
        // Held so that a concurrent removal cannot slip in between the check and the write.
        let _guard = self.locks.lock(org, machine);
        if !self.trees.machines.contains(&key)? {
            return Err(unknown_machine(org, machine));
        }
        table.insert(&key, value)
    }

    /// Deletes the machine and everything recorded for it, except its sequence counter.
    pub(super) fn delete_machine(
        &self,
        org: &OrgId,
        machine: &MachineId,
    ) -> Result<bool, StoreError> {
        let key = keys::machine(org, machine);
        let _guard = self.locks.lock(org, machine);
        let trees = &self.trees;
        let existed = (
            &trees.machines.tree,
            &trees.data_items.tree,
            &trees.plugin_state.tree,
        )
            .transaction(|(machines, data_items, plugin_state)| {
                let existed = machines.remove(key.as_slice())?.is_some();
                data_items.remove(key.as_slice())?;
                plugin_state.remove(key.as_slice())?;
                ConflictableTransactionResult::<_, StoreError>::Ok(existed)
            })
            .map_err(|e| {
                StoreError::from_transaction(e, || {
                    format!("removing machine `{machine}` of `{org}`")
                })
            })?;
        if existed {
            // Not in the transaction: a machine can have millions of observations. Once the
            // machine record is gone nothing reads them, and `write_machine` purges leftovers.
            self.purge_series(org, machine)?;
            self.purge_derived(org, machine)?;
            tracing::info!(%org, %machine, "removed machine");
        }
        Ok(existed)
    }

    /// Removes the machine's observations and latest values. The latest values hold the last
    /// timestamp, so a machine created again after this starts with a fresh clock.
    fn purge_series(&self, org: &OrgId, machine: &MachineId) -> Result<(), StoreError> {
        let prefix = keys::series_prefix(org, machine);
        let chunks = self.trees.observations.remove_prefix(&prefix)?;
        let latest = self.trees.latest.remove(&keys::machine(org, machine))?;
        if chunks > 0 || latest {
            tracing::debug!(%org, %machine, chunks, latest, "purged observations");
        }
        Ok(())
    }
}

pub(super) fn unknown_machine(org: &OrgId, machine: &MachineId) -> StoreError {
    StoreError::UnknownMachine {
        org: org.clone(),
        machine: machine.clone(),
    }
}
