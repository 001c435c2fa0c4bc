//! Timestamps as MTConnect adapters and agents write them: ISO 8601 / RFC 3339 text ⇄ nanoseconds
//! since the Unix epoch (UTC).
//!
//! Parsing is lenient where real adapters are sloppy and strict everywhere else:
//!
//! - the zone may be `Z`/`z`, an offset `+hh:mm`/`-hh:mm` (also `+hhmm` and `+hh`), or missing
//!   altogether — Mazak adapters write local-looking timestamps without a zone that are in fact UTC,
//!   so a missing zone means UTC;
//! - the date/time separator may be `T`, `t` or a space (RFC 3339 allows the space);
//! - the fraction may have any number of digits (Okuma writes 7); digits past nanoseconds are
//!   truncated;
//! - seconds are required and must be `00`–`59` (leap seconds are not representable in Unix time
//!   and no adapter writes them).
//!
//! Dates before 1970 are supported and give negative nanoseconds; the representable range is that
//! of an `i64` of nanoseconds (years 1677–2262). Anything outside it, or anything that is not a
//! well-formed timestamp, gives `None`.
//!
//! ```
//! use chatter_mtconnect::time::{format_timestamp, parse_timestamp};
//! let ns = parse_timestamp("2022-08-08T15:40:36.640237Z").unwrap();
//! assert_eq!(format_timestamp(ns), "2022-08-08T15:40:36.640237Z");
//! ```

const NANOS_PER_SECOND: i64 = 1_000_000_000;
const SECONDS_PER_DAY: i64 = 86_400;

/// Parses an ISO 8601 / RFC 3339 timestamp into nanoseconds since the Unix epoch (UTC).
///
/// Returns `None` for malformed text, impossible dates (e.g. 2023-02-29) and instants outside the
/// range of an `i64` of nanoseconds. See the module documentation for what is accepted.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let mut cursor = Cursor { bytes, pos: 0 };

    let year = cursor.digits(4)?;
    cursor.expect(b'-')?;
    let month = cursor.digits(2)?;
    cursor.expect(b'-')?;
    let day = cursor.digits(2)?;
    if !matches!(cursor.next()?, b'T' | b't' | b' ') {
        return None;
    }
    let hour = cursor.digits(2)?;
    cursor.expect(b':')?;
    let minute = cursor.digits(2)?;
    cursor.expect(b':')?;
    let second = cursor.digits(2)?;
    let nanos = cursor.fraction()?;
    let offset_seconds = cursor.zone()?;
    if cursor.pos != bytes.len() {
        return None;
    }

    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }

    let days = days_from_civil(year, month, day);
    let local_seconds = days * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second;
    let utc_seconds = local_seconds - offset_seconds;
    utc_seconds
        .checked_mul(NANOS_PER_SECOND)?
        .checked_add(nanos)
}

/// Formats nanoseconds since the Unix epoch the way MTConnect agents write timestamps:
/// `2022-08-08T15:40:36.640237Z` — UTC, always six fraction digits (microseconds, truncated
/// towards the past).
pub fn format_timestamp(ns: i64) -> String {
    let seconds = ns.div_euclid(NANOS_PER_SECOND);
    let micros = ns.rem_euclid(NANOS_PER_SECOND) / 1_000;
    let days = seconds.div_euclid(SECONDS_PER_DAY);
    let second_of_day = seconds.rem_euclid(SECONDS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    )
}

/// A forward-only reader over the timestamp's bytes; every method returns `None` on a mismatch so
/// the parser can use `?` throughout.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.pos += 1;
        Some(byte)
    }

    fn expect(&mut self, wanted: u8) -> Option<()> {
        (self.next()? == wanted).then_some(())
    }

    /// Exactly `count` ASCII digits as a number.
    fn digits(&mut self, count: usize) -> Option<i64> {
        let mut value = 0i64;
        for _ in 0..count {
            let byte = self.next()?;
            if !byte.is_ascii_digit() {
                return None;
            }
            value = value * 10 + i64::from(byte - b'0');
        }
        Some(value)
    }

    /// An optional `.digits` fraction of a second, as nanoseconds. A dot without digits is
    /// malformed.
    fn fraction(&mut self) -> Option<i64> {
        if !matches!(self.peek(), Some(b'.' | b',')) {
            return Some(0);
        }
        self.pos += 1;
        let start = self.pos;
        let mut nanos = 0i64;
        while let Some(byte) = self.peek().filter(u8::is_ascii_digit) {
            let place = self.pos - start;
            if place < 9 {
                nanos = nanos * 10 + i64::from(byte - b'0');
            }
            self.pos += 1;
        }
        let count = self.pos - start;
        if count == 0 {
            return None;
        }
        for _ in count..9 {
            nanos *= 10;
        }
        Some(nanos)
    }

    /// The zone suffix as seconds east of UTC; a missing zone means UTC.
    fn zone(&mut self) -> Option<i64> {
        let sign = match self.peek() {
            None => return Some(0),
            Some(b'Z' | b'z') => {
                self.pos += 1;
                return Some(0);
            }
            Some(b'+') => 1,
            Some(b'-') => -1,
            Some(_) => return None,
        };
        self.pos += 1;
        let hours = self.digits(2)?;
        let minutes = match self.peek() {
            None => 0,
            Some(b':') => {
                self.pos += 1;
                self.digits(2)?
            }
            Some(_) => self.digits(2)?,
        };
        if hours > 23 || minutes > 59 {
            return None;
        }
        Some(sign * (hours * 3600 + minutes * 60))
    }
}

fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`
/// algorithm: counting in 400-year eras starting in March makes leap days fall at era ends).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`]: (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const NS: i64 = NANOS_PER_SECOND;

    #[test]
    fn the_epoch_is_zero() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(format_timestamp(0), "1970-01-01T00:00:00.000000Z");
    }

    #[test]
    fn a_known_instant_matches_its_unix_time() {
        // 2022-08-08T15:40:36Z is Unix time 1659973236 (date -d ... +%s).
        assert_eq!(
            parse_timestamp("2022-08-08T15:40:36.640237Z"),
            Some(1_659_973_236 * NS + 640_237_000)
        );
    }

    #[test]
    fn seven_fraction_digits_as_okuma_writes_them() {
        assert_eq!(
            parse_timestamp("2022-08-08T13:51:34.7167146Z"),
            Some(parse_timestamp("2022-08-08T13:51:34Z").unwrap() + 716_714_600)
        );
    }

    #[test]
    fn zero_to_nine_fraction_digits_scale_to_nanoseconds() {
        let base = parse_timestamp("2020-01-01T00:00:00Z").unwrap();
        let cases = [
            ("2020-01-01T00:00:00Z", 0),
            ("2020-01-01T00:00:00.5Z", 500_000_000),
            ("2020-01-01T00:00:00.12Z", 120_000_000),
            ("2020-01-01T00:00:00.123456Z", 123_456_000),
            ("2020-01-01T00:00:00.123456789Z", 123_456_789),
            ("2020-01-01T00:00:00.1234567891Z", 123_456_789),
        ];
        for (text, nanos) in cases {
            assert_eq!(parse_timestamp(text), Some(base + nanos), "{text}");
        }
    }

    #[test]
    fn a_missing_zone_means_utc_as_in_mazak_logs() {
        assert_eq!(
            parse_timestamp("2017-10-28T22:26:39.671174"),
            parse_timestamp("2017-10-28T22:26:39.671174Z")
        );
    }

    #[test]
    fn offsets_are_subtracted_to_reach_utc() {
        let utc = parse_timestamp("2022-08-08T15:40:36Z").unwrap();
        assert_eq!(parse_timestamp("2022-08-08T17:40:36+02:00"), Some(utc));
        assert_eq!(parse_timestamp("2022-08-08T10:10:36-05:30"), Some(utc));
        assert_eq!(parse_timestamp("2022-08-08T17:40:36+0200"), Some(utc));
        assert_eq!(parse_timestamp("2022-08-08T17:40:36+02"), Some(utc));
        assert_eq!(parse_timestamp("2022-08-08T15:40:36-00:00"), Some(utc));
    }

    #[test]
    fn an_offset_can_move_the_date() {
        assert_eq!(
            parse_timestamp("2021-01-01T01:00:00+02:00"),
            parse_timestamp("2020-12-31T23:00:00Z")
        );
    }

    #[test]
    fn space_and_lowercase_separators_are_accepted() {
        let expected = parse_timestamp("2022-08-08T15:40:36Z");
        assert_eq!(parse_timestamp("2022-08-08 15:40:36Z"), expected);
        assert_eq!(parse_timestamp("2022-08-08t15:40:36z"), expected);
    }

    #[test]
    fn leap_days_exist_only_in_leap_years() {
        assert!(parse_timestamp("2024-02-29T00:00:00Z").is_some());
        assert!(parse_timestamp("2000-02-29T00:00:00Z").is_some());
        assert!(parse_timestamp("2023-02-29T00:00:00Z").is_none());
        assert!(parse_timestamp("1900-02-29T00:00:00Z").is_none());
        assert!(parse_timestamp("2100-02-29T00:00:00Z").is_none());
        assert_eq!(
            parse_timestamp("2024-03-01T00:00:00Z").unwrap()
                - parse_timestamp("2024-02-28T00:00:00Z").unwrap(),
            2 * SECONDS_PER_DAY * NS
        );
    }

    #[test]
    fn days_round_trip_across_four_centuries() {
        for days in -150_000..150_000 {
            let (year, month, day) = civil_from_days(days);
            assert!((1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month));
            assert_eq!(
                days_from_civil(year, month, day),
                days,
                "{year}-{month}-{day}"
            );
        }
    }

    #[test]
    fn formatting_round_trips_microsecond_instants() {
        for text in [
            "2022-08-08T15:40:36.640237Z",
            "2000-02-29T23:59:59.999999Z",
            "2016-05-10T05:00:00.000000Z",
            "1969-12-31T23:59:59.500000Z",
            "1900-01-01T00:00:00.000001Z",
        ] {
            assert_eq!(format_timestamp(parse_timestamp(text).unwrap()), text);
        }
    }

    #[test]
    fn formatting_truncates_to_microseconds() {
        let ns = parse_timestamp("2022-08-08T13:51:34.7167146Z").unwrap();
        assert_eq!(format_timestamp(ns), "2022-08-08T13:51:34.716714Z");
    }

    #[test]
    fn dates_before_1970_are_negative() {
        assert_eq!(parse_timestamp("1969-12-31T23:59:59Z"), Some(-NS));
        assert_eq!(parse_timestamp("1969-12-31T23:59:59.9Z"), Some(-NS / 10));
        assert_eq!(format_timestamp(-1), "1969-12-31T23:59:59.999999Z");
    }

    #[test]
    fn instants_outside_i64_nanoseconds_are_rejected() {
        assert!(parse_timestamp("2262-04-11T23:47:16Z").is_some());
        assert!(parse_timestamp("2263-01-01T00:00:00Z").is_none());
        assert!(parse_timestamp("1677-09-21T00:12:44Z").is_some());
        assert!(parse_timestamp("1600-01-01T00:00:00Z").is_none());
    }

    #[test]
    fn garbage_is_rejected() {
        for text in [
            "",
            "garbage",
            "2022-08-08",
            "2022-08-08T15:40",
            "2022-08-08T15:40:36.",
            "2022-08-08T15:40:36.Z",
            "2022-08-08T15:40:36ZZ",
            "2022-08-08T15:40:36 ",
            "2022-08-08T15:40:36+2",
            "2022-08-08T15:40:36+25:00",
            "2022-8-8T15:40:36Z",
            "2022-13-08T15:40:36Z",
            "2022-00-08T15:40:36Z",
            "2022-04-31T15:40:36Z",
            "2022-08-08T24:00:00Z",
            "2022-08-08T15:60:36Z",
            "2022-08-08T15:40:60Z",
            "2022-08-08X15:40:36Z",
            "te|63.3333",
            "1.5",
            "２０２２-08-08T15:40:36Z",
        ] {
            assert_eq!(parse_timestamp(text), None, "{text:?}");
        }
    }
}
