//! Numbers as a report shows them. Times are `i64` nanoseconds, as the host gives them.
//!
//! For people: [`duration`] (`2.4 h`, `37 min`, `45 s`), [`percent`] (`63.2 %`),
//! [`percent_whole`] (`63 %`), [`cycle_time`] (`4:12`, `1:02:03`). For files read by programs:
//! [`seconds`] (`12.345`), exact to the millisecond, and [`rfc3339_utc`]
//! (`2025-03-03T14:05:09Z`) for moments. Within a local day: [`hours_minutes`] (`06:05`). A
//! value that does not exist (an average of no cycles) is shown as [`MISSING`], never as 0.

/// What a report shows for a value that does not exist, e.g. the average of no cycles.
pub const MISSING: &str = "—";

const NS_PER_SECOND: u64 = 1_000_000_000;
const NS_PER_MINUTE: u64 = 60 * NS_PER_SECOND;
const NS_PER_HOUR: u64 = 60 * NS_PER_MINUTE;

/// A duration at the unit that reads best: hours with one decimal from an hour up (`2.4 h`),
/// whole minutes from a minute up (`37 min`), whole seconds below (`45 s`). Rounded to the
/// nearest unit, so 59.6 s is `1 min`.
pub fn duration(ns: i64) -> String {
    let sign = if ns < 0 { "-" } else { "" };
    let ns = ns.unsigned_abs();
    let seconds = rounded_div(ns, NS_PER_SECOND);
    if seconds < 60 {
        return format!("{sign}{seconds} s");
    }
    let minutes = rounded_div(ns, NS_PER_MINUTE);
    if minutes < 60 {
        return format!("{sign}{minutes} min");
    }
    // Tenths of an hour in integers: floats would round 0.05 h steps unpredictably.
    let tenths = rounded_div(ns, NS_PER_HOUR / 10);
    format!("{sign}{}.{} h", tenths / 10, tenths % 10)
}

/// A percentage with one decimal: `63.2 %`; [`MISSING`] when not a number.
pub fn percent(value: f64) -> String {
    if value.is_finite() {
        format!("{value:.1} %")
    } else {
        MISSING.to_owned()
    }
}

/// A percentage rounded to a whole number, for sentences: `63 %`; [`MISSING`] when not a
/// number.
pub fn percent_whole(value: f64) -> String {
    if value.is_finite() {
        format!("{value:.0} %")
    } else {
        MISSING.to_owned()
    }
}

/// `part` as a percentage of `whole`; `None` when `whole` is not positive (nothing to divide
/// by is not 0 %).
pub fn share(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}

/// A cycle time as a clock shows it, rounded to the second: `4:12` (minutes and seconds) below
/// an hour, `1:02:03` from an hour up.
pub fn cycle_time(ns: i64) -> String {
    let sign = if ns < 0 { "-" } else { "" };
    let total = rounded_div(ns.unsigned_abs(), NS_PER_SECOND);
    let (hours, minutes, seconds) = (total / 3600, total / 60 % 60, total % 60);
    if hours > 0 {
        format!("{sign}{hours}:{minutes:02}:{seconds:02}")
    } else {
        format!("{sign}{minutes}:{seconds:02}")
    }
}

/// Seconds with up to three decimals, for CSV and JSON: nanoseconds ÷ 10⁹ rounded to the
/// millisecond, without trailing zeros (`12.345`, `12.5`, `12`).
pub fn seconds(ns: i64) -> String {
    let sign = if ns < 0 { "-" } else { "" };
    let millis = rounded_div(ns.unsigned_abs(), NS_PER_SECOND / 1000);
    let (whole, fraction) = (millis / 1000, millis % 1000);
    if fraction == 0 {
        return format!("{sign}{whole}");
    }
    let digits = format!("{fraction:03}");
    format!("{sign}{whole}.{}", digits.trim_end_matches('0'))
}

/// A moment (nanoseconds since the Unix epoch) as RFC 3339 in UTC, for files read by programs:
/// `2025-03-03T14:05:09Z`, with milliseconds when there are any (`2025-03-03T14:05:09.25Z` is
/// written `…09.250Z`). Cut to the millisecond, not rounded, so a moment never moves into the next
/// second, minute or day. Works for the whole range of `i64` (1677 to 2262).
///
/// ```
/// use chatter_report_kit::format::rfc3339_utc;
///
/// assert_eq!(rfc3339_utc(1_741_025_109_000_000_000), "2025-03-03T18:05:09Z");
/// assert_eq!(rfc3339_utc(-1_000_000), "1969-12-31T23:59:59.999Z");
/// ```
pub fn rfc3339_utc(ns: i64) -> String {
    let seconds = ns.div_euclid(NS_PER_SECOND as i64);
    let millis = ns.rem_euclid(NS_PER_SECOND as i64) / 1_000_000;
    let (days, second_of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    let (hour, minute, second) = (
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
    );
    let fraction = if millis == 0 {
        String::new()
    } else {
        format!(".{millis:03}")
    };
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{fraction}Z")
}

/// The calendar date (year, month 1–12, day 1–31) of `days` since 1970-01-01 in the proleptic
/// Gregorian calendar: Howard Hinnant's `civil_from_days`, which counts in 400-year eras of
/// 146 097 days so that leap years need no table.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    // Shift the epoch to 0000-03-01: the leap day becomes the last day of the year.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // Months counted from March, of 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 31 and 28/29 days.
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A time of day as a clock shows it, `HH:MM`, from the nanoseconds since the day's start; cut
/// to the minute as clocks do (06:05:59 is `06:05`). A day with a daylight-saving change may be
/// 25 hours long: its last hour reads `24:MM`, which is still the right offset from midnight.
pub fn hours_minutes(since_midnight: i64) -> String {
    let minutes = since_midnight.max(0) / NS_PER_MINUTE as i64;
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// `value / divisor` rounded half up.
fn rounded_div(value: u64, divisor: u64) -> u64 {
    value / divisor + u64::from(value % divisor >= divisor.div_ceil(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    #[test]
    fn durations_take_the_unit_that_reads_best() {
        assert_eq!(duration(0), "0 s");
        assert_eq!(duration(45 * S), "45 s");
        assert_eq!(duration(59 * S + S / 2), "1 min");
        assert_eq!(duration(37 * 60 * S), "37 min");
        assert_eq!(duration(59 * 60 * S + 40 * S), "1.0 h");
        assert_eq!(duration(2 * 3600 * S + 24 * 60 * S), "2.4 h");
        assert_eq!(duration(2 * 3600 * S + 27 * 60 * S), "2.5 h");
        assert_eq!(duration(123 * 3600 * S), "123.0 h");
        assert_eq!(duration(-90 * 60 * S), "-1.5 h");
    }

    #[test]
    fn percentages_have_one_decimal_or_none() {
        assert_eq!(percent(63.24), "63.2 %");
        assert_eq!(percent(100.0), "100.0 %");
        assert_eq!(percent(f64::NAN), MISSING);
        assert_eq!(percent_whole(40.6), "41 %");
        assert_eq!(share(1, 4), Some(25.0));
        assert_eq!(share(1, 0), None);
    }

    #[test]
    fn cycle_times_read_like_a_clock() {
        assert_eq!(cycle_time(4 * 60 * S + 12 * S), "4:12");
        assert_eq!(cycle_time(7 * S), "0:07");
        assert_eq!(cycle_time(3723 * S), "1:02:03");
        assert_eq!(cycle_time(59 * 60 * S + 59 * S + S / 2), "1:00:00");
    }

    #[test]
    fn seconds_are_exact_to_the_millisecond() {
        assert_eq!(seconds(12_345_000_000), "12.345");
        assert_eq!(seconds(12_500_000_000), "12.5");
        assert_eq!(seconds(12 * S), "12");
        assert_eq!(seconds(1_499_999), "0.001");
        assert_eq!(seconds(499_999), "0");
        assert_eq!(seconds(-1_250_000_000), "-1.25");
        assert_eq!(seconds(i64::MAX), "9223372036.855");
    }

    #[test]
    fn moments_are_rfc3339_in_utc() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        // 2025-03-03 18:05:09, and a quarter second later.
        assert_eq!(rfc3339_utc(1_741_025_109 * S), "2025-03-03T18:05:09Z");
        assert_eq!(
            rfc3339_utc(1_741_025_109 * S + S / 4),
            "2025-03-03T18:05:09.250Z"
        );
        // Cut, not rounded: 999.9 ms stays in its second.
        assert_eq!(
            rfc3339_utc(1_735_689_599 * S + 999_999_999),
            "2024-12-31T23:59:59.999Z"
        );
        assert_eq!(rfc3339_utc(1_735_689_600 * S), "2025-01-01T00:00:00Z");
    }

    #[test]
    fn leap_days_and_century_years_fall_on_their_dates() {
        assert_eq!(rfc3339_utc(951_782_400 * S), "2000-02-29T00:00:00Z");
        assert_eq!(
            rfc3339_utc((951_782_400 + 86_400) * S),
            "2000-03-01T00:00:00Z"
        );
        // 2100 is not a leap year: February 28 is followed by March 1.
        assert_eq!(
            rfc3339_utc((4_107_542_400 - 86_400) * S),
            "2100-02-28T00:00:00Z"
        );
        assert_eq!(rfc3339_utc(4_107_542_400 * S), "2100-03-01T00:00:00Z");
        assert_eq!(rfc3339_utc(1_740_960_000 * S), "2025-03-03T00:00:00Z");
    }

    #[test]
    fn moments_before_1970_and_at_the_ends_of_i64() {
        assert_eq!(rfc3339_utc(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(rfc3339_utc(-S), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339_utc(-2_208_988_800 * S), "1900-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(i64::MIN), "1677-09-21T00:12:43.145Z");
        assert_eq!(rfc3339_utc(i64::MAX), "2262-04-11T23:47:16.854Z");
    }

    #[test]
    fn times_of_day_are_hours_and_minutes_cut_to_the_minute() {
        let minute = 60 * S;
        assert_eq!(hours_minutes(0), "00:00");
        assert_eq!(
            hours_minutes(6 * 60 * minute + 5 * minute + 59 * S),
            "06:05"
        );
        assert_eq!(hours_minutes(23 * 60 * minute + 59 * minute), "23:59");
        // The 25th hour of a day when clocks go back.
        assert_eq!(hours_minutes(24 * 60 * minute + 30 * minute), "24:30");
        assert_eq!(hours_minutes(-5), "00:00");
    }
}
