//! The recommendations: rules over the computed figures, each sentence written for a shop
//! supervisor and each backed by the figures it rests on. Nothing is said that the data does
//! not show.
//!
//! - a machine's shift below `utilization-target`: warning, critical below half the target;
//! - long stops of a machine on a shift, and how much of them directly followed an alarm:
//!   warning;
//! - a machine offline more than [`OFFLINE_SHARE`] % of its scheduled time: warning;
//! - with two machines or more, the one with the highest utilization: info.
//!
//! They are ordered by severity, then by the time at stake, and at most
//! [`MAX_RECOMMENDATIONS`] are kept: a list longer than that is not read.

use std::cmp::Reverse;

use chatter_report_kit::format::{duration, percent, percent_whole};
use chatter_report_kit::schedule::{Schedule, Shift};
use chatter_sdk::output::{Evidence, Recommendation, Severity};

use crate::params::Parameters;
use crate::stats::{Machine, Stats};
use crate::stops::LongIdle;

/// Most recommendations a run hands over.
pub const MAX_RECOMMENDATIONS: usize = 20;
/// Offline time, in percent of the scheduled time, above which a machine earns a
/// recommendation.
pub const OFFLINE_SHARE: f64 = 20.0;

/// The recommendations of a run, in order, and how many were left out past the cap.
#[derive(Debug, Clone, Default)]
pub struct Advice {
    /// What is handed over and shown.
    pub recommendations: Vec<Recommendation>,
    /// Findings beyond [`MAX_RECOMMENDATIONS`], not handed over.
    pub omitted: usize,
}

/// A recommendation with the time it is about, for ordering.
struct Finding {
    /// Time lost (or at stake), in nanoseconds.
    lost: i64,
    recommendation: Recommendation,
}

/// Every rule over every machine and shift.
pub fn advise(machines: &[Machine], schedule: &Schedule, parameters: &Parameters) -> Advice {
    let mut findings = Vec::new();
    for machine in machines {
        for (shift, stats) in schedule.shifts.iter().zip(&machine.shifts) {
            findings.extend(below_target(machine, shift, &stats.stats, parameters));
            findings.extend(long_stops(machine, shift, &stats.long_idle, parameters));
        }
        findings.extend(offline(machine));
    }
    findings.extend(best_machine(machines));
    // Stable: equal findings keep the order of the machines and shifts.
    findings.sort_by_key(|f| (Reverse(rank(f.recommendation.severity)), Reverse(f.lost)));
    let omitted = findings.len().saturating_sub(MAX_RECOMMENDATIONS);
    Advice {
        recommendations: findings
            .into_iter()
            .take(MAX_RECOMMENDATIONS)
            .map(|f| f.recommendation)
            .collect(),
        omitted,
    }
}

fn rank(severity: Severity) -> u8 {
    match severity {
        Severity::Info => 0,
        Severity::Warning => 1,
        Severity::Critical => 2,
    }
}

/// "Mill 3 ran 41 % of Second shift (target 65 %); it idled 3.1 h."
fn below_target(
    machine: &Machine,
    shift: &Shift,
    stats: &Stats,
    parameters: &Parameters,
) -> Option<Finding> {
    let target = parameters.target_pct;
    let utilization = stats.utilization().filter(|&u| u < target)?;
    let severity = if utilization < target / 2.0 {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let (loss, loss_label, loss_time) = biggest_loss(stats);
    let of = shift.label().unwrap_or_else(|| "the time".to_owned());
    let text = format!(
        "{} ran {} of {of} (target {}); {loss}.",
        machine.name,
        percent_below(utilization, target),
        target_text(target),
    );
    let on = shift.on_phrase();
    let evidence = vec![
        Evidence::new(
            format!("utilization{on}"),
            precise_below(utilization, target),
        ),
        Evidence::new("target", target_text(target)),
        Evidence::new(format!("running{on}"), duration(stats.time.running)),
        Evidence::new(format!("scheduled{on}"), duration(stats.scheduled)),
        Evidence::new(format!("{loss_label}{on}"), duration(loss_time)),
    ];
    // The running time short of the target.
    let lost = (stats.scheduled as f64 * target / 100.0) as i64 - stats.time.running;
    Some(finding(severity, machine, text, evidence, lost))
}

/// The largest part of the scheduled time that was not running, as a clause ("it idled
/// 3.1 h"), a label and its time.
fn biggest_loss(stats: &Stats) -> (String, &'static str, i64) {
    let t = &stats.time;
    let candidates = [
        (t.idle, "idle", "it idled"),
        (t.alarm, "alarm", "it was in alarm"),
        (t.offline, "offline", "it was offline"),
        (t.setup, "setup", "it was in setup"),
        (t.paused, "paused", "it was paused"),
        (stats.no_data(), "no data", "there was no data for"),
    ];
    // First of the largest: on a tie idle is named, the most common loss.
    let (time, label, clause) = candidates
        .into_iter()
        .fold(candidates[0], |best, c| if c.0 > best.0 { c } else { best });
    (format!("{clause} {}", duration(time)), label, time)
}

/// "Mill 3 idled 2.4 h in 5 long stops on Second shift; 60 % of it followed alarm 1010."
fn long_stops(
    machine: &Machine,
    shift: &Shift,
    idle: &LongIdle,
    parameters: &Parameters,
) -> Option<Finding> {
    if idle.stops == 0 {
        return None;
    }
    let on = shift.on_phrase();
    let stops = if idle.stops == 1 { "stop" } else { "stops" };
    let mut text = format!(
        "{} idled {} in {} long {stops}{on}",
        machine.name,
        duration(idle.time),
        idle.stops
    );
    let threshold = duration(parameters.long_idle_ns());
    let mut evidence = vec![
        Evidence::new(
            format!("long stops (idle {threshold} or more){on}"),
            idle.stops.to_string(),
        ),
        Evidence::new(format!("idle in long stops{on}"), duration(idle.time)),
    ];
    if let Some(longest) = idle.longest {
        let mut longest_evidence =
            Evidence::new("longest stop", duration(longest.end - longest.start));
        longest_evidence.range = Some(longest);
        evidence.push(longest_evidence);
    }
    if idle.after_alarm > 0 {
        let share = share_text(idle.after_alarm, idle.time);
        text.push_str(&format!(
            "; {share} of it followed {}",
            alarm_phrase(&idle.by_alarm, idle.after_alarm)
        ));
        evidence.push(Evidence::new(
            "of it directly after an alarm",
            format!("{} ({share})", duration(idle.after_alarm)),
        ));
        for (name, time) in idle.by_alarm.iter().take(3) {
            evidence.push(Evidence::new(
                format!("after alarm {name}"),
                duration(*time),
            ));
        }
    }
    text.push('.');
    Some(finding(
        Severity::Warning,
        machine,
        text,
        evidence,
        idle.time,
    ))
}

/// The alarms a long stop followed, for a sentence: "alarm 1010" when one alarm accounts for
/// all of `after_alarm`, "alarms, mostly 1010" when the top one (or ones, tied) account for
/// half or more, "alarms, most often 1010" otherwise, "an alarm" when none is known by name.
fn alarm_phrase(by_alarm: &[(String, i64)], after_alarm: i64) -> String {
    let Some((name, top)) = by_alarm.first() else {
        return "an alarm".to_owned();
    };
    if by_alarm.len() == 1 && *top == after_alarm {
        return format!("alarm {name}");
    }
    let tied: Vec<&str> = by_alarm
        .iter()
        .take_while(|(_, time)| time == top)
        .take(3)
        .map(|(name, _)| name.as_str())
        .collect();
    let share: i64 = by_alarm.iter().take(tied.len()).map(|(_, time)| time).sum();
    let how = if share * 2 >= after_alarm {
        "mostly"
    } else {
        "most often"
    };
    format!("alarms, {how} {}", join_and(&tied))
}

fn join_and(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// "Lathe 2 was offline 30 % of scheduled time — check its power and network, or the data
/// source."
fn offline(machine: &Machine) -> Option<Finding> {
    let stats = &machine.overall;
    let share = chatter_report_kit::format::share(stats.time.offline, stats.scheduled)
        .filter(|&s| s > OFFLINE_SHARE)?;
    let text = format!(
        "{} was offline {} of scheduled time — check its power and network, or the data source.",
        machine.name,
        percent_whole(share)
    );
    let evidence = vec![
        Evidence::new(
            "offline",
            format!("{} ({})", duration(stats.time.offline), percent(share)),
        ),
        Evidence::new("scheduled", duration(stats.scheduled)),
    ];
    Some(finding(
        Severity::Warning,
        machine,
        text,
        evidence,
        stats.time.offline,
    ))
}

/// "Mill 1 had the highest utilization: 78 % of scheduled time."
fn best_machine(machines: &[Machine]) -> Option<Finding> {
    if machines.len() < 2 {
        return None;
    }
    let (best, utilization) = machines
        .iter()
        .filter_map(|m| Some((m, m.overall.utilization()?)))
        // First of the highest: ties go to the machine listed first.
        .fold(None, |best: Option<(&Machine, f64)>, (m, u)| match best {
            Some((_, top)) if top >= u => best,
            _ => Some((m, u)),
        })
        .filter(|&(_, u)| u > 0.0)?;
    let text = format!(
        "{} had the highest utilization: {} of scheduled time.",
        best.name,
        percent_whole(utilization)
    );
    let evidence = vec![
        Evidence::new("utilization", percent(utilization)),
        Evidence::new("running", duration(best.overall.time.running)),
        Evidence::new("scheduled", duration(best.overall.scheduled)),
    ];
    Some(finding(Severity::Info, best, text, evidence, 0))
}

fn finding(
    severity: Severity,
    machine: &Machine,
    text: String,
    evidence: Vec<Evidence>,
    lost: i64,
) -> Finding {
    Finding {
        lost,
        recommendation: Recommendation {
            severity,
            machine: Some(machine.id.clone()),
            text,
            evidence,
        },
    }
}

/// A utilization below `target` for a sentence: whole percent, unless rounding would make it
/// read as the target or above (64.6 % is not "65 %" against a target of 65 %).
fn percent_below(value: f64, target: f64) -> String {
    if value.round() < target {
        percent_whole(value)
    } else {
        precise_below(value, target)
    }
}

/// A utilization below `target` as evidence: one decimal, or two (cut, not rounded) where one
/// would read as the target.
fn precise_below(value: f64, target: f64) -> String {
    if (value * 10.0).round() / 10.0 < target {
        percent(value)
    } else {
        format!("{:.2} %", (value * 100.0).floor() / 100.0)
    }
}

/// The target as set: `65 %`, `62.5 %`.
fn target_text(target: f64) -> String {
    format!("{target} %")
}

/// `part` of `whole` in whole percent for a sentence; "under 1 %" rather than "0 %" for a part
/// that exists.
fn share_text(part: i64, whole: i64) -> String {
    match chatter_report_kit::format::share(part, whole) {
        Some(share) if share < 0.5 => "under 1 %".to_owned(),
        Some(share) => percent_whole(share),
        None => percent_whole(f64::NAN),
    }
}

#[cfg(test)]
mod tests {
    use chatter_sdk::machine_data::{CycleEnd, MachineState};

    use super::*;
    use crate::stats::tests::{cycle, day, events, totals, two_shifts};
    use crate::stats::{MachineData, machine};
    use crate::stops::tests::{MINUTE, fault, interval};

    /// Mill 3: on First it runs 6 h and idles 2 h; on Second it runs 3 h, then alarm 1010 for
    /// 10 min, then idles 90 min, runs 1 h, idles 40 min, runs 1 h, idles 40 min (the last
    /// after nothing). Lathe 2: runs 7 h on First, is offline all of Second.
    fn fleet() -> (Schedule, Vec<Machine>) {
        fleet_with(&Parameters::default())
    }

    /// [`fleet`] with long stops found as `parameters` say.
    fn fleet_with(parameters: &Parameters) -> (Schedule, Vec<Machine>) {
        use MachineState::{Alarm, Idle, Offline, Running};
        let schedule = two_shifts();
        let mill = MachineData {
            id: "m3".to_owned(),
            name: "Mill 3".to_owned(),
            intervals: vec![
                interval(Running, 0, 360),
                interval(Idle, 360, 480),
                interval(Running, 480, 660),
                interval(Alarm, 660, 670),
                interval(Idle, 670, 760),
                interval(Running, 760, 820),
                interval(Idle, 820, 860),
                interval(Running, 860, 920),
                interval(Idle, 920, 960),
            ],
            period_totals: totals(660, 290, 10, 100),
            totals: vec![
                totals(360, 120, 0, 50),
                totals(300, 170, 10, 50),
                totals(660, 290, 10, 100),
            ],
            events: events(
                "m3",
                vec![cycle(0, 4, CycleEnd::Completed)],
                vec![fault("1010", 660, Some(670))],
            ),
        };
        let mut offline_totals = totals(0, 0, 0, 0);
        offline_totals.offline = 480 * MINUTE;
        let mut overall_totals = totals(420, 60, 0, 70);
        overall_totals.offline = 480 * MINUTE;
        let lathe = MachineData {
            id: "l2".to_owned(),
            name: "Lathe 2".to_owned(),
            intervals: vec![
                interval(Running, 0, 420),
                interval(Idle, 420, 480),
                interval(Offline, 480, 960),
            ],
            period_totals: overall_totals,
            totals: vec![totals(420, 60, 0, 70), offline_totals, overall_totals],
            events: events("l2", vec![], vec![]),
        };
        let machines = [mill, lathe]
            .into_iter()
            .map(|data| machine(&schedule, day(), parameters.long_idle_ns(), data).unwrap())
            .collect();
        (schedule, machines)
    }

    fn texts(advice: &Advice) -> Vec<&str> {
        advice
            .recommendations
            .iter()
            .map(|r| r.text.as_str())
            .collect()
    }

    #[test]
    fn the_fleet_earns_these_recommendations_in_this_order() {
        let (schedule, machines) = fleet();
        let advice = advise(&machines, &schedule, &Parameters::default());
        assert_eq!(
            texts(&advice),
            [
                // Critical: Lathe 2 on Second, 0 % < 32.5 %.
                "Lathe 2 ran 0 % of Second shift (target 65 %); it was offline 8.0 h.",
                // Warnings by time lost: 8 h offline,
                "Lathe 2 was offline 50 % of scheduled time — check its power and network, \
                 or the data source.",
                // 90 + 40 + 40 min = 170 min idle, 90 of them after alarm 1010: 53 %,
                "Mill 3 idled 2.8 h in 3 long stops on Second shift; 53 % of it followed \
                 alarm 1010.",
                "Mill 3 idled 2.0 h in 1 long stop on First shift.",
                "Lathe 2 idled 1.0 h in 1 long stop on First shift.",
                // and 300 of 480 min running is 62.5 %, 12 min short of 65 %.
                "Mill 3 ran 62 % of Second shift (target 65 %); it idled 2.8 h.",
                // Mill 3: 660 of 960 min, 68.75 %; Lathe 2: 420 of 960 min.
                "Mill 3 had the highest utilization: 69 % of scheduled time.",
            ]
        );
        assert_eq!(advice.omitted, 0);
        let first = &advice.recommendations[0];
        assert_eq!(first.severity, Severity::Critical);
        assert_eq!(first.machine.as_deref(), Some("l2"));
        let evidence: Vec<(&str, &str)> = first
            .evidence
            .iter()
            .map(|e| (e.label.as_str(), e.value.as_str()))
            .collect();
        assert_eq!(
            evidence,
            [
                ("utilization on Second shift", "0.0 %"),
                ("target", "65 %"),
                ("running on Second shift", "0 s"),
                ("scheduled on Second shift", "8.0 h"),
                ("offline on Second shift", "8.0 h"),
            ]
        );
        assert_eq!(advice.recommendations[5].severity, Severity::Warning);
        assert_eq!(advice.recommendations[6].severity, Severity::Info);
    }

    #[test]
    fn long_stop_evidence_names_the_alarm_and_the_longest_stop() {
        let (schedule, machines) = fleet();
        let advice = advise(&machines, &schedule, &Parameters::default());
        let stops = &advice.recommendations[2];
        let evidence: Vec<(&str, &str)> = stops
            .evidence
            .iter()
            .map(|e| (e.label.as_str(), e.value.as_str()))
            .collect();
        assert_eq!(
            evidence,
            [
                ("long stops (idle 30 min or more) on Second shift", "3"),
                ("idle in long stops on Second shift", "2.8 h"),
                ("longest stop", "1.5 h"),
                ("of it directly after an alarm", "1.5 h (53 %)"),
                ("after alarm 1010", "1.5 h"),
            ]
        );
        let longest = stops.evidence[2].range.unwrap();
        assert_eq!((longest.start, longest.end), (670 * MINUTE, 760 * MINUTE));
    }

    #[test]
    fn a_higher_threshold_and_target_change_the_findings() {
        let parameters = Parameters {
            target_pct: 60.0,
            long_idle_min: 100,
        };
        let (schedule, machines) = fleet_with(&parameters);
        let advice = advise(&machines, &schedule, &parameters);
        assert_eq!(
            texts(&advice),
            [
                "Lathe 2 ran 0 % of Second shift (target 60 %); it was offline 8.0 h.",
                "Lathe 2 was offline 50 % of scheduled time — check its power and network, \
                 or the data source.",
                "Mill 3 idled 2.0 h in 1 long stop on First shift.",
                "Mill 3 had the highest utilization: 69 % of scheduled time.",
            ]
        );
    }

    #[test]
    fn without_shifts_sentences_speak_of_the_time() {
        let stats = Stats {
            scheduled: 600 * MINUTE,
            time: crate::stats::StateTimes {
                running: 100 * MINUTE,
                ..Default::default()
            },
            ..Default::default()
        };
        let schedule = Schedule::new(day(), &[], None);
        let machine = Machine {
            id: "m".to_owned(),
            name: "Mill 1".to_owned(),
            overall: stats.clone(),
            shifts: vec![],
            intervals: vec![],
            truncated: false,
        };
        let finding = below_target(
            &machine,
            &schedule.shifts[0],
            &stats,
            &Parameters::default(),
        )
        .unwrap();
        assert_eq!(
            finding.recommendation.text,
            "Mill 1 ran 17 % of the time (target 65 %); there was no data for 8.3 h."
        );
        assert_eq!(finding.recommendation.severity, Severity::Critical);
    }

    #[test]
    fn alarm_phrases_name_the_most_frequent_alarms() {
        let named = |pairs: &[(&str, i64)]| -> Vec<(String, i64)> {
            pairs.iter().map(|(n, t)| (n.to_string(), *t)).collect()
        };
        assert_eq!(alarm_phrase(&[], 5), "an alarm");
        assert_eq!(alarm_phrase(&named(&[("1010", 5)]), 5), "alarm 1010");
        // Part of the time followed an alarm of unknown name.
        assert_eq!(
            alarm_phrase(&named(&[("1010", 5)]), 8),
            "alarms, mostly 1010"
        );
        assert_eq!(
            alarm_phrase(&named(&[("1010", 5), ("2020", 3)]), 8),
            "alarms, mostly 1010"
        );
        assert_eq!(
            alarm_phrase(&named(&[("1010", 3), ("2020", 2), ("3030", 2)]), 7),
            "alarms, most often 1010"
        );
        assert_eq!(
            alarm_phrase(
                &named(&[("1010", 5), ("2020", 5), ("3030", 5), ("4040", 1)]),
                16
            ),
            "alarms, mostly 1010, 2020 and 3030"
        );
    }

    #[test]
    fn percentages_near_the_target_are_not_rounded_up_to_it() {
        assert_eq!(percent_below(64.58, 65.0), "64.6 %");
        assert_eq!(percent_below(64.987, 65.0), "64.98 %");
        assert_eq!(percent_below(41.2, 65.0), "41 %");
        assert_eq!(target_text(62.5), "62.5 %");
        assert_eq!(share_text(1, 1000), "under 1 %");
    }

    #[test]
    fn at_most_twenty_recommendations_are_kept() {
        let (schedule, machines) = fleet();
        let many: Vec<Machine> = (0..10).flat_map(|_| machines.clone()).collect();
        let advice = advise(&many, &schedule, &Parameters::default());
        assert_eq!(advice.recommendations.len(), MAX_RECOMMENDATIONS);
        // 6 findings per pair of machines, 10 pairs, and one best machine.
        assert_eq!(advice.omitted, 61 - MAX_RECOMMENDATIONS);
        assert!(
            advice.recommendations[..10]
                .iter()
                .all(|r| r.severity == Severity::Critical)
        );
    }
}
