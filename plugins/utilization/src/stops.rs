//! Long stops: idle stretches at least `long-idle-min` long, and whether they directly followed
//! an alarm (and which).
//!
//! A stretch is long by its whole length, so a stop across a shift change is one stop; its time
//! is counted in each shift for the part inside it. A stop followed an alarm when it started at
//! most [`AFTER_ALARM`] after an alarm interval of the timeline ended, or after a fault of the
//! event list cleared: an operator resetting the control and walking away leaves exactly that
//! trace. The alarm is named by its controller code when it has one.

use std::collections::BTreeMap;

use chatter_report_kit::schedule::overlap;
use chatter_sdk::machine_data::{Alarm, MachineState, StateInterval};
use chatter_sdk::{ConditionLevel, TimeRange};

/// How soon after an alarm an idle stretch must start to count as following it.
pub const AFTER_ALARM: i64 = 60_000_000_000;

/// The long stops of one machine within one shift.
#[derive(Debug, Clone, Default)]
pub struct LongIdle {
    /// Long stops overlapping the shift.
    pub stops: usize,
    /// Their idle time within the shift.
    pub time: i64,
    /// The part of [`LongIdle::time`] in stops that directly followed an alarm.
    pub after_alarm: i64,
    /// That part per alarm, most time first (ties by name); alarms of unknown name are left out.
    pub by_alarm: Vec<(String, i64)>,
    /// The whole range of the longest stop.
    pub longest: Option<TimeRange>,
}

/// The long stops of a machine's `intervals` (in order, as the host gives them) within the
/// shift occurrences `ranges`. `alarms` are the machine's alarms from its event list.
pub fn long_idle(
    intervals: &[StateInterval],
    alarms: &[Alarm],
    ranges: &[TimeRange],
    threshold: i64,
) -> LongIdle {
    let mut result = LongIdle::default();
    let mut by_alarm: BTreeMap<String, i64> = BTreeMap::new();
    for (i, interval) in intervals.iter().enumerate() {
        let TimeRange { start, end } = interval.range;
        if interval.state != MachineState::Idle || end - start < threshold {
            continue;
        }
        let time = overlap(start, end, ranges);
        if time == 0 {
            continue;
        }
        result.stops += 1;
        result.time += time;
        if result.longest.is_none_or(|l| end - start > l.end - l.start) {
            result.longest = Some(interval.range);
        }
        if let Some(alarm) = preceding_alarm(intervals, i, alarms) {
            result.after_alarm += time;
            if let Some(name) = alarm {
                *by_alarm.entry(name).or_default() += time;
            }
        }
    }
    result.by_alarm = by_alarm.into_iter().collect();
    // Stable sort over names in order: ties stay alphabetical.
    result
        .by_alarm
        .sort_by_key(|(_, time)| std::cmp::Reverse(*time));
    result
}

/// Whether the idle interval `intervals[i]` directly followed an alarm: `None` if not,
/// `Some(name)` if it did, with the alarm's name when the event list tells it.
fn preceding_alarm(
    intervals: &[StateInterval],
    i: usize,
    alarms: &[Alarm],
) -> Option<Option<String>> {
    let start = intervals[i].range.start;
    let window = start.saturating_sub(AFTER_ALARM);
    // A fault that cleared in the window names itself.
    let cleared = alarms
        .iter()
        .filter(|a| a.level == ConditionLevel::Fault)
        .filter(|a| a.cleared.is_some_and(|c| window <= c && c <= start))
        .max_by_key(|a| a.cleared);
    if let Some(alarm) = cleared {
        return Some(Some(name(alarm)));
    }
    let alarm_interval = intervals[..i]
        .iter()
        .rev()
        .take_while(|earlier| earlier.range.end >= window)
        .find(|earlier| earlier.state == MachineState::Alarm && earlier.range.end <= start)?;
    Some(active_during(alarms, alarm_interval.range).map(name))
}

/// The alarm that kept the machine in `range` of alarm state: of those active in it, a fault
/// before a warning, then the one that cleared last (it ended the alarm state).
fn active_during(alarms: &[Alarm], range: TimeRange) -> Option<&Alarm> {
    alarms
        .iter()
        .filter(|a| a.raised < range.end && a.cleared.is_none_or(|c| c > range.start))
        .max_by_key(|a| {
            (
                a.level == ConditionLevel::Fault,
                a.cleared.unwrap_or(i64::MAX),
            )
        })
}

/// How an alarm is named to people: its controller code (`1010`), else its text in quotes,
/// else the data item that reported it in quotes.
pub fn name(alarm: &Alarm) -> String {
    match (nonempty(&alarm.native_code), nonempty(&alarm.text)) {
        (Some(code), _) => code.to_owned(),
        (None, Some(text)) => format!("\"{text}\""),
        (None, None) => format!("\"{}\"", alarm.data_item),
    }
}

fn nonempty(text: &Option<String>) -> Option<&str> {
    text.as_deref().map(str::trim).filter(|t| !t.is_empty())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub const MINUTE: i64 = 60_000_000_000;

    pub fn interval(state: MachineState, start_min: i64, end_min: i64) -> StateInterval {
        StateInterval {
            state,
            range: TimeRange {
                start: start_min * MINUTE,
                end: end_min * MINUTE,
            },
        }
    }

    pub fn fault(code: &str, raised_min: i64, cleared_min: Option<i64>) -> Alarm {
        Alarm {
            data_item: "system".to_owned(),
            native_code: Some(code.to_owned()),
            level: ConditionLevel::Fault,
            text: None,
            raised: raised_min * MINUTE,
            cleared: cleared_min.map(|m| m * MINUTE),
        }
    }

    fn shift(start_min: i64, end_min: i64) -> Vec<TimeRange> {
        vec![TimeRange {
            start: start_min * MINUTE,
            end: end_min * MINUTE,
        }]
    }

    use MachineState::{Alarm as A, Idle as I, Running as R};

    #[test]
    fn only_idle_stretches_of_at_least_the_threshold_count() {
        let intervals = [
            interval(R, 0, 10),
            interval(I, 10, 39), // 29 min: short
            interval(R, 39, 50),
            interval(I, 50, 80), // 30 min: long
            interval(R, 80, 90),
        ];
        let idle = long_idle(&intervals, &[], &shift(0, 480), 30 * MINUTE);
        assert_eq!(idle.stops, 1);
        assert_eq!(idle.time, 30 * MINUTE);
        assert_eq!(idle.after_alarm, 0);
        let longest = idle.longest.unwrap();
        assert_eq!((longest.start, longest.end), (50 * MINUTE, 80 * MINUTE));
    }

    #[test]
    fn a_stop_across_a_shift_change_counts_its_part_in_the_shift() {
        let intervals = [interval(I, 460, 520)];
        let first = long_idle(&intervals, &[], &shift(0, 480), 30 * MINUTE);
        let second = long_idle(&intervals, &[], &shift(480, 960), 30 * MINUTE);
        assert_eq!((first.stops, first.time), (1, 20 * MINUTE));
        assert_eq!((second.stops, second.time), (1, 40 * MINUTE));
    }

    #[test]
    fn a_stop_right_after_an_alarm_interval_is_blamed_on_the_alarm_active_in_it() {
        let intervals = [
            interval(R, 0, 100),
            interval(A, 100, 110),
            interval(I, 110, 170),
            interval(R, 170, 200),
            interval(I, 200, 240),
        ];
        let alarms = [fault("1010", 100, Some(110))];
        let idle = long_idle(&intervals, &alarms, &shift(0, 480), 30 * MINUTE);
        assert_eq!(idle.stops, 2);
        assert_eq!(idle.time, 100 * MINUTE);
        assert_eq!(idle.after_alarm, 60 * MINUTE);
        assert_eq!(idle.by_alarm, vec![("1010".to_owned(), 60 * MINUTE)]);
    }

    #[test]
    fn a_stop_within_a_minute_of_a_cleared_fault_follows_it() {
        // The alarm state is not in the timeline (e.g. merged away), the event list has it.
        let second = MINUTE / 60;
        let mut idle_interval = interval(I, 100, 140);
        idle_interval.range.start += 45 * second;
        let intervals = [interval(R, 0, 100), idle_interval];
        let alarms = [fault("EX12", 90, Some(100)), fault("7", 20, Some(30))];
        let idle = long_idle(&intervals, &alarms, &shift(0, 480), 30 * MINUTE);
        assert_eq!(idle.by_alarm.len(), 1);
        assert_eq!(idle.by_alarm[0].0, "EX12");
        assert_eq!(idle.after_alarm, idle.time);

        // Two minutes later it is no longer "directly after".
        let late = [interval(R, 0, 100), interval(I, 102, 140)];
        assert_eq!(
            long_idle(&late, &alarms, &shift(0, 480), 30 * MINUTE).after_alarm,
            0
        );
    }

    #[test]
    fn an_alarm_interval_without_a_known_alarm_still_counts_without_a_name() {
        let intervals = [interval(A, 0, 10), interval(I, 10, 50)];
        let idle = long_idle(&intervals, &[], &shift(0, 480), 30 * MINUTE);
        assert_eq!(idle.after_alarm, 40 * MINUTE);
        assert!(idle.by_alarm.is_empty());
    }

    #[test]
    fn a_cleared_warning_is_not_blamed() {
        let mut warning = fault("W1", 90, Some(100));
        warning.level = ConditionLevel::Warning;
        let intervals = [interval(R, 0, 100), interval(I, 100, 140)];
        let idle = long_idle(&intervals, &[warning], &shift(0, 480), 30 * MINUTE);
        assert_eq!(idle.after_alarm, 0);
    }

    #[test]
    fn alarms_are_named_by_code_then_text_then_data_item() {
        let mut alarm = fault("1010", 0, None);
        assert_eq!(name(&alarm), "1010");
        alarm.native_code = Some(" ".to_owned());
        alarm.text = Some("Door open".to_owned());
        assert_eq!(name(&alarm), "\"Door open\"");
        alarm.text = None;
        assert_eq!(name(&alarm), "\"system\"");
    }
}
