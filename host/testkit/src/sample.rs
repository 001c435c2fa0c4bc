//! A realistic shop's derived data, made up deterministically for benchmarks: each machine
//! changes state every 30 s to 20 min (running most of the time, some idle, paused, setup,
//! alarm and offline), with a cycle and a part for every running stretch and an alarm for
//! every alarm stretch — about 140 intervals a machine-day.

use chatter_model::{
    Alarm, ConditionLevel, Cycle, CycleEnd, Feed, Interval, Machine, MachineId, MachineStatus,
    OrgId, PartCount, PluginId,
};

const MINUTE: i64 = 60_000_000_000;
/// Nanoseconds in a day.
pub const DAY: i64 = 24 * 60 * MINUTE;

/// A small deterministic generator, so that every run makes the same shop.
pub struct Random(u64);

impl Random {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Random(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    /// Uniform in `[low, high)`: `next` has 31 bits.
    fn between(&mut self, low: i64, high: i64) -> i64 {
        let span = (high - low) as u128;
        low + ((u128::from(self.next()) * span) >> 31) as i64
    }
}

/// One machine-day of derived records.
#[derive(Debug, Default)]
pub struct MachineDay {
    /// The states, tiling the day.
    pub intervals: Vec<Interval>,
    /// A part at the end of every running stretch.
    pub parts: Vec<PartCount>,
    /// A completed cycle for every running stretch.
    pub cycles: Vec<Cycle>,
    /// An alarm for every alarm stretch.
    pub alarms: Vec<Alarm>,
}

fn status(random: &mut Random) -> MachineStatus {
    match random.next() % 100 {
        0..55 => MachineStatus::Running,
        55..75 => MachineStatus::Idle,
        75..83 => MachineStatus::Paused,
        83..90 => MachineStatus::Setup,
        90..93 => MachineStatus::Alarm,
        _ => MachineStatus::Offline,
    }
}

/// The day starting at `start`; `counter` is the machine's part counter, carried across days.
pub fn machine_day(random: &mut Random, start: i64, counter: &mut u64) -> MachineDay {
    let mut records = MachineDay::default();
    let mut t = start;
    while t < start + DAY {
        let end = (t + random.between(MINUTE / 2, 20 * MINUTE)).min(start + DAY);
        let status = status(random);
        records.intervals.push(Interval {
            status,
            start: t,
            end,
        });
        match status {
            MachineStatus::Running => {
                *counter += 1;
                records.cycles.push(Cycle {
                    start: t,
                    end,
                    ended: CycleEnd::Completed,
                    program: Some("O1234".into()),
                    active: end - t,
                    parts: 1,
                });
                records.parts.push(PartCount {
                    at: end,
                    parts: 1,
                    counter: *counter,
                    program: Some("O1234".into()),
                });
            }
            MachineStatus::Alarm => records.alarms.push(Alarm {
                data_item: "system".into(),
                native_code: Some("1010".into()),
                level: ConditionLevel::Fault,
                text: Some("SPINDLE OVERLOAD".into()),
                start: t,
                end: Some(end),
            }),
            _ => {}
        }
        t = end;
    }
    records
}

/// A machine of `org` that an edge feeds (no driver runs for it), to store sample days under.
///
/// # Panics
///
/// When `id` is not a valid machine id.
pub fn edge_machine(org: &OrgId, id: &str, name: &str) -> Machine {
    Machine {
        org: org.clone(),
        id: MachineId::new(id).expect("a valid machine id"),
        name: name.to_owned(),
        driver: PluginId::new("simulator").expect("a valid plugin id"),
        config: Default::default(),
        endpoints: Vec::new(),
        poll_interval_ms: 1_000,
        enabled: false,
        feed: Feed::Edge,
        signals: Default::default(),
        group: None,
        daily_part_goal: None,
    }
}
