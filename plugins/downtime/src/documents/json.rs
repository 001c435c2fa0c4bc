//! `downtime.json`: the figures of the CSVs, structured: per machine its figures overall and
//! per shift, its alarms by time lost and every stop with its states and alarms; the fleet's
//! alarms; the period, the time zone and the parameters. Times in seconds (exact to the
//! millisecond), moments both in RFC 3339 UTC and in nanoseconds, `null` where there is no
//! value.

use chatter_report_kit::StateTimes;
use chatter_report_kit::format::rfc3339_utc;
use chatter_sdk::machine_data::Alarm;
use chatter_sdk::{Error, ErrorCode};
use serde::Serialize;

use crate::alarms::{AlarmName, AlarmSummary, level_name};
use crate::report::Report;
use crate::stats::{Figures, Machine};
use crate::stops::Stop;

#[derive(Serialize)]
struct Document<'a> {
    report: &'static str,
    organization: &'a str,
    time_zone: &'a str,
    period: Period<'a>,
    parameters: Parameters,
    shifts: Vec<&'a str>,
    machines: Vec<MachineDoc<'a>>,
    fleet_alarms: Vec<AlarmDoc>,
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
    microstop_s: i64,
    top: usize,
}

#[derive(Serialize)]
struct MachineDoc<'a> {
    id: &'a str,
    name: &'a str,
    /// The host cut the machine's event lists: alarms may be missing.
    events_truncated: bool,
    all: FiguresDoc,
    shifts: Vec<ShiftDoc<'a>>,
    alarms: Vec<AlarmDoc>,
    stops: Vec<StopDoc<'a>>,
}

#[derive(Serialize)]
struct ShiftDoc<'a> {
    shift: &'a str,
    #[serde(flatten)]
    figures: FiguresDoc,
}

#[derive(Serialize)]
struct FiguresDoc {
    planned_s: f64,
    #[serde(flatten)]
    states: States,
    no_data_s: f64,
    stops: u64,
    stop_s: f64,
    microstops: u64,
    microstop_s: f64,
    /// Time of the stops attributed to an alarm.
    after_alarm_s: f64,
    longest_stop_s: Option<f64>,
}

#[derive(Serialize)]
struct States {
    running_s: f64,
    idle_s: f64,
    paused_s: f64,
    setup_s: f64,
    alarm_s: f64,
    offline_s: f64,
}

#[derive(Serialize)]
struct AlarmDoc {
    code: String,
    text: String,
    /// Whether `code` is the controller's code (else the data item that reported it).
    native_code: bool,
    level: &'static str,
    count: u64,
    active_s: f64,
    stops: u64,
    lost_s: f64,
    /// For the fleet: the machines it was raised on.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    machines: Vec<String>,
}

#[derive(Serialize)]
struct StopDoc<'a> {
    start: String,
    end: String,
    start_ns: i64,
    end_ns: i64,
    duration_s: f64,
    shift: &'a str,
    main_state: &'static str,
    states: States,
    microstop: bool,
    /// The alarm it is attributed to.
    cause: Option<StopAlarm>,
    /// Every alarm active at, raised in, or cleared within a minute before it.
    alarms: Vec<StopAlarm>,
}

#[derive(Serialize)]
struct StopAlarm {
    code: String,
    text: String,
    level: &'static str,
    raised: String,
    cleared: Option<String>,
}

impl From<&StateTimes> for States {
    fn from(t: &StateTimes) -> Self {
        States {
            running_s: seconds(t.running),
            idle_s: seconds(t.idle),
            paused_s: seconds(t.paused),
            setup_s: seconds(t.setup),
            alarm_s: seconds(t.alarm),
            offline_s: seconds(t.offline),
        }
    }
}

impl From<&Figures> for FiguresDoc {
    fn from(f: &Figures) -> Self {
        FiguresDoc {
            planned_s: seconds(f.planned),
            states: States::from(&f.time),
            no_data_s: seconds(f.no_data()),
            stops: f.stops,
            stop_s: seconds(f.stop_time),
            microstops: f.microstops,
            microstop_s: seconds(f.microstop_time),
            after_alarm_s: seconds(f.after_alarm),
            longest_stop_s: f.longest.map(|l| seconds(l.end - l.start)),
        }
    }
}

impl From<&AlarmSummary> for AlarmDoc {
    fn from(a: &AlarmSummary) -> Self {
        AlarmDoc {
            code: a.name.code.clone(),
            text: a.name.text.clone(),
            native_code: a.name.native,
            level: level_name(a.level),
            count: a.count,
            active_s: seconds(a.active),
            stops: a.stops,
            lost_s: seconds(a.lost),
            machines: a.machines.clone(),
        }
    }
}

impl From<&Alarm> for StopAlarm {
    fn from(alarm: &Alarm) -> Self {
        let name = AlarmName::of(alarm);
        StopAlarm {
            code: name.code,
            text: name.text,
            level: level_name(alarm.level),
            raised: rfc3339_utc(alarm.raised),
            cleared: alarm.cleared.map(rfc3339_utc),
        }
    }
}

fn stop_doc<'a>(report: &'a Report, machine: &Machine, stop: &Stop) -> StopDoc<'a> {
    StopDoc {
        start: rfc3339_utc(stop.range.start),
        end: rfc3339_utc(stop.range.end),
        start_ns: stop.range.start,
        end_ns: stop.range.end,
        duration_s: seconds(stop.duration()),
        shift: report
            .schedule
            .shifts
            .get(stop.shift)
            .map_or("", |s| s.name.as_str()),
        main_state: stop.main_state().name(),
        states: States::from(&stop.time),
        microstop: stop.micro,
        cause: machine.cause(stop).map(StopAlarm::from),
        alarms: stop
            .alarms
            .iter()
            .filter_map(|&i| machine.alarms.get(i))
            .map(StopAlarm::from)
            .collect(),
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
        report: "downtime",
        organization: &report.organization,
        time_zone: &report.time_zone,
        period: Period {
            start_ns: report.period.start,
            end_ns: report.period.end,
            first_day,
            last_day,
        },
        parameters: Parameters {
            microstop_s: report.parameters.microstop_s,
            top: report.parameters.top,
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
            .map(|m| MachineDoc {
                id: &m.id,
                name: &m.name,
                events_truncated: m.truncated,
                all: FiguresDoc::from(&m.overall),
                shifts: report
                    .schedule
                    .shifts
                    .iter()
                    .zip(&m.shifts)
                    .map(|(shift, figures)| ShiftDoc {
                        shift: &shift.name,
                        figures: FiguresDoc::from(figures),
                    })
                    .collect(),
                alarms: m.alarm_summaries.iter().map(AlarmDoc::from).collect(),
                stops: m.stops.iter().map(|s| stop_doc(report, m, s)).collect(),
            })
            .collect(),
        fleet_alarms: report.fleet_alarms.iter().map(AlarmDoc::from).collect(),
    };
    serde_json::to_string_pretty(&document).map_err(|e| {
        Error::new(
            ErrorCode::Internal,
            format!("writing downtime.json failed: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json as value};

    use super::*;
    use crate::report::tests::sample_report;

    #[test]
    fn machines_carry_figures_alarms_and_stops() {
        let document: Value = serde_json::from_str(&json(&sample_report()).unwrap()).unwrap();
        assert_eq!(document["report"], "downtime");
        assert_eq!(
            document["parameters"],
            value!({"microstop_s": 120, "top": 10})
        );
        let mill3 = &document["machines"][0];
        assert_eq!(mill3["all"]["stops"], 8);
        assert_eq!(mill3["all"]["after_alarm_s"], 140.0 * 60.0);
        assert_eq!(mill3["shifts"][1]["shift"], "Second");
        assert_eq!(mill3["alarms"][0]["lost_s"], 140.0 * 60.0);
        assert_eq!(mill3["alarms"][0]["level"], "fault");
        let stop = &mill3["stops"][1];
        assert_eq!(stop["start"], "1970-01-01T09:00:00Z");
        assert_eq!(stop["duration_s"], 2400.0);
        assert_eq!(stop["states"]["alarm_s"], 600.0);
        assert_eq!(stop["states"]["idle_s"], 1800.0);
        assert_eq!(
            stop["cause"],
            value!({
                "code": "1010",
                "text": "spindle overload",
                "level": "fault",
                "raised": "1970-01-01T09:00:00Z",
                "cleared": "1970-01-01T09:10:00Z"
            })
        );
        assert_eq!(stop["shift"], "First");
        let coolant = &mill3["alarms"][1];
        assert_eq!(coolant["code"], "W55");
        assert_eq!(coolant["active_s"], 14400.0);
        let mill2 = &document["machines"][1];
        assert_eq!(mill2["all"]["no_data_s"], 1200.0);
        assert_eq!(mill2["shifts"][1]["microstops"], 96);
        assert_eq!(mill2["alarms"][0]["native_code"], false);
        assert_eq!(document["fleet_alarms"][0]["machines"], value!(["Mill 3"]));
        assert!(mill3["alarms"][0].get("machines").is_none());
    }
}
