//! Observations: one reported value of one data item, following MTConnect.

use serde::{Deserialize, Serialize};

/// Nanoseconds since the Unix epoch, UTC.
pub type Timestamp = i64;

/// The current time in milliseconds since the Unix epoch, as the API reports times of events
/// the host itself observes (installs, polls, faults).
pub fn now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

/// The current time in nanoseconds since the Unix epoch.
pub fn now_ns() -> Timestamp {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_nanos()).unwrap_or(i64::MAX)
}

/// The data item under which the host itself reports that it stopped reading a machine (its
/// driver was stopped or quarantined, or the server shut down), with the event `STOPPED`. Nothing
/// is known of the machine from then until it reports again, so its timeline shows it offline.
pub const COLLECTION_STOPPED: &str = "chatter:collection";

/// The MTConnect category of a data item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// A number with units.
    Sample,
    /// A discrete value.
    Event,
    /// A health report with native code and text.
    Condition,
}

/// A data item a machine reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataItem {
    /// Stable id within the machine.
    pub id: String,
    /// Its category.
    pub category: Category,
    /// MTConnect type in upper snake case (`EXECUTION`, `PART_COUNT`, …).
    pub kind: String,
    /// Units of a sample.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<String>,
    /// The controller's name for it, when it differs from the id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Severity of a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConditionLevel {
    /// No problem.
    Normal,
    /// Something needs attention; the machine may still run.
    Warning,
    /// The machine needs intervention.
    Fault,
    /// Unknown.
    Unavailable,
}

/// A condition report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    /// Severity.
    pub level: ConditionLevel,
    /// The controller's alarm code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native_code: Option<String>,
    /// The controller's own severity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native_severity: Option<String>,
    /// `HIGH` or `LOW`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qualifier: Option<String>,
    /// Alarm text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// The value of an observation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Value {
    /// A number.
    Sample(f64),
    /// A discrete value.
    Event(String),
    /// A condition report.
    Condition(Condition),
    /// No value right now.
    Unavailable,
}

impl Value {
    /// The number of bytes of text and numbers this value carries, for byte caps.
    pub fn payload_len(&self) -> usize {
        let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        match self {
            Value::Sample(_) => 8,
            Value::Event(text) => text.len(),
            Value::Condition(c) => {
                1 + opt(&c.native_code) + opt(&c.native_severity) + opt(&c.qualifier) + opt(&c.text)
            }
            Value::Unavailable => 0,
        }
    }
}

/// One reported value of one data item of one machine, as a driver reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// Id of the data item.
    pub data_item: String,
    /// When the machine reported it.
    pub timestamp: Timestamp,
    /// What it reported.
    pub value: Value,
}

impl Observation {
    /// Approximate size in bytes, for per-call byte caps.
    pub fn payload_len(&self) -> usize {
        self.data_item.len() + 8 + self.value.payload_len()
    }
}

/// An observation accepted by the host, with its place in the machine's sequence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredObservation {
    /// Position in the machine's sequence: contiguous, starting at 1, never reused.
    pub sequence: u64,
    /// The observation's timestamp is earlier than that of the observation stored just before
    /// it for the same machine: the machine's clock went backwards (a reset clock, joined
    /// captures). Such observations are kept in arrival order, never re-sorted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub backwards: bool,
    /// The observation.
    #[serde(flatten)]
    pub observation: Observation,
}
