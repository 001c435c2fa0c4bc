//! A machine's derived status, computed from the latest value of each data item.
//!
//! Precedence, first match wins:
//! 1. **offline** — no data yet, or availability is `UNAVAILABLE`;
//! 2. **alarm** — any condition is at level fault;
//! 3. **running** — execution is `ACTIVE`;
//! 4. **paused** — execution is `FEED_HOLD`, `INTERRUPTED`, `OPTIONAL_STOP` or `PROGRAM_STOPPED`;
//! 5. **setup** — controller mode is `MANUAL`, `MANUAL_DATA_INPUT` or `MDI`;
//! 6. **idle** — anything else (`READY`, `STOPPED`, `PROGRAM_COMPLETED`, …).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::{Category, ConditionLevel, DataItem, Observation, Value};

/// What a machine is doing, in order of precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MachineStatus {
    /// Not reporting, or reporting itself unavailable.
    Offline,
    /// A fault condition is active.
    Alarm,
    /// Executing a program.
    Running,
    /// A program is interrupted (feed hold, optional stop, …).
    Paused,
    /// An operator is setting the machine up (manual or MDI mode).
    Setup,
    /// Powered and able to run, but not running.
    Idle,
}

impl MachineStatus {
    /// Every status, in order of precedence.
    pub const ALL: [MachineStatus; 6] = [
        MachineStatus::Offline,
        MachineStatus::Alarm,
        MachineStatus::Running,
        MachineStatus::Paused,
        MachineStatus::Setup,
        MachineStatus::Idle,
    ];

    /// The status as shown to users and in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            MachineStatus::Offline => "offline",
            MachineStatus::Alarm => "alarm",
            MachineStatus::Running => "running",
            MachineStatus::Paused => "paused",
            MachineStatus::Setup => "setup",
            MachineStatus::Idle => "idle",
        }
    }
}

/// Derives a machine's status from its data items and the latest observation of each
/// (keyed by data item id). Data items are recognized by their MTConnect type.
pub fn derive_status(items: &[DataItem], latest: &HashMap<String, Observation>) -> MachineStatus {
    let value_of = |kind: &str| {
        items
            .iter()
            .filter(|item| item.kind == kind)
            .find_map(|item| latest.get(&item.id).map(|obs| &obs.value))
    };
    let event_is = |kind: &str, wanted: &[&str]| match value_of(kind) {
        Some(Value::Event(text)) => wanted.iter().any(|w| text.eq_ignore_ascii_case(w)),
        _ => false,
    };

    let availability = value_of("AVAILABILITY");
    if latest.is_empty()
        || matches!(availability, Some(Value::Unavailable))
        || event_is("AVAILABILITY", &["UNAVAILABLE"])
    {
        return MachineStatus::Offline;
    }
    let in_fault = items
        .iter()
        .filter(|item| item.category == Category::Condition)
        .filter_map(|item| latest.get(&item.id))
        .any(|obs| matches!(&obs.value, Value::Condition(c) if c.level == ConditionLevel::Fault));
    if in_fault {
        return MachineStatus::Alarm;
    }
    if event_is("EXECUTION", &["ACTIVE"]) {
        return MachineStatus::Running;
    }
    if event_is(
        "EXECUTION",
        &[
            "FEED_HOLD",
            "INTERRUPTED",
            "OPTIONAL_STOP",
            "PROGRAM_STOPPED",
        ],
    ) {
        return MachineStatus::Paused;
    }
    if event_is("CONTROLLER_MODE", &["MANUAL", "MANUAL_DATA_INPUT", "MDI"]) {
        return MachineStatus::Setup;
    }
    MachineStatus::Idle
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Condition;

    fn item(id: &str, category: Category, kind: &str) -> DataItem {
        DataItem {
            id: id.into(),
            category,
            kind: kind.into(),
            units: None,
            name: None,
        }
    }

    fn model() -> Vec<DataItem> {
        vec![
            item("avail", Category::Event, "AVAILABILITY"),
            item("exec", Category::Event, "EXECUTION"),
            item("mode", Category::Event, "CONTROLLER_MODE"),
            item("system", Category::Condition, "SYSTEM"),
        ]
    }

    fn latest(values: &[(&str, Value)]) -> HashMap<String, Observation> {
        values
            .iter()
            .map(|(id, value)| {
                let obs = Observation {
                    data_item: (*id).into(),
                    timestamp: 0,
                    value: value.clone(),
                };
                ((*id).to_owned(), obs)
            })
            .collect()
    }

    fn event(text: &str) -> Value {
        Value::Event(text.into())
    }

    fn condition(level: ConditionLevel) -> Value {
        Value::Condition(Condition {
            level,
            native_code: None,
            native_severity: None,
            qualifier: None,
            text: None,
        })
    }

    #[test]
    fn no_data_is_offline() {
        assert_eq!(
            derive_status(&model(), &HashMap::new()),
            MachineStatus::Offline
        );
    }

    #[test]
    fn unavailable_beats_everything() {
        let values = latest(&[("avail", Value::Unavailable), ("exec", event("ACTIVE"))]);
        assert_eq!(derive_status(&model(), &values), MachineStatus::Offline);
    }

    #[test]
    fn fault_beats_running_but_warning_does_not() {
        let fault = latest(&[
            ("avail", event("AVAILABLE")),
            ("exec", event("ACTIVE")),
            ("system", condition(ConditionLevel::Fault)),
        ]);
        assert_eq!(derive_status(&model(), &fault), MachineStatus::Alarm);
        let warning = latest(&[
            ("avail", event("AVAILABLE")),
            ("exec", event("active")),
            ("system", condition(ConditionLevel::Warning)),
        ]);
        assert_eq!(derive_status(&model(), &warning), MachineStatus::Running);
    }

    #[test]
    fn feed_hold_is_paused_and_manual_ready_is_setup() {
        let paused = latest(&[("avail", event("AVAILABLE")), ("exec", event("FEED_HOLD"))]);
        assert_eq!(derive_status(&model(), &paused), MachineStatus::Paused);
        let setup = latest(&[("exec", event("READY")), ("mode", event("MANUAL"))]);
        assert_eq!(derive_status(&model(), &setup), MachineStatus::Setup);
        let idle = latest(&[("exec", event("READY")), ("mode", event("AUTOMATIC"))]);
        assert_eq!(derive_status(&model(), &idle), MachineStatus::Idle);
    }
}
