//! The private, postcard-encoded forms of one observation: in a chunk, and in latest values.

use std::borrow::Cow;

use chatter_model::{Condition, ConditionLevel, Observation, Value};
use serde::{Deserialize, Serialize};

/// An observation as latest values store it. Variant and field order is the on-disk format:
/// only append.
///
/// Text is borrowed on decoding where serde allows it, so that skipping records (to reach the
/// first wanted one in a chunk) or merging latest values allocates nothing for them.
#[derive(Serialize, Deserialize)]
pub(super) struct ObservationRecord<'a> {
    #[serde(borrow)]
    pub(super) data_item: Cow<'a, str>,
    pub(super) timestamp: i64,
    #[serde(borrow)]
    pub(super) value: ValueRecord<'a>,
}

/// An observation in a chunk: its data item is an index into the chunk's list of data items, its
/// timestamp an offset from the chunk's base timestamp, so that a record of a sample takes about
/// 15 bytes instead of 30.
#[derive(Serialize, Deserialize)]
pub(super) struct ChunkRecord<'a> {
    pub(super) item: u32,
    /// Wrapping difference from the chunk's base timestamp: any two `i64` have one.
    pub(super) timestamp: i64,
    #[serde(borrow)]
    pub(super) value: ValueRecord<'a>,
}

#[derive(Serialize, Deserialize)]
pub(super) enum ValueRecord<'a> {
    Sample(f64),
    Event(#[serde(borrow)] Cow<'a, str>),
    // serde borrows only a bare `Cow<str>`; these optional texts are copied when decoded.
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
pub(super) enum LevelRecord {
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
