//! The recommendations: rules over the computed figures, each sentence written for a shop
//! supervisor and backed by the figures it rests on. Nothing is said that the data does not
//! show, and what could not be measured is said so the supervisor can configure it.
//!
//! Per machine, over all its planned time:
//!
//! - its biggest loss (availability, performance or quality, in hours) when it is at least
//!   [`LOSS_SHARE`] of planned time: warning, critical from [`CRITICAL_LOSS_SHARE`];
//!   availability names the largest state it was in instead of running, performance the
//!   programs furthest from their ideal;
//! - performance below [`PERFORMANCE_TARGET`] (unless that was its biggest loss): warning,
//!   critical below half of it, with the programs furthest from their ideal;
//! - quality below [`QUALITY_TARGET`] (unless that was its biggest loss): warning, critical
//!   below [`QUALITY_CRITICAL`];
//! - performance above 100 %: info, the ideal times look too high;
//! - parts without an ideal time, completed cycles without parts: info, what to configure or
//!   check.
//!
//! For the fleet: machines without recorded scrap, in one info.
//!
//! They are ordered by severity, then by the time at stake, and at most
//! [`MAX_RECOMMENDATIONS`] are kept.

use std::cmp::Reverse;

use chatter_report_kit::format::{cycle_time, duration, percent, percent_whole};
use chatter_sdk::output::{Evidence, Recommendation, Severity};

use crate::programs::{Program, join_and, list_with_parts, parts_phrase};
use crate::report::Machine;
use crate::stats::Oee;

/// Most recommendations a run hands over.
pub const MAX_RECOMMENDATIONS: usize = 20;
/// The least share of planned time a machine's biggest loss must have to be pointed out.
pub const LOSS_SHARE: f64 = 0.05;
/// The share of planned time from which the biggest loss is critical.
pub const CRITICAL_LOSS_SHARE: f64 = 0.30;
/// Performance below this earns a recommendation (critical below half of it).
pub const PERFORMANCE_TARGET: f64 = 0.80;
/// Quality below this earns a recommendation.
pub const QUALITY_TARGET: f64 = 0.98;
/// Quality below this is critical.
pub const QUALITY_CRITICAL: f64 = 0.90;
/// How many programs a sentence names at most.
const PROGRAMS_NAMED: usize = 2;

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

/// The three losses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Loss {
    Availability,
    Performance,
    Quality,
}

/// Every rule over every machine, and the fleet's.
pub fn advise(machines: &[Machine]) -> Advice {
    let mut findings = Vec::new();
    for machine in machines {
        let biggest = biggest_loss(&machine.overall);
        if let Some((loss, lost)) = biggest {
            findings.push(loss_finding(machine, loss, lost));
        }
        let already = |loss: Loss| biggest.is_some_and(|(b, _)| b == loss);
        if !already(Loss::Performance) {
            findings.extend(slow(machine));
        }
        if !already(Loss::Quality) {
            findings.extend(scrap(machine));
        }
        findings.extend(capped(machine));
        findings.extend(missing_ideal(machine));
        findings.extend(cycles_without_parts(machine));
    }
    findings.extend(scrap_not_recorded(machines));
    // Stable: equal findings keep the order of the machines.
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

/// The largest of the known losses, when it is at least [`LOSS_SHARE`] of planned time. Ties
/// go to availability, then performance.
fn biggest_loss(oee: &Oee) -> Option<(Loss, i64)> {
    let candidates = [
        (Loss::Availability, Some(oee.availability_loss())),
        (Loss::Performance, oee.performance_loss()),
        (Loss::Quality, oee.quality_loss()),
    ];
    let (loss, lost) = candidates
        .into_iter()
        .filter_map(|(loss, lost)| Some((loss, lost?)))
        .fold(None, |best: Option<(Loss, i64)>, (loss, lost)| match best {
            Some((_, most)) if most >= lost => best,
            _ => Some((loss, lost)),
        })?;
    (share(lost, oee.planned)? >= LOSS_SHARE).then_some((loss, lost))
}

fn loss_finding(machine: &Machine, loss: Loss, lost: i64) -> Finding {
    let oee = &machine.overall;
    let severity = match share(lost, oee.planned) {
        Some(s) if s >= CRITICAL_LOSS_SHARE => Severity::Critical,
        _ => Severity::Warning,
    };
    let name = &machine.name;
    let mut evidence = vec![Evidence::new("planned time", duration(oee.planned))];
    let text = match loss {
        Loss::Availability => {
            evidence.push(Evidence::new("run time", duration(oee.run)));
            evidence.push(Evidence::new("availability", factor(oee.availability)));
            let (phrase, time) = largest_stop_state(oee);
            evidence.push(Evidence::new(phrase, duration(time)));
            let most = if time * 2 >= lost {
                "most of it was"
            } else {
                "the largest part was"
            };
            format!(
                "{name} lost {} to availability (ran {} of planned time); {most} {phrase} ({}).",
                duration(lost),
                whole(oee.availability),
                duration(time)
            )
        }
        Loss::Performance => {
            evidence.extend(performance_evidence(oee));
            let mut text = format!(
                "{name} lost {} to performance (parts at {} of ideal speed)",
                duration(lost),
                whole(oee.performance)
            );
            push_programs(&mut text, &mut evidence, &slowest(&machine.programs));
            text
        }
        Loss::Quality => {
            evidence.extend(quality_evidence(oee));
            format!(
                "{name} lost {} to quality: {} of {} were scrap ({} good).",
                duration(lost),
                oee.scrap.unwrap_or(0),
                parts_phrase(oee.parts),
                factor(oee.quality)
            )
        }
    };
    finding(severity, Some(machine), text, evidence, lost)
}

/// The largest part of the planned time the machine did not run, as a phrase for "most of it
/// was …", and its time. Ties go to the first: idle, alarm, offline, setup, no data.
fn largest_stop_state(oee: &Oee) -> (&'static str, i64) {
    let t = &oee.time;
    let candidates = [
        ("idle", t.idle),
        ("in alarm", t.alarm),
        ("offline", t.offline),
        ("in setup", t.setup),
        ("without data", oee.no_data()),
    ];
    candidates
        .into_iter()
        .fold(candidates[0], |best, c| if c.1 > best.1 { c } else { best })
}

/// "Mill 1 made parts at 62 % of ideal speed (below 80 %); O1000 ran 5:10 on average against
/// an ideal of 4:00."
fn slow(machine: &Machine) -> Option<Finding> {
    let oee = &machine.overall;
    let performance = oee.performance.filter(|&p| p < PERFORMANCE_TARGET)?;
    let severity = if performance < PERFORMANCE_TARGET / 2.0 {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let mut text = format!(
        "{} made parts at {} of ideal speed (below {})",
        machine.name,
        whole(Some(performance)),
        percent_whole(PERFORMANCE_TARGET * 100.0)
    );
    let mut evidence = performance_evidence(oee);
    push_programs(&mut text, &mut evidence, &slowest(&machine.programs));
    let lost = oee.performance_loss().unwrap_or(0);
    Some(finding(severity, Some(machine), text, evidence, lost))
}

/// "Mill 1 scrapped 5 of 120 parts: 95.8 % good, below 98 %."
fn scrap(machine: &Machine) -> Option<Finding> {
    let oee = &machine.overall;
    let quality = oee.quality.filter(|&q| q < QUALITY_TARGET)?;
    let severity = if quality < QUALITY_CRITICAL {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let text = format!(
        "{} scrapped {} of {}: {} good, below {}.",
        machine.name,
        oee.scrap.unwrap_or(0),
        parts_phrase(oee.parts),
        factor(Some(quality)),
        percent_whole(QUALITY_TARGET * 100.0)
    );
    let lost = oee.quality_loss().unwrap_or(0);
    Some(finding(
        severity,
        Some(machine),
        text,
        quality_evidence(oee),
        lost,
    ))
}

/// "Mill 1 made parts faster than its ideal cycle times allow (112 % of ideal speed, counted
/// as 100 %): O1000 ran 3:40 on average against an ideal of 4:00. Check the ideal cycle times."
fn capped(machine: &Machine) -> Option<Finding> {
    let oee = &machine.overall;
    let uncapped = oee.uncapped_performance.filter(|_| oee.capped())?;
    let mut faster: Vec<&Program> = machine
        .programs
        .iter()
        .filter(|p| p.lost().is_some_and(|lost| lost < 0))
        .collect();
    faster.sort_by_key(|p| p.lost());
    faster.truncate(PROGRAMS_NAMED);
    let mut text = format!(
        "{} made parts faster than its ideal cycle times allow ({} of ideal speed, counted as \
         100 %)",
        machine.name,
        whole(Some(uncapped))
    );
    let mut evidence = performance_evidence(oee);
    push_programs(&mut text, &mut evidence, &faster);
    text.push_str(" Check the ideal cycle times.");
    Some(finding(Severity::Info, Some(machine), text, evidence, 0))
}

/// "Set an ideal cycle time for O2000 (14 parts) to measure Mill 1's performance."
fn missing_ideal(machine: &Machine) -> Option<Finding> {
    let missing: Vec<&Program> = machine
        .programs
        .iter()
        .filter(|p| p.ideal.is_none() && p.parts > 0)
        .collect();
    if missing.is_empty() {
        return None;
    }
    let (named, unnamed): (Vec<&Program>, Vec<&Program>) =
        missing.iter().partition(|p| p.name.is_some());
    let unnamed_parts: u64 = unnamed.iter().map(|p| p.parts).sum();
    let what = match (named.len(), unnamed_parts) {
        (0, parts) => format!(
            "Set the default-ideal-cycle-s parameter for the {} without a program name",
            parts_phrase(parts)
        ),
        (1, 0) => format!("Set an ideal cycle time for {}", list_with_parts(&named)),
        (_, 0) => format!("Set ideal cycle times for {}", list_with_parts(&named)),
        (_, parts) => format!(
            "Set ideal cycle times for {}, and the default-ideal-cycle-s parameter for the {} \
             without a program name,",
            list_with_parts(&named),
            parts_phrase(parts)
        ),
    };
    let whose = if machine.overall.performance.is_some() {
        format!("{}'s performance over all its parts", machine.name)
    } else {
        format!("{}'s performance", machine.name)
    };
    let text = format!("{what} to measure {whose}.");
    let evidence = missing
        .iter()
        .map(|p| {
            Evidence::new(
                format!("parts of {} without an ideal time", p.label()),
                p.parts.to_string(),
            )
        })
        .collect();
    let at_stake = missing.iter().map(|p| p.time).sum();
    Some(finding(
        Severity::Info,
        Some(machine),
        text,
        evidence,
        at_stake,
    ))
}

/// "Mill 2 completed 40 cycles but counted no parts, so its performance and quality are
/// unknown; check that its part count reaches Chatter."
fn cycles_without_parts(machine: &Machine) -> Option<Finding> {
    let oee = &machine.overall;
    if oee.cycles == 0 || oee.parts > 0 {
        return None;
    }
    let cycles = if oee.cycles == 1 {
        "1 cycle".to_owned()
    } else {
        format!("{} cycles", oee.cycles)
    };
    let text = format!(
        "{} completed {cycles} but counted no parts, so its performance and quality are \
         unknown; check that its part count reaches Chatter.",
        machine.name
    );
    let evidence = vec![
        Evidence::new("completed cycles", oee.cycles.to_string()),
        Evidence::new(
            "part counter rises in planned time",
            oee.counter_parts.to_string(),
        ),
    ];
    Some(finding(Severity::Info, Some(machine), text, evidence, 0))
}

/// "Scrap is not recorded for Lathe 2: add it to the scrap parameter (e.g. l2=0) to measure its
/// quality."
fn scrap_not_recorded(machines: &[Machine]) -> Option<Finding> {
    let unrecorded: Vec<&Machine> = machines
        .iter()
        .filter(|m| m.overall.scrap.is_none() && m.overall.parts > 0)
        .collect();
    let names: Vec<String> = unrecorded.iter().map(|m| m.name.clone()).collect();
    let example: Vec<String> = unrecorded
        .iter()
        .take(3)
        .map(|m| format!("{}=0", m.id))
        .collect();
    let (whose, only) = match unrecorded.as_slice() {
        [] => return None,
        [one] => ("its", Some(*one)),
        _ => ("their", None),
    };
    let text = format!(
        "Scrap is not recorded for {}: add it to the scrap parameter (e.g. {}) to measure \
         {whose} quality.",
        join_and(&names),
        example.join(", ")
    );
    let evidence = unrecorded
        .iter()
        .map(|m| Evidence::new(format!("parts of {}", m.name), m.overall.parts.to_string()))
        .collect();
    Some(finding(Severity::Info, only, text, evidence, 0))
}

/// The programs with an ideal time furthest from it (most time lost), at most
/// [`PROGRAMS_NAMED`].
fn slowest(programs: &[Program]) -> Vec<&Program> {
    let mut slow: Vec<&Program> = programs
        .iter()
        .filter(|p| p.lost().is_some_and(|lost| lost > 0))
        .collect();
    slow.sort_by_key(|p| Reverse(p.lost()));
    slow.truncate(PROGRAMS_NAMED);
    slow
}

/// Ends `text` with "; O1000 ran 5:10 on average against an ideal of 4:00." for each of
/// `programs` (or just "."), and adds their figures to `evidence`.
fn push_programs(text: &mut String, evidence: &mut Vec<Evidence>, programs: &[&Program]) {
    let sentences: Vec<String> = programs.iter().filter_map(|p| against_ideal(p)).collect();
    if !sentences.is_empty() {
        text.push_str("; ");
        text.push_str(&sentences.join("; "));
    }
    text.push('.');
    for program in programs {
        evidence.push(Evidence::new(
            format!("{} parts", program.label()),
            program.parts.to_string(),
        ));
    }
}

/// "O1000 ran 5:10 on average against an ideal of 4:00" — per part when its cycles made more
/// than one part each, since the ideal time is per part.
fn against_ideal(program: &Program) -> Option<String> {
    let ideal = cycle_time(program.ideal?);
    let per_part = cycle_time(program.time_per_part()?);
    let one_part_each = program.parts == program.cycles;
    Some(if one_part_each {
        format!(
            "{} ran {per_part} on average against an ideal of {ideal}",
            program.label()
        )
    } else {
        format!(
            "{} ran {per_part} a part on average against an ideal of {ideal}",
            program.label()
        )
    })
}

fn performance_evidence(oee: &Oee) -> Vec<Evidence> {
    vec![
        Evidence::new("performance", factor(oee.uncapped_performance)),
        Evidence::new("ideal time of the parts", duration(oee.measured_ideal)),
        Evidence::new("run time measured", duration(oee.measured_run)),
    ]
}

fn quality_evidence(oee: &Oee) -> Vec<Evidence> {
    vec![
        Evidence::new("parts", oee.parts.to_string()),
        Evidence::new("scrap", oee.scrap.unwrap_or(0).to_string()),
        Evidence::new("quality", factor(oee.quality)),
    ]
}

fn finding(
    severity: Severity,
    machine: Option<&Machine>,
    text: String,
    evidence: Vec<Evidence>,
    lost: i64,
) -> Finding {
    Finding {
        lost,
        recommendation: Recommendation {
            severity,
            machine: machine.map(|m| m.id.clone()),
            text,
            evidence,
        },
    }
}

/// A factor as evidence, one decimal: `61.3 %`.
fn factor(value: Option<f64>) -> String {
    percent(value.map_or(f64::NAN, |v| v * 100.0))
}

/// A factor in a sentence, whole percent: `61 %`.
fn whole(value: Option<f64>) -> String {
    percent_whole(value.map_or(f64::NAN, |v| v * 100.0))
}

/// `part ÷ whole`, `None` when `whole` is not positive.
fn share(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
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
                // Lathe 2: 1050 of 2880 min planned not run (36 %), 780 min of it offline.
                "Lathe 2 lost 17.5 h to availability (ran 64 % of planned time); most of it \
                 was offline (13.0 h).",
                // Mill 1: 2460 min run for 492 × 3:50 = 1886 min of ideal time.
                "Mill 1 lost 9.6 h to performance (parts at 77 % of ideal speed); O1000 ran \
                 5:00 on average against an ideal of 3:50.",
                "Mill 1 scrapped 12 of 492 parts: 97.6 % good, below 98 %.",
                "Set an ideal cycle time for O2000 (12 parts) to measure Lathe 2's performance \
                 over all its parts.",
                "Scrap is not recorded for Lathe 2: add it to the scrap parameter (e.g. l2=0) to \
                 measure its quality.",
            ]
        );
        assert_eq!(report.advice.omitted, 0);
        let first = &report.advice.recommendations[0];
        assert_eq!(first.severity, Severity::Critical);
        assert_eq!(first.machine.as_deref(), Some("l2"));
    }

    fn machine(overall: Oee, programs: Vec<Program>) -> Machine {
        Machine {
            id: "m1".to_owned(),
            name: "Mill 1".to_owned(),
            overall,
            shifts: vec![],
            programs,
            truncated: false,
        }
    }

    const MINUTE: i64 = 60_000_000_000;

    fn program(
        name: Option<&str>,
        cycles: u64,
        parts: u64,
        minutes: i64,
        ideal: Option<i64>,
    ) -> Program {
        Program {
            name: name.map(str::to_owned),
            cycles,
            parts,
            time: minutes * MINUTE,
            time_with_parts: minutes * MINUTE,
            ideal: ideal.map(|m| m * MINUTE),
        }
    }

    #[test]
    fn availability_names_the_largest_state_instead_of_running() {
        let mut oee = Oee {
            planned: 480 * MINUTE,
            run: 293 * MINUTE,
            availability: Some(293.0 / 480.0),
            ..Oee::default()
        };
        oee.time.running = 293 * MINUTE;
        oee.time.idle = 120 * MINUTE;
        oee.time.alarm = 67 * MINUTE;
        let advice = advise(&[machine(oee, vec![])]);
        assert_eq!(
            texts(&advice),
            [
                "Mill 1 lost 3.1 h to availability (ran 61 % of planned time); most of it was \
              idle (2.0 h)."
            ]
        );
        assert_eq!(advice.recommendations[0].severity, Severity::Critical);
    }

    #[test]
    fn a_small_loss_is_not_pointed_out_and_a_middling_one_is_a_warning() {
        let oee = |run: i64| {
            let mut oee = Oee {
                planned: 100 * MINUTE,
                run: run * MINUTE,
                availability: Some(run as f64 / 100.0),
                ..Oee::default()
            };
            oee.time.running = run * MINUTE;
            oee
        };
        assert!(
            advise(&[machine(oee(96), vec![])])
                .recommendations
                .is_empty()
        );
        let advice = advise(&[machine(oee(80), vec![])]);
        assert_eq!(advice.recommendations[0].severity, Severity::Warning);
        assert_eq!(
            advice.recommendations[0].text,
            "Mill 1 lost 20 min to availability (ran 80 % of planned time); most of it was \
             without data (20 min)."
        );
    }

    #[test]
    fn performance_above_100_percent_asks_to_check_the_ideal_times() {
        let oee = Oee {
            planned: 100 * MINUTE,
            run: 100 * MINUTE,
            availability: Some(1.0),
            measured_run: 100 * MINUTE,
            measured_ideal: 120 * MINUTE,
            performance: Some(1.0),
            uncapped_performance: Some(1.2),
            ..Oee::default()
        };
        let programs = vec![program(Some("O1000"), 20, 20, 100, Some(6))];
        let advice = advise(&[machine(oee, programs)]);
        assert_eq!(
            texts(&advice),
            [
                "Mill 1 made parts faster than its ideal cycle times allow (120 % of ideal speed, \
              counted as 100 %); O1000 ran 5:00 on average against an ideal of 6:00. Check the \
              ideal cycle times."
            ]
        );
        assert_eq!(advice.recommendations[0].severity, Severity::Info);
    }

    #[test]
    fn unknown_ideal_times_and_parts_are_asked_for() {
        let oee = Oee {
            planned: 100 * MINUTE,
            run: 100 * MINUTE,
            availability: Some(1.0),
            cycles: 9,
            parts: 9,
            ..Oee::default()
        };
        let programs = vec![
            program(Some("O2000"), 5, 5, 50, None),
            program(Some("O3000"), 1, 1, 10, None),
            program(None, 3, 3, 40, None),
        ];
        let advice = advise(&[machine(oee, programs)]);
        assert_eq!(
            texts(&advice)[0],
            "Set ideal cycle times for O2000 (5 parts) and O3000 (1 part), and the \
             default-ideal-cycle-s parameter for the 3 parts without a program name, to measure \
             Mill 1's performance."
        );
        let silent = Oee {
            planned: 100 * MINUTE,
            run: 100 * MINUTE,
            availability: Some(1.0),
            cycles: 40,
            ..Oee::default()
        };
        let advice = advise(&[machine(
            silent,
            vec![program(Some("O1"), 40, 0, 100, Some(2))],
        )]);
        assert_eq!(
            texts(&advice),
            [
                "Mill 1 completed 40 cycles but counted no parts, so its performance and quality \
              are unknown; check that its part count reaches Chatter."
            ]
        );
    }

    #[test]
    fn at_most_twenty_recommendations_are_kept_in_severity_order() {
        let report = sample_report();
        let many: Vec<Machine> = (0..10).flat_map(|_| report.machines.clone()).collect();
        let advice = advise(&many);
        assert_eq!(advice.recommendations.len(), MAX_RECOMMENDATIONS);
        // Per pair of machines: 1 critical, 2 warnings, 1 info; and one fleet info.
        assert_eq!(advice.omitted, 41 - MAX_RECOMMENDATIONS);
        assert!(
            advice.recommendations[..10]
                .iter()
                .all(|r| r.severity == Severity::Critical)
        );
        assert!(
            advice.recommendations[10..]
                .iter()
                .all(|r| r.severity == Severity::Warning)
        );
    }
}
