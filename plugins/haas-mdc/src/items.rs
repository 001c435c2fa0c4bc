//! The boundary between Haas replies and the host: the data items the driver declares, what each
//! reply means in MTConnect terms, and the change detection that reports each value once.

use std::collections::BTreeMap;

use chatter_haas_mdc::{MacroValue, Mode, ProgramStatus, RunStatus};
use chatter_sdk::{Category, Condition, ConditionLevel, DataItem, Observation, Value};

use crate::settings::MacroItem;

/// Whether the control answers (`AVAILABILITY`).
pub const AVAILABILITY: &str = "availability";
/// The machine's serial number (Q100).
pub const SERIAL: &str = "serial";
/// The control's mode (Q104, `CONTROLLER_MODE`).
pub const CONTROLLER_MODE: &str = "controller-mode";
/// What the program is doing (Q500, `EXECUTION`).
pub const EXECUTION: &str = "execution";
/// The active program (Q500, `PROGRAM`).
pub const PROGRAM: &str = "program";
/// The parts counter (Q500, `PART_COUNT`).
pub const PART_COUNT: &str = "part-count";
/// Whether the control reports an alarm (Q500, condition `SYSTEM`).
pub const SYSTEM: &str = "system";

/// The ids of the data items every Haas machine has; macro items may not reuse them.
pub const FIXED_IDS: [&str; 7] = [
    AVAILABILITY,
    SERIAL,
    CONTROLLER_MODE,
    EXECUTION,
    PROGRAM,
    PART_COUNT,
    SYSTEM,
];

/// The data items of a machine whose configured macros are `macros`.
pub fn data_items(macros: &[MacroItem]) -> Vec<DataItem> {
    let mut items = vec![
        DataItem::event(AVAILABILITY, "AVAILABILITY"),
        // MTConnect has no data item type for a serial number; this one is Chatter's own.
        DataItem::event(SERIAL, "SERIAL_NUMBER"),
        DataItem::event(CONTROLLER_MODE, "CONTROLLER_MODE"),
        DataItem::event(EXECUTION, "EXECUTION"),
        DataItem::event(PROGRAM, "PROGRAM"),
        DataItem::event(PART_COUNT, "PART_COUNT"),
        DataItem::condition(SYSTEM, "SYSTEM"),
    ];
    items.extend(macros.iter().map(macro_item));
    items
}

fn macro_item(item: &MacroItem) -> DataItem {
    DataItem {
        id: item.id.clone(),
        category: Category::Sample,
        kind: item.kind.clone(),
        units: item.units.clone(),
        // Haas names variables by their number.
        name: Some(format!("#{}", item.variable)),
    }
}

/// A value as the driver tracks it: comparable, so that only changes are reported.
#[derive(Debug, Clone, PartialEq)]
pub enum Reported {
    /// An event value.
    Event(String),
    /// A sample value.
    Sample(f64),
    /// The alarm condition: `Some(text)` while the control reports an alarm.
    Alarm(Option<String>),
    /// No value.
    Unavailable,
}

impl Reported {
    fn value(&self) -> Value {
        match self {
            Reported::Event(text) => Value::Event(text.clone()),
            Reported::Sample(number) => Value::Sample(*number),
            Reported::Alarm(None) => Value::Condition(Condition::normal()),
            Reported::Alarm(Some(text)) => {
                let mut fault = Condition::new(ConditionLevel::Fault);
                fault.text = Some(text.clone());
                Value::Condition(fault)
            }
            Reported::Unavailable => Value::Unavailable,
        }
    }
}

/// One value read in a poll, for one data item.
pub type Reading = (String, Reported);

/// The MTConnect `CONTROLLER_MODE` of a Haas mode: MEM is `AUTOMATIC`, MDI `MANUAL_DATA_INPUT`,
/// jogging (with keys or hand wheel) `MANUAL`, EDIT `EDIT`; other modes (ZERO RET, LIST PROG, …)
/// have no MTConnect counterpart and are reported as the control names them.
pub fn controller_mode(mode: &Mode) -> String {
    match mode {
        Mode::Memory => "AUTOMATIC",
        Mode::Mdi => "MANUAL_DATA_INPUT",
        Mode::Jog | Mode::HandJog => "MANUAL",
        Mode::Edit => "EDIT",
        other => other.as_str(),
    }
    .to_owned()
}

/// The MTConnect `EXECUTION` of a Haas run status: IDLE is `READY`, BUSY `ACTIVE`, FEED HOLD
/// `FEED_HOLD`. An alarm is `STOPPED`: a Haas alarm halts the program and takes a reset before
/// anything runs again, which is MTConnect's "stopped", not "interrupted" (a pause the program
/// resumes from). Other statuses are reported as the control names them.
pub fn execution(status: &RunStatus) -> String {
    match status {
        RunStatus::Idle => "READY",
        RunStatus::Busy => "ACTIVE",
        RunStatus::FeedHold => "FEED_HOLD",
        RunStatus::Alarm => "STOPPED",
        RunStatus::Other(text) => text,
    }
    .to_owned()
}

/// The readings of a Q500 program status reply.
pub fn program_status(status: &ProgramStatus) -> Vec<Reading> {
    let alarm = (status.status == RunStatus::Alarm)
        .then(|| format!("the control reports {} (Q500)", status.status));
    vec![
        (EXECUTION.into(), Reported::Event(execution(&status.status))),
        (PROGRAM.into(), Reported::Event(status.program.clone())),
        (PART_COUNT.into(), Reported::Event(status.parts.to_string())),
        (SYSTEM.into(), Reported::Alarm(alarm)),
    ]
}

/// The readings of `STATUS, BUSY` in answer to Q500: a program runs, so there is no alarm;
/// program and parts are not told.
pub fn busy() -> Vec<Reading> {
    vec![
        (
            EXECUTION.into(),
            Reported::Event(execution(&RunStatus::Busy)),
        ),
        (SYSTEM.into(), Reported::Alarm(None)),
    ]
}

/// The reading of a Q600 reply for the data item `id`; a vacant variable has no value.
pub fn macro_value(id: &str, value: &MacroValue) -> Reading {
    let reported = value.value.map_or(Reported::Unavailable, Reported::Sample);
    (id.to_owned(), reported)
}

/// What the host has been told: the last value reported for each data item.
#[derive(Debug, Default)]
pub struct Tracker {
    last: BTreeMap<String, Reported>,
}

impl Tracker {
    /// Forgets what was reported, so the next readings are all reported (after a reconnect).
    pub fn forget(&mut self) {
        self.last.clear();
    }

    /// The observations, stamped `timestamp`, of the readings that differ from what was last
    /// reported for their data item.
    pub fn changes(&mut self, readings: Vec<Reading>, timestamp: i64) -> Vec<Observation> {
        readings
            .into_iter()
            .filter_map(|(id, reported)| self.change(id, reported, timestamp))
            .collect()
    }

    /// Every data item of `ids` unavailable (when the connection is lost), for those not
    /// unavailable already.
    pub fn all_unavailable(&mut self, ids: &[String], timestamp: i64) -> Vec<Observation> {
        let readings = ids
            .iter()
            .map(|id| (id.clone(), Reported::Unavailable))
            .collect();
        self.changes(readings, timestamp)
    }

    fn change(&mut self, id: String, reported: Reported, timestamp: i64) -> Option<Observation> {
        if self.last.get(&id) == Some(&reported) {
            return None;
        }
        let observation = Observation {
            data_item: id.clone(),
            timestamp,
            value: reported.value(),
        };
        self.last.insert(id, reported);
        Some(observation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haas_modes_map_to_mtconnect_controller_modes_and_others_are_kept() {
        for (mode, expected) in [
            (Mode::Memory, "AUTOMATIC"),
            (Mode::Mdi, "MANUAL_DATA_INPUT"),
            (Mode::Jog, "MANUAL"),
            (Mode::HandJog, "MANUAL"),
            (Mode::Edit, "EDIT"),
            (Mode::ZeroReturn, "ZERO RET"),
            (Mode::ListPrograms, "LIST PROG"),
            (Mode::Other("DNC".into()), "DNC"),
        ] {
            assert_eq!(controller_mode(&mode), expected, "{mode:?}");
        }
    }

    #[test]
    fn haas_run_statuses_map_to_mtconnect_execution_and_others_are_kept() {
        for (status, expected) in [
            (RunStatus::Idle, "READY"),
            (RunStatus::Busy, "ACTIVE"),
            (RunStatus::FeedHold, "FEED_HOLD"),
            (RunStatus::Alarm, "STOPPED"),
            (RunStatus::Other("SINGLE BLOCK".into()), "SINGLE BLOCK"),
        ] {
            assert_eq!(execution(&status), expected, "{status:?}");
        }
    }

    #[test]
    fn an_alarm_status_is_a_fault_and_any_other_status_is_normal() {
        let status = |status| ProgramStatus {
            program: "O00012".into(),
            status,
            parts: 3,
        };
        let system = |readings: Vec<Reading>| {
            readings
                .into_iter()
                .find(|(id, _)| id == SYSTEM)
                .map(|(_, r)| r)
        };
        assert!(matches!(
            system(program_status(&status(RunStatus::Alarm))),
            Some(Reported::Alarm(Some(_)))
        ));
        assert_eq!(
            system(program_status(&status(RunStatus::FeedHold))),
            Some(Reported::Alarm(None))
        );
        let Value::Condition(fault) = Reported::Alarm(Some("x".into())).value() else {
            panic!("a condition")
        };
        assert_eq!(fault.level, ConditionLevel::Fault);
    }

    #[test]
    fn the_tracker_reports_a_value_only_when_it_changes_and_everything_after_forgetting() {
        let mut tracker = Tracker::default();
        let readings = || {
            vec![
                (PROGRAM.to_owned(), Reported::Event("O1".into())),
                (PART_COUNT.to_owned(), Reported::Event("3".into())),
            ]
        };
        assert_eq!(tracker.changes(readings(), 1).len(), 2);
        assert!(tracker.changes(readings(), 2).is_empty());
        let mut changed = readings();
        changed[1].1 = Reported::Event("4".into());
        let got = tracker.changes(changed, 3);
        assert_eq!(got.len(), 1);
        assert_eq!(
            (got[0].data_item.as_str(), got[0].timestamp),
            (PART_COUNT, 3)
        );
        tracker.forget();
        assert_eq!(tracker.changes(readings(), 4).len(), 2);
    }

    #[test]
    fn macro_items_are_samples_named_after_their_variable() {
        let item = MacroItem {
            variable: 5021,
            id: "x-position".into(),
            kind: "POSITION".into(),
            units: Some("MILLIMETER".into()),
        };
        let declared = data_items(std::slice::from_ref(&item));
        let last = declared.last().unwrap();
        assert_eq!(last.id, "x-position");
        assert_eq!(last.kind, "POSITION");
        assert_eq!(last.units.as_deref(), Some("MILLIMETER"));
        assert_eq!(last.name.as_deref(), Some("#5021"));
        let ids: Vec<&str> = declared.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids[..7], FIXED_IDS);
    }
}
