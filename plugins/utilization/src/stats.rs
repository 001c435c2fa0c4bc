//! The figures of the report, per machine and per shift, from the host's answers.
//!
//! Definitions (the README repeats them for readers):
//!
//! - *scheduled*: the length of the shift's occurrences in the period; overall, of their union
//!   (the whole period without a shift schedule);
//! - *time in a state*: from `totals-over` over the same ranges, so it is exact;
//! - *utilization*: running ÷ scheduled;
//! - *parts*: counted per shift from `totals-over`; overall, over the whole period (parts made
//!   outside the shifts are parts too);
//! - *cycles*: cycles that ended `completed`, counted in the shift their end falls in; overall,
//!   every such cycle of the period; a cycle's time is its end minus its start.

use chatter_report_kit::schedule::{Schedule, Shift};
use chatter_sdk::TimeRange;
use chatter_sdk::machine_data::{CycleEnd, MachineEvents, MachineState, StateInterval, Totals};

use crate::stops::{LongIdle, long_idle};

/// Nanoseconds in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateTimes {
    /// Offline.
    pub offline: i64,
    /// In alarm.
    pub alarm: i64,
    /// Running a program.
    pub running: i64,
    /// Paused (feed hold, optional stop).
    pub paused: i64,
    /// In setup.
    pub setup: i64,
    /// Idle.
    pub idle: i64,
}

impl StateTimes {
    /// The sum of the state times of `totals`.
    pub fn sum<'a>(totals: impl IntoIterator<Item = &'a Totals>) -> Self {
        totals
            .into_iter()
            .fold(StateTimes::default(), |sum, t| StateTimes {
                offline: sum.offline + t.offline,
                alarm: sum.alarm + t.alarm,
                running: sum.running + t.running,
                paused: sum.paused + t.paused,
                setup: sum.setup + t.setup,
                idle: sum.idle + t.idle,
            })
    }

    /// Nanoseconds in `state`.
    pub fn get(&self, state: MachineState) -> i64 {
        match state {
            MachineState::Offline => self.offline,
            MachineState::Alarm => self.alarm,
            MachineState::Running => self.running,
            MachineState::Paused => self.paused,
            MachineState::Setup => self.setup,
            MachineState::Idle => self.idle,
        }
    }

    /// Nanoseconds in any state.
    pub fn covered(&self) -> i64 {
        MachineState::ALL.iter().map(|&s| self.get(s)).sum()
    }
}

/// Completed cycles.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cycles {
    /// How many.
    pub count: u64,
    /// Their summed duration.
    pub total: i64,
    /// The shortest.
    pub best: Option<i64>,
}

impl Cycles {
    fn add(&mut self, duration: i64) {
        self.count += 1;
        self.total += duration;
        self.best = Some(self.best.map_or(duration, |best| best.min(duration)));
    }

    /// The average duration, `None` without cycles (not 0).
    pub fn average(&self) -> Option<i64> {
        let count = i64::try_from(self.count).ok().filter(|&c| c > 0)?;
        Some(self.total / count)
    }
}

/// The figures of one machine over one shift (or overall).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Scheduled time.
    pub scheduled: i64,
    /// Time in each state within the scheduled time.
    pub time: StateTimes,
    /// Parts counted.
    pub parts: u64,
    /// Completed cycles.
    pub cycles: Cycles,
}

impl Stats {
    /// Running ÷ scheduled, in percent; `None` when nothing was scheduled.
    pub fn utilization(&self) -> Option<f64> {
        chatter_report_kit::format::share(self.time.running, self.scheduled)
    }

    /// Scheduled time no state covers: no data (before the first observation, or not derived
    /// yet).
    pub fn no_data(&self) -> i64 {
        (self.scheduled - self.time.covered()).max(0)
    }
}

/// One machine's figures over one shift.
#[derive(Debug, Clone)]
pub struct ShiftStats {
    /// The figures.
    pub stats: Stats,
    /// Its long stops.
    pub long_idle: LongIdle,
}

/// Everything the report says about one machine.
#[derive(Debug, Clone)]
pub struct Machine {
    /// The machine's id.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// Over the whole scheduled time.
    pub overall: Stats,
    /// Per shift, in the order of [`Schedule::shifts`].
    pub shifts: Vec<ShiftStats>,
    /// Its states over the period, for the timeline.
    pub intervals: Vec<StateInterval>,
    /// Whether the host cut its event lists, so cycles and alarms may be missing.
    pub truncated: bool,
}

/// The host's answers about one machine.
#[derive(Debug, Clone)]
pub struct MachineData {
    /// The machine's id.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// Its states over the period, in order.
    pub intervals: Vec<StateInterval>,
    /// Its totals over the whole period (from the timeline).
    pub period_totals: Totals,
    /// Its totals over [`Schedule::query_ranges`], in that order.
    pub totals: Vec<Totals>,
    /// Its cycles, parts and alarms in the period.
    pub events: MachineEvents,
}

/// The figures of one machine. `None` when its totals do not match the schedule's ranges.
pub fn machine(
    schedule: &Schedule,
    period: TimeRange,
    long_idle_threshold: i64,
    data: MachineData,
) -> Option<Machine> {
    let (per_shift, scheduled) = schedule.split(&data.totals)?;
    let completed: Vec<TimeRange> = data
        .events
        .cycles
        .iter()
        .filter(|c| c.ended == CycleEnd::Completed)
        .map(|c| c.range)
        .collect();
    let shifts = schedule
        .shifts
        .iter()
        .zip(per_shift)
        .map(|(shift, totals)| ShiftStats {
            stats: shift_stats(shift, totals, &completed),
            long_idle: long_idle(
                &data.intervals,
                &data.events.alarms,
                &shift.ranges,
                long_idle_threshold,
            ),
        })
        .collect();
    let overall = Stats {
        scheduled: schedule.scheduled_length(),
        time: StateTimes::sum(scheduled),
        parts: data.period_totals.parts,
        cycles: cycles(&completed, |end| period.start <= end && end < period.end),
    };
    Some(Machine {
        id: data.id,
        name: data.name,
        overall,
        shifts,
        intervals: data.intervals,
        truncated: data.events.truncated,
    })
}

fn shift_stats(shift: &Shift, totals: &[Totals], completed: &[TimeRange]) -> Stats {
    Stats {
        scheduled: shift.length(),
        time: StateTimes::sum(totals),
        parts: totals.iter().map(|t| t.parts).sum(),
        cycles: cycles(completed, |end| shift.contains(end)),
    }
}

/// The cycles of `completed` whose end satisfies `counts`.
fn cycles(completed: &[TimeRange], counts: impl Fn(i64) -> bool) -> Cycles {
    let mut cycles = Cycles::default();
    for range in completed.iter().filter(|r| counts(r.end)) {
        cycles.add(range.end - range.start);
    }
    cycles
}

#[cfg(test)]
pub(crate) mod tests {
    use chatter_sdk::ShiftPeriod;
    use chatter_sdk::machine_data::Cycle;

    use super::*;
    use crate::stops::tests::{MINUTE, fault, interval};

    pub fn totals(running_min: i64, idle_min: i64, alarm_min: i64, parts: u64) -> Totals {
        Totals {
            offline: 0,
            alarm: alarm_min * MINUTE,
            running: running_min * MINUTE,
            paused: 0,
            setup: 0,
            idle: idle_min * MINUTE,
            parts,
            cycles: 0,
            cycle_time: 0,
            alarms: 0,
        }
    }

    pub fn cycle(start_min: i64, end_min: i64, ended: CycleEnd) -> Cycle {
        Cycle {
            range: TimeRange {
                start: start_min * MINUTE,
                end: end_min * MINUTE,
            },
            ended,
            program: Some("O1000".to_owned()),
            active: (end_min - start_min) * MINUTE,
            parts: 1,
        }
    }

    pub fn events(
        machine: &str,
        cycles: Vec<Cycle>,
        alarms: Vec<chatter_sdk::machine_data::Alarm>,
    ) -> MachineEvents {
        MachineEvents {
            machine: machine.to_owned(),
            cycles,
            parts: vec![],
            alarms,
            truncated: false,
        }
    }

    /// Two 8-hour shifts, First 0–480 min and Second 480–960 min, over a 24-hour period.
    pub fn two_shifts() -> Schedule {
        let period = |shift: &str, start: i64, end: i64| ShiftPeriod {
            shift: shift.to_owned(),
            date: "2025-03-03".to_owned(),
            range: TimeRange {
                start: start * MINUTE,
                end: end * MINUTE,
            },
        };
        Schedule::new(
            day(),
            &[period("First", 0, 480), period("Second", 480, 960)],
            Some("2025-03-03"),
        )
    }

    pub fn day() -> TimeRange {
        TimeRange {
            start: 0,
            end: 1440 * MINUTE,
        }
    }

    #[test]
    fn figures_per_shift_and_overall() {
        let schedule = two_shifts();
        let data = MachineData {
            id: "m3".to_owned(),
            name: "Mill 3".to_owned(),
            intervals: vec![
                interval(MachineState::Running, 0, 300),
                interval(MachineState::Idle, 300, 480),
                interval(MachineState::Running, 480, 700),
                interval(MachineState::Alarm, 700, 710),
                interval(MachineState::Idle, 710, 960),
            ],
            period_totals: totals(520, 430, 10, 130),
            // First, Second, then the scheduled union (one range, 0–960).
            totals: vec![
                totals(300, 180, 0, 60),
                totals(220, 250, 10, 50),
                totals(520, 430, 10, 110),
            ],
            events: events(
                "m3",
                vec![
                    cycle(10, 14, CycleEnd::Completed),
                    cycle(470, 482, CycleEnd::Completed), // ends on Second
                    cycle(500, 505, CycleEnd::Stopped),   // not completed
                    cycle(600, 606, CycleEnd::Completed),
                    cycle(1000, 1003, CycleEnd::Completed), // after the shifts
                ],
                vec![fault("1010", 700, Some(710))],
            ),
        };
        let machine = machine(&schedule, day(), 30 * MINUTE, data).unwrap();

        let first = &machine.shifts[0].stats;
        assert_eq!(first.scheduled, 480 * MINUTE);
        assert_eq!(first.time.running, 300 * MINUTE);
        assert_eq!(first.utilization(), Some(62.5));
        assert_eq!(first.parts, 60);
        assert_eq!(first.cycles.count, 1);
        assert_eq!(first.cycles.average(), Some(4 * MINUTE));

        let second = &machine.shifts[1];
        assert_eq!(second.stats.utilization(), Some(220.0 * 100.0 / 480.0));
        assert_eq!(second.stats.cycles.count, 2);
        assert_eq!(second.stats.cycles.average(), Some(9 * MINUTE));
        assert_eq!(second.stats.cycles.best, Some(6 * MINUTE));
        assert_eq!(second.long_idle.stops, 1);
        assert_eq!(second.long_idle.time, 250 * MINUTE);
        assert_eq!(
            second.long_idle.by_alarm,
            vec![("1010".to_owned(), 250 * MINUTE)]
        );

        let overall = &machine.overall;
        assert_eq!(overall.scheduled, 960 * MINUTE);
        assert_eq!(overall.time.running, 520 * MINUTE);
        assert_eq!(overall.no_data(), 0);
        // Parts and cycles of the whole period, also those after the shifts.
        assert_eq!(overall.parts, 130);
        assert_eq!(overall.cycles.count, 4);
        assert_eq!(overall.cycles.best, Some(3 * MINUTE));
    }

    #[test]
    fn no_cycles_have_no_average_and_no_schedule_has_no_utilization() {
        let stats = Stats::default();
        assert_eq!(stats.cycles.average(), None);
        assert_eq!(stats.cycles.best, None);
        assert_eq!(stats.utilization(), None);
    }

    #[test]
    fn totals_of_the_wrong_length_are_refused() {
        let data = MachineData {
            id: "m".to_owned(),
            name: "m".to_owned(),
            intervals: vec![],
            period_totals: totals(0, 0, 0, 0),
            totals: vec![totals(0, 0, 0, 0)],
            events: events("m", vec![], vec![]),
        };
        assert!(machine(&two_shifts(), day(), MINUTE, data).is_none());
    }
}
