//! A run put together from the request and the host's answers: the schedule, every machine's
//! OEE overall and per shift, the fleet's, and the recommendations, ready for the documents.
//! Pure, so a whole run is tested natively with made-up answers.

use chatter_report_kit::Schedule;
use chatter_report_kit::answers::{machine_name, take_events, totals_per_machine, wrong_ranges};
use chatter_sdk::machine_data::{MachineEvents, MachineInfo, Totals};
use chatter_sdk::{Day, Error, ReportRequest, TimeRange};

use crate::advice::{Advice, advise};
use crate::params::Parameters;
use crate::programs::{Program, by_program};
use crate::stats::{self, Oee, Scope};

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
    /// The shifts and the planned time.
    pub schedule: Schedule,
    /// The run's parameters.
    pub parameters: Parameters,
    /// Each machine of the request, in its order.
    pub machines: Vec<Machine>,
    /// The fleet over all planned time.
    pub fleet: Oee,
    /// The fleet per shift, in the order of [`Schedule::shifts`].
    pub fleet_shifts: Vec<Oee>,
    /// Keys of the `scrap` parameter that name no machine of the run.
    pub unmatched_scrap: Vec<String>,
    /// The recommendations.
    pub advice: Advice,
}

impl Report {
    /// The first and last local dates of the period, when the request has days.
    pub fn first_and_last_day(&self) -> Option<(&str, &str)> {
        Some((&self.days.first()?.date, &self.days.last()?.date))
    }
}

/// Everything the report says about one machine.
#[derive(Debug, Clone)]
pub struct Machine {
    /// The machine's id.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// Over all its planned time.
    pub overall: Oee,
    /// Per shift, in the order of [`Schedule::shifts`].
    pub shifts: Vec<Oee>,
    /// Its completed cycles in planned time, by program.
    pub programs: Vec<Program>,
    /// Whether the host cut its event lists, so cycles and parts may be missing.
    pub truncated: bool,
}

/// The host's answers to the run's machine-data calls.
#[derive(Debug, Clone, Default)]
pub struct Answers {
    /// `machines()`.
    pub machines: Vec<MachineInfo>,
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
        let events = take_events(&mut answers.events, id)?;
        let name = machine_name(&answers.machines, id);
        let figures = machine(&schedule, &parameters, id, name, &totals, &events)
            .ok_or_else(|| wrong_ranges(id, schedule.query_ranges().len()))?;
        machines.push(figures);
    }
    let (fleet, fleet_shifts) = fleet(&machines, schedule.shifts.len());
    let pairs: Vec<(&str, &str)> = machines
        .iter()
        .map(|m| (m.id.as_str(), m.name.as_str()))
        .collect();
    let unmatched_scrap = parameters
        .unmatched_scrap(&pairs)
        .into_iter()
        .map(str::to_owned)
        .collect();
    let advice = advise(&machines);
    Ok(Report {
        organization: request.organization,
        time_zone: request.time_zone,
        period: request.period,
        days: request.days,
        schedule,
        parameters,
        machines,
        fleet,
        fleet_shifts,
        unmatched_scrap,
        advice,
    })
}

/// One machine's figures; `None` when its totals do not match the schedule's ranges.
fn machine(
    schedule: &Schedule,
    parameters: &Parameters,
    id: &str,
    name: String,
    totals: &[Totals],
    events: &MachineEvents,
) -> Option<Machine> {
    let (per_shift, planned) = schedule.split(totals)?;
    let programs = by_program(&events.cycles, |end| schedule.is_scheduled(end), parameters);
    let overall = stats::machine(
        Scope {
            planned: schedule.scheduled_length(),
            totals: planned,
            programs: &programs,
        },
        parameters.scrap_for(id, &name),
    );
    let shifts = schedule
        .shifts
        .iter()
        .zip(per_shift)
        .map(|(shift, totals)| {
            let programs = by_program(&events.cycles, |end| shift.contains(end), parameters);
            let scope = Scope {
                planned: shift.length(),
                totals,
                programs: &programs,
            };
            stats::shift(scope, &overall)
        })
        .collect();
    Some(Machine {
        id: id.to_owned(),
        name,
        overall,
        shifts,
        programs,
        truncated: events.truncated,
    })
}

/// The fleet overall and per shift.
fn fleet(machines: &[Machine], shifts: usize) -> (Oee, Vec<Oee>) {
    let overall: Vec<(&str, &Oee)> = machines
        .iter()
        .map(|m| (m.name.as_str(), &m.overall))
        .collect();
    let per_shift = (0..shifts)
        .map(|s| {
            let members: Vec<(&str, &Oee)> = machines
                .iter()
                .filter_map(|m| Some((m.name.as_str(), m.shifts.get(s)?)))
                .collect();
            stats::fleet(&members)
        })
        .collect();
    (stats::fleet(&overall), per_shift)
}

#[cfg(test)]
pub(crate) mod tests {
    use chatter_sdk::ErrorCode;
    use chatter_sdk::machine_data::{Cycle, CycleEnd};

    use super::*;
    use crate::programs::tests::{MINUTE, cycle};

    pub use chatter_report_kit::sample::{self, DAY};

    /// Totals of the given minutes and counter rises.
    pub fn minutes(
        running: i64,
        paused: i64,
        idle: i64,
        alarm: i64,
        offline: i64,
        parts: u64,
    ) -> Totals {
        Totals {
            offline: offline * MINUTE,
            alarm: alarm * MINUTE,
            running: running * MINUTE,
            paused: paused * MINUTE,
            setup: 0,
            idle: idle * MINUTE,
            parts,
            cycles: 0,
            cycle_time: 0,
            alarms: 0,
        }
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

    /// `count` completed cycles of `program`, `length` minutes each with one part, back to back
    /// from minute `from` of day `day`.
    fn run_of(program: &str, day: i64, from: i64, count: i64, length: i64) -> Vec<Cycle> {
        (0..count)
            .map(|i| {
                let start = (day * 1440 + from + i * length) * 60;
                cycle(
                    Some(program),
                    start,
                    start + length * 60,
                    1,
                    CycleEnd::Completed,
                )
            })
            .collect()
    }

    /// A made-up run: three days from 2025-03-03, shifts First 06–14 and Second 14–22 each day,
    /// the same pattern every day. Ideal times O1000 3:50 and O3000 8:30; scrap 12 on Mill 1.
    ///
    /// - Mill 1 runs O1000 in 5-minute cycles: on First 420 min (400 running, 20 paused, 84
    ///   cycles) and 60 idle; on Second 400 min (380 running, 20 paused, 80 cycles), 50 idle and
    ///   30 in alarm. One cycle a day is stopped, and one completes at 23:00, outside the
    ///   shifts: neither counts.
    /// - Lathe 2 runs O3000 in 10-minute cycles on First (41 of them, 410 min) and idles 70
    ///   min; on Second it runs O2000 (no ideal time) in 4 cycles of 50 min, idles 20 min and
    ///   is offline 260 min. Its scrap is not recorded.
    pub fn sample() -> (ReportRequest, Answers) {
        let request = sample::request(
            3,
            &["m1", "l2"],
            &[
                ("ideal-cycle-s", "O1000=230, O3000=510"),
                ("scrap", "m1=12"),
            ],
        );

        let mill_first = minutes(400, 20, 60, 0, 0, 84);
        let mill_second = minutes(380, 20, 50, 30, 0, 80);
        let lathe_first = minutes(410, 0, 70, 0, 0, 41);
        let lathe_second = minutes(200, 0, 20, 0, 260, 4);
        // The answer's layout: First on each day, Second on each day, then the union of the
        // shifts (one range a day, 06–22).
        let per_day = |first: Totals, second: Totals| {
            [[first; 3], [second; 3], [add(&first, &second); 3]].concat()
        };
        let mut mill_cycles = Vec::new();
        let mut lathe_cycles = Vec::new();
        for day in 0..3 {
            mill_cycles.extend(run_of("O1000", day, 360, 84, 5));
            mill_cycles.extend(run_of("O1000", day, 840, 80, 5));
            let mut stopped = run_of("O1000", day, 1250, 1, 5);
            stopped[0].ended = CycleEnd::Stopped;
            mill_cycles.extend(stopped);
            mill_cycles.extend(run_of("O1000", day, 1375, 1, 5));
            lathe_cycles.extend(run_of("O3000", day, 360, 41, 10));
            lathe_cycles.extend(run_of("O2000", day, 840, 4, 50));
        }
        let answers = Answers {
            machines: vec![
                MachineInfo {
                    id: "m1".to_owned(),
                    name: "Mill 1".to_owned(),
                },
                MachineInfo {
                    id: "l2".to_owned(),
                    name: "Lathe 2".to_owned(),
                },
            ],
            totals: vec![
                per_day(mill_first, mill_second),
                per_day(lathe_first, lathe_second),
            ],
            events: vec![
                MachineEvents {
                    machine: "l2".to_owned(),
                    cycles: lathe_cycles,
                    parts: vec![],
                    alarms: vec![],
                    truncated: false,
                },
                MachineEvents {
                    machine: "m1".to_owned(),
                    cycles: mill_cycles,
                    parts: vec![],
                    alarms: vec![],
                    truncated: false,
                },
            ],
        };
        (request, answers)
    }

    pub fn sample_report() -> Report {
        let (request, answers) = sample();
        let parameters = Parameters::from_request(&request.parameters).unwrap();
        let schedule = Schedule::for_request(&request);
        build(request, parameters, schedule, answers).unwrap()
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9)
    }

    #[test]
    fn the_mill_has_every_factor() {
        let report = sample_report();
        let mill = &report.machines[0];
        assert_eq!(mill.name, "Mill 1");
        let all = &mill.overall;
        // 3 × 16 h planned, 3 × 820 min run, 3 × 164 parts of 3:50.
        assert_eq!(all.planned, 2880 * MINUTE);
        assert_eq!(all.run, 2460 * MINUTE);
        assert_eq!(all.parts, 492);
        assert_eq!(all.counter_parts, 492);
        assert_eq!(all.ideal, 492 * 230 * MINUTE / 60);
        assert!(close(all.availability, 2460.0 / 2880.0));
        assert!(close(all.performance, 230.0 / 300.0));
        assert!(close(all.quality, 480.0 / 492.0));
        assert!(close(
            all.oee,
            2460.0 / 2880.0 * 230.0 / 300.0 * 480.0 / 492.0
        ));
        assert_eq!(all.scrap, Some(12));
        assert_eq!(all.availability_loss(), 420 * MINUTE);
        assert_eq!(all.performance_loss(), Some((2460 - 1886) * MINUTE));
        assert_eq!(all.quality_loss(), Some(46 * MINUTE));
        // Per shift: First 84 parts a day in 420 min run.
        let first = &mill.shifts[0];
        assert_eq!(
            (first.planned, first.run, first.parts),
            (1440 * MINUTE, 1260 * MINUTE, 252)
        );
        assert!(close(first.performance, 230.0 / 300.0));
        assert_eq!(first.quality, all.quality);
        assert_eq!(first.scrap, None);
        assert_eq!(mill.programs.len(), 1);
        assert_eq!(mill.programs[0].cycles, 492);
    }

    #[test]
    fn the_lathe_is_partly_measured_and_its_quality_unknown() {
        let report = sample_report();
        let lathe = &report.machines[1];
        let all = &lathe.overall;
        assert_eq!(all.run, 1830 * MINUTE);
        assert_eq!((all.parts, all.parts_with_ideal), (135, 123));
        // O3000 ran 410 of the 610 minutes of completed cycles a day.
        assert_eq!(all.measured_run, 1230 * MINUTE);
        assert!(close(all.performance, 0.85));
        assert_eq!(all.oee, None);
        assert_eq!(
            all.unknown_text(),
            "performance: no ideal cycle time for O2000 (12 parts), measured over the other \
             programs (67 % of cycle time); quality: scrap not recorded"
        );
        let second = &lathe.shifts[1];
        assert_eq!(
            second.unknown_text(),
            "performance: no ideal cycle time for O2000 (12 parts); quality: scrap not recorded"
        );
    }

    #[test]
    fn the_fleet_leaves_out_what_is_unknown() {
        let report = sample_report();
        let fleet = &report.fleet;
        assert_eq!(fleet.planned, 2 * 2880 * MINUTE);
        assert!(close(fleet.availability, (2460.0 + 1830.0) / 5760.0));
        // Measured: Mill 1 1886 of 2460 min, Lathe 2 1045.5 of 1230 min.
        assert!(close(
            fleet.performance,
            (1886.0 + 1045.5) / (2460.0 + 1230.0)
        ));
        assert!(close(fleet.quality, 480.0 / 492.0));
        assert!(close(fleet.oee, report.machines[0].overall.oee.unwrap()));
        assert_eq!(
            fleet.unknown_text(),
            "quality: Lathe 2 left out (unknown); oee: Lathe 2 left out (unknown)"
        );
        assert_eq!(report.fleet_shifts.len(), 2);
        assert!(report.unmatched_scrap.is_empty());
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

        let (request, mut answers) = sample();
        answers.totals.pop();
        let schedule = Schedule::for_request(&request);
        let error = build(request, Parameters::default(), schedule, answers).unwrap_err();
        assert_eq!(
            error.message,
            "totals-over answered for 1 machines, 2 were asked for"
        );
    }

    #[test]
    fn without_shifts_the_whole_period_is_planned() {
        let (mut request, mut answers) = sample();
        request.shifts.clear();
        // One range (the period) and the union (the same), over three whole days.
        answers.totals = vec![
            vec![minutes(2460, 0, 1860, 0, 0, 495); 2],
            vec![minutes(0, 0, 0, 0, 4320, 0); 2],
        ];
        let parameters = Parameters::from_request(&request.parameters).unwrap();
        let schedule = Schedule::for_request(&request);
        let report = build(request, parameters, schedule, answers).unwrap();
        let mill = &report.machines[0];
        assert_eq!(mill.shifts.len(), 1);
        assert_eq!(mill.overall.planned, 3 * DAY);
        // Every completed cycle counts, the one at 23:00 too.
        assert_eq!(mill.overall.parts, 495);
        let lathe = &report.machines[1];
        assert_eq!(lathe.overall.availability, Some(0.0));
    }

    #[test]
    fn scrap_for_a_machine_outside_the_run_is_pointed_out() {
        let (mut request, answers) = sample();
        request.parameters[1].1 = "m1=12, mill-9=1".to_owned();
        let parameters = Parameters::from_request(&request.parameters).unwrap();
        let schedule = Schedule::for_request(&request);
        let report = build(request, parameters, schedule, answers).unwrap();
        assert_eq!(report.unmatched_scrap, ["mill-9"]);
    }
}
