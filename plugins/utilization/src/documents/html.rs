//! `utilization.html`: the page a supervisor reads. The heading, the recommendations, a fleet
//! table with one row per machine, then per machine its state timeline and a table per shift,
//! and at the end what the figures mean.

use chatter_report_kit::format::{MISSING, cycle_time, duration, percent};
use chatter_report_kit::{Page, Section, Table, Tick, period_ticks, timeline};

use crate::advice::MAX_RECOMMENDATIONS;
use crate::report::Report;
use crate::stats::{Machine, Stats};

/// The HTML document of `report`.
pub fn html(report: &Report) -> String {
    let mut page = Page::new("Utilization")
        .organization(&report.organization)
        .days(&report.days)
        .time_zone(&report.time_zone)
        .notes(notes(report))
        .recommendations(&report.advice.recommendations)
        .section(fleet(report));
    let ticks = period_ticks(&report.days, &report.shift_periods);
    for machine in &report.machines {
        page = page.section(machine_section(report, machine, &ticks));
    }
    page.section(definitions(report))
        .generated_by("utilization", env!("CARGO_PKG_VERSION"))
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
            "The host cut the cycle and alarm lists of {} at its limit: cycle counts and times \
             may be too low, and alarms may be missing.",
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
        .numeric("Scheduled")
        .numeric("Utilization")
        .numeric("Running")
        .numeric("Idle")
        .numeric("Alarm")
        .numeric("Offline")
        .numeric("Parts")
        .numeric("Cycles")
        .numeric("Avg cycle")
        .numeric("Best cycle");
    for machine in &report.machines {
        let s = &machine.overall;
        table.row([
            machine.name.clone(),
            duration(s.scheduled),
            utilization(s),
            duration(s.time.running),
            duration(s.time.idle),
            duration(s.time.alarm),
            duration(s.time.offline),
            s.parts.to_string(),
            s.cycles.count.to_string(),
            optional_cycle(s.cycles.average()),
            optional_cycle(s.cycles.best),
        ]);
    }
    Section::new("Fleet").table(&table)
}

fn machine_section(report: &Report, machine: &Machine, ticks: &[Tick]) -> Section {
    let mut table = Table::new()
        .column("Shift")
        .numeric("Scheduled")
        .numeric("Utilization")
        .numeric("Running")
        .numeric("Idle")
        .numeric("Paused")
        .numeric("Setup")
        .numeric("Alarm")
        .numeric("Offline")
        .numeric("No data")
        .numeric("Parts")
        .numeric("Cycles")
        .numeric("Avg cycle")
        .numeric("Best cycle");
    let shifts: Vec<&Stats> = machine.shifts.iter().map(|s| &s.stats).collect();
    table.shift_rows(&report.schedule, &shifts, &&machine.overall, |name, s| {
        shift_row(name, s)
    });
    timeline::machine_section(&machine.name, report.period, &machine.intervals, ticks).table(&table)
}

fn shift_row(name: &str, s: &Stats) -> Vec<String> {
    vec![
        name.to_owned(),
        duration(s.scheduled),
        utilization(s),
        duration(s.time.running),
        duration(s.time.idle),
        duration(s.time.paused),
        duration(s.time.setup),
        duration(s.time.alarm),
        duration(s.time.offline),
        duration(s.no_data()),
        s.parts.to_string(),
        s.cycles.count.to_string(),
        optional_cycle(s.cycles.average()),
        optional_cycle(s.cycles.best),
    ]
}

fn utilization(stats: &Stats) -> String {
    stats
        .utilization()
        .map_or_else(|| MISSING.to_owned(), percent)
}

fn optional_cycle(ns: Option<i64>) -> String {
    ns.map_or_else(|| MISSING.to_owned(), cycle_time)
}

fn definitions(report: &Report) -> Section {
    let schedule = &report.schedule;
    let scheduled = if schedule.is_pseudo() {
        "There is no shift schedule, so the whole period counts as scheduled time.".to_owned()
    } else {
        let names: Vec<&str> = schedule.shifts.iter().map(|s| s.name.as_str()).collect();
        format!(
            "Scheduled time is the time of the shifts ({}) within the period.",
            names.join(", ")
        )
    };
    Section::new("How to read this report")
        .paragraph(&scheduled)
        .paragraph(
            "Utilization is running time divided by scheduled time. Idle, paused, setup, alarm \
             and offline are the other states of the machine; no data is scheduled time \
             without any (machine not connected, or data not processed yet).",
        )
        .paragraph(
            "Parts are counted when the part counter rose. Cycles are programs that ran to \
             completion, counted in the shift they ended in; cycle time runs from start to \
             end, and best is the shortest. A machine's overall parts and cycles include those \
             made outside the shifts.",
        )
        .paragraph(&format!(
            "A long stop is an idle stretch of {} or more. It followed an alarm when it began \
             within a minute after the alarm ended.",
            duration(report.parameters.long_idle_ns())
        ))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::report::tests::sample_report;

    #[test]
    fn the_page_has_heading_recommendations_fleet_and_machines() {
        let html = html(&sample_report());
        assert!(html.contains(
            "<span>Organization: Acme Machining</span><span>Period: 2025-03-03 – \
             2025-03-05</span><span>Time zone: America/Chicago</span>"
        ));
        assert!(html.contains(
            "<span class=\"badge badge-warning\">Warning</span>Mill 3 ran 64.6 % of Second \
             shift (target 65 %); it idled 7.9 h."
        ));
        assert!(html.contains("<h2>Fleet</h2>"));
        assert!(html.contains(
            "<tr><td>Mill 3</td><td class=\"num\">48.0 h</td><td class=\"num\">75.8 %</td>"
        ));
        assert!(html.contains("<h2>Mill 3</h2>\n<svg class=\"timeline\""));
        assert!(html.contains("<h2>Lathe 2</h2>"));
        // Day ticks for a period of several days.
        assert!(html.contains(">2025-03-04</text>"));
        assert!(html.contains("<tr><td>All shifts</td>"));
        // No completed cycles: a dash, not 0:00.
        assert!(html.contains(
            "<td class=\"num\">0</td><td class=\"num\">—</td><td class=\"num\">—</td></tr>"
        ));
        assert!(html.contains("<footer>generated by utilization 0.1.0</footer>"));
        assert!(!html.contains("<script"));
    }

    #[test]
    fn one_day_is_ticked_at_shift_starts() {
        let mut report = sample_report();
        report.days.truncate(1);
        report.shift_periods.truncate(2);
        let ticks = period_ticks(&report.days, &report.shift_periods);
        let labels: Vec<&str> = ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["First", "Second"]);
    }

    #[test]
    fn truncated_event_lists_are_pointed_out() {
        let mut report = sample_report();
        report.machines[0].truncated = true;
        assert!(html(&report).contains("The host cut the cycle and alarm lists of Mill 3"));
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
        std::fs::write(dir.join("utilization.html"), html(&sample_report())).unwrap();
    }
}
