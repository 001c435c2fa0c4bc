//! `utilization.json`: the figures of the CSV, structured (machines → shifts), with the period,
//! the time zone and the parameters they were computed with. Times in seconds (exact to the
//! millisecond), `null` where there is no value.

use chatter_sdk::{Error, ErrorCode};
use serde::Serialize;

use crate::report::Report;
use crate::stats::Stats;

#[derive(Serialize)]
struct Document<'a> {
    report: &'static str,
    organization: &'a str,
    time_zone: &'a str,
    period: Period<'a>,
    parameters: Parameters,
    shifts: Vec<&'a str>,
    machines: Vec<Machine<'a>>,
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
struct Parameters {
    utilization_target_pct: f64,
    long_idle_min: i64,
}

#[derive(Serialize)]
struct Machine<'a> {
    id: &'a str,
    name: &'a str,
    /// The host cut the machine's event lists: cycles may be missing.
    events_truncated: bool,
    all: Figures,
    shifts: Vec<ShiftFigures<'a>>,
}

#[derive(Serialize)]
struct ShiftFigures<'a> {
    shift: &'a str,
    #[serde(flatten)]
    figures: Figures,
    long_idle_stops: usize,
    long_idle_s: f64,
    long_idle_after_alarm_s: f64,
}

#[derive(Serialize)]
struct Figures {
    scheduled_s: f64,
    running_s: f64,
    idle_s: f64,
    paused_s: f64,
    setup_s: f64,
    alarm_s: f64,
    offline_s: f64,
    no_data_s: f64,
    utilization_pct: Option<f64>,
    parts: u64,
    cycles: u64,
    avg_cycle_s: Option<f64>,
    best_cycle_s: Option<f64>,
}

impl From<&Stats> for Figures {
    fn from(stats: &Stats) -> Self {
        let t = &stats.time;
        Figures {
            scheduled_s: seconds(stats.scheduled),
            running_s: seconds(t.running),
            idle_s: seconds(t.idle),
            paused_s: seconds(t.paused),
            setup_s: seconds(t.setup),
            alarm_s: seconds(t.alarm),
            offline_s: seconds(t.offline),
            no_data_s: seconds(stats.no_data()),
            utilization_pct: stats.utilization().map(|u| (u * 100.0).round() / 100.0),
            parts: stats.parts,
            cycles: stats.cycles.count,
            avg_cycle_s: stats.cycles.average().map(seconds),
            best_cycle_s: stats.cycles.best.map(seconds),
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

/// The JSON document of `report`.
pub fn json(report: &Report) -> Result<String, Error> {
    let (first_day, last_day) = report.first_and_last_day().unzip();
    let document = Document {
        report: "utilization",
        organization: &report.organization,
        time_zone: &report.time_zone,
        period: Period {
            start_ns: report.period.start,
            end_ns: report.period.end,
            first_day,
            last_day,
        },
        parameters: Parameters {
            utilization_target_pct: report.parameters.target_pct,
            long_idle_min: report.parameters.long_idle_min,
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
                shifts: report
                    .schedule
                    .shifts
                    .iter()
                    .zip(&m.shifts)
                    .map(|(shift, s)| ShiftFigures {
                        shift: &shift.name,
                        figures: Figures::from(&s.stats),
                        long_idle_stops: s.long_idle.stops,
                        long_idle_s: seconds(s.long_idle.time),
                        long_idle_after_alarm_s: seconds(s.long_idle.after_alarm),
                    })
                    .collect(),
            })
            .collect(),
    };
    serde_json::to_string_pretty(&document).map_err(|e| {
        Error::new(
            ErrorCode::Internal,
            format!("writing utilization.json failed: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json as value};

    use super::*;
    use crate::report::tests::sample_report;

    #[test]
    fn machines_carry_their_shifts_with_the_figures_of_the_csv() {
        let document: Value = serde_json::from_str(&json(&sample_report()).unwrap()).unwrap();
        assert_eq!(document["report"], "utilization");
        assert_eq!(document["time_zone"], "America/Chicago");
        assert_eq!(
            document["period"],
            value!({
                "start_ns": 0,
                "end_ns": 259_200_000_000_000_i64,
                "first_day": "2025-03-03",
                "last_day": "2025-03-05"
            })
        );
        assert_eq!(document["parameters"]["utilization_target_pct"], 65.0);
        assert_eq!(document["shifts"], value!(["First", "Second"]));
        let mill = &document["machines"][0];
        assert_eq!(mill["name"], "Mill 3");
        assert_eq!(mill["all"]["utilization_pct"], 75.83);
        let second = &mill["shifts"][1];
        assert_eq!(second["shift"], "Second");
        assert_eq!(second["running_s"], 55800.0);
        assert_eq!(second["utilization_pct"], 64.58);
        assert_eq!(second["long_idle_stops"], 6);
        assert_eq!(second["long_idle_after_alarm_s"], 3.0 * 88.0 * 60.0);
        let lathe_second = &document["machines"][1]["shifts"][1];
        assert_eq!(lathe_second["avg_cycle_s"], Value::Null);
        assert_eq!(lathe_second["best_cycle_s"], Value::Null);
    }

    #[test]
    fn seconds_are_the_decimals_of_the_csv() {
        assert_eq!(seconds(12_345_678_901), 12.346);
        assert_eq!(
            serde_json::to_string(&seconds(1_100_000_000)).unwrap(),
            "1.1"
        );
    }
}
