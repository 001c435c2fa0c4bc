//! When a schedule runs and what each run covers, in the organization's time zone.
//!
//! Every cadence is a five-field cron expression underneath (a daily one is `M H * * *`). The
//! next run is the first local minute after a moment that the expression matches; a local time
//! the clocks skip runs at the first instant after the gap, and one they repeat runs once, at
//! its first occurrence.

use std::str::FromStr;

use chatter_model::{Cadence, SchedulePeriod, Timestamp};
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;

use crate::time;

/// How far ahead a next run is looked for: a cron day like February 29 on a Monday recurs
/// within 28 years; anything rarer is refused as never running.
const SEARCH_DAYS: i32 = 366 * 28;

/// Why a cadence is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CadenceError {
    /// The expression does not have five fields.
    #[error(
        "a cron expression has five fields (minute hour day-of-month month day-of-week), not {0}"
    )]
    FieldCount(usize),
    /// A field is not understood.
    #[error("cron field {field} `{text}`: {reason}")]
    Field {
        /// Which field, by name.
        field: &'static str,
        /// Its text.
        text: String,
        /// What is wrong.
        reason: String,
    },
    /// The expression matches no time in the years searched.
    #[error("the cron expression `{0}` never runs")]
    Never(String),
}

/// A parsed cron expression: the values each field allows, as bit sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    text: String,
    minutes: u64,
    hours: u32,
    days_of_month: u32,
    months: u16,
    /// Bit 0 is Sunday.
    days_of_week: u8,
    /// Whether day of month and day of week were both restricted: a day then matches when
    /// either does, as cron has it.
    either_day: bool,
}

/// One field's name, range and value names.
struct FieldSpec {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const MINUTE: FieldSpec = FieldSpec {
    name: "minute",
    min: 0,
    max: 59,
    names: &[],
};
const HOUR: FieldSpec = FieldSpec {
    name: "hour",
    min: 0,
    max: 23,
    names: &[],
};
const DAY_OF_MONTH: FieldSpec = FieldSpec {
    name: "day-of-month",
    min: 1,
    max: 31,
    names: &[],
};
const MONTH: FieldSpec = FieldSpec {
    name: "month",
    min: 1,
    max: 12,
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
};
const DAY_OF_WEEK: FieldSpec = FieldSpec {
    name: "day-of-week",
    min: 0,
    max: 7,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
};

impl FieldSpec {
    fn error(&self, text: &str, reason: impl Into<String>) -> CadenceError {
        CadenceError::Field {
            field: self.name,
            text: text.to_owned(),
            reason: reason.into(),
        }
    }

    fn value(&self, text: &str, whole: &str) -> Result<u32, CadenceError> {
        let lower = text.to_ascii_lowercase();
        if let Some(index) = self.names.iter().position(|name| *name == lower) {
            // Month names count from 1, day names from Sunday = 0.
            return Ok(index as u32 + self.min);
        }
        let value: u32 = text
            .parse()
            .map_err(|_| self.error(whole, format!("`{text}` is not a number")))?;
        if !(self.min..=self.max).contains(&value) {
            return Err(self.error(
                whole,
                format!("{value} is outside {}–{}", self.min, self.max),
            ));
        }
        Ok(value)
    }

    /// The values `text` allows, as a bit set; and whether it was `*`.
    fn parse(&self, text: &str) -> Result<(u64, bool), CadenceError> {
        let mut bits = 0u64;
        for part in text.split(',') {
            let (range, step) = match part.split_once('/') {
                Some((range, step)) => {
                    let step: u32 = step.parse().ok().filter(|&s| s > 0).ok_or_else(|| {
                        self.error(text, format!("step `{step}` is not a positive number"))
                    })?;
                    (range, step)
                }
                None => (part, 1),
            };
            let (low, high) = match range {
                "*" => (self.min, self.max),
                _ => match range.split_once('-') {
                    Some((low, high)) => (self.value(low, text)?, self.value(high, text)?),
                    None if step > 1 => (self.value(range, text)?, self.max),
                    None => {
                        let value = self.value(range, text)?;
                        (value, value)
                    }
                },
            };
            if low > high {
                return Err(self.error(text, format!("the range {low}-{high} runs backwards")));
            }
            for value in (low..=high).step_by(step as usize) {
                bits |= 1 << value;
            }
        }
        Ok((bits, text == "*"))
    }
}

impl FromStr for Cron {
    type Err = CadenceError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        let [minute, hour, day, month, weekday] = fields[..] else {
            return Err(CadenceError::FieldCount(fields.len()));
        };
        let (minutes, _) = MINUTE.parse(minute)?;
        let (hours, _) = HOUR.parse(hour)?;
        let (days_of_month, any_day) = DAY_OF_MONTH.parse(day)?;
        let (months, _) = MONTH.parse(month)?;
        let (days_of_week, any_weekday) = DAY_OF_WEEK.parse(weekday)?;
        // 7 is Sunday too.
        let days_of_week = (days_of_week | (days_of_week >> 7)) & 0x7f;
        Ok(Cron {
            text: fields.join(" "),
            minutes,
            hours: hours as u32,
            days_of_month: days_of_month as u32,
            months: months as u16,
            days_of_week: days_of_week as u8,
            either_day: !any_day && !any_weekday,
        })
    }
}

impl Cron {
    fn matches_date(&self, date: Date) -> bool {
        let month = self.months & (1 << date.month()) != 0;
        let day_of_month = self.days_of_month & (1 << date.day()) != 0;
        let day_of_week = self.days_of_week & (1 << date.weekday().to_sunday_zero_offset()) != 0;
        let day = if self.either_day {
            day_of_month || day_of_week
        } else {
            day_of_month && day_of_week
        };
        month && day
    }

    /// The local times of a matching day, in order.
    fn times(&self) -> impl Iterator<Item = (i8, i8)> + '_ {
        (0..24i8)
            .filter(|h| self.hours & (1 << h) != 0)
            .flat_map(|h| {
                (0..60i8)
                    .filter(|m| self.minutes & (1 << m) != 0)
                    .map(move |m| (h, m))
            })
    }

    /// The first instant after `after` this expression matches, in `zone`.
    pub fn next_after(&self, zone: &TimeZone, after: Timestamp) -> Result<Timestamp, CadenceError> {
        let never = || CadenceError::Never(self.text.clone());
        let start = time::to_zoned(after, zone).map_err(|_| never())?.date();
        for offset in 0..SEARCH_DAYS {
            let Ok(date) = start.checked_add(jiff::Span::new().days(offset)) else {
                break;
            };
            if !self.matches_date(date) {
                continue;
            }
            for (hour, minute) in self.times() {
                let local =
                    DateTime::new(date.year(), date.month(), date.day(), hour, minute, 0, 0)
                        .map_err(|_| never())?;
                let Ok(zoned) = local.to_zoned(zone.clone()) else {
                    continue;
                };
                let Ok(at) = i64::try_from(zoned.timestamp().as_nanosecond()) else {
                    continue;
                };
                if at > after {
                    return Ok(at);
                }
            }
        }
        Err(never())
    }
}

/// The cron expression a cadence runs by.
pub fn cron_of(cadence: &Cadence) -> Result<Cron, CadenceError> {
    match cadence {
        Cadence::Day { at } => format!("{} {} * * *", at.minute(), at.hour()).parse(),
        Cadence::Week { day, at } => format!(
            "{} {} * * {}",
            at.minute(),
            at.hour(),
            (day.days_from_monday() + 1) % 7
        )
        .parse(),
        Cadence::Cron { expression } => expression.parse(),
    }
}

/// The first run of `cadence` after `after`.
pub fn next_run(
    cadence: &Cadence,
    zone: &TimeZone,
    after: Timestamp,
) -> Result<Timestamp, CadenceError> {
    cron_of(cadence)?.next_after(zone, after)
}

/// The period a run at `at` covers, `[start, end)`.
pub fn period_of(
    period: SchedulePeriod,
    zone: &TimeZone,
    at: Timestamp,
) -> Result<(Timestamp, Timestamp), String> {
    match period {
        SchedulePeriod::PreviousDay => Ok((
            time::start_of_day_after(at, -1, zone)?,
            time::start_of_day(at, zone)?,
        )),
        SchedulePeriod::PreviousWeek => {
            let this_week = time::start_of_week(at, zone)?;
            Ok((time::start_of_day_after(this_week, -7, zone)?, this_week))
        }
        SchedulePeriod::PreviousMonth => {
            let first = time::to_zoned(at, zone)?
                .first_of_month()
                .and_then(|day| day.start_of_day())
                .map_err(|e| e.to_string())?;
            let previous = first
                .checked_sub(jiff::Span::new().months(1))
                .map_err(|e| e.to_string())?;
            let nanos = |z: &jiff::Zoned| {
                i64::try_from(z.timestamp().as_nanosecond()).map_err(|e| e.to_string())
            };
            Ok((nanos(&previous)?, nanos(&first)?))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chatter_model::{ShiftTime, Weekday};

    fn at(text: &str) -> Timestamp {
        crate::time::parse(text).unwrap()
    }

    fn next(expression: &str, zone: &str, after: &str) -> String {
        let cron: Cron = expression.parse().unwrap();
        let zone = TimeZone::get(zone).unwrap();
        crate::time::format(cron.next_after(&zone, at(after)).unwrap())
    }

    #[test]
    fn fields_take_numbers_ranges_lists_steps_and_names() {
        assert_eq!(
            next("30 6 * * *", "UTC", "2024-05-10T06:30:00Z"),
            "2024-05-11T06:30:00Z"
        );
        assert_eq!(
            next("*/15 * * * *", "UTC", "2024-05-10T06:31:00Z"),
            "2024-05-10T06:45:00Z"
        );
        assert_eq!(
            next("0 9-17/4 * * *", "UTC", "2024-05-10T09:00:00Z"),
            "2024-05-10T13:00:00Z"
        );
        assert_eq!(
            next("0 7 * * mon,fri", "UTC", "2024-05-10T08:00:00Z"),
            "2024-05-13T07:00:00Z"
        );
        assert_eq!(
            next("0 7 * * 7", "UTC", "2024-05-10T08:00:00Z"),
            "2024-05-12T07:00:00Z"
        );
        assert_eq!(
            next("0 0 1 jan *", "UTC", "2024-05-10T08:00:00Z"),
            "2025-01-01T00:00:00Z"
        );
        assert_eq!(
            next("0 0 29 2 *", "UTC", "2024-03-01T00:00:00Z"),
            "2028-02-29T00:00:00Z"
        );
    }

    #[test]
    fn day_of_month_and_day_of_week_restricted_together_match_either() {
        // The 13th (a Monday in May 2024) or any Friday.
        assert_eq!(
            next("0 0 13 * fri", "UTC", "2024-05-01T00:00:00Z"),
            "2024-05-03T00:00:00Z"
        );
        assert_eq!(
            next("0 0 13 * fri", "UTC", "2024-05-10T00:00:00Z"),
            "2024-05-13T00:00:00Z"
        );
    }

    #[test]
    fn local_times_follow_the_zone_across_daylight_saving() {
        // Chicago springs forward on 2024-03-10: 02:30 does not exist that night.
        assert_eq!(
            next("30 2 * * *", "America/Chicago", "2024-03-09T09:00:00Z"),
            "2024-03-10T08:30:00Z"
        );
        assert_eq!(
            next("0 6 * * *", "America/Chicago", "2024-03-09T13:00:00Z"),
            "2024-03-10T11:00:00Z"
        );
        // It falls back on 2024-11-03: 01:30 happens twice and runs once, at the first.
        let zone = TimeZone::get("America/Chicago").unwrap();
        let cron: Cron = "30 1 * * *".parse().unwrap();
        let first = cron.next_after(&zone, at("2024-11-03T00:00:00Z")).unwrap();
        assert_eq!(crate::time::format(first), "2024-11-03T06:30:00Z");
        let second = cron.next_after(&zone, first).unwrap();
        assert_eq!(crate::time::format(second), "2024-11-04T07:30:00Z");
    }

    #[test]
    fn bad_expressions_say_what_is_wrong() {
        let error = |text: &str| text.parse::<Cron>().unwrap_err().to_string();
        assert_eq!(
            error("0 7 * *"),
            "a cron expression has five fields (minute hour day-of-month month day-of-week), not 4"
        );
        assert_eq!(
            error("60 7 * * *"),
            "cron field minute `60`: 60 is outside 0–59"
        );
        assert_eq!(
            error("0 x * * *"),
            "cron field hour `x`: `x` is not a number"
        );
        assert_eq!(
            error("0 7 * * 5-1"),
            "cron field day-of-week `5-1`: the range 5-1 runs backwards"
        );
        assert_eq!(
            error("*/0 7 * * *"),
            "cron field minute `*/0`: step `0` is not a positive number"
        );
        let never: Cron = "0 0 31 2 *".parse().unwrap();
        assert_eq!(
            never.next_after(&TimeZone::UTC, 0).unwrap_err().to_string(),
            "the cron expression `0 0 31 2 *` never runs"
        );
    }

    #[test]
    fn daily_and_weekly_cadences_are_cron_expressions() {
        let seven = ShiftTime::new(7, 5).unwrap();
        let zone = TimeZone::get("Europe/Berlin").unwrap();
        let daily = Cadence::Day { at: seven };
        let weekly = Cadence::Week {
            day: Weekday::Monday,
            at: seven,
        };
        let after = at("2024-05-10T12:00:00Z"); // a Friday
        assert_eq!(
            crate::time::format(next_run(&daily, &zone, after).unwrap()),
            "2024-05-11T05:05:00Z"
        );
        assert_eq!(
            crate::time::format(next_run(&weekly, &zone, after).unwrap()),
            "2024-05-13T05:05:00Z"
        );
        let sunday = Cadence::Week {
            day: Weekday::Sunday,
            at: seven,
        };
        assert_eq!(
            crate::time::format(next_run(&sunday, &zone, after).unwrap()),
            "2024-05-12T05:05:00Z"
        );
    }

    #[test]
    fn periods_are_whole_local_days_weeks_and_months() {
        let zone = TimeZone::get("America/Chicago").unwrap();
        let run = at("2024-03-11T12:00:00Z"); // Monday, the day after spring forward
        let format = |(from, to): (Timestamp, Timestamp)| {
            (crate::time::format(from), crate::time::format(to))
        };
        assert_eq!(
            format(period_of(SchedulePeriod::PreviousDay, &zone, run).unwrap()),
            ("2024-03-10T06:00:00Z".into(), "2024-03-11T05:00:00Z".into())
        );
        assert_eq!(
            format(period_of(SchedulePeriod::PreviousWeek, &zone, run).unwrap()),
            ("2024-03-04T06:00:00Z".into(), "2024-03-11T05:00:00Z".into())
        );
        assert_eq!(
            format(period_of(SchedulePeriod::PreviousMonth, &zone, run).unwrap()),
            ("2024-02-01T06:00:00Z".into(), "2024-03-01T06:00:00Z".into())
        );
    }
}
