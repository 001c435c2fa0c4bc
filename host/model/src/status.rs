//! A machine's derived status. The rules that derive it from observations, and their
//! precedence, are `chatter-derive`'s.

use serde::{Deserialize, Serialize};

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
