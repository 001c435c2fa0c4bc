//! Alarms by the time they cost: per machine and alarm, and for the fleet per alarm.
//!
//! An alarm is known by its controller code (`1010`); one without a code by the data item that
//! reported it and its text. For each: how often it was raised in the period, how long it was
//! active (raised to cleared, or to the end of the period while still active; overlapping
//! activations counted once), how many stops are attributed to it and their time, the *time
//! lost*. A stop's time is attributed to its cause (see [`crate::stops`]), so no time is lost
//! twice.

use chatter_report_kit::schedule::union;
use chatter_sdk::machine_data::Alarm;
use chatter_sdk::{ConditionLevel, TimeRange};

use crate::stops::Stop;

/// What people call an alarm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmName {
    /// The controller's code, or the data item that reported it when there is none.
    pub code: String,
    /// Its text, possibly empty.
    pub text: String,
    /// Whether `code` is the controller's code.
    pub native: bool,
}

impl AlarmName {
    /// The name of `alarm`.
    pub fn of(alarm: &Alarm) -> Self {
        let trimmed = |text: &Option<String>| {
            text.as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
        };
        let text = trimmed(&alarm.text).unwrap_or_default();
        match trimmed(&alarm.native_code) {
            Some(code) => AlarmName {
                code,
                text,
                native: true,
            },
            None => AlarmName {
                code: alarm.data_item.clone(),
                text,
                native: false,
            },
        }
    }

    /// For a sentence after "alarm": `1010 (spindle overload)`, `1010`, `"Door open"`, or
    /// `on system` (the data item) when there is neither code nor text.
    pub fn label(&self) -> String {
        match (self.native, self.text.is_empty()) {
            (true, true) => self.code.clone(),
            (true, false) => format!("{} ({})", self.code, self.text),
            (false, false) => format!("\"{}\"", self.text),
            (false, true) => format!("on {}", self.code),
        }
    }

    /// Whether `other` is the same alarm: the same code, or without code the same data item
    /// and text. Texts of one code may differ (a value in them); the code decides.
    pub fn same(&self, other: &AlarmName) -> bool {
        self.native == other.native
            && self.code == other.code
            && (self.native || self.text == other.text)
    }
}

/// One alarm's figures (on one machine, or for the fleet).
#[derive(Debug, Clone)]
pub struct AlarmSummary {
    /// Which alarm.
    pub name: AlarmName,
    /// The highest level it reached.
    pub level: ConditionLevel,
    /// Times it was raised in the period.
    pub count: u64,
    /// Time it was active within the period.
    pub active: i64,
    /// Stops attributed to it.
    pub stops: u64,
    /// Their time: the time it cost.
    pub lost: i64,
    /// The longest of those stops.
    pub longest: Option<TimeRange>,
    /// The machines it was raised on (display names), for the fleet; empty per machine.
    pub machines: Vec<String>,
}

impl AlarmSummary {
    fn new(name: AlarmName) -> Self {
        AlarmSummary {
            name,
            level: ConditionLevel::Normal,
            count: 0,
            active: 0,
            stops: 0,
            lost: 0,
            longest: None,
            machines: Vec::new(),
        }
    }

    fn add_stop(&mut self, stop: &Stop) {
        self.stops += 1;
        self.lost += stop.duration();
        if self
            .longest
            .is_none_or(|l| stop.duration() > l.end - l.start)
        {
            self.longest = Some(stop.range);
        }
    }
}

/// How serious a level is, for "the highest level it reached".
pub fn rank(level: ConditionLevel) -> u8 {
    match level {
        ConditionLevel::Normal => 0,
        ConditionLevel::Unavailable => 1,
        ConditionLevel::Warning => 2,
        ConditionLevel::Fault => 3,
    }
}

/// A level's name: `fault`, `warning`, `unavailable`, `normal`.
pub fn level_name(level: ConditionLevel) -> &'static str {
    match level {
        ConditionLevel::Normal => "normal",
        ConditionLevel::Unavailable => "unavailable",
        ConditionLevel::Warning => "warning",
        ConditionLevel::Fault => "fault",
    }
}

/// The alarms of one machine (`alarms`, from its event list) with the time its `stops` lost to
/// each, most time lost first, then most time active.
pub fn summarize(alarms: &[Alarm], stops: &[Stop], period: TimeRange) -> Vec<AlarmSummary> {
    let mut summaries: Vec<AlarmSummary> = Vec::new();
    let mut active: Vec<Vec<TimeRange>> = Vec::new();
    let mut index_of_alarm = Vec::with_capacity(alarms.len());
    for alarm in alarms {
        let name = AlarmName::of(alarm);
        let at = match summaries.iter().position(|s| s.name.same(&name)) {
            Some(at) => at,
            None => {
                summaries.push(AlarmSummary::new(name.clone()));
                active.push(Vec::new());
                summaries.len() - 1
            }
        };
        let summary = &mut summaries[at];
        summary.count += 1;
        if rank(alarm.level) > rank(summary.level) {
            summary.level = alarm.level;
        }
        if summary.name.text.is_empty() {
            summary.name.text = name.text;
        }
        active[at].push(TimeRange {
            start: alarm.raised.max(period.start),
            end: alarm.cleared.unwrap_or(period.end).min(period.end),
        });
        index_of_alarm.push(at);
    }
    for (summary, ranges) in summaries.iter_mut().zip(active) {
        summary.active = union(ranges).iter().map(|r| r.end - r.start).sum();
    }
    for stop in stops {
        if let Some(&at) = stop.cause.and_then(|cause| index_of_alarm.get(cause)) {
            summaries[at].add_stop(stop);
        }
    }
    sort(&mut summaries);
    summaries
}

/// The fleet's alarms: each machine's summaries (`(machine name, summaries)`) added up per
/// alarm, with the machines it was raised on.
pub fn fleet(machines: &[(&str, &[AlarmSummary])]) -> Vec<AlarmSummary> {
    let mut fleet: Vec<AlarmSummary> = Vec::new();
    for (machine, summaries) in machines {
        for summary in summaries.iter() {
            let at = match fleet.iter().position(|f| f.name.same(&summary.name)) {
                Some(at) => at,
                None => {
                    fleet.push(AlarmSummary::new(summary.name.clone()));
                    fleet.len() - 1
                }
            };
            let total = &mut fleet[at];
            total.count += summary.count;
            total.active += summary.active;
            total.stops += summary.stops;
            total.lost += summary.lost;
            if rank(summary.level) > rank(total.level) {
                total.level = summary.level;
            }
            if total.name.text.is_empty() {
                total.name.text = summary.name.text.clone();
            }
            if let Some(longest) = summary.longest
                && total
                    .longest
                    .is_none_or(|l| longest.end - longest.start > l.end - l.start)
            {
                total.longest = Some(longest);
            }
            total.machines.push((*machine).to_owned());
        }
    }
    sort(&mut fleet);
    fleet
}

/// Most time lost first, then most time active, then most often raised, then by code.
fn sort(summaries: &mut [AlarmSummary]) {
    summaries.sort_by(|a, b| {
        b.lost
            .cmp(&a.lost)
            .then(b.active.cmp(&a.active))
            .then(b.count.cmp(&a.count))
            .then_with(|| a.name.code.cmp(&b.name.code))
    });
}

#[cfg(test)]
mod tests {
    use chatter_report_kit::StateTimes;

    use super::*;
    use crate::stops::tests::{MINUTE, alarm, fault};

    fn stop(start: i64, end: i64, cause: Option<usize>) -> Stop {
        Stop {
            range: TimeRange {
                start: start * MINUTE,
                end: end * MINUTE,
            },
            shift: 0,
            time: StateTimes::default(),
            alarms: cause.into_iter().collect(),
            cause,
            micro: false,
        }
    }

    fn period() -> TimeRange {
        TimeRange {
            start: 0,
            end: 1440 * MINUTE,
        }
    }

    #[test]
    fn alarms_are_named_by_code_else_by_text_else_by_data_item() {
        let mut a = fault("1010", 0, None);
        assert_eq!(AlarmName::of(&a).label(), "1010");
        a.text = Some(" spindle overload ".to_owned());
        assert_eq!(AlarmName::of(&a).label(), "1010 (spindle overload)");
        a.native_code = Some(" ".to_owned());
        let name = AlarmName::of(&a);
        assert_eq!((name.code.as_str(), name.native), ("system", false));
        assert_eq!(name.label(), "\"spindle overload\"");
        a.text = None;
        assert_eq!(AlarmName::of(&a).label(), "on system");
    }

    #[test]
    fn time_lost_is_the_time_of_the_stops_attributed_and_active_time_is_clipped() {
        let alarms = [
            fault("1010", 100, Some(110)),
            fault("2020", 200, Some(205)),
            // Raised again while the first 1010 is cleared; later still active at the end.
            fault("1010", 300, Some(330)),
            fault("1010", 1400, None),
            alarm("W7", ConditionLevel::Warning, 0, Some(600)),
        ];
        let stops = [
            stop(100, 160, Some(0)),
            stop(200, 202, Some(1)),
            stop(300, 400, Some(2)),
            stop(500, 520, None),
        ];
        let summaries = summarize(&alarms, &stops, period());
        let codes: Vec<&str> = summaries.iter().map(|s| s.name.code.as_str()).collect();
        assert_eq!(codes, ["1010", "2020", "W7"]);
        let top = &summaries[0];
        assert_eq!(top.count, 3);
        // 10 + 30 min, and 40 min from 1400 to the end of the period.
        assert_eq!(top.active, 80 * MINUTE);
        assert_eq!((top.stops, top.lost), (2, 160 * MINUTE));
        assert_eq!(top.longest.map(|l| l.start), Some(300 * MINUTE));
        assert_eq!(top.level, ConditionLevel::Fault);
        let warning = &summaries[2];
        assert_eq!((warning.lost, warning.active), (0, 600 * MINUTE));
        assert_eq!(warning.level, ConditionLevel::Warning);
    }

    #[test]
    fn an_alarm_raised_before_the_period_counts_from_its_start_and_overlaps_once() {
        let period = TimeRange {
            start: 100 * MINUTE,
            end: 200 * MINUTE,
        };
        let alarms = [fault("1", 50, Some(150)), fault("1", 120, Some(160))];
        let summaries = summarize(&alarms, &[], period);
        assert_eq!(summaries[0].active, 60 * MINUTE);
        assert_eq!(summaries[0].count, 2);
    }

    #[test]
    fn the_fleet_adds_up_per_code_and_names_the_machines() {
        let mill = summarize(
            &[fault("1010", 0, Some(10))],
            &[stop(0, 30, Some(0))],
            period(),
        );
        let mut lathe_alarms = [fault("1010", 100, Some(105)), fault("7", 200, Some(260))];
        lathe_alarms[0].text = Some("spindle overload".to_owned());
        let lathe = summarize(
            &lathe_alarms,
            &[stop(100, 110, Some(0)), stop(200, 260, Some(1))],
            period(),
        );
        let fleet = fleet(&[("Mill 3", &mill), ("Lathe 2", &lathe)]);
        assert_eq!(fleet.len(), 2);
        assert_eq!(fleet[0].name.code, "7");
        let spindle = &fleet[1];
        assert_eq!(spindle.name.label(), "1010 (spindle overload)");
        assert_eq!((spindle.count, spindle.stops), (2, 2));
        assert_eq!((spindle.lost, spindle.active), (40 * MINUTE, 15 * MINUTE));
        assert_eq!(spindle.machines, ["Mill 3", "Lathe 2"]);
    }
}
