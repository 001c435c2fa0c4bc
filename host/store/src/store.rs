//! The storage interface every backend implements.

use std::collections::BTreeMap;
use std::ops::Range;

use chatter_model::{
    Alarm, Cycle, DataItem, DeviceToken, Interval, Machine, MachineId, Observation, OrgId,
    Organization, PartCount, PluginId, StoredObservation, Timestamp, Totals,
};
use serde::{Deserialize, Serialize};

use crate::accounts::Accounts;
use crate::alerts::Alerts;
use crate::error::StoreError;
use crate::library::Library;
use crate::reports::Reports;

/// A plugin installed by the operator, for the whole installation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginInstall {
    /// Its id.
    pub id: PluginId,
    /// Its version, as its manifest states it.
    pub version: String,
    /// What it is (`driver`, `integration`, `report`, …).
    pub kind: String,
    /// The plugin API version it was built against.
    pub api_version: String,
    /// One-line description.
    pub description: String,
    /// Lower-case hex SHA-256 of its WebAssembly component.
    pub component_sha256: String,
    /// Its manifest, verbatim.
    pub manifest_toml: String,
    /// When it was installed, in milliseconds since the Unix epoch.
    pub installed_at_ms: i64,
}

/// What [`Store::append_observations`] stored: the sequence numbers it gave the batch, and which
/// observations went backwards in time.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Appended {
    /// The sequence numbers given to the batch, one per observation, in order.
    pub sequences: Range<u64>,
    /// The sequence numbers of the observations stored with
    /// [`backwards`](StoredObservation::backwards) set, ascending; usually empty.
    pub backwards: Vec<u64>,
}

impl Appended {
    /// Whether the observation stored under `sequence` went backwards in time.
    pub fn is_backwards(&self, sequence: u64) -> bool {
        self.backwards.binary_search(&sequence).is_ok()
    }
}

/// What [`Store::append_forwarded`] stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Forwarded {
    /// How many observations at the start of the batch were already stored by an earlier
    /// delivery, and were skipped.
    pub duplicates: usize,
    /// What the rest were stored as.
    pub appended: Appended,
    /// The last sequence number of the stream now stored (0 if none is).
    pub last_sequence: u64,
}

/// What a machine's deriver closed since its last write, with its snapshot: written together, so
/// the snapshot always says how far the stored records go.
#[derive(Debug, Clone, Copy)]
pub struct DerivedRecords<'a> {
    /// Closed state intervals.
    pub intervals: &'a [Interval],
    /// Rises of the part counter.
    pub parts: &'a [PartCount],
    /// Ended cycles.
    pub cycles: &'a [Cycle],
    /// Cleared alarms.
    pub alarms: &'a [Alarm],
    /// The deriver's snapshot after them, opaque to the store.
    pub snapshot: &'a [u8],
}

/// What [`Store::expire`] removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Expiry {
    /// Raw observations stamped before this time go…
    pub raw_before: Option<Timestamp>,
    /// …but none numbered above this sequence (an edge keeps what it has not forwarded yet).
    pub raw_through: Option<u64>,
    /// Derived records that ended before this time go.
    pub derived_before: Option<Timestamp>,
}

/// How much [`Store::expire`] removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Expired {
    /// Raw observations removed.
    pub observations: u64,
    /// Derived records (intervals, parts, cycles, alarms, roll-ups) removed.
    pub derived: u64,
    /// Whether more is due: the call stopped at its budget.
    pub more: bool,
}

/// Durable storage of organizations, machines, plugins and observations.
///
/// Tenancy is absolute: every method touching an organization's data takes its [`OrgId`] and only
/// ever sees that organization's data. Two organizations may have machines with the same
/// [`MachineId`]; they are unrelated.
///
/// Every write returns only once it is durable. Reads of something that does not exist return
/// `None` or an empty collection rather than an error.
#[async_trait::async_trait]
pub trait Store: Accounts + Library + Reports + Alerts {
    /// Creates or replaces an organization.
    async fn put_organization(&self, org: &Organization) -> Result<(), StoreError>;

    /// Removes an organization with everything of it: machines with all their data, device
    /// tokens, memberships, invitations and API tokens. Audit records stay. Returns whether it
    /// existed.
    async fn remove_organization(&self, org: &OrgId) -> Result<bool, StoreError>;

    /// The organization, if it exists.
    async fn organization(&self, org: &OrgId) -> Result<Option<Organization>, StoreError>;

    /// Every organization, sorted by id.
    async fn organizations(&self) -> Result<Vec<Organization>, StoreError>;

    /// Creates or replaces a machine of `machine.org`.
    ///
    /// Fails with [`StoreError::UnknownOrganization`] if the organization does not exist.
    async fn put_machine(&self, machine: &Machine) -> Result<(), StoreError>;

    /// The machine, if it exists in the organization.
    async fn machine(
        &self,
        org: &OrgId,
        machine: &MachineId,
    ) -> Result<Option<Machine>, StoreError>;

    /// The organization's machines, sorted by id.
    async fn machines(&self, org: &OrgId) -> Result<Vec<Machine>, StoreError>;

    /// Removes a machine with its observations, latest values, data items and plugin state.
    /// Returns whether it existed.
    ///
    /// Its sequence counter is kept: a machine created again with the same id continues after the
    /// last sequence number of the removed one, so sequence numbers are never reused and a
    /// consumer's `after` cursor cannot skip the new machine's first observations.
    async fn remove_machine(&self, org: &OrgId, machine: &MachineId) -> Result<bool, StoreError>;

    /// Replaces the data items the machine's driver declares.
    ///
    /// Fails with [`StoreError::UnknownMachine`] if the machine does not exist.
    async fn put_data_items(
        &self,
        org: &OrgId,
        machine: &MachineId,
        items: &[DataItem],
    ) -> Result<(), StoreError>;

    /// The data items the machine's driver declared last, in the order it declared them.
    async fn data_items(
        &self,
        org: &OrgId,
        machine: &MachineId,
    ) -> Result<Vec<DataItem>, StoreError>;

    /// Installs or replaces a plugin: its record and its component, atomically.
    ///
    /// Fails with [`StoreError::ComponentDigestMismatch`] if `component` does not hash to
    /// `install.component_sha256`; nothing is stored then.
    async fn put_plugin(&self, install: &PluginInstall, component: &[u8])
    -> Result<(), StoreError>;

    /// The plugin's install record, if it is installed.
    async fn plugin(&self, plugin: &PluginId) -> Result<Option<PluginInstall>, StoreError>;

    /// Every installed plugin, sorted by id.
    async fn plugins(&self) -> Result<Vec<PluginInstall>, StoreError>;

    /// The plugin's WebAssembly component, if it is installed.
    async fn plugin_component(&self, plugin: &PluginId) -> Result<Option<Vec<u8>>, StoreError>;

    /// Uninstalls a plugin, and deletes its component unless another install has the same one.
    /// Returns whether it was installed.
    async fn remove_plugin(&self, plugin: &PluginId) -> Result<bool, StoreError>;

    /// Appends observations to the machine's sequence and returns the sequence numbers they were
    /// given, in order, with those that went backwards in time.
    ///
    /// Sequence numbers start at 1, are contiguous and are never reused, whatever the
    /// concurrency. An observation is stored as [`backwards`](StoredObservation::backwards) if
    /// its timestamp is earlier than that of the observation stored just before it for the
    /// machine, in this batch or an earlier one; a machine's first observation never is, nor is
    /// the first of a machine created again after [`Store::remove_machine`]. The latest value of
    /// each data item is updated with them. An empty batch stores nothing and returns an empty
    /// range at the next sequence number.
    ///
    /// Fails with [`StoreError::UnknownMachine`] if the machine does not exist.
    async fn append_observations(
        &self,
        org: &OrgId,
        machine: &MachineId,
        observations: &[Observation],
    ) -> Result<Appended, StoreError>;

    /// Up to `limit` of the machine's observations with a sequence number above
    /// `after_sequence`, in ascending order. Pass 0 to start at the beginning.
    async fn observations(
        &self,
        org: &OrgId,
        machine: &MachineId,
        after_sequence: u64,
        limit: usize,
    ) -> Result<Vec<StoredObservation>, StoreError>;

    /// The latest observation of each of the machine's data items, sorted by data item id.
    async fn latest_observations(
        &self,
        org: &OrgId,
        machine: &MachineId,
    ) -> Result<Vec<StoredObservation>, StoreError>;

    /// The last sequence number given to the machine, 0 if none was.
    async fn last_sequence(&self, org: &OrgId, machine: &MachineId) -> Result<u64, StoreError>;

    /// The private state of the machine's driver instance; empty if it has none.
    async fn plugin_state(
        &self,
        org: &OrgId,
        machine: &MachineId,
    ) -> Result<BTreeMap<String, Vec<u8>>, StoreError>;

    /// Replaces the private state of the machine's driver instance.
    ///
    /// Fails with [`StoreError::UnknownMachine`] if the machine does not exist.
    async fn put_plugin_state(
        &self,
        org: &OrgId,
        machine: &MachineId,
        state: &BTreeMap<String, Vec<u8>>,
    ) -> Result<(), StoreError>;

    /// Appends observations an edge connector forwarded from its stream `stream` (an id the
    /// edge chose when it began recording the machine), numbered by the edge with strictly
    /// increasing `source_sequences`, one per observation. Observations numbered at or below
    /// the last one stored from the same stream were delivered before and are skipped, so a
    /// batch sent again after a lost acknowledgement is stored once. A new stream (an edge
    /// replaced or reset) starts afresh. The rest are appended as
    /// [`Store::append_observations`] does, and the stream's last number is remembered with
    /// them.
    ///
    /// Fails with [`StoreError::UnknownMachine`], or [`StoreError::Unordered`] if the numbers
    /// are not strictly increasing or not one per observation.
    async fn append_forwarded(
        &self,
        org: &OrgId,
        machine: &MachineId,
        stream: &str,
        source_sequences: &[u64],
        observations: &[Observation],
    ) -> Result<Forwarded, StoreError>;

    /// The stream the machine's observations were last forwarded from, and the last sequence
    /// number stored from it.
    async fn last_forwarded(
        &self,
        org: &OrgId,
        machine: &MachineId,
    ) -> Result<Option<(String, u64)>, StoreError>;

    /// Stores what the machine's deriver closed, with its snapshot, atomically, and adds them to
    /// the hourly and daily roll-ups. Not made durable before returning: derived data is
    /// recomputed from the observations after the snapshot if a crash loses it.
    ///
    /// Fails with [`StoreError::UnknownMachine`] if the machine does not exist.
    async fn put_derived(
        &self,
        org: &OrgId,
        machine: &MachineId,
        records: DerivedRecords<'_>,
    ) -> Result<(), StoreError>;

    /// The machine's deriver snapshot, if one was stored.
    async fn deriver_snapshot(
        &self,
        org: &OrgId,
        machine: &MachineId,
    ) -> Result<Option<Vec<u8>>, StoreError>;

    /// The machine's closed intervals overlapping `[from, to)`, in order.
    async fn intervals(
        &self,
        org: &OrgId,
        machine: &MachineId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Interval>, StoreError>;

    /// Time per state of the closed intervals within `[from, to)` (clipped to it), with the
    /// parts counted, cycles ended and alarms raised in it. Answers from the roll-ups for whole
    /// hours and days, so a month costs a few dozen reads.
    async fn totals(
        &self,
        org: &OrgId,
        machine: &MachineId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Totals, StoreError>;

    /// Up to `limit` rises of the part counter in `[from, to)`, in order.
    async fn parts(
        &self,
        org: &OrgId,
        machine: &MachineId,
        from: Timestamp,
        to: Timestamp,
        limit: usize,
    ) -> Result<Vec<PartCount>, StoreError>;

    /// Up to `limit` cycles that ended in `[from, to)`, in order of their end.
    async fn cycles(
        &self,
        org: &OrgId,
        machine: &MachineId,
        from: Timestamp,
        to: Timestamp,
        limit: usize,
    ) -> Result<Vec<Cycle>, StoreError>;

    /// Up to `limit` cleared alarms raised in `[from, to)`, in order of their start.
    async fn alarms(
        &self,
        org: &OrgId,
        machine: &MachineId,
        from: Timestamp,
        to: Timestamp,
        limit: usize,
    ) -> Result<Vec<Alarm>, StoreError>;

    /// Removes what `expiry` says of the machine's data, at most about `budget` records per
    /// call so that ingest is never held up for long. Latest values are kept. Call again while
    /// [`Expired::more`] is set.
    async fn expire(
        &self,
        org: &OrgId,
        machine: &MachineId,
        expiry: Expiry,
        budget: usize,
    ) -> Result<Expired, StoreError>;

    /// Stores a device token's record under the SHA-256 of the token (lower-case hex).
    ///
    /// Fails with [`StoreError::UnknownOrganization`] if its organization does not exist.
    async fn put_device_token(&self, hash: &str, token: &DeviceToken) -> Result<(), StoreError>;

    /// The record of the token whose SHA-256 is `hash`, whatever its organization: the token is
    /// what names the organization.
    async fn device_token(&self, hash: &str) -> Result<Option<DeviceToken>, StoreError>;

    /// The organization's device tokens with their hashes, sorted by creation.
    async fn device_tokens(&self, org: &OrgId) -> Result<Vec<(String, DeviceToken)>, StoreError>;
}
