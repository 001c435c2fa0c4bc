//! Retention: removing a machine's oldest raw observations and derived records a bounded number
//! of keys at a time, so that expiry never holds up ingest for long.

use chatter_model::{Alarm, Cycle, Interval, MachineId, OrgId, PartCount, Timestamp};
use serde::de::DeserializeOwned;

use super::derived::{DAY, HOUR};
use super::{SledStore, Table};
use crate::codec;
use crate::error::StoreError;
use crate::keys::{self, tree};
use crate::store::{Expired, Expiry};

impl SledStore {
    pub(super) fn expire_machine(
        &self,
        org: &OrgId,
        machine: &MachineId,
        expiry: Expiry,
        budget: usize,
    ) -> Result<Expired, StoreError> {
        let prefix = keys::series_prefix(org, machine);
        let mut expired = Expired::default();
        let mut left = budget;
        if let Some(cutoff) = expiry.raw_before {
            let through = expiry.raw_through.unwrap_or(u64::MAX);
            let (removed, keys) = self.expire_chunks(&prefix, cutoff, through, left)?;
            expired.observations = removed;
            left = left.saturating_sub(keys);
        }
        if let Some(cutoff) = expiry.derived_before {
            // Pages of the days losing records go first, and under the lock a page is made
            // under, so no page outlives a record it copied.
            let _guard = self.locks.lock(org, machine);
            // They are copies, so they count against the budget but not as expired records.
            let pages = self.remove_pages_before(&prefix, cutoff, left)?;
            left = left.saturating_sub(pages);
            let t = &self.trees;
            let passes: [(&Table, Ended); 6] = [
                (&t.intervals, ended::<Interval>(|i| i.end)),
                (&t.parts, ended::<PartCount>(|p| p.at + 1)),
                (&t.cycles, ended::<Cycle>(|c| c.end + 1)),
                (&t.alarms, ended::<Alarm>(|a| a.end.unwrap_or(a.start) + 1)),
                (&t.hours, bucket_end(HOUR)),
                (&t.days, bucket_end(DAY)),
            ];
            for (table, end_of) in passes {
                let removed = remove_ended(table, &prefix, cutoff, left, &end_of)?;
                expired.derived += removed as u64;
                left = left.saturating_sub(removed);
            }
        }
        expired.more = left == 0;
        Ok(expired)
    }

    /// Removes the machine's oldest observation chunks while every observation in them is
    /// older than `cutoff` and numbered at most `through`; returns how many observations and
    /// keys went.
    fn expire_chunks(
        &self,
        prefix: &[u8],
        cutoff: Timestamp,
        through: u64,
        budget: usize,
    ) -> Result<(u64, usize), StoreError> {
        let table = &self.trees.observations;
        let mut batch = sled::Batch::default();
        let (mut observations, mut keys_removed) = (0, 0);
        for entry in table.tree.scan_prefix(prefix).take(budget) {
            let (key, value) = entry.map_err(table.failed("scanning", prefix))?;
            let first_bytes = key.get(prefix.len()..).unwrap_or_default();
            let first = codec::decode_u64(tree::OBSERVATIONS, &key, first_bytes)?;
            let failed = |source| codec::decode_error(tree::OBSERVATIONS, &key)(source);
            let chunk = codec::read_chunk(first, &value).map_err(failed)?;
            if chunk.end() > through.saturating_add(1) {
                break;
            }
            let mut newest = Timestamp::MIN;
            let mut count = 0;
            for observation in chunk {
                newest = newest.max(observation.map_err(failed)?.observation.timestamp);
                count += 1;
            }
            // Chunks follow arrival order; the first one with anything recent ends the pass.
            if newest >= cutoff {
                break;
            }
            batch.remove(key);
            observations += count;
            keys_removed += 1;
        }
        table.apply(batch, prefix)?;
        Ok((observations, keys_removed))
    }
}

/// When a record stored under `key` ended: the first instant after it (its exclusive end).
type Ended = Box<dyn Fn(&Table, &[u8], &[u8], usize) -> Result<Timestamp, StoreError>>;

/// Reads when a derived record ended from its value.
fn ended<T: DeserializeOwned + 'static>(end: fn(&T) -> Timestamp) -> Ended {
    Box::new(move |table, key, value, _| {
        let record: T = postcard::from_bytes(value)
            .map_err(|e| codec::decode_error(table.name, key)(e.into()))?;
        Ok(end(&record))
    })
}

/// Reads when a roll-up bucket of `width` ends from its key.
fn bucket_end(width: i64) -> Ended {
    Box::new(move |table, key, _, prefix_len| {
        let index = keys::time_of(key, prefix_len).ok_or_else(|| {
            codec::decode_error(table.name, key)(crate::error::CodecError::Length {
                expected: prefix_len + 8,
                actual: key.len(),
            })
        })?;
        Ok((index + 1).saturating_mul(width))
    })
}

/// Removes, from the oldest on, up to `budget` records of the machine that ended before
/// `cutoff`; stops at the first that did not. Returns how many went.
fn remove_ended(
    table: &Table,
    prefix: &[u8],
    cutoff: Timestamp,
    budget: usize,
    end_of: &Ended,
) -> Result<usize, StoreError> {
    let mut batch = sled::Batch::default();
    let mut removed = 0;
    for entry in table.tree.scan_prefix(prefix).take(budget) {
        let (key, value) = entry.map_err(table.failed("scanning", prefix))?;
        // Records are keyed by start or end time, so the first one still needed ends the pass
        // (an alarm raised before the cutoff but cleared after it is kept, with later ones).
        if end_of(table, &key, &value, prefix.len())? > cutoff {
            break;
        }
        batch.remove(key);
        removed += 1;
    }
    table.apply(batch, prefix)?;
    Ok(removed)
}
