//! What the host derives from a machine's observations: a timeline of states, parts, cycles and
//! alarms. The rules that derive them live in `chatter-derive`; these are the shapes the store
//! keeps and the API serves.
//!
//! Records serialize every field, absent ones as `null`: the store encodes them with postcard,
//! which cannot skip fields.

use serde::{Deserialize, Serialize};

use crate::{ConditionLevel, MachineStatus, Timestamp};

/// Which data items a machine's derived state reads, by id or controller name, for machines
/// whose driver does not declare MTConnect types (an SHDR adapter without a Devices.xml) or
/// declares them wrongly. An empty list means "recognize it": by declared type first, then by
/// the names controllers commonly use (see `chatter-derive`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SignalMapping {
    /// Items of type AVAILABILITY.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub availability: Vec<String>,
    /// Items of type EXECUTION (`execution`, `pexecution`, `Program_Status`…).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub execution: Vec<String>,
    /// Items of type CONTROLLER_MODE.
    #[serde(alias = "controller-mode", skip_serializing_if = "Vec::is_empty")]
    pub controller_mode: Vec<String>,
    /// Items of type PART_COUNT.
    #[serde(alias = "part-count", skip_serializing_if = "Vec::is_empty")]
    pub part_count: Vec<String>,
    /// Items of type PROGRAM.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub program: Vec<String>,
    /// The value after which the machine's part counter wraps to 0 (9999, 65535…), if it does:
    /// a drop to a small value is then counted as a rollover, not a reset.
    #[serde(alias = "part-count-rollover", skip_serializing_if = "Option::is_none")]
    pub part_count_rollover: Option<u64>,
}

impl SignalMapping {
    /// Whether nothing is configured.
    pub fn is_empty(&self) -> bool {
        *self == SignalMapping::default()
    }
}

/// A span of time in which a machine was in one state. `end` is exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interval {
    /// The state.
    pub status: MachineStatus,
    /// When it began, in nanoseconds since the Unix epoch.
    pub start: Timestamp,
    /// When it ended.
    pub end: Timestamp,
}

/// A rise of the part counter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartCount {
    /// When the counter rose.
    pub at: Timestamp,
    /// By how many parts.
    pub parts: u64,
    /// The counter's value afterwards.
    pub counter: u64,
    /// The program running then.
    #[serde(default)]
    pub program: Option<String>,
}

/// How a cycle ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CycleEnd {
    /// The program completed (execution PROGRAM_COMPLETED, or READY after running).
    Completed,
    /// The program was stopped or reset (execution STOPPED).
    Stopped,
    /// The machine went offline mid-cycle.
    Offline,
}

/// One run of a program: from execution becoming ACTIVE out of a stopped state to the program
/// completing or stopping. Feed holds and interruptions in between belong to the cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cycle {
    /// When execution became ACTIVE.
    pub start: Timestamp,
    /// When it ended.
    pub end: Timestamp,
    /// How it ended.
    pub ended: CycleEnd,
    /// The program it ran, as reported at its start.
    #[serde(default)]
    pub program: Option<String>,
    /// Nanoseconds of the cycle spent with execution ACTIVE (the rest was paused).
    pub active: i64,
    /// Parts the counter rose by during the cycle (and up to the next cycle's start: many
    /// controls count the part just after the program ends).
    pub parts: u64,
}

impl Cycle {
    /// The cycle time in nanoseconds.
    pub fn duration(&self) -> i64 {
        self.end - self.start
    }
}

/// One activation of a condition: from the data item reporting a warning or fault with a native
/// code until it reports normal (or becomes unavailable) for that code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alarm {
    /// The condition data item.
    pub data_item: String,
    /// The controller's alarm code, if it gave one.
    #[serde(default)]
    pub native_code: Option<String>,
    /// The highest level it reached while active.
    pub level: ConditionLevel,
    /// The text it was last reported with.
    #[serde(default)]
    pub text: Option<String>,
    /// When it was raised.
    pub start: Timestamp,
    /// When it cleared; `None` while active.
    #[serde(default)]
    pub end: Option<Timestamp>,
}

/// Time per state, in nanoseconds, with parts, cycles and alarms, over some span.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Nanoseconds offline.
    pub offline: i64,
    /// Nanoseconds in alarm.
    pub alarm: i64,
    /// Nanoseconds running.
    pub running: i64,
    /// Nanoseconds paused.
    pub paused: i64,
    /// Nanoseconds in setup.
    pub setup: i64,
    /// Nanoseconds idle.
    pub idle: i64,
    /// Parts counted (by the time the counter rose).
    pub parts: u64,
    /// Cycles ended.
    pub cycles: u64,
    /// Sum of the ended cycles' durations, in nanoseconds.
    pub cycle_time: i64,
    /// Alarms raised.
    pub alarms: u64,
}

impl Totals {
    /// Adds `nanos` to the time of `status`.
    pub fn add_time(&mut self, status: MachineStatus, nanos: i64) {
        *self.time_mut(status) += nanos;
    }

    /// Nanoseconds spent in `status`.
    pub fn time(&self, status: MachineStatus) -> i64 {
        match status {
            MachineStatus::Offline => self.offline,
            MachineStatus::Alarm => self.alarm,
            MachineStatus::Running => self.running,
            MachineStatus::Paused => self.paused,
            MachineStatus::Setup => self.setup,
            MachineStatus::Idle => self.idle,
        }
    }

    fn time_mut(&mut self, status: MachineStatus) -> &mut i64 {
        match status {
            MachineStatus::Offline => &mut self.offline,
            MachineStatus::Alarm => &mut self.alarm,
            MachineStatus::Running => &mut self.running,
            MachineStatus::Paused => &mut self.paused,
            MachineStatus::Setup => &mut self.setup,
            MachineStatus::Idle => &mut self.idle,
        }
    }

    /// Adds every field of `other`.
    pub fn merge(&mut self, other: &Totals) {
        for status in MachineStatus::ALL {
            self.add_time(status, other.time(status));
        }
        self.parts += other.parts;
        self.cycles += other.cycles;
        self.cycle_time += other.cycle_time;
        self.alarms += other.alarms;
    }

    /// Nanoseconds covered by the states.
    pub fn covered(&self) -> i64 {
        MachineStatus::ALL.iter().map(|&s| self.time(s)).sum()
    }

    /// Counts the time of a span of `span` nanoseconds that no state covers as offline: there
    /// was no data.
    pub fn fill_uncovered(&mut self, span: i64) {
        let uncovered = span - self.covered();
        if uncovered > 0 {
            self.add_time(MachineStatus::Offline, uncovered);
        }
    }

    /// Running time as a share of the time covered, from 0 to 1; `None` for no time.
    pub fn utilization(&self) -> Option<f64> {
        let covered = self.covered();
        (covered > 0).then(|| self.running as f64 / covered as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_add_up_and_utilization_is_running_over_covered() {
        let mut a = Totals::default();
        a.add_time(MachineStatus::Running, 30);
        a.add_time(MachineStatus::Idle, 10);
        let mut b = Totals {
            parts: 2,
            ..Totals::default()
        };
        b.add_time(MachineStatus::Running, 10);
        b.add_time(MachineStatus::Offline, 50);
        a.merge(&b);
        assert_eq!(a.running, 40);
        assert_eq!(a.covered(), 100);
        assert_eq!(a.parts, 2);
        assert_eq!(a.utilization(), Some(0.4));
        assert_eq!(Totals::default().utilization(), None);
        a.fill_uncovered(150);
        assert_eq!((a.offline, a.covered()), (100, 150));
        a.fill_uncovered(100);
        assert_eq!(a.covered(), 150);
    }

    #[test]
    fn the_config_file_may_spell_keys_in_kebab_case() {
        let mapping: SignalMapping =
            serde_json::from_str(r#"{"part-count":["pc"],"part-count-rollover":9999}"#).unwrap();
        assert_eq!(mapping.part_count, ["pc"]);
        assert_eq!(mapping.part_count_rollover, Some(9999));
    }

    #[test]
    fn an_empty_mapping_reads_from_empty_json() {
        let mapping: SignalMapping = serde_json::from_str("{}").unwrap();
        assert!(mapping.is_empty());
        assert!(serde_json::from_str::<SignalMapping>(r#"{"exec":["x"]}"#).is_err());
    }
}
