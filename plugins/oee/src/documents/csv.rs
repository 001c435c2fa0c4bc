//! `oee.csv`: one row per machine and shift, then one per machine over all planned time (shift
//! `all`); then the fleet the same way (empty `machine`, name `Fleet`). Times in seconds with up
//! to three decimals, percentages with two; a field is empty where there is no value, and the
//! `unknown` column says why.

use chatter_report_kit::Csv;
use chatter_report_kit::format::seconds;

use crate::report::Report;
use crate::stats::Oee;

/// The columns, in order.
pub const HEADER: [&str; 14] = [
    "machine",
    "name",
    "shift",
    "planned_s",
    "run_s",
    "availability_pct",
    "parts",
    "parts_with_ideal",
    "ideal_s",
    "performance_pct",
    "scrap",
    "quality_pct",
    "oee_pct",
    "unknown",
];

/// The shift column of a row over all planned time.
const ALL: &str = "all";
/// The name column of the fleet's rows.
pub const FLEET: &str = "Fleet";

/// The CSV document of `report`.
pub fn csv(report: &Report) -> String {
    let mut csv = Csv::new(HEADER);
    let shifts = &report.schedule.shifts;
    for machine in &report.machines {
        for (shift, oee) in shifts.iter().zip(&machine.shifts) {
            csv.row(row(&machine.id, &machine.name, &shift.name, oee));
        }
        csv.row(row(&machine.id, &machine.name, ALL, &machine.overall));
    }
    for (shift, oee) in shifts.iter().zip(&report.fleet_shifts) {
        csv.row(row("", FLEET, &shift.name, oee));
    }
    csv.row(row("", FLEET, ALL, &report.fleet));
    csv.finish()
}

fn row(id: &str, name: &str, shift: &str, oee: &Oee) -> [String; 14] {
    [
        id.to_owned(),
        name.to_owned(),
        shift.to_owned(),
        seconds(oee.planned),
        seconds(oee.run),
        pct(oee.availability),
        oee.parts.to_string(),
        oee.parts_with_ideal.to_string(),
        seconds(oee.ideal),
        pct(oee.performance),
        oee.scrap.map_or_else(String::new, |s| s.to_string()),
        pct(oee.quality),
        pct(oee.oee),
        oee.unknown_text(),
    ]
}

/// A factor in percent with two decimals; empty when unknown.
fn pct(value: Option<f64>) -> String {
    value.map_or_else(String::new, |v| format!("{:.2}", v * 100.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample_report;

    #[test]
    fn rows_per_machine_and_shift_then_all_then_the_fleet() {
        let csv = csv(&sample_report());
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "machine,name,shift,planned_s,run_s,availability_pct,parts,parts_with_ideal,ideal_s,\
             performance_pct,scrap,quality_pct,oee_pct,unknown"
        );
        // Mill 1 on First: 3 × 480 min planned, 3 × 420 run, 252 parts of 230 s; quality of
        // the period, 480 of 492; a shift has no scrap of its own.
        assert_eq!(
            lines[1],
            "m1,Mill 1,First,86400,75600,87.50,252,252,57960,76.67,,97.56,65.45,"
        );
        assert_eq!(
            lines[3],
            "m1,Mill 1,all,172800,147600,85.42,492,492,113160,76.67,12,97.56,63.89,"
        );
        // Lathe 2 on Second: O2000 only, which has no ideal time.
        assert_eq!(
            lines[5],
            "l2,Lathe 2,Second,86400,36000,41.67,12,0,0,,,,,performance: no ideal cycle time \
             for O2000 (12 parts); quality: scrap not recorded"
        );
        assert_eq!(
            lines[6],
            "l2,Lathe 2,all,172800,109800,63.54,135,123,62730,85.00,,,,\"performance: no ideal \
             cycle time for O2000 (12 parts), measured over the other programs (67 % of cycle \
             time); quality: scrap not recorded\""
        );
        assert!(lines[9].starts_with(",Fleet,all,345600,257400,74.48,627,615,175890,"));
        assert!(lines[9].ends_with(
            ",79.44,12,97.56,63.89,quality: Lathe 2 left out (unknown); oee: Lathe 2 left out \
             (unknown)"
        ));
        assert_eq!(lines.len(), 11);
        assert_eq!(lines[10], "");
    }
}
