//! Shift schedules: the named periods of the week an organization works in, in its own time
//! zone.
//!
//! A [`Shift`] starts at a local time on each of its days and ends at a local time, on the next
//! day when the end is not after the start (`22:00`–`06:00`), 24 hours later when the two are
//! equal. A schedule is a list of shifts that [`validate`] accepts: named, on at least one day,
//! and never overlapping each other anywhere in the week — including Sunday night running into
//! Monday.
//!
//! Times here are wall-clock times without a date. Turning them into instants, across
//! daylight-saving changes, is the server's job.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Most shifts a schedule may hold: enough for any shop's week, few enough that a report with
/// a column per shift stays readable.
pub const MAX_SHIFTS: usize = 16;

/// Longest shift name, in characters.
pub const MAX_NAME: usize = 64;

/// Minutes in a day.
const DAY: u32 = 24 * 60;

/// Minutes in a week.
const WEEK: u32 = 7 * DAY;

/// A day of the week. Serialized as its three-letter lower-case name (`"mon"`); the full name
/// (`"monday"`) is accepted too, in any case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Weekday {
    /// Monday, the first day of the week.
    Monday,
    /// Tuesday.
    Tuesday,
    /// Wednesday.
    Wednesday,
    /// Thursday.
    Thursday,
    /// Friday.
    Friday,
    /// Saturday.
    Saturday,
    /// Sunday, the last day of the week.
    Sunday,
}

impl Weekday {
    /// Every day, from Monday.
    pub const ALL: [Weekday; 7] = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
        Weekday::Sunday,
    ];

    /// Days since Monday: 0 for Monday, 6 for Sunday.
    pub fn days_from_monday(self) -> u8 {
        self as u8
    }

    /// The day `days_from_monday` days after Monday, counting on into the next week.
    pub fn from_monday(days_from_monday: u8) -> Weekday {
        Weekday::ALL[usize::from(days_from_monday % 7)]
    }

    /// Its three-letter lower-case name, as serialized: `mon`.
    pub fn short_name(self) -> &'static str {
        match self {
            Weekday::Monday => "mon",
            Weekday::Tuesday => "tue",
            Weekday::Wednesday => "wed",
            Weekday::Thursday => "thu",
            Weekday::Friday => "fri",
            Weekday::Saturday => "sat",
            Weekday::Sunday => "sun",
        }
    }

    /// Its full lower-case name: `monday`.
    pub fn full_name(self) -> &'static str {
        match self {
            Weekday::Monday => "monday",
            Weekday::Tuesday => "tuesday",
            Weekday::Wednesday => "wednesday",
            Weekday::Thursday => "thursday",
            Weekday::Friday => "friday",
            Weekday::Saturday => "saturday",
            Weekday::Sunday => "sunday",
        }
    }
}

impl fmt::Display for Weekday {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short_name())
    }
}

impl FromStr for Weekday {
    type Err = ShiftError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let wanted = text.trim().to_ascii_lowercase();
        Weekday::ALL
            .into_iter()
            .find(|day| day.short_name() == wanted || day.full_name() == wanted)
            .ok_or_else(|| ShiftError::UnknownDay(text.to_owned()))
    }
}

impl Serialize for Weekday {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.short_name())
    }
}

impl<'de> Deserialize<'de> for Weekday {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A time of day on the wall clock, in whole minutes after midnight (0 to 1,439). Serialized as
/// `"HH:MM"`; midnight is `"00:00"`, never `"24:00"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ShiftTime(u16);

impl ShiftTime {
    /// Midnight, `00:00`.
    pub const MIDNIGHT: ShiftTime = ShiftTime(0);

    /// The time `hour:minute`, if it is one (hour 0 to 23, minute 0 to 59).
    pub fn new(hour: u8, minute: u8) -> Option<ShiftTime> {
        (hour < 24 && minute < 60).then_some(ShiftTime(u16::from(hour) * 60 + u16::from(minute)))
    }

    /// The time `minutes` after midnight, if that is before the next midnight.
    pub fn from_minutes(minutes: u16) -> Option<ShiftTime> {
        (u32::from(minutes) < DAY).then_some(ShiftTime(minutes))
    }

    /// Minutes after midnight.
    pub fn minutes(self) -> u16 {
        self.0
    }

    /// The hour, 0 to 23.
    pub fn hour(self) -> u8 {
        // Below 1,440 minutes, so below 24 hours.
        (self.0 / 60) as u8
    }

    /// The minute of the hour, 0 to 59.
    pub fn minute(self) -> u8 {
        (self.0 % 60) as u8
    }
}

impl fmt::Display for ShiftTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour(), self.minute())
    }
}

impl FromStr for ShiftTime {
    type Err = ShiftError;

    /// `HH:MM`, or `H:MM` for hours below ten.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || ShiftError::InvalidTime(text.to_owned());
        let (hour, minute) = text.trim().split_once(':').ok_or_else(invalid)?;
        let digits = |part: &str, lengths: &[usize]| {
            lengths.contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit())
        };
        if !digits(hour, &[1, 2]) || !digits(minute, &[2]) {
            return Err(invalid());
        }
        let hour: u8 = hour.parse().map_err(|_| invalid())?;
        let minute: u8 = minute.parse().map_err(|_| invalid())?;
        ShiftTime::new(hour, minute).ok_or_else(invalid)
    }
}

impl Serialize for ShiftTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ShiftTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A shift: a named period that starts on each of its days at `start` and ends at `end`, on the
/// next day when `end` is not after `start`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shift {
    /// Its name (`First`, `Night`), unique in the schedule regardless of case.
    pub name: String,
    /// The days it starts on; a night shift from Friday 22:00 to Saturday 06:00 lists `fri`.
    pub days: Vec<Weekday>,
    /// When it starts, on the wall clock of the organization's time zone.
    pub start: ShiftTime,
    /// When it ends: the same day if after `start`, else the next day (24 hours after the start
    /// on the wall clock when equal to it).
    pub end: ShiftTime,
}

impl Shift {
    /// Whether it ends on the day after it starts.
    pub fn crosses_midnight(&self) -> bool {
        self.end <= self.start
    }

    /// Its length on the wall clock, in minutes (1 to 1,440); a daylight-saving change during
    /// it makes it an hour longer or shorter in fact.
    pub fn minutes(&self) -> u32 {
        let (start, end) = (
            u32::from(self.start.minutes()),
            u32::from(self.end.minutes()),
        );
        if self.crosses_midnight() {
            end + DAY - start
        } else {
            end - start
        }
    }

    /// Whether it starts on `day`.
    pub fn starts_on(&self, day: Weekday) -> bool {
        self.days.contains(&day)
    }

    /// The same shift as it is best stored: the name without surrounding spaces, the days in
    /// week order without repeats.
    pub fn normalized(mut self) -> Shift {
        let trimmed = self.name.trim();
        if trimmed.len() != self.name.len() {
            self.name = trimmed.to_owned();
        }
        self.days.sort();
        self.days.dedup();
        self
    }
}

/// Why a shift, a schedule or a piece of one was refused. Each message names the shift at fault
/// (or its position, when it has no name) and says what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShiftError {
    /// A time is not `HH:MM` between `00:00` and `23:59`.
    #[error("`{0}` is not a time of day: write HH:MM, from 00:00 to 23:59")]
    InvalidTime(String),
    /// A day is not a day of the week.
    #[error("`{0}` is not a day: write mon, tue, wed, thu, fri, sat or sun")]
    UnknownDay(String),
    /// The schedule has more shifts than [`MAX_SHIFTS`].
    #[error("a schedule holds at most {max} shifts; this one has {count}", max = MAX_SHIFTS)]
    TooMany {
        /// How many it has.
        count: usize,
    },
    /// A shift has a blank name.
    #[error("shift {position} has no name")]
    NoName {
        /// Its position in the schedule, from 1.
        position: usize,
    },
    /// A shift's name is longer than [`MAX_NAME`] characters.
    #[error("the name of shift `{name}` is longer than {max} characters", max = MAX_NAME)]
    NameTooLong {
        /// The name.
        name: String,
    },
    /// A shift's name holds a line break, tab or other control character.
    #[error("the name of shift `{}` holds a line break or another control character", .name.escape_debug())]
    NameControl {
        /// The name.
        name: String,
    },
    /// Two shifts have the same name, regardless of case.
    #[error("two shifts are named `{name}`: give each shift a name of its own")]
    DuplicateName {
        /// The name, as the second shift spells it.
        name: String,
    },
    /// A shift is on no day.
    #[error("shift `{name}` is on no day: list the days it starts on")]
    NoDays {
        /// Its name.
        name: String,
    },
    /// A shift lists a day twice.
    #[error("shift `{name}` lists {day} twice")]
    RepeatedDay {
        /// Its name.
        name: String,
        /// The day.
        day: Weekday,
    },
    /// Two shifts overlap somewhere in the week.
    #[error(
        "shifts `{first}` ({first_day} {first_start}-{first_end}) and `{second}` \
         ({second_day} {second_start}-{second_end}) overlap"
    )]
    Overlap {
        /// The name of the shift whose occurrence starts first in the week.
        first: String,
        /// The day that occurrence starts.
        first_day: Weekday,
        /// Its start.
        first_start: ShiftTime,
        /// Its end.
        first_end: ShiftTime,
        /// The name of the shift that starts during it.
        second: String,
        /// The day the second occurrence starts.
        second_day: Weekday,
        /// Its start.
        second_start: ShiftTime,
        /// Its end.
        second_end: ShiftTime,
    },
}

/// Checks a schedule: at most [`MAX_SHIFTS`] shifts, each with a name (unique regardless of case,
/// at most [`MAX_NAME`] characters, on one line) and at least one day listed once, and no two
/// overlapping anywhere in the week. The first fault found is returned.
pub fn validate(shifts: &[Shift]) -> Result<(), ShiftError> {
    if shifts.len() > MAX_SHIFTS {
        return Err(ShiftError::TooMany {
            count: shifts.len(),
        });
    }
    let mut names: Vec<String> = Vec::with_capacity(shifts.len());
    for (index, shift) in shifts.iter().enumerate() {
        let name = shift.name.trim();
        if name.is_empty() {
            return Err(ShiftError::NoName {
                position: index + 1,
            });
        }
        if name.chars().count() > MAX_NAME {
            return Err(ShiftError::NameTooLong {
                name: shift.name.clone(),
            });
        }
        if name.chars().any(char::is_control) {
            return Err(ShiftError::NameControl {
                name: shift.name.clone(),
            });
        }
        let folded = name.to_lowercase();
        if names.contains(&folded) {
            return Err(ShiftError::DuplicateName {
                name: shift.name.clone(),
            });
        }
        names.push(folded);
        if shift.days.is_empty() {
            return Err(ShiftError::NoDays {
                name: shift.name.clone(),
            });
        }
        for (at, day) in shift.days.iter().enumerate() {
            if shift.days[..at].contains(day) {
                return Err(ShiftError::RepeatedDay {
                    name: shift.name.clone(),
                    day: *day,
                });
            }
        }
    }
    check_overlaps(shifts)
}

/// One occurrence of a shift as minutes of the week `[begin, end)` from Monday 00:00; an
/// occurrence running past Sunday midnight is cut in two, its second piece at the week's start.
struct Piece {
    begin: u32,
    end: u32,
    shift: usize,
    day: Weekday,
}

fn check_overlaps(shifts: &[Shift]) -> Result<(), ShiftError> {
    let mut pieces = Vec::new();
    for (index, shift) in shifts.iter().enumerate() {
        for &day in &shift.days {
            let begin = u32::from(day.days_from_monday()) * DAY + u32::from(shift.start.minutes());
            let end = begin + shift.minutes();
            let piece = |begin, end| Piece {
                begin,
                end,
                shift: index,
                day,
            };
            if end > WEEK {
                pieces.push(piece(begin, WEEK));
                pieces.push(piece(0, end - WEEK));
            } else {
                pieces.push(piece(begin, end));
            }
        }
    }
    pieces.sort_by_key(|piece| (piece.begin, piece.end));
    // Sorted by start, a piece overlaps an earlier one exactly when it starts before the
    // furthest end reached so far; that earlier piece is the one to name.
    let mut furthest: Option<&Piece> = None;
    for piece in &pieces {
        if let Some(reached) = furthest
            && piece.begin < reached.end
        {
            let (first, second) = (&shifts[reached.shift], &shifts[piece.shift]);
            return Err(ShiftError::Overlap {
                first: first.name.clone(),
                first_day: reached.day,
                first_start: first.start,
                first_end: first.end,
                second: second.name.clone(),
                second_day: piece.day,
                second_start: second.start,
                second_end: second.end,
            });
        }
        if furthest.is_none_or(|reached| piece.end > reached.end) {
            furthest = Some(piece);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time(text: &str) -> ShiftTime {
        text.parse().unwrap()
    }

    fn shift(name: &str, days: &[Weekday], start: &str, end: &str) -> Shift {
        Shift {
            name: name.to_owned(),
            days: days.to_vec(),
            start: time(start),
            end: time(end),
        }
    }

    const WEEKDAYS: [Weekday; 5] = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
    ];

    #[test]
    fn times_round_trip_as_hh_mm() {
        let six: ShiftTime = serde_json::from_str("\"06:00\"").unwrap();
        assert_eq!(six.minutes(), 360);
        assert_eq!(serde_json::to_string(&six).unwrap(), "\"06:00\"");
        let late: ShiftTime = serde_json::from_str("\"23:59\"").unwrap();
        assert_eq!(late.minutes(), 1439);
        assert_eq!(late.to_string(), "23:59");
        assert_eq!(time("00:00"), ShiftTime::MIDNIGHT);
        assert_eq!(time("6:30"), ShiftTime::new(6, 30).unwrap());
    }

    #[test]
    fn times_that_are_not_hh_mm_are_refused_with_the_text() {
        for bad in [
            "25:00", "24:00", "6", "06:60", "06:5", "06:000", "", "six", "-1:00", "06:00 pm",
        ] {
            let error = bad.parse::<ShiftTime>().unwrap_err();
            assert_eq!(error, ShiftError::InvalidTime(bad.to_owned()), "{bad}");
        }
        let error = serde_json::from_str::<ShiftTime>("\"25:00\"").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("`25:00` is not a time of day: write HH:MM, from 00:00 to 23:59"),
            "{error}"
        );
        assert!(serde_json::from_str::<ShiftTime>("360").is_err());
        assert_eq!(ShiftTime::from_minutes(1440), None);
        assert_eq!(ShiftTime::new(24, 0), None);
    }

    #[test]
    fn days_are_three_letters_and_accept_full_names() {
        assert_eq!(serde_json::to_string(&Weekday::Monday).unwrap(), "\"mon\"");
        assert_eq!(serde_json::to_string(&Weekday::Sunday).unwrap(), "\"sun\"");
        let days: Vec<Weekday> = serde_json::from_str(r#"["tue", "Wednesday", "SUN"]"#).unwrap();
        assert_eq!(
            days,
            [Weekday::Tuesday, Weekday::Wednesday, Weekday::Sunday]
        );
        let error = serde_json::from_str::<Weekday>("\"tues\"").unwrap_err();
        assert!(
            error.to_string().starts_with("`tues` is not a day"),
            "{error}"
        );
        assert_eq!(Weekday::from_monday(7), Weekday::Monday);
    }

    #[test]
    fn a_shift_round_trips_as_json() {
        let night = shift("Night", &[Weekday::Friday], "22:00", "06:00");
        let json = serde_json::to_value(&night).unwrap();
        assert_eq!(
            json,
            serde_json::json!({ "name": "Night", "days": ["fri"], "start": "22:00", "end": "06:00" })
        );
        assert_eq!(serde_json::from_value::<Shift>(json).unwrap(), night);
    }

    #[test]
    fn lengths_count_across_midnight() {
        assert_eq!(shift("Day", &WEEKDAYS, "06:00", "14:00").minutes(), 8 * 60);
        let night = shift("Night", &WEEKDAYS, "22:00", "06:00");
        assert!(night.crosses_midnight());
        assert_eq!(night.minutes(), 8 * 60);
        assert_eq!(
            shift("All day", &WEEKDAYS, "07:00", "07:00").minutes(),
            1440
        );
    }

    #[test]
    fn a_three_shift_week_is_valid() {
        let schedule = [
            shift("First", &WEEKDAYS, "06:00", "14:00"),
            shift("Second", &WEEKDAYS, "14:00", "22:00"),
            shift("Third", &WEEKDAYS, "22:00", "06:00"),
            shift("Weekend", &[Weekday::Saturday], "06:00", "18:00"),
        ];
        assert_eq!(validate(&schedule), Ok(()));
        assert_eq!(validate(&[]), Ok(()));
    }

    #[test]
    fn overlapping_shifts_are_named_with_where_they_overlap() {
        let schedule = [
            shift("Early", &WEEKDAYS, "06:00", "14:00"),
            shift("Late", &[Weekday::Wednesday], "13:00", "21:00"),
        ];
        let error = validate(&schedule).unwrap_err();
        assert_eq!(
            error.to_string(),
            "shifts `Early` (wed 06:00-14:00) and `Late` (wed 13:00-21:00) overlap"
        );
    }

    #[test]
    fn a_night_shift_overlaps_the_next_mornings_shift() {
        let schedule = [
            shift("Day", &[Weekday::Tuesday], "05:00", "13:00"),
            shift("Night", &[Weekday::Monday], "22:00", "06:00"),
        ];
        let error = validate(&schedule).unwrap_err();
        assert_eq!(
            error.to_string(),
            "shifts `Night` (mon 22:00-06:00) and `Day` (tue 05:00-13:00) overlap"
        );
    }

    #[test]
    fn sunday_night_runs_into_monday() {
        let sunday_night = shift("Sunday night", &[Weekday::Sunday], "20:00", "04:00");
        let monday = shift("Monday early", &[Weekday::Monday], "03:00", "11:00");
        let error = validate(&[monday.clone(), sunday_night.clone()]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "shifts `Sunday night` (sun 20:00-04:00) and `Monday early` (mon 03:00-11:00) overlap"
        );
        // Ending as the next one starts is no overlap.
        let monday = shift("Monday", &[Weekday::Monday], "04:00", "12:00");
        assert_eq!(validate(&[monday, sunday_night]), Ok(()));
    }

    #[test]
    fn a_24_hour_shift_every_day_fills_the_week_and_nothing_else_fits() {
        let all = Weekday::ALL;
        let round_the_clock = shift("Continuous", &all, "06:00", "06:00");
        assert_eq!(validate(std::slice::from_ref(&round_the_clock)), Ok(()));
        let extra = shift("Extra", &[Weekday::Thursday], "12:00", "13:00");
        let error = validate(&[round_the_clock, extra]).unwrap_err();
        assert!(
            matches!(&error, ShiftError::Overlap { first, second, .. }
                if first == "Continuous" && second == "Extra"),
            "{error}"
        );
    }

    #[test]
    fn names_are_unique_regardless_of_case() {
        let schedule = [
            shift("Night", &[Weekday::Monday], "22:00", "06:00"),
            shift("night", &[Weekday::Tuesday], "22:00", "06:00"),
        ];
        assert_eq!(
            validate(&schedule).unwrap_err().to_string(),
            "two shifts are named `night`: give each shift a name of its own"
        );
    }

    #[test]
    fn names_days_and_counts_are_checked() {
        let blank = shift("  ", &WEEKDAYS, "06:00", "14:00");
        let ok = shift("Day", &WEEKDAYS, "06:00", "14:00");
        assert_eq!(
            validate(&[ok.clone(), blank]).unwrap_err().to_string(),
            "shift 2 has no name"
        );
        let long = shift(&"x".repeat(65), &WEEKDAYS, "06:00", "14:00");
        assert!(matches!(
            validate(&[long]),
            Err(ShiftError::NameTooLong { .. })
        ));
        let exactly = shift(&"é".repeat(64), &WEEKDAYS, "06:00", "14:00");
        assert_eq!(validate(&[exactly]), Ok(()));
        let two_lines = shift("Day\nNight", &WEEKDAYS, "06:00", "14:00");
        assert_eq!(
            validate(&[two_lines]).unwrap_err().to_string(),
            "the name of shift `Day\\nNight` holds a line break or another control character"
        );
        let nowhere = shift("Nowhere", &[], "06:00", "14:00");
        assert_eq!(
            validate(&[nowhere]).unwrap_err().to_string(),
            "shift `Nowhere` is on no day: list the days it starts on"
        );
        let twice = shift(
            "Twice",
            &[Weekday::Monday, Weekday::Monday],
            "06:00",
            "14:00",
        );
        assert_eq!(
            validate(&[twice]).unwrap_err().to_string(),
            "shift `Twice` lists mon twice"
        );
        let many: Vec<Shift> = (0..17)
            .map(|n| shift(&format!("S{n}"), &[Weekday::Monday], "00:00", "00:01"))
            .collect();
        assert_eq!(
            validate(&many).unwrap_err().to_string(),
            "a schedule holds at most 16 shifts; this one has 17"
        );
    }

    #[test]
    fn normalizing_trims_the_name_and_orders_the_days() {
        let messy = shift(
            " Night ",
            &[Weekday::Friday, Weekday::Monday, Weekday::Friday],
            "22:00",
            "06:00",
        );
        let clean = messy.normalized();
        assert_eq!(clean.name, "Night");
        assert_eq!(clean.days, [Weekday::Monday, Weekday::Friday]);
    }
}
