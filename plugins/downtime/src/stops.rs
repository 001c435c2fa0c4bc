//! Stops: maximal stretches of planned time in which a machine did not run, and the alarms
//! behind them.
//!
//! Consecutive intervals of idle, paused, alarm, setup and offline merge into one stop. A stop
//! ends when the machine runs again, when planned time ends (the next planned range starts a
//! new stop), or where the timeline has a gap: time without data is not known to be a stop. A
//! stop across a shift change within planned time is one stop; it belongs to the shift it
//! began in.
//!
//! The alarms of a stop are those active when it began, raised during it, or cleared at most
//! [`AFTER_ALARM`] before it began (an operator resetting the control and walking away leaves
//! exactly that trace). Its *cause* is the first of them to be raised that is a fault: warnings
//! are listed with the stop but not blamed, as they do not stop a machine.

use chatter_report_kit::StateTimes;
use chatter_report_kit::schedule::Schedule;
use chatter_sdk::machine_data::{Alarm, MachineState, StateInterval};
use chatter_sdk::{ConditionLevel, TimeRange};

/// How soon after an alarm cleared a stop may begin to still count as caused by it.
pub const AFTER_ALARM: i64 = 60_000_000_000;

/// One stop of one machine.
#[derive(Debug, Clone)]
pub struct Stop {
    /// When it began and ended.
    pub range: TimeRange,
    /// The shift it began in, an index into [`Schedule::shifts`].
    pub shift: usize,
    /// Its time per state.
    pub time: StateTimes,
    /// Its alarms, indices into the machine's alarm list, in the order they were raised.
    pub alarms: Vec<usize>,
    /// The alarm it is attributed to, an index into the machine's alarm list.
    pub cause: Option<usize>,
    /// Whether it is shorter than the microstop threshold.
    pub micro: bool,
}

impl Stop {
    /// Its length.
    pub fn duration(&self) -> i64 {
        self.range.end - self.range.start
    }

    /// The state it spent most of its time in; ties go to the state of higher precedence.
    pub fn main_state(&self) -> MachineState {
        self.time
            .largest(&[])
            .map_or(MachineState::Idle, |(state, _)| state)
    }
}

/// The stops of a machine: its `intervals` (in any order) within the planned time of
/// `schedule`, with `alarms` (the machine's, from its event list) related to them. A stop
/// shorter than `microstop` is a microstop.
pub fn stops(
    intervals: &[StateInterval],
    alarms: &[Alarm],
    schedule: &Schedule,
    microstop: i64,
) -> Vec<Stop> {
    let mut sorted: Vec<&StateInterval> = intervals.iter().collect();
    sorted.sort_by_key(|i| i.range.start);
    let mut found = Vec::new();
    for &planned in &schedule.scheduled {
        stretches(&sorted, planned, &mut found);
    }
    found
        .into_iter()
        .map(|(range, time)| {
            let related = related(alarms, range);
            Stop {
                range,
                shift: schedule.shift_at(range.start).unwrap_or(0),
                time,
                cause: related
                    .iter()
                    .copied()
                    .find(|&a| alarms[a].level == ConditionLevel::Fault),
                alarms: related,
                micro: range.end - range.start < microstop,
            }
        })
        .collect()
}

/// Appends to `found` the not-running stretches of `intervals` (sorted by start) within
/// `planned`, each with its time per state.
fn stretches(
    intervals: &[&StateInterval],
    planned: TimeRange,
    found: &mut Vec<(TimeRange, StateTimes)>,
) {
    let mut current: Option<(TimeRange, StateTimes)> = None;
    // Intervals are disjoint, so those ending before the range are a prefix.
    let first = intervals.partition_point(|i| i.range.end <= planned.start);
    for interval in &intervals[first..] {
        if interval.range.start >= planned.end {
            break;
        }
        let start = interval.range.start.max(planned.start);
        let end = interval.range.end.min(planned.end);
        if start >= end {
            continue;
        }
        if interval.state == MachineState::Running {
            found.extend(current.take());
            continue;
        }
        match &mut current {
            // Contiguous: the same stop goes on.
            Some((range, time)) if range.end == start => {
                range.end = end;
                time.add(interval.state, end - start);
            }
            // After a gap (no data), or the first: a new stop.
            _ => {
                found.extend(current.take());
                let mut time = StateTimes::default();
                time.add(interval.state, end - start);
                current = Some((TimeRange { start, end }, time));
            }
        }
    }
    found.extend(current);
}

/// The alarms related to a stop over `range`: raised before it ended, and not cleared earlier
/// than [`AFTER_ALARM`] before it began. Indices into `alarms`, in the order they were raised.
fn related(alarms: &[Alarm], range: TimeRange) -> Vec<usize> {
    let window = range.start.saturating_sub(AFTER_ALARM);
    let mut related: Vec<usize> = alarms
        .iter()
        .enumerate()
        .filter(|(_, a)| a.raised < range.end && a.cleared.is_none_or(|c| c >= window))
        .map(|(i, _)| i)
        .collect();
    // The host lists alarms in the order raised; sorting keeps "first" right if it did not.
    related.sort_by_key(|&i| (alarms[i].raised, i));
    related
}

#[cfg(test)]
pub(crate) mod tests {
    use chatter_sdk::ShiftPeriod;

    use super::*;

    pub const MINUTE: i64 = 60_000_000_000;
    pub const S: i64 = 1_000_000_000;

    pub fn interval(state: MachineState, start_min: i64, end_min: i64) -> StateInterval {
        StateInterval {
            state,
            range: TimeRange {
                start: start_min * MINUTE,
                end: end_min * MINUTE,
            },
        }
    }

    pub fn alarm(
        code: &str,
        level: ConditionLevel,
        raised_min: i64,
        cleared_min: Option<i64>,
    ) -> Alarm {
        Alarm {
            data_item: "system".to_owned(),
            native_code: Some(code.to_owned()),
            level,
            text: None,
            raised: raised_min * MINUTE,
            cleared: cleared_min.map(|m| m * MINUTE),
        }
    }

    pub fn fault(code: &str, raised_min: i64, cleared_min: Option<i64>) -> Alarm {
        alarm(code, ConditionLevel::Fault, raised_min, cleared_min)
    }

    /// First 0–480 min and Second 480–960 min of one day.
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
            TimeRange {
                start: 0,
                end: 1440 * MINUTE,
            },
            &[period("First", 0, 480), period("Second", 480, 960)],
            Some("2025-03-03"),
        )
    }

    fn spans(stops: &[Stop]) -> Vec<(i64, i64)> {
        stops
            .iter()
            .map(|s| (s.range.start / MINUTE, s.range.end / MINUTE))
            .collect()
    }

    use MachineState::{
        Alarm as A, Idle as I, Offline as O, Paused as P, Running as R, Setup as U,
    };

    #[test]
    fn consecutive_not_running_intervals_merge_into_one_stop() {
        let intervals = [
            interval(R, 0, 100),
            interval(A, 100, 110),
            interval(I, 110, 150),
            interval(U, 150, 160),
            interval(R, 160, 200),
            interval(P, 200, 201),
            interval(R, 201, 480),
        ];
        let stops = stops(&intervals, &[], &two_shifts(), 2 * MINUTE);
        assert_eq!(spans(&stops), [(100, 160), (200, 201)]);
        let first = &stops[0];
        assert_eq!(first.duration(), 60 * MINUTE);
        assert_eq!(first.time.alarm, 10 * MINUTE);
        assert_eq!(first.time.idle, 40 * MINUTE);
        assert_eq!(first.time.setup, 10 * MINUTE);
        assert_eq!(first.main_state(), I);
        assert!(!first.micro);
        assert!(stops[1].micro);
        assert_eq!(stops[1].main_state(), P);
    }

    #[test]
    fn a_stop_across_a_shift_change_is_one_stop_of_the_shift_it_began_in() {
        let intervals = [
            interval(R, 0, 460),
            interval(I, 460, 500),
            interval(R, 500, 960),
        ];
        let stops = stops(&intervals, &[], &two_shifts(), 2 * MINUTE);
        assert_eq!(spans(&stops), [(460, 500)]);
        assert_eq!(stops[0].shift, 0);
    }

    #[test]
    fn planned_time_ends_a_stop_and_gaps_split_it() {
        // Offline through the night: only the planned part counts, up to 960 min. A gap from
        // 200 to 210 (no data) splits the idle time around it.
        let intervals = [
            interval(I, 150, 200),
            interval(I, 210, 240),
            interval(R, 240, 900),
            interval(O, 900, 1440),
        ];
        let stops = stops(&intervals, &[], &two_shifts(), 2 * MINUTE);
        assert_eq!(spans(&stops), [(150, 200), (210, 240), (900, 960)]);
        assert_eq!(stops[2].shift, 1);
        assert_eq!(stops[2].main_state(), O);
    }

    #[test]
    fn without_shifts_the_whole_period_is_planned_and_order_does_not_matter() {
        let schedule = Schedule::new(
            TimeRange {
                start: 0,
                end: 1440 * MINUTE,
            },
            &[],
            None,
        );
        let intervals = [
            interval(I, 1400, 1440),
            interval(R, 0, 1000),
            interval(U, 1000, 1400),
        ];
        let stops = stops(&intervals, &[], &schedule, 2 * MINUTE);
        assert_eq!(spans(&stops), [(1000, 1440)]);
        assert_eq!(stops[0].main_state(), U);
    }

    #[test]
    fn the_cause_is_the_first_fault_active_at_raised_in_or_cleared_just_before_the_stop() {
        let intervals = [
            interval(R, 0, 100),
            interval(I, 100, 150),
            interval(R, 150, 300),
            interval(A, 300, 320),
            interval(R, 320, 400),
            interval(I, 400, 450),
        ];
        let alarms = [
            // Cleared 30 s before the first stop: its cause.
            Alarm {
                cleared: Some(100 * MINUTE - 30 * S),
                ..fault("EX12", 90, None)
            },
            // A warning during it: listed, not blamed.
            alarm("W7", ConditionLevel::Warning, 95, Some(120)),
            // Raised during the second stop, and still active at the end of the period.
            fault("1010", 305, None),
            // Cleared two minutes before the third stop: not related.
            fault("2020", 390, Some(398)),
        ];
        let stops = stops(&intervals, &alarms, &two_shifts(), 2 * MINUTE);
        assert_eq!(spans(&stops), [(100, 150), (300, 320), (400, 450)]);
        assert_eq!(stops[0].alarms, [0, 1]);
        assert_eq!(stops[0].cause, Some(0));
        assert_eq!(stops[1].alarms, [2]);
        assert_eq!(stops[1].cause, Some(2));
        // 1010 is still active when the third stop begins: it is related, and the cause.
        assert_eq!(stops[2].alarms, [2]);
        assert_eq!(stops[2].cause, Some(2));
    }

    #[test]
    fn a_stop_with_warnings_only_has_no_cause() {
        let intervals = [interval(I, 10, 20)];
        let alarms = [alarm("W7", ConditionLevel::Warning, 5, Some(15))];
        let stops = stops(&intervals, &alarms, &two_shifts(), 2 * MINUTE);
        assert_eq!(stops[0].alarms, [0]);
        assert_eq!(stops[0].cause, None);
    }

    #[test]
    fn no_intervals_no_stops() {
        assert!(stops(&[], &[], &two_shifts(), MINUTE).is_empty());
        let running = [interval(R, 0, 960)];
        assert!(stops(&running, &[], &two_shifts(), MINUTE).is_empty());
    }
}
