//! Removing an organization with everything of it, and the writes that must not outlive that.
//!
//! The organization's record goes first, so that nothing new can be added for it (every write of
//! an organization's records checks the record in the transaction that writes them); then its
//! access (API tokens, invitations, memberships, device tokens); then its machines with all their
//! data. Every step is safe to repeat, and creating an organization runs them too, so a crash in
//! the middle leaves nothing a new organization with the same id could inherit.

use chatter_model::{DeviceToken, MachineId, OrgId};
use sled::transaction::abort;

use super::{SledStore, Table};
use crate::codec;
use crate::error::StoreError;
use crate::keys;

impl SledStore {
    /// Inserts `value` under `key` of `table` if the organization exists, checking in the same
    /// transaction. sled runs transactions one at a time, so a record written this way was
    /// either in place before the organization's removal began (which then finds it) or fails.
    pub(super) fn insert_for_org(
        &self,
        table: &Table,
        org: &OrgId,
        key: &[u8],
        value: &[u8],
    ) -> Result<(), StoreError> {
        let org_key = keys::org(org);
        let tables = (&self.trees.organizations.tree, &table.tree);
        sled::Transactional::transaction(&tables, |(organizations, records)| {
            if organizations.get(org_key.as_slice())?.is_none() {
                return abort(StoreError::UnknownOrganization(org.clone()));
            }
            records.insert(key, value)?;
            Ok(())
        })
        .map_err(|e| {
            StoreError::from_transaction(e, || {
                format!(
                    "writing `{}` of `{org}` in tree `{}`",
                    keys::display(key),
                    table.name
                )
            })
        })
    }

    /// Removes the organization and everything of it; returns whether it existed. Takes as long
    /// as the organization has data: each machine's observations go in batches.
    pub(super) fn delete_organization(&self, org: &OrgId) -> Result<bool, StoreError> {
        let existed = self.trees.organizations.remove(&keys::org(org))?;
        // Even if it did not exist: an earlier removal may have been cut short.
        self.purge_organization(org)?;
        if existed {
            tracing::info!(%org, "removed organization");
        }
        Ok(existed)
    }

    /// Removes everything of the organization but its record: access first, then data.
    pub(super) fn purge_organization(&self, org: &OrgId) -> Result<(), StoreError> {
        self.purge_org_accounts(org)?;
        self.purge_device_tokens(org)?;
        self.purge_org_library(org)?;
        self.purge_org_reports(org)?;
        self.purge_org_alerts(org)?;
        self.purge_org_machines(org)
    }

    fn purge_device_tokens(&self, org: &OrgId) -> Result<(), StoreError> {
        let table = &self.trees.device_tokens;
        // Device tokens are keyed by hash only; an organization has a handful, so a scan is
        // cheaper than an index to keep.
        let hashes = table.scan(&[], |key, value| {
            let token: DeviceToken = codec::from_json(table.name, key, value)?;
            Ok((&token.org == org).then(|| key.to_vec()))
        })?;
        let mut batch = sled::Batch::default();
        for hash in hashes.into_iter().flatten() {
            batch.remove(hash);
        }
        table.apply(batch, &[])
    }

    /// Removes every machine through [`SledStore::delete_machine`], which waits for writes in
    /// progress on it, then every key left under the organization's prefix in every machine
    /// tree: sequence counters and forwarded-stream marks (which removing a machine keeps), and
    /// whatever an interrupted removal left.
    fn purge_org_machines(&self, org: &OrgId) -> Result<(), StoreError> {
        let prefix = keys::org_prefix(org);
        // Ids from the keys rather than the records, so a record that no longer decodes does not
        // stop the removal; a key that is no valid id goes with the prefix below.
        let machines = self.trees.machines.scan(&prefix, |key, _| {
            Ok(MachineId::new(keys::owned_rest(key, prefix.len())).ok())
        })?;
        for machine in machines.iter().flatten() {
            self.delete_machine(org, machine)?;
        }
        for table in self.trees.machine_keyed() {
            table.remove_prefix(&prefix)?;
        }
        Ok(())
    }
}
