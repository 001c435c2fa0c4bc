//! OEE and its three factors for one machine over one scope (a shift, or all planned time), and
//! for the fleet. Definitions (the README repeats them for readers):
//!
//! - *planned time*: the length of the scope's shift occurrences (the whole period without a
//!   shift schedule; overall, the union of all shifts);
//! - *run time*: running + paused within the planned time. Paused counts as run time because a
//!   cycle is in progress: a feed hold makes the machine slow (performance), it does not make it
//!   unavailable;
//! - *availability* = run time ÷ planned time;
//! - *parts*: counted in the completed cycles that ended within the scope;
//! - *performance* = ideal time per part × parts ÷ run time, capped at 100 %. When some parts
//!   have no ideal time it is measured over the programs that have one, against their share of
//!   the completed cycles' time — if that share is at least [`MEASURABLE_SHARE`]; otherwise, or
//!   when no part has an ideal time, it is unknown;
//! - *quality* = (parts − scrap) ÷ parts, with the scrap of the period as configured; a shift
//!   takes its machine's quality over the period, since scrap is recorded per period;
//! - *OEE* = availability × performance × quality, unknown when a factor is.
//!
//! A factor that cannot be measured is `None` with the reason in [`Oee::unknown`]: nothing is
//! made up.

use chatter_report_kit::StateTimes;
use chatter_report_kit::format::percent_whole;
use chatter_sdk::machine_data::Totals;

use crate::programs::{Program, join_and, list_with_parts, times};

/// The least share of the completed cycles' time the programs with an ideal time must account
/// for, for performance to be measured over them alone.
pub const MEASURABLE_SHARE: f64 = 0.5;

/// A factor of OEE, or OEE itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    /// Run time ÷ planned time.
    Availability,
    /// Ideal time ÷ run time.
    Performance,
    /// Good parts ÷ parts.
    Quality,
    /// The product of the three.
    Oee,
}

impl Factor {
    /// Its name in the `unknown` column: `availability`, `performance`, `quality`, `oee`.
    pub fn name(self) -> &'static str {
        match self {
            Factor::Availability => "availability",
            Factor::Performance => "performance",
            Factor::Quality => "quality",
            Factor::Oee => "oee",
        }
    }
}

/// Why a factor is unknown, or only partly measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown {
    /// Which factor.
    pub factor: Factor,
    /// Why, for people: "scrap not recorded".
    pub reason: String,
}

impl Unknown {
    fn new(factor: Factor, reason: impl Into<String>) -> Self {
        Unknown {
            factor,
            reason: reason.into(),
        }
    }
}

/// OEE of one machine (or the fleet) over one scope. Factors are fractions (0.75 for 75 %).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Oee {
    /// Planned time.
    pub planned: i64,
    /// Time in each state within it.
    pub time: StateTimes,
    /// Run time: running + paused.
    pub run: i64,
    /// Completed cycles that ended in the scope.
    pub cycles: u64,
    /// Parts counted in them.
    pub parts: u64,
    /// Rises of the part counter within the planned time, for comparison: parts counted
    /// outside completed cycles are not in [`Oee::parts`].
    pub counter_parts: u64,
    /// Parts of programs with an ideal time.
    pub parts_with_ideal: u64,
    /// Their ideal time: ideal time per part × parts.
    pub ideal: i64,
    /// The run time performance is measured against: all of it, or the share of the programs
    /// with an ideal time when some have none; 0 when performance is unknown.
    pub measured_run: i64,
    /// The ideal time performance is measured with; 0 when it is unknown.
    pub measured_ideal: i64,
    /// Scrapped parts, as configured for the machine and period; `None` when not recorded (and
    /// for a shift, which has no scrap of its own).
    pub scrap: Option<u64>,
    /// Run time ÷ planned time.
    pub availability: Option<f64>,
    /// Ideal time ÷ measured run time, at most 1.
    pub performance: Option<f64>,
    /// The same before the cap; above 1 when the ideal times are set too high.
    pub uncapped_performance: Option<f64>,
    /// Good parts ÷ parts.
    pub quality: Option<f64>,
    /// Availability × performance × quality (for the fleet: weighted by planned time).
    pub oee: Option<f64>,
    /// What is unknown, and why, in the order availability, performance, quality, OEE.
    pub unknown: Vec<Unknown>,
}

impl Oee {
    /// Planned time without data (machine not connected, or data not derived yet).
    pub fn no_data(&self) -> i64 {
        (self.planned - self.time.covered()).max(0)
    }

    /// Planned time the machine did not run.
    pub fn availability_loss(&self) -> i64 {
        (self.planned - self.run).max(0)
    }

    /// Measured run time beyond the ideal time of the parts made; `None` when performance is
    /// unknown.
    pub fn performance_loss(&self) -> Option<i64> {
        self.performance?;
        Some((self.measured_run - self.measured_ideal).max(0))
    }

    /// The ideal time of the scrapped parts, at the average ideal time per part of those
    /// measured; `None` when quality or the ideal times are unknown.
    pub fn quality_loss(&self) -> Option<i64> {
        self.quality?;
        let scrap = self.scrap?;
        let per_part = self.ideal
            / i64::try_from(self.parts_with_ideal)
                .ok()
                .filter(|&p| p > 0)?;
        Some(times(per_part, scrap))
    }

    /// The value of `factor`.
    pub fn factor(&self, factor: Factor) -> Option<f64> {
        match factor {
            Factor::Availability => self.availability,
            Factor::Performance => self.performance,
            Factor::Quality => self.quality,
            Factor::Oee => self.oee,
        }
    }

    /// Whether performance came out above 100 % and was capped.
    pub fn capped(&self) -> bool {
        self.uncapped_performance.is_some_and(|p| p > 1.0)
    }

    /// The reasons of `factor`.
    pub fn reasons(&self, factor: Factor) -> impl Iterator<Item = &str> {
        self.unknown
            .iter()
            .filter(move |u| u.factor == factor)
            .map(|u| u.reason.as_str())
    }

    /// The `unknown` column: "performance: no ideal cycle time for O2000 (14 parts); quality:
    /// scrap not recorded".
    pub fn unknown_text(&self) -> String {
        let items: Vec<String> = self
            .unknown
            .iter()
            .map(|u| format!("{}: {}", u.factor.name(), u.reason))
            .collect();
        items.join("; ")
    }
}

/// What one machine's figures over one scope are computed from.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// Planned time.
    pub planned: i64,
    /// `totals-over` of the scope's ranges.
    pub totals: &'a [Totals],
    /// Its completed cycles by program.
    pub programs: &'a [Program],
}

/// A machine over all its planned time, with the period's `scrap` (`None`: not recorded).
pub fn machine(scope: Scope<'_>, scrap: Option<u64>) -> Oee {
    let mut oee = availability_and_performance(scope);
    oee.scrap = scrap;
    oee.quality = match quality(oee.parts, scrap) {
        Ok(quality) => Some(quality),
        Err(reason) => {
            oee.unknown.push(Unknown::new(Factor::Quality, reason));
            None
        }
    };
    finish(oee)
}

/// A machine over one shift; quality is `machine`'s over the period, scrap being recorded per
/// period, unless the shift made no parts.
pub fn shift(scope: Scope<'_>, machine: &Oee) -> Oee {
    let mut oee = availability_and_performance(scope);
    if oee.parts == 0 {
        oee.unknown.push(Unknown::new(Factor::Quality, "no parts"));
    } else if machine.quality.is_some() {
        oee.quality = machine.quality;
    } else {
        for reason in machine.reasons(Factor::Quality) {
            oee.unknown.push(Unknown::new(Factor::Quality, reason));
        }
    }
    finish(oee)
}

fn availability_and_performance(scope: Scope<'_>) -> Oee {
    let time = StateTimes::sum(scope.totals);
    let run = time.running + time.paused;
    let mut oee = Oee {
        planned: scope.planned,
        time,
        run,
        cycles: scope.programs.iter().map(|p| p.cycles).sum(),
        parts: scope.programs.iter().map(|p| p.parts).sum(),
        counter_parts: scope.totals.iter().map(|t| t.parts).sum(),
        ..Oee::default()
    };
    oee.availability = ratio(run, scope.planned);
    if oee.availability.is_none() {
        oee.unknown
            .push(Unknown::new(Factor::Availability, "no planned time"));
    }
    for program in scope.programs.iter().filter(|p| p.ideal.is_some()) {
        oee.parts_with_ideal += program.parts;
        oee.ideal = oee.ideal.saturating_add(program.ideal_time().unwrap_or(0));
    }
    match performance(&oee, scope.programs) {
        Ok(measured) => {
            oee.measured_run = measured.run;
            oee.measured_ideal = oee.ideal;
            oee.uncapped_performance = ratio(oee.ideal, measured.run);
            oee.performance = oee.uncapped_performance.map(|p| p.min(1.0));
            if let Some(partial) = measured.partial {
                oee.unknown.push(Unknown::new(Factor::Performance, partial));
            }
        }
        Err(reason) => oee.unknown.push(Unknown::new(Factor::Performance, reason)),
    }
    oee
}

/// The run time performance is measured against, and what was left out of it.
struct Measured {
    run: i64,
    partial: Option<String>,
}

fn performance(oee: &Oee, programs: &[Program]) -> Result<Measured, String> {
    if oee.parts == 0 {
        return Err(match oee.cycles {
            0 => "no completed cycle".to_owned(),
            1 => "1 completed cycle counted no parts".to_owned(),
            n => format!("{n} completed cycles counted no parts"),
        });
    }
    if oee.run == 0 {
        return Err("no run time".to_owned());
    }
    let missing: Vec<&Program> = programs
        .iter()
        .filter(|p| p.ideal.is_none() && p.parts > 0)
        .collect();
    if missing.is_empty() {
        return Ok(Measured {
            run: oee.run,
            partial: None,
        });
    }
    let no_ideal = format!("no ideal cycle time for {}", list_with_parts(&missing));
    if oee.parts_with_ideal == 0 {
        return Err(no_ideal);
    }
    // The run time of the programs with an ideal time, estimated by their share of the
    // completed cycles' time: the totals do not say which program ran when.
    let with_ideal: i64 = programs
        .iter()
        .filter(|p| p.ideal.is_some())
        .map(|p| p.time)
        .sum();
    let all: i64 = programs.iter().map(|p| p.time).sum();
    let share = ratio(with_ideal, all).unwrap_or(0.0);
    if share < MEASURABLE_SHARE {
        return Err(format!(
            "{no_ideal}, and the programs with one ran only {} of the completed cycles' time",
            percent_whole(share * 100.0)
        ));
    }
    Ok(Measured {
        run: (oee.run as f64 * share).round() as i64,
        partial: Some(format!(
            "{no_ideal}, measured over the other programs ({} of cycle time)",
            percent_whole(share * 100.0)
        )),
    })
}

fn quality(parts: u64, scrap: Option<u64>) -> Result<f64, String> {
    if parts == 0 {
        return Err("no parts".to_owned());
    }
    let scrap = scrap.ok_or_else(|| "scrap not recorded".to_owned())?;
    if scrap > parts {
        return Err(format!(
            "scrap ({scrap}) is more than the parts counted ({parts})"
        ));
    }
    Ok((parts - scrap) as f64 / parts as f64)
}

/// OEE from the three factors.
fn finish(mut oee: Oee) -> Oee {
    oee.oee = match (oee.availability, oee.performance, oee.quality) {
        (Some(a), Some(p), Some(q)) => Some(a * p * q),
        _ => None,
    };
    oee
}

/// `part ÷ whole`, `None` when `whole` is not positive.
fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// The fleet: every machine's figures over the same scope (`(name, figures)`), summed. Each
/// factor is taken over the machines where it is known, and the unknown list names those left
/// out: availability is total run ÷ total planned time, performance total measured ideal ÷
/// total measured run time (with each machine's cap), quality total good ÷ total parts, and
/// OEE the machines' OEE weighted by their planned time.
pub fn fleet(machines: &[(&str, &Oee)]) -> Oee {
    let mut fleet = sums(machines.iter().map(|(_, m)| *m));
    fleet.availability = ratio(fleet.run, fleet.planned);
    if fleet.availability.is_none() {
        fleet
            .unknown
            .push(Unknown::new(Factor::Availability, "no planned time"));
    }
    let measured: Vec<&Oee> = machines
        .iter()
        .map(|(_, m)| *m)
        .filter(|m| m.performance.is_some())
        .collect();
    fleet.measured_run = measured.iter().map(|m| m.measured_run).sum();
    fleet.measured_ideal = measured
        .iter()
        .fold(0i64, |sum, m| sum.saturating_add(m.measured_ideal));
    fleet.uncapped_performance = ratio(fleet.measured_ideal, fleet.measured_run);
    // Each machine's capped performance, weighted by its measured run time.
    let net: f64 = measured
        .iter()
        .map(|m| m.performance.unwrap_or(0.0) * m.measured_run as f64)
        .sum();
    fleet.performance = (fleet.measured_run > 0).then(|| net / fleet.measured_run as f64);
    fleet.quality = fleet_quality(machines);
    fleet.oee = fleet_oee(machines);
    for factor in [Factor::Performance, Factor::Quality, Factor::Oee] {
        if let Some(reason) = left_out(machines, factor, fleet.factor(factor).is_some()) {
            fleet.unknown.push(Unknown::new(factor, reason));
        }
    }
    fleet
}

/// The sums of the machines' times and counts; scrap over the machines that recorded it.
fn sums<'a>(machines: impl Iterator<Item = &'a Oee>) -> Oee {
    let mut sum = Oee::default();
    for m in machines {
        sum.planned += m.planned;
        sum.time.add_all(&m.time);
        sum.run += m.run;
        sum.cycles += m.cycles;
        sum.parts += m.parts;
        sum.counter_parts += m.counter_parts;
        sum.parts_with_ideal += m.parts_with_ideal;
        sum.ideal = sum.ideal.saturating_add(m.ideal);
        if let Some(scrap) = m.scrap {
            sum.scrap = Some(sum.scrap.unwrap_or(0) + scrap);
        }
    }
    sum
}

/// Good parts ÷ parts over the machines whose quality is known.
fn fleet_quality(machines: &[(&str, &Oee)]) -> Option<f64> {
    let (mut good, mut counted) = (0u64, 0u64);
    for (_, m) in machines {
        if let (Some(_), Some(scrap)) = (m.quality, m.scrap) {
            good += m.parts.saturating_sub(scrap);
            counted += m.parts;
        }
    }
    (counted > 0).then(|| good as f64 / counted as f64)
}

/// The machines' OEE weighted by planned time, over those where it is known: the fully
/// productive time of the fleet over its planned time.
fn fleet_oee(machines: &[(&str, &Oee)]) -> Option<f64> {
    let (mut weighted, mut planned) = (0f64, 0i64);
    for (_, m) in machines {
        if let Some(oee) = m.oee {
            weighted += oee * m.planned as f64;
            planned += m.planned;
        }
    }
    (planned > 0).then(|| weighted / planned as f64)
}

/// Which machines the fleet's `factor` leaves out, for the unknown list: "unknown for every
/// machine" when none is left, "Lathe 2 left out (unknown)" otherwise; `None` when all count.
fn left_out(machines: &[(&str, &Oee)], factor: Factor, known: bool) -> Option<String> {
    let names: Vec<String> = machines
        .iter()
        .filter(|(_, m)| m.factor(factor).is_none())
        .map(|(name, _)| (*name).to_owned())
        .collect();
    if names.is_empty() {
        None
    } else if !known {
        Some("unknown for every machine".to_owned())
    } else {
        Some(format!("{} left out (unknown)", join_and(&names)))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use chatter_sdk::machine_data::CycleEnd;

    use super::*;
    use crate::params::Parameters;
    use crate::programs::by_program;
    use crate::programs::tests::{MINUTE, S, cycle};

    /// Totals with `running`, `paused` and `idle` minutes and `parts` counter rises.
    pub fn totals(running: i64, paused: i64, idle: i64, parts: u64) -> Totals {
        Totals {
            offline: 0,
            alarm: 0,
            running: running * MINUTE,
            paused: paused * MINUTE,
            setup: 0,
            idle: idle * MINUTE,
            parts,
            cycles: 0,
            cycle_time: 0,
            alarms: 0,
        }
    }

    fn parameters(ideal: &str) -> Parameters {
        Parameters::from_request(&[("ideal-cycle-s".to_owned(), ideal.to_owned())]).unwrap()
    }

    /// `count` completed cycles of `program`, each `minutes` long with one part.
    fn cycles(program: &str, count: i64, minutes: i64) -> Vec<chatter_sdk::machine_data::Cycle> {
        (0..count)
            .map(|i| {
                let start = i * minutes * 60;
                cycle(
                    Some(program),
                    start,
                    start + minutes * 60,
                    1,
                    CycleEnd::Completed,
                )
            })
            .collect()
    }

    fn programs(cycles: &[chatter_sdk::machine_data::Cycle], ideal: &str) -> Vec<Program> {
        by_program(cycles, |_| true, &parameters(ideal))
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9)
    }

    #[test]
    fn a_machine_with_every_figure_known() {
        // 8 h planned; 6 h running and 30 min paused: run 6.5 h. 72 parts of O1000 at an ideal
        // of 5 min: 6 h of ideal time. 4 scrapped.
        let programs = programs(&cycles("O1000", 72, 5), "O1000=300");
        let scope = Scope {
            planned: 480 * MINUTE,
            totals: &[totals(360, 30, 90, 75)],
            programs: &programs,
        };
        let oee = machine(scope, Some(4));
        assert_eq!(oee.run, 390 * MINUTE);
        assert!(close(oee.availability, 390.0 / 480.0));
        assert_eq!(
            (oee.parts, oee.parts_with_ideal, oee.counter_parts),
            (72, 72, 75)
        );
        assert_eq!(oee.ideal, 360 * MINUTE);
        assert!(close(oee.performance, 360.0 / 390.0));
        assert!(close(oee.quality, 68.0 / 72.0));
        // A × P × Q = ideal time of the good parts ÷ planned: 68 × 5 min ÷ 480 min.
        assert!(close(oee.oee, 340.0 / 480.0));
        assert!(oee.unknown.is_empty());
        assert_eq!(oee.availability_loss(), 90 * MINUTE);
        assert_eq!(oee.performance_loss(), Some(30 * MINUTE));
        assert_eq!(oee.quality_loss(), Some(20 * MINUTE));
        assert_eq!(oee.no_data(), 0);
        assert_eq!(oee.unknown_text(), "");
    }

    #[test]
    fn no_ideal_time_makes_performance_and_oee_unknown() {
        let programs = programs(&cycles("O2000", 14, 10), "O1000=300");
        let scope = Scope {
            planned: 480 * MINUTE,
            totals: &[totals(140, 0, 340, 14)],
            programs: &programs,
        };
        let oee = machine(scope, Some(0));
        assert_eq!(oee.performance, None);
        assert_eq!(oee.performance_loss(), None);
        assert_eq!(oee.quality, Some(1.0));
        assert_eq!(oee.quality_loss(), None);
        assert_eq!(oee.oee, None);
        assert_eq!(
            oee.unknown_text(),
            "performance: no ideal cycle time for O2000 (14 parts)"
        );
    }

    #[test]
    fn some_parts_without_ideal_time_are_measured_over_the_others() {
        // O1000: 50 parts of 5 min against an ideal of 4; O2000: 14 parts of 10 min, no ideal.
        // Run 390 min = the cycles' 250 + 140 min; O1000's share 250/390 of it is 250 min.
        let mut all = cycles("O1000", 50, 5);
        all.extend(cycles("O2000", 14, 10));
        let programs = programs(&all, "O1000=240");
        let scope = Scope {
            planned: 480 * MINUTE,
            totals: &[totals(390, 0, 90, 64)],
            programs: &programs,
        };
        let oee = machine(scope, None);
        assert_eq!(oee.parts_with_ideal, 50);
        assert_eq!(oee.measured_run, 250 * MINUTE);
        assert!(close(oee.performance, 200.0 / 250.0));
        assert_eq!(oee.performance_loss(), Some(50 * MINUTE));
        assert_eq!(
            oee.unknown_text(),
            "performance: no ideal cycle time for O2000 (14 parts), measured over the other \
             programs (64 % of cycle time); quality: scrap not recorded"
        );
        assert_eq!(oee.oee, None);
    }

    #[test]
    fn too_few_parts_with_an_ideal_time_leave_performance_unknown() {
        // O1000 ran 25 of 165 min of cycles.
        let mut all = cycles("O1000", 5, 5);
        all.extend(cycles("O2000", 14, 10));
        let programs = programs(&all, "O1000=240");
        let scope = Scope {
            planned: 480 * MINUTE,
            totals: &[totals(165, 0, 0, 19)],
            programs: &programs,
        };
        let oee = machine(scope, Some(1));
        assert_eq!(oee.performance, None);
        assert_eq!(
            oee.reasons(Factor::Performance).collect::<Vec<_>>(),
            [
                "no ideal cycle time for O2000 (14 parts), and the programs with one ran only \
              15 % of the completed cycles' time"
            ]
        );
    }

    #[test]
    fn performance_above_100_percent_is_capped() {
        // 60 parts of 5 min against an ideal of 6 min: 120 %.
        let programs = programs(&cycles("O1000", 60, 5), "O1000=360");
        let scope = Scope {
            planned: 300 * MINUTE,
            totals: &[totals(300, 0, 0, 60)],
            programs: &programs,
        };
        let oee = machine(scope, Some(0));
        assert!(close(oee.uncapped_performance, 1.2));
        assert_eq!(oee.performance, Some(1.0));
        assert!(oee.capped());
        assert_eq!(oee.performance_loss(), Some(0));
        assert!(close(oee.oee, 1.0));
    }

    #[test]
    fn no_parts_or_no_cycles_leave_performance_and_quality_unknown() {
        let scope = Scope {
            planned: 480 * MINUTE,
            totals: &[totals(0, 0, 480, 0)],
            programs: &[],
        };
        let oee = machine(scope, Some(0));
        assert_eq!(oee.availability, Some(0.0));
        assert_eq!(
            oee.unknown_text(),
            "performance: no completed cycle; quality: no parts"
        );
        let mut empty_cycle = cycles("O1000", 3, 5);
        for c in &mut empty_cycle {
            c.parts = 0;
        }
        let programs = programs(&empty_cycle, "O1000=300");
        let oee = machine(
            Scope {
                planned: 480 * MINUTE,
                totals: &[totals(15, 0, 465, 0)],
                programs: &programs,
            },
            None,
        );
        assert_eq!(
            oee.unknown_text(),
            "performance: 3 completed cycles counted no parts; quality: no parts"
        );
    }

    #[test]
    fn scrap_beyond_the_parts_counted_is_not_a_quality() {
        let programs = programs(&cycles("O1000", 10, 5), "O1000=300");
        let scope = Scope {
            planned: 60 * MINUTE,
            totals: &[totals(50, 0, 10, 10)],
            programs: &programs,
        };
        let oee = machine(scope, Some(12));
        assert_eq!(oee.quality, None);
        assert_eq!(
            oee.unknown_text(),
            "quality: scrap (12) is more than the parts counted (10)"
        );
    }

    #[test]
    fn nothing_planned_has_no_availability() {
        let oee = machine(
            Scope {
                planned: 0,
                totals: &[],
                programs: &[],
            },
            Some(0),
        );
        assert_eq!(oee.availability, None);
        assert!(
            oee.unknown_text()
                .starts_with("availability: no planned time; ")
        );
    }

    #[test]
    fn a_shift_takes_the_machines_quality_unless_it_made_no_parts() {
        let programs = programs(&cycles("O1000", 10, 5), "O1000=300");
        let scope = Scope {
            planned: 60 * MINUTE,
            totals: &[totals(50, 0, 10, 10)],
            programs: &programs,
        };
        let whole = machine(scope, Some(1));
        let first = shift(scope, &whole);
        assert!(close(first.quality, 0.9));
        assert_eq!(first.scrap, None);
        assert!(close(first.oee, whole.oee.unwrap()));
        let idle = shift(
            Scope {
                planned: 60 * MINUTE,
                totals: &[totals(0, 0, 60, 0)],
                programs: &[],
            },
            &whole,
        );
        assert_eq!(
            idle.unknown_text(),
            "performance: no completed cycle; quality: no parts"
        );
        let unrecorded = machine(scope, None);
        assert_eq!(
            shift(scope, &unrecorded).unknown_text(),
            "quality: scrap not recorded"
        );
    }

    #[test]
    fn the_fleet_sums_machines_and_names_those_left_out() {
        let good = Oee {
            planned: 100 * S,
            run: 80 * S,
            parts: 10,
            parts_with_ideal: 10,
            ideal: 60 * S,
            measured_run: 80 * S,
            measured_ideal: 60 * S,
            scrap: Some(1),
            availability: Some(0.8),
            performance: Some(0.75),
            uncapped_performance: Some(0.75),
            quality: Some(0.9),
            oee: Some(0.54),
            ..Oee::default()
        };
        let unknown = Oee {
            planned: 300 * S,
            run: 150 * S,
            parts: 20,
            availability: Some(0.5),
            ..Oee::default()
        };
        let fleet = fleet(&[("Mill 1", &good), ("Lathe 2", &unknown)]);
        assert_eq!(
            (fleet.planned, fleet.run, fleet.parts),
            (400 * S, 230 * S, 30)
        );
        assert!(close(fleet.availability, 230.0 / 400.0));
        assert!(close(fleet.performance, 0.75));
        assert!(close(fleet.quality, 0.9));
        assert!(close(fleet.oee, 0.54));
        assert_eq!(fleet.scrap, Some(1));
        assert_eq!(
            fleet.unknown_text(),
            "performance: Lathe 2 left out (unknown); quality: Lathe 2 left out (unknown); \
             oee: Lathe 2 left out (unknown)"
        );
        let none = super::fleet(&[("Lathe 2", &unknown)]);
        assert_eq!(none.performance, None);
        assert_eq!(none.scrap, None);
        assert_eq!(
            none.unknown_text(),
            "performance: unknown for every machine; quality: unknown for every machine; oee: \
             unknown for every machine"
        );
    }

    #[test]
    fn the_fleets_performance_keeps_each_machines_cap() {
        let fast = Oee {
            planned: 100 * S,
            measured_run: 100 * S,
            measured_ideal: 150 * S,
            performance: Some(1.0),
            ..Oee::default()
        };
        let slow = Oee {
            planned: 100 * S,
            measured_run: 100 * S,
            measured_ideal: 50 * S,
            performance: Some(0.5),
            ..Oee::default()
        };
        let fleet = fleet(&[("a", &fast), ("b", &slow)]);
        assert!(close(fleet.performance, 0.75));
        assert!(close(fleet.uncapped_performance, 1.0));
    }
}
