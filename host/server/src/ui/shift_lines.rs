//! The organization page's way of writing a shift schedule: one shift a line,
//! `Name: days start-end`, such as `First: mon-fri 06:00-14:00` or
//! `Weekend: sat,sun 07:00-19:00`.
//!
//! Days are three-letter or full names, ranges of them (`mon-fri`, `fri-mon` runs over the
//! weekend) and lists of either separated by commas or spaces; `daily` is every day. Blank lines
//! and lines starting with `#` are skipped. A name may hold colons: the name ends at the last
//! colon followed by a day. [`format`] writes a schedule so that [`parse`] reads it back.

use chatter_model::{Shift, ShiftError, ShiftTime, Weekday};

/// A line that cannot be read, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Line {line}: {message}")]
pub(crate) struct LineError {
    /// The line's number, from 1.
    pub(crate) line: usize,
    /// What is wrong with it.
    pub(crate) message: String,
}

const EXAMPLE: &str = "First: mon-fri 06:00-14:00";

/// The shifts `text` writes, in its order; not yet validated as a schedule.
pub(crate) fn parse(text: &str) -> Result<Vec<Shift>, LineError> {
    let mut shifts = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let shift = parse_line(line).map_err(|message| LineError {
            line: index + 1,
            message,
        })?;
        shifts.push(shift);
    }
    Ok(shifts)
}

fn parse_line(line: &str) -> Result<Shift, String> {
    let unreadable = || format!("write a shift as `Name: days start-end`, like `{EXAMPLE}`");
    // Colons in times are followed by digits; the one ending the name, by the days.
    let (colon, _) = line
        .char_indices()
        .rev()
        .find(|&(at, c)| {
            c == ':'
                && line[at + 1..]
                    .trim_start()
                    .starts_with(|next: char| next.is_alphabetic())
        })
        .ok_or_else(unreadable)?;
    let name = line[..colon].trim();
    let rest = &line[colon + 1..];
    let times_at = rest
        .find(|c: char| c.is_ascii_digit())
        .ok_or_else(|| format!("give the shift's start and end, like `{EXAMPLE}`"))?;
    let days = parse_days(&rest[..times_at])?;
    let times: String = rest[times_at..]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let (start, end) = times
        .split_once(['-', '–'])
        .ok_or_else(|| "write the times as start-end, like `06:00-14:00`".to_owned())?;
    let time = |text: &str| text.parse::<ShiftTime>().map_err(|e| e.to_string());
    Ok(Shift {
        name: name.to_owned(),
        days,
        start: time(start)?,
        end: time(end)?,
    })
}

fn parse_days(text: &str) -> Result<Vec<Weekday>, String> {
    let mut days = Vec::new();
    for item in text.split([',', ' ', '\t']).filter(|item| !item.is_empty()) {
        if item.eq_ignore_ascii_case("daily") {
            days.extend(Weekday::ALL);
            continue;
        }
        let day = |text: &str| {
            text.parse::<Weekday>()
                .map_err(|e: ShiftError| e.to_string())
        };
        match item.split_once(['-', '–']) {
            Some((first, last)) => {
                let (first, last) = (day(first)?, day(last)?);
                let count = (7 + last.days_from_monday() - first.days_from_monday()) % 7 + 1;
                days.extend(
                    (0..count)
                        .map(|offset| Weekday::from_monday(first.days_from_monday() + offset)),
                );
            }
            None => days.push(day(item)?),
        }
    }
    if days.is_empty() {
        return Err(format!(
            "say which days the shift starts on, like `{EXAMPLE}`"
        ));
    }
    days.sort();
    days.dedup();
    Ok(days)
}

/// The schedule as lines [`parse`] reads back.
pub(crate) fn format(shifts: &[Shift]) -> String {
    shifts
        .iter()
        .map(|shift| {
            format!(
                "{}: {} {}-{}\n",
                shift.name,
                days_text(&shift.days),
                shift.start,
                shift.end
            )
        })
        .collect()
}

/// Days as the schedule's lines write them: `daily`, runs of three or more as a range, the rest
/// listed. The week is read from the day after the last day missing, so that a run through the
/// weekend stays one range (`sun-thu`, `fri-tue`) as a night-shift schedule is usually said.
pub(crate) fn days_text(days: &[Weekday]) -> String {
    let Some(last_missing) = Weekday::ALL.iter().rev().find(|day| !days.contains(day)) else {
        return "daily".to_owned();
    };
    let week: Vec<Weekday> = (1..=7)
        .map(|offset| Weekday::from_monday(last_missing.days_from_monday() + offset))
        .collect();
    let mut parts: Vec<String> = Vec::new();
    let mut run: Vec<Weekday> = Vec::new();
    // The last day of `week` is missing, so every run ends inside it.
    for day in week {
        if days.contains(&day) {
            run.push(day);
            continue;
        }
        match run.as_slice() {
            [first, .., last] if run.len() >= 3 => parts.push(format!("{first}-{last}")),
            short => parts.extend(short.iter().map(ToString::to_string)),
        }
        run.clear();
    }
    parts.join(",")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chatter_model::Weekday::{Friday, Monday, Saturday, Sunday, Thursday, Tuesday, Wednesday};

    use super::*;

    fn shift(name: &str, days: &[Weekday], start: &str, end: &str) -> Shift {
        Shift {
            name: name.to_owned(),
            days: days.to_vec(),
            start: start.parse().unwrap(),
            end: end.parse().unwrap(),
        }
    }

    #[test]
    fn a_three_shift_schedule_reads_and_writes_back() {
        let text = "First: mon-fri 06:00-14:00\n\
                    Second: mon-fri 14:00-22:00\n\
                    \n\
                    # Nights run into the next morning.\n\
                    Third: mon-fri 22:00-06:00\n\
                    Weekend: sat,sun 07:00-19:00\n";
        let weekdays = [Monday, Tuesday, Wednesday, Thursday, Friday];
        let shifts = parse(text).unwrap();
        assert_eq!(
            shifts,
            [
                shift("First", &weekdays, "06:00", "14:00"),
                shift("Second", &weekdays, "14:00", "22:00"),
                shift("Third", &weekdays, "22:00", "06:00"),
                shift("Weekend", &[Saturday, Sunday], "07:00", "19:00"),
            ]
        );
        assert_eq!(
            format(&shifts),
            "First: mon-fri 06:00-14:00\n\
             Second: mon-fri 14:00-22:00\n\
             Third: mon-fri 22:00-06:00\n\
             Weekend: sat,sun 07:00-19:00\n"
        );
        assert_eq!(parse(&format(&shifts)).unwrap(), shifts);
    }

    #[test]
    fn days_may_be_written_many_ways() {
        let days = |text: &str| {
            parse(&format!("S: {text} 06:00-07:00")).unwrap()[0]
                .days
                .clone()
        };
        assert_eq!(
            days("Monday, Wednesday friday"),
            [Monday, Wednesday, Friday]
        );
        assert_eq!(days("fri-mon"), [Monday, Friday, Saturday, Sunday]);
        assert_eq!(days("daily"), Weekday::ALL);
        assert_eq!(days("mon-wed,tue"), [Monday, Tuesday, Wednesday]);
        assert_eq!(days("sun-sun"), [Sunday]);
    }

    #[test]
    fn names_may_hold_colons_and_times_spaces() {
        let shifts = parse("  Line 2: nights: tue 22:00 – 6:00  ").unwrap();
        assert_eq!(
            shifts,
            [shift("Line 2: nights", &[Tuesday], "22:00", "06:00")]
        );
        let tight = parse("A:mon 06:00-14:00").unwrap();
        assert_eq!(tight, [shift("A", &[Monday], "06:00", "14:00")]);
    }

    #[test]
    fn the_line_at_fault_is_named() {
        let error = |text: &str| parse(text).unwrap_err().to_string();
        assert_eq!(
            error("First: mon-fri 06:00-14:00\nSecond mon-fri 14:00-22:00"),
            "Line 2: write a shift as `Name: days start-end`, like `First: mon-fri 06:00-14:00`"
        );
        assert_eq!(
            error("First: mon-fir 06:00-14:00"),
            "Line 1: `fir` is not a day: write mon, tue, wed, thu, fri, sat or sun"
        );
        assert_eq!(
            error("\n\nLate: tue 14:00-25:00"),
            "Line 3: `25:00` is not a time of day: write HH:MM, from 00:00 to 23:59"
        );
        assert_eq!(
            error("Late: tue 14:00"),
            "Line 1: write the times as start-end, like `06:00-14:00`"
        );
        assert_eq!(
            error("Late: tue"),
            "Line 1: give the shift's start and end, like `First: mon-fri 06:00-14:00`"
        );
        assert_eq!(
            error("Late: 14:00-22:00"),
            "Line 1: write a shift as `Name: days start-end`, like `First: mon-fri 06:00-14:00`"
        );
    }

    #[test]
    fn days_are_written_short() {
        assert_eq!(days_text(&Weekday::ALL), "daily");
        assert_eq!(
            days_text(&[Friday, Monday, Tuesday, Wednesday, Thursday]),
            "mon-fri"
        );
        assert_eq!(
            days_text(&[Sunday, Monday, Tuesday, Wednesday, Thursday]),
            "sun-thu"
        );
        assert_eq!(days_text(&[Saturday, Sunday]), "sat,sun");
        assert_eq!(days_text(&[Monday, Wednesday, Friday]), "mon,wed,fri");
        assert_eq!(
            days_text(&[Monday, Tuesday, Friday, Saturday, Sunday]),
            "fri-tue"
        );
        assert_eq!(
            days_text(&[Monday, Wednesday, Saturday, Sunday]),
            "sat-mon,wed"
        );
        assert_eq!(days_text(&[]), "");
    }

    #[test]
    fn nothing_but_blank_lines_and_comments_is_an_empty_schedule() {
        assert!(parse("\n  \n# none yet\n").unwrap().is_empty());
    }
}
