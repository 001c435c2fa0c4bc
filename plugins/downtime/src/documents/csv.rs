//! `downtime.csv`, one row per stop, and `downtime-alarms.csv`, one row per machine and alarm
//! then one per alarm for the fleet (empty `machine`, name `Fleet`). Moments in RFC 3339 UTC,
//! times in seconds with up to three decimals; a field is empty where there is no value (a
//! stop without an alarm).

use chatter_report_kit::Csv;
use chatter_report_kit::format::{rfc3339_utc, seconds};

use crate::alarms::AlarmSummary;
use crate::report::Report;

/// The columns of `downtime.csv`, in order.
pub const STOPS_HEADER: [&str; 10] = [
    "machine",
    "name",
    "shift",
    "start",
    "end",
    "duration_s",
    "main_state",
    "alarm_code",
    "alarm_text",
    "microstop",
];

/// The columns of `downtime-alarms.csv`, in order.
pub const ALARMS_HEADER: [&str; 7] = [
    "machine",
    "name",
    "alarm_code",
    "alarm_text",
    "count",
    "active_s",
    "lost_s",
];

/// The name column of the fleet's rows.
pub const FLEET: &str = "Fleet";

/// `downtime.csv`: every stop of every machine, in order.
pub fn stops_csv(report: &Report) -> String {
    let mut csv = Csv::new(STOPS_HEADER);
    for machine in &report.machines {
        for stop in &machine.stops {
            let shift = report
                .schedule
                .shifts
                .get(stop.shift)
                .map_or("", |s| s.name.as_str());
            let cause = machine.cause(stop).map(crate::alarms::AlarmName::of);
            csv.row([
                machine.id.clone(),
                machine.name.clone(),
                shift.to_owned(),
                rfc3339_utc(stop.range.start),
                rfc3339_utc(stop.range.end),
                seconds(stop.duration()),
                stop.main_state().name().to_owned(),
                cause.as_ref().map_or_else(String::new, |c| c.code.clone()),
                cause.map_or_else(String::new, |c| c.text),
                stop.micro.to_string(),
            ]);
        }
    }
    csv.finish()
}

/// `downtime-alarms.csv`: every alarm of every machine by time lost, then the fleet's.
pub fn alarms_csv(report: &Report) -> String {
    let mut csv = Csv::new(ALARMS_HEADER);
    for machine in &report.machines {
        for alarm in &machine.alarm_summaries {
            csv.row(alarm_row(&machine.id, &machine.name, alarm));
        }
    }
    for alarm in &report.fleet_alarms {
        csv.row(alarm_row("", FLEET, alarm));
    }
    csv.finish()
}

fn alarm_row(id: &str, name: &str, alarm: &AlarmSummary) -> [String; 7] {
    [
        id.to_owned(),
        name.to_owned(),
        alarm.name.code.clone(),
        alarm.name.text.clone(),
        alarm.count.to_string(),
        seconds(alarm.active),
        seconds(alarm.lost),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample_report;

    #[test]
    fn one_row_per_stop_in_utc() {
        let csv = stops_csv(&sample_report());
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "machine,name,shift,start,end,duration_s,main_state,alarm_code,alarm_text,microstop"
        );
        assert_eq!(
            lines[1],
            "m3,Mill 3,First,1970-01-01T06:00:00Z,1970-01-01T06:30:00Z,1800,setup,,,false"
        );
        assert_eq!(
            lines[2],
            "m3,Mill 3,First,1970-01-01T09:00:00Z,1970-01-01T09:40:00Z,2400,idle,1010,\
             spindle overload,false"
        );
        // Across the shift change: one stop of First.
        assert_eq!(
            lines[3],
            "m3,Mill 3,First,1970-01-01T13:50:00Z,1970-01-01T14:20:00Z,1800,idle,,,false"
        );
        // Mill 2's door interlock has no code: the data item stands for it.
        assert!(csv.contains(
            "m2,Mill 2,First,1970-01-01T10:00:00Z,1970-01-01T10:05:00Z,300,idle,door,\
             Door interlock,false\r\n"
        ));
        assert!(csv.contains(
            "m2,Mill 2,Second,1970-01-01T14:09:00Z,1970-01-01T14:10:00Z,60,idle,,,true\r\n"
        ));
        // 8 stops of Mill 3; of Mill 2: 3 + 2 on First, 2 × 48 on Second.
        assert_eq!(lines.len(), 1 + 8 + 5 + 96 + 1);
    }

    #[test]
    fn alarms_per_machine_then_the_fleet() {
        let csv = alarms_csv(&sample_report());
        assert_eq!(
            csv,
            "machine,name,alarm_code,alarm_text,count,active_s,lost_s\r\n\
             m3,Mill 3,1010,spindle overload,4,1800,8400\r\n\
             m3,Mill 3,W55,coolant low,1,14400,0\r\n\
             m2,Mill 2,door,Door interlock,1,120,300\r\n\
             ,Fleet,1010,spindle overload,4,1800,8400\r\n\
             ,Fleet,door,Door interlock,1,120,300\r\n\
             ,Fleet,W55,coolant low,1,14400,0\r\n"
        );
    }
}
