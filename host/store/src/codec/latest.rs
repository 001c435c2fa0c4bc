//! Latest values: the latest observation of each data item of a machine, in one value.

use std::borrow::Cow;
use std::collections::BTreeMap;

use chatter_model::{Observation, StoredObservation};
use serde::{Deserialize, Serialize};

use super::records::ObservationRecord;
use super::{FORMAT_V2, encode_error, strip_format};
use crate::error::{CodecError, StoreError};

/// The latest observation of one data item.
#[derive(Serialize, Deserialize)]
struct LatestEntry<'a> {
    sequence: u64,
    backwards: bool,
    #[serde(borrow)]
    record: ObservationRecord<'a>,
}

/// The latest observation of each data item of a machine, sorted by data item.
#[derive(Default)]
pub(crate) struct LatestValues<'a> {
    entries: Vec<LatestEntry<'a>>,
}

/// Decodes a machine's latest values without copying their text.
pub(crate) fn read_latest(bytes: &[u8]) -> Result<LatestValues<'_>, CodecError> {
    let entries = postcard::from_bytes(strip_format(bytes)?)?;
    Ok(LatestValues { entries })
}

impl<'a> LatestValues<'a> {
    /// The timestamp of the last observation stored for the machine, which is necessarily the
    /// latest value of its data item: the entry with the highest sequence number.
    pub(crate) fn last_timestamp(&self) -> Option<i64> {
        let last = self.entries.iter().max_by_key(|entry| entry.sequence)?;
        Some(last.record.timestamp)
    }

    /// Replaces the values of the data items in `newest`: `(sequence, backwards, observation)`,
    /// each newer than anything stored.
    pub(crate) fn update(
        &mut self,
        newest: impl IntoIterator<Item = (u64, bool, &'a Observation)>,
    ) {
        let mut by_item: BTreeMap<Cow<'a, str>, LatestEntry<'a>> = self
            .entries
            .drain(..)
            .map(|entry| (entry.record.data_item.clone(), entry))
            .collect();
        for (sequence, backwards, observation) in newest {
            let entry = LatestEntry {
                sequence,
                backwards,
                record: ObservationRecord::from(observation),
            };
            by_item.insert(Cow::Borrowed(&observation.data_item), entry);
        }
        self.entries = by_item.into_values().collect();
    }

    /// The latest values as stored.
    pub(crate) fn to_value(&self) -> Result<Vec<u8>, StoreError> {
        postcard::to_extend(&self.entries, vec![FORMAT_V2]).map_err(encode_error("latest values"))
    }

    /// The latest values as the store returns them, sorted by data item.
    pub(crate) fn into_stored(self) -> Vec<StoredObservation> {
        let stored = |entry: LatestEntry<'_>| StoredObservation {
            sequence: entry.sequence,
            backwards: entry.backwards,
            observation: entry.record.into(),
        };
        self.entries.into_iter().map(stored).collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chatter_model::Value;

    use super::*;

    fn observation(data_item: &str, timestamp: i64, value: Value) -> Observation {
        Observation {
            data_item: data_item.into(),
            timestamp,
            value,
        }
    }

    #[test]
    fn latest_values_keep_the_newest_per_data_item_sorted() {
        let first = [
            observation("load", 10, Value::Sample(1.0)),
            observation("exec", 11, Value::Event("READY".into())),
        ];
        let mut latest = LatestValues::default();
        assert_eq!(latest.last_timestamp(), None);
        latest.update([(1, false, &first[0]), (2, false, &first[1])]);
        let value = latest.to_value().unwrap();

        let second = observation("load", 9, Value::Sample(2.0));
        let mut latest = read_latest(&value).unwrap();
        assert_eq!(latest.last_timestamp(), Some(11));
        latest.update([(3, true, &second)]);
        let value = latest.to_value().unwrap();

        let stored = read_latest(&value).unwrap();
        assert_eq!(stored.last_timestamp(), Some(9));
        let stored = stored.into_stored();
        assert_eq!(
            stored
                .iter()
                .map(|s| (s.sequence, s.backwards, s.observation.data_item.as_str()))
                .collect::<Vec<_>>(),
            [(2, false, "exec"), (3, true, "load")]
        );
        assert_eq!(stored[1].observation, second);
    }
}
