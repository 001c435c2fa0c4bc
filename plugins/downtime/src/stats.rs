//! The figures of the report per machine and shift, from the host's answers.
//!
//! - *planned time*: the length of the shift's occurrences (the whole period without a shift
//!   schedule; overall, their union);
//! - *time in a state*: from the timeline, within the planned time; planned time in no state is
//!   *no data*;
//! - *stops*, *microstops*, their time and the part of it attributed to an alarm: counted in
//!   the shift a stop began in, with its whole length (see [`crate::stops`]).

use chatter_report_kit::StateTimes;
use chatter_report_kit::schedule::{Schedule, overlap};
use chatter_sdk::TimeRange;
use chatter_sdk::machine_data::{Alarm, MachineEvents, StateInterval};

use crate::alarms::{AlarmSummary, summarize};
use crate::stops::{Stop, stops};

/// The stops of one machine within one shift (or all planned time).
#[derive(Debug, Clone, Default)]
pub struct Figures {
    /// Planned time.
    pub planned: i64,
    /// Time in each state within it.
    pub time: StateTimes,
    /// Stops that began in it.
    pub stops: u64,
    /// Their time.
    pub stop_time: i64,
    /// Microstops among them.
    pub microstops: u64,
    /// Their time.
    pub microstop_time: i64,
    /// Time of the stops attributed to an alarm.
    pub after_alarm: i64,
    /// The longest stop.
    pub longest: Option<TimeRange>,
}

impl Figures {
    /// Planned time in no state: no data (machine not connected, or data not derived yet).
    pub fn no_data(&self) -> i64 {
        (self.planned - self.time.covered()).max(0)
    }

    fn add(&mut self, stop: &Stop) {
        let duration = stop.duration();
        self.stops += 1;
        self.stop_time += duration;
        if stop.micro {
            self.microstops += 1;
            self.microstop_time += duration;
        }
        if stop.cause.is_some() {
            self.after_alarm += duration;
        }
        if self.longest.is_none_or(|l| duration > l.end - l.start) {
            self.longest = Some(stop.range);
        }
    }
}

/// Everything the report says about one machine.
#[derive(Debug, Clone)]
pub struct Machine {
    /// The machine's id.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// Over all planned time.
    pub overall: Figures,
    /// Per shift, in the order of [`Schedule::shifts`].
    pub shifts: Vec<Figures>,
    /// Its stops, in order.
    pub stops: Vec<Stop>,
    /// Its alarms from the event list; [`Stop::alarms`] and [`Stop::cause`] index them.
    pub alarms: Vec<Alarm>,
    /// Its alarms by time lost.
    pub alarm_summaries: Vec<AlarmSummary>,
    /// Its states over the period, for the timeline.
    pub intervals: Vec<StateInterval>,
    /// Whether the host cut its event lists, so alarms may be missing.
    pub truncated: bool,
}

impl Machine {
    /// The alarm a stop is attributed to.
    pub fn cause(&self, stop: &Stop) -> Option<&Alarm> {
        self.alarms.get(stop.cause?)
    }
}

/// The host's answers about one machine.
#[derive(Debug, Clone)]
pub struct MachineData {
    /// The machine's id.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// Its states over the period.
    pub intervals: Vec<StateInterval>,
    /// Its alarms (and cycles and parts) in the period.
    pub events: MachineEvents,
}

/// The figures of one machine over `period`; stops shorter than `microstop` are microstops.
pub fn machine(
    schedule: &Schedule,
    period: TimeRange,
    microstop: i64,
    data: MachineData,
) -> Machine {
    let alarms = data.events.alarms;
    let stops = stops(&data.intervals, &alarms, schedule, microstop);
    let mut overall = Figures {
        planned: schedule.scheduled_length(),
        time: state_time(&data.intervals, &schedule.scheduled),
        ..Figures::default()
    };
    let mut shifts: Vec<Figures> = schedule
        .shifts
        .iter()
        .map(|shift| Figures {
            planned: shift.length(),
            time: state_time(&data.intervals, &shift.ranges),
            ..Figures::default()
        })
        .collect();
    for stop in &stops {
        overall.add(stop);
        if let Some(shift) = shifts.get_mut(stop.shift) {
            shift.add(stop);
        }
    }
    let alarm_summaries = summarize(&alarms, &stops, period);
    Machine {
        id: data.id,
        name: data.name,
        overall,
        shifts,
        stops,
        alarms,
        alarm_summaries,
        intervals: data.intervals,
        truncated: data.events.truncated,
    }
}

/// Time per state of `intervals` within `ranges`.
fn state_time(intervals: &[StateInterval], ranges: &[TimeRange]) -> StateTimes {
    let mut time = StateTimes::default();
    for interval in intervals {
        let within = overlap(interval.range.start, interval.range.end, ranges);
        time.add(interval.state, within);
    }
    time
}

#[cfg(test)]
pub(crate) mod tests {
    use chatter_sdk::machine_data::MachineState;

    use super::*;
    use crate::stops::tests::{MINUTE, fault, interval, two_shifts};

    pub fn events(machine: &str, alarms: Vec<Alarm>) -> MachineEvents {
        MachineEvents {
            machine: machine.to_owned(),
            cycles: vec![],
            parts: vec![],
            alarms,
            truncated: false,
        }
    }

    fn day() -> TimeRange {
        TimeRange {
            start: 0,
            end: 1440 * MINUTE,
        }
    }

    #[test]
    fn figures_per_shift_and_overall() {
        use MachineState::{Alarm as A, Idle as I, Running as R, Setup as U};
        let data = MachineData {
            id: "m3".to_owned(),
            name: "Mill 3".to_owned(),
            intervals: vec![
                interval(U, 0, 30),
                interval(R, 30, 100),
                interval(I, 100, 101), // a microstop
                interval(R, 101, 460),
                interval(A, 460, 470), // across the shift change: one stop of First
                interval(I, 470, 520),
                interval(R, 520, 900),
                // No data from 900 to 960.
            ],
            events: events("m3", vec![fault("1010", 460, Some(470))]),
        };
        let machine = machine(&two_shifts(), day(), 2 * MINUTE, data);
        let first = &machine.shifts[0];
        assert_eq!(first.planned, 480 * MINUTE);
        assert_eq!(first.time.idle, 11 * MINUTE);
        assert_eq!((first.stops, first.microstops), (3, 1));
        assert_eq!(first.stop_time, (30 + 1 + 60) * MINUTE);
        assert_eq!(first.microstop_time, MINUTE);
        assert_eq!(first.after_alarm, 60 * MINUTE);
        let second = &machine.shifts[1];
        assert_eq!(second.stops, 0);
        assert_eq!(second.time.idle, 40 * MINUTE);
        assert_eq!(second.no_data(), 60 * MINUTE);
        let overall = &machine.overall;
        assert_eq!(overall.planned, 960 * MINUTE);
        assert_eq!(overall.stops, 3);
        assert_eq!(overall.longest.map(|l| l.start), Some(460 * MINUTE));
        assert_eq!(overall.time.setup, 30 * MINUTE);
        assert_eq!(machine.alarm_summaries[0].lost, 60 * MINUTE);
        assert_eq!(
            machine.cause(&machine.stops[2]).map(|a| a.raised),
            Some(460 * MINUTE)
        );
    }

    #[test]
    fn a_machine_without_data_has_no_stops_and_all_of_it_is_no_data() {
        let data = MachineData {
            id: "l2".to_owned(),
            name: "Lathe 2".to_owned(),
            intervals: vec![],
            events: events("l2", vec![]),
        };
        let machine = machine(&two_shifts(), day(), 2 * MINUTE, data);
        assert!(machine.stops.is_empty());
        assert_eq!(machine.overall.no_data(), 960 * MINUTE);
        assert!(machine.overall.longest.is_none());
        assert!(machine.alarm_summaries.is_empty());
    }
}
