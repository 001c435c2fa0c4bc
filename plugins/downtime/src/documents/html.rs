//! `downtime.html`: the page a supervisor reads. The heading, the recommendations, a fleet
//! table, the longest stops, the alarms by time lost (a bar chart and tables), the microstops
//! per machine and shift, then per machine its state timeline and a table per shift, and at the
//! end what the figures mean.

use chatter_report_kit::format::{MISSING, duration, percent, percent_whole};
use chatter_report_kit::timeline::color;
use chatter_report_kit::{Bar, Page, Section, Table, bar_chart, period_ticks, timeline};
use chatter_sdk::machine_data::MachineState;

use crate::advice::{
    ALARM_STOP_SHARE, MAX_RECOMMENDATIONS, MICROSTOP_SHARE, MICROSTOPS_MIN, SETUP_SHARE,
};
use crate::alarms::{AlarmName, AlarmSummary, level_name};
use crate::report::Report;
use crate::stats::{Figures, Machine};
use crate::stops::Stop;

const HOUR: f64 = 3_600_000_000_000.0;

/// The HTML document of `report`.
pub fn html(report: &Report) -> String {
    let mut page = Page::new("Downtime and alarms")
        .organization(&report.organization)
        .days(&report.days)
        .time_zone(&report.time_zone)
        .notes(notes(report))
        .recommendations(&report.advice.recommendations)
        .section(fleet(report))
        .section(longest_stops(report))
        .section(alarms(report))
        .section(microstops(report));
    for machine in &report.machines {
        page = page.section(machine_section(report, machine));
    }
    page.section(definitions(report))
        .generated_by("downtime", env!("CARGO_PKG_VERSION"))
        .render()
}

/// What the reader must know before trusting the figures.
fn notes(report: &Report) -> Vec<String> {
    let mut notes = Vec::new();
    let truncated: Vec<&str> = report
        .machines
        .iter()
        .filter(|m| m.truncated)
        .map(|m| m.name.as_str())
        .collect();
    if !truncated.is_empty() {
        notes.push(format!(
            "The host cut the alarm lists of {} at its limit: alarms may be missing, and stops \
             after them show no alarm.",
            truncated.join(", ")
        ));
    }
    notes.extend(Page::omitted_note(
        MAX_RECOMMENDATIONS,
        report.advice.omitted,
    ));
    notes
}

fn fleet(report: &Report) -> Section {
    let mut table = Table::new()
        .column("Machine")
        .numeric("Planned")
        .numeric("Running")
        .numeric("Stopped")
        .numeric("Stops")
        .numeric("Longest")
        .numeric("With an alarm")
        .numeric("Microstops")
        .numeric("Setup")
        .numeric("No data");
    for machine in &report.machines {
        let f = &machine.overall;
        table.row([
            machine.name.clone(),
            duration(f.planned),
            duration(f.time.running),
            duration(f.stop_time),
            f.stops.to_string(),
            longest(f),
            duration(f.after_alarm),
            f.microstops.to_string(),
            duration(f.time.setup),
            duration(f.no_data()),
        ]);
    }
    Section::new("Fleet").table(&table)
}

fn longest_stops(report: &Report) -> Section {
    let top = report.parameters.top;
    let stops = report.longest_stops(top);
    let section = Section::new(format!("Longest stops (top {top})"));
    if stops.is_empty() {
        return section.paragraph("No machine stopped in planned time.");
    }
    let mut table = Table::new()
        .column("Machine")
        .column("Date")
        .numeric("Start")
        .numeric("Duration")
        .column("Shift")
        .column("Mostly")
        .column("Alarm");
    for (machine, stop) in stops {
        let (date, time) = report.local_time(stop.range.start);
        table.row([
            machine.name.clone(),
            date,
            time,
            duration(stop.duration()),
            shift_name(report, stop).to_owned(),
            stop.main_state().name().to_owned(),
            cause(machine, stop),
        ]);
    }
    section.table(&table)
}

fn alarms(report: &Report) -> Section {
    let top = report.parameters.top;
    let section = Section::new("Alarms by time lost");
    if report.fleet_alarms.is_empty() {
        return section.paragraph("No alarm was raised in the period.");
    }
    let shown = &report.fleet_alarms[..report.fleet_alarms.len().min(top)];
    let most = shown.first().map_or(0, |a| a.lost) as f64 / HOUR;
    let bars: Vec<Bar> = shown
        .iter()
        .map(|a| {
            Bar::new(
                a.name.label(),
                Some(a.lost as f64 / HOUR),
                format!("{} in {}", duration(a.lost), stops_phrase(a.stops)),
            )
            .color(color(MachineState::Alarm))
        })
        .collect();
    let mut fleet = Table::new()
        .column("Alarm")
        .column("Level")
        .numeric("Raised")
        .numeric("Active")
        .numeric("Stops")
        .numeric("Lost")
        .column("Machines");
    for alarm in shown {
        fleet.row([
            alarm.name.label(),
            level_name(alarm.level).to_owned(),
            alarm.count.to_string(),
            duration(alarm.active),
            alarm.stops.to_string(),
            duration(alarm.lost),
            alarm.machines.join(", "),
        ]);
    }
    let mut per_machine: Vec<(&Machine, &AlarmSummary)> = report
        .machines
        .iter()
        .flat_map(|m| m.alarm_summaries.iter().map(move |a| (m, a)))
        .collect();
    per_machine.sort_by_key(|(_, a)| (std::cmp::Reverse(a.lost), std::cmp::Reverse(a.active)));
    let mut machines = Table::new()
        .column("Machine")
        .column("Alarm")
        .numeric("Raised")
        .numeric("Active")
        .numeric("Stops")
        .numeric("Lost");
    for (machine, alarm) in per_machine.into_iter().take(top) {
        machines.row([
            machine.name.clone(),
            alarm.name.label(),
            alarm.count.to_string(),
            duration(alarm.active),
            alarm.stops.to_string(),
            duration(alarm.lost),
        ]);
    }
    let chart = if most > 0.0 {
        bar_chart("Time lost per alarm", &bars, most)
    } else {
        String::new()
    };
    section
        .html(&chart)
        .table(&fleet)
        .paragraph("Per machine:")
        .table(&machines)
}

fn microstops(report: &Report) -> Section {
    let mut table = Table::new()
        .column("Machine")
        .column("Shift")
        .numeric("Planned")
        .numeric("Microstops")
        .numeric("Time")
        .numeric("Of planned")
        .numeric("Per planned hour");
    for machine in &report.machines {
        for (shift, f) in report.schedule.shifts.iter().zip(&machine.shifts) {
            let per_hour = if f.planned > 0 {
                format!("{:.1}", f.microstops as f64 * HOUR / f.planned as f64)
            } else {
                MISSING.to_owned()
            };
            table.row([
                machine.name.clone(),
                shift.name.clone(),
                duration(f.planned),
                f.microstops.to_string(),
                duration(f.microstop_time),
                share(f.microstop_time, f.planned),
                per_hour,
            ]);
        }
    }
    Section::new(format!(
        "Microstops (stops under {})",
        report.parameters.microstop_text()
    ))
    .table(&table)
}

fn machine_section(report: &Report, machine: &Machine) -> Section {
    let ticks = period_ticks(&report.days, &report.shift_periods);
    let mut table = Table::new()
        .column("Shift")
        .numeric("Planned")
        .numeric("Running")
        .numeric("Stops")
        .numeric("Stopped")
        .numeric("With an alarm")
        .numeric("Microstops")
        .numeric("Idle")
        .numeric("Paused")
        .numeric("Setup")
        .numeric("Alarm")
        .numeric("Offline")
        .numeric("No data");
    table.shift_rows(
        &report.schedule,
        &machine.shifts,
        &machine.overall,
        shift_row,
    );
    timeline::machine_section(&machine.name, report.period, &machine.intervals, &ticks)
        .table(&table)
}

fn shift_row(name: &str, f: &Figures) -> Vec<String> {
    vec![
        name.to_owned(),
        duration(f.planned),
        duration(f.time.running),
        f.stops.to_string(),
        duration(f.stop_time),
        duration(f.after_alarm),
        f.microstops.to_string(),
        duration(f.time.idle),
        duration(f.time.paused),
        duration(f.time.setup),
        duration(f.time.alarm),
        duration(f.time.offline),
        duration(f.no_data()),
    ]
}

fn definitions(report: &Report) -> Section {
    let planned = if report.schedule.is_pseudo() {
        "There is no shift schedule, so the whole period counts as planned time.".to_owned()
    } else {
        "Planned time is the time of the shifts within the period.".to_owned()
    };
    Section::new("How to read this report")
        .paragraph(&planned)
        .paragraph(
            "A stop is a stretch of planned time in which the machine did not run: idle, \
             paused, in alarm, in setup or offline, one after the other. It ends when the \
             machine runs again or planned time ends; time without data is not counted as a \
             stop. A stop counts in the shift it began in, with its whole length. Times of day \
             are local, from the start of the day.",
        )
        .paragraph(
            "A stop's alarm is the first fault that was active when it began, raised during \
             it, or cleared at most a minute before it began; its time is the time that alarm \
             lost. Warnings are listed in the data but not blamed, as they do not stop a \
             machine. Active time runs from raised to cleared, or to the end of the period.",
        )
        .paragraph(&format!(
            "A microstop is a stop shorter than {}. A machine's shift with {MICROSTOPS_MIN} \
             microstops or more that take {} of its planned time or more earns a \
             recommendation; so does setup taking {} of planned time or more, and stops that \
             came with alarms for {} of the stop time or more.",
            report.parameters.microstop_text(),
            percent_whole(MICROSTOP_SHARE * 100.0),
            percent_whole(SETUP_SHARE * 100.0),
            percent_whole(ALARM_STOP_SHARE * 100.0),
        ))
}

fn shift_name<'a>(report: &'a Report, stop: &Stop) -> &'a str {
    report
        .schedule
        .shifts
        .get(stop.shift)
        .map_or("", |s| s.name.as_str())
}

/// A stop's alarm for a table cell: `1010 (spindle overload)`, or a dash.
fn cause(machine: &Machine, stop: &Stop) -> String {
    machine
        .cause(stop)
        .map_or_else(|| MISSING.to_owned(), |a| AlarmName::of(a).label())
}

fn longest(f: &Figures) -> String {
    f.longest
        .map_or_else(|| MISSING.to_owned(), |l| duration(l.end - l.start))
}

fn share(part: i64, whole: i64) -> String {
    chatter_report_kit::format::share(part, whole).map_or_else(|| MISSING.to_owned(), percent)
}

fn stops_phrase(stops: u64) -> String {
    if stops == 1 {
        "1 stop".to_owned()
    } else {
        format!("{stops} stops")
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::report::tests::sample_report;

    #[test]
    fn the_page_has_stops_alarms_microstops_and_machines() {
        let html = html(&sample_report());
        assert!(html.contains("<title>Downtime and alarms</title>"));
        assert!(html.contains(
            "<span class=\"badge badge-warning\">Warning</span>Mill 2 spent 16 % of its \
             planned time in setup"
        ));
        assert!(html.contains("<h2>Longest stops (top 10)</h2>"));
        assert!(html.contains(
            "<tr><td>Mill 2</td><td>2025-03-04</td><td class=\"num\">06:20</td>\
             <td class=\"num\">1.7 h</td><td>First</td><td>setup</td><td>—</td></tr>"
        ));
        assert!(html.contains(
            "<td>Mill 3</td><td>2025-03-03</td><td class=\"num\">09:00</td><td class=\"num\">40 \
             min</td><td>First</td><td>idle</td><td>1010 (spindle overload)</td>"
        ));
        assert!(html.contains("<title>1010 (spindle overload): 2.3 h in 4 stops</title>"));
        assert!(html.contains(
            "<tr><td>1010 (spindle overload)</td><td>fault</td><td class=\"num\">4</td>\
             <td class=\"num\">30 min</td><td class=\"num\">4</td><td class=\"num\">2.3 h</td>\
             <td>Mill 3</td></tr>"
        ));
        assert!(html.contains("<h2>Microstops (stops under 2 min)</h2>"));
        assert!(html.contains(
            "<tr><td>Mill 2</td><td>Second</td><td class=\"num\">16.0 h</td><td \
             class=\"num\">96</td><td class=\"num\">1.6 h</td><td class=\"num\">10.0 %</td>\
             <td class=\"num\">6.0</td></tr>"
        ));
        assert!(html.contains("<h2>Mill 3</h2>\n<svg class=\"timeline\""));
        assert!(html.contains("<tr><td>All shifts</td>"));
        assert!(html.contains("<footer>generated by downtime 0.1.0</footer>"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("style=\""));
    }

    #[test]
    fn a_fleet_without_stops_or_alarms_says_so() {
        let mut report = sample_report();
        for machine in &mut report.machines {
            machine.stops.clear();
            machine.alarm_summaries.clear();
        }
        report.fleet_alarms.clear();
        let html = html(&report);
        assert!(html.contains("No machine stopped in planned time."));
        assert!(html.contains("No alarm was raised in the period."));
    }

    #[test]
    fn truncated_alarm_lists_are_pointed_out() {
        let mut report = sample_report();
        report.machines[1].truncated = true;
        assert!(html(&report).contains("The host cut the alarm lists of Mill 2"));
    }

    /// Writes the sample page for people to look at: `$CARGO_TARGET_DIR/report-samples/`
    /// (or `target/report-samples/` of the workspace).
    #[test]
    fn write_the_sample_page() {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
        let dir = target.join("report-samples");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("downtime.html"), html(&sample_report())).unwrap();
    }
}
