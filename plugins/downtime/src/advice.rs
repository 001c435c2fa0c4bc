//! The recommendations: rules over the stops and alarms, each sentence written for a shop
//! supervisor and backed by the figures it rests on. Nothing is said that the data does not
//! show: an alarm is named by its code and its own text, never by a guessed cause.
//!
//! Per machine:
//!
//! - the alarm that cost it the most time, when at least [`ALARM_MIN_LOST`]: warning, critical
//!   from [`ALARM_CRITICAL_SHARE`] of planned time;
//! - stops that mostly came with alarms: at least [`ALARM_STOP_SHARE`] of its stop time and at
//!   least [`ALARM_STOP_MIN`]: warning;
//! - many microstops on a shift: at least [`MICROSTOPS_MIN`] of them taking at least
//!   [`MICROSTOP_SHARE`] of the shift's planned time: warning, critical from
//!   [`MICROSTOP_CRITICAL_SHARE`];
//! - setup taking at least [`SETUP_SHARE`] of planned time: warning.
//!
//! They are ordered by severity, then by the time at stake, and at most
//! [`MAX_RECOMMENDATIONS`] are kept.

use std::cmp::Reverse;

use chatter_report_kit::format::{duration, percent, percent_whole};
use chatter_report_kit::schedule::{Schedule, Shift};
use chatter_sdk::output::{Evidence, Recommendation, Severity};

use crate::params::Parameters;
use crate::stats::{Figures, Machine};

/// Most recommendations a run hands over.
pub const MAX_RECOMMENDATIONS: usize = 20;
const MINUTE: i64 = 60_000_000_000;
const HOUR: i64 = 60 * MINUTE;
/// The least time an alarm must have cost a machine to be pointed out.
pub const ALARM_MIN_LOST: i64 = 15 * MINUTE;
/// The share of planned time from which an alarm's cost is critical.
pub const ALARM_CRITICAL_SHARE: f64 = 0.10;
/// The share of its stop time that must have come with alarms for a machine to be told so.
pub const ALARM_STOP_SHARE: f64 = 0.5;
/// The least time of stops with alarms for that.
pub const ALARM_STOP_MIN: i64 = 30 * MINUTE;
/// The fewest microstops on a shift that earn a recommendation …
pub const MICROSTOPS_MIN: u64 = 10;
/// … when they also take at least this share of the shift's planned time.
pub const MICROSTOP_SHARE: f64 = 0.05;
/// The share of planned time from which microstops are critical.
pub const MICROSTOP_CRITICAL_SHARE: f64 = 0.15;
/// The share of planned time in setup that earns a recommendation.
pub const SETUP_SHARE: f64 = 0.15;

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
        findings.extend(costliest_alarm(machine));
        findings.extend(mostly_alarms(machine));
        for (shift, figures) in schedule.shifts.iter().zip(&machine.shifts) {
            findings.extend(microstops(machine, shift, figures, parameters));
        }
        findings.extend(setup(machine));
    }
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

/// "Alarm 1010 (spindle overload) stopped Mill 3 four times for 2.4 h in total; find out what
/// raises it."
fn costliest_alarm(machine: &Machine) -> Option<Finding> {
    let alarm = machine
        .alarm_summaries
        .first()
        .filter(|a| a.lost >= ALARM_MIN_LOST)?;
    let severity = match share(alarm.lost, machine.overall.planned) {
        Some(s) if s >= ALARM_CRITICAL_SHARE => Severity::Critical,
        _ => Severity::Warning,
    };
    let text = format!(
        "Alarm {} stopped {} {} for {} in total; find out what raises it.",
        alarm.name.label(),
        machine.name,
        times(alarm.stops),
        duration(alarm.lost)
    );
    let mut evidence = vec![
        Evidence::new("stops attributed to it", alarm.stops.to_string()),
        Evidence::new("time lost", duration(alarm.lost)),
        Evidence::new("times raised", alarm.count.to_string()),
        Evidence::new("time active", duration(alarm.active)),
    ];
    if let Some(longest) = alarm.longest {
        let mut longest_evidence =
            Evidence::new("longest stop", duration(longest.end - longest.start));
        longest_evidence.range = Some(longest);
        evidence.push(longest_evidence);
    }
    Some(finding(severity, machine, text, evidence, alarm.lost))
}

/// "Most of Mill 3's stop time came with alarms: 3.1 h of 4.2 h (74 %), 2.4 h of it with
/// 1010 (spindle overload)."
fn mostly_alarms(machine: &Machine) -> Option<Finding> {
    let all = &machine.overall;
    let with_alarms = all.after_alarm;
    if with_alarms < ALARM_STOP_MIN || share(with_alarms, all.stop_time)? < ALARM_STOP_SHARE {
        return None;
    }
    let top = machine.alarm_summaries.first()?;
    let of_it = if top.lost == with_alarms {
        format!("all of it with {}", top.name.label())
    } else {
        format!("{} of it with {}", duration(top.lost), top.name.label())
    };
    let text = format!(
        "Most of {}'s stop time came with alarms: {} of {} ({}), {of_it}.",
        machine.name,
        duration(with_alarms),
        duration(all.stop_time),
        share_text(with_alarms, all.stop_time)
    );
    let alarms = machine
        .alarm_summaries
        .iter()
        .filter(|a| a.lost > 0)
        .count();
    let evidence = vec![
        Evidence::new("stop time", duration(all.stop_time)),
        Evidence::new("of it with an alarm", duration(with_alarms)),
        Evidence::new("alarms that stopped it", alarms.to_string()),
    ];
    Some(finding(
        Severity::Warning,
        machine,
        text,
        evidence,
        with_alarms,
    ))
}

/// "Mill 2 had 46 microstops under 2 min, 1.3 h in total on Second shift — look for short
/// interruptions: chip clearing, tool checks, door opens."
fn microstops(
    machine: &Machine,
    shift: &Shift,
    figures: &Figures,
    parameters: &Parameters,
) -> Option<Finding> {
    let part = share(figures.microstop_time, figures.planned)?;
    if figures.microstops < MICROSTOPS_MIN || part < MICROSTOP_SHARE {
        return None;
    }
    let severity = if part >= MICROSTOP_CRITICAL_SHARE {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let on = shift.on_phrase();
    let text = format!(
        "{} had {} microstops under {}, {} in total{on} — look for short interruptions: chip \
         clearing, tool checks, door opens.",
        machine.name,
        figures.microstops,
        parameters.microstop_text(),
        duration(figures.microstop_time)
    );
    let per_hour = figures.microstops as f64 * HOUR as f64 / figures.planned as f64;
    let evidence = vec![
        Evidence::new(format!("microstops{on}"), figures.microstops.to_string()),
        Evidence::new(
            format!("their time{on}"),
            format!(
                "{} ({})",
                duration(figures.microstop_time),
                percent(part * 100.0)
            ),
        ),
        Evidence::new("per planned hour", format!("{per_hour:.1}")),
    ];
    Some(finding(
        severity,
        machine,
        text,
        evidence,
        figures.microstop_time,
    ))
}

/// "Mill 2 spent 18 % of its planned time in setup: 5.1 h; the longest setup stop took 1.2 h."
fn setup(machine: &Machine) -> Option<Finding> {
    let all = &machine.overall;
    let setup = all.time.setup;
    let part = share(setup, all.planned).filter(|&s| s >= SETUP_SHARE)?;
    let with_setup: Vec<_> = machine.stops.iter().filter(|s| s.time.setup > 0).collect();
    let mut text = format!(
        "{} spent {} of its planned time in setup: {}",
        machine.name,
        percent_whole(part * 100.0),
        duration(setup)
    );
    let longest = with_setup.iter().max_by_key(|s| s.time.setup);
    if let Some(longest) = longest {
        text.push_str(&format!(
            "; the longest setup stop took {}",
            duration(longest.duration())
        ));
    }
    text.push('.');
    let mut evidence = vec![
        Evidence::new(
            "setup",
            format!("{} ({})", duration(setup), percent(part * 100.0)),
        ),
        Evidence::new("planned time", duration(all.planned)),
        Evidence::new("stops with setup", with_setup.len().to_string()),
    ];
    if let Some(longest) = longest {
        let mut longest_evidence =
            Evidence::new("longest setup stop", duration(longest.duration()));
        longest_evidence.range = Some(longest.range);
        evidence.push(longest_evidence);
    }
    Some(finding(Severity::Warning, machine, text, evidence, setup))
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

/// "once", "twice", "three times" … "ten times", "11 times".
pub fn times(count: u64) -> String {
    const WORDS: [&str; 8] = [
        "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    ];
    match count {
        1 => "once".to_owned(),
        2 => "twice".to_owned(),
        3..=10 => format!("{} times", WORDS[count as usize - 3]),
        n => format!("{n} times"),
    }
}

/// `part ÷ whole`, `None` when `whole` is not positive.
fn share(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// `part` of `whole` in whole percent for a sentence.
fn share_text(part: i64, whole: i64) -> String {
    percent_whole(share(part, whole).map_or(f64::NAN, |s| s * 100.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample_report;

    fn texts(advice: &Advice) -> Vec<&str> {
        advice
            .recommendations
            .iter()
            .map(|r| r.text.as_str())
            .collect()
    }

    #[test]
    fn the_sample_earns_these_recommendations_in_this_order() {
        let report = sample_report();
        assert_eq!(
            texts(&report.advice),
            [
                // Mill 2: 90 + 60 + 100 + 60 min of setup in 32 h planned.
                "Mill 2 spent 16 % of its planned time in setup: 5.2 h; the longest setup stop \
                 took 1.7 h.",
                // Mill 3: 1010 before the 40 and 30 min stops each day.
                "Alarm 1010 (spindle overload) stopped Mill 3 four times for 2.3 h in total; \
                 find out what raises it.",
                "Most of Mill 3's stop time came with alarms: 2.3 h of 4.3 h (54 %), all of it \
                 with 1010 (spindle overload).",
                // Mill 2 on Second: a minute idle after every 9 running, 48 a day.
                "Mill 2 had 96 microstops under 2 min, 1.6 h in total on Second shift — look \
                 for short interruptions: chip clearing, tool checks, door opens.",
            ]
        );
        assert!(
            report
                .advice
                .recommendations
                .iter()
                .all(|r| r.severity == Severity::Warning)
        );
        let alarm = &report.advice.recommendations[1];
        assert_eq!(alarm.machine.as_deref(), Some("m3"));
        let evidence: Vec<(&str, &str)> = alarm
            .evidence
            .iter()
            .map(|e| (e.label.as_str(), e.value.as_str()))
            .collect();
        assert_eq!(
            evidence,
            [
                ("stops attributed to it", "4"),
                ("time lost", "2.3 h"),
                ("times raised", "4"),
                ("time active", "30 min"),
                ("longest stop", "40 min"),
            ]
        );
    }

    #[test]
    fn a_threshold_of_90_seconds_is_said_exactly() {
        let mut report = sample_report();
        report.parameters.microstop_s = 90;
        let advice = advise(&report.machines, &report.schedule, &report.parameters);
        assert!(texts(&advice)[3].contains("96 microstops under 90 s"));
    }

    #[test]
    fn counts_read_as_words_up_to_ten() {
        assert_eq!(times(1), "once");
        assert_eq!(times(2), "twice");
        assert_eq!(times(4), "four times");
        assert_eq!(times(10), "ten times");
        assert_eq!(times(11), "11 times");
    }

    #[test]
    fn at_most_twenty_recommendations_are_kept() {
        let report = sample_report();
        let many: Vec<Machine> = (0..10).flat_map(|_| report.machines.clone()).collect();
        let advice = advise(&many, &report.schedule, &report.parameters);
        assert_eq!(advice.recommendations.len(), MAX_RECOMMENDATIONS);
        assert_eq!(advice.omitted, 40 - MAX_RECOMMENDATIONS);
        // Setup findings (5.2 h each) come first.
        assert!(
            advice.recommendations[..10]
                .iter()
                .all(|r| r.text.contains("setup"))
        );
    }
}
