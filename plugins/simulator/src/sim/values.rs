//! What the simulated machine reports: its data items and the compact, allocation-free values
//! the simulation produces for them (turned into SDK observations only at the boundary).

use super::catalog::Alarm;

/// A data item of the simulated machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Item {
    Availability,
    Execution,
    ControllerMode,
    Program,
    PartCount,
    SpindleSpeed,
    SpindleLoad,
    FeedOverride,
    System,
}

impl Item {
    /// Every data item, in the order the first poll reports their initial values.
    pub const ALL: [Item; 9] = [
        Item::Availability,
        Item::Execution,
        Item::ControllerMode,
        Item::Program,
        Item::PartCount,
        Item::SpindleSpeed,
        Item::SpindleLoad,
        Item::FeedOverride,
        Item::System,
    ];

    /// The data item's id, as declared to the host.
    pub fn id(self) -> &'static str {
        match self {
            Item::Availability => "availability",
            Item::Execution => "execution",
            Item::ControllerMode => "controller-mode",
            Item::Program => "program",
            Item::PartCount => "part-count",
            Item::SpindleSpeed => "spindle-speed",
            Item::SpindleLoad => "spindle-load",
            Item::FeedOverride => "feed-override",
            Item::System => "system",
        }
    }
}

/// MTConnect `EXECUTION` values the simulator uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Execution {
    Ready,
    Active,
    FeedHold,
    Interrupted,
    Stopped,
    ProgramCompleted,
}

impl Execution {
    /// The MTConnect spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Execution::Ready => "READY",
            Execution::Active => "ACTIVE",
            Execution::FeedHold => "FEED_HOLD",
            Execution::Interrupted => "INTERRUPTED",
            Execution::Stopped => "STOPPED",
            Execution::ProgramCompleted => "PROGRAM_COMPLETED",
        }
    }
}

/// MTConnect `CONTROLLER_MODE` values the simulator uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Automatic,
    Manual,
    ManualDataInput,
}

impl Mode {
    /// The MTConnect spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Automatic => "AUTOMATIC",
            Mode::Manual => "MANUAL",
            Mode::ManualDataInput => "MANUAL_DATA_INPUT",
        }
    }
}

/// The state of the `SYSTEM` condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cond {
    Normal,
    Warning(&'static Alarm),
    Fault(&'static Alarm),
}

/// One value of one data item; strings stay `'static` or indexes until the boundary.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Available(bool),
    Execution(Execution),
    Mode(Mode),
    /// Index into the simulation's program names.
    Program(usize),
    Count(u32),
    Number(f64),
    Condition(Cond),
    /// The data item has no value: the machine is powered off.
    Unavailable,
}

/// One observation of the simulated machine, `at` nanoseconds after the simulation started.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Change {
    pub at: i64,
    pub item: Item,
    pub value: Value,
}
