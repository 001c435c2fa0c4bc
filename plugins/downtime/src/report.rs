//! A run put together from the request and the host's answers: the schedule, every machine's
//! stops and alarms, the fleet's alarms and the recommendations, ready for the documents. Pure,
//! so a whole run is tested natively with made-up answers.

use chatter_report_kit::Schedule;
use chatter_report_kit::answers::{machine_name, take_events, take_timeline};
use chatter_report_kit::format::{hours_minutes, rfc3339_utc};
use chatter_sdk::machine_data::{MachineEvents, MachineInfo, Timeline};
use chatter_sdk::{Day, Error, ReportRequest, ShiftPeriod, TimeRange};

use crate::advice::{Advice, advise};
use crate::alarms::{AlarmSummary, fleet};
use crate::params::Parameters;
use crate::stats::{Machine, MachineData, machine};
use crate::stops::Stop;

/// Everything the documents show.
#[derive(Debug, Clone)]
pub struct Report {
    /// The organization's display name.
    pub organization: String,
    /// Its IANA time zone.
    pub time_zone: String,
    /// The period covered.
    pub period: TimeRange,
    /// The local days of the period.
    pub days: Vec<Day>,
    /// The shift occurrences of the period, in order (for the timeline's ticks).
    pub shift_periods: Vec<ShiftPeriod>,
    /// The shifts and the planned time.
    pub schedule: Schedule,
    /// The run's parameters.
    pub parameters: Parameters,
    /// Each machine of the request, in its order.
    pub machines: Vec<Machine>,
    /// The fleet's alarms by time lost.
    pub fleet_alarms: Vec<AlarmSummary>,
    /// The recommendations.
    pub advice: Advice,
}

impl Report {
    /// The first and last local dates of the period, when the request has days.
    pub fn first_and_last_day(&self) -> Option<(&str, &str)> {
        Some((&self.days.first()?.date, &self.days.last()?.date))
    }

    /// The `n` longest stops of the fleet, longest first (ties: earlier first), with their
    /// machine.
    pub fn longest_stops(&self, n: usize) -> Vec<(&Machine, &Stop)> {
        let mut all: Vec<(&Machine, &Stop)> = self
            .machines
            .iter()
            .flat_map(|m| m.stops.iter().map(move |s| (m, s)))
            .collect();
        all.sort_by_key(|(_, s)| (std::cmp::Reverse(s.duration()), s.range.start));
        all.truncate(n);
        all
    }

    /// The local date of `at` and its time of day (`HH:MM` from the day's start), from the
    /// request's days; outside them, the UTC date and time marked `UTC`.
    pub fn local_time(&self, at: i64) -> (String, String) {
        match self
            .days
            .iter()
            .find(|d| d.range.start <= at && at < d.range.end)
        {
            Some(day) => (day.date.clone(), hours_minutes(at - day.range.start)),
            None => {
                let utc = rfc3339_utc(at);
                let date = utc.get(..10).unwrap_or(&utc).to_owned();
                let time = utc.get(11..16).unwrap_or_default();
                (date, format!("{time} UTC"))
            }
        }
    }
}

/// The host's answers to the run's machine-data calls.
#[derive(Debug, Clone, Default)]
pub struct Answers {
    /// `machines()`.
    pub machines: Vec<MachineInfo>,
    /// `timelines(request.machines, request.period, None)`.
    pub timelines: Vec<Timeline>,
    /// `events(request.machines, request.period, kinds)`, with the kinds the report uses.
    pub events: Vec<MachineEvents>,
}

/// The report of `request` from the host's `answers`. Fails when an answer lacks a machine of
/// the request, naming the call and the machine.
pub fn build(
    request: ReportRequest,
    parameters: Parameters,
    schedule: Schedule,
    mut answers: Answers,
) -> Result<Report, Error> {
    let mut machines = Vec::with_capacity(request.machines.len());
    for id in &request.machines {
        let timeline = take_timeline(&mut answers.timelines, id)?;
        let events = take_events(&mut answers.events, id)?;
        let name = machine_name(&answers.machines, id);
        let data = MachineData {
            id: id.clone(),
            name,
            intervals: timeline.intervals,
            events,
        };
        machines.push(machine(
            &schedule,
            request.period,
            parameters.microstop_ns(),
            data,
        ));
    }
    let per_machine: Vec<(&str, &[AlarmSummary])> = machines
        .iter()
        .map(|m| (m.name.as_str(), m.alarm_summaries.as_slice()))
        .collect();
    let fleet_alarms = fleet(&per_machine);
    let advice = advise(&machines, &schedule, &parameters);
    Ok(Report {
        organization: request.organization,
        time_zone: request.time_zone,
        period: request.period,
        days: request.days,
        shift_periods: request.shifts,
        schedule,
        parameters,
        machines,
        fleet_alarms,
        advice,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use chatter_sdk::ConditionLevel;
    use chatter_sdk::ErrorCode;
    use chatter_sdk::machine_data::{Alarm, MachineState, StateInterval, Totals};

    use super::*;
    use crate::stats::tests::events;
    use crate::stops::tests::{MINUTE, alarm, interval};

    pub use chatter_report_kit::sample::{self, DAY};

    /// `intervals` (minutes of a day) moved to day `d`.
    fn on_day(d: i64, intervals: &[(MachineState, i64, i64)]) -> Vec<StateInterval> {
        intervals
            .iter()
            .map(|&(state, from, to)| interval(state, d * 1440 + from, d * 1440 + to))
            .collect()
    }

    /// Second shift of Mill 2: 9 minutes running, 1 idle, 48 times from 14:00 to 22:00.
    fn stuttering(d: i64) -> Vec<StateInterval> {
        (0..48)
            .flat_map(|k| {
                let t = 840 + 10 * k;
                on_day(
                    d,
                    &[
                        (MachineState::Running, t, t + 9),
                        (MachineState::Idle, t + 9, t + 10),
                    ],
                )
            })
            .collect()
    }

    fn named(mut alarm: Alarm, text: &str) -> Alarm {
        alarm.text = Some(text.to_owned());
        alarm
    }

    /// A made-up run: two days from 2025-03-03, shifts First 06–14 and Second 14–22.
    ///
    /// - Mill 3, each day: setup 06:00–06:30; alarm 1010 (spindle overload) 09:00–09:10 and
    ///   idle to 09:40; idle 13:50–14:20 across the shift change; alarm 1010 18:00–18:05 and
    ///   idle to 18:30; running otherwise, offline at night. On the second day a warning (W55,
    ///   coolant low) is raised at 20:00 and still active at the end.
    /// - Mill 2: on the first day setup 06:00–07:30, a door interlock fault without code
    ///   10:00–10:02 and idle to 10:05, setup 12:00–13:00; on the second day no data until
    ///   06:20, setup to 08:00 and 12:00–13:00. On Second shift a minute idle after every nine
    ///   running.
    pub fn sample() -> (ReportRequest, Answers) {
        use MachineState::{Alarm as A, Idle as I, Offline as O, Running as R, Setup as U};
        let request = sample::request(2, &["m3", "m2"], &[("microstop-s", "120"), ("top", "10")]);

        let mill3_day = [
            (O, 0, 360),
            (U, 360, 390),
            (R, 390, 540),
            (A, 540, 550),
            (I, 550, 580),
            (R, 580, 830),
            (I, 830, 860),
            (R, 860, 1080),
            (A, 1080, 1085),
            (I, 1085, 1110),
            (R, 1110, 1320),
            (O, 1320, 1440),
        ];
        let mill3: Vec<StateInterval> = (0..2).flat_map(|d| on_day(d, &mill3_day)).collect();
        let spindle = |raised: i64, cleared: i64| {
            named(
                alarm("1010", ConditionLevel::Fault, raised, Some(cleared)),
                "spindle overload",
            )
        };
        let mill3_alarms = vec![
            spindle(540, 550),
            spindle(1080, 1085),
            spindle(1440 + 540, 1440 + 550),
            spindle(1440 + 1080, 1440 + 1085),
            named(
                alarm("W55", ConditionLevel::Warning, 1440 + 1200, None),
                "coolant low",
            ),
        ];

        let mut mill2 = on_day(
            0,
            &[
                (O, 0, 360),
                (U, 360, 450),
                (R, 450, 600),
                (A, 600, 602),
                (I, 602, 605),
                (R, 605, 720),
                (U, 720, 780),
                (R, 780, 840),
            ],
        );
        mill2.extend(stuttering(0));
        mill2.extend(on_day(0, &[(O, 1320, 1440), (O, 1440, 1800)]));
        // No data from 06:00 to 06:20 on the second day.
        mill2.extend(on_day(
            1,
            &[(U, 380, 480), (R, 480, 720), (U, 720, 780), (R, 780, 840)],
        ));
        mill2.extend(stuttering(1));
        mill2.extend(on_day(1, &[(O, 1320, 1440)]));
        let door = Alarm {
            data_item: "door".to_owned(),
            native_code: None,
            level: ConditionLevel::Fault,
            text: Some("Door interlock".to_owned()),
            raised: 600 * MINUTE,
            cleared: Some(602 * MINUTE),
        };

        let timeline = |id: &str, intervals: Vec<StateInterval>| Timeline {
            machine: id.to_owned(),
            intervals,
            totals: Totals {
                offline: 0,
                alarm: 0,
                running: 0,
                paused: 0,
                setup: 0,
                idle: 0,
                parts: 0,
                cycles: 0,
                cycle_time: 0,
                alarms: 0,
            },
        };
        let answers = Answers {
            machines: vec![
                MachineInfo {
                    id: "m3".to_owned(),
                    name: "Mill 3".to_owned(),
                },
                MachineInfo {
                    id: "m2".to_owned(),
                    name: "Mill 2".to_owned(),
                },
            ],
            timelines: vec![timeline("m2", mill2), timeline("m3", mill3)],
            events: vec![events("m3", mill3_alarms), events("m2", vec![door])],
        };
        (request, answers)
    }

    pub fn sample_report() -> Report {
        let (request, answers) = sample();
        let parameters = Parameters::from_request(&request.parameters).unwrap();
        let schedule = Schedule::for_request(&request);
        build(request, parameters, schedule, answers).unwrap()
    }

    #[test]
    fn a_run_finds_each_machines_stops_in_request_order() {
        let report = sample_report();
        let names: Vec<&str> = report.machines.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["Mill 3", "Mill 2"]);
        let mill3 = &report.machines[0];
        // Four stops a day: setup, after 1010, across the shift change, after 1010.
        assert_eq!(mill3.overall.stops, 8);
        assert_eq!(mill3.overall.stop_time, 2 * 130 * MINUTE);
        assert_eq!(mill3.overall.after_alarm, 2 * 70 * MINUTE);
        assert_eq!(mill3.shifts[0].stops, 6);
        let mill2 = &report.machines[1];
        // The gap splits nothing here, but is no data: 20 min.
        assert_eq!(mill2.overall.no_data(), 20 * MINUTE);
        assert_eq!(mill2.shifts[1].microstops, 96);
        assert_eq!(mill2.shifts[1].microstop_time, 96 * MINUTE);
        assert_eq!(mill2.shifts[0].microstops, 0);
        assert_eq!(mill2.overall.time.setup, 310 * MINUTE);
    }

    #[test]
    fn the_fleets_alarms_are_sorted_by_time_lost() {
        let report = sample_report();
        let labels: Vec<String> = report.fleet_alarms.iter().map(|a| a.name.label()).collect();
        assert_eq!(
            labels,
            [
                "1010 (spindle overload)",
                "\"Door interlock\"",
                "W55 (coolant low)"
            ]
        );
        let coolant = &report.fleet_alarms[2];
        // Still active at the end: 20:00 to midnight.
        assert_eq!((coolant.lost, coolant.active), (0, 240 * MINUTE));
    }

    #[test]
    fn the_longest_stops_of_the_fleet_with_local_times() {
        let report = sample_report();
        let longest = report.longest_stops(3);
        let seen: Vec<(&str, i64)> = longest
            .iter()
            .map(|(m, s)| (m.name.as_str(), s.duration() / MINUTE))
            .collect();
        assert_eq!(seen, [("Mill 2", 100), ("Mill 2", 90), ("Mill 2", 60)]);
        assert_eq!(
            report.local_time(longest[0].1.range.start),
            ("2025-03-04".to_owned(), "06:20".to_owned())
        );
        assert_eq!(
            report.local_time(3 * DAY + 90 * MINUTE),
            ("1970-01-04".to_owned(), "01:30 UTC".to_owned())
        );
    }

    #[test]
    fn answers_lacking_a_machine_fail_naming_the_call_and_the_machine() {
        let (request, mut answers) = sample();
        answers.timelines.retain(|t| t.machine != "m2");
        let schedule = Schedule::for_request(&request);
        let error = build(request, Parameters::default(), schedule, answers).unwrap_err();
        assert!(matches!(error.code, ErrorCode::Internal));
        assert_eq!(error.message, "timelines answered nothing for machine `m2`");
        let (request, mut answers) = sample();
        answers.events.clear();
        let schedule = Schedule::for_request(&request);
        let error = build(request, Parameters::default(), schedule, answers).unwrap_err();
        assert_eq!(error.message, "events answered nothing for machine `m3`");
    }

    #[test]
    fn without_shifts_the_whole_period_is_planned() {
        let (mut request, answers) = sample();
        request.shifts.clear();
        let schedule = Schedule::for_request(&request);
        let report = build(request, Parameters::default(), schedule, answers).unwrap();
        let mill3 = &report.machines[0];
        assert_eq!(mill3.shifts.len(), 1);
        assert_eq!(mill3.overall.planned, 2 * DAY);
        // The nights are offline stops now: 22:00 to 06:30 (with the setup) in one, and the
        // period's first and last hours.
        let longest = report.longest_stops(1);
        assert_eq!(longest[0].1.duration(), 510 * MINUTE);
        assert_eq!(longest[0].0.name, "Mill 3");
    }
}
