//! The embedded backend: one sled database, one tree per kind of record (layout in `keys`).
//!
//! sled calls are synchronous, but they are served from its page cache and its in-memory log;
//! only flushes wait for the disk, and those run on the commit thread (see `commit`).

mod accounts;
mod alerts;
mod derived;
mod library;
mod machines;
mod observations;
mod organizations;
mod pages;
mod plugins;
mod reports;
mod retention;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chatter_model::{
    Alarm, Cycle, DataItem, DeviceToken, Interval, Machine, MachineId, Observation, OrgId,
    Organization, PartCount, PluginId, StoredObservation, Timestamp, Totals,
};
use serde::de::DeserializeOwned;
use sled::transaction::{ConflictableTransactionError, ConflictableTransactionResult};

use crate::codec;
use crate::commit::{CommitMode, Committer};
use crate::disk_sync::DiskSync;
use crate::error::StoreError;
use crate::keys::{self, tree};
use crate::locks::MachineLocks;
use crate::store::{Appended, DerivedRecords, Expired, Expiry, Forwarded, PluginInstall, Store};

/// A [`Store`] in an embedded sled database.
///
/// Dropping it stops its commit thread and closes the database, so the same path can be opened
/// again right away.
pub struct SledStore {
    committer: Committer,
    trees: Trees,
    locks: MachineLocks,
}

/// A sled tree and its name, for error messages.
struct Table {
    tree: sled::Tree,
    name: &'static str,
}

struct Trees {
    organizations: Table,
    machines: Table,
    data_items: Table,
    plugin_state: Table,
    sequences: Table,
    observations: Table,
    latest: Table,
    deriver: Table,
    intervals: Table,
    parts: Table,
    cycles: Table,
    alarms: Table,
    hours: Table,
    days: Table,
    day_pages: Table,
    device_tokens: Table,
    plugins: Table,
    components: Table,
    component_refs: Table,
    users: Table,
    user_emails: Table,
    memberships: Table,
    user_memberships: Table,
    sessions: Table,
    user_sessions: Table,
    api_tokens: Table,
    user_api_tokens: Table,
    invitations: Table,
    org_invitations: Table,
    email_links: Table,
    audit: Table,
    meta: Table,
    connections: Table,
    library: Table,
    library_versions: Table,
    report_runs: Table,
    report_documents: Table,
    report_schedules: Table,
    alert_rules: Table,
    alert_events: Table,
    alert_mutes: Table,
}

impl SledStore {
    /// Opens (or creates) the store in the directory `path`, with group commit.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, CommitMode::default())
    }

    /// Opens (or creates) the store in the directory `path`, committing as `mode` says.
    pub fn open_with(path: impl AsRef<Path>, mode: CommitMode) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let db = open_when_unlocked(path)?;
        let disk = DiskSync::open(path).map_err(|e| open_error(path, e.into()))?;
        let store = Self::from_db(db, Some(disk), mode, path)?;
        tracing::info!(path = %path.display(), ?mode, "opened store");
        Ok(store)
    }

    /// A store that lives in memory-backed temporary files and vanishes when dropped; for tests.
    /// Its writes are flushed like any other, but nothing is synced to a disk.
    pub fn temporary() -> Result<Self, StoreError> {
        Self::temporary_with(CommitMode::default())
    }

    /// [`SledStore::temporary`], committing as `mode` says.
    pub fn temporary_with(mode: CommitMode) -> Result<Self, StoreError> {
        let path = Path::new("(temporary)");
        let db = sled::Config::new()
            .temporary(true)
            .open()
            .map_err(|e| open_error(path, e))?;
        Self::from_db(db, None, mode, path)
    }

    fn from_db(
        db: sled::Db,
        disk: Option<DiskSync>,
        mode: CommitMode,
        path: &Path,
    ) -> Result<Self, StoreError> {
        let trees = Trees::open(&db).map_err(|e| open_error(path, e))?;
        let committer = Committer::start(db, disk, mode).map_err(|e| open_error(path, e.into()))?;
        Ok(SledStore {
            committer,
            trees,
            locks: MachineLocks::new(),
        })
    }
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore").finish_non_exhaustive()
    }
}

/// How long opening waits for a lock held by a database of this process that is still closing.
const LOCK_WAIT: Duration = Duration::from_secs(1);

/// Opens the sled database at `path`, waiting briefly while it is locked.
///
/// sled releases its file lock only once its last background thread lets go of the file, which
/// can be a moment after the database is dropped; reopening at once (a restart in-process, a
/// test) must not fail for that. A lock held by another process still fails after the wait.
fn open_when_unlocked(path: &Path) -> Result<sled::Db, StoreError> {
    let started = Instant::now();
    loop {
        match sled::Config::new()
            .path(path)
            .open()
            .map_err(|e| open_error(path, e))
        {
            Err(StoreError::Locked { .. }) if started.elapsed() < LOCK_WAIT => {
                std::thread::sleep(Duration::from_millis(10));
            }
            opened => return opened,
        }
    }
}

fn open_error(path: &Path, source: sled::Error) -> StoreError {
    let path = PathBuf::from(path);
    // sled reports a held lock only in the text of an `Other` I/O error.
    let locked = matches!(&source, sled::Error::Io(e) if e.to_string().contains("acquire lock"));
    if locked {
        StoreError::Locked { path, source }
    } else {
        StoreError::Open { path, source }
    }
}

impl Trees {
    fn open(db: &sled::Db) -> sled::Result<Self> {
        let table = |name| Table::open(db, name);
        Ok(Trees {
            organizations: table(tree::ORGANIZATIONS)?,
            machines: table(tree::MACHINES)?,
            data_items: table(tree::DATA_ITEMS)?,
            plugin_state: table(tree::PLUGIN_STATE)?,
            sequences: table(tree::SEQUENCES)?,
            observations: table(tree::OBSERVATIONS)?,
            latest: table(tree::LATEST)?,
            deriver: table(tree::DERIVER)?,
            intervals: table(tree::INTERVALS)?,
            parts: table(tree::PARTS)?,
            cycles: table(tree::CYCLES)?,
            alarms: table(tree::ALARMS)?,
            hours: table(tree::HOURS)?,
            days: table(tree::DAYS)?,
            day_pages: table(tree::DAY_PAGES)?,
            device_tokens: table(tree::DEVICE_TOKENS)?,
            plugins: table(tree::PLUGINS)?,
            components: table(tree::COMPONENTS)?,
            component_refs: table(tree::COMPONENT_REFS)?,
            users: table(tree::USERS)?,
            user_emails: table(tree::USER_EMAILS)?,
            memberships: table(tree::MEMBERSHIPS)?,
            user_memberships: table(tree::USER_MEMBERSHIPS)?,
            sessions: table(tree::SESSIONS)?,
            user_sessions: table(tree::USER_SESSIONS)?,
            api_tokens: table(tree::API_TOKENS)?,
            user_api_tokens: table(tree::USER_API_TOKENS)?,
            invitations: table(tree::INVITATIONS)?,
            org_invitations: table(tree::ORG_INVITATIONS)?,
            email_links: table(tree::EMAIL_LINKS)?,
            audit: table(tree::AUDIT)?,
            meta: table(tree::META)?,
            connections: table(tree::CONNECTIONS)?,
            library: table(tree::LIBRARY)?,
            library_versions: table(tree::LIBRARY_VERSIONS)?,
            report_runs: table(tree::REPORT_RUNS)?,
            report_documents: table(tree::REPORT_DOCUMENTS)?,
            report_schedules: table(tree::REPORT_SCHEDULES)?,
            alert_rules: table(tree::ALERT_RULES)?,
            alert_events: table(tree::ALERT_EVENTS)?,
            alert_mutes: table(tree::ALERT_MUTES)?,
        })
    }

    /// Every tree keyed by `org 0 machine…`: what an organization's machines leave behind.
    fn machine_keyed(&self) -> [&Table; 14] {
        [
            &self.machines,
            &self.data_items,
            &self.plugin_state,
            &self.sequences,
            &self.observations,
            &self.latest,
            &self.deriver,
            &self.intervals,
            &self.parts,
            &self.cycles,
            &self.alarms,
            &self.hours,
            &self.days,
            &self.day_pages,
        ]
    }
}

/// Most removals are one machine's observation chunks; this bounds the memory a batch holds.
const REMOVAL_BATCH: usize = 10_000;

impl Table {
    fn open(db: &sled::Db, name: &'static str) -> sled::Result<Self> {
        Ok(Table {
            tree: db.open_tree(name)?,
            name,
        })
    }

    fn failed(&self, action: &'static str, key: &[u8]) -> impl FnOnce(sled::Error) -> StoreError {
        let name = self.name;
        StoreError::sled(move || format!("{action} `{}` in tree `{name}`", keys::display(key)))
    }

    fn get(&self, key: &[u8]) -> Result<Option<sled::IVec>, StoreError> {
        self.tree.get(key).map_err(self.failed("reading", key))
    }

    fn contains(&self, key: &[u8]) -> Result<bool, StoreError> {
        self.tree
            .contains_key(key)
            .map_err(self.failed("reading", key))
    }

    fn insert(&self, key: &[u8], value: Vec<u8>) -> Result<(), StoreError> {
        self.tree
            .insert(key, value)
            .map(drop)
            .map_err(self.failed("writing", key))
    }

    /// Removes `key`; returns whether it was there.
    fn remove(&self, key: &[u8]) -> Result<bool, StoreError> {
        self.tree
            .remove(key)
            .map(|previous| previous.is_some())
            .map_err(self.failed("removing", key))
    }

    fn get_json<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, StoreError> {
        let Some(bytes) = self.get(key)? else {
            return Ok(None);
        };
        codec::from_json(self.name, key, &bytes).map(Some)
    }

    /// Decodes every value whose key starts with `prefix`, in key order.
    fn scan<T>(
        &self,
        prefix: &[u8],
        decode: impl Fn(&[u8], &[u8]) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        self.tree
            .scan_prefix(prefix)
            .map(|entry| {
                let (key, value) = entry.map_err(self.failed("scanning", prefix))?;
                decode(&key, &value)
            })
            .collect()
    }

    fn scan_json<T: DeserializeOwned>(&self, prefix: &[u8]) -> Result<Vec<T>, StoreError> {
        self.scan(prefix, |key, value| codec::from_json(self.name, key, value))
    }

    /// Decodes the values of the last `limit` keys starting with `prefix`, last key first.
    fn scan_json_back<T: DeserializeOwned>(
        &self,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Vec<T>, StoreError> {
        self.tree
            .scan_prefix(prefix)
            .rev()
            .take(limit)
            .map(|entry| {
                let (key, value) = entry.map_err(self.failed("scanning", prefix))?;
                codec::from_json(self.name, &key, &value)
            })
            .collect()
    }

    /// Removes every key starting with `prefix`; returns how many there were.
    fn remove_prefix(&self, prefix: &[u8]) -> Result<usize, StoreError> {
        let mut removed = 0;
        let mut batch = sled::Batch::default();
        let mut pending = 0;
        for key in self.tree.scan_prefix(prefix).keys() {
            batch.remove(key.map_err(self.failed("scanning", prefix))?);
            pending += 1;
            if pending == REMOVAL_BATCH {
                self.apply(std::mem::take(&mut batch), prefix)?;
                removed += pending;
                pending = 0;
            }
        }
        self.apply(batch, prefix)?;
        Ok(removed + pending)
    }

    fn apply(&self, batch: sled::Batch, prefix: &[u8]) -> Result<(), StoreError> {
        self.tree
            .apply_batch(batch)
            .map_err(self.failed("removing keys under", prefix))
    }
}

/// Lets a store error abort a sled transaction, to come out of it unchanged.
fn abort_on<T>(result: Result<T, StoreError>) -> ConflictableTransactionResult<T, StoreError> {
    result.map_err(ConflictableTransactionError::Abort)
}

/// Reads a big-endian counter inside a transaction; absent means 0.
fn read_count(
    tree: &sled::transaction::TransactionalTree,
    name: &'static str,
    key: &[u8],
) -> ConflictableTransactionResult<u64, StoreError> {
    match tree.get(key)? {
        None => Ok(0),
        Some(bytes) => abort_on(codec::decode_u64(name, key, &bytes)),
    }
}

#[async_trait::async_trait]
impl Store for SledStore {
    async fn put_organization(&self, org: &Organization) -> Result<(), StoreError> {
        self.write_organization(org)?;
        self.committer.commit().await
    }

    async fn remove_organization(&self, org: &OrgId) -> Result<bool, StoreError> {
        let existed = self.delete_organization(org)?;
        // Always: even for an organization already gone, the purge may have removed leftovers.
        self.committer.commit().await?;
        Ok(existed)
    }

    async fn organization(&self, org: &OrgId) -> Result<Option<Organization>, StoreError> {
        self.trees.organizations.get_json(&keys::org(org))
    }

    async fn organizations(&self) -> Result<Vec<Organization>, StoreError> {
        self.trees.organizations.scan_json(&[])
    }

    async fn put_machine(&self, machine: &Machine) -> Result<(), StoreError> {
        self.write_machine(machine)?;
        self.committer.commit().await
    }

    async fn machine(
        &self,
        org: &OrgId,
        machine: &MachineId,
    ) -> Result<Option<Machine>, StoreError> {
        self.trees.machines.get_json(&keys::machine(org, machine))
    }

    async fn machines(&self, org: &OrgId) -> Result<Vec<Machine>, StoreError> {
        self.trees.machines.scan_json(&keys::org_prefix(org))
    }

    async fn remove_machine(&self, org: &OrgId, machine: &MachineId) -> Result<bool, StoreError> {
        let existed = self.delete_machine(org, machine)?;
        if existed {
            self.committer.commit().await?;
        }
        Ok(existed)
    }

    async fn put_data_items(
        &self,
        org: &OrgId,
        machine: &MachineId,
        items: &[DataItem],
    ) -> Result<(), StoreError> {
        let value = codec::to_json("data items", items)?;
        self.write_machine_record(&self.trees.data_items, org, machine, value)?;
        self.committer.commit().await
    }

    async fn data_items(
        &self,
        org: &OrgId,
        machine: &MachineId,
    ) -> Result<Vec<DataItem>, StoreError> {
        let items = self
            .trees
            .data_items
            .get_json(&keys::machine(org, machine))?;
        Ok(items.unwrap_or_default())
    }

    async fn put_plugin(
        &self,
        install: &PluginInstall,
        component: &[u8],
    ) -> Result<(), StoreError> {
        self.install_plugin(install, component)?;
        self.committer.commit().await
    }

    async fn plugin(&self, plugin: &PluginId) -> Result<Option<PluginInstall>, StoreError> {
        self.trees.plugins.get_json(&keys::plugin(plugin))
    }

    async fn plugins(&self) -> Result<Vec<PluginInstall>, StoreError> {
        self.trees.plugins.scan_json(&[])
    }

    async fn plugin_component(&self, plugin: &PluginId) -> Result<Option<Vec<u8>>, StoreError> {
        self.read_component(plugin)
    }

    async fn remove_plugin(&self, plugin: &PluginId) -> Result<bool, StoreError> {
        let existed = self.uninstall_plugin(plugin)?;
        if existed {
            self.committer.commit().await?;
        }
        Ok(existed)
    }

    async fn append_observations(
        &self,
        org: &OrgId,
        machine: &MachineId,
        observations: &[Observation],
    ) -> Result<Appended, StoreError> {
        let appended = self.write_observations(org, machine, observations)?;
        if !appended.sequences.is_empty() {
            self.committer.commit().await?;
        }
        Ok(appended)
    }

    async fn observations(
        &self,
        org: &OrgId,
        machine: &MachineId,
        after_sequence: u64,
        limit: usize,
    ) -> Result<Vec<StoredObservation>, StoreError> {
        self.read_observations(org, machine, after_sequence, limit)
    }

    async fn latest_observations(
        &self,
        org: &OrgId,
        machine: &MachineId,
    ) -> Result<Vec<StoredObservation>, StoreError> {
        self.read_latest(org, machine)
    }

    async fn last_sequence(&self, org: &OrgId, machine: &MachineId) -> Result<u64, StoreError> {
        self.read_last_sequence(&keys::machine(org, machine))
    }

    async fn plugin_state(
        &self,
        org: &OrgId,
        machine: &MachineId,
    ) -> Result<BTreeMap<String, Vec<u8>>, StoreError> {
        let key = keys::machine(org, machine);
        let Some(bytes) = self.trees.plugin_state.get(&key)? else {
            return Ok(BTreeMap::new());
        };
        codec::decode_state(self.trees.plugin_state.name, &key, &bytes)
    }

    async fn put_plugin_state(
        &self,
        org: &OrgId,
        machine: &MachineId,
        state: &BTreeMap<String, Vec<u8>>,
    ) -> Result<(), StoreError> {
        let value = codec::encode_state(state)?;
        self.write_machine_record(&self.trees.plugin_state, org, machine, value)?;
        self.committer.commit().await
    }

    async fn append_forwarded(
        &self,
        org: &OrgId,
        machine: &MachineId,
        stream: &str,
        source_sequences: &[u64],
        observations: &[Observation],
    ) -> Result<Forwarded, StoreError> {
        let forwarded =
            self.write_forwarded(org, machine, stream, source_sequences, observations)?;
        if !forwarded.appended.sequences.is_empty() {
            self.committer.commit().await?;
        }
        Ok(forwarded)
    }

    async fn last_forwarded(
        &self,
        org: &OrgId,
        machine: &MachineId,
    ) -> Result<Option<(String, u64)>, StoreError> {
        self.read_last_forwarded(org, machine)
    }

    async fn put_derived(
        &self,
        org: &OrgId,
        machine: &MachineId,
        records: DerivedRecords<'_>,
    ) -> Result<(), StoreError> {
        self.write_derived(org, machine, records)
    }

    async fn deriver_snapshot(
        &self,
        org: &OrgId,
        machine: &MachineId,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.read_snapshot(org, machine)
    }

    async fn intervals(
        &self,
        org: &OrgId,
        machine: &MachineId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Interval>, StoreError> {
        self.read_intervals(org, machine, from, to)
    }

    async fn totals(
        &self,
        org: &OrgId,
        machine: &MachineId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Totals, StoreError> {
        self.read_totals(org, machine, from, to)
    }

    async fn parts(
        &self,
        org: &OrgId,
        machine: &MachineId,
        from: Timestamp,
        to: Timestamp,
        limit: usize,
    ) -> Result<Vec<PartCount>, StoreError> {
        self.read_parts(org, machine, from, to, limit)
    }

    async fn cycles(
        &self,
        org: &OrgId,
        machine: &MachineId,
        from: Timestamp,
        to: Timestamp,
        limit: usize,
    ) -> Result<Vec<Cycle>, StoreError> {
        self.read_cycles(org, machine, from, to, limit)
    }

    async fn alarms(
        &self,
        org: &OrgId,
        machine: &MachineId,
        from: Timestamp,
        to: Timestamp,
        limit: usize,
    ) -> Result<Vec<Alarm>, StoreError> {
        self.read_alarms(org, machine, from, to, limit)
    }

    async fn expire(
        &self,
        org: &OrgId,
        machine: &MachineId,
        expiry: Expiry,
        budget: usize,
    ) -> Result<Expired, StoreError> {
        let expired = self.expire_machine(org, machine, expiry, budget)?;
        if expired.observations + expired.derived > 0 {
            self.committer.commit().await?;
        }
        Ok(expired)
    }

    async fn put_device_token(&self, hash: &str, token: &DeviceToken) -> Result<(), StoreError> {
        let value = codec::to_json("a device token", token)?;
        let table = &self.trees.device_tokens;
        self.insert_for_org(table, &token.org, &keys::device_token(hash), &value)?;
        self.committer.commit().await
    }

    async fn device_token(&self, hash: &str) -> Result<Option<DeviceToken>, StoreError> {
        self.trees.device_tokens.get_json(&keys::device_token(hash))
    }

    async fn device_tokens(&self, org: &OrgId) -> Result<Vec<(String, DeviceToken)>, StoreError> {
        let table = &self.trees.device_tokens;
        let all = table.scan(&[], |key, value| {
            let token: DeviceToken = codec::from_json(table.name, key, value)?;
            Ok((String::from_utf8_lossy(key).into_owned(), token))
        })?;
        let mut own: Vec<_> = all.into_iter().filter(|(_, t)| &t.org == org).collect();
        own.sort_by_key(|(_, t)| t.created_at_ms);
        Ok(own)
    }
}
