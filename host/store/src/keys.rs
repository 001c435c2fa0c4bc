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
    /// `org 0 machine` → the machine's deriver snapshot, opaque to the store; `org 0 machine 0 f`
    /// in [`SEQUENCES`] holds the last forwarded sequence number instead.
    pub(crate) const DERIVER: &str = "deriver";
    /// `org 0 machine 0 start` → postcard [`Interval`](chatter_model::Interval).
    pub(crate) const INTERVALS: &str = "intervals";
    /// `org 0 machine 0 at counter` → postcard [`PartCount`](chatter_model::PartCount).
    pub(crate) const PARTS: &str = "parts";
    /// `org 0 machine 0 end` → postcard [`Cycle`](chatter_model::Cycle).
    pub(crate) const CYCLES: &str = "cycles";
    /// `org 0 machine 0 start data_item 0 native_code` → postcard [`Alarm`](chatter_model::Alarm).
    pub(crate) const ALARMS: &str = "alarms";
    /// `org 0 machine 0 hour` → postcard [`Totals`](chatter_model::Totals) of the UTC hour's
    /// closed intervals, parts, ended cycles and raised alarms.
    pub(crate) const HOURS: &str = "rollup_hours";
    /// `org 0 machine 0 day` → the same for the UTC day.
    pub(crate) const DAYS: &str = "rollup_days";
    /// Lower-case hex SHA-256 of a device token → JSON [`DeviceToken`](chatter_model::DeviceToken).
    pub(crate) const DEVICE_TOKENS: &str = "device_tokens";
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

/// Key, in the sequences tree, of the last sequence number an edge forwarded for the machine.
pub(crate) fn forwarded(org: &OrgId, machine_id: &MachineId) -> Vec<u8> {
    let mut key = series_prefix(org, machine_id);
    key.push(b'f');
    key
}

/// A timestamp as key bytes that sort as the timestamps do, negative ones included.
pub(crate) fn time(timestamp: i64) -> [u8; 8] {
    (timestamp.cast_unsigned() ^ (1 << 63)).to_be_bytes()
}

/// Key of a record of the machine whose series prefix is `prefix`, at `timestamp`, followed by
/// `rest` to tell apart records at the same time.
pub(crate) fn timed(prefix: &[u8], timestamp: i64, rest: &[&[u8]]) -> Vec<u8> {
    let mut key =
        Vec::with_capacity(prefix.len() + 8 + rest.iter().map(|r| r.len() + 1).sum::<usize>());
    key.extend_from_slice(prefix);
    key.extend_from_slice(&time(timestamp));
    for (i, part) in rest.iter().enumerate() {
        if i > 0 {
            key.push(SEPARATOR);
        }
        key.extend_from_slice(part);
    }
    key
}

/// The timestamp a [`timed`] key holds after the `prefix_len` bytes of its prefix.
pub(crate) fn time_of(key: &[u8], prefix_len: usize) -> Option<i64> {
    let bytes: [u8; 8] = key.get(prefix_len..prefix_len + 8)?.try_into().ok()?;
    Some((u64::from_be_bytes(bytes) ^ (1 << 63)).cast_signed())
}

/// Key of a device token.
pub(crate) fn device_token(hash: &str) -> Vec<u8> {
    hash.as_bytes().to_vec()
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
    fn time_keys_sort_as_timestamps() {
        let prefix = b"p\0";
        let keys: Vec<_> = [i64::MIN, -5, 0, 7, i64::MAX]
            .iter()
            .map(|&t| timed(prefix, t, &[]))
            .collect();
        assert!(keys.is_sorted());
        assert_eq!(time_of(&keys[1], prefix.len()), Some(-5));
        assert_eq!(time_of(&keys[4], prefix.len()), Some(i64::MAX));
    }

    #[test]
    fn keys_display_escaped() {
        let key = machine(&OrgId::new("o").unwrap(), &MachineId::new("m").unwrap());
        assert_eq!(display(&key), "o\\x00m");
    }
}
