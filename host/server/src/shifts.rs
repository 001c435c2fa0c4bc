//! Shift schedules on the calendar: an organization's weekly [`Shift`]s turned into the periods
//! they cover between two instants ([`shift_periods`]), the local days of a range ([`days`]),
//! and replacing a schedule ([`replace`], shared by the JSON API and the organization page).
//!
//! A shift's start and end are wall-clock times in the organization's time zone, so across a
//! daylight-saving change a period is an hour shorter or longer than the schedule says: a
//! 22:00–06:00 night is 7 hours the night clocks go forward and 9 the night they go back. A
//! wall-clock time that does not exist (in the hour skipped) is read as the same time in the
//! offset before the change, an hour later on the clock; one that exists twice (in the hour
//! repeated) is the earlier of the two.

use chatter_model::shift::{self, ShiftError};
use chatter_model::{Shift, ShiftTime, Timestamp};
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;

use crate::accounts::{AccountError, Audit, RequestContext};
use crate::app::AppState;
use crate::auth::Tenant;
use crate::error::ApiError;
use crate::time;

/// One occurrence of a shift: the shift's name, the local date it starts on, and the instants
/// it covers (clipped to the range asked for).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftPeriod {
    /// The shift's name.
    pub shift: String,
    /// The date, in the organization's time zone, this occurrence starts on (even when the
    /// range asked for begins after it).
    pub date: Date,
    /// Its start, in nanoseconds since the Unix epoch: the shift's start, or the range's when
    /// later.
    pub start: Timestamp,
    /// Its end, exclusive: the shift's end, or the range's when earlier.
    pub end: Timestamp,
}

/// A day of the organization's time zone: 23 or 25 hours long across daylight-saving changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Day {
    /// The local date.
    pub date: Date,
    /// Its start (local midnight, or the range's start when later), in nanoseconds since the
    /// Unix epoch.
    pub start: Timestamp,
    /// Its end, exclusive (the next local midnight, or the range's end when earlier).
    pub end: Timestamp,
}

/// Every occurrence of every shift that overlaps `[from, to)`, clipped to it, sorted by start
/// (then by the shift's place in the schedule). An occurrence that started before `from` and is
/// still running at `from` is included, from `from`. An occurrence whose start the skipped hour
/// moves to or past its end (02:30–03:15 the night clocks go from 02:00 to 03:00) does not
/// happen and is left out.
pub fn shift_periods(
    shifts: &[Shift],
    zone: &TimeZone,
    from: Timestamp,
    to: Timestamp,
) -> Vec<ShiftPeriod> {
    let (Some(first), Some(last)) = (local_date(from, zone), local_date(to, zone)) else {
        return Vec::new();
    };
    if from >= to {
        return Vec::new();
    }
    // A shift ends on the local day after its start at the latest, so starts from the day before
    // `from` suffice; one more day covers the odd zone whose skipped hour straddles midnight.
    let mut date = first
        .checked_sub(jiff::Span::new().days(2))
        .unwrap_or(first);
    let mut periods: Vec<(usize, ShiftPeriod)> = Vec::new();
    while date <= last {
        let weekday = weekday_of(date);
        for (index, shift) in shifts.iter().enumerate() {
            if !shift.starts_on(weekday) {
                continue;
            }
            let Some((start, end)) = occurrence(shift, date, zone) else {
                continue;
            };
            let (start, end) = (start.max(from), end.min(to));
            if start < end {
                let period = ShiftPeriod {
                    shift: shift.name.clone(),
                    date,
                    start,
                    end,
                };
                periods.push((index, period));
            }
        }
        let Ok(next) = date.tomorrow() else { break };
        date = next;
    }
    periods.sort_by_key(|(index, period)| (period.start, *index));
    periods.into_iter().map(|(_, period)| period).collect()
}

/// The local days of `zone` overlapping `[from, to)`, clipped to it.
pub fn days(zone: &TimeZone, from: Timestamp, to: Timestamp) -> Vec<Day> {
    let mut days = Vec::new();
    let Some(mut date) = local_date(from, zone) else {
        return days;
    };
    while let Some(start) = instant(date, ShiftTime::MIDNIGHT, zone) {
        if start >= to {
            break;
        }
        let Ok(next) = date.tomorrow() else { break };
        let Some(end) = instant(next, ShiftTime::MIDNIGHT, zone) else {
            break;
        };
        let (start, end) = (start.max(from), end.min(to));
        if start < end {
            days.push(Day { date, start, end });
        }
        date = next;
    }
    days
}

/// The instants the occurrence of `shift` starting on `date` begins and ends, if it lasts at
/// all: a shift wholly inside the hour clocks skip has none.
fn occurrence(shift: &Shift, date: Date, zone: &TimeZone) -> Option<(Timestamp, Timestamp)> {
    let start = instant(date, shift.start, zone)?;
    let end_date = if shift.crosses_midnight() {
        date.tomorrow().ok()?
    } else {
        date
    };
    let end = instant(end_date, shift.end, zone)?;
    (start < end).then_some((start, end))
}

/// The wall-clock time `at` on `date` in `zone`. jiff's "compatible" reading resolves a time in
/// a gap with the offset before it (later on the clock) and a time in a fold to the earlier
/// instant. `None` only outside the years jiff and [`Timestamp`] both represent.
fn instant(date: Date, at: ShiftTime, zone: &TimeZone) -> Option<Timestamp> {
    let time = Time::new(
        i8::try_from(at.hour()).ok()?,
        i8::try_from(at.minute()).ok()?,
        0,
        0,
    )
    .ok()?;
    let instant = zone
        .to_ambiguous_timestamp(DateTime::from_parts(date, time))
        .compatible()
        .ok()?;
    i64::try_from(instant.as_nanosecond()).ok()
}

/// The local date holding `at` in `zone`.
fn local_date(at: Timestamp, zone: &TimeZone) -> Option<Date> {
    time::to_zoned(at, zone).ok().map(|zoned| zoned.date())
}

fn weekday_of(date: Date) -> chatter_model::Weekday {
    // `to_monday_zero_offset` is 0 to 6.
    chatter_model::Weekday::from_monday(date.weekday().to_monday_zero_offset().unsigned_abs())
}

/// Why a schedule was not replaced.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// The schedule is not acceptable; nothing was saved.
    #[error(transparent)]
    Invalid(#[from] ShiftError),
    /// The organization's record is gone (it was deleted meanwhile).
    #[error("this organization no longer exists")]
    NoOrganization,
    /// The server failed.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<chatter_store::StoreError> for ScheduleError {
    fn from(error: chatter_store::StoreError) -> Self {
        ScheduleError::Internal(error.into())
    }
}

impl From<AccountError> for ScheduleError {
    fn from(error: AccountError) -> Self {
        match error {
            AccountError::Internal(error) => ScheduleError::Internal(error),
            other => ScheduleError::Internal(anyhow::anyhow!("{other}")),
        }
    }
}

impl From<ScheduleError> for ApiError {
    fn from(error: ScheduleError) -> Self {
        match error {
            ScheduleError::Invalid(error) => {
                ApiError::unprocessable("invalid_shifts", format!("shifts: {error}"))
            }
            ScheduleError::NoOrganization => ApiError::not_found("not_found", error.to_string()),
            ScheduleError::Internal(error) => ApiError::internal(format!("{error:#}")),
        }
    }
}

/// Replaces the organization's shift schedule with `shifts` — names trimmed, days in week
/// order without repeats — if [`shift::validate`] accepts them, and records `org.shifts_update`
/// in the audit log with the number of shifts (never their names, which the organization may
/// have chosen to say something about people). Returns the schedule as saved.
pub async fn replace(
    app: &AppState,
    context: &RequestContext,
    tenant: &Tenant,
    shifts: Vec<Shift>,
) -> Result<Vec<Shift>, ScheduleError> {
    let shifts: Vec<Shift> = shifts.into_iter().map(Shift::normalized).collect();
    shift::validate(&shifts)?;
    if !tenant.store().put_shifts(shifts.clone()).await? {
        return Err(ScheduleError::NoOrganization);
    }
    let mut audit = Audit::new("org.shifts_update", context)
        .org(tenant.org())
        .detail("shifts", shifts.len());
    if let Some(user) = tenant.user() {
        audit = audit.actor(user);
    }
    audit.record(app).await?;
    // Idle-in-shift alert rules judge by the new schedule from now on.
    if let Err(error) = app.alerts.reload(tenant.org()).await {
        tracing::warn!(org = %tenant.org(), %error, "alert rules keep the old shifts until restart");
    }
    Ok(shifts)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chatter_model::Weekday::{self, Friday, Monday, Saturday, Sunday, Thursday, Tuesday};

    use super::*;

    const WEEKDAYS: [Weekday; 5] = [Monday, Tuesday, Weekday::Wednesday, Thursday, Friday];

    fn at(text: &str) -> Timestamp {
        time::parse(text).unwrap()
    }

    fn date(text: &str) -> Date {
        text.parse().unwrap()
    }

    fn shift(name: &str, days: &[Weekday], start: &str, end: &str) -> Shift {
        Shift {
            name: name.to_owned(),
            days: days.to_vec(),
            start: start.parse().unwrap(),
            end: end.parse().unwrap(),
        }
    }

    /// Each period as `(shift, date, start, end)` with the instants in RFC 3339, UTC.
    fn listed(periods: &[ShiftPeriod]) -> Vec<(String, String, String, String)> {
        periods
            .iter()
            .map(|p| {
                (
                    p.shift.clone(),
                    p.date.to_string(),
                    time::format(p.start),
                    time::format(p.end),
                )
            })
            .collect()
    }

    fn period(shift: &str, date: &str, start: &str, end: &str) -> (String, String, String, String) {
        (shift.into(), date.into(), start.into(), end.into())
    }

    const HOUR: i64 = 3600 * time::SECOND;

    #[test]
    fn a_weekday_schedule_over_a_week_in_utc() {
        let schedule = [
            shift("First", &WEEKDAYS, "06:00", "14:00"),
            shift("Second", &WEEKDAYS, "14:00", "22:00"),
        ];
        // 2024-01-01 is a Monday.
        let periods = shift_periods(
            &schedule,
            &TimeZone::UTC,
            at("2024-01-01T00:00:00Z"),
            at("2024-01-08T00:00:00Z"),
        );
        assert_eq!(periods.len(), 10);
        assert_eq!(
            listed(&periods[..3]),
            [
                period(
                    "First",
                    "2024-01-01",
                    "2024-01-01T06:00:00Z",
                    "2024-01-01T14:00:00Z"
                ),
                period(
                    "Second",
                    "2024-01-01",
                    "2024-01-01T14:00:00Z",
                    "2024-01-01T22:00:00Z"
                ),
                period(
                    "First",
                    "2024-01-02",
                    "2024-01-02T06:00:00Z",
                    "2024-01-02T14:00:00Z"
                ),
            ]
        );
        assert_eq!(
            listed(&periods[9..]),
            [period(
                "Second",
                "2024-01-05",
                "2024-01-05T14:00:00Z",
                "2024-01-05T22:00:00Z"
            )]
        );
        assert!(periods.iter().all(|p| p.end - p.start == 8 * HOUR));
    }

    #[test]
    fn weekends_are_left_out_but_fridays_night_runs_into_saturday() {
        let schedule = [
            shift("Day", &WEEKDAYS, "06:00", "14:00"),
            shift("Night", &WEEKDAYS, "22:00", "06:00"),
        ];
        // Saturday 2024-01-06 00:00 to Monday 2024-01-08 00:00.
        let periods = shift_periods(
            &schedule,
            &TimeZone::UTC,
            at("2024-01-06T00:00:00Z"),
            at("2024-01-08T00:00:00Z"),
        );
        assert_eq!(
            listed(&periods),
            [period(
                "Night",
                "2024-01-05",
                "2024-01-06T00:00:00Z",
                "2024-01-06T06:00:00Z"
            )]
        );
        let day_only = &schedule[..1];
        assert!(
            shift_periods(
                day_only,
                &TimeZone::UTC,
                at("2024-01-06T00:00:00Z"),
                at("2024-01-08T00:00:00Z"),
            )
            .is_empty()
        );
    }

    #[test]
    fn a_night_that_started_the_day_before_the_range_is_included_from_its_start() {
        let night = [shift("Night", &[Monday, Tuesday], "22:00", "06:00")];
        let periods = shift_periods(
            &night,
            &TimeZone::UTC,
            at("2024-01-02T00:00:00Z"),
            at("2024-01-02T12:00:00Z"),
        );
        assert_eq!(
            listed(&periods),
            [period(
                "Night",
                "2024-01-01",
                "2024-01-02T00:00:00Z",
                "2024-01-02T06:00:00Z"
            )]
        );
    }

    #[test]
    fn periods_are_clipped_at_both_ends() {
        let day = [shift("Day", &WEEKDAYS, "06:00", "14:00")];
        let periods = shift_periods(
            &day,
            &TimeZone::UTC,
            at("2024-01-01T08:00:00Z"),
            at("2024-01-01T10:30:00Z"),
        );
        assert_eq!(
            listed(&periods),
            [period(
                "Day",
                "2024-01-01",
                "2024-01-01T08:00:00Z",
                "2024-01-01T10:30:00Z"
            )]
        );
        // Ending exactly as the range starts, or starting as it ends, is outside it.
        assert!(
            shift_periods(
                &day,
                &TimeZone::UTC,
                at("2024-01-01T14:00:00Z"),
                at("2024-01-02T06:00:00Z"),
            )
            .is_empty()
        );
        // An empty or reversed range has nothing.
        let noon = at("2024-01-01T12:00:00Z");
        assert!(shift_periods(&day, &TimeZone::UTC, noon, noon).is_empty());
        assert!(shift_periods(&day, &TimeZone::UTC, noon, noon - HOUR).is_empty());
    }

    #[test]
    fn a_24_hour_shift_ends_at_the_same_time_the_next_day() {
        let continuous = [shift("Continuous", &[Monday, Tuesday], "06:00", "06:00")];
        let periods = shift_periods(
            &continuous,
            &TimeZone::UTC,
            at("2024-01-01T00:00:00Z"),
            at("2024-01-04T00:00:00Z"),
        );
        assert_eq!(
            listed(&periods),
            [
                period(
                    "Continuous",
                    "2024-01-01",
                    "2024-01-01T06:00:00Z",
                    "2024-01-02T06:00:00Z"
                ),
                period(
                    "Continuous",
                    "2024-01-02",
                    "2024-01-02T06:00:00Z",
                    "2024-01-03T06:00:00Z"
                ),
            ]
        );
        // On the day clocks go back in Chicago, the same shift lasts 25 hours.
        let chicago = time::zone("America/Chicago");
        let sunday = [shift("Continuous", &[Sunday], "00:00", "00:00")];
        let periods = shift_periods(
            &sunday,
            &chicago,
            at("2024-11-02T00:00:00Z"),
            at("2024-11-06T00:00:00Z"),
        );
        assert_eq!(
            listed(&periods),
            [period(
                "Continuous",
                "2024-11-03",
                "2024-11-03T05:00:00Z",
                "2024-11-04T06:00:00Z"
            )]
        );
    }

    /// Chicago, 2024: clocks go forward from 02:00 CST to 03:00 CDT on Sunday 10 March, and
    /// back from 02:00 CDT to 01:00 CST on Sunday 3 November.
    fn chicago_schedule() -> [Shift; 2] {
        [
            shift("Day", &Weekday::ALL, "06:00", "14:00"),
            shift("Night", &Weekday::ALL, "22:00", "06:00"),
        ]
    }

    #[test]
    fn the_night_clocks_go_forward_in_chicago_is_7_hours() {
        let chicago = time::zone("America/Chicago");
        // Saturday 9 March 12:00 CST to Monday 11 March 12:00 CDT.
        let periods = shift_periods(
            &chicago_schedule(),
            &chicago,
            at("2024-03-09T18:00:00Z"),
            at("2024-03-11T17:00:00Z"),
        );
        assert_eq!(
            listed(&periods),
            [
                // Saturday's day shift, clipped at noon.
                period(
                    "Day",
                    "2024-03-09",
                    "2024-03-09T18:00:00Z",
                    "2024-03-09T20:00:00Z"
                ),
                // 22:00 CST (UTC-6) to 06:00 CDT (UTC-5): 7 hours.
                period(
                    "Night",
                    "2024-03-09",
                    "2024-03-10T04:00:00Z",
                    "2024-03-10T11:00:00Z"
                ),
                period(
                    "Day",
                    "2024-03-10",
                    "2024-03-10T11:00:00Z",
                    "2024-03-10T19:00:00Z"
                ),
                // Sunday night is all daylight time: 8 hours.
                period(
                    "Night",
                    "2024-03-10",
                    "2024-03-11T03:00:00Z",
                    "2024-03-11T11:00:00Z"
                ),
                period(
                    "Day",
                    "2024-03-11",
                    "2024-03-11T11:00:00Z",
                    "2024-03-11T17:00:00Z"
                ),
            ]
        );
        assert_eq!(periods[1].end - periods[1].start, 7 * HOUR);
        assert_eq!(periods[3].end - periods[3].start, 8 * HOUR);
    }

    #[test]
    fn the_night_clocks_go_back_in_chicago_is_9_hours() {
        let chicago = time::zone("America/Chicago");
        // Saturday 2 November 12:00 CDT to Sunday 3 November 23:00 CST.
        let periods = shift_periods(
            &chicago_schedule(),
            &chicago,
            at("2024-11-02T17:00:00Z"),
            at("2024-11-04T05:00:00Z"),
        );
        assert_eq!(
            listed(&periods),
            [
                period(
                    "Day",
                    "2024-11-02",
                    "2024-11-02T17:00:00Z",
                    "2024-11-02T19:00:00Z"
                ),
                // 22:00 CDT (UTC-5) to 06:00 CST (UTC-6): 9 hours.
                period(
                    "Night",
                    "2024-11-02",
                    "2024-11-03T03:00:00Z",
                    "2024-11-03T12:00:00Z"
                ),
                period(
                    "Day",
                    "2024-11-03",
                    "2024-11-03T12:00:00Z",
                    "2024-11-03T20:00:00Z"
                ),
                // Sunday's night starts in standard time, clipped at 23:00.
                period(
                    "Night",
                    "2024-11-03",
                    "2024-11-04T04:00:00Z",
                    "2024-11-04T05:00:00Z"
                ),
            ]
        );
        assert_eq!(periods[1].end - periods[1].start, 9 * HOUR);
    }

    #[test]
    fn a_skipped_time_moves_forward_and_a_repeated_one_is_the_earlier() {
        let chicago = time::zone("America/Chicago");
        // 02:30 does not exist on 10 March: read with the offset before (CST), it is 03:30 CDT.
        let maintenance = [shift("Maintenance", &[Sunday], "02:30", "04:00")];
        let periods = shift_periods(
            &maintenance,
            &chicago,
            at("2024-03-10T00:00:00Z"),
            at("2024-03-11T00:00:00Z"),
        );
        assert_eq!(
            listed(&periods),
            [period(
                "Maintenance",
                "2024-03-10",
                "2024-03-10T08:30:00Z",
                "2024-03-10T09:00:00Z"
            )]
        );
        // 01:30 happens twice on 3 November: the first time, in CDT, is taken.
        let early = [shift("Early", &[Sunday], "01:30", "05:00")];
        let periods = shift_periods(
            &early,
            &chicago,
            at("2024-11-03T00:00:00Z"),
            at("2024-11-04T00:00:00Z"),
        );
        assert_eq!(
            listed(&periods),
            [period(
                "Early",
                "2024-11-03",
                "2024-11-03T06:30:00Z",
                "2024-11-03T11:00:00Z"
            )]
        );
        // Wholly inside the skipped hour, both ends move an hour later on the clock.
        let inside = [shift("Inside", &[Sunday], "02:00", "02:45")];
        let periods = shift_periods(
            &inside,
            &chicago,
            at("2024-03-10T00:00:00Z"),
            at("2024-03-11T00:00:00Z"),
        );
        assert_eq!(
            listed(&periods),
            [period(
                "Inside",
                "2024-03-10",
                "2024-03-10T08:00:00Z",
                "2024-03-10T08:45:00Z"
            )]
        );
        // Starting in it and ending just after it, a shift moves past its own end: it does
        // not happen that day (02:30 is 03:30 CDT, after 03:15 CDT).
        let squeezed = [shift("Squeezed", &[Sunday], "02:30", "03:15")];
        assert!(
            shift_periods(
                &squeezed,
                &chicago,
                at("2024-03-10T00:00:00Z"),
                at("2024-03-11T00:00:00Z"),
            )
            .is_empty()
        );
    }

    #[test]
    fn berlin_nights_follow_european_summer_time() {
        let berlin = time::zone("Europe/Berlin");
        let night = [shift("Nacht", &[Saturday], "22:00", "06:00")];
        let day = [shift("Früh", &[Monday], "06:00", "14:00")];
        // Summer time starts Sunday 31 March 2024 at 02:00 CET; ends 27 October at 03:00 CEST.
        let spring = shift_periods(
            &night,
            &berlin,
            at("2024-03-30T00:00:00Z"),
            at("2024-04-01T00:00:00Z"),
        );
        assert_eq!(
            listed(&spring),
            [period(
                "Nacht",
                "2024-03-30",
                "2024-03-30T21:00:00Z",
                "2024-03-31T04:00:00Z"
            )]
        );
        let autumn = shift_periods(
            &night,
            &berlin,
            at("2024-10-26T00:00:00Z"),
            at("2024-10-28T00:00:00Z"),
        );
        assert_eq!(
            listed(&autumn),
            [period(
                "Nacht",
                "2024-10-26",
                "2024-10-26T20:00:00Z",
                "2024-10-27T05:00:00Z"
            )]
        );
        // A summer Monday: 06:00 CEST is 04:00 UTC.
        let summer = shift_periods(
            &day,
            &berlin,
            at("2024-07-01T00:00:00Z"),
            at("2024-07-02T00:00:00Z"),
        );
        assert_eq!(
            listed(&summer),
            [period(
                "Früh",
                "2024-07-01",
                "2024-07-01T04:00:00Z",
                "2024-07-01T12:00:00Z"
            )]
        );
    }

    #[test]
    fn periods_in_a_zone_ahead_of_utc_start_on_their_local_date() {
        // Monday 06:00 in Tokyo is Sunday 21:00 UTC: the period belongs to Monday.
        let tokyo = time::zone("Asia/Tokyo");
        let day = [shift("Day", &[Monday], "06:00", "14:00")];
        let periods = shift_periods(
            &day,
            &tokyo,
            at("2023-12-31T00:00:00Z"),
            at("2024-01-02T00:00:00Z"),
        );
        assert_eq!(
            listed(&periods),
            [period(
                "Day",
                "2024-01-01",
                "2023-12-31T21:00:00Z",
                "2024-01-01T05:00:00Z"
            )]
        );
    }

    #[test]
    fn days_are_23_and_25_hours_across_daylight_saving() {
        let chicago = time::zone("America/Chicago");
        // From Saturday 9 March 12:00 CST to Tuesday 12 March 00:00 CDT.
        let spring = days(
            &chicago,
            at("2024-03-09T18:00:00Z"),
            at("2024-03-12T05:00:00Z"),
        );
        let spans: Vec<_> = spring
            .iter()
            .map(|d| (d.date, time::format(d.start), time::format(d.end)))
            .collect();
        assert_eq!(
            spans,
            [
                (
                    date("2024-03-09"),
                    "2024-03-09T18:00:00Z".to_owned(),
                    "2024-03-10T06:00:00Z".to_owned()
                ),
                (
                    date("2024-03-10"),
                    "2024-03-10T06:00:00Z".to_owned(),
                    "2024-03-11T05:00:00Z".to_owned()
                ),
                (
                    date("2024-03-11"),
                    "2024-03-11T05:00:00Z".to_owned(),
                    "2024-03-12T05:00:00Z".to_owned()
                ),
            ]
        );
        assert_eq!(spring[1].end - spring[1].start, 23 * HOUR);
        let autumn = days(
            &chicago,
            at("2024-11-03T05:00:00Z"),
            at("2024-11-04T06:00:00Z"),
        );
        assert_eq!(autumn.len(), 1);
        assert_eq!(autumn[0].date, date("2024-11-03"));
        assert_eq!(autumn[0].end - autumn[0].start, 25 * HOUR);
        // Clipped inside one day.
        let inside = days(
            &chicago,
            at("2024-11-03T15:00:00Z"),
            at("2024-11-03T16:00:00Z"),
        );
        assert_eq!(
            inside,
            [Day {
                date: date("2024-11-03"),
                start: at("2024-11-03T15:00:00Z"),
                end: at("2024-11-03T16:00:00Z"),
            }]
        );
        assert!(
            days(
                &chicago,
                at("2024-11-03T15:00:00Z"),
                at("2024-11-03T15:00:00Z")
            )
            .is_empty()
        );
    }
}
