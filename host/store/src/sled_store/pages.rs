//! Day pages: every interval, part count, cycle or alarm of one machine keyed within one past
//! UTC day, copied into a single value, so that a month of records costs a few dozen reads.
//!
//! sled clones a leaf node for every step of an iterator, which makes a range scan cost about a
//! microsecond a record: a report over 100 machines and a month of intervals, cycles and part
//! counts spent more than a second there. A page holds a day's records in one postcard list, read
//! with one lookup.
//!
//! The records stay the source of truth; a page is a copy of them, so it is only ever dropped,
//! never repaired:
//!
//! - it is made when a read covers a whole day that ended [`SETTLED_AFTER`] ago (the current day
//!   changes too often to be worth copying), under the machine's lock;
//! - a derived write removes the pages of every day it touches in its own transaction, under the
//!   same lock, so a page never misses a record written after it was made;
//! - retention removes the pages of the days it expires records from before it removes the
//!   records, and purging a machine or organization removes its pages with everything else.

use std::collections::BTreeSet;

use chatter_model::{MachineId, OrgId, Timestamp, now_ns};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::derived::{DAY, HOUR};
use super::{SledStore, Table};
use crate::codec;
use crate::error::StoreError;
use crate::keys;

/// How long after its end a day gets pages: by then late records of it are rare.
pub(super) const SETTLED_AFTER: i64 = HOUR;

/// The kinds of derived record that have pages, with the byte that tells their pages apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum PageKind {
    Intervals = 1,
    Parts = 2,
    Cycles = 3,
    Alarms = 4,
}

/// Key of the page of `kind` for the UTC day starting at `day_start`.
pub(super) fn page_key(prefix: &[u8], day_start: Timestamp, kind: PageKind) -> Vec<u8> {
    keys::timed(prefix, day_start, &[&[kind as u8]])
}

/// The start of the UTC day holding `timestamp`.
pub(super) fn day_start(timestamp: Timestamp) -> Timestamp {
    timestamp.div_euclid(DAY).saturating_mul(DAY)
}

/// The page keys a derived write makes stale: one per kind and day its records are keyed in.
#[derive(Default)]
pub(super) struct StalePages(BTreeSet<Vec<u8>>);

impl StalePages {
    pub(super) fn add(&mut self, prefix: &[u8], kind: PageKind, keyed_at: Timestamp) {
        self.0.insert(page_key(prefix, day_start(keyed_at), kind));
    }

    pub(super) fn keys(&self) -> impl Iterator<Item = &[u8]> {
        self.0.iter().map(Vec::as_slice)
    }
}

/// A piece of a read range: whole settled days come from pages, the rest from the records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece {
    Records(Timestamp, Timestamp),
    Page(Timestamp),
}

/// Splits `[from, to)` into the settled UTC days it covers whole, as of `now`, and the stretches
/// around them.
fn pieces(from: Timestamp, to: Timestamp, now: Timestamp) -> Vec<Piece> {
    let settled_before = day_start(now.saturating_sub(SETTLED_AFTER));
    let mut pieces = Vec::new();
    let mut cursor = from;
    while cursor < to {
        let whole_day = cursor.rem_euclid(DAY) == 0
            && cursor.saturating_add(DAY) <= to
            && cursor.saturating_add(DAY) <= settled_before;
        if whole_day {
            pieces.push(Piece::Page(cursor));
            cursor += DAY;
        } else {
            let next_day = day_start(cursor).saturating_add(DAY);
            let end = next_day.min(to);
            match pieces.last_mut() {
                Some(Piece::Records(_, last_end)) if *last_end == cursor => *last_end = end,
                _ => pieces.push(Piece::Records(cursor, end)),
            }
            cursor = end;
        }
    }
    pieces
}

impl SledStore {
    /// Up to `limit` records of `table` keyed by a time in `[from, to)`, in key order: whole
    /// settled days from their pages (made on first read), the rest scanned.
    pub(super) fn read_timed<T: Serialize + DeserializeOwned>(
        &self,
        table: &Table,
        kind: PageKind,
        (org, machine): (&OrgId, &MachineId),
        (from, to): (Timestamp, Timestamp),
        limit: usize,
    ) -> Result<Vec<T>, StoreError> {
        let prefix = keys::series_prefix(org, machine);
        let mut found = Vec::new();
        for piece in pieces(from, to, now_ns()) {
            let left = limit - found.len();
            if left == 0 {
                break;
            }
            match piece {
                Piece::Records(start, end) => {
                    found.extend(scan_records(table, &prefix, start, end, left)?);
                }
                Piece::Page(day) => {
                    let page: Vec<T> = self.page(table, kind, (org, machine), &prefix, day)?;
                    found.extend(page.into_iter().take(left));
                }
            }
        }
        Ok(found)
    }

    /// The page of `kind` for the day starting at `day`, made from the records if it is not
    /// stored yet.
    fn page<T: Serialize + DeserializeOwned>(
        &self,
        table: &Table,
        kind: PageKind,
        (org, machine): (&OrgId, &MachineId),
        prefix: &[u8],
        day: Timestamp,
    ) -> Result<Vec<T>, StoreError> {
        let pages = &self.trees.day_pages;
        let key = page_key(prefix, day, kind);
        if let Some(bytes) = pages.get(&key)? {
            return decode(pages, &key, &bytes);
        }
        // Held from the scan to the insert, so no write lands in between and goes missing.
        let _guard = self.locks.lock(org, machine);
        if let Some(bytes) = pages.get(&key)? {
            return decode(pages, &key, &bytes);
        }
        let records: Vec<T> = scan_records(table, prefix, day, day + DAY, usize::MAX)?;
        let encoded = postcard::to_allocvec(&records).map_err(|e| StoreError::Encode {
            what: "a day page",
            source: e.into(),
        })?;
        pages.insert(&key, encoded)?;
        Ok(records)
    }

    /// Removes the machine's pages of days starting before `cutoff`, oldest first, at most
    /// `budget`; returns how many went.
    pub(super) fn remove_pages_before(
        &self,
        prefix: &[u8],
        cutoff: Timestamp,
        budget: usize,
    ) -> Result<usize, StoreError> {
        let pages = &self.trees.day_pages;
        let mut batch = sled::Batch::default();
        let mut removed = 0;
        for entry in pages.tree.scan_prefix(prefix).take(budget) {
            let (key, _) = entry.map_err(pages.failed("scanning", prefix))?;
            match keys::time_of(&key, prefix.len()) {
                Some(day) if day >= cutoff => break,
                _ => {
                    batch.remove(key);
                    removed += 1;
                }
            }
        }
        pages.apply(batch, prefix)?;
        Ok(removed)
    }
}

/// Decodes up to `limit` records of `table` keyed by a time in `[from, to)`, in order.
fn scan_records<T: DeserializeOwned>(
    table: &Table,
    prefix: &[u8],
    from: Timestamp,
    to: Timestamp,
    limit: usize,
) -> Result<Vec<T>, StoreError> {
    let start = keys::timed(prefix, from, &[]);
    let end = keys::timed(prefix, to, &[]);
    table
        .tree
        .range(start..end)
        .take(limit)
        .map(|entry| {
            let (key, value) = entry.map_err(table.failed("scanning", prefix))?;
            decode(table, &key, &value)
        })
        .collect()
}

fn decode<T: DeserializeOwned>(table: &Table, key: &[u8], value: &[u8]) -> Result<T, StoreError> {
    postcard::from_bytes(value).map_err(|e| codec::decode_error(table.name, key)(e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = 10 * DAY + 5 * HOUR;

    #[test]
    fn whole_settled_days_are_pages_and_the_rest_records() {
        assert_eq!(
            pieces(DAY + HOUR, 4 * DAY, NOW),
            [
                Piece::Records(DAY + HOUR, 2 * DAY),
                Piece::Page(2 * DAY),
                Piece::Page(3 * DAY),
            ]
        );
        assert_eq!(
            pieces(2 * DAY, 3 * DAY + HOUR, NOW),
            [
                Piece::Page(2 * DAY),
                Piece::Records(3 * DAY, 3 * DAY + HOUR)
            ]
        );
    }

    #[test]
    fn days_not_settled_yet_are_read_from_the_records_in_one_piece() {
        // Day 9 ended 5 h ago and is settled; day 10 is today.
        assert_eq!(
            pieces(9 * DAY, 11 * DAY, NOW),
            [Piece::Page(9 * DAY), Piece::Records(10 * DAY, 11 * DAY)]
        );
        // Just after midnight, yesterday is not settled either.
        let early = 10 * DAY + HOUR / 2;
        assert_eq!(
            pieces(8 * DAY, 11 * DAY, early),
            [Piece::Page(8 * DAY), Piece::Records(9 * DAY, 11 * DAY)]
        );
    }

    #[test]
    fn a_range_within_a_day_or_empty_is_one_piece_or_none() {
        assert_eq!(
            pieces(2 * DAY + HOUR, 2 * DAY + 2 * HOUR, NOW),
            [Piece::Records(2 * DAY + HOUR, 2 * DAY + 2 * HOUR)]
        );
        assert_eq!(pieces(3 * DAY, 3 * DAY, NOW), []);
        assert_eq!(
            pieces(-DAY, 0, NOW),
            [Piece::Page(-DAY)],
            "days before 1970 page like any other"
        );
    }
}
