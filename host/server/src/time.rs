//! Times as the API reads and writes them: RFC 3339, ranges, and days in an organization's time
//! zone. Internally every time is nanoseconds since the Unix epoch, UTC.

use chatter_model::Timestamp;
use jiff::tz::TimeZone;
use jiff::{Span, Zoned};

/// Nanoseconds in a second.
pub const SECOND: i64 = 1_000_000_000;

/// `timestamp` in RFC 3339, UTC, with as many fractional digits as it needs.
pub fn format(timestamp: Timestamp) -> String {
    match jiff::Timestamp::from_nanosecond(i128::from(timestamp)) {
        Ok(instant) => instant.to_string(),
        // Outside jiff's years -9999..=9999: no machine reports such times.
        Err(_) => timestamp.to_string(),
    }
}

/// Parses an RFC 3339 time with an offset (`2016-05-10T05:00:00Z`, `…+02:00`).
pub fn parse(text: &str) -> Result<Timestamp, String> {
    let instant: jiff::Timestamp = text
        .trim()
        .parse()
        .map_err(|e| format!("`{text}` is not an RFC 3339 time with an offset: {e}"))?;
    i64::try_from(instant.as_nanosecond()).map_err(|_| out_of_range(text))
}

/// Parses a range bound: an RFC 3339 time, or a date (`2016-05-10`), meaning midnight in `zone`.
pub fn parse_bound(text: &str, zone: &TimeZone) -> Result<Timestamp, String> {
    let text = text.trim();
    if let Ok(date) = text.parse::<jiff::civil::Date>()
        && !text.contains('T')
    {
        let midnight = date
            .to_zoned(zone.clone())
            .map_err(|e| format!("`{text}`: {e}"))?;
        return nanos(&midnight).map_err(|_| out_of_range(text));
    }
    parse(text)
}

fn out_of_range(text: &str) -> String {
    format!("`{text}` is out of range: times go from 1677 to 2262")
}

/// The organization's time zone by its IANA name; UTC if the name is unknown (logged).
pub fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap_or_else(|error| {
        tracing::warn!(time_zone = name, %error, "unknown time zone; using UTC");
        TimeZone::UTC
    })
}

/// Whether `name` is a time zone this build knows.
pub fn is_known_zone(name: &str) -> bool {
    TimeZone::get(name).is_ok()
}

/// The start of the day holding `at`, in `zone`.
pub fn start_of_day(at: Timestamp, zone: &TimeZone) -> Result<Timestamp, String> {
    let zoned = to_zoned(at, zone)?;
    nanos(&zoned.start_of_day().map_err(|e| e.to_string())?)
}

/// The day of `zone` holding `at`: its start and the next day's start (23 to 25 hours later
/// across daylight-saving changes).
pub fn day_of(at: Timestamp, zone: &TimeZone) -> Result<(Timestamp, Timestamp), String> {
    let start = to_zoned(at, zone)?
        .start_of_day()
        .map_err(|e| e.to_string())?;
    let end = start
        .tomorrow()
        .and_then(|day| day.start_of_day())
        .map_err(|e| e.to_string())?;
    Ok((nanos(&start)?, nanos(&end)?))
}

/// The start of the day `days` days after the one holding `at` (before it when negative), in
/// `zone`. Days are 23 or 25 hours long across daylight-saving changes.
pub fn start_of_day_after(at: Timestamp, days: i64, zone: &TimeZone) -> Result<Timestamp, String> {
    let day = to_zoned(at, zone)?
        .start_of_day()
        .map_err(|e| e.to_string())?;
    let later = day
        .checked_add(Span::new().days(days))
        .map_err(|e| e.to_string())?;
    nanos(&later.start_of_day().map_err(|e| e.to_string())?)
}

/// The start of the week (from Monday) holding `at`, in `zone`.
pub fn start_of_week(at: Timestamp, zone: &TimeZone) -> Result<Timestamp, String> {
    let since_monday = to_zoned(at, zone)?.weekday().to_monday_zero_offset();
    start_of_day_after(at, -i64::from(since_monday), zone)
}

/// The starts of the days of `zone` from the one holding `from` up to `to`, followed by `to`:
/// consecutive pairs are the days (the first and last clipped to the range). Days are 23 or 25
/// hours long across daylight-saving changes.
pub fn day_boundaries(
    from: Timestamp,
    to: Timestamp,
    zone: &TimeZone,
) -> Result<Vec<Timestamp>, String> {
    step_boundaries(from, to, zone, Span::new().days(1))
}

/// The same for hours.
pub fn hour_boundaries(
    from: Timestamp,
    to: Timestamp,
    zone: &TimeZone,
) -> Result<Vec<Timestamp>, String> {
    step_boundaries(from, to, zone, Span::new().hours(1))
}

fn step_boundaries(
    from: Timestamp,
    to: Timestamp,
    zone: &TimeZone,
    step: Span,
) -> Result<Vec<Timestamp>, String> {
    let mut boundaries = vec![from];
    let start = to_zoned(from, zone)?;
    let mut next = if step.get_days() > 0 {
        start.start_of_day().map_err(|e| e.to_string())?
    } else {
        start
            .with()
            .minute(0)
            .second(0)
            .subsec_nanosecond(0)
            .build()
            .map_err(|e| e.to_string())?
    };
    loop {
        next = next.checked_add(step).map_err(|e| e.to_string())?;
        let at = nanos(&next)?;
        if at >= to {
            break;
        }
        boundaries.push(at);
    }
    boundaries.push(to);
    Ok(boundaries)
}

/// `at` as a date and time in `zone`.
pub fn to_zoned(at: Timestamp, zone: &TimeZone) -> Result<Zoned, String> {
    let instant = jiff::Timestamp::from_nanosecond(i128::from(at)).map_err(|e| e.to_string())?;
    Ok(instant.to_zoned(zone.clone()))
}

fn nanos(zoned: &Zoned) -> Result<Timestamp, String> {
    i64::try_from(zoned.timestamp().as_nanosecond()).map_err(|e| e.to_string())
}

/// Seconds, for durations in the API.
pub fn seconds(nanos: i64) -> f64 {
    nanos as f64 / SECOND as f64
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_with_nanoseconds() {
        let at = parse("2016-05-10T05:00:00.123456789Z").unwrap();
        assert_eq!(format(at), "2016-05-10T05:00:00.123456789Z");
        assert_eq!(
            parse("2016-05-10T07:00:00+02:00").unwrap(),
            parse("2016-05-10T05:00:00Z").unwrap()
        );
        assert!(parse("2016-05-10 05:00").is_err());
        assert!(parse("yesterday").is_err());
    }

    #[test]
    fn a_date_is_midnight_in_the_zone() {
        let berlin = zone("Europe/Berlin");
        let midnight = parse_bound("2016-05-10", &berlin).unwrap();
        assert_eq!(format(midnight), "2016-05-09T22:00:00Z");
    }

    #[test]
    fn days_and_weeks_start_at_local_midnight() {
        let berlin = zone("Europe/Berlin");
        // A Wednesday afternoon, the week daylight-saving time began.
        let at = parse("2026-04-01T13:00:00Z").unwrap();
        let starts = |days| format(start_of_day_after(at, days, &berlin).unwrap());
        assert_eq!(starts(0), "2026-03-31T22:00:00Z");
        assert_eq!(starts(1), "2026-04-01T22:00:00Z");
        assert_eq!(starts(-4), "2026-03-27T23:00:00Z");
        let week = start_of_week(at, &berlin).unwrap();
        assert_eq!(format(week), "2026-03-29T22:00:00Z");
    }

    #[test]
    fn days_follow_daylight_saving() {
        let berlin = zone("Europe/Berlin");
        // 2026-03-29 is 23 hours long in Berlin.
        let from = parse("2026-03-28T12:00:00Z").unwrap();
        let to = parse("2026-03-30T12:00:00Z").unwrap();
        let days = day_boundaries(from, to, &berlin).unwrap();
        let starts: Vec<_> = days.iter().map(|&d| format(d)).collect();
        assert_eq!(
            starts,
            [
                "2026-03-28T12:00:00Z",
                "2026-03-28T23:00:00Z",
                "2026-03-29T22:00:00Z",
                "2026-03-30T12:00:00Z"
            ]
        );
    }
}
