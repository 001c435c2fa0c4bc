//! The per-machine observation sequence and the latest value of each data item.

use std::collections::BTreeMap;
use std::ops::Range;

use chatter_model::{MachineId, Observation, OrgId, StoredObservation};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionResult, TransactionalTree, abort};

use super::machines::unknown_machine;
use super::{SledStore, read_count};
use crate::codec;
use crate::error::StoreError;
use crate::keys::{self, tree};

impl SledStore {
    /// Stores the observations under fresh sequence numbers; not yet durable.
    pub(super) fn write_observations(
        &self,
        org: &OrgId,
        machine: &MachineId,
        observations: &[Observation],
    ) -> Result<Range<u64>, StoreError> {
        let machine_key = keys::machine(org, machine);
        if observations.is_empty() {
            return self.next_sequence(org, machine, &machine_key);
        }
        // Encoding happens before taking the lock, which then only covers the in-memory write.
        let records = observations
            .iter()
            .map(codec::encode_observation)
            .collect::<Result<Vec<_>, _>>()?;
        let prefix = keys::series_prefix(org, machine);
        let count = u64::try_from(records.len()).map_err(|_| exhausted(org, machine))?;

        // The lock makes appends to one machine take turns, so the transaction never conflicts
        // and retries; the transaction makes the sequence counter, the observations and the
        // latest values reach the disk together.
        let _guard = self.locks.lock(org, machine);
        let trees = &self.trees;
        let tx_trees = (
            &trees.machines.tree,
            &trees.sequences.tree,
            &trees.observations.tree,
            &trees.latest.tree,
        );
        tx_trees
            .transaction(|(machines, sequences, stored, latest)| {
                if machines.get(machine_key.as_slice())?.is_none() {
                    return abort(unknown_machine(org, machine));
                }
                let last = read_count(sequences, tree::SEQUENCES, &machine_key)?;
                let Some(range) = next_range(last, count) else {
                    return abort(exhausted(org, machine));
                };
                let numbered = range.clone().zip(&records).zip(observations);
                insert_numbered(stored, latest, &prefix, numbered)?;
                sequences.insert(machine_key.as_slice(), &(range.end - 1).to_be_bytes())?;
                Ok(range)
            })
            .map_err(|e| {
                StoreError::from_transaction(e, || {
                    format!("appending observations of machine `{machine}` of `{org}`")
                })
            })
    }

    /// The empty range at the machine's next sequence number, for an empty append.
    fn next_sequence(
        &self,
        org: &OrgId,
        machine: &MachineId,
        machine_key: &[u8],
    ) -> Result<Range<u64>, StoreError> {
        if !self.trees.machines.contains(machine_key)? {
            return Err(unknown_machine(org, machine));
        }
        let next = self.read_last_sequence(machine_key)?.saturating_add(1);
        Ok(next..next)
    }

    pub(super) fn read_last_sequence(&self, machine_key: &[u8]) -> Result<u64, StoreError> {
        let sequences = &self.trees.sequences;
        match sequences.get(machine_key)? {
            None => Ok(0),
            Some(bytes) => codec::decode_u64(sequences.name, machine_key, &bytes),
        }
    }

    pub(super) fn read_observations(
        &self,
        org: &OrgId,
        machine: &MachineId,
        after_sequence: u64,
        limit: usize,
    ) -> Result<Vec<StoredObservation>, StoreError> {
        let Some(start) = after_sequence.checked_add(1) else {
            return Ok(Vec::new());
        };
        let prefix = keys::series_prefix(org, machine);
        let table = &self.trees.observations;
        let range = keys::observation(&prefix, start)..keys::series_end(&prefix);
        table
            .tree
            .range(range)
            .take(limit)
            .map(|entry| {
                let (key, value) = entry.map_err(table.failed("scanning", &prefix))?;
                let sequence_bytes = key.get(prefix.len()..).unwrap_or_default();
                Ok(StoredObservation {
                    sequence: codec::decode_u64(table.name, &key, sequence_bytes)?,
                    backwards: false,
                    observation: codec::decode_observation(table.name, &key, &value)?,
                })
            })
            .collect()
    }

    pub(super) fn read_latest(
        &self,
        org: &OrgId,
        machine: &MachineId,
    ) -> Result<Vec<StoredObservation>, StoreError> {
        let table = &self.trees.latest;
        let prefix = keys::series_prefix(org, machine);
        table.scan(&prefix, |key, value| {
            codec::decode_latest(table.name, key, value)
        })
    }
}

/// The `count` sequence numbers after `last`, if they fit in a `u64`.
fn next_range(last: u64, count: u64) -> Option<Range<u64>> {
    let first = last.checked_add(1)?;
    Some(first..first.checked_add(count)?)
}

/// Inserts numbered observation records, and the last one of each data item as its latest value.
fn insert_numbered<'a>(
    stored: &TransactionalTree,
    latest: &TransactionalTree,
    prefix: &[u8],
    numbered: impl Iterator<Item = ((u64, &'a Vec<u8>), &'a Observation)>,
) -> ConflictableTransactionResult<(), StoreError> {
    let mut newest = BTreeMap::new();
    for ((sequence, record), observation) in numbered {
        stored.insert(keys::observation(prefix, sequence), record.as_slice())?;
        newest.insert(observation.data_item.as_str(), (sequence, record));
    }
    for (item, (sequence, record)) in newest {
        latest.insert(
            keys::latest(prefix, item),
            codec::encode_latest(sequence, record),
        )?;
    }
    Ok(())
}

fn exhausted(org: &OrgId, machine: &MachineId) -> StoreError {
    StoreError::SequenceExhausted {
        org: org.clone(),
        machine: machine.clone(),
    }
}
