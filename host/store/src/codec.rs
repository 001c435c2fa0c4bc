//! How values are laid out on disk.
//!
//! Observations are the bulk of the data and are written thousands of times a second, so they are
//! postcard-encoded through private records: compact, and independent of the serde attributes the
//! model types carry for the HTTP API (postcard cannot round-trip `skip_serializing_if` or
//! adjacently tagged enums anyway). Metadata (organizations, machines, data items, plugin
//! installs) is small and rarely written, so it is JSON: readable with any sled dump, and tolerant
//! of fields added later.

use std::borrow::Cow;
use std::collections::BTreeMap;

use chatter_model::{Condition, ConditionLevel, Observation, StoredObservation, Value};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{CodecError, StoreError};
use crate::keys;

/// First byte of every observation record, so the layout can change without a migration.
const OBSERVATION_FORMAT_V1: u8 = 1;

/// An observation as stored. Variant and field order is the on-disk format: only append.
#[derive(Serialize, Deserialize)]
struct ObservationRecord<'a> {
    data_item: Cow<'a, str>,
    timestamp: i64,
    value: ValueRecord<'a>,
}

#[derive(Serialize, Deserialize)]
enum ValueRecord<'a> {
    Sample(f64),
    Event(Cow<'a, str>),
    Condition {
        level: LevelRecord,
        native_code: Option<Cow<'a, str>>,
        native_severity: Option<Cow<'a, str>>,
        qualifier: Option<Cow<'a, str>>,
        text: Option<Cow<'a, str>>,
    },
    Unavailable,
}

#[derive(Serialize, Deserialize)]
enum LevelRecord {
    Normal,
    Warning,
    Fault,
    Unavailable,
}

impl<'a> From<&'a Observation> for ObservationRecord<'a> {
    fn from(observation: &'a Observation) -> Self {
        ObservationRecord {
            data_item: Cow::Borrowed(&observation.data_item),
            timestamp: observation.timestamp,
            value: ValueRecord::from(&observation.value),
        }
    }
}

impl<'a> From<&'a Value> for ValueRecord<'a> {
    fn from(value: &'a Value) -> Self {
        let borrow = |text: &'a Option<String>| text.as_deref().map(Cow::Borrowed);
        match value {
            Value::Sample(number) => ValueRecord::Sample(*number),
            Value::Event(text) => ValueRecord::Event(Cow::Borrowed(text)),
            Value::Condition(condition) => ValueRecord::Condition {
                level: LevelRecord::from(condition.level),
                native_code: borrow(&condition.native_code),
                native_severity: borrow(&condition.native_severity),
                qualifier: borrow(&condition.qualifier),
                text: borrow(&condition.text),
            },
            Value::Unavailable => ValueRecord::Unavailable,
        }
    }
}

impl From<ConditionLevel> for LevelRecord {
    fn from(level: ConditionLevel) -> Self {
        match level {
            ConditionLevel::Normal => LevelRecord::Normal,
            ConditionLevel::Warning => LevelRecord::Warning,
            ConditionLevel::Fault => LevelRecord::Fault,
            ConditionLevel::Unavailable => LevelRecord::Unavailable,
        }
    }
}

impl From<ObservationRecord<'_>> for Observation {
    fn from(record: ObservationRecord<'_>) -> Self {
        Observation {
            data_item: record.data_item.into_owned(),
            timestamp: record.timestamp,
            value: record.value.into(),
        }
    }
}

impl From<ValueRecord<'_>> for Value {
    fn from(record: ValueRecord<'_>) -> Self {
        let own = |text: Option<Cow<'_, str>>| text.map(Cow::into_owned);
        match record {
            ValueRecord::Sample(number) => Value::Sample(number),
            ValueRecord::Event(text) => Value::Event(text.into_owned()),
            ValueRecord::Condition {
                level,
                native_code,
                native_severity,
                qualifier,
                text,
            } => Value::Condition(Condition {
                level: level.into(),
                native_code: own(native_code),
                native_severity: own(native_severity),
                qualifier: own(qualifier),
                text: own(text),
            }),
            ValueRecord::Unavailable => Value::Unavailable,
        }
    }
}

impl From<LevelRecord> for ConditionLevel {
    fn from(level: LevelRecord) -> Self {
        match level {
            LevelRecord::Normal => ConditionLevel::Normal,
            LevelRecord::Warning => ConditionLevel::Warning,
            LevelRecord::Fault => ConditionLevel::Fault,
            LevelRecord::Unavailable => ConditionLevel::Unavailable,
        }
    }
}

fn decode_error(tree: &'static str, key: &[u8]) -> impl FnOnce(CodecError) -> StoreError {
    move |source| StoreError::Decode {
        tree,
        key: keys::display(key),
        source,
    }
}

/// Encodes an observation record (format byte, then postcard).
pub(crate) fn encode_observation(observation: &Observation) -> Result<Vec<u8>, StoreError> {
    let bytes = vec![OBSERVATION_FORMAT_V1];
    postcard::to_extend(&ObservationRecord::from(observation), bytes).map_err(|e| {
        StoreError::Encode {
            what: "an observation",
            source: e.into(),
        }
    })
}

fn decode_observation_record(bytes: &[u8]) -> Result<Observation, CodecError> {
    let (&format, record) = bytes.split_first().ok_or(CodecError::Empty)?;
    if format != OBSERVATION_FORMAT_V1 {
        return Err(CodecError::UnknownFormat(format));
    }
    Ok(postcard::from_bytes::<ObservationRecord<'_>>(record)?.into())
}

/// Decodes an observation stored under `key` of `tree`.
pub(crate) fn decode_observation(
    tree: &'static str,
    key: &[u8],
    bytes: &[u8],
) -> Result<Observation, StoreError> {
    decode_observation_record(bytes).map_err(decode_error(tree, key))
}

/// A latest-value entry: the sequence, then the observation record it was stored with.
pub(crate) fn encode_latest(sequence: u64, record: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(8 + record.len());
    bytes.extend_from_slice(&sequence.to_be_bytes());
    bytes.extend_from_slice(record);
    bytes
}

/// Decodes a latest-value entry stored under `key` of `tree`.
pub(crate) fn decode_latest(
    tree: &'static str,
    key: &[u8],
    bytes: &[u8],
) -> Result<StoredObservation, StoreError> {
    let decode = || {
        let (sequence, record) = bytes.split_first_chunk::<8>().ok_or(CodecError::Length {
            expected: 8,
            actual: bytes.len(),
        })?;
        let observation = decode_observation_record(record)?;
        Ok(StoredObservation {
            sequence: u64::from_be_bytes(*sequence),
            backwards: false,
            observation,
        })
    };
    decode().map_err(decode_error(tree, key))
}

/// Decodes a big-endian `u64` (a sequence number or a count) stored under or as `key` of `tree`.
pub(crate) fn decode_u64(tree: &'static str, key: &[u8], bytes: &[u8]) -> Result<u64, StoreError> {
    let array: [u8; 8] = bytes
        .try_into()
        .map_err(|_| CodecError::Length {
            expected: 8,
            actual: bytes.len(),
        })
        .map_err(decode_error(tree, key))?;
    Ok(u64::from_be_bytes(array))
}

/// Encodes metadata as JSON.
pub(crate) fn to_json<T: Serialize + ?Sized>(
    what: &'static str,
    value: &T,
) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Encode {
        what,
        source: e.into(),
    })
}

/// Decodes JSON metadata stored under `key` of `tree`.
pub(crate) fn from_json<T: DeserializeOwned>(
    tree: &'static str,
    key: &[u8],
    bytes: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| decode_error(tree, key)(e.into()))
}

/// Encodes a driver instance's private state.
pub(crate) fn encode_state(state: &BTreeMap<String, Vec<u8>>) -> Result<Vec<u8>, StoreError> {
    postcard::to_allocvec(state).map_err(|e| StoreError::Encode {
        what: "plugin state",
        source: e.into(),
    })
}

/// Decodes a driver instance's private state stored under `key` of `tree`.
pub(crate) fn decode_state(
    tree: &'static str,
    key: &[u8],
    bytes: &[u8],
) -> Result<BTreeMap<String, Vec<u8>>, StoreError> {
    postcard::from_bytes(bytes).map_err(|e| decode_error(tree, key)(e.into()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn round_trip(value: Value) {
        let observation = Observation {
            data_item: "exec".into(),
            timestamp: -5,
            value,
        };
        let bytes = encode_observation(&observation).unwrap();
        assert_eq!(decode_observation("t", b"k", &bytes).unwrap(), observation);
    }

    #[test]
    fn every_value_round_trips() {
        round_trip(Value::Sample(1.5));
        round_trip(Value::Event("ACTIVE".into()));
        round_trip(Value::Unavailable);
        round_trip(Value::Condition(Condition {
            level: ConditionLevel::Fault,
            native_code: Some("1010".into()),
            native_severity: None,
            qualifier: Some("HIGH".into()),
            text: None,
        }));
    }

    #[test]
    fn a_sample_takes_a_few_bytes() {
        let observation = Observation {
            data_item: "x".into(),
            timestamp: 1_700_000_000_000_000_000,
            value: Value::Sample(0.25),
        };
        // format + "x" + varint timestamp + variant + f64
        assert!(encode_observation(&observation).unwrap().len() <= 1 + 2 + 10 + 1 + 8);
    }

    #[test]
    fn garbage_is_an_error_naming_tree_and_key() {
        let err = decode_observation("observations", b"o\0m\0\x01", b"\x01\xff\xff").unwrap_err();
        assert!(
            err.to_string().starts_with(
                "cannot decode the value of key `o\\x00m\\x00\\x01` in tree `observations`"
            ),
            "{err}"
        );
        let err = decode_latest("latest", b"k", b"\x00").unwrap_err();
        assert!(
            err.to_string().ends_with("expected 8 bytes, found 1"),
            "{err}"
        );
        let err = decode_observation("observations", b"k", b"\x07").unwrap_err();
        assert!(
            err.to_string().ends_with("unknown record format 7"),
            "{err}"
        );
    }
}
