//! `utilization.csv`: one row per machine and shift, then one per machine over all shifts
//! (shift `all`). Times in seconds with up to three decimals, utilization in percent with two,
//! an empty field where there is no value (no cycles, nothing scheduled).

use chatter_report_kit::Csv;
use chatter_report_kit::format::seconds;

use crate::report::Report;
use crate::stats::Stats;

/// The columns, in order.
pub const HEADER: [&str; 15] = [
    "machine",
    "name",
    "shift",
    "scheduled_s",
    "running_s",
    "idle_s",
    "paused_s",
    "setup_s",
    "alarm_s",
    "offline_s",
    "utilization_pct",
    "parts",
    "cycles",
    "avg_cycle_s",
    "best_cycle_s",
];

/// The shift column of a machine's row over all shifts.
const ALL: &str = "all";

/// The CSV document of `report`.
pub fn csv(report: &Report) -> String {
    let mut csv = Csv::new(HEADER);
    for machine in &report.machines {
        for (shift, stats) in report.schedule.shifts.iter().zip(&machine.shifts) {
            csv.row(row(&machine.id, &machine.name, &shift.name, &stats.stats));
        }
        csv.row(row(&machine.id, &machine.name, ALL, &machine.overall));
    }
    csv.finish()
}

fn row(id: &str, name: &str, shift: &str, stats: &Stats) -> [String; 15] {
    let t = &stats.time;
    [
        id.to_owned(),
        name.to_owned(),
        shift.to_owned(),
        seconds(stats.scheduled),
        seconds(t.running),
        seconds(t.idle),
        seconds(t.paused),
        seconds(t.setup),
        seconds(t.alarm),
        seconds(t.offline),
        stats
            .utilization()
            .map_or_else(String::new, |u| format!("{u:.2}")),
        stats.parts.to_string(),
        stats.cycles.count.to_string(),
        stats.cycles.average().map_or_else(String::new, seconds),
        stats.cycles.best.map_or_else(String::new, seconds),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample_report;

    #[test]
    fn rows_per_machine_and_shift_then_all() {
        let csv = csv(&sample_report());
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "machine,name,shift,scheduled_s,running_s,idle_s,paused_s,setup_s,alarm_s,offline_s,\
             utilization_pct,parts,cycles,avg_cycle_s,best_cycle_s"
        );
        // Mill 3 on First, three days: 20 min setup, 21 × 18 + 40 min running, 21 × 2 min
        // paused; completed cycles of 4 and 5 min each day.
        assert_eq!(
            lines[1],
            "m3,Mill 3,First,86400,75240,0,7560,3600,0,0,87.08,120,6,270,240"
        );
        // On Second: 160 + 150 min running, 12 min alarm, 88 + 70 min idle; one 6 min cycle
        // a day (the stopped one does not count).
        assert_eq!(
            lines[2],
            "m3,Mill 3,Second,86400,55800,28440,0,0,2160,0,64.58,105,3,360,360"
        );
        assert_eq!(
            lines[3],
            "m3,Mill 3,all,172800,131040,28440,7560,3600,2160,0,75.83,225,9,300,240"
        );
        // No cycles: empty fields, not 0.
        assert_eq!(
            lines[5],
            "l2,Lathe 2,Second,86400,0,0,0,0,0,86400,0.00,0,0,,"
        );
        assert_eq!(lines.len(), 8);
        assert_eq!(lines[7], "");
    }
}
