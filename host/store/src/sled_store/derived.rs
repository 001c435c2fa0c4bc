//! Derived data: each machine's deriver snapshot, its closed intervals, part counts, cycles and
//! alarms keyed by time, and hourly and daily roll-ups of them so that a month of totals costs a
//! few dozen reads instead of a scan of every interval.

use std::collections::BTreeMap;

use chatter_model::{Alarm, Cycle, Interval, MachineId, OrgId, PartCount, Timestamp, Totals};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sled::Transactional;
use sled::transaction::{ConflictableTransactionResult, TransactionalTree, abort};

use super::machines::unknown_machine;
use super::pages::{PageKind, StalePages};
use super::{SledStore, Table, abort_on};
use crate::codec;
use crate::error::StoreError;
use crate::keys;
use crate::store::DerivedRecords;

/// Nanoseconds in a roll-up hour.
pub(super) const HOUR: i64 = 3_600_000_000_000;
/// Nanoseconds in a roll-up day (UTC days: days of other time zones are summed from hours).
pub(super) const DAY: i64 = 24 * HOUR;

/// A roll-up bucket: `(width, index)`, where the bucket covers `[index * width, (index + 1) * width)`.
type Bucket = (i64, i64);

/// Additions to roll-up buckets, by bucket.
#[derive(Default)]
struct RollupDeltas(BTreeMap<Bucket, Totals>);

impl RollupDeltas {
    fn of(records: &DerivedRecords<'_>) -> Self {
        let mut deltas = RollupDeltas::default();
        for interval in records.intervals {
            deltas.add_interval(interval);
        }
        for part in records.parts {
            deltas.at(part.at, |t| t.parts += part.parts);
        }
        for cycle in records.cycles {
            deltas.at(cycle.end, |t| {
                t.cycles += 1;
                t.cycle_time += cycle.duration();
            });
        }
        for alarm in records.alarms {
            deltas.at(alarm.start, |t| t.alarms += 1);
        }
        deltas
    }

    fn add_interval(&mut self, interval: &Interval) {
        for width in [HOUR, DAY] {
            let mut start = interval.start;
            while start < interval.end {
                let index = start.div_euclid(width);
                let bucket_end = (index + 1).saturating_mul(width);
                let end = bucket_end.min(interval.end);
                self.entry((width, index))
                    .add_time(interval.status, end - start);
                start = end;
            }
        }
    }

    fn at(&mut self, timestamp: Timestamp, add: impl Fn(&mut Totals)) {
        for width in [HOUR, DAY] {
            add(self.entry((width, timestamp.div_euclid(width))));
        }
    }

    fn entry(&mut self, bucket: Bucket) -> &mut Totals {
        self.0.entry(bucket).or_default()
    }
}

/// Every tree a derived write touches, inside a transaction.
struct DerivedTx<'t> {
    machines: &'t TransactionalTree,
    deriver: &'t TransactionalTree,
    intervals: &'t TransactionalTree,
    parts: &'t TransactionalTree,
    cycles: &'t TransactionalTree,
    alarms: &'t TransactionalTree,
    hours: &'t TransactionalTree,
    days: &'t TransactionalTree,
    day_pages: &'t TransactionalTree,
}

impl SledStore {
    /// Stores derived records, their roll-ups and the snapshot in one transaction.
    pub(super) fn write_derived(
        &self,
        org: &OrgId,
        machine: &MachineId,
        records: DerivedRecords<'_>,
    ) -> Result<(), StoreError> {
        let machine_key = keys::machine(org, machine);
        let prefix = keys::series_prefix(org, machine);
        let encoded = EncodedRecords::new(&prefix, &records)?;
        let deltas = RollupDeltas::of(&records);
        let _guard = self.locks.lock(org, machine);
        let t = &self.trees;
        (
            &t.machines.tree,
            &t.deriver.tree,
            &t.intervals.tree,
            &t.parts.tree,
            &t.cycles.tree,
            &t.alarms.tree,
            &t.hours.tree,
            &t.days.tree,
            &t.day_pages.tree,
        )
            .transaction(
                |(machines, deriver, intervals, parts, cycles, alarms, hours, days, day_pages)| {
                    let tx = DerivedTx {
                        machines,
                        deriver,
                        intervals,
                        parts,
                        cycles,
                        alarms,
                        hours,
                        days,
                        day_pages,
                    };
                    if tx.machines.get(machine_key.as_slice())?.is_none() {
                        return abort(unknown_machine(org, machine));
                    }
                    encoded.insert(&tx)?;
                    add_rollups(&tx, &prefix, &deltas)?;
                    tx.deriver
                        .insert(machine_key.as_slice(), records.snapshot)?;
                    Ok(())
                },
            )
            .map_err(|e| {
                StoreError::from_transaction(e, || {
                    format!("storing derived data of machine `{machine}` of `{org}`")
                })
            })
    }

    pub(super) fn read_snapshot(
        &self,
        org: &OrgId,
        machine: &MachineId,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let key = keys::machine(org, machine);
        Ok(self.trees.deriver.get(&key)?.map(|bytes| bytes.to_vec()))
    }

    pub(super) fn read_intervals(
        &self,
        org: &OrgId,
        machine: &MachineId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Interval>, StoreError> {
        let prefix = keys::series_prefix(org, machine);
        let table = &self.trees.intervals;
        let mut found = Vec::new();
        // Intervals do not overlap, so only the last one starting before `from` can reach into
        // the range from before it.
        let at = keys::timed(&prefix, from, &[]);
        if let Some(entry) = table
            .tree
            .range(prefix.as_slice()..at.as_slice())
            .next_back()
        {
            let (key, value) = entry.map_err(table.failed("scanning", &prefix))?;
            let interval: Interval = decode(table, &key, &value)?;
            if interval.end > from {
                found.push(interval);
            }
        }
        let keyed_within: Vec<Interval> = self.read_timed(
            table,
            PageKind::Intervals,
            (org, machine),
            (from, to),
            usize::MAX,
        )?;
        found.extend(keyed_within);
        Ok(found)
    }

    pub(super) fn read_totals(
        &self,
        org: &OrgId,
        machine: &MachineId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Totals, StoreError> {
        let prefix = keys::series_prefix(org, machine);
        let mut totals = Totals::default();
        for span in spans(from, to) {
            match span {
                Span::Bucket(width, index) => {
                    let table = if width == DAY {
                        &self.trees.days
                    } else {
                        &self.trees.hours
                    };
                    let key = bucket_key(&prefix, index);
                    if let Some(value) = table.get(&key)? {
                        totals.merge(&decode(table, &key, &value)?);
                    }
                }
                Span::Edge(start, end) => {
                    totals.merge(&self.totals_from_records(org, machine, start, end)?);
                }
            }
        }
        Ok(totals)
    }

    /// Totals of `[from, to)` read from the records themselves, for spans shorter than an hour.
    fn totals_from_records(
        &self,
        org: &OrgId,
        machine: &MachineId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Totals, StoreError> {
        let mut totals = Totals::default();
        for interval in self.read_intervals(org, machine, from, to)? {
            let overlap = interval.end.min(to) - interval.start.max(from);
            totals.add_time(interval.status, overlap);
        }
        for part in self.read_parts(org, machine, from, to, usize::MAX)? {
            totals.parts += part.parts;
        }
        for cycle in self.read_cycles(org, machine, from, to, usize::MAX)? {
            totals.cycles += 1;
            totals.cycle_time += cycle.duration();
        }
        totals.alarms += self.read_alarms(org, machine, from, to, usize::MAX)?.len() as u64;
        Ok(totals)
    }

    pub(super) fn read_parts(
        &self,
        org: &OrgId,
        machine: &MachineId,
        from: Timestamp,
        to: Timestamp,
        limit: usize,
    ) -> Result<Vec<PartCount>, StoreError> {
        self.read_timed(
            &self.trees.parts,
            PageKind::Parts,
            (org, machine),
            (from, to),
            limit,
        )
    }

    pub(super) fn read_cycles(
        &self,
        org: &OrgId,
        machine: &MachineId,
        from: Timestamp,
        to: Timestamp,
        limit: usize,
    ) -> Result<Vec<Cycle>, StoreError> {
        self.read_timed(
            &self.trees.cycles,
            PageKind::Cycles,
            (org, machine),
            (from, to),
            limit,
        )
    }

    pub(super) fn read_alarms(
        &self,
        org: &OrgId,
        machine: &MachineId,
        from: Timestamp,
        to: Timestamp,
        limit: usize,
    ) -> Result<Vec<Alarm>, StoreError> {
        self.read_timed(
            &self.trees.alarms,
            PageKind::Alarms,
            (org, machine),
            (from, to),
            limit,
        )
    }

    /// Removes every derived record of the machine, and its snapshot.
    pub(super) fn purge_derived(&self, org: &OrgId, machine: &MachineId) -> Result<(), StoreError> {
        let prefix = keys::series_prefix(org, machine);
        let t = &self.trees;
        for table in [
            &t.intervals,
            &t.parts,
            &t.cycles,
            &t.alarms,
            &t.hours,
            &t.days,
            &t.day_pages,
        ] {
            table.remove_prefix(&prefix)?;
        }
        t.deriver.remove(&keys::machine(org, machine))?;
        Ok(())
    }
}

/// A derived batch encoded, before the transaction, under its keys.
struct EncodedRecords {
    intervals: Encoded,
    parts: Encoded,
    cycles: Encoded,
    alarms: Encoded,
    stale_pages: StalePages,
}

type Encoded = Vec<(Vec<u8>, Vec<u8>)>;

impl EncodedRecords {
    fn new(prefix: &[u8], records: &DerivedRecords<'_>) -> Result<Self, StoreError> {
        let intervals = records
            .intervals
            .iter()
            .map(|i| (keys::timed(prefix, i.start, &[]), i));
        let parts = records.parts.iter().map(|p| {
            let counter = p.counter.to_be_bytes();
            (keys::timed(prefix, p.at, &[&counter]), p)
        });
        let cycles = records
            .cycles
            .iter()
            .map(|c| (keys::timed(prefix, c.end, &[]), c));
        let alarms = records.alarms.iter().map(|a| {
            let code = a.native_code.as_deref().unwrap_or_default();
            let rest: [&[u8]; 2] = [a.data_item.as_bytes(), code.as_bytes()];
            (keys::timed(prefix, a.start, &rest), a)
        });
        let mut stale_pages = StalePages::default();
        for i in records.intervals {
            stale_pages.add(prefix, PageKind::Intervals, i.start);
        }
        for p in records.parts {
            stale_pages.add(prefix, PageKind::Parts, p.at);
        }
        for c in records.cycles {
            stale_pages.add(prefix, PageKind::Cycles, c.end);
        }
        for a in records.alarms {
            stale_pages.add(prefix, PageKind::Alarms, a.start);
        }
        Ok(EncodedRecords {
            stale_pages,
            intervals: encode_all("an interval", intervals)?,
            parts: encode_all("a part count", parts)?,
            cycles: encode_all("a cycle", cycles)?,
            alarms: encode_all("an alarm", alarms)?,
        })
    }

    fn insert(&self, tx: &DerivedTx<'_>) -> ConflictableTransactionResult<(), StoreError> {
        for (tree, records) in [
            (tx.intervals, &self.intervals),
            (tx.parts, &self.parts),
            (tx.cycles, &self.cycles),
            (tx.alarms, &self.alarms),
        ] {
            for (key, value) in records {
                tree.insert(key.as_slice(), value.as_slice())?;
            }
        }
        for key in self.stale_pages.keys() {
            tx.day_pages.remove(key)?;
        }
        Ok(())
    }
}

fn encode_all<'r, T: Serialize + 'r>(
    what: &'static str,
    keyed: impl Iterator<Item = (Vec<u8>, &'r T)>,
) -> Result<Encoded, StoreError> {
    keyed
        .map(|(key, record)| Ok((key, encode(what, record)?)))
        .collect()
}

fn encode<T: Serialize>(what: &'static str, value: &T) -> Result<Vec<u8>, StoreError> {
    postcard::to_allocvec(value).map_err(|e| StoreError::Encode {
        what,
        source: e.into(),
    })
}

fn decode<T: DeserializeOwned>(table: &Table, key: &[u8], value: &[u8]) -> Result<T, StoreError> {
    postcard::from_bytes(value).map_err(|e| codec::decode_error(table.name, key)(e.into()))
}

/// Adds the deltas to the stored roll-ups.
fn add_rollups(
    tx: &DerivedTx<'_>,
    prefix: &[u8],
    deltas: &RollupDeltas,
) -> ConflictableTransactionResult<(), StoreError> {
    for (&(width, index), delta) in &deltas.0 {
        let (tree, name) = if width == DAY {
            (tx.days, keys::tree::DAYS)
        } else {
            (tx.hours, keys::tree::HOURS)
        };
        let key = bucket_key(prefix, index);
        let mut totals = match tree.get(&key)? {
            None => Totals::default(),
            Some(bytes) => abort_on(
                postcard::from_bytes(&bytes).map_err(|e| codec::decode_error(name, &key)(e.into())),
            )?,
        };
        totals.merge(delta);
        let value = abort_on(encode("a roll-up", &totals))?;
        tree.insert(key, value)?;
    }
    Ok(())
}

/// Key of the roll-up bucket `index` of the machine whose series prefix is `prefix`.
pub(super) fn bucket_key(prefix: &[u8], index: i64) -> Vec<u8> {
    keys::timed(prefix, index, &[])
}

/// A piece of a queried range: a whole roll-up bucket, or a stretch under an hour read from the
/// records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Span {
    Bucket(i64, i64),
    Edge(Timestamp, Timestamp),
}

/// Splits `[from, to)` into as few pieces as the roll-ups allow: whole days where they fit,
/// whole hours around them, and the stretches under an hour at either end.
fn spans(from: Timestamp, to: Timestamp) -> Vec<Span> {
    let mut spans = Vec::new();
    let mut cursor = from;
    while cursor < to {
        let fits = |width: i64| cursor.rem_euclid(width) == 0 && cursor.saturating_add(width) <= to;
        if fits(DAY) {
            spans.push(Span::Bucket(DAY, cursor.div_euclid(DAY)));
            cursor += DAY;
        } else if fits(HOUR) {
            spans.push(Span::Bucket(HOUR, cursor.div_euclid(HOUR)));
            cursor += HOUR;
        } else {
            let next_hour = (cursor.div_euclid(HOUR) + 1).saturating_mul(HOUR);
            let end = next_hour.min(to);
            spans.push(Span::Edge(cursor, end));
            cursor = end;
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_from_midnight_is_thirty_day_buckets() {
        let from = 20_000 * DAY;
        let spans = spans(from, from + 30 * DAY);
        assert_eq!(spans.len(), 30);
        assert!(spans.iter().all(|s| matches!(s, Span::Bucket(DAY, _))));
    }

    #[test]
    fn ragged_ends_use_hours_and_edges() {
        let from = 20_000 * DAY + 22 * HOUR + 5;
        let to = 20_002 * DAY + HOUR + 7;
        let spans = spans(from, to);
        assert_eq!(
            spans.first(),
            Some(&Span::Edge(from, 20_000 * DAY + 23 * HOUR))
        );
        assert_eq!(spans[1], Span::Bucket(HOUR, 20_000 * 24 + 23));
        assert_eq!(spans[2], Span::Bucket(DAY, 20_001));
        assert_eq!(spans[3], Span::Bucket(HOUR, 20_002 * 24));
        assert_eq!(spans[4], Span::Edge(20_002 * DAY + HOUR, to));
        assert_eq!(spans.len(), 5);
    }

    #[test]
    fn an_interval_is_split_across_buckets() {
        let mut deltas = RollupDeltas::default();
        let start = 3 * DAY - HOUR / 2;
        deltas.add_interval(&Interval {
            status: chatter_model::MachineStatus::Running,
            start,
            end: start + HOUR,
        });
        assert_eq!(deltas.0[&(HOUR, 3 * 24 - 1)].running, HOUR / 2);
        assert_eq!(deltas.0[&(HOUR, 3 * 24)].running, HOUR / 2);
        assert_eq!(deltas.0[&(DAY, 2)].running, HOUR / 2);
        assert_eq!(deltas.0[&(DAY, 3)].running, HOUR / 2);
    }
}
