//! Numbers as a report shows them. Times are `i64` nanoseconds, as the host gives them.
//!
//! For people: [`duration`] (`2.4 h`, `37 min`, `45 s`), [`percent`] (`63.2 %`),
//! [`percent_whole`] (`63 %`), [`cycle_time`] (`4:12`, `1:02:03`). For files read by programs:
//! [`seconds`] (`12.345`), exact to the millisecond. A value that does not exist (an average of
//! no cycles) is shown as [`MISSING`], never as 0.

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
}
