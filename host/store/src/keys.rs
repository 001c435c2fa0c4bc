//! Key layout of the sled trees.
//!
//! Ids are validated slugs (`[a-z0-9_-]`), so they never contain the separator byte 0x00: joining
//! `org 0x00 machine` is unambiguous, and the prefix `org 0x00` cannot match another organization
//! whose id merely starts the same (`acme` vs `acme-east`). Sequence numbers are big-endian so that
//! sled's byte ordering is sequence ordering.

use chatter_model::{MachineId, OrgId, PluginId};

/// Names of the trees, which are part of the on-disk format.
pub(crate) mod tree {
    /// `org` → JSON [`Organization`](chatter_model::Organization).
    pub(crate) const ORGANIZATIONS: &str = "organizations";
    /// `org 0 machine` → JSON [`Machine`](chatter_model::Machine).
    pub(crate) const MACHINES: &str = "machines";
    /// `org 0 machine` → JSON list of [`DataItem`](chatter_model::DataItem).
    pub(crate) const DATA_ITEMS: &str = "data_items";
    /// `org 0 machine` → postcard map of the driver instance's private state.
    pub(crate) const PLUGIN_STATE: &str = "plugin_state";
    /// `org 0 machine` → last assigned sequence number, big-endian `u64`.
    pub(crate) const SEQUENCES: &str = "sequences";
    /// `org 0 machine 0 first_sequence` → a chunk: consecutive observations of the machine, the
    /// first of which has `first_sequence` (see `codec`).
    pub(crate) const OBSERVATIONS: &str = "observations";
    /// `org 0 machine` → the latest observation of each of the machine's data items (see `codec`).
    pub(crate) const LATEST: &str = "latest";
    /// `plugin` → JSON [`PluginInstall`](crate::PluginInstall).
    pub(crate) const PLUGINS: &str = "plugins";
    /// Lower-case hex SHA-256 → WebAssembly component.
    pub(crate) const COMPONENTS: &str = "components";
    /// Lower-case hex SHA-256 → number of installs of the component, big-endian `u64`.
    pub(crate) const COMPONENT_REFS: &str = "component_refs";
}

const SEPARATOR: u8 = 0;

/// Key of an organization.
pub(crate) fn org(org: &OrgId) -> Vec<u8> {
    org.as_str().as_bytes().to_vec()
}

/// Prefix of every machine key of an organization.
pub(crate) fn org_prefix(org: &OrgId) -> Vec<u8> {
    let mut key = Vec::with_capacity(org.as_str().len() + 1);
    key.extend_from_slice(org.as_str().as_bytes());
    key.push(SEPARATOR);
    key
}

/// Key of a machine, its data items, its plugin state, its sequence counter and its latest values.
pub(crate) fn machine(org: &OrgId, machine: &MachineId) -> Vec<u8> {
    let mut key = org_prefix(org);
    key.extend_from_slice(machine.as_str().as_bytes());
    key
}

/// Prefix of a machine's observation chunks.
pub(crate) fn series_prefix(org: &OrgId, machine_id: &MachineId) -> Vec<u8> {
    let mut key = machine(org, machine_id);
    key.push(SEPARATOR);
    key
}

/// The first key after every key starting with `prefix`, which ends with the separator.
pub(crate) fn series_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    if let Some(last) = end.last_mut() {
        *last = SEPARATOR + 1;
    }
    end
}

/// Key of the chunk starting at `first_sequence` of the machine whose series prefix is `prefix`.
pub(crate) fn chunk(prefix: &[u8], first_sequence: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(prefix.len() + 8);
    key.extend_from_slice(prefix);
    key.extend_from_slice(&first_sequence.to_be_bytes());
    key
}

/// Key of a plugin install.
pub(crate) fn plugin(plugin: &PluginId) -> Vec<u8> {
    plugin.as_str().as_bytes().to_vec()
}

/// A key as text for error messages, with non-printable bytes escaped.
pub(crate) fn display(key: &[u8]) -> String {
    key.escape_ascii().to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn an_organization_prefix_does_not_cover_a_longer_id() {
        let acme = OrgId::new("acme").unwrap();
        let east = OrgId::new("acme-east").unwrap();
        let mill = MachineId::new("mill").unwrap();
        assert!(!machine(&east, &mill).starts_with(&org_prefix(&acme)));
    }

    #[test]
    fn chunk_keys_sort_by_sequence() {
        let prefix = series_prefix(&OrgId::new("o").unwrap(), &MachineId::new("m").unwrap());
        assert!(prefix < chunk(&prefix, 0));
        assert!(chunk(&prefix, 255) < chunk(&prefix, 256));
        assert!(chunk(&prefix, u64::MAX) < series_end(&prefix));
    }

    #[test]
    fn keys_display_escaped() {
        let key = machine(&OrgId::new("o").unwrap(), &MachineId::new("m").unwrap());
        assert_eq!(display(&key), "o\\x00m");
    }
}
