//! The latest value of the status signals, parsed once on arrival, and the status precedence
//! rules evaluated over them.

use chatter_model::{MachineStatus, Value};
use serde::{Deserialize, Serialize};

/// The latest availability.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Availability {
    /// Never reported (or the machine has no availability signal).
    #[default]
    Never,
    /// `UNAVAILABLE`, or the value unavailable.
    Unavailable,
    /// Anything else (`AVAILABLE`).
    Available,
}

impl Availability {
    /// Parses an availability observation.
    pub(crate) fn parse(value: &Value) -> Option<Self> {
        match value {
            Value::Unavailable => Some(Availability::Unavailable),
            Value::Event(text) if is(text, "UNAVAILABLE") => Some(Availability::Unavailable),
            Value::Event(_) => Some(Availability::Available),
            Value::Sample(_) | Value::Condition(_) => None,
        }
    }
}

/// The latest execution state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Execution {
    /// Never reported.
    #[default]
    Never,
    /// `UNAVAILABLE`, or the value unavailable.
    Unavailable,
    /// `ACTIVE`: running a program.
    Active,
    /// `FEED_HOLD`, `INTERRUPTED`, `OPTIONAL_STOP` or `PROGRAM_STOPPED`: a program is held.
    Held,
    /// `PROGRAM_COMPLETED` or `READY`: no program runs, the last one (if any) completed.
    Completed,
    /// `STOPPED`: the program was stopped or reset.
    Stopped,
    /// Anything else (`WAIT`, vendor values).
    Other,
}

impl Execution {
    /// Parses an execution observation.
    pub(crate) fn parse(value: &Value) -> Option<Self> {
        let text = match value {
            Value::Unavailable => return Some(Execution::Unavailable),
            Value::Event(text) => text,
            Value::Sample(_) | Value::Condition(_) => return None,
        };
        let held = [
            "FEED_HOLD",
            "INTERRUPTED",
            "OPTIONAL_STOP",
            "PROGRAM_STOPPED",
        ];
        Some(if is(text, "ACTIVE") {
            Execution::Active
        } else if held.iter().any(|h| is(text, h)) {
            Execution::Held
        } else if is(text, "PROGRAM_COMPLETED") || is(text, "READY") {
            Execution::Completed
        } else if is(text, "STOPPED") {
            Execution::Stopped
        } else if is(text, "UNAVAILABLE") {
            Execution::Unavailable
        } else {
            Execution::Other
        })
    }
}

/// Whether the latest controller mode is a setup mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Mode {
    /// Never reported, unavailable, or an automatic mode.
    #[default]
    Other,
    /// `MANUAL`, `MANUAL_DATA_INPUT` or `MDI`.
    Setup,
}

impl Mode {
    /// Parses a controller mode observation.
    pub(crate) fn parse(value: &Value) -> Option<Self> {
        match value {
            Value::Event(text)
                if ["MANUAL", "MANUAL_DATA_INPUT", "MDI"]
                    .iter()
                    .any(|m| is(text, m)) =>
            {
                Some(Mode::Setup)
            }
            Value::Event(_) | Value::Unavailable => Some(Mode::Other),
            Value::Sample(_) | Value::Condition(_) => None,
        }
    }
}

/// The inputs of the status rules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Signals {
    /// Latest availability.
    pub(crate) availability: Availability,
    /// Latest execution.
    pub(crate) execution: Execution,
    /// Latest controller mode.
    pub(crate) mode: Mode,
    /// The host stopped reading the machine, and it has not reported since.
    #[serde(default)]
    pub(crate) unread: bool,
}

impl Signals {
    /// Rule 1: whether the machine is offline (given that it reported something).
    pub(crate) fn offline(&self) -> bool {
        if self.unread {
            return true;
        }
        match self.availability {
            Availability::Unavailable => true,
            Availability::Available => false,
            Availability::Never => {
                matches!(self.execution, Execution::Never | Execution::Unavailable)
            }
        }
    }

    /// The status by precedence, given whether a fault alarm is active.
    pub(crate) fn status(&self, fault: bool) -> MachineStatus {
        if self.offline() {
            MachineStatus::Offline
        } else if fault {
            MachineStatus::Alarm
        } else if self.execution == Execution::Active {
            MachineStatus::Running
        } else if self.execution == Execution::Held {
            MachineStatus::Paused
        } else if self.mode == Mode::Setup {
            MachineStatus::Setup
        } else {
            MachineStatus::Idle
        }
    }
}

/// Whether `text`, trimmed, is `wanted` ignoring ASCII case.
fn is(text: &str, wanted: &str) -> bool {
    text.trim().eq_ignore_ascii_case(wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(text: &str) -> Value {
        Value::Event(text.into())
    }

    #[test]
    fn values_parse_trimmed_and_case_insensitively() {
        assert_eq!(
            Execution::parse(&event(" active ")),
            Some(Execution::Active)
        );
        assert_eq!(Execution::parse(&event("Feed_Hold")), Some(Execution::Held));
        assert_eq!(
            Execution::parse(&event("ready")),
            Some(Execution::Completed)
        );
        assert_eq!(Execution::parse(&event("WAIT")), Some(Execution::Other));
        assert_eq!(Execution::parse(&Value::Sample(1.0)), None);
        assert_eq!(
            Availability::parse(&event("unavailable")),
            Some(Availability::Unavailable)
        );
        assert_eq!(Mode::parse(&event("mdi")), Some(Mode::Setup));
    }

    #[test]
    fn precedence() {
        let mut s = Signals::default();
        assert_eq!(s.status(true), MachineStatus::Offline);
        s.execution = Execution::Active;
        assert_eq!(s.status(false), MachineStatus::Running, "no availability");
        assert_eq!(s.status(true), MachineStatus::Alarm);
        s.availability = Availability::Unavailable;
        assert_eq!(s.status(true), MachineStatus::Offline);
        s.availability = Availability::Available;
        s.execution = Execution::Unavailable;
        s.mode = Mode::Setup;
        assert_eq!(s.status(false), MachineStatus::Setup);
        s.execution = Execution::Held;
        assert_eq!(s.status(false), MachineStatus::Paused);
        s.execution = Execution::Stopped;
        s.mode = Mode::Other;
        assert_eq!(s.status(false), MachineStatus::Idle);
    }
}
