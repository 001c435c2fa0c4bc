//! A run put together from the request and the host's answers: the schedule, every machine's
//! figures and the recommendations, ready for the documents. Pure, so a whole run is tested
//! natively with made-up answers.

use chatter_report_kit::answers::{
    machine_name, take_events, take_timeline, totals_per_machine, wrong_ranges,
};
use chatter_report_kit::schedule::Schedule;
use chatter_sdk::machine_data::{MachineEvents, MachineInfo, Timeline, Totals};
use chatter_sdk::{Day, Error, ReportRequest, ShiftPeriod, TimeRange};

use crate::advice::{Advice, advise};
use crate::params::Parameters;
use crate::stats::{Machine, MachineData, machine};

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
    /// The shifts and the scheduled time.
    pub schedule: Schedule,
    /// The run's parameters.
    pub parameters: Parameters,
    /// Each machine of the request, in its order.
    pub machines: Vec<Machine>,
    /// The recommendations.
    pub advice: Advice,
}

impl Report {
    /// The first and last local dates of the period, when the request has days.
    pub fn first_and_last_day(&self) -> Option<(&str, &str)> {
        Some((&self.days.first()?.date, &self.days.last()?.date))
    }
}

/// The host's answers to the run's machine-data calls.
#[derive(Debug, Clone, Default)]
pub struct Answers {
    /// `machines()`.
    pub machines: Vec<MachineInfo>,
    /// `timelines(request.machines, request.period, None)`.
    pub timelines: Vec<Timeline>,
    /// `totals-over(request.machines, schedule.query_ranges())`.
    pub totals: Vec<Vec<Totals>>,
    /// `events(request.machines, request.period, kinds)`, with the kinds the report uses.
    pub events: Vec<MachineEvents>,
}

/// The report of `request` from the host's `answers`. Fails when an answer lacks a machine of
/// the request or has the wrong shape, naming the call and the machine.
pub fn build(
    request: ReportRequest,
    parameters: Parameters,
    schedule: Schedule,
    mut answers: Answers,
) -> Result<Report, Error> {
    let mut machines = Vec::with_capacity(request.machines.len());
    let totals = std::mem::take(&mut answers.totals);
    for (id, totals) in totals_per_machine(&request.machines, totals)? {
        let timeline = take_timeline(&mut answers.timelines, id)?;
        let events = take_events(&mut answers.events, id)?;
        let name = machine_name(&answers.machines, id);
        let data = MachineData {
            id: id.clone(),
            name,
            intervals: timeline.intervals,
            period_totals: timeline.totals,
            totals,
            events,
        };
        let figures = machine(&schedule, request.period, parameters.long_idle_ns(), data)
            .ok_or_else(|| wrong_ranges(id, schedule.query_ranges().len()))?;
        machines.push(figures);
    }
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
        advice,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use chatter_sdk::ErrorCode;
    use chatter_sdk::machine_data::{CycleEnd, MachineState, StateInterval};

    use super::*;
    use crate::stats::tests::{cycle, events, totals};
    use crate::stops::tests::{MINUTE, fault, interval};

    pub use chatter_report_kit::sample::{self, DAY};

    /// A made-up run: three days from 2025-03-03, shifts First 06–14 and Second 14–22 each day,
    /// two machines with a pattern repeating daily.
    pub fn sample() -> (ReportRequest, Answers) {
        use MachineState::{Alarm, Idle, Offline, Paused, Running, Setup};
        let request = sample::request(
            3,
            &["m3", "l2"],
            &[("utilization-target", "65"), ("long-idle-min", "30")],
        );

        let shifted = |d: i64, i: StateInterval| StateInterval {
            state: i.state,
            range: TimeRange {
                start: i.range.start + d * DAY,
                end: i.range.end + d * DAY,
            },
        };
        // Mill 3, daily: offline at night, setup, running with short feed holds, an alarm and
        // the idle after it on Second.
        let mut mill_day = vec![interval(Offline, 0, 350), interval(Setup, 350, 380)];
        let mut t = 380;
        while t < 800 {
            mill_day.push(interval(Running, t, t + 18));
            mill_day.push(interval(Paused, t + 18, t + 20));
            t += 20;
        }
        mill_day.extend([
            interval(Running, 800, 1000),
            interval(Alarm, 1000, 1012),
            interval(Idle, 1012, 1100),
            interval(Running, 1100, 1250),
            interval(Idle, 1250, 1320),
            interval(Offline, 1320, 1440),
        ]);
        let lathe_day = vec![
            interval(Running, 360, 700),
            interval(Idle, 700, 720),
            interval(Running, 720, 840),
            interval(Offline, 840, 1440),
        ];
        let timeline = |id: &str, day: &[StateInterval], overall: Totals| Timeline {
            machine: id.to_owned(),
            intervals: (0..3)
                .flat_map(|d| day.iter().cloned().map(move |i| shifted(d, i)))
                .collect(),
            totals: overall,
        };
        // Per shift occurrence: the figures of the intervals above.
        let mill_first = exact(&mill_day, 360, 840, 40);
        let mill_second = exact(&mill_day, 840, 1320, 35);
        let lathe_first = exact(&lathe_day, 360, 840, 60);
        let lathe_second = exact(&lathe_day, 840, 1320, 0);
        // The answer's layout: First on each day, Second on each day, then the union of the
        // shifts (one range a day, 06–22).
        let per_day = |first: Totals, second: Totals| {
            [[first; 3], [second; 3], [add(&first, &second); 3]].concat()
        };
        let times3 = |t: &Totals| add(&add(t, t), t);
        let answers = Answers {
            machines: vec![
                MachineInfo {
                    id: "m3".to_owned(),
                    name: "Mill 3".to_owned(),
                },
                MachineInfo {
                    id: "l2".to_owned(),
                    name: "Lathe 2".to_owned(),
                },
            ],
            timelines: vec![
                timeline("l2", &lathe_day, times3(&exact(&lathe_day, 0, 1440, 60))),
                timeline("m3", &mill_day, times3(&exact(&mill_day, 0, 1440, 75))),
            ],
            totals: vec![
                per_day(mill_first, mill_second),
                per_day(lathe_first, lathe_second),
            ],
            events: vec![
                events(
                    "m3",
                    (0..3)
                        .flat_map(|d| {
                            let base = d * 1440;
                            [
                                cycle(base + 400, base + 404, CycleEnd::Completed),
                                cycle(base + 500, base + 505, CycleEnd::Completed),
                                cycle(base + 900, base + 906, CycleEnd::Completed),
                                cycle(base + 990, base + 1000, CycleEnd::Stopped),
                            ]
                        })
                        .collect(),
                    (0..3)
                        .map(|d| fault("1010", d * 1440 + 1000, Some(d * 1440 + 1012)))
                        .collect(),
                ),
                events("l2", vec![], vec![]),
            ],
        };
        (request, answers)
    }

    /// The totals of `day`'s intervals within minutes `from..to`, with `parts`.
    fn exact(day: &[StateInterval], from: i64, to: i64, parts: u64) -> Totals {
        let mut sum = totals(0, 0, 0, parts);
        for i in day {
            let overlap = (i.range.end.min(to * MINUTE) - i.range.start.max(from * MINUTE)).max(0);
            match i.state {
                MachineState::Offline => sum.offline += overlap,
                MachineState::Alarm => sum.alarm += overlap,
                MachineState::Running => sum.running += overlap,
                MachineState::Paused => sum.paused += overlap,
                MachineState::Setup => sum.setup += overlap,
                MachineState::Idle => sum.idle += overlap,
            }
        }
        sum
    }

    fn add(a: &Totals, b: &Totals) -> Totals {
        Totals {
            offline: a.offline + b.offline,
            alarm: a.alarm + b.alarm,
            running: a.running + b.running,
            paused: a.paused + b.paused,
            setup: a.setup + b.setup,
            idle: a.idle + b.idle,
            parts: a.parts + b.parts,
            cycles: a.cycles + b.cycles,
            cycle_time: a.cycle_time + b.cycle_time,
            alarms: a.alarms + b.alarms,
        }
    }

    pub fn sample_report() -> Report {
        let (request, answers) = sample();
        let parameters = Parameters::from_request(&request.parameters).unwrap();
        let schedule = Schedule::for_request(&request);
        build(request, parameters, schedule, answers).unwrap()
    }

    #[test]
    fn a_run_matches_answers_to_machines_by_id_in_request_order() {
        let report = sample_report();
        let ids: Vec<_> = report.machines.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["m3", "l2"]);
        assert_eq!(report.machines[0].name, "Mill 3");
        assert_eq!(
            report.first_and_last_day(),
            Some(("2025-03-03", "2025-03-05"))
        );
        let lathe = &report.machines[1];
        // 460 of 480 min running on First, 0 on Second; 16 h scheduled a day.
        assert_eq!(
            lathe.shifts[0].stats.utilization(),
            Some(460.0 * 100.0 / 480.0)
        );
        assert_eq!(lathe.shifts[1].stats.time.offline, 3 * 480 * MINUTE);
        assert_eq!(lathe.overall.scheduled, 3 * 960 * MINUTE);
        assert_eq!(lathe.overall.cycles.count, 0);
    }

    #[test]
    fn answers_lacking_a_machine_fail_naming_the_call_and_the_machine() {
        let (request, mut answers) = sample();
        answers.events.retain(|e| e.machine != "l2");
        let schedule = Schedule::for_request(&request);
        let error = build(request, Parameters::default(), schedule, answers).unwrap_err();
        assert!(matches!(error.code, ErrorCode::Internal));
        assert_eq!(error.message, "events answered nothing for machine `l2`");

        let (request, mut answers) = sample();
        answers.totals[1].pop();
        let schedule = Schedule::for_request(&request);
        let error = build(request, Parameters::default(), schedule, answers).unwrap_err();
        assert!(
            error
                .message
                .contains("wrong number of ranges for machine `l2`")
        );
    }

    #[test]
    fn a_machine_unknown_to_machines_is_shown_by_its_id() {
        let (request, mut answers) = sample();
        answers.machines.clear();
        let schedule = Schedule::for_request(&request);
        let report = build(request, Parameters::default(), schedule, answers).unwrap();
        assert_eq!(report.machines[1].name, "l2");
    }
}
