//! What one simulated shop runs: the part programs drawn for a seed, and the controller's
//! alarm and warning tables.

use super::rng::Rng;
use super::values::Execution::{self, Interrupted, Stopped};

/// A millisecond count, the unit of every simulated duration (whole milliseconds keep the
/// simulation in integer arithmetic, hence bit-identical on every target).
pub type Millis = u64;

pub const SECOND: Millis = 1_000;
pub const MINUTE: Millis = 60 * SECOND;

/// One operation of a part program: one tool, one spindle speed, one typical load.
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    pub rpm: u64,
    /// Typical spindle load while cutting, in tenths of a percent.
    pub load: u64,
    /// Cutting time at 100 % feed override.
    pub duration: Millis,
}

/// A part program: its name on the controller and its operations, run once per part.
#[derive(Debug, Clone)]
pub struct Program {
    pub name: String,
    pub operations: Vec<Operation>,
}

impl Program {
    /// Cutting time of one part at 100 % feed override.
    pub fn cycle_time(&self) -> Millis {
        self.operations.iter().map(|op| op.duration).sum()
    }
}

/// A kind of machining operation, with the ranges its parameters are drawn from.
struct OperationKind {
    rpm: (u64, u64),
    load_percent: (u64, u64),
    seconds: (u64, u64),
}

const fn kind(rpm: (u64, u64), load_percent: (u64, u64), seconds: (u64, u64)) -> OperationKind {
    OperationKind {
        rpm,
        load_percent,
        seconds,
    }
}

/// Face mill, roughing end mill, finishing end mill, drill, tap: enough variety that spindle
/// speed and load visibly change from one operation to the next.
const KINDS: [OperationKind; 5] = [
    kind((1_800, 4_000), (30, 65), (20, 90)),
    kind((3_000, 8_000), (45, 85), (60, 240)),
    kind((6_000, 12_000), (12, 35), (40, 180)),
    kind((800, 2_500), (20, 55), (15, 75)),
    kind((300, 900), (15, 40), (10, 45)),
];

/// How many different part programs one simulated machine runs.
pub const PROGRAMS: usize = 12;

/// The part programs of the machine simulated with `rng`'s seed.
pub fn programs(rng: &mut Rng) -> Vec<Program> {
    let mut numbers: Vec<u64> = Vec::with_capacity(PROGRAMS);
    while numbers.len() < PROGRAMS {
        let number = rng.between(1_000, 9_999);
        if !numbers.contains(&number) {
            numbers.push(number);
        }
    }
    numbers
        .into_iter()
        .map(|number| program(rng, number))
        .collect()
}

fn program(rng: &mut Rng, number: u64) -> Program {
    let count = rng.between(2, 6) as usize;
    // Most programs face the stock first.
    let first_kind = if rng.percent(70) { Some(0) } else { None };
    let operations = (0..count)
        .map(|i| {
            let kind = match (i, first_kind) {
                (0, Some(kind)) => kind,
                _ => rng.below(KINDS.len() as u64) as usize,
            };
            operation(rng, &KINDS[kind])
        })
        .collect();
    Program {
        name: format!("O{number}"),
        operations,
    }
}

fn operation(rng: &mut Rng, kind: &OperationKind) -> Operation {
    Operation {
        // Programmed speeds are round numbers.
        rpm: rng.between(kind.rpm.0 / 10, kind.rpm.1 / 10) * 10,
        load: rng.between(kind.load_percent.0 * 10, kind.load_percent.1 * 10),
        duration: rng.between(kind.seconds.0, kind.seconds.1) * SECOND,
    }
}

/// An entry of the controller's alarm table.
#[derive(Debug, PartialEq, Eq)]
pub struct Alarm {
    pub code: &'static str,
    pub text: &'static str,
    /// What execution reports while the alarm is active (faults only).
    pub stops: Execution,
    /// How long the alarm stays active, in minutes.
    pub minutes: (u64, u64),
    /// Relative frequency while the machine cuts in automatic.
    pub cutting: u32,
    /// Relative frequency during setup (MDI runs with the operator at the machine).
    pub setup: u32,
    /// `HIGH` or `LOW` when the alarm is about a limit crossed.
    pub qualifier: Option<&'static str>,
}

impl Alarm {
    /// The same alarm, about a limit crossed in direction `qualifier` (`HIGH` or `LOW`).
    const fn qualified(self, qualifier: &'static str) -> Alarm {
        Alarm {
            qualifier: Some(qualifier),
            ..self
        }
    }
}

/// A fault active for `minutes`, drawn with weight `cutting` while cutting and `setup` during
/// setup.
const fn fault(
    code: &'static str,
    text: &'static str,
    stops: Execution,
    minutes: (u64, u64),
    (cutting, setup): (u32, u32),
) -> Alarm {
    Alarm {
        code,
        text,
        stops,
        minutes,
        cutting,
        setup,
        qualifier: None,
    }
}

/// Faults that stop the machine while cutting or during setup.
pub static FAULTS: [Alarm; 7] = [
    fault("2051", "SPINDLE OVERLOAD", Stopped, (3, 12), (30, 0)),
    fault("1002", "DOOR OPEN", Interrupted, (1, 4), (4, 40)),
    fault(
        "1108",
        "X AXIS SERVO ERROR TOO LARGE",
        Stopped,
        (8, 35),
        (10, 0),
    ),
    fault("2001", "LOW AIR PRESSURE", Stopped, (5, 20), (12, 5)),
    fault(
        "1020",
        "TOOL BREAKAGE DETECTED",
        Interrupted,
        (4, 15),
        (16, 0),
    ),
    fault("1101", "EMERGENCY STOP", Stopped, (2, 8), (6, 20)),
    fault("2062", "COOLANT PUMP OVERCURRENT", Stopped, (6, 20), (8, 0)).qualified("HIGH"),
];

/// The fault of a failed tool change, drawn at tool changes rather than while cutting.
pub static TOOL_CHANGER_FAULT: Alarm =
    fault("1010", "TOOL CHANGER FAULT", Interrupted, (5, 25), (0, 0));

/// A warning active for `minutes`; the machine goes on working.
const fn warning(code: &'static str, text: &'static str, minutes: (u64, u64)) -> Alarm {
    fault(code, text, Execution::Ready, minutes, (1, 1))
}

/// Warnings: reported, but the machine keeps working until someone deals with them.
pub static WARNINGS: [Alarm; 5] = [
    warning("2070", "COOLANT LEVEL LOW", (10, 60)),
    warning("2155", "WAY LUBE LEVEL LOW", (15, 90)),
    warning("2230", "SPINDLE TEMPERATURE HIGH", (5, 25)).qualified("HIGH"),
    warning("2301", "CHIP CONVEYOR OVERCURRENT", (3, 20)),
    warning("1190", "ENCODER BATTERY VOLTAGE LOW", (30, 120)),
];

/// A fault that strikes while cutting (`setup` false) or during a setup MDI run (`setup` true).
pub fn draw_fault(rng: &mut Rng, setup: bool) -> &'static Alarm {
    let weights = FAULTS
        .iter()
        .map(move |alarm| if setup { alarm.setup } else { alarm.cutting });
    &FAULTS[rng.weighted(weights)]
}

/// A warning, all equally likely.
pub fn draw_warning(rng: &mut Rng) -> &'static Alarm {
    &WARNINGS[rng.below(WARNINGS.len() as u64) as usize]
}

/// How long `alarm` stays active this time.
pub fn alarm_duration(rng: &mut Rng, alarm: &Alarm) -> Millis {
    rng.between(alarm.minutes.0 * MINUTE, alarm.minutes.1 * MINUTE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_names_are_distinct_controller_names() {
        let programs = programs(&mut Rng::new(5));
        assert_eq!(programs.len(), PROGRAMS);
        for (i, program) in programs.iter().enumerate() {
            assert!(
                program.name.starts_with('O') && program.name.len() == 5,
                "{}",
                program.name
            );
            assert!(programs[..i].iter().all(|p| p.name != program.name));
            assert!(!program.operations.is_empty());
        }
    }

    #[test]
    fn every_fault_can_strike_somewhere() {
        for alarm in &FAULTS {
            assert!(
                alarm.cutting + alarm.setup > 0,
                "{} is never drawn",
                alarm.code
            );
            assert!(matches!(
                alarm.stops,
                Execution::Stopped | Execution::Interrupted
            ));
        }
    }
}
