//! `oee.html`: the page a supervisor reads. The heading, the recommendations, the fleet (a table
//! and OEE per machine as bars), then per machine its three factors and OEE as bars, the losses
//! in hours, a table per shift and one per program; then everything that could not be measured
//! and why, and at the end what the figures mean.

use chatter_report_kit::format::{MISSING, cycle_time, duration, percent, percent_whole};
use chatter_report_kit::{Bar, Page, Section, Table, bar_chart};

use crate::advice::MAX_RECOMMENDATIONS;
use crate::documents::csv::FLEET;
use crate::programs::Program;
use crate::report::{Machine, Report};
use crate::stats::{Factor, MEASURABLE_SHARE, Oee};

/// What a factor that could not be measured shows.
const UNKNOWN: &str = "unknown";
const AVAILABILITY_COLOR: &str = "#2563eb";
const PERFORMANCE_COLOR: &str = "#7c3aed";
const QUALITY_COLOR: &str = "#16a34a";
const OEE_COLOR: &str = "#111827";

/// The HTML document of `report`.
pub fn html(report: &Report) -> String {
    let mut page = Page::new("OEE")
        .organization(&report.organization)
        .days(&report.days)
        .time_zone(&report.time_zone)
        .notes(notes(report))
        .recommendations(&report.advice.recommendations)
        .section(fleet(report));
    for machine in &report.machines {
        page = page.section(machine_section(report, machine));
    }
    if let Some(section) = unknowns(report) {
        page = page.section(section);
    }
    page.section(definitions())
        .generated_by("oee", env!("CARGO_PKG_VERSION"))
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
            "The host cut the cycle lists of {} at its limit: parts and performance may be too \
             low.",
            truncated.join(", ")
        ));
    }
    if !report.unmatched_scrap.is_empty() {
        notes.push(format!(
            "Scrap was given for {}, which names no machine of this report; it was not used.",
            report.unmatched_scrap.join(", ")
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
        .numeric("Run")
        .numeric("Availability")
        .numeric("Performance")
        .numeric("Quality")
        .numeric("OEE")
        .column("Unknown");
    for machine in &report.machines {
        table.row(fleet_row(&machine.name, &machine.overall));
    }
    table.row(fleet_row(FLEET, &report.fleet));
    let bars: Vec<Bar> = report
        .machines
        .iter()
        .map(|m| factor_bar(&m.name, m.overall.oee, OEE_COLOR))
        .chain([factor_bar(FLEET, report.fleet.oee, OEE_COLOR)])
        .collect();
    Section::new("Fleet")
        .table(&table)
        .html(&bar_chart("OEE per machine", &bars, 1.0))
}

fn fleet_row(name: &str, oee: &Oee) -> Vec<String> {
    vec![
        name.to_owned(),
        duration(oee.planned),
        duration(oee.run),
        factor(oee.availability),
        factor(oee.performance),
        factor(oee.quality),
        factor(oee.oee),
        oee.unknown_text(),
    ]
}

fn machine_section(report: &Report, machine: &Machine) -> Section {
    let oee = &machine.overall;
    let bars = [
        factor_bar("Availability", oee.availability, AVAILABILITY_COLOR),
        factor_bar("Performance", oee.performance, PERFORMANCE_COLOR),
        factor_bar("Quality", oee.quality, QUALITY_COLOR),
        factor_bar("OEE", oee.oee, OEE_COLOR),
    ];
    let mut section = Section::new(&machine.name)
        .html(&bar_chart(&format!("OEE of {}", machine.name), &bars, 1.0))
        .table(&losses(machine));
    if oee.capped() {
        section = section.paragraph(&format!(
            "Performance came out at {} and is counted as 100 %: the ideal cycle times of some \
             programs are shorter than the machine needs.",
            factor(oee.uncapped_performance)
        ));
    }
    section = section.table(&shift_table(report, machine));
    if !machine.programs.is_empty() {
        section = section.table(&program_table(&machine.programs));
    }
    for unknown in &oee.unknown {
        section = section.paragraph(&format!(
            "{} {}: {}.",
            capitalized(unknown.factor.name()),
            if oee.performance.is_some() && unknown.factor == Factor::Performance {
                "partly measured"
            } else {
                UNKNOWN
            },
            unknown.reason
        ));
    }
    section
}

/// The three losses in hours and what they consist of.
fn losses(machine: &Machine) -> Table {
    let oee = &machine.overall;
    let mut table = Table::new()
        .column("Loss")
        .numeric("Time")
        .numeric("Of planned")
        .column("What it is");
    let of_planned = |ns: Option<i64>| {
        ns.and_then(|ns| chatter_report_kit::format::share(ns, oee.planned))
            .map_or_else(|| MISSING.to_owned(), percent)
    };
    let availability = oee.availability_loss();
    table.row([
        "Availability".to_owned(),
        duration(availability),
        of_planned(Some(availability)),
        not_running(oee),
    ]);
    let performance = oee.performance_loss();
    table.row([
        "Performance".to_owned(),
        optional_duration(performance),
        of_planned(performance),
        match performance {
            Some(_) => format!(
                "run time of {} beyond the ideal time of {} parts ({})",
                duration(oee.measured_run),
                oee.parts_with_ideal,
                duration(oee.measured_ideal)
            ),
            None => "ideal time unknown".to_owned(),
        },
    ]);
    let quality = oee.quality_loss();
    table.row([
        "Quality".to_owned(),
        optional_duration(quality),
        of_planned(quality),
        match (quality, oee.scrap) {
            (Some(_), Some(scrap)) => format!("ideal time of {scrap} scrapped parts"),
            _ => "scrap or ideal time unknown".to_owned(),
        },
    ]);
    table
}

/// "idle 2.0 h, in alarm 1.5 h, no data 10 min": the planned time not run, largest first.
fn not_running(oee: &Oee) -> String {
    let t = &oee.time;
    let mut parts = [
        ("idle", t.idle),
        ("alarm", t.alarm),
        ("offline", t.offline),
        ("setup", t.setup),
        ("no data", oee.no_data()),
    ];
    parts.sort_by_key(|(_, time)| std::cmp::Reverse(*time));
    let items: Vec<String> = parts
        .iter()
        .filter(|(_, time)| *time > 0)
        .map(|(name, time)| format!("{name} {}", duration(*time)))
        .collect();
    if items.is_empty() {
        "—".to_owned()
    } else {
        items.join(", ")
    }
}

fn shift_table(report: &Report, machine: &Machine) -> Table {
    let mut table = Table::new()
        .column("Shift")
        .numeric("Planned")
        .numeric("Run")
        .numeric("Availability")
        .numeric("Parts")
        .numeric("Performance")
        .numeric("Quality")
        .numeric("OEE");
    table.shift_rows(
        &report.schedule,
        &machine.shifts,
        &machine.overall,
        shift_row,
    );
    table
}

fn shift_row(name: &str, oee: &Oee) -> Vec<String> {
    vec![
        name.to_owned(),
        duration(oee.planned),
        duration(oee.run),
        factor(oee.availability),
        oee.parts.to_string(),
        factor(oee.performance),
        factor(oee.quality),
        factor(oee.oee),
    ]
}

fn program_table(programs: &[Program]) -> Table {
    let mut table = Table::new()
        .column("Program")
        .numeric("Cycles")
        .numeric("Parts")
        .numeric("Time a part")
        .numeric("Ideal")
        .numeric("Beyond ideal");
    for program in programs {
        table.row([
            program.label().to_owned(),
            program.cycles.to_string(),
            program.parts.to_string(),
            program
                .time_per_part()
                .map_or_else(|| MISSING.to_owned(), cycle_time),
            program
                .ideal
                .map_or_else(|| "not set".to_owned(), cycle_time),
            optional_duration(program.lost()),
        ]);
    }
    table
}

/// Everything that could not be measured, per machine, for the supervisor to configure.
fn unknowns(report: &Report) -> Option<Section> {
    let mut section = Section::new("What could not be measured");
    let mut any = false;
    for machine in &report.machines {
        let text = machine.overall.unknown_text();
        if !text.is_empty() {
            section = section.paragraph(&format!("{} — {text}.", machine.name));
            any = true;
        }
    }
    any.then_some(section)
}

fn definitions() -> Section {
    Section::new("How to read this report")
        .paragraph(
            "Planned time is the time of the shifts within the period (the whole period when \
             there is no shift schedule). Run time is the time the machine was running or \
             paused within it: paused counts as run time because a cycle is in progress, so a \
             feed hold costs performance, not availability.",
        )
        .paragraph(
            "Availability is run time divided by planned time. Performance is the ideal cycle \
             time of each part made times the parts, divided by run time, at most 100 %. \
             Quality is good parts divided by all parts, with the scrap recorded for the \
             period; a shift shows its machine's quality over the period. OEE is availability \
             × performance × quality; for the fleet, each machine's OEE weighted by its planned \
             time.",
        )
        .paragraph(&format!(
            "Parts are those counted in cycles that completed within planned time. When some \
             parts have no ideal cycle time, performance is measured over the programs that \
             have one, against their share of the completed cycles' time, provided that share \
             is at least {}; otherwise it is unknown, and so is OEE. A figure that cannot be \
             measured is shown as unknown with the reason, never guessed.",
            percent_whole(MEASURABLE_SHARE * 100.0)
        ))
        .paragraph(
            "The losses are in hours: availability loses the planned time not run, performance \
             the run time beyond the ideal time of the parts made, quality the ideal time of \
             the scrapped parts.",
        )
}

/// A factor as a bar from 0 to 100 %.
fn factor_bar(label: &str, value: Option<f64>, color: &'static str) -> Bar {
    Bar::new(label, value, factor(value)).color(color)
}

/// A factor in percent with one decimal, or "unknown".
fn factor(value: Option<f64>) -> String {
    value.map_or_else(|| UNKNOWN.to_owned(), |v| percent(v * 100.0))
}

fn optional_duration(ns: Option<i64>) -> String {
    ns.map_or_else(|| UNKNOWN.to_owned(), duration)
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::report::tests::sample_report;

    #[test]
    fn the_page_has_fleet_factors_losses_and_unknowns() {
        let html = html(&sample_report());
        assert!(html.contains("<title>OEE</title>"));
        assert!(html.contains(
            "<span class=\"badge badge-critical\">Critical</span>Lathe 2 lost 17.5 h to \
             availability"
        ));
        assert!(html.contains(
            "<tr><td>Mill 1</td><td class=\"num\">48.0 h</td><td class=\"num\">41.0 h</td>\
             <td class=\"num\">85.4 %</td><td class=\"num\">76.7 %</td><td class=\"num\">97.6 \
             %</td><td class=\"num\">63.9 %</td><td></td></tr>"
        ));
        assert!(html.contains("<tr><td>Fleet</td>"));
        assert!(html.contains("<svg class=\"chart\""));
        // Losses of Mill 1: 7.0 h not run, 9.6 h beyond ideal, 46 min of scrap.
        assert!(html.contains(
            "<tr><td>Availability</td><td class=\"num\">7.0 h</td><td class=\"num\">14.6 %</td>\
             <td>idle 5.5 h, alarm 1.5 h</td></tr>"
        ));
        assert!(html.contains("<tr><td>Quality</td><td class=\"num\">46 min</td>"));
        // Lathe 2's quality bar is not drawn: only its text.
        assert!(html.contains("fill=\"#6b7280\">unknown</text>"));
        assert!(html.contains("<p>Performance partly measured: no ideal cycle time for O2000"));
        assert!(html.contains("<p>Quality unknown: scrap not recorded.</p>"));
        assert!(html.contains("<h2>What could not be measured</h2>"));
        assert!(html.contains(
            "<td>O2000</td><td class=\"num\">12</td><td class=\"num\">12</td>\
             <td class=\"num\">50:00</td><td class=\"num\">not set</td>"
        ));
        assert!(html.contains("<footer>generated by oee 0.1.0</footer>"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("style=\""));
    }

    #[test]
    fn truncated_lists_and_unknown_scrap_keys_are_pointed_out() {
        let mut report = sample_report();
        report.machines[0].truncated = true;
        report.unmatched_scrap = vec!["mill-9".to_owned()];
        let html = html(&report);
        assert!(html.contains("The host cut the cycle lists of Mill 1"));
        assert!(html.contains("Scrap was given for mill-9, which names no machine"));
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
        std::fs::write(dir.join("oee.html"), html(&sample_report())).unwrap();
    }
}
