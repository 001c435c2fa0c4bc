//! Parts per program: completed cycles grouped by the program they ran, with the ideal time per
//! part the parameters give it, so performance knows which parts it can measure and a
//! recommendation can name the programs furthest from their ideal.
//!
//! Only cycles that ended `completed` count: a stopped or cut cycle is not a production cycle,
//! and its time is part of the run time performance is measured against anyway.

use chatter_sdk::machine_data::{Cycle, CycleEnd};

use crate::params::Parameters;

/// How a program without a name is shown.
pub const UNNAMED: &str = "unnamed program";

/// The completed cycles of one program within a scope (a shift, or all planned time).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Program {
    /// Its name; `None` for cycles that reported none.
    pub name: Option<String>,
    /// Completed cycles.
    pub cycles: u64,
    /// Parts counted in them.
    pub parts: u64,
    /// Their summed duration, start to end (paused time included, as in run time).
    pub time: i64,
    /// The summed duration of those that counted parts, which [`Program::time_per_part`]
    /// divides.
    pub time_with_parts: i64,
    /// Ideal time per part, from the parameters.
    pub ideal: Option<i64>,
}

impl Program {
    /// The name as people read it.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(UNNAMED)
    }

    /// Average time per part over the cycles that counted parts: the average cycle time when
    /// each cycle makes one part. `None` without parts.
    pub fn time_per_part(&self) -> Option<i64> {
        let parts = i64::try_from(self.parts).ok().filter(|&p| p > 0)?;
        Some(self.time_with_parts / parts)
    }

    /// Average duration of a completed cycle; `None` without cycles.
    pub fn average_cycle(&self) -> Option<i64> {
        let cycles = i64::try_from(self.cycles).ok().filter(|&c| c > 0)?;
        Some(self.time / cycles)
    }

    /// Ideal time × parts; `None` without an ideal time.
    pub fn ideal_time(&self) -> Option<i64> {
        Some(times(self.ideal?, self.parts))
    }

    /// Time beyond the ideal in the cycles that counted parts (negative when faster than
    /// ideal); `None` without an ideal time or parts.
    pub fn lost(&self) -> Option<i64> {
        (self.parts > 0).then_some(())?;
        Some(self.time_with_parts - self.ideal_time()?)
    }
}

/// `ns × count`, saturating: a count from the host cannot overflow a figure.
pub fn times(ns: i64, count: u64) -> i64 {
    ns.saturating_mul(i64::try_from(count).unwrap_or(i64::MAX))
}

/// The completed cycles of `cycles` that `counts` (by their end), grouped by program: most
/// parts first, then by name; unnamed last among equals.
pub fn by_program<'a>(
    cycles: impl IntoIterator<Item = &'a Cycle>,
    counts: impl Fn(i64) -> bool,
    parameters: &Parameters,
) -> Vec<Program> {
    let mut programs: Vec<Program> = Vec::new();
    for cycle in cycles {
        if cycle.ended != CycleEnd::Completed || !counts(cycle.range.end) {
            continue;
        }
        let name = cycle
            .program
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty());
        let at = match programs.iter().position(|p| p.name.as_deref() == name) {
            Some(at) => at,
            None => {
                programs.push(Program {
                    name: name.map(str::to_owned),
                    ideal: parameters.ideal_for(name),
                    ..Program::default()
                });
                programs.len() - 1
            }
        };
        let program = &mut programs[at];
        let duration = (cycle.range.end - cycle.range.start).max(0);
        program.cycles += 1;
        program.parts += cycle.parts;
        program.time += duration;
        if cycle.parts > 0 {
            program.time_with_parts += duration;
        }
    }
    programs.sort_by(|a, b| {
        b.parts
            .cmp(&a.parts)
            .then_with(|| a.name.is_none().cmp(&b.name.is_none()))
            .then_with(|| a.name.cmp(&b.name))
    });
    programs
}

/// "O2000 (14 parts), O3000 (1 part)": programs with their parts, for a sentence.
pub fn list_with_parts(programs: &[&Program]) -> String {
    let items: Vec<String> = programs
        .iter()
        .map(|p| format!("{} ({})", p.label(), parts_phrase(p.parts)))
        .collect();
    join_and(&items)
}

/// "1 part", "14 parts".
pub fn parts_phrase(parts: u64) -> String {
    if parts == 1 {
        "1 part".to_owned()
    } else {
        format!("{parts} parts")
    }
}

/// "a", "a and b", "a, b and c".
pub fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use chatter_sdk::TimeRange;

    use super::*;

    pub const S: i64 = 1_000_000_000;
    pub const MINUTE: i64 = 60 * S;

    /// A cycle of `program` from `start_s` to `end_s` (seconds) that made `parts`.
    pub fn cycle(
        program: Option<&str>,
        start_s: i64,
        end_s: i64,
        parts: u64,
        ended: CycleEnd,
    ) -> Cycle {
        Cycle {
            range: TimeRange {
                start: start_s * S,
                end: end_s * S,
            },
            ended,
            program: program.map(str::to_owned),
            active: (end_s - start_s) * S,
            parts,
        }
    }

    fn ideal(pairs: &str) -> Parameters {
        Parameters::from_request(&[("ideal-cycle-s".to_owned(), pairs.to_owned())]).unwrap()
    }

    #[test]
    fn completed_cycles_are_grouped_by_program_with_their_ideal() {
        use CycleEnd::{Completed, Offline, Stopped};
        let cycles = [
            cycle(Some("O1000"), 0, 300, 1, Completed),
            cycle(Some("O2000"), 300, 400, 1, Completed),
            cycle(Some("O1000"), 400, 720, 1, Completed),
            cycle(Some("O1000"), 720, 800, 0, Stopped),
            cycle(Some("O1000"), 800, 900, 1, Offline),
            // Two parts in one cycle of 10 min.
            cycle(Some("O1000"), 900, 1500, 2, Completed),
            cycle(None, 1500, 1600, 0, Completed),
            cycle(Some(" "), 1600, 1700, 1, Completed),
        ];
        let programs = by_program(&cycles, |_| true, &ideal("o1000=240"));
        assert_eq!(programs.len(), 3);
        let o1000 = &programs[0];
        assert_eq!(o1000.label(), "O1000");
        assert_eq!((o1000.cycles, o1000.parts), (3, 4));
        assert_eq!(o1000.time, (300 + 320 + 600) * S);
        assert_eq!(o1000.ideal, Some(240 * S));
        assert_eq!(o1000.ideal_time(), Some(960 * S));
        // 1220 s for 4 parts: 305 s a part, 65 s over the ideal each.
        assert_eq!(o1000.time_per_part(), Some(305 * S));
        assert_eq!(o1000.lost(), Some(260 * S));
        // O2000 and the unnamed cycles made one part each; the unnamed come last.
        assert_eq!(programs[1].label(), "O2000");
        assert_eq!(programs[1].ideal, None);
        assert_eq!(programs[1].lost(), None);
        let unnamed = &programs[2];
        assert_eq!(unnamed.label(), UNNAMED);
        assert_eq!((unnamed.cycles, unnamed.parts), (2, 1));
        // The cycle without parts does not count in the time per part.
        assert_eq!(unnamed.time_per_part(), Some(100 * S));
        assert_eq!(unnamed.average_cycle(), Some(100 * S));
    }

    #[test]
    fn cycles_count_where_they_end() {
        let cycles = [
            cycle(Some("O1"), 0, 100, 1, CycleEnd::Completed),
            cycle(Some("O1"), 100, 200, 1, CycleEnd::Completed),
        ];
        let programs = by_program(&cycles, |end| end < 150 * S, &Parameters::default());
        assert_eq!(programs[0].cycles, 1);
        assert!(by_program(&cycles, |_| false, &Parameters::default()).is_empty());
    }

    #[test]
    fn no_parts_means_no_time_per_part() {
        let program = Program {
            cycles: 2,
            time: 10,
            ideal: Some(5),
            ..Program::default()
        };
        assert_eq!(program.time_per_part(), None);
        assert_eq!(program.lost(), None);
        assert_eq!(program.ideal_time(), Some(0));
        assert_eq!(Program::default().average_cycle(), None);
    }

    #[test]
    fn lists_read_as_sentences() {
        let a = Program {
            name: Some("O2000".to_owned()),
            parts: 14,
            ..Program::default()
        };
        let b = Program {
            parts: 1,
            ..Program::default()
        };
        assert_eq!(list_with_parts(&[&a]), "O2000 (14 parts)");
        assert_eq!(
            list_with_parts(&[&a, &b]),
            "O2000 (14 parts) and unnamed program (1 part)"
        );
        assert_eq!(times(i64::MAX / 2, 3), i64::MAX);
    }
}
