//! Ingest: the one path every batch of observations takes, whether a driver here read it or an
//! edge connector forwarded it. A batch is stored durably under fresh sequence numbers, derived
//! into the machine's timeline, parts, cycles and alarms, and applied to the live state — in
//! that order, one batch of a machine at a time, so derivation always sees the sequence as
//! stored.
//!
//! Derived records are written right after each batch, with the deriver's snapshot, but not
//! flushed on their own: after a crash, [`Ingest::open`] derives again from the observations
//! after the snapshot, so derived data is never lost and never counted twice.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chatter_derive::{Current, Derived, Deriver, DeriverState};
use chatter_model::{
    COLLECTION_STOPPED, DataItem, Machine, MachineId, MachineStatus, Observation, OrgId, PartCount,
    StoredObservation, Value,
};
use chatter_store::{Appended, DerivedRecords, Forwarded, Store, StoreError};

use crate::live::LiveState;

/// How many observations a machine's deriver may apply without anything to store before its
/// snapshot is saved anyway, bounding the work of catching up after a crash.
const SNAPSHOT_EVERY: u64 = 10_000;

/// How many stored observations catching up reads at a time.
const CATCH_UP_PAGE: usize = 10_000;

type Key = (OrgId, MachineId);

/// A machine's deriver, with what it derived but has not stored yet.
struct MachineDeriver {
    deriver: Deriver,
    derived: Derived,
    /// Observations applied since the snapshot was last stored.
    unsaved: u64,
}

/// Stores, derives and publishes every machine's observations.
pub struct Ingest {
    store: Arc<dyn Store>,
    live: LiveState,
    machines: Mutex<HashMap<Key, Arc<tokio::sync::Mutex<MachineDeriver>>>>,
    /// Held while a machine's deriver is loaded, so that two first batches cannot both catch
    /// up (and store the same derived records twice).
    opening: tokio::sync::Mutex<()>,
}

impl Ingest {
    /// Ingest into `store`, publishing to `live`.
    pub fn new(store: Arc<dyn Store>, live: LiveState) -> Self {
        Ingest {
            store,
            live,
            machines: Mutex::default(),
            opening: tokio::sync::Mutex::default(),
        }
    }

    /// The store batches go to.
    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Loads the machine's deriver from its snapshot, derives whatever was stored after it,
    /// and restores the machine's live state, unless that was done already.
    pub async fn open(&self, machine: &Machine) -> Result<(), StoreError> {
        let _opening = self.opening.lock().await;
        let (org, id) = (&machine.org, &machine.id);
        if self.lock_machines().contains_key(&key(org, id)) {
            return Ok(());
        }
        let items = self.store.data_items(org, id).await?;
        let state = self.snapshot(org, id).await?;
        let mut entry = MachineDeriver {
            deriver: Deriver::new(&items, &machine.signals, state),
            derived: Derived::default(),
            unsaved: 0,
        };
        self.catch_up(org, id, &mut entry).await?;
        let latest = self.store.latest_observations(org, id).await?;
        self.live
            .restore(org, id, items, latest, entry.deriver.current());
        self.lock_machines()
            .insert(key(org, id), Arc::new(tokio::sync::Mutex::new(entry)));
        Ok(())
    }

    /// Applies the machine's new signal mapping to the observations that follow.
    pub async fn remap(&self, machine: &Machine) -> Result<(), StoreError> {
        let (org, id) = (&machine.org, &machine.id);
        let entry = self.entry(org, id).await?;
        let mut entry = entry.lock().await;
        let items = self.store.data_items(org, id).await?;
        let state = entry.deriver.state().clone();
        entry.deriver = Deriver::new(&items, &machine.signals, state);
        Ok(())
    }

    /// Stores the machine's derived records and snapshot now, and forgets its deriver.
    pub async fn close(&self, org: &OrgId, machine: &MachineId) -> Result<(), StoreError> {
        let removed = self.lock_machines().remove(&key(org, machine));
        if let Some(entry) = removed {
            let mut entry = entry.lock().await;
            self.save(org, machine, &mut entry).await?;
        }
        Ok(())
    }

    /// Forgets a machine that was removed, with its live state.
    pub fn forget(&self, org: &OrgId, machine: &MachineId) {
        self.lock_machines().remove(&key(org, machine));
        self.live.remove(org, machine);
    }

    /// Stores every machine's derived records and snapshot, for a clean shutdown.
    pub async fn close_all(&self) -> Result<(), StoreError> {
        let open: Vec<Key> = self.lock_machines().keys().cloned().collect();
        for (org, machine) in open {
            self.close(&org, &machine).await?;
        }
        Ok(())
    }

    /// Records the data items the machine's driver declared.
    pub async fn declare(
        &self,
        org: &OrgId,
        machine: &MachineId,
        items: Vec<DataItem>,
    ) -> Result<(), StoreError> {
        let entry = self.entry(org, machine).await?;
        let mut entry = entry.lock().await;
        self.store.put_data_items(org, machine, &items).await?;
        entry.deriver.declare(&items);
        self.live.declare(org, machine, items);
        Ok(())
    }

    /// Stores a batch a driver here read, derives from it and publishes it.
    pub async fn append(
        &self,
        org: &OrgId,
        machine: &MachineId,
        batch: Vec<Observation>,
    ) -> Result<Appended, StoreError> {
        let entry = self.entry(org, machine).await?;
        let mut entry = entry.lock().await;
        let appended = self.store.append_observations(org, machine, &batch).await?;
        self.derive(org, machine, &mut entry, &appended, batch)
            .await;
        Ok(appended)
    }

    /// Stores a batch an edge connector forwarded from `stream`, skipping what it delivered
    /// before (see [`Store::append_forwarded`]), derives from it and publishes it.
    pub async fn append_forwarded(
        &self,
        org: &OrgId,
        machine: &MachineId,
        stream: &str,
        source_sequences: &[u64],
        batch: Vec<Observation>,
    ) -> Result<Forwarded, StoreError> {
        let entry = self.entry(org, machine).await?;
        let mut entry = entry.lock().await;
        let forwarded = self
            .store
            .append_forwarded(org, machine, stream, source_sequences, &batch)
            .await?;
        let fresh = batch.into_iter().skip(forwarded.duplicates).collect();
        self.derive(org, machine, &mut entry, &forwarded.appended, fresh)
            .await;
        Ok(forwarded)
    }

    /// Records that the host stopped reading the machine, so that its timeline shows it offline
    /// until it reports again (see [`COLLECTION_STOPPED`]). Nothing is recorded for a machine
    /// that is offline already.
    pub async fn mark_unread(&self, org: &OrgId, machine: &MachineId) -> Result<(), StoreError> {
        let entry = self.entry(org, machine).await?;
        let mut entry = entry.lock().await;
        if entry.deriver.current().status == MachineStatus::Offline {
            return Ok(());
        }
        let marker = vec![Observation {
            data_item: COLLECTION_STOPPED.to_owned(),
            timestamp: chatter_model::now_ms().saturating_mul(1_000_000),
            value: Value::Event("STOPPED".into()),
        }];
        let appended = self
            .store
            .append_observations(org, machine, &marker)
            .await?;
        self.derive(org, machine, &mut entry, &appended, marker)
            .await;
        Ok(())
    }

    /// What the machine's deriver has open now.
    pub async fn current(&self, org: &OrgId, machine: &MachineId) -> Result<Current, StoreError> {
        let entry = self.entry(org, machine).await?;
        let entry = entry.lock().await;
        Ok(entry.deriver.current())
    }

    /// Derives from a stored batch, stores what closed and publishes the batch.
    async fn derive(
        &self,
        org: &OrgId,
        machine: &MachineId,
        entry: &mut MachineDeriver,
        appended: &Appended,
        batch: Vec<Observation>,
    ) {
        if batch.is_empty() {
            return;
        }
        let stored: Vec<StoredObservation> = appended
            .sequences
            .clone()
            .zip(batch)
            .map(|(sequence, observation)| StoredObservation {
                sequence,
                backwards: appended.is_backwards(sequence),
                observation,
            })
            .collect();
        let new_parts = self.apply(org, machine, entry, &stored).await;
        self.live.apply(
            org,
            machine,
            &stored,
            &new_parts,
            chatter_model::now_ms(),
            entry.deriver.current(),
        );
    }

    /// Applies stored observations to the deriver and stores what it closed, or its snapshot
    /// when it has gone long without. A failure to store them does not fail the batch, which is
    /// durable already: the records stay pending and go with the next save. Returns the part
    /// counts the batch added.
    async fn apply(
        &self,
        org: &OrgId,
        machine: &MachineId,
        entry: &mut MachineDeriver,
        stored: &[StoredObservation],
    ) -> Vec<PartCount> {
        let MachineDeriver {
            deriver, derived, ..
        } = entry;
        let parts_before = derived.parts.len();
        deriver.apply(stored, derived);
        let new_parts = derived.parts[parts_before..].to_vec();
        entry.unsaved += stored.len() as u64;
        let due = !entry.derived.is_empty() || entry.unsaved >= SNAPSHOT_EVERY;
        if due && let Err(error) = self.save(org, machine, entry).await {
            tracing::error!(%org, %machine, %error, "derived data not stored; retrying with the next batch");
        }
        new_parts
    }

    /// Stores the deriver's closed records and snapshot together.
    async fn save(
        &self,
        org: &OrgId,
        machine: &MachineId,
        entry: &mut MachineDeriver,
    ) -> Result<(), StoreError> {
        let snapshot = encode_snapshot(entry.deriver.state());
        let derived = &entry.derived;
        let records = DerivedRecords {
            intervals: &derived.intervals,
            parts: &derived.parts,
            cycles: &derived.cycles,
            alarms: &derived.alarms,
            snapshot: &snapshot,
        };
        self.store.put_derived(org, machine, records).await?;
        entry.derived.clear();
        entry.unsaved = 0;
        Ok(())
    }

    /// Derives from the observations stored after the deriver's snapshot.
    async fn catch_up(
        &self,
        org: &OrgId,
        machine: &MachineId,
        entry: &mut MachineDeriver,
    ) -> Result<(), StoreError> {
        let mut caught_up = 0;
        loop {
            let after = entry.deriver.state().processed_through();
            let page = self
                .store
                .observations(org, machine, after, CATCH_UP_PAGE)
                .await?;
            if page.is_empty() {
                break;
            }
            caught_up += page.len();
            let MachineDeriver {
                deriver, derived, ..
            } = entry;
            deriver.apply(&page, derived);
            self.save(org, machine, entry).await?;
        }
        if caught_up > 0 {
            tracing::info!(%org, %machine, observations = caught_up, "derived data caught up");
        }
        Ok(())
    }

    /// The machine's deriver state as last stored; a fresh one if there is none or it cannot
    /// be read (then everything is derived again from the start).
    async fn snapshot(&self, org: &OrgId, machine: &MachineId) -> Result<DeriverState, StoreError> {
        let Some(bytes) = self.store.deriver_snapshot(org, machine).await? else {
            return Ok(DeriverState::default());
        };
        Ok(serde_json::from_slice(&bytes).unwrap_or_else(|error| {
            tracing::warn!(%org, %machine, %error, "deriver snapshot unreadable; deriving again");
            DeriverState::default()
        }))
    }

    /// The machine's deriver, opened if needed.
    async fn entry(
        &self,
        org: &OrgId,
        machine: &MachineId,
    ) -> Result<Arc<tokio::sync::Mutex<MachineDeriver>>, StoreError> {
        if let Some(entry) = self.lock_machines().get(&key(org, machine)) {
            return Ok(entry.clone());
        }
        let Some(record) = self.store.machine(org, machine).await? else {
            return Err(StoreError::UnknownMachine {
                org: org.clone(),
                machine: machine.clone(),
            });
        };
        self.open(&record).await?;
        self.lock_machines()
            .get(&key(org, machine))
            .cloned()
            .ok_or_else(|| StoreError::UnknownMachine {
                org: org.clone(),
                machine: machine.clone(),
            })
    }

    fn lock_machines(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<tokio::sync::Mutex<MachineDeriver>>>> {
        self.machines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn key(org: &OrgId, machine: &MachineId) -> Key {
    (org.clone(), machine.clone())
}

/// The snapshot as JSON: small, written rarely, and readable when something needs explaining.
fn encode_snapshot(state: &DeriverState) -> Vec<u8> {
    // A derived state is plain data; serializing it cannot fail.
    serde_json::to_vec(state).unwrap_or_default()
}
