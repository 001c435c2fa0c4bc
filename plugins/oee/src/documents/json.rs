//! `oee.json`: the figures of the CSV, structured (machines → shifts, programs; the fleet), with
//! the time per state, the losses in seconds, the unknowns as a list, the period, the time zone
//! and the parameters they were computed with. Times in seconds (exact to the millisecond),
//! percentages with two decimals, `null` where there is no value.

use chatter_sdk::{Error, ErrorCode};
use serde::Serialize;

use crate::programs::Program;
use crate::report::Report;
use crate::stats::Oee;

#[derive(Serialize)]
struct Document<'a> {
    report: &'static str,
    organization: &'a str,
    time_zone: &'a str,
    period: Period<'a>,
    parameters: Parameters<'a>,
    shifts: Vec<&'a str>,
    machines: Vec<Machine<'a>>,
    fleet: Fleet<'a>,
    /// Keys of `scrap` that name no machine of the run.
    unmatched_scrap: &'a [String],
}

#[derive(Serialize)]
struct Period<'a> {
    /// Nanoseconds since the Unix epoch, UTC.
    start_ns: i64,
    end_ns: i64,
    first_day: Option<&'a str>,
    last_day: Option<&'a str>,
}

#[derive(Serialize)]
struct Parameters<'a> {
    ideal_cycle_s: Vec<IdealTime<'a>>,
    default_ideal_cycle_s: Option<f64>,
    scrap: Vec<Scrap<'a>>,
}

#[derive(Serialize)]
struct IdealTime<'a> {
    program: &'a str,
    seconds: f64,
}

#[derive(Serialize)]
struct Scrap<'a> {
    machine: &'a str,
    count: u64,
}

#[derive(Serialize)]
struct Machine<'a> {
    id: &'a str,
    name: &'a str,
    /// The host cut the machine's event lists: cycles and parts may be missing.
    events_truncated: bool,
    all: Figures<'a>,
    shifts: Vec<ShiftFigures<'a>>,
    programs: Vec<ProgramFigures<'a>>,
}

#[derive(Serialize)]
struct Fleet<'a> {
    all: Figures<'a>,
    shifts: Vec<ShiftFigures<'a>>,
}

#[derive(Serialize)]
struct ShiftFigures<'a> {
    shift: &'a str,
    #[serde(flatten)]
    figures: Figures<'a>,
}

#[derive(Serialize)]
struct Figures<'a> {
    planned_s: f64,
    run_s: f64,
    running_s: f64,
    paused_s: f64,
    idle_s: f64,
    setup_s: f64,
    alarm_s: f64,
    offline_s: f64,
    no_data_s: f64,
    availability_pct: Option<f64>,
    cycles: u64,
    parts: u64,
    /// Rises of the part counter in planned time, for comparison with `parts`.
    counter_parts: u64,
    parts_with_ideal: u64,
    ideal_s: f64,
    /// The run time performance was measured against.
    measured_run_s: f64,
    performance_pct: Option<f64>,
    /// Before the cap at 100 %.
    performance_uncapped_pct: Option<f64>,
    scrap: Option<u64>,
    quality_pct: Option<f64>,
    oee_pct: Option<f64>,
    availability_loss_s: f64,
    performance_loss_s: Option<f64>,
    quality_loss_s: Option<f64>,
    unknown: Vec<Unknown<'a>>,
}

#[derive(Serialize)]
struct Unknown<'a> {
    factor: &'static str,
    reason: &'a str,
}

#[derive(Serialize)]
struct ProgramFigures<'a> {
    /// `null` for cycles without a program name.
    program: Option<&'a str>,
    cycles: u64,
    parts: u64,
    time_s: f64,
    time_per_part_s: Option<f64>,
    ideal_s: Option<f64>,
    /// Time beyond the ideal (negative: faster than ideal).
    lost_s: Option<f64>,
}

impl<'a> From<&'a Oee> for Figures<'a> {
    fn from(oee: &'a Oee) -> Self {
        let t = &oee.time;
        Figures {
            planned_s: seconds(oee.planned),
            run_s: seconds(oee.run),
            running_s: seconds(t.running),
            paused_s: seconds(t.paused),
            idle_s: seconds(t.idle),
            setup_s: seconds(t.setup),
            alarm_s: seconds(t.alarm),
            offline_s: seconds(t.offline),
            no_data_s: seconds(oee.no_data()),
            availability_pct: pct(oee.availability),
            cycles: oee.cycles,
            parts: oee.parts,
            counter_parts: oee.counter_parts,
            parts_with_ideal: oee.parts_with_ideal,
            ideal_s: seconds(oee.ideal),
            measured_run_s: seconds(oee.measured_run),
            performance_pct: pct(oee.performance),
            performance_uncapped_pct: pct(oee.uncapped_performance),
            scrap: oee.scrap,
            quality_pct: pct(oee.quality),
            oee_pct: pct(oee.oee),
            availability_loss_s: seconds(oee.availability_loss()),
            performance_loss_s: oee.performance_loss().map(seconds),
            quality_loss_s: oee.quality_loss().map(seconds),
            unknown: oee
                .unknown
                .iter()
                .map(|u| Unknown {
                    factor: u.factor.name(),
                    reason: &u.reason,
                })
                .collect(),
        }
    }
}

impl<'a> From<&'a Program> for ProgramFigures<'a> {
    fn from(program: &'a Program) -> Self {
        ProgramFigures {
            program: program.name.as_deref(),
            cycles: program.cycles,
            parts: program.parts,
            time_s: seconds(program.time),
            time_per_part_s: program.time_per_part().map(seconds),
            ideal_s: program.ideal.map(seconds),
            lost_s: program.lost().map(seconds),
        }
    }
}

/// Seconds exact to the millisecond, the same value the CSV shows.
fn seconds(ns: i64) -> f64 {
    // Through the decimal text: the nearest double to it prints back as the same decimal.
    chatter_report_kit::format::seconds(ns)
        .parse()
        .unwrap_or(f64::NAN)
}

/// A factor in percent, two decimals.
fn pct(value: Option<f64>) -> Option<f64> {
    value.map(|v| (v * 10_000.0).round() / 100.0)
}

fn shifts<'a>(report: &'a Report, figures: &'a [Oee]) -> Vec<ShiftFigures<'a>> {
    report
        .schedule
        .shifts
        .iter()
        .zip(figures)
        .map(|(shift, oee)| ShiftFigures {
            shift: &shift.name,
            figures: Figures::from(oee),
        })
        .collect()
}

/// The JSON document of `report`.
pub fn json(report: &Report) -> Result<String, Error> {
    let (first_day, last_day) = report.first_and_last_day().unzip();
    let p = &report.parameters;
    let document = Document {
        report: "oee",
        organization: &report.organization,
        time_zone: &report.time_zone,
        period: Period {
            start_ns: report.period.start,
            end_ns: report.period.end,
            first_day,
            last_day,
        },
        parameters: Parameters {
            ideal_cycle_s: p
                .ideal
                .iter()
                .map(|(program, ns)| IdealTime {
                    program,
                    seconds: seconds(*ns),
                })
                .collect(),
            default_ideal_cycle_s: p.default_ideal.map(seconds),
            scrap: p
                .scrap
                .iter()
                .map(|(machine, count)| Scrap {
                    machine,
                    count: *count,
                })
                .collect(),
        },
        shifts: report
            .schedule
            .shifts
            .iter()
            .map(|s| s.name.as_str())
            .collect(),
        machines: report
            .machines
            .iter()
            .map(|m| Machine {
                id: &m.id,
                name: &m.name,
                events_truncated: m.truncated,
                all: Figures::from(&m.overall),
                shifts: shifts(report, &m.shifts),
                programs: m.programs.iter().map(ProgramFigures::from).collect(),
            })
            .collect(),
        fleet: Fleet {
            all: Figures::from(&report.fleet),
            shifts: shifts(report, &report.fleet_shifts),
        },
        unmatched_scrap: &report.unmatched_scrap,
    };
    serde_json::to_string_pretty(&document)
        .map_err(|e| Error::new(ErrorCode::Internal, format!("writing oee.json failed: {e}")))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json as value};

    use super::*;
    use crate::report::tests::sample_report;

    #[test]
    fn machines_carry_factors_losses_programs_and_unknowns() {
        let document: Value = serde_json::from_str(&json(&sample_report()).unwrap()).unwrap();
        assert_eq!(document["report"], "oee");
        assert_eq!(
            document["parameters"],
            value!({
                "ideal_cycle_s": [
                    {"program": "O1000", "seconds": 230.0},
                    {"program": "O3000", "seconds": 510.0}
                ],
                "default_ideal_cycle_s": null,
                "scrap": [{"machine": "m1", "count": 12}]
            })
        );
        assert_eq!(document["shifts"], value!(["First", "Second"]));
        let mill = &document["machines"][0];
        assert_eq!(mill["all"]["oee_pct"], 63.89);
        assert_eq!(mill["all"]["availability_loss_s"], 420.0 * 60.0);
        assert_eq!(mill["all"]["performance_loss_s"], 574.0 * 60.0);
        assert_eq!(mill["all"]["quality_loss_s"], 46.0 * 60.0);
        assert_eq!(mill["all"]["idle_s"], 330.0 * 60.0);
        assert_eq!(mill["shifts"][1]["shift"], "Second");
        assert_eq!(mill["shifts"][1]["scrap"], Value::Null);
        assert_eq!(
            mill["programs"][0],
            value!({
                "program": "O1000",
                "cycles": 492,
                "parts": 492,
                "time_s": 147600.0,
                "time_per_part_s": 300.0,
                "ideal_s": 230.0,
                "lost_s": 34440.0
            })
        );
        let lathe = &document["machines"][1]["all"];
        assert_eq!(lathe["oee_pct"], Value::Null);
        assert_eq!(lathe["quality_loss_s"], Value::Null);
        assert_eq!(
            lathe["unknown"][1],
            value!({"factor": "quality", "reason": "scrap not recorded"})
        );
        assert_eq!(document["fleet"]["all"]["parts"], 627);
        assert_eq!(document["unmatched_scrap"], value!([]));
    }
}
