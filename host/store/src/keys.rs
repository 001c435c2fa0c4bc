//! Key layout of the sled trees.
//!
//! Ids are validated slugs (`[a-z0-9_-]`), so they never contain the separator byte 0x00: joining
//! `org 0x00 machine` is unambiguous, and the prefix `org 0x00` cannot match another organization
//! whose id merely starts the same (`acme` vs `acme-east`). Sequence numbers are big-endian so that
//! sled's byte ordering is sequence ordering.

use chatter_model::{MachineId, OrgId, PluginId, UserId};

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
    /// `org 0 machine 0 day kind` → postcard list of every record of `kind` (1 intervals,
    /// 2 part counts, 3 cycles, 4 alarms) keyed within the UTC day starting at `day`: a copy of
    /// them, made when first read (see `sled_store::pages`).
    pub(crate) const DAY_PAGES: &str = "derived_day_pages";
    /// Lower-case hex SHA-256 of a device token → JSON [`DeviceToken`](chatter_model::DeviceToken).
    pub(crate) const DEVICE_TOKENS: &str = "device_tokens";
    /// `plugin` → JSON [`PluginInstall`](crate::PluginInstall).
    pub(crate) const PLUGINS: &str = "plugins";
    /// Lower-case hex SHA-256 → WebAssembly component.
    pub(crate) const COMPONENTS: &str = "components";
    /// Lower-case hex SHA-256 → number of installs of the component, big-endian `u64`.
    pub(crate) const COMPONENT_REFS: &str = "component_refs";
    /// `user` → JSON [`User`](chatter_model::User).
    pub(crate) const USERS: &str = "users";
    /// E-mail address → the id of the user who has it: what makes addresses unique.
    pub(crate) const USER_EMAILS: &str = "user_emails";
    /// `org 0 user` → JSON [`Membership`](chatter_model::Membership).
    pub(crate) const MEMBERSHIPS: &str = "memberships";
    /// `user 0 org` → nothing: the index of a user's memberships.
    pub(crate) const USER_MEMBERSHIPS: &str = "user_memberships";
    /// Lower-case hex SHA-256 of a session id → JSON [`Session`](chatter_model::Session).
    pub(crate) const SESSIONS: &str = "sessions";
    /// `user 0 hash` → nothing: the index of a user's sessions.
    pub(crate) const USER_SESSIONS: &str = "user_sessions";
    /// Lower-case hex SHA-256 of an API token → JSON [`ApiToken`](chatter_model::ApiToken).
    pub(crate) const API_TOKENS: &str = "api_tokens";
    /// `user 0 hash` → nothing: the index of a user's API tokens.
    pub(crate) const USER_API_TOKENS: &str = "user_api_tokens";
    /// Lower-case hex SHA-256 of an invitation's secret → JSON
    /// [`Invitation`](chatter_model::Invitation).
    pub(crate) const INVITATIONS: &str = "invitations";
    /// `org 0 hash` → nothing: the index of an organization's invitations.
    pub(crate) const ORG_INVITATIONS: &str = "org_invitations";
    /// Lower-case hex SHA-256 of a link's secret → JSON [`EmailLink`](chatter_model::EmailLink).
    pub(crate) const EMAIL_LINKS: &str = "email_links";
    /// `org 0 connection` → JSON [`Connection`](chatter_model::Connection).
    pub(crate) const CONNECTIONS: &str = "connections";
    /// `org 0 entry` → JSON [`LibraryEntry`](chatter_model::LibraryEntry).
    pub(crate) const LIBRARY: &str = "library";
    /// `org 0 connection 0 SHA-256 of a version id` → the id of the entry it was imported as.
    pub(crate) const LIBRARY_VERSIONS: &str = "library_versions";
    /// `org 0 run` → JSON [`ReportRun`](chatter_model::ReportRun); run ids sort by creation.
    pub(crate) const REPORT_RUNS: &str = "report_runs";
    /// `org 0 run 0 name` → `media type 0 bytes` of a report's document.
    pub(crate) const REPORT_DOCUMENTS: &str = "report_documents";
    /// `org 0 schedule` → JSON [`ReportSchedule`](chatter_model::ReportSchedule).
    pub(crate) const REPORT_SCHEDULES: &str = "report_schedules";
    /// `org 0 rule` → JSON [`AlertRule`](chatter_model::AlertRule).
    pub(crate) const ALERT_RULES: &str = "alert_rules";
    /// `org 0 event` → JSON [`AlertEvent`](chatter_model::AlertEvent); event ids sort by
    /// creation.
    pub(crate) const ALERT_EVENTS: &str = "alert_events";
    /// `org 0 rule 0 user` → JSON [`UserMute`](chatter_model::UserMute).
    pub(crate) const ALERT_MUTES: &str = "alert_mutes";
    /// Record number, big-endian `u64` → JSON
    /// [`AuditRecord`](chatter_model::audit::AuditRecord).
    pub(crate) const AUDIT: &str = "audit";
    /// Installation-wide values, under the keys in [`meta`](super::meta).
    pub(crate) const META: &str = "meta";
}

/// Keys of the [`tree::META`] tree.
pub(crate) mod meta {
    /// How many audit records were ever appended, big-endian `u64`.
    pub(crate) const AUDIT_WRITTEN: &[u8] = b"audit_written";
    /// The hash of the last audit record appended, as text: the next one chains to it even if
    /// stored records were tampered with.
    pub(crate) const AUDIT_HEAD: &[u8] = b"audit_head";
    /// The installation's 32 random bytes for signing links.
    pub(crate) const SERVER_SECRET: &[u8] = b"server_secret";
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

/// Key of a user.
pub(crate) fn user(user: &UserId) -> Vec<u8> {
    user.as_str().as_bytes().to_vec()
}

/// Prefix of every index entry of a user: `user 0`.
pub(crate) fn user_prefix(user: &UserId) -> Vec<u8> {
    joined(user.as_str(), "")
}

/// Key of a membership, `org 0 user`, so an organization's members are one prefix.
pub(crate) fn member(org: &OrgId, user: &UserId) -> Vec<u8> {
    joined(org.as_str(), user.as_str())
}

/// Key of a membership in the user's index, `user 0 org`.
pub(crate) fn membership_of(user: &UserId, org: &OrgId) -> Vec<u8> {
    joined(user.as_str(), org.as_str())
}

/// Key of a record owned by a user or an organization in its index: `owner 0 hash`.
pub(crate) fn owned(owner: &str, hash: &str) -> Vec<u8> {
    joined(owner, hash)
}

/// What follows the prefix `owner 0` in an index key, as text.
pub(crate) fn owned_rest(key: &[u8], prefix_len: usize) -> String {
    String::from_utf8_lossy(key.get(prefix_len..).unwrap_or_default()).into_owned()
}

/// Key of a record stored under the hash of its secret (session, API token, invitation, link).
pub(crate) fn hashed(hash: &str) -> Vec<u8> {
    hash.as_bytes().to_vec()
}

/// Key of an audit record: its number, big-endian so the tree is in number order.
pub(crate) fn audit(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

fn joined(first: &str, second: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(first.len() + 1 + second.len());
    key.extend_from_slice(first.as_bytes());
    key.push(SEPARATOR);
    key.extend_from_slice(second.as_bytes());
    key
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
    fn a_user_prefix_does_not_cover_a_longer_id() {
        let ann = UserId::new("ann").unwrap();
        let anna = UserId::new("anna").unwrap();
        let org = OrgId::new("o").unwrap();
        assert!(!membership_of(&anna, &org).starts_with(&user_prefix(&ann)));
        assert!(owned(ann.as_str(), "ab").starts_with(&user_prefix(&ann)));
        let key = owned(ann.as_str(), "ab12");
        assert_eq!(owned_rest(&key, user_prefix(&ann).len()), "ab12");
    }

    #[test]
    fn audit_keys_sort_by_number() {
        assert!(audit(255) < audit(256));
        assert!(audit(1) < audit(u64::MAX));
    }

    #[test]
    fn keys_display_escaped() {
        let key = machine(&OrgId::new("o").unwrap(), &MachineId::new("m").unwrap());
        assert_eq!(display(&key), "o\\x00m");
    }
}
