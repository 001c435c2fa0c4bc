//! The per-machine observation sequence, stored a chunk of a batch per value, and the latest value
//! of each data item, stored as one value per machine (layout in `codec`).

use std::collections::BTreeMap;
use std::ops::{Bound, Range};

use chatter_model::{MachineId, Observation, OrgId, StoredObservation};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionResult, TransactionalTree, abort};

use super::machines::unknown_machine;
use super::{SledStore, abort_on, read_count};
use crate::codec::{self, ChunkBody, LatestValues};
use crate::error::StoreError;
use crate::keys::{self, tree};
use crate::store::{Appended, Forwarded};

/// Most observations a read reserves room for up front; a larger page grows as it fills.
const PAGE_CAPACITY: usize = 4096;

/// What can be worked out about a batch before it has sequence numbers, outside the machine's
/// lock: its encoded chunks, where it goes backwards in time, the last observation of each item.
struct PreparedBatch<'a> {
    first: Option<&'a Observation>,
    len: u64,
    chunks: Vec<ChunkBody<'a>>,
    /// Indices of observations earlier than the one before them in the batch (never 0).
    backwards_within: Vec<u64>,
    /// The index and observation of the last observation of each data item, by data item.
    newest: BTreeMap<&'a str, (u64, &'a Observation)>,
}

impl<'a> PreparedBatch<'a> {
    fn new(observations: &'a [Observation]) -> Result<Self, StoreError> {
        let mut backwards_within = Vec::new();
        let mut newest = BTreeMap::new();
        let mut previous: Option<&Observation> = None;
        let mut len = 0;
        for observation in observations {
            if previous.is_some_and(|p| observation.timestamp < p.timestamp) {
                backwards_within.push(len);
            }
            newest.insert(observation.data_item.as_str(), (len, observation));
            previous = Some(observation);
            len += 1;
        }
        Ok(PreparedBatch {
            first: observations.first(),
            len,
            chunks: codec::encode_chunks(observations)?,
            backwards_within,
            newest,
        })
    }

    /// The sequence numbers of the observations that went backwards, the batch starting at
    /// `first_sequence` right after an observation stamped `previous` (if the machine has one).
    fn backwards(&self, previous: Option<i64>, first_sequence: u64) -> Vec<u64> {
        let first_went_back = previous
            .zip(self.first)
            .is_some_and(|(previous, first)| first.timestamp < previous);
        let within = self.backwards_within.iter().copied();
        first_went_back
            .then_some(0)
            .into_iter()
            .chain(within)
            .map(|index| first_sequence + index)
            .collect()
    }

    /// Inserts the chunks, the batch starting at `first_sequence`.
    fn insert_chunks(
        &self,
        stored: &TransactionalTree,
        prefix: &[u8],
        first_sequence: u64,
        backwards: &[u64],
    ) -> ConflictableTransactionResult<(), StoreError> {
        let mut start = first_sequence;
        for chunk in &self.chunks {
            let end = start + u64::from(chunk.len());
            let value = abort_on(chunk.to_value(&offsets_within(backwards, start..end)))?;
            stored.insert(keys::chunk(prefix, start), value)?;
            start = end;
        }
        Ok(())
    }

    /// The last observation of each data item, numbered, for the latest values.
    fn newest<'b>(
        &'b self,
        first_sequence: u64,
        backwards: &'b [u64],
    ) -> impl Iterator<Item = (u64, bool, &'a Observation)> + 'b {
        self.newest.values().map(move |&(index, observation)| {
            let sequence = first_sequence + index;
            let went_back = backwards.binary_search(&sequence).is_ok();
            (sequence, went_back, observation)
        })
    }
}

/// The offsets from `range.start` of the sequence numbers of `backwards` (ascending) in `range`.
fn offsets_within(backwards: &[u64], range: Range<u64>) -> Vec<u32> {
    let from = backwards.partition_point(|&sequence| sequence < range.start);
    let to = backwards.partition_point(|&sequence| sequence < range.end);
    backwards[from..to]
        .iter()
        // A chunk holds at most `u32::MAX` observations, so every offset fits.
        .filter_map(|&sequence| u32::try_from(sequence - range.start).ok())
        .collect()
}

impl SledStore {
    /// Stores the observations under fresh sequence numbers; not yet durable.
    pub(super) fn write_observations(
        &self,
        org: &OrgId,
        machine: &MachineId,
        observations: &[Observation],
    ) -> Result<Appended, StoreError> {
        let machine_key = keys::machine(org, machine);
        if observations.is_empty() {
            let next = self.next_sequence(org, machine, &machine_key)?;
            return Ok(Appended {
                sequences: next..next,
                backwards: Vec::new(),
            });
        }
        let batch = PreparedBatch::new(observations)?;
        // The lock makes appends to one machine take turns, so the transaction never conflicts
        // and retries.
        let _guard = self.locks.lock(org, machine);
        self.append_prepared(org, machine, &batch, None)
    }

    /// Stores the forwarded observations not stored before under fresh sequence numbers; not
    /// yet durable.
    pub(super) fn write_forwarded(
        &self,
        org: &OrgId,
        machine: &MachineId,
        stream: &str,
        source_sequences: &[u64],
        observations: &[Observation],
    ) -> Result<Forwarded, StoreError> {
        check_source_sequences(org, machine, source_sequences, observations.len())?;
        let forwarded_key = keys::forwarded(org, machine);
        let _guard = self.locks.lock(org, machine);
        let last_stored = match self.read_last_forwarded(org, machine)? {
            Some((last_stream, last)) if last_stream == stream => last,
            _ => 0,
        };
        let duplicates = source_sequences.partition_point(|&s| s <= last_stored);
        let fresh = &observations[duplicates..];
        if fresh.is_empty() {
            let machine_key = keys::machine(org, machine);
            let next = self.next_sequence(org, machine, &machine_key)?;
            let appended = Appended {
                sequences: next..next,
                backwards: Vec::new(),
            };
            return Ok(Forwarded {
                duplicates,
                appended,
                last_sequence: last_stored,
            });
        }
        let batch = PreparedBatch::new(fresh)?;
        let mark = source_sequences
            .last()
            .map(|&last| forwarded_mark(stream, last));
        let last = mark.as_deref().map(|mark| (forwarded_key.as_slice(), mark));
        let appended = self.append_prepared(org, machine, &batch, last)?;
        Ok(Forwarded {
            duplicates,
            appended,
            last_sequence: source_sequences.last().copied().unwrap_or(last_stored),
        })
    }

    /// Appends a prepared batch, and records the last forwarded sequence number under its key
    /// if given, in one transaction: the sequence counter, the chunks, the latest values and
    /// the forwarded mark reach the disk together. The caller holds the machine's lock.
    fn append_prepared(
        &self,
        org: &OrgId,
        machine: &MachineId,
        batch: &PreparedBatch<'_>,
        forwarded: Option<(&[u8], &[u8])>,
    ) -> Result<Appended, StoreError> {
        let machine_key = keys::machine(org, machine);
        let prefix = keys::series_prefix(org, machine);
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
                let Some(range) = next_range(last, batch.len) else {
                    return abort(exhausted(org, machine));
                };
                let previous = latest.get(machine_key.as_slice())?;
                let mut values = abort_on(decode_latest(previous.as_deref(), &machine_key))?;
                let backwards = batch.backwards(values.last_timestamp(), range.start);
                batch.insert_chunks(stored, &prefix, range.start, &backwards)?;
                values.update(batch.newest(range.start, &backwards));
                latest.insert(machine_key.as_slice(), abort_on(values.to_value())?)?;
                sequences.insert(machine_key.as_slice(), &(range.end - 1).to_be_bytes())?;
                if let Some((key, mark)) = forwarded {
                    sequences.insert(key, mark)?;
                }
                Ok(Appended {
                    sequences: range,
                    backwards,
                })
            })
            .map_err(|e| {
                StoreError::from_transaction(e, || {
                    format!("appending observations of machine `{machine}` of `{org}`")
                })
            })
    }

    /// The stream the machine was last forwarded from and the last sequence number stored
    /// from it.
    pub(super) fn read_last_forwarded(
        &self,
        org: &OrgId,
        machine: &MachineId,
    ) -> Result<Option<(String, u64)>, StoreError> {
        let key = keys::forwarded(org, machine);
        let Some(bytes) = self.trees.sequences.get(&key)? else {
            return Ok(None);
        };
        let (last, stream) = bytes.split_at_checked(8).unwrap_or((&bytes, &[]));
        let last = codec::decode_u64(tree::SEQUENCES, &key, last)?;
        Ok(Some((String::from_utf8_lossy(stream).into_owned(), last)))
    }

    /// The machine's next sequence number, for an empty append.
    fn next_sequence(
        &self,
        org: &OrgId,
        machine: &MachineId,
        machine_key: &[u8],
    ) -> Result<u64, StoreError> {
        if !self.trees.machines.contains(machine_key)? {
            return Err(unknown_machine(org, machine));
        }
        Ok(self.read_last_sequence(machine_key)?.saturating_add(1))
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
        let mut found = Vec::with_capacity(limit.min(PAGE_CAPACITY));
        if limit == 0 {
            return Ok(found);
        }
        let prefix = keys::series_prefix(org, machine);
        let table = &self.trees.observations;
        // Chunk keys sort by their first sequence, so the last key up to that of `start` is the
        // only chunk that can hold it; if it ends before, reading it costs only its header.
        let at = keys::chunk(&prefix, start);
        let from = match table
            .tree
            .range(prefix.as_slice()..=at.as_slice())
            .next_back()
        {
            None => Bound::Included(at),
            Some(entry) => {
                let (key, value) = entry.map_err(table.failed("scanning", &prefix))?;
                read_chunk_into(&mut found, limit, start, prefix.len(), &key, &value)?;
                Bound::Excluded(key.to_vec())
            }
        };
        let rest = (from, Bound::Excluded(keys::series_end(&prefix)));
        let mut chunks = table.tree.range(rest);
        while found.len() < limit {
            let Some(entry) = chunks.next() else { break };
            let (key, value) = entry.map_err(table.failed("scanning", &prefix))?;
            read_chunk_into(&mut found, limit, start, prefix.len(), &key, &value)?;
        }
        Ok(found)
    }

    pub(super) fn read_latest(
        &self,
        org: &OrgId,
        machine: &MachineId,
    ) -> Result<Vec<StoredObservation>, StoreError> {
        let key = keys::machine(org, machine);
        let Some(bytes) = self.trees.latest.get(&key)? else {
            return Ok(Vec::new());
        };
        Ok(decode_latest(Some(&bytes), &key)?.into_stored())
    }
}

/// Appends to `found`, up to `limit` in all, the observations from `start` on of the chunk under
/// `key`, whose first sequence number follows the machine's prefix of `prefix_len` bytes.
fn read_chunk_into(
    found: &mut Vec<StoredObservation>,
    limit: usize,
    start: u64,
    prefix_len: usize,
    key: &[u8],
    value: &[u8],
) -> Result<(), StoreError> {
    let first_bytes = key.get(prefix_len..).unwrap_or_default();
    let first = codec::decode_u64(tree::OBSERVATIONS, key, first_bytes)?;
    let failed = |source| codec::decode_error(tree::OBSERVATIONS, key)(source);
    let mut chunk = codec::read_chunk(first, value).map_err(failed)?;
    if chunk.end() <= start {
        return Ok(());
    }
    chunk.skip_to(start).map_err(failed)?;
    for observation in chunk.take(limit.saturating_sub(found.len())) {
        found.push(observation.map_err(failed)?);
    }
    Ok(())
}

/// Decodes the machine's latest values; none stored means none yet.
fn decode_latest<'a>(
    bytes: Option<&'a [u8]>,
    machine_key: &[u8],
) -> Result<LatestValues<'a>, StoreError> {
    let Some(bytes) = bytes else {
        return Ok(LatestValues::default());
    };
    codec::read_latest(bytes).map_err(codec::decode_error(tree::LATEST, machine_key))
}

/// The `count` sequence numbers after `last`, if they fit in a `u64`.
fn next_range(last: u64, count: u64) -> Option<Range<u64>> {
    let first = last.checked_add(1)?;
    Some(first..first.checked_add(count)?)
}

/// The stored mark of a forwarded stream: its last sequence number, then its id.
fn forwarded_mark(stream: &str, last: u64) -> Vec<u8> {
    let mut mark = last.to_be_bytes().to_vec();
    mark.extend_from_slice(stream.as_bytes());
    mark
}

/// Checks that forwarded observations are numbered one each, strictly increasing.
fn check_source_sequences(
    org: &OrgId,
    machine: &MachineId,
    source_sequences: &[u64],
    observations: usize,
) -> Result<(), StoreError> {
    let unordered = |reason: String| StoreError::Unordered {
        org: org.clone(),
        machine: machine.clone(),
        reason,
    };
    if source_sequences.len() != observations {
        return Err(unordered(format!(
            "{} sequence numbers for {observations} observations",
            source_sequences.len()
        )));
    }
    if let Some(pair) = source_sequences.windows(2).find(|pair| pair[0] >= pair[1]) {
        return Err(unordered(format!(
            "sequence number {} follows {}",
            pair[1], pair[0]
        )));
    }
    Ok(())
}

fn exhausted(org: &OrgId, machine: &MachineId) -> StoreError {
    StoreError::SequenceExhausted {
        org: org.clone(),
        machine: machine.clone(),
    }
}
